"""The patient stops with the healthy hand alone against the real Monado runtime (inside
tools/xr-sandbox): the remote driver presents Valve Index controllers, which bind no menu
button for applications, so the stop is the right controller's grip and trigger held
together while the left (affected) controller lies idle.

Bounds: the stop fires after the hold (``SafetySettings.stop_hold_s``, 1 s) and within two
frames of the null compositor's 20 Hz after it, measured on the runtime's display clock from
the first frame that saw the fist; the session is stored as a safety stop by the patient.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xr_run import headset_runtime, patient_store, run_xr_app

from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

APP = Path(__file__).resolve().parent.parent / "support" / "xr_stop_app.py"
RUNTIME_FRAME_S = 1.0 / 20.0  # Monado's null compositor paces at 20 Hz (XR_RUNTIME.md)
HOLD_S = 1.0  # SafetySettings.stop_hold_s


def test_the_healthy_hands_grip_and_trigger_stop_with_the_affected_controller_idle(tmp_path: Path) -> None:
    headset_runtime()
    data = patient_store(tmp_path, "XR-STOP", {
        "stage": 3, "session.blocks": ["mirror"], "mirror.look_s": 30.0,
        "session.rating_at_start": False, "session.rating_at_end": False,
        "safety.fms_every_s": 0,
    }, reason="a look-only block for the headset check")  # fmt: skip

    result = run_xr_app(APP, ["XR-STOP"], tmp_path, data)
    assert result.get("done") is True, result
    assert "grip and trigger" in result["hint"]  # the patient was told how at the start
    assert result["left_idle"] == [0.0, 0.0, False]  # the affected controller did nothing
    stop = result["stop"]
    assert (stop["by"], stop["input"]) == ("patient", "right.fist")
    assert result["state_after_stop"] == "calm"  # movement stopped in the frame of the stop
    held = stop["time_s"] - result["fist_seen_s"]
    assert HOLD_S - 1e-6 <= held <= HOLD_S + 2 * RUNTIME_FRAME_S, held

    with SessionStore.open(data) as store:
        session = store.session(result["session_id"])
    assert session.source == "openxr" and session.runtime_name and "Monado" in session.runtime_name
    assert (session.status, session.end_reason) == ("safety_stop", "patient_stop")
