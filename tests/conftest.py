"""Shared fixtures. Tests marked ``xr`` run only inside tools/xr-sandbox (pytest -m xr).

The GL fixtures give a test a real OpenGL 4.1 core context (Mesa llvmpipe here): a hidden
GLFW window (GLX) when an X display is there, a surfaceless EGL context when there is none.
Every test using ``gl`` fails if it leaves a GL error behind. A module sets ``W`` and ``H``
for the size of its ``target``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# PyOpenGL's check after every GL call stays on in tests (the app turns it off, see
# gmi_vr/render/__init__.py): a failing call raises where it happens, in child processes too.
os.environ.setdefault("PYOPENGL_ERROR_CHECKING", "1")


@pytest.fixture(scope="module")
def gl_context(request: pytest.FixtureRequest) -> Iterator[Any]:
    from gmi_vr.render.context import (
        choose_gl_platform,
        open_offscreen_context,
        open_window_context,
    )

    has_display = bool(os.environ.get("DISPLAY"))
    try:
        choose_gl_platform(offscreen=not has_display)
    except RuntimeError:
        pytest.skip("PyOpenGL was loaded for another platform earlier in this process")
    title = f"gmi-vr test {request.module.__name__}"
    context = open_window_context(64, 64, title=title, visible=False) if has_display else open_offscreen_context()
    yield context
    context.release()


@pytest.fixture
def gl(gl_context: Any) -> Iterator[Any]:
    """The GL module with a current context; fails the test if GL reports an error after it."""
    from OpenGL import GL

    gl_context.make_current()
    while GL.glGetError() != GL.GL_NO_ERROR:  # start clean
        pass
    yield GL
    error = GL.glGetError()
    assert error == GL.GL_NO_ERROR, f"the test left GL error 0x{int(error):x} behind"


@pytest.fixture
def renderer(gl: Any) -> Iterator[Any]:
    from gmi_vr.render.renderer import Renderer

    r = Renderer()
    yield r
    r.release()


@pytest.fixture
def target(gl: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """An offscreen colour + depth target of the module's W x H pixels."""
    from gmi_vr.render.target import RenderTarget

    t = RenderTarget(request.module.W, request.module.H)
    yield t
    t.release()
