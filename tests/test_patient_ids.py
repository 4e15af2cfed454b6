"""Patient ids on real SQLite stores: the id rule (no names, e-mail addresses or dates), ids
that would share a research-export label, the age kept as a band, and renaming a mistyped
id in every table, audited; through the functions and through the gmi-vr command."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from recording_synth import body, frame
from test_cli import gmi_vr, one_sentence

from gmi_vr.app.patients import (
    add_patient,
    edit_patient_program,
    patient_age_band,
    patient_program,
    rename_patient,
)
from gmi_vr.core.errors import GmiError, NotFoundError
from gmi_vr.recording.identity import (
    PatientIdError,
    band_of_age,
    band_of_birth_year,
    bids_label,
    check_patient_id,
)
from gmi_vr.recording.rows import PatientInfo, StoredRating
from gmi_vr.recording.store import SessionStore, utcnow

GOOD_IDS = ["P001", "CRPS-017", "ward3_12", "0012", "12345678", "2026P01", "p", "A" * 32, "P-2026-01"]
BAD_IDS = {
    "John Smith": "space",
    " P001": "space",
    "john.smith@example.org": "'@'",
    "jsmith@clinic": "'@'",
    "1972-03-04": "date",
    "04/03/1972": "date",
    "04.03.1972": "date",
    "4_3_72": "date",
    "19720304": "date",
    "04031972": "date",
    "03041972": "date",
    "04Mar1972": "date",
    "4-mar-72": "date",
    "": "empty",
    "A" * 33: "longer than 32",
    "P.001": "only letters",
    "Pé01": "only letters",
    "_P001": "only letters",
}


@pytest.mark.parametrize("patient_id", GOOD_IDS)
def test_pseudonyms_keep_the_id_rule(patient_id: str) -> None:
    assert check_patient_id(patient_id) == patient_id


@pytest.mark.parametrize(("patient_id", "rule"), BAD_IDS.items())
def test_names_emails_and_dates_break_the_id_rule(patient_id: str, rule: str) -> None:
    with pytest.raises(PatientIdError) as raised:
        check_patient_id(patient_id)
    message = str(raised.value)
    assert rule in message and "such as P001" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert raised.value.exit_code == 2


def test_the_age_is_kept_as_a_ten_year_band() -> None:
    assert [band_of_age(a) for a in (1, 9, 10, 54, 59, 60, 89, 90, 104)] == [
        "0-9", "0-9", "10-19", "50-59", "50-59", "60-69", "80-89", "90+", "90+"]  # fmt: skip
    with pytest.raises(GmiError, match="not plausible"):
        band_of_age(0)
    assert band_of_birth_year(1972, today=date(2026, 12, 5)) == "50-59"
    assert band_of_birth_year(1930, today=date(2026, 12, 5)) == "90+"


@pytest.fixture
def store(tmp_path: Path):
    with SessionStore.open(tmp_path / "data") as s:
        yield s


def test_adding_refuses_a_bad_id_and_stores_nothing(store: SessionStore) -> None:
    for bad in ("John Smith", "john@example.org", "1972-03-04"):
        with pytest.raises(PatientIdError):
            add_patient(store, bad, "left", "hand", therapist="t.one")
    assert store.list_patients() == [] and store.audit_trail() == []


def test_adding_refuses_an_id_whose_export_label_is_taken(store: SessionStore) -> None:
    add_patient(store, "P001", "left", "hand", therapist="t.one")
    for twin in ("P-001", "P_001", "p001", "P-0-0-1"):
        with pytest.raises(PatientIdError, match="sub-P001"):
            add_patient(store, twin, "right", "hand", therapist="t.one")
    assert [p.id for p in store.list_patients()] == ["P001"]
    assert bids_label("P-001") == "P001"


def test_an_age_is_stored_and_shown_as_its_band(store: SessionStore) -> None:
    patient = add_patient(store, "P001", "left", "hand", age_years=54, therapist="t.one")
    assert (patient.age_band, patient.birth_year) == ("50-59", None)
    program = patient_program(store, "P001")
    assert (program.age_band, program.age_years) == ("50-59", None)
    assert "54" not in json.dumps(store.audit_trail("P001")[0].details)
    assert patient_age_band(store.patient("P001"), program) == "50-59"
    # A patient stored by an older gmi-vr with a birth year is shown by band too.
    store.add_patient(PatientInfo("P002", "right", "foot", birth_year=1972))
    assert patient_age_band(store.patient("P002"), patient_program(store, "P002")) == band_of_birth_year(1972)


def test_the_command_refuses_names_emails_and_dates_in_one_sentence(tmp_path: Path) -> None:
    for bad, rule in (("John Smith", "space"), ("john@example.org", "'@'"), ("1972-03-04", "date"),
                      ("04/03/1972", "date"), ("19720304", "date")):  # fmt: skip
        result = gmi_vr(["patients", "add", bad, "--side", "left"], tmp_path)
        assert result.returncode == 2
        sentence = one_sentence(result)
        assert rule in sentence and "P001" in sentence
    assert not (tmp_path / "data").exists(), "a refused id stored something"


def test_the_command_shows_the_age_band_not_a_birth_year(tmp_path: Path) -> None:
    assert gmi_vr(["patients", "add", "P001", "--side", "left", "--age", "54"], tmp_path).returncode == 0
    shown = gmi_vr(["patients", "show", "P001"], tmp_path)
    assert shown.returncode == 0
    assert "age_band: 50-59" in shown.stdout and "born" not in shown.stdout
    shown_json = gmi_vr(["patients", "show", "P001", "--json"], tmp_path)
    assert json.loads(shown_json.stdout)["age_band"] == "50-59"
    with sqlite3.connect(tmp_path / "data" / "sessions.sqlite") as db:
        assert db.execute("SELECT age_band, birth_year FROM patients").fetchall() == [("50-59", None)]


def _patient_with_history(store: SessionStore, patient_id: str) -> int:
    """A patient with a row in every table that refers to patients; returns the session id."""
    store.add_patient(PatientInfo(patient_id, "left", "hand", age_band="50-59"))
    store.audit("t.one", "patient.add", patient_id=patient_id)
    edit_patient_program(store, patient_id, {"safety.session_cap_s": 480}, therapist="t.one", reason="tires")
    store.add_calibration(patient_id, {"height_m": 1.7})
    recorder = store.start_session(patient_id, source="test")
    recorder.record_rating(4, "before")
    for i in range(30):
        recorder.record_frame(frame(i, hands=False), body(i))
    recorder.record_rating(3, "after")
    recorder.finish()
    store.add_rating(patient_id, StoredRating(2, "after", "therapist", utcnow()))
    store.add_outcome(patient_id, "pgic", {"value": 3}, 3.0, {}, "t.one", "visit", recorder.session_id)
    store.add_exposure(patient_id, exposed_on="2026-12-01", station="home", minutes=5, texture="silk", level=1,
                       levels=6, entered_by="t.one")  # fmt: skip
    return recorder.session_id  # type: ignore[return-value]


def _store_text(db_file: Path) -> str:
    """Every value in the store, as SQL text (after the store is closed, so the WAL is in)."""
    with sqlite3.connect(db_file) as db:
        return "\n".join(db.iterdump())


def test_a_rename_moves_every_record_in_one_audited_change(tmp_path: Path) -> None:
    db_file = tmp_path / "data" / "sessions.sqlite"
    with SessionStore.open(tmp_path / "data") as store:
        session_id = _patient_with_history(store, "P0O1")
        moved = rename_patient(store, "P0O1", "P001", therapist="t.two", reason="letter O typed for zero")
        assert moved == {"calibrations": 1, "programs": 1, "sessions": 1, "pain_ratings": 3, "outcomes": 1,
                         "desensitization": 1, "audit": 2}  # fmt: skip
        assert [o.instrument for o in store.outcomes("P001")] == ["pgic"]
        assert [p.id for p in store.list_patients()] == ["P001"]
        assert store.session(session_id).patient_id == "P001"
        assert [r.value for r in store.ratings(patient_id="P001")] == [4, 3, 2]
        assert store.latest_calibration("P001") is not None
        assert patient_program(store, "P001").safety.session_cap_s == 480  # the override came along
        trail = store.audit_trail("P001")
        assert [a.action for a in trail] == ["patient.add", "program.override", "patient.rename"]
        rename = trail[-1]
        assert rename.actor == "t.two"
        assert rename.details is not None
        assert (rename.details["old_id"], rename.details["new_id"]) == ("P0O1", "P001")
        assert rename.details["reason"] == "letter O typed for zero"
        # The old id, typed from paper notes, is pointed to the new one (a chain to its end).
        with pytest.raises(NotFoundError, match=r"^No patient P0O1 in .*: it was renamed P001 on \d{4}-\d\d-\d\d; use P001\.$"):
            store.patient("P0O1")
        rename_patient(store, "P001", "P-0001", therapist="t.two", reason="the clinic's id form")
        with pytest.raises(NotFoundError, match="it was renamed P-0001 on .*; use P-0001"):
            store.patient("P0O1")
        with pytest.raises(NotFoundError, match=r"^No patient P999 in .*; list patients or check the id\.$"):
            store.patient("P999")
        rename_patient(store, "P-0001", "P001", therapist="t.two", reason="back to the short form")
    # A mistyped pseudonym stays traceable in the rename's own entry, and only there.
    text = _store_text(db_file)
    assert text.count("P0O1") == 1 and "patient.rename" in text


def test_a_name_entered_as_an_id_is_left_nowhere_after_a_rename(tmp_path: Path) -> None:
    db_file = tmp_path / "data" / "sessions.sqlite"
    with SessionStore.open(tmp_path / "data") as store:
        _patient_with_history(store, "John Smith")  # as an older gmi-vr accepted it
        _patient_with_history(store, "JaneDoe")
        rename_patient(store, "John Smith", "P001", therapist="t.one", reason="a name was typed")
        rename_patient(store, "JaneDoe", "P002", therapist="t.one", reason="a name was typed", forget_old=True)
        details = [a.details for a in store.audit_trail() if a.action == "patient.rename"]
        assert [d["old_id"] for d in details if d] == [None, None]
        assert "space" in details[0]["old_id_not_kept"] and "therapist" in details[1]["old_id_not_kept"]  # type: ignore[index]
    text = _store_text(db_file)
    assert "John Smith" not in text and "JaneDoe" not in text
    assert "P001" in text and "P002" in text
    for file in db_file.parent.iterdir():  # nor in the file's freed space
        raw = file.read_bytes()
        assert b"John Smith" not in raw and b"JaneDoe" not in raw, file


def test_a_refused_rename_changes_nothing(tmp_path: Path) -> None:
    db_file = tmp_path / "data" / "sessions.sqlite"
    with SessionStore.open(tmp_path / "data") as store:
        _patient_with_history(store, "P0O1")
        _patient_with_history(store, "P001")
        store.add_patient(PatientInfo("P-7", "left", "hand"))
    before = _store_text(db_file)
    with SessionStore.open(tmp_path / "data") as store:
        with pytest.raises(PatientIdError, match="already exists"):
            rename_patient(store, "P0O1", "P001", therapist="t.one", reason="typo")
        with pytest.raises(PatientIdError, match="space"):
            rename_patient(store, "P0O1", "Ann Lee", therapist="t.one", reason="typo")
        with pytest.raises(PatientIdError, match="sub-P7"):
            rename_patient(store, "P0O1", "p_7", therapist="t.one", reason="typo")
        with pytest.raises(NotFoundError):
            rename_patient(store, "P404", "P405", therapist="t.one", reason="typo")
        with pytest.raises(GmiError, match="--reason"):
            rename_patient(store, "P0O1", "P002", therapist="t.one", reason="  ")
        # The store refuses an existing new id by itself too, inside its transaction.
        with pytest.raises(PatientIdError, match="already exists"):
            store.rename_patient("P0O1", "P-7", actor="t.one", details={})
    assert _store_text(db_file) == before


def test_a_patient_is_not_renamed_during_a_session(store: SessionStore) -> None:
    store.add_patient(PatientInfo("P0O1", "left", "hand"))
    running = store.start_session("P0O1", source="test")
    with pytest.raises(GmiError, match="session 1 running; rename the patient after it ends"):
        rename_patient(store, "P0O1", "P001", therapist="t.one", reason="typo")
    assert store.session(1).patient_id == "P0O1"
    running.finish()
    rename_patient(store, "P0O1", "P001", therapist="t.one", reason="typo")
    assert store.session(1).patient_id == "P001"


def test_the_rename_command_is_audited_and_refuses_in_one_sentence(tmp_path: Path) -> None:
    assert gmi_vr(["patients", "add", "P0O1", "--side", "left", "--age", "61"], tmp_path).returncode == 0
    assert gmi_vr(["patients", "add", "P002", "--side", "right"], tmp_path).returncode == 0
    taken = gmi_vr(["patients", "rename", "P0O1", "P002", "--reason", "typo"], tmp_path)
    assert taken.returncode == 2 and "already exists" in one_sentence(taken)
    bad = gmi_vr(["patients", "rename", "P0O1", "john@example.org", "--reason", "typo"], tmp_path)
    assert bad.returncode == 2 and "'@'" in one_sentence(bad)
    missing = gmi_vr(["patients", "rename", "P404", "P405", "--reason", "typo"], tmp_path)
    assert missing.returncode == 8 and "No patient P404" in one_sentence(missing)
    no_reason = gmi_vr(["patients", "rename", "P0O1", "P001"], tmp_path)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr

    done = gmi_vr(["patients", "rename", "P0O1", "P001", "--reason", "O for zero", "--by", "t.two"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "P0O1 is now P001 (records moved: audit entries 1, programs 1;" in done.stdout
    shown = gmi_vr(["patients", "show", "P001"], tmp_path)
    assert shown.returncode == 0 and "age_band: 60-69" in shown.stdout
    old_id = gmi_vr(["patients", "show", "P0O1"], tmp_path)
    assert old_id.returncode == 8 and one_sentence(old_id).endswith("; use P001.")
    with sqlite3.connect(tmp_path / "data" / "sessions.sqlite") as db:
        rows = db.execute("SELECT actor, patient_id, details FROM audit WHERE action = 'patient.rename'").fetchall()
    assert len(rows) == 1
    actor, patient_id, details = rows[0]
    assert (actor, patient_id) == ("t.two", "P001")
    assert json.loads(details)["reason"] == "O for zero"


def test_a_refused_first_patient_creates_no_data_folder(tmp_path: Path) -> None:
    """The id (and the age) are checked before the store opens: a name typed as the first
    patient's id leaves nothing behind, not even an empty data folder."""
    for args in (["John Smith"], ["P001", "--age", "400"]):
        refused = gmi_vr(["patients", "add", *args, "--side", "left"], tmp_path)
        assert refused.returncode == 2 if args == ["John Smith"] else refused.returncode != 0
        one_sentence(refused)
        assert "created the data folder" not in refused.stdout
        assert not (tmp_path / "data").exists()


def test_an_age_band_must_be_a_band_not_an_age(tmp_path: Path) -> None:
    """``--age-band 54`` would keep an exact age: refused in one sentence, before the store
    opens (the console's age list offers only these bands)."""
    from gmi_vr.app.patients import AGE_BANDS

    assert AGE_BANDS == ("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+")
    for band in ("54", "50-60", "old"):
        refused = gmi_vr(["patients", "add", "P001", "--side", "left", "--age-band", band], tmp_path)
        assert refused.returncode == 1 and f"The age band '{band}' is not one of 0-9," in one_sentence(refused)
        assert not (tmp_path / "data").exists()
    assert gmi_vr(["patients", "add", "P001", "--side", "left", "--age-band", "90+"], tmp_path).returncode == 0
    assert "90+" in gmi_vr(["patients", "show", "P001"], tmp_path).stdout


def test_adding_a_patient_twice_is_one_sentence_and_keeps_the_first(tmp_path: Path) -> None:
    assert gmi_vr(["patients", "add", "P001", "--side", "left", "--age", "54"], tmp_path).returncode == 0
    again = gmi_vr(["patients", "add", "P001", "--side", "right"], tmp_path)
    assert again.returncode == 2 and "Patient P001 already exists" in one_sentence(again)
    shown = gmi_vr(["patients", "show", "P001"], tmp_path)
    assert "affected_side: left" in shown.stdout and "50-59" in shown.stdout
