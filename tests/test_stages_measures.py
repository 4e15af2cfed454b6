"""Movement measures: duration, path length, smoothness and target/path distances on
synthetic reaches of known shape."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gmi_vr.therapy.results.measures import (
    distance_to_polyline,
    minimum_jerk,
    movement_measures,
    path_length,
)

RATE = 90.0


def reach(duration_s: float, start: np.ndarray, end: np.ndarray, rest_before_s: float = 0.4,
          rest_after_s: float = 0.4, t0: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    """Samples at 90 Hz: rest, a minimum-jerk reach over ``duration_s``, rest."""
    n = int(round((rest_before_s + duration_s + rest_after_s) * RATE)) + 1
    times = t0 + np.arange(n) / RATE
    move_start = t0 + rest_before_s
    fraction = (times - move_start) / duration_s
    return times, minimum_jerk(start, end, fraction)


@settings(max_examples=40, deadline=None)
@given(duration=st.floats(0.4, 4.0), length=st.floats(0.05, 0.6),
       direction=st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
           lambda d: np.linalg.norm(d) > 0.2))
def test_a_minimum_jerk_reach_gives_its_duration_to_a_frame_and_its_length_to_2_percent(
        duration: float, length: float, direction: tuple[float, float, float]) -> None:
    start = np.array([0.1, 0.8, -0.3])
    end = start + length * np.array(direction) / np.linalg.norm(direction)
    times, positions = reach(duration, start, end)
    measures = movement_measures(times, positions)
    assert measures is not None
    assert abs(measures.duration_s - duration) <= 1 / RATE + 1e-9
    assert abs(measures.onset_s - (times[0] + 0.4)) <= 1 / RATE + 1e-9
    assert abs(measures.path_length_m - length) <= 0.02 * length
    assert np.linalg.norm(np.array(measures.end_position) - end) < 1e-3
    # Peak speed of a minimum-jerk reach: 1.875 L / T (Flash & Hogan 1985).
    assert abs(measures.peak_speed_m_s - 1.875 * length / duration) <= 0.02 * 1.875 * length / duration


def test_minimum_jerk_smoothness_is_near_its_analytic_value() -> None:
    times, positions = reach(1.0, np.zeros(3), np.array([0.0, 0.0, -0.3]))
    measures = movement_measures(times, positions)
    assert measures is not None
    assert abs(measures.ldlj - (-np.log(720 / 1.875**2))) < 0.15
    assert -1.8 < measures.sparc < -1.3


def test_a_jerky_reach_is_less_smooth_than_a_minimum_jerk_reach() -> None:
    start, end = np.zeros(3), np.array([0.0, 0.0, -0.3])
    times, smooth = reach(1.5, start, end)
    # The same reach in three stop-and-go sub-movements, plus a 6 Hz tremor across the path.
    jerky = np.empty_like(smooth)
    fraction = (times - times[0] - 0.4) / 1.5
    parts = np.clip(fraction * 3, 0, 3)
    whole, rest = np.floor(parts), parts - np.floor(parts)
    s = (whole + 10 * rest**3 - 15 * rest**4 + 6 * rest**5) / 3
    jerky[:] = start + s[:, None] * (end - start)
    moving = (fraction > 0) & (fraction < 1)
    jerky[moving, 0] += 0.004 * np.sin(2 * np.pi * 6 * (times[moving] - times[0]))
    a = movement_measures(times, smooth)
    b = movement_measures(times, jerky)
    assert a is not None and b is not None
    assert b.sparc < a.sparc - 0.5
    assert b.ldlj < a.ldlj - 1.0


def test_the_return_movement_after_the_end_is_not_part_of_the_reach() -> None:
    start, end = np.zeros(3), np.array([0.0, 0.0, -0.3])
    times, out = reach(1.0, start, end, rest_after_s=0.3)
    back_times, back = reach(1.0, end, start, rest_before_s=0.0, t0=times[-1] + 1 / RATE)
    all_times = np.concatenate([times, back_times])
    all_points = np.vstack([out, back])
    measures = movement_measures(all_times, all_points, end_before_s=times[-1])
    assert measures is not None
    assert abs(measures.duration_s - 1.0) <= 1 / RATE + 1e-9
    assert abs(measures.path_length_m - 0.3) < 0.006


def test_a_return_already_under_way_at_the_next_frame_after_the_end_is_not_part_of_the_reach() -> None:
    # Frames missed after the repetition's end (a busy machine): the next sample shows the
    # hand well on its way back, and the segment to it is not part of the reach.
    start, end = np.zeros(3), np.array([0.0, 0.0, -0.3])
    times, out = reach(1.0, start, end, rest_after_s=0.3)
    back_times, back = reach(1.0, end, start, rest_before_s=0.0, t0=times[-1] + 1 / RATE)
    later = back_times >= back_times[0] + 0.3
    measures = movement_measures(np.concatenate([times, back_times[later]]),
                                 np.vstack([out, back[later]]), end_before_s=times[-1])  # fmt: skip
    assert measures is not None
    assert abs(measures.duration_s - 1.0) <= 1 / RATE + 1e-9
    assert abs(measures.path_length_m - 0.3) < 0.006
    assert np.linalg.norm(np.array(measures.end_position) - end) < 1e-3


def test_uneven_frames_from_a_dropped_frame_still_measure_the_reach() -> None:
    times, positions = reach(1.0, np.zeros(3), np.array([0.2, 0.0, -0.2]))
    keep = np.ones(len(times), bool)
    keep[[50, 51, 70]] = False  # dropped frames mid-movement
    measures = movement_measures(times[keep], positions[keep])
    assert measures is not None
    assert abs(measures.duration_s - 1.0) <= 1 / RATE + 1e-9
    assert abs(measures.path_length_m - np.hypot(0.2, 0.2)) < 0.02 * np.hypot(0.2, 0.2)


def test_a_hand_that_never_moves_has_no_measures() -> None:
    times = 1000 + np.arange(50) / RATE
    assert movement_measures(times, np.tile([0.1, 0.9, -0.3], (50, 1))) is None


def test_path_length_and_polyline_distance() -> None:
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    assert path_length(square) == 3.0
    points = np.array([[0.5, 0.2, 0.0], [2.0, 0.5, 0.0], [0.5, 0.5, 0.3]])
    np.testing.assert_allclose(distance_to_polyline(points, square), [0.2, 1.0, np.hypot(0.5, 0.3)])
