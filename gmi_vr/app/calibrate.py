"""The guided body calibration as a step of the app, one-handed: the affected arm may not hold
a controller or rise, so only the healthy arm is measured and body/calibration.py infers the
other side by symmetry.

One frame:

    TrackingFrame ──▶ CalibrationGuide.add ──▶ step, instruction (or a CalibrationError)
                  └─▶ calibration_draw_list: the room around the patient, the tracked
                      controllers, the instruction in front of the eyes, a "hold still" cue
                  ──▶ present(DrawList, frame)    (the eyes and/or the therapist window)

When the guide finishes, the calibration is stored for the patient (with an audit entry)
before anything else happens, so closing the window afterwards loses nothing; the next
session of that patient uses it (app/session_setup.py loads the latest one).

``CalibrationStep`` is that frame as the session loop's step (``app.loop.FrameStep``):
``run_calibration_openxr`` and ``run_calibration_sim`` run it on the one session loop in the
headset and the simulator window (``calibrate_on_loop``), as ``headset.run_openxr`` and
``simulator.run_sim`` run a session; ``calibrate_patient`` steps it with no GL and no OpenXR (tests
drive it with the sim's scripted frames).
"""

from __future__ import annotations

import functools
import getpass
import textwrap
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gmi_vr.app.off_frame import OffFrame
from gmi_vr.app.pipeline import FrameOutput
from gmi_vr.body import Calibration, Posture
from gmi_vr.body.calibration import CalibrationError, CalibrationGuide
from gmi_vr.core.types import ClockLink, Pose, Side, TrackingFrame
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.recording.store import SessionStore
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.scene.room import clinic_room, controller_items, placed, room_draw_list
from gmi_vr.therapy.content.stimuli import level_anchor, place_in_front
from gmi_vr.xr.sim_source import SEATED_EYE_HEIGHT_M

if TYPE_CHECKING:
    from gmi_vr.app.loop import SessionLoop
    from gmi_vr.console.panels import SessionPanel
    from gmi_vr.console.therapist_window import TherapistWindow

Present = Callable[[DrawList, TrackingFrame], None]

#: The instruction panel floats this far ahead of the eyes, at eye level, so reading it
#: keeps the head level and looking straight ahead (what the first step asks for); the arm
#: held forward at shoulder height stays below it. Metres.
INSTRUCTION_AHEAD_M = 1.4
#: Line height, metres: about 3.3 degrees of visual angle at 1.4 m, large enough to read
#: through headset lenses without leaning in, also for older eyes.
INSTRUCTION_LINE_M = 0.08
#: Characters per line: short lines keep the panel inside the central field of view.
INSTRUCTION_WRAP_CHARS = 30
INSTRUCTION_COLOR: RGBA = (1.0, 1.0, 1.0, 1.0)
#: The simulator's panel colour, a little more opaque: the panel may sit over the bright window.
INSTRUCTION_BACKGROUND: RGBA = (0.20, 0.27, 0.30, 0.86)
#: A repeat request is shown in warm sand, not alarm red: nothing here is the patient's fault.
RETRY_BACKGROUND: RGBA = (0.46, 0.36, 0.24, 0.82)
#: How long a "repeat the pose" sentence stays up before the guide goes back to that step (frame time:
#: time to read it calmly and lower the arm), and how long "Calibration finished." is shown.
RETRY_SHOW_S = 4.0
FINISHED_SHOW_S = 2.0
#: The "hold still" cue: a slim bar under the instruction that fills while the pose is held.
CUE_WIDTH_M = 0.5
CUE_HEIGHT_M = 0.014
CUE_TRACK_COLOR: RGBA = (0.30, 0.34, 0.36, 0.85)
CUE_FILL_COLOR: RGBA = (0.62, 0.80, 0.66, 1.0)  # soft green
CUE_LABEL = "Hold still"
CLEAR_COLOR: RGBA = room_draw_list(None).clear_color  # the room's own sky

RETRY_SUFFIX = "We go back to that step in a moment."
ENDED_EARLY = ("The calibration ended before the pose was finished, so nothing was stored; "
               "run the calibration again.")  # fmt: skip


def wrap_instruction(message: str) -> str:
    """The message as short lines (TextItem splits on newlines), keeping given line breaks."""
    lines = []
    for paragraph in message.split("\n"):
        lines += textwrap.wrap(paragraph, INSTRUCTION_WRAP_CHARS) or [""]
    return "\n".join(lines)


def hold_fraction(guide: CalibrationGuide) -> float:
    """How far the current step's still hold has got, 0 to 1 (0 when nothing is held yet).

    Read from the guide's own hold window so the cue never disagrees with when the step
    completes (the guide keeps it internal; this is the one place that reads it)."""
    held = guide._held
    if len(held) < 2:
        return 0.0
    return float(np.clip((held[-1][0] - held[0][0]) / guide.hold_s, 0.0, 1.0))


def room_around(anchor: Pose | None) -> tuple[MeshItem, ...]:
    """The clinic room placed around the patient as a session without a calibration places it
    (app/pipeline.py): the chair under them, the table ahead, facing where they looked when
    first tracked (``anchor``, a level head pose). Room coordinates without an anchor yet."""
    room = clinic_room()
    if anchor is None:
        return room
    # Room coordinates have the eyes above their origin (the chair's seat a little behind).
    world_from_room = matrix_from_pose(anchor)
    world_from_room[1, 3] = 0.0  # the floor stays at the reference space's floor
    return tuple(replace(m, world_from_mesh=world_from_room @ m.world_from_mesh) for m in room)


def calibration_draw_list(
    frame: TrackingFrame,
    anchor: Pose | None,
    room: tuple[MeshItem, ...],
    message: str,
    held: float | None,
    retry: bool = False,
) -> DrawList:
    """What the patient sees during calibration: the room, the tracked controllers, the
    ``message`` on a panel ahead of the eyes (``anchor``, a level head pose; the sim's
    seated eye point before the head is tracked) and, under it, the hold cue filled to
    ``held`` (0 to 1; None shows no cue). ``retry`` shows the panel in the calm "repeat"
    colour."""
    if anchor is None:
        anchor = Pose(np.array([0.0, SEATED_EYE_HEIGHT_M, 0.0]))
    text = wrap_instruction(message)
    lines = text.count("\n") + 1
    panel = TextItem(text, place_in_front(anchor, INSTRUCTION_AHEAD_M, 0.0), INSTRUCTION_LINE_M,
                     INSTRUCTION_COLOR, RETRY_BACKGROUND if retry else INSTRUCTION_BACKGROUND)  # fmt: skip
    texts = [panel]
    cue: list[MeshItem] = []
    if held is not None:
        below = -(lines * INSTRUCTION_LINE_M / 2 + 0.06)
        world_from_cue = place_in_front(anchor, INSTRUCTION_AHEAD_M, below)
        cue.append(_in_frame(world_from_cue, placed("box", (0.0, 0.0, 0.0), (CUE_WIDTH_M, CUE_HEIGHT_M, 0.004),
                                                      CUE_TRACK_COLOR, lit=False)))  # fmt: skip
        if held > 0.0:
            width = CUE_WIDTH_M * held
            cue.append(_in_frame(world_from_cue, placed(
                "box", (-(CUE_WIDTH_M - width) / 2, 0.0, 0.003), (width, CUE_HEIGHT_M, 0.004), CUE_FILL_COLOR, lit=False,
            )))  # fmt: skip
            label_at = place_in_front(anchor, INSTRUCTION_AHEAD_M, below - 0.06)
            texts.append(TextItem(CUE_LABEL, label_at, INSTRUCTION_LINE_M * 0.7, INSTRUCTION_COLOR, None))
    return DrawList(meshes=room + controller_items(frame) + tuple(cue), texts=tuple(texts),
                    clear_color=CLEAR_COLOR)  # fmt: skip


def _in_frame(world_from_frame: np.ndarray, item: MeshItem) -> MeshItem:
    return replace(item, world_from_mesh=world_from_frame @ item.world_from_mesh)


class CalibrationStep:
    """The guided calibration as the session loop's frame step (``app.loop.FrameStep``):
    each frame goes to the guide and comes back as what the patient sees
    (``calibration_draw_list``); no body is solved and nothing of the frames is recorded.

    A pose with implausible measures (outside a human's range, ``body.calibration``) shows the
    guide's sentence for RETRY_SHOW_S (audited "calibration.retry"), then the guide goes back
    to the step that gave it; nothing is stored until a whole pose is plausible. Once done the calibration is stored
    (``store.add_calibration``, audit "calibration.add" by ``therapist``, default the
    logged-in user) with the patient's own affected side and kept in ``result``; "Calibration
    finished." is shown for FINISHED_SHOW_S, then the output is ``done``. ``floor_y``: the
    floor's height in the frames' space (0 on a STAGE space and in the simulator; None when
    unknown). ``store_off_frame``: the store writes (a retry's audit entry, the result) are
    made on a worker thread, one after the other, while the frames go on ("finished" stays up
    until the result is stored; a write's error is raised on the calling thread at the next
    frame); False: on the calling thread, at once.
    Raises NotFoundError for an unknown patient (on construction, before any frame).
    """

    def __init__(self, store: SessionStore, patient_id: str, *, posture: Posture | str,
                 therapist: str | None = None, floor_y: float | None = None,
                 known_height_m: float | None = None, store_off_frame: bool = True) -> None:  # fmt: skip
        self.store = store
        self.store_off_frame = store_off_frame
        self.patient_id = patient_id
        self.affected = Side(store.patient(patient_id).affected_side)
        self.therapist = therapist or getpass.getuser()
        self.guide = CalibrationGuide(Posture(posture), known_height_m=known_height_m, floor_y=floor_y)
        self.result: Calibration | None = None
        self._anchor: Pose | None = None
        self._room = room_around(None)
        self._retry: str | None = None
        self._retry_until = 0.0
        self._finished_at = 0.0
        self._finished = False
        self._writes: OffFrame[None] | None = None  # the latest store write off the render thread

    def use_clock(self, link: ClockLink) -> None:
        """Nothing is recorded with the frame source's clock here."""

    def presented(self, submit_ns: int | None) -> None:
        """Nothing to record: calibration keeps only its result."""

    @property
    def finished(self) -> bool:
        return self._finished

    def finish(self) -> Calibration | None:
        """The loop is done with calibration: its result (None when the pose was never
        finished), once stored (the store's GmiError when it could not be)."""
        self._finished = True
        self._saved(wait=True)
        return self.result

    def _saved(self, wait: bool = False) -> bool:
        """Whether the store writes made so far are over (``wait``: once they are); an
        error of one is raised here, on the render thread."""
        if self._writes is None:
            return True
        if not wait and not self._writes.done:
            return False
        self._writes.result()
        return True

    def _write(self, work: Callable[[], None]) -> None:
        """``work`` (a store write) on a worker after the writes before it, or here and now
        without ``store_off_frame``. A store write takes as long as a few headset frames."""
        if not self.store_off_frame:
            work()
            return
        before = self._writes

        def in_order() -> None:
            if before is not None:
                before.result()  # its error, if any, stops the writes after it
            work()

        self._writes = OffFrame(in_order, "gmi-vr calibration store write")

    def step(self, frame: TrackingFrame, presented_later: bool = False) -> FrameOutput:
        """One frame of the guide: what to show, ``done`` once "finished" has been shown."""
        guide = self.guide
        if self._anchor is None and frame.head_valid:
            self._anchor = level_anchor(frame.head)
            self._room = room_around(self._anchor)
        if self._writes is not None and self._writes.done:
            self._saved()  # a write that failed: its error now, not after the pose is finished
        if self.result is None:
            if self._retry is not None and frame.time_s >= self._retry_until:
                self._retry = None
                guide.restart()
            if self._retry is None:
                try:
                    guide.add(frame)
                except CalibrationError as error:
                    self._retry, self._retry_until = f"{error}\n{RETRY_SUFFIX}", frame.time_s + RETRY_SHOW_S
                    self._write(functools.partial(
                        self.store.audit, self.therapist, "calibration.retry", patient_id=self.patient_id,
                        details={"reason": str(error)}))  # fmt: skip
            if guide.result is not None:
                self.result = replace(guide.result, affected_side=self.affected)
                # While "Calibration finished." is on show: the frames go on.
                self._write(functools.partial(_store, self.store, self.patient_id, self.result, self.therapist))
                self._finished_at = frame.time_s
        retry = self._retry
        message = retry if retry is not None else guide.instruction
        # The cue belongs to a pose being held: not to a repeat request nor to "finished".
        held = hold_fraction(guide) if retry is None and self.result is None else None
        draw = calibration_draw_list(frame, self._anchor, self._room, message, held, retry is not None)
        done = self.result is not None and frame.time_s - self._finished_at >= FINISHED_SHOW_S and self._saved()
        return FrameOutput(draw, None, done=done)


def calibrate_patient(
    store: SessionStore,
    patient_id: str,
    frames: Iterable[TrackingFrame],
    present: Present,
    *,
    posture: Posture | str,
    therapist: str | None = None,
    floor_y: float | None = None,
    known_height_m: float | None = None,
) -> Calibration:
    """Guide ``patient_id`` through the one-handed calibration pose on ``frames``
    (``CalibrationStep``: its arguments, audit and storing), calling ``present(draw_list,
    frame)`` once per frame; returns the stored calibration once "finished" has been shown.
    The window-less form of the runners below (tests drive it with the sim's scripted frames).
    Raises NotFoundError for an unknown patient (before any frame), CalibrationError when the
    frames end before the pose was finished (nothing is stored then).
    """
    # Stored at once: no frames wait here, and scripted frames come faster than a store write.
    calibration = CalibrationStep(store, patient_id, posture=posture, therapist=therapist, floor_y=floor_y,
                                  known_height_m=known_height_m, store_off_frame=False)  # fmt: skip
    for frame in frames:
        output = calibration.step(frame)
        present(output.draw, frame)
        if output.done:
            break
    return stored_result(calibration)


def stored_result(calibration: CalibrationStep) -> Calibration:
    """The calibration ``calibration`` stored (also when the frames ended while "finished"
    was on show); CalibrationError when the pose was never finished (nothing was stored), the
    store's GmiError when it could not be stored."""
    result = calibration.finish()
    if result is None:
        raise CalibrationError(ENDED_EARLY)
    return result


def _store(store: SessionStore, patient_id: str, calibration: Calibration, therapist: str) -> None:
    data = calibration.to_dict()
    info = store.add_calibration(patient_id, data)
    store.audit(therapist, "calibration.add", patient_id=patient_id,
                details={"calibration_id": info.id, **data})  # fmt: skip


# --------------------------------------------------------------------------------- runners


def _open_store() -> SessionStore:
    """The store of an existing patient: a missing data folder is named, never created."""
    return SessionStore.open(create=False)


def run_calibration_openxr(
    patient_id: str,
    posture: Posture | str = Posture.SEATED,
    *,
    therapist: str | None = None,
    max_frames: int | None = None,
    visible: bool = True,
) -> Calibration:
    """Calibrate ``patient_id`` in the headset (``gmi-vr calibrate PATIENT [--standing]``),
    with the therapist window showing what the patient sees; the session loop's (``app.loop``)
    with ``CalibrationStep`` as its frame step. Stops early when the therapist closes the
    window (escape) or after ``max_frames`` (then nothing is stored: a CalibrationError says
    so). Returns the stored calibration."""
    store = _open_store()
    try:
        store.patient(patient_id)  # an unknown patient fails before the headset starts
        store.require_writable()  # so does a store that could not keep the result
        from gmi_vr.app.headset import headset_with_console

        with headset_with_console("gmi-vr: calibration", visible, console=False) as (source, window):
            stage = source.reference_space_type is not None and source.reference_space_type.name == "STAGE"
            step = CalibrationStep(store, patient_id, posture=posture, therapist=therapist,
                                   floor_y=0.0 if stage else None)  # fmt: skip
            status = f"calibration of {patient_id} ({Posture(posture).value}), in the headset"
            calibrate_on_loop(step, window, source.frames(), source.request_stop, status, max_frames=max_frames,
                              present=source.present, clock=source.clock_link, drain=True)  # fmt: skip
            return stored_result(step)
    finally:
        store.close()


def calibrate_on_loop(step: CalibrationStep, window: TherapistWindow, frames: Iterable[TrackingFrame],
                      request_stop: Callable[[], None], status: str, *, max_frames: int | None = None,
                      present: Callable[[DrawList], None] = lambda draw: None,
                      clock: Callable[[], ClockLink | None] = lambda: None, every_frame: bool = False,
                      capture: bool = False, drain: bool = False, frames_shown: int = 0,
                      panel: SessionPanel | None = None) -> SessionLoop:
    """Run ``step`` on the session loop (``app.loop.SessionLoop``) in ``window`` until
    "finished" has been shown, the window is closed or ``max_frames`` frames passed (counted
    on from ``frames_shown``: a run that calibrated from its console goes on counting);
    ``present`` hands each picture to the eyes (the headset's; nothing for the simulator),
    ``every_frame`` draws the window every frame (else at the console's pace); ``panel``:
    what the console's panels show meanwhile. Returns the loop (its ``last_pixels`` with
    ``capture``)."""
    from gmi_vr.app.loop import ConsolePacer, SessionLoop

    # In the headset the window's patient pane is the left eye as drawn (the simulator keeps none).
    loop = SessionLoop(step, window, lambda frame, output: status, present=present, clock=clock,
                       want_eye=window.view.want_patient_eye,
                       pacer=ConsolePacer(None) if every_frame else ConsolePacer(), capture=capture,
                       speak=False, frames_shown=frames_shown,
                       panel=None if panel is None else lambda frame, output: panel)  # fmt: skip
    loop.run(frames, request_stop, max_frames=max_frames, plan_end_reason="calibrated", drain=drain)
    step.finish()
    return loop


def run_calibration_sim(
    patient_id: str,
    posture: Posture | str = Posture.SEATED,
    motion_file: Path | None = None,
    *,
    therapist: str | None = None,
    max_frames: int | None = None,
    screenshot: Path | None = None,
    visible: bool = True,
) -> Calibration:
    """Calibrate ``patient_id`` in the simulator window (``gmi-vr calibrate PATIENT --sim
    [--motion FILE]``): the keyboard and mouse move the head and hands (F1 shows the keys), or
    a motion file plays the pose; the session loop's, as in the headset. ``screenshot`` saves
    the last frame the window showed as a PNG (also when the run ends early). Returns the
    stored calibration; raises CalibrationError when the window is closed, the motion ends or
    ``max_frames`` pass before the pose is finished (nothing stored), NotFoundError for an
    unknown patient, InputFileError for a malformed motion file, GraphicsUnavailable without
    a display."""
    from gmi_vr.app.simulator import _paced, sim_source
    from gmi_vr.app.window_setup import open_therapist_window
    from gmi_vr.core.folders import ensure_writable_folder
    from gmi_vr.core.input import InputState
    from gmi_vr.xr.sim_source import KEY_HELP, load_motion

    motion = load_motion(motion_file) if motion_file is not None else None  # fail before any window
    if screenshot is not None:
        ensure_writable_folder(screenshot.parent)
    store = _open_store()
    try:
        store.patient(patient_id)  # an unknown patient fails before any window opens
        store.require_writable()  # so does a store that could not keep the result
        from PIL import Image

        input_state = InputState()
        source, mode, rate = sim_source(motion, input_state)
        status = f"calibration of {patient_id} ({Posture(posture).value})  |  {mode}"
        loop = None
        with ExitStack() as stack:
            window = stack.enter_context(open_therapist_window(
                "gmi-vr: calibration", visible=visible, input_state=input_state, help_rows=KEY_HELP))
            stack.enter_context(source)
            # The simulator's floor is at y = 0 (docs/motion-file.md).
            step = CalibrationStep(store, patient_id, posture=posture, therapist=therapist, floor_y=0.0)
            try:
                loop = calibrate_on_loop(step, window, _paced(source.frames(), rate), source.request_stop, status,
                                         max_frames=max_frames, every_frame=True,
                                         capture=screenshot is not None)  # fmt: skip
                return stored_result(step)
            finally:
                if screenshot is not None and loop is not None and loop.last_pixels is not None:
                    Image.fromarray(loop.last_pixels[:, :, :3]).save(screenshot)
    finally:
        store.close()


@dataclass(frozen=True)
class ConsoleCalibration:
    """What became of a calibration started from the console (``calibrate_from_console``)."""

    sentence: str  # what the console says of it afterwards
    loop: SessionLoop | None  # its loop; None when it did not start
    stored: bool = False  # stored: its "finished" picture may go on while free play opens


def calibrate_from_console(patient_id: str, window: TherapistWindow, frames: Iterable[TrackingFrame], *,
                           therapist: str, status: str, floor_y: float | None,
                           present: Callable[[DrawList], None] = lambda draw: None,
                           clock: Callable[[], ClockLink | None] = lambda: None, every_frame: bool = False,
                           max_frames: int | None = None, frames_shown: int = 0,
                           capture: bool = False, beside: SessionLoop | None = None) -> ConsoleCalibration:
    """The console's "calibrate" button: ``patient_id``'s seated calibration (the posture of
    a session in the chair; ``gmi-vr calibrate --standing`` for a standing one) on the run's
    own session loop, frames (``present``: the headset's eyes) and window, between two
    patients' sessions. Audited "console.calibrate" by ``therapist`` when it starts; the guide
    audits its retries and the stored result as ever (``CalibrationStep``). It never asks the
    frame source to stop: closing the window ends it (nothing stored) and the run's own loop
    then ends the run.

    The store is opened and the start audited on a worker thread while ``beside`` (free
    play's loop, None: on this thread) goes on showing ``frames``; the result is stored while
    "Calibration finished." is on show (``CalibrationStep``).

    Returns the one sentence the console shows afterwards (stored, ended early, or why it
    could not start or be stored: a store that cannot be opened or written, a patient removed
    meanwhile), the calibration's loop (None when it did not start; its ``frames_shown`` goes
    on from ``frames_shown``) and whether it was stored (``ConsoleCalibration``)."""
    from gmi_vr.console.panels import SessionPanel
    from gmi_vr.core.errors import GmiError
    from gmi_vr.core.settings import load_settings

    def start() -> tuple[SessionStore, CalibrationStep]:
        store = SessionStore.open(load_settings().database_url or None, create=False)
        try:
            store.require_writable()
            step = CalibrationStep(store, patient_id, posture=Posture.SEATED, therapist=therapist, floor_y=floor_y)
            store.audit(therapist, "console.calibrate", patient_id=patient_id, details={"posture": "seated"})
        except BaseException:
            store.close()
            raise
        return store, step

    try:  # the store's work beside free play's frames: the headset's picture goes on
        store, step = beside.beside(start, iter(frames), "gmi-vr calibration start") if beside else start()
    except GmiError as error:
        return ConsoleCalibration(f"The calibration of {patient_id} did not start: {error}", None)
    try:
        shown = SessionPanel(f"calibration of {patient_id} (seated)", read_only=True,
                             message="The patient follows the instructions in their view; close the window to stop.")
        loop = calibrate_on_loop(step, window, frames, lambda: None, status, max_frames=max_frames,
                                 present=present, clock=clock, every_frame=every_frame,
                                 frames_shown=frames_shown, capture=capture, panel=shown)  # fmt: skip
    except GmiError as error:
        return ConsoleCalibration(f"The calibration of {patient_id} was not stored: {error}", None)
    finally:
        store.close()
    window.take_console_actions()  # clicks on the panels while it ran were not meant for free play
    if step.result is None:
        return ConsoleCalibration(f"The calibration of {patient_id} ended before the pose was finished; "
                                  "nothing was stored.", loop)  # fmt: skip
    height = step.result.measures.height_m
    return ConsoleCalibration(f"The calibration of {patient_id} is stored (height {height:.2f} m); "
                              "their next session uses it.", loop, stored=True)  # fmt: skip
