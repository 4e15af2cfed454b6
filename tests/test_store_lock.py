"""No command replaces a store file that a gmi-vr program has open (``recording/store_lock.py``):
real SQLite files, the real command, and a second process holding the store."""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from recording_synth import body, frame
from support.cli import gmi_vr

from gmi_vr.core.errors import StorageError
from gmi_vr.recording import cipher, store_lock
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore

SECRET = "correct horse battery staple"

#: A gmi-vr program holding the store open: idle until the test says "write", then one write.
HOLDER = """
import sys
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore
store = SessionStore.open(sys.argv[1], create=False)
print("open", flush=True)
sys.stdin.readline()
store.add_patient(PatientInfo("P-LATE", "right", "foot"))
store.close()
print("written", flush=True)
"""

#: A program replacing the store: holds it alone until the test closes its stdin.
REPLACER = """
import sys
from pathlib import Path
from gmi_vr.recording import store_lock
with store_lock.exclusive(Path(sys.argv[1])):
    print("alone", flush=True)
    sys.stdin.readline()
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _child(script: str, db: Path, ready: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", script, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == ready + "\n"
    return child


def _go_on(child: subprocess.Popen[str]) -> str:
    """Let the child go on; what it prints before it ends (its exit status must be 0)."""
    out, _err = child.communicate("go\n", timeout=60)
    assert child.returncode == 0
    return out


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder holding a plaintext store with one patient; the passphrase in the environment."""
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, SECRET)
    folder = tmp_path / "data"
    with SessionStore.open(folder) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
    yield folder


def test_encrypt_refuses_while_another_program_has_the_store_open_and_its_later_write_is_kept(data: Path) -> None:
    db = data / "sessions.sqlite"
    holder = _child(HOLDER, db, "open")
    try:
        sha = _sha(db)
        refused = gmi_vr(["store", "encrypt"], data)
        assert refused.returncode == 7 and refused.stdout == ""
        assert refused.stderr == (
            f"gmi-vr: Another gmi-vr program has the session store {db} open (the therapist's window?); "
            f"close it and run 'gmi-vr store encrypt' again; nothing was changed.\n"
        )
        assert _sha(db) == sha and cipher.header_is_plaintext(db) and not cipher.marker_path(db).exists()
        # The program that had it open writes after the refusal: into the store everyone reads.
        assert _go_on(holder) == "written\n"
    finally:
        holder.kill()
        holder.wait()
    done = gmi_vr(["store", "encrypt"], data)
    assert done.returncode == 0, done.stderr
    with SessionStore.open(data, create=False) as store:
        assert store.encrypted and [p.id for p in store.list_patients()] == ["P-LATE", "P1"]
    assert sorted(p.name for p in data.iterdir()) == ["sessions.sqlite", "sessions.sqlite-encrypted"]


def test_one_process_may_open_a_store_many_times_and_holds_it_until_the_last_close(data: Path) -> None:
    db = data / "sessions.sqlite"
    first, second = SessionStore.open(data), SessionStore.open(db)
    first.close()
    first.close()  # closing twice lets nothing go twice
    with pytest.raises(StorageError, match="has the session store .* open") as refused:
        with store_lock.exclusive(db):
            pass
    assert refused.value.exit_code == 7
    assert store_lock.lock_path(db).exists()
    second.add_patient(PatientInfo("P2", "right", "hand"))  # still open and writing
    second.close()
    assert not store_lock.lock_path(db).exists()  # the last holder takes the lock file away
    with store_lock.exclusive(db):
        with SessionStore.open(db, create=False) as inside:  # opening under the exclusive lock shares it
            assert len(inside.list_patients()) == 2
        other = subprocess.run([sys.executable, "-c", REPLACER, str(db)], input="", capture_output=True, text=True, timeout=60)
        assert other.returncode == 1 and "Another gmi-vr program has the session store" in other.stderr  # refused meanwhile
    leaked = SessionStore.open(db)  # never closed: its share goes with it once collected
    leaked.add_patient(PatientInfo("P3", "left", "foot"))
    del leaked
    gc.collect()
    with store_lock.exclusive(db):
        pass
    assert not store_lock.lock_path(db).exists()


def test_an_opener_waits_while_the_store_is_being_replaced_and_says_so(data: Path) -> None:
    db = data / "sessions.sqlite"
    replacer = _child(REPLACER, db, "alone")
    told: list[str] = []
    try:
        opened: list[SessionStore] = []
        opener = threading.Thread(target=lambda: opened.append(SessionStore.open(db, on_wait=told.append)))
        opener.start()
        opener.join(1.0)
        assert opener.is_alive() and not opened  # waiting for the replacement to finish
        assert told == [f"The session store {db} is being replaced by another gmi-vr program "
                        f"('gmi-vr store encrypt'); waiting for it to finish."]  # fmt: skip
        _go_on(replacer)
        opener.join(30)
        assert opened and len(opened[0].list_patients()) == 1
        opened[0].close()
    finally:
        replacer.kill()
        replacer.wait()


def test_a_store_whose_file_was_replaced_under_it_refuses_its_next_write(data: Path, tmp_path: Path) -> None:
    """Where no lock guards it (a file moved by hand, a system without ``flock``): the next
    write, a session's start included, is refused rather than written into a file nobody reads."""
    db = data / "sessions.sqlite"
    other = tmp_path / "other" / "sessions.sqlite"
    with SessionStore.open(other) as store:
        store.add_patient(PatientInfo("P-OTHER", "left", "foot"))
    with SessionStore.open(db) as store:
        os.replace(other, db)
        sha = _sha(db)
        assert [p.id for p in store.list_patients()] == ["P1"]  # reads still see its own file
        for write in (lambda: store.add_patient(PatientInfo("P2", "right", "hand")),
                      lambda: store.start_session("P1", source="test"),
                      lambda: store.audit("tester", "note")):  # fmt: skip
            with pytest.raises(StorageError) as refused:
                write()
            assert str(refused.value) == (
                f"The session store {db} was replaced or removed by another program after this one opened it, "
                f"so nothing more was written to it; close this gmi-vr program and start it again."
            )
            assert refused.value.exit_code == 7
    assert _sha(db) == sha
    with SessionStore.open(db) as store:
        assert [p.id for p in store.list_patients()] == ["P-OTHER"]


@pytest.mark.parametrize("command", [
    ["export", "1", "--format", "csv", "--out", "{tmp}/csv"],
    ["export", "--format", "bids", "--all", "--out", "{tmp}/bids"],
    ["report", "P1", "--out", "{tmp}/report.html"],
    ["bundle", "export", "--patient", "P1", "--all", "--out", "{tmp}/practice.gmi"],
    ["bundle", "export", "--program", "P1", "--out", "{tmp}/program.gmi"],
    ["patients", "show", "P1", "--handout", "{tmp}/handout.html"],
])  # fmt: skip
def test_files_made_from_an_encrypted_store_are_said_to_be_plaintext_once(
    data: Path, tmp_path: Path, command: list[str]
) -> None:
    with SessionStore.open(data) as store:
        recorder = store.start_session("P1", source="test", station="home")  # home practice, for a bundle
        for i in range(30):
            recorder.record_frame(frame(i), body(i))  # motion, for a BIDS study
        recorder.finish("completed")
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    written = Path(args[-1])
    plain = gmi_vr(args, data)
    assert plain.returncode == 0, plain.stderr
    assert "not encrypted" not in plain.stderr  # a plaintext store: nothing to say
    _remove(written)
    assert gmi_vr(["store", "encrypt"], data).returncode == 0
    sealed = gmi_vr(args, data)
    assert sealed.returncode == 0, sealed.stderr
    notes = [line for line in sealed.stderr.splitlines() if "not encrypted" in line]
    assert notes == [
        f"gmi-vr: not encrypted: {written} (the session store is); keep it on an encrypted disk or delete it once it has served."
    ]
    assert _files(written) and all(file.stat().st_size for file in _files(written))


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
