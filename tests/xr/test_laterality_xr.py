"""Laterality in the headset against the real Monado runtime (inside tools/xr-sandbox): a
trigger pulled through the remote driver after a stimulus is shown is taken as the answer of
that side, with a plausible reaction time, and lands in a real SQLite store.

The answer's time is the runtime's own change time of the trigger's boolean action
(``lastChangeTime``), so the reaction time is measured to the pull itself. The app pulls the
trigger DELAY_S of wall-clock time after its frame loop saw the stimulus's frame, and keeps
when it sent each pull and when its loop saw each answer. On the runtime's clock (the app
reports the measured link, XR_KHR_convert_timespec_time) the change time lies between the
two, so each reaction time is checked against that interval: a timer thread that fires late
on a busy machine moves the interval, not the verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xr_run import SHORT_LATERALITY_BLOCK, headset_runtime, patient_store, run_xr_app

from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

APP = Path(__file__).resolve().parent.parent / "support" / "xr_laterality_app.py"
DELAY_S = 0.5
#: Rounding of two clock readings and the link between them (ns resolution), in seconds.
CLOCK_SLACK_S = 1e-3


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
    assert result["clock_offset_ns"] is not None, "Monado converts monotonic times to XrTime"
    offset_s = result["clock_offset_ns"] / 1e9  # monotonic = XrTime + offset
    pulls = [s for s in result["sent"] if s["pulled"] is True]
    seen = result["answers_seen"]
    assert len(pulls) == len(seen) == len(trials)
    for trial, pull, answer in zip(trials, pulls, seen, strict=True):
        # Answered with the trigger of the stimulus's side, timed within the interval the
        # runtime could have stamped it: from sending the pull to the loop seeing it.
        assert trial.answer == trial.side == pull["side"] and trial.reaction_time_s is not None
        assert answer["answered_by"] == f"{trial.side}.trigger_click"
        earliest = pull["before_monotonic_s"] - offset_s - trial.onset_s - CLOCK_SLACK_S
        latest = answer["seen_monotonic_s"] - offset_s - trial.onset_s + CLOCK_SLACK_S
        assert 0.0 < earliest <= trial.reaction_time_s <= latest, (earliest, trial.reaction_time_s, latest)
    assert "progression.proposal" in actions  # audited when the session ended
