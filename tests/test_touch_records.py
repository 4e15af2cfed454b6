"""The touch records a therapist enters at the desktop, through the gmi-vr command on a real
SQLite store: the graded desensitization log (exposures up the patient's texture hierarchy,
refused in one sentence when wrong, nothing stored then) and two-point discrimination
thresholds as an outcome, kept and exported (FHIR, validated by fhir.resources)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from fhir.resources.bundle import Bundle
from support.cli import gmi_vr

from gmi_vr.app.outcome_entry import add_outcome
from gmi_vr.recording.export import export_session
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore


def test_exposures_climb_the_patients_hierarchy_and_wrong_ones_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert gmi_vr(["patients", "add", "D-1", "--side", "right", "--by", "dr.a"], data).returncode == 0
    empty = gmi_vr(["patients", "desensitization", "list", "D-1"], data)
    assert empty.returncode == 0 and "1. silk, 2. cotton, 3. felt, 4. denim, 5. scourer" in empty.stdout
    assert "no exposures for D-1 yet" in empty.stdout

    added = [
        gmi_vr(["patients", "desensitization", "add", "D-1", "silk", "--minutes", "3", "--where", "home",
                "--on", "2026-11-20", "--by", "dr.a"], data),
        gmi_vr(["patients", "desensitization", "add", "D-1", "Felt", "--minutes", "4.5", "--where", "clinic",
                "--on", "2026-11-27", "--by", "dr.b"], data),
        gmi_vr(["patients", "desensitization", "add", "D-1", "cotton", "--minutes", "2", "--where", "home",
                "--on", "2026-11-24", "--by", "dr.a"], data),
    ]  # fmt: skip
    assert [a.returncode for a in added] == [0, 0, 0], [a.stderr for a in added]
    assert added[1].stdout.strip() == ("patient D-1: felt (level 3 of 8) tolerated 4.5 min at clinic on 2026-11-27, "
                                       "entered by dr.b")  # fmt: skip

    today = datetime.now(UTC).date()
    wrong = {
        "velvet": (["velvet", "--minutes", "3", "--where", "home"], "'velvet' is not in D-1's texture hierarchy"),
        "no time": (["silk", "--minutes", "0", "--where", "home"], "Give the exposure's length in minutes"),
        "an hour and more": (["silk", "--minutes", "90", "--where", "home"], "at most 60"),
        "future": (["silk", "--minutes", "3", "--where", "home", "--on", f"{today.year + 1}-01-01"], "is in the future"),
        "no date": (["silk", "--minutes", "3", "--where", "home", "--on", "yesterday"], "write it as YYYY-MM-DD"),
    }  # fmt: skip
    for what, (args, words) in wrong.items():
        result = gmi_vr(["patients", "desensitization", "add", "D-1", *args], data)
        assert result.returncode == 9 and "Traceback" not in result.stderr, (what, result.stderr)
        assert result.stderr.startswith("gmi-vr: ") and words in result.stderr and result.stderr.count("\n") == 1, what
    unknown = gmi_vr(["patients", "desensitization", "add", "NOPE", "silk", "--minutes", "3", "--where", "home"], data)
    assert unknown.returncode == 8 and unknown.stderr.startswith("gmi-vr: No patient NOPE")

    listed = json.loads(gmi_vr(["patients", "desensitization", "list", "D-1", "--json"], data).stdout)
    assert [(e["on"], e["texture"], e["level"], e["station"], e["minutes"], e["entered_by"]) for e in listed["exposures"]] == [
        ("2026-11-20", "silk", 1, "home", 3.0, "dr.a"), ("2026-11-24", "cotton", 2, "home", 2.0, "dr.a"),
        ("2026-11-27", "felt", 3, "clinic", 4.5, "dr.b")]  # fmt: skip
    assert (listed["highest_level"], listed["highest_texture"]) == (3, "felt")
    text = gmi_vr(["patients", "desensitization", "list", "D-1"], data).stdout
    assert "highest tolerated: felt (level 3 of 8)" in text and "2026-11-27  clinic   4.5 min  level 3/8 felt" in text

    # The therapist's own list: old exposures keep their level then; the highest is of the new list.
    own = gmi_vr(["patients", "edit", "D-1", "--set", 'touch.textures=["cotton", "velvet", "wool"]',
                  "--reason", "the patient's own textures", "--by", "dr.a"], data)  # fmt: skip
    assert own.returncode == 0, own.stderr
    assert gmi_vr(["patients", "desensitization", "add", "D-1", "velvet", "--minutes", "3", "--where", "home",
                   "--by", "dr.a"], data).returncode == 0  # fmt: skip
    listed = json.loads(gmi_vr(["patients", "desensitization", "list", "D-1", "--json"], data).stdout)
    assert listed["hierarchy"] == ["cotton", "velvet", "wool"]
    assert (listed["highest_level"], listed["highest_texture"]) == (2, "velvet")
    assert [(e["texture"], e["level"], e["levels"]) for e in listed["exposures"]][-1] == ("velvet", 2, 3)
    assert listed["exposures"][2]["levels"] == 8

    with SessionStore.open(data, create=False) as store:
        trail = [(a.actor, (a.details or {}).get("texture")) for a in store.audit_trail("D-1")
                 if a.action == "desensitization.add"]  # fmt: skip
        assert trail == [("dr.a", "silk"), ("dr.b", "felt"), ("dr.a", "cotton"), ("dr.a", "velvet")]
        # Erasing the patient removes the log with everything else.
        store.erase_patient("D-1", actor="dr.a", reason="consent withdrawn")
        assert store.exposures("D-1") == []


def test_two_point_thresholds_are_kept_listed_and_refused_in_one_sentence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert gmi_vr(["patients", "add", "P-2", "--side", "left"], data).returncode == 0
    added = gmi_vr(["outcomes", "add", "P-2", "two_point", "site=index_fingertip", "mm=4.5", "--by", "dr.a"], data)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("patient P-2: two_point score 4.5 (site index_fingertip, unit mm, norm_mm 2.6)")
    assert gmi_vr(["outcomes", "add", "P-2", "two_point", "site=forearm", "mm=38", "--by", "dr.a"], data).returncode == 0
    for args, words in (
        (["site=forearm"], "give the site and the threshold"),
        (["site=forearm", "mm=wide"], "'mm' must be a number of millimetres"),
        (["site=forearm", "mm=400"], "the threshold must be 0.5 to 150 mm, not 400"),
        (["site=forearm", "mm=nan"], "the threshold must be 0.5 to 150 mm"),
        (["site=my arm!", "mm=4"], "name the site in letters"),
    ):
        result = gmi_vr(["outcomes", "add", "P-2", "two_point", *args], data)
        assert result.returncode == 9 and words in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    listed = json.loads(gmi_vr(["outcomes", "list", "P-2", "--instrument", "two_point", "--json"], data).stdout)
    assert [(o["items"], o["score"]) for o in listed] == [({"site": "index_fingertip", "mm": 4.5}, 4.5),
                                                          ({"site": "forearm", "mm": 38.0}, 38.0)]  # fmt: skip
    text = gmi_vr(["outcomes", "list", "P-2"], data).stdout
    assert "site index_fingertip" in text and "site forearm" in text
    items = gmi_vr(["outcomes", "items", "two_point"], data)
    assert "site=NAME" in items.stdout and "mm=0.5..150" in items.stdout


def test_the_fhir_export_carries_two_point_thresholds_in_millimetres(tmp_path: Path) -> None:
    with SessionStore.open(tmp_path / "data") as store:
        store.add_patient(PatientInfo("P-3", "left", "hand"))
        recorder = store.start_session("P-3", source="test")
        recorder.finish("completed")
        sid = recorder.session_id
        assert sid is not None
        add_outcome(store, "P-3", "two_point", {"site": "index_fingertip", "mm": "3.5"}, therapist="dr.a",
                    session_id=sid)  # fmt: skip
        (path,) = export_session(store, sid, "fhir", tmp_path / "fhir")
    bundle = Bundle.model_validate_json(path.read_text())
    response, total = bundle.entry[-2].resource, bundle.entry[-1].resource
    assert response.questionnaire == "urn:gmi-vr:questionnaire:two_point"
    answers = {i.linkId: i.answer[0] for i in response.item}
    assert answers["site"].valueString == "index_fingertip" and float(answers["mm"].valueDecimal) == 3.5
    assert float(total.valueQuantity.value) == 3.5 and total.valueQuantity.code == "mm"
    assert total.valueQuantity.system == "http://unitsofmeasure.org"
