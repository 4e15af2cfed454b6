"""A laterality block answered with tracked hands alone, against the real Monado runtime
(inside tools/xr-sandbox): both controllers are switched off and the remote driver
synthesises each hand's XR_EXT_hand_tracking joints from finger curls; curling thumb and
index (a pinch) answers for that side.

Each answer is the stimulus's side and correct. Its time differs from a trigger's: a
trigger's boolean action carries the runtime's own change time (``lastChangeTime``), while
joints come once per frame, so a pinch is timed by the display time of the first frame
whose joints show it. The stimulus's onset is a display time too. The app pinches DELAY_S
of wall-clock time after its loop saw the stimulus's frame, and keeps when it sent each pinch
and when its loop had stepped each frame: the pinch is timed by the first frame the loop
stepped after sending it, or one or two later when the runtime's driver had not yet taken
the pinch in when that frame's joints were located. A timer thread that fires late on a busy
machine moves the frames, not the verdict (observed here: 0.50-0.65 s for a 0.5 s delay).
Every frame reads both hands as tracked
hands (no controller pose), the grip taken from the palm joint.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xr_run import SHORT_LATERALITY_BLOCK, headset_runtime, patient_store, run_xr_app

from gmi_vr.recording.store import SessionStore
from gmi_vr.xr.hands_only import HAND_TRACKING_PROFILE, OPEN_PALM_HOLD_S

pytestmark = pytest.mark.xr

APP = Path(__file__).resolve().parent.parent / "support" / "xr_laterality_app.py"
DELAY_S = 0.5
#: How long each pinch is held: joints are sampled once per frame, so a pinch shorter than
#: a stalled frame on a loaded machine could fall between two frames; a second spans many.
HOLD_S = 1.0
RUNTIME_FRAME_S = 1.0 / 20.0  # Monado's null compositor paces at 20 Hz (XR_RUNTIME.md)


def run_hands_block(tmp_path: Path, *options: str) -> tuple[Path, dict]:
    """The patient's short block run by the app with tracked hands; the data folder and the
    app's result."""
    headset_runtime()
    # The next pinch (DELAY_S after the next stimulus) comes after this one's release.
    program = {**SHORT_LATERALITY_BLOCK, "laterality.inter_trial_s": 1.0}
    data = patient_store(tmp_path, "XR-HANDS", program, reason="a short block answered by pinches")
    args = ["XR-HANDS", "--delay", str(DELAY_S), "--hands", "--hold", str(HOLD_S), *options]
    return data, run_xr_app(APP, args, tmp_path, data)


def test_pinches_of_tracked_hands_answer_a_laterality_block(tmp_path: Path) -> None:
    data, result = run_hands_block(tmp_path)
    assert result.get("done") is True, result
    tracked = [p for p in result["profiles"] if p[2] and p[3]]
    assert len(tracked) >= 0.9 * len(result["profiles"]) > 40
    assert {(p[0], p[1]) for p in tracked} == {(HAND_TRACKING_PROFILE, HAND_TRACKING_PROFILE)}

    with SessionStore.open(data) as store:
        session = store.session(result["session_id"])
        trials = store.trials(session.id)
    assert session.status == "completed" and session.source == "openxr"
    assert len(trials) == len(result["shows"]) == 4
    assert {t.side for t in trials} == {"left", "right"}
    for trial in trials:
        assert (trial.answer, trial.correct) == (trial.side, True)
        assert trial.measures is not None
        # A pinch, said as one: the hand reports it as its trigger, the record does not.
        assert (trial.measures["answered_by"], trial.measures["answered_with"]) == (f"{trial.side}.pinch", "pinch")
        assert trial.measures["rt_source"] == "input"
        assert trial.reaction_time_s is not None
    pinches = [s for s in result["sent"] if s.get("pulled") is True]
    assert len(pinches) == len(trials)
    displays = [display for display, _ in result["frame_times"]]
    for trial, pinch in zip(trials, pinches, strict=True):
        assert pinch["side"] == trial.side
        after = next(i for i, (_, stepped) in enumerate(result["frame_times"]) if stepped > pinch["before_monotonic_s"])
        answered_at = trial.onset_s + trial.reaction_time_s
        assert min(abs(answered_at - d) for d in displays[after:after + 3]) < 1e-6, (  # nanosecond clocks
            trial.reaction_time_s, [d - trial.onset_s for d in displays[after - 1:after + 4]])


def test_an_open_palm_shown_to_the_face_and_held_stops_the_session(tmp_path: Path) -> None:
    data, result = run_hands_block(tmp_path, "--palm-stop")
    stop = result.get("stop")
    assert stop is not None, result
    assert stop["data"] == {"by": "patient", "input": "right.menu"}
    palm = next(s for s in result["sent"] if s.get("palm"))
    # Not before the hold has passed (less the frame the palm may land in), nor long after;
    # so also not from the pinch that answered before the palm was shown.
    held_s = stop["seen_monotonic_s"] - palm["monotonic_s"]
    assert OPEN_PALM_HOLD_S - RUNTIME_FRAME_S <= held_s < OPEN_PALM_HOLD_S + HOLD_S, held_s
    with SessionStore.open(data) as store:
        session = store.session(result["session_id"])
    assert (session.status, session.end_reason) == ("safety_stop", "patient_stop")
