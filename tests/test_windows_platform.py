"""Windows, tested at its seam on Linux: the Win32 OpenGL graphics binding, PyOpenGL's
platform, fonts and spoken cues.

No Windows machine runs these tests. Everything Windows-specific sits behind
``render.context.WINDOW_SYSTEM`` (the graphics binding, PyOpenGL's platform, fonts) and
``app.audio.ENGINE`` (speech); the tests set those to Windows and stand in for the only
calls Linux does not have: glfw's ``get_win32_window`` / ``get_wgl_context`` (the glfw
package defines them only on Windows) and user32's ``GetDC``, the latter as a real ctypes
function pointer so the argument and result conversions are the ones Windows would see.
Checks that load PyOpenGL run in a fresh interpreter: PyOpenGL binds its platform once per
process.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import xr

from gmi_vr.app.audio import WINDOWS_SPEECH_SCRIPT, CueSpeaker
from gmi_vr.core.errors import GraphicsUnavailable
from gmi_vr.core.events import Event
from gmi_vr.render import context as gl_context_module
from gmi_vr.render.context import WindowContext
from gmi_vr.render.win32 import system_font_paths
from gmi_vr.xr.runtime import GraphicsBindingOpenGLWin32, graphics_binding

#: Handles as Windows would hand them out (any non-zero addresses).
HWND, HGLRC, HDC = 0x000A_01C2, 0x0001_0000, 0x5A01_0F3E


class FakeGlfwWin32:
    """glfw's Windows-only native-access functions, for one window."""

    def __init__(self, window: object, gl_context: int | None = HGLRC) -> None:
        self.window, self.gl_context = window, gl_context

    def get_win32_window(self, window: object) -> int | None:
        return HWND if window is self.window else None

    def get_wgl_context(self, window: object) -> int | None:
        return self.gl_context if window is self.window else None


class FakeUser32:
    """user32.dll with a ``GetDC`` that is a real ctypes function pointer, recording calls."""

    def __init__(self, device_context: int = HDC) -> None:
        self.get_dc_calls: list[int | None] = []

        def get_dc(window_handle: int | None) -> int:
            self.get_dc_calls.append(window_handle)
            return device_context

        self._keep = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(get_dc)
        self.GetDC = self._keep


@pytest.fixture
def windows_boundary(monkeypatch: pytest.MonkeyPatch) -> tuple[WindowContext, FakeUser32]:
    """A window context as Windows would give it, with the Win32 calls faked."""
    import glfw

    window = object()  # GLFW's window pointer; only passed back to glfw
    fake_glfw, user32 = FakeGlfwWin32(window), FakeUser32()
    monkeypatch.setattr(glfw, "get_win32_window", fake_glfw.get_win32_window, raising=False)
    monkeypatch.setattr(glfw, "get_wgl_context", fake_glfw.get_wgl_context, raising=False)
    monkeypatch.setattr(ctypes, "WinDLL", lambda name: {"user32": user32}[name], raising=False)
    return WindowContext(window, window_system="win32"), user32


def test_a_windows_window_binds_through_the_win32_structure_with_its_dc_and_wgl_context(
    windows_boundary: tuple[WindowContext, FakeUser32],
) -> None:
    context, user32 = windows_boundary
    binding = graphics_binding(context)
    assert isinstance(binding, GraphicsBindingOpenGLWin32)
    assert binding.type == xr.StructureType.GRAPHICS_BINDING_OPENGL_WIN32_KHR.value == 1000023000
    assert binding.next is None
    assert (binding.h_dc, binding.h_glrc) == (HDC, HGLRC)
    # The device context is the window's own: GetDC was asked for GLFW's HWND, once.
    assert user32.get_dc_calls == [HWND]
    # What xrCreateSession receives: the bytes at the chained pointer, read back.
    address = ctypes.cast(ctypes.pointer(binding), ctypes.c_void_p).value
    raw = (ctypes.c_uint64 * 4).from_address(address)
    assert (raw[0] & 0xFFFF_FFFF, raw[1], raw[2], raw[3]) == (1000023000, 0, HDC, HGLRC)


def test_the_win32_structure_has_the_specifications_layout() -> None:
    # XrGraphicsBindingOpenGLWin32KHR: XrStructureType type; const void* next; HDC hDC;
    # HGLRC hGLRC -- on 64-bit Windows 4 + 4 padding, then three 8-byte pointers.
    fields = {name: getattr(GraphicsBindingOpenGLWin32, name).offset for name, _ in
              GraphicsBindingOpenGLWin32._fields_}  # fmt: skip
    assert fields == {"type": 0, "next": 8, "h_dc": 16, "h_glrc": 24}
    assert ctypes.sizeof(GraphicsBindingOpenGLWin32) == 32
    # The header sits where pyopenxr's own structures put it (the runtime reads type first).
    header = xr.GraphicsBindingOpenGLXlibKHR
    assert (header._type.offset, header._next.offset) == (fields["type"], fields["next"])


def test_a_window_without_a_wgl_context_is_refused_in_one_sentence(
    windows_boundary: tuple[WindowContext, FakeUser32], monkeypatch: pytest.MonkeyPatch
) -> None:
    import glfw

    context, user32 = windows_boundary
    monkeypatch.setattr(glfw, "get_wgl_context", lambda window: None, raising=False)
    with pytest.raises(GraphicsUnavailable, match="no WGL context for OpenXR; update the graphics driver"):
        graphics_binding(context)
    assert user32.get_dc_calls == []


def test_no_device_context_is_refused_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, windows_boundary: tuple[WindowContext, FakeUser32]
) -> None:
    context, _ = windows_boundary
    no_dc = FakeUser32(device_context=0)
    monkeypatch.setattr(ctypes, "WinDLL", lambda name: no_dc, raising=False)
    with pytest.raises(GraphicsUnavailable, match="Windows gave no device context"):
        graphics_binding(context)
    assert no_dc.get_dc_calls == [HWND]


def test_windows_always_has_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    assert not gl_context_module.display_available()
    monkeypatch.setattr(gl_context_module, "WINDOW_SYSTEM", "win32")
    assert gl_context_module.display_available()


def _fresh_interpreter(script: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                            text=True, timeout=120, env={**os.environ, **(env or {})})  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_windows_windows_load_pyopengls_wgl_platform_and_offscreen_stays_egl() -> None:
    out = _fresh_interpreter(
        """
        import os
        from gmi_vr.render import context
        context.WINDOW_SYSTEM = "win32"
        context.choose_gl_platform(offscreen=False)
        print(os.environ["PYOPENGL_PLATFORM"])
        context.choose_gl_platform(offscreen=True)
        print(os.environ["PYOPENGL_PLATFORM"])
        """
    )
    assert out.split() == ["nt", "egl"]


def test_windows_font_folders_in_order() -> None:
    paths = system_font_paths({"WINDIR": "W", "LOCALAPPDATA": "L"})
    user, system = Path("L/Microsoft/Windows/Fonts"), Path("W/Fonts")
    assert paths == [user / "DejaVuSans.ttf", system / "DejaVuSans.ttf",
                     user / "segoeui.ttf", system / "segoeui.ttf",
                     user / "arial.ttf", system / "arial.ttf"]  # fmt: skip


def test_without_dejavu_the_glyph_atlas_uses_windows_own_font(tmp_path: Path) -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not dejavu.is_file():
        pytest.skip("fonts-dejavu-core is not installed (tools/setup installs it)")
    fonts = tmp_path / "Windows" / "Fonts"
    fonts.mkdir(parents=True)
    (fonts / "segoeui.ttf").write_bytes(dejavu.read_bytes())  # any TrueType font stands in
    out = _fresh_interpreter(
        f"""
        from pathlib import Path
        from gmi_vr.render import text
        text.WINDOW_SYSTEM = "win32"
        text.DEJAVU_SANS = Path({str(tmp_path / "missing.ttf")!r})
        print(text._load_font().path)
        """,
        env={"PYOPENGL_PLATFORM": "egl", "WINDIR": str(tmp_path / "Windows"), "LOCALAPPDATA": ""},
    )
    assert out.strip() == str(fonts / "segoeui.ttf")


# ---------------------------------------------------------------- spoken cues (System.Speech)

#: Stands in for powershell.exe: records its arguments and the cue's environment variables.
FAKE_POWERSHELL = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "text": os.environ.get("GMI_VR_CUE_TEXT"),
                          "wav": os.environ.get("GMI_VR_CUE_WAV")}}) + "\\n")
"""


def test_windows_speaks_each_cue_through_system_speech_with_the_text_outside_the_script(
    tmp_path: Path,
) -> None:
    log = tmp_path / "calls.jsonl"
    program = tmp_path / "powershell"
    program.write_text(FAKE_POWERSHELL.format(python=sys.executable, log=str(log)))
    program.chmod(0o755)
    speaker = CueSpeaker(write_to=tmp_path, program=str(program), engine="windows")
    hostile = 'Now imagine it"; Remove-Item C:\\ -Recurse; $(whoami) `n'
    speaker.handle([Event(0.0, "cue.audio", {"text": "Watch. Bend your wrist back."})])
    speaker.handle([Event(0.1, "cue.audio", {"text": hostile})])
    deadline = time.monotonic() + 30
    while (speaker.speaking() or len(speaker.spoken) < 2) and time.monotonic() < deadline:
        speaker.handle([])
        time.sleep(0.02)
    speaker.close(wait_s=10)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    expected_argv = ["-NoProfile", "-NonInteractive", "-Command", WINDOWS_SPEECH_SCRIPT]
    assert calls == [
        {"argv": expected_argv, "text": "Watch. Bend your wrist back.",
         "wav": str(tmp_path / "cue-001.wav")},
        {"argv": expected_argv, "text": hostile, "wav": str(tmp_path / "cue-002.wav")},
    ]  # fmt: skip
    assert "System.Speech" in WINDOWS_SPEECH_SCRIPT and "$env:GMI_VR_CUE_TEXT" in WINDOWS_SPEECH_SCRIPT


def test_windows_without_powershell_keeps_cues_as_text_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    asked: list[str] = []

    def which(name: str) -> Any:
        asked.append(name)
        return None

    monkeypatch.setattr(shutil, "which", which)
    with caplog.at_level(logging.WARNING):
        speaker = CueSpeaker(write_to=tmp_path, engine="windows")
        for t in range(3):
            speaker.handle([Event(float(t), "cue.audio", {"text": "Watch."})])
    assert asked == ["powershell"]
    assert speaker.spoken == [] and list(tmp_path.iterdir()) == []
    assert [r.getMessage() for r in caplog.records] == [
        "Windows PowerShell was not found: spoken cues are shown as text only."
    ]


@pytest.mark.display
def test_an_x11_window_still_binds_through_xlib_with_every_field(gl_context: Any) -> None:
    if not isinstance(gl_context, WindowContext):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    binding = graphics_binding(gl_context)
    assert isinstance(binding, xr.GraphicsBindingOpenGLXlibKHR)
    assert binding.visualid == gl_context.visual_id() > 0
    assert binding.glx_drawable == gl_context.glx_drawable() != 0


def test_doctor_names_the_windows_registrys_active_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    from gmi_vr.xr.doctor import active_runtime_manifest

    monkeypatch.delenv("XR_RUNTIME_JSON", raising=False)
    steamvr = r"C:\Program Files (x86)\Steam\steamapps\common\SteamVR\steamxr_win64.json"
    assert active_runtime_manifest(lambda: steamvr) == (
        steamvr + r" (registry HKLM\SOFTWARE\Khronos\OpenXR\1)"
    )
    assert active_runtime_manifest(lambda: None) == "none found"
    monkeypatch.setenv("XR_RUNTIME_JSON", "C:/runtime.json")  # the override wins, as in the loader
    assert active_runtime_manifest(lambda: steamvr) == "C:/runtime.json (XR_RUNTIME_JSON)"


def test_on_windows_records_go_to_local_appdata_and_settings_to_roaming_appdata(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gmi_vr.core.settings import default_config_file, default_data_dir, load_settings
    from gmi_vr.recording.store_location import default_database_path

    for name in ("GMI_VR_DATA", "GMI_VR_CONFIG", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert default_data_dir() == tmp_path / "Local" / "gmi-vr"
    assert default_database_path() == tmp_path / "Local" / "gmi-vr" / "sessions.sqlite"
    assert default_config_file() == tmp_path / "Roaming" / "gmi-vr" / "settings.toml"
    # What the commands use: the settings, read from that file, with the data folder default.
    (tmp_path / "Roaming" / "gmi-vr").mkdir(parents=True)
    default_config_file().write_text('station = "vr-pc-2"\n')
    settings = load_settings()
    assert (settings.station, settings.data_dir) == ("vr-pc-2", tmp_path / "Local" / "gmi-vr")
