"""The two GL context providers: a GLFW/GLX window under an X display and a surfaceless EGL
context with no display at all. Each clears to a colour and reads the pixels back.

The offscreen check runs in a fresh interpreter without DISPLAY because PyOpenGL binds
its platform (GLX or EGL) at first import, once per process.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap

import pytest

from gmi_vr.core.errors import GraphicsUnavailable

pytestmark = pytest.mark.gl

_OFFSCREEN_SCRIPT = textwrap.dedent(
    """
    from gmi_vr.render.context import choose_gl_platform, open_offscreen_context
    choose_gl_platform(offscreen=True)
    from OpenGL import GL
    with open_offscreen_context():
        version = GL.glGetString(GL.GL_VERSION).decode()
        major = GL.glGetIntegerv(GL.GL_MAJOR_VERSION)
        minor = GL.glGetIntegerv(GL.GL_MINOR_VERSION)
        assert (int(major), int(minor)) >= (4, 1), version
        assert GL.glGetIntegerv(GL.GL_CONTEXT_PROFILE_MASK) & GL.GL_CONTEXT_CORE_PROFILE_BIT
        fbo = GL.glGenFramebuffers(1)
        colour = GL.glGenRenderbuffers(1)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, colour)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA8, 8, 4)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, colour)
        assert GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) == GL.GL_FRAMEBUFFER_COMPLETE
        GL.glViewport(0, 0, 8, 4)
        GL.glClearColor(0.0, 1.0, 0.0, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        pixels = GL.glReadPixels(0, 0, 8, 4, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        print("PIXEL", tuple(bytes(pixels)[:4]), "GL", version)
    """
)


def test_offscreen_context_renders_without_any_display() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYOPENGL_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-c", _OFFSCREEN_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "PIXEL (0, 255, 0, 255)" in result.stdout, result.stdout


@pytest.mark.display
def test_window_context_clears_and_reads_back_under_x() -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    from gmi_vr.render.context import choose_gl_platform, open_window_context

    choose_gl_platform(offscreen=False)
    from OpenGL import GL

    with open_window_context(64, 48, title="gmi-vr test", visible=False) as context:
        assert context.framebuffer_size() == (64, 48)
        major = int(GL.glGetIntegerv(GL.GL_MAJOR_VERSION))
        minor = int(GL.glGetIntegerv(GL.GL_MINOR_VERSION))
        assert (major, minor) >= (4, 1)
        GL.glViewport(0, 0, 64, 48)
        GL.glClearColor(1.0, 0.0, 0.0, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        GL.glReadBuffer(GL.GL_BACK)
        pixels = bytes(GL.glReadPixels(10, 10, 1, 1, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE))
        assert tuple(pixels) == (255, 0, 0, 255)
        context.swap()
        context.poll()
        assert not context.should_close()
        # The handles an OpenXR GLX binding needs are all real.
        assert context.glx_display()
        assert context.glx_context()
        assert context.glx_drawable() != 0
        assert context.glx_fbconfig()
        assert context.visual_id() > 0


@pytest.mark.display
def test_window_context_keeps_its_fbconfig_by_value() -> None:
    """The GLXFBConfig handle is a copy of the pointer glXChooseFBConfig returned, not a view
    into the array Xlib allocated for it (freed with XFree straight after): memory reused
    since must leave the handle unchanged, and it must still name the context's own config."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    from gmi_vr.render.context import choose_gl_platform, open_window_context

    choose_gl_platform(offscreen=False)
    from OpenGL import GLX

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    with open_window_context(32, 32, title="gmi-vr test", visible=False) as context:
        fbconfig = context.glx_fbconfig()
        assert fbconfig._b_base_ is None  # owns its memory: shares no freed buffer
        kept = ctypes.cast(fbconfig, ctypes.c_void_p).value
        # Reuse freed small blocks (the array was one pointer) and scribble over them.
        blocks = [libc.malloc(8) for _ in range(256)]
        for block in blocks:
            ctypes.memset(block, 0xA5, 8)
        try:
            assert ctypes.cast(context.glx_fbconfig(), ctypes.c_void_p).value == kept
            display = context.glx_display()
            wanted_id, named_id = ctypes.c_int(0), ctypes.c_int(0)
            GLX.glXQueryContext(
                display, context.glx_context(), GLX.GLX_FBCONFIG_ID, ctypes.byref(wanted_id)
            )
            GLX.glXGetFBConfigAttrib(
                display, context.glx_fbconfig(), GLX.GLX_FBCONFIG_ID, ctypes.byref(named_id)
            )
            assert (named_id.value, wanted_id.value > 0) == (wanted_id.value, True)
        finally:
            for block in blocks:
                libc.free(block)


_ATOM_PROBE = textwrap.dedent(
    """
    import ctypes, sys
    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    assert display, "cannot open the display"
    atom = x11.XInternAtom(display, b"GMI_VR_NO_RESET_PROBE", sys.argv[1] == "look")
    x11.XCloseDisplay(display)
    print(atom)
    """
)


@pytest.mark.display
def test_the_display_keeps_its_state_when_its_last_client_leaves() -> None:
    """The test display must not reset between clients: a window test that connects while the
    server resets (after the previous test's window closed) fails to open the display. A reset
    forgets every atom, so an atom made by one client must still exist for the next."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    probe = [sys.executable, "-c", _ATOM_PROBE]
    made = subprocess.run([*probe, "make"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and int(made.stdout) != 0, made.stderr
    looked = subprocess.run([*probe, "look"], capture_output=True, text=True, timeout=60)
    assert looked.returncode == 0, looked.stderr
    assert int(looked.stdout) == int(made.stdout)


def test_window_context_without_display_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from gmi_vr.render.context import open_window_context

    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(GraphicsUnavailable, match="No display"):
        open_window_context(32, 32, visible=False)
