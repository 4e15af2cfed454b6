"""Benchmark: the therapist console's CPU cost per draw against the same window without it.

Runs in a real window (needs an X display: under Xvfb, ``tools/with-xvfb.py``). One window,
one session-sized panel of data (a block of 64 trials, ten pain ratings, 500 logged events,
a minute of frame times); each sample is one ``TherapistWindow.show`` followed by glFinish,
timed as the calling thread's CPU time (what the render thread spends; llvmpipe's worker
threads are not in it) and wall time. The baseline is the same window and the same views
with the console switched off (its column left empty), interleaved with the console's draws
in the same run (in pairs). Prints median, mean and p99 of both and the console's own share
(``Console.draw`` alone); the mean counts the third-person pane drawn on every other draw.
The headset never waits for any of it: the window is drawn at most ``CONSOLE_MAX_HZ`` times
a second (gmi_vr/app/loop.py).

Usage: .venv/bin/python tools/with-xvfb.py .venv/bin/python tools/bench_console.py [--draws 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from gmi_vr.render.context import choose_gl_platform

choose_gl_platform(offscreen=False)

from OpenGL import GL  # noqa: E402  (after the platform choice, on purpose)

from gmi_vr.app import demo_draw_list  # noqa: E402
from gmi_vr.app.window_setup import open_therapist_window  # noqa: E402
from gmi_vr.assets.locations import shipped_data_dir  # noqa: E402
from gmi_vr.console.panels import SessionPanel  # noqa: E402
from gmi_vr.xr.sim_source import ScriptedFrameSource  # noqa: E402


def session_panel() -> SessionPanel:
    """A busy session's worth of figures (what the console shows late in a long session)."""
    rng = np.random.default_rng(1)
    rt = {side: tuple(float(v) for v in rng.normal(1400, 250, 32)) for side in ("left", "right")}
    accuracy = {side: tuple(float(v) for v in np.linspace(0.6, 0.9, 32)) for side in ("left", "right")}
    return SessionPanel(
        title="patient P001  |  headset: bench", plan=("rating:start", "block:laterality", "block:laterality",
                                                       "rating:end"),
        current="laterality", progress="this block: 64 trials answered or timed out", limb_mode="blend",
        blend=0.35, session_time_s=1320.0,
        events=tuple((float(i) * 2.5, f"event {i}") for i in range(500)), rt_ms=rt, accuracy=accuracy,
        pain=tuple((float(i) * 120, int(v)) for i, v in enumerate(rng.integers(0, 8, 10))),
        frame_ms=tuple(float(v) for v in rng.normal(11.1, 0.4, 900)), recorder_queue=3,
    )  # fmt: skip


def measure(action: Callable[[], None]) -> tuple[float, float]:
    c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
    action()
    GL.glFinish()
    return (time.thread_time_ns() - c0) / 1e6, (time.perf_counter_ns() - w0) / 1e6


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()

    frames = list(ScriptedFrameSource.from_file(shipped_data_dir() / "demo-reach.jsonl").frames())
    frame = frames[-1]
    draw_list = demo_draw_list(frame)
    with open_therapist_window("gmi-vr console benchmark", visible=False, console=True) as window:
        console = window.console
        assert console is not None
        window.panel = session_panel()
        width, height = window.context.framebuffer_size()
        panel_x = width - window.view.panel_px

        def with_console() -> None:
            window.console = console
            window.show(draw_list, frame, "bench")

        def without_console() -> None:
            window.console = None  # the same views in the same place, the column left empty
            window.show(draw_list, frame, "bench")

        def console_alone() -> None:
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            GL.glViewport(0, 0, width, height)
            console.draw(window.panel, panel_x, width, height, 1 / 15)

        samples: dict[str, list[tuple[float, float]]] = {"window": [], "window + console": [], "console": []}
        for _ in range(10):  # warm-up: glyph atlas, shaders, imgui's fonts
            with_console()
            without_console()
        # Interleaved, so all three see the same machine state; in pairs, so each window
        # kind has its third-person pane drawn in one draw of two, as the live window does.
        for _ in range(args.draws // 2):
            for name, action in (("window", without_console), ("window + console", with_console),
                                 ("console", console_alone)):  # fmt: skip
                samples[name] += [measure(action), measure(action)]
        window.console = console  # released with the window

    print(f"therapist window {width}x{height}, {args.draws} draws each, interleaved (ms)")
    print(f"{'':18} {'CPU median':>11} {'CPU mean':>9} {'CPU p99':>9} {'wall median':>12} {'wall p99':>9}")
    for name, values in samples.items():
        cpu = [c for c, _ in values]
        wall = [w for _, w in values]
        print(f"{name:18} {statistics.median(cpu):11.2f} {statistics.fmean(cpu):9.2f} {p99(cpu):9.2f} "
              f"{statistics.median(wall):12.2f} {p99(wall):9.2f}")
    extra = statistics.median([c for c, _ in samples["window + console"]]) - statistics.median(
        [c for c, _ in samples["window"]])
    print(f"the console adds {extra:.2f} ms CPU per draw (median); at most 15 draws a second")


if __name__ == "__main__":
    main()
