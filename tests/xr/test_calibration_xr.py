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
from support.xr_run import headset_runtime

from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

TESTS = Path(__file__).resolve().parent.parent

# The driver repeats the pose in a loop on the wall clock (3 s at rest, 3 s out to the side,
# 3 s forward), so however long the session takes to start, a whole pose soon follows.
APP = textwrap.dedent("""
    import json, sys, threading, time
    from dataclasses import replace
    import numpy as np
    sys.path.insert(0, {tests!r})
    from calibration_motion import EYE, right_arm_grips
    from support.monado_remote import MonadoRemote
    from gmi_vr.app.calibrate import run_calibration_openxr
    from gmi_vr.app.patients import add_patient
    from gmi_vr.core.types import Pose
    from gmi_vr.recording.store import SessionStore

    with SessionStore.open() as store:
        add_patient(store, "P-XR-1", "left", "hand", therapist="t.one")
    side, forward = (Pose.from_array(g) for g in right_arm_grips())
    rest = Pose(np.array([0.18, 0.86, -0.38]))
    remote = MonadoRemote()
    stop = threading.Event()

    def drive():
        start = time.monotonic()
        while not stop.is_set():
            phase = (time.monotonic() - start) % 9.0
            grip = rest if phase < 3.0 else side if phase < 6.0 else forward
            now = remote.state
            remote.set_all(Pose(EYE), replace(now.left, active=False),
                           replace(now.right, pose=grip, active=True))
            time.sleep(0.02)

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        result = run_calibration_openxr("P-XR-1", "seated", therapist="t.one", visible=False,
                                        max_frames=3000)
        print("RESULT " + json.dumps(result.to_dict()))
    finally:
        stop.set()
        driver.join()
        remote.close()
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
