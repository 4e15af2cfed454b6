"""Analytic two-bone inverse kinematics (arm: shoulder-elbow-wrist; leg: hip-knee-ankle).

The middle joint always bends to the side the pole vector points to, by an angle in
[0, pi): a joint never hyperextends or bends backwards. Unreachable targets are clamped
onto the reachable shell (straight limb towards the target, or fully folded), never NaN.
Written with scalar math: it runs a few times per frame on 3-vectors, where numpy's per-call
overhead would dominate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray

#: Fraction of full extension the solver stops short of, so a straight limb keeps a defined
#: bend plane (2e-4 of the limb length: 0.1 mm on a 0.56 m arm, well inside the 1 mm goal).
STRAIGHT_MARGIN = 2e-4


@dataclass(frozen=True)
class TwoBoneSolution:
    """Joint positions (3,) metres and the unit hinge axis (3,): the middle joint flexes by a
    positive rotation about ``hinge_axis`` taking the upper bone's direction towards the lower
    one's. ``reached``: the target was within reach (the end is on it)."""

    root: FloatArray
    middle: FloatArray
    end: FloatArray
    hinge_axis: FloatArray
    reached: bool


def _cross(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a: tuple[float, ...]) -> float:
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


def _perpendicular(u: tuple[float, ...]) -> tuple[float, float, float]:
    """A unit vector perpendicular to the non-zero vector ``u`` (any length)."""
    other = (1.0, 0.0, 0.0) if abs(u[0]) < 0.9 * _norm(u) else (0.0, 1.0, 0.0)
    c = _cross(u, other)
    n = _norm(c)
    return (c[0] / n, c[1] / n, c[2] / n)


def solve_two_bone(
    root: FloatArray, target: FloatArray, upper_m: float, lower_m: float, pole: FloatArray
) -> TwoBoneSolution:
    """Place the middle joint so the chain ``root -> middle -> end`` reaches ``target``.

    root, target: (3,) world points; ``pole`` (3,): the direction (not a point) the middle
    joint should point to, e.g. down and back for an elbow. Lengths in metres, both > 0.
    """
    r = (float(root[0]), float(root[1]), float(root[2]))
    d = (float(target[0]) - r[0], float(target[1]) - r[1], float(target[2]) - r[2])
    distance = _norm(d)
    if not math.isfinite(distance):
        raise ValueError("IK target must be finite")
    p = (float(pole[0]), float(pole[1]), float(pole[2]))
    longest = (upper_m + lower_m) * (1.0 - STRAIGHT_MARGIN)
    shortest = abs(upper_m - lower_m) + 1e-6
    reached = shortest <= distance <= longest
    if distance < 1e-9:
        u = _perpendicular(p) if _norm(p) > 1e-9 else (0.0, -1.0, 0.0)
    else:
        u = (d[0] / distance, d[1] / distance, d[2] / distance)
    clamped = min(max(distance, shortest), longest)
    along = p[0] * u[0] + p[1] * u[1] + p[2] * u[2]
    bend = (p[0] - along * u[0], p[1] - along * u[1], p[2] - along * u[2])
    bend_len = _norm(bend)
    if bend_len < 1e-6 * max(1.0, _norm(p)):
        bend = _perpendicular(u)
    else:
        bend = (bend[0] / bend_len, bend[1] / bend_len, bend[2] / bend_len)
    cos_root = (upper_m * upper_m + clamped * clamped - lower_m * lower_m) / (2.0 * upper_m * clamped)
    cos_root = min(1.0, max(-1.0, cos_root))
    sin_root = math.sqrt(1.0 - cos_root * cos_root)
    a, b = upper_m * cos_root, upper_m * sin_root
    middle = (r[0] + a * u[0] + b * bend[0], r[1] + a * u[1] + b * bend[1], r[2] + a * u[2] + b * bend[2])
    end = (r[0] + clamped * u[0], r[1] + clamped * u[1], r[2] + clamped * u[2])
    hinge = _cross(bend, u)  # unit: bend ⟂ u, both unit
    return TwoBoneSolution(
        np.array(r), np.array(middle), np.array(end), np.array(hinge), reached
    )


def frame_from_axes(bone_axis_local: FloatArray, bone_dir: FloatArray,
                    hinge_axis_local: FloatArray, hinge_dir: FloatArray) -> FloatArray:
    """(3, 3) rotation taking the local bone axis to ``bone_dir`` and the local hinge axis to
    ``hinge_dir`` (world unit vectors, perpendicular; the local axes are too)."""
    bl, hl = bone_axis_local.tolist(), hinge_axis_local.tolist()
    bw, hw = bone_dir.tolist(), hinge_dir.tolist()
    cl, cw = _cross(bl, hl), _cross(bw, hw)
    world = np.array([[bw[0], hw[0], cw[0]], [bw[1], hw[1], cw[1]], [bw[2], hw[2], cw[2]]])
    local_t = np.array([bl, hl, cl])
    rotation: FloatArray = world @ local_t
    return rotation
