"""The ``gmi-vr`` command as a clinic runs it, in a child process on a test's own data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def gmi_vr(args: list[str], data: Path, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """``gmi-vr ARGS`` with its store in ``data`` and no settings file (a missing one in ``data``)."""
    env = dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))
    return subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout_s)  # fmt: skip
