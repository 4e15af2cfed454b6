"""The console before a session, under a real X server (Xvfb): a busy therapist in the
simulator's free play (no --patient) adds a patient from the console and starts their
session, with the pointer and keys driven on the display (XTEST) so every press goes through
GLFW's event queue and the imgui panels. The effects are asserted in the store (a real
SQLite file) and its audit trail, not in the widgets:

- a wrong id (a name with a space) gets the id rule's one sentence and adds nothing;
- Escape while typing the id only leaves the field: the run goes on;
- a double click on "add patient" adds the patient once ("patient.add" by the therapist,
  via the console, as ``gmi-vr patients add`` writes it);
- the same id again gets the duplicate's sentence and changes nothing;
- the search keeps the patients whose id matches;
- the headset's status shows the doctor's reason when no OpenXR runtime is there
  (``XR_RUNTIME_JSON`` names a missing file: the reason is the same on any PC), and
  "check again" runs the checks once more;
- a calibrated patient shows when and by whom; every patient their program;
- "start" opens the new patient's session on the simulator, recorded and audited;
- a screenshot of the panels before the session is not blank.

The product runs in a fresh interpreter (PyOpenGL binds GLX once per process)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.clinic_store import use_data_folder
from support.screens import driven_log, keep_picture, require_display, window_env

from gmi_vr.app.patients import add_patient
from gmi_vr.recording.store import SessionStore

SCRIPT = """
    from functools import partial
    from gmi_vr.app import run_sim

    log = {{}}
    point = partial(driven.point, mouse)
    click = partial(driven.click, mouse, settle=3)
    typed = partial(driven.typed, keyboard)

    def until(test, what, limit=1500):
        def explain(window, shown):
            return f"{{shown['status']}}; {{log}}; {{window.panel.before}}; typed {{window.console._new_id!r}}"
        return driven.until(test, what, limit, explain=explain)

    def form(window):
        return window.panel.before.new_patient

    def drive():
        window, shown = yield from driven.frames(6)
        # The headset's checks answer off the render thread; the window kept drawing meanwhile.
        log["checking at first"] = window.panel.before.devices.checking
        window, shown = yield from until(lambda w, s: not w.panel.before.devices.checking, "the doctor's answer")
        devices = window.panel.before.devices
        log["devices"] = [list(devices.rows), devices.problem, devices.note]
        # "check again" (the headset switched on meanwhile) runs the checks once more.
        window, shown = yield from click(window, "check again")
        log["checking again"] = window.panel.before.devices.checking
        window, shown = yield from until(lambda w, s: not w.panel.before.devices.checking, "the second answer")
        log["answered again"] = list(window.panel.before.devices.rows) == log["devices"][0]
        row = window.panel.before.patients[0]
        log["k3"] = [row.id, row.summary, row.program, row.calibration]

        # A wrong id: a name (the form is folded while there are patients to choose from).
        log["form folded"] = "new patient id" not in window.console.button_rects
        window, shown = yield from click(window, "Add a patient")
        window, shown = yield from click(window, "new patient id")
        window, shown = yield from typed("j", "o", "h", "n", "space", "s", "m", "i", "t", "h")
        window, shown = yield from driven.frames(3)
        window, shown = yield from click(window, "add patient")
        window, shown = yield from until(lambda w, s: form(w).problem, "the refusal")
        log["wrong id"] = form(window).problem

        # Escape in the middle of typing: leaves the field, never the run.
        window, shown = yield from click(window, "new patient id")
        window, shown = yield from typed("x", "Escape")
        window, shown = yield from driven.frames(10)
        log["escape closed"] = window.should_close()

        # The id corrected, the right side chosen, then a double click on "add patient".
        window, shown = yield from click(window, "new patient id")
        window, shown = yield from typed("End", *["BackSpace"] * 14, "p", "t", "minus", "5")
        window, shown = yield from driven.frames(3)
        log["typed"] = window.console._new_id
        window, shown = yield from click(window, "side right")
        point(window, "add patient")
        window, shown = yield
        for _ in range(2):
            mouse.button(True)
            mouse.button(False)
        window, shown = yield from until(lambda w, s: form(w).added == "pt-5", "the patient added", 300)
        window, shown = yield from driven.frames(20)  # the second click's frames
        log["added"] = [form(window).added, form(window).problem, driven.listed(window), window.console._new_id,
                        "start" in window.console.button_rects, "new patient id" in window.console.button_rects]
        shown["capture"] = {shot!r}  # this picture is saved: the new patient in the list

        # The same id again.
        window, shown = yield from click(window, "Add a patient")
        window, shown = yield from click(window, "new patient id")
        window, shown = yield from typed("p", "t", "minus", "5", "Return")
        window, shown = yield from until(lambda w, s: form(w).problem, "the duplicate's refusal")
        log["duplicate"] = form(window).problem
        window, shown = yield from click(window, "Add a patient")  # folded away again

        # The search, then the new patient's session, started from the console.
        yield from driven.search_and_run_session(click, keyboard, window, "t minus", "pt-5", log)

    driven.drive_window(drive(), pictures=True)
    run_sim(None, therapist="dr.k", report=print)
    """


@pytest.mark.display
def test_a_busy_therapist_adds_a_patient_in_the_console_and_starts_their_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_display()
    use_data_folder(tmp_path, monkeypatch)
    missing_runtime = tmp_path / "no-runtime" / "active_runtime.json"
    with SessionStore.open() as store:
        add_patient(store, "K-3", "right", "hand", therapist="t.one")
        calibration = store.add_calibration("K-3", {"version": 1})
        store.audit("dr.c", "calibration.add", patient_id="K-3", details={"calibration_id": calibration.id})
    shot = tmp_path / "console-before-a-session.png"
    log = driven_log(SCRIPT, window_env(XR_RUNTIME_JSON=str(missing_runtime)), shot=str(shot))

    # The headset's checks: the doctor's rows and its one sentence, the window never waiting.
    assert log["checking at first"] is True
    rows, problem, note = log["devices"]
    verdicts = {name: (verdict, detail) for verdict, name, detail in rows}
    assert verdicts["OpenXR runtime"] == ("FAIL", f"XR_RUNTIME_JSON names {missing_runtime}, which does not exist")
    assert verdicts["headset"][0] == "FAIL" and "data folder" in verdicts and "store" in verdicts  # as gmi-vr doctor
    assert problem.startswith("A session cannot start in the headset now: ") and "runtime" in problem
    assert "--sim" not in problem, "inside the simulator the sentence does not offer the simulator"
    assert note.startswith("This is the simulator")
    assert log["checking again"] is True and log["answered again"] is True

    k3 = log["k3"]
    assert k3[:2] == ["K-3", "right hand, age unknown, stage 1"]
    assert k3[2].startswith("program: laterality x3; at most ") and k3[2].endswith(" min")
    assert k3[3].startswith("calibrated ") and k3[3].endswith(" UTC by dr.c")

    from gmi_vr.recording.identity import id_problem

    assert log["wrong id"].startswith("'john smith' cannot be a patient id") and id_problem("john smith") in log["wrong id"]
    assert log["escape closed"] is False, "Escape while typing left the field, not the run"
    assert log["typed"] == "pt-5"
    assert log["form folded"] is True
    added, refused, shown, field, start_shown, form_open = log["added"]
    # Added once, chosen, the form emptied and folded away: the start button is next.
    assert (added, refused, shown, field, start_shown, form_open) == ("pt-5", "", ["K-3", "pt-5"], "", True, False)
    assert log["duplicate"] == "Patient pt-5 already exists; choose another pseudonymous id."
    assert log["search shows"] == ["pt-5"]
    title, no_list = log["session"]
    assert no_list and title.startswith("patient pt-5")

    with SessionStore.open() as store:
        assert [p.id for p in store.list_patients()] == ["K-3", "pt-5"], "nothing of the refusals was kept"
        new = store.patient("pt-5")
        (session,) = store.list_sessions("pt-5")
        trail = [(a.actor, a.action, a.session_id, a.details) for a in store.audit_trail("pt-5")]
        everyone = [a.action for a in store.audit_trail()]
    assert (new.affected_side, new.body_part, new.age_band) == ("right", "hand", None)
    adds = [row for row in trail if row[1] == "patient.add"]
    assert [(actor, details["via"]) for actor, _, _, details in adds] == [("dr.k", "console")], "added once"
    assert [(a, s) for a, action, s, _ in trail if action == "console.start"] == [("dr.k", session.id)]
    assert everyone.count("patient.add") == 2  # K-3 (set up here) and pt-5: the refusals wrote nothing
    assert (session.status, session.end_reason) == ("not_started", "therapist_end")

    # The picture taken after the add shows the panels beside the views.
    image = np.asarray(Image.open(keep_picture(shot)).convert("RGB"))
    from gmi_vr.console.panels import PANEL_PX

    panels = image[:, -PANEL_PX:]
    assert len(np.unique(panels.reshape(-1, 3) // 8, axis=0)) > 20, "the panels are drawn"
    assert (panels.max(axis=-1) > 180).sum() > 2000, "the panels' text"


def test_the_running_headset_shows_its_runtime_headset_and_bound_controllers() -> None:
    """In the headset's free play the running session answers the doctor's questions (a
    second session would take the headset): its runtime and headset, and the controllers
    bound in the last frame, or what to do when none is."""
    from gmi_vr.app.devices import live_devices
    from gmi_vr.core.types import HandInput

    index = "/interaction_profiles/valve/index_controller"
    bound = live_devices("Monado", "Monado: Simulated HMD", (HandInput(), HandInput(profile=index)))
    assert bound.rows == (("pass", "OpenXR runtime", "Monado"), ("pass", "headset", "Monado: Simulated HMD"),
                          ("pass", "controllers", f"left none bound, right {index}"))
    assert (bound.problem, bound.checking) == ("", False) and "headset is running" in bound.note
    for hands in ((HandInput(), HandInput()), None):
        verdict, name, detail = live_devices("Monado", "HMD", hands).rows[-1]
        assert (verdict, name) == ("FAIL", "controllers") and detail.startswith("none bound: switch the controllers on")


def test_the_first_patient_is_added_from_the_console_on_a_station_with_no_store_yet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new station's first run: no data folder yet. The console lists no patients (not a
    problem that hides the form), and adding the first creates the store as `gmi-vr patients
    add` does, audited by the person at the console; the list is read again with them."""
    from gmi_vr.app.console import SessionConsole, before_session
    from gmi_vr.app.pipeline import SessionPipeline
    from gmi_vr.app.signin import ConsoleGate
    from gmi_vr.body import BodySettings
    from gmi_vr.console.panels import ConsoleAction

    use_data_folder(tmp_path, monkeypatch)
    before = before_session()
    assert (before.patients, before.problem) == ((), "")
    gate = ConsoleGate.for_store(fallback="dr.k")
    console = SessionConsole(SessionPipeline(BodySettings()), None, "free play", before=before, gate=gate)
    console.apply([ConsoleAction("add_patient", ("P001", "left", "foot", "60-69"))], 0.0)
    console.wait()
    form = console.panel().before.new_patient
    assert (form.added, form.problem, form.busy) == ("P001", "", False)
    assert [row.id for row in console.panel().before.patients] == ["P001"]
    with SessionStore.open() as store:
        patient = store.patient("P001")
        trail = [(a.actor, a.action, (a.details or {}).get("via")) for a in store.audit_trail("P001")]
    assert (patient.affected_side, patient.body_part, patient.age_band) == ("left", "foot", "60-69")
    assert trail == [("dr.k", "patient.add", "console")]
