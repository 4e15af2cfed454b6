"""Turning what the runtime reported for one frame into a ``TrackingFrame`` (pure, no runtime).

``openxr_source`` copies the raw OpenXR results into the plain records below (space
locations with their flag bits, action states with their ``isActive``), and the functions
here decide validity. Keeping this step pure lets its rules be tested without a runtime:

- a pose is valid only when the runtime says both its orientation and its position are
  valid (``XR_SPACE_LOCATION_ORIENTATION_VALID_BIT | XR_SPACE_LOCATION_POSITION_VALID_BIT``)
  and, for controller poses, the pose action is active (bound to a live device). An
  invalid pose is never reported as valid with an old value: the source keeps the identity
  pose there;
- a button or analog value whose action is inactive reads as released / zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gmi_vr.core.types import HAND_JOINT_COUNT, FloatArray, HandInput, Pose, TrackingFrame, ViewInfo

# XrSpaceLocationFlags bits (OpenXR specification, XrSpaceLocationFlagBits).
ORIENTATION_VALID = 0x1
POSITION_VALID = 0x2
ORIENTATION_TRACKED = 0x4
POSITION_TRACKED = 0x8
POSE_VALID = ORIENTATION_VALID | POSITION_VALID
POSE_TRACKED = ORIENTATION_TRACKED | POSITION_TRACKED


@dataclass(frozen=True)
class RawLocation:
    """One ``XrSpaceLocation``: ``pose`` (7,) px py pz qx qy qz qw and its flag bits."""

    pose: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    flags: int = 0

    @property
    def valid(self) -> bool:
        return (self.flags & POSE_VALID) == POSE_VALID


@dataclass(frozen=True)
class RawHand:
    """The raw per-hand results of one frame. ``*_active`` are the actions' ``isActive``."""

    grip: RawLocation = field(default_factory=RawLocation)
    grip_active: bool = False
    aim: RawLocation = field(default_factory=RawLocation)
    aim_active: bool = False
    trigger: float = 0.0
    trigger_active: bool = False
    squeeze: float = 0.0
    squeeze_active: bool = False
    thumbstick: tuple[float, float] = (0.0, 0.0)
    thumbstick_active: bool = False
    trigger_click: bool = False
    primary: bool = False
    secondary: bool = False
    menu: bool = False
    thumbstick_click: bool = False
    #: (26, 7) joint poses and (26,) location flags from XR_EXT_hand_tracking, or None.
    joints: FloatArray | None = None
    joint_flags: NDArray[np.uint64] | None = None
    joints_active: bool = False
    profile: str = ""
    #: XrTime (ns) of each active button's last change, by HandInput field name.
    changed_at_ns: dict[str, int] = field(default_factory=dict)


def _pose(location: RawLocation, usable: bool) -> tuple[Pose, bool]:
    if usable and location.valid:
        return Pose.from_array(location.pose), True
    return Pose(), False


def _unit(value: float) -> float:
    """``value`` held to 0..1 (plain floats: numpy's clip costs microseconds per scalar)."""
    return min(1.0, max(0.0, float(value)))


def hand_input(raw: RawHand) -> HandInput:
    """A ``HandInput`` from one hand's raw results (validity rules in the module docstring)."""
    grip, grip_valid = _pose(raw.grip, raw.grip_active)
    aim, aim_valid = _pose(raw.aim, raw.aim_active)
    joints = joints_valid = joints_tracked = None
    if raw.joints_active and raw.joints is not None and raw.joint_flags is not None:
        flags = np.asarray(raw.joint_flags, dtype=np.uint64).reshape(HAND_JOINT_COUNT)
        joints_valid = (flags & np.uint64(POSE_VALID)) == np.uint64(POSE_VALID)
        joints_tracked = joints_valid & ((flags & np.uint64(POSE_TRACKED)) == np.uint64(POSE_TRACKED))
        joints_tracked.flags.writeable = False
        joints = np.where(
            joints_valid[:, None],
            np.asarray(raw.joints, dtype=np.float64).reshape(HAND_JOINT_COUNT, 7),
            np.array([0, 0, 0, 0, 0, 0, 1.0]),
        )
        joints.flags.writeable = False
        joints_valid.flags.writeable = False
    return HandInput(
        grip=grip,
        grip_valid=grip_valid,
        aim=aim,
        aim_valid=aim_valid,
        trigger=_unit(raw.trigger) if raw.trigger_active else 0.0,
        squeeze=_unit(raw.squeeze) if raw.squeeze_active else 0.0,
        thumbstick=(
            (float(raw.thumbstick[0]), float(raw.thumbstick[1]))
            if raw.thumbstick_active
            else (0.0, 0.0)
        ),
        trigger_click=raw.trigger_click,
        primary=raw.primary,
        secondary=raw.secondary,
        menu=raw.menu,
        thumbstick_click=raw.thumbstick_click,
        joints=joints,
        joints_valid=joints_valid,
        joints_tracked=joints_tracked,
        profile=raw.profile,
        changed_at_s={name: ns / 1e9 for name, ns in raw.changed_at_ns.items()},
    )


@dataclass(frozen=True)
class RawView:
    """One ``XrView``: ``pose`` (7,) and fov angles in radians (left, right, up, down)."""

    pose: tuple[float, ...]
    fov: tuple[float, float, float, float]


def tracking_frame(
    *,
    index: int,
    predicted_display_time_ns: int,
    head: RawLocation,
    views: tuple[RawView, ...],
    views_valid: bool,
    left: RawHand,
    right: RawHand,
    focused: bool,
) -> TrackingFrame:
    """The frame the source yields. ``views_valid`` is xrLocateViews' orientation and position
    validity; with invalid views the frame carries none (nothing may be rendered)."""
    head_pose, head_valid = _pose(head, True)
    view_infos = (
        tuple(ViewInfo(Pose.from_array(v.pose), *v.fov) for v in views) if views_valid else ()
    )
    return TrackingFrame(
        index=index,
        time_s=predicted_display_time_ns / 1e9,
        time_ns=int(predicted_display_time_ns),
        head=head_pose,
        head_valid=head_valid,
        left=hand_input(left),
        right=hand_input(right),
        views=view_infos,
        focused=focused,
    )
