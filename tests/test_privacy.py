"""Health records kept like health records: settings that decide the store, private files
whatever the umask, backups taken while a session records that restore, and erasure.

Everything runs on real SQLite files in real folders; file modes are read back from disk.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from recording_synth import body, frame

from gmi_vr import cli
from gmi_vr.core.errors import GmiError, NotFoundError, StorageError
from gmi_vr.core.events import Event
from gmi_vr.core.settings import load_settings
from gmi_vr.recording import privacy
from gmi_vr.recording.backup import backup_sqlite, restore_sqlite
from gmi_vr.recording.rows import PatientInfo, StoredRating, StoredTrial
from gmi_vr.recording.store import SessionStore, known_revisions, utcnow

ERASED = "ERASE-ME-7"
KEPT = "KEEP-ME-8"


@pytest.fixture
def no_umask() -> Iterator[None]:
    """The most permissive umask: whatever the app writes must still be private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def station_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder chosen by GMI_VR_DATA and no settings file; returns the data folder."""
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    return tmp_path / "data"


def _modes(root: Path) -> dict[str, int]:
    """Permission bits of every file and folder under ``root`` (``root`` included)."""
    found = {str(root): stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path)] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _assert_private(root: Path) -> None:
    modes = _modes(root)
    wrong = {
        path: oct(mode)
        for path, mode in modes.items()
        if mode != (privacy.FOLDER_MODE if Path(path).is_dir() else privacy.FILE_MODE)
    }
    assert not wrong, f"files readable beyond this account: {wrong}"


def _record_session(store: SessionStore, patient: str, frames: int = 120) -> int:
    recorder = store.start_session(patient, source="test", runtime_name="Monado", display_hz=90.0)
    recorder.record_rating(6, "before")
    block = recorder.begin_block("laterality", frame(0).time_s)
    for i in range(frames):
        recorder.record_frame(frame(i, hands=True), body(i))
        if i % 30 == 10:
            recorder.record_trial(StoredTrial(onset_s=frame(i).time_s, body_part="hand", side="left",
                                              rotation_deg=90.0, view="back", answer="left", correct=True,
                                              reaction_time_s=1.2))  # fmt: skip
    recorder.record_event(Event(frame(frames // 2).time_s, "safety.flare", {"rating": 7, "patient": patient}))
    recorder.end_block(block, frame(frames - 1).time_s)
    recorder.record_rating(4, "after")
    recorder.finish()
    return recorder.session_id  # type: ignore[return-value]


# ---------------------------------------------------------------------- settings


def test_one_rule_decides_the_data_folder_and_the_database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(f'data_dir = "{tmp_path / "from-file"}"\n')
    monkeypatch.setenv("GMI_VR_CONFIG", str(settings_file))
    monkeypatch.delenv("GMI_VR_DATA", raising=False)
    settings = load_settings()
    assert settings.data_dir == tmp_path / "from-file"
    assert settings.database_file == tmp_path / "from-file" / "sessions.sqlite"
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'from-file' / 'sessions.sqlite'}"
    # The store the app opens is the one the settings name.
    with SessionStore.open(create=True) as store:
        assert store.path == tmp_path / "from-file" / "sessions.sqlite"
    assert (tmp_path / "from-file" / "sessions.sqlite").is_file()
    # GMI_VR_DATA, a one-off choice in this shell, comes before the file.
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "from-env"))
    assert load_settings().data_dir == tmp_path / "from-env"


def test_the_settings_station_names_this_pc_in_the_audit_trail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(f'data_dir = "{tmp_path / "data"}"\nstation = "room-2"\n')
    monkeypatch.setenv("GMI_VR_CONFIG", str(settings_file))
    monkeypatch.delenv("GMI_VR_DATA", raising=False)
    assert cli.main(["patients", "add", "P001", "--side", "left", "--by", "ana"]) == 0
    with SessionStore.open(tmp_path / "data", create=False) as store:
        assert [(a.actor, a.station) for a in store.audit_trail("P001")] == [("ana", "room-2")]


def test_a_wrongly_typed_station_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("station = 2\n")
    with pytest.raises(GmiError, match="station = 2, but it must be a line of text"):
        load_settings(path)


def test_the_console_size_setting_sizes_the_therapist_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.fail("run under tools/with-xvfb.py: the therapist window needs a display")
    from PIL import Image

    from gmi_vr.app import run_sim

    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(f'data_dir = "{tmp_path / "data"}"\nconsole_width = 640\nconsole_height = 360\n')
    monkeypatch.setenv("GMI_VR_CONFIG", str(settings_file))
    monkeypatch.delenv("GMI_VR_DATA", raising=False)
    shot = tmp_path / "shot.png"
    run_sim(None, max_frames=3, screenshot=shot, visible=False)
    with Image.open(shot) as picture:
        assert picture.size == (640, 360)


# ---------------------------------------------------------------------- private files


def test_every_file_of_the_store_is_private_whatever_the_umask(tmp_path: Path, no_umask: None) -> None:
    data = tmp_path / "clinic" / "data"
    with SessionStore.open(data) as store:
        store.add_patient(PatientInfo("P001", "left", "hand"))
        recorder = store.start_session("P001", source="test")
        for i in range(30):
            recorder.record_frame(frame(i), body(i))
        assert recorder.flush()
        # While the session records: the database, its WAL and shared memory, the disk reserve.
        names = {p.name for p in data.iterdir()}
        assert {"sessions.sqlite", "sessions.sqlite-wal", "sessions.sqlite-shm", "sessions.sqlite-reserve"} <= names
        _assert_private(data)
        recorder.finish()
    _assert_private(data)


def test_exports_backups_and_reports_are_private_whatever_the_umask(
    tmp_path: Path, station_env: Path, no_umask: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["patients", "add", "P001", "--side", "left"]) == 0
    with SessionStore.open(create=False) as store:
        session = _record_session(store, "P001")
    for fmt in ("bids", "csv", "fhir"):
        assert cli.main(["export", str(session), "--format", fmt, "--out", str(tmp_path / "exports" / fmt)]) == 0
    (tmp_path / "backups").mkdir(mode=0o700)
    assert cli.main(["backup", "--out", str(tmp_path / "backups" / "monday.sqlite")]) == 0
    (tmp_path / "reports").mkdir(mode=0o700)
    assert cli.main(["report", "P001", "--out", str(tmp_path / "reports" / "P001.html")]) == 0
    assert os.umask(0) == 0  # the command gave the caller's umask back
    _assert_private(station_env)
    for fmt in ("bids", "csv", "fhir"):
        _assert_private(tmp_path / "exports" / fmt)
    _assert_private(tmp_path / "backups")
    _assert_private(tmp_path / "reports")


def test_doctor_warns_about_a_folder_others_can_read_and_says_how_to_fix_it(
    station_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XR_RUNTIME_JSON", "/nonexistent/runtime.json")
    assert cli.main(["patients", "add", "P001", "--side", "left"]) == 0
    assert privacy.folder_exposure(station_env) is None
    os.chmod(station_env, 0o755)  # as an older gmi-vr or a copy by hand left it
    os.chmod(station_env / "sessions.sqlite", 0o644)
    problem = privacy.folder_exposure(station_env)
    assert problem is not None and "chmod -R go-rwx" in problem and "sessions.sqlite (-rw-r--r--)" in problem
    capsys.readouterr()
    with pytest.raises(GmiError):
        from gmi_vr.app import doctor

        doctor(print)  # fails for the headset (no runtime here); the data folder is a row of its checklist
    (row,) = [line for line in capsys.readouterr().out.splitlines() if "data folder" in line]
    assert row.startswith("WARN  data folder ")
    assert f"The data folder {station_env} can be read by other accounts" in row
    os.system(f"chmod -R go-rwx '{station_env}'")  # the fix the warning gives
    assert privacy.folder_exposure(station_env) is None


def test_doctor_says_whether_the_store_is_encrypted_and_never_prints_the_passphrase(
    station_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gmi_vr.app import doctor
    from gmi_vr.recording import cipher
    from gmi_vr.recording.encrypt import encrypt_store

    monkeypatch.setenv("XR_RUNTIME_JSON", "/nonexistent/runtime.json")
    monkeypatch.setattr(cipher, "_typed", None)
    monkeypatch.setattr(cipher, "_asker", None)

    def store_row() -> tuple[str, str]:
        """The store row's (verdict, detail)."""
        capsys.readouterr()
        with pytest.raises(GmiError):
            doctor(print)  # fails for the headset (no runtime here); the store is a row of its checklist
        out = capsys.readouterr().out
        assert secret not in out
        (row,) = [line for line in out.splitlines() if line[6:].startswith("store ")]
        verdict, _, detail = row.split(None, 2)
        return verdict, detail

    secret = "a long passphrase nobody prints"
    verdict, detail = store_row()
    assert verdict == "pass" and detail.endswith(
        "not created yet; once it is, encrypt it with 'gmi-vr store encrypt' (gmi-vr otherwise closed; see README, "
        "Encryption at rest).")  # fmt: skip
    assert cli.main(["patients", "add", "P001", "--side", "left"]) == 0
    store = station_env / "sessions.sqlite"
    assert store_row() == ("WARN", f"{store} plaintext: whoever can copy the file reads the records; "
                           "encrypt it with 'gmi-vr store encrypt' (gmi-vr otherwise closed; see README, "
                           "Encryption at rest).")  # fmt: skip
    encrypt_store(store, secret)
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, secret)
    assert store_row() == ("pass", f"{store} encrypted (SQLCipher; its passphrase is asked for, never shown)")


# ---------------------------------------------------------------------- backup and restore


def test_a_backup_taken_while_a_session_records_restores_every_committed_record(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SessionStore.open(data)
    store.add_patient(PatientInfo("P001", "left", "hand"))
    recorder = store.start_session("P001", source="test", chunk_seconds=0.1)
    stop = threading.Event()
    committed_ratings: list[float] = []  # ratings whose commit returned before the backup began

    def record_motion() -> None:
        i = 0
        while not stop.is_set():
            recorder.record_frame(frame(i), body(i))
            i += 1
            time.sleep(0.002)

    def rate() -> None:
        n = 0
        while not stop.is_set():
            store.add_rating("P001", StoredRating(n % 11, "during", "therapist", utcnow(), float(n)))
            committed_ratings.append(float(n))
            n += 1

    threads = [threading.Thread(target=record_motion), threading.Thread(target=rate)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        assert recorder.flush()
        chunks_before = {m.chunk_id: m.frame_count for m in store.motion_chunks(recorder.session_id)}  # type: ignore[arg-type]
        ratings_before = list(committed_ratings)
        info = backup_sqlite(data / "sessions.sqlite", tmp_path / "backup.sqlite")
        time.sleep(0.5)  # the writers go on after the backup
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    recorder.finish()
    assert chunks_before and len(ratings_before) > 10
    assert info.sessions == 1 and stat.S_IMODE((tmp_path / "backup.sqlite").stat().st_mode) == 0o600
    assert not (tmp_path / "backup.sqlite-wal").exists()

    target = restore_sqlite(tmp_path / "backup.sqlite", tmp_path / "restored", known_revisions())
    with SessionStore.open(target, create=False) as restored:
        times = {r.time_s for r in restored.ratings(patient_id="P001")}
        assert set(ratings_before) <= times
        chunks = {m.chunk_id: m for m in restored.motion_chunks(recorder.session_id)}  # type: ignore[arg-type]
        for chunk_id, frame_count in chunks_before.items():
            assert chunks[chunk_id].frame_count == frame_count
            assert restored.load_chunk(chunks[chunk_id]).rows.tobytes() == store.load_chunk(chunks[chunk_id]).rows.tobytes()
        # The copy is one commit's state: every restored row is the store's row, unchanged.
        restored_ratings = restored.ratings(patient_id="P001")
        live = {(r.time_s, r.value) for r in store.ratings(patient_id="P001")}
        assert {(r.time_s, r.value) for r in restored_ratings} <= live
    store.close()
    _assert_private(tmp_path / "restored")


def _backup_of_a_small_store(tmp_path: Path) -> Path:
    with SessionStore.open(tmp_path / "src") as store:
        store.add_patient(PatientInfo("P001", "left", "hand"))
    backup_sqlite(tmp_path / "src" / "sessions.sqlite", tmp_path / "b.sqlite")
    return tmp_path / "b.sqlite"


def test_restore_refuses_a_damaged_a_newer_or_a_foreign_file_with_one_sentence(tmp_path: Path) -> None:
    backup = _backup_of_a_small_store(tmp_path)
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(backup.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    with pytest.raises(StorageError, match=r"written by a newer gmi-vr \(schema 9999\); update gmi-vr"):
        restore_sqlite(newer, tmp_path / "r1", known_revisions())

    damaged = tmp_path / "damaged.sqlite"
    raw = bytearray(backup.read_bytes())
    page = 4096
    for offset in range(page * 2, len(raw), page):  # scramble every page after the schema
        raw[offset + 8 : offset + 200] = bytes(range(192))
    damaged.write_bytes(bytes(raw))
    with pytest.raises(StorageError, match=r"is damaged \(SQLite: .*\); nothing was restored"):
        restore_sqlite(damaged, tmp_path / "r2", known_revisions())

    text = tmp_path / "notes.txt"
    text.write_text("not a store")
    with pytest.raises(StorageError, match="is not a gmi-vr backup"):
        restore_sqlite(text, tmp_path / "r3", known_revisions())
    with pytest.raises(NotFoundError, match="There is no backup file"):
        restore_sqlite(tmp_path / "absent.sqlite", tmp_path / "r4", known_revisions())
    assert not any((tmp_path / name).exists() for name in ("r1", "r2", "r3", "r4"))


def test_restore_goes_only_into_an_empty_data_folder(tmp_path: Path, station_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backup = _backup_of_a_small_store(tmp_path)
    assert cli.main(["patients", "add", "P002", "--side", "right"]) == 0
    before = (station_env / "sessions.sqlite").read_bytes()
    capsys.readouterr()
    assert cli.main(["restore", str(backup)]) == 7
    assert "is not empty; a restore never overwrites a store" in capsys.readouterr().err
    assert (station_env / "sessions.sqlite").read_bytes() == before
    assert cli.main(["backup", "--out", str(backup)]) == 7  # never overwrites a backup either
    assert "already exists" in capsys.readouterr().err

    os.environ["GMI_VR_DATA"] = str(tmp_path / "fresh")  # station_env's monkeypatch restores it
    assert cli.main(["restore", str(backup)]) == 0
    assert "1 patient, 0 sessions" in capsys.readouterr().out
    assert cli.main(["patients", "list"]) == 0
    assert "P001" in capsys.readouterr().out


# ---------------------------------------------------------------------- erasure


def _tables_naming(db: Path, patient: str, sessions: list[int]) -> dict[str, int]:
    """Rows naming the patient or one of their sessions, per table, found from the file's
    own schema (every table with a patient_id or session_id column, the patients table)."""
    found: dict[str, int] = {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = {r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")}
            clauses, params = [], []
            if "patient_id" in columns:
                clauses.append("patient_id = ?")
                params.append(patient)
            if "session_id" in columns and sessions:
                clauses.append(f"session_id IN ({','.join('?' * len(sessions))})")
                params += sessions
            if table == "patients":
                clauses.append("id = ?")
                params.append(patient)
            if clauses:
                found[table] = conn.execute(f"SELECT count(*) FROM {table} WHERE {' OR '.join(clauses)}", params).fetchone()[0]
    finally:
        conn.close()
    return found


def test_erasing_a_patient_leaves_no_row_and_no_byte_of_them(tmp_path: Path, station_env: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    for patient in (ERASED, KEPT):
        assert cli.main(["patients", "add", patient, "--side", "left"]) == 0
    with SessionStore.open(create=False) as store:
        sessions = [_record_session(store, ERASED), _record_session(store, ERASED)]
        kept_session = _record_session(store, KEPT)
        store.add_calibration(ERASED, {"height_m": 1.7})
        store.add_rating(ERASED, StoredRating(5, "before", "therapist", utcnow()))
        store.audit("ana", "session.note", session_id=sessions[0], details={"note": "tired"})
    db = station_env / "sessions.sqlite"
    naming = _tables_naming(db, ERASED, sessions)
    assert {"patients", "sessions", "motion_chunks", "motion_layouts", "trials", "events", "pain_ratings",
            "calibrations", "programs", "audit", "blocks"} <= {t for t, n in naming.items() if n}  # fmt: skip
    kept_before = _tables_naming(db, KEPT, [kept_session])
    capsys.readouterr()
    # Another window keeps the store open: closing the erasing command's connection then does
    # not checkpoint the WAL by itself, so the erasure must.
    console = SessionStore.open(create=False)
    assert len(console.list_patients()) == 2

    assert cli.main(["patients", "erase", ERASED, "--reason", "consent withdrawn", "--by", "ana"]) == 0
    out = capsys.readouterr().out
    assert f"erased patient {ERASED}: 2 sessions" in out
    assert "not reached: files already exported" in out

    assert all(n == 0 for n in _tables_naming(db, ERASED, sessions).values())
    assert _tables_naming(db, KEPT, [kept_session]) == kept_before
    with SessionStore.open(create=False) as store:
        erasures = [a for a in store.audit_trail() if a.action == "patient.erase"]
        assert len(erasures) == 1
        entry = erasures[0]
        assert (entry.actor, entry.patient_id, entry.session_id) == ("ana", None, None)
        assert ERASED not in json.dumps(entry.details) and entry.details["reason"] == "consent withdrawn"
        store.close()
    # secure_delete and the checkpoint: the id is nowhere in the files (WAL and free pages
    # included), while the other window still has the store open.
    assert (station_env / "sessions.sqlite-wal").exists()
    for path in station_env.iterdir():
        assert ERASED.encode() not in path.read_bytes(), f"{path.name} still holds the erased id"
    assert KEPT.encode() in db.read_bytes()
    console.close()

    assert cli.main(["patients", "erase", ERASED, "--reason", "again"]) == 8
    assert "No patient" in capsys.readouterr().err


def test_erasing_a_patient_without_sessions_leaves_every_other_patients_rows(tmp_path: Path) -> None:
    with SessionStore.open(tmp_path / "data") as store:
        for patient in (ERASED, KEPT):
            store.add_patient(PatientInfo(patient, "left", "hand"))
        kept_session = _record_session(store, KEPT)
    db = tmp_path / "data" / "sessions.sqlite"
    kept_before = _tables_naming(db, KEPT, [kept_session])
    assert kept_before["trials"] and kept_before["events"] and kept_before["motion_chunks"]
    with SessionStore.open(tmp_path / "data") as store, warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning from the query builder either
        info = store.erase_patient(ERASED, actor="ana", reason="consent withdrawn")
    assert info.sessions == 0 and info.rows_removed["patients"] == 1
    assert _tables_naming(db, KEPT, [kept_session]) == kept_before


def test_a_patient_with_a_running_session_is_not_erased(tmp_path: Path) -> None:
    with SessionStore.open(tmp_path / "data") as store:
        store.add_patient(PatientInfo(ERASED, "left", "hand"))
        recorder = store.start_session(ERASED, source="test")
        with pytest.raises(GmiError, match="has session 1 running; erase the patient after it ends"):
            store.erase_patient(ERASED, actor="ana", reason="consent withdrawn")
        recorder.finish()
        assert store.patient(ERASED).id == ERASED
        assert store.erase_patient(ERASED, actor="ana", reason="consent withdrawn").sessions == 1


# ---------------------------------------------------------------------- de-identified exports


def test_bids_dates_can_be_shifted_for_de_identified_data(tmp_path: Path, station_env: Path) -> None:
    assert cli.main(["patients", "add", "P001", "--side", "left"]) == 0
    with SessionStore.open(create=False) as store:
        session = _record_session(store, "P001")
        started = store.session(session).started_at
    assert cli.main(["export", str(session), "--format", "bids", "--out", str(tmp_path / "true")]) == 0
    assert cli.main(["export", str(session), "--format", "bids", "--out", str(tmp_path / "shifted"),
                     "--shift-dates", "-36500"]) == 0  # fmt: skip

    def acq_times(root: Path) -> list[str]:
        times = []
        for tsv in sorted(root.rglob("*_scans.tsv")) + sorted(root.rglob("*_sessions.tsv")):
            with tsv.open(newline="") as f:
                times += [row["acq_time"] for row in csv.DictReader(f, delimiter="\t")]
        return times

    from datetime import timedelta

    true_day = started.strftime("%Y-%m-%d")
    shifted_day = (started - timedelta(days=36500)).strftime("%Y-%m-%d")
    assert acq_times(tmp_path / "true") and all(t.startswith(true_day) for t in acq_times(tmp_path / "true"))
    assert acq_times(tmp_path / "shifted") and all(t.startswith(shifted_day) for t in acq_times(tmp_path / "shifted"))
    assert not any(true_day in p.read_text() for p in (tmp_path / "shifted").rglob("*") if p.is_file() and p.suffix in (".tsv", ".json"))
    assert cli.main(["export", str(session), "--format", "csv", "--out", str(tmp_path / "csv"), "--shift-dates", "3"]) != 0
