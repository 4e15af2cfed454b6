"""Stages 2-4 under the session runner: chosen from the program's stage, stopped in the frame
of a pain flare (mirror reach, imagery's own pain rating), records passed to storage."""

from __future__ import annotations

from typing import Any

import numpy as np
from test_stages_frames import ANCHOR, Motion, move, run_for
from test_therapy_frames import RATE_HZ

from gmi_vr.body.pose import LimbMode
from gmi_vr.core.types import Side
from gmi_vr.therapy.content.workspace import reflect_across_midline
from gmi_vr.therapy.plan.program import BodyPart, Program, Stage
from gmi_vr.therapy.results.stage_records import RepetitionRecord
from gmi_vr.therapy.runner import RunnerState, SessionRunner
from gmi_vr.therapy.tasks.base import TaskStep
from gmi_vr.therapy.tasks.motor import HOME_DWELL_S, MotorTask
from gmi_vr.therapy.tasks.stages import TaskSequence


def program_at(stage: Stage, **changes: Any) -> Program:
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "t", "test", "2026-01-01", stage=stage.value, **changes)
    return program


def test_each_stage_runs_its_own_blocks() -> None:
    assert program_at(Stage.EXPLICIT_IMAGERY).blocks == ("laterality", "imagery")
    assert program_at(Stage.MIRROR_THERAPY).blocks == ("laterality", "mirror")
    assert program_at(Stage.GRADED_MOVEMENT).blocks == ("graded_movement",)
    assert program_at(Stage.LATERALITY).blocks == ("laterality", "laterality", "laterality")


def start_session(motion: Motion, **changes: Any) -> tuple[SessionRunner, list[TaskStep]]:
    program = program_at(Stage.MIRROR_THERAPY, **{
        "session.blocks": ["mirror"], "mirror.phase": "healthy", "mirror.tasks": ["reach"],
        "mirror.grading.repetitions": 3, **changes})
    runner = SessionRunner(program, seed=4, anchor=ANCHOR)
    log = [runner.update(*motion.frame())]
    runner.rating_from_console(2, motion.now)  # the opening rating, typed by the therapist
    log.append(runner.update(*motion.frame()))
    log.append(runner.update(*motion.frame()))
    return runner, log


def test_a_pain_flare_mid_reach_stops_movement_in_the_same_frame_and_voids_the_repetition() -> None:
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    runner, log = start_session(motion)
    sequence = runner._task
    assert isinstance(sequence, TaskSequence) and isinstance(sequence.current, MotorTask)
    motor = sequence.current
    plan = motor.plans[0]
    motion.place(Side.RIGHT, reflect_across_midline(ANCHOR, plan.home))
    run_for(motion, runner.update, HOME_DWELL_S + 0.1, log)
    assert all(s.movement_allowed for s in log)
    # Halfway through the reach the patient's pain rises by 3: the therapist types it.
    goal = reflect_across_midline(ANCHOR, plan.target)
    move(motion, Side.RIGHT, goal * 0.5 + motion.grip[Side.RIGHT] * 0.5, 0.5, runner.update, log)
    runner.rating_from_console(5, motion.now)
    step = runner.update(*motion.frame())
    kinds = [e.kind for e in step.events]
    assert not step.movement_allowed  # this very frame
    assert "safety.flare" in kinds and "repetition.void" in kinds and "task.stopped" in kinds
    assert runner.state is RunnerState.CALM
    # The reach goes on, but nothing is measured any more and movement stays stopped.
    later: list[TaskStep] = []
    move(motion, Side.RIGHT, goal, 1.0, runner.update, later)
    run_for(motion, runner.update, 1.5, later)
    assert not any(s.movement_allowed for s in later)
    assert not [r for s in log + later for r in s.records if isinstance(r, RepetitionRecord)]


def test_finished_repetitions_reach_the_runner_output_for_storage() -> None:
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    runner, log = start_session(motion, **{"mirror.grading.repetitions": 1})
    motor = runner._task.current  # type: ignore[union-attr]
    assert isinstance(motor, MotorTask)
    plan = motor.plans[0]
    motion.place(Side.RIGHT, reflect_across_midline(ANCHOR, plan.home))
    run_for(motion, runner.update, HOME_DWELL_S + 0.1, log)
    move(motion, Side.RIGHT, reflect_across_midline(ANCHOR, plan.target), 1.0, runner.update, log)
    run_for(motion, runner.update, 1.2, log)
    records = [r for s in log for r in s.records if isinstance(r, RepetitionRecord)]
    assert len(records) == 1 and records[0].completed
    assert records[0].to_dict()["record_kind"] == "repetition"
    # The mirror block is over: the closing pain rating is asked.
    assert any(e.kind == "pain.ask" and e.data["moment"] == "end" for s in log for e in s.events)


def test_a_flare_in_the_imagery_block_rating_stops_the_session() -> None:
    motion = Motion(Side.LEFT, LimbMode.STILL)
    program = program_at(Stage.EXPLICIT_IMAGERY, **{
        "session.blocks": ["imagery"], "imagery.movements": ["wrist_extension"],
        "imagery.repetitions": 1, "imagery.rate_vividness": False})
    runner = SessionRunner(program, seed=1, anchor=ANCHOR)
    log = [runner.update(*motion.frame())]
    runner.rating_from_console(1, motion.now)
    for _ in range(int(4.5 * RATE_HZ)):
        log.append(runner.update(*motion.frame()))
    for at in (0.0, 1.0):  # start and end of the imagined movement
        motion.script.press(Side.RIGHT, "trigger_click", motion.now - 0.001)
        for _ in range(10):
            log.append(runner.update(*motion.frame()))
        motion.script.release(Side.RIGHT, "trigger_click")
        for _ in range(int(at * RATE_HZ) + 10):
            log.append(runner.update(*motion.frame()))
    assert any(e.kind == "imagery.pain_rating" for s in log for e in s.events)
    # The patient rates 4 in the block's own scale (5 trigger taps: 0..4, then a hold): 3
    # above the opening rating, a flare.
    for _ in range(5):
        motion.script.press(Side.LEFT, "trigger_click", motion.now - 0.001)
        log.append(runner.update(*motion.frame()))
        motion.script.release(Side.LEFT, "trigger_click")
        log.append(runner.update(*motion.frame()))
    motion.script.press(Side.LEFT, "trigger_click", motion.now - 0.001)
    step = runner.update(*motion.frame())
    while not any(r for r in step.records):
        assert step.movement_allowed
        step = runner.update(*motion.frame())
    assert step.records[0].moment == "on_demand" and step.records[0].value == 4
    assert step.records[0].source == "patient"
    assert not step.movement_allowed
    assert "safety.flare" in [e.kind for e in step.events]
    assert runner.state is RunnerState.CALM
    assert np.isclose(runner.ratings[-1].value, 4)


def test_a_plan_naming_an_unknown_context_fails_when_the_session_is_set_up() -> None:
    import pytest

    from gmi_vr.therapy.plan.program import ProgramError

    program = program_at(Stage.MIRROR_THERAPY, **{"mirror.phase": "healthy",
                                                 "mirror.context": "beach"})
    with pytest.raises(ProgramError, match="Scene context 'beach' is unknown"):
        SessionRunner(program, seed=1, anchor=ANCHOR)
