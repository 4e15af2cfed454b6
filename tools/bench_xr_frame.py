"""Main-thread CPU time per frame of gmi-vr's OpenXR loop against the bare pyopenxr loop.

Run inside the XR sandbox (Monado, null compositor, 20 Hz):

    tools/xr-sandbox run -- python tools/bench_xr_frame.py [--frames 300] [--rounds 2]

Both loops clear each view of a 320x240 swapchain per frame and nothing else:

- baseline: pyopenxr's ``ContextObject.frame_loop`` with ``view_loop`` and a ``glClear``;
- gmi-vr: ``OpenXrSource.frames()`` + ``present()`` with a clearing view renderer. It does
  more per frame than the baseline by design: it locates the head and both hands' grip and
  aim poses, syncs and reads every input action, reads 2 x 26 hand joints and submits a
  depth layer.

The figure is the main thread's CPU time (``time.thread_time_ns``) between consecutive
frames, so time spent blocked in ``xrWaitFrame`` does not count. The two loops alternate
``--rounds`` times in the same process and the same runtime; medians and 99th percentiles
are over all focused frames after a warm-up, and the ratios compare gmi-vr to the baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench_support import write_figures

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

WARMUP_FRAMES = 20


def clear_view() -> None:
    GL.glClearColor(0.2, 0.3, 0.4, 1.0)
    GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)


def baseline_frames(frames: int, display_times: list[int] | None = None) -> list[int]:
    """Per-frame main-thread CPU ns of pyopenxr's helper loop; the predicted display time of
    every focused frame goes to ``display_times`` when given."""
    import xr
    from xr.utils.gl.context_object import ContextObject
    from xr.utils.gl.glfw_util import GLFWOffscreenContextProvider

    costs: list[int] = []
    provider = GLFWOffscreenContextProvider()  # ContextObject destroys it on exit
    with ContextObject(
        context_provider=provider,
        instance_create_info=xr.InstanceCreateInfo(
            enabled_extension_names=[xr.KHR_OPENGL_ENABLE_EXTENSION_NAME]
        ),
        # Fresh structures each time: ContextObject's defaults are shared between instances
        # and keep the previous round's (freed) graphics binding.
        session_create_info=xr.SessionCreateInfo(),
        reference_space_create_info=xr.ReferenceSpaceCreateInfo(),
    ) as context:
        last = None
        focused = 0
        for frame_state in context.frame_loop():
            now = time.thread_time_ns()
            if context.session_state == xr.SessionState.FOCUSED:
                focused += 1
                if last is not None and focused > WARMUP_FRAMES:
                    costs.append(now - last)
                if display_times is not None:
                    display_times.append(int(frame_state.predicted_display_time))
            last = now
            for _view in context.view_loop(frame_state):
                clear_view()
            if len(costs) >= frames:
                break
    return costs


def gmi_vr_frames(frames: int) -> list[int]:
    """Per-frame main-thread CPU ns of OpenXrSource."""
    from gmi_vr.scene.draw import DrawList
    from gmi_vr.xr.openxr_source import OpenXrSource

    costs: list[int] = []
    draw_list = DrawList()
    with OpenXrSource(lambda _dl, _camera, _fbo, _w, _h: clear_view()) as source:
        last = None
        focused = 0
        stopping = False
        for frame in source.frames():
            now = time.thread_time_ns()
            if frame.focused and not stopping:
                focused += 1
                if last is not None and focused > WARMUP_FRAMES:
                    costs.append(now - last)
            last = now
            source.present(draw_list)
            if len(costs) >= frames and not stopping:
                source.request_stop()
                stopping = True
    return costs


def summary(costs_ns: list[int]) -> dict[str, float]:
    values = np.array(costs_ns) / 1e6
    return {
        "frames": len(values),
        "median_ms": float(np.median(values)),
        "p99_ms": float(np.percentile(values, 99)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--frames", type=int, default=300, help="measured frames per loop and round"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    baseline: list[int] = []
    ours: list[int] = []
    for _ in range(args.rounds):
        baseline += baseline_frames(args.frames)
        ours += gmi_vr_frames(args.frames)
    figures = {"baseline": summary(baseline), "gmi_vr": summary(ours)}
    figures["ratio"] = {
        "median": figures["gmi_vr"]["median_ms"] / figures["baseline"]["median_ms"],
        "p99": figures["gmi_vr"]["p99_ms"] / figures["baseline"]["p99_ms"],
    }
    for name in ("baseline", "gmi_vr"):
        f = figures[name]
        print(
            f"{name:>9}: {f['frames']:.0f} frames, median {f['median_ms']:.3f} ms, p99 {f['p99_ms']:.3f} ms CPU per frame"
        )
    print(
        f"    ratio: median {figures['ratio']['median']:.2f}x, p99 {figures['ratio']['p99']:.2f}x (gmi-vr / bare pyopenxr loop)"
    )
    write_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
