"""Practice at home in the desktop window (``gmi-vr practice``) under a real X server (Xvfb):
keys and mouse clicks are pressed on the display (XTEST), reach the window through GLFW's own
event queue, and the sitting is stored as the patient would leave it. The product runs in a
fresh interpreter (PyOpenGL binds GLX once per process); a driver wrapped around the
window's ``show`` sees each frame (its time, what it drew, its keys line) and presses keys.

Reaction times: each answer's time is GLFW's clock when the press was delivered, on the
clock the frames are stamped with, so it must lie between the moment the driver sent the
press and the next frame, and the trial's onset must be the time of the first frame that
drew the picture: exact to a frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from support.clinic_store import store_with_patient
from support.screens import driven_script, logged, require_display, run_window_script

from gmi_vr.app.controls import ESCAPE_PROMPT
from gmi_vr.recording.rows import EventRecord, SessionInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import practice_records

#: A window sitting on a shared, loaded machine: the window's start alone can take a minute.
RUN_TIMEOUT_S = 400.0

# Runs in the child. ``{plan}`` names the driver: "complete", "flare" or "escape".
SCRIPT = """
    import glfw
    import gmi_vr.console.practice_window as practice_window
    from gmi_vr.app import run_practice

    log = {{"answers": [], "onsets": [], "had_picture": False, "texts": [], "statuses": [], "marks": {{}}}}

    def stimulus(draw_list):
        for item in draw_list.meshes:
            if item.mesh.startswith("stimuli/hand_"):
                return item.mesh
        return None

    def texts(draw_list):
        return " | ".join(t.text for t in draw_list.texts)

    def wait_s(seconds):
        # By the frames' clock: a loaded machine may draw few frames a second.
        window, draw_list, frame, status = yield
        end = frame.time_s + seconds
        while frame.time_s < end:
            window, draw_list, frame, status = yield

    def until(test, what, limit=900):
        got = yield from driven.until(lambda w, d, f, s: test(d, s), what, limit,
                                      explain=lambda w, d, f, s: f"last: {{texts(d)}} / {{s}}")
        log["marks"][what] = got[2].time_s
        return got

    def rate(steps):
        # The scale starts unchosen: the first step shows 0, each further one adds 1.
        for _ in range(steps):
            keyboard.press("Right")
            yield from driven.frames(3)
        keyboard.hold("space", True)
        yield from until(lambda d, s: "How much pain" not in texts(d), "rated")
        keyboard.hold("space", False)
        yield from driven.frames(2)

    def answer(how):
        # Waits for a picture, answers it right, and logs the times to check.
        window, draw_list, frame, status = yield from until(lambda d, s: stimulus(d), "picture")
        mesh = stimulus(draw_list)
        side = "left" if mesh.endswith("_left") else "right"
        sent = glfw.get_time()
        if how == "keys":
            keyboard.press("Left" if side == "left" else "Right")
        else:
            x, y = glfw.get_window_pos(window.context.window)
            mouse.move(x + 300, y + 200)
            mouse.button(True, 1 if side == "left" else 3)
            mouse.button(False, 1 if side == "left" else 3)
        window, draw_list, frame, status = yield
        log["answers"].append({{"side": side, "sent": sent, "next_frame": frame.time_s}})
        # The answered picture stays in view through its feedback: wait until it has gone, so
        # the next answer is given to the next picture, not sent during this one's feedback.
        yield from until(lambda d, s: not stimulus(d), "answered")

    def drive():
        window, draw_list, frame, status = yield
        glfw.focus_window(window.context.window)
        yield from driven.frames(3)
        plan = {plan!r}
        if plan == "complete":
            yield from rate(2)  # 1
            yield from answer("keys")
            yield from answer("mouse")
            yield from until(lambda d, s: "How much pain" in texts(d), "closing rating")
            yield from rate(3)  # 2
            yield from until(lambda d, s: "Practice complete" in texts(d), "complete")
            yield from until(lambda d, s: "saved" in s, "saved")
            # The closing words fade in from the rating (a calm transition): the window is
            # closed once they are fully shown, so the screenshot is of the finished picture.
            yield from until(lambda d, s: d.fade == 0.0, "shown")
        elif plan == "flare":
            yield from rate(2)  # 1
            yield from answer("keys")
            keyboard.press("p")  # the patient asks to rate now
            yield from until(lambda d, s: "How much pain" in texts(d), "asked")
            yield from rate(6)  # 5: a rise of 4
            yield from until(lambda d, s: "Let's pause here" in texts(d), "calm")
            keyboard.press("Escape")
            yield
            keyboard.press("Escape")
            yield from until(lambda d, s: "How much pain" in texts(d), "closing rating")
            yield from rate(5)  # 4
            yield from until(lambda d, s: "saved" in s, "saved")
        else:
            yield from rate(2)  # 1
            yield from answer("keys")
            keyboard.press("Escape")
            yield from until(lambda d, s: {prompt!r} in s, "prompt")
            yield from wait_s(0.5)  # asked, not ended: the sitting goes on
            keyboard.press("Escape")
            yield from until(lambda d, s: "How much pain" in texts(d), "closing rating")
            keyboard.press("Escape")
            yield
            keyboard.press("Escape")  # ended without the closing rating
            yield from driven.idle()
        keyboard.press("Escape")  # the sitting has ended: one Escape closes the window
        yield from driven.idle()

    driver = drive()
    next(driver)
    original = practice_window.PracticeWindow.show

    def show(self, draw_list, frame, status, capture=False):
        if stimulus(draw_list) and not log["had_picture"]:
            log["onsets"].append(frame.time_s)  # the first frame that drew this picture
        log["had_picture"] = bool(stimulus(draw_list))
        pixels = original(self, draw_list, frame, status, capture)
        log["texts"].append(texts(draw_list))
        log["statuses"].append(status)
        driver.send((self, draw_list, frame, status))
        return pixels

    practice_window.PracticeWindow.show = show
    run_practice("H-1", max_frames=6000, screenshot=Path({screenshot!r}), report=lambda line: print("REPORT", line))
    """


@dataclass(frozen=True)
class Sitting:
    """One sitting as the driver logged it, the terminal was told it, and the store keeps it."""

    log: dict[str, Any]
    reports: list[str]  # the lines the terminal was given
    session: SessionInfo
    ratings: list[tuple[str, int]]  # (phase, value)
    events: list[EventRecord]


def _practise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan: str) -> Sitting:
    """Run one sitting of patient H-1 driven by ``plan``; returns it as logged and stored."""
    require_display()
    # A short block: 2 pictures (left and right, one rotation and view), quick pauses.
    store_with_patient(tmp_path, monkeypatch, "H-1", program={
        "laterality.rotations_deg": [0], "laterality.views": ["back"],
        "laterality.trials_per_block": 2, "laterality.inter_trial_s": 0.3,
        "laterality.feedback_s": 0.3,
    }, reason="a short block").close()
    script = driven_script(SCRIPT, plan=plan, prompt=ESCAPE_PROMPT, screenshot=str(tmp_path / "practice.png"))
    lines = run_window_script(script, timeout_s=RUN_TIMEOUT_S)
    with SessionStore.open() as store:
        (session,) = store.list_sessions("H-1")
        ratings = [(r.phase, r.value) for r in store.ratings(session.id)]
        events = store.events(session.id)
    return Sitting(logged(lines), [line[7:] for line in lines if line.startswith("REPORT ")], session, ratings, events)


@pytest.mark.display
def test_a_sitting_records_answers_by_key_and_mouse_exact_to_a_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sitting = _practise(tmp_path, monkeypatch, "complete")
    log, reports, session, ratings = sitting.log, sitting.reports, sitting.session, sitting.ratings
    with SessionStore.open() as store:
        trials = store.trials(session.id)
        practice = practice_records(store, "H-1")
    assert (session.mode, session.station, session.source) == ("desktop", "home", "desktop")
    # The sitting counts as practice between visits: its laterality block's minutes.
    assert [(s.id, sorted(r.minutes)) for s, r in practice] == [(session.id, ["laterality"])]
    assert (session.status, session.end_reason) == ("completed", "plan_done")
    assert ratings == [("before", 1), ("after", 2)]
    assert reports == [f"session {session.id} saved: 2 trials, pain 1 -> 2"]
    assert len(trials) == 2 and len(log["onsets"]) == 2  # each picture drawn once, unbroken
    for trial, shown, sent in zip(trials, log["onsets"], log["answers"], strict=True):
        measures = trial.measures or {}
        # The picture's onset is the time of the first frame that drew it ...
        assert trial.onset_s == shown
        # ... the answer's time the press's own, delivered after it was sent and before the
        # next frame began: exact to a frame, never the frame's time.
        assert measures["rt_source"] == "input"
        assert sent["sent"] <= measures["answered_at_s"] <= sent["next_frame"]
        assert trial.reaction_time_s == pytest.approx(measures["answered_at_s"] - shown, abs=1e-9)
        assert (trial.answer, trial.correct) == (sent["side"], True)
    # The first answered by the arrow key, the second by the mouse button of that side.
    assert [t.measures["answered_by"] for t in trials] == [  # type: ignore[index]
        f"{a['side']}.trigger_click" for a in log["answers"]]
    # The window's last picture, saved (and kept where the run keeps artefacts): the closing
    # words on the room, not a blank screen.
    shot = tmp_path / "practice.png"
    keep = os.environ.get("GMI_VR_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / "practice-window.png").write_bytes(shot.read_bytes())
    picture = np.asarray(Image.open(shot).convert("RGB"))
    assert picture.shape[0] > 100 and picture.shape[1] > 100
    assert picture.std() > 20, "the screenshot is blank"
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 50
    assert any("Practice complete" in text and "Still today: left/right pictures 7 more times" in text for text in log["texts"])


@pytest.mark.display
def test_a_pain_flare_stops_the_sitting_with_the_calm_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sitting = _practise(tmp_path, monkeypatch, "flare")
    session, events = sitting.session, [e.kind for e in sitting.events]
    assert (session.status, session.end_reason) == ("safety_stop", "pain_flare")
    assert sitting.ratings == [("before", 1), ("during", 5), ("after", 4)]
    assert "safety.flare" in events and "task.stopped" in events
    # The second picture was never answered: the flare stopped the block.
    assert len(sitting.log["answers"]) == 1
    assert any("Let's pause here" in text and "tell your therapist" in text for text in sitting.log["texts"])
    assert sitting.reports == [f"session {session.id} saved (safety_stop: pain_flare): 1 trial, pain 1 -> 4"]


@pytest.mark.display
def test_escape_asks_then_ends_the_sitting_as_the_patient(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sitting = _practise(tmp_path, monkeypatch, "escape")
    session = sitting.session
    # One Escape only asked; the second went to the closing rating, two more ended without it.
    marks = sitting.log["marks"]
    assert marks["prompt"] < marks["closing rating"]
    assert (session.status, session.end_reason) == ("ended_early", "patient_end")
    assert sitting.ratings == [("before", 1)]
    assert [e.data["by"] for e in sitting.events if e.kind == "session.end_requested"] == ["patient"]
    assert sitting.reports == [f"session {session.id} saved (ended_early: patient_end): 1 trial, pain 1 -> -"]
