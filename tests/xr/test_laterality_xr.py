"""Laterality in the headset against the real Monado runtime (inside tools/xr-sandbox): a
trigger pulled through the remote driver after a stimulus is shown is taken as the answer of
that side, with a plausible reaction time, and lands in a real SQLite store.

The answer's time is the runtime's own change time of the trigger's boolean action
(``lastChangeTime``), so the reaction time is measured to the pull itself. The app pulls the
trigger DELAY_S of wall-clock time after its frame loop saw the stimulus's frame (whose
display time lies a little ahead, the runtime's prediction), so the recorded RT is above
zero and below DELAY_S plus two frames of the null compositor's 20 Hz.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xr_run import SHORT_LATERALITY_BLOCK, headset_runtime, patient_store, run_xr_app

from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

APP = Path(__file__).resolve().parent.parent / "support" / "xr_laterality_app.py"
DELAY_S = 0.5
RUNTIME_FRAME_S = 1.0 / 20.0  # Monado's null compositor paces at 20 Hz (XR_RUNTIME.md)


def test_a_right_trigger_pull_answers_a_right_hand_stimulus(tmp_path: Path) -> None:
    headset_runtime()
    program = {**SHORT_LATERALITY_BLOCK, "laterality.inter_trial_s": 0.5}
    data = patient_store(tmp_path, "XR-LAT", program, reason="a short block for the headset check")
    result = run_xr_app(APP, ["XR-LAT", "--delay", str(DELAY_S)], tmp_path, data)
    assert result.get("done") is True, result

    with SessionStore.open(data) as store:
        session = store.session(result["session_id"])
        trials = store.trials(session.id)
        actions = [a.action for a in store.audit_trail("XR-LAT")]
    assert session.status == "completed" and session.source == "openxr"
    assert session.runtime_name and "Monado" in session.runtime_name
    shows = result["shows"]
    assert len(trials) == len(shows) == 4
    assert [t.onset_s for t in trials] == [s["display_time_s"] for s in shows]

    right = [t for t in trials if t.side == "right"]
    assert len(right) == 2
    for trial in right:
        assert (trial.answer, trial.correct) == ("right", True)
        assert trial.measures is not None and trial.measures["answered_by"] == "right.trigger_click"
        assert trial.measures["rt_source"] == "input"  # XrActionStateBoolean.lastChangeTime
        assert trial.reaction_time_s is not None
        assert 0.0 < trial.reaction_time_s < DELAY_S + 2 * RUNTIME_FRAME_S, trial.reaction_time_s
    for trial in trials:  # the left ones are answered with the left trigger the same way
        assert trial.answer == trial.side and trial.reaction_time_s is not None
        assert 0.0 < trial.reaction_time_s < DELAY_S + 2 * RUNTIME_FRAME_S, trial.reaction_time_s
    assert "progression.proposal" in actions  # audited when the session ended
