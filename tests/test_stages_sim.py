"""End to end on the sim source: a mirror-therapy reach block driven by a motion file (the
healthy right controller reaches; the affected left hand is displayed as its reflection)
records repetitions whose measures match the scripted path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.therapy.measures import minimum_jerk
from gmi_vr.therapy.motor import MotorTask
from gmi_vr.therapy.program import BodyPart, Program, Stage
from gmi_vr.therapy.stage_records import RepetitionRecord
from gmi_vr.therapy.stages import TaskSequence
from gmi_vr.therapy.stimuli import level_anchor
from gmi_vr.therapy.task import TaskContext, build_task
from gmi_vr.therapy.workspace import reflect_across_midline
from gmi_vr.xr.sim import ScriptedFrameSource

RATE_HZ = 90
REACH_S = 1.2
HEAD = Pose(np.array([0.0, 1.2, 0.0]))


def mirrored_body(frame: TrackingFrame, anchor: Pose) -> BodyPose:
    """What the body solver shows in mirror mode: the left (affected) hand at the right
    grip reflected across the midline."""
    right = frame.right.grip.position
    shown = reflect_across_midline(anchor, right)
    return BodyPose((), np.zeros((0, 4, 4)), Pose(shown), Pose(right), frame.right.grip_valid,
                    frame.right.grip_valid, Side.LEFT, LimbMode.MIRROR)


def write_motion(path: Path, healthy_points: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Keyframes on every frame: rest 0.6 s at home, a minimum-jerk reach of REACH_S to the
    target, hold 1.3 s, a 1 s return, per repetition; the affected controller lies still."""
    lines = [json.dumps({"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ})]
    positions: list[np.ndarray] = []
    for home, target in healthy_points:
        positions += [home] * int(0.6 * RATE_HZ)
        n = int(REACH_S * RATE_HZ)
        positions += list(minimum_jerk(home, target, np.arange(1, n + 1) / n))
        positions += [target] * int(1.3 * RATE_HZ)
        positions += list(minimum_jerk(target, home, np.arange(1, RATE_HZ + 1) / RATE_HZ))
    positions += [healthy_points[-1][0]] * int(0.5 * RATE_HZ)
    for index, position in enumerate(positions):
        key: dict[str, object] = {"t": index / RATE_HZ,
                                  "right": {"position": [float(v) for v in position]}}
        if index == 0:
            key["head"] = {"position": [float(v) for v in HEAD.position]}
            key["left"] = {"position": [-0.3, 0.7, -0.1]}
        lines.append(json.dumps(key))
    path.write_text("\n".join(lines) + "\n")


def test_a_mirror_reach_block_from_a_motion_file_records_the_driven_reaches(tmp_path: Path) -> None:
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "t", "test", "2026-01-01", stage=Stage.MIRROR_THERAPY.value,
        **{"mirror.phase": "healthy", "mirror.tasks": ["reach"], "mirror.grading.repetitions": 2,
           "mirror.grading.complexity": 2})
    anchor = level_anchor(HEAD)
    task = build_task("mirror", program, TaskContext(anchor, 21, 0))
    assert isinstance(task, TaskSequence)
    motor = task.part()  # the first part is built now, the same that the frames will step
    assert isinstance(motor, MotorTask)
    healthy = [(reflect_across_midline(anchor, p.home), reflect_across_midline(anchor, p.target))
               for p in motor.plans]
    motion = tmp_path / "reach.jsonl"
    write_motion(motion, healthy)

    records: list[RepetitionRecord] = []
    with ScriptedFrameSource.from_file(motion) as source:
        for frame in source.frames():
            step = task.update(frame, mirrored_body(frame, anchor))
            records += [r for r in step.records if isinstance(r, RepetitionRecord)]
            if step.done:
                break
    assert step.done
    assert len(records) == 2
    for record, plan in zip(records, motor.plans, strict=True):
        length = float(np.linalg.norm(plan.target - plan.home))
        assert record.completed and record.phase == "healthy" and record.side == "left"
        assert abs(record.duration_s - REACH_S) <= 1 / RATE_HZ + 1e-9
        assert abs(record.path_length_m - length) <= 0.02 * length
        assert record.target_error_m < 1e-3
        np.testing.assert_allclose(record.target, plan.target)

