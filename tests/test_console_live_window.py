"""The console's hand-size slider and replay's timeline under a real X server (Xvfb): the
pointer is moved, pressed and dragged on the display (XTEST), so the input reaches the window
through GLFW's own event queue and the imgui panels. The effects are asserted in the session:
the displayed affected hand's skinned size in the pipeline's output from the first frame
stepped after the console hands the change on, its audit row, the live change read back from
the real store; then the recorded session replayed, its timeline dragged, and the picture
shown at the chosen time (the hand at the size it had then). Screenshots show the panels
with their figures and the keys beside the buttons. Each product run is a fresh interpreter
(PyOpenGL binds GLX once per process).

The motion: the right (healthy) hand reaches forward and stays; the left rests on the lap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.screens import driven_log, keep_picture, require_display, window_env
from test_console_window import MOTION

from gmi_vr.app.patients import add_patient
from gmi_vr.recording.store import SessionStore

#: In the child: helpers shared by both scripts (the size of the left hand against the right
#: in a skinning palette, a window point on the display).
COMMON = """
    import glfw
    import numpy as np
    from gmi_vr.body.skeleton import JOINT_INDEX

    def hand_size(world_from_joint):
        left, right = (np.cbrt(np.linalg.det(world_from_joint[JOINT_INDEX[f"{{side}}Hand"], :3, :3]))
                       for side in ("left", "right"))
        return float(left / right)

    def skinned_hand_size(rig, palette):
        joints = list(rig.body_joint)
        left, right = (np.cbrt(np.linalg.det(palette[joints.index(JOINT_INDEX[f"{{side}}Hand"]), :3, :3]))
                       for side in ("left", "right"))
        return float(left / right)

    def to_screen(window, x, y):
        left, top = glfw.get_window_pos(window.context.window)
        return left + x, top + y
"""

SESSION_SCRIPT = COMMON + """
    import gmi_vr.app.pipeline as app_pipeline
    from gmi_vr.app import run_sim

    log = {{"steps": [], "actions": [], "rects": {{}}}}
    state = {{"steps": 0}}
    original_step = app_pipeline.SessionPipeline.step

    def step(self, frame, **options):
        output = original_step(self, frame, **options)
        log["steps"].append({{"size": skinned_hand_size(self._rig, output.draw.skinned[0].palette),
                              "scale": any("How much pain" in t.text for t in output.draw.texts)}})
        state["steps"] += 1
        return output

    app_pipeline.SessionPipeline.step = step
    driven.record_actions(log["actions"], lambda: state["steps"])

    def click(window, label, at=0.5):
        return driven.click(mouse, window, label, at=at)

    def until(test, what, limit=900):
        return driven.until(lambda w, s: test(s), what, limit)

    def drive():
        window, shown = yield from driven.frames(6)
        window, shown = yield from click(window, "record rating")  # the opening rating, 0
        window, shown = yield from until(lambda s: "pain rating 0 recorded" in s["status"], "opening rating")
        window, shown = yield from until(lambda s: state["steps"] > 60, "reached")
        window, shown = yield from click(window, "hand size", at=0.0)  # its smallest end
        window, shown = yield from until(lambda s: "shown at 70%" in s["status"], "smaller hand")
        changed = state["steps"]
        window, shown = yield from until(lambda s: state["steps"] > changed + 60, "a while at 70 %")
        keyboard.press("F4")  # the key shown beside "ask pain rating"
        window, shown = yield from until(lambda s: log["steps"][-1]["scale"], "scale")
        shown["capture"] = {shot!r}
        log["rects"] = window.console.button_rects
        window, shown = yield
        driven.point(mouse, window, "stop (calm scene)")
        for _ in range(20):  # the wheel, over the panels: down to the figures at their foot
            mouse.button(True, 5)
            mouse.button(False, 5)
        for _ in range(3):
            window, shown = yield
        shown["capture"] = {figures!r}
        log["figure_rects"] = window.console.button_rects
        window, shown = yield
        for _ in range(20):  # and back up to the controls
            mouse.button(True, 4)
            mouse.button(False, 4)
        for _ in range(3):
            window, shown = yield
        window, shown = yield from click(window, "record rating")  # answers the asked rating
        window, shown = yield from until(lambda s: "recorded" in s["status"], "asked rating")
        window, shown = yield from driven.end_with_closing_rating(click, window)
        yield from driven.idle()

    driven.drive_window(drive(), pictures=True)
    # Every frame of the motion stepped and recorded, however slow the window: replay's
    # check below expects a recorded frame every 1/30 s.
    run_sim(Path({motion!r}), patient_id="L-1", max_frames=3000, therapist="dr.l", report=print, every_frame=True)
    """


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Patient L-1's simulated session, steered from the console: the opening rating, the
    hand made smaller with the slider, a rating asked with F4 and given, the end."""
    require_display()
    folder = tmp_path_factory.mktemp("live")
    env = window_env(GMI_VR_DATA=str(folder / "data"), GMI_VR_CONFIG=str(folder / "absent.toml"))
    with SessionStore.open(folder / "data") as store:
        add_patient(store, "L-1", "left", "hand", therapist="t.one")
    motion = folder / "reach-and-hold.jsonl"
    motion.write_text(MOTION)
    shot = folder / "console-hand-size.png"
    figures = folder / "console-figures.png"
    log = driven_log(SESSION_SCRIPT, env, motion=str(motion), shot=str(shot), figures=str(figures))
    return {"log": log, "data": folder / "data", "shot": shot, "figures": figures, "env": env}


@pytest.mark.display
def test_the_hand_size_slider_shrinks_the_displayed_hand_next_frame_and_is_audited_and_recorded(
        session: dict) -> None:
    steps, actions = session["log"]["steps"], session["log"]["actions"]
    assert [name for _, name, _ in actions] == ["rating", "hand_scale", "rating", "end", "rating"], actions
    (at, _, value), = [a for a in actions if a[1] == "hand_scale"]
    assert value == 0.7, "the slider's smallest end: 70 % of life size, never less"
    # steps[at] is the first frame stepped after the console handed the change on.
    assert all(abs(s["size"] - 1.0) < 1e-4 for s in steps[:at]), "life size until then"
    assert all(abs(s["size"] - 0.7) < 1e-4 for s in steps[at:]), "70 % from the very next frame on"

    with SessionStore.open(session["data"]) as store:
        (saved,) = store.list_sessions("L-1")
        rows = [(a.actor, a.action, a.session_id, a.details) for a in store.audit_trail("L-1")
                if a.action.startswith("console.")]  # fmt: skip
        changes = [e for e in store.events(saved.id) if e.kind == "body.hand_scale"]
    assert [row[1] for row in rows] == ["console.rating", "console.hand_scale", "console.ask_pain",
                                        "console.rating", "console.end", "console.rating"]  # fmt: skip
    assert all(row[0] == "dr.l" and row[2] == saved.id for row in rows)
    sized = rows[1][3]
    assert (sized["scale"], sized["was"], sized["via"]) == (0.7, 1.0, "console")
    assert rows[2][3]["via"] == "key", "F4 asked for the rating"
    assert [(c.data, round(c.time_s, 3)) for c in changes] == [
        ({"scale": 0.7, "by": "therapist"}, round(sized["session_time_s"], 3))]


@pytest.mark.display
def test_the_screenshot_shows_the_panels_their_figures_and_the_keys_beside_the_buttons(session: dict) -> None:
    from gmi_vr.console.panels import PANEL_PX

    image = np.asarray(Image.open(keep_picture(session["shot"])).convert("RGB")).astype(int)
    panels = image[:, -PANEL_PX:]
    views = image[:, : image.shape[1] - PANEL_PX]
    assert len(np.unique(panels.reshape(-1, 3) // 8, axis=0)) > 20, "the panels are drawn"
    assert (panels.max(axis=-1) > 180).sum() > 2000, "the panels' text"
    assert len(np.unique(views.reshape(-1, 3) // 8, axis=0)) > 30, "the views are drawn too"
    rects = session["log"]["rects"]
    # Every button with a key has its key written beside it, to its right on the same line.
    for button, key in (("stop (calm scene)", "F8"), ("ask pain rating", "F4"), ("end session", "F9"),
                        ("pause", "F7"), ("record rating", "F5")):  # fmt: skip
        bx, by, bw, bh = rects[button]
        kx, ky, kw, kh = rects[f"{button} key"]
        assert kx >= bx + bw and abs((ky + kh / 2) - (by + bh / 2)) <= 2, (button, rects[button], rects[f"{button} key"])
        label = image[ky : ky + kh, kx : kx + kw]
        assert (np.abs(label - label[0, 0]).max(axis=-1) > 40).sum() > 10, f"[{key}] is written there"
    # Scrolled down, the figures at the panels' foot: the mirror sync error (none in a
    # laterality session: its plot is empty), frame time and the recorder's queue.
    image = np.asarray(Image.open(keep_picture(session["figures"])).convert("RGB")).astype(int)
    rects = session["log"]["figure_rects"]
    for title in ("mirror sync error (cm) by repetition", "frame time (ms)", "recorder queue (records)"):
        x, y, w, h = rects[f"plot {title}"]
        assert 0 <= y and y + h <= image.shape[0] and x >= image.shape[1] - PANEL_PX, (title, rects[f"plot {title}"])
        plot = image[y : y + h, x : x + w]
        assert len(np.unique(plot.reshape(-1, 3) // 8, axis=0)) > 4, f"the {title} plot is drawn"
        assert (plot.max(axis=-1) > 150).sum() > 100, f"the {title} plot's title and axes"


REPLAY_SCRIPT = COMMON + """
    import gmi_vr.app.replay_run as app_replay
    import gmi_vr.console.therapist_window as console
    from gmi_vr.console.therapist_window import timeline_area
    from gmi_vr.recording.store import SessionStore

    log = {{"drag": [], "pictures": []}}
    state = {{}}
    original_next = app_replay.ReplayFrames.next_frame

    def next_frame(self):
        frame = original_next(self)  # the window's keys and timeline clicks taken first
        state["player"] = self.player
        return frame

    app_replay.ReplayFrames.next_frame = next_frame
    original_show = console.TherapistWindow.show

    def show(self, draw_list, frame, status, capture=False, timeline=None):
        pixels = original_show(self, draw_list, frame, status, capture, timeline)
        player = state["player"]
        shown = player.shown
        log["pictures"].append({{"time_s": frame.time_s, "size": hand_size(shown.body.world_from_joint),
                                 "skinned": skinned_hand_size(player.rig, draw_list.skinned[0].palette),
                                 "panel_size": self.panel.hand_scale, "start_s": player.clock.start_s,
                                 "end_s": player.clock.end_s}})
        driver.send(self)
        return pixels

    def drive():
        window = yield
        for _ in range(5):
            window = yield
        width, height = window.context.framebuffer_size()
        x, y, w, h = timeline_area(width - window.view.panel_px, height)
        log["bar_px"] = w
        def to(fraction):
            mouse.move(*to_screen(window, x + round(fraction * (w - 1)), y + h // 2))
        to(0.2)
        window = yield
        mouse.button(True)  # pressed on the bar at 20 %
        for fraction in (0.2, 0.5, 0.95):
            to(fraction)
            for _ in range(3):
                window = yield
            log["drag"].append([fraction, len(log["pictures"]) - 1])
        mouse.button(False)  # let go at 95 %
        for _ in range(3):
            window = yield
        to(0.5)  # moved without a button: no longer scrubbing
        for _ in range(3):
            window = yield
        log["after"] = len(log["pictures"]) - 1
        glfw.set_window_should_close(window.context.window, True)
        yield from driven.idle()

    driver = drive()
    next(driver)
    console.TherapistWindow.show = show
    with SessionStore.open(Path({data!r})) as store:
        (session,) = store.list_sessions("L-1")
        app_replay.run_replay(store, session.id, start_paused=True)
    """


@pytest.mark.display
def test_dragging_replays_timeline_shows_the_chosen_time_with_the_hand_at_its_size_then(
        session: dict, tmp_path: Path) -> None:
    log = driven_log(REPLAY_SCRIPT, session["env"], data=str(session["data"]))
    pictures = log["pictures"]
    start_s, end_s = pictures[0]["start_s"], pictures[0]["end_s"]
    assert pictures[0]["time_s"] == pytest.approx(start_s, abs=1e-6), "opened paused at the start"
    with SessionStore.open(session["data"]) as store:
        (saved,) = store.list_sessions("L-1")
        (changed,) = [e.time_s for e in store.events(saved.id) if e.kind == "body.hand_scale"]
    # One pixel of the bar is this much recording; the picture shows the recorded frame at
    # (or, past the last, just before) the chosen time: at most one frame (30 Hz) on.
    per_pixel = (end_s - start_s) / (log["bar_px"] - 1)
    for fraction, index in log["drag"]:
        shown = pictures[index]
        chosen = start_s + fraction * (end_s - start_s)
        assert abs(shown["time_s"] - chosen) <= per_pixel + 1 / 30 + 1e-6, (fraction, shown["time_s"], chosen)
        smaller = shown["time_s"] >= changed
        expected = 0.7 if smaller else 1.0
        assert (shown["size"], shown["skinned"], shown["panel_size"]) == (
            pytest.approx(expected, abs=1e-4), pytest.approx(expected, abs=1e-4), pytest.approx(expected)), fraction
    # The drag passed the change: the hand was life size at 20 % and 70 % at 95 %.
    sizes = [round(pictures[index]["size"], 3) for _, index in log["drag"]]
    assert sizes[0] == 1.0 and sizes[-1] == 0.7, sizes
    # Let go, the pointer moving over the bar no longer moves the picture.
    assert pictures[log["after"]]["time_s"] == pictures[log["drag"][-1][1]]["time_s"]
