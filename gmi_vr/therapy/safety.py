"""Safety inputs the patient always has: the stop gesture, and the break between blocks.

Stop (CLINICAL.md safety: "the patient must always be able to stop, with the healthy hand
alone (a CRPS hand may not grip)"), any of:

- one hand's grip and trigger squeezed together (a fist) past
  ``SafetySettings.grip_threshold`` for ``SafetySettings.stop_hold_s``, on either
  controller: the healthy hand alone stops, and every controller has a grip and a trigger
  (Valve Index controllers, those Monado's remote driver presents, have no menu button bound
  for applications, and the Quest's right menu button is the system's);
- both grips squeezed together for ``stop_hold_s``;
- the menu button on either controller, where the runtime gives it to applications.

The holds keep a grasp (grip alone) or a rating's confirming hold (trigger alone) from
stopping by chance. ``STOP_HINT`` tells the patient how, at the start of every session.
"""

from __future__ import annotations

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.scene.draw import TextItem
from gmi_vr.therapy.content.scenes import calm_scene, text
from gmi_vr.therapy.plan.program import SafetySettings
from gmi_vr.therapy.tasks.base import ButtonEdges, TaskStep

#: What the patient is told at the start of every session (CLINICAL.md safety).
STOP_HINT = "To stop at any time: squeeze one hand's grip and trigger together for a second."


def stop_hint_item(anchor: Pose) -> TextItem:
    """The stop hint as drawn under the picture, low in the view."""
    return text(anchor, STOP_HINT, up_m=-0.32, height_m=0.035)


class _Hold:
    """A condition that must hold ``hold_s`` to fire, once per hold."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.fired = False

    def update(self, active: bool, time_s: float, hold_s: float) -> bool:
        """True on the one frame (``time_s``, seconds) the condition has been ``active`` for
        ``hold_s`` seconds without a break; False before, after and while it is not."""
        if not active:
            self.since, self.fired = None, False
            return False
        if self.since is None:
            self.since = time_s
        if not self.fired and time_s - self.since + 1e-9 >= hold_s:
            self.fired = True
            return True
        return False


class StopGesture:
    """Watches every frame for the patient's stop; ``update`` returns how it was given, once."""

    def __init__(self, settings: SafetySettings) -> None:
        self.settings = settings
        self._edges = ButtonEdges()
        self._both_grips = _Hold()
        self._fists = {Side.LEFT: _Hold(), Side.RIGHT: _Hold()}

    def update(self, frame: TrackingFrame) -> str | None:
        """"left.fist" / "right.fist" / "both_grips" / "left.menu" / "right.menu" when a stop
        is given this frame, else None."""
        presses = self._edges.presses(frame, ((Side.LEFT, "menu"), (Side.RIGHT, "menu")))
        threshold, hold_s = self.settings.grip_threshold, self.settings.stop_hold_s
        both = frame.left.squeeze >= threshold and frame.right.squeeze >= threshold
        fired = [side for side in (Side.LEFT, Side.RIGHT) if self._fists[side].update(
            not both and self._fist(frame, side), frame.time_s, hold_s)]  # fmt: skip
        both_fired = self._both_grips.update(both, frame.time_s, hold_s)
        if presses:
            return f"{presses[0][0].value}.menu"
        if fired:
            return f"{fired[0].value}.fist"
        if both_fired:
            return "both_grips"
        return None

    def _fist(self, frame: TrackingFrame, side: Side) -> bool:
        hand = frame.hand(side)
        threshold = self.settings.grip_threshold
        return hand.squeeze >= threshold and (hand.trigger >= threshold or hand.trigger_click)


BREAK_MESSAGE = (
    "Time for a short break.\nRest your eyes; take the headset off if you like.\n"
    "Press a trigger when you are ready to go on."
)


class BreakTask:
    """A rest between blocks (CLINICAL.md safety: "breaks are offered"): the calm scene and a
    message until the patient presses either trigger."""

    kind = "break"
    involves_movement = False

    def __init__(self, anchor: Pose) -> None:
        self.anchor = anchor
        self._edges = ButtonEdges()
        self._started = False

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        events: tuple[Event, ...] = ()
        if not self._started:
            self._started = True
            events = (Event(frame.time_s, "safety.break", {"state": "offered"}),)
        presses = self._edges.presses(
            frame, ((Side.LEFT, "trigger_click"), (Side.RIGHT, "trigger_click"))
        )
        if presses:
            return TaskStep(events=events + (Event(frame.time_s, "safety.break", {"state": "over"}),),
                            done=True)
        return TaskStep(calm_scene(self.anchor, BREAK_MESSAGE), events)

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): only the button edges are reset."""
        self._edges = ButtonEdges()
        return TaskStep()
