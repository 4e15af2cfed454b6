"""Home practice without GL: which tasks a sitting runs at each stage, the guided mirror-box
practice under the session runner's rules, and the desktop's keys turned into the controller
inputs the headset's tasks read (the window itself is tested under Xvfb in
tests/test_practice_window.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from gmi_vr.app.practice import DesktopInputs
from gmi_vr.console.practice_window import InputEvent
from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.therapy.plan.grading import ImagerySettings
from gmi_vr.therapy.plan.home_sitting import (
    HOME_BLOCKS,
    HOME_CALM_MESSAGE,
    home_done_message,
    home_program,
)
from gmi_vr.therapy.plan.program import BodyPart, Program, SessionPlan, Stage
from gmi_vr.therapy.results.stage_records import ImageryRecord, MirrorBoxRecord
from gmi_vr.therapy.results.task_records import RatingRecord, TrialRecord
from gmi_vr.therapy.runner import SessionRunner, SessionStatus
from gmi_vr.therapy.tasks.mirror_box import mirror_box_seconds

HEAD = Pose([0.0, 1.2, 0.0])
PERIOD = 1 / 60


def _program(stage: Stage) -> Program:
    return dataclasses.replace(Program.default(Side.LEFT, BodyPart.HAND), stage=stage)


EXPECTED_BLOCKS = {  # the prescription's defaults (Program.practice), one block per task
    Stage.LATERALITY: ("laterality",),
    Stage.EXPLICIT_IMAGERY: ("laterality", "imagery"),
    Stage.MIRROR_THERAPY: ("laterality", "mirror_box"),
    Stage.GRADED_MOVEMENT: ("mirror_box",),
}


@pytest.mark.parametrize("stage", list(Stage))
def test_a_home_sitting_runs_the_stage_s_prescription_with_the_headset_only_checks_off(stage: Stage) -> None:
    program = _program(stage)
    home = home_program(program)
    assert home.blocks == EXPECTED_BLOCKS[stage]
    assert tuple(HOME_BLOCKS[t] for t in program.practice.for_stage(stage).tasks) == home.blocks
    assert home.safety.fms_every_s == 0.0 and home.safety.stop_hint_s == 0.0
    # The rest is the patient's program: the flare rule and the ratings as set.
    assert home.safety.flare_rise == program.safety.flare_rise
    assert (home.session.rating_at_start, home.session.rating_at_end) == (True, True)
    assert home.laterality == program.laterality
    SessionRunner(home, seed=1)  # every block can be built


def test_a_task_done_as_often_as_prescribed_today_is_left_out_until_all_are() -> None:
    program = _program(Stage.EXPLICIT_IMAGERY)  # laterality once a day, imagery 8 times
    assert home_program(program, {"laterality": 1}).blocks == ("imagery",)
    assert home_program(program, {"laterality": 1, "imagery": 7}).blocks == ("imagery",)
    assert home_program(program, {"laterality": 2, "imagery": 8}).blocks == ("laterality", "imagery")
    assert home_done_message(program, {"laterality": 1, "imagery": 6}).endswith(
        "Still today: imagined movements 1 more times.")
    assert home_done_message(program, {"laterality": 1, "imagery": 7}).endswith("Today's practice is done.")


def test_the_mirror_box_lasts_the_prescribed_minutes() -> None:
    program = _program(Stage.MIRROR_THERAPY)
    assert mirror_box_seconds(program) == 60 * program.practice.stage_3.dose("mirror")[0] == 300
    longer, _ = program.override("t.one", "tolerates more", "2026-01-01T00:00:00",
                                 **{"practice.stage_3.mirror_minutes": 8})
    assert mirror_box_seconds(longer) == 480


class Driver:
    """Steps a runner at 60 Hz with the desktop's inputs: ``keys`` maps a frame index to the
    key events delivered just before that frame (each at a given offset before it)."""

    def __init__(self, runner: SessionRunner, program: Program) -> None:
        self.runner = runner
        self.inputs = DesktopInputs(program.laterality.answer)
        self.index = 0
        self.records: list[object] = []
        self.events: list[Event] = []

    def step(self, events: tuple[tuple[str, bool, float], ...] = ()) -> TrackingFrame:
        now = self.index * PERIOD
        kind = "question" if self.runner.open_question is not None else self.runner.task_kind
        self.inputs.take([InputEvent(name, down, now - before) for name, down, before in events], kind)
        frame = self.inputs.frame(self.index, now, HEAD, focused=True)
        self.index += 1
        step = self.runner.update(frame, None)
        self.records += step.records
        self.events += step.events
        self.last = step
        return frame

    def until(self, test: Callable[[Event], bool], limit_s: float = 30.0) -> Event:
        """Step until an event passes ``test``; returns it."""
        for _ in range(int(limit_s / PERIOD)):
            seen = len(self.events)
            self.step()
            for event in self.events[seen:]:
                if test(event):
                    return event
        raise AssertionError("never happened")

    def run(self, seconds: float) -> None:
        for _ in range(int(round(seconds / PERIOD))):
            self.step()

    def tap(self, name: str) -> None:
        self.step(((name, True, 0.004), (name, False, 0.002)))
        self.run(3 * PERIOD)

    def rate(self, value: int) -> None:
        """Choose ``value`` on the scale with the right arrow, confirm by holding space."""
        for _ in range(value + 1):
            self.tap("right_arrow")
        self.step((("space", True, 0.001),))
        self.run(1.1)
        self.step((("space", False, 0.001),))


def test_keys_answer_a_laterality_trial_at_their_own_time_and_rate_pain_on_the_same_scale() -> None:
    program = dataclasses.replace(
        home_program(_program(Stage.LATERALITY)),
        laterality=dataclasses.replace(_program(Stage.LATERALITY).laterality, rotations_deg=(0,),
                                       views=("back",), trials_per_block=2),
    )
    drive = Driver(SessionRunner(program, seed=3, anchor=HEAD, calm_message=HOME_CALM_MESSAGE), program)
    drive.run(0.1)
    drive.rate(2)
    # The trial's onset is the frame that first showed the picture.
    show = drive.until(lambda e: e.kind == "trial.show")
    shown = show.time_s
    key = "f" if show.data["side"] == "left" else "j"
    drive.run(0.4)
    pressed_before = drive.index * PERIOD
    drive.step(((key, True, 0.005),))  # pressed 5 ms before this frame
    drive.step(((key, False, 0.001),))
    (trial,) = [r for r in drive.records if isinstance(r, TrialRecord)]
    assert trial.rt_source == "input" and trial.correct
    assert trial.answered_at_s == pytest.approx(pressed_before - 0.005, abs=1e-12)
    assert trial.rt_s == pytest.approx(trial.answered_at_s - shown, abs=1e-12)
    (rating,) = [r for r in drive.records if isinstance(r, RatingRecord)]
    assert (rating.value, rating.moment, rating.source) == (2, "start", "patient")


def test_space_marks_the_start_and_end_of_an_imagined_movement_at_its_own_time() -> None:
    base = _program(Stage.EXPLICIT_IMAGERY)
    program = dataclasses.replace(
        home_program(base), session=SessionPlan(blocks=("imagery",), rating_at_start=False,
                                                rating_at_end=False),
        imagery=ImagerySettings(repetitions=1, rate_vividness=False, rate_pain=False,
                                movements=(base.imagery.movements or ())),
    )
    runner = SessionRunner(program, seed=4, anchor=HEAD)
    drive = Driver(runner, program)
    drive.until(lambda e: e.kind == "cue.audio" and "Now imagine" in str(e.data["text"]))
    drive.run(0.1)
    drive.step((("space", True, 0.003), ("space", False, 0.001)))
    drive.run(0.5)
    drive.step((("mouse_left", True, 0.002),))
    drive.step((("mouse_left", False, 0.001),))
    record = next(r for r in drive.records if isinstance(r, ImageryRecord))
    assert record.time_source == "input" and not record.timed_out
    assert record.marked_by == "right.trigger_click"
    assert record.imagined_s == pytest.approx(0.5 + PERIOD + 0.003 - 0.002, abs=1e-9)


def test_a_tap_between_two_frames_is_seen_pressed_for_one_frame() -> None:
    inputs = DesktopInputs(Program.default(Side.LEFT, BodyPart.HAND).laterality.answer)
    inputs.take([InputEvent("space", True, 0.010), InputEvent("space", False, 0.012)], "imagery")
    pressed = inputs.frame(1, 0.016, HEAD, True)
    assert pressed.right.trigger_click and pressed.right.changed_at_s["trigger_click"] == 0.010
    inputs.take([], "imagery")
    released = inputs.frame(2, 0.033, HEAD, True)
    assert not released.right.trigger_click and released.right.changed_at_s["trigger_click"] == 0.012


def test_what_a_key_does_follows_the_task_on_screen() -> None:
    answer = Program.default(Side.LEFT, BodyPart.HAND).laterality.answer  # two hands: triggers
    inputs = DesktopInputs(answer)
    inputs.take([InputEvent("mouse_right", True, 0.01)], "laterality")
    assert inputs.frame(0, 0.02, HEAD, True).right.trigger_click  # answers right
    inputs.take([InputEvent("mouse_right", False, 0.03), InputEvent("left_arrow", True, 0.031)],
                "pain_rating")
    frame = inputs.frame(1, 0.04, HEAD, True)
    assert frame.right.thumbstick == (-1.0, 0.0)  # one step down on the scale
    assert not frame.right.trigger_click
    inputs.take([InputEvent("left_arrow", False, 0.05), InputEvent("right_arrow", True, 0.051),
                 InputEvent("right_arrow", False, 0.052)], "pain_rating")
    assert inputs.frame(2, 0.06, HEAD, True).right.thumbstick == (0.0, 0.0)  # at rest between flicks
    assert inputs.frame(3, 0.07, HEAD, True).right.thumbstick == (1.0, 0.0)
    inputs.take([InputEvent("p", True, 0.08)], "laterality")
    assert inputs.frame(4, 0.09, HEAD, True).right.thumbstick_click  # asks for a pain rating


def _mirror_program(rating_every_s: float) -> Program:
    base = _program(Stage.MIRROR_THERAPY)
    home = home_program(base)
    return dataclasses.replace(
        home, session=SessionPlan(blocks=("mirror_box",), rating_at_start=True, rating_at_end=False),
        safety=dataclasses.replace(home.safety, rating_every_s=rating_every_s),
    )


def test_the_mirror_box_counts_its_practice_time_and_records_it() -> None:
    program = _mirror_program(rating_every_s=0.0)
    runner = SessionRunner(program, seed=5, anchor=HEAD)
    drive = Driver(runner, program)
    drive.rate(1)
    started = next(e for e in drive.events if e.kind == "task.start" and e.data.get("task") == "mirror")
    assert runner.task_kind == "mirror"  # stored as the mirror practice the dose counts
    assert any(t.text.endswith(" left") for t in drive.last.draw.texts)  # the timer
    planned = mirror_box_seconds(program)
    ended = drive.until(lambda e: e.kind == "task.end", limit_s=planned + 5)
    assert ended.time_s - started.time_s == pytest.approx(planned, abs=PERIOD)
    (record,) = [r for r in drive.records if isinstance(r, MirrorBoxRecord)]
    assert record.ended_by == "done" and record.practised_s == pytest.approx(planned, abs=PERIOD)
    drive.run(0.1)
    assert runner.outcome().status is SessionStatus.COMPLETED


def test_a_flare_at_the_mirror_box_s_own_rating_stops_it_with_the_home_calm_words() -> None:
    program = _mirror_program(rating_every_s=60.0)
    runner = SessionRunner(program, seed=6, anchor=HEAD, calm_message=HOME_CALM_MESSAGE)
    drive = Driver(runner, program)
    drive.rate(1)
    asked = drive.until(lambda e: e.kind == "pain.request", limit_s=90)  # the block's rating, a minute in
    assert asked.data["by"] == "schedule"
    drive.rate(4)  # a rise of 3
    outcome = runner.outcome()
    assert (outcome.status, outcome.reason) == (SessionStatus.SAFETY_STOP, "pain_flare")
    drive.run(2.0)  # faded into the calm scene
    assert any(HOME_CALM_MESSAGE in t.text for t in drive.last.draw.texts)
    assert not drive.last.movement_allowed
    # The practice up to the rating is kept, and it was not resumed.
    (record,) = [r for r in drive.records if isinstance(r, MirrorBoxRecord)]
    assert record.ended_by == "rating" and record.practised_s == pytest.approx(60.0, abs=2 * PERIOD)
