"""Sign-in and the idle lock of the therapist's console, in a real window under Xvfb: keys
and clicks go through the X server (XTEST) to GLFW and the imgui panels, and the effects are
asserted in the store (sessions, motion, events, audit rows), not in the widgets.

A store with accounts: the console asks for a sign-in before the patient's session starts,
refuses a wrong password with one sentence, then locks itself after the (shortened) idle time
while the simulated session goes on (its motion keeps reaching the store, the patient's own
stop still works, the therapist's keys do nothing), and unlocks with the password. A store
with no accounts: the console offers to create the first admin, or to go on without accounts
with one click. A start the store refuses is one sentence in the console, and the run goes
on. The product runs in a fresh interpreter (PyOpenGL binds GLX once per process).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.screens import driven_log, keep_picture, require_display
from support.station import use_station
from test_console_window import motion_text

from gmi_vr.app.accounts import Account, add_user
from gmi_vr.app.patients import add_patient
from gmi_vr.console.panels import PANEL_PX
from gmi_vr.recording.store import SessionStore

PASSWORD = "correcthorse"
#: The shortened idle time: 0.1 minutes (6 s) in the settings file the run reads (long
#: enough that a busy machine's start of the session does not count as idle).
LOCK_MINUTES = 0.1

MOTION = motion_text({"t": 300.0, "right": {"position": [0.2, 0.84, -0.36], "yaw_pitch_roll_deg": [-4, -18, 0]}})

# Shared by the child scripts: the driver sees each picture the window shows and clicks and
# types for real; ``press_menu`` makes the patient press the right controller's menu button.
PRELUDE = """
import dataclasses, time
import glfw
import gmi_vr.console.therapist_window as console
import gmi_vr.app.pipeline as app_pipeline
from gmi_vr.app import run_sim
from gmi_vr.recording.store import SessionStore

log = {{"marks": {{}}, "problems": []}}
state = {{"steps": 0, "press_menu": 0}}
original_step = app_pipeline.SessionPipeline.step

def step(self, frame, **options):
    if state["press_menu"] > 0:  # the patient's own stop: the menu button, pressed for a few frames
        state["press_menu"] -= 1
        frame = dataclasses.replace(frame, right=dataclasses.replace(frame.right, menu=True))
    state["steps"] += 1
    return original_step(self, frame, **options)

app_pipeline.SessionPipeline.step = step

def point(window, label):
    if label not in window.console.button_rects:
        raise AssertionError(f"no {{label}} in {{sorted(window.console.button_rects)}}")
    x, y, w, h = window.console.button_rects[label]
    left, top = glfw.get_window_pos(window.context.window)
    mouse.move(left + x + w // 2, top + y + h // 2)

def click(window, label):
    point(window, label)
    window = yield
    mouse.button(True)
    window = yield
    mouse.button(False)
    for _ in range(2):
        window = yield
    return window

def type_into(window, label, *keys):
    window = yield from click(window, label)
    keyboard.press(*keys)
    for _ in range(2):
        window = yield
    return window

def until(test, what, limit=1500):
    for _ in range(limit):
        window = yield
        if test(window):
            log["marks"][what] = state["steps"]
            return window
    said = window.panel.message if window.panel is not None else None
    raise AssertionError(f"never saw {{what}}: the panel said {{said!r}}, after {{log['marks']}}")

def gate(window):
    panel = window.panel
    return None if panel is None else panel.gate

def motion_frames(patient):
    with SessionStore.open(create=False) as store:
        sessions = store.list_sessions(patient)
        return sum(c.frame_count for c in store.motion_chunks(sessions[-1].id)) if sessions else 0

def run(drive, **options):
    driver = drive()
    next(driver)
    original_show = console.TherapistWindow.show

    def show(self, draw_list, frame, status, capture=False, timeline=None):
        pixels = original_show(self, draw_list, frame, status, capture, timeline)
        driver.send(self)
        if state.pop("capture", None):
            from PIL import Image
            pixels = original_show(self, draw_list, frame, status, True, timeline)
            Image.fromarray(pixels[:, :, :3]).save(state["shot"])
        return pixels

    console.TherapistWindow.show = show
    run_sim(Path({motion!r}), report=print, **options)
"""

LOCK_SCRIPT = PRELUDE + """
LETTERS = list({password!r})

def end_session(window):
    for key in ("Escape", "Escape"):  # the closing rating is asked (F9): ended without it
        keyboard.press(key)
        for _ in range(3):
            window = yield
    while True:
        yield

def drive():
    window = yield
    window = yield from until(lambda w: gate(w) is not None and gate(w).kind == "sign_in", "sign-in shown")
    with SessionStore.open(create=False) as store:
        log["sessions_before_sign_in"] = len(store.list_sessions("K-3"))
    window = yield from type_into(window, "account", "a", "n", "a")
    window = yield from type_into(window, "password", *"wrongwrong")
    window = yield from click(window, "sign in")
    window = yield from until(lambda w: gate(w) is not None and gate(w).problem, "refused")
    log["problems"].append(gate(window).problem)
    window = yield from type_into(window, "password", *LETTERS)
    window = yield from click(window, "sign in")
    window = yield from until(lambda w: gate(w) is None and "K-3" in w.panel.title, "signed in")
    for _ in range(5):
        window = yield
    keyboard.press("F4")  # ask for a pain rating: taken while signed in
    for _ in range(3):
        window = yield
    log["asked_before_lock"] = state["steps"]
    window = yield from until(lambda w: gate(w) is not None and gate(w).kind == "unlock", "locked")
    log["locked_at_s"] = time.monotonic()
    log["motion_at_lock"] = motion_frames("K-3")
    keyboard.press("F4")  # the therapist's keys do nothing while locked
    state["press_menu"] = 3  # the patient's stop keeps working
    window = yield from until(lambda w: state["steps"] > log["marks"]["locked"] + 120, "locked a while")
    state["capture"] = True  # this picture is saved: the unlock prompt beside the views
    window = yield
    log["still_locked"] = gate(window) is not None and gate(window).kind == "unlock"
    log["motion_while_locked"] = motion_frames("K-3")
    window = yield from type_into(window, "password", *LETTERS, "Return")
    window = yield from until(lambda w: gate(w) is None, "unlocked")
    keyboard.press("F9")  # end the session: taken again once unlocked
    for _ in range(5):
        window = yield
    yield from end_session(window)

state["shot"] = {shot!r}
run(drive, patient_id="K-3", max_frames=6000)
"""

FIRST_ADMIN_SCRIPT = PRELUDE + """
def drive():
    window = yield
    window = yield from until(lambda w: gate(w) is not None and gate(w).kind == "first_admin", "offered")
    window = yield from click(window, "add the first admin")
    window = yield from until(lambda w: "account" in w.console.button_rects, "the fields")
    window = yield from type_into(window, "account", "b", "o", "s", "s")
    window = yield from type_into(window, "password", *{password!r})
    window = yield from type_into(window, "password again", *"different")
    window = yield from click(window, "create the first admin")
    window = yield from until(lambda w: gate(w) is not None and gate(w).problem, "refused")
    log["problems"].append(gate(window).problem)
    window = yield from type_into(window, "password", *{password!r})
    window = yield from type_into(window, "password again", *{password!r})
    state["capture"] = True
    window = yield from click(window, "create the first admin")
    window = yield from until(lambda w: gate(w) is None and w.panel.signed_in, "created")
    log["signed_in"] = window.panel.signed_in
    keyboard.press("Escape")  # free play: Escape quits
    while True:
        yield

state["shot"] = {shot!r}
run(drive, max_frames=3000)
"""

CONTINUE_SCRIPT = PRELUDE + """
def drive():
    window = yield
    window = yield from until(lambda w: gate(w) is not None and gate(w).kind == "first_admin", "offered")
    log["session_running"] = "K-4" in window.panel.title
    window = yield from click(window, "continue without accounts")
    window = yield from until(lambda w: gate(w) is None, "continued")
    keyboard.press("F4")
    for _ in range(3):
        window = yield
    window = yield from click(window, "record rating")  # the opening rating, 0
    window = yield from until(lambda w: w.panel.progress, "a block runs")
    window = yield from click(window, "pause")
    window = yield from until(lambda w: w.panel.paused, "paused")
    for _ in range(40):  # the patient's picture fades to the calm pause
        window = yield
    state["capture"] = True
    window = yield
    window = yield from click(window, "resume")
    window = yield from until(lambda w: not w.panel.paused, "resumed")
    for key in ("Escape", "Escape", "Escape", "Escape"):
        keyboard.press(key)
        for _ in range(3):
            window = yield
    while True:
        yield

state["shot"] = {shot!r}
run(drive, patient_id="K-4", max_frames=3000, therapist="t.four")
"""


REFUSED_SCRIPT = PRELUDE + """
def drive():
    window = yield
    window = yield from until(lambda w: "patient K-5" in w.console.button_rects, "listed")
    window = yield from click(window, "patient K-5")
    window = yield from until(lambda w: "start" in w.console.button_rects, "chosen")
    window = yield from until(lambda w: w.panel.before.progress is not None
                              and not w.panel.before.progress.reading, "progress read")
    log["progress"] = list(window.panel.before.progress.lines)
    with SessionStore.open(create=False) as store:  # meanwhile another station erases the patient
        store.erase_patient("K-5", actor="t.other", reason="consent withdrawn")
    window = yield from click(window, "start")
    window = yield from until(lambda w: w.panel.message.startswith("The session of K-5"), "refused")
    log["problems"].append(window.panel.message)
    for _ in range(10):  # the run goes on in free play
        window = yield
    log["went_on"] = state["steps"] - log["marks"]["refused"]
    keyboard.press("Escape")  # free play: Escape quits
    while True:
        yield

state["shot"] = {shot!r}
run(drive, max_frames=6000)  # more than the waits' own limits: a wait that fails says what it saw
"""


def _child(script: str, station: Path, shot: str = "") -> dict:
    """The log of the driven ``script`` run on the station's still motion, its picture saved
    as ``station / shot`` (none without ``shot``)."""
    return driven_log(script, motion=str(station / "still.jsonl"), shot=str(station / shot) if shot else "",
                      password=PASSWORD)  # fmt: skip


def _panels_drawn(shot: Path) -> None:
    """The saved picture shows the panel column with text beside views that are drawn."""
    image = np.asarray(Image.open(keep_picture(shot)).convert("RGB"))
    panels, views = image[:, -PANEL_PX:], image[:, : image.shape[1] - PANEL_PX]
    assert (panels.max(axis=-1) > 180).sum() > 300, "the prompt's text"
    assert len(np.unique(views.reshape(-1, 3) // 8, axis=0)) > 30, "the views are drawn"


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    require_display()
    settings = tmp_path / "settings.toml"
    settings.write_text(f"console_lock_minutes = {LOCK_MINUTES}\n")
    use_station(tmp_path, monkeypatch, settings)
    (tmp_path / "still.jsonl").write_text(MOTION)
    return tmp_path


@pytest.mark.display
def test_the_console_asks_for_a_sign_in_and_locks_when_idle_while_the_session_records(station: Path) -> None:
    with SessionStore.open() as store:
        add_user(store, "boss", "admin", PASSWORD, by=None)
        add_user(store, "ana", "therapist", PASSWORD, by=Account("boss", "admin"))
        add_patient(store, "K-3", "left", "hand", therapist="boss")
    log = _child(LOCK_SCRIPT, station, "console-locked.png")

    # Nothing of the patient's session started before someone signed in.
    assert log["sessions_before_sign_in"] == 0
    # A wrong password: one sentence that does not say which of the two was wrong.
    assert log["problems"] == ["The account name or the password is wrong; try again (names are case-sensitive)."]
    # Locked, the session went on: its motion kept reaching the store, and the lock held.
    assert log["still_locked"]
    assert log["motion_while_locked"] >= log["motion_at_lock"] + 60, log  # 120 frames at 30 Hz went by

    with SessionStore.open() as store:
        (session,) = store.list_sessions("K-3")
        events = store.events(session.id)
        trail = [a for a in store.audit_trail() if a.action.startswith("console.")]
    actions = [a.action for a in trail]
    # Every console row names the signed-in account; the key pressed while locked left none.
    assert all(a.actor == "ana" for a in trail), [(a.actor, a.action) for a in trail]
    assert actions == ["console.sign_in", "console.ask_pain", "console.lock", "console.unlock", "console.end"]
    assert trail[1].session_id == session.id and trail[-1].session_id == session.id
    assert trail[2].details["idle_s"] >= 60 * LOCK_MINUTES
    # The patient's own stop (the menu button, pressed only while the console was locked) was
    # taken and recorded; the therapist's end after the unlock came after it.
    stops = [(e.time_s, e.data) for e in events if e.kind == "safety.stop"]
    assert [data["by"] for _, data in stops] == ["patient"], stops
    (ended,) = [e.time_s for e in events if e.kind == "session.end_requested"]
    assert stops[0][0] < ended
    _panels_drawn(station / "console-locked.png")


@pytest.mark.display
def test_a_store_without_accounts_offers_the_first_admin_in_one_step(station: Path) -> None:
    log = _child(FIRST_ADMIN_SCRIPT, station, "console-first-admin.png")
    assert log["problems"] == ["The two passwords differ; type the same password twice."]
    assert log["signed_in"].startswith("signed in as boss (admin)")
    with SessionStore.open(create=False) as store:
        assert store.list_users() == [("boss", "admin")]
        trail = [(a.actor, a.action) for a in store.audit_trail()]
    assert ("boss", "user.add") in trail and ("boss", "console.sign_in") in trail
    _panels_drawn(station / "console-first-admin.png")


@pytest.mark.display
def test_going_on_without_accounts_is_one_click_and_nothing_waits_for_it(station: Path) -> None:
    with SessionStore.open() as store:
        add_patient(store, "K-4", "left", "hand", therapist="t.four")
    log = _child(CONTINUE_SCRIPT, station, "console-no-accounts.png")
    assert log["session_running"], "the patient's session ran from the start, the offer beside it"
    with SessionStore.open(create=False) as store:
        assert store.count_users() == 0
        (session,) = store.list_sessions("K-4")
        rows = [(a.actor, a.action) for a in store.audit_trail("K-4") if a.action.startswith("console.")]
        events = [(e.kind, (e.data or {}).get("by")) for e in store.events(session.id)]
    assert ("t.four", "console.ask_pain") in rows
    # The pause and resume buttons: audited, and marked in the session.
    assert ("t.four", "console.pause") in rows and ("t.four", "console.resume") in rows
    assert ("session.pause", "therapist") in events and ("session.resume", "therapist") in events
    _panels_drawn(station / "console-no-accounts.png")


@pytest.mark.display
def test_a_start_the_store_refuses_is_one_sentence_in_the_console_and_the_run_goes_on(station: Path) -> None:
    with SessionStore.open() as store:
        add_patient(store, "K-5", "left", "hand", therapist="t.five")
    log = _child(REFUSED_SCRIPT, station)
    assert len(log["problems"]) == 1, log
    (problem,) = log["problems"]
    assert problem.startswith("The session of K-5 did not start: ") and problem.count(". ") == 0, problem
    assert log["went_on"] >= 10
    assert log["progress"][0] == "0 sessions (0 with work), now at stage 1", "the chosen patient's progress"
    with SessionStore.open(create=False) as store:
        assert store.list_sessions("K-5") == []
        assert not [a for a in store.audit_trail() if a.action == "console.start"]
