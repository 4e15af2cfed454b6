"""Faults on real SQLite files: kill -9 at random moments, a full disk, a read-only data
folder, damaged files and files of a newer schema. The kill -9 and full-disk guarantees are
checked on a plaintext and on an encrypted (SQLCipher) store alike."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from recording_synth import RATE_HZ, body, frame

from gmi_vr.app.headset import status_line
from gmi_vr.core.errors import StorageError
from gmi_vr.core.events import Event
from gmi_vr.recording import cipher
from gmi_vr.recording.encrypt import encrypt_store
from gmi_vr.recording.recorder import RESERVE_BYTES
from gmi_vr.recording.rows import PatientInfo, StoredTrial
from gmi_vr.recording.store import SessionStore

KILLS = 32
SEED = 20261125
PASSPHRASE = "fault harness passphrase"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(params=["plaintext", "encrypted"])
def store_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same harness on both kinds of store; an encrypted one gets its passphrase from the
    environment (inherited by the forked recorders)."""
    if request.param == "encrypted":
        monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASSPHRASE)
    return str(request.param)


def _encrypt_if(kind: str, db: Path) -> None:
    if kind == "encrypted":
        encrypt_store(db, PASSPHRASE)
        assert cipher.is_encrypted_store(db)


def _connect(path: Path) -> sqlite3.Connection:
    """A plaintext connection, or a keyed SQLCipher one for an encrypted store."""
    if cipher.is_encrypted_store(path):
        return cipher.connect(path, PASSPHRASE)  # type: ignore[no-any-return]
    return sqlite3.connect(path)


def _integrity(path: Path) -> str:
    db = _connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def _count(path: Path, sql: str, *args: object) -> int:
    db = _connect(path)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


# ---------------------------------------------------------------------------- kill -9


def _record_until_killed(db: Path, fresh: bool, out: int) -> None:
    """Child process: record a synthetic 90 Hz session with hand joints and a displayed body,
    reporting after every frame what it generated and what the recorder has committed."""

    def say(line: str) -> None:
        os.write(out, (line + "\n").encode())

    store = SessionStore.open(db)
    if fresh:
        store.add_patient(PatientInfo("P1", "left", "hand"))
    recorder = store.start_session("P1", source="test")
    say(f"session {recorder.session_id}")
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < 5.0:
        f = frame(i)
        recorder.record_frame(f, body(i))
        if i % 9 == 0:
            recorder.record_trial(StoredTrial(onset_s=f.time_s, body_part="hand", side="left", answer="left", correct=True, reaction_time_s=0.9))
            recorder.record_event(Event(f.time_s, "trial.shown", {"frame": i}))
        stats = recorder.stats()
        say(f"frame {i} {f.time_ns} {stats.frames_written} {stats.records_written}")
        i += 1
        delay = start + i / RATE_HZ - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def _last_report(raw: bytes) -> tuple[int | None, list[str] | None]:
    session = None
    last = None
    for line in raw.decode().splitlines()[:-1] + ([raw.decode().splitlines()[-1]] if raw.endswith(b"\n") else []):
        parts = line.split()
        if parts[0] == "session":
            session = int(parts[1])
        elif parts[0] == "frame":
            last = parts
    return session, last


def test_kill_9_at_random_moments_loses_no_committed_record_and_at_most_one_second(tmp_path: Path, store_kind: str) -> None:
    rng = random.Random(SEED)
    shared = tmp_path / "shared" / "sessions.sqlite"
    with SessionStore.open(shared) as s:
        s.add_patient(PatientInfo("P1", "left", "hand"))
    _encrypt_if(store_kind, shared)
    checked_sessions = 0
    for k in range(KILLS):
        # Now and then a store created by the child, killed during its creation (a new store is
        # plaintext: a kill during encryption is test_store_encryption's).
        fresh = k % 6 == 5 and store_kind == "plaintext"
        db = tmp_path / f"fresh{k}" / "sessions.sqlite" if fresh else shared
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(read_fd)
                _record_until_killed(db, fresh, write_fd)
            except BaseException:
                code = 1
            os._exit(code)
        os.close(write_fd)
        time.sleep(rng.uniform(0.0, 2.2) if not fresh else rng.uniform(0.0, 0.6))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the child ended by itself instead of being killed"
        raw = b""
        while chunk := os.read(read_fd, 1 << 16):
            raw += chunk
        os.close(read_fd)

        if db.exists():
            assert _integrity(db) == "ok", f"kill {k}"
        with SessionStore.open(db) as store:  # recovery runs here
            session_id, last = _last_report(raw) if raw else (None, None)
            if session_id is None:
                continue
            info = store.session(session_id)
            assert info.status == "interrupted", f"kill {k}: {info.status}"
            assert session_id in store.recovered_sessions
            if last is None:
                continue
            checked_sessions += 1
            generated, last_time_ns, committed_frames, committed_records = (int(x) for x in last[1:])
            trials = store.trials(session_id)
            events = store.events(session_id)
            assert len(trials) + len(events) >= committed_records, f"kill {k}: committed records lost"
            assert [t.seq for t in trials] == list(range(1, len(trials) + 1))
            motion = store.motion(session_id)
            assert len(motion.index) >= committed_frames, f"kill {k}: committed frames lost"
            assert motion.index.tolist() == list(range(len(motion.index)))
            newest_kept = int(motion.time_ns[-1]) if len(motion.index) else frame(0).time_ns
            lost_s = (last_time_ns - newest_kept) / 1e9
            assert lost_s <= 1.0, f"kill {k}: {lost_s:.3f} s of motion lost (frame {generated})"
    assert checked_sessions >= KILLS // 2, "too few kills landed while recording"
    assert cipher.is_encrypted_store(shared) == (store_kind == "encrypted")


def test_kill_9_while_a_new_store_is_being_created_leaves_a_usable_store(tmp_path: Path) -> None:
    """The schema is created in one transaction: a kill during it leaves no half schema that
    the next open would refuse as someone else's database."""
    start = time.monotonic()
    with SessionStore.open(tmp_path / "timing" / "sessions.sqlite"):
        pass
    creation_s = time.monotonic() - start
    for k in range(12):
        db = tmp_path / f"new{k}" / "sessions.sqlite"
        pid = os.fork()
        if pid == 0:
            try:
                SessionStore.open(db)
            finally:
                os._exit(0)
        time.sleep(creation_s * k / 10)  # spread over the creation time, and one after it
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with SessionStore.open(db) as store:
            store.add_patient(PatientInfo("P1", "left", "hand"))
        assert _integrity(db) == "ok"


# ---------------------------------------------------------------------------- disk full


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[bool]:
    """Mount a small tmpfs at ``path`` when this process may (root); yields whether it did."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        yield False
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _recording_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gmi_vr.recording" and r.levelno >= logging.ERROR]


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_disk_full_keeps_every_record_closes_the_session_and_the_store_opens_once_space_is_freed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, store_kind: str
) -> None:
    caplog.set_level(logging.WARNING, logger="gmi_vr.recording")
    mount = tmp_path / "small"
    with _tmpfs(mount, "3m") as mounted:
        if not mounted:
            pytest.skip("needs root to mount a small tmpfs: a real full disk, not a simulated one")
        db = mount / "sessions.sqlite"
        reserve = mount / "sessions.sqlite-reserve"
        with SessionStore.open(db) as new:
            new.add_patient(PatientInfo("P1", "left", "hand"))
        _encrypt_if(store_kind, db)
        store = SessionStore.open(db)
        assert store.encrypted == (store_kind == "encrypted")
        recorder = store.start_session("P1", source="test")
        assert reserve.stat().st_size == RESERVE_BYTES
        recorder.record_rating(6, "before")
        for i in range(90):
            recorder.record_frame(frame(i), body(i))
        for n in range(5):
            recorder.record_trial(StoredTrial(onset_s=float(n), body_part="hand", side="left"))
        assert recorder.flush()
        assert recorder.stats().write_errors == 0

        # Motion fills the disk at ten times real time while trials go on being given.
        i, trials, failed_at = 90, 5, None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for _ in range(45):
                recorder.record_frame(frame(i), body(i))
                i += 1
            recorder.record_trial(StoredTrial(onset_s=i / RATE_HZ, body_part="hand", side="right"))
            trials += 1
            time.sleep(0.05)
            if failed_at is None and recorder.stats().write_errors:
                failed_at = time.monotonic()
            if failed_at is not None and time.monotonic() - failed_at > 1.5:
                break
        assert failed_at is not None, "the disk never filled up"
        assert _wait_for(lambda: recorder.stats().pending_records == 0, 5), "records wait while the disk is full"
        during = recorder.stats()
        # The therapist is told at once (the window's status line shows last_error), once in the log.
        assert "full" in (during.last_error or "") and "motion is no longer recorded" in (during.last_error or "")
        assert during.lost_records == 0 and during.dropped_frames > 0 and during.frames_received == i
        assert len(_recording_errors(caplog)) == 1, "a failure must be reported once, not per write"
        line = status_line("sim", during)
        assert "RECORDING FAILED" in line and "full; motion is no longer recorded" in line
        assert not reserve.exists(), "the held space goes to the records once the disk is full"

        # Still full (all that is left is what the reserve gave back): the closing rating and
        # the session's end are written all the same.
        assert os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize <= RESERVE_BYTES
        recorder.record_rating(3, "after")
        after = recorder.finish("completed")
        assert after.lost_records == 0
        store.close()
        with SessionStore.open(db) as full:
            assert full.session(1).status == "completed"
            assert len(full.trials(1)) == trials
            assert [r.value for r in full.ratings(1)] == [6, 3]

        # Space comes back: the store opens and writes again, SQLite finds it healthy.
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
        assert _integrity(db) == "ok"
        with SessionStore.open(db) as reopened:
            assert reopened.writable
            reopened.add_patient(PatientInfo("P2", "right", "hand"))
            motion = reopened.motion(1)
            assert motion.index[:90].tolist() == list(range(90))  # what was written before is intact
            assert len(motion.index) == after.frames_written
            assert reopened.session(1).dropped_frames == after.dropped_frames
            assert len(reopened.trials(1)) == trials
            assert reopened.encrypted == (store_kind == "encrypted")


def test_a_store_whose_pages_still_live_in_its_write_ahead_log_opens(tmp_path: Path) -> None:
    """After a checkpoint that could not finish (a full disk), the main file is shorter than
    its header says while the missing pages are in the WAL: SQLite reads them from there, and
    so must gmi-vr (no guess from the file size)."""
    live = tmp_path / "live" / "sessions.sqlite"
    with SessionStore.open(live) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
    short_size = live.stat().st_size
    writer = sqlite3.connect(live)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("CREATE TEMP TABLE t (x)")
        for n in range(200):
            writer.execute("INSERT INTO audit (at, actor, action, station, details) VALUES (?, ?, ?, ?, ?)",
                           ("2026-01-01 00:00:00", "t", f"note.{n}", "s", '{"pad": "' + "x" * 500 + '"}'))  # fmt: skip
        writer.commit()
        writer.execute("PRAGMA wal_checkpoint(PASSIVE)")  # every page copied, the WAL kept
        copy = tmp_path / "copy"
        copy.mkdir()
        for suffix in ("", "-wal"):
            (copy / f"sessions.sqlite{suffix}").write_bytes(Path(f"{live}{suffix}").read_bytes())
    finally:
        writer.close()
    db = copy / "sessions.sqlite"
    header_pages = int.from_bytes(db.read_bytes()[28:32], "big")
    with db.open("r+b") as f:
        f.truncate(short_size)  # the pages the checkpoint added are only in the WAL now
    assert db.stat().st_size < header_pages * 4096
    with SessionStore.open(db) as store:
        assert len(store.audit_trail()) == 200
    assert _integrity(db) == "ok"


# ---------------------------------------------------------------------------- read-only folder


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only: a read-only bind mount as root (root ignores permissions),
    permissions otherwise."""
    if os.geteuid() == 0:
        if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode:
            pytest.skip("root without mount permission cannot make a folder read-only here")
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        mode = folder.stat().st_mode
        os.chmod(folder / "sessions.sqlite", 0o444)
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, mode)
            os.chmod(folder / "sessions.sqlite", 0o644)


def test_read_only_data_folder_reads_and_refuses_every_write_and_nothing_is_lost(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gmi_vr.recording")
    folder = tmp_path / "data"
    with SessionStore.open(folder) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
        recorder = store.start_session("P1", source="test")
        for i in range(120):
            recorder.record_frame(frame(i))
        recorder.record_trial(StoredTrial(onset_s=1.0, body_part="hand", side="left"))
        recorder.finish()
    db = folder / "sessions.sqlite"
    digest = _sha(db)
    with _read_only(folder):
        with SessionStore.open(folder) as store:
            assert not store.writable and "cannot be written" in (store.open_problem or "")
            assert [s.status for s in store.list_sessions()] == ["completed"]
            assert len(store.trials(1)) == 1 and len(store.motion(1).index) == 120
            # A session is refused before it runs: it would not be saved.
            with pytest.raises(StorageError, match="cannot be written.*read-only.*writable folder") as caught:
                store.start_session("P1", source="test")
            assert str(db) in str(caught.value)
            with pytest.raises(StorageError, match="cannot be written"):
                store.add_patient(PatientInfo("P2", "right", "hand"))
            with pytest.raises(StorageError, match="cannot be written"):
                store.audit("t", "note")
        # A read-only folder is named as read-only, never as a damaged store.
        with pytest.raises(StorageError, match=f"The data folder {folder} is read-only"):
            SessionStore.open(folder / "other.sqlite")
    assert _sha(db) == digest
    assert not (folder / "sessions.sqlite-reserve").exists()
    with SessionStore.open(folder) as store:
        assert store.writable and len(store.motion(1).index) == 120 and len(store.list_sessions()) == 1


# ---------------------------------------------------------------------------- damaged files


@pytest.fixture
def filled_store(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.sqlite"
    with SessionStore.open(path) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
        recorder = store.start_session("P1", source="test")
        for i in range(400):
            recorder.record_frame(frame(i), body(i))
        recorder.finish()
    assert not Path(f"{path}-wal").exists()
    return path


def _assert_refused(path: Path, pattern: str) -> None:
    digest = _sha(path)
    with pytest.raises(StorageError, match=pattern) as caught:
        SessionStore.open(path)
    assert str(path) in str(caught.value)
    assert _sha(path) == digest, "the file was modified"


def test_garbage_file_is_refused_and_left_unchanged(filled_store: Path) -> None:
    data = bytearray(filled_store.read_bytes())
    data[:16] = b"this is no db!!!"
    filled_store.write_bytes(bytes(data))
    _assert_refused(filled_store, "not a gmi-vr session store or is damaged")


def test_truncated_file_is_refused_and_left_unchanged(filled_store: Path) -> None:
    size = filled_store.stat().st_size
    with filled_store.open("r+b") as f:
        f.truncate(size // 2)
    _assert_refused(filled_store, r"is damaged \(SQLite: ")


def test_damaged_pages_are_refused_and_left_unchanged(filled_store: Path) -> None:
    data = bytearray(filled_store.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    noise = random.Random(1).randbytes(len(data) - page)
    data[page:] = noise
    filled_store.write_bytes(bytes(data))
    _assert_refused(filled_store, r"is damaged \(SQLite: ")


def test_newer_schema_is_refused_and_left_unchanged(filled_store: Path) -> None:
    db = sqlite3.connect(filled_store)
    db.execute("UPDATE alembic_version SET version_num = '9001'")
    db.commit()
    db.close()
    _assert_refused(filled_store, "newer gmi-vr")


def test_someone_elses_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    _assert_refused(path, "not a gmi-vr session store")
    assert _count(path, "SELECT count(*) FROM sqlite_master") == 1


def test_a_damaged_motion_chunk_is_a_clear_error(filled_store: Path) -> None:
    db = sqlite3.connect(filled_store)
    db.execute("UPDATE motion_chunks SET data = x'00112233' WHERE seq = 1")
    db.commit()
    db.close()
    with SessionStore.open(filled_store) as store:
        with pytest.raises(StorageError, match="damaged") as caught:
            store.motion(1)
        assert str(filled_store) in str(caught.value)


def test_a_store_held_by_another_program_opens_and_writes_fail_clearly(filled_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = sqlite3.connect(filled_store)
    db.execute("UPDATE sessions SET status = 'running', owner_host = 'station-b'")  # stale: recovery wants to write
    db.commit()
    db.isolation_level = None
    db.execute("BEGIN IMMEDIATE")  # another program is writing and does not let go
    try:
        monkeypatch.setattr("gmi_vr.recording.store.STALE_HEARTBEAT", __import__("datetime").timedelta(0))
        monkeypatch.setattr("gmi_vr.recording.store.BUSY_TIMEOUT_MS", 300)
        with SessionStore.open(filled_store) as store:  # reading works; recovery waits for later
            assert store.recovered_sessions == [] and store.session(1).status == "running"
            with pytest.raises(StorageError, match="busy: another program holds it") as caught:
                store.add_patient(PatientInfo("P2", "right", "hand"))
            assert str(filled_store) in str(caught.value)
    finally:
        db.execute("ROLLBACK")
        db.close()
    with SessionStore.open(filled_store) as store:
        assert store.recovered_sessions == [1] and store.session(1).status == "interrupted"
