"""A small application run in a subprocess by the XR tests: the real ``OpenXrSource`` frame
loop against the running runtime, with measurements written as JSON.

    python tests/support/xr_app.py --out RESULT.json [--frames N] [--validation]
        [--lose-session-after N] [--drive-remote] [--announce-focus]

- ``--frames N``: after N focused frames, ask to quit (``request_stop``) and let the runtime
  walk the session through STOPPING and EXITING.
- every view is drawn by a test renderer: a background colour with a rectangle cleared in
  through a scissor box; it reads the swapchain image back after drawing and records
  whether the rectangle's centre and a corner hold the expected colours;
- ``--validation``: enable ``XR_APILAYER_LUNARG_core_validation`` (its report goes to
  stdout, which the test captures);
- ``--lose-session-after N``: install ``session_loss_layer`` (a Python API layer) that
  makes the session look lost after N frames;
- ``--drive-remote``: play the controllers through Monado's remote driver, a new state
  before every frame (poses, trigger, squeeze, the left controller switched off for a
  while), recording what was sent and what the frame reported;
- ``--announce-focus``: print "FOCUSED" on stdout (flushed) at the first focused frame.

Exit status: 0 after a clean end, else the ``GmiError``'s exit code with its one-sentence
message on stderr (as the real CLI does).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

from gmi_vr.core.errors import GmiError  # noqa: E402
from gmi_vr.core.types import HandInput, Pose  # noqa: E402
from gmi_vr.scene.draw import Camera, DrawList  # noqa: E402

BACKGROUND = (0.0, 0.0, 1.0, 1.0)  # blue
RECTANGLE = (1.0, 0.5, 0.0, 1.0)  # orange
BACKGROUND_RGBA8 = (0, 0, 255, 255)
RECTANGLE_RGBA8 = (255, 128, 0, 255)


class RectangleRenderer:
    """Clears the view to blue and a centred rectangle (half the size) to orange, then reads
    the swapchain image back through the bound framebuffer."""

    def __init__(self) -> None:
        self.views_drawn = 0
        self.views_correct = 0
        self.sizes: set[tuple[int, int]] = set()
        self.first_failure: str | None = None

    def __call__(
        self, draw_list: DrawList, camera: Camera, framebuffer: int, width: int, height: int
    ) -> None:
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        GL.glDisable(GL.GL_SCISSOR_TEST)
        GL.glClearColor(*BACKGROUND)
        GL.glClearDepth(1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_SCISSOR_TEST)
        GL.glScissor(width // 4, height // 4, width // 2, height // 2)
        GL.glClearColor(*RECTANGLE)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        GL.glDisable(GL.GL_SCISSOR_TEST)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        centre = tuple(
            bytes(GL.glReadPixels(width // 2, height // 2, 1, 1, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE))
        )
        corner = tuple(bytes(GL.glReadPixels(2, 2, 1, 1, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)))
        self.views_drawn += 1
        self.sizes.add((width, height))
        if _close(centre, RECTANGLE_RGBA8) and _close(corner, BACKGROUND_RGBA8):
            self.views_correct += 1
        elif self.first_failure is None:
            self.first_failure = f"centre {centre}, corner {corner}"


def _close(pixel: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= 1 for a, b in zip(pixel, expected, strict=True))


# --------------------------------------------------------------------------- remote driving


def _controller_pose(side: str, step: int) -> Pose:
    """A distinct, smoothly varying pose per step: positions on a small circle in front of
    the body, orientation turning about a tilted axis (all in the tracking space)."""
    sign = -1.0 if side == "left" else 1.0
    angle = 0.13 * step
    position = (
        sign * 0.25 + 0.1 * math.cos(angle),
        1.2 + 0.1 * math.sin(angle),
        -0.4 - 0.05 * sign * math.sin(angle),
    )
    axis = np.array([0.3, 1.0, sign * 0.2])
    axis /= np.linalg.norm(axis)
    half = 0.5 * (0.4 * math.sin(angle * 0.7) + sign * 0.3)
    orientation = (*(axis * math.sin(half)), math.cos(half))
    return Pose(position, orientation)


def _hand_record(hand: HandInput) -> dict[str, object]:
    return {
        "grip_valid": hand.grip_valid,
        "grip": hand.grip.as_array().tolist(),
        "aim_valid": hand.aim_valid,
        "trigger": hand.trigger,
        "squeeze": hand.squeeze,
        "profile": hand.profile,
        "joints_valid": int(hand.joints_valid.sum()) if hand.joints_valid is not None else None,
    }


class RemoteDriver:
    """Sends one new controller state after every frame and logs what it sent."""

    LEFT_OFF = range(60, 80)  # steps during which the left controller is switched off

    def __init__(self) -> None:
        from support.monado_remote import MonadoRemote

        self.remote = MonadoRemote()
        self.sent: list[dict[str, object]] = []

    def send(self, step: int) -> None:
        from dataclasses import replace

        state = self.remote.state
        left_active = step not in self.LEFT_OFF
        trigger = (step % 20) / 19.0
        squeeze = 1.0 - (step % 10) / 9.0
        left = replace(
            state.left,
            pose=_controller_pose("left", step),
            active=left_active,
            trigger=trigger,
            squeeze=squeeze,
        )
        right = replace(
            state.right,
            pose=_controller_pose("right", step),
            active=True,
            trigger=squeeze,
            squeeze=trigger,
        )
        self.remote.set_all(state.head, left, right)
        self.sent.append(
            {
                "left": {
                    "pose": left.pose.as_array().tolist(),
                    "active": left_active,
                    "trigger": trigger,
                    "squeeze": squeeze,
                },
                "right": {
                    "pose": right.pose.as_array().tolist(),
                    "active": True,
                    "trigger": squeeze,
                    "squeeze": trigger,
                },
            }
        )


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--validation", action="store_true")
    parser.add_argument("--lose-session-after", type=int, default=0)
    parser.add_argument("--drive-remote", action="store_true")
    parser.add_argument("--announce-focus", action="store_true")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    import xr

    from gmi_vr.render.context import open_window_context
    from gmi_vr.xr.openxr_source import OpenXrSource

    # The GL context comes first: GLFW initialised after a Python API layer was registered
    # made the loader crash in the next xrGetInstanceProcAddr (pyopenxr 1.1.6501).
    gl_context = open_window_context(64, 64, title="gmi-vr test", visible=False)
    layers: list[str] = []
    loss_layer = None
    if args.validation:
        xr.expose_packaged_api_layers()
        layers.append("XR_APILAYER_LUNARG_core_validation")
    if args.lose_session_after:
        from support.session_loss_layer import SessionLossLayer

        loss_layer = SessionLossLayer(args.lose_session_after)
        layers.append(loss_layer.name)

    renderer = RectangleRenderer()
    events: list[str] = []
    result: dict[str, object] = {"frames": 0, "focused_frames": 0, "events": events}
    driver = RemoteDriver() if args.drive_remote else None
    observed: list[dict[str, object]] = []
    status = 0
    started = time.monotonic()
    try:
        with OpenXrSource(
            renderer, gl_context=gl_context, api_layers=layers, on_event=events.append
        ) as source:
            result["runtime"] = source.info.runtime_name if source.info else ""
            result["system"] = source.info.system_name if source.info else ""
            result["reference_space"] = (
                source.reference_space_type.name if source.reference_space_type else ""
            )
            result["hand_tracking"] = source.hand_tracking
            stop_requested = False
            for frame in source.frames():
                result["frames"] = frame.index + 1
                if frame.focused:
                    result["focused_frames"] = int(result["focused_frames"]) + 1  # type: ignore[call-overload]
                    if args.announce_focus and result["focused_frames"] == 1:
                        print("FOCUSED", flush=True)
                if driver is not None:
                    observed.append(
                        {
                            "index": frame.index,
                            "focused": frame.focused,
                            "left": _hand_record(frame.left),
                            "right": _hand_record(frame.right),
                        }
                    )
                    driver.send(frame.index)
                source.present(DrawList())
                if not stop_requested and (
                    int(result["focused_frames"]) >= args.frames  # type: ignore[call-overload]
                    or time.monotonic() - started > args.max_seconds
                ):
                    source.request_stop()
                    stop_requested = True
            result["profiles"] = source.interaction_profiles()
            result["history"] = [state.name for state in source.lifecycle.history]
    except GmiError as error:
        print(f"gmi-vr: {error}", file=sys.stderr)
        result["error"] = str(error)
        result["error_type"] = type(error).__name__
        status = error.exit_code
    gl_context.release()
    result["views_drawn"] = renderer.views_drawn
    result["views_correct"] = renderer.views_correct
    result["view_sizes"] = sorted(renderer.sizes)
    result["first_pixel_failure"] = renderer.first_failure
    result["seconds"] = time.monotonic() - started
    if driver is not None:
        result["sent"] = driver.sent
        result["observed"] = observed
    if loss_layer is not None:
        result["loss_layer_armed"] = loss_layer.armed
    args.out.write_text(json.dumps(result))
    return status


if __name__ == "__main__":
    sys.exit(main())
