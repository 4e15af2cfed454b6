"""What the Lab Streaming Layer streams cost the render thread when their consumer stalls.

    .venv/bin/python tools/bench_lsl.py [--frames 2700] [--rate 90] [--block 90] [--json out.json]

One process runs a patient's recorded session frame by frame (the shipped demo session's
motion: ratings, laterality trials; ``SessionPipeline.step`` + ``presented`` as the session
loop calls them, with the recorder writing a real SQLite store in a temporary folder), paced
at ``--rate`` frames per second as a headset would pace it. The streams are open for the
whole run and a consumer process has inlets on all three, then is stopped (SIGSTOP): its TCP
windows fill up, as with a recorder that hangs. Blocks of ``--block`` frames alternate
between the pipeline with the streams attached and without them, so both see the same
machine load, the same writer thread and the same stalled outlets; the streams' worker
thread keeps running in both (it has nothing to push in the blocks without).

Per frame: the render thread's wall time and CPU time (``time.thread_time_ns``) for step +
presented. Printed: median and p99 of each with and without the streams, and their ratios;
the items the streams dropped (their queue full: the render thread never waits) and how
many samples the outlets took.

Rendering is left out: the streams touch the frame only in the pipeline (an enqueue per
frame, event and rating); their worker competes for the interpreter lock, which these
timings include. Discovery stays on this machine (a machine-only lsl_api.cfg) unless
``--network`` is given.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_support import write_figures

CONSUMER = """
import sys, time, pylsl
station = sys.argv[1]
inlets = []
for name in ("motion", "events", "pain"):
    found = []
    while not found:
        found = pylsl.resolve_byprop("source_id", f"gmi-vr@{station}/{name}", 1, 1.0)
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(timeout=10.0)
    inlets.append(inlet)
print("ready", flush=True)
while True:
    time.sleep(3600)
"""

MACHINE_ONLY = "[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\nMachineAddresses = {127.0.0.1}\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p99": percentile(values, 99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=2700, help="frames in all (default: 30 s at 90 Hz)")
    parser.add_argument("--rate", type=float, default=90.0, help="frames per second (a headset's pace)")
    parser.add_argument("--block", type=int, default=90, help="frames per block; blocks alternate")
    parser.add_argument("--network", action="store_true", help="use this machine's own LSL configuration")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="gmi-vr-bench-lsl-"))
    station = f"bench-{uuid.uuid4().hex[:8]}"
    if not args.network:
        (folder / "lsl_api.cfg").write_text(MACHINE_ONLY)
        os.environ["LSLAPICFG"] = str(folder / "lsl_api.cfg")
    os.environ["GMI_VR_DATA"] = str(folder / "data")
    os.environ["GMI_VR_CONFIG"] = str(folder / "absent.toml")

    from gmi_vr.app.demo import DEMO_SESSION_MOTION
    from gmi_vr.app.patients import add_patient
    from gmi_vr.app.session_setup import session_pipeline
    from gmi_vr.assets.locations import data_dir
    from gmi_vr.recording.lsl import LslStreams
    from gmi_vr.recording.store import SessionStore
    from gmi_vr.xr.sim_source import ScriptedFrameSource, load_motion

    with SessionStore.open() as store:
        add_patient(store, "BENCH-1", "left", "hand", therapist="bench")
    motion = load_motion(data_dir() / DEMO_SESSION_MOTION)
    period_ns = int(1e9 / args.rate)
    timings: dict[bool, dict[str, list[float]]] = {on: {"wall_us": [], "cpu_us": []} for on in (False, True)}
    with LslStreams(station) as streams:
        consumer = subprocess.Popen([sys.executable, "-c", CONSUMER, station], stdout=subprocess.PIPE, text=True)
        try:
            assert consumer.stdout is not None and consumer.stdout.readline().strip() == "ready"
            os.kill(consumer.pid, signal.SIGSTOP)  # the recorder hangs: it reads nothing from now on
            with session_pipeline("BENCH-1", source="sim", seed=1) as pipeline, ScriptedFrameSource(motion) as source:
                next_due = time.monotonic_ns()
                for frame in source.frames():
                    if frame.index >= args.frames:
                        break
                    on = (frame.index // args.block) % 2 == 1
                    pipeline.streams = streams if on else None
                    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
                    pipeline.step(frame, presented_later=True)
                    pipeline.presented(frame.time_ns)
                    if frame.index >= args.block:  # the first block warms up (avatar, caches)
                        timings[on]["wall_us"].append((time.perf_counter_ns() - wall) / 1e3)
                        timings[on]["cpu_us"].append((time.thread_time_ns() - cpu) / 1e3)
                    next_due += period_ns
                    delay = next_due - time.monotonic_ns()
                    if delay > 0:
                        time.sleep(delay / 1e9)
                pipeline.streams = None
        finally:
            os.kill(consumer.pid, signal.SIGKILL)
            consumer.wait()
        stats = streams.close()

    figures: dict[str, Any] = {"frames_timed": {str(k): len(v["wall_us"]) for k, v in timings.items()},
                               "rate_hz": args.rate, "block": args.block}  # fmt: skip
    for name in ("wall_us", "cpu_us"):
        without, with_ = summary(timings[False][name]), summary(timings[True][name])
        figures[name] = {"without_lsl": without, "with_lsl_stalled_consumer": with_,
                         "ratio_median": with_["median"] / without["median"],
                         "ratio_p99": with_["p99"] / without["p99"]}  # fmt: skip
    figures["streams"] = {"motion_samples": stats.motion_samples, "markers": stats.markers,
                          "ratings": stats.ratings, "dropped": stats.dropped}  # fmt: skip
    print(f"frame loop (pipeline step + presented, {args.rate:g} Hz, blocks of {args.block} alternating), "
          f"{figures['frames_timed']['True']} frames with the streams and a stalled consumer, "
          f"{figures['frames_timed']['False']} without:")
    for name, label in (("wall_us", "wall time"), ("cpu_us", "thread CPU")):
        f = figures[name]
        print(f"  {label:10}  without: median {f['without_lsl']['median']:8.1f} us  p99 {f['without_lsl']['p99']:8.1f} us"
              f"   with: median {f['with_lsl_stalled_consumer']['median']:8.1f} us  "
              f"p99 {f['with_lsl_stalled_consumer']['p99']:8.1f} us   ratio median {f['ratio_median']:.3f}  "
              f"p99 {f['ratio_p99']:.3f}")
    s = figures["streams"]
    print(f"  streams: {s['motion_samples']} motion samples, {s['markers']} markers, {s['ratings']} ratings "
          f"taken by the outlets; {s['dropped']} dropped from a full queue")
    write_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
