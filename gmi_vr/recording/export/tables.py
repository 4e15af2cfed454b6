"""CSV export: tidy tables (one row per observation, one column per variable).

``trials.csv``, ``ratings.csv``, ``events.csv``, ``blocks.csv`` and ``motion.csv`` (one row
per recorded frame: frame index, runtime time in ns, seconds from the first frame, then
every recorded channel named as in ``motion.py``; empty cells where a value is missing).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gmi_vr.recording.rows import SessionInfo
from gmi_vr.recording.store import SessionStore


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def export_csv(store: SessionStore, session: SessionInfo, out_dir: Path) -> list[Path]:
    """Write the session's trials, repetitions, ratings, blocks, tasks and events as CSV files
    into ``out_dir`` (created if missing; times in seconds on the frame clock); returns the
    files written."""
    sid, pid = session.id, session.patient_id
    stem = f"session-{sid:03d}"
    written = []
    trial_cols = ["seq", "task_seq", "kind", "onset_s", "body_part", "side", "rotation_deg", "view",
                  "answer", "correct", "reaction_time_s"]  # fmt: skip
    written.append(_write(
        out_dir / f"{stem}_trials.csv", ["patient", "session", *trial_cols, "measures"],
        ([pid, sid, *[getattr(t, c) for c in trial_cols], json.dumps(t.measures) if t.measures else None]
         for t in store.trials(sid)),
    ))  # fmt: skip
    written.append(_write(
        out_dir / f"{stem}_ratings.csv", ["patient", "session", "recorded_at", "time_s", "phase", "source", "value"],
        ([pid, sid, r.recorded_at.isoformat(), r.time_s, r.phase, r.source, r.value] for r in store.ratings(sid)),
    ))  # fmt: skip
    written.append(_write(
        out_dir / f"{stem}_events.csv", ["patient", "session", "time_s", "kind", "data"],
        ([pid, sid, e.time_s, e.kind, json.dumps(e.data, sort_keys=True)] for e in store.events(sid)),
    ))  # fmt: skip
    written.append(_write(
        out_dir / f"{stem}_blocks.csv",
        ["patient", "session", "seq", "stage", "start_s", "end_s", "feedback", "feedback_delay_ms"],
        # A study's visual-feedback condition (empty for a block without one: the live picture).
        ([pid, sid, b.seq, b.stage, b.start_s, b.end_s, (b.params or {}).get("feedback"),
          (b.params or {}).get("feedback_delay_ms")] for b in store.blocks(sid)),
    ))  # fmt: skip
    channels = store.motion_channels(sid)
    lookup = {name: i for i, name in enumerate(channels)}
    path = out_dir / f"{stem}_motion.csv"
    line = "%d,%d,%.9f" + ",%.7g" * len(channels) + "\n"  # float32 holds 7 digits
    t0: int | None = None
    with path.open("w", encoding="utf-8") as f:
        f.write(",".join(["frame", "time_ns", "time_s", *channels]) + "\n")
        for table in store.iter_motion(sid):  # chunk by chunk: long sessions stay small in memory
            t0 = int(table.time_ns[0]) if t0 is None else t0
            rows = np.full((len(table.index), len(channels)), np.nan, dtype=np.float32)
            rows[:, [lookup[c] for c in table.channels]] = table.rows
            for index, time_ns, row in zip(table.index, table.time_ns, rows, strict=True):
                f.write((line % (index, time_ns, (int(time_ns) - t0) / 1e9, *row)).replace("nan", ""))
    written.append(path)
    return written
