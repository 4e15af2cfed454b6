"""render layer (see ARCHITECTURE.md)."""

import os


def configure_pyopengl(platform: str) -> None:
    """Settle PyOpenGL's options for ``platform`` ("glx", "nt" on Windows, or "egl") before OpenGL is first
    imported (``render.context.choose_gl_platform`` calls this).

    PyOpenGL calls glGetError after every GL call unless told otherwise, which costs a good
    part of each call's CPU time at hundreds of calls per frame; PyOpenGL documents turning
    it off for release runs, and gmi-vr does so for windows and the headset (GLX, WGL).
    ``PYOPENGL_ERROR_CHECKING=1`` keeps it on (the tests set it, so a failing call raises
    where it happens). EGL keeps it on: PyOpenGL 3.1's EGL bindings fail to import without it.
    """
    if "PYOPENGL_ERROR_CHECKING" not in os.environ and platform != "egl":
        import OpenGL

        OpenGL.ERROR_CHECKING = False
