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
session of that patient uses it (app/session.py loads the latest one).

``calibrate_patient`` is the frame loop with no GL and no OpenXR (tests drive it with the
sim's scripted frames); ``run_calibration_openxr`` and ``run_calibration_sim`` wrap it in the
headset and the simulator window the way ``headset.run_openxr`` and ``sim.run_sim`` do.
"""

from __future__ import annotations

import getpass
import textwrap
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np

from gmi_vr.body import Calibration, Posture
from gmi_vr.body.calibration import CalibrationError, CalibrationGuide
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.recording.store import SessionStore
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.scene.room import clinic_room, controller_items, placed, room_draw_list
from gmi_vr.therapy.stimuli import level_anchor, place_in_front
from gmi_vr.xr.sim import SEATED_EYE_HEIGHT_M

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
#: How long a "repeat the pose" sentence stays up before the guide starts again (frame time:
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
    """Guide ``patient_id`` through the one-handed calibration pose on ``frames``, calling
    ``present(draw_list, frame)`` once per frame, and store the result.

    A pose with implausible measures (outside a human's range, ``body.calibration``) shows the
    guide's sentence for RETRY_SHOW_S, then the guide goes back to the step that gave it;
    nothing is stored until a whole pose is plausible. Once done the calibration is stored (``store.add_calibration``, audit
    "calibration.add" by ``therapist``, default the logged-in user) with the patient's own
    affected side, "Calibration finished." is shown for FINISHED_SHOW_S, and it is returned.
    ``floor_y``: the floor's height in the frames' space (0 on a STAGE space and in the
    simulator; None when unknown). Raises NotFoundError for an unknown patient (before any
    frame), CalibrationError when the frames end before the pose was finished (nothing is
    stored then).
    """
    affected = Side(store.patient(patient_id).affected_side)
    guide = CalibrationGuide(Posture(posture), known_height_m=known_height_m, floor_y=floor_y)
    anchor: Pose | None = None
    room = room_around(None)
    retry: str | None = None
    retry_until = 0.0
    result: Calibration | None = None
    finished_at = 0.0
    for frame in frames:
        if anchor is None and frame.head_valid:
            anchor = level_anchor(frame.head)
            room = room_around(anchor)
        if result is None:
            if retry is not None and frame.time_s >= retry_until:
                retry = None
                guide.restart()
            if retry is None:
                try:
                    guide.add(frame)
                except CalibrationError as error:
                    retry, retry_until = f"{error}\n{RETRY_SUFFIX}", frame.time_s + RETRY_SHOW_S
                    store.audit(therapist or getpass.getuser(), "calibration.retry", patient_id=patient_id,
                                details={"reason": str(error)})  # fmt: skip
            if guide.result is not None:
                result = replace(guide.result, affected_side=affected)
                _store(store, patient_id, result, therapist or getpass.getuser())
                finished_at = frame.time_s
        message = retry if retry is not None else guide.instruction
        # The cue belongs to a pose being held: not to a repeat request nor to "finished".
        held = hold_fraction(guide) if retry is None and result is None else None
        present(calibration_draw_list(frame, anchor, room, message, held, retry is not None), frame)
        if result is not None and frame.time_s - finished_at >= FINISHED_SHOW_S:
            return result
    if result is not None:
        return result  # the frames ended while "finished" was on show: it is stored already
    raise CalibrationError(ENDED_EARLY)


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
    with the therapist window showing what the patient sees. Stops early when the therapist
    closes the window (escape) or after ``max_frames`` (then nothing is stored: a
    CalibrationError says so). Returns the stored calibration."""

    store = _open_store()
    try:
        store.patient(patient_id)  # an unknown patient fails before the headset starts
        store.require_writable()  # so does a store that could not keep the result
        from gmi_vr.app.headset import ConsolePacer, headset_with_console

        with headset_with_console("gmi-vr: calibration", visible, console=False) as (source, window):
            stage = source.reference_space_type is not None and source.reference_space_type.name == "STAGE"
            status = f"calibration of {patient_id} ({Posture(posture).value}), in the headset"
            console = ConsolePacer()
            last_draw = DrawList()

            def present(draw: DrawList, frame: TrackingFrame) -> None:
                nonlocal last_draw
                source.present(draw)
                last_draw = draw
                if console.due():
                    window.show(draw, frame, status)

            stop_requested = False

            def stop() -> None:
                nonlocal stop_requested
                if not stop_requested:  # asked once; the runtime walks the session to EXITING
                    source.request_stop()
                    stop_requested = True

            def frames() -> Iterator[TrackingFrame]:
                for count, frame in enumerate(source.frames(), start=1):
                    yield frame
                    if (max_frames is not None and count >= max_frames) or window.should_close():
                        stop()

            all_frames = frames()
            calibration = calibrate_patient(store, patient_id, all_frames, present, posture=posture,
                                            therapist=therapist, floor_y=0.0 if stage else None)  # fmt: skip
            stop()
            for frame in all_frames:  # every frame begun is ended until the runtime lets go
                present(last_draw, frame)
            return calibration
    finally:
        store.close()


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
    a motion file plays the pose. ``screenshot`` saves the last frame the window showed as a
    PNG (also when the run ends early). Returns the stored calibration; raises
    CalibrationError when the window is closed, the motion ends or ``max_frames`` pass before
    the pose is finished (nothing stored), NotFoundError for an unknown patient,
    InputFileError for a malformed motion file, GraphicsUnavailable without a display."""
    from gmi_vr.app.sim import _paced, sim_source
    from gmi_vr.app.window import open_therapist_window
    from gmi_vr.core.folders import ensure_writable_folder
    from gmi_vr.core.input import InputState
    from gmi_vr.xr.sim import KEY_HELP, load_motion

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
        last_pixels = None
        with ExitStack() as stack:
            window = stack.enter_context(open_therapist_window(
                "gmi-vr: calibration", visible=visible, input_state=input_state, help_rows=KEY_HELP))
            stack.enter_context(source)

            def present(draw: DrawList, frame: TrackingFrame) -> None:
                nonlocal last_pixels
                pixels = window.show(draw, frame, status, capture=screenshot is not None)
                last_pixels = pixels if pixels is not None else last_pixels

            def frames() -> Iterator[TrackingFrame]:
                for count, frame in enumerate(_paced(source.frames(), rate), start=1):
                    yield frame
                    if (max_frames is not None and count >= max_frames) or window.should_close():
                        source.request_stop()
                        return

            try:
                # The simulator's floor is at y = 0 (docs/motion-file.md).
                return calibrate_patient(store, patient_id, frames(), present, posture=posture,
                                         therapist=therapist, floor_y=0.0)  # fmt: skip
            finally:
                if screenshot is not None and last_pixels is not None:
                    Image.fromarray(last_pixels[:, :, :3]).save(screenshot)
    finally:
        store.close()
