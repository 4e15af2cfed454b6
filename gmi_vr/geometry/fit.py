"""Rigid registration of matched points and the distance from a point to a capsule.

``rigid_fit`` finds the rotation and translation that carry one set of points onto matched
points with the least squared error (the Kabsch / Horn solution through a singular value
decomposition, the sign fixed so the result is a proper rotation, never a reflection). It
places a virtual limb where landmarks touched on the real one lie (``therapy.tasks.seen_touch``).
Metres throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray


@dataclass(frozen=True)
class RigidFit:
    """The best rigid transform ``target_from_source`` (4x4) and how well it fits: the root
    mean square of the distances between the moved source points and their targets (metres)
    and each point's own distance ((N,) metres)."""

    target_from_source: FloatArray
    rms_m: float
    residuals_m: FloatArray


def rigid_fit(source: FloatArray, target: FloatArray) -> RigidFit:
    """The proper rigid transform (rotation and translation, no scale) that moves the (N, 3)
    ``source`` points onto the matched (N, 3) ``target`` points with the least sum of
    squared distances; N >= 3 points not all on one line determine it uniquely."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3 or src.shape[0] < 3:
        raise ValueError("rigid_fit needs two matched (N, 3) point sets, N >= 3")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    covariance = (src - src_mean).T @ (dst - dst_mean)  # (3, 3): sum of source x target^T
    u, _, vt = np.linalg.svd(covariance)
    # A reflection fits a mirrored point set better; flip the weakest axis to stay proper.
    sign = 1.0 if np.linalg.det(vt.T @ u.T) >= 0 else -1.0
    rotation = vt.T @ np.diag([1.0, 1.0, sign]) @ u.T
    translation = dst_mean - rotation @ src_mean
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    residuals = np.linalg.norm(src @ rotation.T + translation - dst, axis=1)
    return RigidFit(matrix, float(np.sqrt(np.mean(residuals**2))), residuals)


def closest_on_segment(point: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """The (3,) point of the segment from ``a`` to ``b`` nearest to ``point``."""
    along = b - a
    length2 = float(along @ along)
    t = 0.0 if length2 < 1e-12 else min(1.0, max(0.0, float((point - a) @ along) / length2))
    return np.asarray(a + t * along, dtype=np.float64)


def capsule_gap(point: FloatArray, a: FloatArray, b: FloatArray, radius_m: float) -> tuple[float, FloatArray]:
    """How far ``point`` lies outside the capsule of ``radius_m`` around the segment
    ``a``-``b`` (negative inside), metres, and the (3,) capsule surface point nearest it."""
    axis_point = closest_on_segment(point, a, b)
    offset = point - axis_point
    distance = float(np.linalg.norm(offset))
    direction = offset / distance if distance > 1e-9 else np.array([0.0, 1.0, 0.0])
    return distance - radius_m, np.asarray(axis_point + radius_m * direction, dtype=np.float64)
