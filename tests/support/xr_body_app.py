"""The body end to end against the real runtime (run by tests/test_body_xr.py inside
tools/xr-sandbox): Monado's remote driver moves the healthy controller along a path, every
TrackingFrame from the real OpenXR frame loop goes through ``solve_body``, the avatar is drawn
skinned into both eyes' swapchain images, and each image is read back where the affected
hand's solved pose projects. Halfway the affected side switches. Writes JSON.

    python tests/support/xr_body_app.py --out RESULT.json [--frames N] [--hands]

With ``--hands`` the controllers are switched off and their hands tracked instead (the
remote driver synthesises the joints around the same poses): the body follows the joints.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*, body_frames

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

from gmi_vr.assets.gltf_skin import load_skinned_gltf  # noqa: E402
from gmi_vr.body.calibration import Calibration, Posture, eye_above_hips, eye_in_head  # noqa: E402
from gmi_vr.body.rig import AvatarRig  # noqa: E402
from gmi_vr.body.skeleton import side_joint  # noqa: E402
from gmi_vr.body.solve import BodySettings, BodyState, solve_body  # noqa: E402
from gmi_vr.core.errors import GmiError  # noqa: E402
from gmi_vr.core.types import Pose, Side  # noqa: E402
from gmi_vr.geometry import matrix_from_pose, quat_from_axis_angle, quat_multiply, quat_rotate  # noqa: E402
from gmi_vr.geometry.camera import Camera  # noqa: E402
from gmi_vr.scene.draw import DrawList  # noqa: E402
from support.xr_app_refusal import refused  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LIGHT = {"u_light_direction": (0.0, 0.6, 0.8), "u_light_color": (0.5, 0.5, 0.5),
         "u_sky_color": (0.6, 0.6, 0.6), "u_ground_color": (0.3, 0.3, 0.3)}  # fmt: skip
#: The patient sits at the remote driver's origin facing -Z (a seated calibration).
CALIBRATION = Calibration.uncalibrated(Posture.SEATED, 1.70, Side.LEFT)
#: Where the unused (affected) controller is parked: up and to the side, in view, far from
#: where the mirrored hand goes, so the image shows the avatar ignores it.
PARKED = {Side.LEFT: np.array([-0.3, 1.40, -0.8]), Side.RIGHT: np.array([0.3, 1.40, -0.8])}


def healthy_path(side: Side, t: float) -> Pose:
    """A slow reachable loop in front of the healthy shoulder, turning as it goes, kept
    inside the eyes' field of view."""
    sign = 1.0 if side is Side.RIGHT else -1.0
    position = np.array([sign * (0.18 + 0.05 * math.sin(1.3 * t)), 1.05 + 0.08 * math.sin(2.1 * t),
                         -0.48 - 0.05 * math.cos(1.7 * t)])  # fmt: skip
    twist = quat_from_axis_angle(np.array([0.0, 0.0, 1.0]), sign * 0.5 * math.sin(0.9 * t))
    pitch = quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), 0.4 * math.sin(1.1 * t))
    return Pose(CALIBRATION.origin + position, quat_multiply(pitch, twist))


def head_pose() -> Pose:
    """Upright on the chair, looking 15° down at the hands."""
    m = CALIBRATION.measures
    orientation = quat_from_axis_angle(np.array([1.0, 0, 0]), math.radians(-15))
    head_joint = CALIBRATION.hips_position() + np.array([0.0, eye_above_hips(m) - eye_in_head(m)[1], 0.0])
    return Pose(head_joint + quat_rotate(orientation, eye_in_head(m)), orientation)


class AvatarEyes:
    """Draws the skinned avatar into each eye and reads back the affected hand's pixel."""

    def __init__(self) -> None:
        self.palette: np.ndarray | None = None
        self.probe: dict[str, np.ndarray] = {}
        self.records: list[dict[str, object]] = []
        self._gpu = None
        self._program = None
        self.frame_index = -1
        self.save_as: Path | None = None  # the next view drawn is also saved there as PNG

    def __call__(self, draw_list: DrawList, camera: Camera, framebuffer: int, width: int, height: int) -> None:
        from gmi_vr.render.skinned import GpuSkinnedMesh, SkinnedProgram

        if self._gpu is None:
            self._program = SkinnedProgram()
            self._gpu = GpuSkinnedMesh(AVATAR)
        assert self.palette is not None and self._program is not None
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        GL.glViewport(0, 0, width, height)
        GL.glClearColor(0.0, 0.0, 1.0, 1.0)
        GL.glClearDepth(1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glEnable(GL.GL_CULL_FACE)
        clip_from_world = camera.projection() @ np.linalg.inv(matrix_from_pose(camera.pose))
        self._gpu.upload_palette(self.palette)
        self._program.use(clip_from_world, camera.pose.position, True, LIGHT)
        self._program.set_material((0.9, 0.6, 0.4, 1.0), False)
        self._gpu.draw()
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        record: dict[str, object] = {"frame": self.frame_index, "error": int(GL.glGetError())}
        for name, point in self.probe.items():
            clip = clip_from_world @ np.append(point, 1.0)
            ndc = clip[:3] / clip[3]
            x, y = int((ndc[0] * 0.5 + 0.5) * width), int((ndc[1] * 0.5 + 0.5) * height)
            inside = clip[3] > 0 and 3 <= x < width - 3 and 3 <= y < height - 3
            covered = None
            if inside:
                patch = np.frombuffer(GL.glReadPixels(x - 2, y - 2, 5, 5, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE), np.uint8)
                covered = bool(np.any(patch.reshape(-1, 4)[:, 2] < 200))  # not the blue background
            record[name] = covered
        self.records.append(record)
        if self.save_as is not None:
            pixels = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE), np.uint8)
            from PIL import Image

            Image.fromarray(pixels.reshape(height, width, 4)[::-1]).save(self.save_as)
            self.save_as = None


AVATAR = load_skinned_gltf(ROOT / "models" / "avatars" / "avatar_slim.glb")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=160)
    parser.add_argument("--max-seconds", type=float, default=90.0)
    parser.add_argument("--images", type=Path, help="save one eye image per affected side here")
    parser.add_argument("--hands", action="store_true", help="tracked hands, no controllers")
    args = parser.parse_args()

    from gmi_vr.xr.openxr_source import OpenXrSource
    from support.monado_remote import MonadoRemote

    rig = AvatarRig(AVATAR, CALIBRATION.measures)
    eyes = AvatarEyes()
    state = BodyState()
    plane = CALIBRATION.midline_plane()
    frames: list[dict[str, object]] = []
    result: dict[str, object] = {"frames": frames, "reference_space": ""}
    status = 0
    started = time.monotonic()
    remote = MonadoRemote()
    switch_at = args.frames // 2
    try:
        with OpenXrSource(eyes, hands_only=args.hands) as source:
            result["reference_space"] = source.reference_space_type.name if source.reference_space_type else ""
            focused = 0
            stop_requested = False
            for frame in source.frames():
                affected = Side.LEFT if focused < switch_at else Side.RIGHT
                healthy = affected.other
                settings = BodySettings(affected_side=affected)
                body = solve_body(frame, CALIBRATION, settings, state)
                hand = body.world_from_joint[side_joint(affected, "MiddleProximal"), :3, 3]
                eyes.frame_index = frame.index
                eyes.palette = rig.palette(body.world_from_joint)
                eyes.probe = {"affected_hand": hand, "parked_controller": PARKED[affected]}
                if args.images is not None and focused in (switch_at - 5, args.frames - 5):
                    eyes.save_as = args.images / f"eye_affected_{affected.value}.png"
                healthy_input = frame.hand(healthy)
                frames.append({
                    "index": frame.index, "focused": frame.focused, "affected": affected.value,
                    "healthy_valid": healthy_input.grip_valid,
                    "healthy_profile": healthy_input.profile,
                    "healthy_grip": healthy_input.grip.as_array().tolist(),
                    # With XR_EXT_hand_tracking the wrist comes from the tracked wrist joint.
                    "healthy_wrist_joint": None if healthy_input.joints is None or healthy_input.joints_valid is None
                    or not healthy_input.joints_valid[1] else healthy_input.joints[1].tolist(),
                    "healthy_wrist_shown": body.world_from_joint[side_joint(healthy, "Hand"), :3, 3].tolist(),
                    "fov": [v.fov_left for v in frame.views] + [v.fov_up for v in frame.views],
                    "displayed_healthy": body.displayed(healthy)[0].as_array().tolist(),
                    "displayed_affected": body.displayed(affected)[0].as_array().tolist(),
                    "displayed_affected_valid": body.displayed(affected)[1],
                    "plane": [plane.point.tolist(), plane.normal.tolist()],
                    "head": frame.head.as_array().tolist(),
                })  # fmt: skip
                source.present(DrawList())
                if frame.focused:
                    focused += 1
                # Next state for the driver: the healthy controller moves along its path, the
                # affected one stays parked (mirror mode must ignore it).
                t = focused / 30.0
                moving = healthy_path(healthy, t)
                parked = Pose(PARKED[affected], np.array([0, 0, 0, 1.0]))
                state_now = remote.state
                controllers = {healthy: moving, affected: parked}
                hands = {"active": not args.hands, "hand_tracking_active": args.hands}
                left = replace(state_now.left, pose=controllers[Side.LEFT], **hands)
                right = replace(state_now.right, pose=controllers[Side.RIGHT], **hands)
                remote.set_all(head_pose(), left, right)
                if not stop_requested and (focused >= args.frames or time.monotonic() - started > args.max_seconds):
                    source.request_stop()
                    stop_requested = True
    except GmiError as error:
        status = refused(error, result)
    finally:
        if args.hands:  # the driver keeps its state across clients: give the controllers back
            for side in ("left", "right"):
                remote.set_controller(side, active=True, hand_tracking_active=False)
        remote.close()
    result["views"] = eyes.records
    args.out.write_text(json.dumps(result))
    return status


if __name__ == "__main__":
    sys.exit(main())
