"""The longest gap between the headset's submitted frames around a session's start and end.

Runs the headset's loop (``run_openxr``) under a display (``tools/with-xvfb.py``) with its
OpenXR source replaced by a stand-in that yields frames at 60 Hz and notes when each picture
is presented (tests/support/stand_in_headset.py; no runtime needed), the product's therapist
window and a real SQLite store in a temporary folder. Each run: free play, then the therapist
starts patient B-1's session from the console, gives the opening rating, ends the session,
gives the closing rating, waits for the saved line and the stage proposal, and closes the
window. Every run adds one session to the patient's history.

Printed per phase over the runs (median and the largest, ms): the longest gap between two
presented frames in wall time, and the largest render-thread CPU time spent between two
presented frames (what the frame thread itself did: on a shared, loaded machine the wall
gaps mostly measure the scheduler, the CPU between frames does not)

- in steady free play (the reference: the loop's own gaps, window draws included),
- over the first 30 frames of free play,
- from the start click until 0.5 s after the session's console shows,
- from the closing rating until 0.5 s after the stage proposal shows.

To measure other code (the "before" of a change), put its checkout first on the path:
``PYTHONPATH=/path/to/checkout .venv/bin/python tools/with-xvfb.py .venv/bin/python
tools/bench_session_edges.py``; the first line names the gmi_vr that ran.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the stand-in headset (tests/support)

#: Presented frames after the session's console or the proposal shows that still count (s).
SETTLE_S = 0.5
FIRST_FRAMES = 30


def longest_gap_ms(times: list[float], at: list[float], start: float, end: float) -> float:
    """The longest interval of ``times`` between consecutive frames presented at ``at``
    (monotonic s) whose later one lies in [start, end], ms."""
    gaps = [times[i + 1] - times[i] for i in range(len(at) - 1) if start <= at[i + 1] <= end]
    return 1000.0 * max(gaps, default=float("nan"))


def one_run(patient_id: str) -> dict[str, float]:
    """One free play, session and close; each phase's longest gap (ms)."""
    from support.stand_in_headset import (
        DrivenWindow,
        StandInHeadset,
        session_course,
        stand_in_for,
        until,
    )

    import gmi_vr.app.headset as app_headset

    headset = StandInHeadset(rate_hz=60.0)
    marks: dict[str, Any] = {}

    def drive(driven: DrivenWindow) -> Any:
        yield from until(lambda w, s: len(headset.presented_at) > 4 * FIRST_FRAMES, "steady free play")
        marks["steady"] = headset.presented_at[FIRST_FRAMES]
        yield from session_course(driven, patient_id, marks)
        yield from until(lambda w, s: time.monotonic() > marks["proposal"] + SETTLE_S, "the frames after")
        driven.keys.append("escape")
        while True:
            yield

    DrivenWindow(drive)
    app_headset.headset_with_console = stand_in_for(headset)
    app_headset.run_openxr(None, max_frames=100_000, visible=False, therapist="bench", report=lambda line: None)
    at, cpu = headset.presented_at, headset.presented_cpu
    phases = {
        "steady free play": (marks["steady"], marks["start"]),
        f"first {FIRST_FRAMES} free-play frames": (at[0], at[FIRST_FRAMES]),
        "session start": (marks["start"], marks["started"] + SETTLE_S),
        "session end": (marks["end"], marks["proposal"] + SETTLE_S),
    }
    gaps = {f"{phase}, wall": longest_gap_ms(at, at, *span) for phase, span in phases.items()}
    return gaps | {f"{phase}, render CPU": longest_gap_ms(cpu, at, *span) for phase, span in phases.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="sessions started and ended (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GMI_VR_DATA"] = folder
        os.environ["GMI_VR_CONFIG"] = str(Path(folder) / "absent.toml")
        from gmi_vr.render.context import choose_gl_platform

        choose_gl_platform(offscreen=False)
        import gmi_vr
        from gmi_vr.app.patients import add_patient
        from gmi_vr.recording.store import SessionStore

        print(f"gmi_vr from {Path(gmi_vr.__file__).parent}; {args.runs} runs, frames at 60 Hz")
        with SessionStore.open() as store:
            add_patient(store, "B-1", "left", "hand", therapist="bench")
        runs = []
        for index in range(args.runs):
            runs.append(one_run("B-1"))
            print(f"run {index + 1}: " + ", ".join(f"{phase} {gap:.1f}" for phase, gap in runs[-1].items()))
    print(f"{'longest gap between presented frames, ms':<52} {'median':>8} {'largest':>8}")
    for phase in runs[0]:
        values = [run[phase] for run in runs]
        print(f"{phase:<52} {statistics.median(values):8.1f} {max(values):8.1f}")


if __name__ == "__main__":
    main()
