"""The body in the product's scene: the simulator's built-in demo motion (a seated reach with
the right hand) drives ``solve_body`` frame by frame; the mirrored left hand is checked on
every frame, then the last frame is drawn with the avatar in the clinic room through the
real renderer (llvmpipe), for the patient's eyes and the therapist's picture (whose status
line names the mode and the affected side).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from render_scenes import demo_patient, left_palm_pixel

from gmi_vr.assets.locations import shipped_data_dir
from gmi_vr.body import BodySettings, BodyState, LimbMode, solve_body
from gmi_vr.body.skeleton import side_joint
from gmi_vr.core.types import Side
from gmi_vr.geometry import rotation_angle_between
from gmi_vr.geometry.camera import Camera
from gmi_vr.geometry.reflect import reflect_pose
from gmi_vr.scene.draw import DrawList, SkinnedItem
from gmi_vr.scene.room import room_draw_list
from gmi_vr.xr.sim_source import ScriptedFrameSource, load_motion

pytestmark = pytest.mark.gl



def test_demo_motion_mirrored_on_every_frame_and_drawn_in_the_room(gl_context: Any, tmp_path: Path) -> None:
    from OpenGL import GL
    from PIL import Image

    from gmi_vr.console.therapist_window import WINDOW_SIZE, TherapistView
    from gmi_vr.render.renderer import Renderer
    from gmi_vr.render.target import RenderTarget

    gl_context.make_current()
    # Seated at the demo's chair: the patient's eyes are where the motion puts the head.
    calibration, appearance, rig = demo_patient()
    settings, state = BodySettings(mode=LimbMode.MIRROR), BodyState()
    plane = calibration.midline_plane()
    with ScriptedFrameSource(load_motion(shipped_data_dir() / "demo-reach.jsonl")) as source:
        frames = list(source.frames())
    assert len(frames) > 30
    for frame in frames:
        body = solve_body(frame, calibration, settings, state)
        mirrored = reflect_pose(body.displayed_right, plane)
        assert np.linalg.norm(body.displayed_left.position - mirrored.position) <= 0.005
        assert rotation_angle_between(body.displayed_left.orientation, mirrored.orientation) <= math.radians(2)
        # The healthy hand is at its controller, or as near as the arm reaches: the demo's
        # reach ends beyond this seated patient's arm, which then points straight at it.
        if np.linalg.norm(body.displayed_right.position - frame.right.grip.position) > 0.001:
            shoulder, elbow, wrist = (body.world_from_joint[side_joint(Side.RIGHT, b), :3, 3]
                                      for b in ("UpperArm", "LowerArm", "Hand"))  # fmt: skip
            upper, lower = elbow - shoulder, wrist - elbow
            assert upper @ lower / (np.linalg.norm(upper) * np.linalg.norm(lower)) > 0.999

    frame = frames[-1]
    avatar = SkinnedItem(appearance.avatar_model, rig.palette(body.world_from_joint), appearance.tint)
    room = room_draw_list(frame)
    with_body = DrawList(room.meshes, (avatar,), room.texts, room.clear_color, room.fade)
    renderer = Renderer()
    view = TherapistView(renderer, samples=1)
    eye = RenderTarget(320, 240)
    therapist = RenderTarget(*WINDOW_SIZE)
    try:
        camera = Camera.from_view(frame.views[0])
        pictures = {}
        for name, draw_list in (("room", room), ("body", with_body)):
            renderer.draw(draw_list, camera, eye.framebuffer, eye.width, eye.height)
            pictures[name] = eye.read_rgba()[:, :, :3].astype(int)
        Image.fromarray(pictures["body"].astype(np.uint8)).save(tmp_path / "patient-left-eye.png")
        # The mirrored (affected, left) hand shows where its pose projects; the room alone
        # has something else there.
        row, column = left_palm_pixel(body.world_from_joint, camera, eye.width, eye.height)
        assert np.abs(pictures["body"][row, column] - pictures["room"][row, column]).sum() > 30
        view.compose(with_body, frame, therapist.framebuffer, therapist.width, therapist.height,
                     "mirror | affected side: left")  # fmt: skip
        picture = therapist.read_rgba()[:, :, :3]
        Image.fromarray(picture).save(tmp_path / "therapist-window.png")
        view.compose(room, frame, therapist.framebuffer, therapist.width, therapist.height,
                     "mirror | affected side: left")  # fmt: skip
        without = therapist.read_rgba()[:, :, :3]
        changed = np.any(picture != without, axis=2).mean()
        assert changed > 0.01  # the body shows in the patient and third-person panes
        assert GL.glGetError() == GL.GL_NO_ERROR
    finally:
        therapist.release()
        eye.release()
        view.release()
        renderer.release()
