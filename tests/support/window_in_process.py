"""The therapist's window opened in a test's own process, and what a test checks on it."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def therapist_window_module() -> Any:
    """gmi_vr.console.therapist_window, imported (it imports OpenGL) after the platform choice the
    app would make for this process, so later GL tests in this process still get theirs."""
    from gmi_vr.render.context import choose_gl_platform

    try:
        choose_gl_platform(offscreen=not os.environ.get("DISPLAY"))
    except RuntimeError:
        pass  # OpenGL is loaded already; the layout and camera need no context
    return importlib.import_module("gmi_vr.console.therapist_window")


@contextmanager
def therapist_window_here(title: str, *args: Any, **options: Any) -> Iterator[Any]:
    """A hidden therapist window of the default size, opened in this process with ``args`` and
    ``options`` for ``TherapistWindow``; released after, its renderer and GL context too."""
    console = therapist_window_module()
    from gmi_vr.render.context import open_window_context
    from gmi_vr.render.renderer import Renderer

    with open_window_context(*console.WINDOW_SIZE, title=title, visible=False) as context:
        renderer = Renderer()
        window = console.TherapistWindow(context, renderer, *args, **options)
        try:
            yield window
        finally:
            window.release()
            renderer.release()


def assert_help_overlay(pixels: Any, patient: tuple[int, int, int, int], bottom_px: int) -> None:
    """The key help is drawn over the patient pane ``patient`` (x, y, w, h) of the picture
    ``pixels`` ((h, w, 4) uint8): light text on dark from 40 to ``bottom_px`` px below its top."""
    help_area = pixels[patient[1] + 40 : patient[1] + bottom_px, patient[0] + 14 : patient[0] + 300, :3]
    assert (help_area.max(axis=-1) > 200).mean() > 0.03 and (help_area.max(axis=-1) < 110).mean() > 0.3


def assert_escape_closes(window: Any) -> None:
    """Escape pressed in the window (its key callback, as GLFW calls it) closes it, and GL has
    no error to report."""
    import glfw
    from OpenGL import GL

    window._on_key(window.context.window, glfw.KEY_ESCAPE, 0, glfw.PRESS, 0)
    assert window.should_close()
    assert GL.glGetError() == GL.GL_NO_ERROR
