"""Pose and quaternion math: the conventions everything else builds on."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmi_vr.core.types import Pose, ViewInfo
from gmi_vr.geometry import (
    compose_pose7,
    invert_pose7,
    matrix_from_pose,
    pose_from_matrix,
    pose_inverse,
    pose_multiply,
    quat_from_axis_angle,
    quat_from_matrix,
    quat_mean,
    quat_multiply,
    quat_rotate,
    quat_slerp,
    quat_to_matrix,
    rotation_angle_between,
    rotation_blend,
    rotation_from_axis_angle,
    yaw_of,
    yaw_rotation,
)
from gmi_vr.geometry.camera import Camera

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


# --- every rotation helper lives here once; each is checked against the others -------------

quat_batches = st.lists(unit_quat, min_size=1, max_size=8).map(np.array)
fractions = st.floats(0.0, 1.0, allow_nan=False)
unit_axes = st.tuples(finite, finite, finite).filter(lambda v: np.linalg.norm(v) > 1e-3).map(
    lambda v: np.array(v) / np.linalg.norm(v)
)
angles = st.floats(-np.pi, np.pi, allow_nan=False)


@given(quat_batches, quat_batches)
def test_quat_multiply_of_one_pair_is_the_batch_product(a, b):
    n = min(len(a), len(b))
    batch = quat_multiply(a[:n], b[:n])
    for k in range(n):
        np.testing.assert_allclose(quat_multiply(a[k], b[k]), batch[k], atol=1e-12)
    # Hamilton product: rotating by a * b is rotating by b, then by a.
    v = np.array([0.3, -0.2, 0.9])
    np.testing.assert_allclose(quat_rotate(batch[0], v), quat_rotate(a[0], quat_rotate(b[0], v)), atol=1e-9)


@given(quat_batches)
def test_quat_to_matrix_is_a_rotation_that_rotates_as_the_quaternion_does(q):
    m = quat_to_matrix(q)
    np.testing.assert_allclose(m @ m.transpose(0, 2, 1), np.broadcast_to(np.eye(3), m.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-9)
    v = np.array([0.5, 1.0, -2.0])
    for k in range(len(q)):
        np.testing.assert_allclose(quat_to_matrix(q[k]), m[k], atol=1e-12)  # one = batch
        np.testing.assert_allclose(m[k] @ v, quat_rotate(q[k], v), atol=1e-9)


@given(quat_batches)
def test_quat_from_matrix_inverts_quat_to_matrix_one_by_one_and_in_batches(q):
    m = quat_to_matrix(q)
    batch = quat_from_matrix(m)
    assert np.all(batch[:, 3] >= 0)
    for k in range(len(q)):
        one = quat_from_matrix(m[k])
        np.testing.assert_allclose(batch[k], one, atol=1e-9)
        assert rotation_angle_between(one, q[k]) < 1e-6
    # 4x4 transforms are read by their rotation block, as the recorder stores them.
    transforms = np.zeros((len(q), 4, 4))
    transforms[:, :3, :3], transforms[:, 3, 3] = m, 1.0
    np.testing.assert_allclose(quat_from_matrix(transforms), batch, atol=1e-12)


@given(unit_quat, unit_quat, fractions)
def test_quat_slerp_runs_the_short_arc_at_constant_speed(a, b, t):
    middle = quat_slerp(a, b, t)
    assert np.linalg.norm(middle) == pytest.approx(1.0)
    whole = rotation_angle_between(a, b)
    assert rotation_angle_between(a, middle) == pytest.approx(t * whole, abs=1e-6)
    assert rotation_angle_between(middle, b) == pytest.approx((1 - t) * whole, abs=1e-6)
    # The batch path gives what one pair gives (sign included).
    np.testing.assert_allclose(quat_slerp(a[None], b[None], np.array([t]))[0], middle, atol=1e-9)


def test_quat_slerp_takes_the_short_way_round():
    a = quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), math.radians(170))
    b = -quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), math.radians(-170))  # 20 degrees away
    middle = quat_slerp(a, b, 0.5)
    assert rotation_angle_between(middle, quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), math.pi)) < 1e-6


@given(unit_axes, angles)
def test_rotation_from_axis_angle_matches_the_quaternion_of_the_same_turn(axis, angle):
    np.testing.assert_allclose(
        rotation_from_axis_angle(axis, angle), quat_to_matrix(quat_from_axis_angle(axis, angle)), atol=1e-9
    )


@given(unit_quat, unit_quat, fractions)
def test_rotation_blend_turns_the_given_fraction_of_the_way(a, b, w):
    ma, mb = quat_to_matrix(a), quat_to_matrix(b)
    blended = rotation_blend(ma, mb, w)
    whole = rotation_angle_between(a, b)
    done = rotation_angle_between(a, quat_from_matrix(blended))
    assert done == pytest.approx(w * whole, abs=1e-5)
    assert rotation_angle_between(quat_from_matrix(blended), b) == pytest.approx((1 - w) * whole, abs=1e-5)


@given(angles)
def test_yaw_rotation_and_yaw_of_are_inverse(yaw):
    rotation = yaw_rotation(yaw)
    np.testing.assert_allclose(rotation @ [0, 0, -1.0], [-math.sin(yaw), 0, -math.cos(yaw)], atol=1e-12)
    # Compared as angles (pi and -pi are one heading).
    assert math.remainder(yaw_of(quat_from_matrix(rotation)) - yaw, 2 * math.pi) == pytest.approx(0.0, abs=1e-9)


@given(unit_quat, st.lists(st.booleans(), min_size=1, max_size=6))
def test_quat_mean_of_one_orientation_ignores_the_sign_of_each_sample(q, flips):
    samples = np.array([-q if flip else q for flip in flips])
    mean = quat_mean(samples)
    assert rotation_angle_between(mean, q) < 1e-6
    assert np.linalg.norm(mean) == pytest.approx(1.0)


@given(poses, st.floats(0.01, 1.0), st.floats(2.0, 500.0))
def test_camera_projection_puts_the_near_and_far_planes_at_the_clip_depth_limits(pose, near, far):
    camera = Camera.from_view(ViewInfo(pose, -0.7, 0.6, 0.5, -0.55), near, far)
    for depth, expected in ((near, -1.0), (far, 1.0)):
        clip = camera.projection() @ np.array([0.0, 0.0, -depth, 1.0])
        assert clip[2] / clip[3] == pytest.approx(expected, abs=1e-6)


@given(poses, poses)
def test_compose_pose7_and_invert_pose7_agree_with_the_pose_functions(a, b):
    composed = compose_pose7(a.as_array(), b.as_array())
    expected = pose_multiply(a, b)
    np.testing.assert_allclose(composed[:3], expected.position, atol=1e-9)
    assert rotation_angle_between(composed[3:], expected.orientation) < 1e-6
    inverse = invert_pose7(a.as_array())
    np.testing.assert_allclose(inverse[:3], pose_inverse(a).position, atol=1e-9)
    assert rotation_angle_between(inverse[3:], pose_inverse(a).orientation) < 1e-6
    both = np.stack([a.as_array(), b.as_array()])
    np.testing.assert_allclose(invert_pose7(both)[1], invert_pose7(b.as_array()), atol=1e-12)  # batches
