"""The guided calibration in the headset against the real Monado runtime (inside
tools/xr-sandbox): the remote driver performs the one-handed pose with the right controller
while the left one is not tracked, ``run_calibration_openxr`` runs the real OpenXR frame loop,
and the calibration lands in a real SQLite store, close to the scripted body."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from calibration_motion import BODY, hips_position
from support.xr_run import headset_runtime, patient_store, run_xr_app

from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

TESTS = Path(__file__).resolve().parent.parent

APP = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    from support.calibration_driver import calibration_pose_loop
    from gmi_vr.app.calibrate import run_calibration_openxr
    from gmi_vr.app.patients import add_patient
    from gmi_vr.recording.store import SessionStore

    with SessionStore.open() as store:
        add_patient(store, "P-XR-1", "left", "hand", therapist="t.one")
    with calibration_pose_loop():  # the driver plays the pose over and over (support.calibration_driver)
        result = run_calibration_openxr("P-XR-1", "seated", therapist="t.one", visible=False,
                                        max_frames=3000)
        print("RESULT " + json.dumps(result.to_dict()))
""")


def test_one_handed_calibration_in_the_headset_is_stored(tmp_path: Path) -> None:
    headset_runtime()
    env = dict(os.environ, GMI_VR_DATA=str(tmp_path / "data"), GMI_VR_CONFIG=str(tmp_path / "absent.toml"))
    run = subprocess.run([sys.executable, "-c", APP.format(tests=str(TESTS))], env=env,
                         capture_output=True, text=True, timeout=240)  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    (line,) = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))

    with SessionStore.open(tmp_path / "data") as store:
        stored = store.latest_calibration("P-XR-1")
        actions = [a.action for a in store.audit_trail("P-XR-1")]
    assert stored is not None and stored.data == result
    assert actions.count("calibration.add") == 1
    # The driver holds each pose exactly (the remote driver's pose is the grip pose), so the
    # measures come back to a millimetre; 1 cm leaves room for a hold caught mid-arrival.
    assert abs(result["shoulder_width_m"] - BODY.shoulder_width_m) < 0.01
    assert abs(result["arm_length_m"] - BODY.arm_length_m) < 0.01
    assert abs(result["height_m"] - BODY.height_m) < 0.03
    assert (result["measured_side"], result["affected_side"]) == ("right", "left")
    # A STAGE space: the floor is at y = 0, so the pelvis height is measured, not assumed.
    assert abs(result["hips_height_m"] - hips_position()[1]) < 0.01
    np.testing.assert_allclose(result["origin"], [hips_position()[0], 0.0, hips_position()[2]], atol=0.01)


CONSOLE_APP = TESTS / "support" / "xr_console_calibration_app.py"


def test_a_calibration_from_the_console_in_the_headset_is_stored_and_the_picture_goes_on(tmp_path: Path) -> None:
    """The console's "calibrate" in the headset's free play (support/xr_console_calibration_app.py):
    the pose measured on the run's own frames is stored and audited, and while the store
    opened for it, stored its result and read free play's list again (each slowed on
    purpose), frames kept being presented to the runtime."""
    headset_runtime()
    data = patient_store(tmp_path, "P-XR-2", {"session.rating_at_start": True}, reason="calibrated from the console")
    result = run_xr_app(CONSOLE_APP, ["P-XR-2"], tmp_path, data)
    assert [what for what, _ in result["slow"]] == ["calibration open", "calibration save", "free play open"]
    assert all(frames >= 1 for _, frames in result["slow"]), result["slow"]
    assert result["calibrating"] == "calibration of P-XR-2 (seated), in the headset"
    assert result["message"].startswith("The calibration of P-XR-2 is stored (height "), result["message"]
    with SessionStore.open(data) as store:
        stored = store.latest_calibration("P-XR-2")
        trail = [(a.actor, a.action) for a in store.audit_trail("P-XR-2")]
        assert store.list_sessions("P-XR-2") == [], "calibrating records no session"
    assert stored is not None
    assert abs(stored.data["arm_length_m"] - BODY.arm_length_m) < 0.01
    assert (stored.data["measured_side"], stored.data["affected_side"]) == ("right", "left")
    assert trail.index(("t.one", "console.calibrate")) < trail.index(("t.one", "calibration.add"))
