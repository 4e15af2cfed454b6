"""Home practice sessions recorded as the desktop practice records them (mode "desktop",
station "home"), for the bundle tests; run as a script it records one into the store of
$GMI_VR_DATA (for the documented commands' test):

    python tests/home_practice.py P001
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recording_synth import body, frame  # noqa: E402

from gmi_vr.core.events import Event  # noqa: E402
from gmi_vr.recording.rows import StoredTrial  # noqa: E402
from gmi_vr.recording.store import SessionStore  # noqa: E402


def record_home_practice(store: SessionStore, patient_id: str, trials: int = 4, frames: int = 90,
                         first_frame: int = 0) -> int:  # fmt: skip
    """One finished home practice session: a pain rating before and after, a laterality block
    with ``trials`` trials (every third one wrong, every fourth unanswered), an event and
    ``frames`` motion frames; returns its id."""
    recorder = store.start_session(patient_id, source="desktop", mode="desktop", station="home")
    recorder.record_rating(5, "before")
    start = frame(first_frame).time_s
    block = recorder.begin_block("laterality", start, {"images": trials})
    task = recorder.begin_task("laterality.hands", start, block)
    for i in range(frames):
        recorder.record_frame(frame(first_frame + i), body(first_frame + i))
    for k in range(trials):
        answered = k % 4 != 3
        recorder.record_trial(StoredTrial(
            onset_s=start + 2.0 * k, body_part="hand", side="left" if k % 2 else "right",
            rotation_deg=90.0 * (k % 4), view="back",
            answer=("right" if k % 3 == 2 else ("left" if k % 2 else "right")) if answered else None,
            correct=(k % 3 != 2) if answered else None, reaction_time_s=1.0 + 0.1 * k if answered else None,
            task_seq=task,
        ))  # fmt: skip
    recorder.record_event(Event(start + 1.0, "practice.pause", {"why": "test"}))
    recorder.end_task(task, start + 2.0 * trials)
    recorder.end_block(block, start + 2.0 * trials)
    recorder.record_rating(4, "after")
    recorder.finish("completed", "plan_done")
    assert recorder.session_id is not None
    return recorder.session_id


if __name__ == "__main__":
    with SessionStore.open(create=False) as opened:
        print(record_home_practice(opened, sys.argv[1]))
