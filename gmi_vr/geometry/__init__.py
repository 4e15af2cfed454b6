"""Pose, quaternion and 4x4 transform math, vectorised over leading axes; the mirror plane
(``reflect``) and the camera a view is drawn with (``camera``).

Matrix convention: column vectors, ``p' = M @ p``; a 4x4 ``a_from_b`` maps points in frame
``b`` to frame ``a``, so ``a_from_c = a_from_b @ b_from_c``. numpy stores matrices
row-major, so upload them to GL with ``transpose=GL_TRUE`` (or pass ``M.T``'s bytes).
Quaternions are ``(x, y, z, w)`` as in OpenXR.
"""

from gmi_vr.geometry.transforms import (
    compose_pose7,
    invert_pose7,
    matrix_from_pose,
    pose_from_matrix,
    pose_inverse,
    pose_multiply,
    quat_conjugate,
    quat_from_axis_angle,
    quat_from_matrix,
    quat_mean,
    quat_multiply,
    quat_normalize,
    quat_rotate,
    quat_slerp,
    quat_to_matrix,
    rotation_angle_between,
    rotation_blend,
    rotation_from_axis_angle,
    translation_matrix,
    yaw_of,
    yaw_pitch_roll_quat,
    yaw_rotation,
)

__all__ = [
    "compose_pose7",
    "invert_pose7",
    "matrix_from_pose",
    "pose_from_matrix",
    "pose_inverse",
    "pose_multiply",
    "quat_conjugate",
    "quat_from_axis_angle",
    "quat_from_matrix",
    "quat_mean",
    "quat_multiply",
    "quat_normalize",
    "quat_rotate",
    "quat_slerp",
    "quat_to_matrix",
    "rotation_angle_between",
    "rotation_blend",
    "rotation_from_axis_angle",
    "translation_matrix",
    "yaw_of",
    "yaw_pitch_roll_quat",
    "yaw_rotation",
]
