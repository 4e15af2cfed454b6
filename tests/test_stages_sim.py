"""End to end on the sim source: mirror-therapy blocks driven by motion files (the healthy
right controller moves; the affected left hand is displayed as its reflection) record
repetitions whose measures match the scripted movements, for every task type."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.content.workspace import reflect_across_midline
from gmi_vr.therapy.plan.program import BodyPart, Program, Stage
from gmi_vr.therapy.results.measures import minimum_jerk
from gmi_vr.therapy.results.stage_records import RepetitionRecord
from gmi_vr.therapy.tasks.base import TaskContext
from gmi_vr.therapy.tasks.motor import MotorTask, RepetitionPlan
from gmi_vr.therapy.tasks.registry import build_task
from gmi_vr.therapy.tasks.stages import TaskSequence
from gmi_vr.xr.sim_source import ScriptedFrameSource

RATE_HZ = 90
MOVE_S = 1.2  # each scripted movement (for a grasp: to the cup, and again to the ring)
GRASP_HOLD_S = 0.3  # closing the hand on the cup
HEAD = Pose(np.array([0.0, 1.2, 0.0]))
ANCHOR = level_anchor(HEAD)


def mirrored_body(frame: TrackingFrame) -> BodyPose:
    """What the body solver shows in mirror mode: the left (affected) hand at the right
    grip reflected across the midline."""
    right = frame.right.grip.position
    shown = reflect_across_midline(ANCHOR, right)
    return BodyPose((), np.zeros((0, 4, 4)), Pose(shown), Pose(right), frame.right.grip_valid,
                    frame.right.grip_valid, Side.LEFT, LimbMode.MIRROR)


def smooth(points: np.ndarray, seconds: float) -> list[tuple[np.ndarray, float]]:
    """Frames of one minimum-jerk movement along the polyline ``points`` (k, 3) by arc length."""
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    n = int(round(seconds * RATE_HZ))
    s = minimum_jerk(np.zeros(1), np.ones(1), np.arange(1, n + 1) / n)[:, 0] * cumulative[-1]
    return [(np.array([np.interp(d, cumulative, points[:, a]) for a in range(3)]), 0.0) for d in s]


def script(plans: list[RepetitionPlan], grasp: bool) -> list[tuple[np.ndarray, float]]:
    """(healthy grip position, squeeze) per frame: for every repetition rest 0.6 s at home,
    move (through the path, or to the cup, grasp, to the ring, let go), hold 1.3 s, return."""
    frames: list[tuple[np.ndarray, float]] = []
    for plan in plans:
        home = reflect_across_midline(ANCHOR, plan.home)
        frames += [(home, 0.0)] * int(0.6 * RATE_HZ)
        if grasp:
            assert plan.pick is not None
            pick = reflect_across_midline(ANCHOR, plan.pick)
            place = reflect_across_midline(ANCHOR, plan.target)
            frames += smooth(np.array([home, pick]), MOVE_S)
            frames += [(pick, 1.0)] * int(GRASP_HOLD_S * RATE_HZ)
            frames += [(p, 1.0) for p, _ in smooth(np.array([pick, place]), MOVE_S)]
            frames += [(place, 0.0)] * int(1.3 * RATE_HZ)
            end = place
        else:
            path = reflect_across_midline(ANCHOR, np.vstack([plan.home[None], plan.path]))
            frames += smooth(path, MOVE_S)
            end = path[-1]
            frames += [(end, 0.0)] * int(1.3 * RATE_HZ)
        frames += smooth(np.array([end, home]), 1.0)
    return frames + [(reflect_across_midline(ANCHOR, plans[-1].home), 0.0)] * int(0.5 * RATE_HZ)


def write_motion(path: Path, frames: list[tuple[np.ndarray, float]]) -> None:
    """A motion file with a keyframe on every frame; the affected controller lies still."""
    lines = [json.dumps({"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ})]
    for index, (position, squeeze) in enumerate(frames):
        key: dict[str, object] = {"t": index / RATE_HZ, "right": {
            "position": [float(v) for v in position], "squeeze": squeeze}}
        if index == 0:
            key["head"] = {"position": [float(v) for v in HEAD.position]}
            key["left"] = {"position": [-0.3, 0.7, -0.1]}
        lines.append(json.dumps(key))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("kind", ["reach", "touch", "trace", "grasp"])
def test_a_mirror_block_from_a_motion_file_records_the_scripted_movements(
        tmp_path: Path, kind: str) -> None:
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "t", "test", "2026-01-01", stage=Stage.MIRROR_THERAPY.value,
        **{"mirror.phase": "healthy", "mirror.tasks": [kind], "mirror.grading.repetitions": 2,
           "mirror.grading.complexity": 2})
    task = build_task("mirror", program, TaskContext(ANCHOR, 21, 0))
    assert isinstance(task, TaskSequence)
    motor = task.part()  # the first part is built now, the same that the frames will step
    assert isinstance(motor, MotorTask)
    motion = tmp_path / f"{kind}.jsonl"
    write_motion(motion, script(motor.plans, grasp=kind == "grasp"))

    records: list[RepetitionRecord] = []
    with ScriptedFrameSource.from_file(motion) as source:
        for frame in source.frames():
            step = task.update(frame, mirrored_body(frame))
            records += [r for r in step.records if isinstance(r, RepetitionRecord)]
            if step.done:
                break
    assert step.done and len(records) == 2
    frame_s = 1 / RATE_HZ
    for record, plan in zip(records, motor.plans, strict=True):
        assert record.completed and record.task == kind and record.side == "left"
        if kind == "grasp":
            assert plan.pick is not None
            length = np.linalg.norm(plan.pick - plan.home) + np.linalg.norm(plan.target - plan.pick)
            duration = 2 * MOVE_S + GRASP_HOLD_S  # the pause to grasp lies inside the movement
        else:
            points = np.vstack([plan.home[None], plan.path])
            length = np.linalg.norm(np.diff(points, axis=0), axis=1).sum()
            duration = MOVE_S
        assert abs(record.duration_s - duration) <= frame_s + 1e-9
        assert abs(record.path_length_m - length) <= 0.02 * length
        assert record.target_error_m < (0.002 if kind == "trace" else 1e-3)
        np.testing.assert_allclose(record.target, plan.target)
