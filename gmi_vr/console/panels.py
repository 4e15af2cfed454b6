"""The therapist's console: Dear ImGui panels (imgui-bundle, ImPlot for the live plots) drawn
beside the two views in the therapist window's own GL context.

    app ──SessionPanel (plain data)──▶ Console.draw(width, height) ──▶ GL (the window's back buffer)
        ◀──ConsoleAction (what the therapist clicked or typed)──┘

The console decides nothing: a button press becomes a ``ConsoleAction`` that the app applies
to the session (the same path as the function keys, which are shown beside their buttons),
audits and records. With ``SessionPanel.read_only`` (replay) the same panels show without
their controls.

Input: the window's GLFW callbacks hand the mouse, wheel, keys and typed characters on
(``mouse_pos``, ``mouse_button``, ...); only ImGui's OpenGL 3 renderer backend is used, so
no second copy of GLFW meets the window's. ImGui is imported when a Console is made, never
at import time (reviewing and exporting need no window toolkit).

Pixel coordinates are the framebuffer's, from its top-left corner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The panels' column at the window's right edge, framebuffer pixels; the views keep the
#: rest (and their aspect, letterboxed).
PANEL_PX = 420
#: Limb modes offered, in the order of the buttons (gmi_vr.body.LimbMode values).
LIMB_MODES: tuple[str, ...] = ("mirror", "real", "blend", "still")
#: Points kept in the frame-time plot (about a minute at the console's 15 draws a second).
FRAME_HISTORY = 900


@dataclass(frozen=True)
class ConsoleAction:
    """One thing the therapist asked for at the console: ``name`` ("limb_mode", "blend",
    "ask_pain", "rating", "stop", "end", "answer", "progress", "start", "calibrate", "review",
    "add_patient", "check_devices", "sign_in", "create_admin", "no_accounts", "lock") and its ``value`` (a mode
    name, a blend 0..1, a rating 0..10, "left"/"right", for "progress" (what: "accept",
    "reject" or "stage"; the stage or None; the reason), a patient id for "start", "calibrate" and "review" (read their progress), (name, password) for "sign_in", (name, password,
    password again) for "create_admin", (id, side, body part, age band or None) for
    "add_patient"; None when it takes none)."""

    name: str
    value: Any = None

    def __repr__(self) -> str:  # a typed password never reaches a log or a traceback
        shown = "(hidden)" if self.name in ("sign_in", "create_admin") else repr(self.value)
        return f"ConsoleAction({self.name!r}, {shown})"


@dataclass(frozen=True)
class PatientRow:
    """One patient in the console's "before a session" list (plain data, pseudonymous id
    only): ``summary`` (side, part, age band, stage), ``last_session`` (its saved line),
    ``proposal`` (a stage proposal not decided yet, or ""), ``calibration`` (when and by
    whom, or "not calibrated" and what to do), ``program`` (the blocks a session holds)."""

    id: str
    summary: str
    last_session: str
    proposal: str
    calibration: str
    program: str = ""
    calibrated: bool = False


@dataclass(frozen=True)
class DeviceStatus:
    """The headset and controllers before a session, from ``gmi-vr doctor``'s checks: ``rows``
    (verdict "pass", "FAIL" or "WARN"; the check; its detail); ``problem``: why a session
    cannot start in the headset and what to do, one sentence ("" when it can); ``note``: where
    this run's sessions start; ``checking``: the checks have not answered yet; ``recheck``:
    they can be run again (a "check again" button)."""

    rows: tuple[tuple[str, str, str], ...] = ()
    problem: str = ""
    note: str = ""
    checking: bool = False
    recheck: bool = False


@dataclass(frozen=True)
class NewPatient:
    """Adding a patient from the console: the ``sides``, body ``parts`` and age ``bands`` to
    choose from (the first band, "", is "not given"); ``busy`` while the store adds one; ``problem``: the last
    refusal, one sentence; ``added``: the id last added (the console then clears its form and
    chooses that patient)."""

    sides: tuple[str, ...] = ("left", "right")
    parts: tuple[str, ...] = ("hand",)
    bands: tuple[str, ...] = ("",)
    busy: bool = False
    problem: str = ""
    added: str = ""


@dataclass(frozen=True)
class PatientProgress:
    """The chosen patient's progress over their sessions, read-only (plain data computed by
    the reports' own code, ``review.figures_data``): ``lines`` to read, and per session
    (oldest first) laterality accuracy 0..1 and median reaction time in milliseconds per
    side ("left", "right"; NaN where a session had none) and pain NRS before and after (NaN
    where not rated). ``problem``: why it could not be read; ``reading``: not read yet."""

    patient_id: str
    lines: tuple[str, ...] = ()
    accuracy: dict[str, tuple[float, ...]] = field(default_factory=dict)
    median_rt_ms: dict[str, tuple[float, ...]] = field(default_factory=dict)
    pain_before: tuple[float, ...] = ()
    pain_after: tuple[float, ...] = ()
    problem: str = ""
    reading: bool = False


@dataclass(frozen=True)
class BeforeSession:
    """The console's "before a session" section: the patients to choose from, or ``problem``
    (why they cannot be listed, and what to do); ``progress``: the chosen patient's;
    ``new_patient``: the form that adds one (None: not offered); ``devices``: the headset and
    controllers; ``start_where``: where the start button starts the session ("simulator")."""

    patients: tuple[PatientRow, ...] = ()
    problem: str = ""
    progress: PatientProgress | None = None
    new_patient: NewPatient | None = None
    devices: DeviceStatus | None = None
    start_where: str = ""


@dataclass(frozen=True)
class AfterSession:
    """The console's "after the session" section (plain data): what was saved, the
    progression proposal (``proposal`` lines: stages, rule, reason, evidence; empty when none
    could be made, ``problem`` then says why), and the decision once taken (``decided``)."""

    saved: str
    current_stage: int = 0
    proposed_stage: int = 0
    proposal: tuple[str, ...] = ()
    problem: str = ""
    decided: str = ""


@dataclass(frozen=True)
class SignInPrompt:
    """Who may use the console (plain data from ``app.signin``): ``kind`` "sign_in" (a store
    with accounts, nobody signed in yet), "unlock" (locked when idle, for account ``name``)
    or "first_admin" (a store with no accounts: create the first admin, or go on without);
    ``problem``: the last refusal, one sentence; ``busy``: a password is being checked."""

    kind: str
    name: str = ""
    problem: str = ""
    busy: bool = False


@dataclass(frozen=True)
class SessionPanel:
    """Everything the console shows about the running (or replayed) session, as plain data.

    Times are session seconds (the frame clock). ``events``: (time_s, words) newest last;
    ``rt_ms`` / ``accuracy``: per side ("left", "right") the block's trials in order (RT in
    milliseconds of answered trials; running accuracy 0..1); ``pain``: (time_s, NRS 0-10);
    ``sync_error_cm``: (time_s, centimetres) per both-limbs mirror repetition, its record's
    ``sync_error_m``; ``frame_ms``: recent frame intervals of the headset's loop (the
    recorded display times'); ``recorder_queue_history``: the recorder's queue at recent
    draws. ``keys``: the function key of each button (its action name, "answer_left" /
    "answer_right" for the answers), handed in by the app that reads those keys."""

    title: str
    plan: tuple[str, ...] = ()
    current: str = ""
    progress: str = ""
    limb_mode: str = "mirror"
    blend: float = 0.0
    #: The displayed affected hand's size (1 = life size) and the smallest the slider offers
    #: (the app hands in the body's bound; the default 1.0 offers no change at all).
    hand_scale: float = 1.0
    hand_scale_min: float = 1.0
    session_time_s: float = 0.0
    events: tuple[tuple[float, str], ...] = ()
    rt_ms: dict[str, tuple[float, ...]] = field(default_factory=dict)
    accuracy: dict[str, tuple[float, ...]] = field(default_factory=dict)
    pain: tuple[tuple[float, int], ...] = ()
    sync_error_cm: tuple[tuple[float, float], ...] = ()
    frame_ms: tuple[float, ...] = ()
    recorder_queue_history: tuple[int, ...] = ()
    dropped_frames: int = 0
    recorder_queue: int = 0
    recorder_lost: int = 0
    message: str = ""
    read_only: bool = False
    #: Set once the session has ended: its summary and the stage decision.
    after: AfterSession | None = None
    #: Set while no patient's session runs (free play): the patients, to start one.
    before: BeforeSession | None = None
    #: Sign-in, unlock or the first-admin offer (``SignInPrompt``); a sign-in or unlock
    #: prompt is all the console shows.
    gate: SignInPrompt | None = None
    #: Who is signed in ("" on a store without accounts).
    signed_in: str = ""
    #: The therapist has paused the session (the button resumes it).
    paused: bool = False
    #: Focused seconds to the next break (None: no block left to break before).
    break_in_s: float | None = None
    #: Touch training: the cue that paces the therapist's touches (the touch due now, or
    #: the next one with a countdown); ``cue_now`` True while a touch is due (drawn loud).
    cue: str = ""
    cue_now: bool = False
    cue_lines: tuple[str, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)


def key_for(action: ConsoleAction) -> str:
    """The name ``SessionPanel.keys`` gives ``action``'s button: the action's name, with the
    side for an answer ("answer_left")."""
    return f"{action.name}_{action.value}" if action.name == "answer" else action.name


class Console:
    """ImGui and ImPlot contexts plus the OpenGL 3 renderer on the current GL context.

    ``draw(panel, x, width, height)`` lays the panels out in the column from ``x`` to the
    right edge; ``take_actions`` returns what was clicked. ``button_rects`` keeps, for tests
    and for nothing else, where each button (and the reason field, "reason") of the last
    draw was ((x, y, w, h) pixels) by its label. Release with ``release()`` while the context is current.
    """

    def __init__(self) -> None:
        from imgui_bundle import imgui, implot

        self._imgui = imgui
        self._implot = implot
        self._context = imgui.create_context()
        self._plot_context = implot.create_context()
        io = imgui.get_io()
        io.set_ini_filename("")  # no imgui.ini next to wherever gmi-vr runs
        imgui.style_colors_dark()
        imgui.backends.opengl3_init("#version 410")
        self.button_rects: dict[str, tuple[int, int, int, int]] = {}
        self._actions: list[ConsoleAction] = []
        self._typed_rating = 0
        self._blend = 0.0
        self._reason = ""
        self._chosen_stage = 0
        self._search = ""
        self._selected = ""
        self._last_time_s: float | None = None
        self._account = ""
        self._password = ""
        self._password_again = ""
        self._making_admin = False
        self._new_id = ""
        self._new_side = 0
        self._new_part = 0
        self._new_band = 0
        self._seen_added = ""
        self._hand_percent = 100.0
        self._keys: dict[str, str] = {}

    # -- input, from the window's GLFW callbacks (framebuffer pixels)

    def mouse_pos(self, x: float, y: float) -> None:
        self._imgui.get_io().add_mouse_pos_event(x, y)

    def mouse_button(self, button: int, down: bool) -> None:
        self._imgui.get_io().add_mouse_button_event(button, down)

    def scroll(self, dx: float, dy: float) -> None:
        self._imgui.get_io().add_mouse_wheel_event(dx, dy)

    def char(self, codepoint: int) -> None:
        self._imgui.get_io().add_input_character(codepoint)

    def key(self, name: str, down: bool) -> None:
        """A named key (the window's names: "backspace", "enter", "tab", "left_arrow", ...)."""
        imgui = self._imgui
        keys = {"backspace": imgui.Key.backspace, "enter": imgui.Key.enter, "tab": imgui.Key.tab,
                "left_arrow": imgui.Key.left_arrow, "right_arrow": imgui.Key.right_arrow,
                "escape": imgui.Key.escape, "home": imgui.Key.home, "end": imgui.Key.end,
                "delete": imgui.Key.delete}  # fmt: skip
        if name in keys:
            imgui.get_io().add_key_event(keys[name], down)

    @property
    def wants_mouse(self) -> bool:
        """The mouse is over a panel (the views must not orbit or look)."""
        return bool(self._imgui.get_io().want_capture_mouse)

    @property
    def wants_keyboard(self) -> bool:
        """A panel's text field has the keyboard (typed digits are not the simulator's)."""
        return bool(self._imgui.get_io().want_text_input)

    # -- per draw

    def draw(self, panel: SessionPanel | None, x: int, width: int, height: int, delta_s: float) -> None:
        """Draw the panels into the column ``x``..``width`` of the bound framebuffer
        (``width`` x ``height`` pixels); ``delta_s`` is the wall time since the last draw."""
        imgui = self._imgui
        io = imgui.get_io()
        io.display_size = imgui.ImVec2(float(width), float(height))
        io.delta_time = max(delta_s, 1e-4)
        imgui.backends.opengl3_new_frame()
        imgui.new_frame()
        self.button_rects = {}
        imgui.set_next_window_pos(imgui.ImVec2(float(x), 0.0))
        imgui.set_next_window_size(imgui.ImVec2(float(width - x), float(height)))
        flags = (imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize | imgui.WindowFlags_.no_collapse
                 | imgui.WindowFlags_.no_saved_settings)  # fmt: skip
        imgui.begin("Therapist console", None, flags)
        if panel is None:
            imgui.text_wrapped("No session.")
        else:
            self._session(panel)
        imgui.end()
        imgui.render()
        imgui.backends.opengl3_render_draw_data(imgui.get_draw_data())

    def take_actions(self) -> list[ConsoleAction]:
        actions, self._actions = self._actions, []
        return actions

    def _button(self, label: str, action: ConsoleAction) -> None:
        """A button; its shortcut key (``SessionPanel.keys``), if it has one, beside it."""
        imgui = self._imgui
        if imgui.button(label):
            self._actions.append(action)
        self._record_rect(label)
        key = self._keys.get(key_for(action))
        if key:
            imgui.same_line()
            imgui.text_disabled(f"[{key}]")
            self._record_rect(f"{label} key")

    def _record_rect(self, label: str) -> None:
        """Where the last item was drawn (``button_rects``)."""
        low, high = self._imgui.get_item_rect_min(), self._imgui.get_item_rect_max()
        self.button_rects[label] = (int(low.x), int(low.y), int(high.x - low.x), int(high.y - low.y))

    def _session(self, panel: SessionPanel) -> None:
        imgui = self._imgui
        self._keys = panel.keys
        if panel.gate is not None and panel.gate.kind in ("sign_in", "unlock"):
            self._sign_in(panel.gate)  # nothing else: no patient, no control, no figure
            return
        if panel.gate is not None:
            self._first_admin(panel.gate)
        if panel.signed_in:
            imgui.text_disabled(panel.signed_in)
            self._button("lock now", ConsoleAction("lock"))
        imgui.text_wrapped(panel.title)
        imgui.text(f"session time {panel.session_time_s:7.1f} s")
        if panel.after is not None:
            self._after(panel.after)
        if panel.before is not None:
            self._before(panel.before)
        if panel.cue:
            self._cue(panel)
        if imgui.collapsing_header("Plan", imgui.TreeNodeFlags_.default_open):
            for step in panel.plan:
                marker = ">" if panel.current and step.endswith(panel.current) else " "
                imgui.text(f"{marker} {step}")
            if panel.progress:
                imgui.text_wrapped(panel.progress)
            if panel.break_in_s is not None:
                minutes, seconds = divmod(int(round(panel.break_in_s)), 60)
                imgui.text(f"next break in {minutes}:{seconds:02d} (after the running block)"
                           if panel.break_in_s > 0 else "break after the running block")
        if panel.after is None and panel.before is None and not panel.read_only and imgui.collapsing_header(
                "Controls", imgui.TreeNodeFlags_.default_open):
            self._controls(panel)
        elif panel.read_only and panel.before is None:
            imgui.text(f"limb: {panel.limb_mode}" + (f" ({panel.blend:.0%} real)" if panel.limb_mode == "blend" else ""))
            imgui.text(f"affected hand shown at {panel.hand_scale:.0%} of its size")
        if panel.message:
            imgui.text_wrapped(panel.message)
        if imgui.collapsing_header("Figures", imgui.TreeNodeFlags_.default_open):
            self._plots(panel)
        if imgui.collapsing_header("Events", imgui.TreeNodeFlags_.default_open):
            imgui.begin_child("events", imgui.ImVec2(0.0, 140.0))
            for time_s, words in panel.events[-200:]:
                imgui.text(f"{time_s:7.1f} s  {words}")
            if panel.events:
                imgui.set_scroll_here_y(1.0)
            imgui.end_child()
        if imgui.collapsing_header("Frames and recording", imgui.TreeNodeFlags_.default_open):
            self._frames(panel)

    def _account_fields(self, name_fixed: str = "", again: bool = False) -> bool:
        """The account name (fixed when unlocking) and password fields; True when enter was
        pressed in the (last) password field."""
        imgui = self._imgui
        if name_fixed:
            self._account = name_fixed
            imgui.text(f"account: {name_fixed}")
        else:
            imgui.set_next_item_width(-1.0)
            _, self._account = imgui.input_text_with_hint("##account", "account name", self._account)
            self._record_rect("account")
        flags = imgui.InputTextFlags_.password | imgui.InputTextFlags_.enter_returns_true
        imgui.set_next_item_width(-1.0)
        entered, self._password = imgui.input_text_with_hint("##password", "password", self._password, flags)
        self._record_rect("password")
        if again:
            imgui.set_next_item_width(-1.0)
            entered, self._password_again = imgui.input_text_with_hint(
                "##again", "the same password again", self._password_again, flags)
            self._record_rect("password again")
        return bool(entered)

    def _submit(self, action: ConsoleAction) -> None:
        """Hand a sign-in on and forget the typed password at once."""
        self._actions.append(action)
        self._password = self._password_again = ""

    def _sign_in(self, prompt: SignInPrompt) -> None:
        """Sign-in (a store with accounts) or unlock (locked when idle): the only thing shown."""
        imgui = self._imgui
        if prompt.kind == "unlock":
            imgui.text_wrapped("The console is locked. The session goes on: the patient's stop and "
                               "flare work, and recording continues.")
        else:
            imgui.text_wrapped("Sign in to use the console.")
        entered = self._account_fields(prompt.name)
        pressed = imgui.button("unlock" if prompt.kind == "unlock" else "sign in")
        self._record_rect("sign in")
        if (pressed or entered) and not prompt.busy:
            self._submit(ConsoleAction("sign_in", (self._account, self._password)))
        if prompt.busy:
            imgui.text_disabled("checking ...")
        elif prompt.problem:
            imgui.text_wrapped(prompt.problem)

    def _first_admin(self, prompt: SignInPrompt) -> None:
        """A store without accounts: create the first admin in one step, or go on without."""
        imgui = self._imgui
        imgui.text_wrapped("No accounts yet: the first (an admin) makes every action name a person.")
        if self._making_admin:
            entered = self._account_fields(again=True)
            pressed = imgui.button("create the first admin")
            self._record_rect("create the first admin")
            if (pressed or entered) and not prompt.busy:
                self._submit(ConsoleAction("create_admin", (self._account, self._password, self._password_again)))
        else:  # two lines until asked for: the panels below stay where they were
            self._making_admin = imgui.button("add the first admin")
            self._record_rect("add the first admin")
        imgui.same_line()
        self._button("continue without accounts", ConsoleAction("no_accounts"))
        if prompt.busy:
            imgui.text_disabled("saving ...")
        elif prompt.problem:
            imgui.text_wrapped(prompt.problem)

    def _cue(self, panel: SessionPanel) -> None:
        """The touch cue: a wide coloured bar while a touch is due, so it is seen from the
        corner of the eye while the therapist looks at the patient's limb."""
        imgui = self._imgui
        if not imgui.collapsing_header("Touch", imgui.TreeNodeFlags_.default_open):
            return
        colour = imgui.ImVec4(0.85, 0.55, 0.1, 1.0) if panel.cue_now else imgui.ImVec4(0.22, 0.3, 0.42, 1.0)
        imgui.push_style_color(imgui.Col_.button, colour)
        imgui.push_style_color(imgui.Col_.button_hovered, colour)
        imgui.push_style_color(imgui.Col_.button_active, colour)
        width = imgui.get_content_region_avail().x
        imgui.button(panel.cue, imgui.ImVec2(width, 64.0))  # three lines: what, how, where
        self._record_rect("touch cue")
        imgui.pop_style_color(3)
        for line in panel.cue_lines:
            imgui.text_wrapped(line)

    def _before(self, before: BeforeSession) -> None:
        """The patients (search by id), the chosen one's stage, program, last session, pending
        proposal and calibration, the buttons that start their session and calibrate them;
        adding a patient; the headset and controllers."""
        imgui = self._imgui
        if not imgui.collapsing_header("Before a session", imgui.TreeNodeFlags_.default_open):
            return
        if before.problem:
            imgui.text_wrapped(before.problem)
            return
        added = before.new_patient.added if before.new_patient is not None else ""
        just_added = bool(added) and added != self._seen_added
        if just_added:  # the form empties and folds away, the patient is chosen
            self._seen_added, self._new_id, self._search = added, "", ""
            if added != self._selected:
                self._actions.append(ConsoleAction("review", added))
            self._selected = added
        imgui.set_next_item_width(-1.0)
        _, self._search = imgui.input_text_with_hint("##search", "search by patient id", self._search)
        self._record_rect("search")
        wanted = self._search.strip().upper()
        shown = [row for row in before.patients if wanted in row.id.upper()]
        imgui.begin_child("patients", imgui.ImVec2(0.0, 110.0))
        for row in shown:
            if imgui.selectable(f"{row.id}   {row.summary}", row.id == self._selected)[0]:
                if row.id != self._selected:
                    self._actions.append(ConsoleAction("review", row.id))  # the app reads their progress
                self._selected = row.id
            self._record_rect(f"patient {row.id}")
        if not shown:
            imgui.text_disabled("no patient with that id" if before.patients else "no patients yet: add one below")
        imgui.end_child()
        if before.new_patient is not None:
            self._new_patient(before.new_patient, fold=just_added, unfold=not before.patients)
        if before.devices is not None:
            self._devices(before.devices)
        chosen = next((row for row in shown if row.id == self._selected), None)
        if chosen is not None:
            imgui.separator()
            for line in (f"{chosen.id}: {chosen.summary}", chosen.program, chosen.last_session, chosen.proposal):
                if line:
                    imgui.text_wrapped(line)
            self._calibration(chosen)
            where = f" ({before.start_where})" if before.start_where else ""
            self._button(f"start the session of {chosen.id}{where}", ConsoleAction("start", chosen.id))
            self.button_rects["start"] = self.button_rects[f"start the session of {chosen.id}{where}"]
            progress = before.progress
            if progress is not None and progress.patient_id == chosen.id:
                self._progress(progress)

    def _calibration(self, row: PatientRow) -> None:
        """The chosen patient's calibration: when and by whom, or what to do without one, and
        the button that calibrates them (seated, as ``gmi-vr calibrate``)."""
        self._imgui.text_wrapped(row.calibration)
        self._button(f"calibrate {row.id} (seated)", ConsoleAction("calibrate", row.id))
        self.button_rects["calibrate"] = self.button_rects[f"calibrate {row.id} (seated)"]

    def _new_patient(self, form: NewPatient, fold: bool, unfold: bool) -> None:
        """Add a patient: pseudonymous id, affected side, body part, age band (or none),
        folded under its header until asked for (open while there is no patient; ``fold``:
        folded again once one was added). The button waits while an add is under way and
        while the id is empty: a double click adds once."""
        imgui = self._imgui
        if fold or unfold:
            imgui.set_next_item_open(not fold)
        opened = imgui.collapsing_header("Add a patient")
        self._record_rect("Add a patient")
        if not opened:
            if form.problem:
                imgui.text_wrapped(form.problem)
            return
        imgui.set_next_item_width(-1.0)
        flags = imgui.InputTextFlags_.enter_returns_true
        entered, self._new_id = imgui.input_text_with_hint("##new id", "new patient id, e.g. P001", self._new_id, flags)
        self._record_rect("new patient id")
        imgui.text("affected side:")
        for k, side in enumerate(form.sides):
            imgui.same_line()
            if imgui.radio_button(side, self._new_side == k):
                self._new_side = k
            self._record_rect(f"side {side}")
        imgui.set_next_item_width(160)
        _, self._new_part = imgui.combo("body part", self._new_part, list(form.parts))
        self._record_rect("body part")
        imgui.set_next_item_width(160)
        bands = [band or "not given" for band in form.bands]
        _, self._new_band = imgui.combo("age band", self._new_band, bands)
        self._record_rect("age band")
        ready = bool(self._new_id.strip()) and not form.busy
        imgui.begin_disabled(not ready)
        pressed = imgui.button("add patient")
        imgui.end_disabled()
        self._record_rect("add patient")
        if (pressed or entered) and ready:
            band = form.bands[min(self._new_band, len(form.bands) - 1)]
            self._actions.append(ConsoleAction("add_patient", (
                self._new_id.strip(), form.sides[min(self._new_side, len(form.sides) - 1)],
                form.parts[min(self._new_part, len(form.parts) - 1)], band or None)))  # fmt: skip
        if form.busy:
            imgui.text_disabled("adding ...")
        elif form.problem:
            imgui.text_wrapped(form.problem)

    def _devices(self, devices: DeviceStatus) -> None:
        """The headset and controllers (``gmi-vr doctor``'s checks), kept short: why a session
        cannot start in the headset and what to do, or the headset and controllers found;
        every check under a folded node."""
        imgui = self._imgui
        if not imgui.collapsing_header("Headset and controllers", imgui.TreeNodeFlags_.default_open):
            return
        found = {name: detail for _, name, detail in devices.rows}
        if devices.checking:
            imgui.text_disabled("checking the headset (gmi-vr doctor) ...")
        elif devices.problem:
            imgui.text_wrapped(devices.problem)
        else:
            for name in ("headset", "controllers"):
                if name in found:
                    imgui.text_wrapped(f"{name}: {found[name]}")
        if devices.note:
            imgui.text_wrapped(devices.note)
        if devices.recheck:
            self._button("check again", ConsoleAction("check_devices"))
            imgui.same_line()
        if devices.rows and imgui.tree_node("every check (gmi-vr doctor)"):
            for verdict, name, detail in devices.rows:
                imgui.text_wrapped(f"{verdict:<4}  {name}: {detail}")
            imgui.tree_pop()

    def _progress(self, progress: PatientProgress) -> None:
        """The chosen patient's progress (read-only): the report's numbers, drawn here."""
        import numpy as np

        imgui, implot = self._imgui, self._implot
        if not imgui.collapsing_header("Progress", imgui.TreeNodeFlags_.default_open):
            return
        if progress.reading:
            imgui.text_disabled("reading the sessions ...")
            return
        if progress.problem:
            imgui.text_wrapped(progress.problem)
            return
        for line in progress.lines:
            imgui.text_wrapped(line)
        size = imgui.ImVec2(-1.0, 110.0)
        for title, series, scale in (("accuracy by session", progress.accuracy, 1.0),
                                     ("median reaction time (ms) by session", progress.median_rt_ms, 1.0)):
            if any(series.values()) and implot.begin_plot(title, size):
                for side, values in series.items():
                    if values:
                        implot.plot_line(side, scale * np.asarray(values, dtype=np.float64))
                implot.end_plot()
        if (progress.pain_before or progress.pain_after) and implot.begin_plot("pain before / after (0-10)", size):
            for label, values in (("before", progress.pain_before), ("after", progress.pain_after)):
                if values:
                    implot.plot_line(label, np.asarray(values, dtype=np.float64))
            implot.end_plot()

    def _after(self, after: AfterSession) -> None:
        """The saved session and the stage decision: accept the proposal, keep the stage, or
        choose another, always with a reason (the same operation as ``patients progress``)."""
        imgui = self._imgui
        if not imgui.collapsing_header("After the session", imgui.TreeNodeFlags_.default_open):
            return
        imgui.text_wrapped(after.saved)
        for line in after.proposal:
            imgui.text_wrapped(line)
        if after.problem:
            imgui.text_wrapped(after.problem)
        if after.decided:
            imgui.text_wrapped(after.decided)
            return
        if not after.proposal:
            return
        imgui.set_next_item_width(-1.0)
        _, self._reason = imgui.input_text_with_hint("##reason", "why (kept in the audit trail)", self._reason)
        self._record_rect("reason")
        self._button("accept the proposal", ConsoleAction("progress", ("accept", None, self._reason)))
        imgui.same_line()
        self._button("keep the stage", ConsoleAction("progress", ("reject", None, self._reason)))
        if self._chosen_stage == 0:
            self._chosen_stage = after.current_stage
        imgui.set_next_item_width(90)
        changed, value = imgui.input_int("##stage", self._chosen_stage)
        if changed:
            self._chosen_stage = min(4, max(1, value))
        imgui.same_line()
        self._button("set this stage", ConsoleAction("progress", ("stage", self._chosen_stage, self._reason)))

    def _controls(self, panel: SessionPanel) -> None:
        imgui = self._imgui
        imgui.text("Limb shown for the affected side:")
        for k, mode in enumerate(LIMB_MODES):
            if k:
                imgui.same_line()
            chosen = panel.limb_mode == mode
            if chosen:
                imgui.push_style_color(imgui.Col_.button, imgui.ImVec4(0.26, 0.55, 0.45, 1.0))
            self._button(mode, ConsoleAction("limb_mode", mode))
            if chosen:
                imgui.pop_style_color()
        if panel.limb_mode != "blend":
            self._blend = panel.blend
        imgui.set_next_item_width(200)
        changed, value = imgui.slider_float("blend (real share)", self._blend, 0.0, 1.0, "%.2f")
        if changed:
            self._blend = value
        if imgui.is_item_deactivated_after_edit():  # one action per drag, when it is let go
            self._actions.append(ConsoleAction("blend", round(self._blend, 2)))
        self._hand_size(panel)
        if panel.paused:
            self._button("resume", ConsoleAction("resume"))
        else:
            self._button("pause", ConsoleAction("pause"))
        imgui.same_line()
        self._button("repeat block", ConsoleAction("repeat"))
        imgui.same_line()
        self._button("skip", ConsoleAction("skip"))
        self._button("stop (calm scene)", ConsoleAction("stop"))
        self._button("ask pain rating", ConsoleAction("ask_pain"))
        imgui.set_next_item_width(90)
        changed, value = imgui.input_int("##rating", self._typed_rating)
        if changed:
            self._typed_rating = min(10, max(0, value))
        imgui.same_line()
        self._button("record rating", ConsoleAction("rating", self._typed_rating))
        self._button("answer left", ConsoleAction("answer", "left"))
        imgui.same_line()
        self._button("answer right", ConsoleAction("answer", "right"))
        self._button("end session", ConsoleAction("end"))

    def _hand_size(self, panel: SessionPanel) -> None:
        """The displayed affected hand's size, in percent of life size: from the panel's
        smallest up to 100, never more (clamped, typed values too), one action when let go."""
        imgui = self._imgui
        low = 100.0 * panel.hand_scale_min
        if not imgui.is_any_item_active():
            self._hand_percent = 100.0 * panel.hand_scale  # follows the session between drags
        imgui.set_next_item_width(200)
        changed, value = imgui.slider_float("hand size (%)", self._hand_percent, low, 100.0, "%.0f",
                                            imgui.SliderFlags_.always_clamp)  # fmt: skip
        if changed:
            self._hand_percent = min(100.0, max(low, value))
        self._record_rect("hand size")
        if imgui.is_item_deactivated_after_edit():
            self._actions.append(ConsoleAction("hand_scale", round(self._hand_percent / 100.0, 2)))

    def _begin_plot(self, title: str, height: float) -> bool:
        """``implot.begin_plot`` across the column, ``height`` pixels tall; where it is drawn
        goes to ``button_rects`` as "plot <title>"."""
        imgui = self._imgui
        at, width = imgui.get_cursor_screen_pos(), imgui.get_content_region_avail().x
        self.button_rects[f"plot {title}"] = (int(at.x), int(at.y), int(width), int(height))
        return bool(self._implot.begin_plot(title, imgui.ImVec2(-1.0, height)))

    def _points_joined(self, line: str, points: str, series: Sequence[tuple[float, float]]) -> None:
        """``series`` ((session time s, value) pairs) into the open plot: a line named ``line``
        through markers named ``points``; nothing while it is empty."""
        import numpy as np

        if series:
            times = np.asarray([t for t, _ in series], dtype=np.float64)
            values = np.asarray([v for _, v in series], dtype=np.float64)
            self._implot.plot_line(line, times, values)
            self._implot.plot_scatter(points, times, values)

    def _plots(self, panel: SessionPanel) -> None:
        import numpy as np

        implot = self._implot
        if self._begin_plot("reaction time (ms) by side", 120.0):
            for side, values in panel.rt_ms.items():
                if values:
                    implot.plot_line(side, np.asarray(values, dtype=np.float64))
            implot.end_plot()
        if self._begin_plot("accuracy by side", 120.0):
            for side, values in panel.accuracy.items():
                if values:
                    implot.plot_line(side, np.asarray(values, dtype=np.float64))
            implot.end_plot()
        if self._begin_plot("pain (0-10)", 120.0):
            self._points_joined("pain", "rating", panel.pain)
            implot.end_plot()
        if self._begin_plot("mirror sync error (cm) by repetition", 120.0):
            self._points_joined("sync error", "repetition", panel.sync_error_cm)
            implot.end_plot()
        if not (panel.sync_error_cm or panel.read_only):
            self._imgui.text_disabled("sync error: once both hands move in a mirror task")

    def _frames(self, panel: SessionPanel) -> None:
        """Frame time (its median and p99, and the recent intervals), dropped frames, and the
        recorder's queue (recent draws) and losses."""
        import numpy as np

        imgui, implot = self._imgui, self._implot
        frames = panel.frame_ms
        if frames:
            ordered = sorted(frames)
            imgui.text(f"frame time {ordered[len(ordered) // 2]:.1f} ms median, "
                       f"{ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]:.1f} ms p99")
        if frames and self._begin_plot("frame time (ms)", 100.0):
            # From zero, so a steady frame rate reads as a flat line, not as noise magnified.
            implot.setup_axis_limits(implot.ImAxis_.y1, 0.0, 1.5 * max(frames), implot.Cond_.always)
            implot.plot_line("frame", np.asarray(frames, dtype=np.float64))
            implot.end_plot()
        imgui.text(f"dropped frames {panel.dropped_frames}")
        if panel.read_only:
            return  # a recording keeps no queue
        imgui.text(f"recorder queue {panel.recorder_queue}, lost {panel.recorder_lost}")
        if panel.recorder_queue_history and self._begin_plot("recorder queue (records)", 100.0):
            implot.plot_line("queue", np.asarray(panel.recorder_queue_history, dtype=np.float64))
            implot.end_plot()

    def release(self) -> None:
        imgui = self._imgui
        imgui.set_current_context(self._context)
        imgui.backends.opengl3_shutdown()
        self._implot.destroy_context(self._plot_context)
        imgui.destroy_context(self._context)
