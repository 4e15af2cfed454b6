"""The built-in simulator, no headset needed: ``run_sim`` (a desktop window driven by keyboard and mouse or by a
motion file) and ``run_demo`` (a short scripted run written to PNG files, offscreen when
there is no display). Both follow one frame the same way:

    sim FrameSource.frames() -> TrackingFrame -> SessionPipeline.step(frame) -> DrawList
        -> Renderer.draw(...) per eye, TherapistView.compose(...) for the therapist.

OpenGL is imported only after ``choose_gl_platform`` (PyOpenGL binds GLX or EGL at its
first import), which is why the GL-using modules are imported inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gmi_vr.app.accounts import Account
from gmi_vr.app.calibrate import ConsoleCalibration, calibrate_from_console
from gmi_vr.app.console_run import NOT_RECORDED, run_console
from gmi_vr.app.controls import THERAPIST_KEYS, TherapistControls
from gmi_vr.app.devices import DoctorCheck
from gmi_vr.app.headset import status_line
from gmi_vr.app.loop import CONSOLE_MAX_HZ, ConsolePacer, SessionLoop, StatusFn
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.app.session_setup import installed_stimulus_meshes
from gmi_vr.app.signin import ConsoleGate
from gmi_vr.app.window_setup import open_therapist_window
from gmi_vr.assets.locations import shipped_data_dir
from gmi_vr.body import BodySettings
from gmi_vr.core.errors import GmiError
from gmi_vr.core.folders import ensure_writable_folder
from gmi_vr.core.frame_source import FrameSource
from gmi_vr.core.input import InputState
from gmi_vr.core.types import ClockLink, Side, TrackingFrame
from gmi_vr.geometry import quat_from_axis_angle, quat_to_matrix
from gmi_vr.scene.draw import DrawList, TextItem
from gmi_vr.scene.room import TABLE_HEIGHT_M, room_draw_list
from gmi_vr.xr.sim_source import (
    KEY_HELP,
    SIM_VIEW_SIZE,
    KeyboardMouseFrameSource,
    Motion,
    ScriptedFrameSource,
    load_motion,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from gmi_vr.app.console import SessionConsole
    from gmi_vr.console.therapist_window import TherapistView, TherapistWindow
    from gmi_vr.render.renderer import Renderer

DEMO_MOTION = "demo-reach.jsonl"
#: Where instructions float for the seated patient: just beyond the table, a little below
#: eye level, tilted back towards the eyes, metres.
INSTRUCTION_POSITION = (0.0, TABLE_HEIGHT_M + 0.28, -1.2)
INSTRUCTION_TILT_DEG = -10.0  # negative about +X: the panel faces up towards the eyes
INSTRUCTION_HEIGHT_M = 0.075
#: The simulator's window, paced like the headset's therapist window: on software OpenGL
#: (llvmpipe, a PC without a GPU) every pane pixel costs CPU time, and a 4x multisampled
#: window redrawn every frame needed two cores for a 30 Hz session. So it is redrawn at
#: most CONSOLE_MAX_HZ (every frame is still stepped, recorded and timed at the source's
#: rate), and its panes are drawn with one sample per pixel at SIM_PANE_SCALE of their size
#: on screen, then stretched to it: in the default 1280x600 window the patient pane is drawn
#: at 314x236 (about the simulated eye's 320x240) and the third-person pane at 314x418. A run that
#: saves a screenshot draws every frame, so that the picture saved is the last frame's.
SIM_WINDOW_MAX_HZ: float | None = CONSOLE_MAX_HZ
SIM_PANE_SAMPLES = 1
SIM_PANE_SCALE = 0.75
#: How far a motion file's session may fall behind the wall clock before frames are
#: skipped (``_paced``), seconds: more than one slow window draw on llvmpipe, so a PC that
#: keeps up on average steps every frame; the session's times stay within it of real time.
SIM_MAX_LAG_S = 0.1


def instruction_text(message: str) -> TextItem:
    """A calm instruction panel above the table, facing the seated patient."""
    world_from_text = np.eye(4)
    tilt = quat_to_matrix(quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(INSTRUCTION_TILT_DEG)))
    world_from_text[:3, :3] = tilt
    world_from_text[:3, 3] = INSTRUCTION_POSITION
    return TextItem(message, world_from_text, INSTRUCTION_HEIGHT_M, color=(1.0, 1.0, 1.0, 1.0),
                    background=(0.20, 0.27, 0.30, 0.72))


def demo_instruction(frame: TrackingFrame) -> DrawList:
    """The demo's instruction, which answers when the right trigger is pulled."""
    if frame.right.trigger_click:
        message = "Well done.\nRelease the trigger when you are ready."
    else:
        message = "Reach forward with your right hand:\nyour left hand follows, mirrored."
    return DrawList(texts=(instruction_text(message),))


def demo_draw_list(frame: TrackingFrame) -> DrawList:
    """The demo's scene without the body: the room, the controllers and the instruction
    (the renderer benchmark's scene)."""
    return room_draw_list(frame, texts=demo_instruction(frame).texts)


@dataclass
class SimClock:
    """The simulator's clock, tied to the monotonic clock (``ClockLink``): a motion file's
    time is played in real time from the moment its first frame is due (``_paced``); the
    keyboard's clock is the monotonic clock from the run's start. None until known."""

    link: ClockLink | None = None


def _paced(frames: Iterator[TrackingFrame], rate_hz: float | None,
           clock: SimClock | None = None, catch_up: bool = True) -> Iterator[TrackingFrame]:  # fmt: skip
    """Frames no faster than real time: each one waits until its own time_s has come
    (scripted runs: ``clock`` learns that link at the first frame), or at most ``rate_hz``
    per second (keyboard runs, whose clock is real).

    A scripted run keeps to real time when the loop falls behind (software OpenGL on a busy
    PC). A late frame is stepped at once, without waiting, so one slow window draw is made
    up by the frames after it; with ``catch_up``, a frame more than SIM_MAX_LAG_S late whose
    successor is already due is dropped, so the session's clock (the frames' times: trial
    onsets, reaction times, block lengths) follows the wall clock instead of slowing down
    with the drawing. A frame whose buttons, thumbstick or tracking flags differ from the
    frame before it is never dropped: every press and release reaches the session at its
    own time. Without ``catch_up`` every frame is stepped, however late (a reproducible run)."""
    start_ns = time.monotonic_ns()
    start = start_ns / 1e9
    first_time: float | None = None
    previous: TrackingFrame | None = None
    for frame in frames:
        if rate_hz is None:
            if first_time is None:
                first_time = frame.time_s
                if clock is not None:
                    clock.link = ClockLink(start_ns - frame.time_ns, True,
                                           "simulator: the motion file's time played in real time")  # fmt: skip
            due = start + (frame.time_s - first_time)
            period = frame.time_s - previous.time_s if previous is not None else 0.0
            late = time.monotonic() - due
            changed = previous is None or _controls(frame) != _controls(previous)
            previous = frame
            if catch_up and period > 0 and late >= max(period, SIM_MAX_LAG_S) and not changed:
                continue  # the next frame is due already: this one would only hold the clock back
        else:
            due = start + frame.index / rate_hz
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield frame


def _controls(frame: TrackingFrame) -> tuple[object, ...]:
    """What a dropped frame could hide from the session: the buttons, thumbsticks and
    tracking flags (poses and analog values move on in the next frame)."""
    hands = tuple((hand.trigger_click, hand.primary, hand.secondary, hand.menu, hand.thumbstick_click,
                   hand.thumbstick, hand.grip_valid, hand.aim_valid) for hand in (frame.left, frame.right))  # fmt: skip
    return (frame.head_valid, hands)


def sim_source(motion: Motion | None, input_state: InputState,
               clock: SimClock | None = None) -> tuple[FrameSource, str, float | None]:  # fmt: skip
    """The simulator's frame source, a line naming it for the status bar, and its pacing:
    the motion file's frames at their own times, or the window's keyboard and mouse at most
    60 frames per second (their clock is real time: ``clock`` learns its link now)."""
    if motion is not None:
        return ScriptedFrameSource(motion), f"sim: motion file {Path(motion.source).name}", None
    started = time.monotonic_ns()
    if clock is not None:
        clock.link = ClockLink(started, True, "simulator: the monotonic clock from the run's start")
    keyboard = KeyboardMouseFrameSource(input_state, lambda: (time.monotonic_ns() - started) / 1e9)
    return keyboard, "sim: keyboard and mouse (F1 shows the keys)", 60.0


def run_sim(
    motion_file: Path | None = None,
    *,
    patient_id: str | None = None,
    max_frames: int | None = None,
    screenshot: Path | None = None,
    visible: bool = True,
    report: Callable[[str], None] | None = None,
    record: bool = True,
    therapist: str | None = None,
    lsl: bool = False,
    lsl_wait_s: float = 0.0,
    notice: Callable[[str], None] | None = None,
    account: Account | None = None,
    lock_after_s: float | None = None,
    every_frame: bool = False,
) -> None:
    """Run the simulator in the therapist window until it is closed (escape) or, with a
    ``motion_file``, until the motion ends; ``max_frames`` stops earlier.

    Without a motion file the keyboard and mouse drive the head and hands (F1 shows the
    keys). With ``patient_id`` the patient's session plan runs and is recorded, as in the
    headset; without, free play in mirror mode (affected side left), not recorded. The loop,
    the console's panels and their audit (as ``therapist``) are the headset's
    (``app.loop``); the simulator presents nothing to eyes and draws the window every frame.

    In a patient's session Escape (or the close button) asks before it ends the session,
    which then goes to its closing rating (``app.controls``). When the session has ended,
    ``report`` is given the line saying what was saved, the status line shows it too, and
    the window stays open on "Session complete" until the therapist closes it. A motion
    file's run ends with the motion or with the session plan, whichever is first.

    ``record`` False runs the patient's session unsaved on purpose (``session_pipeline``).

    A motion file plays in real time: when the computer falls behind, frames are skipped
    (never a press or release) so that the session's times follow the wall clock
    (``_paced``). ``every_frame`` steps every frame of it however late instead: a
    reproducible run, whose session clock falls behind the wall clock when drawing is slow.

    ``lsl`` opens the Lab Streaming Layer streams for the run (``app.streams``; times on the
    simulator's clock, ``SimClock``), waiting ``lsl_wait_s`` for a recorder first; ``notice``
    is told about them.

    On a store with accounts the console asks for a sign-in first (``app.signin``; the
    patient's session starts once someone has signed in) unless ``account`` already did
    (``$GMI_VR_TOKEN``), and locks after ``lock_after_s`` idle (None: the settings'
    ``console_lock_minutes``) while the session goes on.

    ``screenshot`` saves the last frame the window showed as a PNG. Raises
    GraphicsUnavailable with no display, InputFileError for a malformed motion file.
    """
    motion = load_motion(motion_file) if motion_file is not None else None  # fail before any window
    if screenshot is not None:
        ensure_writable_folder(screenshot.parent)

    input_state = InputState()
    clock = SimClock()
    source, mode, rate = sim_source(motion, input_state, clock)
    with ExitStack() as stack:
        streams = None
        if lsl:
            from gmi_vr.app.streams import open_lsl_streams
            from gmi_vr.core.settings import load_settings

            streams = open_lsl_streams(stack, load_settings().station, lsl_wait_s, notice or (lambda _: None))
        window = stack.enter_context(open_therapist_window("gmi-vr: therapist", visible=visible,
                                                           input_state=input_state, console=True,
                                                           help_rows=KEY_HELP,
                                                           preload=installed_stimulus_meshes()))  # fmt: skip
        window.view.samples, window.view.pane_scale = SIM_PANE_SAMPLES, SIM_PANE_SCALE
        stack.enter_context(source)
        frames = _paced(source.frames(), rate, clock, catch_up=not every_frame)
        gate = ConsoleGate.for_store(account, lock_after_s, fallback=therapist)
        station = SimStation(window, frames, source, clock, mode, motion_run=motion is not None,
                             capture=screenshot is not None)  # fmt: skip
        last_pixels = run_console(station, patient_id, gate=gate, record=record, report=report,
                                  streams=streams, max_frames=max_frames).last_pixels  # fmt: skip
        if screenshot is not None and last_pixels is not None:
            from PIL import Image

            Image.fromarray(last_pixels[:, :, :3]).save(screenshot)


@dataclass
class SimStation:
    """The simulator's part of a console run (``app.console_run.Station``): nothing is
    presented to eyes; the window is drawn every frame up to ``SIM_WINDOW_MAX_HZ`` (every
    frame when a screenshot is wanted: ``capture``), and a motion file's run ends with the
    motion or the session plan (``source_ended``)."""

    window: TherapistWindow
    frames: Iterator[TrackingFrame]
    source: FrameSource
    clock: SimClock
    source_mode: str  # the status line's name of the source (``sim_source``)
    motion_run: bool  # a motion file's run (else the keyboard and mouse drive it)
    capture: bool = False
    where: str = "simulator"
    devices: DoctorCheck = field(default_factory=DoctorCheck)  # the headset's checks, once, when listed

    @property
    def source_ended(self) -> str:
        """The frames ran out: the motion file ended, or the window was closed."""
        return "motion_ended" if self.motion_run else "window_closed"

    def session_options(self) -> dict[str, Any]:
        return {"source": "sim"}

    def mode(self, patient_id: str | None, record: bool) -> str:
        return self.source_mode + (f"  |  {NOT_RECORDED}" if patient_id is not None and not record else "")

    def help_rows(self, in_session: bool) -> tuple[tuple[str, str], ...]:
        if in_session:  # escape asks first in a session (app.controls): the therapist's keys say so
            return tuple(row for row in KEY_HELP if row[0] != "escape") + THERAPIST_KEYS
        return KEY_HELP

    def status(self, mode: str, pipeline: SessionPipeline) -> StatusFn:
        source = self.source

        def status(frame: TrackingFrame, output: FrameOutput) -> str:
            shown = f"{mode}: {source.status()}" if isinstance(source, KeyboardMouseFrameSource) else mode
            return status_line(shown, pipeline.recorder_stats(), output.body)
        return status

    def session_loop(self, pipeline: SessionPipeline, status: StatusFn, controls: TherapistControls | None,
                     console: SessionConsole, frames_shown: int,
                     last_pixels: NDArray[np.uint8] | None) -> SessionLoop:  # fmt: skip
        return SessionLoop(pipeline, self.window, status, clock=lambda: self.clock.link,
                           pacer=ConsolePacer(None if self.capture else SIM_WINDOW_MAX_HZ), controls=controls,
                           console=console, capture=self.capture, frames_shown=frames_shown,
                           last_pixels=last_pixels)  # fmt: skip

    def run_loop(self, loop: SessionLoop, max_frames: int | None) -> str | None:
        return loop.run(self.frames, self.source.request_stop, max_frames=max_frames,
                        plan_end_reason="motion_ended" if self.motion_run else None)  # fmt: skip

    def calibrate(self, patient_id: str, therapist: str, max_frames: int | None, frames_shown: int,
                  beside: SessionLoop) -> ConsoleCalibration:  # fmt: skip
        # The simulator's floor is at y = 0 (docs/motion-file.md).
        return calibrate_from_console(
            patient_id, self.window, self.frames, therapist=therapist, floor_y=0.0,
            status=f"calibration of {patient_id} (seated)  |  {self.source_mode}",
            every_frame=True, max_frames=max_frames, frames_shown=frames_shown, capture=self.capture,
            beside=beside)  # fmt: skip


def open_demo_renderer(stack: ExitStack) -> tuple[Renderer, TherapistView]:
    """The demo's OpenGL: a hidden window's context with a display (GLX or WGL), offscreen
    through EGL without one; a renderer and a therapist view on it, released by ``stack``.
    Returns ``(Renderer, TherapistView)``; GL modules may be imported after this call."""
    from gmi_vr.render.context import choose_gl_platform, display_available

    offscreen = not display_available()
    choose_gl_platform(offscreen=offscreen)
    from gmi_vr.console.therapist_window import WINDOW_SIZE, TherapistView
    from gmi_vr.render.context import open_offscreen_context, open_window_context
    from gmi_vr.render.renderer import Renderer

    if offscreen:
        stack.enter_context(open_offscreen_context())
    else:
        stack.enter_context(open_window_context(*WINDOW_SIZE, title="gmi-vr demo", visible=False))
    renderer = Renderer()
    stack.callback(renderer.release)
    view = TherapistView(renderer)
    stack.callback(view.release)
    return renderer, view


def run_demo(out_dir: Path, motion_file: Path | None = None) -> list[Path]:
    """Play a short scripted run on the sim source (by default the built-in reach-and-pull
    demo) and write what the patient saw in its last frame (both eyes side by side,
    ``patient-view.png``) and what the therapist window showed (``therapist-window.png``)
    into ``out_dir``; returns those two paths.

    With a display it renders in a hidden window's context (GLX or WGL), without one offscreen
    through EGL. Raises GmiError when ``out_dir`` is not writable, InputFileError for a
    malformed motion file, GraphicsUnavailable when no OpenGL 4.1 is available.
    """
    out_dir = Path(out_dir)
    motion = load_motion(motion_file if motion_file is not None else shipped_data_dir() / DEMO_MOTION)
    ensure_writable_folder(out_dir)
    with ExitStack() as stack:
        renderer, view = open_demo_renderer(stack)
        from PIL import Image

        from gmi_vr.console.therapist_window import WINDOW_SIZE
        from gmi_vr.geometry.camera import Camera
        from gmi_vr.render.target import RenderTarget

        eyes = [RenderTarget(*SIM_VIEW_SIZE, samples=4) for _ in range(2)]
        for eye in eyes:
            stack.callback(eye.release)
        therapist = RenderTarget(*WINDOW_SIZE)
        stack.callback(therapist.release)
        source = stack.enter_context(ScriptedFrameSource(motion))
        pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), overlay=demo_instruction)
        last: TrackingFrame | None = None
        final_index = motion.frame_count() - 1
        for frame in source.frames():
            output = pipeline.step(frame)
            draw_list = output.draw
            for eye, eye_view in zip(eyes, frame.views, strict=True):
                renderer.draw(draw_list, Camera.from_view(eye_view), eye.framebuffer, eye.width, eye.height)
            # Nobody watches the hidden therapist picture: compose only the one that is saved.
            if frame.index == final_index:
                view.compose(draw_list, frame, therapist.framebuffer, therapist.width, therapist.height,
                             status_line(f"demo: motion file {Path(motion.source).name}", None, output.body))
            else:
                view.observe(frame)
            last = frame
        if last is None:
            raise GmiError("The demo motion produced no frames; check the motion file.")
        patient = np.hstack([eye.read_rgba() for eye in eyes])
        patient_path = out_dir / "patient-view.png"
        therapist_path = out_dir / "therapist-window.png"
        Image.fromarray(patient[:, :, :3]).save(patient_path)
        Image.fromarray(therapist.read_rgba()[:, :, :3]).save(therapist_path)
    return [patient_path, therapist_path]
