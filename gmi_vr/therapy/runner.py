"""The SessionRunner: runs one session of a patient's program, frame by frame, with safety.

The plan: a pain rating, the program's task blocks, a pain rating (``Program.session``).
Every frame the app calls ``update(frame, body)`` and gets a ``TaskStep``: the complete
``DrawList`` for this frame (fade and clear colour set), events for the recorder and the
therapist console, records for storage, ``movement_allowed`` for the avatar, ``done``.

Safety, applied on every frame before the task runs:

- The patient's stop (``safety.StopGesture``: one hand's grip and trigger held together,
  both grips, or a menu button; ``safety.STOP_HINT`` shows how for the first
  ``stop_hint_s`` of every session and is spoken once) and the pain-flare rule (``scoring.is_flare``:
  ``flare_rise`` points or ``flare_rise_fraction`` above the session's first rating, or the
  ``pain_ceiling``) end the task
  in the same frame: it is not updated again, ``movement_allowed`` is False from that
  frame, the last picture is held still and faded out, the calm look-only scene fades in
  (eased, ``SafetySettings.fade_s`` in all, never a jump), a "safety.alert" event for the
  therapist carries the progression proposal (back a stage for a flare; a stop is not a
  failure). The calm scene stays until the
  therapist calls ``end_session`` (then the closing rating) or the time cap.
- Time cap: after ``Program.session_cap_s`` of focused time the current task is ended (an
  unanswered trial is voided) and the closing rating is asked.
- Breaks: between blocks, once ``break_every_s`` of focused time has passed since the last.
- Sickness: the Fast Motion Sickness Scale (``checks.FMS``) falls due every ``fms_every_s``
  of focused time and is asked at the next trial boundary (``tasks.base.TrialPaced``: after an
  answer, before the next picture; between touches, never during one) or in a break, so it
  voids no trial; a question kept waiting ``FMS_LONGEST_WAIT_S`` is asked anyway where the
  task allows (``cut_when_late``). Each falls due on the programmed grid, not after the last
  late one, so the count per session stays the programmed one. An answer at
  ``fms_threshold`` or above ends the task like a pain flare.
- Start-of-session check (``ask_since_last``, when the patient has had a session before):
  "pain and swelling since last time", after the first rating (``checks.SINCE_LAST``).
- Scheduled ratings: in mirror and movement blocks (``SCHEDULED_RATING_BLOCKS``) a pain
  rating is asked every ``rating_every_s`` of focused time (the block waits under it).
- Unfocused frames (headset off, system menu) pause the session: the task is interrupted
  (a trial on screen is voided and repeated later), no task time passes, the session clock
  stops, and the last picture is held still and eased to black (the runtime may still
  show it behind its menu); on the first focused frame the scene eases back in.

Console calls (``answer_from_console``, ``rating_from_console``, ``request_rating``,
``stop``, ``end_session``) are queued and applied at the start of the next ``update``, so all
state changes happen on frame boundaries with frame times.

How the session ended (``outcome``), in the store's words (``SessionStatus``):

- ``completed``: the plan ran to its end (closing rating included);
- ``safety_stop``: a pain flare, sickness (the FMS at its threshold), the patient's stop or
  the therapist's stop (F8: sickness, distress) ended the tasks; the reason names which;
- ``not_started``: it ended before any task of a block recorded anything (no trial, no
  repetition): nothing in it measures the patient's work;
- ``ended_early``: otherwise cut short: the therapist ended it, the time cap, or the app
  stopped stepping it (the reason the app gives: the motion file ended, the window closed).

Every task the runner starts and ends is marked in the records (``TaskStarted`` and
``TaskEnded``), so the store holds the session's blocks and tasks as they ran.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from gmi_vr.body.calibration import ArmReach
from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.scene.draw import DrawList
from gmi_vr.therapy.content.scenes import CALM_CLEAR, Fade, calm_scene
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.haptic_pulses import haptic_pulses, pulse_data
from gmi_vr.therapy.plan.program import Program
from gmi_vr.therapy.progression import evaluate_progression
from gmi_vr.therapy.results.scoring import SessionSummary, is_flare, summarize_session
from gmi_vr.therapy.results.task_records import (
    RatingRecord,
    Record,
    TaskEnded,
    TaskStarted,
    TrialRecord,
)
from gmi_vr.therapy.safety import STOP_HINT, BreakTask, StopGesture, stop_hint_item
from gmi_vr.therapy.tasks.base import (
    ButtonEdges,
    ConsoleAnswerable,
    Task,
    TaskContext,
    TaskStep,
    between_trials,
    may_cut,
)
from gmi_vr.therapy.tasks.checks import FMS, SINCE_LAST, Question, QuestionTask
from gmi_vr.therapy.tasks.motor import MotorTask
from gmi_vr.therapy.tasks.rating import PainRatingTask, validate_nrs
from gmi_vr.therapy.tasks.registry import build_task
from gmi_vr.therapy.tasks.stages import TaskSequence
from gmi_vr.therapy.tasks.touch_task import TherapistCue, TouchTask


def _motor_phase(task: Task) -> str | None:
    """The phase of the movement task running in ``task`` ("healthy", "both", "real",
    "blend"), None when no movement task runs (a block's movement tasks run in sequence)."""
    current = task.current if isinstance(task, TaskSequence) else task
    return current.setup.phase if isinstance(current, MotorTask) else None


#: Where the anchor goes when the head is not tracked on the first frame: a seated eye
#: height (product choice) facing -Z.
DEFAULT_ANCHOR = Pose(np.array([0.0, 1.2, 0.0]))

CALM_MESSAGE = "Let's pause here.\nBreathe slowly and just look around.\nYour therapist is with you."
DONE_MESSAGE = "Session complete. Well done.\nYou can take the headset off."
#: What the patient reads while the therapist has paused the session.
HELD_MESSAGE = "A short pause.\nRest your arms and breathe slowly.\nWe go on when you are ready."


#: Blocks during which a pain rating is asked every ``SafetySettings.rating_every_s``
#: (CLINICAL.md: "In mirror and movement stages ask for a rating at set intervals").
SCHEDULED_RATING_BLOCKS = ("mirror", "mirror_box", "graded_movement", "range_of_motion")

#: The longest a due sickness question waits for a trial boundary before it is asked anyway
#: (where the task allows cutting a trial). Product choice: the FMS rates the sickness felt
#: now, asked about once a minute (CLINICAL.md, Keshavarz & Hecht 2011); 20 s late keeps
#: every answer within a third of that minute and covers one whole default trial of any
#: task (a laterality picture: 5 s limit + 0.6 s feedback + 0.8 s gap; a touch slot: 15 s),
#: so with the defaults the question always finds a boundary and never cuts a trial.
FMS_LONGEST_WAIT_S = 20.0

#: Causes that end the tasks for safety (``_to_calm``): the session is a "safety_stop".
SAFETY_CAUSES = ("pain_flare", "sickness", "patient_stop", "therapist_stop")


class SessionStatus(StrEnum):
    """How a session ended (module docstring); the store keeps these names."""

    COMPLETED = "completed"
    ENDED_EARLY = "ended_early"
    SAFETY_STOP = "safety_stop"
    NOT_STARTED = "not_started"


@dataclass(frozen=True)
class SessionOutcome:
    """A session's status and why: "plan_done" for a completed one, else the first cause
    that cut the plan ("therapist_end", "patient_end", "time_cap", a ``SAFETY_CAUSES`` one) or the app's
    reason for no longer stepping the runner ("motion_ended", "window_closed", ...)."""

    status: SessionStatus
    reason: str


class RunnerState(StrEnum):
    """Where the session runner is: running the plan, calm (look only), closing, or done."""
    RUNNING = "running"  # the plan's tasks (ratings, blocks, breaks)
    CALM = "calm"  # after a flare or stop: look only, until end_session or the time cap
    CLOSING = "closing"  # the closing rating after calm or the time cap
    DONE = "done"


class SessionRunner:
    """Runs ``program``'s session. ``seed`` is recorded in "session.start"; each block's
    seed is drawn from it. ``anchor`` is the calibrated head pose (yaw only) to place
    pictures and text by; None takes it from the first focused frame's head.
    ``available_meshes``: the stimulus models installed (``stimuli.stimulus_mesh_names()``
    that exist); missing ones are drawn as primitive figures. ``date_iso``: today, for the
    stage proposal a safety alert carries. ``calm_message`` and ``done_message``: what the
    calm scene and the end of the session say (a session at home, with no therapist beside
    the patient, says other words than the clinic's)."""

    def __init__(self, program: Program, seed: int, anchor: Pose | None = None,
                 date_iso: str = "", available_meshes: frozenset[str] | None = None,
                 ask_since_last: bool = False, arm: ArmReach | None = None,
                 calm_message: str = CALM_MESSAGE, done_message: str = DONE_MESSAGE) -> None:
        self.program = program
        self.calm_message = calm_message
        self.done_message = done_message
        self.available_meshes = available_meshes
        self.arm = arm
        self.seed = seed
        self.date_iso = date_iso
        self.anchor = level_anchor(anchor) if anchor is not None else None
        self.state = RunnerState.RUNNING
        self.trials: list[TrialRecord] = []
        self.ratings: list[RatingRecord] = []
        self.patient_stop = False
        #: Fast Motion Sickness Scale answers (0-20) and whether one reached the threshold.
        self.fms: list[int] = []
        self.sickness = False
        #: A report of pain or tingling on the affected side in a dysynchiria screen: mirrored
        #: touch is stopped for the rest of the session (``touch_task``).
        self.dysynchiria = False
        #: The start-of-session answer on pain and swelling since last time, if asked.
        self.since_last: str | None = None
        #: Focused time at which the next sickness question falls due.
        self._fms_due_s = program.safety.fms_every_s
        #: The stop hint is over the picture (from the first frame for ``stop_hint_s``).
        self._hint_shown = False
        self.active_s = 0.0  # focused session time
        #: Records of the patient's work the blocks produced (trials, repetitions, ...).
        self.work_records = 0
        blocks = program.blocks
        for index, kind in enumerate(blocks):  # fail now, not halfway through the session
            build_task(kind, program, TaskContext(DEFAULT_ANCHOR, 0, index, available_meshes))
        self._block_seeds = [int(s) for s in np.random.default_rng(seed).integers(0, 2**31 - 1, len(blocks))]
        self._plan: list[tuple[str, str]] = []
        if program.session.rating_at_start:
            self._plan.append(("rating", "start"))
        if ask_since_last and program.safety.ask_since_last:
            self._plan.append(("check", "since_last"))
        self._plan += [("block", kind) for kind in blocks]
        if program.session.rating_at_end:
            self._plan.append(("rating", "end"))
        self._next_block = 0
        self._task: Task | None = None
        self._suspended: list[Task] = []  # tasks interrupted by an on-demand rating
        self._console: list[tuple[str, tuple[object, ...]]] = []
        self._stop = StopGesture(program.safety)
        self._patient_buttons = ButtonEdges()
        self._fade = Fade(program.safety.fade_s / 2)
        self._frozen = DrawList()  # the last task picture, held still while fading to calm
        self._shown = DrawList()  # the last picture of any kind, held still while paused
        self._calm_shown = False
        self._started = False
        self._paused = False
        self._paused_at = 0.0
        #: The therapist paused the session (``hold``); the patient sees a calm pause.
        self.held = False
        self._held_calm = False  # the held picture has faded out and the calm pause shows
        self._released = False  # the therapist resumed: the next resume event says so
        self._last_time: float | None = None
        self._last_break_s = 0.0
        #: The kind of the block running (or suspended under a rating), None between blocks.
        self._block_kind: str | None = None
        #: Focused time of the last rating, or of the start of a block that asks ratings.
        self._rated_at_s = 0.0
        #: The first cause that cut the plan short (None while it runs as planned).
        self._cut_by: str | None = None
        self._task_count = 0
        #: Tasks started and not ended: (task, number, block index or None), the current one
        #: and those suspended under an on-demand rating.
        self._open: list[tuple[Task, int, int | None]] = []

    # --- what the app needs to compose the picture -----------------------------------------

    @property
    def calm_scene_shown(self) -> bool:
        """True once the calm look-only scene has replaced the task picture (it brings its
        own floor: the app stops drawing the room, unseen, while the picture is faded out)."""
        return self._calm_shown

    @property
    def started(self) -> bool:
        """True once the session has begun (its first focused frame)."""
        return self._started

    @property
    def paused(self) -> bool:
        """True while the headset is unfocused (taken off, system menu): nothing advances."""
        return self._paused

    @property
    def open_question(self) -> Question | None:
        """The question on screen (``checks.FMS`` or ``checks.SINCE_LAST``), if one is."""
        return self._task.question if isinstance(self._task, QuestionTask) else None

    def therapist_cue(self, time_s: float) -> TherapistCue | None:
        """The touch training's cue for the therapist at ``time_s`` (``touch_task.TouchTask``):
        also while a rating or question is asked over the block (it waits), else None."""
        for task in (self._task, *reversed(self._suspended)):
            if isinstance(task, TouchTask):
                return task.therapist_cue(time_s)
        return None

    @property
    def task_kind(self) -> str | None:
        """The kind of the task on screen ("laterality", "pain_rating", "imagery", ...), None
        between tasks: what the patient's inputs mean now (a desktop maps its keys by it)."""
        return self._task.kind if self._task is not None else None

    @property
    def scene_context(self) -> str:
        """The current task's scene context ("clinic", "kitchen", ...; ``contexts.CONTEXTS``)."""
        return str(getattr(self._task, "scene_context", "clinic"))

    # --- console (therapist) ---------------------------------------------------------------

    def answer_from_console(self, side: Side, time_s: float) -> None:
        """The therapist answers a laterality trial for the patient at ``time_s`` (frame clock)."""
        self._console.append(("answer", (side, time_s)))

    def rating_from_console(self, value: int, time_s: float) -> None:
        """The therapist types an NRS 0-10 rating; it answers an open rating, or is recorded
        as an extra ("on_demand") rating. The flare rule applies to it."""
        self._console.append(("rating", (validate_nrs(value), time_s)))

    def answer_question_from_console(self, answer: str, time_s: float) -> None:
        """The therapist gives the patient's answer to the question on screen (the FMS as
        "0".."20", the start-of-session check as "no_worse" / "worse" / "much_worse")."""
        self._console.append(("question", (answer, time_s)))

    def request_rating(self, time_s: float) -> None:
        """Ask the patient for a pain rating now (the current trial is voided and repeated)."""
        self._console.append(("request_rating", (time_s,)))

    def stop(self, time_s: float) -> None:
        """The therapist stops: the calm scene, as for the patient's stop (no stage-back)."""
        self._console.append(("stop", (time_s,)))

    def end_session(self, time_s: float, by: str = "therapist") -> None:
        """From the calm scene (or at any time): ask the closing rating, then finish. ``by``:
        who ended it ("therapist", or "patient" practising alone), named in the outcome's
        reason ("therapist_end", "patient_end")."""
        self._console.append(("end", (time_s, by)))

    def hold(self, paused: bool, time_s: float) -> None:
        """The therapist pauses (True) or resumes (False) the session: paused, the task
        stops (a laterality trial on screen is voided, not scored, and shown again), the
        patient's picture fades to a calm pause, focused time stands still (breaks and the
        time cap count only session time that ran), and the recording goes on; marked by
        "session.pause" / "session.resume" events with ``by`` "therapist"."""
        self._console.append(("hold", (paused, time_s)))

    def repeat_task(self, time_s: float) -> None:
        """Start the running block again from its first trial (a new sequence; what was done
        stays recorded, the trial on screen is voided): a "task.repeat" event."""
        self._console.append(("repeat", (time_s,)))

    def skip_task(self, time_s: float) -> None:
        """End the running block or break now and go on with the plan: a "task.skipped" event."""
        self._console.append(("skip", (time_s,)))

    @property
    def steerable(self) -> bool:
        """A block or a break runs (not a rating or a question, and not under one): it can be
        repeated (a block) or skipped."""
        return (self.state is RunnerState.RUNNING and not self._suspended and self._task is not None
                and not isinstance(self._task, PainRatingTask | QuestionTask))

    @property
    def repeatable(self) -> bool:
        """A block runs (not a break, a rating or a question): it can be started again."""
        return self.steerable and self._block_kind is not None

    @property
    def time_to_break_s(self) -> float | None:
        """Focused seconds until the next break is due (it is taken between blocks), None
        when no block is left to break before."""
        if self.state is not RunnerState.RUNNING or not any(what == "block" for what, _ in self._plan):
            return None
        return max(0.0, self.program.safety.break_every_s - (self.active_s - self._last_break_s))

    # --- the frame step --------------------------------------------------------------------

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """Advance the session to ``frame`` (every frame, focused or not): safety rules, console
        inputs, scheduled ratings, then the current task; returns the whole frame's ``TaskStep``
        (complete DrawList with the fade set, events, records, ``done``)."""
        now = frame.time_s
        events: list[Event] = []
        records: list[Record] = []
        if self.anchor is None and frame.focused:
            self.anchor = level_anchor(frame.head) if frame.head_valid else DEFAULT_ANCHOR
        if not self._started and self.anchor is not None:
            self._started = True
            events.append(Event(now, "session.start", {
                "seed": self.seed, "block_seeds": self._block_seeds,
                "stage": int(self.program.stage), "plan": [f"{a}:{b}" for a, b in self._plan],
                "program": self.program.to_dict(),
                # Where pictures and text were placed (a replay draws them there again).
                "anchor": {"position": [float(v) for v in self.anchor.position],
                           "orientation": [float(v) for v in self.anchor.orientation]},
            }))
            # The patient is told how to stop at the start of every session (CLINICAL.md safety).
            self._hint_shown = self.program.safety.stop_hint_s > 0
            events.append(Event(now, "safety.stop_hint", {"text": STOP_HINT,
                                                          "shown_s": self.program.safety.stop_hint_s}))
            events.append(Event(now, "cue.audio", {"text": STOP_HINT}))
            self._start_next(now, events, records)
        if not self._started:  # unfocused from the first frame: wait, nothing has begun
            return self._output(now, TaskStep(), events, records)
        if self.state is RunnerState.DONE:
            return self._output(now, TaskStep(), events, records, done=True)

        self._apply_hold(now)
        if not frame.focused or self.held:
            if not self._paused:
                self._paused, self._paused_at = True, now
                self._fade.to(1.0, now)  # the runtime may still show us (system menu): ease out
                data: dict[str, object] = {"state": self.state.value}
                if self.held:
                    data["by"] = "therapist"
                events.append(Event(now, "session.pause", data))
                if self._task is not None:
                    self._merge(self._task.interrupt(now, "paused" if self.held else "unfocused"), events, records)
            self._last_time = now
            return self._output(now, TaskStep(), events, records)
        if self._paused:
            self._paused = False
            resumed: dict[str, object] = {"paused_s": now - self._paused_at}
            if self._released:
                resumed["by"] = "therapist"
                self._released = self._held_calm = False
            events.append(Event(now, "session.resume", resumed))
            calm_pending = self.state is not RunnerState.RUNNING and not self._calm_shown
            # Ease back in; a switch to the calm scene cut short by the pause carries on.
            self._fade.to(1.0 if calm_pending else 0.0, now)
        elif self._last_time is not None:
            self.active_s += now - self._last_time
        self._last_time = now

        if self._hint_shown and self.active_s >= self.program.safety.stop_hint_s:
            self._hint_shown = False  # read long enough; marked so a replay draws it as shown
            events.append(Event(now, "safety.stop_hint_end", {"active_s": self.active_s}))
        self._apply_console(now, events, records)
        self._check_patient_inputs(frame, events, records)
        if (self.active_s >= self.program.session_cap_s
                and self.state in (RunnerState.RUNNING, RunnerState.CALM)):
            events.append(Event(now, "safety.time_cap", {"active_s": self.active_s}))
            self._cut_by = self._cut_by or "time_cap"
            self._close(now, "time_cap", events, records)

        self._check_scheduled_rating(now, events, records)
        self._check_scheduled_fms(now, events, records)
        step = TaskStep()
        haptics: tuple[HapticPulse, ...] = ()
        if self._task is not None and not self._finished():
            step = self._task.update(frame, body)
            haptics = haptic_pulses(step.events, self.program.haptics,
                                    self.program.affected_side, _motor_phase(self._task))
            # Each pulse asked for is recorded, so a replay and an export show what was felt.
            step = dataclasses.replace(step, events=step.events + tuple(
                Event(now, "haptic.pulse", pulse_data(pulse, frame.hand(pulse.side))) for pulse in haptics))
            self._merge(step, events, records)
            if step.done:
                self._task_done(now, events, records)
        return self._output(now, step, events, records, done=self._finished(),
                            haptics=haptics)

    def _finished(self) -> bool:
        # A call, not an inline test: the checks above may close the session, which a type
        # checker narrowing ``self.state`` on the earlier test cannot see.
        return self.state is RunnerState.DONE

    # --- plan --------------------------------------------------------------------------------

    def _start_next(self, now: float, events: list[Event], records: list[Record]) -> None:
        assert self.anchor is not None
        if self._suspended:
            self._task = self._suspended.pop()
            return
        if not self._plan:
            self._task = None
            self.state = RunnerState.DONE
            if not self._calm_shown:
                self._enter_calm_look(now)
            outcome = self.outcome()
            events.append(Event(now, "session.end", {"status": outcome.status.value, "reason": outcome.reason,
                                                      "active_s": self.active_s}))  # fmt: skip
            return
        what, name = self._plan[0]
        if what == "block" and self._next_block > 0 and (
            self.active_s - self._last_break_s >= self.program.safety.break_every_s
        ):
            self._last_break_s = self.active_s
            self._block_kind = None
            self._task = self._begin(BreakTask(self.anchor), now, records)
            return
        self._plan.pop(0)
        self._block_kind = name if what == "block" else None
        self._rated_at_s = self.active_s
        if what == "rating":
            self._task = self._begin(PainRatingTask(self.anchor, name, self.program.hands), now, records, moment=name)
        elif what == "check":
            self._task = self._begin(QuestionTask(self.anchor, SINCE_LAST), now, records,
                                     question=SINCE_LAST.event_kind)
        else:
            index = self._next_block
            self._next_block += 1
            seed = self._block_seeds[index]
            context = TaskContext(self.anchor, seed, index, self.available_meshes, self.arm,
                                  mirrored_touch_allowed=not self.dysynchiria)
            # A research program's mirror and movement blocks carry their visual-feedback
            # condition ("feedback", "feedback_delay_ms"); the app shows the limb by it.
            condition = self.program.feedback_for(index)
            self._task = self._begin(build_task(name, self.program, context), now, records,
                                     block_index=index, seed=seed, stage=int(self.program.stage),
                                     **(condition.params() if condition is not None else {}))

    def _begin(self, task: Task, now: float, records: list[Record], block_index: int | None = None,
               **params: object) -> Task:
        """Mark ``task`` started (a ``TaskStarted`` record) and return it."""
        self._task_count += 1
        self._open.append((task, self._task_count, block_index))
        records.append(TaskStarted(self._task_count, task.kind, now, block_index, dict(params)))
        return task

    def _end(self, task: Task | None, now: float, records: list[Record], outcome: str) -> None:
        """Mark ``task`` ended (a ``TaskEnded`` record), if it was started and is still open."""
        for i, (open_task, number, _) in enumerate(self._open):
            if open_task is task:
                del self._open[i]
                records.append(TaskEnded(number, now, outcome))
                return

    def _end_all(self, now: float, records: list[Record], outcome: str) -> None:
        """End the current task and every suspended one."""
        for task in (self._task, *self._suspended):
            self._end(task, now, records, outcome)

    def _task_done(self, now: float, events: list[Event], records: list[Record]) -> None:
        self._end(self._task, now, records, "done")
        self._task = None
        if self.state is RunnerState.CLOSING:
            self._plan.clear()
            self._start_next(now, events, records)  # -> DONE
        elif self.state is RunnerState.RUNNING:
            self._start_next(now, events, records)

    def _close(self, now: float, cause: str, events: list[Event], records: list[Record]) -> None:
        """Stop the current task and ask the closing rating (if the plan has one), then end."""
        if self._task is not None:
            self._merge(self._task.interrupt(now, cause), events, records)
        self._end_all(now, records, cause)
        self._task = None
        self._suspended.clear()
        self._plan.clear()
        if self.program.session.rating_at_end and self.anchor is not None:
            self.state = RunnerState.CLOSING
            self._task = self._begin(PainRatingTask(self.anchor, "end", self.program.hands), now, records, moment="end")
            if not self._calm_shown:  # fade gently into the calm room behind the rating
                self._enter_calm_look(now)
        else:
            self.state = RunnerState.CLOSING
            self._start_next(now, events, records)

    # --- safety ------------------------------------------------------------------------------

    def _check_patient_inputs(self, frame: TrackingFrame, events: list[Event],
                              records: list[Record]) -> None:
        stop = self._stop.update(frame)
        if stop is not None and self.state in (RunnerState.RUNNING, RunnerState.CLOSING):
            self.patient_stop = True
            events.append(Event(frame.time_s, "safety.stop", {"by": "patient", "input": stop}))
            if self.state is RunnerState.RUNNING:
                self._to_calm(frame.time_s, "patient_stop", events, records)
            else:  # during the closing rating: end without it
                if self._cut_by not in SAFETY_CAUSES:
                    self._cut_by = "patient_stop"
                self._end(self._task, frame.time_s, records, "patient_stop")
                self._task = None
                self._alert(frame.time_s, "patient_stop", events)
                self._start_next(frame.time_s, events, records)
        asks = self._patient_buttons.presses(
            frame, ((Side.LEFT, "thumbstick_click"), (Side.RIGHT, "thumbstick_click"))
        )
        if asks and self.state is RunnerState.RUNNING:
            self._ask_rating(frame.time_s, "patient", events, records)

    def _check_scheduled_rating(self, now: float, events: list[Event], records: list[Record]) -> None:
        """Ask a pain rating when ``rating_every_s`` of focused time has passed in a mirror or
        movement block since it began or since the last rating (the block is suspended and
        resumes after it, as for the patient's own request)."""
        every = self.program.safety.rating_every_s
        if (every > 0 and self.state is RunnerState.RUNNING and self._block_kind in SCHEDULED_RATING_BLOCKS
                and self.active_s - self._rated_at_s >= every):
            self._rated_at_s = self.active_s
            self._ask_rating(now, "schedule", events, records)

    def _check_scheduled_fms(self, now: float, events: list[Event], records: list[Record]) -> None:
        """Once the Fast Motion Sickness Scale is due (every ``fms_every_s`` of focused time),
        ask it over the current task (suspended, as under a pain rating) at its next trial
        boundary, or in a break; never over another question; after ``FMS_LONGEST_WAIT_S``
        at any point the task allows (module docstring)."""
        every = self.program.safety.fms_every_s
        if (every <= 0 or self.state is not RunnerState.RUNNING or self.anchor is None
                or self.active_s < self._fms_due_s
                or isinstance(self._task, PainRatingTask | QuestionTask)):
            return
        late = self.active_s - self._fms_due_s >= FMS_LONGEST_WAIT_S
        if not (between_trials(self._task) or (late and may_cut(self._task))):
            return
        while self._fms_due_s <= self.active_s:  # the next on the programmed grid
            self._fms_due_s += every
        events.append(Event(now, "sickness.request", {"by": "schedule"}))
        if self._task is not None:
            self._merge(self._task.interrupt(now, "rating"), events, records)
            self._suspended.append(self._task)
        preselect = self.fms[-1] if self.fms else 0
        self._task = self._begin(QuestionTask(self.anchor, FMS, preselect), now, records,
                                 question=FMS.event_kind)

    def _answer(self, event: Event, events: list[Event], records: list[Record]) -> None:
        """A question's answer: the sickness rule for the FMS (a rating at or above
        ``fms_threshold`` stops movement like a pain flare, CLINICAL.md safety), and the
        start-of-session check (much worse since last time alerts the therapist; the
        proposal steps back, ``progression``)."""
        if event.kind == FMS.event_kind:
            value = int(event.data["value"])
            self.fms.append(value)
            threshold = self.program.safety.fms_threshold
            if value < threshold:
                return
            self.sickness = True
            events.append(Event(event.time_s, "safety.sickness", {"fms": value, "threshold": threshold}))
            if self.state is RunnerState.RUNNING:
                self._to_calm(event.time_s, "sickness", events, records)
            else:
                self._alert(event.time_s, "sickness", events)
        elif event.kind == SINCE_LAST.event_kind:
            self.since_last = str(event.data["answer"])
            if self.since_last == "much_worse":
                self._alert(event.time_s, "worse_since_last", events)

    def _ask_rating(self, now: float, by: str, events: list[Event], records: list[Record]) -> None:
        if isinstance(self._task, PainRatingTask | QuestionTask) or self.anchor is None:
            return
        events.append(Event(now, "pain.request", {"by": by}))
        if self._task is not None:
            self._merge(self._task.interrupt(now, "rating"), events, records)
            self._suspended.append(self._task)
        self._task = self._begin(PainRatingTask(self.anchor, "on_demand", self.program.hands), now, records, moment="on_demand")

    def _rating(self, record: RatingRecord, events: list[Event], records: list[Record]) -> None:
        """Every rating passes here: the pain-flare rule."""
        safety = self.program.safety
        first = self.ratings[0].value if self.ratings else record.value
        self.ratings.append(record)
        self._rated_at_s = self.active_s
        if len(self.ratings) == 1 and record.value < safety.pain_ceiling:
            return  # the first rating is the reference; it flares only at the ceiling
        if not is_flare(first, record.value, safety.flare_rise, safety.flare_rise_fraction,
                        safety.pain_ceiling):
            return
        events.append(Event(record.time_s, "safety.flare", {
            "first": first, "rating": record.value, "rise": safety.flare_rise,
            "rise_fraction": safety.flare_rise_fraction, "ceiling": safety.pain_ceiling,
            "moment": record.moment,
        }))
        if self.state is RunnerState.RUNNING and record.moment != "end":
            self._to_calm(record.time_s, "pain_flare", events, records)
        else:  # already calm, or the closing rating: the session ends anyway
            self._alert(record.time_s, "pain_flare", events)

    def _to_calm(self, now: float, cause: str, events: list[Event], records: list[Record]) -> None:
        interrupted = None
        if self._task is not None:
            interrupted = self._task.kind
            self._merge(self._task.interrupt(now, cause), events, records)
        self._end_all(now, records, cause)
        self._task = None
        self._suspended.clear()
        self.state = RunnerState.CALM
        self._cut_by = cause
        events.append(Event(now, "task.stopped", {"cause": cause, "task": interrupted}))
        self._enter_calm_look(now)
        if cause != "therapist_stop":
            self._alert(now, cause, events)

    def _enter_calm_look(self, now: float) -> None:
        self._calm_shown = False
        self._fade.to(1.0, now)

    def _alert(self, now: float, cause: str, events: list[Event]) -> None:
        proposal = evaluate_progression(self.program, [self.summary(self.date_iso)])
        message = {
            "pain_flare": "Pain flare: the pain rating rose by "
                          f"{self.program.safety.flare_rise} or more, or "
                          f"{self.program.safety.flare_rise_fraction:.0%} or more, or reached "
                          f"the ceiling {self.program.safety.pain_ceiling}. Movement stopped.",
            "patient_stop": "The patient stopped the session. Movement stopped; a stop is "
                            "not a failure and does not step back a stage.",
            "sickness": f"Sickness: FMS {self.fms[-1] if self.fms else '-'} reached the threshold "
                        f"{self.program.safety.fms_threshold}. Movement stopped.",
            "dysynchiria": "Dysynchiria: the patient felt pain or tingling on the affected side "
                           "while seeing the healthy limb touched. Mirrored touch is stopped for "
                           "this session; touch training goes on with the limb hidden.",
            "worse_since_last": "The patient reports much more pain and swelling since the last "
                                "session: consider a gentler session; the proposal steps back.",
        }.get(cause, cause)
        events.append(Event(now, "safety.alert", {
            "cause": cause, "message": message, "proposal": proposal.to_dict(),
        }))

    # --- console queue -------------------------------------------------------------------------

    def _apply_hold(self, now: float) -> None:
        """The therapist's pause and resume, taken even while paused (the rest of the queue
        waits for the session to run)."""
        holds = [args for what, args in self._console if what == "hold"]
        self._console = [(what, args) for what, args in self._console if what != "hold"]
        for paused, _ in holds:
            if paused and self.state is RunnerState.RUNNING and not self.held:
                self.held = True
            elif not paused and self.held:
                self.held, self._released = False, self._paused

    def _steer(self, what: str, now: float, events: list[Event], records: list[Record]) -> None:
        """Repeat the running block from its start, or skip the running block or break."""
        task = self._task
        if task is None or not (self.repeatable if what == "repeat" else self.steerable):
            return
        index = next((block for open_task, _, block in self._open if open_task is task), None)
        data: dict[str, object] = {"kind": task.kind, "block_index": index, "by": "therapist"}
        self._merge(task.interrupt(now, "repeated" if what == "repeat" else "skipped"), events, records)
        if what == "repeat":
            assert self._block_kind is not None
            seed = int(np.random.default_rng([self.seed, self._task_count]).integers(0, 2**31 - 1))
            self._block_seeds.insert(self._next_block, seed)
            self._plan.insert(0, ("block", self._block_kind))
            data["seed"] = seed
            self._last_break_s = self.active_s  # the block starts again at once, not after a break
        events.append(Event(now, "task.repeat" if what == "repeat" else "task.skipped", data))
        self._end(task, now, records, "repeated" if what == "repeat" else "skipped")
        self._task = None
        self._start_next(now, events, records)

    def _apply_console(self, now: float, events: list[Event], records: list[Record]) -> None:
        queued, self._console = self._console, []
        for what, args in queued:
            if what in ("repeat", "skip"):
                self._steer(what, now, events, records)
            elif what == "answer":
                side, time_s = args
                if isinstance(self._task, ConsoleAnswerable):
                    assert isinstance(side, Side) and isinstance(time_s, float | int)
                    self._task.answer_from_console(side, float(time_s))
            elif what == "rating":
                value, time_s = args
                assert isinstance(value, int) and isinstance(time_s, float | int)
                if isinstance(self._task, PainRatingTask):
                    self._task.enter_from_console(value, float(time_s))
                else:
                    record = RatingRecord(float(time_s), value, "on_demand", "therapist")
                    events.append(Event(record.time_s, "pain.rating", record.to_dict()))
                    records.append(record)
                    self._rating(record, events, records)
            elif what == "question":
                answer, time_s = args
                if isinstance(self._task, QuestionTask) and answer in self._task.question.answers:
                    assert isinstance(answer, str) and isinstance(time_s, float | int)
                    self._task.enter_from_console(answer, float(time_s))
            elif what == "request_rating" and self.state is RunnerState.RUNNING:
                self._ask_rating(now, "therapist", events, records)
            elif what == "stop" and self.state is RunnerState.RUNNING:
                events.append(Event(now, "safety.stop", {"by": "therapist"}))
                self._to_calm(now, "therapist_stop", events, records)
            elif what == "end" and self.state in (RunnerState.RUNNING, RunnerState.CALM):
                _, by = args
                self._cut_by = self._cut_by or f"{by}_end"
                events.append(Event(now, "session.end_requested", {"by": by}))
                self._close(now, self._cut_by, events, records)

    # --- output --------------------------------------------------------------------------------

    def _merge(self, step: TaskStep, events: list[Event], records: list[Record]) -> None:
        events.extend(step.events)
        for event in step.events:
            if event.kind in (FMS.event_kind, SINCE_LAST.event_kind):
                self._answer(event, events, records)
            elif event.kind == "safety.dysynchiria":
                # Recorded like a flare and shown to the therapist; the touch task carries
                # on without mirrored touch (its own rule), so the session is not stopped.
                self.dysynchiria = True
                self._alert(event.time_s, "dysynchiria", events)
        for record in step.records:
            records.append(record)
            if isinstance(record, TrialRecord):
                self.trials.append(record)
            elif isinstance(record, RatingRecord):
                self._rating(record, events, records)
            if not isinstance(record, RatingRecord):
                self.work_records += 1

    def _output(self, now: float, step: TaskStep, events: list[Event], records: list[Record],
                done: bool = False, haptics: tuple[HapticPulse, ...] = ()) -> TaskStep:
        anchor = self.anchor or DEFAULT_ANCHOR
        calm_look = self.state is not RunnerState.RUNNING or self._paused
        if self._paused:  # the last picture, held still, fading out
            draw = self._shown
            fade = self._fade.value(now)
            if self.held and not self._held_calm and fade >= 1.0 - 1e-9 and self._fade.settled(now):
                self._held_calm = True  # faded out: the calm pause fades in
                self._fade.to(0.0, now)
                fade = self._fade.value(now)
            if self._held_calm:
                draw = calm_scene(anchor, HELD_MESSAGE)
        elif calm_look and not self._calm_shown:
            # Fading out: the task's last picture, held still.
            fade = self._fade.value(now)
            draw = self._frozen
            if fade >= 1.0 - 1e-9 and self._fade.settled(now):
                self._calm_shown = True
                self._fade.to(0.0, now)
                draw = calm_scene(anchor, self._calm_message())
        else:
            fade = self._fade.value(now)
            draw = step.draw
            if calm_look:
                calm = calm_scene(anchor, self._calm_message() if not step.draw.texts else "")
                draw = DrawList(
                    meshes=calm.meshes + step.draw.meshes,
                    skinned=step.draw.skinned,
                    texts=(calm.texts if not step.draw.texts else ()) + step.draw.texts,
                    clear_color=CALM_CLEAR,
                )
            else:
                self._frozen = step.draw
        if self._hint_shown and self.state is RunnerState.RUNNING and not self._paused:
            draw = dataclasses.replace(draw, texts=draw.texts + (stop_hint_item(anchor),))
        if not self._paused:
            self._shown = draw
        draw = dataclasses.replace(draw, fade=float(fade))
        movement = self.state is RunnerState.RUNNING and not self._paused
        return TaskStep(draw, tuple(events), tuple(records), done, movement, haptics)

    def _calm_message(self) -> str:
        return {RunnerState.CALM: self.calm_message, RunnerState.DONE: self.done_message}.get(self.state, "")

    # --- results -------------------------------------------------------------------------------

    def outcome(self, ended_by: str | None = None) -> SessionOutcome:
        """How the session ended (module docstring). ``ended_by``: why the app stopped
        stepping the runner before the plan had ended ("motion_ended", "window_closed",
        "frame_limit", ...); a cause the runner saw itself comes first."""
        if self._cut_by in SAFETY_CAUSES:
            return SessionOutcome(SessionStatus.SAFETY_STOP, self._cut_by)
        if self.state is RunnerState.DONE and self._cut_by is None:
            return SessionOutcome(SessionStatus.COMPLETED, "plan_done")
        reason = self._cut_by or ended_by or "unfinished"
        if self.work_records == 0:
            return SessionOutcome(SessionStatus.NOT_STARTED, reason)
        return SessionOutcome(SessionStatus.ENDED_EARLY, reason)

    def end_open_tasks(self, outcome: str = "session_ended") -> tuple[Record, ...]:
        """``TaskEnded`` records, at the last frame's time, for the tasks still open when the
        app stops stepping the runner (their blocks end with them)."""
        records: list[Record] = []
        now = self._last_time if self._last_time is not None else 0.0
        for _, number, _ in self._open:
            records.append(TaskEnded(number, now, outcome))
        self._open.clear()
        return tuple(records)

    def summary(self, date_iso: str) -> SessionSummary:
        """The session so far (or finished), for ``progression.evaluate_progression``."""
        return summarize_session(self.program, date_iso, self.trials, self.ratings,
                                 self.patient_stop, self.sickness, self.since_last)
