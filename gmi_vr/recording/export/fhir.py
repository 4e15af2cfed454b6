"""FHIR export: the session's pain ratings as a Bundle (type "collection") of Observations.

Each rating is an Observation with code LOINC 72514-3 (pain severity, 0-10 verbal numeric
rating, reported; CLINICAL.md "Outcomes"), ``valueInteger`` 0-10, the patient's pseudonymous
id as the subject's identifier (no Patient resource: the store holds no identifying data),
``effectiveDateTime`` when it was given, and the phase (before, during, after the session)
and who entered it as a note. Resources follow FHIR R5 (as validated by ``fhir.resources``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gmi_vr.recording.records import SessionInfo
from gmi_vr.recording.store import SessionStore

PSEUDONYM_SYSTEM = "urn:gmi-vr:patient-pseudonym"
RATING_SYSTEM = "urn:gmi-vr:pain-rating"
LOINC = "http://loinc.org"
PAIN_NRS_CODE = "72514-3"


def pain_bundle(store: SessionStore, session: SessionInfo) -> dict[str, Any]:
    entries = []
    for k, rating in enumerate(store.ratings(session.id), start=1):
        entries.append({
            "fullUrl": f"urn:gmi-vr:session-{session.id}:rating-{k}",
            "resource": {
                "resourceType": "Observation",
                "identifier": [{"system": RATING_SYSTEM, "value": f"session-{session.id}-rating-{k}"}],
                "status": "final",
                "category": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "survey", "display": "Survey"}]}],
                "code": {"coding": [{"system": LOINC, "code": PAIN_NRS_CODE,
                                     "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}],
                         "text": "Pain (0-10)"},
                "subject": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": session.patient_id}},
                "effectiveDateTime": rating.recorded_at.isoformat(),
                "valueInteger": rating.value,
                "note": [{"text": f"{rating.phase} the gmi-vr session {session.id}; entered by the {rating.source}"}],
            },
        })  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "timestamp": _now(), "entry": entries}


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def export_fhir(store: SessionStore, session: SessionInfo, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"session-{session.id:03d}_pain-ratings.fhir.json"
    path.write_text(json.dumps(pain_bundle(store, session), indent=2) + "\n", encoding="utf-8")
    return [path]
