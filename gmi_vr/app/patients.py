"""Patients: kept in the session store by pseudonymous id; their program (therapy.Program as
JSON) starts from the cited defaults and changes only through audited overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gmi_vr.core.types import Side
from gmi_vr.recording.records import PatientInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.program import BodyPart, Program


def add_patient(
    store: SessionStore,
    patient_id: str,
    affected_side: str,
    body_part: str,
    *,
    age_years: int | None = None,
    age_band: str | None = None,
    therapist: str,
) -> PatientInfo:
    """Create a patient with the default program for their affected side and body part."""
    program = Program.default(Side(affected_side), BodyPart(body_part), age_years)
    if age_band is not None:
        program = replace(program, age_band=age_band)
    birth_year = None if age_years is None else datetime.now(UTC).year - age_years
    patient = store.add_patient(
        PatientInfo(
            id=patient_id.strip(),
            affected_side=affected_side,
            body_part=body_part,
            birth_year=birth_year,
            age_band=age_band,
            program=program.to_dict(),
        )
    )
    store.audit(therapist, "patient.add", patient_id=patient.id, details={"program": program.to_dict()})
    return patient


def patient_program(store: SessionStore, patient_id: str) -> Program:
    """The patient's current program (the cited defaults if none was stored)."""
    patient = store.patient(patient_id)
    if patient.program:
        return Program.from_dict(patient.program)
    return Program.default(Side(patient.affected_side), BodyPart(patient.body_part))


def edit_patient_program(
    store: SessionStore, patient_id: str, changes: dict[str, Any], *, therapist: str, reason: str
) -> Program:
    """Override program settings by dotted path; the change and its reason go to the audit trail."""
    program, record = patient_program(store, patient_id).override(
        therapist, reason, datetime.now(UTC).isoformat(timespec="seconds"), **changes
    )
    store.set_program(patient_id, program.to_dict())
    store.audit(therapist, "program.override", patient_id=patient_id, details=record.to_dict())
    return program
