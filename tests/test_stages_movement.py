"""Graded real movement (stage 4): range of motion measured at the block's start on the
affected hand's own tracking, targets at the therapist's fraction of it, real and blended
body modes, and the range widening proposal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stages_frames import (
    ANCHOR,
    Motion,
    events_of,
    grasp,
    move,
    records_of,
    run_for,
    start_sequence,
)
from test_therapy_frames import RATE_HZ

from gmi_vr.body.pose import LimbMode
from gmi_vr.core.types import Side
from gmi_vr.therapy.content.workspace import anchor_axes, rest_position
from gmi_vr.therapy.plan.grading import MovementSettings, next_range_fraction
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, Stage
from gmi_vr.therapy.results.stage_records import RangeOfMotionRecord, RepetitionRecord
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep
from gmi_vr.therapy.tasks.motor import HOME_DWELL_S, MotorTask
from gmi_vr.therapy.tasks.registry import build_task
from gmi_vr.therapy.tasks.rom import (
    RangeOfMotion,
    RangeOfMotionTask,
    direction_vector,
    target_at_fraction,
)
from gmi_vr.therapy.tasks.stages import TaskSequence

FRAME = 1 / RATE_HZ
EXCURSIONS = {"forward": 0.30, "up": 0.20, "outward": 0.16, "across": 0.12}


def movement_program(affected: Side = Side.RIGHT, **changes: Any) -> Program:
    base = {"stage": Stage.GRADED_MOVEMENT.value, "movement.tasks": ["reach"],
            "movement.grading.repetitions": 2}
    base.update(changes)
    program, _ = Program.default(affected, BodyPart.HAND).override(
        "therapist", "test", "2026-01-01", **base)
    return program


def measure_rom(task: Any, motion: Motion, log: list[TaskStep],
                excursions: dict[str, float] = EXCURSIONS) -> np.ndarray:
    """Rest still, then move to each excursion, wobble back a little, press the healthy
    hand's trigger. Returns the rest position."""
    side = motion.affected
    rest = rest_position(ANCHOR, side) + np.array([0.01, 0.0, 0.02])
    motion.place(side, rest)
    run_for(motion, task.update, 1.2, log)
    rom = task.current if isinstance(task, TaskSequence) else task
    assert isinstance(rom, RangeOfMotionTask)
    for direction in rom.directions:
        unit = direction_vector(ANCHOR, side, direction)
        move(motion, side, rest + excursions[direction] * unit, 1.0, task.update, log)
        move(motion, side, rest + 0.8 * excursions[direction] * unit, 0.3, task.update, log)
        motion.script.press(motion.healthy, "trigger_click")
        log.append(task.update(*motion.frame()))
        motion.script.release(motion.healthy, "trigger_click")
        move(motion, side, rest, 0.8, task.update, log)
    return rest


def test_range_of_motion_is_the_largest_excursion_per_direction_from_the_still_rest() -> None:
    motion = Motion(Side.RIGHT, LimbMode.REAL)
    task = RangeOfMotionTask(ANCHOR, Side.RIGHT, ("forward", "up", "outward", "across"), 20.0, 0)
    log: list[TaskStep] = [task.update(*motion.frame())]
    rest = measure_rom(task, motion, log)
    records = records_of(log, RangeOfMotionRecord)
    assert [r.direction for r in records] == ["forward", "up", "outward", "across"]
    for record in records:
        assert record.excursion_m == pytest.approx(EXCURSIONS[record.direction], abs=1e-9)
        assert record.ended_by == "left.trigger_click"
        np.testing.assert_allclose(record.rest_position, rest, atol=1e-9)
    assert task.result is not None and task.result.excursion_m == pytest.approx(EXCURSIONS)
    assert any(s.done for s in log)


def test_range_of_motion_direction_ends_at_the_time_limit_and_restarts_after_a_pause() -> None:
    motion = Motion(Side.LEFT, LimbMode.REAL)
    task = RangeOfMotionTask(ANCHOR, Side.LEFT, ("forward",), 2.0, 0)
    log: list[TaskStep] = [task.update(*motion.frame())]
    rest = rest_position(ANCHOR, Side.LEFT)
    motion.place(Side.LEFT, rest)
    run_for(motion, task.update, 1.2, log)
    forward = direction_vector(ANCHOR, Side.LEFT, "forward")
    move(motion, Side.LEFT, rest + 0.4 * forward, 0.5, task.update, log)
    log.append(task.interrupt(motion.now, "rating"))  # the reach before the pause is dropped
    motion.place(Side.LEFT, rest)  # during the pause (frames not stepped) the hand rests
    for _ in range(30):
        motion.frame()
    move(motion, Side.LEFT, rest + 0.1 * forward, 0.5, task.update, log)
    run_for(motion, task.update, 2.0, log)
    record = records_of(log, RangeOfMotionRecord)[0]
    assert record.ended_by == "time_limit"
    assert record.excursion_m == pytest.approx(0.1, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(fraction=st.floats(0.1, 1.0), forward=st.floats(0.05, 0.5), direction=st.sampled_from(
    ["forward", "up", "outward", "across"]), side=st.sampled_from(list(Side)))
def test_targets_sit_at_the_fraction_of_the_measured_excursion(
        fraction: float, forward: float, direction: str, side: Side) -> None:
    rest = rest_position(ANCHOR, side)
    rom = RangeOfMotion(side, tuple(rest), {**EXCURSIONS, "forward": forward})
    target = target_at_fraction(rom, ANCHOR, direction, fraction)
    offset = target - rest
    assert np.linalg.norm(offset) == pytest.approx(fraction * rom.excursion_m[direction])
    right = anchor_axes(ANCHOR)[0]
    if direction == "outward":  # outward is away from the midline on either side
        assert np.sign(offset @ right) == (1 if side is Side.RIGHT else -1)
    # The measured workspace holds every target placed in it.
    workspace = rom.workspace(ANCHOR)
    for azimuth in np.radians([-45.0, 0.0, 30.0, 60.0]):
        assert workspace.contains(workspace.point(azimuth, fraction, 0.05))


def test_graded_movement_measures_the_range_first_then_reaches_at_its_fraction() -> None:
    program = movement_program(Side.RIGHT, **{"movement.grading.range_fraction": 0.5,
                                              "movement.grading.height_m": 0.05})
    motion = Motion(Side.RIGHT, LimbMode.REAL)
    task, log = start_sequence("graded_movement", program, motion, 3, block=1)
    assert task.limb_mode is LimbMode.REAL and task.blend == 1.0
    rest = measure_rom(task, motion, log)
    motor = task.current  # built when the range was measured, from that range
    assert isinstance(motor, MotorTask)
    right, up, forward = anchor_axes(ANCHOR)
    for plan in motor.plans:  # complexity 1: straight ahead, half the forward range, 5 cm up
        np.testing.assert_allclose(plan.home, rest, atol=1e-9)
        np.testing.assert_allclose(plan.target, rest + 0.5 * 0.30 * forward + 0.05 * up, atol=1e-9)
    for plan in motor.plans:
        run_for(motion, task.update, HOME_DWELL_S + 0.2, log)
        begin, _ = move(motion, Side.RIGHT, plan.target, 1.2, task.update, log)
        run_for(motion, task.update, 1.2, log)
        move(motion, Side.RIGHT, plan.home, 0.8, task.update, log)
    records = records_of(log, RepetitionRecord)
    assert len(records) == 2 and all(r.completed for r in records)
    for record, plan in zip(records, motor.plans, strict=True):
        assert record.stage == 4 and record.phase == "real" and record.limb_mode == "real"
        assert record.range_fraction == 0.5
        assert abs(record.duration_s - 1.2) <= FRAME + 1e-9
        length = np.linalg.norm(plan.target - plan.home)
        assert abs(record.path_length_m - length) <= 0.02 * length
    assert len(records_of(log, RangeOfMotionRecord)) == 4
    assert [e.data["mode"] for e in events_of(log, "body.mode")] == ["real", "real"]


def test_the_blend_factor_asks_for_blend_mode_and_is_recorded() -> None:
    program = movement_program(Side.LEFT, **{"movement.blend": 0.4})
    assert program.movement.limb_mode is LimbMode.BLEND
    task = build_task("graded_movement", program, TaskContext(ANCHOR, 3, 0))
    motion = Motion(Side.LEFT, LimbMode.BLEND)
    log: list[TaskStep] = [task.update(*motion.frame())]
    measure_rom(task, motion, log)
    log.append(task.update(*motion.frame()))
    assert task.limb_mode is LimbMode.BLEND and task.blend == 0.4
    assert events_of(log, "body.mode")[-1].data == {"mode": "blend", "blend": 0.4}


@pytest.mark.parametrize(("fraction", "flare", "completed", "expected"), [
    (0.5, False, True, 0.55), (0.5, True, True, 0.45), (0.5, False, False, 0.5),
    (1.0, False, True, 1.0), (0.1, True, False, 0.1),
])
def test_the_range_widens_a_step_after_a_good_session_and_narrows_after_a_flare(
        fraction: float, flare: bool, completed: bool, expected: float) -> None:
    settings = MovementSettings(grading=MovementSettings().grading.__class__(range_fraction=fraction))
    assert next_range_fraction(settings, flare, completed) == pytest.approx(expected)


def test_invalid_movement_settings_say_what_to_do() -> None:
    with pytest.raises(ProgramError, match="blend"):
        movement_program(**{"movement.blend": 1.5})
    with pytest.raises(ProgramError, match="range fraction"):
        movement_program(**{"movement.grading.range_fraction": 0.0})
    with pytest.raises(ProgramError, match="directions"):
        movement_program(**{"movement.rom_directions": ["sideways"]})


def test_touch_trace_and_grasp_run_on_the_affected_hand_own_tracking() -> None:
    program = movement_program(Side.LEFT, **{"movement.tasks": ["touch", "trace", "grasp"],
                                             "movement.grading.repetitions": 1,
                                             "movement.grading.complexity": 3})
    motion = Motion(Side.LEFT, LimbMode.REAL)
    task, log = start_sequence("graded_movement", program, motion, 9)
    measure_rom(task, motion, log)
    seen = []
    while not log[-1].done:
        motor = task.current
        assert isinstance(motor, MotorTask)
        seen.append(motor.setup.kind.value)
        plan = motor.plans[0]
        motion.place(Side.LEFT, plan.home)
        run_for(motion, task.update, HOME_DWELL_S + 0.1, log)
        if plan.pick is not None:  # grasp with the affected hand's own grip
            grasp(motion, Side.LEFT, plan.pick, plan.target, 1.0, task.update, log)
        else:
            for point in plan.path:
                move(motion, Side.LEFT, point, 0.6, task.update, log)
        run_for(motion, task.update, 1.2, log)
    assert seen == ["touch", "trace", "grasp"]
    records = records_of(log, RepetitionRecord)
    assert [r.task for r in records] == seen and all(r.completed for r in records)
    assert all(r.stage == 4 and r.limb_mode == "real" for r in records)
    # Every target (and grasp pick-up) lies within the measured range.
    rom = task.finished[0]
    assert isinstance(rom, RangeOfMotionTask) and rom.result is not None
    reach = rom.result.workspace(ANCHOR)
    assert all(reach.contains(np.array(r.target)) for r in records)
