"""Fit an avatar's skin to the solved body and produce its bone palette each frame.

The body solve gives ``world_from_joint`` for the patient's proportions, with every joint
frame aligned to the body in the T-pose (``gmi_vr.body.skeleton``). An avatar has its own
proportions and its own bind frames. For each avatar joint mapped to a humanoid bone the rig
precomputes ``K = A @ canonical_from_bind`` once:

* ``canonical_from_bind`` moves the avatar's bind-pose joint to the origin and turns the
  avatar's facing (+Z for glTF/VRM 1.0, -Z for VRM 0.x; detected from which side the left arm
  is on) into the body frame;
* ``A`` (3x3) stretches the avatar's bones onto the patient's: the linear map taking the
  joint's child offsets in the avatar to the same offsets in the patient's skeleton (least
  squares, pulled towards a uniform scale where the children do not constrain it). Joint
  positions of the avatar then land exactly on the solved joints for avatars built like ours,
  and closely for others.

Per frame the palette is one batched product ``world_from_joint[map] @ K`` (n, 4, 4). Skin
joints without a humanoid name (hair, twist bones) follow their nearest humanoid ancestor.
Avatars must be bound in a T-pose (VRM's rule too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from gmi_vr.body.skeleton import (
    JOINT_INDEX,
    JOINT_NAMES,
    PARENTS,
    BodyMeasures,
    rest_offsets,
    rest_positions,
)
from gmi_vr.core.errors import InputFileError
from gmi_vr.core.types import FloatArray

_FLIP_FACING = np.diag([-1.0, 1.0, -1.0])
#: Weight of the pull towards a uniform scale, in m²: tiny next to a bone's squared length
#: (>= 1e-4 m² for a finger segment), so constrained directions fit almost exactly.
_REGULARISE_M2 = 1e-6


class SkinSkeleton(Protocol):
    """What the rig needs from a loaded skin (``gmi_vr.assets.gltf_skin.SkinnedMeshData``)."""

    @property
    def joint_humanoid(self) -> Sequence[str | None]:
        """(n,) humanoid bone name of each skin joint, or None."""

    @property
    def joint_parents(self) -> NDArray[np.int64]:
        """(n,) index of each skin joint's parent skin joint, -1 at the top."""

    @property
    def inverse_bind_matrices(self) -> FloatArray:
        """(n, 4, 4) ``joint_from_model`` at bind time."""


class AvatarRig:
    """Maps one avatar's skin joints onto the body's joints for one patient's measures."""

    def __init__(self, skin: SkinSkeleton, measures: BodyMeasures) -> None:
        n_skin = len(skin.joint_humanoid)
        bind = np.linalg.inv(np.asarray(skin.inverse_bind_matrices, dtype=np.float64))
        bind_positions = bind[:, :3, 3]
        by_bone = {bone: k for k, bone in enumerate(skin.joint_humanoid) if bone in JOINT_INDEX}
        for bone in ("hips", "leftUpperArm", "rightUpperArm", "head"):
            if bone not in by_bone:
                raise InputFileError(f"The avatar's skin has no {bone} joint; it cannot follow the body.")
        left, right = bind_positions[by_bone["leftUpperArm"]], bind_positions[by_bone["rightUpperArm"]]
        model_from_body = _FLIP_FACING if left[0] > right[0] else np.eye(3)
        # Avatar joint positions in the body frame, per humanoid bone present.
        avatar = {bone: model_from_body.T @ bind_positions[k] for bone, k in by_bone.items()}
        patient = rest_positions(rest_offsets(measures))
        uniform = _height(patient) / max(_height_of(avatar), 1e-6)
        stretch: dict[str, FloatArray] = {}
        for bone in JOINT_NAMES:  # parents first
            if bone not in avatar:
                continue
            children = _present_children(bone, avatar)
            if children:
                a = np.stack([avatar[c] - avatar[bone] for c in children], axis=1)
                b = np.stack([patient[JOINT_INDEX[c]] - patient[JOINT_INDEX[bone]] for c in children], axis=1)
                stretch[bone] = (b @ a.T + _REGULARISE_M2 * uniform * np.eye(3)) @ np.linalg.inv(
                    a @ a.T + _REGULARISE_M2 * np.eye(3)
                )
            else:
                parent = _present_ancestor(bone, avatar)
                stretch[bone] = stretch[parent] if (parent and bone != "head") else uniform * np.eye(3)
        self.body_joint = np.zeros(n_skin, dtype=np.int64)
        self.palette_from_world = np.zeros((n_skin, 4, 4))
        for k in range(n_skin):
            bone = _humanoid_ancestor(k, skin, by_bone)
            canonical_from_model = np.eye(4)
            canonical_from_model[:3, :3] = model_from_body.T
            canonical_from_model[:3, 3] = -avatar[bone]
            a4 = np.eye(4)
            a4[:3, :3] = stretch[bone]
            self.body_joint[k] = JOINT_INDEX[bone]
            self.palette_from_world[k] = a4 @ canonical_from_model
        self.joint_count = n_skin
        #: Skin joints that move with the head (the head and e.g. hair, eyes, jaw).
        self.head_joints = np.nonzero(self.body_joint == JOINT_INDEX["head"])[0]

    def palette(self, world_from_joint: FloatArray, first_person: bool = False) -> FloatArray:
        """(n_skin, 4, 4) skinning matrices ``world_from_bind_model`` for ``SkinnedItem``,
        from a ``BodyPose.world_from_joint`` (n_body, 4, 4).

        ``first_person``: collapse the head onto the top of the neck, for the patient's own
        eyes (the cameras sit inside the head; its nose would hang in the view)."""
        palette: FloatArray = np.matmul(world_from_joint[self.body_joint], self.palette_from_world)
        return self.first_person(palette, world_from_joint, copy=False) if first_person else palette

    def first_person(self, palette: FloatArray, world_from_joint: FloatArray, copy: bool = True) -> FloatArray:
        """The first-person version of ``palette`` (n_skin, 4, 4), made by ``palette`` from the
        same ``world_from_joint``: the head collapsed onto the top of the neck; a copy unless
        ``copy`` is False (cheaper than a second ``palette`` where both are drawn)."""
        out = palette.copy() if copy else palette
        out[self.head_joints, :3, :3] = 0.0
        out[self.head_joints, :3, 3] = world_from_joint[JOINT_INDEX["head"], :3, 3]
        return out


def _height(positions: FloatArray) -> float:
    return float(positions[JOINT_INDEX["head"], 1] - min(positions[JOINT_INDEX["leftFoot"], 1], 0.0))


def _height_of(avatar: dict[str, FloatArray]) -> float:
    feet = [avatar[b][1] for b in ("leftFoot", "rightFoot") if b in avatar]
    return float(avatar["head"][1] - (min(feet) if feet else avatar["hips"][1] * 0.0))


def _present_children(bone: str, avatar: dict[str, FloatArray]) -> list[str]:
    """Nearest descendants of ``bone`` (in the humanoid hierarchy) that the avatar has."""
    found: list[str] = []
    stack = [JOINT_NAMES[c] for c in np.nonzero(PARENTS == JOINT_INDEX[bone])[0]]
    while stack:
        name = stack.pop(0)
        if name in avatar:
            found.append(name)
        else:
            stack += [JOINT_NAMES[c] for c in np.nonzero(PARENTS == JOINT_INDEX[name])[0]]
    return found


def _present_ancestor(bone: str, avatar: dict[str, FloatArray]) -> str | None:
    parent = int(PARENTS[JOINT_INDEX[bone]])
    while parent >= 0:
        if JOINT_NAMES[parent] in avatar:
            return JOINT_NAMES[parent]
        parent = int(PARENTS[parent])
    return None


def _humanoid_ancestor(k: int, skin: SkinSkeleton, by_bone: dict[str, int]) -> str:
    joint = k
    while joint >= 0:
        bone = skin.joint_humanoid[joint]
        if bone in by_bone:
            return str(bone)
        joint = int(skin.joint_parents[joint])
    return "hips"  # joints above the hips (an armature root) move with the pelvis
