"""No freeze in the patient's picture when a session starts or ends: the store work of a
start (the store opened, the patient's program and history read, the session row written)
and of an end (the recorder's last writes, the session read back) is done off the render
thread while the loop keeps handing out frames. The same holds for a calibration started
from the console: its store opened, a retry's audit entry written, its result stored, and free
play opened again after it.

The store is slowed on purpose (a sleep of SLOW_S injected into the store's ``open`` as a
session's setup calls it at the start, into ``SessionRecorder.finish`` at the end and into
the stage proposal read after it) and the test counts the frames handed out while each sleep
runs: on a render thread that waited for the store it is none. No time is asserted (the machine is shared): only that frames kept coming, and that the session then
started, ran and ended with complete records in a real SQLite store.

Under a real X server (Xvfb) the therapist window is the product's; the therapist's clicks
and keys are handed to the window's queues (``take_console_actions``, ``take_console_keys``)
by a driver that reads each frame's status line. The headset's loop (``run_openxr``) runs
with its OpenXR source replaced by a stand-in that yields the simulator's frames at 60 Hz and
counts the pictures presented (tests/xr run the real runtime). The product runs in a fresh
interpreter (PyOpenGL binds GLX once per process)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from support.clinic_store import store_with_patient
from support.screens import driven_run, in_both_places, logged, require_display

from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.body import BodySettings
from gmi_vr.core.errors import StorageError
from gmi_vr.core.types import Side
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.plan.program import BodyPart, Program
from gmi_vr.therapy.runner import SessionRunner

#: How long each slowed store call sleeps, seconds: over a hundred frames at 60 Hz, and still
#: several window draws on a machine so loaded that each takes half a second.
SLOW_S = 2.0

#: What both scripts begin with: the stand-in headset, and a store call slowed on purpose
#: with the pictures handed out meanwhile logged (``log["slow"]``: [what, pictures]).
SLOWING = """
    import time
    from support.stand_in_headset import StandInHeadset

    headset = StandInHeadset()

    def handed_out():
        # The pictures handed out so far: to the eyes (headset), to the window (simulator).
        return len(headset.presented_at) if {where!r} == "headset" else driven.draws

    def slowed(what, call):
        # The store call made SLOW_S slower; the pictures handed out while it ran are logged.
        before = handed_out()
        time.sleep({slow_s!r})
        log["slow"].append([what, handed_out() - before])
        return call()
"""

SCRIPT = SLOWING + """
    import gmi_vr.app.session_setup as session_setup
    from gmi_vr.console.panels import ConsoleAction
    from gmi_vr.recording.recorder import SessionRecorder
    from gmi_vr.recording.store import SessionStore
    from gmi_vr.review.progress import StageDecider
    from support.stand_in_headset import DrivenWindow, run_where, session_course, until

    log = {{"slow": [], "notices": [], "marks": {{}}}}
    slowing = {{"open": False}}

    class SlowStore(SessionStore):
        # The store as a session's setup opens it (app.session_setup), slowed when asked.
        @classmethod
        def open(cls, *args, **kwargs):
            if not slowing["open"]:
                return SessionStore.open(*args, **kwargs)
            slowing["open"] = False  # the start's own open; the rest of the run at full speed
            return slowed("open", lambda: SessionStore.open(*args, **kwargs))

    session_setup.SessionStore = SlowStore
    original_finish = SessionRecorder.finish
    SessionRecorder.finish = lambda self, *args, **kwargs: slowed(
        "finish", lambda: original_finish(self, *args, **kwargs))
    original_proposal = StageDecider.proposal
    StageDecider.proposal = lambda self: slowed("proposal", lambda: original_proposal(self))

    def notice(window):
        return window.panel.message if window.panel is not None else ""

    def drive(driven):
        for _ in range(5):
            window, status = yield
        # A start the store refuses (no such patient): free play again, the sentence in the panel.
        slowing["open"] = True
        driven.actions.append(ConsoleAction("start", "NOBODY"))
        window, status = yield from until(lambda w, s: "NOBODY" in notice(w), "the refusal")
        log["notices"].append(notice(window))
        slowing["open"] = True
        yield from session_course(driven, "E-1", log["marks"])
        driven.keys.append("escape")  # "Session complete": Escape closes the window
        while True:
            yield

    driven = DrivenWindow(drive)
    run_where({where!r}, headset, None, max_frames=20000, therapist="dr.e",
              report=lambda line: print("REPORT", line))
    """


CALIBRATION_SCRIPT = SLOWING + """
    import glfw
    import gmi_vr.app.calibrate as calibrate
    import gmi_vr.app.console as app_console
    from gmi_vr.body import Calibration, Posture
    from gmi_vr.body.calibration import CalibrationError, CalibrationGuide
    from gmi_vr.console.panels import ConsoleAction
    from gmi_vr.core.types import Side
    from gmi_vr.recording.store import SessionStore
    from support.stand_in_headset import DrivenWindow, run_where, until

    log = {{"slow": []}}
    slowing = {{"free play": False}}

    class QuickGuide(CalibrationGuide):
        # One implausible pose, then the pose taken as held after a few frames (the keyboard's
        # frames perform none; test_console_calibrate.py has the real guide): the store's
        # edges are under test.
        def add(self, frame):
            self.frames_seen = getattr(self, "frames_seen", 0) + 1
            if self.frames_seen == 5:
                raise CalibrationError("Your arm seems shorter than a person's arm.")
            if self.frames_seen == 10:
                self.result = Calibration.uncalibrated(Posture.SEATED, 1.62, Side.LEFT)

    class SlowCalibrationStore(SessionStore):
        # Its open and the retry's audit entry slowed.
        @classmethod
        def open(cls, *args, **kwargs):
            return slowed("calibration open", lambda: super(SlowCalibrationStore, cls).open(*args, **kwargs))

        def audit(self, actor, action, **kwargs):
            if action != "calibration.retry":
                return super().audit(actor, action, **kwargs)
            return slowed("retry audit", lambda: super(SlowCalibrationStore, self).audit(actor, action, **kwargs))

    class SlowFreePlayStore(SessionStore):
        @classmethod
        def open(cls, *args, **kwargs):
            if not slowing["free play"]:
                return SessionStore.open(*args, **kwargs)
            slowing["free play"] = False
            return slowed("free play open", lambda: SessionStore.open(*args, **kwargs))

    def slow_save(*args):
        slowing["free play"] = True  # the next open is free play's patient list, after it
        return slowed("calibration save", lambda: original_store(*args))

    original_store = calibrate._store
    calibrate.CalibrationGuide = QuickGuide
    calibrate.SessionStore = SlowCalibrationStore
    calibrate._store = slow_save
    app_console.SessionStore = SlowFreePlayStore

    def drive(driven):
        for _ in range(5):
            window, status = yield
        driven.actions.append(ConsoleAction("calibrate", "E-2"))
        yield from until(lambda w, s: s.startswith("calibration of E-2"), "the calibration")
        window, status = yield from until(lambda w, s: w.panel.before is not None, "free play again")
        log["message"] = window.panel.message
        glfw.set_window_should_close(window.context.window, True)  # the therapist closes the window
        while True:
            yield

    driven = DrivenWindow(drive)
    run_where({where!r}, headset, None, max_frames=20000, therapist="dr.e")
    """


@in_both_places
def test_frames_keep_coming_while_a_slow_store_starts_and_stores_a_console_calibration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "E-2", therapist="dr.e").close()
    log = logged(driven_run(CALIBRATION_SCRIPT, where=where, slow_s=SLOW_S))
    # The calibration's store opened, a retry's audit entry written, its result stored, and
    # free play's store opened after it each slept SLOW_S: frames were handed out all the while.
    assert [what for what, _ in log["slow"]] == [
        "calibration open", "retry audit", "calibration save", "free play open"]
    assert all(frames >= 1 for _, frames in log["slow"]), log["slow"]
    assert log["message"] == "The calibration of E-2 is stored (height 1.62 m); their next session uses it."
    with SessionStore.open() as store:
        stored = store.latest_calibration("E-2")
        trail = [(a.actor, a.action) for a in store.audit_trail("E-2")]
    assert stored is not None and stored.data["height_m"] == pytest.approx(1.62)
    assert ("dr.e", "console.calibrate") in trail and ("dr.e", "calibration.add") in trail
    assert trail.index(("dr.e", "calibration.retry")) < trail.index(("dr.e", "calibration.add"))


def _runner() -> SessionRunner:
    """A patient's session runner with the default program (no store)."""
    return SessionRunner(Program.default(Side.LEFT, BodyPart.HAND), seed=1)


@in_both_places
def test_frames_keep_coming_while_a_slow_store_starts_and_ends_a_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "E-1", therapist="dr.e").close()
    lines = driven_run(SCRIPT, where=where, slow_s=SLOW_S)
    log = logged(lines)
    reports = [line[len("REPORT "):] for line in lines if line.startswith("REPORT ")]

    # The refused start, the session's start, its end and the stage proposal after it each
    # slept SLOW_S in the store: frames were handed out all the while (a render thread
    # waiting for the store hands out none).
    assert [what for what, _ in log["slow"]] == ["open", "open", "finish", "proposal"]
    assert all(frames >= 1 for _, frames in log["slow"]), log["slow"]
    print("frames during the slowed store calls:", log["slow"])
    # The refusal reached the therapist as the one sentence it always was.
    (refusal,) = log["notices"]
    assert refusal.startswith("The session of NOBODY did not start: No patient NOBODY in "), refusal
    with SessionStore.open() as store:
        (session,) = store.list_sessions("E-1")
        ratings = [(r.phase, r.value) for r in store.ratings(session.id)]
        events = [e.kind for e in store.events(session.id)]
        starts = [(entry.actor, entry.session_id) for entry in store.audit_trail("E-1")
                  if entry.action == "console.start"]  # fmt: skip
    # The session then ran and ended as ever, its records complete.
    assert (session.status, session.end_reason) == ("not_started", "therapist_end")
    assert ratings == [("before", 3), ("after", 2)]
    assert {"session.start", "session.end_requested", "session.end"} <= set(events), events
    assert starts == [("dr.e", session.id)]
    saved = f"session {session.id} saved (not_started: therapist_end): 0 trials, pain 3 -> 2"
    assert reports == [saved], "the terminal is told once, when the session has ended"
    assert log["marks"]["saved status"] == f"{saved}  |  Escape closes the window"
    assert log["marks"]["proposal lines"][0].startswith("stage 1 -> proposed 1"), log["marks"]


def test_a_finish_off_the_render_thread_is_collected_there_its_error_raised_there() -> None:
    """``finish_off_frame``: the finisher runs on another thread; the pipeline is not
    ``finished`` until a later call collects it, and the finisher's error (a recording that
    failed) is raised on the calling thread then, so the run fails as it did before."""
    release = threading.Event()
    ran_on: list[str] = []

    def finisher(error: BaseException | None) -> None:
        ran_on.append(threading.current_thread().name)
        release.wait(10.0)
        raise StorageError("Session 1 of E-1 was not fully saved.")

    pipeline = SessionPipeline(BodySettings(), runner=_runner(), finisher=finisher)
    pipeline.finish_off_frame()
    pipeline.finish_off_frame()  # every frame once the plan is done: started once
    assert not pipeline.finish_done and not pipeline.finished, "not finished while the finisher runs"
    release.set()
    deadline = time.monotonic() + 10.0
    while not pipeline.finish_done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pipeline.finished, "done, not yet collected"
    with pytest.raises(StorageError, match="not fully saved"):
        pipeline.finish_off_frame()
    assert ran_on == ["gmi-vr session finish"], "the finisher ran off the calling thread"


def test_finish_waits_for_a_finish_under_way_and_keeps_what_it_saved() -> None:
    """The session's block ends with ``finish()``: a finish already under way off the
    render thread is waited for, once, and what it read back is ``saved``."""
    calls: list[BaseException | None] = []

    def finisher(error: BaseException | None) -> str:
        time.sleep(0.2)
        calls.append(error)
        return "the session's row"

    pipeline = SessionPipeline(BodySettings(), runner=_runner(), finisher=finisher)  # type: ignore[arg-type]
    pipeline.finish_off_frame()
    assert pipeline.finish() == "the session's row"
    assert pipeline.finished and pipeline.saved == "the session's row"
    assert pipeline.finish() == "the session's row" and calls == [None], "finished once"
