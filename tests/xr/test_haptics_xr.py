"""Haptics against the real Monado runtime (inside tools/xr-sandbox): a laterality block
answered with both triggers through the remote driver, with answer pulses turned on for a
patient whose left hand is affected. A Python API layer records every
``xrApplyHapticFeedback`` on its way to Monado.

The bounds: exactly one call per answer given with the healthy (right) hand, made in the
very frame whose events carry that answer (the layer's call count before and after that
frame's ``vibrate``), none for answers with the affected (left) hand; each call on
``/user/hand/right``'s path, 50 ms (50 000 000 ns, XrDuration) at amplitude 0.5 and the
runtime's own frequency (XR_FREQUENCY_UNSPECIFIED, 0), and accepted by Monado
(XR_SUCCESS). The program's values are exact in the call: nothing rounds them on the way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xr
from support.xr_run import SHORT_LATERALITY_BLOCK, headset_runtime, patient_store, run_xr_app

pytestmark = pytest.mark.xr

APP = Path(__file__).resolve().parent.parent / "support" / "xr_laterality_app.py"
HAPTIC_VIBRATION = int(xr.StructureType.HAPTIC_VIBRATION)  # XrHapticVibration's type


def test_answer_pulses_reach_the_runtime_on_the_healthy_hand_only(tmp_path: Path) -> None:
    headset_runtime()
    program = {**SHORT_LATERALITY_BLOCK, "laterality.inter_trial_s": 0.5, "haptics.answer_pulse": True}
    data = patient_store(tmp_path, "XR-HAP", program, reason="answer pulses: no allodynia")
    result = run_xr_app(APP, ["XR-HAP", "--delay", "0.4", "--record-haptics"], tmp_path, data)
    assert result.get("done") is True, result

    frames = result["haptic_frames"]
    calls = result["haptic_calls"]
    answers = [a for f in frames for a in f["answers"]]
    assert sorted(answers) == ["left.trigger_click"] * 2 + ["right.trigger_click"] * 2
    for frame in frames:
        right_answers = frame["answers"].count("right.trigger_click")
        assert frame["pulses"] == [["right", 0.05, 0.5]] * right_answers, frame
        assert frame["calls_after"] - frame["calls_before"] == right_answers, frame
    assert len(calls) == 2
    right_path = result["hand_paths"]["right"]
    assert right_path != result["hand_paths"]["left"]
    for call in calls:
        assert call == {"subaction_path": right_path, "type": HAPTIC_VIBRATION, "result": 0,
                        "duration_ns": 50_000_000, "frequency": 0.0, "amplitude": 0.5}  # fmt: skip
