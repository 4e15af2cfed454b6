"""Outcome measures entered on the desktop (``therapy.results.questionnaires``): checked and scored, kept in
the session store with the time and who entered them, and audited ("outcome.add")."""

from __future__ import annotations

from gmi_vr.recording.rows import OutcomeInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.results.questionnaires import OutcomeError, score
from gmi_vr.therapy.results.questionnaires import instrument as find_instrument

#: When an outcome was asked (CLINICAL.md: the Budapest criteria at intake, the PGIC each
#: visit, the SSQ before and after a session).
PHASES = ("intake", "visit", "before", "after")


def add_outcome(store: SessionStore, patient_id: str, instrument: str, items: dict[str, str], *,
                therapist: str, phase: str | None = None, session_id: int | None = None) -> OutcomeInfo:
    """Score ``items`` (name -> value as typed) for ``instrument`` and keep them; nothing is
    stored when an item is missing, unknown or out of range (one sentence says which)."""
    if phase is not None and phase not in PHASES:
        raise OutcomeError(f"Phase '{phase}' is unknown; use one of {', '.join(PHASES)}.")
    if find_instrument(instrument).name == "ssq" and session_id is not None and phase not in ("before", "after"):
        raise OutcomeError("Say whether the SSQ was asked before or after the session: --phase before|after.")
    scored = score(instrument, dict(items))
    store.patient(patient_id)  # NotFoundError for an unknown patient, in one sentence
    info = store.add_outcome(patient_id, scored.instrument, scored.items, scored.score, scored.details,
                             therapist, phase, session_id)  # fmt: skip
    store.audit(therapist, "outcome.add", patient_id=patient_id, session_id=session_id,
                details={"outcome_id": info.id, "instrument": info.instrument, "score": info.score})  # fmt: skip
    return info
