"""Seen touch in the headset against the real Monado runtime (inside tools/xr-sandbox): the
affected (left) controller, moved through the remote driver, is the therapist's probe. Its
tip registers the resting limb on three landmarks of a "real" limb lying 3 cm from the
virtual one, then comes down on the back of the real hand: the touch is recorded with its
site and delay, and the frame that saw it draws the mark where the real hand was touched.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.xr_run import headset_runtime, patient_store, run_xr_app

from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

APP = Path(__file__).resolve().parent.parent / "support" / "xr_seen_touch_app.py"
RUNTIME_FRAME_S = 1.0 / 20.0  # Monado's null compositor paces at 20 Hz (XR_RUNTIME.md)


def test_the_affected_controller_registers_the_limb_and_its_touch_shows_where_it_landed(tmp_path: Path) -> None:
    headset_runtime()
    data = patient_store(tmp_path, "XR-SEEN", {
        "session.blocks": ["touch"], "session.rating_at_start": False, "session.rating_at_end": False,
        "safety.fms_every_s": 0, "touch.interval_s": 6.0, "touch.lead_s": 1.0, "touch.touches_per_block": 1,
        "touch.blocks": 1, "touch.rest_s": 0.0, "touch.feedback_s": 0.5, "touch.views": ["virtual"],
        "touch.seen_touch": True,
    }, reason="a short seen-touch block for the headset check")  # fmt: skip

    result = run_xr_app(APP, ["XR-SEEN"], tmp_path, data)
    print(json.dumps({k: v for k, v in result.items() if k not in ("contacts",)}))  # shown on a failure
    assert result.get("done") is True

    (registration,) = result["registrations"]
    assert registration["accepted"] and registration["rms_mm"] < 5.0, registration
    back = np.array(result["back_of_hand"])
    (contact,) = result["contacts"]
    assert contact["data"]["site"] == "back_of_hand" and contact["data"]["shown"]
    (mark,) = contact["marks"]  # drawn in the very frame whose events hold the contact
    assert np.linalg.norm(np.array(mark) - back) < 0.010
    # The tracked contact lies between this frame and the one before: under a frame late.
    assert 0.0 <= contact["data"]["delay_ms"] <= RUNTIME_FRAME_S * 1000.0 * 1.5
    (tip,) = contact["tips"]  # the probe drawn at its tracked tip
    assert np.linalg.norm(np.array(tip) - np.array(contact["tracked_tip"])) < 1e-6

    with SessionStore.open(data) as store:
        session = store.session(result["session_id"])
        kinds = [e.kind for e in store.events(session.id)]
    assert session.source == "openxr" and session.runtime_name and "Monado" in session.runtime_name
    assert kinds.count("touch.registration") == 1 and kinds.count("touch.contact") == 1
