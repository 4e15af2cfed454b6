"""The ``gmi-vr`` command as a clinic runs it, in a child process on a test's own data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _env(data: Path) -> dict[str, str]:
    return dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))


def gmi_vr(args: list[str], data: Path, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """``gmi-vr ARGS`` with its store in ``data`` and no settings file (a missing one in ``data``)."""
    return subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], env=_env(data), capture_output=True,
                          text=True, timeout=timeout_s)  # fmt: skip


def ended_by_the_system(args: list[str], data: Path, patient: str, name: str,
                        timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``gmi-vr ARGS`` (a session of ``patient``) sent the signal ``name`` ("SIGTERM") once
    the session is running with motion in the store (read from here while it records)."""
    from gmi_vr.recording.store import SessionStore

    app = subprocess.Popen([sys.executable, "-m", "gmi_vr.cli", *args], env=_env(data), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + timeout_s
        while app.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no session of {patient} was recording within {timeout_s} s")
            if (data / "sessions.sqlite").exists():
                with SessionStore.open(data, create=False) as store:
                    sessions = store.list_sessions(patient)
                    if sessions and sessions[-1].status == "running" and store.motion_chunks(sessions[-1].id):
                        app.send_signal(getattr(signal, name))
                        break
            time.sleep(0.5)
        out, err = app.communicate(timeout=timeout_s)
    finally:
        if app.poll() is None:
            app.kill()
    return subprocess.CompletedProcess(app.args, app.returncode, out, err)
