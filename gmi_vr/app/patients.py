"""Patients: kept in the session store by pseudonymous id (``recording.identity``: the id
rule, checked here when a patient is added or renamed, and the age band kept instead of an
age); their program (therapy.Program as JSON) starts from the cited defaults and changes
only through audited overrides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gmi_vr.assets.gltf_skin import load_skinned_gltf
from gmi_vr.assets.locations import model_path, models_dir
from gmi_vr.body.appearance import AVATAR_BUILDS, Appearance
from gmi_vr.core.errors import GmiError, NotFoundError, ProgramError
from gmi_vr.core.types import Side
from gmi_vr.recording.identity import (
    AGE_BAND_YEARS,
    OPEN_AGE_BAND_FROM,
    band_of_age,
    band_of_birth_year,
    check_label_free,
    check_patient_id,
    id_problem,
)
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import patient_program
from gmi_vr.therapy.plan.program import BodyPart, Program

#: The age bands a patient may be given instead of an age (``recording.identity``: ten-year
#: bands, one open band from 90): "0-9", "10-19", ..., "80-89", "90+".
AGE_BANDS: tuple[str, ...] = tuple(band_of_age(age) for age in range(1, OPEN_AGE_BAND_FROM + 2, AGE_BAND_YEARS))
#: The affected body parts a patient may be added with (therapy.plan.program.BodyPart values).
BODY_PARTS: tuple[str, ...] = tuple(part.value for part in BodyPart)


def check_new_patient(patient_id: str, affected_side: str, body_part: str, *, age_years: int | None = None,
                      age_band: str | None = None) -> tuple[str, str | None]:
    """What adding a patient refuses that needs no store: the id rule (``PatientIdError``), the
    side, the body part, a plausible age or a known band (``AGE_BANDS``), each one sentence.
    Checked before a store is opened, so a refused patient creates no data folder. Returns
    the id without surrounding spaces and the age band (None when neither was given)."""
    patient_id = check_patient_id(patient_id.strip())
    if affected_side not in (Side.LEFT.value, Side.RIGHT.value):
        raise GmiError(f"The affected side {affected_side!r} is neither left nor right; choose one.")
    if body_part not in BODY_PARTS:
        raise GmiError(f"The body part {body_part!r} is not one of {', '.join(BODY_PARTS)}; choose one of those.")
    if age_years is not None:
        return patient_id, band_of_age(age_years)
    if age_band is not None and age_band not in AGE_BANDS:
        raise GmiError(f"The age band {age_band!r} is not one of {', '.join(AGE_BANDS)}; give one of those, or the age.")
    return patient_id, age_band


def add_patient(
    store: SessionStore,
    patient_id: str,
    affected_side: str,
    body_part: str,
    *,
    age_years: int | None = None,
    age_band: str | None = None,
    therapist: str,
    via: str | None = None,
) -> PatientInfo:
    """Create a patient with the default program for their affected side and body part.

    The id must keep the id rule and differ from every other patient's in its research-export
    label (``PatientIdError`` otherwise). An age is kept only as its band (``"50-59"``); a
    band must be one of ``AGE_BANDS``. The "patient.add" audit row names ``therapist`` and,
    when given, where it was added (``via``: "console").
    """
    patient_id, age_band = check_new_patient(patient_id, affected_side, body_part, age_years=age_years,
                                             age_band=age_band)  # fmt: skip
    check_label_free(patient_id, (p.id for p in store.list_patients()))
    program = Program.default(Side(affected_side), BodyPart(body_part))
    if age_band is not None:
        program = replace(program, age_band=age_band)
    patient = store.add_patient(
        PatientInfo(
            id=patient_id,
            affected_side=affected_side,
            body_part=body_part,
            age_band=age_band,
            program=program.to_dict(),
        )
    )
    details: dict[str, Any] = {"program": program.to_dict()}
    if via is not None:
        details["via"] = via
    store.audit(therapist, "patient.add", patient_id=patient.id, details=details)
    return patient


def add_new_patient(
    open_store: Callable[[bool], SessionStore],
    patient_id: str,
    affected_side: str,
    body_part: str,
    *,
    age_years: int | None = None,
    age_band: str | None = None,
    therapist: Callable[[SessionStore], str],
    via: str | None = None,
) -> PatientInfo:
    """Add a patient the way ``gmi-vr patients add`` and the console both do: the checks that
    need no store first (``check_new_patient``: a refused id creates no data folder), then the
    store opened with ``open_store(True)`` (which may create the data folder), the acting
    person asked of it (``therapist(store)``: a sign-in where the store has accounts), the
    patient added and audited (``add_patient``), the store closed."""
    check_new_patient(patient_id, affected_side, body_part, age_years=age_years, age_band=age_band)
    store = open_store(True)
    try:
        return add_patient(store, patient_id, affected_side, body_part, age_years=age_years, age_band=age_band,
                           therapist=therapist(store), via=via)  # fmt: skip
    finally:
        store.close()


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


#: The patient's look, set through ``gmi-vr patients edit`` beside the program's settings.
APPEARANCE_SETTINGS = ("appearance.avatar", "appearance.skin_tone")


def appearance_change(store: SessionStore, patient_id: str, changes: dict[str, Any]) -> tuple[Appearance, Appearance]:
    """The patient's appearance now and after ``changes`` (``appearance.avatar``: a build of
    ``AVATAR_BUILDS`` or a model under ``models/`` named without its extension;
    ``appearance.skin_tone``), checked and stored nowhere. A new avatar is loaded here, as a
    session would load it: one that is missing or not loadable is refused in one sentence
    (``NotFoundError``, ``InputFileError``) rather than failing when the session draws it."""
    unknown = sorted(set(changes) - set(APPEARANCE_SETTINGS))
    if unknown:
        raise ProgramError(f"Setting '{unknown[0]}' does not exist; the appearance settings are "
                           f"{' and '.join(APPEARANCE_SETTINGS)}.")  # fmt: skip
    old = Appearance.from_dict((store.patient(patient_id).settings or {}).get("appearance", {}))
    new = Appearance.from_dict({**old.to_dict(), **{p.split(".")[1]: str(v) for p, v in changes.items()}})
    if new.avatar != old.avatar:
        try:
            path = model_path(new.avatar_model)
        except NotFoundError:
            raise NotFoundError(
                f"The avatar '{new.avatar}' is neither a build ({', '.join(AVATAR_BUILDS)}) nor a model file in "
                f"{models_dir()}; give a build or add the model there (nothing was changed)."
            ) from None
        load_skinned_gltf(path)  # InputFileError: the model is there but cannot be used
    return old, new


def edit_patient_appearance(
    store: SessionStore, patient_id: str, changes: dict[str, Any], *, therapist: str, reason: str
) -> Appearance:
    """Set the patient's avatar and skin tone (``appearance_change``), audited as
    "appearance.change" with its reason; a refused change changes nothing."""
    old, new = appearance_change(store, patient_id, changes)
    settings = dict(store.patient(patient_id).settings or {})
    settings["appearance"] = new.to_dict()
    store.update_patient_settings(patient_id, settings)
    store.audit(therapist, "appearance.change", patient_id=patient_id,
                details={"reason": reason, "old": old.to_dict(), "new": new.to_dict()})  # fmt: skip
    return new


def program_setters(store: SessionStore, patient_id: str) -> dict[str, str]:
    """Who last set each overridden program setting (dotted path -> "name (role)", the role
    where the name has an account), from the audit trail's program changes: what
    ``Program.settings_with_sources`` shows for a setting that is not a default."""
    setters: dict[str, str] = {}
    roles: dict[str, str] = {}
    for entry in store.audit_trail(patient_id):
        if entry.action != "program.override":
            continue
        if entry.actor not in roles:
            account = store.user(entry.actor)
            roles[entry.actor] = f"{entry.actor} ({account[0]})" if account is not None else entry.actor
        for path in (entry.details or {}).get("new", {}):
            setters[path] = roles[entry.actor]
    return setters


def parse_dose(task: str, text: str) -> tuple[float, int]:
    """``MINUTESxTIMES`` ("2x8": 2 minutes, 8 times a day) or "0"/"none" (not prescribed)."""
    cleaned = text.strip().lower().replace("×", "x")
    if cleaned in ("0", "none"):
        return 0.0, 0
    minutes, sep, times = cleaned.partition("x")
    try:
        if not sep:
            raise ValueError(cleaned)
        return float(minutes), int(times)
    except ValueError:
        raise ProgramError(
            f"--{task} {text!r} is not a dose: write minutes x times a day, e.g. --{task} 2x8, or 0 for none."
        ) from None


def prescribe_practice(
    store: SessionStore, patient_id: str, doses: dict[str, tuple[float, int]], *, stage: int | None = None,
    next_step: str | None = None, therapist: str, reason: str,
) -> Program:
    """Set what the patient practises between visits at ``stage`` (default: their current
    one): ``doses`` by task ("laterality", "imagery", "mirror") as (minutes each time, times a
    day), and the handout's ``next_step``. An audited program override like any other."""
    if not doses and next_step is None:
        raise ProgramError("Say what to prescribe: --laterality, --imagery or --mirror MINUTESxTIMES, or --next-step TEXT.")
    at = int(patient_program(store, patient_id).stage) if stage is None else stage
    changes: dict[str, Any] = {}
    for task, (minutes, times) in doses.items():
        changes[f"practice.stage_{at}.{task}_minutes"] = minutes
        changes[f"practice.stage_{at}.{task}_times_per_day"] = times
    if next_step is not None:
        changes["practice.next_step"] = next_step.strip()
    return edit_patient_program(store, patient_id, changes, therapist=therapist, reason=reason)


def patient_age_band(patient: PatientInfo, program: Program) -> str:
    """The band to show: the program's (a therapist may override it), else the one stored
    with the patient, else one from a birth year kept by an older gmi-vr; "unknown" if none."""
    if program.age_band or patient.age_band:
        return str(program.age_band or patient.age_band)
    if patient.birth_year is not None:
        return band_of_birth_year(patient.birth_year)
    return "unknown"


def rename_patient(
    store: SessionStore, old_id: str, new_id: str, *, therapist: str, reason: str, forget_old: bool = False
) -> dict[str, int]:
    """Correct a mistyped id: ``new_id`` (which must keep the id rule, be free and have its
    own research-export label) replaces ``old_id`` in every table, the audit trail's earlier
    entries included, in one transaction. Returns the rows moved per table.

    The rename's own audit entry keeps who, when, why and the new id. It keeps the old id
    too (a mistyped pseudonym stays traceable to paper notes) unless the old id breaks the id
    rule (a name with a space, an e-mail address, a date: the usual reason for a rename) or
    ``forget_old`` says it was personal data in another shape (``JohnSmith``): then the old
    id is left nowhere in the store.
    """
    if not reason or not reason.strip():
        raise GmiError("Say why with --reason TEXT; the rename is kept in the audit trail.")
    new_id = check_patient_id(new_id.strip())
    store.patient(old_id)  # NotFoundError for an unknown patient, before the checks of the new id
    check_label_free(new_id, (p.id for p in store.list_patients() if p.id != old_id))
    problem = id_problem(old_id)
    kept = not forget_old and problem is None
    details: dict[str, Any] = {"reason": reason.strip(), "new_id": new_id, "old_id": old_id if kept else None}
    if not kept:
        details["old_id_not_kept"] = "asked by the therapist" if forget_old else f"the old id broke the id rule: {problem}"
    return store.rename_patient(old_id, new_id, actor=therapist, details=details)
