"""Graded desensitization log (CLINICAL.md "Touch": textures from least to most provoking,
rubbed 2-5 minutes several times a day at home and in the clinic, upgraded over weeks).

The hierarchy is the patient's own list in their program (``touch.textures``, least
provoking first; CLINICAL.md's list by default; changed with ``patients edit``, audited).
Each exposure names the texture the patient tolerated; its level is that texture's place in
the hierarchy at the time, so progress up the hierarchy shows in the records even after the
list is changed. Entries are checked before anything is stored and audited
("desensitization.add").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gmi_vr.recording.rows import ExposureInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import patient_program
from gmi_vr.therapy.plan.program import ProgramError

STATIONS = ("home", "clinic")
#: A longer exposure is taken for a typing slip. Product choice: CLINICAL.md's exposures
#: last 2-5 minutes; an hour leaves room for a long clinic session.
MAX_MINUTES = 60.0


class DesensitizationError(ProgramError):
    """An exposure was entered wrongly (unknown texture, a day in the future, ...); nothing
    is stored. Bad clinical input shares the program's exit code."""


@dataclass(frozen=True)
class DesensitizationLog:
    """A patient's hierarchy (least provoking first), their exposures by day, and the highest
    level of it tolerated so far (0 before the first exposure of one of its textures) with the
    texture at that level."""

    hierarchy: tuple[str, ...]
    exposures: tuple[ExposureInfo, ...]
    highest_level: int
    highest_texture: str | None


def add_exposure(store: SessionStore, patient_id: str, texture: str, *, minutes: float, station: str,
                 on: str | None, today: date, therapist: str) -> ExposureInfo:
    """Keep one exposure: ``texture`` tolerated for ``minutes`` at ``station`` on the day
    ``on`` (ISO YYYY-MM-DD; None = ``today``)."""
    if station not in STATIONS:
        raise DesensitizationError(f"Say where it was done: home or clinic, not '{station}'.")
    if not 0 < minutes <= MAX_MINUTES:
        raise DesensitizationError(f"Give the exposure's length in minutes, above 0 and at most {MAX_MINUTES:g}.")
    day = today if on is None else _day(on)
    if day > today:
        raise DesensitizationError(f"{day.isoformat()} is in the future; give the day the exposure was done.")
    hierarchy = patient_program(store, patient_id).touch.textures  # NotFoundError for an unknown patient
    wanted = texture.strip().lower()
    name = next((t for t in hierarchy if t.lower() == wanted), None)
    if name is None:
        raise DesensitizationError(
            f"'{texture}' is not in {patient_id}'s texture hierarchy ({', '.join(hierarchy)}); use one of "
            "those, or change the hierarchy with: gmi-vr patients edit ID --set 'touch.textures=[...]' --reason ..."
        )
    info = store.add_exposure(patient_id, exposed_on=day.isoformat(), station=station, minutes=float(minutes),
                              texture=name, level=hierarchy.index(name) + 1, levels=len(hierarchy),
                              entered_by=therapist)  # fmt: skip
    store.audit(therapist, "desensitization.add", patient_id=patient_id,
                details={"exposure_id": info.id, "texture": info.texture, "level": info.level,
                         "station": info.station, "minutes": info.minutes, "on": info.exposed_on})  # fmt: skip
    return info


def desensitization_log(store: SessionStore, patient_id: str) -> DesensitizationLog:
    """The log against the current hierarchy: the highest level is that of the most provoking
    texture of the current list tolerated so far (textures since dropped from the list do
    not count; each exposure keeps its level at the time)."""
    hierarchy = patient_program(store, patient_id).touch.textures
    exposures = tuple(store.exposures(patient_id))
    levels = [hierarchy.index(e.texture) + 1 for e in exposures if e.texture in hierarchy]
    top = max(levels, default=0)
    return DesensitizationLog(hierarchy, exposures, top, hierarchy[top - 1] if top else None)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DesensitizationError(f"'{text}' is not a day; write it as YYYY-MM-DD, e.g. 2026-12-04.") from None
