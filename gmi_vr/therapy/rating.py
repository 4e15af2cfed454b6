"""Pain rating in the headset: the 0-10 numeric rating scale (NRS-11; CLINICAL.md: NRS 0-10,
LOINC 72514-3, before and after each session), operated one-handed with either controller.

Controls (the same on both controllers, so either hand alone suffices):

- thumbstick flick right / left: one step up / down (clamped at 0 and 10);
- trigger tap (press and release within ``CONFIRM_HOLD_S``): one step up, wrapping 10 -> 0,
  for controllers or hands that cannot use the thumbstick;
- hold the trigger or the A/X button ``CONFIRM_HOLD_S``: confirm; a bar fills while held.

Against accidental confirmation: nothing is preselected (no anchoring on a default value
either), a value must be chosen before a hold confirms, a hold counts only from a press
made after the scale appeared, and the hold takes a full second. The therapist can type a
rating instead (``enter_from_console``).
"""

from __future__ import annotations

import numpy as np

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.scene.draw import DrawList, MeshItem, TextItem
from gmi_vr.therapy.program import ProgramError
from gmi_vr.therapy.records import RatingRecord
from gmi_vr.therapy.scenes import BODY_HEIGHT_M, TITLE_HEIGHT_M, text
from gmi_vr.therapy.stimuli import place_in_front
from gmi_vr.therapy.task import ButtonEdges, TaskStep

#: Hold time that confirms a rating. Product choice: long enough not to happen by accident.
CONFIRM_HOLD_S = 1.0
#: Thumbstick deflection that counts as a flick, and the rest zone that re-arms it.
STICK_FLICK = 0.6
STICK_REST = 0.3

_BOX_COLOR = (0.82, 0.84, 0.88, 1.0)
_SELECTED_COLOR = (0.98, 0.82, 0.35, 1.0)
_BAR_COLOR = (0.45, 0.72, 0.5, 1.0)
_SCALE_AHEAD_M = 1.0  # text and scale distance
_BOX_PITCH_M = 0.075  # centre spacing of the 11 value boxes


def validate_nrs(value: int) -> int:
    """``value`` as an int, or a ProgramError saying what a rating must be."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 10:
        raise ProgramError(f"A pain rating is a whole number from 0 to 10, not {value!r}.")
    return int(value)


class PainRatingTask:
    """Asks for one NRS 0-10 rating; ``moment`` is "start", "end" or "on_demand"."""

    kind = "pain_rating"
    involves_movement = False

    def __init__(self, anchor: Pose, moment: str) -> None:
        self.anchor = anchor
        self.moment = moment
        self.value: int | None = None
        self._edges = ButtonEdges()
        self._stick_armed = {Side.LEFT: True, Side.RIGHT: True}
        self._held_since: dict[tuple[Side, str], float] = {}  # (hand, input) -> press time
        self._console: tuple[int, float] | None = None
        self._asked = False
        self._hold_progress = 0.0

    def enter_from_console(self, value: int, time_s: float) -> None:
        """The therapist types the patient's rating; the task finishes on its next update."""
        self._console = (validate_nrs(value), time_s)

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): holds in progress are dropped; the chosen value stays on the scale."""
        # Holds in progress do not survive a pause; the chosen value stays on the scale.
        self._held_since.clear()
        self._edges = ButtonEdges()
        return TaskStep()

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        now = frame.time_s
        events: list[Event] = []
        if not self._asked:
            self._asked = True
            events.append(Event(now, "pain.ask", {"moment": self.moment}))
        if self._console is not None:
            value, at = self._console
            return self._finish(RatingRecord(at, value, self.moment, "therapist"), events)

        for side in (Side.LEFT, Side.RIGHT):
            x = frame.hand(side).thumbstick[0]
            if self._stick_armed[side] and abs(x) >= STICK_FLICK:
                self._stick_armed[side] = False
                self._step(1 if x > 0 else -1, wrap=False)
            elif abs(x) <= STICK_REST:
                self._stick_armed[side] = True

        inputs = ((Side.LEFT, "trigger_click"), (Side.RIGHT, "trigger_click"),
                  (Side.LEFT, "primary"), (Side.RIGHT, "primary"))
        for hand, name, pressed_at, _ in self._edges.presses(frame, inputs):
            self._held_since[(hand, name)] = pressed_at
        self._hold_progress = 0.0
        for (hand, name), since in list(self._held_since.items()):
            held_for = now - since
            if getattr(frame.hand(hand), name):
                if self.value is not None:
                    self._hold_progress = max(self._hold_progress, min(1.0, held_for / CONFIRM_HOLD_S))
                    if held_for >= CONFIRM_HOLD_S:
                        record = RatingRecord(now, self.value, self.moment, "patient")
                        return self._finish(record, events)
            else:
                del self._held_since[(hand, name)]
                if name == "trigger_click" and held_for < CONFIRM_HOLD_S:
                    self._step(1, wrap=True)
        return TaskStep(self._draw(), tuple(events))

    def _step(self, direction: int, wrap: bool) -> None:
        if self.value is None:
            self.value = 0 if direction > 0 else 10
        elif wrap:
            self.value = (self.value + direction) % 11
        else:
            self.value = min(10, max(0, self.value + direction))

    def _finish(self, record: RatingRecord, events: list[Event]) -> TaskStep:
        events.append(Event(record.time_s, "pain.rating", record.to_dict()))
        return TaskStep(events=tuple(events), records=(record,), done=True)

    def _draw(self) -> DrawList:
        return rating_picture(self.anchor, self.value, self._hold_progress)


def rating_picture(anchor: Pose, value: int | None, hold_progress: float) -> DrawList:
    """The NRS scale: the question, 11 boxes with ``value`` (None: not chosen yet) raised
    and highlighted, a hint, and the confirm bar filled to ``hold_progress`` (0..1)."""
    meshes: list[MeshItem] = []
    texts: list[TextItem] = [
        text(anchor, "How much pain do you feel right now?", up_m=0.18, height_m=TITLE_HEIGHT_M),
        text(anchor, "0 = no pain        10 = worst pain imaginable", up_m=0.09),
    ]
    for box in range(11):
        right = (box - 5) * _BOX_PITCH_M
        where = place_in_front(anchor, _SCALE_AHEAD_M + 0.01, -0.02, right)
        selected = box == value
        size = 0.07 if selected else 0.06
        meshes.append(MeshItem("box", where @ np.diag([size, size, 0.01, 1.0]),
                               _SELECTED_COLOR if selected else _BOX_COLOR, lit=False))
        texts.append(TextItem(str(box), place_in_front(anchor, _SCALE_AHEAD_M, -0.02, right),
                              height_m=BODY_HEIGHT_M, color=(0.1, 0.1, 0.1, 1.0), background=None))
    if value is None:
        hint = "Thumbstick or trigger tap to choose"
    else:
        hint = f"Your answer: {value}. Hold the trigger or A/X to confirm"
    texts.append(text(anchor, hint, up_m=-0.13, height_m=0.04))
    if hold_progress > 0.0:
        width = 0.8 * hold_progress
        bar = place_in_front(anchor, _SCALE_AHEAD_M, -0.2, -0.4 + width / 2)
        meshes.append(MeshItem("box", bar @ np.diag([width, 0.02, 0.01, 1.0]), _BAR_COLOR, lit=False))
    return DrawList(meshes=tuple(meshes), texts=tuple(texts))
