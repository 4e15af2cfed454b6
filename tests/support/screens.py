"""The therapist's window in a test's own process, and the pictures a test takes of it."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
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


def window_env(**changes: str) -> dict[str, str]:
    """This process's environment with ``changes``, less ``PYOPENGL_PLATFORM``: a child that
    opens the window chooses its GL platform itself, as the app does."""
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    env.update(changes)
    return env


#: What every window script opens with: this tests folder on the path (for ``support.*``;
#: formatted with ``tests``), and GLX chosen before anything imports OpenGL.
WINDOW_SCRIPT_PRELUDE = """import sys
sys.path.insert(0, {tests!r})
from gmi_vr.render.context import choose_gl_platform
choose_gl_platform(offscreen=False)
"""


def window_script(body: str) -> str:
    """A window script: ``WINDOW_SCRIPT_PRELUDE`` then ``body`` (indented as in a test's
    triple-quoted string; ``{tests!r}`` and the body's own fields are formatted later)."""
    return WINDOW_SCRIPT_PRELUDE + textwrap.dedent(body)


def run_window_script(script: str, env: dict[str, str] | None = None, timeout_s: float = 600.0) -> list[str]:
    """The lines ``python -c SCRIPT`` printed, after asserting it exited 0 (else the tail of its
    output is the failure's message); ``env`` defaults to ``window_env()``."""
    result = subprocess.run([sys.executable, "-c", script], env=window_env() if env is None else env,
                            capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout.splitlines()


def logged(lines: list[str], mark: str = "LOG") -> Any:
    """The JSON a window script printed on its line ``MARK ...``."""
    return json.loads(next(line for line in lines if line.startswith(mark + " "))[len(mark) + 1 :])


def patient_on_display(tmp_path: Path, monkeypatch: Any, patient_id: str, therapist: str) -> None:
    """A window test's start: skipped without an X display; a data folder in ``tmp_path``
    (no settings file) whose store holds ``patient_id`` (left hand), added by ``therapist``."""
    import pytest

    from gmi_vr.app.patients import add_patient
    from gmi_vr.recording.store import SessionStore

    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    with SessionStore.open() as store:
        add_patient(store, patient_id, "left", "hand", therapist=therapist)


#: Where window tests run the product: the simulator, and the headset's loop on a stand-in
#: source (``support.stand_in_headset.run_where``).
PLACES = ("simulator", "headset")


def in_both_places(test: Any) -> Any:
    """A window test (it needs a display) run once in each of ``PLACES`` (its ``where``)."""
    import pytest

    return pytest.mark.display(pytest.mark.parametrize("where", PLACES)(test))
