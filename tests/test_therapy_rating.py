"""NRS 0-10 pain rating in the headset: one-handed with either controller, no accidental confirm."""

from __future__ import annotations

import numpy as np
import pytest
from test_therapy_frames import RATE_HZ, Script

from gmi_vr.core.types import Side
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.plan.program import ProgramError
from gmi_vr.therapy.results.task_records import RatingRecord
from gmi_vr.therapy.tasks.base import CONFIRM_HOLD_S, TaskStep
from gmi_vr.therapy.tasks.rating import PainRatingTask


class Rater:
    def __init__(self, moment: str = "start") -> None:
        self.script = Script()
        self.task = PainRatingTask(level_anchor(self.script.head), moment)
        self.steps: list[TaskStep] = []

    def frames(self, n: int = 1) -> TaskStep:
        for _ in range(n):
            self.steps.append(self.task.update(self.script.frame(), None))
        return self.steps[-1]

    def flick(self, side: Side, x: float) -> None:
        self.script.set(side, thumbstick=(x, 0.0))
        self.frames(2)  # held over two frames: still one step
        self.script.set(side, thumbstick=(0.0, 0.0))
        self.frames()

    def tap(self, side: Side) -> None:
        self.script.press(side, "trigger_click")
        self.frames(5)
        self.script.release(side, "trigger_click")
        self.frames()

    def hold(self, side: Side, name: str, seconds: float) -> None:
        self.script.press(side, name)
        self.frames(int(round(seconds * RATE_HZ)) + 1)

    @property
    def records(self) -> list[RatingRecord]:
        return [r for s in self.steps for r in s.records if isinstance(r, RatingRecord)]


@pytest.mark.parametrize("hand", [Side.LEFT, Side.RIGHT])
def test_thumbstick_and_hold_to_confirm_with_either_controller_alone(hand: Side) -> None:
    rater = Rater()
    rater.frames()
    for _ in range(5):
        rater.flick(hand, 0.9)  # none -> 0, 1, 2, 3, 4
    rater.flick(hand, -0.9)
    assert rater.task.value == 3
    rater.hold(hand, "trigger_click", CONFIRM_HOLD_S)
    (record,) = rater.records
    assert (record.value, record.moment, record.source, record.loinc) == (3, "start", "patient", "72514-3")
    assert rater.steps[-1].done
    assert [e.kind for s in rater.steps for e in s.events] == ["pain.ask", "pain.rating"]


@pytest.mark.parametrize(("hand", "button"), [(Side.LEFT, "primary"), (Side.RIGHT, "primary")])
def test_the_a_or_x_button_confirms_too(hand: Side, button: str) -> None:
    rater = Rater()
    rater.frames()
    rater.flick(hand, 0.8)
    rater.flick(hand, 0.8)
    rater.hold(hand, button, CONFIRM_HOLD_S)
    assert [r.value for r in rater.records] == [1]


def test_trigger_alone_taps_up_wraps_and_holds_to_confirm() -> None:
    rater = Rater("end")
    rater.frames()
    for _ in range(13):  # none -> 0 .. 10 -> 0 -> 1
        rater.tap(Side.RIGHT)
    assert rater.task.value == 1
    assert not rater.records
    rater.hold(Side.RIGHT, "trigger_click", CONFIRM_HOLD_S)
    assert [(r.value, r.moment) for r in rater.records] == [(1, "end")]


def test_thumbstick_clamps_and_starts_from_the_end_it_is_pushed_towards() -> None:
    rater = Rater()
    rater.frames()
    rater.flick(Side.LEFT, -1.0)
    assert rater.task.value == 10
    rater.flick(Side.LEFT, 1.0)
    assert rater.task.value == 10
    rater.flick(Side.LEFT, -1.0)
    assert rater.task.value == 9


def test_a_held_thumbstick_steps_once() -> None:
    rater = Rater()
    rater.frames()
    rater.script.set(Side.RIGHT, thumbstick=(1.0, 0.0))
    rater.frames(90)
    assert rater.task.value == 0


def test_no_accidental_confirmation() -> None:
    rater = Rater()
    # A trigger held from before the scale appeared neither steps nor confirms.
    rater.script.press(Side.RIGHT, "trigger_click")
    rater.frames(3 * int(RATE_HZ))
    rater.script.release(Side.RIGHT, "trigger_click")
    rater.frames()
    assert rater.task.value is None and not rater.records
    # Holding A/X with nothing chosen does nothing.
    rater.hold(Side.LEFT, "primary", 2 * CONFIRM_HOLD_S)
    rater.script.release(Side.LEFT, "primary")
    rater.frames()
    assert not rater.records
    # A short hold of A/X does not confirm a chosen value.
    rater.flick(Side.LEFT, 1.0)
    rater.hold(Side.LEFT, "primary", CONFIRM_HOLD_S - 0.1)
    rater.script.release(Side.LEFT, "primary")
    rater.frames()
    assert not rater.records and rater.task.value == 0


def test_a_confirm_bar_fills_while_holding() -> None:
    rater = Rater()
    rater.frames()
    rater.flick(Side.RIGHT, 1.0)
    assert len(rater.frames().draw.meshes) == 11  # the value boxes only
    widths = []
    rater.script.press(Side.RIGHT, "primary")
    for _ in range(int(0.9 * RATE_HZ)):
        meshes = rater.frames().draw.meshes
        assert len(meshes) == 12  # the bar next to the 11 value boxes
        widths.append(float(np.linalg.norm(meshes[-1].world_from_mesh[:3, 0])))
    assert widths == sorted(widths) and widths[-1] == pytest.approx(0.8 * 0.9, abs=0.02)


def test_therapist_types_the_rating() -> None:
    rater = Rater("on_demand")
    rater.frames()
    rater.task.enter_from_console(7, rater.script.next_time - 0.1)
    step = rater.frames()
    assert step.done and [(r.value, r.source, r.moment) for r in rater.records] == [
        (7, "therapist", "on_demand")]
    with pytest.raises(ProgramError, match="0 to 10"):
        rater.task.enter_from_console(11, 0.0)


def test_text_is_large() -> None:
    rater = Rater()
    draw = rater.frames().draw
    assert len(draw.texts) >= 13  # question, anchors, 11 numbers, hint
    assert min(t.height_m for t in draw.texts) >= 0.04  # at 1 m: over 2 degrees a line
