"""A run at the therapist's console, in the headset or in the simulator: free play until the
therapist starts a patient's session (or the run was started with ``--patient``), that
session, and a calibration started from the console that goes back to free play.

    free play ──"start"──▶ the patient's session ──(the end)──▶ the run ends
        └──"calibrate"──▶ calibration ──▶ free play again, the console saying what was stored

Each part is one ``SessionLoop`` on the same frames and window; the next part is opened while
the last one's frames go on (``open_beside``), so the patient's picture never freezes. What
differs between the headset and the simulator (``Station``: the status line, the help, how the
eyes are given frames, how a calibration is shown) is theirs: ``app.headset.HeadsetStation``
and ``app.simulator.SimStation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gmi_vr.app.console import before_session, session_console
from gmi_vr.app.controls import TherapistControls
from gmi_vr.app.devices import DeviceSource
from gmi_vr.app.loop import SessionLoop, StatusFn
from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.app.session_setup import console_session
from gmi_vr.app.signin import ConsoleGate
from gmi_vr.core.types import TrackingFrame

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from gmi_vr.app.calibrate import ConsoleCalibration
    from gmi_vr.app.console import SessionConsole
    from gmi_vr.console.panels import BeforeSession
    from gmi_vr.console.therapist_window import TherapistWindow
    from gmi_vr.recording.lsl import LslStreams

#: The status line's note for a patient session run unsaved on purpose (``--no-record``).
NOT_RECORDED = "NOT RECORDED (--no-record): nothing of this session is saved"


class Station(Protocol):
    """What a console run needs of its frame source beyond the frames: the headset's or the
    simulator's (module docstring)."""

    @property
    def window(self) -> TherapistWindow:
        """The therapist window every part of the run draws in."""
        ...

    @property
    def frames(self) -> Iterator[TrackingFrame]:
        """The frame source's frames, one iterator for the whole run."""
        ...

    @property
    def where(self) -> str:
        """The console's words for where a session runs ("headset" or "simulator")."""
        ...

    @property
    def devices(self) -> DeviceSource:
        """What the console's device row checks (``app.devices``)."""
        ...

    @property
    def source_ended(self) -> str:
        """Why a patient's session ended when the frames ran out by themselves
        (``SessionPipeline.ended_by``)."""
        ...

    def session_options(self) -> dict[str, Any]:
        """The source's own ``console_session`` options (source, runtime and system names)."""
        ...

    def mode(self, patient_id: str | None, record: bool) -> str:
        """The status line's first words: the source, and whether the session is recorded
        (``patient_id`` None: free play)."""
        ...

    def help_rows(self, in_session: bool) -> tuple[tuple[str, str], ...]:
        """The window's F1 help, in a patient's session or in free play."""
        ...

    def status(self, mode: str, pipeline: SessionPipeline) -> StatusFn:
        """The status line of each frame of ``pipeline``'s loop, beginning with ``mode``."""
        ...

    def session_loop(self, pipeline: SessionPipeline, status: StatusFn, controls: TherapistControls | None,
                     console: SessionConsole, frames_shown: int,
                     last_pixels: NDArray[np.uint8] | None) -> SessionLoop:  # fmt: skip
        """The loop of one part of the run, with the source's eyes, clock and pacing."""
        ...

    def run_loop(self, loop: SessionLoop, max_frames: int | None) -> str | None:
        """``loop.run`` on the station's frames (``SessionLoop.run``'s result)."""
        ...

    def calibrate(self, patient_id: str, therapist: str, max_frames: int | None, frames_shown: int,
                  beside: SessionLoop) -> ConsoleCalibration:  # fmt: skip
        """The console's calibration of ``patient_id`` (``app.calibrate.calibrate_from_console``),
        opened while ``beside`` (free play's loop) goes on showing the frames."""
        ...


@dataclass(frozen=True)
class ConsoleRunResult:
    """What a console run showed: frames in all, and the last picture kept (``capture``)."""

    frames_shown: int
    last_pixels: NDArray[np.uint8] | None


def run_console(station: Station, patient_id: str | None, *, gate: ConsoleGate, record: bool,
                report: Callable[[str], None] | None = None, streams: LslStreams | None = None,
                max_frames: int | None = None) -> ConsoleRunResult:  # fmt: skip
    """The run at the station's console on its frames (module docstring): ``patient_id``'s
    session at once when ``gate`` is open (None, or a signed-out console: free play first),
    recorded unless ``record`` is False (``report`` is given the saved line), ``streams``
    sent each frame, ``max_frames`` frames at most in all."""
    window, frames = station.window, station.frames
    waiting = None if gate.open else patient_id  # its session starts once someone signs in
    patient = None if waiting else patient_id
    frames_shown, last_pixels = 0, None
    calibrated = ""  # what became of a calibration started from the console
    loop: SessionLoop | None = None  # the run's last loop: its frames go on while the next opens
    while True:  # free play, until the therapist starts a patient's session from the console
        if loop is not None:
            loop.frames_shown = frames_shown  # it counts on while the next session opens
        with ExitStack() as opened:
            pipeline, refused, before = open_beside(
                opened, loop, frames, patient, refusable=patient != patient_id, report=report,
                record=record, therapist=gate.actor(), **station.session_options())  # fmt: skip
            if loop is not None:
                frames_shown = loop.frames_shown
                last_pixels = loop.last_pixels if loop.last_pixels is not None else last_pixels
            patient = None if refused else patient  # refused: free play again, the sentence in the panel
            pipeline.streams = streams
            mode = station.mode(patient, record)
            controls = session_controls(pipeline)
            window.escape_closes = controls is None  # in a session Escape asks first (app.controls)
            window.view.help_rows = station.help_rows(controls is not None)
            console = session_console(pipeline, controls, patient, mode, started_here=patient != patient_id,
                                      gate=gate, waiting=None if patient is not None else waiting,
                                      devices=station.devices, start_where=station.where,
                                      before=before)  # fmt: skip
            console.notice, calibrated = refused or calibrated, ""
            loop = station.session_loop(pipeline, station.status(mode, pipeline), controls, console,
                                        frames_shown, last_pixels)  # fmt: skip
            stopped = station.run_loop(loop, max_frames)
            frames_shown, last_pixels = loop.frames_shown, loop.last_pixels
            console.wait()  # a patient being added when the window closed is added
            if stopped == "start":
                patient = console.start_requested
                continue  # free play ends (nothing of it is recorded); the session begins
            if stopped == "calibrate" and console.calibrate_requested is not None:
                calibration = station.calibrate(console.calibrate_requested, gate.actor(), max_frames,
                                                frames_shown, beside=loop)  # fmt: skip
                calibrated = calibration.sentence
                if calibration.loop is not None:
                    frames_shown = calibration.loop.frames_shown
                    last_pixels = calibration.loop.last_pixels if calibration.loop.last_pixels is not None else last_pixels
                # Free play opens, with the list read again (the window goes from the
                # calibration to the list that says what was stored), beside a stored
                # calibration's "finished" picture; after one that ended early (the window
                # closed, the store refused), on this thread: its guide must not go on.
                loop = calibration.loop if calibration.stored else None
                continue  # free play again, the console saying what was stored
            pipeline.ended_by = pipeline.ended_by or stopped or station.source_ended
        return ConsoleRunResult(frames_shown, last_pixels)


def open_beside(stack: ExitStack, loop: SessionLoop | None, frames: Iterator[TrackingFrame],
                patient_id: str | None, **options: Any) -> tuple[SessionPipeline, str, BeforeSession | None]:
    """``console_session(patient_id, **options)`` entered into ``stack`` (its end comes with
    the stack's), and free play's patient list (``app.console.before_session``; None in a
    patient's session): store work, done off the render thread while ``loop`` (the run's
    previous one, None before the first frame) goes on showing ``frames``
    (``SessionLoop.beside``). Returns (pipeline, the sentence of a refused start or "", the list)."""

    def open_session() -> tuple[SessionPipeline, str, BeforeSession | None]:
        pipeline, refused = stack.enter_context(console_session(patient_id, **options))
        pipeline.prepare()
        return pipeline, refused, before_session() if pipeline.runner is None else None

    if loop is None:
        return open_session()
    return loop.beside(open_session, frames, "gmi-vr session start")


def session_controls(pipeline: SessionPipeline) -> TherapistControls | None:
    """The therapist's controls of a patient's session (None in free play), acting on its
    runner and pipeline and audited through the pipeline (``SessionPipeline.audit``)."""
    if pipeline.runner is None:
        return None
    return TherapistControls(pipeline.runner, pipeline, pipeline.audit)
