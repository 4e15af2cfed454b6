"""Composition root: the only place where all layers meet (ARCHITECTURE.md).

- ``loop``: the one session loop every run steps its frames through (headset, simulator,
  calibration, replay);
- ``console_run``: a run at the therapist's console, written once for the headset and the
  simulator: free play, the patient's session, a calibration from the console, each opened
  beside the last one's frames (``off_frame``: store work off the render thread);
- ``window_setup``: ``open_therapist_window``, the one place the therapist window opens;
- ``pipeline``: one frame, TrackingFrame -> body -> therapy -> DrawList (+ recording);
- ``session_setup``: a session's parts from the patient's stored program, calibration and avatar;
- ``headset``: ``run_openxr`` (the real headset) and ``doctor``;
- ``devices``: the headset and controllers as the console shows them before a session
  (the doctor's checks in a child process, or the running headset's own state);
- ``simulator``: ``run_sim`` (desktop simulator) and ``run_demo`` (a scripted run saved as PNGs);
- ``demo``: ``run_patient_demo``, a whole patient session from the shipped sample motion,
  recorded (``gmi-vr demo --patient``);
- ``patients``: adding patients, correcting their ids and changing their programs, audited;
- ``calibrate``: the guided one-handed body calibration, stored per patient
  (``run_calibration_openxr``, ``run_calibration_sim``, and the console's button:
  ``calibrate_from_console``);
- ``practice``: ``run_practice``, a home practice sitting in a desktop window, no headset;
- ``replay_run``: ``run_replay``, a recorded session in the desktop window with what the patient
  was shown and its events on a timeline (playback and the body solved again composed here;
  the console only draws).

GL-using modules are imported inside the run functions, after ``choose_gl_platform`` (PyOpenGL
binds GLX or EGL at its first import), so importing this package needs no display.
"""

from gmi_vr.app.calibrate import calibrate_patient, run_calibration_openxr, run_calibration_sim
from gmi_vr.app.headset import doctor, run_openxr
from gmi_vr.app.patients import (
    add_new_patient,
    add_patient,
    edit_patient_program,
    patient_age_band,
    patient_program,
    prescribe_practice,
    rename_patient,
)
from gmi_vr.app.practice import run_practice
from gmi_vr.app.replay_run import run_replay
from gmi_vr.app.simulator import demo_draw_list, run_demo, run_sim

__all__ = [
    "add_new_patient",
    "add_patient",
    "calibrate_patient",
    "demo_draw_list",
    "doctor",
    "edit_patient_program",
    "patient_age_band",
    "patient_program",
    "prescribe_practice",
    "rename_patient",
    "run_calibration_openxr",
    "run_calibration_sim",
    "run_demo",
    "run_openxr",
    "run_practice",
    "run_replay",
    "run_sim",
]
