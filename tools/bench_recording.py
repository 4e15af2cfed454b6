#!/usr/bin/env python3
"""Benchmark of session recording on a real SQLite file (WAL, synchronous=FULL).

Measures, for full frames (head, two controllers, 2 x 26 hand joints, the displayed body
with the affected side's 23 joints):

1. sustained throughput: frames the writer thread packs, compresses and commits per second,
   against 90 Hz real time (target: at least 100x);
2. bytes per recorded minute (chunk payload and database file growth), for smooth synthetic
   motion and for the same motion with tracking noise (0.5 mm, 0.001 quaternion units);
3. the render thread's cost of one ``record_frame`` while the writer runs (target: p99 at
   most 50 us), against a bare ``queue.Queue.put`` timed in the same loop of the same
   process as the baseline.

Usage: .venv/bin/python tools/bench_recording.py [--minutes 1] [--samples 10000] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from recording_synth import RATE_HZ, body, frame  # noqa: E402

from gmi_vr.core.types import Pose, TrackingFrame  # noqa: E402
from gmi_vr.recording.store import SessionStore  # noqa: E402


def _noisy(f: TrackingFrame, rng: np.random.Generator) -> TrackingFrame:
    def pose(p: Pose) -> Pose:
        q = p.orientation + rng.normal(0, 1e-3, 4)
        return Pose(p.position + rng.normal(0, 5e-4, 3), q / np.linalg.norm(q))

    def hand(h: Any) -> Any:
        joints = None
        if h.joints is not None:
            joints = h.joints + np.concatenate([rng.normal(0, 5e-4, (26, 3)), rng.normal(0, 1e-3, (26, 4))], axis=1)
        return replace(h, grip=pose(h.grip), aim=pose(h.aim), joints=joints)

    return replace(f, head=pose(f.head), left=hand(f.left), right=hand(f.right))


def _frames(n: int, noise: bool) -> list[tuple[TrackingFrame, Any]]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        f = frame(i)
        out.append((_noisy(f, rng) if noise else f, body(i)))
    return out


def _percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p))


def throughput(frames: list[Any], runs: int) -> dict[str, Any]:
    """Frames per second from enqueue to commit, median over ``runs`` fresh stores."""
    rates = []
    sizes = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            store = SessionStore.open(Path(tmp) / "bench.sqlite")
            from gmi_vr.recording.rows import PatientInfo

            store.add_patient(PatientInfo("B1", "left", "hand"))
            recorder = store.start_session("B1", source="bench", queue_frames=len(frames) + 1)
            start = time.perf_counter()
            for f, b in frames:
                recorder.record_frame(f, b)
            assert recorder.flush(timeout=600), "the writer did not finish"
            elapsed = time.perf_counter() - start
            stats = recorder.finish()
            assert stats.frames_written == len(frames) and stats.dropped_frames == 0
            rates.append(len(frames) / elapsed)
            with store.engine.connect() as conn:
                payload = conn.exec_driver_sql(
                    "SELECT sum(length(data) + length(stamps)) FROM motion_chunks"
                ).scalar_one()
            store.close()  # checkpoints the WAL into the file
            db = Path(tmp) / "bench.sqlite"
            sizes = {"payload": payload, "file": db.stat().st_size}
    minutes = len(frames) / RATE_HZ / 60
    return {
        "frames_per_s_median": statistics.median(rates),
        "frames_per_s_min": min(rates),
        "x_real_time_median": statistics.median(rates) / RATE_HZ,
        "x_real_time_min": min(rates) / RATE_HZ,
        "payload_bytes_per_min": sizes["payload"] / minutes,
        "file_bytes_per_min": sizes["file"] / minutes,
        "raw_float32_bytes_per_min": None,  # filled by the caller
    }


def enqueue_cost(frames: list[Any], samples: int) -> dict[str, Any]:
    """record_frame vs queue.Queue.put, timed alternately in one loop while the writer runs.

    The producer is paced at about 10x real time (a 1 ms sleep per frame) so the writer keeps
    up and the queue never fills: every call takes the real path, not the drop path.
    """
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore.open(Path(tmp) / "bench.sqlite")
        from gmi_vr.recording.rows import PatientInfo

        store.add_patient(PatientInfo("B1", "left", "hand"))
        recorder = store.start_session("B1", source="bench")
        bare: queue.Queue[object] = queue.Queue()
        ours_ns: list[float] = []
        bare_ns: list[float] = []
        clock = time.perf_counter_ns
        gc.collect()
        for k in range(samples):
            f, b = frames[k % len(frames)]
            if k % 2:  # alternate which call goes first after the sleep (cold caches)
                t0 = clock()
                bare.put((f, b))
                t1 = clock()
                recorder.record_frame(f, b)
                t2 = clock()
                bare_ns.append((t1 - t0) / 1000)
                ours_ns.append((t2 - t1) / 1000)
            else:
                t0 = clock()
                recorder.record_frame(f, b)
                t1 = clock()
                bare.put((f, b))
                t2 = clock()
                ours_ns.append((t1 - t0) / 1000)
                bare_ns.append((t2 - t1) / 1000)
            if k % 512 == 0:
                while not bare.empty():
                    bare.get_nowait()
            time.sleep(0.001)
        stats = recorder.finish()
        store.close()
    return {
        "record_frame_us_median": statistics.median(ours_ns),
        "record_frame_us_p99": _percentile(ours_ns, 99),
        "record_frame_us_max": max(ours_ns),
        "queue_put_us_median": statistics.median(bare_ns),
        "queue_put_us_p99": _percentile(bare_ns, 99),
        "ratio_median": statistics.median(ours_ns) / statistics.median(bare_ns),
        "ratio_p99": _percentile(ours_ns, 99) / _percentile(bare_ns, 99),
        "dropped_frames": stats.dropped_frames,
        "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="recorded minutes per throughput run")
    parser.add_argument("--runs", type=int, default=3, help="throughput runs (median reported)")
    parser.add_argument("--samples", type=int, default=10000, help="timed record_frame calls")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()

    n = int(args.minutes * 60 * RATE_HZ)
    smooth = _frames(n, noise=False)
    noisy = _frames(n, noise=True)
    from gmi_vr.recording import motion

    width = len(motion.channels(motion.recorded_body_joints(smooth[0][1])))
    raw = (width * 4 + 16) * RATE_HZ * 60
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "channels_per_frame": width,
        "smooth": throughput(smooth, args.runs),
        "noisy": throughput(noisy, args.runs),
        "enqueue": enqueue_cost(noisy, args.samples),
    }
    result["smooth"]["raw_float32_bytes_per_min"] = raw
    result["noisy"]["raw_float32_bytes_per_min"] = raw
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"session recording benchmark ({result['machine']}; {width} channels per frame, {n} frames per run)")
    for name in ("smooth", "noisy"):
        r = result[name]
        print(
            f"  {name:6} motion: {r['frames_per_s_median']:9.0f} frames/s median "
            f"({r['x_real_time_median']:.0f}x real time at 90 Hz; slowest run {r['x_real_time_min']:.0f}x), "
            f"{r['payload_bytes_per_min'] / 1e6:.2f} MB/min chunk payload, "
            f"{r['file_bytes_per_min'] / 1e6:.2f} MB/min file (uncompressed float32 {raw / 1e6:.2f} MB/min)"
        )
    e = result["enqueue"]
    print(
        f"  render-thread enqueue: record_frame median {e['record_frame_us_median']:.2f} us, "
        f"p99 {e['record_frame_us_p99']:.2f} us, max {e['record_frame_us_max']:.1f} us; "
        f"bare queue.put median {e['queue_put_us_median']:.2f} us, p99 {e['queue_put_us_p99']:.2f} us "
        f"(ratio median {e['ratio_median']:.2f}, p99 {e['ratio_p99']:.2f}; {e['samples']} samples, "
        f"{e['dropped_frames']} dropped)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
