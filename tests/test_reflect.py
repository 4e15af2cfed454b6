"""Mirroring across the midline plane: the properties mirror therapy relies on."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gmi_vr.geometry import quat_rotate, quat_to_matrix, rotation_angle_between
from gmi_vr.geometry.reflect import (
    Plane,
    mirror_local_quaternions,
    reflect_frames,
    reflect_points,
    reflect_poses,
)

finite = st.floats(-5, 5, allow_nan=False)
vec3 = st.tuples(finite, finite, finite).map(np.array)
unit_vec = vec3.filter(lambda v: np.linalg.norm(v) > 1e-2).map(lambda v: v / np.linalg.norm(v))
unit_quat = st.tuples(finite, finite, finite, finite).filter(
    lambda q: np.linalg.norm(q) > 1e-2
).map(lambda q: np.array(q) / np.linalg.norm(q))
planes = st.builds(Plane, vec3, unit_vec)
pose_batches = st.lists(st.tuples(vec3, unit_quat), min_size=1, max_size=6).map(
    lambda items: np.array([np.concatenate([p, q]) for p, q in items])
)


@given(pose_batches, planes)
def test_reflection_is_an_involution(poses, plane):
    twice = reflect_poses(reflect_poses(poses, plane), plane)
    np.testing.assert_allclose(twice[:, :3], poses[:, :3], atol=1e-9)
    assert np.all(rotation_angle_between(twice[:, 3:], poses[:, 3:]) < 1e-6)


@given(st.lists(vec3, min_size=2, max_size=8).map(np.array), planes)
def test_reflection_preserves_distances_and_flips_sides(points, plane):
    mirrored = reflect_points(points, plane)
    before = np.linalg.norm(points[:, None] - points[None], axis=-1)
    after = np.linalg.norm(mirrored[:, None] - mirrored[None], axis=-1)
    np.testing.assert_allclose(after, before, atol=1e-9)
    np.testing.assert_allclose(plane.signed_distance(mirrored), -plane.signed_distance(points), atol=1e-9)


@given(pose_batches, planes)
def test_reflected_rotations_are_proper(poses, plane):
    mirrored = reflect_poses(poses, plane)
    np.testing.assert_allclose(np.linalg.norm(mirrored[:, 3:], axis=1), 1.0, atol=1e-9)
    matrices = quat_to_matrix(mirrored[:, 3:])
    np.testing.assert_allclose(np.linalg.det(matrices), 1.0, atol=1e-9)
    # The 4x4 form agrees with the pose form.
    frames = np.zeros((len(poses), 4, 4))
    frames[:, :3, :3] = quat_to_matrix(poses[:, 3:])
    frames[:, :3, 3] = poses[:, :3]
    frames[:, 3, 3] = 1
    reflected = reflect_frames(frames, plane)
    np.testing.assert_allclose(reflected[:, :3, :3], matrices, atol=1e-9)
    np.testing.assert_allclose(reflected[:, :3, 3], mirrored[:, :3], atol=1e-9)


@given(unit_quat, vec3)
def test_mirrored_grip_follows_openxr_left_right_grip_conventions(q, position):
    """OpenXR grip: -Z along the fist's ray, +X out of the back of the RIGHT hand and out of
    the palm of the LEFT hand. Mirroring a right grip across the sagittal plane must give a
    left grip whose ray, palm normal and up axis are the mirror images of the right's."""
    plane = Plane(np.array([0.1, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]))
    right = np.concatenate([position, q])
    left = reflect_poses(right, plane)
    mirror = np.diag([-1.0, 1.0, 1.0])
    ray_r, ray_l = quat_rotate(right[3:], [0, 0, -1.0]), quat_rotate(left[3:], [0, 0, -1.0])
    np.testing.assert_allclose(ray_l, mirror @ ray_r, atol=1e-9)
    # Palm normal (pointing out of the palm): -X for a right grip, +X for a left grip.
    palm_r, palm_l = quat_rotate(right[3:], [-1.0, 0, 0]), quat_rotate(left[3:], [1.0, 0, 0])
    np.testing.assert_allclose(palm_l, mirror @ palm_r, atol=1e-9)
    up_r, up_l = quat_rotate(right[3:], [0, 1.0, 0]), quat_rotate(left[3:], [0, 1.0, 0])
    np.testing.assert_allclose(up_l, mirror @ up_r, atol=1e-9)


def test_neutral_grips_are_their_own_mirror_images():
    # Both hands held forward, palms facing each other: both grips have identity orientation.
    right = np.array([0.2, 1.0, -0.3, 0, 0, 0, 1.0])
    left = reflect_poses(right, Plane(np.zeros(3), np.array([1.0, 0, 0])))
    np.testing.assert_allclose(left[:3], [-0.2, 1.0, -0.3])
    assert rotation_angle_between(left[3:], [0, 0, 0, 1.0]) < 1e-9


@given(unit_quat, unit_quat)
def test_mirrored_local_rotations_compose_like_mirrored_frames(a, b):
    plane = Plane(np.zeros(3), np.array([1.0, 0, 0]))
    pa = np.concatenate([np.zeros(3), a])
    pb = np.concatenate([np.zeros(3), b])
    ma, mb = reflect_poses(pa, plane)[3:], reflect_poses(pb, plane)[3:]
    local = quat_to_matrix(a).T @ quat_to_matrix(b)
    mirrored_local = quat_to_matrix(ma).T @ quat_to_matrix(mb)
    from gmi_vr.geometry import quat_from_matrix

    expected = mirror_local_quaternions(quat_from_matrix(local))
    assert rotation_angle_between(quat_from_matrix(mirrored_local), expected) < 1e-6
