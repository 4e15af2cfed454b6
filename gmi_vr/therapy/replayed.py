"""What the patient was shown, rebuilt from a recorded session (for ``gmi-vr replay``).

A session's store keeps its events (each with the data the task emitted) and its tracking
frames, not its pictures. ``SessionPictures.at(time_s)`` draws the therapy part of the
picture at any recorded time again, with the drawing code the live session used:

- laterality blocks (``laterality.trial_picture``): the fixation cross from "block.start";
  from "trial.show" (part, side, rotation, view, context and the mesh drawn) the stimulus
  until its "trial.answer", "trial.timeout" or "trial.void"; then, with feedback on, the
  green, red or grey panel for ``feedback_s``; the cross again until the next stimulus;
- pain ratings: from "pain.ask" to its "pain.rating" the 0-10 scale. The patient chooses
  and confirms with the controllers, which are recorded, so a ``PainRatingTask`` fed the
  recorded frames from the ask on shows the choice and the confirm bar as they were;
- the questions (the sickness scale, "pain and swelling since last time") from
  "question.ask" to their answer, a ``QuestionTask`` fed the recorded frames like the pain
  rating's, starting at the answer the event says was preselected;
- the stop hint under the picture from "safety.stop_hint" to "safety.stop_hint_end";
- the break message between "safety.break" offered and over; after a stop, a flare, the
  therapist's end or the time cap, the task picture held and eased to black, then the calm
  look-only scene (its message, the closing rating in front of it, or "Session complete"),
  with the runner's own eased fade (``scenes.Fade``);
- while the headset was off ("session.pause" to "session.resume"), the last picture held
  and eased to black, then eased back in.

Not rebuilt (yet): the pictures of imagery, mirror and movement tasks (the body and room
show), and a pause after the calm scene began (its picture shows undimmed).
``timeline_marks`` picks the events a therapist seeks to on replay's timeline.

Pure logic: events and frames come in as plain data; nothing here reads a clock or a store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.scene.draw import DrawList
from gmi_vr.therapy.content.scenes import CALM_CLEAR, Fade, calm_scene, smoothstep
from gmi_vr.therapy.content.stimuli import CONTEXT_PROPS, PARTS, Stimulus
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError
from gmi_vr.therapy.runner import CALM_MESSAGE, DEFAULT_ANCHOR, DONE_MESSAGE
from gmi_vr.therapy.safety import BREAK_MESSAGE, stop_hint_item
from gmi_vr.therapy.tasks.checks import FMS, SINCE_LAST, QuestionTask
from gmi_vr.therapy.tasks.laterality import trial_picture
from gmi_vr.therapy.tasks.rating import PainRatingTask, rating_picture

#: The recorded events marked on replay's timeline, by the group each is marked in.
MARKED_EVENTS: dict[str, str] = {
    "trial.show": "trial", "repetition.show": "trial", "imagery.start": "trial",
    "trial.answer": "answer", "trial.timeout": "answer", "repetition.complete": "answer",
    "repetition.timeout": "answer",
    "pain.rating": "rating", "vividness.rating": "rating",
    "safety.stop": "safety", "safety.flare": "safety", "safety.time_cap": "safety",
    "block.start": "block", "block.end": "block", "task.start": "block", "task.end": "block",
    "haptic.pulse": "haptic",
}  # fmt: skip
#: The therapist's live changes (marked "change" when the event says ``by`` "therapist"; a
#: task's own limb mode is not the therapist's): limb mode and blend, the displayed hand's
#: size, pause and resume, a block repeated or skipped.
THERAPIST_CHANGES = ("body.mode", "body.hand_scale", "session.pause", "session.resume", "task.repeat",
                     "task.skipped")  # fmt: skip
#: The groups in the order a legend lists them, with the words it uses.
MARK_GROUPS: tuple[tuple[str, str], ...] = (
    ("trial", "trial shown"), ("answer", "answer"), ("rating", "pain rating"),
    ("safety", "stop / flare"), ("block", "block start / end"), ("haptic", "haptic pulse"),
    ("change", "therapist's change"),
)

#: Events after which the runner shows the calm look (the task, if any, is stopped).
_CALM_EVENTS = ("task.stopped", "session.end_requested", "safety.time_cap", "session.end")
#: A recorded frame's time (stored in nanoseconds) may differ from its events' (float
#: seconds) by rounding; frames are milliseconds apart, so times this close are one frame.
_SAME_FRAME_S = 1e-6


#: The questions a "question.ask" event may name, by their answer's event kind.
QUESTIONS = {q.event_kind: q for q in (FMS, SINCE_LAST)}


def timeline_marks(events: Sequence[Event]) -> tuple[tuple[float, str], ...]:
    """(time_s, group) of every event in ``MARKED_EVENTS`` and of the therapist's changes
    (``THERAPIST_CHANGES``, group "change"), in time order."""
    marks = [(e.time_s, MARKED_EVENTS[e.kind]) for e in events if e.kind in MARKED_EVENTS]
    marks += [(e.time_s, "change") for e in events
              if e.kind in THERAPIST_CHANGES and (e.data or {}).get("by") == "therapist"]  # fmt: skip
    return tuple(sorted(marks, key=lambda mark: mark[0]))


def _stimulus(data: dict[str, object]) -> Stimulus:
    """The stimulus a "trial.show" event names; ValueError for one no task could show."""
    part = BodyPart(str(data["body_part"]))
    view, context = str(data["view"]), str(data.get("context", "none"))
    if view not in PARTS[part].views or context not in CONTEXT_PROPS:
        raise ValueError(f"no {view} view of a {part.value} holding {context}")
    rotation = data["rotation_deg"]
    if not isinstance(rotation, int | float) or not math.isfinite(rotation):
        raise ValueError(f"rotation {rotation!r}")
    return Stimulus(part, Side(str(data["side"])), int(rotation) % 360, view, context)


@dataclass(frozen=True)
class ShownPicture:
    """The therapy picture at one time: ``draw`` (its fade set) and whether the clinic room
    was drawn around it (the calm scene brings its own floor instead)."""

    draw: DrawList
    room: bool = True


@dataclass(frozen=True)
class _TrialPhase:
    start_s: float
    end_s: float
    phase: str  # "blank", "show" or "feedback" (laterality.trial_picture)
    stimulus: Stimulus | None = None
    look: tuple[str, bool] | None = None
    correct: bool | None = None


@dataclass
class _RatingRun:
    """A PainRatingTask (or a QuestionTask) fed the recorded frames from its ask up to ``time_s``."""

    ask_s: float
    task: PainRatingTask | QuestionTask
    frames: Iterator[TrackingFrame]
    pending: TrackingFrame | None
    time_s: float
    draw: DrawList
    paused: bool = False


FramesFrom = Callable[[float], Iterator[TrackingFrame]]


class SessionPictures:
    """The pictures of one recorded session (see the module docstring).

    ``events``: the session's events in recorded order. ``frames_from(time_s)`` yields the
    recorded frames from ``time_s`` on (None: ratings show the scale with nothing chosen).
    ``has_mesh``: which models are installed (props of old recordings). ``fallback_anchor``
    places the pictures of sessions recorded before "session.start" carried its anchor.
    """

    def __init__(self, events: Sequence[Event], frames_from: FramesFrom | None = None,
                 has_mesh: Callable[[str], bool] = lambda name: True,
                 fallback_anchor: Pose = DEFAULT_ANCHOR) -> None:
        self.events = tuple(events)
        self.frames_from = frames_from
        self.has_mesh = has_mesh
        self.anchor = fallback_anchor
        self.program: Program | None = None
        self.phases: list[_TrialPhase] = []
        self.ratings: list[tuple[float, float, str]] = []  # (ask, end, moment)
        self.breaks: list[tuple[float, float]] = []
        #: (ask, end, question event kind, preselected answer index or None)
        self.questions: list[tuple[float, float, str, int | None]] = []
        self.hints: list[tuple[float, float]] = []  # the stop hint: (shown, ended)
        self.pauses: list[tuple[float, float]] = []  # headset off: (pause, resume)
        self.calm_from_s = float("inf")  # the runner leaves RUNNING: stop, flare, end, time cap
        self.calm_message_until_s = float("inf")  # CALM (its message) until the closing starts
        self.done_from_s = float("inf")  # "session.end": "Session complete"
        self._run: _RatingRun | None = None
        self._read(events)

    # --- reading the events --------------------------------------------------------------------

    def _read(self, events: Sequence[Event]) -> None:
        end = float("inf")
        open_phase: _TrialPhase | None = None
        open_rating: tuple[float, str] | None = None
        open_break: float | None = None
        open_pause: float | None = None
        open_question: tuple[float, str, int | None] | None = None
        open_hint: float | None = None

        def close_phase(at: float) -> None:
            nonlocal open_phase
            if open_phase is not None and at > open_phase.start_s:
                self.phases.append(replace(open_phase, end_s=at))
            open_phase = None

        for event in events:
            t, kind, data = event.time_s, event.kind, event.data
            try:
                if kind == "session.start":
                    self._start(data)
                elif kind == "block.start" and data.get("kind") == "laterality":
                    open_phase = _TrialPhase(t, end, "blank")
                elif kind == "trial.show" and open_phase is not None:
                    close_phase(t)
                    stimulus = _stimulus(data)
                    open_phase = _TrialPhase(t, end, "show", stimulus, self._look(stimulus, data))
                elif kind in ("trial.answer", "trial.timeout", "trial.void") and open_phase is not None:
                    shown = open_phase
                    close_phase(t)
                    feedback_s = self._laterality_feedback_s()
                    if kind != "trial.void" and feedback_s > 0 and shown.phase == "show":
                        correct = None if data.get("timed_out") else bool(data.get("correct"))
                        self.phases.append(replace(shown, start_s=t, end_s=t + feedback_s,
                                                   phase="feedback", correct=correct))
                        t += feedback_s
                    open_phase = _TrialPhase(t, end, "blank")
                elif kind == "block.end":
                    close_phase(t)
                elif kind == "pain.ask" and open_rating is None:
                    open_rating = (t, str(data.get("moment", "")))
                elif kind == "pain.rating" and open_rating is not None and data.get("moment") == open_rating[1]:
                    self.ratings.append((open_rating[0], t, open_rating[1]))
                    open_rating = None
                elif kind == "question.ask" and open_question is None:
                    preselect = data.get("preselect")
                    open_question = (t, str(data["question"]), int(preselect) if preselect is not None else None)
                elif open_question is not None and kind == open_question[1]:
                    self.questions.append((open_question[0], t, open_question[1], open_question[2]))
                    open_question = None
                elif kind == "safety.stop_hint" and open_hint is None:
                    open_hint = t
                elif kind == "safety.stop_hint_end" and open_hint is not None:
                    self.hints.append((open_hint, t))
                    open_hint = None
                elif kind == "session.pause" and open_pause is None:
                    open_pause = t
                elif kind == "session.resume" and open_pause is not None:
                    self.pauses.append((open_pause, t))
                    open_pause = None
                elif kind == "safety.break":
                    if data.get("state") == "offered":
                        open_break = t
                    elif open_break is not None:
                        self.breaks.append((open_break, t))
                        open_break = None
            except (AttributeError, KeyError, TypeError, ValueError, ProgramError):
                continue  # a malformed event shows nothing new; the replay goes on
            if kind in _CALM_EVENTS:
                close_phase(t)
                self.calm_from_s = min(self.calm_from_s, t)
                if kind != "task.stopped":
                    self.calm_message_until_s = min(self.calm_message_until_s, t)
                if open_break is not None:
                    self.breaks.append((open_break, t))
                    open_break = None
                if open_question is not None:
                    self.questions.append((open_question[0], t, open_question[1], open_question[2]))
                    open_question = None
                if kind == "session.end":
                    self.done_from_s = min(self.done_from_s, t)
                    if open_rating is not None:  # stopped during the closing rating
                        self.ratings.append((open_rating[0], t, open_rating[1]))
                        open_rating = None
                elif kind == "task.stopped" and open_rating is not None:
                    self.ratings.append((open_rating[0], t, open_rating[1]))
                    open_rating = None
        close_phase(end)
        if open_rating is not None:
            self.ratings.append((open_rating[0], end, open_rating[1]))
        if open_break is not None:
            self.breaks.append((open_break, end))
        if open_pause is not None:
            self.pauses.append((open_pause, end))
        if open_question is not None:
            self.questions.append((open_question[0], end, open_question[1], open_question[2]))
        if open_hint is not None:
            self.hints.append((open_hint, end))

    def _start(self, data: dict[str, object]) -> None:
        program = data.get("program")
        if isinstance(program, dict):
            self.program = Program.from_dict(program)
        anchor = data.get("anchor")
        if isinstance(anchor, dict):
            pose = Pose(np.asarray(anchor["position"], float), np.asarray(anchor["orientation"], float))
            if not (np.isfinite(pose.as_array()).all() and abs(np.linalg.norm(pose.orientation) - 1.0) < 1e-3):
                raise ValueError("not a pose")
            self.anchor = pose

    def _laterality_feedback_s(self) -> float:
        if self.program is None or not self.program.laterality.feedback:
            return 0.0
        return float(self.program.laterality.feedback_s)

    def _look(self, stimulus: Stimulus, data: dict[str, object]) -> tuple[str, bool]:
        """The mesh "trial.show" recorded, or (older recordings) the one the task chooses."""
        if "mesh" in data:
            return str(data["mesh"]), bool(data.get("reflected", False))
        mirrored = self.program is not None and self.program.laterality.mirrored_stimuli
        mesh, reflected = PARTS[stimulus.part].mesh(stimulus.side, mirrored)
        if self.has_mesh(mesh):
            return mesh, reflected
        return f"figure:{stimulus.part.value}_{stimulus.side.value}", False

    # --- the picture at a time -------------------------------------------------------------------

    def at(self, time_s: float) -> ShownPicture:
        """What the patient was shown at ``time_s`` (recording clock, seconds)."""
        time_s += _SAME_FRAME_S
        half_s = self._fade_half_s()
        if time_s < self.calm_from_s:
            return self._running_picture(time_s, half_s)
        into = time_s - _SAME_FRAME_S - self.calm_from_s
        if into < half_s:  # the last task picture (the frame before), held still, easing to black
            held = self._task_picture(self.calm_from_s - _SAME_FRAME_S)
            return ShownPicture(replace(held, fade=smoothstep(into / half_s)))
        fade = 1.0 - smoothstep((into - half_s) / half_s) if half_s > 0 else 0.0
        rating = self._rating_at(time_s)
        if rating is not None:  # the closing rating in front of the calm room
            calm = calm_scene(self.anchor, "")
            draw = DrawList(meshes=calm.meshes + rating.meshes, texts=rating.texts, clear_color=CALM_CLEAR)
        else:
            if time_s >= self.done_from_s:
                message = DONE_MESSAGE
            elif time_s < self.calm_message_until_s:
                message = CALM_MESSAGE
            else:
                message = ""
            draw = calm_scene(self.anchor, message)
        return ShownPicture(replace(draw, fade=fade), room=False)

    def _running_picture(self, time_s: float, half_s: float) -> ShownPicture:
        """Before the calm look: the task picture, or while the headset was off the one
        before it, held; the fade as the runner eased it out at the pause and in at resume."""
        pause = next(((p0, p1) for p0, p1 in reversed(self.pauses) if p0 <= time_s), None)
        if pause is None:
            return ShownPicture(self._with_hint(self._task_picture(time_s), time_s))
        paused_s, resumed_s = pause
        fade = Fade(half_s)
        fade.to(1.0, paused_s)
        exact_s = time_s - _SAME_FRAME_S
        if time_s >= resumed_s:
            fade.to(0.0, resumed_s)
            shown = self._with_hint(self._task_picture(time_s), time_s)
            return ShownPicture(replace(shown, fade=fade.value(exact_s)))
        held = self._with_hint(self._task_picture(paused_s - _SAME_FRAME_S), paused_s - _SAME_FRAME_S)
        return ShownPicture(replace(held, fade=fade.value(exact_s)))

    def _with_hint(self, draw: DrawList, time_s: float) -> DrawList:
        """``draw`` with the stop hint under it while the runner showed it."""
        if any(start <= time_s < stop for start, stop in self.hints):
            return replace(draw, texts=draw.texts + (stop_hint_item(self.anchor),))
        return draw

    def _fade_half_s(self) -> float:
        program = self.program or Program.default(Side.LEFT, BodyPart.HAND)
        return program.safety.fade_s / 2

    def _task_picture(self, time_s: float) -> DrawList:
        rating = self._rating_at(time_s)
        if rating is not None:
            return rating
        for ask_s, end_s, kind, preselect in self.questions:
            if ask_s <= time_s < end_s:
                return self._question_picture(ask_s, kind, preselect, time_s)
        if any(start <= time_s < stop for start, stop in self.breaks):
            return calm_scene(self.anchor, BREAK_MESSAGE)
        for phase in self.phases:
            if phase.start_s <= time_s < phase.end_s and self.program is not None:
                return trial_picture(self.anchor, self.program.laterality, phase.phase, phase.stimulus,
                                     phase.look, phase.correct, self.has_mesh)
        return DrawList()

    def _rating_at(self, time_s: float) -> DrawList | None:
        for ask_s, end_s, moment in self.ratings:
            if ask_s <= time_s < end_s:
                return self._rating_picture(ask_s, moment, time_s)
        return None

    def _rating_picture(self, ask_s: float, moment: str, time_s: float) -> DrawList:
        """The scale as the PainRatingTask drew it at ``time_s``: the task fed the recorded
        frames from ``ask_s`` (continued from the last call when it went forward)."""
        if self.frames_from is None:
            return rating_picture(self.anchor, None, 0.0)
        run = self._run
        if run is None or run.ask_s != ask_s or time_s < run.time_s or not isinstance(run.task, PainRatingTask):
            frames = self.frames_from(ask_s)
            task = PainRatingTask(self.anchor, moment, self.program.hands if self.program else None)
            run = self._run = _RatingRun(ask_s, task, frames, next(frames, None), ask_s,
                                         rating_picture(self.anchor, None, 0.0))
        return self._feed(run, time_s)

    def _question_picture(self, ask_s: float, kind: str, preselect: int | None, time_s: float) -> DrawList:
        """A question as the QuestionTask drew it at ``time_s`` (as ``_rating_picture``)."""
        question = QUESTIONS.get(kind)
        if question is None:
            return DrawList()
        if self.frames_from is None:
            return QuestionTask(self.anchor, question, preselect).picture()
        run = self._run
        if run is None or run.ask_s != ask_s or time_s < run.time_s or not isinstance(run.task, QuestionTask):
            frames = self.frames_from(ask_s)
            task = QuestionTask(self.anchor, question, preselect)
            run = self._run = _RatingRun(ask_s, task, frames, next(frames, None), ask_s, task.picture())
        return self._feed(run, time_s)

    def _feed(self, run: _RatingRun, time_s: float) -> DrawList:
        """Feed ``run``'s task the recorded frames up to ``time_s``; its picture then."""
        while run.pending is not None and run.pending.time_s <= time_s:
            frame, run.pending = run.pending, next(run.frames, None)
            if not frame.focused:  # as the runner does: the task is interrupted, not updated
                if not run.paused:
                    run.task.interrupt(frame.time_s, "unfocused")
                run.paused = True
                continue
            run.paused = False
            step = run.task.update(frame, None)
            if step.done:  # confirmed: the scale stays as it was until the recorded rating
                run.pending = None
                break
            run.draw = step.draw
        run.time_s = time_s
        return run.draw
