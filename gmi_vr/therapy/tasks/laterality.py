"""Stage 1: left/right judgement (implicit motor imagery). One block of trials.

Each trial: a fixation cross for ``inter_trial_s``, then the picture until an answer or the
time limit, then (feedback on) a calm green or red cue for ``feedback_s``. The reaction
time runs from the predicted display time of the first frame that showed the picture to the
answering input's own change time, so it is exact to the runtime's input timestamps, not
rounded to frames.

Presses that happened before the picture was displayed (held over from the blank, or
changed before its display time) are not answers: the patient could not have seen it.

Pause rule: if the session pauses (headset off, a pain rating, a stop) while a picture is
up and unanswered, that trial is voided — no record, a "trial.void" event — and the same
stimulus is shown again later in the block, so pauses never inflate reaction times and the
block stays balanced.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import FloatArray, HandInput, Pose, Side, TrackingFrame
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.scenes import CORRECT_COLOR, WRONG_COLOR
from gmi_vr.therapy.content.stand_in_figures import figure
from gmi_vr.therapy.content.stimuli import (
    CONTEXT_PROPS,
    PARTS,
    Stimulus,
    balanced_sequence,
    place_in_front,
    stimulus_world_from_mesh,
)
from gmi_vr.therapy.plan.program import LateralitySettings, Program
from gmi_vr.therapy.results.scoring import score_trials
from gmi_vr.therapy.results.task_records import TrialRecord
from gmi_vr.therapy.tasks.base import ButtonEdges, TaskContext, TaskStep
from gmi_vr.therapy.tasks.pointing import (
    Choice,
    DwellState,
    DwellTimer,
    dwell_ring,
    hand_pointer,
    input_used,
    pointer_mark,
)

STIMULUS_COLOR: RGBA = (0.86, 0.74, 0.64, 1.0)  # a neutral skin tone
NEUTRAL_COLOR: RGBA = (0.6, 0.62, 0.66, 1.0)  # timeout cue: no judgement
#: Frame times are sums of float periods; compare durations with this slack.
_EPS = 1e-9


class LateralityTask:
    """One balanced block of left/right judgements. Build with ``LateralityTask.build``."""

    kind = "laterality"
    involves_movement = False
    #: A picture still unanswered after a scheduled question's longest wait may be voided
    #: and shown again (``base.TrialPaced``): only possible with no time limit.
    cut_when_late = True

    def __init__(self, program: Program, context: TaskContext) -> None:
        self.settings: LateralitySettings = program.laterality
        self.context = context
        self.body_part = program.body_part
        self.queue: list[Stimulus] = balanced_sequence(
            self.settings, program.body_part, context.seed
        )
        self.trial_count = len(self.queue)
        self._completed = 0
        self._phase = "start"  # start -> blank -> show -> (feedback) -> blank ... -> done
        self._phase_start: float | None = None
        self._current: Stimulus | None = None
        self._shown_at: float | None = None
        self._last_correct: bool | None = None
        self._edges = ButtonEdges()
        self._console: list[tuple[Side, float]] = []
        self._records: list[TrialRecord] = []
        answer = self.settings.answer
        self._pointing = answer.mode == "point"
        self._hand_dwell = program.hands.dwell  # None: tracked hands answer by pinch
        self._dwell = DwellTimer(self._hand_dwell)
        self._aim = DwellTimer(None)  # where the pointer rests, with hysteresis, no dwell
        self._pointer: tuple[FloatArray, DwellState] | None = None  # this frame's, to draw
        # The last trial picture and what it was drawn from: it changes a few times a trial,
        # not every frame (the context, anchor and installed models, is compared by identity:
        # a recalibration replaces it).
        self._picture: tuple[tuple[object, ...], DrawList] | None = None
        self._inputs: tuple[tuple[Side, str], ...]  # (hand, HandInput field) that answer
        if answer.mode == "two_hands":
            self._inputs = ((Side.LEFT, "trigger_click"), (Side.RIGHT, "trigger_click"))
        elif answer.mode == "point":
            self._inputs = ((answer.hand, "trigger_click"),)
        else:
            self._inputs = ((answer.hand, answer.left_button), (answer.hand, answer.right_button))

    @staticmethod
    def build(program: Program, context: TaskContext) -> LateralityTask:
        """One block of this task kind from the program (``TaskBuilder``, in ``registry.TASK_BUILDERS``)."""
        return LateralityTask(program, context)

    @property
    def between_trials(self) -> bool:
        """No picture waits for an answer (``base.TrialPaced``): a question now voids nothing."""
        return self._phase != "show"

    # --- inputs ----------------------------------------------------------------------------

    def answer_from_console(self, side: Side, time_s: float) -> None:
        """The therapist answers for the patient (by key) at ``time_s`` on the frame clock."""
        self._console.append((side, time_s))

    def _side_of(self, hand: Side, name: str) -> Side:
        answer = self.settings.answer
        if answer.mode == "two_hands":
            return hand
        return Side.LEFT if name == answer.left_button else Side.RIGHT

    # --- the frame step --------------------------------------------------------------------

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        now = frame.time_s
        presses = self._edges.presses(frame, self._inputs)
        console, self._console = self._console, []
        answers = self._answers(frame, presses)
        events: list[Event] = []
        records: list[TrialRecord] = []
        if self._phase == "start":
            events.append(Event(now, "block.start", {
                "kind": self.kind, "block_index": self.context.block_index,
                "seed": self.context.seed, "trials": self.trial_count,
            }))
            self._enter("blank", now)
        if self._phase_start is None:
            self._phase_start = now
        elapsed = now - self._phase_start

        if self._phase == "feedback" and elapsed + _EPS >= self.settings.feedback_s:
            self._enter("blank", now)
            elapsed = 0.0
        if self._phase == "blank" and elapsed + _EPS >= self.settings.inter_trial_s:
            if not self.queue:
                events.append(Event(now, "block.end", {
                    "kind": self.kind, "block_index": self.context.block_index,
                    "trials": self._completed, "by_side": _by_side(self._records),
                }))
                return TaskStep(events=tuple(events), done=True)
            self._current = self.queue.pop(0)
            self._shown_at = now
            self._enter("show", now)
            mesh, reflected = self._look(self._current)
            events.append(Event(now, "trial.show", {
                "block_index": self.context.block_index, "trial_index": self._completed,
                **_stimulus_data(self._current), "mesh": mesh, "reflected": reflected,
            }))
        elif self._phase == "show":
            record = self._judge(now, answers, console)
            if record is not None:
                records.append(record)
                self._records.append(record)
                kind = "trial.timeout" if record.timed_out else "trial.answer"
                events.append(Event(now, kind, record.to_dict()))
                self._completed += 1
                self._last_correct = record.correct if not record.timed_out else None
                self._enter("feedback" if self.settings.feedback else "blank", now)
        return TaskStep(self._draw(), tuple(events), tuple(records))

    def _answers(
        self, frame: TrackingFrame, presses: list[tuple[Side, str, float, str]]
    ) -> list[tuple[float, Side, str, str, str]]:
        """This frame's answers by the patient: (time s, side answered, answered_by,
        rt_source, answered_with) for each press (and, pointing, each dwell taken)."""
        if not self._pointing:
            return [(t, self._side_of(hand, name), _answered_by(hand, frame.hand(hand), name), source,
                     input_used(frame.hand(hand), name))
                    for hand, name, t, source in presses]  # fmt: skip
        hand_side = self.settings.answer.hand
        hand = frame.hand(hand_side)
        panel, choices = answer_targets(self.context.anchor, self.settings)
        point = hand_pointer(frame, hand, self.context.anchor, panel)
        dwelling = input_used(hand, "trigger_click") == "pinch" and self._hand_dwell is not None
        if dwelling:  # a dwell counts only while a picture is up, and from its first frame;
            # after an answer the pointer must leave that target before it answers again
            showing = self._phase == "show" and self._shown_at is not None
            state = self._dwell.update(point, choices, frame.time_s,
                                       not_before_s=self._shown_at if showing else math.inf)
        else:  # a pinch or trigger answers; the pointer only shows where it rests
            state = self._aim.update(point, choices, frame.time_s)
        self._pointer = None if point is None else (point, state)
        found: list[tuple[float, Side, str, str, str]] = []
        if state.taken is not None:
            found.append((frame.time_s, Side(state.taken), f"{hand_side.value}.dwell", "frame", "dwell"))
        if state.pointed is not None and not dwelling:
            found += [(t, Side(state.pointed), _answered_by(hand_side, hand, name), source, input_used(hand, name))
                      for _, name, t, source in presses]  # fmt: skip
        return found

    def _judge(
        self,
        now: float,
        answers: list[tuple[float, Side, str, str, str]],
        console: list[tuple[Side, float]],
    ) -> TrialRecord | None:
        """The trial's record if it ended this frame (answer or timeout), else None."""
        assert self._current is not None and self._shown_at is not None
        shown_at = self._shown_at
        limit = self.settings.time_limit_s
        candidates = list(answers)
        candidates += [(t, side, "console", "console", "key") for side, t in console]
        valid = [c for c in candidates if c[0] >= shown_at]
        if limit is not None:
            valid = [c for c in valid if c[0] - shown_at < limit + _EPS]
        if valid:
            answered_at, side, answered_by, source, used = min(valid, key=lambda c: c[0])
            return self._record(side, answered_by, answered_at, source, used)
        if limit is not None and now - shown_at + _EPS >= limit:
            return self._record(None, None, None, None, None)
        return None

    def _look(self, stimulus: Stimulus) -> tuple[str, bool]:
        """(what is drawn, reflected?): the model and whether it is reflected, or
        "figure:<part>_<side>" for the primitive stand-in when the model is not installed."""
        mesh, reflected = PARTS[stimulus.part].mesh(stimulus.side, self.settings.mirrored_stimuli)
        if self.context.has_mesh(mesh):
            return mesh, reflected
        return f"figure:{stimulus.part.value}_{stimulus.side.value}", False

    def _record(
        self, answer: Side | None, answered_by: str | None, answered_at: float | None,
        source: str | None, answered_with: str | None,
    ) -> TrialRecord:
        stimulus = self._current
        assert stimulus is not None and self._shown_at is not None
        mesh, reflected = self._look(stimulus)
        return TrialRecord(
            block_index=self.context.block_index,
            trial_index=self._completed,
            seed=self.context.seed,
            body_part=stimulus.part,
            side=stimulus.side,
            rotation_deg=stimulus.rotation_deg,
            view=stimulus.view,
            context=stimulus.context,
            mesh=mesh,
            reflected=reflected,
            shown_at_s=self._shown_at,
            answer=answer,
            answered_by=answered_by,
            answered_at_s=answered_at,
            rt_s=None if answered_at is None else answered_at - self._shown_at,
            correct=answer is stimulus.side,
            timed_out=answer is None,
            rt_source=source,
            answered_with=answered_with,
        )

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): the stimulus on show is voided (a ``trial.void`` event) and shown again."""
        events: list[Event] = []
        if self._phase == "show" and self._current is not None:
            events.append(Event(time_s, "trial.void", {
                "block_index": self.context.block_index, "trial_index": self._completed,
                "reason": reason, **_stimulus_data(self._current),
            }))
            self.queue.insert(0, self._current)
        if self._phase != "start":
            self._enter("blank", None)
        self._console = []
        return TaskStep(events=tuple(events))

    def _enter(self, phase: str, time_s: float | None) -> None:
        self._phase = phase
        self._phase_start = time_s
        if phase == "blank":
            self._current = None
            self._shown_at = None

    # --- drawing ---------------------------------------------------------------------------

    def _draw(self) -> DrawList:
        context = self.context
        drawn_from = (context, self._phase, self._current, self._last_correct)
        if self._picture is None or not _same(self._picture[0], drawn_from):
            look = self._look(self._current) if self._current is not None else None
            self._picture = drawn_from, trial_picture(context.anchor, self.settings, self._phase, self._current,
                                                      look, self._last_correct, context.has_mesh)  # fmt: skip
        picture = self._picture[1]
        if not self._pointing or self._pointer is None:
            return picture
        point, state = self._pointer
        panel, choices = answer_targets(self.context.anchor, self.settings)
        meshes = [pointer_mark(panel, point)]
        meshes += [item for c in choices if c.name == state.pointed and self._dwell.dwell_s is not None
                   and state.progress > 0.0 for item in dwell_ring(c, state.progress)]  # fmt: skip
        return DrawList(meshes=picture.meshes + tuple(meshes), texts=picture.texts)


def _same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    """Whether two (task context, phase, stimulus, verdict) keys match: the context (it
    holds the anchor, a Pose of arrays) by identity, the rest by value."""
    return a[0] is b[0] and a[1:] == b[1:]


#: Pointing answers' targets: left and right of the picture, clear of a rotated hand or
#: foot (at most about 0.25 m across), and as far apart as a comfortable sideways move of
#: the hand allows (about 0.15 m each way at the hand). Product choice.
TARGET_OFFSET_M = 0.32
TARGET_RADIUS_M = 0.09
_TARGET_COLOR: RGBA = (0.82, 0.84, 0.88, 1.0)


def answer_targets(anchor: Pose, settings: LateralitySettings) -> tuple[FloatArray, tuple[Choice, ...]]:
    """The panel the picture lies on (4, 4) and the "left" and "right" targets on it that a
    pointing hand answers with (``AnswerMapping`` mode "point")."""
    panel = place_in_front(anchor, settings.distance_m, -settings.drop_m)
    choices = tuple(Choice(side.value, place_in_front(anchor, settings.distance_m, -settings.drop_m, offset),
                           TARGET_RADIUS_M)
                    for side, offset in ((Side.LEFT, -TARGET_OFFSET_M), (Side.RIGHT, TARGET_OFFSET_M)))  # fmt: skip
    return panel, choices


def trial_picture(anchor: Pose, settings: LateralitySettings, phase: str, stimulus: Stimulus | None,
                  look: tuple[str, bool] | None, last_correct: bool | None,
                  has_mesh: Callable[[str], bool]) -> DrawList:
    """What one trial shows in ``phase`` ("blank": the fixation cross; "show": the stimulus;
    "feedback": the stimulus on a green, red or grey panel with a line saying what it was).

    ``look`` is (mesh drawn, reflected?) as ``LateralityTask._look`` chose it (recorded in
    "trial.show"); ``last_correct`` the feedback's verdict (None: timed out); ``has_mesh``
    says which prop models are installed. The live task and the replay of a recorded
    session both draw with this, so a replay shows what the patient saw.
    """
    s = settings
    texts: list[TextItem] = []
    meshes: list[MeshItem] = []
    centre = place_in_front(anchor, s.distance_m, -s.drop_m)
    if phase == "blank":
        texts.append(TextItem("+", centre, height_m=0.06, background=None))
    elif stimulus is not None and look is not None:
        mesh, reflected = look
        world_from_mesh = stimulus_world_from_mesh(anchor, stimulus, s, reflected)
        if mesh.startswith("figure:"):
            meshes += [MeshItem(part.primitive, world_from_mesh @ part.figure_from_part, part.color)
                       for part in figure(stimulus.part, stimulus.side)]
        else:
            meshes.append(MeshItem(mesh, world_from_mesh, STIMULUS_COLOR))
        prop = CONTEXT_PROPS[stimulus.context]
        if prop is not None:
            prop_mesh, offset = prop
            local = np.eye(4)
            local[:3, 3] = offset
            if has_mesh(prop_mesh):
                meshes.append(MeshItem(prop_mesh, world_from_mesh @ local))
            else:  # a plain cylinder (cup) or sphere (ball) in the hand
                primitive = "cylinder" if stimulus.context == "cup" else "sphere"
                meshes.append(MeshItem(primitive, world_from_mesh @ local @ np.diag(
                    [0.07, 0.09 if primitive == "cylinder" else 0.07, 0.07, 1.0]),
                    (0.55, 0.7, 0.85, 1.0)))
    if s.answer.mode == "point":  # the targets a pointing hand answers with, always in place
        for choice in answer_targets(anchor, s)[1]:
            size = 2 * choice.radius_m
            meshes.append(MeshItem("box", choice.world_from_choice @ np.diag([size, size, 0.004, 1.0]),
                                   _TARGET_COLOR, lit=False))
            texts.append(TextItem(choice.name.capitalize(), choice.world_from_choice, height_m=0.05,
                                  color=(0.1, 0.1, 0.1, 1.0), background=None))
    if phase == "feedback" and stimulus is not None:
        color = {True: CORRECT_COLOR, False: WRONG_COLOR, None: NEUTRAL_COLOR}[last_correct]
        panel = place_in_front(anchor, s.distance_m + 0.05, -s.drop_m) @ np.diag([0.34, 0.34, 0.005, 1.0])
        meshes.append(MeshItem("box", panel, color, lit=False))
        part = stimulus.part.value.replace("_", "/")
        said = {True: "Yes", False: "Not this time", None: "No answer"}[last_correct]
        message = f"{said}: a {stimulus.side.value} {part}"  # above the picture, in view
        texts.append(TextItem(message, place_in_front(anchor, s.distance_m, -s.drop_m + 0.22),
                              height_m=0.04))
    return DrawList(meshes=tuple(meshes), texts=tuple(texts))


def _by_side(records: list[TrialRecord]) -> dict[str, dict[str, float | int | None]]:
    """Accuracy and median RT per side of one block, for the therapist's live figures."""
    score = score_trials(records)
    return {side: {"n": g.n, "accuracy": g.accuracy, "median_rt_s": g.median_rt_s}
            for side, g in score.by_side.items()}


def _answered_by(side: Side, hand: HandInput, name: str) -> str:
    """"right.trigger_click", "left.primary": the hand and the input field that answered;
    "right.pinch" for a tracked hand's pinch (which the hand reports as its trigger)."""
    used = input_used(hand, name)
    return f"{side.value}.{used if used == 'pinch' else name}"


def _stimulus_data(stimulus: Stimulus) -> dict[str, object]:
    return {
        "body_part": stimulus.part.value, "side": stimulus.side.value,
        "rotation_deg": stimulus.rotation_deg, "view": stimulus.view, "context": stimulus.context,
    }
