"""A clinic's session store as the app finds it: a real SQLite file in a test's own data
folder, named by the environment like a clinic's, with one patient already added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gmi_vr.app.patients import add_patient, edit_patient_program
from gmi_vr.recording.store import SessionStore


def use_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the app's default store at ``tmp_path/data`` and its settings file at a missing
    ``tmp_path/absent.toml``, for code that opens the store without being given a path."""
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))


def store_with_patient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patient: str, *,
                       age_years: int | None = None, therapist: str = "t.one",
                       program: dict[str, Any] | None = None, reason: str = "") -> SessionStore:
    """The default store in ``tmp_path`` (see ``use_data_folder``), opened, with ``patient``
    (affected left hand) added by ``therapist`` and, where ``program`` is given, the
    patient's program changed by it for ``reason``. The caller closes the store."""
    use_data_folder(tmp_path, monkeypatch)
    store = SessionStore.open()
    add_patient(store, patient, "left", "hand", age_years=age_years, therapist=therapist)
    if program is not None:
        edit_patient_program(store, patient, program, therapist=therapist, reason=reason)
    return store
