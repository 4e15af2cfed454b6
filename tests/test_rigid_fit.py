"""Registration of matched points (``geometry.fit.rigid_fit``, Kabsch/Horn) and the capsule
gap: property tests with random rigid transforms and noise, and the registration of a limb
(``therapy.tasks.seen_touch.register``) measured against known landmark positions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gmi_vr.geometry.fit import capsule_gap, rigid_fit
from gmi_vr.geometry.transforms import quat_normalize, quat_to_matrix
from gmi_vr.therapy.tasks.seen_touch import register

finite = st.floats(-1.0, 1.0, allow_nan=False)


def rigid(q: tuple[float, float, float, float], t: tuple[float, float, float]) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = quat_to_matrix(quat_normalize(np.array(q)))
    matrix[:3, 3] = t
    return matrix


def spread(points: np.ndarray) -> bool:
    """Not all on one line (a line leaves the rotation about it free)."""
    centred = points - points.mean(axis=0)
    return bool(np.linalg.svd(centred, compute_uv=False)[1] > 0.02)


quats = st.tuples(finite, finite, finite, finite).filter(lambda q: np.linalg.norm(q) > 0.1)
moves = st.tuples(*[st.floats(-2.0, 2.0, allow_nan=False)] * 3)
point_sets = st.integers(3, 8).flatmap(lambda n: st.lists(st.tuples(*[st.floats(-0.4, 0.4, allow_nan=False)] * 3),
                                                          min_size=n, max_size=n))


@settings(max_examples=300, deadline=None)
@given(quats, moves, point_sets)
def test_an_exact_rigid_move_is_found_with_no_error(q: tuple[float, float, float, float],
                                                    t: tuple[float, float, float], points: list[tuple[float, float, float]]) -> None:
    source = np.array(points)
    if not spread(source):
        return
    truth = rigid(q, t)
    target = source @ truth[:3, :3].T + truth[:3, 3]
    fit = rigid_fit(source, target)
    assert np.allclose(fit.target_from_source, truth, atol=1e-6)
    assert fit.rms_m < 1e-7 and np.all(fit.residuals_m < 1e-6)


@settings(max_examples=300, deadline=None)
@given(quats, moves, point_sets, st.integers(0, 2**31 - 1), st.floats(0.0005, 0.02))
def test_with_noise_the_error_is_measured_and_no_worse_than_the_truth(
        q: tuple[float, float, float, float], t: tuple[float, float, float], points: list[tuple[float, float, float]],
        seed: int, noise_m: float) -> None:
    source = np.array(points)
    if not spread(source):
        return
    truth = rigid(q, t)
    exact = source @ truth[:3, :3].T + truth[:3, 3]
    target = exact + np.random.default_rng(seed).normal(0.0, noise_m, exact.shape)
    fit = rigid_fit(source, target)
    rotation = fit.target_from_source[:3, :3]
    assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9) and np.linalg.det(rotation) > 0.999
    # The reported error is the moved points' own distance to their targets ...
    moved = source @ rotation.T + fit.target_from_source[:3, 3]
    distances = np.linalg.norm(moved - target, axis=1)
    assert np.allclose(fit.residuals_m, distances, atol=1e-12)
    assert abs(fit.rms_m - float(np.sqrt(np.mean(distances**2)))) < 1e-12
    # ... and the least: the true move, one candidate, fits no better.
    assert fit.rms_m <= float(np.sqrt(np.mean(np.sum((exact - target) ** 2, axis=1)))) + 1e-12


def test_a_mirrored_point_set_still_gets_a_proper_rotation() -> None:
    source = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 0.1]])
    mirrored = source * np.array([-1.0, 1.0, 1.0])
    fit = rigid_fit(source, mirrored)
    assert np.linalg.det(fit.target_from_source[:3, :3]) > 0.999 and fit.rms_m > 0.01


def test_a_limbs_registration_error_is_reported_in_millimetres_against_the_known_landmarks() -> None:
    virtual = np.array([[-0.20, 0.90, -0.40], [-0.21, 0.89, -0.49], [-0.19, 0.92, -0.15]])
    truth = rigid((0.0, 0.2, 0.0, 1.0), (0.03, -0.02, 0.05))
    real = virtual @ truth[:3, :3].T + truth[:3, 3]
    assert register(virtual, real, 20.0).rms_mm < 1e-4 and register(virtual, real, 20.0).accepted
    # One landmark touched 60 mm off: the fit spreads the error, far over 20 mm RMS.
    off = real.copy()
    off[1] += [0.0, 0.0, 0.06]
    result = register(virtual, off, 20.0)
    expected = rigid_fit(virtual, off).rms_m * 1000.0
    assert result.rms_mm == expected and 20.0 < result.rms_mm < 60.0 and not result.accepted
    assert len(result.residuals_mm) == 3


def test_the_capsule_gap_is_measured_from_its_surface() -> None:
    a, b = np.zeros(3), np.array([0.0, 0.0, -0.2])
    gap, point = capsule_gap(np.array([0.0, 0.05, -0.1]), a, b, 0.03)
    assert abs(gap - 0.02) < 1e-12 and np.allclose(point, [0.0, 0.03, -0.1])
    gap, point = capsule_gap(np.array([0.0, 0.0, 0.1]), a, b, 0.03)  # past an end: the round cap
    assert abs(gap - 0.07) < 1e-12 and np.allclose(point, [0.0, 0.0, 0.03])
