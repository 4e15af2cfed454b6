"""The console's "calibrate" button under a real X server (Xvfb): in the simulator's free
play the therapist picks a patient and clicks "calibrate"; the guided calibration runs on the
same session loop, frames and window (the motion file performs the one-handed pose), is
stored and audited, and free play comes back with the console saying so and the patient's
calibration status updated. Nothing of it is recorded as a session. The pointer is moved
and clicked on the display (XTEST), as in test_console_window.py; the product runs in a fresh
interpreter (PyOpenGL binds GLX once per process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from calibration_motion import BODY, calibration_motion
from support.clinic_store import store_with_patient
from support.screens import driven_log, require_display

from gmi_vr.recording.store import SessionStore

#: Seconds of sitting still before the scripted pose: time for the clicks that start it.
LEAD_IN_S = 4.0

SCRIPT = """
    from functools import partial
    from gmi_vr.app import run_sim

    log = {{"titles": []}}

    def panel_title(window, status):
        if window.panel is not None and window.panel.title not in log["titles"]:
            log["titles"].append(window.panel.title)

    click = partial(driven.click, mouse, settle=2)
    until = partial(driven.until, limit=1500, each=panel_title, explain=lambda w, s: s)

    def drive():
        window, status = yield
        window, status = yield from until(lambda w, s: w.panel is not None and w.panel.before is not None, "list")
        log["before"] = [row.calibration for row in window.panel.before.patients]
        window, status = yield from click(window, "patient K-7")
        window, status = yield from until(lambda w, s: "calibrate" in w.console.button_rects, "the button")
        window, status = yield from click(window, "calibrate")
        window, status = yield from until(lambda w, s: s.startswith("calibration of K-7"), "calibrating")
        log["calibrating"] = [status, window.panel.title]
        window, status = yield from until(lambda w, s: w.panel.before is not None, "free play again")
        log["after"] = [window.panel.message, [row.calibration for row in window.panel.before.patients]]
        keyboard.press("Escape")
        yield from driven.idle()

    driven.drive_window(drive())
    run_sim(Path({motion!r}), therapist="dr.c", report=print)
    """


def _lead_in(text: str, seconds: float) -> str:
    """The motion ``text`` with ``seconds`` of its first pose held before it starts."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    header, first, *rest = [json.loads(line) for line in lines]
    shifted = [dict(key, t=key["t"] + seconds) for key in [first, *rest]]
    return "\n".join(json.dumps(line) for line in [header, first, *shifted]) + "\n"


@pytest.mark.display
def test_the_console_calibrates_the_chosen_patient_on_the_running_loop_and_audits_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "K-7").close()
    motion = tmp_path / "calibration.jsonl"
    motion.write_text(_lead_in(calibration_motion(), LEAD_IN_S))
    log = driven_log(SCRIPT, motion=str(motion))
    assert log["before"][0].startswith("not calibrated")
    status, title = log["calibrating"]
    assert status.startswith("calibration of K-7 (seated)") and title == "calibration of K-7 (seated)"
    message, rows = log["after"]
    assert message.startswith("The calibration of K-7 is stored (height "), message
    assert rows[0].startswith("calibrated "), "the list shows the new calibration"
    with SessionStore.open() as store:
        stored = store.latest_calibration("K-7")
        assert stored is not None
        trail = [(a.actor, a.action) for a in store.audit_trail("K-7")]
        assert store.list_sessions("K-7") == [], "calibrating records no session"
    assert abs(stored.data["arm_length_m"] - BODY.arm_length_m) < 0.01, stored.data
    assert ("dr.c", "console.calibrate") in trail and ("dr.c", "calibration.add") in trail
    assert trail.index(("dr.c", "console.calibrate")) < trail.index(("dr.c", "calibration.add"))
