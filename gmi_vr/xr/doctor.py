"""``gmi-vr doctor``: what this machine offers for a real OpenXR session, as plain data.

``doctor_checks`` runs the checklist the command prints, in order: Python, OpenGL, the
OpenXR loader, the runtime, the headset, a session, the controllers — each passed or failed
with a short reason; a check that needs an earlier one that failed fails as "not checked".
The loader's own error lines (it writes them to the process's stderr) are kept out of the
checklist and handed back for ``--verbose``.

``doctor_report`` opens a real session the way ``gmi-vr run`` does (hidden GLX window,
OpenGL binding, the input actions), runs frames until the session is focused so the
runtime binds an interaction profile, asks the runtime to end the session and reports
what it saw. Anything that would stop ``gmi-vr run`` raises the same ``GmiError`` (one
sentence), so the command can exit non-zero with that message.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from gmi_vr.core.errors import GmiError, GraphicsUnavailable, XrRuntimeUnavailable
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
    import winreg  # type: ignore[import-not-found,unused-ignore]  # the module exists on Windows only

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, WINDOWS_RUNTIME_KEY) as key:  # type: ignore[attr-defined,unused-ignore]  # winreg's stubs exist on Windows only
            value, _kind = winreg.QueryValueEx(key, "ActiveRuntime")  # type: ignore[attr-defined,unused-ignore]  # as above
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
    checked: OpenXrSource[None] = OpenXrSource(  # no view renderer: it presents nothing
        None, api_layers=api_layers, app_name="gmi-vr doctor", ready_timeout_s=FOCUS_TIMEOUT_S
    )
    with checked as source:
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


# ----------------------------------------------------------------------------- the checklist

#: The oldest Python gmi-vr runs on (pyproject.toml, requires-python).
MIN_PYTHON = (3, 11)
NO_DISPLAY = ("No display is available: run gmi-vr doctor in the desktop session of the PC the "
              "headset is connected to.")  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One line of the checklist. ``error``: for a failed check, the one sentence (and the
    exit status) the command ends with when this is the first failure."""

    name: str
    passed: bool
    detail: str
    error: GmiError | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DoctorResult:
    checks: tuple[Check, ...]
    report: DoctorReport | None  # the session's details, when one started
    loader_output: str  # what the loader and runtime wrote to stderr meanwhile

    @property
    def session_can_start(self) -> bool:
        return all(check.passed for check in self.checks if check.name != "controllers")

    def first_error(self) -> GmiError | None:
        return next((check.error for check in self.checks if not check.passed), None)


@contextlib.contextmanager
def captured_stderr(capture: bool) -> Iterator[list[str]]:
    """Send file descriptor 2 (where the OpenXR loader and the runtime's client library write
    their diagnostics, below Python) to a temporary file while the block runs; the list it
    yields receives that text afterwards. ``capture`` False leaves stderr alone."""
    captured: list[str] = []
    if not capture:
        yield captured
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode(errors="replace"))


def _not_checked(name: str, needs: str) -> Check:
    return Check(name, False, f"not checked: needs {needs}")


def _runtime_failure_reason() -> str:
    """Why no runtime answered, from where the loader looks for one (OpenXR loader
    specification, Linux: XR_RUNTIME_JSON, then openxr/1/active_runtime.json on the XDG
    configuration paths)."""
    override = os.environ.get("XR_RUNTIME_JSON")
    if override and not Path(override).is_file():
        return f"XR_RUNTIME_JSON names {override}, which does not exist"
    manifest = active_runtime_manifest()
    if manifest == "none found":
        where = ("no ActiveRuntime in the registry" if WINDOW_SYSTEM == "win32"
                 else "no openxr/1/active_runtime.json")  # fmt: skip
        return (f"no runtime is installed as the active one ({where}): "
                "install and start your headset's runtime (SteamVR, Monado)")  # fmt: skip
    return (f"the runtime in {manifest} could not be loaded or did not answer: start it (or its "
            "service) and try again, or reinstall it")  # fmt: skip


def _probe_runtime() -> tuple[Check, Check]:
    """The runtime check (an instance can be created: its name) and the headset check (the
    runtime has a head-mounted system: its name), with a bare instance destroyed after."""
    import xr

    from gmi_vr.xr.runtime import NO_RUNTIME, offered_extensions

    manifest = active_runtime_manifest()
    try:
        offered_extensions()
        instance = xr.create_instance(xr.InstanceCreateInfo(application_info=xr.ApplicationInfo(
            application_name="gmi-vr doctor", engine_name="gmi-vr", api_version=xr.Version(1, 0, 0))))  # fmt: skip
    except (GmiError, xr.ErrorResult) as error:
        cause = error if isinstance(error, GmiError) else XrRuntimeUnavailable(NO_RUNTIME)
        return (Check("OpenXR runtime", False, _runtime_failure_reason(), cause),
                _not_checked("headset", "a runtime"))  # fmt: skip
    try:
        properties = xr.get_instance_properties(instance)
        name = properties.runtime_name
        name = name.decode() if isinstance(name, bytes) else str(name)
        runtime = Check("OpenXR runtime", True,
                        f"{name} {xr.Version(properties.runtime_version)} ({manifest})")  # fmt: skip
        try:
            system = xr.get_system(instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
            system_name = xr.get_system_properties(instance, system).system_name
        except (xr.FormFactorUnavailableError, xr.FormFactorUnsupportedError):
            no_headset = XrRuntimeUnavailable(
                "The OpenXR runtime is running but no headset is connected: connect and switch on "
                "the headset, then try again, or use --sim."
            )
            return runtime, Check("headset", False, "none connected: connect and switch it on", no_headset)
        system_name = system_name.decode() if isinstance(system_name, bytes) else str(system_name)
        return runtime, Check("headset", True, system_name)
    finally:
        xr.destroy_instance(instance)


def doctor_checks(capture_loader_output: bool = True) -> DoctorResult:
    """Run the checklist (module docstring). PyOpenGL must not be loaded with the EGL
    platform yet: call this before anything offscreen, or in its own process."""
    checks: list[Check] = []
    version = platform.python_version()
    python_ok = sys.version_info[:2] >= MIN_PYTHON
    minimum = ".".join(map(str, MIN_PYTHON))
    checks.append(Check("Python", python_ok, f"{version} ({sys.executable})" if python_ok else
                        f"{version} is too old: gmi-vr needs Python {minimum} or newer",
                        None if python_ok else GmiError(f"gmi-vr needs Python {minimum} or newer; this is {version}.")))  # fmt: skip

    from gmi_vr.render.context import choose_gl_platform, display_available, open_window_context

    choose_gl_platform(offscreen=False)
    report: DoctorReport | None = None
    with captured_stderr(capture_loader_output) as loader_output, contextlib.ExitStack() as stack:
        try:
            # Kept open while the runtime is probed: GLFW stays initialised before any instance
            # exists, the order OpenXrSource keeps too.
            stack.enter_context(open_window_context(64, 64, title="gmi-vr doctor", visible=False))
            from OpenGL import GL

            gl = f"{GL.glGetString(GL.GL_VERSION).decode()} ({GL.glGetString(GL.GL_RENDERER).decode()})"
            checks.append(Check("OpenGL", True, gl))
        except GraphicsUnavailable as error:
            if display_available():
                checks.append(Check("OpenGL", False, str(error), error))
            else:
                checks.append(Check("OpenGL", False, "no display: the headset and the therapist window "
                                    "need the PC's desktop (X11)", GraphicsUnavailable(NO_DISPLAY)))  # fmt: skip

        try:
            import xr  # noqa: F401  (pyopenxr loads the bundled loader library)

            checks.append(Check("OpenXR loader", True, f"pyopenxr {metadata.version('pyopenxr')} (bundled Khronos loader)"))
        except (ImportError, OSError) as error:
            checks.append(Check("OpenXR loader", False, f"pyopenxr does not load: {error}",
                                GmiError("The OpenXR loader does not load: reinstall gmi-vr (tools/setup).")))  # fmt: skip
            checks += [_not_checked("OpenXR runtime", "the loader"), _not_checked("headset", "the loader")]
        else:
            checks += _probe_runtime()

        if all(check.passed for check in checks):
            try:
                report = doctor_report()
            except GmiError as error:
                checks.append(Check("session", False, str(error), error))
            else:
                state = "focused" if report.focused else "created, not focused (put the headset on)"
                checks.append(Check("session", True, f"{state}; reference space {report.reference_space}"))
        else:
            checks.append(_not_checked("session", "every check above"))

        if report is None:
            checks.append(_not_checked("controllers", "a session"))
        else:
            profiles = report.interaction_profiles
            if any(profiles.values()):
                detail = ", ".join(f"{hand} {profile or 'none bound'}" for hand, profile in profiles.items())
                checks.append(Check("controllers", True, detail))
            else:
                hands = ", or use tracked hands (pinch answers)" if report.hand_tracking else ""
                checks.append(Check("controllers", False, f"none bound: switch the controllers on{hands} "
                                    "(meanwhile the therapist's keys answer for the patient)"))  # fmt: skip
    return DoctorResult(tuple(checks), report, "".join(loader_output))
