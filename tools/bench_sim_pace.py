"""Benchmark: does a patient session on the desktop simulator keep real time at 30 Hz?

    python tools/with-xvfb.py python tools/bench_sim_pace.py [--seconds 30] [--json out.json]

Runs ``gmi-vr run --sim --patient P --motion M`` in process (``app.simulator.run_sim`` with the
therapist window and its console, in Xvfb on software OpenGL) for a fixed wall time per
block, one patient per block: laterality, mirror and graded movement, each the only block
of its session. The motion file is written here: a seated patient reaching forward and
back with the right hand every 4 s, the head swaying a little, a trigger tap (sides in
turn) every 4 s; 30 frames per second, the rate the simulator is meant to keep.

Per run it prints, over the frames after a 3 s warm-up:

- frames stepped per wall second and how many the window drew;
- the loop's work per frame (wall time from a frame handed out to the next one asked
  for: stepping, recording and drawing; the pacer's waits left out), median and p99;
- session time over wall time: how far the session's clock (the frames' own times) moved
  per second of wall clock. 1.00 is real time; below it trials last longer than the
  motion says and longer than the patient's wall clock;
- the process's CPU time (all threads: llvmpipe draws on its own) per wall second, and per
  frame: the median of frames stepped without a window draw and of frames with one; from
  those, the cores a session needs to step 30 frames a second with the window at its
  rate. On a loaded machine the wall figures stretch while the CPU ones hardly do: below
  1 core, a free core keeps real time at 30 Hz.

``--baseline`` runs each block once more with the simulator as it was before it learned
to keep time (every frame stepped, the window drawn every frame with 4x multisampled panes);
same motion, same process, so the two lines compare.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_support import write_figures

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RATE_HZ = 30
WARMUP_S = 3.0
#: The blocks measured, one patient each (names as in therapy/plan/program.py's session.blocks).
BLOCKS = ("laterality", "mirror", "graded_movement")
REACH_PERIOD_S = 4.0


# --------------------------------------------------------------------------- the session


def write_motion(path: Path, seconds: float, rate_hz: int = RATE_HZ) -> None:
    """A motion file of ``seconds``: the right hand reaching forward and back every
    REACH_PERIOD_S, the head swaying a few degrees, one trigger tap per period (left and
    right in turn)."""
    lines = [json.dumps({"format": "gmi-vr-motion", "version": 1, "rate_hz": rate_hz})]
    rest = {"left": [-0.18, 0.86, -0.38], "right": [0.18, 0.86, -0.38]}
    periods = int(math.ceil(seconds / REACH_PERIOD_S))
    for k in range(periods):
        t0 = k * REACH_PERIOD_S
        tap = "left" if k % 2 else "right"
        other = "right" if tap == "left" else "left"
        sway = 4.0 * math.sin(k * 0.7)
        reach = [rest["right"][0] - 0.05, rest["right"][1] + 0.06, rest["right"][2] - 0.2]
        keys: list[dict[str, Any]] = [
            {"t": t0, "head": {"yaw_pitch_roll_deg": [sway, -15.0, 0.0]},
             "left": {"position": rest["left"], "trigger": 0.0}, "right": {"position": rest["right"], "trigger": 0.0}},
            {"t": t0 + 1.4, "right": {"position": reach}},
            {"t": t0 + 2.8, "head": {"yaw_pitch_roll_deg": [-sway, -15.0, 0.0]}, "right": {"position": rest["right"]}},
            {"t": t0 + 3.0, tap: {"trigger": 0.0}, other: {"trigger": 0.0}},
            {"t": t0 + 3.1, tap: {"trigger": 1.0}},
            {"t": t0 + 3.3, tap: {"trigger": 1.0}},
            {"t": t0 + 3.4, tap: {"trigger": 0.0}},
        ]  # fmt: skip
        lines += [json.dumps(key) for key in keys]
    lines.append(json.dumps({"t": periods * REACH_PERIOD_S}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def prepare_patient(patient: str, blocks: list[str], cap_s: float) -> None:
    """Add ``patient`` (left hand affected) whose session runs ``blocks`` for up to ``cap_s``
    without questions that wait for an answer (pain ratings, sickness scale, breaks)."""
    from gmi_vr import cli

    if cli.main(["patients", "add", patient, "--side", "left", "--part", "hand", "--by", "bench"]) != 0:
        raise SystemExit(f"cannot add patient {patient}")
    settings = {
        "session.blocks": json.dumps(blocks), "session.rating_at_start": "false",
        "session.rating_at_end": "false", "safety.rating_every_s": "0", "safety.fms_every_s": "0",
        "safety.ask_since_last": "false", "safety.session_cap_s": str(cap_s),
        "safety.break_every_s": str(cap_s),
    }  # fmt: skip
    argv = ["patients", "edit", patient, "--reason", "benchmark", "--by", "bench"]
    for key, value in settings.items():
        argv += ["--set", f"{key}={value}"]
    if cli.main(argv) != 0:
        raise SystemExit(f"cannot set up patient {patient}")


@dataclass
class FrameLog:
    """What the loop did, per frame handed out: wall time of the hand-out (monotonic ns),
    the frame's own time (s), the work since the previous hand-out (ns, waits left out) and
    its CPU time, whether the window was drawn in it; the process's RSS (bytes) sampled every
    ``rss_every_s`` with this log's own size then. Compact arrays, not lists of Python
    numbers: a long run's log must not be what grows."""

    handed_ns: array = field(default_factory=lambda: array("q"))
    cpu_ns: array = field(default_factory=lambda: array("q"))  # the process's CPU time (all threads) at each hand-out
    frame_s: array = field(default_factory=lambda: array("d"))
    work_ns: array = field(default_factory=lambda: array("q"))
    work_cpu_ns: array = field(default_factory=lambda: array("q"))
    drew: array = field(default_factory=lambda: array("b"))
    #: The session's task in each frame's work (an index into ``tasks``; 0: none), so that
    #: windows of a long run can be compared task by task.
    task: array = field(default_factory=lambda: array("b"))
    tasks: list[str | None] = field(default_factory=lambda: [None])
    current_task: str | None = None
    rss: list[tuple[int, int, int]] = field(default_factory=list)  # (monotonic ns, RSS bytes, log bytes)
    draws: int = 0

    def task_code(self, task: str | None) -> int:
        if task not in self.tasks:
            self.tasks.append(task)
        return self.tasks.index(task)

    def size_bytes(self) -> int:
        """What this log holds in memory now, bytes (allocated, not only used)."""
        arrays = (self.handed_ns, self.cpu_ns, self.frame_s, self.work_ns, self.work_cpu_ns, self.drew, self.task)
        return sum(sys.getsizeof(a) for a in arrays) + sys.getsizeof(self.rss) + 72 * len(self.rss)


def rss_bytes() -> int:
    """This process's resident set size (all threads share it: the render thread's)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def logged_run(wall_s: float, rss_every_s: float = 10.0, progress: Callable[[str], None] | None = None) -> Iterator[FrameLog]:
    """Wrap ``app.simulator``'s pacing so that the run ends after ``wall_s`` (the motion "ends"),
    and log every frame handed to the loop."""
    import gmi_vr.app.simulator as sim
    from gmi_vr.app.pipeline import SessionPipeline
    from gmi_vr.console.therapist_window import TherapistWindow

    log = FrameLog()
    paced, show, step = sim._paced, TherapistWindow.show, SessionPipeline.step

    def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        frames = iter(paced(*args, **kwargs))
        start = time.monotonic_ns()
        deadline = start + int(wall_s * 1e9)
        next_rss = start
        next_note = start + 60_000_000_000
        last: int | None = None
        draws = 0
        while True:
            asked, asked_cpu = time.monotonic_ns(), time.process_time_ns()
            if last is not None:
                log.work_ns.append(asked - last)
                log.work_cpu_ns.append(asked_cpu - log.cpu_ns[-1])
                log.drew.append(log.draws > draws)
                log.task.append(log.task_code(log.current_task))
                draws = log.draws
            if asked >= next_rss:
                log.rss.append((asked, rss_bytes(), log.size_bytes()))
                next_rss += int(rss_every_s * 1e9)
            if progress is not None and asked >= next_note:
                progress(f"{(asked - start) / 60e9:.0f} min")
                next_note += 60_000_000_000
            frame = next(frames, None)
            now = time.monotonic_ns()
            if frame is None or now >= deadline:
                return
            log.handed_ns.append(now)
            log.cpu_ns.append(time.process_time_ns())
            log.frame_s.append(frame.time_s)
            last = now
            yield frame

    def counted_show(self: Any, *args: Any, **kwargs: Any) -> Any:
        log.draws += 1
        return show(self, *args, **kwargs)

    def noted_step(self: Any, *args: Any, **kwargs: Any) -> Any:
        output = step(self, *args, **kwargs)
        log.current_task = self.runner.task_kind if self.runner is not None else None
        return output

    sim._paced = timed  # type: ignore[assignment]
    TherapistWindow.show = counted_show  # type: ignore[method-assign]
    SessionPipeline.step = noted_step  # type: ignore[method-assign]
    try:
        yield log
    finally:
        sim._paced = paced  # type: ignore[assignment]
        TherapistWindow.show = show  # type: ignore[method-assign]
        SessionPipeline.step = step  # type: ignore[method-assign]


def run_session(motion: Path, patient: str, wall_s: float, **options: Any) -> FrameLog:
    """One recorded patient session on the simulator for ``wall_s`` of wall time."""
    from gmi_vr.app.simulator import run_sim

    with logged_run(wall_s, **options) as log:
        run_sim(motion, patient_id=patient, visible=True, report=lambda line: None)
    return log


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def figures(log: FrameLog, since_ns: int | None = None, until_ns: int | None = None,
            task: str | None = None) -> dict[str, float]:  # fmt: skip
    """The pace over the frames handed out in [since_ns, until_ns) (monotonic ns); with
    ``task``, over the frames whose work was that task's only (compare their work and CPU
    figures: the rate and the clock of a task's scattered frames say nothing)."""
    picked = [i for i, t in enumerate(log.handed_ns)
              if (since_ns is None or t >= since_ns) and (until_ns is None or t < until_ns)]  # fmt: skip
    if task is not None and task in log.tasks:
        code = log.tasks.index(task)
        picked = [i for i in picked if i < len(log.task) and log.task[i] == code]
    elif task is not None:
        picked = []
    if len(picked) < 3:
        return {"frames": len(picked)}
    first, last = picked[0], picked[-1]
    wall = (log.handed_ns[last] - log.handed_ns[first]) / 1e9
    work = [log.work_ns[i] / 1e6 for i in picked if i < len(log.work_ns)]
    step_cpu = [log.work_cpu_ns[i] / 1e6 for i in picked if i < len(log.work_cpu_ns) and not log.drew[i]]
    drawn_cpu = [log.work_cpu_ns[i] / 1e6 for i in picked if i < len(log.work_cpu_ns) and log.drew[i]]
    return {
        "frames": len(picked),
        "rate_hz": (len(picked) - 1) / wall,
        "work_median_ms": percentile(work, 0.5),
        "work_p99_ms": percentile(work, 0.99),
        "session_per_wall": (log.frame_s[last] - log.frame_s[first]) / wall,
        "cpu_per_wall": (log.cpu_ns[last] - log.cpu_ns[first]) / 1e9 / wall,
        "step_cpu_median_ms": percentile(step_cpu, 0.5) if step_cpu else math.nan,
        "drawn_cpu_median_ms": percentile(drawn_cpu, 0.5) if drawn_cpu else math.nan,
        "step_cpu_p99_ms": percentile(step_cpu, 0.99) if step_cpu else math.nan,
        "drawn_cpu_p99_ms": percentile(drawn_cpu, 0.99) if drawn_cpu else math.nan,
    }


def cores_needed(entry: dict[str, float], window_max_hz: float | None) -> float:
    """CPU cores the run needs to step RATE_HZ frames a second with the window redrawn at
    most ``window_max_hz``: the median CPU of a frame without a draw and of one with,
    weighted by how many of each a second holds. Load on the machine stretches wall times
    but hardly CPU times, so this says whether a free core would keep real time."""
    window_hz = RATE_HZ if window_max_hz is None else min(window_max_hz, RATE_HZ)
    step = entry["step_cpu_median_ms"] if RATE_HZ > window_hz else 0.0
    return ((RATE_HZ - window_hz) * step + window_hz * entry["drawn_cpu_median_ms"]) / 1000.0


# --------------------------------------------------------------------------- old settings


@contextmanager
def old_settings() -> Iterator[None]:
    """The simulator as it was: every frame stepped however late (the session's clock slows
    down with the drawing), the window drawn every frame with 4x multisampled full-size panes."""
    import gmi_vr.app.simulator as sim

    names = ("SIM_WINDOW_MAX_HZ", "SIM_PANE_SAMPLES", "SIM_PANE_SCALE", "_paced")
    saved = {name: getattr(sim, name) for name in names}
    paced = saved["_paced"]

    def every_frame(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return paced(*args, **{**kwargs, "catch_up": False})

    for name, value in zip(names, (None, 4, 1.0, every_frame), strict=True):
        setattr(sim, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(sim, name, value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="wall time per run")
    parser.add_argument("--baseline", action="store_true", help="also run each block with the old settings")
    parser.add_argument("--blocks", nargs="+", default=list(BLOCKS), choices=BLOCKS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sim-pace-"))
    os.environ["GMI_VR_DATA"] = str(work / "data")
    os.environ["GMI_VR_CONFIG"] = str(work / "none.toml")
    motion = work / "motion.jsonl"
    write_motion(motion, args.seconds + 30.0)
    runs: list[tuple[str, str, bool]] = []
    for block in args.blocks:
        patient = f"PACE-{block[:3].upper()}"
        prepare_patient(patient, [block], 3600.0)
        runs.append((block, patient, False))
        if args.baseline:
            runs.append((f"{block}, old settings", patient, True))
    results: dict[str, dict[str, float]] = {}
    for label, patient, old in runs:
        with old_settings() if old else contextlib.nullcontext():
            import gmi_vr.app.simulator as sim

            window_max_hz = sim.SIM_WINDOW_MAX_HZ
            log = run_session(motion, patient, args.seconds)
        entry = figures(log, since_ns=log.handed_ns[0] + int(WARMUP_S * 1e9))
        wall = (log.handed_ns[-1] - log.handed_ns[0]) / 1e9
        entry["window_hz"] = log.draws / wall
        entry["cores_for_30_hz"] = cores_needed(entry, window_max_hz)
        results[label] = entry
        print(f"  measured {label}", file=sys.stderr, flush=True)
    print(f"Simulator patient session, motion at {RATE_HZ} Hz, {args.seconds:.0f} s wall per run "
          f"(ms; CPU: the whole process, llvmpipe's threads included)")  # fmt: skip
    print(f"{'run':32s}{'frames/s':>9s}{'window/s':>9s}{'work med':>9s}{'work p99':>9s}{'session/wall':>13s}"
          f"{'CPU/wall':>9s}{'CPU step':>9s}{'CPU draw':>9s}{'cores@30Hz':>11s}")  # fmt: skip
    for label, e in results.items():
        print(f"{label:32s}{e['rate_hz']:9.1f}{e['window_hz']:9.1f}{e['work_median_ms']:9.1f}"
              f"{e['work_p99_ms']:9.1f}{e['session_per_wall']:13.2f}{e['cpu_per_wall']:9.2f}"
              f"{e['step_cpu_median_ms']:9.1f}{e['drawn_cpu_median_ms']:9.1f}{e['cores_for_30_hz']:11.2f}")  # fmt: skip
    write_figures(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
