"""Outcome measures over time, as the reports show them: plain data from the session store.

``outcome_series`` gives, per instrument, each entry's time, phase, session and score with
its explaining figures; ``ssq_changes`` the SSQ total after a session minus before it (the
sickness the session itself caused; Kennedy et al. 1993).
"""

from __future__ import annotations

from typing import Any

from gmi_vr.recording.store import SessionStore


def outcome_series(store: SessionStore, patient_id: str) -> dict[str, list[dict[str, Any]]]:
    """Per instrument, its entries oldest first (``recorded_at`` ISO UTC)."""
    series: dict[str, list[dict[str, Any]]] = {}
    for o in store.outcomes(patient_id):
        series.setdefault(o.instrument, []).append({
            "recorded_at": o.recorded_at.isoformat(), "phase": o.phase, "session_id": o.session_id,
            "score": o.score, "details": o.details, "entered_by": o.entered_by,
        })  # fmt: skip
    return series


def ssq_changes(store: SessionStore, patient_id: str) -> dict[int, float]:
    """Session id -> SSQ total after minus before, for sessions with both (the last of each).

    An SSQ entered without a session belongs to the session it was asked around, that day:
    one "before" to the next session to start, one "after" to the last one started."""
    sessions = [(s.id, s.started_at) for s in store.list_sessions(patient_id)]
    before: dict[int, float] = {}
    after: dict[int, float] = {}
    for o in store.outcomes(patient_id, instrument="ssq"):
        if o.score is None or o.phase not in ("before", "after"):
            continue
        session_id = o.session_id
        if session_id is None:
            same_day = [(sid, at) for sid, at in sessions if at.date() == o.recorded_at.date()]
            if o.phase == "before":
                session_id = next((sid for sid, at in same_day if at >= o.recorded_at), None)
            else:
                session_id = next((sid for sid, at in reversed(same_day) if at <= o.recorded_at), None)
        if session_id is not None:
            (before if o.phase == "before" else after)[session_id] = o.score
    return {s: round(after[s] - before[s], 2) for s in sorted(before) if s in after}
