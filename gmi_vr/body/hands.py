"""Hands: grip-to-wrist offsets per interaction profile, finger curls from controller values,
and finger poses from XR_EXT_hand_tracking joints.

Frames. The *grip* frame is OpenXR's (spec 1.0, "Standard pose identifiers"): origin at the
centroid of the closed fist, -Z along the ray through the fist (the rod held, thumb end
forward), +X out of the back of the right hand / out of the palm of the left hand. So in the
neutral grip both hands' +X points to the patient's right, and left and right grip frames are
mirror images with the local X flipped (``gmi_vr.geometry.reflect``). The *wrist* frame is the
skeleton's hand joint (``gmi_vr.body.skeleton``: fingers along -X/+X for left/right, back of
the hand +Y in the flat, palm-down T-pose).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import HAND_JOINT_COUNT, FloatArray, HandInput, Side
from gmi_vr.geometry.reflect import Plane, reflect_poses
from gmi_vr.geometry.transforms import (
    compose_pose7,
    quat_from_matrix,
    quat_to_matrix,
)

_GRIP_MIRROR = Plane(np.zeros(3), np.array([1.0, 0.0, 0.0]))  # the grip frame's own YZ plane


@dataclass(frozen=True)
class GripOffset:
    """Where the wrist joint sits in the RIGHT hand's grip frame, in hand lengths (dimensionless)
    and a rotation; the left hand uses the mirror image. ``source`` says where it comes from."""

    wrist_in_grip: tuple[float, float, float]  # metres per metre of hand length
    hand_axis_tilt_deg: float  # the metacarpals lean this far from grip +Y towards -Z (forward)
    source: str

    def wrist_in_grip_pose(self, side: Side, hand_length_m: float) -> FloatArray:
        """(7,) ``grip_from_wrist`` for one side and hand length."""
        tilt = np.radians(self.hand_axis_tilt_deg)
        fingers = np.array([0.0, np.cos(tilt), -np.sin(tilt)])  # wrist -> knuckles, grip frame
        dorsal = np.array([1.0, 0.0, 0.0])  # out of the back of the right hand
        third = np.cross(fingers, dorsal)
        # Columns: where the wrist frame's X (fingers, right hand), Y (back of hand), Z point.
        rotation = np.stack([fingers, dorsal, third], axis=1)
        pose = np.concatenate(
            [np.array(self.wrist_in_grip) * hand_length_m, quat_from_matrix(rotation)]
        )
        return pose if side is Side.RIGHT else reflect_poses(pose, _GRIP_MIRROR)


#: Anatomical offset implied by the spec's grip definition. In a power grip the rod crosses
#: the palm obliquely, from the index knuckle to the heel of the hand (the distal palmar
#: crease), at about 60° to the hand's long axis, thumb end forwards: so the metacarpals lean
#: ~30° from grip +Y towards -Z. The fist's centroid lies ~40 % of a hand length from the wrist
#: along that axis, on the palm side of the metacarpals (the wrist centre is ~8 % of a hand
#: length towards the back of the hand). Hand anthropometry; an estimate, not a measurement.
ANATOMICAL_GRIP = GripOffset(
    wrist_in_grip=(0.08, -0.40 * math.cos(math.radians(30)), 0.40 * math.sin(math.radians(30))),
    hand_axis_tilt_deg=30.0,
    source="OpenXR 1.0 grip pose definition (fist centroid, rod axis) + power-grip hand geometry; estimate",
)

#: Per interaction profile. The grip pose is defined by the hand holding the device, not by
#: the device's shape, so every conformant runtime should need the same anatomical offset;
#: a profile gets its own entry only when measured on that device (none measured yet), and
#: unknown profiles fall back to the anatomical one.
GRIP_OFFSETS: dict[str, GripOffset] = {
    "/interaction_profiles/khr/simple_controller": ANATOMICAL_GRIP,
    "/interaction_profiles/oculus/touch_controller": ANATOMICAL_GRIP,
    "/interaction_profiles/meta/touch_controller_plus": ANATOMICAL_GRIP,
    "/interaction_profiles/valve/index_controller": ANATOMICAL_GRIP,
    "/interaction_profiles/htc/vive_controller": ANATOMICAL_GRIP,
    "/interaction_profiles/microsoft/motion_controller": ANATOMICAL_GRIP,
    "/interaction_profiles/ext/hand_interaction_ext": ANATOMICAL_GRIP,
}


def grip_offset(profile: str) -> GripOffset:
    """The hand-from-grip offset for an OpenXR interaction profile path; the anatomical default
    for a profile not listed."""
    return GRIP_OFFSETS.get(profile, ANATOMICAL_GRIP)


# --- fingers -------------------------------------------------------------------------------

#: Full-curl angles in degrees per segment (proximal, intermediate, distal); thumb separately.
#: Typical active ranges of motion (MCP ~90°, PIP ~100°, DIP ~80°, AAOS norms), trimmed so a
#: full squeeze reads as a firm grip rather than the anatomical maximum.
FINGER_CURL_DEG = (80.0, 95.0, 65.0)
THUMB_CURL_DEG = (20.0, 45.0, 60.0)


@dataclass(frozen=True)
class FingerCurls:
    """Curl 0 (straight) .. 1 (fully bent) per finger: thumb, index, middle, ring, little."""

    values: tuple[float, float, float, float, float]

    @staticmethod
    def from_controller(hand: HandInput) -> FingerCurls:
        """Holding a controller the fingers already wrap its handle; squeeze closes the
        middle, ring and little fingers, the trigger the index, a thumb button the thumb."""
        trigger = float(np.clip(hand.trigger, 0.0, 1.0))
        squeeze = float(np.clip(hand.squeeze, 0.0, 1.0))
        thumb_down = 1.0 if (hand.primary or hand.secondary or hand.thumbstick_click) else 0.0
        wrap = 0.45 + 0.55 * squeeze
        return FingerCurls((0.35 + 0.45 * thumb_down, 0.2 + 0.8 * trigger, wrap, wrap, wrap))

    @staticmethod
    def relaxed() -> FingerCurls:
        """A resting hand: each finger slightly curled (thumb first)."""
        return FingerCurls((0.2, 0.15, 0.2, 0.25, 0.3))


def _finger_axes(rest_offsets: FloatArray, first_finger_joint: int) -> FloatArray:
    """(5, 3) flexion axis per finger of one hand in its rest frame (the body frame): the
    finger bends towards the palm (down in the palm-down T-pose), the thumb across it."""
    palm_normal = np.array([0.0, -1.0, 0.0])  # palm down in the T-pose
    axes = np.zeros((5, 3))
    for f in range(5):
        base = first_finger_joint + 3 * f
        direction = rest_offsets[base + 1] / np.linalg.norm(rest_offsets[base + 1])
        if f == 0:
            # The thumb bends across the palm, towards the little finger and down.
            toward = palm_normal + np.array([0.0, 0.0, 0.6])
        else:
            toward = palm_normal
        axis = np.cross(direction, toward)
        axes[f] = axis / np.linalg.norm(axis)
    return axes


#: Conjugation by the local X flip, elementwise: S R S for S = diag(-1, 1, 1).
_MIRROR_SIGNS = np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]])


class FingerModel:
    """Turns curls or tracked joints into (15, 3, 3) local rotation matrices of the finger
    joints of one side (thumb, index, middle, ring, little; three segments each, skeleton
    order), each relative to its parent joint frame."""

    def __init__(self, rest_offsets: FloatArray, first_finger_joint: dict[Side, int]) -> None:
        self._cross: dict[Side, FloatArray] = {}
        self._cross_sq: dict[Side, FloatArray] = {}
        for side in (Side.LEFT, Side.RIGHT):
            axes = np.repeat(_finger_axes(rest_offsets, first_finger_joint[side]), 3, axis=0)
            cross = np.zeros((15, 3, 3))
            cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -axes[:, 2], axes[:, 1], -axes[:, 0]
            cross -= cross.transpose(0, 2, 1)
            self._cross[side], self._cross_sq[side] = cross, cross @ cross
        self._angles = np.radians(np.array([THUMB_CURL_DEG] + [FINGER_CURL_DEG] * 4))  # (5, 3)
        self._cache: dict[tuple[Side, tuple[int, ...]], FloatArray] = {}

    def from_curls(self, side: Side, curls: FingerCurls) -> FloatArray:
        """Rodrigues' formula per joint, ``I + sin(a) K + (1 - cos(a)) K²``, batched. Curls are
        taken to 1/200 (0.4° of a knuckle: invisible) and the poses reused from a small cache,
        since controllers rest at a few values (released, fully pressed) most of the time."""
        key = (side, tuple(round(v * 200) for v in curls.values))
        cached = self._cache.get(key)
        if cached is None:
            values = np.array(key[1], dtype=np.float64) / 200.0
            angles = (self._angles * values[:, None]).reshape(15, 1, 1)
            cached = np.eye(3) + np.sin(angles) * self._cross[side] + (1.0 - np.cos(angles)) * self._cross_sq[side]
            cached.flags.writeable = False  # shared between frames
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    @staticmethod
    def mirrored(local: FloatArray) -> FloatArray:
        """The same finger pose for the other hand (see ``mirror_local_quaternions``)."""
        mirrored: FloatArray = local * _MIRROR_SIGNS
        return mirrored


# --- XR_EXT_hand_tracking --------------------------------------------------------------------

#: XR_EXT_hand_tracking joint indices, wrist and the three joints our skeleton keeps per finger.
XR_WRIST = 1
XR_FINGER_JOINTS = (
    (2, 3, 4),  # thumb metacarpal, proximal, distal
    (7, 8, 9),  # index proximal, intermediate, distal
    (12, 13, 14),
    (17, 18, 19),
    (22, 23, 24),
)
XR_FINGER_TIPS = (5, 10, 15, 20, 25)
assert HAND_JOINT_COUNT == 26

# An XR hand joint frame has -Z towards the fingertip and +Y out of the back of the hand;
# our wrist/finger frames have the finger along +X (right) / -X (left) and +Y dorsal.
_SKELETON_FROM_XR_JOINT = {
    Side.RIGHT: quat_from_matrix(np.stack([[0, 0, -1.0], [0, 1.0, 0], [1.0, 0, 0]], axis=1)),
    Side.LEFT: quat_from_matrix(np.stack([[0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]], axis=1)),
}
_WRIST_FROM_XR = {side: np.concatenate([np.zeros(3), q]) for side, q in _SKELETON_FROM_XR_JOINT.items()}


_NEEDED_JOINTS = np.array([XR_WRIST] + [j for finger in XR_FINGER_JOINTS for j in finger])


def tracked_joints_usable(hand: HandInput) -> bool:
    """True when the wrist and every finger joint the skeleton reads are tracked."""
    if hand.joints is None or hand.joints_valid is None:
        return False
    return bool(np.asarray(hand.joints_valid)[_NEEDED_JOINTS].all())


def wrist_from_tracked(hand: HandInput, side: Side) -> FloatArray:
    """(7,) the skeleton's wrist pose (world) from a tracked hand's wrist joint."""
    assert hand.joints is not None
    wrist = np.asarray(hand.joints[XR_WRIST], dtype=np.float64)
    return compose_pose7(np.concatenate([wrist[:3], wrist[3:] / np.linalg.norm(wrist[3:])]),
                   _WRIST_FROM_XR[side])  # fmt: skip


#: For the 15 finger joints (skeleton order), the XR joint each one reads and its parent's.
_XR_CHILDREN = np.array([j for chain in XR_FINGER_JOINTS for j in chain])
_XR_PARENTS = np.array([p for chain in XR_FINGER_JOINTS for p in (XR_WRIST, chain[0], chain[1])])
_SKELETON_FROM_XR_MATRIX = {side: quat_to_matrix(q) for side, q in _SKELETON_FROM_XR_JOINT.items()}


_XR_USED = np.array([XR_WRIST] + [j for chain in XR_FINGER_JOINTS for j in chain])
#: Positions in the _XR_USED list of each finger joint and of its parent.
_USED_CHILDREN = np.searchsorted(_XR_USED, _XR_CHILDREN)
_USED_PARENTS = np.searchsorted(_XR_USED, _XR_PARENTS)
_DIAGONAL = (np.arange(3), np.arange(3))


def finger_locals_from_tracked(hand: HandInput, side: Side) -> FloatArray:
    """(15, 3, 3) finger joint rotations relative to their parents from tracked joint
    orientations, batched (positions are ignored: the avatar keeps its own bone lengths)."""
    assert hand.joints is not None
    joints = np.asarray(hand.joints, dtype=np.float64)
    # Each joint's frame in the skeleton's convention: world_from_xr @ xr_from_skeleton.
    q = joints[_XR_USED, 3:]
    q = q / np.sqrt((q * q).sum(axis=1))[:, None]  # tracked orientations, normalised here
    frames = quat_to_matrix(q) @ _SKELETON_FROM_XR_MATRIX[side]
    return frames[_USED_PARENTS].transpose(0, 2, 1) @ frames[_USED_CHILDREN]
