"""The gmi-vr command on the real runtime (Monado in tools/xr-sandbox): doctor, a free-play
run, and a patient's session recorded into a real store — as a clinic would run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import ended_by_the_system, gmi_vr

pytestmark = [pytest.mark.xr, pytest.mark.usefixtures("headset")]


def test_doctor_exits_zero_and_names_the_runtime(tmp_path: Path) -> None:
    result = gmi_vr(["doctor"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Monado" in result.stdout and "Remote HMD" in result.stdout
    assert "index_controller" in result.stdout


def test_free_play_run_ends_cleanly_and_records_nothing(tmp_path: Path) -> None:
    result = gmi_vr(["run", "--max-frames", "60"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sessions.sqlite").exists(), "free play must not create a store"
    sessions = gmi_vr(["sessions", "--json"], tmp_path)
    assert sessions.returncode == 7 and f"There is no session store in {tmp_path}" in sessions.stderr


def test_a_patients_headset_session_is_recorded_and_exports(tmp_path: Path) -> None:
    added = gmi_vr(["patients", "add", "XR-1", "--side", "left", "--part", "hand", "--by", "t"], tmp_path)
    assert added.returncode == 0, added.stderr
    result = gmi_vr(["run", "--patient", "XR-1", "--max-frames", "120"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    from gmi_vr.recording.store import SessionStore

    store = SessionStore.open(tmp_path / "sessions.sqlite")
    try:
        (session,) = store.list_sessions("XR-1")
        assert (session.source, session.mode, session.station) == ("openxr", "headset", "clinic")
        # 120 frames end it during the opening rating: saved, but no work was done in it.
        assert (session.status, session.end_reason) == ("not_started", "frame_limit")
        frames = store.motion(session.id)
        assert len(frames.time_ns) >= 100  # every shown frame (a few may be unfocused at the start)
        kinds = [e.kind for e in store.events(session.id)]
        assert "session.start" in kinds and "xr.profile" in kinds
    finally:
        store.close()
    assert f"session {session.id} saved (not_started: frame_limit): 0 trials, pain - -> -" in result.stdout
    csv = gmi_vr(["export", str(session.id), "--format", "csv", "--out", str(tmp_path / "csv")], tmp_path)
    assert csv.returncode == 0, csv.stderr
    assert (tmp_path / "csv" / f"session-{session.id:03d}_motion.csv").is_file()


def test_a_headset_session_the_system_ends_is_saved_with_its_outcome(tmp_path: Path) -> None:
    """SIGTERM (a shutdown, a service manager) in the middle of a headset session: the
    OpenXR session ends as for Ctrl-C, and the session is saved with the system's reason."""
    assert gmi_vr(["patients", "add", "XR-2", "--side", "left", "--by", "t"], tmp_path).returncode == 0
    ended = ended_by_the_system(["run", "--patient", "XR-2"], tmp_path, "XR-2", "SIGTERM")
    assert ended.returncode == 143, (ended.returncode, ended.stderr[-2000:])
    assert "gmi-vr: ended at the system's request" in ended.stderr and "Traceback" not in ended.stderr

    from gmi_vr.recording.store import SessionStore

    with SessionStore.open(tmp_path / "sessions.sqlite") as store:
        (session,) = store.list_sessions("XR-2")
        frames = store.motion(session.id)
    assert (session.status, session.end_reason, session.mode) == ("not_started", "terminated", "headset")
    assert len(frames.time_ns) > 0
    assert f"session {session.id} saved (not_started: terminated)" in ended.stdout
