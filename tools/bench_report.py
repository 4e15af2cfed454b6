#!/usr/bin/env python3
"""Benchmark of progress reports on a real SQLite store (target: at most 5 s).

Builds a patient with 20 sessions of 30 minutes each through the store's real recorder
(``tests/review_synth.py``): motion at 90 Hz sealed in chunks of 45 frames, as the recorder
seals them every 0.5 s in real time (3,600 chunks a session, 72,000 in all), two laterality
blocks of 32 trials, imagery, mirror repetitions, range of motion and five pain ratings per
session. Then times, each ``--samples`` times in this process:

- baseline: ``gmi-vr sessions``' listing of the patient's sessions (``session_rows``);
- the report's data (``figures_data.patient_review``);
- the whole HTML report and the whole PDF report, written to files;
- for scale, loading one session's motion frames (what the report must never do).

Prints median and p99 of each, wall clock and CPU time, and the load average (on a shared
machine wall time includes waiting for a core), and checks that the report loaded no motion
chunk.

Usage: .venv/bin/python tools/bench_report.py [--samples 7] [--store DIR] [--json]
(``--store DIR`` keeps the built store there and reuses it on the next run.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from review_synth import Plan, SideTrials, record_session  # noqa: E402

from gmi_vr.app.patients import add_patient, patient_program  # noqa: E402
from gmi_vr.recording.listing import session_rows  # noqa: E402
from gmi_vr.recording.store import SessionStore  # noqa: E402
from gmi_vr.review.figures_data import patient_review  # noqa: E402
from gmi_vr.review.report import write_patient_report  # noqa: E402

PATIENT = "BENCH-1"
SESSIONS = 20
MINUTES = 30.0
TARGET_S = 5.0


def build(store: SessionStore) -> None:
    add_patient(store, PATIENT, "left", "hand", age_years=58, therapist="bench")
    program = patient_program(store, PATIENT)
    start = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
    for k in range(SESSIONS):
        plan = Plan(
            started_at=start + timedelta(days=2 * k), minutes=MINUTES,
            left=SideTrials(32, 22 + k // 2, 2.1 - 0.03 * k, rt_per_90_s=0.1),
            right=SideTrials(32, 29, 1.4, rt_per_90_s=0.08),
            pain=(6 - k // 5, 6 - k // 5, 7 if k == 9 else 5, 5 - k // 6, 5 - k // 5),
            blocks=(("laterality", 30.0, 330.0), ("laterality", 360.0, 660.0), ("imagery", 700.0, 1100.0),
                    ("mirror", 1150.0, 1750.0)),
            imagery_ratios=(1.5 - 0.02 * k,) * 6, vividness=(2 + k // 7, 3),
            repetitions=((-1.9 + 0.02 * k, 0.05 - 0.001 * k, 0.03),) * 16,
            rom_m={"forward": 0.30 + 0.005 * k, "up": 0.20 + 0.004 * k, "outward": 0.25, "across": 0.18},
        )  # fmt: skip
        t = time.perf_counter()
        record_session(store, PATIENT, program, plan)
        print(f"  session {k + 1}/{SESSIONS} recorded in {time.perf_counter() - t:.1f} s", file=sys.stderr)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def timed(samples: int, work: Callable[[], object]) -> dict[str, float]:
    """Wall-clock and CPU seconds of ``work`` (the CPU time of this process, threads
    included, shows the cost apart from waiting for cores on a shared machine)."""
    wall, cpu = [], []
    for _ in range(samples):
        t, c = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"median_s": statistics.median(wall), "p99_s": _p99(wall), "cpu_median_s": statistics.median(cpu),
            "cpu_p99_s": _p99(cpu), "samples": len(wall)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--store", type=Path, help="keep (and reuse) the built store in this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    folder = args.store or Path(tempfile.mkdtemp(prefix="gmi-vr-bench-report-"))
    store = SessionStore.open(folder)
    if not any(p.id == PATIENT for p in store.list_patients()):
        print(f"building {SESSIONS} sessions of {MINUTES:g} minutes in {folder} ...", file=sys.stderr)
        build(store)
    sessions = store.list_sessions(PATIENT)
    chunks = sum(len(store.motion_chunks(s.id)) for s in sessions)
    out = folder / "out"
    out.mkdir(exist_ok=True)

    loads = 0
    real_load = store.load_chunk

    def counting_load(meta):  # type: ignore[no-untyped-def]
        nonlocal loads
        loads += 1
        return real_load(meta)

    store.load_chunk = counting_load  # type: ignore[method-assign]
    results = {
        "baseline: listing the sessions": timed(args.samples, lambda: session_rows(store, PATIENT)),
        "report data (patient_review)": timed(args.samples, lambda: patient_review(store, PATIENT)),
        "HTML report": timed(args.samples, lambda: write_patient_report(store, PATIENT, out / "r.html")),
        "PDF report": timed(args.samples, lambda: write_patient_report(store, PATIENT, out / "r.pdf")),
    }
    report_loads = loads
    results["for scale: one session's motion frames"] = timed(1, lambda: store.motion(sessions[0].id))
    store.close()
    summary = {"sessions": len(sessions), "minutes_each": MINUTES, "motion_chunks": chunks,
               "chunks_loaded_by_reports": report_loads, "results": results, "target_s": TARGET_S}  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{len(sessions)} sessions of {MINUTES:g} min, {chunks} motion chunks; "
              f"motion chunks loaded by the reports: {report_loads}")  # fmt: skip
        for name, r in results.items():
            print(f"{name:<40} median {r['median_s']:6.2f} s  p99 {r['p99_s']:6.2f} s   "
                  f"CPU median {r['cpu_median_s']:6.2f} s  p99 {r['cpu_p99_s']:6.2f} s  (n={r['samples']})")
        worst = max(results["HTML report"]["p99_s"], results["PDF report"]["p99_s"])
        print(f"target: a report in at most {TARGET_S:g} s -> {'met' if worst <= TARGET_S else 'NOT met'} "
              f"(p99 {worst:.2f} s; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0 if report_loads == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
