"""Frame builders for body tests: TrackingFrames made directly from core.types, as the
simulator's scripted motion produces them."""

from __future__ import annotations

import math

import numpy as np

from gmi_vr.body.calibration import Calibration, Posture, eye_in_head
from gmi_vr.body.skeleton import JOINT_INDEX, rest_offsets, rest_positions
from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.geometry import quat_from_axis_angle, quat_multiply, quat_rotate

RATE_HZ = 90.0


def yaw_quat(yaw_rad: float) -> np.ndarray:
    return quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), yaw_rad)


def calibration(yaw_rad: float = 0.4, origin=(0.3, 0.0, -0.2), affected: Side = Side.LEFT,
                posture: Posture = Posture.SEATED) -> Calibration:
    base = Calibration.uncalibrated(posture, 1.72, affected)
    return Calibration(base.posture, base.measures, np.array(origin), yaw_rad, base.hips_height_m,
                       affected, affected.other)


def upright_head(cal: Calibration, extra_yaw: float = 0.0) -> Pose:
    m = cal.measures
    rest = rest_positions(rest_offsets(m))
    # The eyes turn about the head joint (the top of the neck), as a real head does.
    head_joint = cal.hips_position() + cal.body_rotation() @ (rest[JOINT_INDEX["head"]] - rest[JOINT_INDEX["hips"]])
    orientation = yaw_quat(cal.yaw_rad + extra_yaw)
    return Pose(head_joint + quat_rotate(orientation, eye_in_head(m)), orientation)


def grip_in_front(cal: Calibration, side: Side, t: float) -> Pose:
    """A reachable grip path for one hand: a slow loop in front of that shoulder, turning."""
    sign = 1.0 if side is Side.RIGHT else -1.0
    local = np.array([sign * (0.22 + 0.08 * math.sin(1.3 * t)), 1.05 + 0.10 * math.sin(2.1 * t),
                      -0.30 - 0.08 * math.cos(1.7 * t)])  # fmt: skip
    position = cal.origin + cal.body_rotation() @ local
    twist = quat_from_axis_angle(np.array([0.0, 0.0, 1.0]), sign * 0.5 * math.sin(0.9 * t))
    pitch = quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), 0.4 * math.sin(1.1 * t))
    return Pose(position, quat_multiply(yaw_quat(cal.yaw_rad), quat_multiply(pitch, twist)))


def frame(index: int, head: Pose, left: HandInput | None = None,
          right: HandInput | None = None) -> TrackingFrame:
    time_s = index / RATE_HZ
    return TrackingFrame(index, time_s, int(time_s * 1e9), head, True,
                         left or HandInput(), right or HandInput())


def held(grip: Pose, trigger: float = 0.0, squeeze: float = 0.0,
         profile: str = "/interaction_profiles/khr/simple_controller") -> HandInput:
    return HandInput(grip=grip, grip_valid=True, aim=grip, aim_valid=True, trigger=trigger,
                     squeeze=squeeze, profile=profile)
