"""Benchmark: the CPU cost of one Renderer.draw of the clinic room, offscreen at 320x240,
item by item and with the room merged into groups (as sessions draw it); then both eyes of
the merged room with the patient's avatar, into a two-layer target as a headset's
swapchain holds them, one eye after the other and in one pass each way the driver offers
(``render.stereo``: multiview, layered).

Runs on a surfaceless EGL context (no display needed). Each sample is one call followed by
glFinish, timed two ways: the calling thread's CPU time (what the render thread spends;
llvmpipe's own worker threads are not in it) and wall time. The baseline, measured in the
same process and on the same target, is a bare glClear + glFinish: the cost of a frame
that draws nothing (for both eyes: a clear of each layer). Prints median and p99 of both and the ratios to the baseline.

Usage: .venv/bin/python tools/bench_render.py [--frames 400] [--width 320] [--height 240]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from gmi_vr.render.context import choose_gl_platform

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.render_scenes' avatar

choose_gl_platform(offscreen=True)

from OpenGL import GL  # noqa: E402  (after the platform choice, on purpose)

from gmi_vr.app import demo_draw_list  # noqa: E402
from gmi_vr.assets.locations import shipped_data_dir  # noqa: E402
from gmi_vr.geometry.camera import Camera  # noqa: E402
from gmi_vr.render.context import open_offscreen_context  # noqa: E402
from gmi_vr.render.renderer import Renderer  # noqa: E402
from gmi_vr.render.stereo import gl_extensions, offered_paths  # noqa: E402
from gmi_vr.render.target import LayeredRenderTarget, RenderTarget  # noqa: E402
from gmi_vr.scene.room import clinic_room, clinic_room_groups  # noqa: E402
from gmi_vr.xr.sim_source import ScriptedFrameSource  # noqa: E402


def measure(action: Callable[[], None], frames: int, warmup: int = 30) -> tuple[list[float], list[float]]:
    """Per-call (thread CPU ms, wall ms) of ``action`` followed by glFinish."""
    for _ in range(warmup):
        action()
        GL.glFinish()
    cpu, wall = [], []
    for _ in range(frames):
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        action()
        GL.glFinish()
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        wall.append((time.perf_counter_ns() - w0) / 1e6)
    return cpu, wall


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    args = parser.parse_args()

    with open_offscreen_context():
        renderer = Renderer()
        target = RenderTarget(args.width, args.height)
        frames = list(ScriptedFrameSource.from_file(shipped_data_dir() / "demo-reach.jsonl").frames())
        frame = frames[-1]  # both controllers, trigger pulled, the instruction text shown
        draw_list = demo_draw_list(frame)
        camera = Camera.from_view(frame.views[0])

        def bare() -> None:
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target.framebuffer)
            GL.glViewport(0, 0, target.width, target.height)
            GL.glClearColor(0.8, 0.88, 0.96, 1.0)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)

        def draw() -> None:
            renderer.draw(draw_list, camera, target.framebuffer, target.width, target.height)

        # The same picture with the room merged into groups, as a session draws it.
        merged_list = replace(draw_list, meshes=clinic_room_groups() + draw_list.meshes[len(clinic_room()):])

        def merged() -> None:
            renderer.draw(merged_list, camera, target.framebuffer, target.width, target.height)

        # Interleave so all see the same machine state; two rounds each.
        results: dict[str, tuple[list[float], list[float]]] = {"baseline": ([], []), "draw": ([], []),
                                                               "merged": ([], [])}  # fmt: skip
        for _ in range(2):
            for name, action in (("baseline", bare), ("draw", draw), ("merged", merged)):
                cpu, wall = measure(action, args.frames // 2)
                results[name][0].extend(cpu)
                results[name][1].extend(wall)
        renderer_info = GL.glGetString(GL.GL_RENDERER).decode()
        stereo = both_eyes(frame, merged_list, args)
        target.release()
        renderer.release()

    print(f"Renderer.draw of the clinic room ({len(draw_list.meshes)} meshes, {len(draw_list.texts)} text) "
          f"at {args.width}x{args.height}, {args.frames} samples each, on {renderer_info}")
    print(f"{'':28s}{'median ms':>10s}{'p99 ms':>10s}")
    base_cpu, base_wall = results["baseline"]
    for label, values in (("baseline thread CPU", base_cpu), ("draw thread CPU", results["draw"][0]),
                          ("merged room thread CPU", results["merged"][0]), ("baseline wall", base_wall),
                          ("draw wall", results["draw"][1]), ("merged room wall", results["merged"][1])):
        print(f"{label:28s}{statistics.median(values):10.3f}{p99(values):10.3f}")
    for name in ("draw", "merged"):
        cpu, wall = results[name]
        print(f"ratio {name}/baseline, thread CPU: median {statistics.median(cpu) / statistics.median(base_cpu):.1f}x, "
              f"p99 {p99(cpu) / p99(base_cpu):.1f}x; wall: median "
              f"{statistics.median(wall) / statistics.median(base_wall):.1f}x, p99 {p99(wall) / p99(base_wall):.1f}x")
    base_cpu, base_wall = stereo.pop("two clears")
    print(f"Both eyes of the merged room and the avatar, {args.width}x{args.height} each "
          f"(thread CPU ms; two clears: {statistics.median(base_cpu):.3f} median, {p99(base_cpu):.3f} p99):")
    two_pass = statistics.median(stereo["two passes"][0])
    for name, (cpu, wall) in stereo.items():
        print(f"  {name:28s} median {statistics.median(cpu):7.3f}  p99 {p99(cpu):7.3f}  wall median "
              f"{statistics.median(wall):7.3f}  x two passes {statistics.median(cpu) / two_pass:.2f}")


def both_eyes(frame, merged_list, args):  # type: ignore[no-untyped-def]
    """(thread CPU ms, wall ms) samples per way of drawing both eyes, interleaved."""
    from tests.render_scenes import avatar

    scene = replace(merged_list, skinned=(avatar(frame),))
    cameras = (Camera.from_view(frame.views[0]), Camera.from_view(frame.views[1]))
    layered = LayeredRenderTarget(args.width, args.height)
    renderers = {"two passes": Renderer(stereo="two_pass")}
    for path in offered_paths(gl_extensions()):
        if path != "two_pass":
            renderers[f"one pass, {path}"] = Renderer(stereo=path)

    def clears() -> None:
        for layer in range(2):
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, layered.layer_framebuffer(layer))
            GL.glViewport(0, 0, args.width, args.height)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)

    actions: dict[str, Callable[[], None]] = {"two clears": clears}
    for name, stereo_renderer in renderers.items():
        actions[name] = functools.partial(stereo_renderer.draw_stereo, scene, cameras, layered.stereo_target)
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in actions}
    for _ in range(2):
        for name, action in actions.items():
            cpu, wall = measure(action, args.frames // 2)
            results[name][0].extend(cpu)
            results[name][1].extend(wall)
    for stereo_renderer in renderers.values():
        stereo_renderer.release()
    layered.release()
    return results


if __name__ == "__main__":
    main()
