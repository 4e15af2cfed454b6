"""The headset: ``gmi-vr run`` on the active OpenXR runtime, and ``gmi-vr doctor``.

One frame (the loop is loop.py's, the middle part pipeline.py's):

    OpenXrSource.frames()      xrWaitFrame, xrBeginFrame, sync actions, locate views/spaces
      -> TrackingFrame
    SessionPipeline.step()     body solve, therapy, recording
      -> DrawList
    OpenXrSource.present()     Renderer.draw per eye into the swapchain images, xrEndFrame
    OpenXrSource.vibrate()     therapy's haptic pulses, xrApplyHapticFeedback
    TherapistWindow.show()     the same DrawList: the patient's view (the left eye as drawn,
                               kept before its image goes back to the runtime) + a
                               third-person view, and the console's panels (at most
                               CONSOLE_MAX_HZ)

Both the eyes and the therapist window draw with one GL context (the window's): vertex
arrays cannot be shared between contexts, and one thread owns GL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmi_vr.app.accounts import Account
from gmi_vr.app.calibrate import ConsoleCalibration, calibrate_from_console
from gmi_vr.app.console_run import NOT_RECORDED, run_console
from gmi_vr.app.controls import THERAPIST_KEYS, TherapistControls
from gmi_vr.app.devices import LiveDevices
from gmi_vr.app.loop import CONSOLE_MAX_HZ, ConsolePacer, SessionLoop, StatusFn
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.app.session_setup import HEADSET_SOURCE, installed_stimulus_meshes
from gmi_vr.app.signin import ConsoleGate
from gmi_vr.app.window_setup import open_therapist_window
from gmi_vr.body import BodyPose, LimbMode
from gmi_vr.core.types import HandInput, TrackingFrame
from gmi_vr.recording.rows import RecorderStats
from gmi_vr.therapy.plan.program import Program
from gmi_vr.xr.hands_only import HAND_TRACKING_PROFILE

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from gmi_vr.app.console import SessionConsole
    from gmi_vr.console.therapist_window import TherapistWindow
    from gmi_vr.scene.draw import DrawList
    from gmi_vr.xr.doctor import DoctorResult
    from gmi_vr.xr.openxr_source import OpenXrSource

log = logging.getLogger("gmi_vr.app")

__all__ = ["CONSOLE_MAX_HZ", "ConsolePacer", "doctor", "eye_drawing", "headset_with_console", "run_openxr", "status_line"]


@contextmanager
def headset_with_console(title: str, visible: bool = True, console: bool = True,
                         hands_only: bool = False) -> Iterator[tuple[OpenXrSource[DrawList], TherapistWindow]]:
    """The therapist window (``app.window_setup``), a renderer on its GL context, and an OpenXR
    session whose eyes that renderer draws: ``(OpenXrSource, TherapistWindow)``, released in
    reverse order. Raises the source's GmiErrors (no runtime, no display, session refused). ``hands_only``:
    a hand without an active controller is read from its tracked joints (``OpenXrSource``)."""
    with ExitStack() as stack:
        window = stack.enter_context(open_therapist_window(title, visible=visible, console=console,
                                                           preload=installed_stimulus_meshes()))  # fmt: skip
        import glfw

        from gmi_vr.xr.openxr_source import OpenXrSource

        glfw.swap_interval(0)  # the runtime paces frames (xrWaitFrame), never the desktop's vsync
        # Swapchain images are linear RGBA8 unless sRGB: the renderer encodes accordingly.
        renderer = window.view.renderer
        eyes = functools.partial(renderer.draw, unorm_holds_linear=True)
        # Both eyes in one pass where the driver can (render.stereo), else one after the other.
        both_eyes = (functools.partial(renderer.draw_stereo, unorm_holds_linear=True)
                     if renderer.stereo_path != "two_pass" else None)  # fmt: skip
        # The window's patient pane shows the left eye as drawn, not the scene drawn once more.
        source = stack.enter_context(OpenXrSource(eyes, stereo_renderer=both_eyes, gl_context=window.context,
                                                  hands_only=hands_only,
                                                  keep_left_eye=window.view.keep_patient_eye))  # fmt: skip
        log.info("eyes: %s", eye_drawing(renderer.stereo_path, source.one_pass))
        yield source, window


def eye_drawing(stereo_path: str, one_pass: bool) -> str:
    """How the headset's eyes are drawn, in words (logged at start)."""
    if one_pass:
        return f"both in one pass ({'GL_OVR_multiview' if stereo_path == 'multiview' else 'layered instancing'})"
    if stereo_path == "two_pass":
        return "one after the other (the OpenGL driver offers no one-pass drawing)"
    return "one after the other (the runtime's two views differ in size)"


def run_openxr(patient_id: str | None = None, *, max_frames: int | None = None,
               visible: bool = True, report: Callable[[str], None] | None = None,
               record: bool = True, therapist: str | None = None, hands_only: bool = False,
               lsl: bool = False, lsl_wait_s: float = 0.0, notice: Callable[[str], None] | None = None,
               account: Account | None = None, lock_after_s: float | None = None) -> int:
    """Run a session in the headset until the runtime ends it, the therapist closes the
    window, or ``max_frames`` frames were shown. Returns the number of frames.

    The therapist window shows the console's panels beside the views (``app.console``):
    every action there, and every function key, is audited as ``therapist`` (default: the
    logged-in user). In a patient's session Escape (or the close button) asks before it
    ends the session, which then goes to its closing rating (``app.controls``). When the
    session has ended, ``report`` is given the line saying what was saved, the status line
    shows it too, and the headset keeps showing "Session complete" (frames keep flowing: its
    picture never freezes) until the therapist closes the window. In free play Escape quits
    at once. ``record`` False runs the patient's session unsaved on purpose
    (``session_pipeline``). ``hands_only``: a hand without an active controller is read from
    its tracked joints. ``lsl`` opens the Lab Streaming Layer streams for the run
    (``app.streams``; display times converted with ``OpenXrSource.clock_link``), waiting
    ``lsl_wait_s`` for a recorder first; ``notice`` is told about them.

    On a store with accounts the console asks for a sign-in first (``app.signin``; the
    patient's session starts once someone has signed in; until then the headset shows free
    play) unless ``account`` already did (``$GMI_VR_TOKEN``), and locks after
    ``lock_after_s`` idle (None: the settings' ``console_lock_minutes``) while the session,
    the patient's safety controls and the recording go on."""
    gate = ConsoleGate.for_store(account, lock_after_s, fallback=therapist)
    with ExitStack() as stack:
        streams = None
        if lsl:
            from gmi_vr.app.streams import open_lsl_streams
            from gmi_vr.core.settings import load_settings

            streams = open_lsl_streams(stack, load_settings().station, lsl_wait_s, notice or (lambda _: None))
        source, window = stack.enter_context(headset_with_console("gmi-vr: therapist", visible, hands_only=hands_only))
        frames = source.frames()
        station = HeadsetStation(source, window, frames)
        return run_console(station, patient_id, gate=gate, record=record, report=report,
                           streams=streams, max_frames=max_frames).frames_shown


@dataclass
class HeadsetStation:
    """The headset's part of a console run (``app.console_run.Station``): the eyes get every
    frame's picture and the controllers its pulses; the window is drawn at its own pace; the
    runtime's frames are drained at the end so the patient's picture never freezes."""

    source: OpenXrSource[DrawList]
    window: TherapistWindow
    frames: Iterator[TrackingFrame]
    where: str = "headset"
    source_ended: str = "runtime_ended"  # the runtime ended the session unless the app asked it to

    def __post_init__(self) -> None:
        info = self.source.info
        self.runtime_name = info.runtime_name if info else None
        self.system_name = info.system_name if info else None
        self.devices = LiveDevices(self.runtime_name or "", self.system_name or "")

    def session_options(self) -> dict[str, Any]:
        return {"source": HEADSET_SOURCE, "runtime_name": self.runtime_name, "system_name": self.system_name}

    def mode(self, patient_id: str | None, record: bool) -> str:
        mode = f"headset: {self.system_name or 'OpenXR'}"
        if patient_id is None:
            return mode + " (free play, not recorded: choose a patient in the console or with --patient)"
        return mode if record else f"{mode}  |  {NOT_RECORDED}"

    def help_rows(self, in_session: bool) -> tuple[tuple[str, str], ...]:
        if in_session:
            return THERAPIST_KEYS + (("F1", "show or hide this help"),)
        return (("F1", "show or hide this help"), ("escape", "quit"))

    def status(self, mode: str, pipeline: SessionPipeline) -> StatusFn:
        def status(frame: TrackingFrame, output: FrameOutput) -> str:
            return status_line(mode, pipeline.recorder_stats(), output.body, (frame.left, frame.right),
                               hand_answer_words(pipeline.runner.program if pipeline.runner else None))
        return status

    def session_loop(self, pipeline: SessionPipeline, status: StatusFn, controls: TherapistControls | None,
                     console: SessionConsole, frames_shown: int,
                     last_pixels: NDArray[np.uint8] | None) -> SessionLoop:  # fmt: skip
        return SessionLoop(pipeline, self.window, status, present=self.source.present, vibrate=self.source.vibrate,
                           clock=self.source.clock_link, want_eye=self.window.view.want_patient_eye,
                           pacer=ConsolePacer(), controls=controls, console=console,
                           frames_shown=frames_shown)  # fmt: skip

    def run_loop(self, loop: SessionLoop, max_frames: int | None) -> str | None:
        return loop.run(self.frames, self.source.request_stop, max_frames=max_frames, drain=True)

    def calibrate(self, patient_id: str, therapist: str, max_frames: int | None, frames_shown: int,
                  beside: SessionLoop) -> ConsoleCalibration:  # fmt: skip
        space = self.source.reference_space_type
        stage = space is not None and space.name == "STAGE"
        return calibrate_from_console(
            patient_id, self.window, self.frames, therapist=therapist, floor_y=0.0 if stage else None,
            present=self.source.present, clock=self.source.clock_link,
            status=f"calibration of {patient_id} (seated), in the headset",
            max_frames=max_frames, frames_shown=frames_shown, beside=beside)  # fmt: skip


def hand_answer_words(program: Program | None) -> str:
    """How a hand tracked without a controller answers under ``program`` (None: free play),
    as the status line says it: pinch or dwell (``Program.hands``), left/right by pointing
    when laterality is answered one-handed that way, and the open-palm stop."""
    if program is None:
        return "pinch answers, open palm stops"
    how = f"dwell {program.hands.dwell_s:g} s answers" if program.hands.confirm == "dwell" else "pinch answers"
    answer = program.laterality.answer
    if answer.mode == "point":
        how += f", left/right by pointing with the {answer.hand.value} hand"
    return how + ", open palm stops"


def status_line(mode: str, stats: RecorderStats | None, body: BodyPose | None = None,
                hands: tuple[HandInput, HandInput] | None = None,
                answers: str = "pinch answers, open palm stops") -> str:
    """The therapist window's status: the source, how the affected limb is driven, which
    hand is tracked without a controller (``hands``: left, right) and how it then answers
    and stops (``answers``, from ``hand_answer_words``), and whether recording is healthy
    (losses are shown, never hidden)."""
    text = mode
    if hands is not None:
        by_hand = [side for side, hand in zip(("left", "right"), hands, strict=True)
                   if hand.profile == HAND_TRACKING_PROFILE]  # fmt: skip
        if by_hand:
            text += f"  |  hand tracking, no controller: {' and '.join(by_hand)} ({answers})"
    if body is not None:
        text += f"  |  {body.mode.value}, affected {body.affected_side.value}"
        if body.mode is LimbMode.BLEND:
            text += f" (blend {body.blend:.0%} real)"
        if body.feedback != "mirror":  # a study's condition: the therapist's window only
            delay = f" {body.feedback_delay_ms:g} ms" if body.feedback == "delayed" else ""
            text += f"  |  feedback: {body.feedback}{delay}"
    if stats is None:
        return text
    if stats.write_errors or stats.lost_records:
        # Said at once and kept on screen: the therapist decides whether to go on.
        text += f"  |  RECORDING FAILED ({stats.write_errors} writes, {stats.lost_records} records lost)"
    else:
        text += "  |  recording"
    if stats.dropped_frames:
        text += f", {stats.dropped_frames} frames lost"
    if stats.last_error:
        text += f": {stats.last_error}"
    return text


def data_folder_check() -> tuple[str, str, str]:
    """The doctor's row for the data folder: "WARN" with the fix when other accounts can read
    it (``recording.privacy.folder_exposure``; a warning, since sessions still start), else
    "pass". (verdict, name, detail)."""
    from gmi_vr.core.settings import load_settings
    from gmi_vr.recording.privacy import folder_exposure

    folder = load_settings().data_dir
    problem = folder_exposure(folder)
    if problem is not None:
        return ("WARN", "data folder", problem)
    state = "private to this account" if folder.is_dir() else "not created yet; it will be private"
    return ("pass", "data folder", f"{folder} ({state})")


def store_encryption_check() -> tuple[str, str, str]:
    """The doctor's row for the session store at rest: "pass" when the SQLite store is
    encrypted (``recording.cipher``), "WARN" with how to encrypt it when it is plaintext;
    a database server's store is the server's to encrypt. Never reads or prints a
    passphrase: the file's header and marker decide. (verdict, name, detail)."""
    from sqlalchemy import make_url

    from gmi_vr.core.settings import load_settings
    from gmi_vr.recording import cipher

    settings = load_settings()
    path = settings.database_file
    if settings.database_url:
        url = make_url(settings.database_url)
        if not url.get_backend_name().startswith("sqlite"):
            return ("pass", "store", "on a database server: its encryption at rest is the server's to provide")
        path = Path(url.database or "")
    how = "encrypt it with 'gmi-vr store encrypt' (gmi-vr otherwise closed; see README, Encryption at rest)."
    if not path.is_file():
        return ("pass", "store", f"{path} not created yet; once it is, {how}")
    if cipher.is_encrypted_store(path):
        return ("pass", "store", f"{path} encrypted (SQLCipher; its passphrase is asked for, never shown)")
    return ("WARN", "store", f"{path} plaintext: whoever can copy the file reads the records; {how}")


def doctor_rows(result: DoctorResult) -> list[tuple[str, str, str]]:
    """The doctor's checklist as (verdict, name, detail): each check of ``result`` passed or
    failed, then the data folder's and the store's rows (what ``gmi-vr doctor`` prints and
    the console shows)."""
    rows = [("pass" if check.passed else "FAIL", check.name, check.detail) for check in result.checks]
    return [*rows, data_folder_check(), store_encryption_check()]


def doctor(print_line: Callable[[str], None], verbose: bool = False) -> int:
    """Print the checklist (``xr.doctor.doctor_checks``): each check passed or failed with a
    short reason; with ``verbose`` the session's details and what the OpenXR loader wrote
    too. Exit code 0 only when a session can start; otherwise the first failure's GmiError
    says what to do."""
    from gmi_vr.xr.doctor import doctor_checks

    result = doctor_checks(capture_loader_output=not verbose)
    rows = doctor_rows(result)
    width = max(len(name) for _, name, _ in rows)
    for verdict, name, detail in rows:
        print_line(f"{verdict}  {name:<{width}}  {detail}")
    if verbose and result.report is not None:
        for line in result.report.lines():
            print_line(f"      {line}")
    if result.session_can_start:
        return 0
    if not verbose and result.loader_output.strip():
        print_line("(the OpenXR loader's own messages: gmi-vr doctor --verbose)")
    error = result.first_error()
    assert error is not None, "a failed check carries its error"
    raise error
