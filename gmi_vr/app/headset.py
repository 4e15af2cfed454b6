"""The headset: ``gmi-vr run`` on the active OpenXR runtime, and ``gmi-vr doctor``.

One frame (see pipeline.py for the middle part):

    OpenXrSource.frames()      xrWaitFrame, xrBeginFrame, sync actions, locate views/spaces
      -> TrackingFrame
    SessionPipeline.step()     body solve, therapy, recording
      -> DrawList
    OpenXrSource.present()     Renderer.draw per eye into the swapchain images, xrEndFrame
    OpenXrSource.vibrate()     therapy's haptic pulses, xrApplyHapticFeedback
    TherapistWindow.show()     the same DrawList: the patient's view + a third-person view

Both the eyes and the therapist window draw with one GL context (the window's): vertex
arrays cannot be shared between contexts, and one thread owns GL.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from gmi_vr.app.audio import CueSpeaker
from gmi_vr.app.controls import THERAPIST_KEYS, TherapistControls, console_keys, session_status
from gmi_vr.app.session import session_pipeline
from gmi_vr.body import BodyPose, LimbMode
from gmi_vr.core.types import HandInput
from gmi_vr.recording.records import RecorderStats
from gmi_vr.xr.hands_only import HAND_TRACKING_PROFILE

#: Software OpenGL pays for every pixel of the therapist window; the headset must not wait
#: for it. The window is redrawn at most this often (the eyes every frame).
CONSOLE_MAX_HZ = 15.0


@contextmanager
def headset_with_console(title: str, visible: bool = True) -> Iterator[tuple[Any, Any]]:
    """The therapist window, a renderer on its GL context, and an OpenXR session whose eyes
    that renderer draws: ``(OpenXrSource, TherapistWindow)``, released in reverse order.
    Raises the source's GmiErrors (no runtime, no display, session refused)."""
    from gmi_vr.render.context import choose_gl_platform

    choose_gl_platform(offscreen=False)
    import glfw

    from gmi_vr.console.window import WINDOW_SIZE, TherapistWindow
    from gmi_vr.render.context import open_window_context
    from gmi_vr.render.renderer import Renderer
    from gmi_vr.xr.openxr_source import OpenXrSource

    with ExitStack() as stack:
        context = stack.enter_context(open_window_context(*WINDOW_SIZE, title=title, visible=visible))
        renderer = Renderer()
        stack.callback(renderer.release)
        window = TherapistWindow(context, renderer)
        stack.callback(window.release)
        glfw.swap_interval(0)  # the runtime paces frames (xrWaitFrame), never the desktop's vsync
        # Swapchain images are linear RGBA8 unless sRGB: the renderer encodes accordingly.
        eyes = functools.partial(renderer.draw, unorm_holds_linear=True)
        source = stack.enter_context(OpenXrSource(eyes, gl_context=context))
        yield source, window


class ConsolePacer:
    """Says when the therapist window is due again: at most ``CONSOLE_MAX_HZ`` (wall clock:
    this paces a desktop window, not logic)."""

    def __init__(self) -> None:
        self._next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + 1.0 / CONSOLE_MAX_HZ
        return True


def run_openxr(patient_id: str | None = None, *, max_frames: int | None = None,
               visible: bool = True, report: Callable[[str], None] | None = None,
               record: bool = True, therapist: str | None = None) -> int:
    """Run a session in the headset until the runtime ends it, the therapist closes the
    window, or ``max_frames`` frames were shown. Returns the number of frames.

    In a patient's session Escape (or the close button) asks before it ends the session,
    which then goes to its closing rating (``app.controls``). When the session has ended,
    ``report`` is given the line saying what was saved, the status line shows it too, and
    the headset keeps showing "Session complete" (frames keep flowing: its picture never
    freezes) until the therapist closes the window. In free play Escape quits at once.
    ``record`` False runs the patient's session unsaved on purpose (``session_pipeline``)."""
    frames_shown = 0
    with ExitStack() as stack:
        source, window = stack.enter_context(headset_with_console("gmi-vr: therapist", visible))
        info = source.info
        pipeline = stack.enter_context(session_pipeline(
            patient_id, source="openxr",
            runtime_name=info.runtime_name if info else None,
            system_name=info.system_name if info else None,
            report=report, record=record, therapist=therapist,
        ))  # fmt: skip
        mode = f"headset: {info.system_name if info else 'OpenXR'}"
        if patient_id is None:
            mode += " (free play, not recorded: choose a patient with --patient)"
        elif not record:
            mode += f"  |  {NOT_RECORDED}"
        controls = TherapistControls(pipeline.runner) if pipeline.runner is not None else None
        if controls is not None:
            window.escape_closes = False  # Escape asks first (app.controls)
            window.view.help_rows = THERAPIST_KEYS + (("F1", "show or hide this help"),)
        else:
            window.view.help_rows = (("F1", "show or hide this help"), ("escape", "quit"))
        speaker = CueSpeaker()
        stack.callback(speaker.close)
        console = ConsolePacer()
        stop_requested = False
        ended_by = "runtime_ended"  # unless the app asks the runtime to end (below)
        for frame in source.frames():
            if controls is not None:
                controls.handle(console_keys(window, controls), frame.time_s)
            output = pipeline.step(frame)
            source.present(output.draw)
            source.vibrate(output.haptics)
            speaker.handle(output.events)
            frames_shown += 1
            just_finished = output.done and not pipeline.finished
            if output.done:
                pipeline.finish()  # said and shown now, while "Session complete" is on screen
            if console.due() or just_finished:
                status = session_status(status_line(mode, pipeline.recorder_stats(), output.body,
                                                    (frame.left, frame.right)),
                                        pipeline, controls, frame.time_s)  # fmt: skip
                window.show(output.draw, frame, status)
            stop = None
            if max_frames is not None and frames_shown >= max_frames:
                stop = "frame_limit"
            elif controls is not None and controls.quit_requested:
                stop = "window_closed"
            elif controls is None and window.should_close():
                stop = "window_closed"
            if not stop_requested and stop is not None:
                source.request_stop()  # the runtime walks the session to EXITING
                stop_requested, ended_by = True, stop
        pipeline.ended_by = pipeline.ended_by or ended_by
    return frames_shown


#: The status line's note for a patient session run unsaved on purpose (``--no-record``).
NOT_RECORDED = "NOT RECORDED (--no-record): nothing of this session is saved"


def status_line(mode: str, stats: RecorderStats | None, body: BodyPose | None = None,
                hands: tuple[HandInput, HandInput] | None = None) -> str:
    """The therapist window's status: the source, how the affected limb is driven, which
    hand is tracked without a controller (``hands``: left, right; the patient then pinches
    to answer and shows an open palm to stop), and whether recording is healthy (losses are
    shown, never hidden)."""
    text = mode
    if hands is not None:
        by_hand = [side for side, hand in zip(("left", "right"), hands, strict=True)
                   if hand.profile == HAND_TRACKING_PROFILE]  # fmt: skip
        if by_hand:
            text += f"  |  hand tracking, no controller: {' and '.join(by_hand)} (pinch answers, open palm stops)"
    if body is not None:
        text += f"  |  {body.mode.value}, affected {body.affected_side.value}"
        if body.mode is LimbMode.BLEND:
            text += f" (blend {body.blend:.0%} real)"
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


def doctor(print_line: Callable[[str], None], verbose: bool = False) -> int:
    """Print the checklist (``xr.doctor.doctor_checks``): each check passed or failed with a
    short reason; with ``verbose`` the session's details and what the OpenXR loader wrote
    too. Exit code 0 only when a session can start; otherwise the first failure's GmiError
    says what to do."""
    from gmi_vr.xr.doctor import doctor_checks

    result = doctor_checks(capture_loader_output=not verbose)
    width = max(len(check.name) for check in result.checks)
    for check in result.checks:
        print_line(f"{'pass' if check.passed else 'FAIL'}  {check.name:<{width}}  {check.detail}")
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
