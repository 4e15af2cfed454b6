"""Ending a patient's session in the therapist window under a real X server (Xvfb): keys are
pressed on the display (XTEST), reach the window through GLFW's own event queue, and the
run goes the way a therapist sees it — Escape asks, Escape again goes to the closing rating,
"Session complete" stays until the therapist closes the window, and the terminal says what
was saved. The product runs in a fresh interpreter (PyOpenGL binds GLX once per process).

The simulator runs as ``gmi-vr run --sim`` does. The headset's loop (``run_openxr``) runs
with its OpenXR source replaced by a stand-in that yields the simulator's frames and counts
what is presented to the eyes (no runtime here; tests/xr run the real one): the same window,
keys and store, and proof that the headset's frames keep flowing while the window waits."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.clinic_store import store_with_patient
from support.screens import driven_run, in_both_places, logged, require_display

from gmi_vr.app.controls import ESCAPE_PROMPT
from gmi_vr.recording.store import SessionStore

# Runs in the child: the simulator's keyboard session for patient W-1, with the window's
# show() wrapped so a driver sees each frame's status line and presses real keys.
SCRIPT = """
    import glfw
    import gmi_vr.console.therapist_window as console
    from support.stand_in_headset import StandInHeadset, run_where

    PROMPT = {prompt!r}
    log = {{"statuses": [], "marks": {{}}, "open_after_prompt": [], "after_saved": [], "presented": []}}


    class Headset(StandInHeadset):
        # The stand-in headset that notes when the app asked the runtime to end the session.
        def request_stop(self):
            super().request_stop()
            log["stop_requested_after"] = len(log["statuses"])


    headset = Headset(frames_to_end=5)  # the runtime walks the session to its end over a few frames

    def until(test, what):
        for _ in range(600):
            window, status = yield
            if test(status):
                log["marks"][what] = len(log["statuses"]) - 1
                return window, status
        raise AssertionError(f"never saw {{what}}; last status: {{status}}")

    def drive():
        window, status = yield
        glfw.focus_window(window.context.window)
        for _ in range(3):
            window, status = yield
        keyboard.press("F5", "3", "Return")  # the therapist types the opening rating
        window, status = yield from until(lambda s: "pain rating 3 recorded" in s, "opening rating")
        keyboard.press("Escape")
        window, status = yield from until(lambda s: PROMPT in s, "prompt")
        for _ in range(2):  # asked, not ended: the session and the window go on
            window, status = yield
            log["open_after_prompt"].append((PROMPT in status, window.should_close()))
        keyboard.press("Escape")
        window, status = yield from until(lambda s: "ending: closing rating" in s, "closing rating")
        keyboard.press("F5", "2", "Return")  # the closing rating
        window, status = yield from until(lambda s: " saved" in s, "saved")
        log["presented"].append(len(headset.presented_at))
        for _ in range(10):  # "Session complete" stays on screen
            window, status = yield
            log["after_saved"].append((status, window.should_close()))
        log["presented"].append(len(headset.presented_at))
        log["stop_requests"] = headset.stop_requests
        touched = window.last_input_s
        keyboard.press("Escape")  # one Escape closes it now
        while True:
            window, status = yield
            if "escape seen" not in log["marks"] and window.last_input_s != touched:
                log["marks"]["escape seen"] = len(log["statuses"]) - 1  # the draw that took it in

    driver = drive()
    next(driver)
    original = console.TherapistWindow.show

    def show(self, draw_list, frame, status, capture=False):
        pixels = original(self, draw_list, frame, status, capture)
        log["statuses"].append(status)
        driver.send((self, status))
        return pixels

    console.TherapistWindow.show = show
    run_where({where!r}, headset, "W-1", max_frames=20000, report=lambda line: print("REPORT", line))
    if {where!r} == "headset":
        log["stop_requests"] = [log["stop_requests"], headset.stop_requests]
    """


@in_both_places
def test_escape_asks_then_the_closing_rating_and_session_complete_stay_until_closed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "W-1").close()
    lines = driven_run(SCRIPT, prompt=ESCAPE_PROMPT, where=where)
    log = logged(lines)
    reports = [line[7:] for line in lines if line.startswith("REPORT ")]

    # One Escape only asked: the window stayed open and the session ran on.
    assert log["open_after_prompt"] == [[True, False]] * 2
    marks = log["marks"]
    assert marks["opening rating"] < marks["prompt"] < marks["closing rating"] < marks["saved"]
    with SessionStore.open() as store:
        (session,) = store.list_sessions("W-1")
        ratings = [(r.phase, r.value) for r in store.ratings(session.id)]
        events = [e.kind for e in store.events(session.id)]
    # Confirmed, the session went to its closing rating (no trial was answered in it).
    assert ratings == [("before", 3), ("after", 2)]
    assert "session.end_requested" in events and "session.end" in events
    assert (session.status, session.end_reason) == ("not_started", "therapist_end")
    assert session.source == ("sim" if where == "simulator" else "openxr")
    saved = f"session {session.id} saved (not_started: therapist_end): 0 trials, pain 3 -> 2"
    assert reports == [saved], "the terminal is told once, when the session has ended"
    # "Session complete" stayed with the saved line until the therapist's Escape closed it.
    assert log["after_saved"] == [[f"{saved}  |  Escape closes the window", False]] * 10
    pressed_after = marks["saved"] + 1 + 10  # frames shown when that Escape was pressed
    # The run ended at that Escape (the headset's once the runtime has walked the session to
    # its end: the stand-in takes six more frames): from the window draw that took the key in
    # (the X server may deliver it a few draws after it was sent on a loaded machine), the
    # run asked to end before the next draw but one.
    ended_after = len(log["statuses"]) if where == "simulator" else log["stop_requested_after"]
    seen = marks.get("escape seen", len(log["statuses"]))
    assert pressed_after <= seen < ended_after <= seen + 2, "the run ended at that Escape"
    if where == "headset":
        # The headset's picture never froze while the window waited (the window is redrawn
        # at most 15 times a second, the eyes every frame), and the runtime was asked to end
        # the session only after that Escape.
        waiting_start, waiting_end = log["presented"]
        assert waiting_end - waiting_start >= 10
        assert log["stop_requests"] == [0, 1]
