"""Benchmark: the session's whole frame offscreen, at a headset's resolution, on any GL.

Runs without an OpenXR runtime or a display: a surfaceless EGL context (Mesa llvmpipe here;
a GPU's own EGL where there is one), so the same figures can be taken on a machine with a
GPU, where the XR sandbox of ``bench_app_frame.py`` is not available.

Usage: .venv/bin/python tools/bench_session_frame.py [--frames 300] [--width 1832] [--height 1920]
       [--paths multiview,layered,two_pass]

For each block (laterality, mirror, graded movement; one patient each in a throw-away data
folder, the pain ratings at start and end off so the block starts at once), the real
session pipeline (``app.session_setup.session_pipeline``: body solve, therapy, recording to a real
SQLite store) is fed a scripted 90 Hz seated reach, and each frame's draw list is drawn for
both eyes into a two-layer linear RGBA8 texture array at the chosen size, as the headset's
one-pass swapchain gets it (``Renderer.draw_stereo``), once for each way of drawing the eyes
the driver offers (multiview, layered, one eye after the other). Per frame, on the main
thread:

- ``step``: the thread's CPU time in ``SessionPipeline.step`` (tracking to draw list);
- ``submit``: its CPU time issuing both eyes' GL calls (on a GPU: Python and the driver);
- ``frame``: wall time from the start of the step until glFinish returned (the GPU done).

The baseline, measured in the same process on the same target, is the bare frame: both
eyes cleared, then glFinish. Prints median, p99 and max of each, the Python
side (step + submit) against the 11.1 ms of a 90 Hz frame, and the whole frame against the
bare frame.
On llvmpipe ``submit`` includes the rasteriser's work on the calling thread; on a GPU it is
the part that stays on the CPU.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=True)

from OpenGL import GL  # noqa: E402  (after the platform choice, on purpose)

#: The blocks measured, one patient each (names as in therapy/plan/program.py's session.blocks).
BLOCKS = ("laterality", "mirror", "graded_movement")
WARMUP_FRAMES = 30
FRAME_BUDGET_MS = 1000.0 / 90.0
RATE_HZ = 90


def reach_motion(seconds: float) -> str:
    """A seated patient reaching forward and back with the right hand every 4 s, looking
    down at the table, as a motion file (docs/motion-file.md) keyed at 90 Hz."""
    lines = [f'{{"format": "gmi-vr-motion", "version": 1, "rate_hz": {RATE_HZ}}}']
    for index in range(int(seconds * 10) + 1):  # keyframes at 10 Hz; the source interpolates
        t = index / 10
        phase = 0.5 - 0.5 * math.cos(2 * math.pi * t / 4.0)
        lines.append(
            f'{{"t": {t:.2f}, "head": {{"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": '
            f'[{4 * math.sin(t):.2f}, -18, 0]}}, "left": {{"position": [-0.2, 0.84, -0.36], '
            f'"yaw_pitch_roll_deg": [4, -18, 0]}}, "right": {{"position": [0.2, {0.84 + 0.06 * phase:.3f}, '
            f'{-0.36 - 0.22 * phase:.3f}], "yaw_pitch_roll_deg": [-4, {-18 + 10 * phase:.1f}, 0], '
            f'"trigger": {1.0 if 0.45 < phase < 0.55 else 0.0}}}}}'
        )
    return "\n".join(lines)


def gmi_vr_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], env=os.environ.copy(), check=True,
                   capture_output=True)  # fmt: skip


def stats(values: list[float]) -> tuple[float, float, float]:
    array = np.asarray(values)
    return float(np.median(array)), float(np.percentile(array, 99)), float(array.max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="measured frames per block")
    parser.add_argument("--width", type=int, default=1832, help="per eye (default: Quest 2's 1832x1920)")
    parser.add_argument("--height", type=int, default=1920)
    parser.add_argument("--paths", default="", help="ways of drawing the eyes to measure, comma-separated "
                        "(default: every one the driver offers)")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-session-frame-"))
    os.environ.update(GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))
    for block in BLOCKS:
        patient = f"BENCH-{block[:3].upper()}"
        gmi_vr_cli("patients", "add", patient, "--side", "left", "--part", "hand", "--by", "bench")
        gmi_vr_cli("patients", "edit", patient, "--set", f'session.blocks=["{block}"]',
                   "--set", "session.rating_at_start=false", "--set", "session.rating_at_end=false",
                   "--reason", "benchmark", "--by", "bench")  # fmt: skip

    from gmi_vr.app.session_setup import installed_stimulus_meshes, session_pipeline
    from gmi_vr.geometry.camera import Camera
    from gmi_vr.render.context import open_offscreen_context
    from gmi_vr.render.renderer import Renderer
    from gmi_vr.render.stereo import gl_extensions, offered_paths
    from gmi_vr.render.target import LayeredRenderTarget
    from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

    frames_needed = args.frames + WARMUP_FRAMES
    motion = parse_motion(reach_motion(frames_needed / RATE_HZ + 1.0))
    rows: list[tuple[str, dict[str, list[float]]]] = []
    with open_offscreen_context():
        first = Renderer()
        offered = offered_paths(gl_extensions())
        paths = [p for p in args.paths.split(",") if p] or list(offered)
        renderers = {path: first if path == first.stereo_path else Renderer(stereo=path) for path in paths}
        for renderer in renderers.values():  # as the app's window does: no frame waits for a file
            renderer.preload(sorted(installed_stimulus_meshes()))
        eyes = LayeredRenderTarget(args.width, args.height, srgb=False)  # a swapchain's linear RGBA8
        gl_renderer = GL.glGetString(GL.GL_RENDERER).decode()

        def bare_frame() -> dict[str, float]:
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            for layer in range(2):
                GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, eyes.layer_framebuffer(layer))
                GL.glViewport(0, 0, eyes.width, eyes.height)
                GL.glClearColor(0.8, 0.88, 0.96, 1.0)
                GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
            c1 = time.thread_time_ns()
            GL.glFinish()
            return {"step": 0.0, "submit": (c1 - c0) / 1e6, "frame": (time.perf_counter_ns() - w0) / 1e6}

        bare: dict[str, list[float]] = {"step": [], "submit": [], "frame": []}
        for index in range(frames_needed):
            sample = bare_frame()
            if index >= WARMUP_FRAMES:
                for key, value in sample.items():
                    bare[key].append(value)
        rows.append(("bare frame (clear both eyes)", bare))

        for block in BLOCKS:
            for path, renderer in renderers.items():
                patient = f"BENCH-{block[:3].upper()}"
                figures: dict[str, list[float]] = {"step": [], "submit": [], "frame": []}
                with session_pipeline(patient, source="sim", seed=1, therapist="bench") as pipeline, \
                        ScriptedFrameSource(motion) as source:  # fmt: skip
                    for frame in source.frames():
                        if frame.index >= frames_needed:
                            break
                        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                        output = pipeline.step(frame)
                        c1 = time.thread_time_ns()
                        cameras = (Camera.from_view(frame.views[0]), Camera.from_view(frame.views[1]))
                        renderer.draw_stereo(output.draw, cameras, eyes.stereo_target, unorm_holds_linear=True)
                        c2 = time.thread_time_ns()
                        GL.glFinish()
                        w1 = time.perf_counter_ns()
                        pipeline.presented(None)
                        if frame.index >= WARMUP_FRAMES:
                            figures["step"].append((c1 - c0) / 1e6)
                            figures["submit"].append((c2 - c1) / 1e6)
                            figures["frame"].append((w1 - w0) / 1e6)
                    pipeline.ended_by = "benchmark"
                rows.append((f"{block.replace('_', ' ')}, {path.replace('_', '-')}", figures))
        eyes.release()
        for renderer in renderers.values():
            renderer.release()
        if first not in renderers.values():
            first.release()

    print(f"The session's frame offscreen, both eyes at {args.width}x{args.height} into one two-layer target, "
          f"{args.frames} frames per run after {WARMUP_FRAMES} warm-up, on {gl_renderer}")
    print(f"{'run':30s}{'step ms':>22s}{'submit ms':>22s}{'frame ms':>22s}")
    print(f"{'':30s}" + "{:>22s}".format("median / p99 / max") * 3)
    for name, figures in rows:
        cells = ["{:7.2f} {:6.2f} {:7.2f}".format(*stats(figures[key])) if figures[key] and any(figures[key])
                 else "{:>21s}".format("-") for key in ("step", "submit", "frame")]  # fmt: skip
        print(f"{name:30s}" + "".join(f"{cell:>22s}" for cell in cells))
    bare_frame_median = statistics.median(bare["frame"])
    for name, figures in rows[1:]:
        python_side = [s + g for s, g in zip(figures["step"], figures["submit"], strict=True)]
        median, p99, _ = stats(python_side)
        print(f"{name}: Python side (step + submit) {median:.2f} ms median, {p99:.2f} ms p99 = "
              f"{100 * median / FRAME_BUDGET_MS:.0f} % / {100 * p99 / FRAME_BUDGET_MS:.0f} % of a 90 Hz frame; "
              f"whole frame x bare frame {statistics.median(figures['frame']) / bare_frame_median:.1f} (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
