"""Haptic pulses from the session runner: on the answering hand after a laterality answer
(off by default), on the moving hand when a mirror or movement target is reached, never on
the affected side's controller unless the therapist allows it, each on the frame of the
event it answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_stages_frames import ANCHOR, Motion
from test_stages_mirror import drive_reaches
from test_therapy_session import Run, program

from gmi_vr.body.pose import LimbMode
from gmi_vr.core.events import Event
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.types import Side
from gmi_vr.therapy.haptic_pulses import haptic_pulses
from gmi_vr.therapy.plan.program import BodyPart, HapticSettings, Program, ProgramError, Stage
from gmi_vr.therapy.runner import SessionRunner
from gmi_vr.therapy.tasks.base import TaskStep
from gmi_vr.therapy.tasks.motor import MotorTask
from gmi_vr.therapy.tasks.stages import TaskSequence


def answer_trials(run: Run, count: int) -> None:
    """Answer ``count`` trials correctly with the triggers (two-handed answers)."""
    for _ in range(count):
        shown = run.until_event("trial.show")
        side = Side(shown.data["side"])
        run.step(20)
        run.script.press(side, "trigger_click")
        run.until_event("trial.answer")
        run.script.release(side, "trigger_click")


def test_answer_pulses_are_off_by_default_and_say_why() -> None:
    default = Program.default(Side.LEFT, BodyPart.HAND)
    assert default.haptics.answer_pulse is False
    assert "allodynia" in Program.source_of("haptics.answer_pulse")
    assert default.haptics.affected_side_allowed is False
    run = Run(program(**{"session.rating_at_start": False}))
    answer_trials(run, 4)
    assert len(run.events("trial.answer")) == 4
    assert all(step.haptics == () for step in run.steps)


def test_each_answer_pulses_the_answering_hand_on_its_frame_but_never_the_affected_one() -> None:
    # Affected LEFT: answers given with the right (healthy) trigger pulse the right hand;
    # answers with the left (affected) trigger do not, and console answers touch no hand.
    run = Run(program(**{"session.rating_at_start": False, "haptics.answer_pulse": True}))
    answer_trials(run, 8)
    shown = run.until_event("trial.show")
    run.runner.answer_from_console(Side(shown.data["side"]), shown.time_s + 0.5)
    run.until_event("trial.answer")
    for step in run.steps:
        answers = [e for e in step.events if e.kind == "trial.answer"]
        expected = tuple(
            HapticPulse(Side.RIGHT, 0.05, 0.5, "trial.answer")
            for e in answers if e.data["answered_by"] == "right.trigger_click"
        )  # fmt: skip
        assert step.haptics == expected
    pulsed = sum(len(s.haptics) for s in run.steps)
    answered_right = sum(e.data["answered_by"] == "right.trigger_click" for e in run.events("trial.answer"))
    assert pulsed == answered_right > 0
    assert any(e.data["answered_by"] == "left.trigger_click" for e in run.events("trial.answer"))


def test_the_therapist_may_allow_pulses_on_the_affected_hand_with_their_own_strength() -> None:
    run = Run(program(**{"session.rating_at_start": False, "haptics.answer_pulse": True,
                         "haptics.affected_side_allowed": True, "haptics.duration_s": 0.12,
                         "haptics.amplitude": 0.3}))  # fmt: skip
    answer_trials(run, 8)
    pulses = [p for s in run.steps for p in s.haptics]
    hands = [Side(e.data["answered_by"].split(".")[0]) for e in run.events("trial.answer")]
    assert [p.side for p in pulses] == hands and set(hands) == {Side.LEFT, Side.RIGHT}
    assert {(p.duration_s, p.amplitude) for p in pulses} == {(0.12, 0.3)}


@pytest.mark.parametrize(("key", "value"), [("haptics.duration_s", 0.0), ("haptics.duration_s", 2.0),
                                            ("haptics.amplitude", 0.0), ("haptics.amplitude", 1.5)])  # fmt: skip
def test_pulse_settings_out_of_range_are_refused_in_one_sentence(key: str, value: float) -> None:
    with pytest.raises(ProgramError, match="^Haptic amplitude|^A haptic pulse"):
        program(**{key: value})


def mirror_run(affected: Side, phase: str, **changes: object) -> tuple[SimpleNamespace, MotorTask, Motion, list[TaskStep]]:
    base = Program.default(affected, BodyPart.HAND)
    settings = {"stage": Stage.MIRROR_THERAPY.value, "mirror.phase": phase,
                "mirror.tasks": ["reach"], "mirror.grading.repetitions": 3,
                "session.rating_at_start": False, "session.blocks": ["mirror"], **changes}  # fmt: skip
    prog, _ = base.override("therapist", "test", "2026-01-01T00:00:00", **settings)
    runner = SessionRunner(prog, seed=11, anchor=ANCHOR)
    motion = Motion(affected, LimbMode.MIRROR)
    log = [runner.update(*motion.frame())]
    task = runner._task
    assert isinstance(task, TaskSequence) and isinstance(task.current, MotorTask)
    return SimpleNamespace(update=runner.update), task.current, motion, log


@pytest.mark.parametrize("affected", [Side.LEFT, Side.RIGHT])
def test_reaching_a_mirror_target_pulses_the_healthy_hand_on_that_frame(affected: Side) -> None:
    task, motor, motion, log = mirror_run(affected, "healthy")
    drive_reaches(task, motor, motion, 1.0, log)  # type: ignore[arg-type]
    reached = [i for i, s in enumerate(log) if any(e.kind == "repetition.complete" for e in s.events)]
    pulsed = [i for i, s in enumerate(log) if s.haptics]
    assert len(reached) == 3 and pulsed == reached
    assert {p for s in log for p in s.haptics} == {
        HapticPulse(affected.other, 0.05, 0.5, "repetition.complete")}


def test_moving_both_hands_pulses_the_affected_hand_only_when_allowed() -> None:
    task, motor, motion, log = mirror_run(Side.LEFT, "both")
    drive_reaches(task, motor, motion, 1.0, log)  # type: ignore[arg-type]
    assert [p.side for s in log for p in s.haptics] == [Side.RIGHT] * 3
    task, motor, motion, log = mirror_run(Side.LEFT, "both", **{"haptics.affected_side_allowed": True})
    drive_reaches(task, motor, motion, 1.0, log)  # type: ignore[arg-type]
    assert [p.side for s in log for p in s.haptics] == [Side.RIGHT, Side.LEFT] * 3


def test_target_pulses_can_be_turned_off() -> None:
    task, motor, motion, log = mirror_run(Side.LEFT, "healthy", **{"haptics.target_pulse": False})
    drive_reaches(task, motor, motion, 1.0, log)  # type: ignore[arg-type]
    assert all(s.haptics == () for s in log)


@pytest.mark.parametrize(("phase", "allowed", "sides"), [
    ("real", False, []), ("real", True, [Side.RIGHT]), ("blend", False, []),
    ("mirror", False, [Side.LEFT]), (None, True, []),
])  # fmt: skip
def test_graded_real_movement_touches_the_affected_hand_only_when_allowed(
    phase: str | None, allowed: bool, sides: list[Side]
) -> None:
    settings = HapticSettings(affected_side_allowed=allowed)
    events = [Event(5.0, "repetition.complete", {"task": "movement_reach", "repetition": 0})]
    assert [p.side for p in haptic_pulses(events, settings, Side.RIGHT, phase)] == sides


def test_every_pulse_is_recorded_as_an_event_on_its_frame_saying_hand_length_strength_and_why() -> None:
    run = Run(program(**{"session.rating_at_start": False, "haptics.answer_pulse": True,
                         "haptics.duration_s": 0.08, "haptics.amplitude": 0.4}))  # fmt: skip
    answer_trials(run, 8)
    for step in run.steps:
        recorded = [e for e in step.events if e.kind == "haptic.pulse"]
        assert [(e.data["side"], e.data["duration_s"], e.data["amplitude"], e.data["cause"])
                for e in recorded] == [(p.side.value, p.duration_s, p.amplitude, p.cause) for p in step.haptics]
        answers = [e for e in step.events if e.kind == "trial.answer"]
        assert all(e.time_s == answers[0].time_s and e.data["controller"] is True for e in recorded)
    assert len(run.events("haptic.pulse")) == sum(len(s.haptics) for s in run.steps) > 0


def test_a_pulse_for_a_hand_tracked_without_a_controller_is_recorded_as_not_felt() -> None:
    from gmi_vr.app.console import event_words
    from gmi_vr.core.types import HAND_TRACKING_PROFILE

    run = Run(program(**{"session.rating_at_start": False, "haptics.answer_pulse": True}))
    run.script.set(Side.RIGHT, profile=HAND_TRACKING_PROFILE)  # the healthy hand pinches
    answer_trials(run, 8)
    pulses = run.events("haptic.pulse")
    assert pulses and all(e.data["side"] == "right" and e.data["controller"] is False for e in pulses)
    assert all(e.data["answered_by"] in ("right.pinch", "left.trigger_click") for e in run.events("trial.answer"))
    assert event_words(pulses[0]) == "haptic pulse: right hand, 50 ms at 50% (trial.answer), no controller: not felt"


def test_a_replay_marks_each_pulse_on_its_timeline() -> None:
    from gmi_vr.therapy.replayed import MARK_GROUPS, timeline_marks

    run = Run(program(**{"session.rating_at_start": False, "haptics.answer_pulse": True}))
    answer_trials(run, 8)
    marks = [t for t, group in timeline_marks(run.events()) if group == "haptic"]
    assert marks == [e.time_s for e in run.events("haptic.pulse")] and marks
    assert ("haptic", "haptic pulse") in MARK_GROUPS
