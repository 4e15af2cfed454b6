"""The therapist's window in a child process (the scripts a test runs there and what they
print), and the pictures a test takes of it. (In the test's own process:
``window_in_process``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

SCREENSHOT_DIR_ENV = "GMI_VR_SCREENSHOT_DIR"  # set it to keep the pictures for a look
TESTS = Path(__file__).resolve().parent.parent

#: The lines every window script starts with: ``json`` and ``Path`` at hand, the tests'
#: folder importable (``support``), and GLX chosen for the window before anything loads
#: OpenGL, as the app chooses it.
SCRIPT_START = """\
import json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from gmi_vr.render.context import choose_gl_platform
choose_gl_platform(offscreen=False)
"""

#: What a driven script has before its own lines: the X mouse and keyboard, and the
#: driver's words (support/window_driver.py) as ``driven``.
DRIVEN_START = """\
from support import window_driver as driven
from support.xkeys import XKeyboard, XMouse
mouse, keyboard = XMouse(), XKeyboard()
"""

#: What a driven script ends with: the X devices let go, its ``log`` printed for ``logged``.
DRIVEN_END = """
mouse.close()
keyboard.close()
print("LOG", json.dumps(log))
"""


def require_display() -> None:
    """Skips the test when there is no X display to open a window on."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")


def window_script(body: str, **fields: Any) -> str:
    """A script for ``run_window_script``: ``SCRIPT_START``, then ``body`` (dedented), its
    ``{name}`` fields filled from ``fields`` (``tests`` is this tests folder)."""
    return (SCRIPT_START + textwrap.dedent(body)).format(tests=str(TESTS), **fields)


def driven_script(body: str, **fields: Any) -> str:
    """``window_script`` for a script that works the X mouse and keyboard: ``body`` comes after
    ``DRIVEN_START`` and before ``DRIVEN_END``, so it must fill a dict ``log``."""
    return window_script(DRIVEN_START + textwrap.dedent(body) + DRIVEN_END, **fields)


def keep_picture(path: Path) -> Path:
    """``path``, also copied into the folder ``GMI_VR_SCREENSHOT_DIR`` names, when it names one."""
    folder = os.environ.get(SCREENSHOT_DIR_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / path.name).write_bytes(path.read_bytes())
    return path


def window_env(**changes: str) -> dict[str, str]:
    """This process's environment with ``changes``, less ``PYOPENGL_PLATFORM``: a child that
    opens the window chooses its GL platform itself, as the app does."""
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    env.update(changes)
    return env


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


def driven_run(body: str, env: dict[str, str] | None = None, **fields: Any) -> list[str]:
    """The lines the driven script ``body`` (see ``driven_script``) printed, run with ``fields``
    in ``env`` (default ``window_env()``)."""
    return run_window_script(driven_script(body, **fields), env)


def driven_log(body: str, env: dict[str, str] | None = None, **fields: Any) -> Any:
    """The ``log`` that ``driven_run(body, env, **fields)`` printed."""
    return logged(driven_run(body, env, **fields))


#: Where window tests run the product: the simulator, and the headset's loop on a stand-in
#: source (``support.stand_in_headset.run_where``).
PLACES = ("simulator", "headset")


def in_both_places(test: Any) -> Any:
    """A window test (it needs a display: ``require_display``) run once in each of
    ``PLACES`` (its ``where``)."""
    return pytest.mark.display(pytest.mark.parametrize("where", PLACES)(test))
