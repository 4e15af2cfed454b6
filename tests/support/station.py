"""A test's own station: a data folder of its own, no settings file of the machine, nobody
signed in, and the patients a test starts from in a real SQLite store; the ``gmi-vr``
command run on it in the test's own process."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gmi_vr import cli
from gmi_vr.app.controls import TherapistControls
from gmi_vr.app.patients import add_patient, edit_patient_program
from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.recording.store import SessionStore


def use_station(folder: Path, monkeypatch: pytest.MonkeyPatch, settings: Path | None = None) -> Path:
    """Points the app at the data folder ``folder / "data"`` (made when first written), with the
    settings file ``settings`` (else a missing one: the defaults) and no sign-in token; returns
    the data folder."""
    data = folder / "data"
    monkeypatch.setenv("GMI_VR_DATA", str(data))
    monkeypatch.setenv("GMI_VR_CONFIG", str(settings or folder / "absent.toml"))
    monkeypatch.delenv("GMI_VR_TOKEN", raising=False)
    return data


def station_with_patients(folder: Path, monkeypatch: pytest.MonkeyPatch, *patient_ids: str,
                          program: dict[str, Any] | None = None, why: str = "") -> Path:
    """``use_station`` with each of ``patient_ids`` added (left hand affected, by therapist
    t.one) and, when ``program`` is given, their programs changed by it for the reason ``why``;
    returns the data folder."""
    data = use_station(folder, monkeypatch)
    with SessionStore.open() as store:
        for patient_id in patient_ids:
            add_patient(store, patient_id, "left", "hand", therapist="t.one")
            if program is not None:
                edit_patient_program(store, patient_id, program, therapist="t.one", reason=why)
    return data


@contextmanager
def controlled_session(patient_id: str, therapist: str) -> Iterator[tuple[SessionPipeline, TherapistControls]]:
    """The patient's session recorded on the simulator's source (seed 3), and the controls the
    console's buttons use, auditing as ``therapist``; saved when the block ends."""
    with session_pipeline(patient_id, source="sim", therapist=therapist, seed=3) as pipeline:
        assert pipeline.runner is not None and pipeline.audit is not None
        yield pipeline, TherapistControls(pipeline.runner, pipeline, pipeline.audit)


def gmi(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    """The exit code of ``gmi-vr ARGV`` run here, reading ``stdin`` (not a terminal: nobody is
    asked to type)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(list(argv))


def sign_in(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, password: str) -> None:
    """``gmi-vr signin NAME`` with ``password``, its token then in ``GMI_VR_TOKEN`` as a shell
    has it after running the line the command prints."""
    capsys.readouterr()
    assert gmi(monkeypatch, "signin", name, "--password-stdin", stdin=password + "\n") == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("export GMI_VR_TOKEN=")
    monkeypatch.setenv("GMI_VR_TOKEN", line.removeprefix("export GMI_VR_TOKEN="))
