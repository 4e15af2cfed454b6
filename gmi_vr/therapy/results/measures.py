"""Movement measures for one repetition: movement time, path length, peak speed, smoothness
(SPARC and log dimensionless jerk) and distances to targets and paths.

Inputs are a hand's samples as ``times`` (n,) seconds (increasing, frame clock) and
``positions`` (n, 3) metres, world frame. Frames may be uneven (a dropped frame): measures
that need even sampling resample linearly to the median frame rate first.

Bounds of a movement: the first and last samples whose speed exceeds ``threshold`` of the
peak speed, each widened to the nearest speed minimum (walking outwards while the speed keeps
falling). A reach that starts and ends at rest is so bounded by its first and last moving
samples, exactly, instead of losing the slow start and end of its bell-shaped speed profile
to the threshold; with tracking noise it stops at the noise floor.

Smoothness (Balasubramanian, Melendez-Calderon, Roby-Brami & Burdet 2015, "On the analysis
of movement smoothness", J NeuroEng Rehabil 12:112): SPARC, the arc length of the
normalised speed spectrum up to an adaptive cut-off (10 Hz at most, magnitudes above 0.05),
and LDLJ, ``-ln(T^3 / v_peak^2 * integral |jerk|^2 dt)``. Both are negative; closer to zero
is smoother. A minimum-jerk reach has LDLJ = -ln(720 / 1.875^2) ~ -5.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray

#: Speed threshold for movement detection, as a fraction of the peak. Product choice (5-10 %
#: is usual in reaching studies); the bounds are then widened to the speed minima.
ONSET_THRESHOLD = 0.1
#: SPARC parameters as recommended by Balasubramanian et al. 2015.
SPARC_MAX_CUTOFF_HZ = 10.0
SPARC_AMPLITUDE_THRESHOLD = 0.05
SPARC_PADDING_LEVEL = 4


@dataclass(frozen=True)
class MovementMeasures:
    """The measures of one repetition (``measure_repetition``): onset, end and duration in
    seconds on the frame clock, path length in metres, peak speed in m/s and smoothness (SPARC,
    unitless, closer to 0 is smoother)."""
    onset_s: float
    end_s: float
    duration_s: float
    path_length_m: float
    peak_speed_m_s: float
    sparc: float
    ldlj: float
    end_position: tuple[float, float, float]


def segment_speeds(times: FloatArray, positions: FloatArray) -> FloatArray:
    """(n-1,) speed in m/s of each segment between consecutive samples."""
    dt = np.diff(times)
    speeds: FloatArray = np.linalg.norm(np.diff(positions, axis=0), axis=1) / np.maximum(dt, 1e-9)
    return speeds


def movement_bounds(times: FloatArray, positions: FloatArray, end_before_s: float | None = None,
                    threshold: float = ONSET_THRESHOLD) -> tuple[int, int] | None:
    """(first, last) sample indices of the movement, or None if the hand never moved.

    ``end_before_s``: only movement seen by then counts (a repetition's end, so the hand's
    return after it is not taken as part of it): the segments that end by then. The segment
    from the last sample by then to the next one is not known to belong to the reach (after
    missed frames it can span the start of the return); samples after it may still widen the
    end to the speed minimum.
    """
    if len(times) < 3:
        return None
    speed = segment_speeds(times, positions)
    limit = len(speed) if end_before_s is None else int(np.searchsorted(times, end_before_s, "right")) - 1
    limit = max(1, min(limit, len(speed)))
    peak = float(speed[:limit].max())
    if peak <= 1e-6:
        return None
    above = np.flatnonzero(speed[:limit] >= threshold * peak)
    first, last = int(above[0]), int(above[-1])
    while first > 0 and speed[first - 1] < speed[first]:
        first -= 1
    while last < len(speed) - 1 and speed[last + 1] < speed[last]:
        last += 1
    # ``first`` and ``last`` are segments; a segment at a speed minimum that is at rest
    # belongs to the rest, not the movement.
    start = first + 1 if speed[first] <= 1e-6 else first
    stop = last if speed[last] <= 1e-6 else last + 1
    return start, max(stop, start + 1)


def path_length(positions: FloatArray) -> float:
    """Length in metres of the polyline through ``positions`` (n, 3)."""
    if len(positions) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(positions, axis=0), axis=1).sum())


def resample_even(times: FloatArray, positions: FloatArray) -> tuple[FloatArray, float]:
    """Positions (m, 3) linearly resampled at the median sample rate, and that rate in Hz."""
    dt = float(np.median(np.diff(times)))
    count = max(2, int(round((times[-1] - times[0]) / dt)) + 1)
    grid = times[0] + np.arange(count) * dt
    grid[-1] = min(grid[-1], times[-1])
    even = np.stack([np.interp(grid, times, positions[:, axis]) for axis in range(3)], axis=1)
    return even, 1.0 / dt


def sparc(speed: FloatArray, rate_hz: float) -> float:
    """Spectral arc length of an evenly sampled speed profile (m,) (Balasubramanian 2015)."""
    if len(speed) < 2 or float(np.max(speed)) <= 0.0:
        return 0.0
    count = int(2 ** (np.ceil(np.log2(len(speed))) + SPARC_PADDING_LEVEL))
    spectrum = np.abs(np.fft.rfft(speed, count))
    freqs = np.fft.rfftfreq(count, 1.0 / rate_hz)
    spectrum = spectrum / spectrum[0]
    band = np.flatnonzero(freqs <= SPARC_MAX_CUTOFF_HZ)
    inside = band[spectrum[band] >= SPARC_AMPLITUDE_THRESHOLD]
    cutoff = int(inside[-1]) + 1 if len(inside) else 2
    freqs, spectrum = freqs[:cutoff], spectrum[:cutoff]
    if len(freqs) < 2:
        return 0.0
    df = np.diff(freqs) / (freqs[-1] - freqs[0])
    return float(-np.sum(np.sqrt(df**2 + np.diff(spectrum) ** 2)))


def log_dimensionless_jerk(positions: FloatArray, rate_hz: float) -> float:
    """LDLJ of an evenly sampled movement (m, 3) from rest to rest: velocity-based form
    ``-ln(T^3 / v_peak^2 * integral |d^2 v/dt^2|^2 dt)`` (Balasubramanian 2015)."""
    if len(positions) < 4:
        return 0.0
    dt = 1.0 / rate_hz
    velocity = np.diff(positions, axis=0) / dt
    jerk = np.diff(velocity, n=2, axis=0) / dt**2
    duration = (len(positions) - 1) * dt
    peak = float(np.linalg.norm(velocity, axis=1).max())
    if peak <= 0.0:
        return 0.0
    integral = float(np.sum(np.linalg.norm(jerk, axis=1) ** 2) * dt)
    return float(-np.log(max(duration**3 / peak**2 * integral, 1e-12)))


def movement_measures(times: FloatArray, positions: FloatArray,
                      end_before_s: float | None = None) -> MovementMeasures | None:
    """All measures of the movement found in ``times`` (n,), ``positions`` (n, 3), or None
    if the hand did not move. See ``movement_bounds`` for ``end_before_s``."""
    times = np.asarray(times, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    bounds = movement_bounds(times, positions, end_before_s)
    if bounds is None:
        return None
    start, stop = bounds
    # One resting sample either side gives the derivatives their rest-to-rest boundary.
    lo, hi = max(0, start - 1), min(len(times) - 1, stop + 1)
    even, rate = resample_even(times[lo:hi + 1], positions[lo:hi + 1])
    speed = np.linalg.norm(np.diff(even, axis=0), axis=1) * rate
    return MovementMeasures(
        onset_s=float(times[start]),
        end_s=float(times[stop]),
        duration_s=float(times[stop] - times[start]),
        path_length_m=path_length(positions[start:stop + 1]),
        peak_speed_m_s=float(segment_speeds(times[start:stop + 1], positions[start:stop + 1]).max()),
        sparc=sparc(speed, rate),
        ldlj=log_dimensionless_jerk(even, rate),
        end_position=(float(positions[stop][0]), float(positions[stop][1]), float(positions[stop][2])),
    )


def distance_to_polyline(points: FloatArray, polyline: FloatArray) -> FloatArray:
    """(n,) distance of each of ``points`` (n, 3) to the polyline through ``polyline`` (k, 3)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    polyline = np.asarray(polyline, dtype=np.float64).reshape(-1, 3)
    distances: FloatArray
    if len(polyline) == 1:
        distances = np.linalg.norm(points - polyline[0], axis=1)
        return distances
    a, b = polyline[:-1], polyline[1:]
    ab = b - a
    length2 = np.maximum(np.sum(ab * ab, axis=1), 1e-12)
    t = np.clip(np.einsum("nkd,kd->nk", points[:, None, :] - a[None], ab) / length2, 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    distances = np.linalg.norm(points[:, None, :] - closest, axis=2).min(axis=1)
    return distances


def minimum_jerk(start: FloatArray, end: FloatArray, fraction: FloatArray) -> FloatArray:
    """Positions (n, 3) of a minimum-jerk movement (Flash & Hogan 1985) from ``start`` to
    ``end`` at time fractions ``fraction`` (n,) in 0..1. Used by the pacing guide."""
    tau = np.clip(np.asarray(fraction, dtype=np.float64), 0.0, 1.0)[..., None]
    s = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    return np.asarray(start) + s * (np.asarray(end) - np.asarray(start))
