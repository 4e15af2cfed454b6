"""The app's per-frame pipeline end to end on the sim source: a scripted motion file goes
through the real body solver, session runner and session store (a real SQLite file)."""

from __future__ import annotations

import numpy as np
import pytest

from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.body import BodySettings
from gmi_vr.core.types import Side
from gmi_vr.geometry import rotation_angle_between
from gmi_vr.geometry.reflect import reflect_pose
from gmi_vr.recording.store import SessionStore
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

# The healthy right hand sweeps out, up and back over 2 s while the head turns 25 degrees:
# the mirrored left hand must follow the hand, never the head.
MOTION = "\n".join([
    '{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}',
    '{"t": 0.0, "head": {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -15, 0]},'
    ' "right": {"position": [0.18, 0.86, -0.38], "yaw_pitch_roll_deg": [0, -10, 0]}}',
    '{"t": 1.0, "head": {"yaw_pitch_roll_deg": [25, -15, 0]},'
    ' "right": {"position": [0.26, 0.95, -0.44], "yaw_pitch_roll_deg": [-30, 20, 10]}}',
    '{"t": 2.0, "right": {"position": [0.12, 0.90, -0.30]}}',
])  # fmt: skip


def test_mirrored_hand_is_the_same_frames_reflection_and_ignores_head_turns() -> None:
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT))
    frames = 0
    with ScriptedFrameSource(parse_motion(MOTION)) as source:
        for frame in source.frames():
            output = pipeline.step(frame)
            frames += 1
            plane = pipeline.calibration.midline_plane()
            expected = reflect_pose(output.body.displayed_right, plane)
            shown, valid = output.body.displayed(Side.LEFT)
            assert valid
            assert np.linalg.norm(shown.position - expected.position) < 0.005
            assert np.degrees(rotation_angle_between(shown.orientation, expected.orientation)) < 2.0
            # The healthy hand shows where it is tracked (within the grip-to-wrist model).
            assert np.linalg.norm(output.body.displayed_right.position - frame.right.grip.position) < 0.2
            (avatar,) = output.draw.skinned
            assert avatar.palette.ndim == 3
            # The patient's eyes get the head folded away; the therapist's outside view keeps it.
            outside = avatar.seen_from_outside().palette
            assert outside.shape == avatar.palette.shape and not np.allclose(outside, avatar.palette)
    assert frames == 61
    # The midline was fixed from the first head pose: x = 0 and facing -Z, despite the turn.
    np.testing.assert_allclose(pipeline.calibration.midline_plane().normal, [1.0, 0.0, 0.0], atol=1e-9)


def test_patient_session_on_the_sim_is_recorded_in_the_store(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    from gmi_vr.app.patients import add_patient

    store = SessionStore.open()
    add_patient(store, "P-100", "left", "hand", age_years=61, therapist="t.one")
    store.close()

    frames = 0
    with session_pipeline("P-100", source="sim") as pipeline, \
            ScriptedFrameSource(parse_motion(MOTION)) as source:  # fmt: skip
        for frame in source.frames():
            output = pipeline.step(frame)
            frames += 1
            if frame.index == 10:  # the therapist types the opening rating for the patient
                pipeline.runner.rating_from_console(3, frame.time_s)
            assert output.draw.skinned, "the body is drawn every frame"
        pipeline.ended_by = "motion_ended"  # as run_sim says when a motion file runs out
        last_time = frame.time_s

    store = SessionStore.open()
    try:
        (session,) = store.list_sessions("P-100")
        # Stored as what it was: a clinic session on a desktop screen, no headset visit.
        assert (session.source, session.mode, session.station) == ("sim", "desktop", "clinic")
        # The plan had not ended when the motion did, and no trial was answered in it.
        assert (session.status, session.end_reason) == ("not_started", "motion_ended")
        # The opening rating ran to its end; the first block had begun and ended with the session.
        (block,) = store.blocks(session.id)
        rating_task, block_task = store.tasks(session.id)
        assert (rating_task.kind, rating_task.block_seq, rating_task.params) == ("pain_rating", None, {"moment": "start"})
        assert rating_task.end_s == block_task.start_s == block.start_s
        assert (block.stage, block.end_s, block.params["block_index"]) == ("laterality", last_time, 0)
        assert (block_task.kind, block_task.block_seq, block_task.end_s) == ("laterality", block.seq, last_time)
        ratings = store.ratings(session.id)
        assert [(r.value, r.phase, r.source) for r in ratings] == [(3, "before", "therapist")]
        kinds = [e.kind for e in store.events(session.id)]
        assert kinds.count("session.start") == 1 and "pain.ask" in kinds
        assert len(store.motion(session.id).time_ns) == frames
    finally:
        store.close()


def test_unknown_patient_is_one_clear_sentence(tmp_path, monkeypatch) -> None:
    from gmi_vr.core.errors import NotFoundError

    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    SessionStore.open().close()  # a store without that patient (no store at all is named as such)
    with pytest.raises(NotFoundError, match="No patient P-404"):
        with session_pipeline("P-404", source="sim"):
            pass


@pytest.mark.parametrize(("error", "status", "reason"), [
    (RuntimeError("a bug"), "aborted", "error: RuntimeError"),
    (KeyboardInterrupt(), "not_started", "keyboard_interrupt"),  # Ctrl-C: the therapist's end
])
def test_a_session_ended_by_an_error_or_ctrl_c_is_stored_and_said_as_such(
        tmp_path, monkeypatch, error: BaseException, status: str, reason: str) -> None:
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    from gmi_vr.app.patients import add_patient

    with SessionStore.open() as store:
        add_patient(store, "P-101", "left", "hand", therapist="t.one")
    said: list[str] = []
    with pytest.raises(type(error)):
        with session_pipeline("P-101", source="sim", report=said.append) as pipeline, \
                ScriptedFrameSource(parse_motion(MOTION)) as source:  # fmt: skip
            for frame in source.frames():
                pipeline.step(frame)
                if frame.index == 5:
                    raise error
    with SessionStore.open() as store:
        (session,) = store.list_sessions("P-101")
        assert (session.status, session.end_reason) == (status, reason)
        assert store.session(session.id).ended_at is not None
    assert said == [f"session {session.id} saved ({status}: {reason}): 0 trials, pain - -> -"]


STILL_30_S = "\n".join([
    '{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}',
    '{"t": 0.0, "head": {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -15, 0]}}',
    '{"t": 30.0}',
])  # fmt: skip


@pytest.mark.parametrize(("how", "status"), [("therapist_end", "ended_early"), ("patient_stop", "safety_stop")])
def test_a_session_cut_short_after_a_few_trials_is_stored_as_it_ended(
        tmp_path, monkeypatch, how: str, status: str) -> None:
    """Three trials answered (by the therapist's keys), then the therapist ends the session
    or the patient presses the stop (menu) button; the therapist then ends it from the calm
    scene and the closing rating is given: never "completed"."""
    from dataclasses import replace

    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    from gmi_vr.app.patients import add_patient

    with SessionStore.open() as store:
        add_patient(store, "P-102", "left", "hand", therapist="t.one")
    said: list[str] = []
    answered = 0
    stop_next = False
    with session_pipeline("P-102", source="sim", seed=4, report=said.append) as pipeline, \
            ScriptedFrameSource(parse_motion(STILL_30_S)) as source:  # fmt: skip
        runner = pipeline.runner
        for frame in source.frames():
            if stop_next:
                frame = replace(frame, right=replace(frame.right, menu=True))
                stop_next = False
            output = pipeline.step(frame)
            kinds = {e.kind: e for e in output.events}
            if frame.index == 3:
                runner.rating_from_console(3, frame.time_s)
            if "trial.show" in kinds:
                runner.answer_from_console(Side(kinds["trial.show"].data["side"]), frame.time_s + 0.5)
            if "trial.answer" in kinds:
                answered += 1
                if answered == 3 and how == "therapist_end":
                    runner.end_session(frame.time_s)
                elif answered == 3:
                    stop_next = True
            if "safety.stop" in kinds:
                runner.end_session(frame.time_s)
            if "pain.ask" in kinds and kinds["pain.ask"].data == {"moment": "end"}:
                runner.rating_from_console(2, frame.time_s)
            if output.done:
                break
    assert output.done
    with SessionStore.open() as store:
        (session,) = store.list_sessions("P-102")
        assert (session.status, session.end_reason) == (status, how)
        assert len(store.trials(session.id)) == 3
        (block,) = store.blocks(session.id)
        assert block.end_s is not None and block.end_s <= store.trials(session.id)[-1].onset_s + 2.0
    assert said == [f"session {session.id} saved ({status}: {how}): 3 trials, pain 3 -> 2"]
