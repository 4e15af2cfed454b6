"""Skinned avatars through the renderer (real llvmpipe GL): a DrawList's SkinnedItem is drawn
by name with the patient's skin tone, where the solved body puts it, in the same pass as the
room's meshes (depth tested against them), and as a translucent ghost.

Runs in whatever context this process can have (hidden GLFW window or surfaceless EGL), like
the other renderer tests; every test fails if it leaves a GL error behind.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gmi_vr.body.appearance import SKIN_TONES
from gmi_vr.body.calibration import Calibration, Posture
from gmi_vr.body.rig import AvatarRig
from gmi_vr.body.skeleton import JOINT_INDEX, side_joint
from gmi_vr.body.solve import BodySettings, BodyState, solve_body
from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.geometry import matrix_from_pose, quat_from_axis_angle, translation_matrix
from gmi_vr.geometry.camera import Camera
from gmi_vr.scene.draw import DrawList, MeshItem, SkinnedItem

pytestmark = pytest.mark.gl

W, H = 240, 240
CLEAR = (0.0, 0.0, 1.0, 1.0)
AVATAR = "avatars/avatar_slim"






@pytest.fixture(scope="module")
def scene() -> tuple[Calibration, Any, Any, Camera]:
    """A seated patient facing the camera (+Z), right hand raised high; the left mirrors it."""
    from gmi_vr.assets.gltf_skin import load_skinned_gltf
    from gmi_vr.assets.locations import model_path

    base = Calibration.uncalibrated(Posture.SEATED, 1.7, Side.LEFT)
    cal = Calibration(base.posture, base.measures, np.zeros(3), math.pi, base.hips_height_m, Side.LEFT, Side.RIGHT)
    head = Pose(cal.hips_position() + [0, 0.70, 0.05], quat_from_axis_angle(np.array([0, 1.0, 0]), math.pi))
    grip = Pose(cal.origin + [-0.25, 1.45, 0.35], quat_from_axis_angle(np.array([1.0, 0, 0]), 1.2))
    frame = TrackingFrame(0, 0.0, 0, head, True, HandInput(), HandInput(grip=grip, grip_valid=True))
    body = solve_body(frame, cal, BodySettings(), BodyState())
    rig = AvatarRig(load_skinned_gltf(model_path(AVATAR)), cal.measures)
    camera = Camera.symmetric(Pose([0.0, 1.0, 2.4], [0, 0, 0, 1.0]), math.radians(60), 1.0)
    return cal, body, rig, camera


def _pixel(camera: Camera, point: np.ndarray) -> tuple[int, int]:
    """(row from the top, column) where a world point lands."""
    clip = camera.projection() @ np.linalg.inv(matrix_from_pose(camera.pose)) @ np.append(point, 1.0)
    ndc = clip[:3] / clip[3]
    return int((1 - (ndc[1] + 1) / 2) * H), int((ndc[0] + 1) / 2 * W)


def _palm(body: Any, side: Side) -> np.ndarray:
    """The middle of the palm: halfway from the wrist to the middle finger's knuckle."""
    wrist = body.world_from_joint[side_joint(side, "Hand"), :3, 3]
    knuckle = body.world_from_joint[side_joint(side, "MiddleProximal"), :3, 3]
    return 0.5 * (wrist + knuckle)


def _draw(renderer: Any, target: Any, draw_list: DrawList, camera: Camera) -> np.ndarray:
    renderer.draw(draw_list, camera, target.framebuffer, target.width, target.height)
    return target.read_rgba()[:, :, :3].astype(int)


def test_skinned_item_is_drawn_where_the_body_is_in_the_patients_tone(renderer: Any, target: Any, scene: Any) -> None:
    cal, body, rig, camera = scene
    tone = SKIN_TONES["medium_dark"]
    item = SkinnedItem(AVATAR, rig.palette(body.world_from_joint), tint=tone)
    pixels = _draw(renderer, target, DrawList(skinned=(item,), clear_color=CLEAR), camera)
    for side in (Side.LEFT, Side.RIGHT):  # both hands up: the left one is the mirrored one
        # The hand is seen edge on (a few pixels thick): its centre pixel is skin.
        r, g, b = pixels[_pixel(camera, _palm(body, side))]
        assert b < 150 and r > b, (side, r, g, b)  # not the blue background: a skin colour
    empty = _pixel(camera, np.array([0.9, 2.0, 0.0]))
    assert tuple(pixels[empty]) == (0, 0, 255)
    darker = _draw(renderer, target, DrawList(skinned=(SkinnedItem(AVATAR, item.palette, tint=SKIN_TONES["light"]),),
                                             clear_color=CLEAR), camera)  # fmt: skip
    chest = _pixel(camera, body.world_from_joint[JOINT_INDEX["chest"], :3, 3])
    assert darker[chest].sum() > pixels[chest].sum() + 60  # the light tone is lighter


def test_skinned_avatar_is_depth_tested_against_meshes_and_ghosts_blend(renderer: Any, target: Any, scene: Any) -> None:
    cal, body, rig, camera = scene
    palette = rig.palette(body.world_from_joint)
    hand = _palm(body, Side.RIGHT)
    row, column = _pixel(camera, hand)
    # A red box between the camera and the hand hides it; one behind the hand does not.
    toward_camera = camera.pose.position - hand
    in_front = MeshItem("box", translation_matrix(hand + 0.3 * toward_camera) @ np.diag((0.05, 0.05, 0.05, 1.0)),
                        (1.0, 0.0, 0.0, 1.0), lit=False)  # fmt: skip
    behind = MeshItem("box", translation_matrix(hand - 0.3 * toward_camera) @ np.diag((0.4, 0.4, 0.05, 1.0)),
                      (1.0, 0.0, 0.0, 1.0), lit=False)  # fmt: skip
    item = SkinnedItem(AVATAR, palette, tint=SKIN_TONES["light"])
    hidden = _draw(renderer, target, DrawList(meshes=(in_front,), skinned=(item,), clear_color=CLEAR), camera)
    assert tuple(hidden[row, column]) == (255, 0, 0)
    shown = _draw(renderer, target, DrawList(meshes=(behind,), skinned=(item,), clear_color=CLEAR), camera)
    assert tuple(shown[row, column]) != (255, 0, 0) and shown[row, column][2] < 200
    ghost = SkinnedItem(AVATAR, palette, tint=SKIN_TONES["light"], ghost=True)
    see_through = _draw(renderer, target, DrawList(meshes=(behind,), skinned=(ghost,), clear_color=CLEAR), camera)
    r, g, b = see_through[row, column]
    assert r > 150 and 0 < g < shown[row, column][1]  # the red box shows through the skin


@pytest.mark.parametrize("eye_offset_m", [-0.032, 0.0, 0.032])
def test_the_patients_own_eyes_see_nothing_of_the_head(renderer: Any, target: Any, eye_offset_m: float) -> None:
    """From either eye (half an IPD to the side) looking ahead, with the usual 5 cm near
    plane, the avatar's head does not show: the eyes sit inside it and nothing of it sticks
    out in front of them."""
    from gmi_vr.assets.gltf_skin import load_skinned_gltf
    from gmi_vr.assets.locations import model_path
    from gmi_vr.body.calibration import eye_above_hips, eye_in_head

    for avatar_name in ("avatars/avatar_slim", "avatars/avatar_broad"):
        for height in (1.5, 1.75, 2.0):
            cal = Calibration.uncalibrated(Posture.STANDING, height, Side.LEFT)
            m = cal.measures
            head_joint = cal.hips_position() + np.array([0.0, eye_above_hips(m) - eye_in_head(m)[1], 0.0])
            eye = Pose(head_joint + eye_in_head(m), [0, 0, 0, 1.0])
            frame = TrackingFrame(0, 0.0, 0, eye, True, HandInput(), HandInput())
            body = solve_body(frame, cal, BodySettings(), BodyState())
            rig = AvatarRig(load_skinned_gltf(model_path(avatar_name)), m)
            item = SkinnedItem(avatar_name, rig.palette(body.world_from_joint))
            view = Pose(eye.position + [eye_offset_m, 0.0, 0.0], [0, 0, 0, 1.0])
            camera = Camera(view, -math.radians(50), math.radians(50), math.radians(50), -math.radians(50), near=0.05)
            pixels = _draw(renderer, target, DrawList(skinned=(item,), clear_color=CLEAR), camera)
            assert np.all(pixels == (0, 0, 255)), (avatar_name, height, np.argwhere(np.any(pixels != (0, 0, 255), axis=2))[:3])
