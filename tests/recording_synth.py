"""Synthetic frames and bodies for the recording tests and the benchmark (plain data only)."""

from __future__ import annotations

import math

import numpy as np

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.types import HAND_JOINT_COUNT, HandInput, Pose, Side, TrackingFrame

#: VRM humanoid bones of a whole body (left and right arm, hand and leg): what a BodyPose holds.
SIDE_BONES = (
    "Shoulder", "UpperArm", "LowerArm", "Hand",
    "ThumbMetacarpal", "ThumbProximal", "ThumbDistal",
    "IndexProximal", "IndexIntermediate", "IndexDistal",
    "MiddleProximal", "MiddleIntermediate", "MiddleDistal",
    "RingProximal", "RingIntermediate", "RingDistal",
    "LittleProximal", "LittleIntermediate", "LittleDistal",
    "UpperLeg", "LowerLeg", "Foot", "Toes",
)  # fmt: skip
BODY_JOINTS = ("hips", "spine", "chest", "upperChest", "neck", "head") + tuple(
    f"{side}{bone}" for side in ("left", "right") for bone in SIDE_BONES
)
RATE_HZ = 90.0


def _quat(angle: float) -> np.ndarray:
    return np.array([0.0, math.sin(angle / 2), 0.0, math.cos(angle / 2)])


#: An interaction profile a runtime may bind (OpenXR's generic one).
PROFILE = "/interaction_profiles/khr/simple_controller"


def frame(i: int, *, hands: bool = True, t0_ns: int = 1_000_000_000_000, profile: str = "") -> TrackingFrame:
    """Frame ``i`` of a smooth synthetic motion at 90 Hz; hand joints when ``hands``."""
    time_ns = t0_ns + int(round(i * 1e9 / RATE_HZ))
    t = i / RATE_HZ
    head = Pose((0.0, 1.2 + 0.01 * math.sin(t), 0.0), _quat(0.2 * math.sin(0.5 * t)))

    def hand(sign: float) -> HandInput:
        grip = Pose((sign * 0.25, 1.0 + 0.1 * math.sin(t + sign), -0.3), _quat(sign * 0.3 * math.sin(t)))
        joints = None
        valid = None
        if hands:
            joints = np.zeros((HAND_JOINT_COUNT, 7))
            joints[:, 0] = sign * 0.25 + 0.01 * np.arange(HAND_JOINT_COUNT)
            joints[:, 1] = 1.0 + 0.1 * math.sin(t + sign)
            joints[:, 2] = -0.3 - 0.005 * np.arange(HAND_JOINT_COUNT)
            joints[:, 3:] = _quat(0.1 * math.sin(t))
            valid = np.ones(HAND_JOINT_COUNT, dtype=bool)
        return HandInput(
            grip=grip, grip_valid=True, aim=grip, aim_valid=True, trigger=0.5 + 0.5 * math.sin(t),
            squeeze=0.0, thumbstick=(0.1, -0.2), primary=(i % 90) < 5, joints=joints, joints_valid=valid,
            profile=profile,
        )  # fmt: skip

    return TrackingFrame(
        index=i, time_s=time_ns / 1e9, time_ns=time_ns, head=head, head_valid=True,
        left=hand(-1.0), right=hand(1.0),
    )  # fmt: skip


def body(i: int, affected: Side = Side.LEFT) -> BodyPose:
    """A displayed body for frame ``i``: every joint a rotation about Y plus a translation."""
    t = i / RATE_HZ
    n = len(BODY_JOINTS)
    angles = 0.3 * math.sin(t) + 0.01 * np.arange(n)
    m = np.zeros((n, 4, 4))
    m[:, 0, 0] = np.cos(angles)
    m[:, 0, 2] = np.sin(angles)
    m[:, 2, 0] = -np.sin(angles)
    m[:, 2, 2] = np.cos(angles)
    m[:, 1, 1] = 1.0
    m[:, 3, 3] = 1.0
    m[:, 0, 3] = 0.01 * np.arange(n)
    m[:, 1, 3] = 1.0 + 0.05 * math.sin(t)
    shown = Pose((-0.25, 1.0, -0.3), _quat(0.3 * math.sin(t)))
    return BodyPose(
        joint_names=BODY_JOINTS, world_from_joint=m, displayed_left=shown, displayed_right=shown,
        displayed_left_valid=True, displayed_right_valid=True, affected_side=affected, mode=LimbMode.MIRROR,
    )  # fmt: skip
