"""Mirror therapy (stage 3) end to end on scripted frames: the healthy hand moves, the
affected hand is displayed as its reflection, targets sit where that reflection can reach,
and every repetition is measured."""

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
    move_through,
    records_of,
    run_for,
    start_sequence,
)
from test_therapy_frames import RATE_HZ

from gmi_vr.body.pose import LimbMode
from gmi_vr.core.types import Side
from gmi_vr.therapy.content.workspace import anchor_axes, reflect_across_midline, typical_workspace
from gmi_vr.therapy.plan.grading import MirrorPhase, MotorKind
from gmi_vr.therapy.plan.program import BodyPart, Program, Stage
from gmi_vr.therapy.results.measures import minimum_jerk
from gmi_vr.therapy.results.stage_records import ObservationRecord, RepetitionRecord
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep
from gmi_vr.therapy.tasks.motor import HOME_DWELL_S, MotorTask
from gmi_vr.therapy.tasks.registry import build_task
from gmi_vr.therapy.tasks.stages import LookTask, TaskSequence

FRAME = 1 / RATE_HZ


def mirror_program(affected: Side = Side.LEFT, **changes: Any) -> Program:
    program = Program.default(affected, BodyPart.HAND)
    base = {"stage": Stage.MIRROR_THERAPY.value, "mirror.phase": "healthy",
            "mirror.tasks": ["reach"], "mirror.grading.repetitions": 3}
    base.update(changes)
    program, _ = program.override("therapist", "test", "2026-01-01T00:00:00", **base)
    return program


def start(program: Program, motion: Motion) -> tuple[TaskSequence, MotorTask, list[TaskStep]]:
    task, log = start_sequence("mirror", program, motion, 11)
    assert isinstance(task.current, MotorTask)
    return task, task.current, log


@pytest.mark.parametrize("affected", [Side.LEFT, Side.RIGHT])
@pytest.mark.parametrize("complexity", [1, 2, 3])
def test_mirror_reach_targets_lie_on_the_affected_side_where_the_mirrored_hand_reaches(
        affected: Side, complexity: int) -> None:
    program = mirror_program(affected, **{"mirror.grading.complexity": complexity,
                                          "mirror.grading.repetitions": 10,
                                          "mirror.grading.range_fraction": 1.0,
                                          "mirror.grading.height_m": 0.3})
    motion = Motion(affected, LimbMode.MIRROR)
    _, motor, _ = start(program, motion)
    right = anchor_axes(ANCHOR)[0]
    healthy_reach = typical_workspace(ANCHOR, affected.other)
    for plan in motor.plans:
        side_sign = np.sign((plan.target - ANCHOR.position) @ right)
        assert side_sign == (1 if affected is Side.RIGHT else -1)
        # The healthy hand reaches the point the target is reflected from...
        source = reflect_across_midline(ANCHOR, plan.target)
        assert healthy_reach.contains(source)
        # ...and there the displayed (mirrored) affected hand is exactly on the target.
        motion.place(affected.other, source)
        assert np.allclose(motion.displayed(), plan.target)


def drive_reaches(task: TaskSequence, motor: MotorTask, motion: Motion, duration_s: float,
                  log: list[TaskStep]) -> list[tuple[float, float, float]]:
    """Move the healthy hand so that its reflection performs every repetition: rest at home,
    a minimum-jerk reach of ``duration_s`` to the target's source, hold, return. Returns
    (movement start, movement end, first frame inside the target) per repetition."""
    healthy = motion.healthy
    times = []
    motion.place(healthy, reflect_across_midline(ANCHOR, motor.plans[0].home))
    for plan in motor.plans:
        run_for(motion, task.update, HOME_DWELL_S + 0.2, log)
        assert events_of(log, "repetition.show")[-1].data["repetition"] == plan.index
        source = reflect_across_midline(ANCHOR, plan.target)
        count = len(log)
        begin, end = move(motion, healthy, source, duration_s, task.update, log)
        run_for(motion, task.update, 1.0, log)
        entered = next(e.time_s for s in log[count:] for e in s.events
                       if e.kind == "repetition.complete")
        times.append((begin, end, entered))
        move(motion, healthy, reflect_across_midline(ANCHOR, plan.home), 1.0, task.update, log)
    return times


@pytest.mark.parametrize("duration_s", [0.8, 1.5, 2.5])
def test_mirror_reach_repetitions_complete_with_the_mirrored_hand_and_measure_the_driven_path(
        duration_s: float) -> None:
    program = mirror_program(Side.LEFT)
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    task, motor, log = start(program, motion)
    assert task.limb_mode is LimbMode.MIRROR and task.involves_movement
    assert events_of(log, "body.mode")[0].data == {"mode": "mirror", "blend": 0.0}
    cue = events_of(log, "cue.audio")[0].data["text"]
    assert "Move your right hand" in cue and "left hand reach" in cue
    times = drive_reaches(task, motor, motion, duration_s, log)
    records = records_of(log, RepetitionRecord)
    assert [r.repetition_index for r in records] == [0, 1, 2]
    assert log[-1].done or any(s.done for s in log)
    dwell = motor.setup.grading.dwell_s
    for record, plan, (begin, end, completed_event) in zip(records, motor.plans, times, strict=True):
        length = float(np.linalg.norm(plan.target - plan.home))
        assert record.completed and not record.timed_out
        assert record.task == "reach" and record.phase == "healthy" and record.side == "left"
        assert record.limb_mode == "mirror" and record.stage == 3
        # The movement as driven: its start and end frames, its length.
        assert abs(record.onset_s - (begin - FRAME)) <= FRAME + 1e-9
        assert abs(record.duration_s - duration_s) <= FRAME + 1e-9
        assert abs(record.path_length_m - length) <= 0.02 * length
        assert record.target_error_m < 1e-3
        assert record.sparc < 0 and record.ldlj < 0
        # Completion: the displayed hand has rested in the target for the dwell time.
        assert record.completed_at_s == completed_event
        inside = [t for t in np.arange(begin, end + 1e-9, FRAME)]
        assert record.completed_at_s >= min(inside) + dwell - 1e-9
    assert events_of(log, "task.end")


def test_a_reach_begun_by_the_frame_after_the_target_appeared_is_measured_from_its_rest() -> None:
    # No frame at rest between the one showing the target and the moving hand (a patient who
    # moves at once, or frames the app missed on a busy machine): the frame that showed the
    # target holds the hand's rest, so the reach is measured whole.
    program = mirror_program(Side.LEFT, **{"mirror.grading.repetitions": 1})
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    task, motor, log = start(program, motion)
    plan = motor.plans[0]
    motion.place(motion.healthy, reflect_across_midline(ANCHOR, plan.home))
    while not events_of(log, "repetition.show"):
        log.append(task.update(*motion.frame()))
    shown_at = events_of(log, "repetition.show")[0].time_s
    move(motion, motion.healthy, reflect_across_midline(ANCHOR, plan.target), 1.0, task.update, log)
    run_for(motion, task.update, 1.0, log)
    (record,) = records_of(log, RepetitionRecord)
    assert record.completed and record.shown_at_s == shown_at
    assert record.onset_s == shown_at
    assert abs(record.duration_s - 1.0) <= 1e-9
    length = float(np.linalg.norm(plan.target - plan.home))
    assert abs(record.path_length_m - length) <= 1e-9 * length


def test_mirror_hand_outside_the_target_never_completes_and_times_out() -> None:
    program = mirror_program(Side.RIGHT, **{"mirror.grading.repetitions": 1,
                                            "mirror.grading.time_limit_s": 2.0})
    motion = Motion(Side.RIGHT, LimbMode.MIRROR)
    task, motor, log = start(program, motion)
    motion.place(Side.LEFT, reflect_across_midline(ANCHOR, motor.plans[0].home))
    run_for(motion, task.update, HOME_DWELL_S + 0.1, log)
    # The affected (right) controller itself reaches the target: mirror mode ignores it.
    motion.place(Side.RIGHT, motor.plans[0].target)
    run_for(motion, task.update, 2.8, log)
    records = records_of(log, RepetitionRecord)
    assert len(records) == 1 and records[0].timed_out and not records[0].completed
    assert records[0].duration_s is None  # the displayed hand never moved
    assert not events_of(log, "repetition.complete")


def test_both_hands_phase_records_how_far_the_real_affected_hand_was_from_its_mirror_image() -> None:
    program = mirror_program(Side.LEFT, **{"mirror.phase": "both", "mirror.grading.repetitions": 1})
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    task, motor, log = start(program, motion)
    plan = motor.plans[0]
    motion.place(Side.RIGHT, reflect_across_midline(ANCHOR, plan.home))
    motion.place(Side.LEFT, plan.home + np.array([0.0, 0.0, 0.03]))  # 3 cm behind its image
    run_for(motion, task.update, HOME_DWELL_S + 0.1, log)
    # Both hands move together; the real left hand stays 3 cm behind the mirrored image.
    offset = np.array([0.0, 0.0, 0.03])
    source, goal = reflect_across_midline(ANCHOR, plan.home), reflect_across_midline(ANCHOR, plan.target)
    for i in range(1, int(1.2 * RATE_HZ) + 1):
        motion.place(Side.RIGHT, minimum_jerk(source, goal, np.array([i / (1.2 * RATE_HZ)]))[0])
        motion.place(Side.LEFT, motion.displayed() + offset)
        log.append(task.update(*motion.frame()))
    motion.place(Side.LEFT, plan.target + offset)
    run_for(motion, task.update, 1.0, log)
    record = records_of(log, RepetitionRecord)[0]
    assert record.phase == "both" and record.completed
    assert record.sync_error_m == pytest.approx(0.03)
    # The healthy hand's own target is drawn too (the unmirrored twin).
    twin = reflect_across_midline(ANCHOR, plan.target)
    shown = [s for s in log if any(np.allclose(m.world_from_mesh[:3, 3], twin) for m in s.draw.meshes)]
    assert shown


def test_look_only_is_the_first_phase_and_records_the_time_looked() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    program, _ = program.override("t", "test", "2026-01-01", stage=3, **{"mirror.look_s": 2.0})
    assert program.mirror.phase is MirrorPhase.LOOK  # CLINICAL.md: look at the reflection first
    task = build_task("mirror", program, TaskContext(ANCHOR, 1, 0))
    assert isinstance(task, LookTask) and task.limb_mode is LimbMode.MIRROR
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    log: list[TaskStep] = []
    run_for(motion, task.update, 1.0, log)
    log.append(task.interrupt(motion.now, "unfocused"))
    for _ in range(3):  # paused frames are not stepped
        motion.script.frame()
    run_for(motion, task.update, 1.2, log)
    records = records_of(log, ObservationRecord)
    assert len(records) == 1 and records[0].completed
    assert records[0].ended_at_s - records[0].started_at_s >= 2.0 + 3 * (1 / RATE_HZ) - 1e-9
    first_done = next(s for s in log if s.done)
    assert first_done.records == (records[0],)


def test_touch_trace_and_grasp_run_end_to_end_in_mirror_therapy() -> None:
    program = mirror_program(Side.LEFT, **{"mirror.tasks": ["touch", "trace", "grasp"],
                                           "mirror.grading.repetitions": 2,
                                           "mirror.grading.complexity": 2})
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    task, log = start_sequence("mirror", program, motion, 5)
    seen: list[MotorKind] = []
    checkpoints = 0
    healthy = Side.RIGHT
    while not log[-1].done:
        motor = task.current
        assert isinstance(motor, MotorTask)
        seen.append(motor.setup.kind)
        for plan in motor.plans:
            source = lambda p: reflect_across_midline(ANCHOR, p)  # noqa: E731
            motion.place(healthy, source(plan.home))
            run_for(motion, task.update, HOME_DWELL_S + 0.1, log)
            if motor.setup.kind is MotorKind.GRASP:
                assert plan.pick is not None
                grasp(motion, healthy, source(plan.pick), source(plan.target), 1.2, task.update, log)
            elif motor.setup.kind is MotorKind.TRACE:
                checkpoints += len(plan.path) - 1  # reaching the last one completes it
                move_through(motion, healthy, source(plan.path), 2.0, task.update, log)
            else:
                move(motion, healthy, source(plan.target), 1.0, task.update, log)
            run_for(motion, task.update, 1.2, log)  # the record follows a 1 s settle
        assert len(motor.records) == len(motor.plans), motor.setup.kind
    assert seen == [MotorKind.TOUCH, MotorKind.TRACE, MotorKind.GRASP]
    records = records_of(log, RepetitionRecord)
    assert len(records) == 6 and all(r.completed for r in records)
    by_task = {r.task: r for r in records}
    assert by_task["touch"].target_error_m < 1e-3
    assert by_task["trace"].target_error_m < 0.02  # hand stays on the path
    assert by_task["grasp"].target_error_m < 1e-3  # cup set down on the ring's centre
    assert len(events_of(log, "trace.checkpoint")) == checkpoints == 10


@pytest.mark.parametrize("yaw_deg", [0.0, 30.0, -75.0, 180.0])
def test_an_anchor_on_the_calibrated_midline_mirrors_exactly_like_that_plane(yaw_deg: float) -> None:
    from gmi_vr.core.types import Pose
    from gmi_vr.geometry import quat_from_axis_angle, quat_rotate
    from gmi_vr.therapy.content.workspace import anchor_on_midline

    turn = quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(yaw_deg))
    normal = quat_rotate(turn, np.array([1.0, 0.0, 0.0]))  # the patient's right
    plane_point = np.array([0.3, 0.0, -0.2])  # floor point under the pelvis
    head = Pose(plane_point + np.array([0.0, 1.2, 0.0]) + 0.05 * normal, turn)  # head 5 cm off
    anchor = anchor_on_midline(head, plane_point, normal)
    points = np.random.default_rng(3).normal(size=(20, 3))
    by_plane = points - 2 * ((points - plane_point) @ normal)[:, None] * normal
    np.testing.assert_allclose(reflect_across_midline(anchor, points), by_plane, atol=1e-12)
    np.testing.assert_allclose(anchor_axes(anchor)[0], normal, atol=1e-12)
    assert anchor.position[1] == pytest.approx(1.2)


@settings(max_examples=60, deadline=None)
@given(yaw_deg=st.floats(-180, 180), fraction=st.floats(0.1, 1.0), height=st.floats(0.0, 0.6),
       complexity=st.sampled_from([1, 2, 3]), kind=st.sampled_from(list(MotorKind)),
       affected=st.sampled_from(list(Side)), seed=st.integers(0, 2**31 - 2))
def test_every_mirror_target_is_the_image_of_a_point_the_healthy_hand_reaches(
        yaw_deg: float, fraction: float, height: float, complexity: int, kind: MotorKind,
        affected: Side, seed: int) -> None:
    from gmi_vr.core.types import Pose
    from gmi_vr.geometry import quat_from_axis_angle
    from gmi_vr.therapy.plan.grading import MotorGrading
    from gmi_vr.therapy.tasks.motor import plan_repetitions, reflect_plans

    anchor = Pose(np.array([0.4, 1.15, -0.2]),
                  quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(yaw_deg)))
    grading = MotorGrading(range_fraction=fraction, height_m=height, complexity=complexity,
                           repetitions=6)
    healthy = typical_workspace(anchor, affected.other)
    plans = reflect_plans(anchor, plan_repetitions(kind, grading, healthy, seed, max_across_m=0.13))
    right = anchor_axes(anchor)[0]
    for plan in plans:
        points = [plan.target, *plan.path] + ([plan.pick] if plan.pick is not None else [])
        for point in points:
            assert healthy.contains(reflect_across_midline(anchor, point))
            # On the affected side, at least 5 cm from the midline (the rest is 18 cm off it).
            side = (point - anchor.position) @ right * (-1 if affected is Side.LEFT else 1)
            assert side >= 0.05 - 1e-9
