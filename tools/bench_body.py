"""Benchmark: body solve plus bone palette for one frame (CPU), median and p99.

    python tools/bench_body.py [--frames 3000]

Drives ``solve_body`` with a moving healthy controller in mirror mode (the clinical case),
then ``AvatarRig.palette`` for a generated avatar, one frame at a time, as the render loop
does. Baseline, in the same process: one batched numpy 4x4 matmul of the palette's size
(the floor any numpy per-frame step pays). Target: p99 under 0.3 ms.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from gmi_vr.assets.gltf_skin import load_skinned_gltf
from gmi_vr.body.calibration import Calibration, Posture
from gmi_vr.body.rig import AvatarRig
from gmi_vr.body.solve import BodySettings, BodyState, solve_body
from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.geometry import quat_from_axis_angle

ROOT = Path(__file__).resolve().parent.parent


def frames(count: int, calibration: Calibration, hand_tracking: bool) -> list[TrackingFrame]:
    head = Pose(calibration.origin + [0.0, 1.25, 0.0], [0, 0, 0, 1.0])
    rng = np.random.default_rng(2)
    out = []
    for i in range(count):
        t = i / 90
        grip = Pose([0.22 + 0.08 * math.sin(1.3 * t), 1.05 + 0.1 * math.sin(2.1 * t), -0.3],
                    quat_from_axis_angle(np.array([0, 0, 1.0]), 0.5 * math.sin(0.9 * t)))  # fmt: skip
        joints = valid = None
        if hand_tracking:  # 26 joints near the grip, each turned a little: the costlier path
            q = rng.normal(size=(26, 4)) * 0.1 + [0, 0, 0, 1.0]
            joints = np.hstack([grip.position + rng.normal(size=(26, 3)) * 0.05, q / np.linalg.norm(q, axis=1, keepdims=True)])
            valid = np.ones(26, dtype=bool)
        right = HandInput(grip=grip, grip_valid=True, trigger=0.5 + 0.5 * math.sin(t), squeeze=0.3,
                          joints=joints, joints_valid=valid)  # fmt: skip
        out.append(TrackingFrame(i, t, int(t * 1e9), head, True, HandInput(), right))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--hand-tracking", action="store_true", help="feed XR_EXT_hand_tracking joints too")
    args = parser.parse_args()
    calibration = Calibration.uncalibrated(Posture.SEATED, 1.7, Side.LEFT)
    avatar = load_skinned_gltf(ROOT / "models" / "avatars" / "avatar_slim.glb")
    rig = AvatarRig(avatar, calibration.measures)
    settings, state = BodySettings(), BodyState()
    sequence = frames(args.frames, calibration, args.hand_tracking)
    for frame in sequence[:200]:  # warm up caches and the allocator
        rig.palette(solve_body(frame, calibration, settings, state).world_from_joint)

    solve_times, total_times, baseline_times = [], [], []
    a = np.random.default_rng(0).normal(size=(rig.joint_count, 4, 4))
    b = np.random.default_rng(1).normal(size=(rig.joint_count, 4, 4))
    clock = time.perf_counter_ns
    for frame in sequence:
        start = clock()
        body = solve_body(frame, calibration, settings, state)
        solved = clock()
        rig.palette(body.world_from_joint)
        end = clock()
        np.matmul(a, b)
        baseline_end = clock()
        solve_times.append((solved - start) / 1e6)
        total_times.append((end - start) / 1e6)
        baseline_times.append((baseline_end - end) / 1e6)

    def row(name: str, values: list[float]) -> str:
        return f"{name:<28} median {statistics.median(values):7.4f} ms   p99 {percentile(values, 0.99):7.4f} ms"

    source = "controller + hand-tracking joints" if args.hand_tracking else "controller"
    print(f"{args.frames} frames ({source}), {rig.joint_count} joints, Python {sys.version.split()[0]}, numpy {np.__version__}")
    print(row("body solve", solve_times))
    print(row("body solve + palette", total_times))
    print(row("baseline: one 4x4 matmul batch", baseline_times))
    ratio = statistics.median(total_times) / statistics.median(baseline_times)
    print(f"solve + palette / baseline (medians): {ratio:.0f}x")
    p99 = percentile(total_times, 0.99)
    print(f"target p99 < 0.3 ms: {'met' if p99 < 0.3 else 'NOT met'} ({p99:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
