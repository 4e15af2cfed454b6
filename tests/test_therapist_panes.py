"""What the therapist window's panes draw and what they reuse, in a real GL context.

- The patient pane shows the headset's left eye as the headset drew it (a copy taken while
  its swapchain image is acquired, ``TherapistView.keep_patient_eye``) when the app said the
  window is drawn this frame, and only for that frame's DrawList; otherwise it draws the
  scene from the left eye as before.
- The live window draws its third-person pane on every other compose (``third_person_every``):
  in between it shows the last picture unchanged; a moved camera redraws it at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.gl

#: An OpenXR UNORM swapchain image holds linear light; the pane stores sRGB bytes.
EYE_LINEAR_GREY = 0.2
EYE_SRGB_BYTE = round(255 * (1.055 * EYE_LINEAR_GREY ** (1 / 2.4) - 0.055))  # 124


def _frame() -> Any:
    from gmi_vr.assets.locations import shipped_data_dir
    from gmi_vr.xr.sim_source import ScriptedFrameSource

    return list(ScriptedFrameSource.from_file(shipped_data_dir() / "demo-reach.jsonl").frames())[-1]


def _room(frame: Any, *extra: Any) -> Any:
    from gmi_vr.scene.draw import DrawList
    from gmi_vr.scene.room import room_draw_list

    room = room_draw_list(frame)
    return DrawList(room.meshes + extra, room.skinned, room.texts, room.clear_color, room.fade)


def _lower_half(picture: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """The lower half of a pane (clear of its label in the top left corner)."""
    x, y, w, h = rect
    return picture[y + h // 2 : y + h, x : x + w, :3].astype(int)


class _Window:
    """A TherapistView composing into an offscreen window-sized picture."""

    def __init__(self, renderer: Any, third_person_every: int = 1) -> None:
        from gmi_vr.console.therapist_window import WINDOW_SIZE, TherapistView
        from gmi_vr.render.target import RenderTarget

        self.view = TherapistView(renderer, samples=1, third_person_every=third_person_every)
        self.picture = RenderTarget(*WINDOW_SIZE)

    def compose(self, draw_list: Any, frame: Any) -> np.ndarray:
        self.view.compose(draw_list, frame, self.picture.framebuffer, self.picture.width, self.picture.height,
                          "pane test")  # fmt: skip
        return self.picture.read_rgba()

    def panes(self, frame: Any) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
        from gmi_vr.console import therapist_window as tw

        patient_area, third, _ = tw.pane_layout(self.picture.width, self.picture.height)
        return tw.letterbox(patient_area, tw.view_aspect(frame.views[0])), third

    def release(self) -> None:
        self.view.release()
        self.picture.release()


@pytest.mark.parametrize("image", ["layer 0 of a two-layer swapchain", "a 2D swapchain image"])
def test_the_patient_pane_shows_the_left_eye_as_drawn_for_the_frame_composed(gl: Any, renderer: Any,
                                                                             image: str) -> None:
    from gmi_vr.render.target import LayeredRenderTarget, RenderTarget

    frame = _frame()
    window = _Window(renderer)
    layered = image.startswith("layer")
    # The headset's eye image as an OpenXR runtime hands it out: UNORM, holding linear light.
    eyes: Any = LayeredRenderTarget(320, 240, srgb=False) if layered else RenderTarget(320, 240, srgb=False)
    try:
        for layer, grey in ((0, EYE_LINEAR_GREY), (1, 1.0)) if layered else ((None, EYE_LINEAR_GREY),):
            gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, eyes.layer_framebuffer(layer) if layered else eyes.framebuffer)
            gl.glClearColor(grey, grey, grey, 1.0)
            gl.glClear(gl.GL_COLOR_BUFFER_BIT)
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, 0)
        patient, third = window.panes(frame)
        scene = _lower_half(window.compose(_room(frame), frame), patient)  # the first compose sizes the panes
        assert len(np.unique(scene // 8, axis=0)) > 10, "drawn from the left eye: the lit room"

        def keep(draw_list: Any) -> None:
            window.view.keep_patient_eye(draw_list, eyes.color_texture, 0 if layered else None, 320, 240)

        # The window is drawn this frame: the eye is kept and shown, sRGB-encoded, stretched to the pane.
        shown = _room(frame)
        window.view.want_patient_eye(True)
        keep(shown)
        pane = _lower_half(window.compose(shown, frame), patient)
        assert np.abs(pane - EYE_SRGB_BYTE).max() <= 1, "the left eye's image (layer 0), not the scene"
        # Not composed this frame: nothing kept, the pane draws the scene again.
        window.view.want_patient_eye(False)
        unseen = _room(frame)
        keep(unseen)
        assert np.array_equal(_lower_half(window.compose(unseen, frame), patient), scene)
        # A kept eye belongs to its own frame's DrawList: another frame's draws the scene.
        window.view.want_patient_eye(True)
        keep(_room(frame))
        assert np.array_equal(_lower_half(window.compose(_room(frame), frame), patient), scene)
    finally:
        eyes.release()
        window.release()


def test_the_third_person_pane_is_drawn_every_other_compose_and_at_once_when_its_camera_moves(
        gl: Any, renderer: Any) -> None:  # fmt: skip
    from gmi_vr.scene.room import placed

    frame = _frame()
    window = _Window(renderer, third_person_every=2)
    # A red ball at the third-person camera's target, big enough to fill much of that pane.
    ball = placed("sphere", tuple(window.view.orbit.target), (0.5, 0.5, 0.5), (0.9, 0.1, 0.1, 1.0))
    try:
        patient, third = window.panes(frame)
        first = window.compose(_room(frame), frame)
        second = window.compose(_room(frame, ball), frame)
        # The patient pane follows every frame (the ball is in front of the patient too) ...
        assert not np.array_equal(_lower_half(first, patient), _lower_half(second, patient))
        # ... the third-person pane keeps its last picture for one compose, then follows.
        assert np.array_equal(_lower_half(first, third), _lower_half(second, third))
        third_drawn = window.compose(_room(frame, ball), frame)
        assert not np.array_equal(_lower_half(second, third), _lower_half(third_drawn, third))
        # The therapist drags the view round: the next compose shows it, whatever its turn.
        window.view.orbit.orbit(60.0, 0.0)
        turned = window.compose(_room(frame, ball), frame)
        assert not np.array_equal(_lower_half(third_drawn, third), _lower_half(turned, third))
    finally:
        window.release()



def test_screen_texts_drawn_together_each_sit_where_placed(gl: Any, renderer: Any) -> None:
    from gmi_vr.render.renderer import ScreenText
    from gmi_vr.render.target import RenderTarget

    picture = RenderTarget(320, 200)
    try:
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, picture.framebuffer)
        gl.glClearColor(0.0, 0.0, 0.0, 1.0)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT)
        # Opaque boxes with text the same colour as the box: each text shows as a solid block.
        red, green = (1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 1.0)
        placed = {(10, 20): red, (150, 120): green}
        renderer.draw_screen_texts([ScreenText("label", x, y, 18, color=c, background=c) for (x, y), c in placed.items()],
                                   picture.framebuffer, picture.width, picture.height)  # fmt: skip
        pixels = picture.read_rgba()[:, :, :3].astype(int)
        for (x, y), color in placed.items():
            channel = 0 if color is red else 1
            rows, columns = np.nonzero(pixels[:, :, channel] > 200)
            assert (rows.min(), columns.min()) == (y, x), "the box's top-left corner at the pixel given"
            assert 18 <= rows.max() - rows.min() + 1 <= 30 and columns.max() - columns.min() + 1 > 30
    finally:
        picture.release()
