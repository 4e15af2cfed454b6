"""A session the system ends (SIGTERM: a shutdown, a service manager, ``kill``; SIGHUP: the
terminal closed) is finished and saved as Ctrl-C would finish it: its outcome and reason in
the store, its motion kept, one sentence and exit status 143. Without the CLI's handler the
process died on the spot and the session stayed "running", to be marked interrupted later.

The real ``gmi-vr run`` on the desktop simulator (a long motion file) under Xvfb, against a
real SQLite store read from this process while it records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import ended_by_the_system, gmi_vr
from support.screens import require_display

from gmi_vr.recording.store import SessionStore


def _still_motion(path: Path, seconds: float) -> Path:
    """A seated patient holding still for ``seconds`` (keyframes at both ends, 30 Hz)."""
    pose = {"head": {"position": [0.0, 1.2, 0.0]}, "right": {"position": [0.2, 0.9, -0.35]}}
    lines = [{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}, {"t": 0.0, **pose}, {"t": seconds, **pose}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_session_the_system_ends_is_saved_with_its_outcome(tmp_path: Path, name: str) -> None:
    require_display()
    data = tmp_path / "data"
    assert gmi_vr(["patients", "add", "S-1", "--side", "left", "--by", "t"], data).returncode == 0
    motion = _still_motion(tmp_path / "still.jsonl", 600.0)
    ended = ended_by_the_system(["run", "--motion", str(motion), "--patient", "S-1"], data, "S-1", name)
    assert ended.returncode == 143, (ended.returncode, ended.stderr[-2000:])
    assert ended.stderr.strip().splitlines() == [
        "gmi-vr: ended at the system's request (a shutdown, a logout or a stop signal)."]
    with SessionStore.open(data, create=False) as store:
        (session,) = store.list_sessions("S-1")
        frames = sum(chunk.frame_count for chunk in store.motion_chunks(session.id))
    # The opening pain rating was never answered: no work, so "not_started", for the system's reason.
    assert (session.status, session.end_reason) == ("not_started", "terminated")
    assert frames > 0 and session.ended_at is not None
    assert ended.stdout.splitlines() == [f"session {session.id} saved (not_started: terminated): 0 trials, pain - -> -"]


def test_a_hangup_ignored_on_purpose_stays_ignored_and_the_handlers_are_given_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'nohup gmi-vr run ...' must outlive its terminal: only signals left at their default
    are turned into an end; and a command run in process gives the handlers back."""
    import signal

    from gmi_vr import cli

    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        replaced = cli._end_on_system_signals()
        try:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN and signal.SIGHUP not in replaced
            assert signal.SIGTERM in replaced and signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        finally:
            for number, handler in replaced.items():
                signal.signal(number, handler)
        assert cli.main(["sessions"]) == 7  # no store here: one sentence, and the handlers back
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before[0])
        signal.signal(signal.SIGTERM, before[1])
