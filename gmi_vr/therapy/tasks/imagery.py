"""Stage 2, explicit motor imagery: watch a ghost limb demonstrate a movement, then imagine
making it with the affected limb, marking its start and end with a button.

Body mode *still* (``LimbMode.STILL``): the patient's own affected limb is shown at rest
while a translucent ghost (the body part's stimulus mesh, ``stimuli.PARTS``) performs the
movement from ``movements.LIBRARY`` in front of it. Per trial:

1. **demonstration**: the ghost moves once over the movement's duration; headset text and an
   audio cue ("cue.audio" event whose ``text`` the app may speak) name the movement;
2. **imagine**: text and cue ask the patient to imagine it; the first press of either
   controller's trigger or A/X marks the start, the next press the end (one hand suffices).
   Press times are the inputs' own change times (``HandInput.changed_at_s``), so the
   imagined duration is exact; it is recorded against the demonstration's duration
   (``ImageryRecord.ratio``). With no end within ``time_limit_factor`` x the demonstration,
   the trial is recorded as timed out.

After the block: a vividness rating 1-5 (``VividnessRatingTask``) and a pain rating (the
session's NRS task; moment "on_demand", a rating during the session, preceded by an
"imagery.pain_rating" event naming the block: its value passes the runner's pain-flare
rule).

Pause rule: a pause or stop during a trial voids it ("imagery.void") and the trial starts
again from its demonstration; presses before a trial's imagine prompt never count.
"""

from __future__ import annotations

import numpy as np

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.contexts import TITLE_HEIGHT_M, combine, context_scene, instruction
from gmi_vr.therapy.content.movements import Movement, movements_for
from gmi_vr.therapy.content.stand_in_figures import figure
from gmi_vr.therapy.content.stimuli import PARTS, place_in_front
from gmi_vr.therapy.content.workspace import rest_position
from gmi_vr.therapy.plan.program import Program
from gmi_vr.therapy.results.stage_records import ImageryRecord, VividnessRecord
from gmi_vr.therapy.tasks.base import (
    CONFIRM_INPUTS,
    ButtonEdges,
    HoldToConfirm,
    StickFlicks,
    TaskContext,
    TaskStep,
)
from gmi_vr.therapy.tasks.rating import PainRatingTask

#: Buttons that mark an imagined movement's start and end: either controller, so one hand
#: suffices (CLINICAL.md: "One-handed calibration and control matter"); the answering ones.
MARK_BUTTONS = CONFIRM_INPUTS
#: Pause after a demonstration before the imagine prompt. Product choice.
AFTER_DEMO_S = 0.8
GHOST_COLOR: RGBA = (0.80, 0.88, 1.0, 0.45)  # translucent: a demonstration, not the patient's limb


class VividnessRatingTask:
    """A 1-5 vividness rating, operated like the pain rating (``rating``): thumbstick flick
    or trigger tap to choose, hold the trigger or A/X for ``tasks.base.CONFIRM_HOLD_S`` to confirm;
    nothing is preselected."""

    kind = "vividness_rating"
    involves_movement = False
    LOW, HIGH = 1, 5
    LABELS = "1 = no image at all        5 = as clear as really moving"

    def __init__(self, anchor: Pose, block_index: int) -> None:
        self.anchor = anchor
        self.block_index = block_index
        self.value: int | None = None
        self._edges = ButtonEdges()
        self._flicks = StickFlicks()
        self._holds = HoldToConfirm()
        self._asked = False

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        now = frame.time_s
        events: list[Event] = []
        if not self._asked:
            self._asked = True
            events.append(Event(now, "vividness.ask", {"block": self.block_index}))
        for step in self._flicks.steps(frame):
            self._step(step, wrap=False)
        confirmed, taps = self._holds.follow(frame, self._edges, chosen=self.value is not None)
        for _ in range(taps):
            self._step(1, wrap=True)
        if confirmed and self.value is not None:
            record = VividnessRecord(self.block_index, now, self.value, source="patient")
            events.append(Event(now, "vividness.rating", record.to_dict()))
            return TaskStep(events=tuple(events), records=(record,), done=True)
        return TaskStep(self._draw(), tuple(events))

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): holds in progress are dropped; the chosen value stays."""
        self._holds.clear()
        self._edges = ButtonEdges()
        return TaskStep()

    def _step(self, direction: int, wrap: bool) -> None:
        span = self.HIGH - self.LOW + 1
        if self.value is None:
            self.value = self.LOW if direction > 0 else self.HIGH
        elif wrap:
            self.value = self.LOW + (self.value - self.LOW + direction) % span
        else:
            self.value = min(self.HIGH, max(self.LOW, self.value + direction))

    def _draw(self) -> DrawList:
        texts = [instruction(self.anchor, "How vivid were the movements you imagined?", up_m=0.2,
                             height_m=TITLE_HEIGHT_M),
                 instruction(self.anchor, self.LABELS, up_m=0.1)]
        meshes = []
        for value in range(self.LOW, self.HIGH + 1):
            right = (value - 3) * 0.12
            selected = value == self.value
            where = place_in_front(self.anchor, 0.91, -0.02, right)
            size = 0.1 if selected else 0.085
            meshes.append(MeshItem("box", where @ np.diag([size, size, 0.01, 1.0]),
                                   (0.98, 0.82, 0.35, 1.0) if selected else (0.82, 0.84, 0.88, 1.0),
                                   lit=False))
            texts.append(TextItem(str(value), place_in_front(self.anchor, 0.9, -0.02, right),
                                  0.065, (0.1, 0.1, 0.1, 1.0), None))
        hint = ("Thumbstick or trigger tap to choose" if self.value is None
                else f"Your answer: {self.value}. Hold the trigger or A/X to confirm")
        texts.append(instruction(self.anchor, hint, up_m=-0.14))
        return DrawList(meshes=tuple(meshes), texts=tuple(texts))


class ImageryTask:
    """One block of explicit motor imagery (see the module docstring). Build with
    ``ImageryTask.build(program, context)``."""

    kind = "imagery"
    involves_movement = False
    limb_mode = LimbMode.STILL
    blend = 0.0
    #: A trial kept open past a scheduled question's longest wait may be voided and repeated
    #: (``base.TrialPaced``).
    cut_when_late = True

    def __init__(self, program: Program, context: TaskContext) -> None:
        self.settings = program.imagery
        self.anchor = context.anchor
        self.block_index = context.block_index
        self.side = program.affected_side
        self.body_part = program.body_part
        self.scene_context = self.settings.context
        self._context = context_scene(self.settings.context, self.anchor)
        movements = movements_for(program.body_part, self.settings.max_level,
                                  self.settings.movements)
        self.queue: list[Movement] = [m for m in movements for _ in range(self.settings.repetitions)]
        self.records: list[ImageryRecord] = []
        stimuli = PARTS[program.body_part]
        self.mesh = stimuli.left_mesh if self.side is Side.LEFT else stimuli.right_mesh
        #: Without the model installed the ghost is the primitive figure that stands in for it.
        self.ghost_parts = None if context.has_mesh(self.mesh) else figure(program.body_part,
                                                                           self.side)
        self._demo_origin = matrix_from_pose(Pose(rest_position(self.anchor, self.side),
                                                  self.anchor.orientation))
        self._ratings: list[VividnessRatingTask | PainRatingTask] = []
        if self.settings.rate_vividness:
            self._ratings.append(VividnessRatingTask(self.anchor, self.block_index))
        if self.settings.rate_pain:
            self._ratings.append(PainRatingTask(self.anchor, "on_demand", program.hands))
        self._trial = 0
        self._started = False
        self._pain_announced = False
        self._finished = False
        self._begin_trial()

    @staticmethod
    def build(program: Program, context: TaskContext) -> ImageryTask:
        """One block of this task kind from the program (``TaskBuilder``, in ``registry.TASK_BUILDERS``)."""
        return ImageryTask(program, context)

    def _begin_trial(self) -> None:
        self._phase = "demo"  # demo -> imagine -> (imagining) -> next trial ... -> ratings -> done
        self._phase_since: float | None = None
        self._demo_shown_at = 0.0
        self._started_at: tuple[float, str, str] | None = None  # time, input name, time source
        self._edges = ButtonEdges()

    @property
    def between_trials(self) -> bool:
        """No trial under way (``base.TrialPaced``): the next has not begun its demonstration,
        or the trials are over (the closing ratings keep their value under a question)."""
        return self._trial >= len(self.queue) or (self._phase == "demo" and self._phase_since is None)

    @property
    def movement(self) -> Movement:
        """The movement of the current trial (the last one once the trials are done)."""
        return self.queue[min(self._trial, len(self.queue) - 1)]

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        now = frame.time_s
        events: list[Event] = []
        records: list[ImageryRecord] = []
        if not self._started:
            self._started = True
            events.append(Event(now, "task.start", {
                "task": self.kind, "movements": [m.name for m in self.queue],
                "limb_mode": self.limb_mode.value}))
            events.append(Event(now, "body.mode", {"mode": self.limb_mode.value, "blend": 0.0}))
        if self._trial >= len(self.queue):
            return self._update_ratings(frame, body, events)
        presses = self._edges.presses(frame, MARK_BUTTONS)
        movement = self.movement
        if self._phase_since is None:
            self._phase_since = now
            if self._phase == "demo":
                self._demo_shown_at = now
                events.append(Event(now, "imagery.demo", {"movement": movement.name,
                                                          "trial": self._trial}))
                events.append(Event(now, "cue.audio", {"text": f"Watch. {movement.title}."}))
            else:
                events.append(Event(now, "cue.audio", {
                    "text": "Now imagine doing it yourself. Press when you start, "
                            "and press again when you finish."}))
        elapsed = now - self._phase_since
        if self._phase == "demo":
            if elapsed >= movement.duration_s + AFTER_DEMO_S - 1e-9:
                self._phase, self._phase_since = "imagine", None
        else:
            # Only presses made after the prompt appeared count.
            fresh = [p for p in presses if p[2] >= self._phase_since - 1e-9]
            for hand, name, at, source in fresh:
                if self._started_at is None:
                    self._started_at = (at, f"{hand.value}.{name}", source)
                    events.append(Event(at, "imagery.start", {"trial": self._trial}))
                else:
                    records.append(self._record(at, source, False, now, events))
                    break
            if not records:  # still imagining (or not yet started): the time limit
                limit = self.settings.time_limit_factor * movement.duration_s
                since = self._started_at[0] if self._started_at is not None else self._phase_since
                if now - since >= limit:
                    records.append(self._record(None, None, True, now, events))
        step_records = tuple(records)
        return TaskStep(self._draw(now), tuple(events), step_records)

    def _record(self, ended_at: float | None, source: str | None, timed_out: bool, now: float,
                events: list[Event]) -> ImageryRecord:
        movement = self.movement
        started = self._started_at
        imagined = None if started is None or ended_at is None else ended_at - started[0]
        record = ImageryRecord(
            block_index=self.block_index, trial_index=self._trial, movement=movement.name,
            body_part=self.body_part.value, side=self.side.value, level=movement.level,
            demo_duration_s=movement.duration_s, demo_shown_at_s=self._demo_shown_at,
            started_at_s=None if started is None else started[0], ended_at_s=ended_at,
            imagined_s=imagined,
            ratio=None if imagined is None else imagined / movement.duration_s,
            marked_by=None if started is None else started[1],
            time_source=None if started is None else (
                "input" if started[2] == "input" and source == "input" else "frame"),
            timed_out=timed_out,
        )
        self.records.append(record)
        events.append(Event(now, "imagery.record", record.to_dict()))
        self._trial += 1
        self._begin_trial()
        return record

    def _update_ratings(self, frame: TrackingFrame, body: BodyPose | None,
                        events: list[Event]) -> TaskStep:
        if self._finished:
            return TaskStep(done=True)
        if not self._ratings:
            self._finished = True
            events.append(Event(frame.time_s, "task.end", {"task": self.kind,
                                                           "trials": len(self.records)}))
            return TaskStep(events=tuple(events), done=True)
        rating = self._ratings[0]
        if isinstance(rating, PainRatingTask) and not self._pain_announced:
            self._pain_announced = True
            events.append(Event(frame.time_s, "imagery.pain_rating", {"block": self.block_index}))
        step = rating.update(frame, body)
        events.extend(step.events)
        if step.done:
            self._ratings.pop(0)
            if not self._ratings:
                self._finished = True
                events.append(Event(frame.time_s, "task.end", {"task": self.kind,
                                                               "trials": len(self.records)}))
                return TaskStep(step.draw, tuple(events), step.records, True)
        return TaskStep(combine(self._context, step.draw), tuple(events), step.records)

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): the trial in progress is voided (an ``imagery.void`` event) and starts over."""
        if self._trial >= len(self.queue):
            return self._ratings[0].interrupt(time_s, reason) if self._ratings else TaskStep()
        if self.between_trials:
            return TaskStep()  # the next trial has not begun: nothing to void
        event = Event(time_s, "imagery.void", {"trial": self._trial, "reason": reason,
                                               "movement": self.movement.name})
        self._begin_trial()
        return TaskStep(events=(event,))

    def _draw(self, now: float) -> DrawList:
        movement = self.movement
        texts: list[TextItem] = []
        meshes: list[MeshItem] = []
        count = f"{self._trial + 1} of {len(self.queue)}"
        if self._phase == "demo":
            texts.append(instruction(self.anchor, f"Watch: {movement.title}.\n{count}"))
            since = self._phase_since if self._phase_since is not None else now
            fraction = (now - since) / movement.duration_s
            world = self._demo_origin @ movement.demo_from_mesh(self.side, fraction)
            if self.ghost_parts is None:
                meshes.append(MeshItem(self.mesh, world, GHOST_COLOR, lit=True))
            else:
                meshes += [MeshItem(part.primitive, world @ part.figure_from_part, GHOST_COLOR)
                           for part in self.ghost_parts]
        elif self._started_at is None:
            texts.append(instruction(self.anchor, f"Now imagine: {movement.title}.\n"
                                     "Keep still. Press a trigger when you start."))
        else:
            texts.append(instruction(self.anchor, "Imagining...\nPress again when you finish."))
        return combine(self._context, DrawList(meshes=tuple(meshes), texts=tuple(texts)))
