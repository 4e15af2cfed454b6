"""``gmi-vr run --patient ID --no-record`` on the real runtime (Monado in tools/xr-sandbox), as
the README shows it: the session runs in the headset, nothing of it is stored, the
therapist's choice is in the audit trail and the exit status (10) says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import gmi_vr

from gmi_vr.cli import EXIT_NOT_RECORDED

pytestmark = [pytest.mark.xr, pytest.mark.usefixtures("headset")]


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
