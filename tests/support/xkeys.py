"""Real key presses and mouse clicks on an X display, through the XTEST extension (Xvfb has it).

The X server turns each fake press into the same KeyPress event a keyboard makes, so a GLFW
window receives it through its own event queue and key callback: nothing of the app's input
path is bypassed. Uses libX11 and libXtst through ctypes (no extra package).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any


def _library(name: str, soname: str) -> Any:
    return ctypes.CDLL(ctypes.util.find_library(name) or soname)


class XKeyboard:
    """Presses keys on the display named by $DISPLAY. Key names are X keysym names:
    "Escape", "F5", "Return", "2", ..."""

    def __init__(self) -> None:
        self._x11 = _library("X11", "libX11.so.6")
        self._xtst = _library("Xtst", "libXtst.so.6")
        self._x11.XOpenDisplay.restype = ctypes.c_void_p
        self._x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self._x11.XStringToKeysym.restype = ctypes.c_ulong
        self._x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
        self._x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        self._x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        self._x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self._x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        display = self._x11.XOpenDisplay(None)
        if not display:
            raise RuntimeError("cannot open the X display named by $DISPLAY")
        self._display = display

    def _keycode(self, name: str) -> int:
        keysym = self._x11.XStringToKeysym(name.encode())
        keycode = self._x11.XKeysymToKeycode(self._display, keysym)
        if not keysym or not keycode:
            raise ValueError(f"no key {name!r} on this display")
        return int(keycode)

    def press(self, *names: str) -> None:
        """Press and release each key in turn; returns once the server has handled them."""
        for name in names:
            keycode = self._keycode(name)
            self._xtst.XTestFakeKeyEvent(self._display, keycode, 1, 0)
            self._xtst.XTestFakeKeyEvent(self._display, keycode, 0, 0)
        self._x11.XSync(self._display, 0)

    def hold(self, name: str, down: bool) -> None:
        """Press (``down``) or release one key, for a key held over several frames."""
        self._xtst.XTestFakeKeyEvent(self._display, self._keycode(name), 1 if down else 0, 0)
        self._x11.XSync(self._display, 0)

    def close(self) -> None:
        if self._display:
            self._x11.XCloseDisplay(self._display)
            self._display = None


class XMouse:
    """Moves the pointer and clicks on the display named by $DISPLAY through XTEST, so a GLFW
    window gets real motion and button events in its own event queue. Positions are the
    screen's pixels (a window's origin: ``glfw.get_window_pos``)."""

    def __init__(self) -> None:
        self._x11 = _library("X11", "libX11.so.6")
        self._xtst = _library("Xtst", "libXtst.so.6")
        self._x11.XOpenDisplay.restype = ctypes.c_void_p
        self._x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self._x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self._x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                                    ctypes.c_ulong]
        self._xtst.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        display = self._x11.XOpenDisplay(None)
        if not display:
            raise RuntimeError("cannot open the X display named by $DISPLAY")
        self._display = display

    def move(self, x: int, y: int) -> None:
        self._xtst.XTestFakeMotionEvent(self._display, -1, int(x), int(y), 0)
        self._x11.XSync(self._display, 0)

    def button(self, down: bool, button: int = 1) -> None:
        """Press (``down``) or release a button (1 left, 2 middle, 3 right)."""
        self._xtst.XTestFakeButtonEvent(self._display, button, 1 if down else 0, 0)
        self._x11.XSync(self._display, 0)

    def close(self) -> None:
        if self._display:
            self._x11.XCloseDisplay(self._display)
            self._display = None
