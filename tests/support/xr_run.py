"""Runs one of the XR support apps (tests/support/xr_*_app.py) in a child process, as the
headset tests do: it writes what it saw to a JSON file, which is its result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_xr_app(app: Path, args: list[str], folder: Path, data: Path | None = None,
               timeout_s: float = 240.0) -> dict[str, Any]:
    """What ``app ARGS --out FOLDER/result.json`` wrote, after asserting it exited 0 (else its
    output's tail is the failure's message). With ``data``: the store is there and no settings
    file is read (a missing one in ``folder``)."""
    out = folder / "result.json"
    env = None if data is None else dict(os.environ, GMI_VR_DATA=str(data),
                                         GMI_VR_CONFIG=str(folder / "absent.toml"))  # fmt: skip
    process = subprocess.run([sys.executable, str(app), *args, "--out", str(out)], env=env,
                             capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
    assert process.returncode == 0, (process.stdout + process.stderr)[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result
