"""Scripted hand motion and solved bodies for the stage-2/3/4 task tests, and a check of them.

``Motion`` keeps each controller's grip position, moves it along minimum-jerk paths frame
by frame (90 Hz, ``test_therapy_frames.Script``), and returns each frame with the
``BodyPose`` the body solver would give in the task's limb mode: in MIRROR the affected
hand displayed at the healthy grip reflected across the midline (the anchor's YZ plane),
in REAL at its own grip.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from test_therapy_frames import RATE_HZ, Script

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.content.workspace import reflect_across_midline
from gmi_vr.therapy.plan.program import Program
from gmi_vr.therapy.results.measures import minimum_jerk
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep
from gmi_vr.therapy.tasks.registry import build_task
from gmi_vr.therapy.tasks.stages import TaskSequence

HEAD = Pose(np.array([0.1, 1.25, 0.3]))
ANCHOR = level_anchor(HEAD)


class Motion:
    def __init__(self, affected: Side, mode: LimbMode, anchor: Pose = ANCHOR) -> None:
        self.script = Script(HEAD)
        self.affected = affected
        self.mode = mode
        self.anchor = anchor
        self.grip: dict[Side, np.ndarray | None] = {Side.LEFT: None, Side.RIGHT: None}

    @property
    def healthy(self) -> Side:
        return self.affected.other

    @property
    def now(self) -> float:
        return self.script.next_time

    def place(self, side: Side, position: np.ndarray | None) -> None:
        self.grip[side] = None if position is None else np.asarray(position, dtype=np.float64)

    def displayed(self) -> np.ndarray | None:
        if self.mode is LimbMode.MIRROR:
            healthy = self.grip[self.healthy]
            return None if healthy is None else reflect_across_midline(self.anchor, healthy)
        return self.grip[self.affected]

    def frame(self) -> tuple[TrackingFrame, BodyPose]:
        for side in (Side.LEFT, Side.RIGHT):
            position = self.grip[side]
            if position is None:
                self.script.set(side, grip_valid=False)
            else:
                self.script.set(side, grip=Pose(position), grip_valid=True)
        frame = self.script.frame()
        shown = self.displayed()
        healthy = self.grip[self.healthy]
        poses = {self.affected: (shown, shown is not None), self.healthy: (healthy, healthy is not None)}
        left, left_valid = poses[Side.LEFT]
        right, right_valid = poses[Side.RIGHT]
        body = BodyPose((), np.zeros((0, 4, 4)),
                        Pose(left if left is not None else np.zeros(3)),
                        Pose(right if right is not None else np.zeros(3)),
                        left_valid, right_valid, self.affected, self.mode)
        return frame, body


Stepper = Callable[[TrackingFrame, BodyPose], TaskStep]


def run_for(motion: Motion, step: Stepper, seconds: float, log: list[TaskStep]) -> None:
    """Hold the hands still for ``seconds`` of frames."""
    for _ in range(int(round(seconds * RATE_HZ))):
        log.append(step(*motion.frame()))


def move(motion: Motion, side: Side, to: np.ndarray, duration_s: float, step: Stepper,
         log: list[TaskStep]) -> tuple[float, float]:
    """A minimum-jerk move of ``side``'s grip to ``to`` over ``duration_s``, starting at the
    next frame's time; returns (start, end) times. The end lands on a frame."""
    start_position = motion.grip[side]
    assert start_position is not None
    start = motion.now
    frames = int(round(duration_s * RATE_HZ))
    for i in range(1, frames + 1):
        fraction = np.array([i / frames])
        motion.place(side, minimum_jerk(start_position, np.asarray(to), fraction)[0])
        log.append(step(*motion.frame()))
    return start, start + frames / RATE_HZ


def grasp(motion: Motion, side: Side, pick: np.ndarray, target: np.ndarray, carry_s: float, step: Stepper,
          log: list[TaskStep]) -> None:
    """``side``'s grip moves to ``pick`` over 1 s, closes on the object for 0.2 s, carries it
    to ``target`` over ``carry_s`` and opens there."""
    move(motion, side, pick, 1.0, step, log)
    motion.script.set(side, squeeze=1.0)
    run_for(motion, step, 0.2, log)
    move(motion, side, target, carry_s, step, log)
    motion.script.set(side, squeeze=0.0)


def move_through(motion: Motion, side: Side, points: np.ndarray, duration_s: float,
                 step: Stepper, log: list[TaskStep]) -> None:
    """A minimum-jerk move along the polyline ``points`` (k, 3) from the current grip,
    parametrised by arc length (one smooth movement through every point)."""
    start = motion.grip[side]
    assert start is not None
    polyline = np.vstack([start[None], points])
    lengths = np.linalg.norm(np.diff(polyline, axis=0), axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    frames = int(round(duration_s * RATE_HZ))
    for i in range(1, frames + 1):
        s = float(minimum_jerk(np.zeros(1), np.ones(1), np.array([i / frames]))[0, 0])
        distance = s * cumulative[-1]
        position = np.array([np.interp(distance, cumulative, polyline[:, a]) for a in range(3)])
        motion.place(side, position)
        log.append(step(*motion.frame()))


def start_sequence(kind: str, program: Program, motion: Motion, seed: int,
                   block: int = 0) -> tuple[TaskSequence, list[TaskStep]]:
    """Block ``kind`` of ``program`` (block number ``block``, seeded with ``seed``) as the
    registry builds it, a sequence of tasks, and its steps so far: the first, on
    ``motion``'s next frame."""
    task = build_task(kind, program, TaskContext(ANCHOR, seed, block))
    assert isinstance(task, TaskSequence)
    return task, [task.update(*motion.frame())]


def records_of(log: list[TaskStep], kind: type) -> list:
    return [r for s in log for r in s.records if isinstance(r, kind)]


def events_of(log: list[TaskStep], kind: str) -> list:
    return [e for s in log for e in s.events if e.kind == kind]


def test_mirrored_bodies_show_the_affected_hand_at_the_reflected_healthy_grip() -> None:
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    healthy = ANCHOR.position + np.array([0.2, -0.4, -0.35])
    motion.place(Side.RIGHT, healthy)
    motion.place(Side.LEFT, ANCHOR.position + np.array([-0.5, -0.6, 0.0]))  # ignored in mirror
    frame, body = motion.frame()
    shown, valid = body.displayed(Side.LEFT)
    assert valid and np.allclose(shown.position, ANCHOR.position + np.array([-0.2, -0.4, -0.35]))
    assert frame.right.grip_valid and np.allclose(frame.right.grip.position, healthy)
    log: list[TaskStep] = []
    start, end = move(motion, Side.RIGHT, healthy + np.array([0.0, 0.0, -0.3]), 1.0,
                      lambda f, b: TaskStep(), log)
    assert len(log) == RATE_HZ and abs(end - start - 1.0) < 1e-9
    assert np.allclose(motion.grip[Side.RIGHT], healthy + np.array([0.0, 0.0, -0.3]))
