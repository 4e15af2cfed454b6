"""Scenes whose pictures were stored from the renderer before its frame was made lean
(one draw and one set of glUniform calls per item), so the batched draws, the uniform
buffers and the merged room can be checked against them: ``tests/data/render/*.png``.

Both scenes are seen from the patient's left eye on the last frame of the built-in demo
motion: ``demo`` is what a session shows (the clinic room, the controllers, the
instruction text and the avatar); ``mixed`` adds everything else the renderer treats
separately: a ghost avatar, translucent and unlit boxes, a mirrored (negative
determinant) sphere, a text with its background and a half fade.

The demo's patient and the pixel their left palm is seen at serve the other tests that draw
the body.

Regenerate only on purpose (a deliberate change of the picture):
``.venv/bin/python tools/with-xvfb.py .venv/bin/python tests/render_scenes.py``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gmi_vr.geometry.camera import Camera  # noqa: E402
from gmi_vr.scene.draw import DrawList, MeshItem, SkinnedItem, TextItem  # noqa: E402

if TYPE_CHECKING:
    from gmi_vr.body import Appearance, AvatarRig, Calibration

REFERENCE_DIR = Path(__file__).with_name("data") / "render"
#: The swapchain size Monado's null compositor recommends (XR_RUNTIME.md).
WIDTH, HEIGHT = 320, 240
#: Target kinds: an sRGB texture (GL encodes), and RGBA8 holding linear values (an OpenXR
#: UNORM swapchain image, which the runtime encodes).
TARGETS = ("srgb", "unorm_linear")


def demo_frame():  # type: ignore[no-untyped-def]
    from gmi_vr.assets.locations import shipped_data_dir
    from gmi_vr.xr.sim_source import ScriptedFrameSource, load_motion

    with ScriptedFrameSource(load_motion(shipped_data_dir() / "demo-reach.jsonl")) as source:
        return list(source.frames())[-1]


def demo_patient() -> tuple[Calibration, Appearance, AvatarRig]:
    """The demo's patient, seated at its chair (the origin), 1.70 m tall, the left side
    affected; the look they are shown with (slim, medium skin) and that avatar's rig."""
    from gmi_vr.assets.gltf_skin import load_skinned_gltf
    from gmi_vr.assets.locations import model_path
    from gmi_vr.body import Appearance, AvatarRig, Calibration, Posture
    from gmi_vr.core.types import Side

    calibration = Calibration.uncalibrated(Posture.SEATED, 1.70, Side.LEFT, origin=(0.0, 0.0, 0.0))
    appearance = Appearance("slim", "medium")
    return calibration, appearance, AvatarRig(load_skinned_gltf(model_path(appearance.avatar_model)), calibration.measures)


def left_palm_pixel(world_from_joint: np.ndarray, camera: Camera, width: int, height: int) -> tuple[int, int]:
    """(row, column) of a ``width`` x ``height`` picture seen by ``camera`` where the body's
    left palm shows (midway between the hand joint and the middle finger's first joint;
    ``world_from_joint``: (J, 4, 4)), asserted to lie inside the picture."""
    from gmi_vr.body.skeleton import side_joint
    from gmi_vr.core.types import Side
    from gmi_vr.geometry import matrix_from_pose

    palm = 0.5 * (world_from_joint[side_joint(Side.LEFT, "Hand"), :3, 3]
                  + world_from_joint[side_joint(Side.LEFT, "MiddleProximal"), :3, 3])  # fmt: skip
    clip = camera.projection() @ np.linalg.inv(matrix_from_pose(camera.pose)) @ np.append(palm, 1.0)
    ndc = clip[:3] / clip[3]
    row, column = int((1 - (ndc[1] + 1) / 2) * height), int((ndc[0] + 1) / 2 * width)
    assert 0 <= row < height and 0 <= column < width
    return row, column


def avatar(frame) -> SkinnedItem:  # type: ignore[no-untyped-def]
    from gmi_vr.body import BodySettings, BodyState, LimbMode, solve_body

    calibration, appearance, rig = demo_patient()
    body = solve_body(frame, calibration, BodySettings(mode=LimbMode.MIRROR), BodyState())
    return SkinnedItem(appearance.avatar_model, rig.palette(body.world_from_joint, first_person=True), appearance.tint)


def scenes() -> dict[str, tuple[DrawList, Camera]]:
    from gmi_vr.app.simulator import demo_draw_list

    frame = demo_frame()
    camera = Camera.from_view(frame.views[0])
    body = avatar(frame)
    demo = replace(demo_draw_list(frame), skinned=(body,))
    mirrored = np.diag((-0.2, 0.2, 0.2, 1.0))
    mirrored[:3, 3] = (0.25, 0.95, -0.6)
    translucent = np.diag((0.3, 0.2, 0.05, 1.0))
    translucent[:3, 3] = (-0.1, 0.9, -0.5)
    unlit = np.diag((0.1, 0.1, 0.1, 1.0))
    unlit[:3, 3] = (0.0, 1.1, -0.7)
    sign = np.eye(4)
    sign[:3, 3] = (0.0, 1.35, -0.9)
    mixed = replace(
        demo,
        meshes=demo.meshes + (
            MeshItem("sphere", mirrored, (0.9, 0.5, 0.3, 1.0)),
            MeshItem("box", translucent, (0.2, 0.4, 0.9, 0.5)),
            MeshItem("box", unlit, (0.9, 0.9, 0.2, 1.0), lit=False),
        ),
        skinned=(body, replace(body, ghost=True, tint=(0.8, 0.9, 1.0, 1.0))),
        texts=demo.texts + (TextItem("Left or right?", sign, 0.06, (1.0, 1.0, 1.0, 1.0), (0.1, 0.2, 0.3, 0.7)),),
        fade=0.5,
    )  # fmt: skip
    return {"demo": (demo, camera), "mixed": (mixed, camera)}


def render(renderer, draw_list: DrawList, camera: Camera, kind: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """(HEIGHT, WIDTH, 4) uint8 as stored in a ``kind`` target."""
    from gmi_vr.render.target import RenderTarget

    target = RenderTarget(WIDTH, HEIGHT, srgb=kind == "srgb")
    try:
        renderer.draw(draw_list, camera, target.framebuffer, WIDTH, HEIGHT, unorm_holds_linear=kind == "unorm_linear")
        return target.read_rgba()
    finally:
        target.release()


def eye_cameras() -> tuple[Camera, Camera]:
    """The left and right eye of the demo frame the scenes are seen in."""
    frame = demo_frame()
    return Camera.from_view(frame.views[0]), Camera.from_view(frame.views[1])


def render_stereo(renderer, draw_list: DrawList, cameras: tuple[Camera, Camera], kind: str):  # type: ignore[no-untyped-def]
    """Both eyes drawn by ``renderer.draw_stereo`` into a two-layer ``kind`` target (as an
    OpenXR swapchain with arraySize 2 holds them): ((HEIGHT, WIDTH, 4) uint8 per layer)."""
    from gmi_vr.render.target import LayeredRenderTarget

    target = LayeredRenderTarget(WIDTH, HEIGHT, srgb=kind == "srgb")
    try:
        renderer.draw_stereo(draw_list, cameras, target.stereo_target, unorm_holds_linear=kind == "unorm_linear")
        return target.read_rgba(0), target.read_rgba(1)
    finally:
        target.release()


def main() -> None:
    import os

    from PIL import Image

    from gmi_vr.render.context import (
        choose_gl_platform,
        open_offscreen_context,
        open_window_context,
    )

    has_display = bool(os.environ.get("DISPLAY"))
    choose_gl_platform(offscreen=not has_display)
    from gmi_vr.render.renderer import Renderer

    context = open_window_context(64, 64, title="references", visible=False) if has_display else open_offscreen_context()
    renderer = Renderer()
    REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
    for name, (draw_list, camera) in scenes().items():
        for kind in TARGETS:
            Image.fromarray(render(renderer, draw_list, camera, kind)).save(REFERENCE_DIR / f"{name}-{kind}.png")
    renderer.release()
    context.release()


if __name__ == "__main__":
    main()
