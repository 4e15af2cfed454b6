"""What the headset tests (tests/xr) do before and around one of the XR support apps
(tests/support/xr_*_app.py): make sure the sandbox's runtime is there, store the patient the
app runs, and run the app in a child process, which writes what it saw to a JSON file: its
result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gmi_vr.app.patients import add_patient, edit_patient_program
from gmi_vr.recording.store import SessionStore
from support.sandbox import control, require_sandbox

#: A short laterality block for the headset checks: four pictures of backs of hands at 0° and
#: 90°, no feedback after an answer and no pain rating around the block (nobody gives one
#: there). Each test adds its own pace (``laterality.inter_trial_s``) and answer settings.
SHORT_LATERALITY_BLOCK: dict[str, object] = {
    "session.blocks": ["laterality"], "session.rating_at_start": False,
    "session.rating_at_end": False, "laterality.trials_per_block": 4,
    "laterality.rotations_deg": [0, 90], "laterality.views": ["back"],
    "laterality.feedback": False,
}  # fmt: skip


def headset_runtime() -> None:
    """Skips the test outside tools/xr-sandbox; inside it, starts the Monado service again if
    a test before this one stopped it."""
    require_sandbox()
    control("ensure")


def patient_store(folder: Path, patient: str, program: dict[str, object], reason: str) -> Path:
    """A session store in ``folder``/data holding ``patient`` (left hand affected, added by
    therapist "t.one") with ``program``'s changes to their program, made for ``reason``;
    returns that data folder."""
    data = folder / "data"
    with SessionStore.open(data) as store:
        add_patient(store, patient, "left", "hand", therapist="t.one")
        edit_patient_program(store, patient, program, therapist="t.one", reason=reason)
    return data


def xr_app_outcome(app: Path, args: list[str], folder: Path, env: dict[str, str] | None = None,
                   timeout_s: float = 240.0) -> tuple[int, dict[str, Any], str]:
    """Runs ``app ARGS --out FOLDER/result.json`` (in ``env``, else this process's
    environment); its exit status, what it wrote there ({} when it wrote nothing) and its
    output (stdout, then stderr)."""
    out = folder / "result.json"
    process = subprocess.run([sys.executable, str(app), *args, "--out", str(out)], env=env,
                             capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
    result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    return process.returncode, result, process.stdout + process.stderr


def run_xr_app(app: Path, args: list[str], folder: Path, data: Path | None = None,
               timeout_s: float = 240.0) -> dict[str, Any]:
    """What ``app ARGS --out FOLDER/result.json`` wrote, after asserting it exited 0 (else its
    output's tail is the failure's message) and wrote it. With ``data``: the store is there
    and no settings file is read (a missing one in ``folder``)."""
    env = None if data is None else dict(os.environ, GMI_VR_DATA=str(data),
                                         GMI_VR_CONFIG=str(folder / "absent.toml"))  # fmt: skip
    status, result, output = xr_app_outcome(app, args, folder, env, timeout_s)
    assert status == 0 and (folder / "result.json").exists(), output[-3000:]
    return result
