"""Guided mirror-box practice at home, without a headset: the patient sits at a real mirror
box (the affected limb hidden behind the mirror, the healthy limb in front of it) and the
screen guides them: what to set up, what to do, and a timer.

The screen cannot see the limbs, so the task measures nothing but time: it shows the
instructions, counts down ``planned_s`` of focused practice and records one
``MirrorBoxRecord`` (when it began and ended, planned and done seconds). The session runner
around it asks the pain ratings before and after and at its interval in the block
(``session.SCHEDULED_RATING_BLOCKS``), so the pain-flare rule applies as in the headset.

Paused time (a rating over it, a minimised window) does not count; the block goes on where
it stopped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import TrackingFrame
from gmi_vr.scene.draw import DrawList
from gmi_vr.therapy.contexts import instruction
from gmi_vr.therapy.program import Program
from gmi_vr.therapy.task import TaskContext, TaskStep, register_task

#: One sitting's practice time, seconds. CLINICAL.md "Mirror therapy grading": sessions of
#: 5-10 minutes, 3-10 short sessions a day (EPF guidance); the lower end for a sitting done
#: alone at home (product choice).
MIRROR_BOX_S = 300.0

SETUP_MESSAGE = ("Mirror box: put your {affected} {part} behind the mirror\n"
                 "and your {healthy} {part} in front of it.\nLook only at the reflection.")
#: CLINICAL.md: large, slow, pain-free movements first; look only if pain appears.
GUIDE_MESSAGE = ("Move your {healthy} {part} slowly and gently.\n"
                 "Large, easy movements; stop moving and just look if it hurts.")


@dataclass(frozen=True)
class MirrorBoxRecord:
    """One guided mirror-box practice: times on the frame clock, seconds."""

    record_kind = "mirror_box"
    block_index: int
    started_at_s: float
    ended_at_s: float
    planned_s: float
    practised_s: float
    completed: bool  # False when a pause, a stop or a flare cut it short

    storage_table = "trial"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"record_kind": self.record_kind}
        data.update(dataclasses.asdict(self))
        return data

    def storage_fields(self) -> dict[str, Any]:
        measures = self.to_dict()
        return {"onset_s": self.started_at_s, "kind": self.record_kind, "body_part": None,
                "side": None, "measures": measures}


class MirrorBoxTask:
    """The guide and timer of one mirror-box practice (module docstring)."""

    kind = "mirror_box"
    #: The patient moves (the healthy limb, behind which the hidden one may follow): a flare
    #: stops it at once, as in the headset's mirror block.
    involves_movement = True

    def __init__(self, program: Program, context: TaskContext, planned_s: float = MIRROR_BOX_S) -> None:
        self.anchor = context.anchor
        self.block_index = context.block_index
        self.planned_s = planned_s
        words = {"affected": program.affected_side.value, "healthy": program.affected_side.other.value,
                 "part": program.body_part.value.replace("_", "/")}  # fmt: skip
        self.setup = SETUP_MESSAGE.format(**words)
        self.guide = GUIDE_MESSAGE.format(**words)
        self._practised_s = 0.0
        self._since: float | None = None
        self._first: float | None = None
        self._done = False

    @staticmethod
    def build(program: Program, context: TaskContext) -> MirrorBoxTask:
        return MirrorBoxTask(program, context)

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        now = frame.time_s
        if self._done:
            return TaskStep(done=True)
        events: list[Event] = []
        if self._first is None:
            self._first = now
            events.append(Event(now, "task.start", {"task": self.kind, "planned_s": self.planned_s}))
            events.append(Event(now, "cue.audio", {"text": self.setup.replace("\n", " ")}))
        if self._since is None:
            self._since = now
        practised = self._practised_s + now - self._since
        if practised >= self.planned_s - 1e-9:
            self._done = True
            record = MirrorBoxRecord(self.block_index, self._first, now, self.planned_s, practised, True)
            events.append(Event(now, "task.end", {"task": self.kind, "practised_s": practised}))
            return TaskStep(DrawList(), tuple(events), (record,), True)  # type: ignore[arg-type]
        left = max(0.0, self.planned_s - practised)
        minutes, seconds = divmod(int(left + 0.999), 60)
        texts = (instruction(self.anchor, self.setup, up_m=0.16),
                 instruction(self.anchor, self.guide, up_m=-0.02),
                 instruction(self.anchor, f"{minutes}:{seconds:02d} left", up_m=-0.16))
        return TaskStep(DrawList(texts=texts), tuple(events))

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        if self._since is not None:
            self._practised_s += time_s - self._since
            self._since = None
        if reason == "rating" or reason == "unfocused" or self._done or self._first is None:
            return TaskStep()
        # A stop or a flare ends the practice here: what was done is kept.
        self._done = True
        record = MirrorBoxRecord(self.block_index, self._first, time_s, self.planned_s,
                                 self._practised_s, False)
        return TaskStep(records=(record,))  # type: ignore[arg-type]


register_task("mirror_box", MirrorBoxTask.build)
