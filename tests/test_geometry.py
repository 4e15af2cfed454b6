"""Pose and quaternion math: the conventions everything else builds on."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gmi_vr.core.types import Pose
from gmi_vr.geometry import (
    matrix_from_pose,
    pose_from_matrix,
    pose_inverse,
    pose_multiply,
    quat_from_axis_angle,
    quat_rotate,
    rotation_angle_between,
)

finite = st.floats(-10, 10, allow_nan=False)
unit_quat = st.tuples(finite, finite, finite, finite).filter(
    lambda q: np.linalg.norm(q) > 1e-3
).map(lambda q: np.array(q) / np.linalg.norm(q))
poses = st.builds(lambda p, q: Pose(np.array(p), q), st.tuples(finite, finite, finite), unit_quat)


def test_quarter_turn_about_y_takes_forward_to_left():
    # OpenXR: +Y up, -Z forward; a +90 degree turn about +Y (counter-clockwise seen from above)
    # takes forward (-Z) to the left (-X).
    q = quat_from_axis_angle([0, 1, 0], np.pi / 2)
    np.testing.assert_allclose(quat_rotate(q, [0, 0, -1]), [-1, 0, 0], atol=1e-12)


@given(poses, poses)
def test_pose_multiply_matches_matrix_product(a, b):
    product = matrix_from_pose(pose_multiply(a, b))
    np.testing.assert_allclose(product, matrix_from_pose(a) @ matrix_from_pose(b), atol=1e-9)


@given(poses)
def test_pose_inverse_composes_to_identity(p):
    identity = pose_multiply(p, pose_inverse(p))
    np.testing.assert_allclose(identity.position, 0, atol=1e-9)
    assert rotation_angle_between(identity.orientation, [0, 0, 0, 1]) < 1e-6


@given(poses)
def test_matrix_round_trip(p):
    back = pose_from_matrix(matrix_from_pose(p))
    np.testing.assert_allclose(back.position, p.position, atol=1e-9)
    assert rotation_angle_between(back.orientation, p.orientation) < 1e-6
