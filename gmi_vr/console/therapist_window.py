"""The therapist window: what the patient sees next to a free third-person view.

Two layers here:

- ``TherapistView`` composes the picture into any framebuffer (the window's back buffer,
  or an offscreen target when there is no display): the patient's view (one eye, aspect
  correct, letterboxed) on the left, an orbiting third-person camera on the right, and a
  status line along the bottom. It draws with the one ``Renderer`` of the GL context,
  so meshes, programs and the glyph atlas are shared with the eyes' rendering. Drawing the
  scene again is most of a redraw's CPU, so it is done only where needed: in the headset
  the patient's view is the left eye the headset already drew (``keep_patient_eye``), and
  the live window's third-person view is drawn on every other redraw (``THIRD_PERSON_EVERY``).
- ``TherapistWindow`` is the GLFW window around it: mouse orbit and zoom in the right pane,
  and the simulator's keyboard and mouse (``gmi_vr.core.input.InputState``) in the left one.

Pixel rectangles are (x, y, width, height) from the window's top-left corner.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from OpenGL import GL

from gmi_vr.core.input import InputState
from gmi_vr.core.types import FloatArray, Pose, TrackingFrame, ViewInfo
from gmi_vr.geometry import matrix_from_pose, quat_rotate, yaw_pitch_roll_quat
from gmi_vr.geometry.camera import Camera
from gmi_vr.render.context import WindowContext
from gmi_vr.render.renderer import Renderer, ScreenText
from gmi_vr.render.target import RenderTarget, read_pixels
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem
from gmi_vr.scene.room import placed

if TYPE_CHECKING:
    from gmi_vr.console.panels import Console, ConsoleAction, SessionPanel

Rect = tuple[int, int, int, int]

WINDOW_SIZE = (1280, 600)
GAP_PX = 8
STATUS_BAR_PX = 34
LABEL_PX = 18  # line height of pane labels and the status line
HELP_PX = 17
BACKGROUND = (0.13, 0.14, 0.16, 1.0)  # sRGB, the window around the panes
#: Multisampling of the panes: smooth edges are worth it on a desktop screen.
PANE_SAMPLES = 4
#: The live window draws its third-person pane on every other redraw: drawing the scene
#: once more is most of a redraw's CPU, and that view changes slowly. At the window's 15
#: redraws a second (``app.loop.CONSOLE_MAX_HZ``) it lags the patient by at most 1/7.5 s;
#: the therapist's own drag or zoom redraws it at once.
THIRD_PERSON_EVERY = 2
HEAD_MARKER_COLOR = (0.93, 0.80, 0.68, 1.0)
#: Replay's timeline strip above the status bar: the bar with its marks, then the legend.
TIMELINE_PX = 44
TIMELINE_BAR_PX = 16  # the bar's height; it starts TIMELINE_TOP_PX into the strip
TIMELINE_TOP_PX = 4
TIMELINE_LABEL_PX = 15
TIMELINE_BAR_COLOR: RGBA = (0.24, 0.26, 0.30, 1.0)  # sRGB, the part not yet played
TIMELINE_PLAYED_COLOR: RGBA = (0.36, 0.39, 0.45, 1.0)
TIMELINE_CURSOR_COLOR: RGBA = (1.0, 1.0, 1.0, 1.0)
TIMELINE_MARK_PX = 2  # a mark's width


@dataclass(frozen=True)
class TimelineBar:
    """Replay's timeline (plain data): the recording from ``start_s`` to ``end_s``, the shown
    ``position_s``, the marks as (time_s, sRGB colour), and the legend's (words, colour)."""

    start_s: float
    end_s: float
    position_s: float
    marks: tuple[tuple[float, RGBA], ...] = ()
    legend: tuple[tuple[str, RGBA], ...] = ()


def letterbox(area: Rect, aspect: float) -> Rect:
    """The largest rectangle of width/height ``aspect`` centred in ``area``."""
    x, y, w, h = area
    if w / h > aspect:
        inner_w, inner_h = max(1, round(h * aspect)), h
    else:
        inner_w, inner_h = w, max(1, round(w / aspect))
    return (x + (w - inner_w) // 2, y + (h - inner_h) // 2, inner_w, inner_h)


def view_aspect(view: ViewInfo) -> float:
    """Width/height of an eye's image plane, from its (possibly asymmetric) field of view."""
    width = math.tan(view.fov_right) - math.tan(view.fov_left)
    height = math.tan(view.fov_up) - math.tan(view.fov_down)
    return width / height


def pane_layout(width: int, height: int, timeline_px: int = 0) -> tuple[Rect, Rect, Rect]:
    """Patient pane, third-person pane and status bar for a window of width x height, with
    ``timeline_px`` left between the panes and the status bar (``timeline_area``)."""
    pane_h = max(1, height - STATUS_BAR_PX - GAP_PX - timeline_px)
    pane_w = max(1, (width - 3 * GAP_PX) // 2)
    patient = (GAP_PX, GAP_PX, pane_w, pane_h)
    third = (2 * GAP_PX + pane_w, GAP_PX, pane_w, pane_h)
    status = (0, height - STATUS_BAR_PX, width, STATUS_BAR_PX)
    return patient, third, status


def timeline_area(width: int, height: int) -> Rect:
    """The bar of replay's timeline strip (its marks and cursor span the bar's height)."""
    top = height - STATUS_BAR_PX - TIMELINE_PX + TIMELINE_TOP_PX
    return (GAP_PX, top, max(1, width - 2 * GAP_PX), TIMELINE_BAR_PX)


def timeline_x(bar: Rect, start_s: float, end_s: float, time_s: float) -> int:
    """The pixel column of ``time_s`` on ``bar`` (clamped to it)."""
    fraction = 0.0 if end_s <= start_s else min(1.0, max(0.0, (time_s - start_s) / (end_s - start_s)))
    return bar[0] + round(fraction * (bar[2] - 1))


def _inside(rect: Rect, x: float, y: float) -> bool:
    return rect[0] <= x < rect[0] + rect[2] and rect[1] <= y < rect[1] + rect[3]


@dataclass
class OrbitCamera:
    """A camera circling ``target`` (world, metres): yaw about +Y, pitch up/down, distance."""

    target: FloatArray = field(default_factory=lambda: np.array([0.0, 0.8, -0.35]))
    yaw_deg: float = 50.0
    pitch_deg: float = -24.0
    distance_m: float = 2.3
    vertical_fov_deg: float = 55.0

    def orbit(self, dx_px: float, dy_px: float) -> None:
        self.yaw_deg = (self.yaw_deg - 0.3 * dx_px) % 360.0
        self.pitch_deg = float(np.clip(self.pitch_deg - 0.3 * dy_px, -89.0, 89.0))

    def zoom(self, steps: float) -> None:
        self.distance_m = float(np.clip(self.distance_m * 0.9**steps, 0.4, 12.0))

    def camera(self, aspect: float) -> Camera:
        orientation = yaw_pitch_roll_quat(self.yaw_deg, self.pitch_deg)
        # The camera looks along its -Z at the target, so it sits on its +Z behind it.
        position = self.target + quat_rotate(orientation, np.array([0.0, 0.0, self.distance_m]))
        return Camera.symmetric(Pose(position, orientation), math.radians(self.vertical_fov_deg), aspect)


def head_marker_items(frame: TrackingFrame) -> tuple[MeshItem, ...]:
    """The patient's head for the third-person view when no avatar shows it: a head-sized
    ellipsoid with a nose pointing where the patient looks. Nothing when the head is lost."""
    if not frame.head_valid:
        return ()
    world_from_head = matrix_from_pose(frame.head)
    parts = [
        placed("sphere", (0.0, 0.0, 0.02), (0.16, 0.22, 0.2), HEAD_MARKER_COLOR),
        placed("sphere", (0.0, -0.02, -0.095), (0.035, 0.05, 0.05), HEAD_MARKER_COLOR),
    ]
    return tuple(MeshItem(p.mesh, world_from_head @ p.world_from_mesh, p.color, p.lit) for p in parts)


class TherapistView:
    """Composes the therapist's picture with ``renderer`` into a framebuffer of any size.

    ``samples`` is the panes' multisampling. On software OpenGL (llvmpipe) the panes' pixels
    dominate the cost: a 1280x600 picture took about 88 ms with 4 samples and 57 ms with 1
    on a two-core machine, where a GPU takes well under a millisecond.
    """

    def __init__(self, renderer: Renderer, samples: int = PANE_SAMPLES, third_person_every: int = 1) -> None:
        self.renderer = renderer
        self.samples = samples
        #: The third-person pane is drawn on every n-th compose and shown as last drawn in
        #: between (1: every compose); moving its camera or resizing it draws it at once.
        self.third_person_every = third_person_every
        self._composes_since_third = 0
        #: What each pane's target holds a picture of, by name: "third" the camera it was
        #: drawn from, "patient" the DrawList whose left eye the headset handed in.
        self._drawn_for: dict[str, object] = {}
        self._eye_wanted = False  # the app composes this frame: keep the headset's left eye
        #: The panes are drawn at this fraction of their size on screen and stretched to it
        #: (1.0: every pixel drawn); the labels and status line stay sharp at full size.
        self.pane_scale = 1.0
        self.orbit = OrbitCamera()
        self.show_help = False
        #: (keys, what they do) rows of the F1 help overlay, handed in by the app (the
        #: simulator's keys, the therapist's session keys, replay's keys).
        self.help_rows: tuple[tuple[str, str], ...] = ()
        #: Height of the timeline strip above the status bar (replay: TIMELINE_PX; 0: none).
        self.timeline_px = 0
        #: Width of the console's panel column at the right edge (0: no console); the
        #: views, status line and timeline keep the rest.
        self.panel_px = 0
        self._targets: dict[str, RenderTarget] = {}
        self._frame_rate_hz = 0.0
        self._last_time_s: float | None = None

    def _target(self, name: str, width: int, height: int) -> RenderTarget:
        width, height = max(1, round(width * self.pane_scale)), max(1, round(height * self.pane_scale))
        target = self._targets.get(name)
        if target is None or (target.width, target.height, target.samples) != (width, height, self.samples):
            if target is not None:
                target.release()
            target = self._targets[name] = RenderTarget(width, height, samples=self.samples)
            self._drawn_for.pop(name, None)  # a new target holds no picture yet
        return target

    def observe(self, frame: TrackingFrame) -> None:
        """Count a frame towards the status line's frame rate without drawing it (compose
        does this itself)."""
        self._measure_rate(frame)

    def _measure_rate(self, frame: TrackingFrame) -> None:
        # The rate of the frames' own clock (display times): deterministic for scripted runs.
        if self._last_time_s is not None and frame.time_s > self._last_time_s:
            instant = 1.0 / (frame.time_s - self._last_time_s)
            self._frame_rate_hz = instant if self._frame_rate_hz == 0 else 0.9 * self._frame_rate_hz + 0.1 * instant
        self._last_time_s = frame.time_s

    def patient_camera(self, frame: TrackingFrame) -> Camera:
        """The left eye (the view the patient's dominant picture is built from); a centred
        default when the frame has no views."""
        if frame.views:
            return Camera.from_view(frame.views[0])
        return Camera.symmetric(frame.head, math.radians(74), 4 / 3)

    def compose(self, draw_list: DrawList, frame: TrackingFrame, framebuffer: int, width: int,
                height: int, status: str, timeline: TimelineBar | None = None) -> None:
        """Draw the whole window picture into ``framebuffer`` (width x height pixels), with
        ``timeline`` in its strip when the view has one (``timeline_px``)."""
        self._measure_rate(frame)
        full_width, width = width, max(1, width - self.panel_px)
        patient_area, third_area, status_area = pane_layout(width, height, self.timeline_px)
        patient_camera = self.patient_camera(frame)
        left_eye = frame.views[0] if frame.views else None
        aspect = view_aspect(left_eye) if left_eye is not None else 4 / 3
        patient_rect = letterbox(patient_area, aspect)
        patient = self._target("patient", patient_rect[2], patient_rect[3])
        self._eye_wanted = False
        if self._drawn_for.pop("patient", None) is not draw_list:  # no eye image of this frame
            self.renderer.draw(draw_list, patient_camera, patient.framebuffer, patient.width, patient.height)
            patient.resolve()
        third = self._target("third", third_area[2], third_area[3])
        if self._third_person_due():
            # From outside, the avatar shows its head; without a body drawn, a head marker does.
            skinned = tuple(item.seen_from_outside() for item in draw_list.skinned)
            has_head = any(item.third_person_palette is not None for item in draw_list.skinned)
            markers = () if has_head else head_marker_items(frame)
            third_list = DrawList(draw_list.meshes + markers, skinned, draw_list.texts, draw_list.clear_color, 0.0)
            self.renderer.draw(third_list, self.orbit.camera(third_area[2] / third_area[3]),
                               third.framebuffer, third.width, third.height)
            third.resolve()

        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        GL.glViewport(0, 0, full_width, height)
        GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        GL.glClearColor(*BACKGROUND)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        for target, rect in ((patient, patient_rect), (third, third_area)):
            _blit(target, framebuffer, rect, height)

        line = f"{status}   |   {self._frame_rate_hz:5.1f} frames/s   |   frame {frame.index}   t = {frame.time_s:6.2f} s"
        self.renderer.draw_screen_texts((
            ScreenText("Patient view (left eye)", patient_rect[0] + 6, patient_rect[1] + 6, LABEL_PX),
            ScreenText("Third-person view: drag to orbit, scroll to zoom", third_area[0] + 6, third_area[1] + 6,
                       LABEL_PX),
            ScreenText(line, status_area[0] + GAP_PX, status_area[1] + (STATUS_BAR_PX - LABEL_PX * 1.3) / 2,
                       LABEL_PX, color=(0.92, 0.93, 0.95, 1.0), background=None),
        ), framebuffer, width, height)  # fmt: skip
        if timeline is not None and self.timeline_px > 0:
            self._draw_timeline(timeline, framebuffer, width, height)
        if self.show_help:
            self._draw_help(framebuffer, width, height, patient_rect[0] + 12, patient_rect[1] + 36)

    def want_patient_eye(self, wanted: bool) -> None:
        """Told before the headset draws a frame's eyes whether that frame is composed
        (``keep_patient_eye`` copies the left eye only then)."""
        self._eye_wanted = wanted

    def keep_patient_eye(self, draw_list: DrawList, texture: int, layer: int | None, width: int,
                         height: int) -> None:
        """The headset's left eye as just drawn from ``draw_list`` (``OpenXrSource``'s
        ``keep_left_eye``: a width x height colour texture, or a layer of an array): when
        that frame is composed (``want_patient_eye``), copied to the patient pane, which
        then shows exactly what the patient saw instead of drawing the scene once more.
        The pane's target exists from the first compose; until then the pane is drawn."""
        target = self._targets.get("patient")
        if not self._eye_wanted or target is None:
            return
        self._eye_wanted = False
        target.copy_from(texture, layer, width, height)
        self._drawn_for["patient"] = draw_list

    def _third_person_due(self) -> bool:
        """Whether this compose draws the third-person pane: on every
        ``third_person_every``-th compose, and at once when its camera moved (a drag, a zoom)
        or its target is new (a resize); otherwise its target keeps the last picture."""
        orbit = self.orbit
        camera = (orbit.yaw_deg, orbit.pitch_deg, orbit.distance_m, *orbit.target, orbit.vertical_fov_deg)
        self._composes_since_third += 1
        if camera != self._drawn_for.get("third") or self._composes_since_third >= self.third_person_every:
            self._drawn_for["third"], self._composes_since_third = camera, 0
            return True
        return False

    def _draw_timeline(self, timeline: TimelineBar, framebuffer: int, width: int, height: int) -> None:
        """The bar (the played part lighter), a tick per mark across its height, the
        position as a white line standing out above and below, and the legend under it."""
        bar = timeline_area(width, height)
        x, y, w, h = bar
        at = timeline_x(bar, timeline.start_s, timeline.end_s, timeline.position_s)
        _fill(framebuffer, height, bar, TIMELINE_BAR_COLOR)
        _fill(framebuffer, height, (x, y, at - x, h), TIMELINE_PLAYED_COLOR)
        for time_s, color in timeline.marks:
            mark = timeline_x(bar, timeline.start_s, timeline.end_s, time_s)
            _fill(framebuffer, height, (mark, y, TIMELINE_MARK_PX, h), color)
        _fill(framebuffer, height, (at - 1, y - 3, 3, h + 6), TIMELINE_CURSOR_COLOR)
        r = self.renderer
        left, legend = float(x), []
        for words, color in timeline.legend:
            legend.append(ScreenText(words, left, y + h + 4, TIMELINE_LABEL_PX, color=color, background=None))
            left += r.screen_text_width(words, TIMELINE_LABEL_PX) + 3 * GAP_PX
        r.draw_screen_texts(legend, framebuffer, width, height)

    def _draw_help(self, framebuffer: int, width: int, height: int, x: float, y: float) -> None:
        """The keys (``help_rows``) as a two-column table on a dark panel."""
        r = self.renderer
        keys = "Keys\n" + "\n".join(k for k, _ in self.help_rows)
        actions = "(F1 hides this)\n" + "\n".join(v for _, v in self.help_rows)
        keys_width = r.screen_text_width(keys, HELP_PX)
        panel = (0.06, 0.07, 0.08, 0.88)
        r.draw_screen_texts((ScreenText(keys, x, y, HELP_PX, color=(1.0, 0.9, 0.6, 1.0), background=panel),
                             ScreenText(actions, x + keys_width, y, HELP_PX, background=panel)),
                            framebuffer, width, height)  # fmt: skip

    def release(self) -> None:
        for target in self._targets.values():
            target.release()
        self._targets.clear()


def _fill(framebuffer: int, framebuffer_height: int, rect: Rect, color: RGBA) -> None:
    """Fill ``rect`` (top-left origin) of ``framebuffer`` with ``color`` (sRGB, as stored)."""
    x, y, w, h = rect
    if w <= 0 or h <= 0:
        return
    GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
    GL.glEnable(GL.GL_SCISSOR_TEST)
    GL.glScissor(x, framebuffer_height - (y + h), w, h)
    GL.glClearColor(*color)
    GL.glClear(GL.GL_COLOR_BUFFER_BIT)
    GL.glDisable(GL.GL_SCISSOR_TEST)


def _blit(target: RenderTarget, framebuffer: int, rect: Rect, framebuffer_height: int) -> None:
    """Copy the target's resolved colour into ``rect`` (top-left origin) of ``framebuffer``."""
    x, y, w, h = rect
    bottom = framebuffer_height - (y + h)  # GL counts rows from the bottom
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, target.resolved_framebuffer)
    GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, framebuffer)
    GL.glBlitFramebuffer(0, 0, target.width, target.height, x, bottom, x + w, bottom + h,
                         GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR)
    GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)


_KEY_NAMES: dict[str, str] = {
    "KEY_SPACE": "space", "KEY_TAB": "tab", "KEY_BACKSPACE": "backspace",
    "KEY_ESCAPE": "escape", "KEY_F1": "f1", "KEY_LEFT_SHIFT": "shift", "KEY_RIGHT_SHIFT": "shift",
    "KEY_ENTER": "enter", "KEY_KP_ENTER": "enter",
    **{f"KEY_F{n}": f"f{n}" for n in range(2, 13)},  # the therapist's session keys
    # Replay's seek keys; named apart from the mouse buttons "left" and "right".
    "KEY_LEFT": "left_arrow", "KEY_RIGHT": "right_arrow", "KEY_HOME": "home",
    "KEY_PAGE_UP": "page_up", "KEY_PAGE_DOWN": "page_down",
    "KEY_END": "end", "KEY_DELETE": "delete",  # editing a typed id or reason
}


def _key_name(glfw: Any, key: int) -> str | None:
    if glfw.KEY_A <= key <= glfw.KEY_Z:
        return chr(ord("a") + key - glfw.KEY_A)
    if glfw.KEY_0 <= key <= glfw.KEY_9:
        return chr(ord("0") + key - glfw.KEY_0)
    for constant, name in _KEY_NAMES.items():
        if key == getattr(glfw, constant):
            return name
    return None


class TherapistWindow:
    """The desktop window around a TherapistView, on an open ``WindowContext``.

    Mouse in the right pane: drag (either button) orbits, the wheel zooms. Keyboard and the
    mouse in the left pane go to ``input_state`` for the simulator (its keys: ``view.help_rows``);
    F1 toggles that help, escape or closing the window ends the run. With ``escape_closes``
    False (a patient's session, where Escape must be confirmed: ``app.controls``) Escape is
    only handed on like the other keys, and the app may take back a close request
    (``cancel_close``). ``samples``: see TherapistView.
    """

    def __init__(self, context: WindowContext, renderer: Renderer, input_state: InputState | None = None,
                 samples: int = PANE_SAMPLES, console: bool = False) -> None:
        import glfw

        self.context = context
        self.view = TherapistView(renderer, samples, THIRD_PERSON_EVERY)
        self.input = input_state if input_state is not None else InputState()
        #: Keys pressed since the app last took them (``take_console_keys``): the therapist's
        #: session controls, kept apart from the simulator's own reading of the keyboard.
        self.console_pressed: list[str] = []
        #: Clicks on the timeline bar, and the places a drag along it passed, since the app
        #: last took them, as fractions 0..1 of it (the last is where the picture goes).
        self.timeline_clicks: list[float] = []
        self.escape_closes = True
        #: When the therapist last touched the window (any key, click, wheel or pointer
        #: move; ``time.monotonic`` seconds): the console's idle lock counts from it.
        self.last_input_s = time.monotonic()
        self._drag: str | None = None  # "look" or "orbit" while a mouse drag is under way
        self._cursor: tuple[float, float] | None = None
        window = context.window
        glfw.set_key_callback(window, self._on_key)
        glfw.set_mouse_button_callback(window, self._on_mouse_button)
        glfw.set_cursor_pos_callback(window, self._on_cursor)
        glfw.set_scroll_callback(window, self._on_scroll)
        glfw.set_char_callback(window, self._on_char)
        glfw.swap_interval(1)
        #: The console's panels (``console.panels``) beside the views, with what they show
        #: (``panel``, set by the app before each ``show``); None: the views alone.
        self.console: Console | None = None
        self.panel: SessionPanel | None = None
        self._last_draw_s: float | None = None
        if console:
            from gmi_vr.console.panels import PANEL_PX, Console

            context.make_current()
            self.console = Console()
            self.view.panel_px = PANEL_PX

    # -- input callbacks (GLFW calls them from poll(), on this thread)

    def _window_to_pixels(self, x: float, y: float) -> tuple[float, float]:
        import glfw

        window_w, window_h = glfw.get_window_size(self.context.window)
        fb_w, fb_h = self.context.framebuffer_size()
        return x * fb_w / max(window_w, 1), y * fb_h / max(window_h, 1)

    def _areas(self) -> tuple[Rect, Rect, Rect]:
        width, height = self.context.framebuffer_size()
        return pane_layout(max(1, width - self.view.panel_px), height, self.view.timeline_px)

    def _on_char(self, window: Any, codepoint: int) -> None:
        self.last_input_s = time.monotonic()
        if self.console is not None:
            self.console.char(codepoint)

    def _on_key(self, window: Any, key: int, scancode: int, action: int, mods: int) -> None:
        self.last_input_s = time.monotonic()
        import glfw

        name = _key_name(glfw, key)
        if name is None:
            return
        if self.console is not None:
            typing = self.console.wants_keyboard
            self.console.key(name, action != glfw.RELEASE)
            if typing and action != glfw.RELEASE and name != "enter":
                return  # typed into a panel's field (a rating, an id): Escape only leaves the field
        if action == glfw.PRESS:
            self.input.keys_down.add(name)
            self.input.pressed.append(name)
            self.console_pressed.append(name)
            if name == "escape" and self.escape_closes:
                glfw.set_window_should_close(window, True)
            elif name == "f1":
                self.view.show_help = not self.view.show_help
        elif action == glfw.RELEASE:
            self.input.keys_down.discard(name)

    def _on_mouse_button(self, window: Any, button: int, action: int, mods: int) -> None:
        self.last_input_s = time.monotonic()
        import glfw

        names = {glfw.MOUSE_BUTTON_LEFT: "left", glfw.MOUSE_BUTTON_RIGHT: "right", glfw.MOUSE_BUTTON_MIDDLE: "middle"}
        name = names.get(button)
        if name is None:
            return
        if self.console is not None:
            if self._cursor is not None:
                self.console.mouse_pos(*self._window_to_pixels(*self._cursor))
            self.console.mouse_button(button, action == glfw.PRESS)
        if action == glfw.RELEASE:
            self.input.mouse_buttons.discard(name)
            self._drag = None
            return
        if self.console is not None and self.console.wants_mouse:
            return  # a click on the panels
        # Where the cursor last moved to (the callbacks' own record; GLFW's if none yet).
        x, y = self._window_to_pixels(*(self._cursor or glfw.get_cursor_pos(window)))
        patient, third, _ = self._areas()
        fb_width, fb_height = self.context.framebuffer_size()
        bar = timeline_area(max(1, fb_width - self.view.panel_px), fb_height)
        if self.view.timeline_px > 0 and _inside((bar[0], bar[1] - 3, bar[2], bar[3] + 6), x, y):
            self._drag = "timeline"  # scrubbing: the picture follows the pointer until let go
            self._scrub(x)
        elif _inside(third, x, y):
            self._drag = "orbit"
        elif _inside(patient, x, y):
            if name == "right":
                self._drag = "look"
            else:
                self.input.mouse_buttons.add(name)

    def _on_cursor(self, window: Any, x: float, y: float) -> None:
        self.last_input_s = time.monotonic()
        if self.console is not None:
            self.console.mouse_pos(*self._window_to_pixels(x, y))
        if self._drag == "timeline":
            self._scrub(self._window_to_pixels(x, y)[0])
        elif self._cursor is not None and self._drag is not None:
            dx, dy = x - self._cursor[0], y - self._cursor[1]
            if self._drag == "orbit":
                self.view.orbit.orbit(dx, dy)
            else:
                self.input.look_dx += dx
                self.input.look_dy += dy
        self._cursor = (x, y)

    def _scrub(self, x: float) -> None:
        """The timeline pressed or dragged at framebuffer column ``x``: that fraction of the
        recording (clamped to the bar's ends) goes to ``timeline_clicks``."""
        width, height = self.context.framebuffer_size()
        bar = timeline_area(max(1, width - self.view.panel_px), height)
        self.timeline_clicks.append(min(1.0, max(0.0, (x - bar[0]) / max(bar[2] - 1, 1))))

    def _on_scroll(self, window: Any, dx: float, dy: float) -> None:
        self.last_input_s = time.monotonic()
        import glfw

        x, y = self._window_to_pixels(*(self._cursor or glfw.get_cursor_pos(window)))
        if self.console is not None:
            self.console.scroll(dx, dy)
        if _inside(self._areas()[1], x, y):
            self.view.orbit.zoom(dy)

    # -- per frame

    def show(self, draw_list: DrawList, frame: TrackingFrame, status: str,
             capture: bool = False, timeline: TimelineBar | None = None) -> NDArray[np.uint8] | None:
        """Draw one frame, poll input and swap. With ``capture`` returns the picture as
        (height, width, 4) uint8 (read from the back buffer before the swap); ``timeline``
        goes in the timeline strip (TherapistView.timeline_px)."""
        self.context.make_current()
        width, height = self.context.framebuffer_size()
        pixels = None
        if width > 0 and height > 0:  # zero while minimised
            self.view.compose(draw_list, frame, 0, width, height, status, timeline)
            if self.console is not None:
                now = time.monotonic()  # the panels' animation step: a desktop window's pace
                delta = 1 / 60 if self._last_draw_s is None else now - self._last_draw_s
                self._last_draw_s = now
                GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
                GL.glViewport(0, 0, width, height)
                self.console.draw(self.panel, width - self.view.panel_px, width, height, delta)
            if capture:
                pixels = read_pixels(0, 0, 0, width, height)
        self.context.swap()
        self.context.poll()
        return pixels

    def take_timeline_clicks(self) -> list[float]:
        clicks, self.timeline_clicks = self.timeline_clicks, []
        return clicks

    def take_console_actions(self) -> list[ConsoleAction]:
        """What the therapist clicked in the console's panels since the last call."""
        return self.console.take_actions() if self.console is not None else []

    def take_console_keys(self) -> list[str]:
        pressed, self.console_pressed = self.console_pressed, []
        return pressed

    def should_close(self) -> bool:
        return self.context.should_close()

    def cancel_close(self) -> None:
        """Keep the window open after a close request (the app asks first)."""
        import glfw

        glfw.set_window_should_close(self.context.window, False)

    def release(self) -> None:
        """Release the view's GL objects (the context and renderer belong to the caller)."""
        self.context.make_current()
        self.view.release()
        if self.console is not None:
            self.console.release()
            self.console = None
