"""render layer (see ARCHITECTURE.md): OpenGL 4.1 core drawing of a ``DrawList``.

- ``context``: GL contexts (a GLFW window, GLX, or EGL offscreen) and choosing the platform;
- ``renderer``: ``Renderer.draw(draw_list, camera, framebuffer, width, height)``, one view;
  ``Renderer.draw_stereo``, both eyes in one pass (``stereo``: multiview, layered or two-pass);
- ``view_block``: the camera uniform block every program reads;
- ``mesh_buffer``, ``skinned``, ``text``, ``shader``: GPU meshes, skinned avatars, glyph text,
  shader programs; ``target``: offscreen framebuffers (two-layer ones too) and reading pixels back;
- ``win32``: the Windows handles an OpenXR Win32 graphics binding needs.
"""

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
