"""The console's side of a running session: what its panels show (``SessionPanel``, built
from the pipeline, the runner and the frames seen) and what its buttons do (handed to
``TherapistControls.act``, the path the function keys take too: one place that acts, audits
and records).

    each frame:  SessionConsole.observe(frame, output)      events, frame intervals
    each draw:   window.panel = SessionConsole.panel(...)   plain data for console.panels
                 SessionConsole.apply(window.take_console_actions(), time_s)
    each frame:  SessionConsole.watch(last_input_s, now_s)  sign-in and the idle lock (``gate``)

While the gate (``app.signin.ConsoleGate``) is closed (nobody signed in, or locked when
idle) the console shows only its prompt and takes no action but the gate's own; the
session itself runs on.
"""

from __future__ import annotations

import bisect
import getpass
import itertools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from gmi_vr.app.controls import TherapistControls, button_keys
from gmi_vr.app.devices import DeviceSource
from gmi_vr.app.patients import (
    AGE_BANDS,
    BODY_PARTS,
    add_new_patient,
    patient_age_band,
    patient_program,
)
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.app.signin import GATE_ACTIONS, ConsoleGate, store_opener
from gmi_vr.body.solve import MIN_HAND_SCALE
from gmi_vr.console.panels import (
    FRAME_HISTORY,
    AfterSession,
    BeforeSession,
    ConsoleAction,
    NewPatient,
    PatientProgress,
    PatientRow,
    SessionPanel,
)
from gmi_vr.core.errors import GmiError
from gmi_vr.core.events import Event
from gmi_vr.core.settings import load_settings
from gmi_vr.core.types import HandInput, TrackingFrame
from gmi_vr.recording.listing import saved_line, session_row
from gmi_vr.recording.rows import CalibrationInfo, PatientInfo, StoredRating, StoredTrial
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import StageDecider
from gmi_vr.therapy.plan.program import Program

#: The events the log lists (pain ratings, flares, stops, tracking and recording losses,
#: the session's course and the therapist's changes), with the words it lists them by.
LOGGED_EVENTS: dict[str, str] = {
    "session.start": "session started", "session.pause": "paused (headset off)",
    "session.resume": "resumed", "task.repeat": "block repeated", "task.skipped": "skipped", "session.end_requested": "end asked", "session.end": "session ended",
    "task.start": "task started", "task.end": "task ended", "task.stopped": "task stopped",
    "pain.ask": "pain rating asked", "pain.request": "pain rating asked by the therapist",
    "pain.rating": "pain rating", "safety.flare": "pain flare", "safety.stop": "stop: calm scene",
    "safety.break": "break", "safety.time_cap": "time limit reached", "safety.alert": "safety alert",
    "body.mode": "limb mode", "body.hand_scale": "affected hand size", "body.feedback": "visual feedback", "tracking.lost": "tracking lost", "recording.loss": "recording loss",
    "haptic.pulse": "haptic pulse",
    "safety.dysynchiria": "dysynchiria: pain or tingling on the affected side, mirrored touch stopped",
    "touch.block_end": "touch block ended",
}
#: What the "after the session" section says while the stage proposal is read.
READING_PROPOSAL = "Reading the stage proposal over the patient's sessions..."
#: Events kept in the log (the newest).
EVENT_LOG_LENGTH = 500
#: The event a movement task sends with each repetition's record (``RepetitionRecord``, the
#: same fields as its stored row): the sync-error figure is read from it, live and replayed.
REPETITION_EVENT = "repetition.record"
#: Recorder queue readings kept for its figure (one per panel built: about a minute at the
#: console's pace).
QUEUE_HISTORY = 900


def sync_error_point(event: Event, start_s: float) -> tuple[float, float] | None:
    """A both-limbs mirror repetition's sync error as the console plots it: (session
    seconds, centimetres) from its record's ``sync_error_m`` (the mean distance between the
    affected hand's own tracked position and its mirrored, displayed one); None for any other
    event, or a repetition without one (the healthy limb alone, or no tracking of the other)."""
    if event.kind != REPETITION_EVENT:
        return None
    error = (event.data or {}).get("sync_error_m")
    if not isinstance(error, int | float):
        return None
    return (event.time_s - start_s, 100.0 * float(error))


def event_words(event: Event) -> str:
    """One line of the event log for ``event``."""
    words = LOGGED_EVENTS.get(event.kind, event.kind)
    data = event.data or {}
    if event.kind == "pain.rating" and "value" in data:
        words += f" {data['value']}"
    elif event.kind == "body.mode":
        words += f": {data.get('mode')}"
        if data.get("mode") == "blend":
            words += f" ({float(data.get('blend', 0.0)):.0%} real)"
        if data.get("by") == "therapist":
            words += " (therapist)"
    elif event.kind == "body.hand_scale" and "scale" in data:
        words += f" {float(data['scale']):.0%}" + (" (therapist)" if data.get("by") == "therapist" else "")
    elif event.kind == "haptic.pulse" and "side" in data:
        words += (f": {data['side']} hand, {float(data.get('duration_s', 0.0)) * 1000:.0f} ms at "
                  f"{float(data.get('amplitude', 0.0)):.0%} ({data.get('cause')})")
        if data.get("controller") is False:
            words += ", no controller: not felt"
    elif event.kind == "body.feedback":
        words += f": {data.get('feedback')}"
        if data.get("feedback") == "delayed":
            words += f" {float(data.get('feedback_delay_ms', 0.0)):g} ms"
    elif event.kind in ("task.start", "task.end", "task.repeat", "task.skipped") and "kind" in data:
        words += f": {data['kind']}"
    elif event.kind == "touch.block_end" and "score" in data:
        score = data["score"]
        words += (f" {int(data.get('touch_block', 0)) + 1}: site {score['site_correct']}/{score['n']},"
                  f" probe {score['probe_correct']}/{score['n']}")
    if event.kind in ("session.pause", "session.resume") and data.get("by") == "therapist":
        words = "paused by the therapist" if event.kind == "session.pause" else "resumed by the therapist"
    return words


@dataclass
class SessionConsole:
    """Collects what the panels show over a session and applies their actions."""

    pipeline: SessionPipeline
    controls: TherapistControls | None
    title: str
    events: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=EVENT_LOG_LENGTH))
    frame_ms: deque[float] = field(default_factory=lambda: deque(maxlen=FRAME_HISTORY))
    queue_history: deque[int] = field(default_factory=lambda: deque(maxlen=QUEUE_HISTORY))
    sync_error_cm: list[tuple[float, float]] = field(default_factory=list)
    plan: tuple[str, ...] = ()
    current: str = ""
    _last_time_s: float | None = None
    _time_s: float = 0.0
    _start_s: float | None = None
    _tracked: bool = True
    _after: AfterSession | None = None
    #: The patients to choose from while no patient's session runs (free play).
    before: BeforeSession | None = None
    #: The patient whose session the therapist asked to start (the app starts it).
    start_requested: str | None = None
    #: The patient the therapist asked to calibrate (the app runs it on the same loop).
    calibrate_requested: str | None = None
    #: Sign-in and the idle lock (None: the console is always open, e.g. replay).
    gate: ConsoleGate | None = None
    #: The patient whose session starts once someone signs in (``run --patient``).
    waiting: str | None = None
    #: One sentence shown until the next action (a start the store refused).
    notice: str = ""
    #: The chosen patient's progress (free play's patient list), read on a worker thread.
    progress: PatientProgress | None = None
    #: The headset and controllers before a session (``app.devices``); None: not shown.
    devices: DeviceSource | None = None
    #: Where the start button starts the session (shown on it: "simulator").
    start_where: str = ""
    _hands: tuple[HandInput, HandInput] | None = None
    #: Adding a patient: the worker under way, and what it found: ("added", id, the list
    #: read again) or ("problem", sentence).
    _adding: threading.Thread | None = None
    _added: tuple[str, str, BeforeSession | None] | None = None

    @property
    def gate_open(self) -> bool:
        return self.gate is None or self.gate.open

    def watch(self, last_input_s: float | None, now_s: float) -> None:
        """Every frame: the gate's idle lock and finished sign-in checks; a sign-in lets the
        waiting patient's session start."""
        if self.gate is not None and self.gate.watch(last_input_s, now_s) and self.waiting is not None:
            self.start_requested, self.waiting = self.waiting, None

    def observe(self, frame: TrackingFrame, output: FrameOutput) -> None:
        """Every frame (not only those drawn): its events into the log, its interval into
        the frame-time figure, tracking losses of the healthy hand."""
        if self._last_time_s is not None and frame.time_s > self._last_time_s:
            self.frame_ms.append(1000.0 * (frame.time_s - self._last_time_s))
        self._last_time_s = frame.time_s
        self._start_s = frame.time_s if self._start_s is None else self._start_s
        self._time_s = frame.time_s
        self._hands = (frame.left, frame.right)
        tracked = frame.left.grip_valid and frame.right.grip_valid
        if tracked != self._tracked:
            self.events.append((self._session_s(frame.time_s), "tracking found" if tracked else "tracking lost"))
            self._tracked = tracked
        for event in output.events:
            if event.kind == "session.start":
                self.plan = tuple(str(step) for step in (event.data or {}).get("plan", ()))
            if event.kind == "task.start":
                self.current = str((event.data or {}).get("kind", ""))
            if event.kind in LOGGED_EVENTS:
                self.events.append((self._session_s(event.time_s), event_words(event)))
            point = sync_error_point(event, self._start_s)
            if point is not None:
                self.sync_error_cm.append(point)

    def _session_s(self, time_s: float) -> float:
        return time_s - (self._start_s if self._start_s is not None else time_s)

    def apply(self, actions: list[ConsoleAction], time_s: float) -> None:
        """The console's clicks, at the frame time that saw them."""
        for action in actions:
            if self.gate is not None and action.name in GATE_ACTIONS:
                self.gate.act(action)
            elif not self.gate_open:
                continue  # signed out or locked: a click that slipped through does nothing
            elif action.name == "progress":
                self._decide(*action.value)
            elif action.name == "start":
                self.start_requested = str(action.value)
            elif action.name == "calibrate":
                self.calibrate_requested = str(action.value)
            elif action.name == "review":
                self._read_progress(str(action.value))
            elif action.name == "add_patient":
                self._add_patient(*action.value)
            elif action.name == "check_devices" and self.devices is not None:
                self.devices.again()
            elif self.controls is not None:
                self.controls.act(action.name, action.value, time_s)

    def _read_progress(self, patient_id: str) -> None:
        """Read the patient's progress off the render thread (it reads all their sessions);
        "reading" until then, and a later choice wins over an earlier one still reading."""
        self.progress = PatientProgress(patient_id, reading=True)

        def read() -> None:
            progress = patient_progress(patient_id)
            if self.progress is not None and self.progress.patient_id == patient_id:
                self.progress = progress

        threading.Thread(target=read, name="gmi-vr patient progress", daemon=True).start()

    def _add_patient(self, patient_id: str, side: str, part: str, age_band: str | None) -> None:
        """Add a patient as ``gmi-vr patients add`` does (``app.patients.add_new_patient``:
        the same checks, the same "patient.add" audit row, by the person signed in), on a
        worker thread with its own store connection; the list is read again after. One add
        at a time: a second click while one is under way is the same request."""
        if self.before is None or (self._adding is not None and self._adding.is_alive()):
            return
        actor = self.gate.actor() if self.gate is not None else getpass.getuser()
        opener = self.gate.opener if self.gate is not None else store_opener(load_settings())
        self._added = None

        def add() -> None:
            try:
                patient = add_new_patient(opener, patient_id, side, part, age_band=age_band,
                                          therapist=lambda store: actor, via="console")  # fmt: skip
            except GmiError as error:
                self._added = ("problem", str(error), None)
            else:
                self._added = ("added", patient.id, before_session())

        self._adding = threading.Thread(target=add, name="gmi-vr add patient", daemon=True)
        self._adding.start()

    def wait(self, timeout_s: float = 30.0) -> None:
        """Wait for an add under way (the end of a run: the window may close meanwhile)."""
        if self._adding is not None:
            self._adding.join(timeout_s)

    def _before_panel(self) -> BeforeSession | None:
        """Free play's patients, the add form, the headset's status (None in a session)."""
        if self.before is None or self.pipeline.runner is not None:
            return None
        busy = self._adding is not None and self._adding.is_alive()
        added = self._added if not busy else None
        form = NewPatient(("left", "right"), BODY_PARTS, ("", *AGE_BANDS), busy=busy)
        if added is not None and added[0] == "added":
            if added[2] is not None:
                self.before, self._added = added[2], ("added", added[1], None)  # the list read again, kept
            form = replace(form, added=added[1])
        elif added is not None:
            form = replace(form, problem=added[1])
        devices = self.devices.status(self._hands) if self.devices is not None else None
        return replace(self.before, progress=self.progress, new_patient=form, devices=devices,
                       start_where=self.start_where)  # fmt: skip

    def after_session(self) -> AfterSession | None:
        """Once the session has ended: what was saved and the progression proposal over the
        patient's sessions (read once, on a worker thread: it reads them all, and the
        headset's frames must not wait for it; "reading" meanwhile)."""
        pipeline = self.pipeline
        if not pipeline.finished or pipeline.runner is None:
            return None
        if self._after is None:
            saved = saved_line(pipeline.saved) if pipeline.saved is not None else "session not saved (see the terminal)"
            self._after = AfterSession(saved)
            decision = pipeline.stage_decision
            if decision is not None and pipeline.saved is not None:
                reading = self._after = AfterSession(saved, problem=READING_PROPOSAL)

                def read() -> None:
                    after = proposal_after(saved, decision)
                    if self._after is reading:  # nothing decided meanwhile
                        self._after = after

                threading.Thread(target=read, name="gmi-vr stage proposal", daemon=True).start()
        return self._after

    def _decide(self, what: str, stage: int | None, reason: str) -> None:
        """The therapist's stage decision, through ``patients progress``'s own operation."""
        after = self.after_session()
        if after is None or self.pipeline.stage_decision is None:
            return
        try:
            program = self.pipeline.stage_decision.decide(what, stage, reason)
        except GmiError as error:
            self._after = replace(after, problem=str(error))
            return
        outcome = {"stage": "overridden", "accept": "accepted", "reject": "rejected"}[what]
        self._after = replace(after, problem="", decided=f"proposal {outcome}, now at stage {int(program.stage)}")

    def panel(self, message: str = "") -> SessionPanel:
        runner = self.pipeline.runner
        mode, blend = self.pipeline.limb_mode
        rt: dict[str, list[float]] = {"left": [], "right": []}
        accuracy: dict[str, list[float]] = {"left": [], "right": []}
        pain: tuple[tuple[float, int], ...] = ()
        progress = ""
        if runner is not None:
            block = max((t.block_index for t in runner.trials), default=None)
            trials = [t for t in runner.trials if t.block_index == block]
            counts = {"left": [0, 0], "right": [0, 0]}
            for trial in trials:
                side = trial.side.value
                if trial.rt_s is not None:
                    rt[side].append(1000.0 * trial.rt_s)
                counts[side][0] += int(trial.correct)
                counts[side][1] += 1
                accuracy[side].append(counts[side][0] / counts[side][1])
            if trials:
                progress = f"this block: {len(trials)} trials answered or timed out"
            pain = tuple((self._session_s(r.time_s), r.value) for r in runner.ratings)
        cue = runner.therapist_cue(self._time_s) if runner is not None else None
        stats = self.pipeline.recorder_stats()
        if stats is not None:
            self.queue_history.append(stats.pending_records)
        return SessionPanel(
            title=self.title, plan=self.plan, current=self.current, progress=progress,
            limb_mode=mode.value, blend=blend, hand_scale=self.pipeline.hand_scale, hand_scale_min=MIN_HAND_SCALE,
            session_time_s=self._session_s(self._time_s),
            events=tuple(self.events), rt_ms={k: tuple(v) for k, v in rt.items()},
            accuracy={k: tuple(v) for k, v in accuracy.items()}, pain=pain,
            sync_error_cm=tuple(self.sync_error_cm), frame_ms=tuple(self.frame_ms),
            recorder_queue_history=tuple(self.queue_history),
            dropped_frames=stats.dropped_frames if stats is not None else 0,
            recorder_queue=stats.pending_records if stats is not None else 0,
            recorder_lost=stats.lost_records if stats is not None else 0,
            message="  ".join(m for m in (self.pipeline.audit_problem(), message or self.notice) if m),
            read_only=self.controls is None,
            after=self.after_session(),
            before=self._before_panel(),
            gate=self.gate.prompt() if self.gate is not None else None,
            signed_in=self.gate.signed_in_line() if self.gate is not None else "",
            paused=runner.held if runner is not None else False,
            break_in_s=runner.time_to_break_s if runner is not None else None,
            cue=cue.headline if cue is not None else "", cue_now=cue is not None and cue.now,
            cue_lines=cue.lines if cue is not None else (), keys=button_keys(),
        )  # fmt: skip


def proposal_after(saved: str, decision: StageDecider) -> AfterSession:
    """The "after the session" section with the stage proposal over the patient's sessions
    (``saved``: the saved line), or the sentence saying why none could be made."""
    try:
        proposal = decision.proposal()
    except GmiError as error:
        return AfterSession(saved, problem=f"No stage proposal: {error}")
    lines = (f"stage {int(proposal.current_stage)} -> proposed {int(proposal.proposed_stage)} "
             f"({proposal.decision.value}, rule {proposal.rule})", proposal.reason)  # fmt: skip
    return AfterSession(saved, int(proposal.current_stage), int(proposal.proposed_stage), lines)


def replay_panels(title: str, start_s: float, events: Sequence[Event], trials: list[StoredTrial],
                  ratings: list[StoredRating], dropped_frames: int = 0) -> Callable[[float], SessionPanel]:
    """The read-only panels of a recorded session at recording time ``time_s`` (the
    recording's clock; session times count from ``start_s``): what the live console showed
    then, rebuilt from the stored events, trials (``recording.rows.StoredTrial``) and
    ratings; ``dropped_frames``: the session's count of frames that never reached the disk.
    Limb mode, blend and hand size are the replay's own (it solves the body)."""
    ordered = sorted(events, key=lambda event: event.time_s)
    times = [event.time_s for event in ordered]
    plan: tuple[str, ...] = ()
    for event in ordered:
        if event.kind == "session.start":
            plan = tuple(str(step) for step in (event.data or {}).get("plan", ()))
            break

    def panel_at(time_s: float) -> SessionPanel:
        seen = ordered[: bisect.bisect_right(times, time_s)]
        logged = tuple((e.time_s - start_s, event_words(e)) for e in seen if e.kind in LOGGED_EVENTS)
        current = next((str((e.data or {}).get("kind", "")) for e in reversed(seen) if e.kind == "task.start"), "")
        shown = [t for t in trials if t.onset_s <= time_s and t.side in ("left", "right")]
        blocks = [(t.measures or {}).get("block_index") for t in shown]
        block = blocks[-1] if blocks else None
        rt: dict[str, list[float]] = {"left": [], "right": []}
        accuracy: dict[str, list[float]] = {"left": [], "right": []}
        counts = {"left": [0, 0], "right": [0, 0]}
        for trial, index in zip(shown, blocks, strict=True):
            if index != block:
                continue
            side = trial.side
            assert side is not None  # shown holds left and right trials only
            if trial.reaction_time_s is not None:
                rt[side].append(1000.0 * trial.reaction_time_s)
            counts[side][0] += int(bool(trial.correct))
            counts[side][1] += 1
            accuracy[side].append(counts[side][0] / counts[side][1])
        pain = tuple((r.time_s - start_s, r.value) for r in ratings if r.time_s is not None and r.time_s <= time_s)
        sync = tuple(point for e in seen if (point := sync_error_point(e, start_s)) is not None)
        return SessionPanel(
            title=title, plan=plan, current=current, session_time_s=time_s - start_s, events=logged,
            rt_ms={k: tuple(v) for k, v in rt.items()}, accuracy={k: tuple(v) for k, v in accuracy.items()},
            pain=pain, sync_error_cm=sync, dropped_frames=dropped_frames, read_only=True,
        )  # fmt: skip

    return panel_at


def before_session() -> BeforeSession:
    """The patients to start a session with, read from the store (its location from the
    settings). No store yet: no patients (adding the first creates it); a store that cannot
    be read is named in ``problem``, never created."""
    settings = load_settings()
    if not settings.database_url and not settings.database_file.exists():
        return BeforeSession()
    try:
        store = SessionStore.open(settings.database_url or None, create=False)
    except GmiError as error:
        return BeforeSession(problem=f"No patients can be listed: {error}")
    try:
        return BeforeSession(tuple(patient_row(store, patient) for patient in store.list_patients()))
    except GmiError as error:
        return BeforeSession(problem=f"No patients can be listed: {error}")
    finally:
        store.close()


def patient_progress(patient_id: str) -> PatientProgress:
    """The patient's progress as the console shows it, from the numbers of their progress
    report (``review.figures_data.patient_review``: one code path for both); a store or
    patient that cannot be read is one sentence in ``problem``."""
    from gmi_vr.review.figures_data import patient_review

    try:
        store = SessionStore.open(load_settings().database_url or None, create=False)
        try:
            review = patient_review(store, patient_id)
        finally:
            store.close()
    except GmiError as error:
        return PatientProgress(patient_id, problem=f"The progress of {patient_id} cannot be read: {error}")
    nan = float("nan")
    laterality, pain = review.laterality, review.pain
    accuracy = {side: tuple(nan if v is None else v for v in values) for side, values in laterality.accuracy.items()}
    rt_ms = {side: tuple(nan if v is None else 1000.0 * v for v in values)
             for side, values in laterality.median_rt_s.items()}  # fmt: skip
    lines = [f"{len(review.sessions)} sessions ({len(review.counted)} with work), now at stage {review.patient.stage}"]
    if review.sessions:
        last = review.sessions[-1]
        lines.append(f"last: {last.started_at:%Y-%m-%d}, {last.status}")
    if pain.trend_per_week is not None:
        lines.append(f"pain before sessions: {pain.trend_per_week:+.1f} points a week")
    lines.append(f"the same figures as 'gmi-vr report {patient_id}'")
    return PatientProgress(
        patient_id, tuple(lines), accuracy, rt_ms,
        tuple(nan if v is None else float(v) for v in pain.before),
        tuple(nan if v is None else float(v) for v in pain.after),
    )  # fmt: skip


def patient_row(store: SessionStore, patient: PatientInfo) -> PatientRow:
    """One patient as the console lists them: side, part, age band and stage; the last
    session's saved line; a stage proposal not decided yet; the calibration's status."""
    program = patient_program(store, patient.id)
    summary = (f"{patient.affected_side} {program.body_part.value}, age {patient_age_band(patient, program)}, "
               f"stage {int(program.stage)}")  # fmt: skip
    sessions = store.list_sessions(patient.id)
    last = saved_line(session_row(store, sessions[-1].id)) if sessions else "no session yet"
    proposal = ""
    for entry in reversed(store.audit_trail(patient.id)):
        if entry.action == "progression.decision":
            break  # decided since
        if entry.action == "progression.proposal" and entry.details:
            details = entry.details
            if details.get("proposed_stage") != details.get("current_stage"):
                proposal = (f"pending: stage {details.get('current_stage')} -> {details.get('proposed_stage')} "
                            f"({details.get('reason', '')}); decide with gmi-vr patients progress")  # fmt: skip
            break
    calibration = store.latest_calibration(patient.id)
    return PatientRow(patient.id, summary, last, proposal, calibration_line(store, patient.id, calibration),
                      program_line(program), calibration is not None)  # fmt: skip


def program_line(program: Program) -> str:
    """The patient's program in one line: the blocks of a session at their stage (a run of
    the same block counted: "laterality x3"), the time cap, and how many settings the
    therapist changed."""
    runs = [(block, len(list(same))) for block, same in itertools.groupby(program.blocks)]
    blocks = ", ".join(block if count == 1 else f"{block} x{count}" for block, count in runs)
    line = f"program: {blocks}; at most {program.session_cap_s / 60:g} min"
    if program.overridden:
        count = len(program.overridden)
        line += f"; {count} setting{'s' if count != 1 else ''} changed by the therapist"
    return line


def calibration_line(store: SessionStore, patient_id: str, calibration: CalibrationInfo | None) -> str:
    """When and by whom the patient was last calibrated (``calibration``: their latest; its
    "calibration.add" audit row names who), or that they were not and what happens then."""
    if calibration is None:
        return ("not calibrated: a quick seated calibration is taken when the session starts; "
                "calibrate below (or gmi-vr calibrate) for a measured one")  # fmt: skip
    by = next((entry.actor for entry in reversed(store.audit_trail(patient_id))
               if entry.action == "calibration.add" and (entry.details or {}).get("calibration_id") == calibration.id),
              None)  # fmt: skip
    return f"calibrated {calibration.created_at:%Y-%m-%d %H:%M} UTC" + (f" by {by}" if by else "")


def session_console(pipeline: SessionPipeline, controls: TherapistControls | None, patient_id: str | None,
                    mode: str, started_here: bool = False, gate: ConsoleGate | None = None,
                    waiting: str | None = None,
                    devices: DeviceSource | None = None,
                    start_where: str = "", before: BeforeSession | None = None) -> SessionConsole:
    """The console of one run: a patient's session (``started_here``: started from the
    console's patient list, which is audited as "console.start"), or free play, which lists
    the patients to start one with (and to add one), the headset's status (``devices``) and
    where the session starts (``start_where``). ``gate``: sign-in and the idle lock, kept
    over the run; ``waiting``: the patient whose session starts once someone signs in.
    ``before``: free play's patient list already read (off the render thread); None reads it."""
    title = f"patient {patient_id}  |  {mode}" if patient_id is not None else f"free play  |  {mode}"
    console = SessionConsole(pipeline, controls, title, gate=gate, waiting=waiting, devices=devices,
                             start_where=start_where)  # fmt: skip
    if patient_id is None:
        console.before = before if before is not None else before_session()
    elif started_here and pipeline.audit is not None:
        pipeline.audit("console.start", {"via": "console"})
    return console
