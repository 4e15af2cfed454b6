"""Motion frames as fixed-layout float32 rows, packed into chunks.

One recorded frame is one row of ``channels(body_joints)`` float32 values (names below)
plus two int64 stamps (frame index, runtime XrTime in ns). Positions are metres and
quaternions xyzw in the OpenXR reference space, exactly as the frame or body gave them.
A pose whose validity flag is 0 holds whatever the source kept there (not a live value);
hand joints that the runtime did not deliver are NaN.

Layout version 1, per frame:

- ``focused``, ``head.valid``, ``head.{px,py,pz,qx,qy,qz,qw}``
- for ``left`` then ``right``: ``grip.*`` (7) and ``grip.valid``, ``aim.*`` (7) and
  ``aim.valid``, ``trigger``, ``squeeze``, ``thumbstick_x``, ``thumbstick_y``, the buttons
  ``trigger_click``, ``primary``, ``secondary``, ``menu``, ``thumbstick_click`` (0/1),
  ``joints.present``, 26 joints × 7 (``<side>.<joint>.px`` ...), 26 ``<side>.<joint>.valid``
- the displayed body: ``body.present``, ``body.mode`` (``MODE_CODES``), ``body.blend``,
  ``shown_left.*`` (7) and ``shown_left.valid``, ``shown_right.*`` (7) and
  ``shown_right.valid``, then 7 values per recorded body joint (``body.<joint>.px`` ...):
  the affected side's joints (VRM humanoid names that start with that side), converted
  from ``world_from_joint`` matrices to position + quaternion.

Layout version 2 adds, after the body joints, the frame's display timing (``TIMING_CHANNELS``,
from ``core.types.FrameTiming``; NaN where unknown), as offsets from the frame's predicted
display time (the frame's stamp) so float32 keeps them to nanoseconds:
``timing.pose_to_display_s`` (display time minus the time the healthy limb's pose refers to),
``timing.submit_to_display_s`` (display time minus when the frame was submitted: how long
before its display the picture was handed over) and ``timing.mirror_delay_frames`` (how many
frames older the mirrored limb shown is than the healthy limb's pose: 0 by design).
Version 1 chunks (no timing) stay readable.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.types import HAND_JOINT_COUNT, FrameTiming, HandInput, Pose, TrackingFrame
from gmi_vr.geometry.transforms import quat_from_matrix

LAYOUT_VERSION = 2
#: Layout versions this gmi-vr reads (the store refuses others with one sentence).
READABLE_LAYOUTS = (1, 2)
#: Chunk packing: float32 matrix stored channel-major, byte-shuffled, then zlib level 1.
#: Channel-major keeps each channel's smooth time series together and the byte shuffle puts
#: the slowly changing exponent bytes side by side, which is what makes zlib effective on
#: motion; level 1 keeps the writer far faster than real time (tools/bench_recording.py).
CODEC = "f32-cm-shuf-z1"

#: XR_EXT_hand_tracking joint order (XrHandJointEXT), used for channel names.
HAND_JOINT_NAMES: tuple[str, ...] = (
    "palm", "wrist",
    "thumb_metacarpal", "thumb_proximal", "thumb_distal", "thumb_tip",
    "index_metacarpal", "index_proximal", "index_intermediate", "index_distal", "index_tip",
    "middle_metacarpal", "middle_proximal", "middle_intermediate", "middle_distal", "middle_tip",
    "ring_metacarpal", "ring_proximal", "ring_intermediate", "ring_distal", "ring_tip",
    "little_metacarpal", "little_proximal", "little_intermediate", "little_distal", "little_tip",
)  # fmt: skip
assert len(HAND_JOINT_NAMES) == HAND_JOINT_COUNT

POSE_FIELDS = ("px", "py", "pz", "qx", "qy", "qz", "qw")
BUTTONS = ("trigger_click", "primary", "secondary", "menu", "thumbstick_click")
MODE_CODES: dict[LimbMode, int] = {
    LimbMode.MIRROR: 0, LimbMode.REAL: 1, LimbMode.BLEND: 2, LimbMode.STILL: 3,
}  # fmt: skip
SIDES = ("left", "right")


def _pose_names(prefix: str) -> list[str]:
    return [f"{prefix}.{f}" for f in POSE_FIELDS]


def _hand_channels(side: str) -> list[str]:
    names = _pose_names(f"{side}.grip") + [f"{side}.grip.valid"]
    names += _pose_names(f"{side}.aim") + [f"{side}.aim.valid"]
    names += [f"{side}.{n}" for n in ("trigger", "squeeze", "thumbstick_x", "thumbstick_y")]
    names += [f"{side}.{b}" for b in BUTTONS]
    names += [f"{side}.joints.present"]
    for joint in HAND_JOINT_NAMES:
        names += _pose_names(f"{side}.{joint}")
    names += [f"{side}.{joint}.valid" for joint in HAND_JOINT_NAMES]
    return names


TRACKING_CHANNELS: tuple[str, ...] = tuple(
    ["focused", "head.valid"] + _pose_names("head") + _hand_channels("left") + _hand_channels("right")
)
BODY_FIXED_CHANNELS: tuple[str, ...] = tuple(
    ["body.present", "body.mode", "body.blend"]
    + _pose_names("shown_left") + ["shown_left.valid"]
    + _pose_names("shown_right") + ["shown_right.valid"]
)  # fmt: skip
#: Display timing per frame (layout 2; see the module docstring). Seconds, seconds, frames.
TIMING_CHANNELS: tuple[str, ...] = (
    "timing.pose_to_display_s", "timing.submit_to_display_s", "timing.mirror_delay_frames",
)  # fmt: skip
_HAND_WIDTH = len(_hand_channels("left"))
_HEAD = 2  # offset of head.px
_HAND_OFFSET = {"left": 9, "right": 9 + _HAND_WIDTH}
_BODY = len(TRACKING_CHANNELS)
_BODY_JOINTS = _BODY + len(BODY_FIXED_CHANNELS)


@lru_cache(maxsize=64)
def channels(body_joints: tuple[str, ...], layout_version: int = LAYOUT_VERSION) -> tuple[str, ...]:
    """All channel names of a frame row for the given recorded body joints and layout."""
    joint_names: list[str] = []
    for joint in body_joints:
        joint_names += _pose_names(f"body.{joint}")
    timing = TIMING_CHANNELS if layout_version >= 2 else ()
    return TRACKING_CHANNELS + BODY_FIXED_CHANNELS + tuple(joint_names) + timing


def channel_index(body_joints: tuple[str, ...]) -> dict[str, int]:
    """Column index of each channel name of a frame row keeping ``body_joints``."""
    return {name: i for i, name in enumerate(channels(body_joints))}


@lru_cache(maxsize=64)
def _affected_joint_indices(
    joint_names: tuple[str, ...], side: str
) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    chosen = [i for i, name in enumerate(joint_names) if name.startswith(side)]
    return tuple(joint_names[i] for i in chosen), np.array(chosen, dtype=np.intp)


def recorded_body_joints(body: BodyPose | None) -> tuple[str, ...]:
    """The body joints a frame row keeps: the affected side's (see module docstring)."""
    if body is None:
        return ()
    return _affected_joint_indices(tuple(body.joint_names), body.affected_side.value)[0]


class FrameBatch:
    """Frames collected for one chunk; ``pack()`` turns them into stamps and a float32 matrix.

    Runs on the writer thread only (never the render thread).
    """

    def __init__(self, body_joints: tuple[str, ...], capacity: int) -> None:
        self.body_joints = body_joints
        self.width = len(channels(body_joints))
        self.rows = np.full((capacity, self.width), np.nan, dtype=np.float32)
        self.stamps = np.zeros((capacity, 2), dtype=np.int64)
        self.body_matrices = np.full((capacity, len(body_joints), 4, 4), np.nan)
        self.count = 0

    @property
    def full(self) -> bool:
        """True when the batch holds as many frames as its capacity."""
        return self.count >= len(self.rows)

    def add(self, frame: TrackingFrame, body: BodyPose | None, timing: FrameTiming | None = None) -> None:
        """Append one frame (its body pose and display timing, if any) as the next row."""
        i = self.count
        row = self.rows[i]
        self.stamps[i] = (frame.index, frame.time_ns)
        row[0] = frame.focused
        row[1] = frame.head_valid
        _put_pose(row, _HEAD, frame.head)
        _put_hand(row, _HAND_OFFSET["left"], frame.left)
        _put_hand(row, _HAND_OFFSET["right"], frame.right)
        if body is not None:
            b = _BODY
            row[b] = 1.0
            row[b + 1] = MODE_CODES[body.mode]
            row[b + 2] = body.blend
            _put_pose(row, b + 3, body.displayed_left)
            row[b + 10] = body.displayed_left_valid
            _put_pose(row, b + 11, body.displayed_right)
            row[b + 18] = body.displayed_right_valid
            if self.body_joints:
                _, idx = _affected_joint_indices(tuple(body.joint_names), body.affected_side.value)
                self.body_matrices[i] = body.world_from_joint[idx]
        else:
            row[_BODY] = 0.0
        if timing is not None:
            t = self.width - len(TIMING_CHANNELS)
            row[t] = (timing.display_ns - timing.pose_ns) / 1e9
            row[t + 1] = (timing.display_ns - timing.submit_ns) / 1e9 if timing.submit_ns is not None else np.nan
            row[t + 2] = timing.mirror_delay_frames
        self.count += 1

    def pack(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """(n, 2) int64 stamps and the (n, channels) float32 rows of the collected frames."""
        n = self.count
        rows = self.rows[:n]
        if self.body_joints:
            m = self.body_matrices[:n]
            poses = np.concatenate([m[..., :3, 3], quat_from_matrix(m)], axis=-1)
            rows[:, _BODY_JOINTS : _BODY_JOINTS + 7 * len(self.body_joints)] = poses.reshape(n, -1)
        return self.stamps[:n], rows


def _put_pose(row: NDArray[np.float32], at: int, pose: Pose) -> None:
    row[at : at + 3] = pose.position
    row[at + 3 : at + 7] = pose.orientation


def _put_hand(row: NDArray[np.float32], at: int, hand: HandInput) -> None:
    _put_pose(row, at, hand.grip)
    row[at + 7] = hand.grip_valid
    _put_pose(row, at + 8, hand.aim)
    row[at + 15] = hand.aim_valid
    row[at + 16 : at + 24] = (
        hand.trigger, hand.squeeze, hand.thumbstick[0], hand.thumbstick[1],
        hand.trigger_click, hand.primary, hand.secondary, hand.menu,
    )  # fmt: skip
    row[at + 24] = hand.thumbstick_click
    if hand.joints is not None:
        row[at + 25] = 1.0
        j = at + 26
        row[j : j + 7 * HAND_JOINT_COUNT] = hand.joints.reshape(-1)
        valid = hand.joints_valid if hand.joints_valid is not None else True
        row[j + 7 * HAND_JOINT_COUNT : j + 8 * HAND_JOINT_COUNT] = valid
    else:
        row[at + 25] = 0.0


def encode(rows: NDArray[np.float32]) -> bytes:
    """Pack an (n, channels) float32 matrix with ``CODEC``."""
    column_major = np.ascontiguousarray(rows.T, dtype="<f4")
    shuffled = column_major.view(np.uint8).reshape(-1, 4).T.tobytes()
    return zlib.compress(shuffled, 1)


def decode(blob: bytes, n: int, width: int, codec: str = CODEC) -> NDArray[np.float32]:
    """Inverse of ``encode``: the (n, width) float32 matrix."""
    if codec != CODEC:
        raise ValueError(f"unknown motion codec {codec!r}")
    shuffled = np.frombuffer(zlib.decompress(blob), dtype=np.uint8).reshape(4, -1)
    column_major = np.ascontiguousarray(shuffled.T).view("<f4").reshape(width, n)
    return np.ascontiguousarray(column_major.T)


def encode_stamps(stamps: NDArray[np.int64]) -> bytes:
    """(n, 2) int64 frame indices and XrTime nanoseconds -> little-endian bytes for the store."""
    return np.ascontiguousarray(stamps, dtype="<i8").tobytes()


def decode_stamps(blob: bytes) -> NDArray[np.int64]:
    """The (n, 2) int64 stamps ``encode_stamps`` wrote (a writable copy)."""
    return np.frombuffer(blob, dtype="<i8").reshape(-1, 2).copy()


@dataclass(frozen=True)
class MotionTable:
    """Decoded motion of a session: ``index`` (n,) int64, ``time_ns`` (n,) int64, ``rows``
    (n, channels) float32 with ``channels`` names (the union of all chunk layouts; NaN where
    a chunk lacked a channel)."""

    index: NDArray[np.int64]
    time_ns: NDArray[np.int64]
    rows: NDArray[np.float32]
    channels: tuple[str, ...]

    def column(self, name: str) -> NDArray[np.float32]:
        """(n,) float32 values of the channel ``name``, one per frame."""
        return self.rows[:, self.channels.index(name)]

    def columns(self, names: Sequence[str]) -> NDArray[np.float32]:
        """(n, k) float32 values of the channels ``names``, in that order."""
        lookup = {n: i for i, n in enumerate(self.channels)}
        return self.rows[:, [lookup[n] for n in names]]


def _frozen(values: NDArray[np.float32]) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


def _pose_at(row: NDArray[np.float32], at: int) -> Pose:
    return Pose(_frozen(row[at : at + 3]), _frozen(row[at + 3 : at + 7]))


def _hand_at(row: NDArray[np.float32], at: int) -> HandInput:
    joints = None
    joints_valid = None
    if row[at + 25] > 0.5:
        j = at + 26
        joints = _frozen(row[j : j + 7 * HAND_JOINT_COUNT]).reshape(HAND_JOINT_COUNT, 7)
        joints.flags.writeable = False
        joints_valid = row[j + 7 * HAND_JOINT_COUNT : j + 8 * HAND_JOINT_COUNT] > 0.5
        joints_valid.flags.writeable = False
    return HandInput(
        grip=_pose_at(row, at),
        grip_valid=bool(row[at + 7] > 0.5),
        aim=_pose_at(row, at + 8),
        aim_valid=bool(row[at + 15] > 0.5),
        trigger=float(row[at + 16]),
        squeeze=float(row[at + 17]),
        thumbstick=(float(row[at + 18]), float(row[at + 19])),
        trigger_click=bool(row[at + 20] > 0.5),
        primary=bool(row[at + 21] > 0.5),
        secondary=bool(row[at + 22] > 0.5),
        menu=bool(row[at + 23] > 0.5),
        thumbstick_click=bool(row[at + 24] > 0.5),
        joints=joints,
        joints_valid=joints_valid,
    )


def frame_from_row(index: int, time_ns: int, row: NDArray[np.float32]) -> TrackingFrame:
    """Rebuild the recorded TrackingFrame. Views are not recorded; interaction profiles are
    recorded as events (``replay.py`` puts them back); ``time_s`` is ``time_ns`` in seconds,
    as every frame source keeps it."""
    return TrackingFrame(
        index=int(index),
        time_s=int(time_ns) / 1e9,
        time_ns=int(time_ns),
        head=_pose_at(row, _HEAD),
        head_valid=bool(row[1] > 0.5),
        left=_hand_at(row, _HAND_OFFSET["left"]),
        right=_hand_at(row, _HAND_OFFSET["right"]),
        focused=bool(row[0] > 0.5),
    )


def timing_summary(values: NDArray[np.float32]) -> dict[str, Any] | None:
    """Median and 99th percentile of each ``TIMING_CHANNELS`` column of (n, 3) values over
    the frames that have it (``{"frames": n, "<channel without prefix>": {"median", "p99"}
    or None}``), for the session's record; None without any timed frame."""
    if len(values) == 0 or bool(np.all(np.isnan(values))):
        return None
    summary: dict[str, Any] = {"frames": int(len(values))}
    for k, name in enumerate(TIMING_CHANNELS):
        column = values[:, k].astype(np.float64)
        column = column[~np.isnan(column)]
        key = name.removeprefix("timing.")
        summary[key] = None if len(column) == 0 else {
            "median": float(np.median(column)), "p99": float(np.percentile(column, 99))}
    return summary
