"""Safety inputs the patient always has: the stop gesture, and the break between blocks.

Stop (CLINICAL.md safety: "the patient must always be able to stop"), one-handed or
two-handed:

- the menu button on either controller (where the runtime gives it to applications; some
  reserve one controller's menu button for the system), or
- both grips squeezed past ``SafetySettings.grip_threshold`` together for
  ``SafetySettings.stop_hold_s`` (a hold, so a grasp during a task does not stop by chance).
"""

from __future__ import annotations

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.therapy.program import SafetySettings
from gmi_vr.therapy.scenes import calm_scene
from gmi_vr.therapy.task import ButtonEdges, TaskStep


class StopGesture:
    """Watches every frame for the patient's stop; ``update`` returns how it was given, once."""

    def __init__(self, settings: SafetySettings) -> None:
        self.settings = settings
        self._edges = ButtonEdges()
        self._grips_since: float | None = None
        self._grips_fired = False

    def update(self, frame: TrackingFrame) -> str | None:
        """"left.menu" / "right.menu" / "both_grips" when a stop is given this frame, else None."""
        presses = self._edges.presses(frame, ((Side.LEFT, "menu"), (Side.RIGHT, "menu")))
        threshold = self.settings.grip_threshold
        both = frame.left.squeeze >= threshold and frame.right.squeeze >= threshold
        if not both:
            self._grips_since, self._grips_fired = None, False
        elif self._grips_since is None:
            self._grips_since = frame.time_s
        if presses:
            return f"{presses[0][0].value}.menu"
        if (both and not self._grips_fired and self._grips_since is not None
                and frame.time_s - self._grips_since + 1e-9 >= self.settings.stop_hold_s):
            self._grips_fired = True
            return "both_grips"
        return None


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
        self._edges = ButtonEdges()
        return TaskStep()
