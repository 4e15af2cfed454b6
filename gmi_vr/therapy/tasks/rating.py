"""Pain rating in the headset: the 0-10 numeric rating scale (NRS-11; CLINICAL.md: NRS 0-10,
LOINC 72514-3, before and after each session), operated one-handed with either controller.

Controls (the same on both controllers, so either hand alone suffices):

- thumbstick flick right / left: one step up / down (clamped at 0 and 10);
- trigger tap (press and release within ``tasks.base.CONFIRM_HOLD_S``): one step up, wrapping 10 -> 0,
  for controllers or hands that cannot use the thumbstick;
- hold the trigger or the A/X button ``tasks.base.CONFIRM_HOLD_S``: confirm; a bar fills while held.

With a hand tracked without a controller (``gmi-vr run --hands``), one hand alone: the hand
points at a number (``therapy.tasks.pointing``: the line from the eye through the hand). With
``Program.hands.confirm`` "pinch", a pinch on a number chooses it and holding the pinch
``tasks.base.CONFIRM_HOLD_S`` confirms it (a pinch pointing at no number is a trigger tap). With
"dwell", resting on a number ``dwell_s`` chooses it and resting on the "Confirm" target
below the scale confirms it; a ring around the choice fills meanwhile.

Against accidental confirmation: nothing is preselected (no anchoring on a default value
either), a value must be chosen before a hold confirms, a hold counts only from a press
made after the scale appeared, and the hold takes a full second. The therapist can type a
rating instead (``enter_from_console``).
"""

from __future__ import annotations

import numpy as np

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import FloatArray, Pose, Side, TrackingFrame
from gmi_vr.scene.draw import DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.scenes import (
    BODY_HEIGHT_M,
    HOLD_BAR_COLOR,
    SCALE_BOX_COLOR,
    SCALE_CHOSEN_COLOR,
    TITLE_HEIGHT_M,
    hold_bar,
    text,
)
from gmi_vr.therapy.content.stimuli import place_in_front
from gmi_vr.therapy.plan.program import HandAnswerSettings, ProgramError
from gmi_vr.therapy.results.task_records import RatingRecord
from gmi_vr.therapy.tasks.base import (
    CONFIRM_INPUTS,
    ButtonEdges,
    HoldToConfirm,
    StickFlicks,
    TaskStep,
)
from gmi_vr.therapy.tasks.pointing import (
    Choice,
    DwellState,
    DwellTimer,
    dwell_ring,
    hand_pointer,
    input_used,
    pointer_mark,
)

_SCALE_AHEAD_M = 1.0  # text and scale distance
_BOX_PITCH_M = 0.075  # centre spacing of the 11 value boxes
_CONFIRM_UP_M = -0.24  # the dwell "Confirm" target, below the hint and the hold bar


def validate_nrs(value: int) -> int:
    """``value`` as an int, or a ProgramError saying what a rating must be."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 10:
        raise ProgramError(f"A pain rating is a whole number from 0 to 10, not {value!r}.")
    return int(value)


class PainRatingTask:
    """Asks for one NRS 0-10 rating; ``moment`` is "start", "end" or "on_demand"."""

    kind = "pain_rating"
    involves_movement = False

    def __init__(self, anchor: Pose, moment: str, hands: HandAnswerSettings | None = None) -> None:
        self.anchor = anchor
        self.moment = moment
        self._hand_dwell = (hands or HandAnswerSettings()).dwell  # None: tracked hands pinch
        self._dwell = {side: DwellTimer(self._hand_dwell) for side in Side}
        self._pointers: dict[Side, tuple[FloatArray, DwellState]] = {}  # this frame's, to draw
        self._picked: set[tuple[Side, str]] = set()  # pinches that chose a pointed number
        self.value: int | None = None
        self._edges = ButtonEdges()
        self._flicks = StickFlicks()
        self._holds = HoldToConfirm()
        self._console: tuple[int, float] | None = None
        self._asked = False

    def enter_from_console(self, value: int, time_s: float) -> None:
        """The therapist types the patient's rating; the task finishes on its next update."""
        self._console = (validate_nrs(value), time_s)

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): holds in progress are dropped; the chosen value stays on the scale."""
        # Holds in progress do not survive a pause; the chosen value stays on the scale.
        self._holds.clear()
        self._picked.clear()
        self._edges = ButtonEdges()
        for timer in self._dwell.values():
            timer.reset()
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
            return self._finish(RatingRecord(at, value, self.moment, "therapist", confirmed_with="key"), events)
        dwelt = self._point(frame)
        if dwelt is not None:
            return self._finish(RatingRecord(now, dwelt[0], self.moment, "patient", confirmed_with=dwelt[1]), events)

        for step in self._flicks.steps(frame):
            self._step(step, wrap=False)

        for hand, name, pressed_at, _ in self._edges.presses(frame, CONFIRM_INPUTS):
            used = input_used(frame.hand(hand), name)
            if used == "pinch" and self._hand_dwell is not None:
                continue  # a hand that answers by dwell: fingers closing by chance do nothing
            pointer = self._pointers.get(hand)
            if used == "pinch" and pointer is not None and pointer[1].pointed not in (None, "confirm"):
                self.value = int(str(pointer[1].pointed))  # a pinch on a number chooses it
                self._picked.add((hand, name))
            self._holds.press(hand, name, pressed_at)
        confirmed, released = self._holds.update(frame, chosen=self.value is not None)
        for hand, name, tapped in released:
            picked = (hand, name) in self._picked  # a pinch that chose a number is no tap
            self._picked.discard((hand, name))
            if tapped and not picked:
                self._step(1, wrap=True)
        if confirmed is not None and self.value is not None:
            hand, name = confirmed
            record = RatingRecord(now, self.value, self.moment, "patient",
                                  confirmed_with=input_used(frame.hand(hand), name))
            return self._finish(record, events)
        return TaskStep(self._draw(), tuple(events))

    def _point(self, frame: TrackingFrame) -> tuple[int, str] | None:
        """Follow each tracked hand's pointer over the scale; with dwell, a number rested on
        becomes the value and (value, "dwell") is returned when "Confirm" is rested on."""
        self._pointers = {}
        panel, choices = scale_choices(self.anchor, self.value is not None and self._hand_dwell is not None)
        for side, timer in self._dwell.items():
            hand = frame.hand(side)
            point = hand_pointer(frame, hand, self.anchor, panel) if input_used(hand, "trigger_click") == "pinch" else None
            if point is None:
                timer.reset()
                continue
            state = timer.update(point, choices, frame.time_s)
            self._pointers[side] = (point, state)
            if state.taken == "confirm" and self.value is not None:
                return self.value, "dwell"
            if state.taken is not None and state.taken != "confirm":
                self.value = int(state.taken)
        return None

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
        pointing = None if not self._pointers else "dwell" if self._hand_dwell is not None else "pinch"
        picture = rating_picture(self.anchor, self.value, self._holds.progress, pointing)
        if not self._pointers:
            return picture
        panel, choices = scale_choices(self.anchor, self.value is not None and self._hand_dwell is not None)
        by_name = {c.name: c for c in choices}
        meshes = list(picture.meshes)
        texts = list(picture.texts)
        if "confirm" in by_name:
            confirm = by_name["confirm"]
            size = 2 * confirm.radius_m
            meshes.append(MeshItem("box", confirm.world_from_choice @ np.diag([size * 2, size, 0.01, 1.0]),
                                   HOLD_BAR_COLOR, lit=False))
            texts.append(TextItem("Confirm", confirm.world_from_choice, height_m=BODY_HEIGHT_M,
                                  color=(0.1, 0.1, 0.1, 1.0), background=None))
        for point, state in self._pointers.values():
            meshes.append(pointer_mark(panel, point))
            if state.pointed is not None and self._hand_dwell is not None and state.progress > 0.0:
                meshes += dwell_ring(by_name[state.pointed], state.progress)
        return DrawList(meshes=tuple(meshes), texts=tuple(texts))


def scale_choices(anchor: Pose, with_confirm: bool) -> tuple[FloatArray, tuple[Choice, ...]]:
    """The scale's panel (4, 4) and what a pointing hand can choose on it: the numbers "0"
    to "10" (each as wide as its box's spacing) and, ``with_confirm``, "confirm" below."""
    panel = place_in_front(anchor, _SCALE_AHEAD_M + 0.01, -0.02)
    choices = [Choice(str(box), place_in_front(anchor, _SCALE_AHEAD_M + 0.01, -0.02, (box - 5) * _BOX_PITCH_M),
                      _BOX_PITCH_M / 2) for box in range(11)]  # fmt: skip
    if with_confirm:
        choices.append(Choice("confirm", place_in_front(anchor, _SCALE_AHEAD_M + 0.01, _CONFIRM_UP_M), 0.06))
    return panel, tuple(choices)


def rating_picture(anchor: Pose, value: int | None, hold_progress: float,
                   pointing: str | None = None) -> DrawList:
    """The NRS scale: the question, 11 boxes with ``value`` (None: not chosen yet) raised
    and highlighted, a hint, and the confirm bar filled to ``hold_progress`` (0..1).
    ``pointing``: "pinch" or "dwell" when a tracked hand points (the hint says how)."""
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
                               SCALE_CHOSEN_COLOR if selected else SCALE_BOX_COLOR, lit=False))
        texts.append(TextItem(str(box), place_in_front(anchor, _SCALE_AHEAD_M, -0.02, right),
                              height_m=BODY_HEIGHT_M, color=(0.1, 0.1, 0.1, 1.0), background=None))
    if pointing == "dwell":
        hint = ("Point at a number and hold still" if value is None
                else f"Your answer: {value}. Point at Confirm and hold still")
    elif pointing == "pinch":
        hint = ("Point at a number and pinch" if value is None
                else f"Your answer: {value}. Keep pinching to confirm")
    elif value is None:
        hint = "Thumbstick or trigger tap to choose"
    else:
        hint = f"Your answer: {value}. Hold the trigger or A/X to confirm"
    texts.append(text(anchor, hint, up_m=-0.13, height_m=0.04))
    bar = hold_bar(anchor, hold_progress, _SCALE_AHEAD_M)
    if bar is not None:
        meshes.append(bar)
    return DrawList(meshes=tuple(meshes), texts=tuple(texts))
