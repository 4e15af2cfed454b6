"""The whole app's frame on a real OpenXR runtime, against pyopenxr's bare loop and Khronos'
native hello_xr, in one invocation.

Run inside the XR sandbox (Monado, null compositor at 20 Hz, 320x240 per eye, Mesa llvmpipe):

    tools/xr-sandbox run -- python tools/bench_app_frame.py [--frames 200] [--json out.json]

What runs, each in its own process, one after the other, against the same service while a
driver thread moves the head and both controllers through Monado's remote driver (a slow
seated reach with trigger presses now and then):

- ``hello_xr``: Khronos' C++ sample (Debian's libopenxr-utils), OpenGL, drawing its cubes.
- ``bare``: pyopenxr's helper loop with a ``glClear`` per view (tools/bench_xr_frame.py).
- ``app``: ``gmi-vr run --patient P`` (the CLI's own entry point, in process) for three
  patients whose sessions hold one block each: laterality, mirror and graded movement
  (``patients edit --set session.blocks=[...]``, the pain ratings at start and end off so
  the block starts at once); each with the therapist window (redrawn at most 15 Hz, as in
  a clinic) and without it (its redraw switched off).
- ``eyes one after the other``: the runs without the window once more, and one split run
  (below), with the renderer made to draw the eyes in two passes into two swapchains
  (``render.stereo``'s fallback) instead of the one pass it takes where the driver offers
  it; the report names the way each run drew its eyes.
- ``split``: the same app runs with the therapist window and without it once more, with every OpenGL
  entry point (and the window's buffer swap) and every pyopenxr call wrapped by a timer,
  splitting the frame into main-thread CPU inside GL, inside OpenXR and everything else
  (the Python side: tracking, body, therapy, recording, draw submission). On llvmpipe the
  GL share is the CPU doing the GPU's work; the Python side is what carries over to a
  machine with a GPU. The timers cost about 2 µs per wrapped call; the split's totals are
  therefore a little higher than the plain runs'.

Figures:

- Python processes: the main thread's CPU time (``time.thread_time_ns``) between
  consecutive frames handed out by the frame loop, over focused frames after a warm-up;
  frames missed from the predicted display times (a gap of n display periods is n - 1
  missed frames).
- Every process, hello_xr included: the main thread's CPU time sampled every 2 ms from
  ``/proc/PID/task/PID/schedstat`` (nanoseconds on the CPU) by this process. Runs of CPU
  separated by 15 ms or more of idle are frames (at 20 Hz a frame waits ~40 ms in
  xrWaitFrame); frames missed = display periods in the window minus frames seen. This is
  the only figure for hello_xr; for the Python loops it checks the method against the
  in-process one.

Ratios: each run's median and p99 against the bare loop's, and its median against
hello_xr's (in-process figures against hello_xr's sampled one; the two methods agree
within a few per cent on the bare loop and the runs without the therapist window, where
every frame is one run of CPU. With the window a frame waits for llvmpipe's threads part
way through, which splits it into several runs: there the sampled median is not a frame's).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench_support import sandbox_work_dir, write_figures

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tools"))

WARMUP_FRAMES = 30
#: The blocks measured, one patient each (names as in therapy/plan/program.py's session.blocks).
BLOCKS = ("laterality", "mirror", "graded_movement")
SAMPLE_INTERVAL_S = 0.002
FRAME_GAP_S = 0.015


# --------------------------------------------------------------------------- figures


def summary(costs_ns: list[int]) -> dict[str, float]:
    import numpy as np

    values = np.asarray(costs_ns, dtype=np.float64) / 1e6
    if values.size == 0:
        return {"frames": 0, "median_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}
    return {
        "frames": int(values.size),
        "median_ms": float(np.median(values)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
    }


def missed_frames(display_times_ns: list[int]) -> tuple[int, float]:
    """(frames missed, display period ms) from consecutive predicted display times."""
    import numpy as np

    if len(display_times_ns) < 3:
        return 0, math.nan
    deltas = np.diff(np.asarray(display_times_ns, dtype=np.int64))
    period = float(np.median(deltas))
    missed = int(sum(max(round(d / period) - 1, 0) for d in deltas))
    return missed, period / 1e6


# --------------------------------------------------------------------------- sampling any process


class ThreadSampler:
    """Samples one thread's CPU time (schedstat, ns) every SAMPLE_INTERVAL_S on a thread."""

    def __init__(self, pid: int, tid: int | None = None) -> None:
        self.path = f"/proc/{pid}/task/{tid or pid}/schedstat"
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with open(self.path) as handle:
                    cpu_ns = int(handle.read().split()[0])
            except (OSError, ValueError, IndexError):
                return  # the process ended
            self.samples.append((time.perf_counter(), cpu_ns))
            time.sleep(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def frames(self, skip_s: float) -> tuple[list[int], float]:
        """CPU ns of each run of CPU use separated by FRAME_GAP_S of idle, after ``skip_s``
        seconds, the partial first and last runs dropped; and the window's length (s)."""
        if not self.samples:
            return [], 0.0
        start = self.samples[0][0] + skip_s
        samples = [s for s in self.samples if s[0] >= start]
        bursts: list[int] = []
        starts: list[float] = []
        current = 0
        last_busy = -math.inf
        for (t0, c0), (t1, c1) in zip(samples, samples[1:], strict=False):
            used = c1 - c0
            if used <= 0:
                continue
            if t1 - last_busy > FRAME_GAP_S and current:
                bursts.append(current)
                current = 0
            if not current:
                starts.append(t0)
            current += used
            last_busy = t1
        if current:
            bursts.append(current)
        if len(bursts) < 3:
            return [], 0.0
        window_s = starts[-1] - starts[1]
        return bursts[1:-1], window_s


def sampled_summary(costs: list[int], window_s: float, period_ms: float) -> dict[str, float]:
    figures = summary(costs)
    if window_s > 0 and period_ms > 0:
        expected = window_s * 1000.0 / period_ms
        figures["missed"] = max(round(expected - len(costs)), 0)
    return figures


# --------------------------------------------------------------------------- children


def child_bare(frames: int, out: Path) -> None:
    from bench_xr_frame import WARMUP_FRAMES as BARE_WARMUP_FRAMES
    from bench_xr_frame import baseline_frames

    display_times: list[int] = []
    costs = baseline_frames(frames, display_times)
    missed, period_ms = missed_frames(display_times[BARE_WARMUP_FRAMES:])
    out.write_text(json.dumps({"costs": costs, "missed": missed, "period_ms": period_ms}))


class CallTimer:
    """Main-thread CPU inside wrapped functions, by category, with call counts."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = {"gl": 0, "xr": 0}
        self.calls: dict[str, int] = {"gl": 0, "xr": 0}
        self.depth = 0

    def wrap(self, function: Callable[..., Any], category: str) -> Callable[..., Any]:
        clock = time.thread_time_ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth:  # a wrapped call inside another (PyOpenGL wrappers call each other)
                return function(*args, **kwargs)
            self.depth = 1
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                self.ns[category] += clock() - start
                self.calls[category] += 1
                self.depth = 0

        return timed

    def install(self) -> None:
        import glfw
        import xr
        from OpenGL import GL

        import gmi_vr.render.mesh_buffer as mesh_buffer

        for name in dir(GL):
            value = getattr(GL, name)
            if name.startswith("gl") and callable(value):
                setattr(GL, name, self.wrap(value, "gl"))
        import OpenGL.GL.OVR.multiview as multiview

        import gmi_vr.render.skinned as skinned

        for module in (mesh_buffer, skinned):
            module.raw_draw_elements = self.wrap(module.raw_draw_elements, "gl")  # type: ignore[attr-defined]
            module.raw_draw_elements_instanced = self.wrap(module.raw_draw_elements_instanced, "gl")  # type: ignore[attr-defined]
        multiview.glFramebufferTextureMultiviewOVR = self.wrap(multiview.glFramebufferTextureMultiviewOVR, "gl")
        glfw.swap_buffers = self.wrap(glfw.swap_buffers, "gl")
        for name in dir(xr):
            value = getattr(xr, name)
            if name[:1].islower() and callable(value) and not isinstance(value, type):
                setattr(xr, name, self.wrap(value, "xr"))


#: Parts of the app's frame timed in every app run (main-thread CPU, inclusive of the GL
#: and OpenXR calls they make): (label, module, attribute path).
COMPONENTS = (
    ("tracking", "gmi_vr.xr.openxr_source", "OpenXrSource._track"),
    ("body", "gmi_vr.app.pipeline", "solve_body"),
    ("therapy", "gmi_vr.therapy.runner", "SessionRunner.update"),
    ("recording", "gmi_vr.app.pipeline", "SessionPipeline._record"),
    ("compose", "gmi_vr.app.pipeline", "SessionPipeline._compose"),
    ("eyes", "gmi_vr.xr.openxr_source", "OpenXrSource.present"),
    ("window", "gmi_vr.console.therapist_window", "TherapistWindow.show"),
)


def time_components() -> dict[str, int]:
    """Wrap each of COMPONENTS with a main-thread CPU timer; returns the running totals."""
    import importlib

    totals = dict.fromkeys((label for label, _, _ in COMPONENTS), 0)
    for label, module_name, path in COMPONENTS:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        function = getattr(owner, name)

        def timed(*args: Any, _function: Any = function, _label: str = label, **kwargs: Any) -> Any:
            start = time.thread_time_ns()
            try:
                return _function(*args, **kwargs)
            finally:
                totals[_label] += time.thread_time_ns() - start

        setattr(owner, name, timed)
    return totals


def child_app(patient: str, frames: int, console: bool, split: bool, two_pass: bool, out: Path) -> None:
    """``gmi-vr run --patient`` in this process, its frame loop timed per frame; ``two_pass``
    makes the renderer draw the eyes one after the other whatever the driver offers."""
    from gmi_vr.render.context import choose_gl_platform

    # Before anything below imports pyopenxr, which imports PyOpenGL: the platform choice
    # also turns PyOpenGL's per-call error checking off as ``gmi-vr run`` has it, and that
    # is only possible before PyOpenGL is loaded.
    choose_gl_platform(offscreen=False)
    from gmi_vr import cli
    from gmi_vr.app import headset
    from gmi_vr.xr.openxr_source import OpenXrSource

    if two_pass:
        import gmi_vr.render.renderer as renderer_module

        renderer_module.choose_stereo_path = lambda *_args: "two_pass"  # type: ignore[assignment]
    eyes: list[str] = []
    eye_drawing = headset.eye_drawing
    headset.eye_drawing = lambda *a: eyes.append(eye_drawing(*a)) or eyes[-1]  # type: ignore[assignment,func-returns-value]

    timer = CallTimer()
    if split:
        timer.install()
    totals = time_components()
    if not console:
        headset.ConsolePacer.due = lambda self: False  # type: ignore[method-assign]
    records: list[tuple[Any, ...]] = []
    original = OpenXrSource.frames

    def timed_frames(self: OpenXrSource) -> Iterator[Any]:
        for frame in original(self):
            records.append((time.thread_time_ns(), frame.time_ns, frame.focused,
                            timer.ns["gl"], timer.ns["xr"], timer.calls["gl"], *totals.values()))
            yield frame

    OpenXrSource.frames = timed_frames  # type: ignore[method-assign]
    status = cli.main(["run", "--patient", patient, "--max-frames", str(frames + WARMUP_FRAMES + 10)])
    focused = [r for r in records if r[2]][WARMUP_FRAMES:]
    pairs = list(zip(focused, focused[1:], strict=False))[:frames]
    result: dict[str, Any] = {
        "status": status,
        "costs": [b[0] - a[0] for a, b in pairs],
        "gl": [b[3] - a[3] for a, b in pairs],
        "xr": [b[4] - a[4] for a, b in pairs],
        "gl_calls": [b[5] - a[5] for a, b in pairs],
        "eyes": eyes[0] if eyes else "",
    }
    for k, label in enumerate(totals, start=6):
        result[f"part:{label}"] = [b[k] - a[k] for a, b in pairs]
    result["missed"], result["period_ms"] = missed_frames([r[1] for r in focused[: frames + 1]])
    out.write_text(json.dumps(result))


# --------------------------------------------------------------------------- the driver


def drive(stop: threading.Event) -> None:
    """Move the head and both controllers like a seated patient reaching, until ``stop``."""
    import numpy as np
    from support.monado_remote import ControllerState, MonadoRemote

    from gmi_vr.core.types import Pose
    from gmi_vr.geometry import quat_from_axis_angle

    with MonadoRemote() as remote:
        started = time.monotonic()
        while not stop.is_set():
            t = time.monotonic() - started
            yaw = math.radians(8.0) * math.sin(0.4 * t)
            head = Pose(np.array([0.02 * math.sin(0.3 * t), 1.20, 0.0]),
                        quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), yaw))
            reach = 0.5 - 0.5 * math.cos(0.8 * t)  # 0..1, about 8 s per reach
            press = 1.0 if (t % 3.0) < 0.3 else 0.0
            hands = []
            for side, x in (("left", -0.20), ("right", 0.20)):
                hands.append(ControllerState(
                    pose=Pose(np.array([x, 0.85 + 0.05 * reach, -0.25 - 0.20 * reach]),
                              np.array([0.0, 0.0, 0.0, 1.0])),
                    trigger=press if side == ("left" if int(t / 3.0) % 2 else "right") else 0.0,
                    trigger_click=bool(press) and side == ("left" if int(t / 3.0) % 2 else "right"),
                ))  # fmt: skip
            remote.set_all(head, hands[0], hands[1])
            stop.wait(1 / 30)


# --------------------------------------------------------------------------- the parent


def gmi_vr_cli(data: Path, *args: str) -> None:
    env = dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))
    subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], env=env, check=True, capture_output=True)


def run_child(args: list[str], data: Path, log: Path, out: Path) -> tuple[dict[str, Any], ThreadSampler]:
    env = dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))
    with open(log, "wb") as log_file:
        process = subprocess.Popen([sys.executable, __file__, "--child", *args, "--out", str(out)],
                                   env=env, stdout=log_file, stderr=subprocess.STDOUT)  # fmt: skip
        sampler = ThreadSampler(process.pid)
        status = process.wait()
        sampler.stop()
    if status != 0 or not out.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(args)} failed with status {status}:\n{tail}")
    return json.loads(out.read_text()), sampler


def run_hello_xr(seconds: float, work: Path) -> ThreadSampler:
    """hello_xr (OpenGL) for ``seconds``; it quits at a key on its stdin. Its OpenGL window
    needs display modes Xvfb does not have: tools/hello_xr_vidmode.c stands in for them."""
    shim = work / "hello_xr_vidmode.so"
    subprocess.run(["tcc", "-shared", "-nostdlib", "-o", str(shim), str(REPO / "tools" / "hello_xr_vidmode.c")],
                   check=True)  # fmt: skip
    env = dict(os.environ, LD_PRELOAD=str(shim))
    with open(work / "hello_xr.log", "wb") as log_file:
        process = subprocess.Popen(["hello_xr", "-g", "OpenGL"], stdin=subprocess.PIPE, env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT)  # fmt: skip
        sampler = ThreadSampler(process.pid)
        time.sleep(seconds)
        if process.poll() is not None:
            tail = (work / "hello_xr.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"hello_xr ended early with status {process.returncode}:\n{tail}")
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it may have ended already
            process.stdin.write(b"\n")
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)
        sampler.stop()
    return sampler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200, help="measured frames per run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-split", action="store_true", help="skip the GL / OpenXR / Python split runs")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind = args.child[0]
        if kind == "bare":
            from gmi_vr.render.context import choose_gl_platform

            choose_gl_platform(offscreen=False)
            child_bare(args.frames, args.out)
        else:
            patient, console, split = args.child[1], args.child[2] == "console", args.child[3] == "split"
            child_app(patient, args.frames, console, split, args.child[4:] == ["two_pass"], args.out)
        return 0

    work = sandbox_work_dir("bench_app_frame.py")
    if work is None:
        return 2
    data = work / "data"
    for block in BLOCKS:
        patient = f"BENCH-{block[:3].upper()}"
        gmi_vr_cli(data, "patients", "add", patient, "--side", "left", "--part", "hand", "--by", "bench")
        gmi_vr_cli(data, "patients", "edit", patient, "--set", f'session.blocks=["{block}"]',
                   "--set", "session.rating_at_start=false", "--set", "session.rating_at_end=false",
                   "--reason", "benchmark", "--by", "bench")  # fmt: skip

    stop = threading.Event()
    driver = threading.Thread(target=drive, args=(stop,), name="driver", daemon=True)
    driver.start()
    seconds = (args.frames + 2 * WARMUP_FRAMES) / 20.0
    results: dict[str, dict[str, Any]] = {}
    try:
        hello = run_hello_xr(seconds + 5.0, work)
        costs, window = hello.frames(skip_s=5.0)
        results["hello_xr"] = {"sampled": sampled_summary(costs, window, 50.0)}
        runs: list[tuple[str, list[str]]] = [("bare pyopenxr loop", ["bare"])]
        for block in BLOCKS:
            patient = f"BENCH-{block[:3].upper()}"
            runs.append((f"{block} + window", ["app", patient, "console", "plain"]))
            runs.append((f"{block}, no window", ["app", patient, "none", "plain"]))
        for block in BLOCKS:
            runs.append((f"{block}, no window, 2 passes", ["app", f"BENCH-{block[:3].upper()}", "none", "plain",
                                                            "two_pass"]))  # fmt: skip
        if not args.no_split:
            for block in BLOCKS:
                runs.append((f"{block} + window, split", ["app", f"BENCH-{block[:3].upper()}", "console", "split"]))
                runs.append((f"{block}, no window, split", ["app", f"BENCH-{block[:3].upper()}", "none", "split"]))
            runs.append((f"{BLOCKS[0]} + window, split, 2 passes", ["app", f"BENCH-{BLOCKS[0][:3].upper()}", "console",
                                                                    "split", "two_pass"]))  # fmt: skip
        for label, child in runs:
            slug = "-".join(child).replace(" ", "_")
            result, sampler = run_child(child, data, work / f"{slug}.log", work / f"{slug}.json")
            costs, window = sampler.frames(skip_s=0.0)
            entry = {"inside": summary(result["costs"]), "missed": result["missed"],
                     "period_ms": result["period_ms"]}  # fmt: skip
            entry["sampled"] = sampled_summary(costs, window, result["period_ms"])
            entry["parts"] = {key[5:]: summary(values) for key, values in result.items() if key.startswith("part:")}
            entry["eyes"] = result.get("eyes", "")
            if "gl" in result and any(result["gl"]):
                outside = [c - g for c, g in zip(result["costs"], result["gl"], strict=True)]
                entry["gl"] = summary(result["gl"])
                entry["xr"] = summary(result["xr"])
                entry["outside_gl"] = summary(outside)
                entry["gl_calls"] = summary([c * 1_000_000 for c in result["gl_calls"]])["median_ms"]
            results[label] = entry
            print(f"  measured {label}", file=sys.stderr, flush=True)
    finally:
        stop.set()
        driver.join(timeout=5)
    report(results)
    write_figures(args.json, results)
    return 0


def report(results: dict[str, dict[str, Any]]) -> None:
    bare = results["bare pyopenxr loop"]["inside"]
    hello = results["hello_xr"]["sampled"]
    print("Main-thread CPU per frame, ms (in-process timing; hello_xr sampled from schedstat)")
    print(f"{'run':34s}{'frames':>7s}{'median':>8s}{'p99':>8s}{'max':>8s}{'missed':>7s}"
          f"{'sampled med':>12s}{'x bare med':>11s}{'x bare p99':>11s}{'x hello':>8s}")  # fmt: skip
    h = hello
    print(f"{'hello_xr (native, OpenGL)':34s}{h['frames']:7d}{h['median_ms']:8.2f}{h['p99_ms']:8.2f}"
          f"{h['max_ms']:8.2f}{h.get('missed', 0):7d}{h['median_ms']:12.2f}{'':11s}{'':11s}{1.0:8.2f}")  # fmt: skip
    for label, entry in results.items():
        if label == "hello_xr":
            continue
        f, s = entry["inside"], entry["sampled"]
        print(f"{label:34s}{f['frames']:7d}{f['median_ms']:8.2f}{f['p99_ms']:8.2f}{f['max_ms']:8.2f}"
              f"{entry['missed']:7d}{s['median_ms']:12.2f}{f['median_ms'] / bare['median_ms']:11.2f}"
              f"{f['p99_ms'] / bare['p99_ms']:11.2f}{f['median_ms'] / hello['median_ms']:8.2f}")  # fmt: skip
    print()
    print("How each run drew the headset's eyes")
    for label, entry in results.items():
        if entry.get("eyes"):
            print(f"{label:34s}{entry['eyes']}")
    print()
    labels = [label for label, _, _ in COMPONENTS]
    print("Where the app's frame goes: main-thread CPU per part, ms median (inclusive of its GL calls)")
    print(f"{'run':34s}" + "".join(f"{label:>10s}" for label in labels))
    for label, entry in results.items():
        if entry.get("parts"):
            print(f"{label:34s}" + "".join(f"{entry['parts'][part]['median_ms']:10.2f}" for part in labels))
    splits = {k: v for k, v in results.items() if "outside_gl" in v}
    if not splits:
        return
    print()
    print("Split of the app's frame (timers on every GL and pyopenxr call), ms median/p99")
    print(f"{'run':34s}{'total':>14s}{'inside GL':>14s}{'outside GL':>14s}{'of it OpenXR':>14s}"
          f"{'GL calls':>9s}{'outside GL x bare':>19s}")  # fmt: skip
    for label, entry in splits.items():
        cells = "".join(f"{entry[k]['median_ms']:7.2f}/{entry[k]['p99_ms']:<6.2f}"
                        for k in ("inside", "gl", "outside_gl", "xr"))
        ratio = (f"{entry['outside_gl']['median_ms'] / bare['median_ms']:.2f}/"
                 f"{entry['outside_gl']['p99_ms'] / bare['p99_ms']:.2f}")
        print(f"{label:34s}{cells}{entry['gl_calls']:9.0f}{ratio:>19s}")

if __name__ == "__main__":
    sys.exit(main())
