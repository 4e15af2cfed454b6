"""Benchmark: memory and frame time over a long patient session on the desktop simulator.

    python tools/with-xvfb.py python tools/bench_drift.py [--minutes 60] [--json out.json]

One recorded session of ``--minutes`` wall time (``app.simulator.run_sim`` in process, the
therapist window with its console, in Xvfb on software OpenGL), its plan laterality,
mirror and graded movement blocks over and over (questions that wait for an answer off,
the time cap raised), driven by tools/bench_sim_pace.py's motion at 30 frames per second.

Prints the process's RSS (all threads share it; the render thread is the main one; less
the benchmark's own frame log, which it also reports) and the
loop's work per frame (median, p99; tools/bench_sim_pace.py says what is counted) in the
first and the last 5 minutes, with the process's CPU time per frame, apart for frames with
and without a window draw (load on the machine stretches wall times but hardly CPU times,
so the CPU columns say whether the frame itself grew), and the RSS growth between them: the median of each window's
samples (one every 10 s), and the last sample of the first window against the last of the
run; and the slope of the RSS samples after a WARMUP_MIN warm-up (least squares, MB per
hour), which says more than a percentage over a short run; and the CPU per frame of each
task in both windows (the plan's blocks repeat, so the windows hold different mixes of
them). Goal: growth at most 5 %, frame times flat.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sim_pace import BLOCKS, figures, prepare_patient, run_session, write_motion  # noqa: E402
from bench_support import write_figures  # noqa: E402

WINDOW_MIN = 5.0
#: RSS samples before this (minutes) are left out of the slope: the first draws, caches filling.
WARMUP_MIN = 3.0


def rss_slope_mb_per_hour(samples: list[tuple[int, int]]) -> float:
    """Least-squares slope of (monotonic ns, bytes) samples, MB per hour."""
    times = [t / 3600e9 for t, _ in samples]
    sizes = [b / 2**20 for _, b in samples]
    return statistics.linear_regression(times, sizes).slope


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="wall time of the session")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    os.environ["GMI_VR_DATA"] = str(work / "data")
    os.environ["GMI_VR_CONFIG"] = str(work / "none.toml")
    seconds = args.minutes * 60.0
    motion = work / "motion.jsonl"
    write_motion(motion, seconds + 60.0)
    prepare_patient("DRIFT-1", list(BLOCKS) * 40, seconds + 3600.0)
    log = run_session(motion, "DRIFT-1", seconds, progress=lambda note: print(f"  {note}", file=sys.stderr, flush=True))
    start, end = log.handed_ns[0], log.handed_ns[-1]
    window = min(int(WINDOW_MIN * 60e9), (end - start) // 2)
    first = figures(log, start, start + window)
    last = figures(log, end - window, end + 1)
    # The process's RSS less what the benchmark's own frame log held at the time.
    rss_first = [b - own for t, b, own in log.rss if t < start + window]
    rss_last = [b - own for t, b, own in log.rss if t >= end - window]
    med_first, med_last = statistics.median(rss_first), statistics.median(rss_last)
    settled = [(t, b - own) for t, b, own in log.rss if t >= start + int(WARMUP_MIN * 60e9)]
    result = {
        "minutes": (end - start) / 60e9,
        "window_min": window / 60e9,
        "first": first,
        "last": last,
        "rss_first_median_mb": med_first / 2**20,
        "rss_last_median_mb": med_last / 2**20,
        "rss_growth_pct": 100.0 * (med_last - med_first) / med_first,
        "rss_end_of_first_mb": rss_first[-1] / 2**20,
        "rss_end_mb": rss_last[-1] / 2**20,
        "rss_growth_end_pct": 100.0 * (rss_last[-1] - rss_first[-1]) / rss_first[-1],
        "rss_slope_mb_per_h": rss_slope_mb_per_hour(settled) if len(settled) >= 2 else math.nan,
        "rss_samples_mb": [round((b - own) / 2**20, 1) for _, b, own in log.rss],
        "log_mb_at_end": log.rss[-1][2] / 2**20,
    }
    w = result["window_min"]
    print(f"Simulator session of {result['minutes']:.1f} min: first vs last {w:.1f} min")
    print(f"{'':8s}{'frames/s':>9s}{'work med':>9s}{'work p99':>9s}{'session/wall':>13s}{'RSS MB':>9s}"
          f"{'CPU step med/p99':>18s}{'CPU draw med/p99':>18s}")  # fmt: skip
    for name, entry, rss in (("first", first, med_first), ("last", last, med_last)):
        print(f"{name:8s}{entry['rate_hz']:9.1f}{entry['work_median_ms']:9.1f}{entry['work_p99_ms']:9.1f}"
              f"{entry['session_per_wall']:13.2f}{rss / 2**20:9.1f}"
              f"{entry['step_cpu_median_ms']:10.1f} /{entry['step_cpu_p99_ms']:6.1f}"
              f"{entry['drawn_cpu_median_ms']:10.1f} /{entry['drawn_cpu_p99_ms']:6.1f}")  # fmt: skip
    print(f"RSS growth: {result['rss_growth_pct']:+.1f} % (window medians), "
          f"{result['rss_growth_end_pct']:+.1f} % (end of first window {result['rss_end_of_first_mb']:.1f} MB "
          f"to end {result['rss_end_mb']:.1f} MB)")  # fmt: skip
    print(f"RSS slope after the first {WARMUP_MIN:.0f} min: {result['rss_slope_mb_per_h']:+.1f} MB per hour "
          f"({len(settled)} samples)")  # fmt: skip
    # The plan's blocks repeat, and the two windows hold different stretches of them: the
    # frame's CPU compared task by task says whether the frame itself grew.
    by_task = {}
    for task in (t for t in log.tasks if t is not None):
        pair = figures(log, start, start + window, task=task), figures(log, end - window, end + 1, task=task)
        if all(entry["frames"] >= 3 for entry in pair):
            by_task[task] = {"first": pair[0], "last": pair[1]}
    print("CPU per frame by task, first -> last window (median ms; frames in each):")
    for task, pair in by_task.items():
        a, b = pair["first"], pair["last"]
        print(f"  {task:22s} step {a['step_cpu_median_ms']:6.2f} -> {b['step_cpu_median_ms']:6.2f}"
              f"   draw {a['drawn_cpu_median_ms']:6.1f} -> {b['drawn_cpu_median_ms']:6.1f}"
              f"   ({a['frames']} / {b['frames']})")  # fmt: skip
    result["by_task"] = by_task
    write_figures(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
