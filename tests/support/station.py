"""A test's own station with nobody signed in, the ``gmi-vr`` command run on it in the
test's own process, and a patient's session with the console's controls. (The data folder
and its store: ``clinic_store``.)"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gmi_vr import cli
from gmi_vr.app.controls import TherapistControls
from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.app.session_setup import session_pipeline
from support.clinic_store import use_data_folder


def use_station(folder: Path, monkeypatch: pytest.MonkeyPatch, settings: Path | None = None) -> Path:
    """``use_data_folder`` with the settings file ``settings`` where one is given, and nobody
    signed in (no ``GMI_VR_TOKEN``); returns the data folder, ``folder / "data"``."""
    use_data_folder(folder, monkeypatch)
    if settings is not None:
        monkeypatch.setenv("GMI_VR_CONFIG", str(settings))
    monkeypatch.delenv("GMI_VR_TOKEN", raising=False)
    return folder / "data"


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
