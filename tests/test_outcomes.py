"""Outcome measures: each instrument's items and scoring, entered through the gmi-vr command
into a real SQLite store with the time and who, in the FHIR export (validated by
fhir.resources) and in the reports' series."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle
from support.cli import gmi_vr

from gmi_vr.app.outcome_entry import add_outcome
from gmi_vr.core.errors import GmiError
from gmi_vr.recording.export import export_session
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.outcome_series import outcome_series, ssq_changes
from gmi_vr.therapy.results.questionnaires import INSTRUMENTS, SSQ_SYMPTOMS, OutcomeError, score

BUDAPEST_MET = {"disproportionate_pain": 1, "symptom_sensory": 1, "symptom_vasomotor": 1,
                "symptom_sudomotor_oedema": 1, "symptom_motor_trophic": 0, "sign_sensory": 1,
                "sign_vasomotor": 1, "sign_sudomotor_oedema": 0, "sign_motor_trophic": 0,
                "no_better_diagnosis": 1}  # fmt: skip
CSS_ALL = {item.name: 1 for item in INSTRUMENTS["css"].items}


@pytest.mark.parametrize(
    ("instrument", "items", "total", "details"),
    [
        ("budapest", BUDAPEST_MET, None, {"clinical_criteria_met": True}),
        # Signs in only one category: not the clinical criteria.
        ("budapest", {**BUDAPEST_MET, "sign_vasomotor": 0}, None, {"clinical_criteria_met": False}),
        ("budapest", {**BUDAPEST_MET, "no_better_diagnosis": 0}, None, {"clinical_criteria_met": False}),
        ("css", CSS_ALL, 17.0, {"symptoms": 8, "signs": 9}),
        ("css", {**{k: 0 for k in CSS_ALL}, "sign_oedema": 1, "symptom_oedema": 1}, 2.0, {}),
        ("pgic", {"value": 4}, 4.0, {"label": "no change"}),
        ("pgic", {"value": 7}, 7.0, {"label": "very much worse"}),
        ("bpd", {"total": 23}, 23.0, {}),
        ("psfs", {"open a jar": 2, "typing": 5, "hold a cup": 8}, 5.0, {"activities": 3}),
        # SSQ (Kennedy 1993): nausea loads N and D; headache O only; weights 9.54, 7.58, 13.92.
        ("ssq", {**{k: 0 for k in SSQ_SYMPTOMS}, "nausea": 2, "headache": 1}, round(5 * 3.74, 2),  # N 2 + O 1 + D 2
         {"nausea": 19.08, "oculomotor": 7.58, "disorientation": 27.84}),
    ],
)
def test_each_instrument_scores_its_items(instrument: str, items: dict[str, int], total: float | None,
                                          details: dict[str, object]) -> None:
    scored = score(instrument, {k: str(v) for k, v in items.items()})
    assert scored.score == total
    assert {k: scored.details[k] for k in details} == details
    assert scored.items == items and all(isinstance(v, int) for v in scored.items.values())


def test_the_instruments_have_the_published_structure_and_ranges() -> None:
    # Checked against the published descriptions (docs/outcomes.md). CSS: 8 reported
    # symptoms and 9 examined signs, each present or absent, 0-17 (Harden et al. 2010).
    css = [item.name for item in INSTRUMENTS["css"].items]
    assert len([n for n in css if n.startswith("symptom_")]) == 8 and len([n for n in css if n.startswith("sign_")]) == 9
    assert {"sign_hyperalgesia_pinprick", "sign_allodynia", "symptom_decreased_rom", "sign_decreased_rom"} <= set(css)
    assert all((item.low, item.high) == (0, 1) for item in INSTRUMENTS["css"].items)
    # SSQ (Kennedy et al. 1993): 16 symptoms 0-3, seven on each subscale, so every symptom at
    # "severe" gives the published maxima.
    assert len(SSQ_SYMPTOMS) == 16 and all(sum(s in scales for scales in SSQ_SYMPTOMS.values()) == 7 for s in "NOD")
    worst = score("ssq", {name: "3" for name in SSQ_SYMPTOMS})
    assert worst.score == 235.62
    assert worst.details == {"nausea": 200.34, "oculomotor": 159.18, "disorientation": 292.32}
    # Bath BPDS: the form's total, 0-57 (Lewis & McCabe 2010).
    (total,) = INSTRUMENTS["bpd"].items
    assert (total.low, total.high) == (0, 57)
    for name, cited in (("css", "Pain 151:870"), ("bpd", "Lewis & McCabe 2010"), ("ssq", "Kennedy et al. 1993")):
        assert cited in INSTRUMENTS[name].source


@pytest.mark.parametrize(
    ("instrument", "items", "words"),
    [
        ("pgic", {"value": "0"}, "'value' must be 1 to 7, not 0"),
        ("pgic", {"value": "two"}, "must be a whole number"),
        ("pgic", {"valu": "2"}, "has no item 'valu'"),
        ("budapest", {"disproportionate_pain": "1"}, "give every item; missing symptom_sensory"),
        ("bpd", {"total": "58"}, "must be 0 to 57"),
        ("psfs", {}, "one to five activities"),
        ("psfs", {f"a{i}": "3" for i in range(6)}, "one to five activities"),
        ("psfs", {"walk": "11"}, "'walk' must be rated 0 to 10"),
        ("sf36", {"x": "1"}, "Outcome 'sf36' is unknown"),
    ],
)
def test_wrong_entries_are_one_sentence(instrument: str, items: dict[str, str], words: str) -> None:
    with pytest.raises(OutcomeError, match=words):
        score(instrument, items)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with SessionStore.open(tmp_path / "data") as opened:
        opened.add_patient(PatientInfo("P-0007", "left", "hand"))
        yield opened


def test_outcomes_are_kept_with_time_and_who_and_audited(store: SessionStore) -> None:
    session = store.start_session("P-0007", source="test")
    session.finish("completed")
    sid = session.session_id
    assert sid is not None
    before = datetime.now(UTC)
    ssq = {k: "0" for k in SSQ_SYMPTOMS}
    add_outcome(store, "P-0007", "ssq", ssq, therapist="t.one", phase="before", session_id=sid)
    add_outcome(store, "P-0007", "ssq", {**ssq, "nausea": "1"}, therapist="t.one", phase="after", session_id=sid)
    info = add_outcome(store, "P-0007", "pgic", {"value": "3"}, therapist="t.two", phase="visit")
    assert info.entered_by == "t.two" and before <= info.recorded_at <= datetime.now(UTC)
    assert [(o.instrument, o.phase) for o in store.outcomes("P-0007")] == [
        ("ssq", "before"), ("ssq", "after"), ("pgic", "visit")]
    trail = [a for a in store.audit_trail("P-0007") if a.action == "outcome.add"]
    assert [(a.actor, (a.details or {})["instrument"]) for a in trail] == [
        ("t.one", "ssq"), ("t.one", "ssq"), ("t.two", "pgic")]
    # Nothing is stored for a wrong entry, a phase the SSQ needs, or another patient's session.
    store.add_patient(PatientInfo("P-0008", "right", "foot"))
    for bad in (lambda: add_outcome(store, "P-0007", "pgic", {"value": "9"}, therapist="t"),
                lambda: add_outcome(store, "P-0007", "ssq", ssq, therapist="t", session_id=sid),
                lambda: add_outcome(store, "P-0007", "SSQ", ssq, therapist="t", session_id=sid),
                lambda: add_outcome(store, "P-0008", "pgic", {"value": "3"}, therapist="t", session_id=sid),
                lambda: add_outcome(store, "P-0007", "pgic", {"value": "3"}, therapist="t", phase="later")):
        with pytest.raises(GmiError):
            bad()
    assert len(store.outcomes("P-0007")) == 3 and store.outcomes("P-0008") == []
    # The reports' view: series per instrument, and the sickness the session caused.
    series = outcome_series(store, "P-0007")
    assert [e["score"] for e in series["pgic"]] == [3.0]
    assert ssq_changes(store, "P-0007") == {sid: round(1 * 2 * 3.74, 2)}  # nausea loads N and D


def test_an_ssq_entered_before_the_session_exists_pairs_with_the_session_that_follows(store: SessionStore) -> None:
    ssq = {k: "0" for k in SSQ_SYMPTOMS}
    add_outcome(store, "P-0007", "ssq", ssq, therapist="t.one", phase="before")  # no session yet
    recorder = store.start_session("P-0007", source="test")
    recorder.finish("completed")
    add_outcome(store, "P-0007", "ssq", {**ssq, "headache": "2"}, therapist="t.one", phase="after")
    assert ssq_changes(store, "P-0007") == {recorder.session_id: round(2 * 3.74, 2)}


def test_the_fhir_export_carries_the_sessions_outcomes(store: SessionStore, tmp_path: Path) -> None:
    recorder = store.start_session("P-0007", source="test")
    recorder.record_rating(4, "before")
    recorder.finish("completed")
    sid = recorder.session_id
    assert sid is not None
    add_outcome(store, "P-0007", "pgic", {"value": "2"}, therapist="t.one", phase="visit")
    add_outcome(store, "P-0007", "budapest", {k: str(v) for k, v in BUDAPEST_MET.items()},
                therapist="t.one", phase="intake", session_id=sid)
    (path,) = export_session(store, sid, "fhir", tmp_path / "fhir")
    bundle = Bundle.model_validate_json(path.read_text())
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds == ["Observation", "QuestionnaireResponse", "Observation", "QuestionnaireResponse", "Observation"]
    pgic_response, pgic_total = bundle.entry[1].resource, bundle.entry[2].resource
    assert pgic_response.questionnaire == "urn:gmi-vr:questionnaire:pgic"
    assert pgic_response.status == "completed" and pgic_response.author.display == "t.one"
    assert [(i.linkId, i.answer[0].valueInteger) for i in pgic_response.item] == [("value", 2)]
    assert pgic_total.valueQuantity.value == 2 and pgic_total.code.coding[0].code == "pgic"
    assert pgic_total.derivedFrom[0].reference == bundle.entry[1].fullUrl
    assert pgic_total.subject.identifier.value == "P-0007"
    budapest_total = bundle.entry[4].resource
    assert budapest_total.valueBoolean is True


def test_the_command_enters_lists_and_refuses_in_one_sentence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert gmi_vr(["patients", "add", "P001", "--side", "left"], data).returncode == 0
    added = gmi_vr(["outcomes", "add", "P001", "psfs", "open a jar=3", "typing=6", "--by", "dr.a"], data)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("patient P001: psfs score 4.5") and "entered by dr.a" in added.stdout
    wrong = gmi_vr(["outcomes", "add", "P001", "pgic", "value=8"], data)
    assert wrong.returncode == 9 and "Traceback" not in wrong.stderr
    assert wrong.stderr.strip() == "gmi-vr: Patient's Global Impression of Change: 'value' must be 1 to 7, not 8."
    unknown = gmi_vr(["outcomes", "add", "P404", "pgic", "value=3"], data)
    assert unknown.returncode == 8 and unknown.stderr.startswith("gmi-vr: No patient P404")
    malformed = gmi_vr(["outcomes", "add", "P001", "pgic", "3"], data)
    assert malformed.returncode != 0 and "name=value" in malformed.stderr
    # Named as the help and the literature write them: "PSFS", "two-point"; stored by one name.
    upper = gmi_vr(["outcomes", "add", "P001", "PSFS", "typing=7", "--by", "dr.a"], data)
    assert upper.returncode == 0 and upper.stdout.startswith("patient P001: psfs score 7"), upper.stderr
    dashed = gmi_vr(["outcomes", "add", "P001", "Two-Point", "site=index_fingertip", "mm=4", "--by", "dr.a"], data)
    assert dashed.returncode == 0, dashed.stderr
    listed = json.loads(gmi_vr(["outcomes", "list", "P001", "--json"], data).stdout)
    assert [(o["instrument"], o["score"], o["entered_by"]) for o in listed] == [
        ("psfs", 4.5, "dr.a"), ("psfs", 7.0, "dr.a"), ("two_point", 4.0, "dr.a")]
    assert listed[0]["items"] == {"open a jar": 3, "typing": 6}
    items = gmi_vr(["outcomes", "items", "ssq"], data)
    assert items.returncode == 0 and "nausea=0..3" in items.stdout
