"""``gmi-vr doctor``: what this machine offers for a real OpenXR session, as plain data.

``doctor_report`` opens a real session the way ``gmi-vr run`` does (hidden GLX window,
OpenGL binding, the input actions), runs frames until the session is focused so the
runtime binds an interaction profile, asks the runtime to end the session and reports
what it saw. Anything that would stop ``gmi-vr run`` raises the same ``GmiError`` (one
sentence), so the command can exit non-zero with that message.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from gmi_vr.render.context import WINDOW_SYSTEM

#: How long the doctor waits for the session to become focused (seconds).
FOCUS_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DoctorReport:
    python: str
    gl_renderer: str
    gl_version: str
    loader: str  # pyopenxr and the OpenXR loader it bundles
    runtime_manifest: str  # where the loader looks for the active runtime
    runtime_name: str
    runtime_version: str
    system_name: str
    extensions: tuple[str, ...]  # offered by the runtime
    enabled_extensions: tuple[str, ...]
    reference_space: str
    hand_tracking: bool
    focused: bool
    interaction_profiles: dict[str, str]  # per hand; "" when the runtime bound none

    def lines(self) -> list[str]:
        """Human-readable ``name: value`` lines for the CLI."""
        profiles = ", ".join(
            f"{hand} {profile or 'none'}" for hand, profile in self.interaction_profiles.items()
        )
        return [
            f"Python: {self.python}",
            f"OpenGL: {self.gl_version} ({self.gl_renderer})",
            f"OpenXR loader: {self.loader}",
            f"Active runtime manifest: {self.runtime_manifest}",
            f"Runtime: {self.runtime_name} {self.runtime_version}",
            f"System: {self.system_name}",
            f"Reference space: {self.reference_space}",
            f"Hand tracking: {'yes' if self.hand_tracking else 'no'}",
            f"Session focused: {'yes' if self.focused else 'no'}",
            f"Interaction profiles: {profiles}",
            f"Extensions enabled: {', '.join(self.enabled_extensions)}",
            f"Extensions offered ({len(self.extensions)}): {', '.join(self.extensions)}",
        ]


#: Where the OpenXR loader reads the active runtime on Windows (OpenXR loader
#: specification, "Runtime Discovery": HKEY_LOCAL_MACHINE, value ``ActiveRuntime``).
WINDOWS_RUNTIME_KEY = r"SOFTWARE\Khronos\OpenXR\1"


def active_runtime_manifest(read_windows_registry: Callable[[], str | None] | None = None) -> str:
    """The manifest the loader will use: XR_RUNTIME_JSON, else on Windows the registry's
    ``ActiveRuntime`` (SteamVR, Meta Quest Link and others set it when made the active
    runtime), else the first active_runtime.json on the XDG configuration paths (OpenXR
    loader specification, Linux). ``read_windows_registry`` stands in for the registry."""
    override = os.environ.get("XR_RUNTIME_JSON")
    if override:
        return f"{override} (XR_RUNTIME_JSON)"
    if read_windows_registry is None and WINDOW_SYSTEM == "win32":
        read_windows_registry = _windows_active_runtime
    if read_windows_registry is not None:
        active = read_windows_registry()
        return f"{active} (registry HKLM\\{WINDOWS_RUNTIME_KEY})" if active else "none found"
    config_home = os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config"))
    config_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    for base in (config_home, *config_dirs, "/etc"):
        candidate = Path(base) / "openxr" / "1" / "active_runtime.json"
        if candidate.exists():
            return str(candidate)
    return "none found"


def _windows_active_runtime() -> str | None:
    import winreg  # type: ignore[import-not-found,unused-ignore]  # Windows only

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, WINDOWS_RUNTIME_KEY) as key:
            value, _kind = winreg.QueryValueEx(key, "ActiveRuntime")
    except OSError:
        return None
    return str(value)


def doctor_report(api_layers: tuple[str, ...] = ()) -> DoctorReport:
    """Open a session on the active runtime and report on it (see the module docstring).

    The process must not have loaded PyOpenGL with the EGL platform: call this before
    anything offscreen, or in its own process."""
    from gmi_vr.render.context import choose_gl_platform

    choose_gl_platform(offscreen=False)
    from OpenGL import GL

    from gmi_vr.xr.openxr_source import OpenXrSource

    loader = f"pyopenxr {metadata.version('pyopenxr')} (bundled Khronos loader)"
    with OpenXrSource(
        None, api_layers=api_layers, app_name="gmi-vr doctor", ready_timeout_s=FOCUS_TIMEOUT_S
    ) as source:
        gl_renderer = GL.glGetString(GL.GL_RENDERER).decode()
        gl_version = GL.glGetString(GL.GL_VERSION).decode()
        focused = False
        profiles: dict[str, str] = {}
        deadline = time.monotonic() + FOCUS_TIMEOUT_S
        stopping = False
        for frame in source.frames():
            if not stopping and (frame.focused or time.monotonic() > deadline):
                focused = frame.focused
                profiles = source.interaction_profiles()
                source.request_stop()
                stopping = True
        assert source.info is not None
        info = source.info
        reference_space = source.reference_space_type.name if source.reference_space_type else ""
        hand_tracking = source.hand_tracking
    return DoctorReport(
        python=f"{platform.python_version()} ({sys.executable})",
        gl_renderer=gl_renderer,
        gl_version=gl_version,
        loader=loader,
        runtime_manifest=active_runtime_manifest(),
        runtime_name=info.runtime_name,
        runtime_version=info.runtime_version,
        system_name=info.system_name,
        extensions=info.offered_extensions,
        enabled_extensions=info.enabled_extensions,
        reference_space=reference_space,
        hand_tracking=hand_tracking,
        focused=focused,
        interaction_profiles=profiles,
    )
