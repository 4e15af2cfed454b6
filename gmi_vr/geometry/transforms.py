"""Quaternion and rigid-transform math. Arrays: quaternions (..., 4) xyzw, vectors (..., 3),
matrices (..., 4, 4) column-vector convention (see package docstring); angles in radians
unless a name says degrees.

Functions used once per joint per frame (the body solve) take a fast path for a single
quaternion or matrix: plain float arithmetic, the same formula as their vectorised path,
because numpy's per-call cost on (4,) arrays is most of the frame's body budget.
"""

from __future__ import annotations

import math

import numpy as np

from gmi_vr.core.types import FloatArray, Pose

_DIAGONAL = np.arange(3)


def quat_normalize(q: FloatArray) -> FloatArray:
    """(..., 4) quaternions scaled to unit length; returns (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    unit: FloatArray = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return unit


def quat_conjugate(q: FloatArray) -> FloatArray:
    """(..., 4) xyzw -> (..., 4) conjugates (the inverse rotation of a unit quaternion)."""
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([-q[..., :3], q[..., 3:]], axis=-1)


def quat_multiply(a: FloatArray, b: FloatArray) -> FloatArray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``) of (..., 4) xyzw
    quaternions (broadcast); returns (..., 4)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape == (4,) and b.shape == (4,):
        ax, ay, az, aw = a.tolist()
        bx, by, bz, bw = b.tolist()
        return np.array([
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ])  # fmt: skip
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
    if q.shape == (4,) and v.shape == (3,):
        # One vector by one quaternion, several times per frame: scalar arithmetic, as
        # numpy's cross would spend ten times as long on call overhead.
        qx, qy, qz, qw = q.tolist()
        vx, vy, vz = v.tolist()
        tx, ty, tz = 2.0 * (qy * vz - qz * vy), 2.0 * (qz * vx - qx * vz), 2.0 * (qx * vy - qy * vx)
        return np.array([vx + qw * tx + (qy * tz - qz * ty),
                         vy + qw * ty + (qz * tx - qx * tz),
                         vz + qw * tz + (qx * ty - qy * tx)])  # fmt: skip
    u = q[..., :3]
    w = q[..., 3:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_from_axis_angle(axis: FloatArray, angle_rad: float | FloatArray) -> FloatArray:
    """(..., 4) unit quaternion xyzw of a right-handed turn by ``angle_rad`` (radians; a number or
    (...,)) about ``axis`` (..., 3), which is normalised here."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = np.asarray(angle_rad, dtype=np.float64)[..., None] * 0.5
    return np.concatenate([axis * np.sin(half), np.cos(half)], axis=-1)


def quat_to_matrix(q: FloatArray) -> FloatArray:
    """(..., 4) unit quaternions xyzw -> (..., 3, 3) rotation matrices (column vectors).

    A batch is computed as R = (w² - v·v) I + 2 v vᵀ + 2 w [v]×: few array operations, so
    numpy's per-call cost stays low for small batches (the 16 joints of a hand).
    """
    q = np.asarray(q, dtype=np.float64)
    if q.shape == (4,):
        x, y, z, w = q.tolist()
        return np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        )
    v, w = q[..., :3], q[..., 3]
    out: FloatArray = 2.0 * v[..., :, None] * v[..., None, :]
    out[..., _DIAGONAL, _DIAGONAL] += (w * w - (v * v).sum(axis=-1))[..., None]
    wv = 2.0 * w[..., None] * v
    out[..., 0, 1] -= wv[..., 2]
    out[..., 1, 0] += wv[..., 2]
    out[..., 0, 2] += wv[..., 1]
    out[..., 2, 0] -= wv[..., 1]
    out[..., 1, 2] -= wv[..., 0]
    out[..., 2, 1] += wv[..., 0]
    return out


def quat_from_matrix(m: FloatArray) -> FloatArray:
    """(..., 3+, 3+) proper rotation matrices (the upper 3x3 is read, so 4x4 transforms do)
    -> (..., 4) unit quaternions xyzw with w >= 0, by Shepperd's method.

    A single matrix takes the trace branch whenever the trace is positive; a batch takes,
    for each matrix, the branch with the largest pivot (the two agree to rounding).
    """
    m = np.asarray(m, dtype=np.float64)
    if m.ndim > 2:
        return _quats_from_matrices(m)
    m = m[:3, :3]
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


def _quats_from_matrices(m: FloatArray) -> FloatArray:
    """The batch path of ``quat_from_matrix``: each matrix uses the branch with the largest
    pivot, computed for all branches at once and chosen per matrix."""
    r = m[..., :3, :3]
    m00, m11, m22 = r[..., 0, 0], r[..., 1, 1], r[..., 2, 2]
    trace = m00 + m11 + m22
    pivots = np.stack([trace, m00, m11, m22], axis=-1)
    best = np.argmax(pivots, axis=-1)
    q = np.empty(r.shape[:-2] + (4,))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(np.maximum(1.0 + 2.0 * np.take_along_axis(pivots, best[..., None], -1)[..., 0] - trace, 1e-300)) * 2.0
        d21, d02, d10 = r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]
        s01, s02, s12 = r[..., 0, 1] + r[..., 1, 0], r[..., 0, 2] + r[..., 2, 0], r[..., 1, 2] + r[..., 2, 1]
        cases = [
            np.stack([d21 / s, d02 / s, d10 / s, 0.25 * s], -1),
            np.stack([0.25 * s, s01 / s, s02 / s, d21 / s], -1),
            np.stack([s01 / s, 0.25 * s, s12 / s, d02 / s], -1),
            np.stack([s02 / s, s12 / s, 0.25 * s, d10 / s], -1),
        ]
    for k, case in enumerate(cases):
        q[best == k] = case[best == k]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    unit: FloatArray = np.where(q[..., 3:4] < 0, -q, q)
    return unit


def quat_slerp(a: FloatArray, b: FloatArray, t: float | FloatArray) -> FloatArray:
    """Spherical linear interpolation from unit quaternion ``a`` (t = 0) to ``b`` (t = 1),
    the short way round: (..., 4) xyzw, ``t`` a number or (...,); returns (..., 4) unit
    quaternions. Nearly equal quaternions (cos of the half angle above 0.9995) are
    interpolated linearly and normalised, which is exact enough and never divides by ~0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape == (4,) and b.shape == (4,) and np.ndim(t) == 0:
        return _slerp_one(a, b, float(t))
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0.0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    near = dot > 0.9995
    sin_theta = np.where(near, 1.0, np.sin(theta))
    slerped = (np.sin((1.0 - t) * theta) / sin_theta) * a + (np.sin(t * theta) / sin_theta) * b
    lerped = a + t * (b - a)
    lerped = lerped / np.linalg.norm(lerped, axis=-1, keepdims=True)
    out: FloatArray = np.where(near, lerped, slerped)
    return out


def _slerp_one(a: FloatArray, b: FloatArray, t: float) -> FloatArray:
    dot = float(a @ b)
    if dot < 0.0:
        b, dot = -b, -dot
    if dot > 0.9995:
        q: FloatArray = a + t * (b - a)
        return q / np.linalg.norm(q)
    theta = math.acos(dot)
    s = math.sin(theta)
    out: FloatArray = (math.sin((1.0 - t) * theta) / s) * a + (math.sin(t * theta) / s) * b
    return out


def quat_mean(q: FloatArray) -> FloatArray:
    """The normalised mean of (n, 4) unit quaternions xyzw that lie close together (a held
    pose's samples), each first turned to the same hemisphere as the first; returns (4,)."""
    q = np.asarray(q, dtype=np.float64)
    aligned = q * np.sign(q @ q[0])[:, None]
    mean = aligned.mean(axis=0)
    unit: FloatArray = mean / np.linalg.norm(mean)
    return unit


def rotation_from_axis_angle(axis: FloatArray | tuple[float, float, float], angle_rad: float) -> FloatArray:
    """(3, 3) rotation by ``angle_rad`` about the unit vector ``axis`` (3,), right-handed
    (Rodrigues' formula, in plain float arithmetic)."""
    x, y, z = (float(v) for v in axis)
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    t = 1.0 - c
    return np.array(
        [
            [c + x * x * t, x * y * t - z * s, x * z * t + y * s],
            [y * x * t + z * s, c + y * y * t, y * z * t - x * s],
            [z * x * t - y * s, z * y * t + x * s, c + z * z * t],
        ]
    )


def rotation_blend(a: FloatArray, b: FloatArray, w: float) -> FloatArray:
    """The (3, 3) rotation a fraction ``w`` of the way from rotation ``a`` (3, 3) to ``b``
    along the shortest turn (about the axis of ``aᵀ b``): ``a`` at 0, ``b`` at 1."""
    relative = a.T @ b
    axis = np.array([relative[2, 1] - relative[1, 2], relative[0, 2] - relative[2, 0],
                     relative[1, 0] - relative[0, 1]])
    norm = float(np.linalg.norm(axis))  # 2 sin(angle)
    angle = float(np.arctan2(norm / 2, (np.trace(relative) - 1) / 2))  # precise at every angle
    if angle < 1e-12:
        return a
    if norm < 1e-9:  # half a turn: the axis is the symmetric part's dominant eigenvector
        axis = np.linalg.eigh(relative + np.eye(3))[1][:, -1]
    else:
        axis = axis / norm
    blended: FloatArray = a @ quat_to_matrix(quat_from_axis_angle(axis, angle * w))
    return blended


def yaw_rotation(yaw_rad: float) -> FloatArray:
    """(3, 3) rotation about +Y by ``yaw_rad``; forward (-Z) becomes (-sin yaw, 0, -cos yaw)."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def yaw_of(orientation: FloatArray) -> float:
    """Heading in radians about +Y of an xyzw orientation (4,): the angle ``yaw_rotation``
    takes forward (-Z) to where the orientation looks, projected on the floor."""
    look = quat_rotate(orientation, np.array([0.0, 0.0, -1.0]))
    return math.atan2(-look[0], -look[2])


def compose_pose7(a: FloatArray, b: FloatArray) -> FloatArray:
    """(7,) pose ``a_from_c`` (px, py, pz, qx, qy, qz, qw; metres) from (7,) ``a_from_b`` and ``b_from_c`` (scalar arithmetic: this runs
    several times per frame on single poses, where numpy's per-call cost would dominate)."""
    ax, ay, az, qx, qy, qz, qw = a.tolist()
    bx, by, bz, rx, ry, rz, rw = b.tolist()
    tx, ty, tz = 2.0 * (qy * bz - qz * by), 2.0 * (qz * bx - qx * bz), 2.0 * (qx * by - qy * bx)
    x = qw * rx + qx * rw + qy * rz - qz * ry
    y = qw * ry - qx * rz + qy * rw + qz * rx
    z = qw * rz + qx * ry - qy * rx + qz * rw
    w = qw * rw - qx * rx - qy * ry - qz * rz
    n = math.sqrt(x * x + y * y + z * z + w * w)
    return np.array([
        ax + bx + qw * tx + (qy * tz - qz * ty),
        ay + by + qw * ty + (qz * tx - qx * tz),
        az + bz + qw * tz + (qx * ty - qy * tx),
        x / n, y / n, z / n, w / n,
    ])  # fmt: skip


def invert_pose7(a: FloatArray) -> FloatArray:
    """(..., 7) poses ``a_from_b`` -> (..., 7) ``b_from_a`` (unit quaternions expected)."""
    inv = quat_conjugate(a[..., 3:])
    u = inv[..., :3]
    t = 2.0 * np.cross(u, a[..., :3])
    rotated = a[..., :3] + inv[..., 3:] * t + np.cross(u, t)
    out: FloatArray = np.concatenate([-rotated, inv], axis=-1)
    return out


def translation_matrix(t: FloatArray) -> FloatArray:
    """4x4 transform that moves points by ``t`` (3,) metres."""
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
    """The Pose of a 4x4 rigid ``parent_from_local`` transform (column-vector convention)."""
    m = np.asarray(m, dtype=np.float64)
    return Pose(m[:3, 3].copy(), quat_from_matrix(m[:3, :3]))


def pose_multiply(a: Pose, b: Pose) -> Pose:
    """``a_from_c`` from ``a_from_b`` (a) and ``b_from_c`` (b)."""
    return Pose(
        a.position + quat_rotate(a.orientation, b.position),
        quat_normalize(quat_multiply(a.orientation, b.orientation)),
    )


def pose_inverse(p: Pose) -> Pose:
    """``b_from_a`` of a Pose ``a_from_b`` (unit orientation expected)."""
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
