"""Opening the therapist window: one place for the headset, the simulator, calibration and
replay. The window's size comes from settings.toml (``console_width`` x ``console_height``
screen pixels); with ``console`` the imgui panels (``gmi_vr.console.panels``) sit beside
the two views.

OpenGL is imported only after ``choose_gl_platform`` (PyOpenGL binds GLX or EGL at its
first import), which is why the GL-using modules are imported inside the function.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from gmi_vr.core.input import InputState
from gmi_vr.core.settings import load_settings

if TYPE_CHECKING:
    from gmi_vr.console.therapist_window import TherapistWindow


@contextmanager
def open_therapist_window(title: str, *, visible: bool = True, input_state: InputState | None = None,
                          console: bool = False, help_rows: tuple[tuple[str, str], ...] = (),
                          timeline: bool = False, preload: Iterable[str] = ()) -> Iterator[TherapistWindow]:
    """A therapist window on a new GL context with its renderer (``window.view.renderer``),
    sized by the settings; ``input_state`` receives the keyboard and mouse for the simulator,
    ``help_rows`` are the keys F1 lists, ``timeline`` leaves the timeline strip (replay's)
    above the status bar. The models named in ``preload`` are loaded before the window is
    handed out, so no frame waits for a file. Everything is released in reverse order.
    Raises GraphicsUnavailable with no display, InputFileError for a bad settings file."""
    from gmi_vr.render.context import choose_gl_platform

    settings = load_settings()  # a bad settings file fails before any window opens
    choose_gl_platform(offscreen=False)
    from gmi_vr.console.therapist_window import TIMELINE_PX, TherapistWindow
    from gmi_vr.render.context import open_window_context
    from gmi_vr.render.renderer import Renderer

    with ExitStack() as stack:
        context = stack.enter_context(open_window_context(*settings.console_size, title=title,
                                                          visible=visible))  # fmt: skip
        renderer = Renderer()
        stack.callback(renderer.release)
        renderer.preload(sorted(preload))
        window = TherapistWindow(context, renderer, input_state, console=console)
        stack.callback(window.release)
        window.view.help_rows = help_rows
        window.view.timeline_px = TIMELINE_PX if timeline else 0
        yield window
