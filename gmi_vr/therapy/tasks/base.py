"""The task framework: every therapy task (laterality, pain rating, and the imagery, mirror
and movement tasks of later stages) is a ``Task`` the ``SessionRunner`` steps once per frame.

A task receives the frame (its ``time_s`` is the predicted display time of what the task
returns now) and the solved body, and returns a ``TaskStep``: what to draw this frame,
what happened (events), what to store (records), and whether it has finished. Tasks read no
clock and touch no storage, GL or OpenXR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from gmi_vr.body.calibration import ArmReach
from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.scene.draw import DrawList
from gmi_vr.therapy.plan.program import Program
from gmi_vr.therapy.results.task_records import Record


@dataclass(frozen=True)
class TaskStep:
    """One frame of a task (or of the whole session, from ``SessionRunner.update``).

    ``draw`` holds the items to add this frame (the runner sets ``fade`` and the clear
    colour); ``records`` go to storage (``therapy.results.task_records.Record``); ``events`` to the
    recorder and the therapist console. ``movement_allowed`` False tells the app to hold the
    avatar still (look only): set by the runner from the frame a pain flare or stop happens.
    ``haptics``: vibrations for the controllers, set by the runner (``therapy/haptic_pulses.py``).
    """

    draw: DrawList = field(default_factory=DrawList)
    events: tuple[Event, ...] = ()
    records: tuple[Record, ...] = ()
    done: bool = False
    movement_allowed: bool = True
    haptics: tuple[HapticPulse, ...] = ()


@runtime_checkable
class Task(Protocol):
    """One block of a session.

    ``kind`` names it in events and plans ("laterality", "pain_rating", ...).
    ``involves_movement`` True means the patient moves (mirror, graded movement): a pain
    flare stops it at once; look-only tasks are stopped too, but this flag tells the
    therapist view what was interrupted.
    """

    kind: str
    involves_movement: bool

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """Advance to ``frame`` (focused frames only: the runner pauses tasks otherwise)."""
        ...

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """The session paused or stopped at ``time_s`` ("unfocused", "rating", "stop", ...).
        A task voids what a pause would distort (an unanswered trial is repeated later) and
        continues from a clean state on its next ``update``."""
        ...


@runtime_checkable
class TrialPaced(Protocol):
    """A task whose work comes in trials (a picture to judge, a touch to feel) that a
    scheduled question should not cut: the runner waits for ``between_trials``.

    ``cut_when_late``: True when a trial under way may still be voided (and shown again)
    once a question has waited its longest (a laterality picture with no time limit);
    False when it never may (a touch being given: the therapist's hand is on the limb)."""

    cut_when_late: bool

    @property
    def between_trials(self) -> bool:
        """No trial is under way: interrupting now voids nothing."""
        ...


def between_trials(task: Task | None) -> bool:
    """True when interrupting ``task`` now voids no trial (a task not paced in trials
    always is; a sequence of parts asks the part running now)."""
    part = getattr(task, "current", task)  # a TaskSequence's running part
    return not isinstance(part, TrialPaced) or part.between_trials


def may_cut(task: Task | None) -> bool:
    """True when a question that has waited its longest may void ``task``'s trial under way."""
    part = getattr(task, "current", task)
    return not isinstance(part, TrialPaced) or part.cut_when_late


@runtime_checkable
class ConsoleAnswerable(Protocol):
    """A task the therapist can answer for by key (laterality)."""

    def answer_from_console(self, side: Side, time_s: float) -> None:
        """The therapist answers ``side`` for the patient at ``time_s`` on the frame clock."""
        ...


@dataclass(frozen=True)
class TaskContext:
    """What a task builder gets besides the program: where to place things and its seed."""

    anchor: Pose  # calibrated head position, yaw only: +Z towards the patient
    seed: int  # recorded; the task's randomisation comes only from it
    block_index: int
    #: Model names under ``models/`` the renderer can load; None = assume every one is
    #: there. Tasks draw a stand-in built from primitives for a model that is missing.
    available_meshes: frozenset[str] | None = None
    #: The patient's calibrated arm (shoulder and arm length) to place reach targets from;
    #: None = no calibration stored: typical adult proportions.
    arm: ArmReach | None = None
    #: False once a report of pain or tingling in a dysynchiria screen has stopped mirrored
    #: touch for the session (``touch_task``): later touch blocks run without it.
    mirrored_touch_allowed: bool = True

    def has_mesh(self, name: str) -> bool:
        """True when the mesh ``name`` is installed (or when nothing is known about meshes)."""
        return self.available_meshes is None or name in self.available_meshes


#: What makes one block of a task kind from the patient's program (the registry's table,
#: ``registry.TASK_BUILDERS``, names one per kind).
TaskBuilder = Callable[[Program, TaskContext], Task]


class ButtonEdges:
    """Finds presses (False -> True) of boolean controller inputs between frames.

    The time of a press is the input's own change time (``HandInput.changed_at_s``, OpenXR's
    lastChangeTime) when the source gives one, else the display time of the frame that first
    saw it. The first frame only primes the state, so a button already held when a task
    starts is never taken as a press.
    """

    def __init__(self) -> None:
        self._previous: dict[tuple[Side, str], bool] = {}

    def presses(
        self, frame: TrackingFrame, inputs: tuple[tuple[Side, str], ...]
    ) -> list[tuple[Side, str, float, str]]:
        """(side, input name, press time s, "input" | "frame") for each new press, oldest first."""
        found: list[tuple[Side, str, float, str]] = []
        for side, name in inputs:
            hand = frame.hand(side)
            state = bool(getattr(hand, name))
            before = self._previous.get((side, name))
            self._previous[(side, name)] = state
            if state and before is False:
                if name in hand.changed_at_s:
                    found.append((side, name, float(hand.changed_at_s[name]), "input"))
                else:
                    found.append((side, name, frame.time_s, "frame"))
        found.sort(key=lambda press: press[2])
        return found


#: Thumbstick deflection that counts as a flick, and the rest zone that re-arms it.
STICK_FLICK = 0.6
STICK_REST = 0.3


class StickFlicks:
    """Left/right flicks of either thumbstick, one step per flick: a stick pushed past
    ``STICK_FLICK`` steps once and must come back within ``STICK_REST`` of centre before it
    steps again, so a held stick never repeats."""

    def __init__(self) -> None:
        self._armed = {Side.LEFT: True, Side.RIGHT: True}

    def steps(self, frame: TrackingFrame) -> list[int]:
        """+1 (right) or -1 (left) for each new flick this frame, left stick first."""
        found: list[int] = []
        for side in (Side.LEFT, Side.RIGHT):
            x = frame.hand(side).thumbstick[0]
            if self._armed[side] and abs(x) >= STICK_FLICK:
                self._armed[side] = False
                found.append(1 if x > 0 else -1)
            elif abs(x) <= STICK_REST:
                self._armed[side] = True
        return found


#: Hold time that confirms an answer (a rating, a question, a vividness score). Product
#: choice: long enough not to happen by accident.
CONFIRM_HOLD_S = 1.0
#: The inputs that answer by press and hold: either trigger, or A/X.
CONFIRM_INPUTS: tuple[tuple[Side, str], ...] = (
    (Side.LEFT, "trigger_click"), (Side.RIGHT, "trigger_click"), (Side.LEFT, "primary"), (Side.RIGHT, "primary"),
)


class HoldToConfirm:
    """The answering of a scale by buttons: an input of ``CONFIRM_INPUTS`` held for
    ``CONFIRM_HOLD_S`` confirms the choice, a trigger let go sooner is a tap (one step on).

    ``progress`` (0-1) is how far the longest hold has come this frame, for the bar that
    fills while it is held (0 while nothing is chosen yet: a hold confirms only a choice)."""

    def __init__(self) -> None:
        self._since: dict[tuple[Side, str], float] = {}  # (hand, input) -> press time, s
        self.progress = 0.0

    def press(self, hand: Side, name: str, at_s: float) -> None:
        """``name`` of ``hand`` went down at ``at_s`` (``ButtonEdges.presses``)."""
        self._since[(hand, name)] = at_s

    def clear(self) -> None:
        """Drop the holds in progress (a pause: a hold does not survive it)."""
        self._since.clear()
        self.progress = 0.0

    def follow(self, frame: TrackingFrame, edges: ButtonEdges, chosen: bool) -> tuple[bool, int]:
        """Every new press of ``CONFIRM_INPUTS`` in ``frame`` (found by ``edges``) held on:
        (whether a hold confirmed, how many taps came before it). ``update`` says more, for
        a task that sorts the presses itself."""
        for hand, name, pressed_at, _ in edges.presses(frame, CONFIRM_INPUTS):
            self.press(hand, name, pressed_at)
        confirmed, released = self.update(frame, chosen)
        return confirmed is not None, sum(tapped for _, _, tapped in released)

    def update(self, frame: TrackingFrame, chosen: bool) -> tuple[tuple[Side, str] | None, list[tuple[Side, str, bool]]]:
        """The holds at ``frame`` (``chosen``: a value is chosen, so a hold may confirm it).
        Returns (the (hand, input) whose hold confirmed, or None; the inputs let go before it,
        oldest press first, each as (hand, input, tapped): tapped is a trigger let go within
        the hold time). Apply the taps before the confirmation: they came first."""
        now = frame.time_s
        released: list[tuple[Side, str, bool]] = []
        self.progress = 0.0
        for (hand, name), since in list(self._since.items()):
            held_for = now - since
            if getattr(frame.hand(hand), name):
                if chosen:
                    self.progress = max(self.progress, min(1.0, held_for / CONFIRM_HOLD_S))
                    if held_for >= CONFIRM_HOLD_S:
                        return (hand, name), released
            else:
                del self._since[(hand, name)]
                released.append((hand, name, name == "trigger_click" and held_for < CONFIRM_HOLD_S))
        return None, released
