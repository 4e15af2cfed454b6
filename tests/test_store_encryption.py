"""Encryption at rest on real files: SQLCipher 4 through the real ``sqlcipher3``, the CLI in
real processes, and keyring's real file backend (``keyrings.alt``) chosen by environment.

The kill -9 and disk-full guarantees on an encrypted store are in test_recording_faults.py
(the same harness, parametrized)."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from recording_synth import body, frame

from gmi_vr.core.errors import StorageError
from gmi_vr.core.events import Event
from gmi_vr.recording import cipher, health
from gmi_vr.recording.encrypt import encrypt_store
from gmi_vr.recording.rows import PatientInfo, StoredTrial
from gmi_vr.recording.store import SessionStore

PATIENT = "P-CIPHER-0042"
SECRET = "correct horse battery staple"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _populate(db: Path) -> None:
    """A store with a patient, a program, a finished session with trials, events, ratings and motion."""
    with SessionStore.open(db) as store:
        store.add_patient(PatientInfo(PATIENT, "left", "hand"))
        store.add_patient(PatientInfo("P-OTHER", "right", "foot"))
        recorder = store.start_session(PATIENT, source="test")
        recorder.record_rating(6, "before")
        for i in range(200):
            recorder.record_frame(frame(i), body(i))
            if i % 20 == 0:
                recorder.record_trial(StoredTrial(onset_s=i / 90, body_part="hand", side="left", answer="left", correct=True))
                recorder.record_event(Event(i / 90, "trial.shown", {"frame": i}))
        recorder.record_rating(3, "after")
        recorder.finish("completed")
        store.audit("tester", "note", patient_id=PATIENT, details={"why": "test"})


def _dump(connection: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sqlite_sequence included), in rowid order."""
    tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: [tuple(r) for r in connection.execute(f'SELECT rowid, * FROM "{t}" ORDER BY rowid')] for t in tables}


def _plain_dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    connection = sqlite3.connect(db)
    try:
        return _dump(connection)
    finally:
        connection.close()


def _cipher_dump(db: Path, secret: str = SECRET) -> dict[str, list[tuple[Any, ...]]]:
    connection = cipher.connect(db, secret, read_only=True)
    try:
        return _dump(connection)
    finally:
        connection.close()


def _gmi(args: list[str], data: Path, tmp_path: Path, passphrase: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process, with keyring's file backend in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k != cipher.PASSPHRASE_ENV}
    env.update(
        GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(tmp_path / "none.toml"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring", XDG_DATA_HOME=str(tmp_path / "keyring"),
    )  # fmt: skip
    env.update(extra)
    if passphrase is not None:
        env[cipher.PASSPHRASE_ENV] = passphrase
    return subprocess.run(
        [sys.executable, "-m", "gmi_vr.cli", *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
    )


@pytest.fixture
def no_passphrase(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing in the environment and an empty file keyring: no passphrase anywhere."""
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "empty-keyring"))
    import keyring.core

    keyring.core.set_keyring(keyring.core.load_env())  # type: ignore[arg-type]
    monkeypatch.setattr(cipher, "_typed", None)
    monkeypatch.setattr(cipher, "_asker", None)


@pytest.fixture
def encrypted(tmp_path: Path, no_passphrase: None) -> tuple[Path, dict[str, list[tuple[Any, ...]]]]:
    """A populated store, encrypted; with every row it held before."""
    db = tmp_path / "data" / "sessions.sqlite"
    _populate(db)
    before = _plain_dump(db)
    encrypt_store(db, SECRET)
    return db, before


def test_an_encrypted_store_holds_no_plaintext_and_opens_only_with_its_passphrase(
    encrypted: tuple[Path, dict[str, list[tuple[Any, ...]]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, before = encrypted
    raw = db.read_bytes()
    assert PATIENT.encode() not in raw and b"P-OTHER" not in raw and b"trial.shown" not in raw
    assert not raw.startswith(b"SQLite format 3")
    assert cipher.marker_path(db).exists() and cipher.is_encrypted_store(db)
    plain = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    plain.close()
    sha = _sha(db)
    with pytest.raises(StorageError, match="is encrypted and no passphrase was given") as refused:
        SessionStore.open(db)
    assert refused.value.exit_code == 7
    assert _sha(db) == sha
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, SECRET)
    with SessionStore.open(db, create=False) as store:
        assert store.encrypted and store.writable
        assert [p.id for p in store.list_patients()] == ["P-CIPHER-0042", "P-OTHER"]
        (session,) = store.list_sessions(PATIENT)
        assert session.status == "completed"
        assert len(store.trials(session.id)) == 10 and len(store.events(session.id)) == 10
        assert [r.value for r in store.ratings(session.id)] == [6, 3]
        motion = store.motion(session.id)
        assert motion.index.tolist() == list(range(200))
        assert motion.time_ns.tolist() == [frame(i).time_ns for i in range(200)]
        store.add_patient(PatientInfo("P-NEW", "left", "hand"))  # and it writes, still encrypted
    with SessionStore.open(f"sqlite:///{db}", create=False) as store:  # named by URL, the same file
        assert store.encrypted and [p.id for p in store.list_patients()][:2] == ["P-CIPHER-0042", "P-NEW"]
    assert b"P-NEW" not in db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or b"P-NEW" not in wal.read_bytes()
    after = _cipher_dump(db)
    assert {t: rows for t, rows in after.items() if t not in ("patients", "audit")} == {
        t: rows for t, rows in before.items() if t not in ("patients", "audit")
    }
    # The file is standard SQLCipher 4: its own passphrase keying opens it (no gmi-vr code).
    native = cipher.dbapi.connect(str(db))
    native.execute(f"PRAGMA key = '{SECRET}'")
    assert native.execute("SELECT count(*) FROM patients").fetchone()[0] == 3
    native.close()


def test_encrypt_keeps_every_row_of_every_table_and_removes_the_plaintext(
    encrypted: tuple[Path, dict[str, list[tuple[Any, ...]]]],
) -> None:
    db, before = encrypted
    assert set(before) >= {"patients", "sessions", "motion_chunks", "trials", "events", "pain_ratings", "audit", "alembic_version"}
    assert _cipher_dump(db) == before
    assert health.quick_check(db, SECRET) == []
    assert sorted(p.name for p in db.parent.iterdir()) == ["sessions.sqlite", "sessions.sqlite-encrypted"]
    assert oct(db.stat().st_mode & 0o777) == "0o600" and oct(cipher.marker_path(db).stat().st_mode & 0o777) == "0o600"


def test_a_wrong_passphrase_is_one_sentence_exit_7_and_the_file_is_unchanged(
    encrypted: tuple[Path, dict[str, list[tuple[Any, ...]]]], tmp_path: Path
) -> None:
    db, _before = encrypted
    files = {p.name: _sha(p) for p in db.parent.iterdir()}
    for command in (["patients", "list"], ["store", "check"], ["sessions"], ["backup", "--out", str(tmp_path / "b.sqlite")]):
        done = _gmi(command, db.parent, tmp_path, passphrase="not the passphrase")
        assert done.returncode == 7, (command, done.stderr)
        assert done.stderr.count("\n") == 1 and "The passphrase does not open the encrypted session store" in done.stderr
        assert "Traceback" not in done.stderr
        assert {p.name: _sha(p) for p in db.parent.iterdir()} == files, command
    assert not (tmp_path / "b.sqlite").exists()
    missing = _gmi(["patients", "list"], db.parent, tmp_path)
    assert missing.returncode == 7 and "is encrypted and no passphrase was given" in missing.stderr
    assert {p.name: _sha(p) for p in db.parent.iterdir()} == files
    right = _gmi(["patients", "list"], db.parent, tmp_path, passphrase=SECRET)
    assert right.returncode == 0 and PATIENT in right.stdout


def test_encrypting_twice_says_it_already_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _gmi(["patients", "add", PATIENT, "--side", "left", "--part", "hand"], data, tmp_path).returncode == 0
    first = _gmi(["store", "encrypt"], data, tmp_path, passphrase=SECRET)
    assert first.returncode == 0, first.stderr
    assert "encrypted" in first.stdout and "plaintext file was overwritten and removed" in first.stdout
    sha = _sha(data / "sessions.sqlite")
    again = _gmi(["store", "encrypt"], data, tmp_path, passphrase=SECRET)
    assert again.returncode == 0 and "is already encrypted; nothing was changed" in again.stdout
    assert _sha(data / "sessions.sqlite") == sha


def test_encrypt_refuses_a_short_passphrase_and_a_running_session_changing_nothing(tmp_path: Path, no_passphrase: None) -> None:
    data = tmp_path / "data"
    db = data / "sessions.sqlite"
    with SessionStore.open(db) as store:
        store.add_patient(PatientInfo(PATIENT, "left", "hand"))
    short = _gmi(["store", "encrypt"], data, tmp_path, passphrase="short")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert cipher.header_is_plaintext(db) and not cipher.marker_path(db).exists()
    store = SessionStore.open(db)
    recorder = store.start_session(PATIENT, source="test")  # this process is alive: the session runs
    try:
        running = _gmi(["store", "encrypt"], data, tmp_path, passphrase=SECRET)
        assert running.returncode == 7 and f"Session {recorder.session_id} is recording" in running.stderr
        assert cipher.header_is_plaintext(db) and not cipher.marker_path(db).exists()
    finally:
        recorder.finish("completed")
        store.close()


def test_the_keyring_holds_the_passphrase_and_no_file_of_the_store_does(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _gmi(["patients", "add", PATIENT, "--side", "left", "--part", "hand"], data, tmp_path).returncode == 0
    done = _gmi(["store", "encrypt", "--keyring"], data, tmp_path, passphrase=SECRET)
    assert done.returncode == 0, done.stderr
    assert "keyring holds the passphrase" in done.stdout
    keyring_files = list((tmp_path / "keyring").rglob("*.cfg"))
    assert keyring_files, "keyring's file backend holds the entry"
    listed = _gmi(["patients", "list"], data, tmp_path)  # no passphrase given: the keyring has it
    assert listed.returncode == 0 and PATIENT in listed.stdout, listed.stderr
    for path in data.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path
    elsewhere = _gmi(["patients", "list"], data, tmp_path, XDG_DATA_HOME=str(tmp_path / "another-account"))
    assert elsewhere.returncode == 7 and "no passphrase was given" in elsewhere.stderr


def test_the_passphrase_is_asked_once_per_start(encrypted: tuple[Path, dict[str, list[tuple[Any, ...]]]]) -> None:
    db, _before = encrypted
    asked: list[int] = []

    def ask() -> str:
        asked.append(1)
        return SECRET

    cipher.set_asker(ask)
    try:
        for _ in range(3):
            with SessionStore.open(db) as store:
                assert len(store.list_patients()) == 2
        assert health.check_store(db).ok
    finally:
        cipher.set_asker(None)
    assert asked == [1]


def test_backup_of_an_encrypted_store_is_encrypted_and_restores_only_with_the_passphrase(
    encrypted: tuple[Path, dict[str, list[tuple[Any, ...]]]], tmp_path: Path
) -> None:
    db, before = encrypted
    out = tmp_path / "backup.sqlite"
    done = _gmi(["backup", "--out", str(out)], db.parent, tmp_path, passphrase=SECRET)
    assert done.returncode == 0 and "encrypted with the store's passphrase" in done.stdout, done.stderr
    raw = out.read_bytes()
    assert PATIENT.encode() not in raw and not raw.startswith(b"SQLite format 3")
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    target = tmp_path / "restored"
    for passphrase, sentence in ((None, "no passphrase was given"), ("not the passphrase", "the passphrase does not open it")):
        refused = _gmi(["restore", str(out)], target, tmp_path, passphrase=passphrase)
        assert refused.returncode == 7 and sentence in refused.stderr, refused.stderr
        assert not target.exists() or not any(target.iterdir())
    restored = _gmi(["restore", str(out)], target, tmp_path, passphrase=SECRET)
    assert restored.returncode == 0 and "2 patients, 1 session" in restored.stdout, restored.stderr
    store_file = target / "sessions.sqlite"
    assert cipher.is_encrypted_store(store_file) and PATIENT.encode() not in store_file.read_bytes()
    assert _cipher_dump(store_file) == before


def test_repair_of_an_encrypted_store_writes_an_encrypted_file(
    encrypted: tuple[Path, dict[str, list[tuple[Any, ...]]]], tmp_path: Path
) -> None:
    db, before = encrypted
    out = tmp_path / "recovered.sqlite"
    done = _gmi(["store", "repair", "--out", str(out)], db.parent, tmp_path, passphrase=SECRET)
    assert done.returncode == 0, done.stderr
    assert PATIENT.encode() not in out.read_bytes() and cipher.is_encrypted_store(out)
    assert {t: r for t, r in _cipher_dump(out).items()} == before


def test_kill_9_during_encryption_leaves_a_whole_store_plaintext_or_encrypted(tmp_path: Path, no_passphrase: None) -> None:
    """Killed at any moment of ``store encrypt``: the store opens (as it was, or encrypted)
    with every row; never half converted, never without its marker."""
    template = tmp_path / "template" / "sessions.sqlite"
    _populate(template)
    before = _plain_dump(template)
    start = time.monotonic()
    timing = tmp_path / "timing" / "sessions.sqlite"
    timing.parent.mkdir()
    timing.write_bytes(template.read_bytes())
    encrypt_store(timing, SECRET)
    took = time.monotonic() - start
    outcomes = set()
    for k in range(10):  # nine kills spread over the conversion, and one run left to finish
        db = tmp_path / f"kill{k}" / "sessions.sqlite"
        db.parent.mkdir()
        db.write_bytes(template.read_bytes())
        pid = os.fork()
        if pid == 0:
            try:
                encrypt_store(db, SECRET)
            finally:
                os._exit(0)
        if k < 9:
            time.sleep(took * k / 8)
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if cipher.header_is_plaintext(db):
            outcomes.add("plaintext")
            assert _plain_dump(db) == before, f"kill {k}"
        else:
            outcomes.add("encrypted")
            assert cipher.marker_path(db).exists(), f"kill {k}: an encrypted store without its marker"
            assert _cipher_dump(db) == before, f"kill {k}"
        os.environ[cipher.PASSPHRASE_ENV] = SECRET
        try:
            with SessionStore.open(db) as store:  # clears what the killed conversion left
                assert len(store.list_patients()) == 2
        finally:
            del os.environ[cipher.PASSPHRASE_ENV]
        left = sorted(p.name for p in db.parent.iterdir())
        assert not any(name.endswith((".encrypting", ".plaintext-old")) for name in left), f"kill {k}: {left}"
        if not cipher.header_is_plaintext(db):
            for path in db.parent.iterdir():
                assert PATIENT.encode() not in path.read_bytes(), f"kill {k}: plaintext left in {path.name}"
    assert outcomes == {"plaintext", "encrypted"}, outcomes


def test_a_changed_byte_in_an_encrypted_store_is_refused_as_damaged_and_left_unchanged(
    encrypted: tuple[Path, dict[str, list[tuple[Any, ...]]]], tmp_path: Path
) -> None:
    """Every SQLCipher page carries an HMAC: a flipped byte is found by the check on opening."""
    db, _before = encrypted
    page = 4096
    data = bytearray(db.read_bytes())
    data[3 * page + 100] ^= 0x01  # inside the fourth page, past the salt and the header
    db.write_bytes(bytes(data))
    sha = _sha(db)
    opened = _gmi(["patients", "list"], db.parent, tmp_path, passphrase=SECRET)
    assert opened.returncode == 7 and "is damaged" in opened.stderr and "store repair" in opened.stderr, opened.stderr
    checked = _gmi(["store", "check"], db.parent, tmp_path, passphrase=SECRET)
    assert checked.returncode == 7 and "problem" in checked.stdout
    assert _sha(db) == sha
