"""Drives the therapist's window for real, from inside a test's child process.

A test's script writes its steps as a generator, the driver: the wrapped
``TherapistWindow.show`` sends it every picture as a pair ``(window, seen)``, and the driver
moves the X mouse and presses X keys between pictures. The helpers below are the driver's
words (``yield from click(...)``); each returns the last pair it received.

Import this module after ``choose_gl_platform`` has run (it uses glfw when called).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

Step = Generator[None, Any, Any]


def point(mouse: Any, window: Any, label: str, at: float | None = None) -> None:
    """Moves the mouse over the console item ``label`` (``at``: how far across it, else its middle)."""
    import glfw

    x, y, w, h = window.console.button_rects[label]
    left, top = glfw.get_window_pos(window.context.window)
    across = w // 2 if at is None else max(1, round(at * w))
    mouse.move(left + x + across, top + y + h // 2)


def click(mouse: Any, window: Any, label: str, settle: int = 0, at: float | None = None) -> Step:
    """Clicks the console item ``label``, then waits ``settle`` more pictures.

    Over the item, press in the next picture, let go in the one after: imgui takes a button's
    click, and a slider's change, when the mouse is let go over it.
    """
    point(mouse, window, label, at)
    got = yield
    mouse.button(True)
    got = yield
    mouse.button(False)
    for _ in range(settle):
        got = yield
    return got


def frames(n: int) -> Step:
    """Waits ``n`` pictures."""
    got = None
    for _ in range(n):
        got = yield
    return got


def idle() -> Step:
    """Takes every further picture and does nothing: the run ends as the app ends it."""
    while True:
        yield


def typed(keyboard: Any, *keys: str) -> Step:
    """Types ``keys`` a key every two pictures, as fingers type (imgui takes one press of a key a frame)."""
    got = None
    for key in keys:
        keyboard.press(key)
        got = yield
        got = yield
    return got


def until(test: Callable[[Any, Any], bool], what: str, limit: int = 900,
          each: Callable[[Any, Any], None] | None = None,
          explain: Callable[[Any, Any], str] | None = None) -> Step:
    """Waits for the first picture whose ``(window, seen)`` passes ``test``, at most ``limit`` of them.

    ``each`` is called with every picture's pair first; ``explain`` says what was seen instead
    when ``what`` never came.
    """
    got = None
    for _ in range(limit):
        got = yield
        if each is not None:
            each(*got)
        if test(*got):
            return got
    detail = "" if explain is None or got is None else f"; {explain(*got)}"
    raise AssertionError(f"never saw {what}{detail}")


def status_of(seen: Any) -> str:
    """The status line of a picture: ``seen`` itself, or a ``pictures`` driver's ``seen["status"]``."""
    return str(seen["status"] if isinstance(seen, dict) else seen)


def end_with_closing_rating(click: Callable[[Any, str], Step], window: Any) -> Step:
    """Clicks "end session" with ``click``, waits for the closing rating to be asked, and
    clicks "record rating" (the rating as the console shows it); returns the last pair."""
    yield from click(window, "end session")
    window, _ = yield from until(lambda w, seen: "ending" in status_of(seen), "the closing rating asked")
    return (yield from click(window, "record rating"))


def close_when_saved(keyboard: Any) -> Step:
    """Waits for the status line to say the session is saved, then presses Escape (the
    session is over: one Escape closes the window) and takes the pictures left."""
    yield from until(lambda w, seen: " saved" in status_of(seen), "saved")
    keyboard.press("Escape")
    yield from idle()


def listed(window: Any) -> list[str]:
    """The ids of the patients the console lists, sorted."""
    return sorted(k[8:] for k in window.console.button_rects if k.startswith("patient "))


def search_and_run_session(click: Callable[[Any, str], Step], keyboard: Any, window: Any, search: str,
                           patient_id: str, log: dict[str, Any]) -> Step:
    """From the console's list of patients: types ``search`` (X key names, space-separated) into
    its search and notes ``log["search shows"]`` (the ids then listed); chooses ``patient_id``,
    starts their session and notes ``log["session"] = [the panel's title, whether the list has
    gone]``; then ends the session with its closing rating and closes the window once saved."""
    window, _ = yield from click(window, "search")
    window, _ = yield from typed(keyboard, *search.split())
    window, _ = yield from frames(3)
    log["search shows"] = listed(window)
    window, _ = yield from click(window, f"patient {patient_id}")
    window, _ = yield from click(window, "start")
    window, _ = yield from until(lambda w, seen: f"patient {patient_id}" in w.panel.title, "the session")
    log["session"] = [window.panel.title, window.panel.before is None]
    yield from end_with_closing_rating(click, window)
    yield from close_when_saved(keyboard)


def record_actions(into: list[list[Any]], steps: Callable[[], int]) -> None:
    """Wraps ``Console.take_actions`` so each action the console takes is appended to ``into``
    as ``[step, name, value]``, ``step`` being what ``steps()`` counts when it is taken."""
    import gmi_vr.console.panels as panels

    original_take = panels.Console.take_actions

    def take_actions(self: Any) -> Any:
        actions = original_take(self)
        for action in actions:
            into.append([steps(), action.name, action.value])
        return actions

    panels.Console.take_actions = take_actions  # type: ignore[method-assign]


def drive_window(driver: Step, pictures: bool = False, most: int = 4000) -> None:
    """Starts ``driver`` and sends it ``(window, status)`` after each picture the window shows.

    With ``pictures`` it gets ``(window, shown)`` instead, ``shown`` a dict of the picture's
    ``"status"`` and ``"capture"``: a driver that sets ``"capture"`` to a path has that picture
    drawn again, read back and saved there.

    A script run so ends when its driver has the app end (Escape), not after a number of
    frames: a keyboard-driven simulator steps frames at real time but redraws the window at
    most 15 times a second and less on a busy machine, so a frame budget would run out after
    fewer pictures the busier the machine. ``most`` pictures is the bound instead: past it the
    run fails, saying so.
    """
    import gmi_vr.console.therapist_window as console

    next(driver)
    original_show = console.TherapistWindow.show
    shown_count = 0

    def show(self: Any, draw_list: Any, frame: Any, status: str, capture: bool = False,
             timeline: Any = None) -> Any:
        nonlocal shown_count
        shown_count += 1
        if shown_count > most:
            raise AssertionError(f"the window script was still running after {most} pictures")
        pixels = original_show(self, draw_list, frame, status, capture, timeline)
        if not pictures:
            driver.send((self, status))
            return pixels
        shown = {"status": status, "capture": False}
        driver.send((self, shown))
        if shown["capture"]:
            from PIL import Image

            pixels = original_show(self, draw_list, frame, status, True, timeline)
            Image.fromarray(pixels[:, :, :3]).save(shown["capture"])
        return pixels

    console.TherapistWindow.show = show  # type: ignore[method-assign]
