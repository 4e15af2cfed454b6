"""A damaged session store on real SQLite files: every command refuses it with one sentence
and exit 7, leaving the file byte for byte as it was; ``gmi-vr store check`` says what is
wrong; ``gmi-vr store repair`` copies what can be read into a new file."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
from pathlib import Path

import pytest
from recording_synth import body, frame
from test_cli import gmi_vr, one_sentence

from gmi_vr.core.errors import StorageError
from gmi_vr.core.events import Event
from gmi_vr.recording import health
from gmi_vr.recording.rows import PatientInfo, StoredTrial
from gmi_vr.recording.store import SessionStore

DATA_DIR = Path(__file__).resolve().parent.parent / "gmi_vr" / "data"
SESSIONS = 3
FRAMES = 600  # per session: several motion chunks, most of the file
TRIALS = 40  # per session


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(store: SessionStore, patient_id: str, trials: int = TRIALS, frames: int = FRAMES) -> int:
    recorder = store.start_session(patient_id, source="test")
    recorder.record_rating(4, "before")
    for i in range(frames):
        recorder.record_frame(frame(i), body(i))
        if i % (frames // trials) == 0 and i // (frames // trials) < trials:
            recorder.record_trial(StoredTrial(onset_s=i / 90, body_part="hand", side="left", answer="left", correct=True))
            recorder.record_event(Event(i / 90, "trial.shown", {"frame": i}))
    recorder.record_rating(3, "after")
    recorder.finish()
    assert recorder.session_id is not None
    return recorder.session_id


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder holding a real store: a patient and three recorded sessions."""
    folder = tmp_path / "data"
    with SessionStore.open(folder) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
        for _ in range(SESSIONS):
            _record(store, "P1")
    return folder


def _garbage_in_the_middle(path: Path) -> None:
    """8 KiB of noise in the middle of the file (not its header)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8192] = random.Random(11).randbytes(8192)
    path.write_bytes(bytes(data))


def test_garbage_in_the_middle_is_found_by_sqlite_and_the_store_is_refused_unchanged(data_dir: Path) -> None:
    db = data_dir / "sessions.sqlite"
    assert health.quick_check(db) == []
    _garbage_in_the_middle(db)
    digest = _sha(db)
    assert health.quick_check(db), "SQLite's quick_check must see the damage"
    with pytest.raises(StorageError, match=r"is damaged \(SQLite: .*store repair --out NEWFILE") as caught:
        SessionStore.open(data_dir)
    assert str(db) in str(caught.value)
    assert _sha(db) == digest


def test_a_table_name_that_is_not_text_is_damage_not_a_crash(data_dir: Path) -> None:
    """SQLite's message then carries bytes that are not UTF-8, which Python cannot decode."""
    db = data_dir / "sessions.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA writable_schema=ON")
        connection.execute("UPDATE sqlite_master SET name = CAST(X'74b1' AS TEXT) WHERE name = 'patients'")
    connection.close()
    digest = _sha(db)
    assert health.quick_check(db) == ["the file's table list holds bytes that are not text (damaged schema)"]
    with pytest.raises(StorageError, match=r"is damaged"):
        SessionStore.open(data_dir)
    assert _sha(db) == digest


def test_every_command_refuses_a_damaged_store_and_nothing_is_written(data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "sessions.sqlite"
    _garbage_in_the_middle(db)
    digest = _sha(db)
    commands = [
        ["patients", "add", "P2", "--side", "right"],
        ["patients", "edit", "P1", "--set", "stage=2", "--reason", "test"],
        ["patients", "progress", "P1", "--accept", "--reason", "test"],
        ["patients", "show", "P1"],
        ["patients", "list"],
        ["sessions"],
        ["export", "1", "--format", "csv", "--out", str(tmp_path / "export")],
        ["calibrate", "P1", "--sim"],  # refused before any window opens
    ]
    for command in commands:
        result = gmi_vr(command, tmp_path, DISPLAY=None)
        assert result.returncode == 7, (command, result.stdout, result.stderr)
        sentence = one_sentence(result)
        assert "is damaged" in sentence and "gmi-vr store repair" in sentence, command
        assert _sha(db) == digest, f"{command} changed the damaged store"
    assert not (tmp_path / "export").exists()


@pytest.mark.display
def test_a_patient_session_on_a_damaged_store_is_refused_and_nothing_is_written(data_dir: Path, tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    db = data_dir / "sessions.sqlite"
    _garbage_in_the_middle(db)
    digest = _sha(db)
    result = gmi_vr(["run", "--motion", str(DATA_DIR / "demo-reach.jsonl"), "--patient", "P1"], tmp_path, 400.0)
    assert result.returncode == 7, result.stderr
    assert "is damaged" in one_sentence(result)
    assert _sha(db) == digest


def test_store_check_says_ok_for_a_healthy_store_and_lists_the_problems_of_a_damaged_one(data_dir: Path, tmp_path: Path) -> None:
    healthy = gmi_vr(["store", "check"], tmp_path)
    assert healthy.returncode == 0, healthy.stderr
    assert f"ok: {data_dir / 'sessions.sqlite'}" in healthy.stdout and "integrity_check" in healthy.stdout
    assert "sessions: 3 rows" in healthy.stdout

    db = data_dir / "sessions.sqlite"
    _garbage_in_the_middle(db)
    digest = _sha(db)
    damaged = gmi_vr(["store", "check"], tmp_path)
    assert damaged.returncode == 7
    assert "problem: " in damaged.stdout and "ok:" not in damaged.stdout
    assert "store repair --out NEWFILE" in one_sentence(damaged)
    assert _sha(db) == digest


def test_store_check_of_a_missing_file_names_it(tmp_path: Path) -> None:
    result = gmi_vr(["store", "check", "--file", str(tmp_path / "nothing.sqlite")], tmp_path)
    assert result.returncode == 7
    assert f"no session store at {tmp_path / 'nothing.sqlite'}" in one_sentence(result)


def test_store_repair_recovers_what_can_be_read_into_a_new_file(data_dir: Path, tmp_path: Path) -> None:
    db = data_dir / "sessions.sqlite"
    _garbage_in_the_middle(db)
    digest = _sha(db)
    out = tmp_path / "recovered" / "sessions.sqlite"
    out.parent.mkdir()
    result = gmi_vr(["store", "repair", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert _sha(db) == digest, "the damaged store was modified"
    assert "trials: " in result.stdout and "rows recovered" in result.stdout
    assert f"recovered into {out}" in result.stdout
    assert "unreadable and lost" in result.stdout  # the noise hit rows: the report says which

    assert health.check_store(out).ok
    with SessionStore.open(out.parent) as store:  # a store gmi-vr opens and writes again
        assert store.patient("P1").affected_side == "left"
        assert len(store.list_sessions("P1")) == SESSIONS
        assert sum(len(store.trials(s.id)) for s in store.list_sessions()) == SESSIONS * TRIALS
        assert sum(len(store.ratings(s.id)) for s in store.list_sessions()) == SESSIONS * 2
        store.add_patient(PatientInfo("P2", "right", "hand"))

    again = gmi_vr(["store", "repair", "--out", str(out)], tmp_path)
    assert again.returncode == 7 and "already exists" in one_sentence(again)


def test_store_repair_steps_over_one_unreadable_page_and_names_the_lost_ids(tmp_path: Path) -> None:
    db = tmp_path / "data" / "sessions.sqlite"
    with SessionStore.open(db) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
        _record(store, "P1", trials=2000, frames=2000)
    connection = sqlite3.connect(db)
    try:
        leaves = connection.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = 'trials' AND pagetype = 'leaf' ORDER BY path"
        ).fetchall()
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find a page of the trials table")
    finally:
        connection.close()
    assert len(leaves) > 4
    page, lost = leaves[2]
    first_lost = 1 + leaves[0][1] + leaves[1][1]
    with db.open("r+b") as f:  # that leaf page becomes unreadable: an invalid page type
        f.seek((page - 1) * page_size)
        f.write(b"\xff" * page_size)
    digest = _sha(db)

    report = health.repair_store(db, tmp_path / "new.sqlite")
    trials = next(t for t in report.tables if t.table == "trials")
    assert trials.recovered == 2000 - lost
    assert trials.unreadable == ((first_lost - 1, first_lost + lost),)
    assert trials.describe() == f"trials: {2000 - lost} rows recovered; unreadable and lost: ids {first_lost}-{first_lost + lost - 1}"
    assert all(t.complete for t in report.tables if t.table != "trials")
    assert report.out_problems == ()
    assert _sha(db) == digest
    with SessionStore.open(tmp_path / "new.sqlite") as store:
        seqs = [t.seq for t in store.trials(1)]
        assert seqs == [s for s in range(1, 2001) if not first_lost <= s < first_lost + lost]


def test_store_repair_of_a_healthy_store_copies_everything(data_dir: Path, tmp_path: Path) -> None:
    report = health.repair_store(data_dir / "sessions.sqlite", tmp_path / "copy.sqlite")
    assert report.complete and report.out_problems == ()
    before, after = health.check_store(data_dir / "sessions.sqlite"), health.check_store(tmp_path / "copy.sqlite")
    assert after.rows == before.rows and after.rows["motion_chunks"] > 0
    with SessionStore.open(tmp_path / "copy.sqlite") as copy, SessionStore.open(data_dir) as original:
        assert copy.motion(2).rows.tobytes() == original.motion(2).rows.tobytes()


def test_store_repair_never_overwrites_and_refuses_an_unreadable_table_list(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"SQLite format 3\x00" + random.Random(2).randbytes(8192))
    digest = _sha(junk)
    with pytest.raises(StorageError, match="cannot read its list of tables"):
        health.repair_store(junk, tmp_path / "out.sqlite")
    assert _sha(junk) == digest and not (tmp_path / "out.sqlite").exists()
    assert not (tmp_path / "out.sqlite.partial").exists()
