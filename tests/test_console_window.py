"""The therapist's console under a real X server (Xvfb): the pointer is moved and clicked on
the display (XTEST), the clicks reach the window through GLFW's own event queue and the
imgui panels, and the effects are asserted in the session, not in the widgets: the limb mode
switches on the very next frame after the console hands the click on, "ask pain" puts the
scale in the patient's view, "stop" fades to the calm scene, and every action has its audit
row by the therapist named with ``therapist`` (``--by``). The product runs in a fresh
interpreter (PyOpenGL binds GLX once per process).

A motion file drives the simulator: the right (healthy) hand reaches forward and stays there,
the left rests on the lap, so the mirrored left arm and the real one are far apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.clinic_store import store_with_patient, use_data_folder
from support.screens import driven_log, driven_run, keep_picture, logged, require_display

from gmi_vr.app.patients import add_patient
from gmi_vr.recording.store import SessionStore

#: The patient seated, the left hand on the lap, the right (healthy) one near the body.
SEATED = {"t": 0.0, "head": {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -12, 0]},
          "left": {"position": [-0.2, 0.6, -0.2], "yaw_pitch_roll_deg": [4, -18, 0]},
          "right": {"position": [0.2, 0.84, -0.36], "yaw_pitch_roll_deg": [-4, -18, 0]}}  # fmt: skip


def motion_text(*keyframes: dict[str, object]) -> str:
    """A 30 Hz motion file's text: ``SEATED`` at 0 s, then ``keyframes``."""
    lines = [{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}, SEATED, *keyframes]
    return "\n".join(json.dumps(line) for line in lines) + "\n"


MOTION = motion_text(
    {"t": 1.0, "right": {"position": [0.2, 0.84, -0.36], "yaw_pitch_roll_deg": [-4, -18, 0]}},
    {"t": 2.0, "right": {"position": [0.14, 0.95, -0.66], "yaw_pitch_roll_deg": [-10, -8, 0]}},
    {"t": 120.0, "right": {"position": [0.14, 0.95, -0.66], "yaw_pitch_roll_deg": [-10, -8, 0]}},
)

# Runs in the child: the simulator's session of patient K-1 on the motion, with the window's
# show() wrapped so a driver sees each picture and clicks the console's buttons for real.
SCRIPT = """
    import numpy as np
    import gmi_vr.app.pipeline as app_pipeline
    from gmi_vr.app import run_sim
    import gmi_vr.app.simulator as sim
    from gmi_vr.body.skeleton import JOINT_INDEX

    log = {{"steps": [], "actions": [], "marks": {{}}}}
    state = {{"steps": 0}}

    original_step = app_pipeline.SessionPipeline.step

    def step(self, frame, **options):
        output = original_step(self, frame, **options)
        hand = output.body.world_from_joint[JOINT_INDEX["leftHand"], :3, 3]
        left, right = frame.left.grip.position, frame.right.grip.position
        mirrored_right = np.array([-right[0], right[1], right[2]])  # the midline is x = 0 here
        log["steps"].append({{
            "mode": output.body.mode.value,
            "to_left_grip": float(np.linalg.norm(hand - left)),
            "to_mirrored_right": float(np.linalg.norm(hand - mirrored_right)),
            "scale": any("How much pain" in t.text for t in output.draw.texts),
            "fade": float(output.draw.fade),
            "calm": bool(self.runner is not None and self.runner.calm_scene_shown),
        }})
        state["steps"] += 1
        return output

    app_pipeline.SessionPipeline.step = step

    driven.record_actions(log["actions"], lambda: state["steps"])

    def click(window, label):
        return driven.click(mouse, window, label)

    def until(test, what, limit=900):
        window, shown = yield from driven.until(lambda w, s: test(s), what, limit)
        log["marks"][what] = state["steps"]
        return window, shown

    def drive():
        window, shown = yield from driven.frames(6)
        window, shown = yield from click(window, "record rating")  # the opening rating, 0
        window, shown = yield from until(lambda s: "pain rating 0 recorded" in s["status"], "opening rating")
        window, shown = yield from until(lambda s: state["steps"] > 80, "reached")  # the reach is held
        window, shown = yield from click(window, "real")
        window, shown = yield from until(lambda s: "real, affected left" in s["status"], "real")
        window, shown = yield from until(lambda s: state["steps"] > log["marks"]["real"] + 20, "followed")
        window, shown = yield from click(window, "ask pain rating")
        window, shown = yield from until(lambda s: log["steps"][-1]["scale"], "scale")
        shown["capture"] = {shot!r}  # this picture is saved: panels and the scale in the view
        window, shown = yield
        window, shown = yield from click(window, "stop (calm scene)")
        window, shown = yield from until(lambda s: log["steps"][-1]["calm"], "calm")
        window, shown = yield from driven.end_with_closing_rating(click, window)
        yield from driven.idle()

    driven.drive_window(drive(), pictures=True)
    # Every frame of the motion stepped and drawn, however slow the window: the steps counted
    # above are the motion's frames, and a click lands on the step after the window's frame.
    sim.SIM_WINDOW_MAX_HZ = None
    run_sim(Path({motion!r}), patient_id="K-1", max_frames=3000, therapist="dr.k", report=print, every_frame=True)
    """


@pytest.mark.display
def test_console_clicks_steer_the_session_and_are_audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "K-1").close()
    motion = tmp_path / "reach-and-hold.jsonl"
    motion.write_text(MOTION)
    shot = tmp_path / "console-during-a-session.png"
    log = driven_log(SCRIPT, motion=str(motion), shot=str(shot))
    steps, actions = log["steps"], log["actions"]
    names = [name for _, name, _ in actions]
    assert names == ["rating", "limb_mode", "ask_pain", "stop", "end", "rating"], actions

    # The mode switch shows in the very frame stepped after the console handed the click on:
    # from that frame the displayed left arm leaves the mirrored right hand and heads for the
    # left controller (on the lap), moving there at the body's return speed (a displayed hand
    # never jumps: BodySettings.return_max_step_m), until "ask pain" holds it still.
    (at, _, value), = [a for a in actions if a[1] == "limb_mode"]
    (asked, _, _), = [a for a in actions if a[1] == "ask_pain"]
    assert value == "real"
    before, real = steps[at - 1], steps[at:asked]
    assert before["mode"] == "mirror" and {step["mode"] for step in real} == {"real"}
    # (Mirrored, the hand is as near the reflected right grip as the arm reaches: the two
    # grips are 65 cm apart here.)
    assert before["to_mirrored_right"] + 0.15 < before["to_left_grip"], before
    to_left = [before["to_left_grip"]] + [step["to_left_grip"] for step in real]
    assert to_left[1] < to_left[0] - 0.005, "the first frame after the click moves towards the real hand"
    # Every frame brings it nearer until it has arrived (within 3 cm: the hand joint passes
    # close by the grip it follows).
    approach = [(a, b) for a, b in zip(to_left, to_left[1:], strict=False) if a > 0.03]
    assert all(b < a for a, b in approach), " ".join(f"{v:.3f}" for v in to_left)
    assert to_left[-1] < to_left[0] - 0.15 and real[-1]["to_mirrored_right"] > before["to_mirrored_right"] + 0.15

    # "Ask pain" put the scale in the patient's view (it was not there before).
    assert not steps[asked - 1]["scale"]
    assert any(step["scale"] for step in steps[asked : asked + 5])
    # "Stop" faded to the calm scene: the fade rose, then the calm scene replaced the task.
    (stopped, _, _), = [a for a in actions if a[1] == "stop"]
    assert not steps[stopped - 1]["calm"]
    fades = [step["fade"] for step in steps[stopped:]]
    assert max(fades) > 0.5 and any(step["calm"] for step in steps[stopped:])

    with SessionStore.open() as store:
        (session,) = store.list_sessions("K-1")
        audit = [(a.actor, a.action, a.session_id, a.details) for a in store.audit_trail("K-1")]
        events = store.events(session.id)
        ratings = [(r.phase, r.value) for r in store.ratings(session.id)]
    console_rows = [row for row in audit if row[1].startswith("console.")]
    assert [row[1] for row in console_rows] == ["console.rating", "console.limb_mode", "console.ask_pain",
                                                "console.stop", "console.end", "console.rating"]
    assert all(row[0] == "dr.k" and row[2] == session.id for row in console_rows)
    assert all(row[3]["via"] == "console" and "session_time_s" in row[3] for row in console_rows)
    assert console_rows[1][3]["mode"] == "real" and console_rows[1][3]["was"] == "mirror"
    # The live change is in the session's record, so a replay and an export show it.
    changes = [e for e in events if e.kind == "body.mode" and e.data.get("by") == "therapist"]
    assert [c.data["mode"] for c in changes] == ["real"]
    assert ratings[0] == ("before", 0) and ratings[-1] == ("after", 0)

    # The picture saved while the scale was up shows the panels beside the views.
    image = np.asarray(Image.open(keep_picture(shot)).convert("RGB"))
    from gmi_vr.console.panels import PANEL_PX

    panels = image[:, -PANEL_PX:]
    views = image[:, : image.shape[1] - PANEL_PX]
    assert len(np.unique(panels.reshape(-1, 3) // 8, axis=0)) > 20, "the panels are drawn"
    assert (panels.max(axis=-1) > 180).sum() > 2000, "the panels' text"
    assert len(np.unique(views.reshape(-1, 3) // 8, axis=0)) > 30, "the views are drawn too"


# The simulator's keyboard session of patient K-2: ended at once from the console, rated,
# then the stage is decided in the console's "after the session" section, first without a
# reason (refused), then with one typed on the keyboard.
AFTER_SCRIPT = """
    from functools import partial
    from gmi_vr.app import run_sim

    log = {{"after": []}}
    click = partial(driven.click, mouse, settle=3)
    until = partial(driven.until, explain=lambda w, s: after(w))

    def after(window):
        panel = window.panel
        return None if panel is None or panel.after is None else panel.after

    def drive():
        window, status = yield from driven.frames(6)
        window, status = yield from driven.end_with_closing_rating(click, window)
        window, status = yield from until(lambda w, s: "keep the stage" in w.console.button_rects, "after panel")
        log["after"].append(after(window).proposal)
        window, status = yield from click(window, "keep the stage")  # no reason yet: refused
        log["after"].append(after(window).problem)
        window, status = yield from driven.click(mouse, window, "reason", settle=1)
        keyboard.press("o", "n", "e", "space", "m", "o", "r", "e", "space", "w", "e", "e", "k")
        for _ in range(3):
            window, status = yield
        window, status = yield from click(window, "keep the stage")
        window, status = yield from until(lambda w, s: after(w).decided, "decided", limit=60)
        log["after"].append(after(window).decided)
        keyboard.press("Escape")  # the session is complete: one Escape closes the window
        yield from driven.idle()

    driven.drive_window(drive())
    run_sim(None, patient_id="K-2", therapist="dr.k", report=print)
    """


@pytest.mark.display
def test_after_the_session_the_stage_is_decided_in_the_console_with_a_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "K-2").close()
    log = driven_log(AFTER_SCRIPT)
    proposal, refused, decided = log["after"]
    assert proposal[0].startswith("stage 1 -> proposed 1")
    from gmi_vr.review.progress import REASON_NEEDED

    assert refused == REASON_NEEDED
    assert decided == "proposal rejected, now at stage 1"  # the words of `gmi-vr patients progress`
    with SessionStore.open() as store:
        decisions = [a for a in store.audit_trail("K-2") if a.action == "progression.decision"]
    # One decision (the refused click left no trace), by the therapist, with the typed reason.
    assert [(a.actor, a.details["note"]) for a in decisions] == [("dr.k", "one more week")], decisions


# Free play in the simulator (no --patient): the console lists the patients; the therapist
# searches, picks K-4 and starts their session in the same window, then ends it.
BEFORE_SCRIPT = """
    from functools import partial
    from gmi_vr.app import run_sim

    log = {{}}
    click = partial(driven.click, mouse, settle=3)

    def drive():
        window, status = yield from driven.frames(6)
        before = window.panel.before
        log["listed"] = [[row.id, row.summary, row.last_session, row.calibration] for row in before.patients]
        log["free play"] = window.panel.title
        yield from driven.search_and_run_session(click, keyboard, window, "k minus 4", "K-4", log)

    driven.drive_window(drive())
    run_sim(None, therapist="dr.k", report=print)
    """


@pytest.mark.display
def test_before_a_session_the_console_lists_the_patients_and_starts_the_chosen_ones_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_display()
    use_data_folder(tmp_path, monkeypatch)
    with SessionStore.open() as store:
        add_patient(store, "K-3", "right", "hand", therapist="t.one")
        add_patient(store, "K-4", "left", "hand", age_years=54, therapist="t.one")
    lines = driven_run(BEFORE_SCRIPT)
    log = logged(lines)
    assert [row[0] for row in log["listed"]] == ["K-3", "K-4"]
    assert log["listed"][1][1] == "left hand, age 50-59, stage 1"
    assert log["listed"][1][2] == "no session yet" and log["listed"][1][3].startswith("not calibrated")
    assert log["free play"].startswith("free play")
    assert log["search shows"] == ["K-4"], "the search keeps the patients whose id matches"
    title, no_list = log["session"]
    assert no_list and title.startswith("patient K-4")
    reports = [line for line in lines if " saved " in line]
    with SessionStore.open() as store:
        (session,) = store.list_sessions("K-4")
        assert store.list_sessions("K-3") == [], "free play recorded nothing"
        started = [(a.actor, a.session_id) for a in store.audit_trail("K-4") if a.action == "console.start"]
    assert started == [("dr.k", session.id)]
    assert (session.status, session.end_reason) == ("not_started", "therapist_end") and reports
