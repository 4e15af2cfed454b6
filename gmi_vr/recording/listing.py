"""Rows for ``gmi-vr sessions``: one plain row per session, as text or as JSON.

``session_rows(store, patient=None)`` gives the rows; ``sessions_json(rows)`` the JSON the
``--json`` option prints (a list of objects with the same fields; times ISO 8601 UTC);
``format_sessions(rows)`` a fixed-width table for people; ``saved_line(row)`` the one line
said at the end of a session about what the store holds of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from gmi_vr.recording.rows import SessionInfo
from gmi_vr.recording.store import SessionStore


@dataclass(frozen=True)
class SessionRow:
    """One session for listing. ``duration_s`` is the recorded motion's span (None with no
    motion); ``stages`` the stages in the order they were run; ``trials`` and
    ``repetitions`` the stored counts; pain values the last rating given before / after the
    session (0-10), None when none was given; ``status`` how it ended and ``end_reason`` why
    (``rows.SessionStatus``; None in stores written before reasons were kept); ``uid``
    the session's UUID, ``mode`` how it ran ("headset" or "desktop") and ``station`` where
    ("clinic" or "home": practice between visits). ``frame_timing`` summarises the displayed
    frames' timing (``motion.timing_summary``: frames, then median and p99 of
    ``pose_to_display_s``, ``submit_to_display_s`` and ``mirror_delay_frames``); None for
    sessions not closed or recorded before it was kept."""

    session_id: int
    patient: str
    started_at: datetime
    duration_s: float | None
    stages: tuple[str, ...]
    pain_before: int | None
    pain_after: int | None
    status: str
    dropped_frames: int
    trials: int = 0
    repetitions: int = 0
    end_reason: str | None = None
    uid: str = ""
    mode: str = "headset"
    station: str = "clinic"
    frame_timing: dict[str, Any] | None = None
    #: Touch training (trials of kind "touch"): touches given, and how many had the site and
    #: the probe named right (an unanswered touch counts as wrong). 0, 0, 0 with none.
    touches: int = 0
    touch_sites_right: int = 0
    touch_probes_right: int = 0

    @property
    def where(self) -> str:
        """Where and how it ran, for people: "clinic, headset", "home, desktop"."""
        return f"{self.station}, {self.mode}"


def session_rows(store: SessionStore, patient: str | None = None) -> list[SessionRow]:
    """Sessions oldest first, optionally of one patient (NotFoundError if it is unknown)."""
    if patient is not None:
        store.patient(patient)
    return [_row(store, session) for session in store.list_sessions(patient)]


def session_row(store: SessionStore, session_id: int) -> SessionRow:
    """One session's row, read from the store (NotFoundError if it is unknown)."""
    return _row(store, store.session(session_id))


def _row(store: SessionStore, session: SessionInfo) -> SessionRow:
    chunks = store.motion_chunks(session.id)
    duration = (chunks[-1].last_time_ns - chunks[0].first_time_ns) / 1e9 if chunks else None
    stages: list[str] = []
    for block in store.blocks(session.id):
        if not stages or stages[-1] != block.stage:
            stages.append(block.stage)
    ratings = store.ratings(session.id)
    trials = store.trials(session.id)
    touches = [t.measures or {} for t in trials if t.kind == "touch"]
    before = [r.value for r in ratings if r.phase == "before"]
    after = [r.value for r in ratings if r.phase == "after"]
    return SessionRow(
        session_id=session.id, patient=session.patient_id, started_at=session.started_at,
        duration_s=duration, stages=tuple(stages), pain_before=before[-1] if before else None,
        pain_after=after[-1] if after else None, status=session.status,
        dropped_frames=session.dropped_frames, trials=len(trials),
        repetitions=len(store.repetitions(session.id)), end_reason=session.end_reason,
        touches=len(touches), touch_sites_right=sum(bool(m.get("site_correct")) for m in touches),
        touch_probes_right=sum(bool(m.get("probe_correct")) for m in touches),
        uid=session.uid, mode=session.mode, station=session.station, frame_timing=session.frame_timing,
    )  # fmt: skip


def sessions_json(rows: list[SessionRow]) -> str:
    """The session rows as a JSON array (times in ISO 8601), as ``gmi-vr sessions --json`` prints."""
    def plain(row: SessionRow) -> dict[str, object]:
        data = asdict(row)
        data["started_at"] = row.started_at.isoformat()
        data["stages"] = list(row.stages)
        return data

    return json.dumps([plain(r) for r in rows], indent=2)


def format_sessions(rows: list[SessionRow]) -> str:
    """A table for the terminal (times in UTC)."""
    header = ("id", "patient", "date (UTC)", "where", "duration", "stages", "trials", "pain before",
              "pain after", "status", "reason")  # fmt: skip
    lines = [header]
    for r in rows:
        duration = "-" if r.duration_s is None else f"{int(r.duration_s // 60)}:{int(r.duration_s % 60):02d}"
        lines.append((
            str(r.session_id), r.patient, r.started_at.strftime("%Y-%m-%d %H:%M"), r.where, duration,
            " > ".join(r.stages) or "-", str(r.trials), "-" if r.pain_before is None else str(r.pain_before),
            "-" if r.pain_after is None else str(r.pain_after), r.status, r.end_reason or "-",
        ))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def saved_line(row: SessionRow) -> str:
    """What the store holds of a session that just ended, in one line for the terminal and
    the window: "session 12 saved: 64 trials, pain 3 -> 2" (plain ASCII: the window's font
    has no arrow), with how it ended unless it completed, and any lost motion frames."""
    counts = [f"{row.trials} trial{'' if row.trials == 1 else 's'}"]
    if row.touches:
        counts.append(f"touch: site {row.touch_sites_right}/{row.touches}, probe {row.touch_probes_right}/{row.touches}")
    if row.repetitions:
        counts.append(f"{row.repetitions} repetition{'' if row.repetitions == 1 else 's'}")

    def pain(value: int | None) -> str:
        return "-" if value is None else str(value)

    counts.append(f"pain {pain(row.pain_before)} -> {pain(row.pain_after)}")
    if row.dropped_frames:
        counts.append(f"{row.dropped_frames} motion frames lost")
    if row.status == "running":  # the writer could not close it in time: say so, not "saved"
        return f"session {row.session_id} is not closed yet (still being written): {', '.join(counts)}"
    how = "" if row.status == "completed" else f" ({row.status}: {row.end_reason or 'no reason kept'})"
    return f"session {row.session_id} saved{how}: {', '.join(counts)}"
