"""``gmi-vr practice``'s refusals: one sentence and the exit code ``gmi-vr run`` gives for the
same failure, nothing stored, the store untouched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from test_cli import gmi_vr, one_sentence
from test_recording_faults import _read_only

from gmi_vr.core.errors import GraphicsUnavailable, NotFoundError, StorageError
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore


def _store_with_patient(folder: Path) -> Path:
    with SessionStore.open(folder) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
    return folder / "sessions.sqlite"


def test_practice_without_a_display_says_so_in_one_sentence(tmp_path: Path) -> None:
    _store_with_patient(tmp_path / "data")
    result = gmi_vr(["practice", "--patient", "P1"], tmp_path, DISPLAY=None, WAYLAND_DISPLAY=None)
    assert result.returncode == GraphicsUnavailable.exit_code == 5
    assert "display" in one_sentence(result).lower()
    with SessionStore.open(tmp_path / "data") as store:
        assert store.list_sessions("P1") == []


@pytest.mark.display
def test_practice_for_an_unknown_patient_is_refused(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    _store_with_patient(tmp_path / "data")
    result = gmi_vr(["practice", "--patient", "P2", "--max-frames", "5"], tmp_path)
    assert result.returncode == NotFoundError.exit_code
    assert "P2" in one_sentence(result)
    with SessionStore.open(tmp_path / "data") as store:
        assert [s.patient_id for s in store.list_sessions()] == []


@pytest.mark.display
def test_a_store_that_cannot_be_written_refuses_the_sitting_before_it_starts(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    db = _store_with_patient(tmp_path / "data")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    with _read_only(tmp_path / "data"):
        result = gmi_vr(["practice", "--patient", "P1", "--max-frames", "5"], tmp_path)
    assert result.returncode == StorageError.exit_code == 7
    sentence = one_sentence(result)
    assert "cannot be written" in sentence and "--no-record" not in sentence  # practice has no such choice
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
