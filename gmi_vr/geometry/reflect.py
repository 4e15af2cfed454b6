"""Reflection of points, poses and rigid frames across a plane (mirror therapy's core operation).

A plane reflection ``H = I - 2 n nᵀ`` has determinant -1, so applied to a rotation it gives an
improper matrix (a left-handed frame). The mirrored frame is made proper again by flipping its
local X axis (``S = diag(-1, 1, 1)``): ``R' = H R S``. That is exactly how OpenXR's left and
right grip frames relate: both have +X pointing to the patient's right in the neutral grip
(out of the back of the right hand, out of the palm of the left hand), so the reflection of a
right grip frame with local X flipped *is* a valid left grip frame, and vice versa.

``H R S`` is an involution (``H H = S S = I``), preserves distances and yields det +1.
In quaternions: ``H = -rot(n, pi)`` and ``S = -rot(x, pi)``, so ``q' = (n, 0) * q * (1, 0, 0, 0)``.

Shapes: points (..., 3); poses (..., 7) as px, py, pz, qx, qy, qz, qw; frames (..., 4, 4)
column-vector ``parent_from_local`` matrices. Everything is vectorised over leading axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gmi_vr.core.types import FloatArray, Pose
from gmi_vr.geometry.transforms import quat_multiply

#: Flip of a frame's local X axis, applied on the right of a reflected frame to keep it proper.
FLIP_LOCAL_X = np.diag([-1.0, 1.0, 1.0, 1.0])
_FLIP_X_QUAT = np.array([1.0, 0.0, 0.0, 0.0])  # rotation by pi about local X, xyzw


def _frozen(values: object) -> FloatArray:
    array = np.array(values, dtype=np.float64).reshape(3)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class Plane:
    """A plane through ``point`` (3,) metres with unit ``normal`` (3,); both in world space."""

    point: FloatArray = field(default_factory=lambda: _frozen((0.0, 0.0, 0.0)))
    normal: FloatArray = field(default_factory=lambda: _frozen((1.0, 0.0, 0.0)))

    def __post_init__(self) -> None:
        normal = np.asarray(self.normal, dtype=np.float64).reshape(3)
        length = float(np.linalg.norm(normal))
        if not np.isfinite(length) or length < 1e-9:
            raise ValueError("a plane needs a non-zero finite normal")
        object.__setattr__(self, "point", _frozen(self.point))
        object.__setattr__(self, "normal", _frozen(normal / length))

    def signed_distance(self, points: FloatArray) -> FloatArray:
        """(...,) metres on the side the normal points to (positive) or the other (negative)."""
        return (np.asarray(points, dtype=np.float64) - self.point) @ self.normal

    def matrix(self) -> FloatArray:
        """(4, 4) the improper reflection ``world_from_world`` (det -1)."""
        n = self.normal
        m = np.eye(4)
        m[:3, :3] -= 2.0 * np.outer(n, n)
        m[:3, 3] = 2.0 * float(self.point @ n) * n
        return m


def reflect_points(points: FloatArray, plane: Plane) -> FloatArray:
    """(..., 3) points mirrored across ``plane``."""
    points = np.asarray(points, dtype=np.float64)
    return points - 2.0 * plane.signed_distance(points)[..., None] * plane.normal


def reflect_vectors(vectors: FloatArray, plane: Plane) -> FloatArray:
    """(..., 3) free vectors (directions, displacements) mirrored: no translation part."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors - 2.0 * (vectors @ plane.normal)[..., None] * plane.normal


def reflect_quaternions(q: FloatArray, plane: Plane) -> FloatArray:
    """(..., 4) xyzw orientations mirrored with the local X flip (proper rotations out)."""
    q = np.asarray(q, dtype=np.float64)
    n_quat = np.concatenate([plane.normal, [0.0]])
    out = quat_multiply(quat_multiply(np.broadcast_to(n_quat, q.shape), q), _FLIP_X_QUAT)
    return out


def reflect_poses(poses: FloatArray, plane: Plane) -> FloatArray:
    """(..., 7) poses (px, py, pz, qx, qy, qz, qw) mirrored across ``plane``."""
    poses = np.asarray(poses, dtype=np.float64)
    return np.concatenate(
        [reflect_points(poses[..., :3], plane), reflect_quaternions(poses[..., 3:], plane)], axis=-1
    )


def reflect_pose(pose: Pose, plane: Plane) -> Pose:
    """One ``Pose`` mirrored across ``plane`` (a right grip becomes a valid left grip)."""
    return Pose.from_array(reflect_poses(pose.as_array(), plane))


def reflect_frames(frames: FloatArray, plane: Plane) -> FloatArray:
    """(..., 4, 4) ``world_from_local`` frames mirrored: ``H @ F @ FLIP_LOCAL_X``.

    A scale inside ``F`` (a shortened limb segment) is kept as it is.
    """
    return plane.matrix() @ np.asarray(frames, dtype=np.float64) @ FLIP_LOCAL_X


def mirror_local_quaternions(q: FloatArray) -> FloatArray:
    """(..., 4) a rotation between two frames of one side, expressed for the mirrored side.

    If both frames are mirrored, ``(H A S)ᵀ (H B S) = S (Aᵀ B) S``: conjugation by the X flip,
    which negates the quaternion's y and z. Used for finger curls and other joint-local angles.
    """
    q = np.array(q, dtype=np.float64)
    q[..., 1:3] *= -1.0
    return q


def reflect_pose7(pose: FloatArray, plane: Plane) -> FloatArray:
    """One (7,) pose mirrored, in scalar arithmetic: the same result as ``reflect_poses`` for a
    single pose at a fraction of numpy's per-call cost (used every frame by the body solve)."""
    px, py, pz, qx, qy, qz, qw = (float(v) for v in pose)
    nx, ny, nz = (float(v) for v in plane.normal)
    ox, oy, oz = (float(v) for v in plane.point)
    d2 = 2.0 * ((px - ox) * nx + (py - oy) * ny + (pz - oz) * nz)
    # r = (n, 0) * q, then r * (1, 0, 0, 0) = (r.w, r.z, -r.y, -r.x).
    rx = nx * qw + ny * qz - nz * qy
    ry = -nx * qz + ny * qw + nz * qx
    rz = nx * qy - ny * qx + nz * qw
    rw = -nx * qx - ny * qy - nz * qz
    return np.array([px - d2 * nx, py - d2 * ny, pz - d2 * nz, rw, rz, -ry, -rx])
