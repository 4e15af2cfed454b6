"""``gmi-vr run --patient ID --no-record`` on the real runtime (Monado in tools/xr-sandbox), as
the README shows it: the session runs in the headset, nothing of it is stored, the
therapist's choice is in the audit trail and the exit status (10) says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.sandbox import control, require_sandbox

from gmi_vr.cli import EXIT_NOT_RECORDED

pytestmark = pytest.mark.xr


def gmi_vr(args: list[str], data: Path, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))
    return subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout_s)  # fmt: skip


@pytest.fixture(autouse=True)
def runtime() -> None:
    require_sandbox()
    control("ensure")


def test_a_headset_session_chosen_unsaved_stores_nothing_and_exits_10(tmp_path: Path) -> None:
    added = gmi_vr(["patients", "add", "XR-2", "--side", "left", "--part", "hand", "--by", "t"], tmp_path)
    assert added.returncode == 0, added.stderr
    result = gmi_vr(["run", "--patient", "XR-2", "--no-record", "--max-frames", "60", "--by", "t.one"], tmp_path)
    assert result.returncode == EXIT_NOT_RECORDED, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "was not saved (--no-record)" in result.stderr

    from gmi_vr.recording.store import SessionStore

    with SessionStore.open(tmp_path / "sessions.sqlite") as store:
        assert store.list_sessions("XR-2") == []
        choices = [entry for entry in store.audit_trail("XR-2") if entry.action == "session.not_recorded"]
        assert [entry.actor for entry in choices] == ["t.one"]
