"""A patient session never runs unsaved while reporting success: a read-only store refuses
it (exit 7) unless the therapist chose ``--no-record`` (audited where the store can hold
it, exit 10), and a run whose recorder failed (a disk that fills up) says what was kept
and exits 7. Real stores, the real window under Xvfb, a real small tmpfs."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from test_cli import gmi_vr, one_sentence
from test_recording_faults import _read_only, _tmpfs

from gmi_vr.recording.recorder import RESERVE_BYTES
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.display

MOTION = Path(__file__).resolve().parent.parent / "gmi_vr" / "data" / "demo-reach.jsonl"
EXIT_NOT_RECORDED = 10
#: A window session on a shared, loaded machine: the window's start can take a minute.
RUN_TIMEOUT_S = 400.0


@pytest.fixture(autouse=True)
def _display() -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _store_with_patient(folder: Path) -> Path:
    with SessionStore.open(folder) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
    return folder / "sessions.sqlite"


def test_a_read_only_store_refuses_a_patient_session_unless_it_is_chosen_unsaved(tmp_path: Path) -> None:
    db = _store_with_patient(tmp_path / "data")
    digest = _sha(db)
    with _read_only(tmp_path / "data"):
        refused = gmi_vr(["run", "--motion", str(MOTION), "--patient", "P1"], tmp_path, RUN_TIMEOUT_S)
        assert refused.returncode == 7, refused.stderr
        sentence = one_sentence(refused)
        assert "cannot be written" in sentence and "--no-record" in sentence

        chosen = gmi_vr(["run", "--motion", str(MOTION), "--patient", "P1", "--no-record"], tmp_path, RUN_TIMEOUT_S)
        assert chosen.returncode == EXIT_NOT_RECORDED, chosen.stderr
        assert "Traceback" not in chosen.stderr
        assert "runs WITHOUT RECORDING (--no-record)" in chosen.stderr
        assert "was not saved (--no-record)" in chosen.stderr
    assert _sha(db) == digest


def test_a_session_chosen_unsaved_is_audited_and_exits_non_zero(tmp_path: Path) -> None:
    _store_with_patient(tmp_path / "data")
    result = gmi_vr(["run", "--motion", str(MOTION), "--patient", "P1", "--no-record", "--by", "t.one"], tmp_path,
                    RUN_TIMEOUT_S)  # fmt: skip
    assert result.returncode == EXIT_NOT_RECORDED, result.stderr
    with SessionStore.open(tmp_path / "data") as store:
        assert store.list_sessions() == []
        choices = [entry for entry in store.audit_trail("P1") if entry.action == "session.not_recorded"]
        assert [entry.actor for entry in choices] == ["t.one"]


def test_no_record_without_a_patient_is_refused(tmp_path: Path) -> None:
    result = gmi_vr(["run", "--motion", str(MOTION), "--no-record"], tmp_path, RUN_TIMEOUT_S)
    assert result.returncode == 1
    assert "--no-record is for a patient session" in one_sentence(result)


def test_a_session_whose_disk_fills_up_says_what_was_kept_and_exits_7(tmp_path: Path) -> None:
    mount = tmp_path / "data"
    with _tmpfs(mount, "3m") as mounted:
        if not mounted:
            pytest.skip("needs root to mount a small tmpfs: a real full disk, not a simulated one")
        db = _store_with_patient(mount)
        # Leave the session's reserve and a few seconds of motion free, no more.
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "filler").write_bytes(b"\0" * (free - RESERVE_BYTES - 100 * 1024))
        longer = tmp_path / "reach-then-rest.jsonl"  # the demo's reach, then 7 s at rest: > 200 kB of motion
        longer.write_text(MOTION.read_text() + '{"t": 10.0}\n')
        result = gmi_vr(["run", "--motion", str(longer), "--patient", "P1"], tmp_path, RUN_TIMEOUT_S)
        assert result.returncode == 7, result.stderr
        sentence = one_sentence(result)
        assert "Session 1 of P1 was not fully saved" in sentence and "full" in sentence
        assert "kept 0 trials, 0 pain ratings" in sentence and "motion frames" in sentence

        (mount / "filler").unlink()  # space comes back: the store opens, the session was closed
        connection = sqlite3.connect(db)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            connection.close()
        listed = gmi_vr(["sessions", "--json"], tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert '"status": "not_started"' in listed.stdout and '"end_reason": "motion_ended"' in listed.stdout
