"""``gmi-vr demo --patient ID``: a whole patient session played from the shipped sample
motion file and recorded, so that a new user sees a real record (pain before and after, every
laterality trial, the motion) without a headset, a display or writing a motion file.

The sample (``gmi_vr/data/demo-session.jsonl``, made by ``tools/make_demo_session.py``)
answers the default stage-1 session of a new patient (a start rating, three laterality blocks
with the sickness scale each minute, a closing rating) in the order the stimuli come with ``DEMO_SEED``; the demo runs the session
with that seed (recorded with the session, as every session's seed is). With another program
the same motion still plays and is recorded as it went: answers may be wrong or missing, and a
plan longer than the motion ends early.

    ScriptedFrameSource.frames() -> SessionPipeline.step(frame) (body, therapy, recording)
        -> at one moment (the third stimulus on screen): both eyes and the therapist's view
           drawn and saved as PNG files.

Frames go as fast as the machine computes them, but never faster than the recorder stores
them: every frame of the motion is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gmi_vr.app.headset import status_line
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.app.simulator import open_demo_renderer
from gmi_vr.assets.locations import shipped_data_dir
from gmi_vr.core.errors import StorageError
from gmi_vr.core.folders import ensure_writable_folder
from gmi_vr.core.settings import load_settings
from gmi_vr.core.types import TrackingFrame
from gmi_vr.recording.listing import SessionRow
from gmi_vr.recording.store import SessionStore
from gmi_vr.xr.sim_source import SIM_VIEW_SIZE, ScriptedFrameSource, load_motion

#: The shipped sample motion of a whole patient session (gmi_vr/data/).
DEMO_SESSION_MOTION = "demo-session.jsonl"
#: The session seed the sample motion was made for (tools/make_demo_session.py): with it the
#: default stage-1 session shows its stimuli in the order the sample answers them.
DEMO_SEED = 20261205
#: The picture is taken while this stimulus (counted from 1) is on screen.
PICTURE_AT_TRIAL = 3
#: Frames the recorder may hold before the demo waits for it (its queue holds 1024).
RECORDER_BACKLOG_FRAMES = 256


@dataclass(frozen=True)
class PatientDemo:
    """What ``run_patient_demo`` left behind: the stored session (as ``gmi-vr sessions``
    lists it) and the pictures written."""

    session: SessionRow
    pictures: tuple[Path, ...]


def _wait_for_recorder(pipeline: SessionPipeline) -> None:
    """Hold the frame loop while the recorder is more than RECORDER_BACKLOG_FRAMES behind
    (a scripted run outpaces real time; a full queue would drop frames)."""
    while True:
        stats = pipeline.recorder_stats()
        if stats is None or stats.last_error is not None:
            return
        if stats.frames_received - stats.frames_written - stats.dropped_frames <= RECORDER_BACKLOG_FRAMES:
            return
        time.sleep(0.002)


def run_patient_demo(patient_id: str, out_dir: Path, motion_file: Path | None = None, *,
                     report: Callable[[str], None] | None = None) -> PatientDemo:
    """Run ``patient_id``'s session from the sample motion (or ``motion_file``), recorded in
    the store like any session (source "sim"; "motion_ended" when the motion ends before the
    plan), and save what the patient and the therapist saw at the third stimulus
    (``patient-view.png``, ``therapist-window.png``; at the last frame when fewer stimuli
    came) into ``out_dir``. ``report`` is given the line saying what was saved.

    Renders offscreen through EGL without a DISPLAY, in a hidden window with one. Raises
    NotFoundError for an unknown patient, InputFileError for a malformed motion file, GmiError
    when ``out_dir`` is not writable, GraphicsUnavailable without OpenGL 4.1, StorageError
    when the session could not be saved.
    """
    out_dir = Path(out_dir)
    motion = load_motion(motion_file if motion_file is not None else shipped_data_dir() / DEMO_SESSION_MOTION)
    with SessionStore.open(load_settings().database_url or None) as store:
        store.patient(patient_id)  # an unknown id fails before any folder or window
    ensure_writable_folder(out_dir)
    patient_path = out_dir / "patient-view.png"
    therapist_path = out_dir / "therapist-window.png"
    with ExitStack() as stack:
        renderer, view = open_demo_renderer(stack)  # the same GL set-up as the plain demo
        from PIL import Image

        from gmi_vr.console.therapist_window import WINDOW_SIZE
        from gmi_vr.geometry.camera import Camera
        from gmi_vr.render.target import RenderTarget

        def save_pictures(output: FrameOutput, frame: TrackingFrame, status: str) -> None:
            eyes = []
            for eye_view in frame.views:
                eye = RenderTarget(*SIM_VIEW_SIZE, samples=4)
                stack.callback(eye.release)
                renderer.draw(output.draw, Camera.from_view(eye_view), eye.framebuffer, eye.width, eye.height)
                eyes.append(eye.read_rgba())
            therapist = RenderTarget(*WINDOW_SIZE)
            stack.callback(therapist.release)
            view.compose(output.draw, frame, therapist.framebuffer, therapist.width, therapist.height, status)
            Image.fromarray(np.hstack(eyes)[:, :, :3]).save(patient_path)
            Image.fromarray(therapist.read_rgba()[:, :, :3]).save(therapist_path)

        source = stack.enter_context(ScriptedFrameSource(motion))
        mode = f"demo: patient {patient_id}, motion file {Path(motion.source).name}"
        shown = 0
        pictured = False
        last: tuple[FrameOutput, TrackingFrame] | None = None
        with session_pipeline(patient_id, source="sim", seed=DEMO_SEED, report=report) as pipeline:
            for frame in source.frames():
                _wait_for_recorder(pipeline)
                output = pipeline.step(frame)
                shown += sum(1 for event in output.events if event.kind == "trial.show")
                if not pictured and shown >= PICTURE_AT_TRIAL:
                    save_pictures(output, frame, status_line(mode, pipeline.recorder_stats(), output.body))
                    pictured = True
                else:
                    view.observe(frame)
                last = (output, frame)
                if output.done:
                    break
            pipeline.ended_by = pipeline.ended_by or "motion_ended"  # kept only if the plan had not ended
            if not pictured and last is not None:
                save_pictures(*last, status_line(mode, pipeline.recorder_stats(), last[0].body))
    if pipeline.saved is None:
        raise StorageError(f"The demo session of {patient_id} was not saved (see the line above); "
                           "check the data folder and try again.")  # fmt: skip
    return PatientDemo(pipeline.saved, (patient_path, therapist_path))
