"""Quaternion and rigid-transform math. Arrays: quaternions (..., 4) xyzw, vectors (..., 3),
matrices (..., 4, 4) column-vector convention (see package docstring)."""

from __future__ import annotations

import math

import numpy as np

from gmi_vr.core.types import FloatArray, Pose


def quat_normalize(q: FloatArray) -> FloatArray:
    q = np.asarray(q, dtype=np.float64)
    unit: FloatArray = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return unit


def quat_conjugate(q: FloatArray) -> FloatArray:
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([-q[..., :3], q[..., 3:]], axis=-1)


def quat_multiply(a: FloatArray, b: FloatArray) -> FloatArray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def quat_rotate(q: FloatArray, v: FloatArray) -> FloatArray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u = q[..., :3]
    w = q[..., 3:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_from_axis_angle(axis: FloatArray, angle_rad: float | FloatArray) -> FloatArray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = np.asarray(angle_rad, dtype=np.float64)[..., None] * 0.5
    return np.concatenate([axis * np.sin(half), np.cos(half)], axis=-1)


def quat_to_matrix(q: FloatArray) -> FloatArray:
    """(..., 4) unit quaternions -> (..., 3, 3) rotation matrices."""
    x, y, z, w = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def quat_from_matrix(m: FloatArray) -> FloatArray:
    """(3, 3) proper rotation matrix -> unit quaternion xyzw with w >= 0 (Shepperd's method)."""
    m = np.asarray(m, dtype=np.float64)[:3, :3]
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    quat = quat_normalize(np.array(q))
    return quat if quat[3] >= 0 else -quat


def translation_matrix(t: FloatArray) -> FloatArray:
    m = np.eye(4)
    m[:3, 3] = t
    return m


def matrix_from_pose(pose: Pose) -> FloatArray:
    """4x4 ``parent_from_local`` of a Pose."""
    m = np.eye(4)
    m[:3, :3] = quat_to_matrix(pose.orientation)
    m[:3, 3] = pose.position
    return m


def pose_from_matrix(m: FloatArray) -> Pose:
    m = np.asarray(m, dtype=np.float64)
    return Pose(m[:3, 3].copy(), quat_from_matrix(m[:3, :3]))


def pose_multiply(a: Pose, b: Pose) -> Pose:
    """``a_from_c`` from ``a_from_b`` (a) and ``b_from_c`` (b)."""
    return Pose(
        a.position + quat_rotate(a.orientation, b.position),
        quat_normalize(quat_multiply(a.orientation, b.orientation)),
    )


def pose_inverse(p: Pose) -> Pose:
    inv = quat_conjugate(p.orientation)
    return Pose(-quat_rotate(inv, p.position), inv)


def rotation_angle_between(a: FloatArray, b: FloatArray) -> FloatArray:
    """Angle in radians of the rotation taking unit quaternion ``a`` to ``b`` (sign-agnostic)."""
    d = np.abs(np.sum(np.asarray(a) * np.asarray(b), axis=-1))
    angle: FloatArray = 2.0 * np.arccos(np.clip(d, -1.0, 1.0))
    return angle


def yaw_pitch_roll_quat(yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0) -> FloatArray:
    """An xyzw orientation from angles in degrees, applied as yaw about +Y (positive turns
    left), then pitch about the yawed +X (positive looks up), then roll about the resulting
    forward axis (positive tilts the top to the left)."""
    yaw = quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), math.radians(yaw_deg))
    pitch = quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), math.radians(pitch_deg))
    roll = quat_from_axis_angle(np.array([0.0, 0.0, 1.0]), math.radians(roll_deg))
    return quat_normalize(quat_multiply(yaw, quat_multiply(pitch, roll)))
