"""The therapist's window in a test's own process, and the pictures a test takes of it."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

SCREENSHOT_DIR_ENV = "GMI_VR_SCREENSHOT_DIR"  # set it to keep the pictures for a look


def keep_picture(path: Path) -> Path:
    """``path``, also copied into the folder ``GMI_VR_SCREENSHOT_DIR`` names, when it names one."""
    folder = os.environ.get(SCREENSHOT_DIR_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / path.name).write_bytes(path.read_bytes())
    return path


def therapist_window_module() -> Any:
    """gmi_vr.console.therapist_window, imported (it imports OpenGL) after the platform choice the
    app would make for this process, so later GL tests in this process still get theirs."""
    from gmi_vr.render.context import choose_gl_platform

    try:
        choose_gl_platform(offscreen=not os.environ.get("DISPLAY"))
    except RuntimeError:
        pass  # OpenGL is loaded already; the layout and camera need no context
    return importlib.import_module("gmi_vr.console.therapist_window")
