"""Windows specifics of the GL window: the WGL handles an OpenXR session binds to.

Every Windows-only line of the renderer lives here, behind ``context.WINDOW_SYSTEM``;
nothing here runs on Linux except under the tests' fakes. On Windows GLFW creates its
OpenGL context through WGL; ``XrGraphicsBindingOpenGLWin32KHR`` (XR_KHR_opengl_enable)
wants that context (``HGLRC``) and a device context (``HDC``) of the window it was made
current with. GLFW gives the window (``HWND``) and the context; the device context comes
from user32's ``GetDC``. GLFW registers its window class with ``CS_OWNDC``, so ``GetDC``
returns the window's own device context, the one GLFW made current: it stays valid for
the window's lifetime and must not be released.

The two boundaries (``glfw``'s Win32 functions, which the glfw package defines only on
Windows, and ``user32``) are parameters so tests can stand in for them.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gmi_vr.core.errors import GraphicsUnavailable


class GlfwWin32(Protocol):
    """The part of the glfw module this file uses (defined by glfw on Windows only)."""

    def get_win32_window(self, window: Any) -> int | None: ...

    def get_wgl_context(self, window: Any) -> int | None: ...


@dataclass(frozen=True)
class WglHandles:
    """The handles ``XrGraphicsBindingOpenGLWin32KHR`` needs, as integer addresses."""

    device_context: int  # HDC of the window GLFW made the context current with
    gl_context: int  # HGLRC, the WGL context


def wgl_handles(window: Any, glfw_api: GlfwWin32 | None = None, user32: Any = None) -> WglHandles:
    """The WGL context of GLFW ``window`` and its window's device context.

    ``glfw_api`` and ``user32`` default to the real glfw module and ``user32.dll``. Raises
    ``GraphicsUnavailable`` when GLFW has no Win32 window or WGL context for ``window`` (a
    context created through EGL or OSMesa instead) or Windows gives no device context.
    """
    if glfw_api is None:
        import glfw

        glfw_api = glfw
    if user32 is None:
        user32 = ctypes.WinDLL("user32")  # type: ignore[attr-defined]  # Windows only
    window_handle = glfw_api.get_win32_window(window)
    gl_context = glfw_api.get_wgl_context(window)
    if not window_handle or not gl_context:
        raise GraphicsUnavailable(
            "The OpenGL window has no WGL context for OpenXR; update the graphics driver and try again."
        )
    get_dc = user32.GetDC
    get_dc.argtypes = [ctypes.c_void_p]
    get_dc.restype = ctypes.c_void_p
    device_context = get_dc(ctypes.c_void_p(int(window_handle)))
    if not device_context:
        raise GraphicsUnavailable(
            "Windows gave no device context for the OpenGL window; update the graphics driver and try again."
        )
    return WglHandles(device_context=int(device_context), gl_context=int(gl_context))


#: Sans-serif fonts in ``%WINDIR%\\Fonts``, in order of preference: DejaVu Sans when the
#: clinic installed it (the look the app was designed with), Segoe UI (Windows' own
#: interface font since Vista), Arial (every Windows version). All cover Latin-1.
WINDOWS_FONT_FILES = ("DejaVuSans.ttf", "segoeui.ttf", "arial.ttf")


def system_font_paths(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Where Windows keeps those fonts (``WINDIR`` set by Windows itself, ``C:\\Windows``
    when it is missing). Installed only for the user, DejaVu Sans sits in
    ``%LOCALAPPDATA%\\Microsoft\\Windows\\Fonts``; that folder is tried first."""
    folders = []
    if environ.get("LOCALAPPDATA"):
        folders.append(Path(environ["LOCALAPPDATA"]) / "Microsoft" / "Windows" / "Fonts")
    folders.append(Path(environ.get("WINDIR") or "C:\\Windows") / "Fonts")
    return [folder / name for name in WINDOWS_FONT_FILES for folder in folders]
