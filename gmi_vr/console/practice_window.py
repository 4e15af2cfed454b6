"""The patient's practice window on a desktop or laptop at home (no headset): the scene the
headset would show, seen from the patient's place, and the keys to use along the bottom.

``PracticeWindow`` draws a ``DrawList`` (what therapy returns for the frame) from the
frame's head pose with a fixed field of view, and hands on the patient's inputs as plain
data: ``InputEvent`` (the key or button, pressed or released, and the time GLFW delivered it,
``glfw.get_time()`` in the callback: the clock the app stamps its frames with, so a reaction
time runs from the frame that first showed a picture to the input itself, exact to a frame).

What each input means is the app's choice (``gmi_vr.app.practice``); this window only names
them: keys by ``KEYS`` ("left_arrow", "f", "space", ...), the mouse as "mouse_left" and
"mouse_right", the wheel as "wheel_up" / "wheel_down" (a press with no release). Escape and
the close button are the app's to confirm (``take_console_keys``, ``cancel_close``), as in
the therapist window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from OpenGL import GL

from gmi_vr.core.types import Pose, TrackingFrame
from gmi_vr.geometry import quat_from_axis_angle, quat_multiply, quat_rotate
from gmi_vr.geometry.camera import Camera
from gmi_vr.render.context import WindowContext
from gmi_vr.render.renderer import Renderer
from gmi_vr.render.target import RenderTarget
from gmi_vr.scene.draw import DrawList

if TYPE_CHECKING:
    from gmi_vr.console.panels import ConsoleAction, SessionPanel

#: The window's size in screen units: a laptop screen's comfortable window.
PRACTICE_WINDOW_SIZE = (1024, 640)
#: The picture is seen from a little behind the patient's eyes, looking a little down, with
#: a field of view a laptop screen can show undistorted: from there one screen holds what the
#: headset spreads over the eyes' wider view — the instructions ahead, a stimulus below eye
#: level and the ghost demonstration at the hand's rest on the table. Product choice.
VIEW_BEHIND_M = 0.3
VIEW_PITCH_DEG = -16.0
VERTICAL_FOV_DEG = 55.0
STATUS_PX = 22  # the keys line's line height
SAMPLES = 4  # smooth edges on a desktop screen

#: GLFW key constants -> the names the app maps (letters are added in ``_key_name``).
KEYS: dict[str, str] = {
    "KEY_LEFT": "left_arrow", "KEY_RIGHT": "right_arrow", "KEY_UP": "up_arrow",
    "KEY_DOWN": "down_arrow", "KEY_SPACE": "space", "KEY_ENTER": "enter",
    "KEY_KP_ENTER": "enter", "KEY_ESCAPE": "escape",
}


@dataclass(frozen=True)
class InputEvent:
    """One key or button change: ``name`` (see the module docstring), ``down`` True for a
    press, and ``time_s`` on the frame clock (``glfw.get_time()`` when it was delivered)."""

    name: str
    down: bool
    time_s: float


def _key_name(glfw: Any, key: int) -> str | None:
    if glfw.KEY_A <= key <= glfw.KEY_Z:
        return chr(ord("a") + key - glfw.KEY_A)
    for constant, name in KEYS.items():
        if key == getattr(glfw, constant):
            return name
    return None


def view_pose(head: Pose) -> Pose:
    """Where the picture is seen from: ``VIEW_BEHIND_M`` behind ``head``, pitched by
    ``VIEW_PITCH_DEG`` (head: level, +Z towards the back of the patient)."""
    position = head.position + quat_rotate(head.orientation, np.array([0.0, 0.0, VIEW_BEHIND_M]))
    pitch = quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), math.radians(VIEW_PITCH_DEG))
    return Pose(position, quat_multiply(head.orientation, pitch))


class PracticeWindow:
    """The GLFW window of a home practice, on an open ``WindowContext`` with its renderer."""

    def __init__(self, context: WindowContext, renderer: Renderer) -> None:
        import glfw

        self.context = context
        self.renderer = renderer
        self._events: list[InputEvent] = []
        self._escapes: list[str] = []
        self._target: RenderTarget | None = None
        #: The therapist's console panels: none in the patient's window (the session loop
        #: sets this only where a console runs).
        self.panel: SessionPanel | None = None
        window = context.window
        glfw.set_key_callback(window, self._on_key)
        glfw.set_mouse_button_callback(window, self._on_mouse_button)
        glfw.set_scroll_callback(window, self._on_scroll)
        glfw.swap_interval(1)

    # -- input callbacks (GLFW calls them from poll(), on this thread)

    def _on_key(self, window: Any, key: int, scancode: int, action: int, mods: int) -> None:
        import glfw

        if action == glfw.REPEAT:
            return  # a held key is one press: its repeats are not answers
        name = _key_name(glfw, key)
        if name is None:
            return
        now = glfw.get_time()
        if name == "escape":
            if action == glfw.PRESS:
                self._escapes.append("escape")
            return
        self._events.append(InputEvent(name, action == glfw.PRESS, now))

    def _on_mouse_button(self, window: Any, button: int, action: int, mods: int) -> None:
        import glfw

        names = {glfw.MOUSE_BUTTON_LEFT: "mouse_left", glfw.MOUSE_BUTTON_RIGHT: "mouse_right"}
        if button in names:
            self._events.append(InputEvent(names[button], action == glfw.PRESS, glfw.get_time()))

    def _on_scroll(self, window: Any, dx: float, dy: float) -> None:
        import glfw

        if dy:
            self._events.append(InputEvent("wheel_up" if dy > 0 else "wheel_down", True, glfw.get_time()))

    # -- what the app takes each frame

    def take_inputs(self) -> list[InputEvent]:
        """Deliver what the window system holds now (GLFW calls the callbacks, which stamp each
        input with its time) and return the inputs since the last call, oldest first. Called
        at the start of a frame, so an input is stamped before the frame that reads it."""
        self.context.poll()
        events, self._events = self._events, []
        return events

    def take_console_keys(self) -> list[str]:
        """Escape presses since the last call (the app asks before it ends the session)."""
        escapes, self._escapes = self._escapes, []
        return escapes

    def take_console_actions(self) -> list[ConsoleAction]:
        return []  # no console panels in the patient's window

    def should_close(self) -> bool:
        return self.context.should_close()

    def cancel_close(self) -> None:
        """Keep the window open after a close request (the app asks first)."""
        import glfw

        glfw.set_window_should_close(self.context.window, False)

    @property
    def minimised(self) -> bool:
        """The window is iconified: nothing of it can be seen, so practice pauses."""
        import glfw

        return bool(glfw.get_window_attrib(self.context.window, glfw.ICONIFIED))

    # -- per frame

    def show(self, draw_list: DrawList, frame: TrackingFrame, status: str,
             capture: bool = False, timeline: object = None) -> NDArray[np.uint8] | None:
        """Draw the scene from ``frame.head`` and ``status`` along the bottom, swap, poll.
        The avatar (skinned items) is left out: no body is tracked at a desk, and the
        patient's own limbs are on the table in front of the screen. With ``capture``
        returns the picture as (height, width, 4) uint8. ``timeline`` is the therapist
        window's (replay's): the patient's window has none and ignores it."""
        self.context.make_current()
        width, height = self.context.framebuffer_size()
        pixels = None
        if width > 0 and height > 0:  # zero while minimised
            target = self._target_for(width, height)
            camera = Camera.symmetric(view_pose(frame.head), math.radians(VERTICAL_FOV_DEG), width / height)
            scene = DrawList(meshes=draw_list.meshes, texts=draw_list.texts,
                             clear_color=draw_list.clear_color, fade=draw_list.fade)
            self.renderer.draw(scene, camera, target.framebuffer, width, height)
            target.resolve()
            if status:
                self.renderer.draw_screen_text(status, target.resolved_framebuffer, width, height,
                                               8, height - STATUS_PX - 10, STATUS_PX)
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, target.resolved_framebuffer)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, 0)
            GL.glBlitFramebuffer(0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT,
                                 GL.GL_NEAREST)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            if capture:
                pixels = target.read_rgba()
        self.context.swap()
        self.context.poll()
        return pixels

    def _target_for(self, width: int, height: int) -> RenderTarget:
        if self._target is None or (self._target.width, self._target.height) != (width, height):
            if self._target is not None:
                self._target.release()
            self._target = RenderTarget(width, height, samples=SAMPLES)
        return self._target

    def release(self) -> None:
        """Release the window's GL objects (the context and renderer belong to the caller)."""
        self.context.make_current()
        if self._target is not None:
            self._target.release()
            self._target = None
