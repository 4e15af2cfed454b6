"""A laterality block answered with one tracked hand, against the real Monado runtime (inside
tools/xr-sandbox): both controllers are off, only the right (healthy) hand is tracked, its
joints synthesised by the remote driver. The patient's program answers laterality by
pointing (``laterality.answer.mode`` "point"): for each picture the hand moves onto the line
from the eye to that side's target and either pinches there or rests there
(``hands.confirm`` "dwell"). Answer pulses are on, so every answer asks for a pulse on the
right hand, which has no controller to feel it: each is stored as a "haptic.pulse" event
saying so.

Timing (see test_hands_only_xr.py): the app moves the hand DELAY_S of wall-clock time after
its loop saw the stimulus's frame. A pinch comes POINT_SETTLE_S later (in the app's result)
and is timed by the first frame whose joints show it; a dwell is taken on the first frame
DWELL_S after the pointer came to rest on the target. Reaction times are on the runtime's
display clock, which may run ahead of the wall clock while Monado starts (its first frames
come late), so the order of things is checked on the wall clock: each answer was seen by the
app's loop only after the hand was sent to its target and, by pinch, after the pinch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xr_run import SHORT_LATERALITY_BLOCK, headset_runtime, patient_store, run_xr_app

from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

APP = Path(__file__).resolve().parent.parent / "support" / "xr_laterality_app.py"
DELAY_S = 0.5
HOLD_S = 1.0
DWELL_S = 1.5
RUNTIME_FRAME_S = 1.0 / 20.0  # Monado's null compositor paces at 20 Hz (XR_RUNTIME.md)


def run_pointing_block(tmp_path: Path, confirm: str) -> tuple[Path, dict]:
    """The patient's short block answered by the right hand alone, by ``confirm`` ("pinch"
    or "dwell"); the data folder and the app's result."""
    headset_runtime()
    data = patient_store(tmp_path, "XR-POINT", {
        **SHORT_LATERALITY_BLOCK, "laterality.inter_trial_s": 1.0,
        "laterality.answer.mode": "point", "laterality.answer.hand": "right",
        "hands.confirm": confirm, "hands.dwell_s": DWELL_S, "haptics.answer_pulse": True,
    }, reason="one hand only, answered by pointing")  # fmt: skip
    args = ["XR-POINT", "--delay", str(DELAY_S), "--hands", "--hold", str(HOLD_S), "--point", confirm]
    return data, run_xr_app(APP, args, tmp_path, data)


@pytest.mark.parametrize("confirm", ["pinch", "dwell"])
def test_one_pointing_hand_answers_a_laterality_block_and_each_answer_says_how(tmp_path: Path, confirm: str) -> None:
    data, result = run_pointing_block(tmp_path, confirm)
    assert result.get("done") is True, result
    with SessionStore.open(data) as store:
        session = store.session(result["session_id"])
        trials = store.trials(session.id)
        events = store.events(session.id)
    assert session.status == "completed"
    assert len(trials) == len(result["shows"]) == 4
    assert {t.side for t in trials} == {"left", "right"}  # both sides answered by the right hand
    settle = result["point_settle_s"]  # the pinch comes this long after the hand moved
    moves = [s["monotonic_s"] for s in result["sent"] if "moved_to" in s][1:]  # after the first rest
    pinches = [s["monotonic_s"] for s in result["sent"] if s.get("pulled") is True]
    seen = [a["seen_monotonic_s"] for a in result["answers_seen"]]
    assert len(seen) == 4 and len(pinches) == (4 if confirm == "pinch" else 0)
    for i, trial in enumerate(trials):
        assert (trial.answer, trial.correct) == (trial.side, True)
        assert trial.measures is not None
        assert (trial.measures["answered_by"], trial.measures["answered_with"]) == (f"right.{confirm}", confirm)
        rt = trial.reaction_time_s
        assert rt is not None
        # Each answer came after the hand went to its target (moves alternate: to the
        # target, back to the middle) and, by pinch, after the pinch: never by pointing alone.
        assert moves[2 * i] < seen[i]
        if confirm == "pinch":
            assert pinches[i] < seen[i]
            assert trial.measures["rt_source"] == "input"
            assert rt < DELAY_S + settle + HOLD_S, rt
        else:
            # Timed on the display clock, from the frame the pointer came to rest: never
            # less than the dwell (the display clock may run ahead of the wall clock the
            # app's delays use while Monado starts, so DELAY_S is not added here).
            assert trial.measures["rt_source"] == "frame"
            assert DWELL_S - 1e-6 <= rt < DELAY_S + DWELL_S + 1.0, rt
    pulses = [e for e in events if e.kind == "haptic.pulse"]
    answers = [e for e in events if e.kind == "trial.answer"]
    assert len(pulses) == len(answers) == 4
    for pulse, answer in zip(pulses, answers, strict=True):
        assert pulse.time_s == answer.time_s
        assert pulse.data == {"side": "right", "duration_s": 0.05, "amplitude": 0.5, "cause": "trial.answer",
                              "controller": False}  # fmt: skip
