"""The humanoid skeleton: VRM 1.0 humanoid bone names, parents, and rest offsets from measures.

Joint frame convention (used by ``BodyPose.world_from_joint``, the rig and the avatars): in
the rest pose (a T-pose, palms down, facing the body's forward -Z) every joint frame has the
body frame's orientation — +X to the patient's right, +Y up, +Z backwards. A solved joint's
rotation is therefore the bone's *global* rotation away from the T-pose. Left and right bones
relate by the mirror convention of ``gmi_vr.geometry.reflect`` (reflect, then flip local X),
so the reflection of a left-arm frame is a right-arm frame with the same meaning.

Default proportions are fractions of standing height H from Drillis & Contini (1966), as
tabulated in D. A. Winter, *Biomechanics and Motor Control of Human Movement* (segment
lengths: upper arm 0.186 H, forearm 0.146 H, hand 0.108 H, thigh 0.245 H, shank 0.246 H;
heights: shoulder 0.818 H, hip 0.530 H, chin 0.870 H, eye 0.936 H, ankle 0.039 H;
widths: shoulders 0.259 H, hips 0.191 H; foot length 0.152 H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gmi_vr.core.types import FloatArray, Side

FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
#: VRM 1.0 finger segment names (the thumb has a metacarpal instead of an intermediate).
FINGER_SEGMENTS = {
    "Thumb": ("Metacarpal", "Proximal", "Distal"),
    "Index": ("Proximal", "Intermediate", "Distal"),
    "Middle": ("Proximal", "Intermediate", "Distal"),
    "Ring": ("Proximal", "Intermediate", "Distal"),
    "Little": ("Proximal", "Intermediate", "Distal"),
}


def _side_prefix(side: Side) -> str:
    return "left" if side is Side.LEFT else "right"


def _build_bones() -> tuple[tuple[str, str | None], ...]:
    bones: list[tuple[str, str | None]] = [
        ("hips", None),
        ("spine", "hips"),
        ("chest", "spine"),
        ("upperChest", "chest"),
        ("neck", "upperChest"),
        ("head", "neck"),
    ]
    for side in (Side.LEFT, Side.RIGHT):
        p = _side_prefix(side)
        bones += [
            (f"{p}Shoulder", "upperChest"),
            (f"{p}UpperArm", f"{p}Shoulder"),
            (f"{p}LowerArm", f"{p}UpperArm"),
            (f"{p}Hand", f"{p}LowerArm"),
        ]
        for finger in FINGERS:
            parent = f"{p}Hand"
            for segment in FINGER_SEGMENTS[finger]:
                name = f"{p}{finger}{segment}"
                bones.append((name, parent))
                parent = name
    for side in (Side.LEFT, Side.RIGHT):
        p = _side_prefix(side)
        bones += [
            (f"{p}UpperLeg", "hips"),
            (f"{p}LowerLeg", f"{p}UpperLeg"),
            (f"{p}Foot", f"{p}LowerLeg"),
            (f"{p}Toes", f"{p}Foot"),
        ]
    return tuple(bones)


BONES = _build_bones()
#: All joint names in solve order (every parent before its children).
JOINT_NAMES: tuple[str, ...] = tuple(name for name, _ in BONES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}
#: (n,) int parent index per joint, -1 for the root (hips).
PARENTS = np.array([-1 if p is None else JOINT_INDEX[p] for _, p in BONES], dtype=np.int64)

#: Bones VRM 1.0 requires of every humanoid; an avatar missing one is refused.
REQUIRED_BONES: tuple[str, ...] = (
    "hips", "spine", "head",
    "leftUpperArm", "leftLowerArm", "leftHand", "rightUpperArm", "rightLowerArm", "rightHand",
    "leftUpperLeg", "leftLowerLeg", "leftFoot", "rightUpperLeg", "rightLowerLeg", "rightFoot",
)  # fmt: skip


def joint(name: str) -> int:
    """Index of the humanoid joint ``name`` (e.g. "leftUpperArm") in ``JOINT_NAMES``."""
    return JOINT_INDEX[name]


def side_joint(side: Side, bone: str) -> int:
    """Index of e.g. ``side_joint(Side.LEFT, "UpperArm")`` -> leftUpperArm."""
    return JOINT_INDEX[f"{_side_prefix(side)}{bone}"]


def limb_joints(side: Side, limb: str) -> tuple[int, ...]:
    """Joint indices of one arm ("arm": upper arm to fingertips) or leg ("leg": thigh to toes),
    proximal first."""
    p = _side_prefix(side)
    if limb == "arm":
        return tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith(p) and _is_arm(n[len(p):]))
    if limb == "leg":
        return tuple(
            JOINT_INDEX[f"{p}{b}"] for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")
        )
    raise ValueError(f"unknown limb {limb!r}")


def _is_arm(bone: str) -> bool:
    return bone in ("UpperArm", "LowerArm", "Hand") or any(bone.startswith(f) for f in FINGERS)


@dataclass(frozen=True)
class BodyMeasures:
    """A body's proportions in metres: what calibration measures and avatars are built from.

    ``shoulder_width_m`` is the distance between the two shoulder joint centres
    (upperArm joints); ``arm_length_m`` runs from the shoulder joint to the wrist (hand joint).
    """

    height_m: float = 1.70
    shoulder_width_m: float = 0.259 * 1.70
    arm_length_m: float = (0.186 + 0.146) * 1.70
    hip_width_m: float = 0.191 * 1.70
    hand_length_m: float = 0.108 * 1.70

    @staticmethod
    def from_height(height_m: float) -> BodyMeasures:
        """Average proportions for a standing height (Drillis & Contini, see module doc)."""
        h = float(height_m)
        return BodyMeasures(h, 0.259 * h, 0.332 * h, 0.191 * h, 0.108 * h)


def rest_offsets(m: BodyMeasures) -> FloatArray:
    """(n, 3) each joint's position relative to its parent in the rest T-pose, body frame, metres.

    The root (hips) offset is its position above the floor point between the feet.
    """
    h = m.height_m
    upper_arm = m.arm_length_m * 0.186 / 0.332  # the Drillis-Contini split of the arm
    forearm = m.arm_length_m - upper_arm
    half_shoulders = m.shoulder_width_m / 2
    half_hips = m.hip_width_m / 2
    hand = m.hand_length_m
    thigh, shank, ankle = 0.245 * h, 0.246 * h, 0.039 * h
    hip_height = 0.530 * h
    # Leg: hip joint sits a little below the pelvis centre; thigh + shank + ankle height add up
    # to the hip joint height.
    hip_drop = hip_height - (thigh + shank + ankle)
    positions: dict[str, tuple[float, float, float]] = {
        "hips": (0.0, hip_height - hip_drop, 0.0),
        "spine": (0.0, 0.060 * h, 0.0),
        "chest": (0.0, 0.080 * h, 0.0),
        "upperChest": (0.0, 0.080 * h, 0.0),
    }
    used_to_upper_chest = hip_height - hip_drop + 0.220 * h
    positions["neck"] = (0.0, 0.818 * h - used_to_upper_chest + 0.012 * h, 0.0)
    positions["head"] = (0.0, 0.870 * h - 0.830 * h, 0.0)
    shoulder_y = 0.818 * h - used_to_upper_chest - 0.012 * h
    for side, sign in ((Side.LEFT, -1.0), (Side.RIGHT, 1.0)):
        p = _side_prefix(side)
        clavicle = min(0.025 * h, half_shoulders * 0.3)
        positions[f"{p}Shoulder"] = (sign * clavicle, shoulder_y, 0.0)
        positions[f"{p}UpperArm"] = (sign * (half_shoulders - clavicle), 0.012 * h, 0.0)
        positions[f"{p}LowerArm"] = (sign * upper_arm, 0.0, 0.0)
        positions[f"{p}Hand"] = (sign * forearm, 0.0, 0.0)
        # Fingers in the flat hand, palm down; the thumb on the front (-Z) side.
        palm = 0.46 * hand
        finger_z = {"Index": -0.30, "Middle": -0.10, "Ring": 0.10, "Little": 0.28}
        finger_len = {"Index": 0.50, "Middle": 0.54, "Ring": 0.50, "Little": 0.40}
        for finger in ("Index", "Middle", "Ring", "Little"):
            length = finger_len[finger] * hand
            base_x = palm * (0.93 if finger in ("Index", "Little") else 1.0)
            positions[f"{p}{finger}Proximal"] = (sign * base_x, 0.0, finger_z[finger] * hand * 0.55)
            positions[f"{p}{finger}Intermediate"] = (sign * 0.45 * length, 0.0, 0.0)
            positions[f"{p}{finger}Distal"] = (sign * 0.30 * length, 0.0, 0.0)
        positions[f"{p}ThumbMetacarpal"] = (sign * 0.10 * hand, -0.02 * hand, -0.20 * hand)
        positions[f"{p}ThumbProximal"] = (sign * 0.20 * hand, 0.0, -0.12 * hand)
        positions[f"{p}ThumbDistal"] = (sign * 0.20 * hand, 0.0, -0.02 * hand)
        positions[f"{p}UpperLeg"] = (sign * half_hips, -hip_drop, 0.0)
        positions[f"{p}LowerLeg"] = (0.0, -thigh, 0.0)
        positions[f"{p}Foot"] = (0.0, -shank, 0.0)
        positions[f"{p}Toes"] = (0.0, -ankle * 0.8, -0.110 * h)
    return np.array([positions[name] for name in JOINT_NAMES], dtype=np.float64)


#: For each joint, the joint whose position defines its bone direction (first child on the
#: limb chain); -1 for leaves. Used for shortening limbs along their bones.
def _bone_child() -> NDArray[np.int64]:
    child = np.full(len(JOINT_NAMES), -1, dtype=np.int64)
    preferred = {"hips": "spine", "upperChest": "neck"}
    for i, name in enumerate(JOINT_NAMES):
        if name in preferred:
            child[i] = JOINT_INDEX[preferred[name]]
            continue
        if name.endswith("Hand"):
            child[i] = JOINT_INDEX[name.replace("Hand", "MiddleProximal")]
            continue
        kids = np.nonzero(PARENTS == i)[0]
        if len(kids):
            child[i] = kids[0]
    return child


BONE_CHILD = _bone_child()


def rest_positions(offsets: FloatArray) -> FloatArray:
    """(n, 3) joint positions in the rest pose (body frame) from (n, 3) parent offsets."""
    positions = np.zeros_like(offsets)
    for i, parent in enumerate(PARENTS):
        positions[i] = offsets[i] if parent < 0 else positions[parent] + offsets[i]
    return positions
