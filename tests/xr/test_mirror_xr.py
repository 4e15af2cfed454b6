"""Mirror therapy against the real Monado runtime (inside tools/xr-sandbox): a stored patient
(left hand affected) at stage 3 runs a block of mirrored reaches in the headset pipeline
(``session_pipeline`` + ``OpenXrSource`` + ``Renderer``); the remote driver moves only the
healthy right controller, along minimum-jerk reaches of known durations to the reflections
of the targets the task announces. Every repetition is completed by the mirrored left hand,
and the measures read back from the SQLite store match the driven movements.

The runtime paces frames at 20 Hz (Monado's null compositor), so one frame is 50 ms: times
are checked to one frame. The runtime reports the controller pose written to it to float
precision (checked below on every frame), and the mirrored hand is its exact reflection,
so lengths and positions are checked far more tightly than the task's 5 cm target radius.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.sandbox import control, require_sandbox

from gmi_vr.core.types import Pose
from gmi_vr.geometry import rotation_angle_between
from gmi_vr.geometry.reflect import Plane, reflect_pose
from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

APP = Path(__file__).parent.parent / "support" / "xr_mirror_app.py"
REPETITIONS = 4
#: One frame of the runtime (20 Hz).
FRAME_S = 0.05


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_sandbox()
    control("ensure")
    directory = tmp_path_factory.mktemp("mirror")
    out = directory / "result.json"
    env = dict(os.environ, GMI_VR_DATA=str(directory / "data"), GMI_VR_CONFIG=str(directory / "absent.toml"))
    process = subprocess.run([sys.executable, str(APP), "--out", str(out), "--repetitions", str(REPETITIONS)],
                             env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert process.returncode == 0, (process.stdout + process.stderr)[-3000:]
    result = json.loads(out.read_text())
    assert "error" not in result, result["error"]
    with SessionStore.open(directory / "data") as store:
        (session,) = store.list_sessions(result["patient"])
        result["session"] = session
        result["repetitions"] = store.repetitions(session.id)
        result["events"] = store.events(session.id)
    return result


def _reaches(run: dict) -> dict[int, dict]:
    return {m["repetition"]: m for m in run["movements"] if m["kind"] == "reach"}


def test_every_repetition_is_completed_by_the_mirrored_hand(run: dict) -> None:
    session = run["session"]
    assert session.id == run["session_id"] and session.source == "openxr"
    assert session.status == "completed"  # the plan ran to its end
    rows = [r.measures for r in run["repetitions"]]
    assert [m["repetition_index"] for m in rows] == list(range(REPETITIONS))
    for m in rows:
        assert m["completed"] and not m["timed_out"], m
        assert (m["task"], m["stage"], m["phase"]) == ("reach", 3, "healthy")
        assert (m["side"], m["limb_mode"]) == ("left", "mirror")  # measured on the mirrored hand
    kinds = [e.kind for e in run["events"]]
    assert kinds.count("repetition.show") == kinds.count("repetition.complete") == REPETITIONS
    assert "repetition.timeout" not in kinds and "repetition.void" not in kinds
    assert "task.end" in kinds
    # Four targets in four directions of the fan, all on the affected (left) side.
    targets = np.array([m["target"] for m in rows])
    assert len({tuple(np.round(t, 4)) for t in targets}) == REPETITIONS
    point, normal = run["frames"][-1]["plane"]
    assert np.all((targets - np.array(point)) @ np.array(normal) < -0.05)


def test_recorded_measures_match_the_driven_reaches(run: dict) -> None:
    reaches = _reaches(run)
    shown = {s["repetition"]: s for s in run["shown"]}
    durations = set()
    for row in run["repetitions"]:
        m = row.measures
        reach = reaches[m["repetition_index"]]
        durations.add(reach["duration_s"])
        # The target announced is the one recorded, and the driver aimed the healthy hand at
        # its reflection: the mirrored end of the driven reach is the target.
        np.testing.assert_allclose(m["target"], shown[m["repetition_index"]]["target"], atol=1e-9)
        np.testing.assert_allclose(reach["mirrored_end"], m["target"], atol=1e-6)
        # Start and duration to one frame: the movement is planned on the frame grid, and a
        # frame the runtime skips can move either edge of the sampled movement by one frame.
        assert abs(m["onset_s"] - reach["start_s"]) <= FRAME_S + 1e-6, (m["onset_s"], reach)
        assert abs(row.duration_s - reach["duration_s"]) <= FRAME_S + 1e-6, (row.duration_s, reach)
        # A straight reach sampled anywhere along its line has the line's length; 1 % leaves
        # room for an edge sample caught one frame late.
        length = reach["length_m"]
        assert abs(m["path_length_m"] - length) <= 0.01 * length, (m["path_length_m"], length)
        # The mirrored hand comes to rest on the target itself: the wire carries float32
        # positions (~0.1 um here) and the reflection is exact, so 1 mm is a generous bound
        # (the task's target radius is 50 mm).
        assert m["target_error_m"] <= 0.001, m["target_error_m"]
        # Peak speed of a minimum-jerk reach: 1.875 L / T (Flash & Hogan 1985); 50 ms
        # segment means at 20 Hz read it up to 1.1 % low.
        expected = 1.875 * length / reach["duration_s"]
        assert abs(m["peak_speed_m_s"] - expected) <= 0.02 * expected, (m["peak_speed_m_s"], expected)
        assert m["sparc"] < 0 and m["ldlj"] < 0
        # Completed while the driven hand held still on the target (after the task's dwell).
        arrival = reach["start_s"] + reach["duration_s"]
        assert m["shown_at_s"] + 0.25 <= m["completed_at_s"] <= arrival + run["hold_s"] + 1e-6
    assert len(durations) == REPETITIONS  # a different driven duration every repetition


def test_the_runtime_reports_the_driven_healthy_pose_on_every_frame(run: dict) -> None:
    frames = [f for f in run["frames"] if f["healthy_valid"]]
    driven = [f for f in frames if f["driven"] is not None]
    assert len(driven) >= 0.95 * len(frames) and len(frames) >= 200, (len(driven), len(frames))
    for f in driven:
        grip, sent = Pose.from_array(f["healthy_grip"]), Pose.from_array(f["driven"])
        assert np.linalg.norm(grip.position - sent.position) <= 1e-4, f["index"]
        assert rotation_angle_between(grip.orientation, sent.orientation) <= np.radians(0.1), f["index"]


def test_the_affected_hand_is_displayed_as_the_reflection_of_the_healthy_one_every_frame(run: dict) -> None:
    started = next(i for i, f in enumerate(run["frames"]) if "task.start" in f["events"])
    parked = np.array(run["parked"])
    checked = 0
    for f in run["frames"][started:]:
        if not f["healthy_valid"]:
            continue
        plane = Plane(*(np.array(v) for v in f["plane"]))
        healthy = Pose.from_array(f["displayed_healthy"])
        grip = Pose.from_array(f["healthy_grip"])
        # The healthy hand is drawn at its controller (no hand tracking is reported here).
        assert f["healthy_wrist_joint"] is None
        assert np.linalg.norm(healthy.position - grip.position) <= 0.001, f["index"]
        assert rotation_angle_between(healthy.orientation, grip.orientation) <= np.radians(0.5), f["index"]
        # The affected hand is its reflection across the calibrated midline, same frame...
        expected = reflect_pose(healthy, plane)
        shown = Pose.from_array(f["displayed_affected"])
        assert f["displayed_affected_valid"]
        assert np.linalg.norm(shown.position - expected.position) <= 0.005, f["index"]
        assert rotation_angle_between(shown.orientation, expected.orientation) <= np.radians(2), f["index"]
        # ...and nowhere near its own controller, which mirror mode ignores.
        assert np.linalg.norm(shown.position - parked) > 0.2, f["index"]
        checked += 1
    assert checked >= 200, checked
