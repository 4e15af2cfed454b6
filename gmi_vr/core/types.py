"""Shared plain-data types: poses, the per-frame tracking snapshot, and the names a pain
rating's phase and source take.

Conventions (ARCHITECTURE.md): OpenXR coordinates — right-handed, +Y up, -Z forward,
metres. Quaternions are ``(x, y, z, w)``. Times in logic are float seconds; the runtime's
XrTime nanoseconds travel alongside for recordings. All math on these types lives in
``gmi_vr.geometry``; this module only holds data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Number of joints per hand in XR_EXT_hand_tracking order (palm, wrist, thumb 4, 4 fingers x 5).
HAND_JOINT_COUNT = 26

#: ``HandInput.profile`` of a hand read from its tracked joints with no controller
#: (``xr.hands_only``): its ``trigger_click`` is a pinch. Not a runtime profile path.
HAND_TRACKING_PROFILE = "hand_tracking"

#: When a pain rating was given, as the session store names it: before, during or after the
#: session's practice (``therapy.results.task_records.STORAGE_PHASE`` maps the session runner's moments).
RatingPhase = Literal["before", "during", "after"]
#: Who gave a pain rating: the patient (in the headset) or the therapist (at the console).
RatingSource = Literal["patient", "therapist"]


class Side(StrEnum):
    """A body side, from the patient's point of view ("left", "right")."""
    LEFT = "left"
    RIGHT = "right"

    @property
    def other(self) -> Side:
        """The opposite side."""
        return Side.RIGHT if self is Side.LEFT else Side.LEFT


def _frozen_array(values: object, shape: tuple[int, ...]) -> FloatArray:
    array = np.array(values, dtype=np.float64)  # a copy: nobody else can change it
    if array.shape != shape:
        array = array.reshape(shape)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class Pose:
    """A rigid transform: ``position`` (3,) metres, ``orientation`` (4,) unit quaternion xyzw.

    As a transform it maps points of the posed frame into the parent frame
    (``parent_from_local``), exactly like an OpenXR ``XrPosef``.
    """

    position: FloatArray = field(default_factory=lambda: _frozen_array((0.0, 0.0, 0.0), (3,)))
    orientation: FloatArray = field(
        default_factory=lambda: _frozen_array((0.0, 0.0, 0.0, 1.0), (4,))
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", _frozen_array(self.position, (3,)))
        object.__setattr__(self, "orientation", _frozen_array(self.orientation, (4,)))

    @staticmethod
    def identity() -> Pose:
        """The identity transform: origin, no rotation."""
        return Pose()

    def as_array(self) -> FloatArray:
        """(7,) float: px, py, pz, qx, qy, qz, qw — the layout used for batches of poses."""
        return np.concatenate([self.position, self.orientation])

    @staticmethod
    def from_array(values: object) -> Pose:
        """A Pose from 7 numbers: px, py, pz (metres), qx, qy, qz, qw (the ``as_array`` layout)."""
        array = np.asarray(values, dtype=np.float64).reshape(7)
        return Pose(array[:3], array[3:])


@dataclass(frozen=True)
class HandInput:
    """One controller (or tracked hand) in one frame.

    A pose whose ``*_valid`` flag is False must not be used: sources keep the last
    pose there only so arrays keep their shape, never as a live value.
    """

    grip: Pose = field(default_factory=Pose)
    grip_valid: bool = False
    aim: Pose = field(default_factory=Pose)
    aim_valid: bool = False
    trigger: float = 0.0  # 0..1
    squeeze: float = 0.0  # 0..1
    thumbstick: tuple[float, float] = (0.0, 0.0)  # x right, y up, -1..1
    trigger_click: bool = False
    primary: bool = False  # A / X (or trackpad click on profiles without it)
    secondary: bool = False  # B / Y
    menu: bool = False
    thumbstick_click: bool = False
    #: (26, 7) float hand joints in XR_EXT_hand_tracking order in the reference space, or None.
    joints: FloatArray | None = None
    #: (26,) bool validity per joint, or None with ``joints``.
    joints_valid: NDArray[np.bool_] | None = None
    #: (26,) bool per joint: tracked now (OpenXR's TRACKED bits), not only valid. A runtime may
    #: keep reporting a switched-off controller's hand joints as valid from its last pose.
    joints_tracked: NDArray[np.bool_] | None = None
    #: Interaction profile path the runtime bound for this hand, e.g. "/interaction_profiles/valve/index_controller".
    profile: str = ""
    #: When each boolean input last changed, in seconds on the frame clock (OpenXR's
    #: ``lastChangeTime``), keyed by field name ("trigger_click", "primary", ...). Reaction
    #: times are measured to these, not to the frame that first saw the change.
    changed_at_s: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ViewInfo:
    """One eye: its pose in the reference space and its field of view (radians, OpenXR signs:
    left and down are negative)."""

    pose: Pose
    fov_left: float
    fov_right: float
    fov_up: float
    fov_down: float


@dataclass(frozen=True)
class TrackingFrame:
    """Everything a frame source knows about one display frame.

    ``time_s`` is the predicted display time in seconds on the source's clock (for
    OpenXR: XrTime / 1e9); ``time_ns`` keeps the runtime's XrTime for recordings.
    ``index`` counts frames from 0 within one source.
    """

    index: int
    time_s: float
    time_ns: int
    head: Pose
    head_valid: bool
    left: HandInput
    right: HandInput
    views: tuple[ViewInfo, ...] = ()
    #: True while the runtime shows our frames and gives us input (session FOCUSED).
    #: Therapy pauses while False (headset taken off, system menu open).
    focused: bool = True

    def hand(self, side: Side) -> HandInput:
        """The ``HandInput`` of ``side``."""
        return self.left if side is Side.LEFT else self.right


@dataclass(frozen=True)
class ClockLink:
    """How a frame source's clock relates to the operating system's monotonic clock
    (``time.monotonic_ns``; CLOCK_MONOTONIC on Linux): ``monotonic_ns = frame_ns + offset_ns``.

    ``exact``: the offset was measured (OpenXR's XR_KHR_convert_timespec_time, or a simulator
    whose clock *is* the monotonic clock shifted); False: estimated, good to a few frames only
    (a runtime without a time conversion), and then no submit times are recorded.
    ``method`` says which, in words kept with the session."""

    offset_ns: int
    exact: bool
    method: str


@dataclass(frozen=True)
class FrameTiming:
    """When one displayed frame's parts happened, on the frame source's clock (ns).

    ``display_ns``: the predicted display time (``TrackingFrame.time_ns``); ``pose_ns``: the
    time the healthy limb's pose refers to (every source locates poses at the display time);
    ``submit_ns``: when the frame was handed to the display (after xrEndFrame returned), None
    when the source's clock cannot be read exactly; ``mirror_delay_frames``: how many frames
    older than this frame's pose the mirrored limb shown is (0 by design: the same predicted
    pose), NaN when the affected limb is not mirrored in this frame (real or held still)."""

    display_ns: int
    pose_ns: int
    submit_ns: int | None
    mirror_delay_frames: float
