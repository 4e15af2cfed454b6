"""Two-bone IK: reaches what is reachable, clamps the rest without NaN, never bends backwards."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from gmi_vr.body.ik import frame_from_axes, solve_two_bone

coord = st.floats(-1.5, 1.5, allow_nan=False)
vec3 = st.tuples(coord, coord, coord).map(np.array)
length = st.floats(0.05, 0.6)


def _check_bend(solution, pole):
    u1 = solution.middle - solution.root
    u2 = solution.end - solution.middle
    line = solution.end - solution.root
    # The middle joint lies on the pole's side of the root-end line (or on it when straight)...
    direction = line / np.linalg.norm(line)
    bend = pole - direction * (pole @ direction)
    if np.linalg.norm(bend) > 1e-3:
        offset = u1 - direction * (u1 @ direction)
        assert offset @ bend >= -1e-9
    # ...and flexion about the hinge axis is positive: never a backwards bend.
    assert np.cross(u1, u2) @ solution.hinge_axis >= -1e-9
    np.testing.assert_allclose(np.linalg.norm(solution.hinge_axis), 1.0, atol=1e-9)


@given(vec3, vec3, length, length, vec3)
def test_reaches_every_reachable_target_within_1mm(root, direction, upper, lower, pole):
    assume(np.linalg.norm(direction) > 1e-3)
    assume(np.linalg.norm(pole) > 1e-3)
    # Pick a distance strictly inside the reachable shell.
    lo, hi = abs(upper - lower), upper + lower
    assume(hi - lo > 0.01)
    distance = lo + 0.001 + (hi - lo - 0.002) * 0.5 * (1 + np.sin(np.sum(direction) * 10))
    target = root + direction / np.linalg.norm(direction) * distance
    solution = solve_two_bone(root, target, upper, lower, pole)
    assert np.linalg.norm(solution.end - target) < 1e-3
    np.testing.assert_allclose(np.linalg.norm(solution.middle - root), upper, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(solution.end - solution.middle), lower, atol=1e-9)
    _check_bend(solution, pole)


@given(vec3, vec3, length, length, vec3)
def test_clamps_unreachable_targets_without_nan(root, target, upper, lower, pole):
    solution = solve_two_bone(root, target, upper, lower, pole)
    for point in (solution.middle, solution.end, solution.hinge_axis):
        assert np.all(np.isfinite(point))
    np.testing.assert_allclose(np.linalg.norm(solution.middle - root), upper, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(solution.end - solution.middle), lower, atol=1e-9)
    distance = np.linalg.norm(target - root)
    if distance > upper + lower:
        # Too far: the limb points straight at the target.
        reach = solution.end - root
        if distance > 1e-6:
            cosine = reach @ (target - root) / (np.linalg.norm(reach) * distance)
            assert cosine > 1 - 1e-9
    if np.linalg.norm(pole) > 1e-3 and np.linalg.norm(solution.end - root) > 1e-6:
        _check_bend(solution, pole)


def test_degenerate_inputs_stay_finite():
    zero = np.zeros(3)
    for pole in (zero, np.array([0, 0, 1.0])):
        solution = solve_two_bone(zero, zero, 0.3, 0.3, pole)
        assert np.all(np.isfinite(solution.middle)) and np.all(np.isfinite(solution.end))
    # Pole along the limb: any bend plane, still a valid bend.
    solution = solve_two_bone(zero, np.array([0.5, 0, 0]), 0.3, 0.3, np.array([1.0, 0, 0]))
    _check_bend(solution, np.array([0.0, 0.0, 1.0]))


@given(vec3.filter(lambda v: np.linalg.norm(v) > 1e-2), vec3.filter(lambda v: np.linalg.norm(v) > 1e-2))
def test_frame_from_axes_is_a_rotation(bone, hint):
    bone = bone / np.linalg.norm(bone)
    hinge = np.cross(bone, hint)
    assume(np.linalg.norm(hinge) > 1e-2)
    hinge /= np.linalg.norm(hinge)
    r = frame_from_axes(np.array([1.0, 0, 0]), bone, np.array([0, 1.0, 0]), hinge)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    np.testing.assert_allclose(r @ [1.0, 0, 0], bone, atol=1e-9)


def test_target_on_the_root_with_a_pole_along_x_stays_finite():
    # Found by the property test above: a non-unit pole along X with the target on the root.
    root = np.array([0.5, 0.0, 0.0])
    solution = solve_two_bone(root, root, 0.5, 0.5, np.array([0.5, 0.0, 0.0]))
    assert np.all(np.isfinite(solution.middle)) and np.all(np.isfinite(solution.end))
    np.testing.assert_allclose(np.linalg.norm(solution.middle - root), 0.5, atol=1e-9)
