"""The guided one-handed calibration as a step of the app: scripted sim frames through the real
CalibrationGuide into a real SQLite session store, then a session that uses the result.

The scripted body (tests/calibration_motion.py) is seated, 1.70 m with average proportions;
only its healthy right controller is tracked, the affected left one never is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from calibration_motion import BODY, calibration_motion, hips_position
from PIL import Image

from gmi_vr.app.calibrate import (
    CLEAR_COLOR,
    CUE_FILL_COLOR,
    CUE_LABEL,
    RETRY_SUFFIX,
    calibrate_patient,
    wrap_instruction,
)
from gmi_vr.app.patients import add_patient
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.body.calibration import INSTRUCTIONS, Calibration, CalibrationError, CalibrationStep
from gmi_vr.core.errors import NotFoundError
from gmi_vr.core.types import Side
from gmi_vr.recording.store import SessionStore
from gmi_vr.xr.sim_source import ScriptedFrameSource, load_motion, parse_motion

MOTION_FILE = Path(__file__).parent / "data" / "calibration-seated-left-affected.jsonl"
STANDING_FILE = Path(__file__).parent / "data" / "calibration-standing-left-affected.jsonl"
PATIENT = "P-CAL-1"


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    store = SessionStore.open()
    add_patient(store, PATIENT, "left", "hand", age_years=58, therapist="t.one")
    yield store
    store.close()


class Screen:
    """A ``present`` that keeps what would have been shown."""

    def __init__(self) -> None:
        self.shown = []

    def __call__(self, draw, frame) -> None:
        self.shown.append((draw, frame))

    def panels(self) -> list[str]:
        """The instruction panel's text of every frame (the first text item)."""
        return [draw.texts[0].text for draw, _ in self.shown]


def _frames(text: str | None = None):
    motion = load_motion(MOTION_FILE) if text is None else parse_motion(text)
    return ScriptedFrameSource(motion).frames()


def _distinct_in_order(items: list[str]) -> list[str]:
    return [item for i, item in enumerate(items) if i == 0 or items[i - 1] != item]


def _assert_close_to_the_scripted_body(calibration: Calibration) -> None:
    # The holds carry 2 mm of tremor and a hold window may open on a frame still arriving
    # (within the guide's 2 cm stillness): a few millimetres at most, so 1 cm on the measured
    # lengths and on where the pelvis is. Seated, height is estimated from the arm
    # (arm / 0.332), so the arm's 1 cm becomes 3 cm of height.
    m = calibration.measures
    assert abs(m.shoulder_width_m - BODY.shoulder_width_m) < 0.01
    assert abs(m.arm_length_m - BODY.arm_length_m) < 0.01
    assert abs(m.height_m - BODY.height_m) < 0.03
    assert abs(calibration.yaw_rad) < np.radians(1)
    assert np.linalg.norm(calibration.hips_position() - hips_position()) < 0.01
    # The affected side is inferred by symmetry: the mirror plane is the body's midline.
    plane = calibration.midline_plane()
    np.testing.assert_allclose(plane.normal, [1.0, 0.0, 0.0], atol=1e-3)
    assert abs(plane.signed_distance(hips_position())) < 0.01
    assert calibration.affected_side is Side.LEFT and calibration.measured_side is Side.RIGHT


def test_motion_file_is_the_generated_one_handed_script() -> None:
    assert MOTION_FILE.read_text(encoding="utf-8") == calibration_motion()
    motion = load_motion(MOTION_FILE)
    assert all(not key.left.valid for key in motion.keyframes), "the affected controller is never tracked"


def test_standing_calibration_is_stored_from_a_standing_patient_and_refused_from_a_seated_one(store) -> None:
    assert STANDING_FILE.read_text(encoding="utf-8") == calibration_motion(standing=True)
    # A patient who sits through a standing calibration: eyes 1.2 m above the floor read as a
    # body 1.28 m tall with a 0.56-0.58 m arm (the hand's length follows the height). Refused
    # at every pass; nothing stored.
    with pytest.raises(CalibrationError, match="nothing was stored"):
        calibrate_patient(store, PATIENT, _frames(), Screen(), posture="standing", therapist="t.one",
                          floor_y=0.0)  # fmt: skip
    assert store.latest_calibration(PATIENT) is None
    retries = [a.details["reason"] for a in store.audit_trail(PATIENT) if a.action == "calibration.retry"]
    assert retries and all(re.match(r"The arm measured \(0\.5\d m\) does not fit a body 1\.2\d m tall", r) for r in retries)
    # Standing up, the same body calibrates: its height from the eyes on the known floor.
    result = calibrate_patient(store, PATIENT, _frames(STANDING_FILE.read_text(encoding="utf-8")), Screen(),
                               posture="standing", therapist="t.one", floor_y=0.0)  # fmt: skip
    assert abs(result.measures.height_m - BODY.height_m) < 0.01
    assert abs(result.measures.arm_length_m - BODY.arm_length_m) < 0.01
    assert store.latest_calibration(PATIENT) is not None


def test_one_handed_script_stores_a_calibration_of_the_scripted_body(store) -> None:
    screen = Screen()
    result = calibrate_patient(store, PATIENT, _frames(), screen, posture="seated", therapist="t.one")

    _assert_close_to_the_scripted_body(result)
    stored = store.latest_calibration(PATIENT)
    assert stored is not None and stored.data == result.to_dict()
    assert Calibration.from_dict(stored.data).to_dict() == result.to_dict()
    (entry,) = [a for a in store.audit_trail(PATIENT) if a.action == "calibration.add"]
    assert entry.actor == "t.one" and entry.details["calibration_id"] == stored.id
    assert not [a for a in store.audit_trail(PATIENT) if a.action == "calibration.retry"]

    # The panel walks through the guide's steps in order, and stays on "finished" a while.
    expected = [wrap_instruction(INSTRUCTIONS[s]) for s in CalibrationStep]
    assert _distinct_in_order(screen.panels()) == expected
    finished = [f.time_s for d, f in screen.shown if d.texts[0].text == expected[-1]]
    assert 1.9 < finished[-1] - finished[0] < 2.1
    # Every frame was shown once, in order, until the calibration returned.
    assert [f.index for _, f in screen.shown] == list(range(len(screen.shown)))
    # Large and in front of the eyes: 1.4 m ahead along -Z, at eye level.
    panel = screen.shown[0][0].texts[0]
    np.testing.assert_allclose(panel.world_from_text[:3, 3], [0.0, 1.2, -1.4], atol=1e-9)
    assert panel.height_m >= 0.05
    # The hold cue fills while a pose is held, and is empty while the arm is on its way.
    fills = {f.index: _cue_fill(d) for d, f in screen.shown}
    assert fills[0] == 0.0 and 0.4 < fills[15] < 0.6  # halfway through the first 1 s hold
    assert fills[int(2.0 * 30)] == 0.0  # 2.0 s: the arm is swinging out
    labels = [t.text for d, _ in screen.shown for t in d.texts[1:]]
    assert CUE_LABEL in labels


def _cue_fill(draw) -> float:
    """The hold cue's filled width as a fraction of the track (0 when not filled)."""
    fills = [m for m in draw.meshes if m.color == CUE_FILL_COLOR]
    if not fills:
        return 0.0
    (fill,) = fills
    return float(np.linalg.norm(fill.world_from_mesh[:3, 0])) / 0.5


def test_an_impossible_arm_is_explained_and_the_arm_steps_are_asked_again(store) -> None:
    # First pass: the arm "reaches" 1.6 m out to the side, no human arm; then a good pass.
    screen = Screen()
    result = calibrate_patient(store, PATIENT, _frames(calibration_motion(side_reach_m=1.6, repeats=2)),
                               screen, posture="seated", therapist="t.one")  # fmt: skip

    panels = _distinct_in_order(screen.panels())
    retry = [p for p in panels if RETRY_SUFFIX in " ".join(p.split())]  # as read, not as wrapped
    assert len(retry) == 1
    said = re.match(r"The measured arm length \((\d\.\d\d) m\) is outside a human's 0.35-1.00 m; stretch the arm "
                    r"holding the controller fully straight out to the side at shoulder height and hold it again\. ",
                    " ".join(retry[0].split()))  # fmt: skip
    assert said is not None and float(said.group(1)) > 1.0, retry[0]
    after = panels[panels.index(retry[0]) + 1:]
    # Back to the step that measured the arm; the upright pose before it stands.
    assert after == [wrap_instruction(INSTRUCTIONS[s]) for s in list(CalibrationStep)[1:]], "back to the side step"
    # The sentence stayed up for about RETRY_SHOW_S, in the calm retry colour.
    retry_draws = [d for d, _ in screen.shown if d.texts[0].text == retry[0]]
    assert 110 < len(retry_draws) < 125 and retry_draws[0].texts[0].background != screen.shown[0][0].texts[0].background
    # Only the good pose was stored; the retry is in the audit trail.
    _assert_close_to_the_scripted_body(result)
    assert store.latest_calibration(PATIENT).data == result.to_dict()
    actions = [a.action for a in store.audit_trail(PATIENT)]
    assert actions.count("calibration.retry") == 1 and actions.count("calibration.add") == 1
    assert actions.index("calibration.retry") < actions.index("calibration.add")


def test_a_retry_audit_written_off_the_render_thread_that_fails_ends_the_calibration_there(
        store, monkeypatch) -> None:
    """In the headset the store writes are made beside the frames (``store_off_frame``): a
    write that failed is raised by the frame step that finds it done, before the pose goes
    on, and nothing is stored."""
    from gmi_vr.app.calibrate import CalibrationStep as AppCalibrationStep
    from gmi_vr.core.errors import StorageError

    def refuse(actor, action, **row):
        raise StorageError("The disk is full; free some space and calibrate again.")

    step = AppCalibrationStep(store, PATIENT, posture="seated", therapist="t.one")  # store_off_frame by default
    monkeypatch.setattr(store, "audit", refuse)
    shown = []
    with pytest.raises(StorageError, match="The disk is full"):
        for frame in _frames(calibration_motion(side_reach_m=1.6, repeats=2)):
            shown.append(step.step(frame).draw.texts[0].text)
            if RETRY_SUFFIX in " ".join(shown[-1].split()):
                step._writes.wait()  # the failed write is done; the next frame finds it
    assert any(RETRY_SUFFIX in " ".join(text.split()) for text in shown), "raised after the retry was shown"
    assert step.result is None and store.latest_calibration(PATIENT) is None


def test_frames_ending_before_the_pose_is_finished_store_nothing(store) -> None:
    frames = (f for f in _frames() if f.time_s < 5.0)  # stops during the forward step
    with pytest.raises(CalibrationError, match="nothing was stored"):
        calibrate_patient(store, PATIENT, frames, Screen(), posture="seated", therapist="t.one")
    assert store.latest_calibration(PATIENT) is None


def test_an_unknown_patient_is_refused_before_anything_is_shown(store) -> None:
    screen = Screen()
    with pytest.raises(NotFoundError, match="No patient P-NOBODY"):
        calibrate_patient(store, "P-NOBODY", _frames(), screen, posture="seated")
    assert screen.shown == []


def test_the_next_session_uses_the_stored_calibration(store) -> None:
    result = calibrate_patient(store, PATIENT, _frames(), Screen(), posture="seated", therapist="t.one")
    with session_pipeline(PATIENT, source="sim") as pipeline:
        assert pipeline.calibration is not None
        assert pipeline.calibration.to_dict() == result.to_dict()
        # A head turned 30 degrees at the session's start does not replace it.
        frame = next(_frames(textwrap.dedent("""\
            {"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}
            {"t": 0.0, "head": {"position": [0.3, 1.2, 0.1], "yaw_pitch_roll_deg": [30, 0, 0]}}
            {"t": 0.1}
            """)))  # fmt: skip
        pipeline.step(frame)
        assert pipeline.calibration.to_dict() == result.to_dict()


@pytest.mark.display
@pytest.mark.gl
def test_calibration_in_the_simulator_window_under_xvfb(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    env.update(GMI_VR_DATA=str(tmp_path / "data"), GMI_VR_CONFIG=str(tmp_path / "absent.toml"))
    shot = tmp_path / "calibration-window.png"
    script = textwrap.dedent(f"""
        from pathlib import Path
        from gmi_vr.app.calibrate import run_calibration_sim
        from gmi_vr.app.patients import add_patient
        from gmi_vr.recording.store import SessionStore
        with SessionStore.open() as store:
            add_patient(store, {PATIENT!r}, "left", "hand", therapist="t.one")
        result = run_calibration_sim({PATIENT!r}, "seated", Path({str(MOTION_FILE)!r}), therapist="t.one",
                                     screenshot=Path({str(shot)!r}), visible=False)
        print("arm", round(result.measures.arm_length_m, 4))
        """)  # fmt: skip
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    (arm_line,) = [line for line in run.stdout.splitlines() if line.startswith("arm ")]
    assert abs(float(arm_line.split()[1]) - BODY.arm_length_m) < 0.01
    with SessionStore.open(tmp_path / "data") as stored:
        assert stored.latest_calibration(PATIENT) is not None

    keep = os.environ.get("GMI_VR_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / shot.name).write_bytes(shot.read_bytes())
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    from gmi_vr.console.therapist_window import letterbox, pane_layout
    from gmi_vr.core.settings import Settings

    defaults = Settings(data_dir=tmp_path)  # the window has the settings' size (their defaults here)
    assert image.shape == (defaults.console_height, defaults.console_width, 3)
    patient_area, _, _ = pane_layout(defaults.console_width, defaults.console_height)
    x, y, w, h = letterbox(patient_area, 320 / 240)
    # The panel straight ahead at eye level sits at the middle of the patient's view (the left
    # eye is 32 mm off the panel's centre: about 1% of the width at 1.4 m): its dark panel
    # with white letters, not the clear colour nor the pale wall behind it.
    middle = image[y + h // 2 - h // 40: y + h // 2 + h // 40, x + w // 2 - w // 10: x + w // 2 + w // 10]
    clear = np.array(CLEAR_COLOR[:3]) * 255
    # (Only the letters' anti-aliased edges can come near the pale clear colour.)
    assert (np.abs(middle - clear).max(axis=-1) < 25).mean() < 0.1, "not the clear colour"
    assert (middle.max(axis=-1) < 150).mean() > 0.5, "the panel's dark background"
    assert (middle.min(axis=-1) > 170).sum() > 30, "light letters on it"
