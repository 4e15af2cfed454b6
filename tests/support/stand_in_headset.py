"""The headset's loop (``app.headset.run_openxr``) without a runtime, for window tests and the
session-edge benchmark: a stand-in for ``OpenXrSource`` that yields the simulator's keyboard
frames at a fixed rate and notes when each picture is presented to the eyes, opened with the
product's therapist window in place of ``headset_with_console``; and the therapist's clicks
and keys handed to that window's queues by a driver instead of the pointer.

Import after ``choose_gl_platform`` (it imports the window's module)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import gmi_vr.console.therapist_window as console
from gmi_vr.core.input import InputState
from gmi_vr.core.types import TrackingFrame
from gmi_vr.xr.sim_source import KeyboardMouseFrameSource


class StandInHeadset:
    """Frames at ``rate_hz`` (slept, as xrWaitFrame would); ``presented_at`` holds the
    monotonic time (s) of each picture presented, ``presented_cpu`` the presenting (render)
    thread's CPU time (s) then; after ``request_stop`` the source ends
    ``frames_to_end`` frames later, as a runtime walks its session to the end."""

    info = None
    reference_space_type = None

    def __init__(self, rate_hz: float = 60.0, frames_to_end: int = 2) -> None:
        start = time.monotonic()
        self.source = KeyboardMouseFrameSource(InputState(), lambda: time.monotonic() - start)
        self.rate_hz = rate_hz
        self.frames_to_end = frames_to_end
        self.presented_at: list[float] = []
        self.presented_cpu: list[float] = []
        self.stop_requests = 0

    def frames(self) -> Iterator[TrackingFrame]:
        left: int | None = None
        for frame in self.source.frames():
            if left is not None:
                if left == 0:
                    return
                left -= 1
            elif self.stop_requests:
                left = self.frames_to_end
            time.sleep(1.0 / self.rate_hz)
            yield frame

    def present(self, draw_list: Any) -> None:
        self.presented_at.append(time.monotonic())
        self.presented_cpu.append(time.thread_time())

    def vibrate(self, pulses: Any) -> None:
        """No controllers here (tests/xr check the real haptics)."""

    def clock_link(self) -> None:
        """Its times are tied to no clock (tests/xr check the runtime's)."""

    def request_stop(self) -> None:
        self.stop_requests += 1


def stand_in_for(headset: StandInHeadset) -> Any:
    """A ``headset_with_console`` that yields ``headset`` and the product's therapist window
    (assign it to ``gmi_vr.app.headset.headset_with_console``)."""

    @contextmanager
    def headset_with_console(title: str, visible: bool = True, **_options: Any) -> Iterator[Any]:
        from gmi_vr.render.context import open_window_context
        from gmi_vr.render.renderer import Renderer

        with open_window_context(*console.WINDOW_SIZE, title=title, visible=visible) as context:
            renderer = Renderer()
            window = console.TherapistWindow(context, renderer)
            try:
                yield headset, window
            finally:
                window.release()
                renderer.release()

    return headset_with_console


def run_where(where: str, headset: StandInHeadset, patient_id: str | None, **options: Any) -> None:
    """The product's run in ``where`` (``support.screens.PLACES``): "simulator" (``run_sim``
    with the keyboard's frames) or "headset" (``run_openxr`` on ``headset``), for
    ``patient_id`` (None: free play) with ``options`` (max_frames, therapist, report, ...)."""
    if where == "simulator":
        from gmi_vr.app import run_sim

        run_sim(None, patient_id=patient_id, **options)
        return
    import gmi_vr.app.headset as app_headset

    app_headset.headset_with_console = stand_in_for(headset)
    app_headset.run_openxr(patient_id, **options)


#: What a driver is sent at each draw: (the TherapistWindow, its status line).
Draw = tuple[Any, str]
#: The window's own draw, which every driven window wraps (a later one replaces the wrapper).
PRODUCT_SHOW = console.TherapistWindow.show


class DrivenWindow:
    """Every therapist window driven by ``drive(self)``, a generator sent ``(window, status)``
    at every draw; what it puts in ``actions`` (``ConsoleAction``) and ``keys`` ("escape",
    ...) reaches the window's queues as clicks and key presses would. ``draws`` counts the
    draws."""

    def __init__(self, drive: Callable[[DrivenWindow], Generator[None, Draw, Any]]) -> None:
        self.actions: list[Any] = []
        self.keys: list[str] = []
        self.draws = 0
        self._drive = drive(self)
        next(self._drive)
        def show(window: Any, draw_list: Any, frame: Any, status: str, capture: bool = False,
                 **options: Any) -> Any:  # fmt: skip
            pixels = PRODUCT_SHOW(window, draw_list, frame, status, capture, **options)
            self.draws += 1
            self._drive.send((window, status))
            return pixels

        def take(queue: list[Any]) -> Any:
            def taken(window: Any) -> list[Any]:
                items, queue[:] = list(queue), []
                return items

            return taken

        console.TherapistWindow.show = show  # type: ignore[method-assign]
        console.TherapistWindow.take_console_actions = take(self.actions)  # type: ignore[method-assign]
        console.TherapistWindow.take_console_keys = take(self.keys)  # type: ignore[method-assign]


Driver = Generator[None, Draw, Draw]


def until(test: Callable[[Any, str], Any], what: str, limit: int = 3000) -> Driver:
    """Within a driver: the draws until ``test(window, status)`` holds; returns that draw;
    AssertionError naming ``what`` after ``limit`` draws."""
    status = ""
    for _ in range(limit):
        window, status = yield
        if test(window, status):
            return window, status
    raise AssertionError(f"never saw {what}; last status: {status}")


def session_course(driven: DrivenWindow, patient_id: str, marks: dict[str, Any]) -> Driver:
    """Within a driver in free play: start ``patient_id``'s session from the console, give the
    opening rating 3, end the session, give the closing rating 2, and wait for the saved line
    and the stage proposal. ``marks`` gets the monotonic time (s) of each step: "start"
    (clicked), "started" (the session's console shown), "end" (the closing rating given),
    "saved", "proposal"; and the status line once saved ("saved status")."""
    from gmi_vr.console.panels import ConsoleAction

    marks["start"] = time.monotonic()
    driven.actions.append(ConsoleAction("start", patient_id))
    yield from until(lambda w, s: w.panel.title.startswith(f"patient {patient_id}"), "the session")
    marks["started"] = time.monotonic()
    driven.actions.append(ConsoleAction("rating", 3))  # the opening rating
    yield from until(lambda w, s: "pain rating 3 recorded" in s, "the opening rating")
    driven.actions.append(ConsoleAction("end", None))
    yield from until(lambda w, s: "ending: closing rating" in s, "the closing rating asked")
    marks["end"] = time.monotonic()
    driven.actions.append(ConsoleAction("rating", 2))
    window, status = yield from until(lambda w, s: " saved" in s, "the saved line")
    marks["saved"], marks["saved status"] = time.monotonic(), status
    window, status = yield from until(lambda w, s: w.panel.after is not None and w.panel.after.proposal,
                                      "the stage proposal")  # fmt: skip
    marks["proposal"], marks["proposal lines"] = time.monotonic(), list(window.panel.after.proposal)
    return window, status
