"""The kitchen and garden contexts and a mirror-therapy reach drawn by the real renderer
(Mesa llvmpipe; a hidden GLX window or surfaceless EGL, as in test_render): the work surface
lies where targets rest, and the targets appear on the affected side only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_render import H, W, project, render  # noqa: F401  (W, H size the shared target fixture)
from test_stages_frames import Motion, run_for

from gmi_vr.body.pose import LimbMode
from gmi_vr.core.types import Pose, Side
from gmi_vr.geometry import quat_from_axis_angle
from gmi_vr.geometry.camera import Camera
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.content.workspace import (
    WORK_SURFACE_DROP_M,
    reflect_across_midline,
    rest_position,
)
from gmi_vr.therapy.plan.program import BodyPart, Program
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep
from gmi_vr.therapy.tasks.motor import HOME_DWELL_S, MotorTask
from gmi_vr.therapy.tasks.registry import build_task
from gmi_vr.therapy.tasks.stages import TaskSequence

pytestmark = pytest.mark.gl

HEAD = Pose(np.array([0.0, 1.2, 0.0]))
ANCHOR = level_anchor(HEAD)
SURFACE_COLOR = {"kitchen": (0.78, 0.70, 0.58), "garden": (0.62, 0.48, 0.34)}


@pytest.mark.parametrize("context", ["kitchen", "garden"])
def test_a_mirror_reach_in_a_context_shows_its_table_and_targets_on_the_affected_side(
        renderer: Any, target: Any, context: str) -> None:  # noqa: F811
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "t", "x", "2026", stage=3, **{"mirror.phase": "healthy", "mirror.tasks": ["reach"],
                                      "mirror.grading.height_m": 0.0, "mirror.context": context})
    task = build_task("mirror", program, TaskContext(ANCHOR, 2, 0))
    assert isinstance(task, TaskSequence)
    motion = Motion(Side.LEFT, LimbMode.MIRROR, ANCHOR)
    motion.script.head = HEAD
    motion.place(Side.RIGHT, rest_position(ANCHOR, Side.RIGHT))
    log: list[TaskStep] = []
    run_for(motion, task.update, HOME_DWELL_S + 0.1, log)
    motor = task.current
    assert isinstance(motor, MotorTask)
    goal = motor.plans[0].target

    look_down = quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(-35))
    cam = Camera.symmetric(Pose(HEAD.position, look_down), np.radians(74), 64 / 48)
    pixels = render(renderer, target, log[-1].draw, cam)

    # The table top, ahead and to the right of the targets, in its own (lit) colour.
    surface = HEAD.position + np.array([0.25, -WORK_SURFACE_DROP_M, -0.6])
    row, column = project(cam, tuple(surface))
    table = np.array(SURFACE_COLOR[context]) * 255
    assert np.abs(pixels[row, column] - table).max() < 70, pixels[row, column]
    # The reach target (calm blue) on the left, nothing blue at its mirror image on the right.
    row, column = project(cam, tuple(goal))
    red, green, blue = pixels[row, column]
    assert blue > red + 40, pixels[row, column]
    row, column = project(cam, tuple(reflect_across_midline(ANCHOR, goal)))
    red, green, blue = pixels[row, column]
    assert not blue > red + 40, pixels[row, column]
