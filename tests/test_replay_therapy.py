"""Replay shows what the patient was shown: sessions run through the real pipeline on the sim
source into a real SQLite store, then rebuilt from the store (stimuli, the pain-rating scale,
the calm and closing messages) and compared with what the live session drew at every
recorded frame; the timeline's marks and the keys that jump between them; and the replay
window under Xvfb with the stimulus, the scale and the timeline in its pixels.

Session 1 runs the whole plan: the patient chooses 3 on the opening scale with thumbstick
flicks and confirms by holding the trigger; a laterality block of 4 trials with feedback,
answered by the therapist's keys (the first one wrongly); the therapist types the closing
rating. Session 2 is stopped by the therapist during the block's second picture, rests in
the calm scene, and is ended with a typed closing rating. In session 3 the headset is off
for two seconds during the second picture and again during the closing rating.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from support.screens import keep_picture, run_window_script

from gmi_vr.app.patients import add_patient, edit_patient_program
from gmi_vr.app.replay_run import PlaybackClock, ReplayPlayer, replay_body, session_pictures
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.console.replay_window import MARK_COLORS
from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, Side
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.geometry.camera import Camera
from gmi_vr.recording.replay_source import ReplaySource
from gmi_vr.recording.store import SessionStore
from gmi_vr.scene.draw import DrawList
from gmi_vr.scene.room import clinic_room_groups
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.plan.program import BodyPart, LateralitySettings, Program
from gmi_vr.therapy.replayed import MARK_GROUPS, MARKED_EVENTS, SessionPictures, timeline_marks
from gmi_vr.therapy.runner import CALM_MESSAGE, SessionRunner
from gmi_vr.therapy.safety import STOP_HINT
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

RATE_HZ = 60.0
SEED = 7
HEAD = (0.0, 1.2, 0.0)
ANSWER_AFTER_S = 0.4  # the therapist's key, this long after each picture appears
PROGRAM_EDITS = {
    "session.blocks": ["laterality"], "session.rating_at_start": True, "session.rating_at_end": True,
    "laterality.trials_per_block": 4, "laterality.rotations_deg": [0, 90], "laterality.views": ["back"],
    "laterality.feedback": True, "laterality.inter_trial_s": 0.5,
}  # fmt: skip


def motion(end_s: float, start_rating: bool) -> str:
    """Head still at seated eye height looking along -Z; with ``start_rating`` the patient
    flicks the right thumbstick four times (0, 1, 2, 3) and holds the trigger 1.2 s."""
    keys: list[dict[str, Any]] = [{"t": 0.0, "head": {"position": list(HEAD)},
                                   "left": {"trigger": 0.0}, "right": {"trigger": 0.0}}]  # fmt: skip
    if start_rating:
        for k in range(4):
            at = 0.5 + 0.3 * k
            keys += [{"t": at, "right": {"thumbstick": [0.0, 0.0]}},
                     {"t": at + 0.05, "right": {"thumbstick": [1.0, 0.0]}},
                     {"t": at + 0.15, "right": {"thumbstick": [1.0, 0.0]}},
                     {"t": at + 0.2, "right": {"thumbstick": [0.0, 0.0]}}]  # fmt: skip
        keys += [{"t": 2.0, "right": {"trigger": 0.0, "trigger_click": False}},
                 {"t": 2.05, "right": {"trigger": 1.0, "trigger_click": True}},
                 {"t": 3.2, "right": {"trigger": 1.0, "trigger_click": True}},
                 {"t": 3.25, "right": {"trigger": 0.0, "trigger_click": False}}]  # fmt: skip
    keys.append({"t": end_s})
    header = {"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ}
    return "\n".join(json.dumps(line) for line in [header, *keys]) + "\n"


@dataclass
class Live:
    """What a live session drew, frame by frame, and what happened."""

    session_id: int = 0
    drawn: list[tuple[float, DrawList]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    acted: set[str] = field(default_factory=set)  # the console calls made (``once``)

    def first(self, kind: str) -> Event:
        return next(e for e in self.events if e.kind == kind)


Act = Callable[[SessionRunner, float, Live], None]
#: Whether the headset is on (the session focused) at a frame time.
Focus = Callable[[float, Live], bool]


def run_session(patient: str, text: str, act: Act, focus: Focus = lambda now, live: True) -> Live:
    """One session of ``patient`` through the real pipeline and recorder; ``act`` makes the
    therapist's console calls before each frame's step (with that frame's time); frames are
    unfocused where ``focus`` says so."""
    live = Live()
    with session_pipeline(patient, source="sim", seed=SEED) as pipeline, \
            ScriptedFrameSource(parse_motion(text, "replay.jsonl")) as source:  # fmt: skip
        assert pipeline.runner is not None and pipeline.recorder is not None
        assert pipeline.recorder.session_id is not None, "the session is recorded"
        live.session_id = pipeline.recorder.session_id
        for frame in source.frames():
            act(pipeline.runner, frame.time_s, live)
            if not focus(frame.time_s, live):
                frame = replace(frame, focused=False)
            output = pipeline.step(frame)
            live.drawn.append((frame.time_s, output.draw))
            live.events += output.events
            if output.done:
                break
        assert output.done, "the session ran to its end"
    return live


def once(live: Live, what: str) -> bool:
    """True the first time ``what`` is asked for in this session: each console call once."""
    if what in live.acted:
        return False
    live.acted.add(what)
    return True


def answer_by_key(runner: SessionRunner, now: float, live: Live, wrong_first: bool = True) -> None:
    """The therapist answers each picture ANSWER_AFTER_S after it appeared (the first one
    wrongly with ``wrong_first``)."""
    shows = [e for e in live.events if e.kind == "trial.show"]
    if shows and now >= shows[-1].time_s + ANSWER_AFTER_S - 1e-9 and once(live, f"answer {shows[-1].time_s}"):
        side = Side(shows[-1].data["side"])
        if wrong_first and shows[-1].data["trial_index"] == 0:
            side = Side.RIGHT if side is Side.LEFT else Side.LEFT
        runner.answer_from_console(side, now)


def closing_rating(runner: SessionRunner, now: float, live: Live, value: int) -> None:
    """The therapist types the closing rating a second after the scale appeared."""
    asks = [e for e in live.events if e.kind == "pain.ask" and e.data["moment"] == "end"]
    if asks and now >= asks[0].time_s + 1.0 and once(live, "closing rating"):
        runner.rating_from_console(value, now)


def whole_plan(runner: SessionRunner, now: float, live: Live) -> None:
    answer_by_key(runner, now, live)
    closing_rating(runner, now, live, 2)


def stopped(runner: SessionRunner, now: float, live: Live) -> None:
    if now >= 0.5 and once(live, "opening rating"):
        runner.rating_from_console(4, now)
    shows = [e for e in live.events if e.kind == "trial.show"]
    stops = [e for e in live.events if e.kind == "task.stopped"]
    if len(shows) < 2:
        answer_by_key(runner, now, live, wrong_first=False)
    elif not stops and now >= shows[1].time_s + 0.2 and once(live, "stop"):
        runner.stop(now)
    if stops and now >= stops[0].time_s + 3.0 and once(live, "end"):
        runner.end_session(now)
    closing_rating(runner, now, live, 5)


def headset_off(now: float, live: Live) -> bool:
    """Off for 2 s from 0.2 s into the second picture, and from 0.5 s into the closing rating."""
    shows = [e.time_s for e in live.events if e.kind == "trial.show"]
    closing = [e.time_s for e in live.events if e.kind == "pain.ask" and e.data["moment"] == "end"]
    starts = shows[1:2] + [t + 0.3 for t in closing]
    return not any(start + 0.2 <= now < start + 2.2 for start in starts)


def paused_plan(runner: SessionRunner, now: float, live: Live) -> None:
    if now >= 0.5 and once(live, "opening rating"):
        runner.rating_from_console(4, now)
    answer_by_key(runner, now, live, wrong_first=False)
    asks = [e for e in live.events if e.kind == "pain.ask" and e.data["moment"] == "end"]
    if asks and now >= asks[0].time_s + 4.0 and once(live, "closing rating"):
        runner.rating_from_console(3, now)


@dataclass(frozen=True)
class Recorded:
    data_dir: Path
    whole: Live
    stopped: Live
    paused: Live


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    folder = tmp_path_factory.mktemp("replay-therapy")
    patch = pytest.MonkeyPatch()
    patch.setenv("GMI_VR_DATA", str(folder / "data"))
    patch.setenv("GMI_VR_CONFIG", str(folder / "absent.toml"))
    try:
        with SessionStore.open() as store:
            for patient in ("RP-1", "RP-2", "RP-3"):
                add_patient(store, patient, "left", "hand", therapist="t.one")
                edit_patient_program(store, patient, PROGRAM_EDITS, therapist="t.one",
                                     reason="a short session to replay")  # fmt: skip
        whole = run_session("RP-1", motion(40.0, start_rating=True), whole_plan)
        stop = run_session("RP-2", motion(40.0, start_rating=False), stopped)
        paused = run_session("RP-3", motion(40.0, start_rating=False), paused_plan, headset_off)
    finally:
        patch.undo()
    return Recorded(folder / "data", whole, stop, paused)


def _items_match(live: DrawList, rebuilt: DrawList, room_meshes: int) -> None:
    """``rebuilt`` (therapy's picture) is what ``live`` drew after its first ``room_meshes``
    meshes (the room), item for item; texts and fade the same."""
    assert len(live.meshes) == room_meshes + len(rebuilt.meshes)
    for mesh, again in zip(live.meshes[room_meshes:], rebuilt.meshes, strict=True):
        assert (mesh.mesh, mesh.color, mesh.lit) == (again.mesh, again.color, again.lit)
        np.testing.assert_allclose(mesh.world_from_mesh, again.world_from_mesh, atol=1e-9)
    assert [t.text for t in live.texts] == [t.text for t in rebuilt.texts]
    for text, same in zip(live.texts, rebuilt.texts, strict=True):
        assert (text.height_m, text.color, text.background) == (same.height_m, same.color, same.background)
        np.testing.assert_allclose(text.world_from_text, same.world_from_text, atol=1e-9)


def _rebuild_every_frame(data_dir: Path, live: Live) -> list[str]:
    """Compare the rebuilt picture with the live one at every frame the session drew;
    returns which kinds of picture were seen (to know the comparison covered them)."""
    room_meshes = len(clinic_room_groups())  # a live session draws the room merged
    seen = []
    with SessionStore.open(data_dir) as store, ReplaySource(store, live.session_id) as frames:
        pictures = session_pictures(store, live.session_id, frames)
        # A fade eases between frames; the runner's return from black starts at the first
        # frame after the fade-out's end, the replay at the end itself: one frame's worth
        # (the steepest eased slope, 1.5 / half, times a frame) apart at most.
        fade_slack = 1.5 / pictures._fade_half_s() / RATE_HZ
        for time_s, drawn in live.drawn:
            shown = pictures.at(time_s)
            _items_match(drawn, shown.draw, room_meshes if shown.room else 0)
            assert abs(drawn.fade - shown.draw.fade) <= fade_slack + 1e-9, time_s
            if not shown.room:
                assert drawn.clear_color == shown.draw.clear_color
            texts = " ".join(t.text for t in shown.draw.texts if t.text != STOP_HINT)  # under any picture
            kinds = [m.mesh for m in shown.draw.meshes]
            seen.append("feedback" if "Not this time" in texts or "Yes:" in texts
                        else "stimulus" if any(k.startswith("stimuli/") for k in kinds)
                        else "scale" if "How much pain" in texts
                        else "calm" if CALM_MESSAGE in texts
                        else "cross" if texts == "+" else "other")  # fmt: skip
    return seen


def test_the_rebuilt_pictures_are_what_the_live_session_drew(recorded: Recorded) -> None:
    seen = _rebuild_every_frame(recorded.data_dir, recorded.whole)
    assert {"stimulus", "scale", "feedback", "cross"} <= set(seen)
    assert seen.count("stimulus") >= 4 * ANSWER_AFTER_S * RATE_HZ - 4, "every picture, every frame"


def test_a_stop_and_the_calm_scene_are_rebuilt_too(recorded: Recorded) -> None:
    seen = _rebuild_every_frame(recorded.data_dir, recorded.stopped)
    assert {"stimulus", "scale", "calm"} <= set(seen)
    assert seen.count("calm") >= 2 * RATE_HZ, "the calm message until the therapist ended"


def test_while_the_headset_was_off_the_last_picture_is_held_and_eased_to_black(recorded: Recorded) -> None:
    live = recorded.paused
    assert [e.kind for e in live.events].count("session.pause") == 2
    assert any(e.kind == "trial.void" for e in live.events), "the picture on screen was voided"
    seen = _rebuild_every_frame(recorded.data_dir, live)
    assert {"stimulus", "scale", "cross"} <= set(seen)
    with SessionStore.open(recorded.data_dir) as store, ReplaySource(store, live.session_id) as frames:
        pictures = session_pictures(store, live.session_id, frames)
        paused_s, resumed_s = pictures.pauses[0]
        held = pictures.at(paused_s + 1.9)
        assert held.draw.meshes and held.draw.meshes[0].mesh.startswith("stimuli/hand_"), "the picture held"
        assert held.draw.fade == 1.0, "faded out"
        back = pictures.at(resumed_s)
        assert [t.text for t in back.draw.texts if t.text != STOP_HINT] == ["+"] and back.draw.fade == 1.0
        assert pictures.at(resumed_s + 1.0).draw.fade == 0.0


def test_the_patients_choice_on_the_scale_is_replayed_from_the_controllers(recorded: Recorded) -> None:
    live = recorded.whole
    rating = live.first("pain.rating")
    assert rating.data["value"] == 3 and rating.data["source"] == "patient"
    with SessionStore.open(recorded.data_dir) as store, ReplaySource(store, live.session_id) as frames:
        pictures = session_pictures(store, live.session_id, frames)
        hints = [t.text for t in pictures.at(0.2).draw.texts]
        assert "Thumbstick or trigger tap to choose" in hints, "nothing chosen yet"
        during_hold = pictures.at(rating.time_s - 0.5).draw
        assert any("Your answer: 3." in t.text for t in during_hold.texts)
        bars = [m for m in during_hold.meshes if m.color == (0.45, 0.72, 0.5, 1.0)]
        assert len(bars) == 1 and bars[0].world_from_mesh[0, 0] == pytest.approx(0.4, abs=0.02), "half held"
        # Going back re-runs the task from its ask: the same picture as on the way forward.
        assert any("Your answer: 1." in t.text for t in pictures.at(1.0).draw.texts)
        assert any("Your answer: 3." in t.text for t in pictures.at(rating.time_s - 0.5).draw.texts)
        assert not any("How much pain" in t.text for t in pictures.at(rating.time_s + 0.01).draw.texts)


def test_without_frames_the_scale_shows_unchosen_and_old_events_still_draw(recorded: Recorded) -> None:
    """Older recordings: no anchor in "session.start", no mesh in "trial.show"."""
    live = recorded.whole
    stripped = []
    for event in live.events:
        data = dict(event.data)
        if event.kind == "session.start":
            del data["anchor"]
        if event.kind == "trial.show":
            del data["mesh"], data["reflected"]
        stripped.append(Event(event.time_s, event.kind, data))
    anchor = level_anchor(Pose(np.array(HEAD)))
    old = SessionPictures(stripped, None, fallback_anchor=anchor)
    new = SessionPictures(live.events, None)
    show = live.first("trial.show")
    a, b = old.at(show.time_s + 0.1).draw, new.at(show.time_s + 0.1).draw
    assert [m.mesh for m in a.meshes] == [m.mesh for m in b.meshes] == [show.data["mesh"]]
    np.testing.assert_allclose(a.meshes[0].world_from_mesh, b.meshes[0].world_from_mesh, atol=1e-9)
    assert "Thumbstick or trigger tap to choose" in [t.text for t in new.at(2.5).draw.texts]
    # A malformed event shows nothing new and breaks nothing.
    broken = SessionPictures([*live.events[:3], Event(show.time_s, "trial.show", {"side": "up"})], None)
    assert broken.at(show.time_s + 0.1).draw.meshes == ()


# --------------------------------------------------------------------------- the timeline


def test_the_timeline_marks_the_recorded_events(recorded: Recorded) -> None:
    live = recorded.whole
    with SessionStore.open(recorded.data_dir) as store:
        stored = [Event(e.time_s, e.kind, e.data) for e in store.events(live.session_id)]
    marks = timeline_marks(stored)
    expected = [(e.time_s, MARKED_EVENTS[e.kind]) for e in live.events if e.kind in MARKED_EVENTS]
    assert list(marks) == sorted(expected, key=lambda m: m[0])
    groups = [g for _, g in marks]
    assert groups.count("trial") == 4 and groups.count("answer") == 4
    assert groups.count("rating") == 2 and groups.count("block") == 2
    assert set(MARK_COLORS) == {g for g, _ in MARK_GROUPS} >= set(groups)
    stops = timeline_marks(recorded.stopped.events)
    assert [g for _, g in stops].count("safety") == 1, "the therapist's stop"


def test_next_and_previous_event_keys_seek_to_the_marks(recorded: Recorded) -> None:
    live = recorded.whole
    with SessionStore.open(recorded.data_dir) as store, ReplaySource(store, live.session_id) as source:
        marks = timeline_marks(live.events)
        times = [t for t, _ in marks]
        clock = PlaybackClock(source.start_s, source.end_s, now_s=0.0, playing=False)
        player = ReplayPlayer(source, clock, replay_body(store, live.session_id), marks=marks)
        player.update(0.0)
        visited = []
        for _ in range(len(times)):
            assert player.handle_key("page_down", 0.0)
            visited.append(player.update(0.0).frame.time_s)
            assert clock.position(0.0) == pytest.approx(visited[-1], abs=1e-9)
        distinct = sorted(set(times))
        assert visited[: len(distinct)] == pytest.approx(distinct, abs=1e-6), "each mark in turn, the frame at it"
        assert player.handle_key("n", 0.0) and clock.position(0.0) == pytest.approx(distinct[-1]), "none after the last"
        player.handle_key("page_up", 0.0)
        assert clock.position(0.0) == pytest.approx(distinct[-2])
        player.handle_key("p", 0.0)
        assert clock.position(0.0) == pytest.approx(distinct[-3])
        # Playing, a press just after a mark goes to the one before it.
        player.clock.play(0.0)
        assert clock.position(0.1) == pytest.approx(distinct[-3] + 0.1)
        player.handle_key("page_up", 0.1)
        assert clock.position(0.1) == pytest.approx(distinct[-4])
        player.seek_fraction(0.5, 0.2)
        assert clock.position(0.2) == pytest.approx((source.start_s + source.end_s) / 2)


# --------------------------------------------------------------------------- the window


def _shot(data_dir: Path, session_id: int, shot: Path, at_s: float) -> np.ndarray:
    """The replay window (``gmi_vr.app.replay_run``) paused ``at_s`` into the recording."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from gmi_vr.app.replay_run import run_replay
        from gmi_vr.recording.store import SessionStore
        with SessionStore.open(Path({str(data_dir)!r})) as store:
            run_replay(store, {session_id}, visible=False, max_frames=2, screenshot=Path({str(shot)!r}),
                       start_paused=True, start_at_s={at_s!r})
        """
    )
    run_window_script(script, timeout_s=300)
    return np.asarray(Image.open(keep_picture(shot)).convert("RGB"))


def _pixel(camera: Camera, point: np.ndarray, rect: tuple[int, int, int, int]) -> tuple[int, int]:
    clip = camera.projection() @ np.linalg.inv(matrix_from_pose(camera.pose)) @ np.append(point, 1.0)
    ndc = clip[:3] / clip[3]
    return (round(rect[0] + (ndc[0] + 1) / 2 * rect[2]), round(rect[1] + (1 - ndc[1]) / 2 * rect[3]))


def use_the_window_gl_platform() -> None:
    """Skip the test without an X display; otherwise have OpenGL load for windows, unless it
    is loaded already in this process (then the windows use what is there)."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    from gmi_vr.render.context import choose_gl_platform

    try:
        choose_gl_platform(offscreen=False)
    except RuntimeError:
        pass  # chosen already in this process


def _patch(image: np.ndarray, xy: tuple[int, int], radius: int) -> np.ndarray:
    x, y = xy
    return image[y - radius : y + radius + 1, x - radius : x + radius + 1].reshape(-1, 3).astype(int)


@pytest.mark.display
def test_the_replay_window_loads_the_sessions_stimuli_before_its_first_frame(recorded: Recorded) -> None:
    """As a live session's window does: a model loading mid-replay would hold the picture."""
    use_the_window_gl_platform()
    live = recorded.whole
    script = textwrap.dedent(
        f"""
        import json
        from pathlib import Path
        from gmi_vr.app.replay_run import run_replay
        from gmi_vr.recording.store import SessionStore
        from gmi_vr.render.renderer import Renderer

        loaded, product_mesh = [], Renderer.mesh
        frames = []

        def mesh(self, name):
            if name not in self._meshes:
                loaded.append([name, len(frames)])  # a model loaded, after this many frames drawn
            return product_mesh(self, name)

        product_draw = Renderer.draw

        def draw(self, *args, **kwargs):
            frames.append(1)
            return product_draw(self, *args, **kwargs)

        Renderer.mesh, Renderer.draw = mesh, draw
        with SessionStore.open(Path({str(recorded.data_dir)!r})) as store:
            run_replay(store, {live.session_id}, visible=False, max_frames=2)
        print("LOADED", json.dumps(loaded))
        """
    )
    lines = run_window_script(script, timeout_s=300)
    (line,) = [x for x in lines if x.startswith("LOADED ")]
    loaded = json.loads(line.removeprefix("LOADED "))
    with SessionStore.open(recorded.data_dir) as store:
        shown = {e.data["mesh"] for e in store.events(live.session_id) if e.kind == "trial.show"}
    stimuli = {name: drawn for name, drawn in loaded if name.startswith("stimuli/")}
    assert shown and set(stimuli) == shown, (stimuli, shown)
    assert set(stimuli.values()) == {0}, "every stimulus was loaded before the first frame was drawn"


@pytest.mark.display
def test_the_replay_window_shows_the_stimulus_the_scale_and_the_timeline(recorded: Recorded,
                                                                         tmp_path: Path) -> None:
    use_the_window_gl_platform()
    from gmi_vr.console import therapist_window as console

    live = recorded.whole
    start = live.drawn[0][0]
    show = live.first("trial.show")
    rating = live.first("pain.rating")
    stimulus = _shot(recorded.data_dir, live.session_id, tmp_path / "replay-stimulus.png", show.time_s + 0.2 - start)
    cross = _shot(recorded.data_dir, live.session_id, tmp_path / "replay-cross.png", show.time_s - 0.2 - start)
    scale = _shot(recorded.data_dir, live.session_id, tmp_path / "replay-scale.png", rating.time_s - 0.5 - start)

    from gmi_vr.console.panels import PANEL_PX
    from gmi_vr.core.settings import Settings

    # The settings' window size (their defaults here), the console's read-only panels at the
    # right: drawn (many shades and light text), the views and the timeline beside them.
    defaults = Settings(data_dir=tmp_path)
    full_width, height = defaults.console_width, defaults.console_height
    assert scale.shape == (height, full_width, 3)
    panels = scale[:, full_width - PANEL_PX :]
    assert len(np.unique(panels.reshape(-1, 3) // 8, axis=0)) > 20 and (panels.max(axis=-1) > 180).sum() > 2000
    width = full_width - PANEL_PX
    patient = console.letterbox(console.pane_layout(width, height, console.TIMELINE_PX)[0], 4 / 3)
    view = Camera.symmetric(Pose(np.array(HEAD)), math.radians(74), 4 / 3)
    anchor = level_anchor(Pose(np.array(HEAD)))
    settings = LateralitySettings()
    centre = anchor.position + np.array([0.0, -settings.drop_m, -settings.distance_m])
    where = _pixel(view, centre, patient)
    # The hand picture where it projects 0.2 s after it appeared: skin tones (red over green
    # over blue, lit); 0.2 s before, the fixation cross's thin lines on the green-grey wall.
    def skin(patch: np.ndarray) -> float:
        return float(((patch[:, 0] > patch[:, 1] + 10) & (patch[:, 1] > patch[:, 2])).mean())

    # The hand fills over half of a square around its centre, 61 pixels in a 628-pixel-wide
    # view and as much smaller as the view is beside the console's panels (the floor's edge
    # at the square's bottom is brown in both pictures).
    radius = round(30 * patient[2] / 628)
    assert skin(_patch(stimulus, where, radius)) > skin(_patch(cross, where, radius)) + 0.4, "the stimulus"
    assert (np.abs(_patch(stimulus, where, radius) - _patch(cross, where, radius)).max(axis=1) > 30).mean() > 0.4

    # The scale: the chosen value 3 in the highlight's amber, two boxes left of the centre.
    box = anchor.position + np.array([(3 - 5) * 0.075, -0.02, -1.0])
    amber = np.array([0.98, 0.82, 0.35]) * 255
    at_box = _patch(scale, _pixel(view, box, patient), 3)
    assert (np.abs(at_box - amber).max(axis=1) < 40).mean() > 0.5, "the chosen 3 highlighted"
    at_zero = _patch(scale, _pixel(view, anchor.position + np.array([-5 * 0.075, -0.02, -1.0]), patient), 1)
    grey = np.array([0.82, 0.84, 0.88]) * 255
    assert (np.abs(at_zero - grey).max(axis=1) < 40).mean() > 0.5, "an unchosen box in grey"

    # The timeline bar: each mark's tick in its group's colour where its time falls.
    bar = console.timeline_area(width, height)
    with SessionStore.open(recorded.data_dir) as store, ReplaySource(store, live.session_id) as source:
        begin, end = source.start_s, source.end_s
    marks = timeline_marks(live.events)
    columns: dict[int, list[str]] = {}
    for time_s, group in marks:
        columns.setdefault(console.timeline_x(bar, begin, end, time_s), []).append(group)
    cursor = console.timeline_x(bar, begin, end, rating.time_s - 0.5)
    row = bar[1] + bar[3] // 2
    checked = 0
    for x, groups in columns.items():
        if len(set(groups)) > 1 or abs(x - cursor) <= 2 or any(abs(x - o) <= 2 for o in columns if o != x):
            continue  # ticks too close together to tell apart, or under the cursor
        colour = np.array(MARK_COLORS[groups[0]][:3]) * 255
        assert np.abs(scale[row, x].astype(int) - colour).max() <= 2, (x, groups)
        checked += 1
    assert checked >= 5, "most ticks stand alone"
    between = [x for x in range(bar[0] + 3, bar[0] + bar[2] - 3) if all(abs(x - o) > 3 for o in [*columns, cursor])]
    played = np.array(console.TIMELINE_PLAYED_COLOR[:3]) * 255
    unplayed = np.array(console.TIMELINE_BAR_COLOR[:3]) * 255
    for x in between[:: max(1, len(between) // 50)]:
        expected = played if x < cursor else unplayed
        assert np.abs(scale[row, x].astype(int) - expected).max() <= 2, x
    assert (scale[bar[1] - 3 : bar[1] + bar[3] + 3, cursor].min(axis=-1) >= 250).all(), "the white cursor"
    legend = scale[bar[1] + bar[3] + 4 : bar[1] + bar[3] + 20, bar[0] : bar[0] + 600]
    rating_colour = np.array(MARK_COLORS["rating"][:3]) * 255
    assert (np.abs(legend.reshape(-1, 3).astype(int) - rating_colour).max(axis=1) < 30).sum() > 20, "the legend"


@pytest.mark.display
@pytest.mark.gl
def test_in_the_window_page_down_goes_to_the_next_event_and_a_click_on_the_bar_seeks(
        recorded: Recorded) -> None:
    use_the_window_gl_platform()
    import glfw
    from OpenGL import GL

    from gmi_vr.app.replay_run import REPLAY_KEY_HELP, show_replay_picture
    from gmi_vr.console import therapist_window as console
    from gmi_vr.render.context import open_window_context
    from gmi_vr.render.renderer import Renderer

    live = recorded.whole
    marks = timeline_marks(live.events)
    times = sorted({t for t, _ in marks})
    assert any("Page Down" in keys for keys, _ in REPLAY_KEY_HELP), "the help says the keys"
    with (
        SessionStore.open(recorded.data_dir) as store,
        ReplaySource(store, live.session_id) as source,
        open_window_context(*console.WINDOW_SIZE, title="gmi-vr replay events", visible=False) as context,
    ):
        renderer = Renderer()
        window = console.TherapistWindow(context, renderer, samples=1)
        try:
            window.view.timeline_px = console.TIMELINE_PX
            clock = PlaybackClock(source.start_s, source.end_s, now_s=0.0, playing=False)
            player = ReplayPlayer(source, clock, replay_body(store, live.session_id), marks=marks)
            handle = context.window

            def press(key: int) -> float:
                window._on_key(handle, key, 0, glfw.PRESS, 0)
                window._on_key(handle, key, 0, glfw.RELEASE, 0)
                show_replay_picture(window, player, 0.0)
                return player.shown.frame.time_s

            assert press(glfw.KEY_PAGE_DOWN) == pytest.approx(times[0], abs=1e-6)
            assert press(glfw.KEY_PAGE_DOWN) == pytest.approx(times[1], abs=1e-6)
            assert press(glfw.KEY_N) == pytest.approx(times[2], abs=1e-6)
            assert press(glfw.KEY_PAGE_UP) == pytest.approx(times[1], abs=1e-6)
            assert press(glfw.KEY_P) == pytest.approx(times[0], abs=1e-6)
            # A click on the bar three quarters along shows that time (to a pixel's worth).
            width, height = context.framebuffer_size()
            bar = console.timeline_area(width, height)
            x, y = bar[0] + 0.75 * (bar[2] - 1), bar[1] + bar[3] / 2
            window._on_cursor(handle, x, y)  # the window is unscaled: its pixels are the framebuffer's
            window._on_mouse_button(handle, glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
            window._on_mouse_button(handle, glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
            show_replay_picture(window, player, 0.0)
            expected = source.start_s + 0.75 * (source.end_s - source.start_s)
            assert clock.position(0.0) == pytest.approx(expected, abs=1e-9)
            assert abs(player.shown.frame.time_s - expected) <= 1 / RATE_HZ
            assert GL.glGetError() == GL.GL_NO_ERROR
        finally:
            window.release()
            renderer.release()


# --------------------------------------------------------------------------- damaged events

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_KINDS = sorted({"session.start", "pain.ask", "pain.rating", "safety.break", "session.pause", "session.resume",
                 "block.start", "block.end", "trial.void", *MARKED_EVENTS, "task.stopped", "session.end",
                 "session.end_requested"})  # fmt: skip
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4),
                     max_leaves=12)  # fmt: skip
_KEYS = st.sampled_from(["program", "anchor", "kind", "body_part", "side", "rotation_deg", "view", "context",
                         "mesh", "reflected", "moment", "state", "timed_out", "correct", "position",
                         "orientation"])  # fmt: skip
_RANDOM_EVENT = st.builds(Event, st.floats(-10, 100), st.sampled_from(_KINDS),
                          st.dictionaries(_KEYS, _JSON, max_size=5))
#: Nearly right: a real program and anchor, stimuli with each field sometimes out of range.
_START = st.builds(Event, st.just(0.0), st.just("session.start"), st.fixed_dictionaries({
    "program": st.just(Program.default(Side.LEFT, BodyPart.HAND).to_dict()),
    "anchor": st.fixed_dictionaries({"position": st.lists(st.floats(-2, 2), min_size=3, max_size=3),
                                     "orientation": st.sampled_from([[0, 0, 0, 1], [0, 0, 0, 0], [1, 2]])}),
}))  # fmt: skip
_SHOW = st.builds(Event, st.floats(0, 100), st.sampled_from(["trial.show", "trial.answer", "trial.timeout"]),
                  st.fixed_dictionaries({
                      "body_part": st.sampled_from(["hand", "foot", "back_neck", "tail"]),
                      "side": st.sampled_from(["left", "right", "up"]),
                      "rotation_deg": st.integers(-1000, 1000) | st.floats() | st.text(max_size=3),
                      "view": st.sampled_from(["back", "palm", "sole", "front"]),
                      "context": st.sampled_from(["none", "cup", "ball", "chair"]),
                      "mesh": st.sampled_from(["stimuli/hand_left", "figure:foot_right", "x"]),
                      "timed_out": st.booleans(), "correct": st.booleans() | st.none(),
                  }))  # fmt: skip
_EVENT = _RANDOM_EVENT | _START | _SHOW | st.builds(Event, st.floats(0, 100), st.just("block.start"),
                                                   st.just({"kind": "laterality"}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_EVENT, max_size=12), st.lists(st.floats(-20, 120), min_size=1, max_size=4))
def test_damaged_recorded_events_never_break_the_replay(events: list[Event], times: list[float]) -> None:
    """Whatever a damaged store holds in its events' data, the replay draws what it can:
    no exception, only DrawLists (300 random event lists per run)."""
    pictures = SessionPictures(sorted(events, key=lambda e: e.time_s), None)
    for time_s in times:
        shown = pictures.at(time_s)
        assert isinstance(shown.draw, DrawList) and 0.0 <= shown.draw.fade <= 1.0
    assert all(group in MARK_COLORS for _, group in timeline_marks(events))
