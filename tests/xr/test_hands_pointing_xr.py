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
DWELL_S after the pointer came to rest on the target. Both are checked against the frames
the app's loop stepped (their display times, and when each was stepped on the wall clock):
a pinch's answer is the display time of the first frame stepped after the pinch was sent
(or one or two later, while the runtime's driver takes it in), a dwell's the first frame
whose display time is DWELL_S past the frame where the hand came to rest. A timer thread
that fires late on a busy machine moves those frames, not the verdict.
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
    moves = [s for s in result["sent"] if "moved_to" in s][1:]  # after the first rest
    pinches = [s for s in result["sent"] if s.get("pulled") is True]
    seen = [a["seen_monotonic_s"] for a in result["answers_seen"]]
    assert len(seen) == 4 and len(pinches) == (4 if confirm == "pinch" else 0)
    displays = [display for display, _ in result["frame_times"]]

    def first_frame_after(sent: dict) -> int:
        """The first frame the app's loop stepped after ``sent`` went to the driver."""
        return next(i for i, (_, stepped) in enumerate(result["frame_times"]) if stepped > sent["before_monotonic_s"])

    for i, trial in enumerate(trials):
        assert (trial.answer, trial.correct) == (trial.side, True)
        assert trial.measures is not None
        assert (trial.measures["answered_by"], trial.measures["answered_with"]) == (f"right.{confirm}", confirm)
        assert trial.reaction_time_s is not None
        answered = displays.index(min(displays, key=lambda d: abs(d - trial.onset_s - trial.reaction_time_s)))
        assert abs(displays[answered] - trial.onset_s - trial.reaction_time_s) < 1e-6  # an answer is a frame's time
        # Each answer came after the hand went to its target (moves alternate: to the
        # target, back to the middle) and, by pinch, after the pinch: never by pointing alone.
        moved = first_frame_after(moves[2 * i])
        assert moves[2 * i]["monotonic_s"] < seen[i]
        if confirm == "pinch":
            assert pinches[i]["monotonic_s"] < seen[i]
            assert trial.measures["rt_source"] == "input"
            assert first_frame_after(pinches[i]) <= answered <= first_frame_after(pinches[i]) + 2
        else:
            # Timed from the frame the pointer came to rest on the target: the first frame
            # whose display time is DWELL_S past it.
            assert trial.measures["rt_source"] == "frame"
            rested = [r for r in range(moved, moved + 3)
                      if displays[answered] - displays[r] >= DWELL_S - 1e-6 > displays[answered - 1] - displays[r]]
            assert rested, [round(d - displays[moved], 3) for d in displays[moved - 1:answered + 1]]
    pulses = [e for e in events if e.kind == "haptic.pulse"]
    answers = [e for e in events if e.kind == "trial.answer"]
    assert len(pulses) == len(answers) == 4
    for pulse, answer in zip(pulses, answers, strict=True):
        assert pulse.time_s == answer.time_s
        assert pulse.data == {"side": "right", "duration_s": 0.05, "amplitude": 0.5, "cause": "trial.answer",
                              "controller": False}  # fmt: skip
