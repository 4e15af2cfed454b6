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
- ``--lose-session-after N``: install ``fault_layers.SessionLossLayer`` (a Python API
  layer) that makes the session look lost after N frames;
- ``--reject-bindings``: install ``fault_layers.RejectBindingsLayer``: the runtime then
  accepts no controller profile;
- ``--drive-remote``: play the controllers through Monado's remote driver, a new state
  before every frame (poses, trigger, squeeze, the left controller switched off for a
  while), recording what was sent and what the frame reported;
- ``--announce-focus``: print "FOCUSED" on stdout (flushed) at the first focused frame;
- ``--stereo PATH`` (multiview, layered or two_pass): draw the room with both eyes in one
  call of the product's ``Renderer.draw_stereo`` taking that path, into one swapchain with
  arraySize 2; read both layers back from the swapchain images and compare each with the
  same eye drawn alone by ``Renderer.draw`` into a plain RGBA8 target;
- ``--no-locate-spaces``: leave XR_KHR_locate_spaces off even where the runtime offers it,
  as on a runtime without it: every space is then located by its own xrLocateSpace;
- ``--egl``: render with a surfaceless EGL context (XR_MNDX_egl_enable) instead of a
  hidden GLX window; works with no X display at all.

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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

# PyOpenGL's platform is fixed at its first import, so --egl is looked at before argparse.
USE_EGL = "--egl" in sys.argv
choose_gl_platform(offscreen=USE_EGL)

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

from gmi_vr.core.errors import GmiError  # noqa: E402
from gmi_vr.core.types import HandInput, Pose  # noqa: E402
from gmi_vr.geometry.camera import Camera  # noqa: E402
from gmi_vr.geometry.transforms import quat_from_axis_angle, quat_multiply  # noqa: E402
from gmi_vr.scene.draw import DrawList  # noqa: E402
from support.xr_app_refusal import refused  # noqa: E402

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


class ReadBackFigures:
    """A view renderer drawing with the product's ``renderer`` and keeping figures of what it
    read back: every other attribute (numbers and flags), given by ``figures``."""

    renderer: Any

    def figures(self) -> dict[str, object]:
        """The figures by attribute name (the product's renderer left out)."""
        return {name: value for name, value in vars(self).items() if name != "renderer"}


class RoomRenderer(ReadBackFigures):
    """The product's Renderer drawing the room and the controllers; after each view it reads
    the whole swapchain image back and keeps the smallest share of pixels that are not the
    clear colour, and the fewest distinct colours, seen in any view. Each view is drawn
    twice, the room item by item and then as the merged groups a session draws
    (``clinic_room_groups``), and the largest difference between the two read-backs is kept
    (the second picture is the one the runtime shows)."""

    def __init__(self) -> None:
        from gmi_vr.render.renderer import Renderer

        self.renderer = Renderer()
        self.views_drawn = 0
        self.min_scene_share = 1.0
        self.min_distinct_colours = 1 << 24
        self.grouped_max_difference = 0
        self.grouped_share_over_2 = 0.0

    def _draw_and_read(self, draw_list: DrawList, camera: Camera, framebuffer: int, width: int,
                       height: int) -> np.ndarray:
        self.renderer.draw(draw_list, camera, framebuffer, width, height, unorm_holds_linear=True)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        data = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        return np.frombuffer(bytes(data), dtype=np.uint8).reshape(height, width, 4)

    def __call__(
        self, draw_list: DrawList, camera: Camera, framebuffer: int, width: int, height: int
    ) -> None:
        from dataclasses import replace

        from gmi_vr.scene.room import clinic_room, clinic_room_groups

        plain = self._draw_and_read(draw_list, camera, framebuffer, width, height)
        grouped_list = replace(draw_list, meshes=clinic_room_groups() + draw_list.meshes[len(clinic_room()):])
        grouped = self._draw_and_read(grouped_list, camera, framebuffer, width, height)
        difference = np.abs(plain.astype(int) - grouped.astype(int)).max(axis=2)
        self.grouped_max_difference = max(self.grouped_max_difference, int(difference.max()))
        self.grouped_share_over_2 = max(self.grouped_share_over_2, float((difference > 2).mean()))
        pixels = grouped.reshape(-1, 4).view(np.uint32).reshape(-1)
        colours, counts = np.unique(pixels, return_counts=True)
        self.views_drawn += 1
        # The most common colour stands for the clear colour (or the largest wall).
        self.min_scene_share = min(self.min_scene_share, 1.0 - counts.max() / pixels.size)
        self.min_distinct_colours = min(self.min_distinct_colours, len(colours))


class StereoRoomRenderer(ReadBackFigures):
    """Both eyes of the room in one ``draw_stereo`` call into the swapchain's two layers,
    each layer read back and compared with that eye drawn alone (the two-pass picture)."""

    def __init__(self, path: str) -> None:
        from gmi_vr.render.renderer import Renderer

        self.renderer = Renderer(stereo=path)  # type: ignore[arg-type]
        self.views_drawn = 0
        self.max_difference = 0
        self.share_over_1 = 0.0
        self.min_distinct_colours = 1 << 24
        self.layers_differ = True

    def __call__(self, draw_list: DrawList, cameras: tuple[Camera, Camera], target) -> None:  # type: ignore[no-untyped-def]
        from gmi_vr.render.target import RenderTarget, read_pixels

        self.renderer.draw_stereo(draw_list, cameras, target, unorm_holds_linear=True)
        layers = []
        for layer in range(2):
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target.framebuffer)
            GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, target.color_texture, 0, layer)
            GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, target.depth_attachment, target.depth_texture, 0, layer)
            layers.append(read_pixels(target.framebuffer, 0, 0, target.width, target.height))
        alone = RenderTarget(target.width, target.height, srgb=False)
        try:
            for camera, picture in zip(cameras, layers, strict=True):
                self.renderer.draw(draw_list, camera, alone.framebuffer, alone.width, alone.height,
                                   unorm_holds_linear=True)  # fmt: skip
                difference = np.abs(picture.astype(int) - alone.read_rgba().astype(int)).max(axis=2)
                self.max_difference = max(self.max_difference, int(difference.max()))
                self.share_over_1 = max(self.share_over_1, float((difference > 1).mean()))
                colours = np.unique(picture.reshape(-1, 4).view(np.uint32))
                self.min_distinct_colours = min(self.min_distinct_colours, len(colours))
                self.views_drawn += 1
        finally:
            alone.release()
        self.layers_differ = self.layers_differ and bool((layers[0] != layers[1]).any())


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


def _head_pose(step: int) -> Pose:
    """A seated patient's head: swaying a few centimetres and turning about +-20 degrees."""
    angle = 0.11 * step
    yaw = math.radians(20.0) * math.sin(angle)
    pitch = math.radians(-10.0) + math.radians(5.0) * math.cos(angle)
    # yaw about +Y, then pitch about the turned X axis
    orientation = quat_multiply(
        quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), yaw),
        quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), pitch),
    )
    position = (0.03 * math.sin(angle), 1.25 + 0.02 * math.cos(angle), 0.05 * math.sin(0.5 * angle))
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

        trigger = (step % 20) / 19.0
        squeeze = 1.0 - (step % 10) / 9.0
        # What changes per controller besides its pose: the right one's trigger and squeeze
        # run opposite to the left one's.
        wanted = {
            "left": {"active": step not in self.LEFT_OFF, "trigger": trigger, "squeeze": squeeze},
            "right": {"active": True, "trigger": squeeze, "squeeze": trigger},
        }
        poses = {side: _controller_pose(side, step) for side in wanted}
        state = self.remote.state
        head = _head_pose(step)
        self.remote.set_all(head, replace(state.left, pose=poses["left"], **wanted["left"]),
                            replace(state.right, pose=poses["right"], **wanted["right"]))  # fmt: skip
        self.sent.append({"head": head.as_array().tolist(),
                          **{side: {"pose": poses[side].as_array().tolist(), **wanted[side]} for side in wanted}})


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
    parser.add_argument("--egl", action="store_true")
    parser.add_argument("--reject-bindings", action="store_true")
    parser.add_argument("--no-locate-spaces", action="store_true")
    parser.add_argument(
        "--room", action="store_true", help="draw the room with the product's renderer"
    )
    parser.add_argument("--stereo", choices=("multiview", "layered", "two_pass"))
    args = parser.parse_args()

    from gmi_vr.render.context import open_offscreen_context, open_window_context

    # The GL context comes first: GLFW initialised after a Python API layer was registered
    # made the loader crash in the next xrGetInstanceProcAddr (pyopenxr 1.1.6501), and an
    # EGL context must exist before pyopenxr is imported (importing it switches PyOpenGL to
    # its GLX platform).
    gl_context = (
        open_offscreen_context()
        if args.egl
        else open_window_context(64, 64, title="gmi-vr test", visible=False)
    )
    import xr

    import gmi_vr.xr.runtime as xr_runtime
    from gmi_vr.xr.openxr_source import OpenXrSource

    if args.no_locate_spaces:
        xr_runtime.OPTIONAL_EXTENSIONS = tuple(
            name for name in xr_runtime.OPTIONAL_EXTENSIONS if name != xr_runtime.LOCATE_SPACES_EXTENSION
        )

    layers: list[str] = []
    loss_layer = None
    if args.validation:
        xr.expose_packaged_api_layers()
        layers.append("XR_APILAYER_LUNARG_core_validation")
    if args.lose_session_after:
        from support.fault_layers import SessionLossLayer

        loss_layer = SessionLossLayer(args.lose_session_after)
        layers.append(loss_layer.name)
    reject_layer = None
    if args.reject_bindings:
        from support.fault_layers import RejectBindingsLayer

        reject_layer = RejectBindingsLayer()
        layers.append(reject_layer.name)

    renderer = RectangleRenderer()
    room = RoomRenderer() if args.room else None
    stereo = StereoRoomRenderer(args.stereo) if args.stereo else None
    if room is not None or stereo is not None:
        from gmi_vr.scene.room import room_draw_list
    events: list[str] = []
    result: dict[str, object] = {"frames": 0, "focused_frames": 0, "events": events}
    driver = RemoteDriver() if args.drive_remote else None
    observed: list[dict[str, object]] = []
    status = 0
    started = time.monotonic()
    try:
        with OpenXrSource(
            room or renderer, stereo_renderer=stereo, gl_context=gl_context, api_layers=layers,
            on_event=events.append,
        ) as source:
            result["one_pass"] = source.one_pass
            result["runtime"] = source.info.runtime_name if source.info else ""
            result["system"] = source.info.system_name if source.info else ""
            result["reference_space"] = (
                source.reference_space_type.name if source.reference_space_type else ""
            )
            result["hand_tracking"] = source.hand_tracking
            result["enabled_extensions"] = (
                list(source.info.enabled_extensions) if source.info else []
            )
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
                            "head": frame.head.as_array().tolist(),
                            "head_valid": frame.head_valid,
                            "left": _hand_record(frame.left),
                            "right": _hand_record(frame.right),
                        }
                    )
                    driver.send(frame.index)
                drawing_room = room is not None or stereo is not None
                source.present(room_draw_list(frame) if drawing_room else DrawList())
                if not stop_requested and (
                    int(result["focused_frames"]) >= args.frames  # type: ignore[call-overload]
                    or time.monotonic() - started > args.max_seconds
                ):
                    source.request_stop()
                    stop_requested = True
            result["profiles"] = source.interaction_profiles()
            result["history"] = [state.name for state in source.lifecycle.history]
    except GmiError as error:
        status = refused(error, result)
        result["error_type"] = type(error).__name__
    if stereo is not None:
        result["stereo_path"] = stereo.renderer.stereo_path
    for prefix, drawn in (("room", room), ("stereo", stereo)):
        if drawn is not None:  # "room_views_drawn", "stereo_max_difference", ...
            result.update({f"{prefix}_{name}": value for name, value in drawn.figures().items()})
            drawn.renderer.release()
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
    if reject_layer is not None:
        result["bindings_rejected"] = reject_layer.rejected
    args.out.write_text(json.dumps(result))
    return status


if __name__ == "__main__":
    sys.exit(main())
