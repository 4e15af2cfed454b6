"""When a hand feels a pulse: the one place that turns a frame's events into ``HapticPulse``
requests, by the program's ``HapticSettings``.

- ``trial.answer`` (a laterality answer given with a controller, not by the therapist's key):
  a pulse on the hand that answered, when ``answer_pulse`` is on.
- ``repetition.complete`` (the displayed hand reached a mirror or movement target): a pulse
  on each hand that moved it, when ``target_pulse`` is on. Which hands moved follows the
  task's phase (``motor.MotorSetup.phase``): the healthy hand when only it moves ("healthy";
  "mirror" in graded movement),
  both hands ("both"), the affected hand in graded real movement ("real", "blend").

Then, always: no pulse on the affected side's controller unless ``affected_side_allowed``.

Every pulse asked for is recorded as a "haptic.pulse" event (``pulse_data``), so a replay
and an export show what the patient felt and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from gmi_vr.core.events import Event
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.types import HAND_TRACKING_PROFILE, HandInput, Side
from gmi_vr.therapy.plan.program import HapticSettings


def moving_sides(phase: str, affected: Side) -> tuple[Side, ...]:
    """The hands a movement task's ``phase`` has the patient move."""
    return {
        "healthy": (affected.other,),
        "mirror": (affected.other,),
        "both": (affected.other, affected),
        "real": (affected,),
        "blend": (affected,),
    }.get(phase, ())


def haptic_pulses(
    events: Iterable[Event], settings: HapticSettings, affected: Side, motor_phase: str | None
) -> tuple[HapticPulse, ...]:
    """The pulses this frame's ``events`` ask for (see the module docstring).
    ``motor_phase``: the running movement task's phase, None outside movement tasks."""
    wanted: list[tuple[Side, str]] = []
    for event in events:
        if event.kind == "trial.answer" and settings.answer_pulse:
            hand = str(event.data.get("answered_by") or "").split(".")[0]
            if hand in (Side.LEFT.value, Side.RIGHT.value):  # "console": no hand answered
                wanted.append((Side(hand), event.kind))
        elif event.kind == "repetition.complete" and settings.target_pulse and motor_phase:
            wanted += [(side, event.kind) for side in moving_sides(motor_phase, affected)]
    return tuple(
        HapticPulse(side, settings.duration_s, settings.amplitude, cause)
        for side, cause in wanted
        if side is not affected or settings.affected_side_allowed
    )


def pulse_data(pulse: HapticPulse, hand: HandInput) -> dict[str, object]:
    """The "haptic.pulse" event's data: ``side`` (which hand), ``duration_s``, ``amplitude``
    (0..1), ``cause`` (the event it answers) and ``controller``: False when that hand was
    tracked without a controller (``hand`` as read this frame), so nothing vibrated."""
    return {"side": pulse.side.value, "duration_s": pulse.duration_s, "amplitude": pulse.amplitude,
            "cause": pulse.cause, "controller": hand.profile != HAND_TRACKING_PROFILE}
