"""Ending a patient's session in the therapist window under a real X server (Xvfb): keys are
pressed on the display (XTEST), reach the window through GLFW's own event queue, and the
run goes the way a therapist sees it — Escape asks, Escape again goes to the closing rating,
"Session complete" stays until the therapist closes the window, and the terminal says what
was saved. The product runs in a fresh interpreter (PyOpenGL binds GLX once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gmi_vr.app.controls import ESCAPE_PROMPT
from gmi_vr.app.patients import add_patient
from gmi_vr.recording.store import SessionStore

TESTS = Path(__file__).parent

# Runs in the child: the simulator's keyboard session for patient W-1, with the window's
# show() wrapped so a driver sees each frame's status line and presses real keys.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from gmi_vr.render.context import choose_gl_platform
    choose_gl_platform(offscreen=False)
    import glfw
    import gmi_vr.console.window as console
    from gmi_vr.app import run_sim
    from support.xkeys import XKeyboard

    PROMPT = {prompt!r}
    keyboard = XKeyboard()
    log = {{"statuses": [], "marks": {{}}, "open_after_prompt": [], "after_saved": []}}

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
        for _ in range(10):  # "Session complete" stays on screen
            window, status = yield
            log["after_saved"].append((status, window.should_close()))
        keyboard.press("Escape")  # one Escape closes it now
        while True:
            yield

    driver = drive()
    next(driver)
    original = console.TherapistWindow.show

    def show(self, draw_list, frame, status, capture=False):
        pixels = original(self, draw_list, frame, status, capture)
        log["statuses"].append(status)
        driver.send((self, status))
        return pixels

    console.TherapistWindow.show = show
    run_sim(None, patient_id="W-1", max_frames=4000, report=lambda line: print("REPORT", line))
    keyboard.close()
    print("LOG", json.dumps(log))
    """
)


@pytest.mark.display
def test_escape_asks_then_the_closing_rating_and_session_complete_stay_until_closed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run under tools/with-xvfb.py)")
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    with SessionStore.open() as store:
        add_patient(store, "W-1", "left", "hand", therapist="t.one")
    script = SCRIPT.format(tests=str(TESTS), prompt=ESCAPE_PROMPT)
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    lines = result.stdout.splitlines()
    log = json.loads(next(line for line in lines if line.startswith("LOG "))[4:])
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
    saved = f"session {session.id} saved (not_started: therapist_end): 0 trials, pain 3 -> 2"
    assert reports == [saved], "the terminal is told once, when the session has ended"
    # "Session complete" stayed with the saved line until the therapist's Escape closed it.
    assert log["after_saved"] == [[f"{saved}  |  Escape closes the window", False]] * 10
    pressed_after = marks["saved"] + 1 + 10  # frames shown when that Escape was pressed
    assert pressed_after < len(log["statuses"]) <= pressed_after + 3, "the run ended at that Escape"
