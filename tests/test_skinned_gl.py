"""GPU skinning through a real (llvmpipe) OpenGL context: the avatar drawn with the bone
palette from the body solve covers exactly where the solved joints project.

Runs in a fresh interpreter with a surfaceless EGL context (PyOpenGL binds GLX or EGL at
its first import, once per process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.gl

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = textwrap.dedent(
    """
    import math, sys
    import numpy as np
    from gmi_vr.render.context import choose_gl_platform, open_offscreen_context
    choose_gl_platform(offscreen=True)
    from OpenGL import GL
    from PIL import Image
    from gmi_vr.assets.gltf_skin import load_skinned_gltf
    from gmi_vr.body.calibration import Calibration, Posture
    from gmi_vr.body.rig import AvatarRig
    from gmi_vr.body.skeleton import side_joint
    from gmi_vr.body.solve import BodySettings, BodyState, solve_body
    from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
    from gmi_vr.geometry import matrix_from_pose, quat_from_axis_angle
    from gmi_vr.render.skinned import GpuSkinnedMesh, SkinnedProgram
    from gmi_vr.geometry.camera import Camera

    W, H = 320, 320
    LIGHT = {"u_light_direction": (0.0, 0.6, 0.8), "u_light_color": (0.5, 0.5, 0.5),
             "u_sky_color": (0.6, 0.6, 0.6), "u_ground_color": (0.3, 0.3, 0.3)}
    # The patient faces +Z (yaw pi) towards a camera 2.6 m in front of them.
    base = Calibration.uncalibrated(Posture.STANDING, 1.7, Side.LEFT)
    cal = Calibration(base.posture, base.measures, np.zeros(3), math.pi, base.hips_height_m,
                      Side.LEFT, Side.RIGHT)
    camera = Camera.symmetric(Pose([0.0, 1.0, 2.6], [0, 0, 0, 1.0]), math.radians(60), 1.0)
    clip_from_world = camera.projection() @ np.linalg.inv(matrix_from_pose(camera.pose))

    def pixel(point):
        clip = clip_from_world @ np.append(point, 1.0)
        ndc = clip[:3] / clip[3]
        return int((ndc[0] * 0.5 + 0.5) * W), int((ndc[1] * 0.5 + 0.5) * H)

    def body_for(grip):
        head = Pose(cal.origin + [0, 1.59, 0], quat_from_axis_angle([0, 1.0, 0], math.pi))
        right = HandInput(grip=grip, grip_valid=True) if grip is not None else HandInput()
        frame = TrackingFrame(0, 0.0, 0, head, True, HandInput(), right)
        return solve_body(frame, cal, BodySettings(), BodyState())

    with open_offscreen_context():
        fbo = GL.glGenFramebuffers(1)
        colour, depth = GL.glGenRenderbuffers(2)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, colour)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA8, W, H)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, depth)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, W, H)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, colour)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, depth)
        assert GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) == GL.GL_FRAMEBUFFER_COMPLETE
        program = SkinnedProgram()
        avatar = load_skinned_gltf(sys.argv[1])
        gpu = GpuSkinnedMesh(avatar)
        rig = AvatarRig(avatar, cal.measures)

        def draw(body, name):
            gpu.upload_palette(rig.palette(body.world_from_joint))
            GL.glViewport(0, 0, W, H)
            GL.glClearColor(0.0, 0.0, 1.0, 1.0)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
            GL.glEnable(GL.GL_DEPTH_TEST)
            GL.glEnable(GL.GL_CULL_FACE)
            program.use(clip_from_world, camera.pose.position, True, LIGHT)
            program.set_material((0.9, 0.6, 0.4, 1.0), False)
            gpu.draw()
            assert GL.glGetError() == GL.GL_NO_ERROR
            pixels = np.frombuffer(GL.glReadPixels(0, 0, W, H, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE), np.uint8)
            image = pixels.reshape(H, W, 4)
            Image.fromarray(image[::-1]).save(sys.argv[2] + f"/{name}.png")
            return image

        def covered(image, point, radius=2):
            x, y = pixel(point)
            patch = image[y - radius:y + radius + 1, x - radius:x + radius + 1]
            return bool(np.any(patch[..., 2] < 200))  # not the blue background

        raised = Pose(cal.origin + [-0.25, 1.75, 0.35], quat_from_axis_angle([1.0, 0, 0], 1.2))
        rest_body, raised_body = body_for(None), body_for(raised)
        rest_image = draw(rest_body, "rest")
        raised_image = draw(raised_body, "raised")
        assert gpu.uploads == 2
        same = rig.palette(raised_body.world_from_joint)
        gpu.upload_palette(same)
        gpu.upload_palette(same)  # the second eye of one frame: no second upload
        assert gpu.uploads == 3
        for side in (Side.LEFT, Side.RIGHT):
            hand = side_joint(side, "Hand")
            assert covered(raised_image, raised_body.world_from_joint[hand, :3, 3]), side
            assert not covered(rest_image, raised_body.world_from_joint[hand, :3, 3]), side
            assert covered(rest_image, rest_body.world_from_joint[hand, :3, 3]), side
        assert not covered(raised_image, np.array([1.2, 2.2, 0.0]))  # empty space stays empty
        gpu.release(); program.release()

        # The DrawList path: SkinnedItems by avatar name, tinted, opaque and ghost.
        from pathlib import Path
        from gmi_vr.render.skinned import SkinnedRenderer
        from gmi_vr.scene.draw import SkinnedItem
        models = Path(sys.argv[1]).parent.parent
        renderer = SkinnedRenderer(lambda name: models / f"{name}.glb")
        palette = rig.palette(raised_body.world_from_joint)
        hand = raised_body.world_from_joint[side_joint(Side.LEFT, "MiddleProximal"), :3, 3]
        x, y = pixel(hand)

        def draw_items(items):
            GL.glViewport(0, 0, W, H)
            GL.glClearColor(0.0, 0.0, 1.0, 1.0)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
            GL.glEnable(GL.GL_DEPTH_TEST)
            GL.glEnable(GL.GL_CULL_FACE)
            renderer.draw(items, clip_from_world, camera.pose.position, True, LIGHT)
            assert GL.glGetError() == GL.GL_NO_ERROR
            pixels = np.frombuffer(GL.glReadPixels(0, 0, W, H, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE), np.uint8)
            return pixels.reshape(H, W, 4)[y - 1:y + 2, x - 1:x + 2, :3].reshape(-1, 3).astype(int)

        red = draw_items([SkinnedItem("avatars/avatar_slim", palette, tint=(1.0, 0.1, 0.1, 1.0))])
        assert np.all(red[:, 0] > red[:, 1] + 40) and np.all(red[:, 2] < 100), red  # tinted red
        pale = draw_items([SkinnedItem("avatars/avatar_slim", palette, tint=(0.9, 0.8, 0.7, 1.0))])
        assert np.all(pale[:, 1] > red[:, 1] + 40), (pale, red)
        ghost = draw_items([SkinnedItem("avatars/avatar_slim", palette, tint=(1.0, 0.1, 0.1, 1.0), ghost=True)])
        # Translucent: the blue background shows through, the red skin too.
        assert np.all(ghost[:, 2] > 60) and np.all(ghost[:, 0] > 30), ghost
        renderer.release()
        print("SKINNED OK")
    """
)


def test_gpu_skinning_puts_the_avatar_where_the_solved_joints_are(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYOPENGL_PLATFORM")}
    avatar = ROOT / "models" / "avatars" / "avatar_slim.glb"
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(avatar), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    if "GraphicsUnavailable" in result.stderr and "EGL" in result.stderr:
        pytest.skip(f"no EGL OpenGL 4.1 context here: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SKINNED OK" in result.stdout
    assert (tmp_path / "raised.png").stat().st_size > 1000
