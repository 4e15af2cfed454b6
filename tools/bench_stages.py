"""Benchmark: the per-frame CPU cost of the stage-2/3/4 tasks' ``update``, which runs on the
render thread inside a 90 Hz frame budget (11.1 ms).

Measured on scripted frames: a mirror reach (healthy hand moving, the repetition active,
pacing guide and target drawn), a trace in the garden context (the path's dots drawn),
the imagery demonstration (ghost moving). The baseline, measured in the same process on
the same frames, is the stage-1 laterality task's update. Prints the median and p99 in
microseconds and the ratios to the baseline.

Usage: .venv/bin/python tools/bench_stages.py [--frames 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.therapy.laterality import LateralityTask
from gmi_vr.therapy.program import BodyPart, Program
from gmi_vr.therapy.stimuli import level_anchor
from gmi_vr.therapy.task import TaskContext, build_task
from gmi_vr.therapy.workspace import reflect_across_midline, rest_position

HEAD = Pose(np.array([0.0, 1.2, 0.0]))
ANCHOR = level_anchor(HEAD)


def frames(count: int) -> list[tuple[TrackingFrame, BodyPose]]:
    """The healthy (right) hand circles slowly over the table; the left is its mirror."""
    out = []
    home = rest_position(ANCHOR, Side.RIGHT)
    for i in range(count):
        t = i / 90.0
        right = home + 0.15 * np.array([np.sin(t), 0.05, -1 + np.cos(t)])
        shown = reflect_across_midline(ANCHOR, right)
        hand = HandInput(grip=Pose(right), grip_valid=True)
        frame = TrackingFrame(i, t, int(t * 1e9), HEAD, True, HandInput(), hand)
        body = BodyPose((), np.zeros((0, 4, 4)), Pose(shown), Pose(right), True, True,
                        Side.LEFT, LimbMode.MIRROR)
        out.append((frame, body))
    return out


def time_updates(update: Callable[[TrackingFrame, BodyPose], object],
                 script: list[tuple[TrackingFrame, BodyPose]]) -> list[float]:
    samples = []
    for frame, body in script:
        start = time.perf_counter()
        update(frame, body)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    script = frames(args.frames)
    base, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "bench", "bench", "2026", stage=3, **{"mirror.phase": "healthy",
                                              "mirror.grading.time_limit_s": 1000.0,
                                              "mirror.grading.repetitions": 1})
    trace, _ = base.override("bench", "bench", "2026", **{
        "mirror.tasks": ["trace"], "mirror.grading.complexity": 3, "mirror.context": "garden"})
    context = TaskContext(ANCHOR, 1, 0)
    cases: dict[str, Callable[[], object]] = {
        "laterality (baseline)": lambda: LateralityTask(base, context),
        "mirror reach": lambda: build_task("mirror", base, context),
        "mirror trace, garden": lambda: build_task("mirror", trace, context),
        "imagery block": lambda: build_task("imagery", base, context),
    }
    results = {}
    for name, make in cases.items():
        task = make()
        # Bring movement tasks to an active repetition: the hand rests at home first.
        home = reflect_across_midline(ANCHOR, rest_position(ANCHOR, Side.LEFT))
        still = [(TrackingFrame(i, i / 90, 0, HEAD, True, HandInput(),
                                HandInput(grip=Pose(home), grip_valid=True)),
                  BodyPose((), np.zeros((0, 4, 4)), Pose(reflect_across_midline(ANCHOR, home)),
                           Pose(home), True, True, Side.LEFT, LimbMode.MIRROR)) for i in range(60)]
        for frame, body in still:
            task.update(frame, body)  # type: ignore[attr-defined]
        offset = [(TrackingFrame(f.index + 60, f.time_s + 60 / 90, 0, f.head, True, f.left, f.right),
                   b) for f, b in script]
        results[name] = summary(time_updates(task.update, offset))  # type: ignore[attr-defined]
    base_median, base_p99 = results["laterality (baseline)"]
    print(f"{'task':28s} {'median us':>10s} {'p99 us':>10s} {'x median':>9s} {'x p99':>7s}")
    for name, (median, p99) in results.items():
        print(f"{name:28s} {median:10.1f} {p99:10.1f} {median / base_median:9.2f} {p99 / base_p99:7.2f}")


if __name__ == "__main__":
    main()
