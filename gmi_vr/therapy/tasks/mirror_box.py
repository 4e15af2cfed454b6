"""Guided mirror-box practice at home, without a headset: the patient sits at a real mirror
box (the affected limb hidden behind the mirror, the healthy limb in front of it) and the
screen guides them: what to set up, what to do, and a timer.

The screen cannot see the limbs, so the task measures nothing but time: it shows the
instructions, counts down the prescribed minutes of focused practice (``mirror_box_seconds``) and records one
``MirrorBoxRecord`` (when it began and ended, planned and done seconds). The session runner
around it asks the pain ratings before and after and at its interval in the block
(``runner.SCHEDULED_RATING_BLOCKS``), so the pain-flare rule applies as in the headset.

Paused time (a rating over it, a minimised window) does not count; the block goes on where
it stopped.
"""

from __future__ import annotations

import math

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import TrackingFrame
from gmi_vr.scene.draw import DrawList
from gmi_vr.therapy.content.contexts import instruction
from gmi_vr.therapy.plan.program import Program
from gmi_vr.therapy.results.stage_records import MirrorBoxRecord
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep

SETUP_MESSAGE = ("Mirror box: put your {affected} {part} behind the mirror\n"
                 "and your {healthy} {part} in front of it.\nLook only at the reflection.")
#: CLINICAL.md: large, slow, pain-free movements first; look only if pain appears.
GUIDE_MESSAGE = ("Move your {healthy} {part} slowly and gently.\n"
                 "Large, easy movements; stop moving and just look if it hurts.")


def mirror_box_seconds(program: Program) -> float:
    """How long one mirror-box practice lasts: the stage's prescribed mirror minutes
    (``Program.practice``; CLINICAL.md: EPF CRPS guidance, sessions of 5-10 minutes), else
    stage 3's (a plan that names the mirror box at a stage with no mirror practice)."""
    minutes, _ = program.practice.for_stage(program.stage).dose("mirror")
    if minutes <= 0:
        minutes, _ = program.practice.stage_3.dose("mirror")
    return minutes * 60.0


class MirrorBoxTask:
    """The guide and timer of one mirror-box practice (module docstring). Its kind is the
    stage it practises, "mirror", as the store's blocks and the practice dose name it (its
    records say "mirror_box": how it was practised)."""

    kind = "mirror"
    #: The patient moves (the healthy limb, behind which the hidden one may follow): a flare
    #: stops it at once, as in the headset's mirror block.
    involves_movement = True

    def __init__(self, program: Program, context: TaskContext, planned_s: float) -> None:
        self.anchor = context.anchor
        self.block_index = context.block_index
        self.planned_s = planned_s
        words = {"affected": program.affected_side.value, "healthy": program.affected_side.other.value,
                 "part": program.body_part.value.replace("_", "/")}  # fmt: skip
        self.setup = SETUP_MESSAGE.format(**words)
        self.guide = GUIDE_MESSAGE.format(**words)
        self._practised_s = 0.0  # before the stretch under way
        self._since: float | None = None  # the stretch under way began (None: none is)
        self._started = False
        self._done = False

    @staticmethod
    def build(program: Program, context: TaskContext) -> MirrorBoxTask:
        """The task for one block of ``program`` (its prescribed minutes)."""
        return MirrorBoxTask(program, context, mirror_box_seconds(program))

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """Advance the timer to ``frame``: the guide and the time left, or the record once
        the planned time has been practised."""
        now = frame.time_s
        if self._done:
            return TaskStep(done=True)
        events: list[Event] = []
        if not self._started:
            self._started = True
            events.append(Event(now, "task.start", {"task": self.kind, "planned_s": self.planned_s}))
            events.append(Event(now, "cue.audio", {"text": self.setup.replace("\n", " ")}))
        if self._since is None:
            self._since = now
        practised = self._practised_s + now - self._since
        if practised >= self.planned_s - 1e-9:
            self._done = True
            record = self._stretch(now, "done")
            events.append(Event(now, "task.end", {"task": self.kind, "practised_s": practised}))
            return TaskStep(DrawList(), tuple(events), (record,), True)
        minutes, seconds = divmod(math.ceil(self.planned_s - practised - 1e-9), 60)
        texts = (instruction(self.anchor, f"{self.setup}\n\n{self.guide}", up_m=-0.04),
                 instruction(self.anchor, f"{minutes}:{seconds:02d} left", up_m=-0.3))
        return TaskStep(DrawList(texts=texts), tuple(events))

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Record the stretch so far, ended by ``reason``; paused time does not count (a
        rating or a pause resumes the practice where it stopped, a stop or a flare ends it)."""
        if self._since is None or self._done:
            return TaskStep()
        record = self._stretch(time_s, reason)
        return TaskStep(records=(record,))

    def _stretch(self, now: float, ended_by: str) -> MirrorBoxRecord:
        assert self._since is not None
        began, self._since = self._since, None
        self._practised_s += now - began
        return MirrorBoxRecord(self.block_index, began, now, self.planned_s, self._practised_s, ended_by)
