"""FHIR export: the session's pain ratings and outcome measures as a Bundle ("collection").

Each rating is an Observation with code LOINC 72514-3 (pain severity, 0-10 verbal numeric
rating, reported; CLINICAL.md "Outcomes"), ``valueInteger`` 0-10, the patient's pseudonymous
id as the subject's identifier (no Patient resource: the store holds no identifying data),
``effectiveDateTime`` when it was given, and the phase (before, during, after the session)
and who entered it as a note. Resources follow FHIR R5 (as validated by ``fhir.resources``).

Outcome measures (``therapy.results.questionnaires``) of the session — entered for it, or entered that
day without a session (the PGIC at the visit) — follow: each a QuestionnaireResponse with
its items (``linkId`` the item's name, the entered whole number as the answer, the therapist
who entered it as the author's display) and an Observation of its total (``valueQuantity``;
the Budapest criteria, which have no total, as ``valueBoolean``: clinical criteria met),
derived from that response. The instruments have no codes here: the Observation's code names
the instrument in the ``urn:gmi-vr:outcome`` system and in text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gmi_vr.recording.rows import OutcomeInfo, SessionInfo
from gmi_vr.recording.store import SessionStore

PSEUDONYM_SYSTEM = "urn:gmi-vr:patient-pseudonym"
RATING_SYSTEM = "urn:gmi-vr:pain-rating"
OUTCOME_SYSTEM = "urn:gmi-vr:outcome"
QUESTIONNAIRE = "urn:gmi-vr:questionnaire:"
LOINC = "http://loinc.org"
PAIN_NRS_CODE = "72514-3"


def pain_bundle(store: SessionStore, session: SessionInfo) -> dict[str, Any]:
    """A FHIR R4 ``Bundle`` (collection) as a JSON-able dict: one ``Observation`` per pain
    rating of ``session`` (0-10 NRS), its phase and source, at the time it was recorded (UTC)."""
    entries = []
    for k, rating in enumerate(store.ratings(session.id), start=1):
        entries.append({
            "fullUrl": f"urn:gmi-vr:session-{session.id}:rating-{k}",
            "resource": {
                **_survey_observation(RATING_SYSTEM, f"session-{session.id}-rating-{k}"),
                "code": {"coding": [{"system": LOINC, "code": PAIN_NRS_CODE,
                                     "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}],
                         "text": "Pain (0-10)"},
                "subject": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": session.patient_id}},
                "effectiveDateTime": rating.recorded_at.isoformat(),
                "valueInteger": rating.value,
                "note": [{"text": f"{rating.phase} the gmi-vr session {session.id}; entered by the {rating.source}"}],
            },
        })  # fmt: skip
    entries += outcome_entries(store, session)
    return {"resourceType": "Bundle", "type": "collection", "timestamp": _now(), "entry": entries}


def session_outcomes(store: SessionStore, session: SessionInfo) -> list[OutcomeInfo]:
    """The session's outcome measures: entered for it, or that day without a session."""
    day = session.started_at.date()
    return [o for o in store.outcomes(session.patient_id)
            if o.session_id == session.id or (o.session_id is None and o.recorded_at.date() == day)]


def outcome_entries(store: SessionStore, session: SessionInfo) -> list[dict[str, Any]]:
    """A QuestionnaireResponse and an Observation of its total per outcome (module docstring)."""
    subject = {"identifier": {"system": PSEUDONYM_SYSTEM, "value": session.patient_id}}
    entries: list[dict[str, Any]] = []
    for o in session_outcomes(store, session):
        response_url = f"urn:gmi-vr:outcome-{o.id}:response"
        when = o.recorded_at.isoformat()
        entries.append({"fullUrl": response_url, "resource": {
            "resourceType": "QuestionnaireResponse",
            "identifier": [{"system": OUTCOME_SYSTEM, "value": f"outcome-{o.id}"}],
            "questionnaire": QUESTIONNAIRE + o.instrument,
            "status": "completed", "subject": subject, "authored": when,
            "author": {"display": o.entered_by},
            "item": [{"linkId": name, "answer": [_answer(value)]} for name, value in o.items.items()],
        }})  # fmt: skip
        observation: dict[str, Any] = {
            **_survey_observation(OUTCOME_SYSTEM, f"outcome-{o.id}-total"),
            "code": {"coding": [{"system": OUTCOME_SYSTEM, "code": o.instrument}], "text": o.instrument},
            "subject": subject, "effectiveDateTime": when,
            "derivedFrom": [{"reference": response_url}],
            "note": [{"text": f"{o.phase or 'outcome'}; entered by {o.entered_by}; {json.dumps(o.details)}"}],
        }  # fmt: skip
        if o.score is not None:
            observation["valueQuantity"] = {"value": o.score}
            if o.details.get("unit") == "mm":  # a two-point threshold: UCUM millimetres
                observation["valueQuantity"].update(unit="mm", system="http://unitsofmeasure.org", code="mm")
        else:
            observation["valueBoolean"] = bool(o.details.get("clinical_criteria_met"))
        entries.append({"fullUrl": f"urn:gmi-vr:outcome-{o.id}:total", "resource": observation})
    return entries


def _survey_observation(system: str, value: str) -> dict[str, Any]:
    """The opening fields of a final Observation of answers given (category "survey"):
    identified as ``value`` in ``system``."""
    return {
        "resourceType": "Observation",
        "identifier": [{"system": system, "value": value}],
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey", "display": "Survey"}]}],
    }  # fmt: skip


def _answer(value: Any) -> dict[str, Any]:
    """A QuestionnaireResponse answer of an item's stored value: whole numbers as integers,
    other numbers (a two-point threshold in mm) as decimals, text (its site) as a string."""
    if isinstance(value, bool) or isinstance(value, int):
        return {"valueInteger": int(value)}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueString": str(value)}


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def export_fhir(store: SessionStore, session: SessionInfo, out_dir: Path) -> list[Path]:
    """Write the session's pain ratings as a FHIR bundle into ``out_dir`` (created if missing);
    returns the one file written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"session-{session.id:03d}_pain-ratings.fhir.json"
    path.write_text(json.dumps(pain_bundle(store, session), indent=2) + "\n", encoding="utf-8")
    return [path]
