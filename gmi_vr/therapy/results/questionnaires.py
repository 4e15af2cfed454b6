"""Outcome measures entered on the desktop, with their items and scoring — plain data.

CLINICAL.md "Outcomes and what works": the core outcome set for CRPS studies (COMPACT,
Grieve et al. 2017) — pain intensity (the NRS, recorded in every session), the CRPS Severity
Score, body perception disturbance, the patient's global impression of change — the Budapest
diagnostic criteria at intake (Harden et al. 2010, Pain 150:268), function with the
Patient-Specific Functional Scale, and for VR the Simulator Sickness Questionnaire before and
after a session (Kennedy et al. 1993).

``score(instrument, items)`` checks the entered items against the instrument (one
``OutcomeError`` sentence saying what to correct) and returns the total and what it means.
Items are given as text (``name=value``, as typed on the command line) and stored typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gmi_vr.core.errors import GmiError


class OutcomeError(GmiError):
    """An outcome measure was entered wrongly (unknown instrument or item, a value out of
    range); nothing is stored. Bad clinical input shares the program's exit code."""

    exit_code = 9


@dataclass(frozen=True)
class Item:
    """One item: its name and the whole numbers it takes (``low`` to ``high``)."""

    name: str
    low: int
    high: int
    text: str
    #: How the values are shown where they are not the whole numbers ``low``..``high``.
    values: str | None = None


@dataclass(frozen=True)
class OutcomeScore:
    """A scored entry: the typed items, the total (None where the instrument has none) and
    the figures that explain it (subscales, criteria met)."""

    instrument: str
    items: dict[str, Any]
    score: float | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Instrument:
    """An outcome questionnaire: its name, title, source, when it is asked, its items and the
    function that scores a full set of answers."""
    name: str
    title: str
    source: str
    #: When it is asked (CLINICAL.md): "intake", "visit", "every few weeks", "before/after".
    when: str
    items: tuple[Item, ...]
    scorer: Callable[[dict[str, Any]], tuple[float | None, dict[str, Any]]]
    #: True when the items are the patient's own (PSFS activities): any name, one range.
    free_items: bool = False
    #: Checks and types the raw items itself, for an instrument whose items are not all
    #: whole numbers (two-point discrimination: a site's name and millimetres).
    reader: Callable[[dict[str, str]], dict[str, Any]] | None = None
    #: The unit of the score, where it has one ("mm").
    unit: str | None = None


def _yes_no(name: str, text: str) -> Item:
    return Item(name, 0, 1, f"{text} (1 yes, 0 no)")


# --- Budapest clinical diagnostic criteria (Harden et al. 2010) --------------------------------

_CATEGORIES = ("sensory", "vasomotor", "sudomotor_oedema", "motor_trophic")
_BUDAPEST_ITEMS = (
    _yes_no("disproportionate_pain", "continuing pain disproportionate to any inciting event"),
    *(_yes_no(f"symptom_{c}", f"reports at least one {c.replace('_', '/')} symptom") for c in _CATEGORIES),
    *(_yes_no(f"sign_{c}", f"at least one {c.replace('_', '/')} sign at examination") for c in _CATEGORIES),
    _yes_no("no_better_diagnosis", "no other diagnosis better explains the signs and symptoms"),
)


def _budapest(items: dict[str, int]) -> tuple[float | None, dict[str, Any]]:
    """Clinical criteria: the pain, symptoms in 3 of the 4 categories, signs in 2 of the 4,
    and no better diagnosis (Harden et al. 2010)."""
    symptoms = sum(items[f"symptom_{c}"] for c in _CATEGORIES)
    signs = sum(items[f"sign_{c}"] for c in _CATEGORIES)
    met = bool(items["disproportionate_pain"] and symptoms >= 3 and signs >= 2 and items["no_better_diagnosis"])
    return None, {"symptom_categories": symptoms, "sign_categories": signs, "clinical_criteria_met": met}


# --- CRPS Severity Score (Harden et al. 2010, Pain 151:870): 8 reported symptoms, 9 signs, 0-17 --
# Each item present (1) or absent (0), summed. Checked against the published description of
# the 17-item form (docs/outcomes.md); the wording is ours, paraphrased.

#: Symptom -> what the patient reports (the item text is a paraphrase, not the form's words).
_CSS_SYMPTOMS: dict[str, str] = {
    "allodynia_hyperalgesia": "pain from touch, pressure or temperature that should not hurt, or more pain than expected",
    "temperature_asymmetry": "the limb feels warmer or colder than the other",
    "skin_colour_asymmetry": "the skin colour differs from the other side",
    "sweating_asymmetry": "sweating differs from the other side",
    "oedema": "swelling of the limb (asymmetric oedema)",
    "trophic_changes": "changes in hair, nail or skin growth",
    "motor_changes": "weakness, tremor or dystonia",
    "decreased_rom": "less active range of motion",
}  # fmt: skip
#: Sign -> what the examiner finds (paraphrased; the examination as the Budapest criteria name it).
_CSS_SIGNS: dict[str, str] = {
    "hyperalgesia_pinprick": "hyperalgesia to pinprick",
    "allodynia": "allodynia to light touch, temperature, deep somatic pressure or joint movement",
    "temperature_asymmetry": "temperature asymmetry by palpation",
    "skin_colour_asymmetry": "skin colour asymmetry",
    "sweating_asymmetry": "sweating asymmetry",
    "oedema": "asymmetric oedema",
    "trophic_changes": "trophic changes of hair, nail or skin",
    "motor_changes": "weakness, tremor or dystonia",
    "decreased_rom": "decreased active range of motion",
}  # fmt: skip
_CSS_ITEMS = (
    *(_yes_no(f"symptom_{s}", f"reported: {text}") for s, text in _CSS_SYMPTOMS.items()),
    *(_yes_no(f"sign_{s}", f"examined: {text}") for s, text in _CSS_SIGNS.items()),
)


def _css(items: dict[str, int]) -> tuple[float | None, dict[str, Any]]:
    symptoms = sum(items[f"symptom_{s}"] for s in _CSS_SYMPTOMS)
    signs = sum(items[f"sign_{s}"] for s in _CSS_SIGNS)
    return float(symptoms + signs), {"symptoms": symptoms, "signs": signs, "range": [0, 17]}


# --- Patient's Global Impression of Change: 1 very much improved .. 7 very much worse ---------

PGIC_LABELS = ("very much improved", "much improved", "minimally improved", "no change",
               "minimally worse", "much worse", "very much worse")


def _pgic(items: dict[str, int]) -> tuple[float | None, dict[str, Any]]:
    return float(items["value"]), {"label": PGIC_LABELS[items["value"] - 1]}


# --- Bath CRPS Body Perception Disturbance Scale (Lewis & McCabe 2010): the form's total, 0-57 --
# Only the total is entered (the form's items are not reproduced here; docs/outcomes.md).


def _bpd(items: dict[str, int]) -> tuple[float | None, dict[str, Any]]:
    return float(items["total"]), {"range": [0, 57]}


# --- Patient-Specific Functional Scale: the patient's activities, each 0-10 ------------------


def _psfs(items: dict[str, int]) -> tuple[float | None, dict[str, Any]]:
    """The mean over the patient's activities (0 unable .. 10 as before the problem)."""
    return round(sum(items.values()) / len(items), 2), {"activities": len(items)}


# --- Simulator Sickness Questionnaire (Kennedy et al. 1993): 16 symptoms 0-3 -----------------

#: Symptom -> the subscales it loads on: N nausea, O oculomotor, D disorientation; seven
#: symptoms each (nausea loads N and D), so the weighted maxima are N 200.34, O 159.18,
#: D 292.32 and the total 235.62 (docs/outcomes.md).
SSQ_SYMPTOMS: dict[str, str] = {
    "general_discomfort": "NO", "fatigue": "O", "headache": "O", "eyestrain": "O",
    "difficulty_focusing": "OD", "increased_salivation": "N", "sweating": "N", "nausea": "ND",
    "difficulty_concentrating": "NO", "fullness_of_head": "D", "blurred_vision": "OD",
    "dizziness_eyes_open": "D", "dizziness_eyes_closed": "D", "vertigo": "D",
    "stomach_awareness": "N", "burping": "N",
}  # fmt: skip
SSQ_WEIGHTS = {"N": 9.54, "O": 7.58, "D": 13.92}
SSQ_TOTAL_WEIGHT = 3.74


def _ssq(items: dict[str, int]) -> tuple[float | None, dict[str, Any]]:
    raw = {scale: sum(v for name, v in items.items() if scale in SSQ_SYMPTOMS[name]) for scale in "NOD"}
    subscales = {
        "nausea": round(raw["N"] * SSQ_WEIGHTS["N"], 2),
        "oculomotor": round(raw["O"] * SSQ_WEIGHTS["O"], 2),
        "disorientation": round(raw["D"] * SSQ_WEIGHTS["D"], 2),
    }
    return round(sum(raw.values()) * SSQ_TOTAL_WEIGHT, 2), subscales


# --- Two-point discrimination threshold (CLINICAL.md "Touch", outcomes) ------------------------

#: Norms by site, millimetres (CLINICAL.md: Nolan 1982): shown beside an entry at that site.
TWO_POINT_NORMS_MM: dict[str, str] = {"fingertip": "2.6", "back_of_hand": "21", "forearm": "31-45"}
#: Thresholds outside this range are taken for a typing slip (millimetres). Product choice:
#: a fingertip's norm is 2.6 mm; forearm thresholds reach 45 mm and more in CRPS.
TWO_POINT_RANGE_MM = (0.5, 150.0)


def _read_two_point(raw: dict[str, str]) -> dict[str, Any]:
    title = "Two-point discrimination"
    unknown = sorted(set(raw) - {"site", "mm"})
    if unknown or set(raw) != {"site", "mm"}:
        raise OutcomeError(f"{title}: give the site and the threshold, e.g. site=index_fingertip mm=4.5.")
    site = raw["site"].strip().lower().replace(" ", "_")
    if not site or len(site) > 48 or not all(c.isalnum() or c in "_-" for c in site):
        raise OutcomeError(f"{title}: name the site in letters, digits and '_', e.g. site=index_fingertip.")
    try:
        mm = float(raw["mm"])
    except ValueError:
        raise OutcomeError(f"{title}: 'mm' must be a number of millimetres, not {raw['mm']!r}.") from None
    low, high = TWO_POINT_RANGE_MM
    if not low <= mm <= high:
        raise OutcomeError(f"{title}: the threshold must be {low:g} to {high:g} mm, not {mm:g}.")
    return {"site": site, "mm": mm}


def _two_point(items: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    details: dict[str, Any] = {"site": items["site"], "unit": "mm"}
    norm = next((n for key, n in TWO_POINT_NORMS_MM.items() if items["site"].endswith(key)), None)
    if norm is not None:
        details["norm_mm"] = norm
    return float(items["mm"]), details


INSTRUMENTS: dict[str, Instrument] = {i.name: i for i in (
    Instrument("budapest", "Budapest clinical diagnostic criteria for CRPS",
               "Harden et al. 2010, Pain 150:268", "intake", _BUDAPEST_ITEMS, _budapest),
    Instrument("css", "CRPS Severity Score", "Harden et al. 2010, Pain 151:870 (17-item form)",
               "intake, then every few weeks", _CSS_ITEMS, _css),
    Instrument("pgic", "Patient's Global Impression of Change", "COMPACT core outcome set (Grieve et al. 2017)",
               "each visit", (Item("value", 1, 7, "1 very much improved .. 4 no change .. 7 very much worse"),),
               _pgic),
    Instrument("bpd", "Bath CRPS Body Perception Disturbance Scale",
               "Lewis & McCabe 2010; COMPACT core outcome set (Grieve et al. 2017)", "every few weeks",
               (Item("total", 0, 57, "the form's total score"),), _bpd),
    Instrument("psfs", "Patient-Specific Functional Scale", "CLINICAL.md: function", "every few weeks",
               (Item("ACTIVITY", 0, 10, "each of the patient's activities: 0 unable .. 10 as before"),),
               _psfs, free_items=True),
    Instrument("ssq", "Simulator Sickness Questionnaire", "Kennedy et al. 1993, Int J Aviat Psychol 3:203",
               "before and after a session",
               tuple(Item(name, 0, 3, "0 none, 1 slight, 2 moderate, 3 severe") for name in SSQ_SYMPTOMS),
               _ssq),
    Instrument("two_point", "Two-point discrimination threshold",
               "CLINICAL.md: outcome of touch training (Moseley 2008; norms Nolan 1982)", "each visit, per site",
               (Item("site", 0, 0, "where it was measured, e.g. index_fingertip, back_of_hand, forearm", "NAME"),
                Item("mm", 0, 150, "the smallest distance felt as two points, millimetres", "0.5..150")),
               _two_point, reader=_read_two_point, unit="mm"),
)}  # fmt: skip


def instrument(name: str) -> Instrument:
    """The instrument called ``name``, in any case and with '-' for '_' ("PSFS", "two-point"
    as the help and the literature write them); OutcomeError naming the known ones otherwise."""
    try:
        return INSTRUMENTS[name.strip().casefold().replace("-", "_")]
    except KeyError:
        raise OutcomeError(f"Outcome '{name}' is unknown; use one of {', '.join(INSTRUMENTS)}.") from None


def score(name: str, raw: dict[str, str | int]) -> OutcomeScore:
    """Check ``raw`` items (name -> whole number, as text or int) against the instrument and
    score them. Every item must be given (PSFS: one to five activities of the patient's)."""
    inst = instrument(name)
    if inst.reader is not None:
        typed = inst.reader({key.strip(): str(value).strip() for key, value in raw.items()})
        total, details = inst.scorer(typed)
        return OutcomeScore(inst.name, typed, total, details)
    items: dict[str, int] = {}
    for key, value in raw.items():
        try:
            number = int(str(value).strip())
        except ValueError:
            raise OutcomeError(f"{inst.title}: '{key}' must be a whole number, not {value!r}.") from None
        items[key.strip()] = number
    if inst.free_items:
        (spec,) = inst.items
        if not 1 <= len(items) <= 5:
            raise OutcomeError(f"{inst.title}: give one to five activities, each as \"activity=0..10\".")
        for key, number in items.items():
            if not key or not spec.low <= number <= spec.high:
                raise OutcomeError(f"{inst.title}: '{key}' must be rated {spec.low} to {spec.high}.")
    else:
        known = {item.name: item for item in inst.items}
        unknown = sorted(set(items) - set(known))
        if unknown:
            raise OutcomeError(f"{inst.title} has no item '{unknown[0]}'; its items: {', '.join(known)}.")
        missing = [n for n in known if n not in items]
        if missing:
            raise OutcomeError(f"{inst.title}: give every item; missing {', '.join(missing)}.")
        for key, number in items.items():
            item = known[key]
            if not item.low <= number <= item.high:
                raise OutcomeError(f"{inst.title}: '{key}' must be {item.low} to {item.high}, not {number}.")
        items = {item.name: items[item.name] for item in inst.items}  # the form's order
    total, details = inst.scorer(items)
    return OutcomeScore(inst.name, items, total, details)
