"""The session loop: one for every frame source (the headset, the simulator, a motion file,
a recorded session) and every kind of run (a patient's session or free play, calibration,
replay).

    frames ──TrackingFrame──▶ controls (keys + console clicks) ──▶ FrameStep.step
        ──▶ present(DrawList)            the eyes (headset); nothing for the simulator and replay
        ──▶ FrameStep.presented          the frame recorded with when it was submitted
        ──▶ vibrate(haptic pulses)       the controllers (headset); nothing for the simulator
        ──▶ TherapistWindow.show(...)    when the pacer says the window is due

The frame step is a session's ``SessionPipeline`` (body, therapy, recording), calibration's
``app.calibrate.CalibrationStep`` (the guide, the calibration stored when done) or replay's
``app.replay_run.ReplayPlayer`` (the recorded session, nothing recorded again): the loop around
them is this one.

While the console is signed out or locked (``app.signin``) the loop goes on as ever (the
headset's frames, the patient's own stop and flare, the recording); only the therapist's
keys and clicks wait.

The window draws at its own pace (``ConsolePacer``): the headset's frames never wait for
it, nor for the store: a session is opened (``SessionLoop.beside``: the previous loop's
frames go on meanwhile) and finished (``SessionPipeline.finish_off_frame``) on a worker
thread (``app.off_frame``). A stop (frame limit, the therapist closing the window, the end
of a motion file) is asked of the source once; a headset source keeps yielding frames until
the runtime lets go (``drain``), which are still stepped and presented so the patient's
picture never freezes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from gmi_vr.app.audio import CueSpeaker
from gmi_vr.app.console import SessionConsole
from gmi_vr.app.controls import TherapistControls, console_keys, session_status
from gmi_vr.app.off_frame import OffFrame
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.types import ClockLink, TrackingFrame
from gmi_vr.scene.draw import DrawList

if TYPE_CHECKING:
    from gmi_vr.console.panels import SessionPanel
    from gmi_vr.console.practice_window import PracticeWindow
    from gmi_vr.console.therapist_window import TherapistWindow, TimelineBar

T = TypeVar("T")

#: Software OpenGL pays for every pixel of the therapist window; the headset must not wait
#: for it. The window is redrawn at most this often (the eyes every frame).
CONSOLE_MAX_HZ = 15.0


class ConsolePacer:
    """Says when the therapist window is due again: at most ``max_hz`` (wall clock: this
    paces a desktop window, not logic); ``max_hz`` None: every frame."""

    def __init__(self, max_hz: float | None = CONSOLE_MAX_HZ) -> None:
        self.max_hz = max_hz
        self._next = 0.0

    def due(self) -> bool:
        if self.max_hz is None:
            return True
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + 1.0 / self.max_hz
        return True


#: A loop's status line from a frame and what the step made of it (``SessionLoop.status``).
StatusFn = Callable[[TrackingFrame, FrameOutput], str]


class FrameStep(Protocol):
    """What the loop steps once per frame (``SessionPipeline`` is the full one): the frame
    in, what to draw out; told when the frame was submitted (``presented``, for the
    recording) and finished once the loop is done with it."""

    def use_clock(self, link: ClockLink) -> None: ...

    def step(self, frame: TrackingFrame, presented_later: bool = False) -> FrameOutput: ...

    def presented(self, submit_ns: int | None) -> None: ...

    @property
    def finished(self) -> bool: ...

    def finish(self) -> object: ...


@dataclass
class SessionLoop:
    """One session's frame loop around ``pipeline`` and ``window`` (a TherapistWindow).

    ``present`` hands each frame's DrawList to the eyes (a no-op for the simulator);
    ``status`` makes the status line's first part from the frame and its output; ``pacer``
    says when the window is drawn; ``capture`` keeps the last picture shown (``last_pixels``,
    (height, width, 4) uint8) for a screenshot.
    """

    pipeline: FrameStep  # a SessionPipeline, or calibration's or replay's own step
    window: TherapistWindow | PracticeWindow  # the therapist's, or the patient's at home
    status: StatusFn
    present: Callable[[DrawList], None] = lambda draw: None
    #: Told before ``present`` whether the window is drawn this frame, so the headset keeps
    #: the left eye it draws for the window's patient pane (``TherapistView.want_patient_eye``).
    want_eye: Callable[[bool], None] = lambda wanted: None
    #: Hands therapy's haptic pulses to the controllers (a no-op for the simulator).
    vibrate: Callable[[tuple[HapticPulse, ...]], None] = lambda pulses: None
    #: The frame source's clock link (``ClockLink``; None while unknown): submit times are
    #: read on the monotonic clock and converted with it.
    clock: Callable[[], ClockLink | None] = lambda: None
    pacer: ConsolePacer = field(default_factory=ConsolePacer)
    controls: TherapistControls | None = None
    console: SessionConsole | None = None
    capture: bool = False
    #: Speak therapy's audio cues (a session; calibration and replay have none).
    speak: bool = True
    #: The window's timeline strip (replay's), made when the window is drawn.
    timeline: Callable[[], TimelineBar] | None = None
    #: Read-only panels (replay's) when there is no live ``console``, made when drawn.
    panel: Callable[[TrackingFrame, FrameOutput], SessionPanel] | None = None
    last_pixels: NDArray[np.uint8] | None = None
    frames_shown: int = 0
    _last_output: FrameOutput | None = None
    #: The clock link last handed to the frame step (``FrameStep.use_clock``).
    _link: ClockLink | None = None

    def run(self, frames: Iterable[TrackingFrame], request_stop: Callable[[], None], *,
            max_frames: int | None = None, plan_end_reason: str | None = None,
            drain: bool = False) -> str | None:
        """Step every frame until the source ends (``drain``) or a stop was asked; returns
        why the app stopped (``SessionPipeline.ended_by``'s words) or None when the source
        ended by itself. ``plan_end_reason``: the end of the session plan stops the run, for
        that reason (a motion file's run); None: the window stays on "Session complete".
        Returns "start" without asking the source to stop when the therapist started a
        patient's session from the console (``console.start_requested``): the app goes on
        with the same frames in a new pipeline; "calibrate" likewise when they asked to
        calibrate a patient (``console.calibrate_requested``: ``app.calibrate.calibrate_from_console``)."""
        speaker = CueSpeaker() if self.speak else None
        stopped: str | None = None
        try:
            for frame in frames:
                self._frame(frame, speaker)
                if stopped is None and self.console is not None and self.console.start_requested:
                    return "start"
                if stopped is None and self.console is not None and self.console.calibrate_requested:
                    return "calibrate"
                if stopped is None:
                    stopped = self._stop_reason(plan_end_reason, max_frames)
                    if stopped is not None:
                        request_stop()
                        if not drain:
                            break
        finally:
            if speaker is not None:
                speaker.close()
        return stopped

    def beside(self, work: Callable[[], T], frames: Iterator[TrackingFrame], name: str) -> T:
        """``work()`` (the store's, e.g. opening the next session: ``app.off_frame``) on a
        worker thread named ``name`` while this loop goes on stepping, presenting and drawing
        ``frames`` with its own step (free play's body keeps following the hands), so the
        headset's picture never freezes; then work's value, or its error raised here. Stops
        are not checked meanwhile: the next loop does. A source that ends meanwhile waits."""
        work_done = OffFrame(work, name)
        try:
            while not work_done.done:
                frame = next(frames, None)
                if frame is None:
                    break
                self._frame(frame, None)
        except BaseException:
            work_done.wait()  # what it opened is in place before the caller unwinds and closes it
            raise
        return work_done.result()

    def _frame(self, frame: TrackingFrame, speaker: CueSpeaker | None) -> None:
        pipeline, window, controls, console = self.pipeline, self.window, self.controls, self.console
        if console is not None:
            console.watch(getattr(window, "last_input_s", None), time.monotonic())
        if controls is not None:
            keys = console_keys(window, controls)
            if console is None or console.gate_open:  # signed out or locked: the keys wait too
                controls.handle(keys, frame.time_s)
        if console is not None:
            console.apply(window.take_console_actions(), frame.time_s)
        link = self.clock()
        if link is not None and link != self._link:
            self._link = link
            pipeline.use_clock(link)
        output = pipeline.step(frame, presented_later=True)
        if isinstance(pipeline, SessionPipeline):
            just_finished = pipeline.finish_done  # collected below, after this frame is presented
        else:
            just_finished = output.done and not pipeline.finished
        window_due = self.pacer.due() or just_finished
        self.want_eye(window_due)
        self.present(output.draw)
        pipeline.presented(submit_time_ns(link))
        self.vibrate(output.haptics)
        if speaker is not None:
            speaker.handle(output.events)
        self.frames_shown += 1
        self._last_output = output
        if self.console is not None:
            self.console.observe(frame, output)
        if output.done and isinstance(pipeline, SessionPipeline):
            # The recorder's last writes and the read-back go on beside the frames, "Session
            # complete" on screen; what was saved is said and shown in the frame that collects it.
            pipeline.finish_off_frame()
        elif output.done:
            pipeline.finish()  # said and shown now, while "Session complete" is on screen
        if window_due:
            status = self.status(frame, output)
            if isinstance(pipeline, SessionPipeline):
                status = session_status(status, pipeline, controls, frame.time_s)
            if self.console is not None:
                window.panel = self.console.panel(controls.message if controls is not None else "")
            elif self.panel is not None:
                window.panel = self.panel(frame, output)
            if self.timeline is None:
                pixels = window.show(output.draw, frame, status, capture=self.capture)
            else:
                pixels = window.show(output.draw, frame, status, capture=self.capture, timeline=self.timeline())
            self.last_pixels = pixels if pixels is not None else self.last_pixels

    def _stop_reason(self, plan_end_reason: str | None, max_frames: int | None) -> str | None:
        if max_frames is not None and self.frames_shown >= max_frames:
            return "frame_limit"
        if plan_end_reason is not None and self._last_output is not None and self._last_output.done:
            return plan_end_reason
        if self.controls is not None and self.controls.quit_requested:
            return "window_closed"
        if self.controls is None and self.window.should_close():
            return "window_closed"
        return None


def submit_time_ns(link: ClockLink | None) -> int | None:
    """Now, on the frame source's clock (ns): when the frame just presented was submitted.
    None where the link is missing or only estimated (a submit time on a guessed clock would
    be a guess about latency, which is what it is meant to measure)."""
    if link is None or not link.exact:
        return None
    return time.monotonic_ns() - link.offset_ns
