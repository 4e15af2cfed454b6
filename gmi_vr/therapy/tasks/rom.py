"""Active range of motion of the affected hand, measured at the start of a graded-movement
block, and the targets placed at a therapist-set fraction of it.

The patient first rests the affected hand on the table (its mean position over
``REST_STILL_S`` of stillness is the rest position), then for each direction moves the hand
as far as is comfortable and says so with a button (either controller's trigger or A/X, so
one hand suffices), or the time limit passes. The largest excursion along the direction
(projection of hand - rest on the direction's unit vector) is stored. Measured on the
affected hand's own tracking (``TrackingFrame``), whatever the body shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.events import Event
from gmi_vr.core.types import FloatArray, Pose, Side, TrackingFrame
from gmi_vr.scene.draw import DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.contexts import combine, context_scene, instruction
from gmi_vr.therapy.content.workspace import Workspace, anchor_axes, measured_workspace
from gmi_vr.therapy.results.stage_records import RangeOfMotionRecord
from gmi_vr.therapy.tasks.base import ButtonEdges, TaskStep

#: Stillness that defines the rest position: speed below this for this long. Product choice.
REST_SPEED_M_S = 0.03
REST_STILL_S = 1.0
#: Buttons that end a direction (either hand: one-handed use).
DONE_BUTTONS = ((Side.LEFT, "trigger_click"), (Side.RIGHT, "trigger_click"),
                (Side.LEFT, "primary"), (Side.RIGHT, "primary"))

PROMPTS: dict[str, str] = {
    "forward": "Move your {side} hand forward,\nonly as far as is comfortable.",
    "up": "Lift your {side} hand up,\nonly as far as is comfortable.",
    "outward": "Move your {side} hand out to the side,\nonly as far as is comfortable.",
    "across": "Move your {side} hand across towards the middle,\nonly as far as is comfortable.",
}


@dataclass(frozen=True)
class RangeOfMotion:
    """The measured range: rest position (3,) world metres and the excursion per direction."""

    side: Side
    rest: tuple[float, float, float]
    excursion_m: dict[str, float]

    def workspace(self, anchor: Pose) -> Workspace:
        """The reach workspace these measured excursions give around ``anchor`` (world metres)."""
        return measured_workspace(anchor, self.side, np.array(self.rest), self.excursion_m)


def direction_vector(anchor: Pose, side: Side, direction: str) -> FloatArray:
    """World unit vector of a range-of-motion direction for ``side`` (see ``workspace``)."""
    right, up, forward = anchor_axes(anchor)
    outward = right if side is Side.RIGHT else -right
    return {"forward": forward, "up": up, "outward": outward, "across": -outward}[direction]


def target_at_fraction(rom: RangeOfMotion, anchor: Pose, direction: str, fraction: float) -> FloatArray:
    """The point ``fraction`` of the measured excursion from rest along ``direction``."""
    unit = direction_vector(anchor, rom.side, direction)
    return np.array(rom.rest) + fraction * rom.excursion_m[direction] * unit


class RangeOfMotionTask:
    """Measures the affected hand's active range of motion in ``directions``."""

    kind = "range_of_motion"
    involves_movement = True
    limb_mode = LimbMode.REAL  # the patient sees the limb they move
    blend = 1.0

    def __init__(self, anchor: Pose, side: Side, directions: tuple[str, ...], time_limit_s: float,
                 block_index: int, context: str = "clinic") -> None:
        self.anchor = anchor
        self.side = side
        self.directions = directions
        self.time_limit_s = time_limit_s
        self.block_index = block_index
        self.scene_context = context
        self._context = context_scene(context, anchor)
        self.result: RangeOfMotion | None = None
        self.records: list[RangeOfMotionRecord] = []
        self._excursions: dict[str, float] = {}
        self._edges = ButtonEdges()
        self._started = False
        self._rest: FloatArray | None = None
        self._reset_rest()
        self._direction = 0
        self._direction_started: float | None = None
        self._best = 0.0
        self._last: tuple[float, FloatArray] | None = None

    def _reset_rest(self) -> None:
        self._still_since: float | None = None
        self._still_points: list[FloatArray] = []

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        now = frame.time_s
        events: list[Event] = []
        records: list[RangeOfMotionRecord] = []
        if self.result is not None:  # finished: the runner moves on; nothing more happens
            return TaskStep(done=True)
        if not self._started:
            self._started = True
            events.append(Event(now, "task.start", {"task": self.kind, "side": self.side.value,
                                                    "directions": list(self.directions)}))
            events.append(Event(now, "body.mode", {"mode": self.limb_mode.value, "blend": 1.0}))
        own = frame.hand(self.side)
        hand = np.array(own.grip.position) if own.grip_valid else None
        presses = self._edges.presses(frame, DONE_BUTTONS)
        if self._rest is None:
            self._update_rest(now, hand, events)
        else:
            direction = self.directions[self._direction]
            if self._direction_started is None:
                self._direction_started = now
                self._best = 0.0
                prompt = PROMPTS[direction].format(side=self.side.value).replace("\n", " ")
                events.append(Event(now, "cue.audio", {"text": prompt + " Then press a trigger."}))
            if hand is not None:
                unit = direction_vector(self.anchor, self.side, direction)
                self._best = max(self._best, float((hand - self._rest) @ unit))
            ended_by = None
            if presses:
                ended_by = f"{presses[0][0].value}.{presses[0][1]}"
            elif now - self._direction_started >= self.time_limit_s:
                ended_by = "time_limit"
            if ended_by is not None:
                records.append(self._record(direction, now, ended_by, events))
        done = self.result is not None
        if done:
            events.append(Event(now, "task.end", {"task": self.kind,
                                                  "excursion_m": dict(self._excursions)}))
        return TaskStep(self._draw(), tuple(events), tuple(records), done)

    def _update_rest(self, now: float, hand: FloatArray | None, events: list[Event]) -> None:
        if hand is None:
            self._reset_rest()
            return
        if self._last is not None:
            then, before = self._last
            if now > then and np.linalg.norm(hand - before) / (now - then) > REST_SPEED_M_S:
                self._reset_rest()
        self._last = (now, hand)
        if self._still_since is None:
            self._still_since = now
        self._still_points.append(hand)
        if now - self._still_since >= REST_STILL_S - 1e-9:
            self._rest = np.mean(self._still_points, axis=0)
            events.append(Event(now, "rom.rest", {"rest": [float(v) for v in self._rest]}))

    def _record(self, direction: str, now: float, ended_by: str, events: list[Event]) -> RangeOfMotionRecord:
        assert self._rest is not None and self._direction_started is not None
        excursion = max(0.0, self._best)
        self._excursions[direction] = excursion
        rest = (float(self._rest[0]), float(self._rest[1]), float(self._rest[2]))
        record = RangeOfMotionRecord(self.block_index, self.side.value, direction, excursion, rest,
                                     self._direction_started, now, ended_by)
        self.records.append(record)
        events.append(Event(now, "rom.record", record.to_dict()))
        self._direction += 1
        self._direction_started = None
        if self._direction >= len(self.directions):
            self.result = RangeOfMotion(self.side, rest, dict(self._excursions))
        return record

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): the direction in progress starts over; those measured are kept."""
        # The direction in progress starts over; directions already measured are kept.
        self._direction_started = None
        self._edges = ButtonEdges()
        if self._rest is None:
            self._reset_rest()
            self._last = None
        return TaskStep(events=(Event(time_s, "rom.restart_direction", {"reason": reason}),))

    def _draw(self) -> DrawList:
        texts: list[TextItem] = []
        meshes: list[MeshItem] = []
        side = self.side.value
        if self.result is not None:
            texts.append(instruction(self.anchor, "Thank you."))
        elif self._rest is None:
            texts.append(instruction(self.anchor, f"Rest your {side} hand on the table\nand keep it still."))
        else:
            direction = self.directions[self._direction]
            texts.append(instruction(self.anchor, PROMPTS[direction].format(side=side)
                                     + "\nThen press a trigger."))
            unit = direction_vector(self.anchor, self.side, direction)
            tip = self._rest + max(self._best, 0.0) * unit
            m = np.diag([0.03, 0.03, 0.03, 1.0])
            m[:3, 3] = tip
            meshes.append(MeshItem("sphere", m, (0.45, 0.62, 0.85, 0.6)))
        return combine(self._context, DrawList(meshes=tuple(meshes), texts=tuple(texts)))
