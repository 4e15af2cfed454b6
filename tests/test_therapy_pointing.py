"""Choosing with one hand: the pointer through the hand, choices with hysteresis, dwell that
takes a choice once and shows its time as a ring that never flickers; laterality answered
by pointing (pinch or dwell) and the pain scale chosen by pointing; what gave each answer is
recorded truthfully."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from test_therapy_frames import RATE_HZ, Script
from test_therapy_laterality import until_record, until_shown

from gmi_vr.app.record_rows import stored_row
from gmi_vr.core.types import HAND_TRACKING_PROFILE, HandInput, Pose, Side
from gmi_vr.therapy.content.stimuli import level_anchor, place_in_front
from gmi_vr.therapy.plan.program import (
    AnswerMapping,
    BodyPart,
    HandAnswerSettings,
    Program,
    ProgramError,
)
from gmi_vr.therapy.results.task_records import RatingRecord
from gmi_vr.therapy.tasks.base import CONFIRM_HOLD_S, TaskContext
from gmi_vr.therapy.tasks.laterality import TARGET_OFFSET_M, LateralityTask, answer_targets
from gmi_vr.therapy.tasks.pointing import (
    EXIT_FACTOR,
    RING_SEGMENTS,
    Choice,
    DwellTimer,
    dwell_ring,
    input_used,
    pointed_choice,
    pointer_on_panel,
)
from gmi_vr.therapy.tasks.rating import PainRatingTask, scale_choices

FRAME_S = 1 / RATE_HZ
ANCHOR = level_anchor(Pose(np.array([0.0, 1.2, 0.0])))
PANEL = place_in_front(ANCHOR, 1.0, 0.0)
LEFT = Choice("left", place_in_front(ANCHOR, 1.0, 0.0, -0.3), 0.1)
RIGHT = Choice("right", place_in_front(ANCHOR, 1.0, 0.0, 0.3), 0.1)
CHOICES = (LEFT, RIGHT)


def on_panel(right_m: float, up_m: float = 0.0) -> np.ndarray:
    """A point on PANEL, ``right_m`` right of its centre (metres)."""
    return np.asarray(PANEL[:3, 3] + PANEL[:3, 0] * right_m + PANEL[:3, 1] * up_m)


# --- the pointer, choices and the dwell timer ------------------------------------------------


def test_the_pointer_is_where_the_line_from_the_eye_through_the_hand_meets_the_panel() -> None:
    eye = ANCHOR.position
    target = on_panel(0.3, -0.1)
    hand = eye + 0.4 * (target - eye)  # the hand 40 cm along the way
    assert np.allclose(pointer_on_panel(eye, hand, PANEL), target)
    # A hand level with the eye pointing sideways (parallel to the panel), or behind the eye:
    # it points at nothing.
    assert pointer_on_panel(eye, eye + np.array([0.2, 0.0, 0.0]), PANEL) is None
    assert pointer_on_panel(eye, eye - 0.3 * (target - eye), PANEL) is None


def test_a_choice_is_entered_within_its_radius_and_left_only_beyond_the_exit_distance() -> None:
    assert pointed_choice(on_panel(-0.3 + 0.099), CHOICES, None) == "left"
    assert pointed_choice(on_panel(-0.3 + 0.12), CHOICES, None) is None  # not yet entered...
    assert pointed_choice(on_panel(-0.3 + 0.12), CHOICES, "left") == "left"  # ...but kept once in
    assert pointed_choice(on_panel(-0.3 + 0.1 * EXIT_FACTOR + 0.001), CHOICES, "left") is None
    assert pointed_choice(None, CHOICES, "left") is None


def test_dwell_takes_a_choice_once_after_its_time_with_a_trembling_pointer() -> None:
    timer = DwellTimer(1.5)
    rng = np.random.default_rng(3)
    taken, progress = [], []
    for i in range(int(3.0 / FRAME_S)):
        # Resting at the target's edge with 1 cm of tremor: in and out of the entry radius.
        point = on_panel(-0.3 + 0.095 + rng.uniform(-0.01, 0.01))
        state = timer.update(point, CHOICES, 10.0 + i * FRAME_S)
        assert state.pointed == "left"
        progress.append(state.progress)
        if state.taken:
            taken.append((i, state.taken))
    assert taken == [(int(round(1.5 / FRAME_S)), "left")]  # once, at 1.5 s
    assert all(b >= a for a, b in zip(progress, progress[1:], strict=False))  # the fill never falls back
    assert progress[-1] == 1.0


def test_after_a_dwell_the_pointer_must_leave_the_choice_before_it_is_taken_again() -> None:
    timer = DwellTimer(1.0)
    t = 0.0
    for _ in range(int(2.5 / FRAME_S)):
        t += FRAME_S
        assert timer.update(on_panel(0.3), CHOICES, t).taken in (None, "right")
    assert timer.update(on_panel(0.3), CHOICES, t + 5.0).taken is None  # still resting: nothing more
    timer.update(on_panel(0.0), CHOICES, t + 5.1)  # away (between the targets)
    assert timer.update(on_panel(0.3), CHOICES, t + 5.2).taken is None
    assert timer.update(on_panel(0.3), CHOICES, t + 6.2).taken == "right"


def test_moving_to_the_other_choice_restarts_the_dwell_and_nothing_is_taken_without_dwell() -> None:
    timer = DwellTimer(1.0)
    timer.update(on_panel(-0.3), CHOICES, 0.0)
    assert timer.update(on_panel(-0.3), CHOICES, 0.9).progress == pytest.approx(0.9)
    state = timer.update(on_panel(0.3), CHOICES, 0.95)
    assert (state.pointed, state.progress, state.taken) == ("right", 0.0, None)
    assert timer.update(on_panel(0.3), CHOICES, 1.9).taken is None
    assert timer.update(on_panel(0.3), CHOICES, 1.95).taken == "right"
    pointing_only = DwellTimer(None)
    for i in range(100):
        state = pointing_only.update(on_panel(0.3), CHOICES, i * 0.1)
        assert (state.pointed, state.taken) == ("right", None)


def test_a_dwell_counts_only_from_the_time_given() -> None:
    timer = DwellTimer(1.0)
    timer.update(on_panel(0.3), CHOICES, 0.0, not_before_s=float("inf"))  # resting before the picture
    assert timer.update(on_panel(0.3), CHOICES, 2.0, not_before_s=float("inf")).taken is None
    assert timer.update(on_panel(0.3), CHOICES, 2.5, not_before_s=2.0).taken is None
    assert timer.update(on_panel(0.3), CHOICES, 3.0, not_before_s=2.0).taken == "right"


def test_the_dwell_ring_keeps_its_shape_and_fills_segment_by_segment() -> None:
    counts = []
    for progress in np.linspace(0.0, 1.0, 50):
        ring = dwell_ring(RIGHT, float(progress))
        assert len(ring) == RING_SEGMENTS  # every segment drawn, empty or full: no flicker
        counts.append(sum(item.color == dwell_ring(RIGHT, 1.0)[0].color for item in ring))
    assert counts[0] == 0 and counts[-1] == RING_SEGMENTS
    assert all(b >= a for a, b in zip(counts, counts[1:], strict=False))
    # The segments lie on a circle around the choice, just outside its radius.
    radii = [np.linalg.norm(item.world_from_mesh[:3, 3] - RIGHT.centre) for item in dwell_ring(RIGHT, 0.5)]
    assert np.allclose(radii, RIGHT.radius_m * 1.1, atol=0.005)


def test_what_the_patient_did_is_named_truthfully() -> None:
    tracked = HandInput(profile=HAND_TRACKING_PROFILE)
    controller = HandInput(profile="/interaction_profiles/valve/index_controller")
    assert input_used(tracked, "trigger_click") == "pinch"
    assert input_used(controller, "trigger_click") == "trigger"
    assert input_used(controller, "primary") == "primary"


def test_hand_answer_settings_are_checked_and_cite_their_reason() -> None:
    assert Program.default(Side.LEFT, BodyPart.HAND).hands == HandAnswerSettings("pinch", 1.5)
    assert HandAnswerSettings().dwell is None and HandAnswerSettings("dwell", 2.0).dwell == 2.0
    assert "cannot pinch" in Program.source_of("hands.confirm")
    with pytest.raises(ProgramError, match="'pinch' or 'dwell'"):
        HandAnswerSettings("wave")
    with pytest.raises(ProgramError, match="between 0.3 and 5 seconds"):
        HandAnswerSettings("dwell", 0.1)
    with pytest.raises(ProgramError, match="'two_hands', 'one_hand' or 'point'"):
        AnswerMapping(mode="nod")


# --- laterality answered by one pointing hand ------------------------------------------------


def pointing_task(script: Script, confirm: str = "pinch", **laterality: Any) -> LateralityTask:
    program = Program.default(Side.LEFT, BodyPart.HAND)  # affected left: the right hand answers
    program = dataclasses.replace(
        program, hands=HandAnswerSettings(confirm),
        laterality=dataclasses.replace(program.laterality, answer=AnswerMapping(mode="point", hand=Side.RIGHT),
                                       **laterality),
    )  # fmt: skip
    return LateralityTask(program, TaskContext(level_anchor(script.head), 7, 0))


def tracked_hand_at(script: Script, where: np.ndarray | None) -> None:
    """The right hand tracked without a controller, its palm at ``where`` (None: no pose)."""
    script.set(Side.RIGHT, profile=HAND_TRACKING_PROFILE, grip_valid=where is not None,
               grip=Pose(where if where is not None else np.zeros(3)))


def point_at(script: Script, task: LateralityTask, side: str | None) -> None:
    """Hold the right hand 35 cm along the line from the eye to ``side``'s target, or to
    the picture's centre (None)."""
    panel, choices = answer_targets(task.context.anchor, task.settings)
    target = next(c.centre for c in choices if c.name == side) if side else panel[:3, 3]
    eye = script.head.position
    tracked_hand_at(script, eye + 0.35 / np.linalg.norm(target - eye) * (target - eye))


def test_the_targets_lie_left_and_right_of_the_picture_and_are_drawn() -> None:
    script = Script()
    task = pointing_task(script)
    panel, (left, right) = answer_targets(task.context.anchor, task.settings)
    assert (left.name, right.name) == ("left", "right")
    offsets = [float((c.centre - panel[:3, 3]) @ panel[:3, 0]) for c in (left, right)]
    assert offsets == pytest.approx([-TARGET_OFFSET_M, TARGET_OFFSET_M])
    _, _, step = until_shown(task, script)
    assert {t.text for t in step.draw.texts} >= {"Left", "Right"}


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_pinch_with_the_hand_held_towards_a_target_answers_it_and_is_stored_as_a_pinch(side: str) -> None:
    script = Script()
    task = pointing_task(script)
    point_at(script, task, side)
    shown_frame, _, _ = until_shown(task, script)
    for _ in range(20):
        assert not task.update(script.frame(), None).records
    script.press(Side.RIGHT, "trigger_click")
    _, record = until_record(task, script, limit_s=2 * FRAME_S)
    assert record.answer is Side(side)
    assert (record.answered_by, record.answered_with, record.rt_source) == ("right.pinch", "pinch", "input")
    assert record.rt_s == pytest.approx(script.hands[Side.RIGHT].changed_at_s["trigger_click"] - shown_frame.time_s)
    assert record.to_dict()["answered_with"] == "pinch"
    measures = stored_row(record).measures
    assert measures is not None and measures["answered_with"] == "pinch"


def test_a_pinch_pointing_at_no_target_answers_nothing() -> None:
    script = Script()
    task = pointing_task(script, time_limit_s=1.0)
    point_at(script, task, None)  # at the picture, between the targets
    until_shown(task, script)
    script.press(Side.RIGHT, "trigger_click")
    _, record = until_record(task, script)
    assert record.timed_out and record.answer is None and record.answered_with is None


def test_dwelling_on_a_target_answers_it_after_the_dwell_time_from_the_pictures_onset() -> None:
    script = Script()
    task = pointing_task(script, confirm="dwell")
    point_at(script, task, "right")  # resting there before the picture appears
    shown_frame, _, _ = until_shown(task, script)
    script.press(Side.RIGHT, "trigger_click")  # fingers closing by chance: no answer by dwell users
    frame, record = until_record(task, script, limit_s=3.0)
    assert record.answer is Side.RIGHT
    assert (record.answered_by, record.answered_with, record.rt_source) == ("right.dwell", "dwell", "frame")
    assert record.rt_s == pytest.approx(1.5, abs=1.5 * FRAME_S)
    assert record.answered_at_s == frame.time_s


def test_a_hand_resting_on_a_target_does_not_answer_the_next_picture_until_it_moves() -> None:
    script = Script()
    task = pointing_task(script, confirm="dwell")
    point_at(script, task, "left")
    until_shown(task, script)
    _, first = until_record(task, script, limit_s=3.0)
    assert first.answered_with == "dwell"
    until_shown(task, script)
    _, second = until_record(task, script, limit_s=6.0)  # still resting on "left": a timeout
    assert second.timed_out
    until_shown(task, script)
    point_at(script, task, None)
    task.update(script.frame(), None)
    point_at(script, task, "left")
    _, third = until_record(task, script, limit_s=3.0)
    assert third.answer is Side.LEFT and third.answered_with == "dwell"


def test_the_dwell_ring_fills_around_the_pointed_target_while_a_picture_is_up() -> None:
    script = Script()
    task = pointing_task(script, confirm="dwell")
    point_at(script, task, "right")
    until_shown(task, script)
    full = dwell_ring(RIGHT, 1.0)[0].color
    fills = []
    for _ in range(int(1.2 * RATE_HZ)):
        step = task.update(script.frame(), None)
        fills.append(sum(m.color == full for m in step.draw.meshes))
    assert fills[-1] > RING_SEGMENTS // 2
    assert all(b >= a for a, b in zip(fills, fills[1:], strict=False))


def test_two_handed_answers_record_a_pinch_or_a_trigger_as_given() -> None:
    script = Script()
    program = Program.default(Side.LEFT, BodyPart.HAND)
    task = LateralityTask(program, TaskContext(level_anchor(script.head), 7, 0))
    script.set(Side.LEFT, profile=HAND_TRACKING_PROFILE)
    script.set(Side.RIGHT, profile="/interaction_profiles/valve/index_controller")
    records = []
    for _ in range(4):
        _, shown, _ = until_shown(task, script)
        side = Side(shown["side"])
        script.press(side, "trigger_click")
        records.append(until_record(task, script)[1])
        script.release(side, "trigger_click")
    for record in records:
        expected = ("left.pinch", "pinch") if record.answer is Side.LEFT else ("right.trigger_click", "trigger")
        assert (record.answered_by, record.answered_with) == expected
    _, shown, _ = until_shown(task, script)
    task.answer_from_console(Side.LEFT, script.next_time - 0.01)
    _, record = until_record(task, script)
    assert (record.answered_by, record.answered_with) == ("console", "key")


# --- the pain scale chosen by pointing -------------------------------------------------------


def rater(script: Script, confirm: str = "pinch") -> PainRatingTask:
    return PainRatingTask(level_anchor(script.head), "start", HandAnswerSettings(confirm))


def point_at_number(script: Script, task: PainRatingTask, name: str) -> None:
    _, choices = scale_choices(task.anchor, True)
    target = next(c.centre for c in choices if c.name == name)
    eye = script.head.position
    tracked_hand_at(script, eye + 0.35 / np.linalg.norm(target - eye) * (target - eye))


def run_frames(task: PainRatingTask, script: Script, seconds: float) -> list[RatingRecord]:
    """Step ``seconds`` of frames, up to the one the rating finishes on; its records."""
    records = []
    for _ in range(int(round(seconds * RATE_HZ))):
        step = task.update(script.frame(), None)
        records += [r for r in step.records if isinstance(r, RatingRecord)]
        if step.done:
            break
    return records


def test_a_pinch_on_a_number_chooses_it_and_holding_the_pinch_confirms_it() -> None:
    script = Script()
    task = rater(script)
    point_at_number(script, task, "7")
    run_frames(task, script, 0.2)
    assert task.value is None  # pointing alone chooses nothing
    script.press(Side.RIGHT, "trigger_click")
    run_frames(task, script, 0.3)
    script.release(Side.RIGHT, "trigger_click")
    assert run_frames(task, script, 0.2) == [] and task.value == 7  # a short pinch chose 7, no step
    point_at_number(script, task, "3")
    run_frames(task, script, 0.1)
    script.press(Side.RIGHT, "trigger_click")
    (record,) = run_frames(task, script, CONFIRM_HOLD_S + 0.1)
    assert (record.value, record.source, record.confirmed_with) == (3, "patient", "pinch")
    assert record.to_dict()["confirmed_with"] == "pinch"


def test_dwelling_on_a_number_chooses_it_and_dwelling_on_confirm_confirms_it() -> None:
    script = Script()
    task = rater(script, "dwell")
    point_at_number(script, task, "4")
    assert run_frames(task, script, 1.0) == [] and task.value is None
    script.press(Side.RIGHT, "trigger_click")  # fingers closing: nothing for a dwell user
    assert run_frames(task, script, 0.6) == [] and task.value == 4
    script.release(Side.RIGHT, "trigger_click")
    assert run_frames(task, script, 3.0) == []  # resting on the chosen number confirms nothing
    step = task.update(script.frame(), None)
    assert "Confirm" in {t.text for t in step.draw.texts}
    point_at_number(script, task, "confirm")
    assert run_frames(task, script, 1.4) == []
    (record,) = run_frames(task, script, 0.2)
    assert (record.value, record.source, record.confirmed_with) == (4, "patient", "dwell")


def test_controller_and_therapist_confirmations_say_so() -> None:
    script = Script()
    task = rater(script)
    script.set(Side.LEFT, profile="/interaction_profiles/valve/index_controller")
    script.set(Side.LEFT, thumbstick=(0.9, 0.0))
    run_frames(task, script, 0.1)
    script.set(Side.LEFT, thumbstick=(0.0, 0.0))
    script.press(Side.LEFT, "primary")
    (record,) = run_frames(task, script, CONFIRM_HOLD_S + 0.1)
    assert (record.value, record.confirmed_with) == (0, "primary")
    typed = rater(Script())
    typed.enter_from_console(6, 1.0)
    (record,) = run_frames(typed, Script(), 0.02)
    assert (record.value, record.source, record.confirmed_with) == (6, "therapist", "key")
