"""Laterality task: exact reaction times, answer mappings, timeouts, pauses, drawing."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from test_therapy_frames import RATE_HZ, Script

from gmi_vr.core.types import Pose, Side, TrackingFrame
from gmi_vr.geometry import quat_from_axis_angle
from gmi_vr.therapy.content.scenes import CORRECT_COLOR, WRONG_COLOR
from gmi_vr.therapy.content.stand_in_figures import figure
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.plan.program import AnswerMapping, BodyPart, Program
from gmi_vr.therapy.results.task_records import TrialRecord
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep
from gmi_vr.therapy.tasks.laterality import LateralityTask


def make_task(script: Script, seed: int = 7, **settings: Any) -> LateralityTask:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    program = dataclasses.replace(
        program, laterality=dataclasses.replace(program.laterality, **settings)
    )
    return LateralityTask(program, TaskContext(level_anchor(script.head), seed, 0))


def until_shown(task: LateralityTask, script: Script) -> tuple[TrackingFrame, dict[str, Any], TaskStep]:
    for _ in range(10 * int(RATE_HZ)):
        frame = script.frame()
        step = task.update(frame, None)
        assert not step.records
        for event in step.events:
            if event.kind == "trial.show":
                return frame, event.data, step
    raise AssertionError("no stimulus was shown within 10 s")


def until_record(task: LateralityTask, script: Script, limit_s: float = 10.0) -> tuple[TrackingFrame, TrialRecord]:
    for _ in range(int(limit_s * RATE_HZ)):
        frame = script.frame()
        step = task.update(frame, None)
        if step.records:
            (record,) = step.records
            return frame, record
    raise AssertionError("no trial ended")


def advance_to(task: LateralityTask, script: Script, time_s: float) -> None:
    """Step frames (no new input) until the next frame's display time reaches ``time_s``."""
    while script.next_time < time_s:
        assert not task.update(script.frame(), None).records


@pytest.mark.parametrize("delay_s", [0.2, 0.6543, 1.9871234])
def test_trigger_press_gives_the_reaction_time_from_the_first_display_to_the_input_change(delay_s: float) -> None:
    script = Script()
    task = make_task(script)
    shown_frame, shown, step = until_shown(task, script)
    side = Side(shown["side"])
    assert step.draw.meshes[0].mesh == f"stimuli/hand_{side.value}"
    press_at = shown_frame.time_s + delay_s
    advance_to(task, script, press_at)
    script.press(side, "trigger_click", at_s=press_at)
    frame, record = until_record(task, script, limit_s=1 / RATE_HZ)
    assert frame.time_s >= press_at  # the press is only seen on a later frame...
    assert record.rt_s == pytest.approx(delay_s, abs=1e-12)  # ...but timed to the input
    assert record.shown_at_s == shown_frame.time_s
    assert record.answered_at_s == press_at
    assert record.answer is side and record.correct
    assert record.answered_by == f"{side.value}.trigger_click"
    assert record.rt_source == "input"
    assert (record.side.value, record.rotation_deg, record.view) == (
        shown["side"], shown["rotation_deg"], shown["view"])


def test_the_right_trigger_answers_right_whatever_is_shown() -> None:
    script = Script()
    task = make_task(script)
    for _ in range(6):
        shown_frame, shown, _ = until_shown(task, script)
        advance_to(task, script, shown_frame.time_s + 0.5)
        script.press(Side.RIGHT, "trigger_click", at_s=shown_frame.time_s + 0.5)
        _, record = until_record(task, script)
        script.release(Side.RIGHT, "trigger_click")
        assert record.answer is Side.RIGHT
        assert record.correct is (shown["side"] == "right")


def test_without_a_change_time_the_frame_that_saw_the_press_is_used() -> None:
    script = Script()
    task = make_task(script)
    shown_frame, shown, _ = until_shown(task, script)
    advance_to(task, script, shown_frame.time_s + 0.7)
    script.set(Side.LEFT, trigger_click=True)  # no changed_at_s entry
    frame, record = until_record(task, script)
    assert record.rt_source == "frame"
    assert record.rt_s == pytest.approx(frame.time_s - shown_frame.time_s, abs=1e-12)
    assert record.answer is Side.LEFT


@pytest.mark.parametrize(("button", "expected"), [("primary", Side.LEFT), ("secondary", Side.RIGHT)])
def test_one_handed_answers_with_two_buttons_of_one_controller(button: str, expected: Side) -> None:
    script = Script()
    answer = AnswerMapping("one_hand", Side.RIGHT, "primary", "secondary")
    task = make_task(script, answer=answer)
    shown_frame, _, _ = until_shown(task, script)
    # The other controller's trigger is not an answer in one-handed mode.
    advance_to(task, script, shown_frame.time_s + 0.3)
    script.press(Side.LEFT, "trigger_click", at_s=shown_frame.time_s + 0.3)
    advance_to(task, script, shown_frame.time_s + 0.45)
    script.press(Side.RIGHT, button, at_s=shown_frame.time_s + 0.45)
    _, record = until_record(task, script)
    assert record.answer is expected
    assert record.answered_by == f"right.{button}"
    assert record.rt_s == pytest.approx(0.45, abs=1e-12)


def test_one_handed_on_the_left_controller_with_configured_buttons() -> None:
    script = Script()
    answer = AnswerMapping("one_hand", Side.LEFT, left_button="trigger_click", right_button="primary")
    task = make_task(script, answer=answer)
    shown_frame, _, _ = until_shown(task, script)
    advance_to(task, script, shown_frame.time_s + 0.9)
    script.press(Side.LEFT, "primary", at_s=shown_frame.time_s + 0.9)
    _, record = until_record(task, script)
    assert record.answer is Side.RIGHT and record.answered_by == "left.primary"


def test_the_therapist_answers_by_key_at_a_frame_clock_time() -> None:
    script = Script()
    task = make_task(script)
    shown_frame, shown, _ = until_shown(task, script)
    task.answer_from_console(Side(shown["side"]), shown_frame.time_s + 1.25)
    _, record = until_record(task, script)
    assert record.answered_by == "console" and record.rt_source == "console"
    assert record.rt_s == pytest.approx(1.25, abs=1e-12) and record.correct


def test_a_timeout_is_recorded_as_no_answer_and_a_late_press_does_not_count() -> None:
    script = Script()
    task = make_task(script, time_limit_s=2.0)
    shown_frame, _, _ = until_shown(task, script)
    advance_to(task, script, shown_frame.time_s + 1.99)
    assert task._phase == "show"  # noqa: SLF001 - still open just before the limit
    script.press(Side.LEFT, "trigger_click", at_s=shown_frame.time_s + 2.001)  # after the limit
    frame, record = until_record(task, script)
    assert record.timed_out and record.answer is None and record.rt_s is None
    assert not record.correct
    assert 2.0 <= frame.time_s - shown_frame.time_s + 1e-9 < 2.0 + 1 / RATE_HZ


def test_a_timeout_ends_the_trial_on_the_first_frame_past_the_limit() -> None:
    script = Script()
    task = make_task(script, time_limit_s=1.5)
    shown_frame, _, _ = until_shown(task, script)
    frame, record = until_record(task, script)
    assert record.timed_out
    assert 1.5 <= frame.time_s - shown_frame.time_s + 1e-9 < 1.5 + 1 / RATE_HZ


def test_no_time_limit_waits() -> None:
    script = Script()
    task = make_task(script, time_limit_s=None)
    until_shown(task, script)
    for _ in range(int(30 * RATE_HZ)):
        assert not task.update(script.frame(), None).records


def test_presses_before_the_picture_was_displayed_are_not_answers() -> None:
    script = Script()
    task = make_task(script)
    task.update(script.frame(), None)
    script.press(Side.RIGHT, "trigger_click")  # held through the blank
    shown_frame, _, _ = until_shown(task, script)
    advance_to(task, script, shown_frame.time_s + 0.5)
    assert task._phase == "show"  # noqa: SLF001 - the trial is still open
    # Released and pressed again: that press counts.
    script.release(Side.RIGHT, "trigger_click")
    task.update(script.frame(), None)
    script.press(Side.RIGHT, "trigger_click", at_s=shown_frame.time_s + 0.6)
    _, record = until_record(task, script)
    assert record.rt_s == pytest.approx(0.6, abs=1e-12)


def test_a_paused_trial_is_voided_and_its_stimulus_shown_again() -> None:
    script = Script()
    task = make_task(script)
    shown_frame, shown, _ = until_shown(task, script)
    remaining = len(task.queue)
    step = task.interrupt(shown_frame.time_s + 0.3, "unfocused")
    assert [e.kind for e in step.events] == ["trial.void"]
    assert not step.records
    assert len(task.queue) == remaining + 1
    again_frame, again, _ = until_shown(task, script)
    for key in ("side", "rotation_deg", "view", "body_part"):
        assert again[key] == shown[key]
    assert again_frame.time_s > shown_frame.time_s
    task.answer_from_console(Side.LEFT, again_frame.time_s + 0.5)
    _, record = until_record(task, script)
    assert record.shown_at_s == again_frame.time_s  # RT counts from the re-display only
    assert record.trial_index == 0


def answer_all(task: LateralityTask, script: Script, correct: bool = True) -> list[TrialRecord]:
    records: list[TrialRecord] = []
    for _ in range(int(600 * RATE_HZ)):
        frame = script.frame()
        step = task.update(frame, None)
        records += [r for r in step.records if isinstance(r, TrialRecord)]
        ends = [e for e in step.events if e.kind == "block.end"]
        if ends:  # the block's live figures for the therapist
            by_side = ends[0].data["by_side"]
            assert by_side["left"]["n"] + by_side["right"]["n"] == len(records)
            assert by_side["left"]["accuracy"] == (1.0 if correct else 0.0)
            assert by_side["right"]["median_rt_s"] == (pytest.approx(0.8) if correct else None)
        for event in step.events:
            if event.kind == "trial.show":
                side = Side(event.data["side"])
                task.answer_from_console(side if correct else side.other, frame.time_s + 0.8)
        if step.done:
            return records
    raise AssertionError("the block did not finish")


def test_a_whole_block_records_every_trial_balanced_and_then_ends() -> None:
    script = Script()
    task = make_task(script, seed=123)
    records = answer_all(task, script)
    assert len(records) == 32
    assert [r.trial_index for r in records] == list(range(32))
    assert {r.seed for r in records} == {123}
    cells = {}
    for r in records:
        key = (r.side, r.rotation_deg, r.view)
        cells[key] = cells.get(key, 0) + 1
    assert len(cells) == 16 and set(cells.values()) == {2}
    assert all(r.correct for r in records)


def test_feedback_cue_is_calm_green_or_red_and_can_be_turned_off() -> None:
    script = Script()
    task = make_task(script, feedback=True)
    shown_frame, shown, _ = until_shown(task, script)
    task.answer_from_console(Side(shown["side"]).other, shown_frame.time_s + 0.5)
    until_record(task, script)
    step = task.update(script.frame(), None)
    assert WRONG_COLOR in [m.color for m in step.draw.meshes]
    shown_frame, shown, _ = until_shown(task, script)
    task.answer_from_console(Side(shown["side"]), shown_frame.time_s + 0.5)
    until_record(task, script)
    colors_seen = set()
    for _ in range(int(0.5 * RATE_HZ)):
        colors_seen |= {m.color for m in task.update(script.frame(), None).draw.meshes}
    assert CORRECT_COLOR in colors_seen and WRONG_COLOR not in colors_seen

    quiet = make_task(Script(), feedback=False)
    script = Script()
    shown_frame, shown, _ = until_shown(quiet, script)
    quiet.answer_from_console(Side(shown["side"]), shown_frame.time_s + 0.5)
    until_record(quiet, script)
    after = quiet.update(script.frame(), None).draw
    assert not after.meshes and [t.text for t in after.texts] == ["+"]  # straight to fixation


def test_stimulus_is_placed_ahead_of_the_calibrated_head_whatever_its_yaw() -> None:
    yaw = quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), np.pi / 2)  # facing -X
    script = Script(head=Pose(np.array([1.0, 1.3, -2.0]), yaw))
    task = make_task(script)
    _, shown, step = until_shown(task, script)
    position = step.draw.meshes[0].world_from_mesh[:3, 3]
    np.testing.assert_allclose(position, [1.0 - 0.6, 1.3 - 0.15, -2.0], atol=1e-9)


def test_mirrored_right_stimuli_use_the_left_mesh_with_a_reflection() -> None:
    script = Script()
    task = make_task(script, mirrored_stimuli=True)
    seen = set()
    for _ in range(8):
        shown_frame, shown, step = until_shown(task, script)
        item = step.draw.meshes[0]
        determinant = np.linalg.det(item.world_from_mesh[:3, :3])
        assert item.mesh == "stimuli/hand_left"
        assert np.sign(determinant) == (-1 if shown["side"] == "right" else 1)
        seen.add(shown["side"])
        task.answer_from_console(Side.LEFT, shown_frame.time_s + 0.4)
        _, record = until_record(task, script)
        assert record.reflected is (shown["side"] == "right")
    assert seen == {"left", "right"}


def test_views_turn_the_mesh_and_rotations_turn_it_in_the_picture_plane() -> None:
    script = Script(head=Pose(np.array([0.0, 1.2, 0.0])))
    task = make_task(script, rotations_deg=(90,), views=("palm",), trials_per_block=2)
    _, shown, step = until_shown(task, script)
    rotation = step.draw.meshes[0].world_from_mesh[:3, :3]
    # The palm view turns the mesh half a turn about Y; then 90 deg about the view axis Z.
    np.testing.assert_allclose(rotation @ [0, 1, 0], [-1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(rotation @ [0, 0, 1], [0, 0, -1], atol=1e-9)


def test_a_missing_model_is_drawn_as_a_primitive_figure_and_recorded_so() -> None:
    script = Script()
    program = Program.default(Side.LEFT, BodyPart.HAND)
    task = LateralityTask(program, TaskContext(level_anchor(script.head), 7, 0, frozenset()))
    shown_frame, shown, step = until_shown(task, script)
    assert {m.mesh for m in step.draw.meshes} <= {"box", "sphere", "cylinder"}
    assert len(step.draw.meshes) > 10
    task.answer_from_console(Side.LEFT, shown_frame.time_s + 0.5)
    _, record = until_record(task, script)
    assert record.mesh == f"figure:hand_{shown['side']}" and not record.reflected


@pytest.mark.parametrize("part", list(BodyPart))
def test_primitive_figures_are_mirror_images_made_of_proper_transforms(part: BodyPart) -> None:
    left, right = figure(part, Side.LEFT), figure(part, Side.RIGHT)
    assert len(left) == len(right)
    reflect = np.diag([-1.0, 1.0, 1.0])
    for a, b in zip(left, right, strict=True):
        assert np.linalg.det(a.figure_from_part[:3, :3]) > 0
        assert np.linalg.det(b.figure_from_part[:3, :3]) > 0
        np.testing.assert_allclose(b.figure_from_part[:3, 3], reflect @ a.figure_from_part[:3, 3])


def test_the_left_hand_seen_from_the_back_has_its_thumb_on_the_patients_right() -> None:
    def thumb_x(side: Side, view: str) -> float:
        script = Script(head=Pose(np.array([0.0, 1.2, 0.0])))
        task = make_task(script, views=(view,), rotations_deg=(0,), trials_per_block=2)
        task.context = TaskContext(task.context.anchor, 1, 0, frozenset())
        for _ in range(int(20 * RATE_HZ)):
            step = task.update(script.frame(), None)
            shows = [e for e in step.events if e.kind == "trial.show"]
            if shows and shows[0].data["side"] == side.value:
                break
            if shows:
                task.answer_from_console(Side.LEFT, script.next_time)
        thumbs = [m for m in step.draw.meshes
                  if m.mesh == "cylinder" and abs(m.world_from_mesh[0, 1]) > 0.005]
        return float(thumbs[0].world_from_mesh[0, 3])

    assert thumb_x(Side.LEFT, "back") > 0 > thumb_x(Side.RIGHT, "back")
    assert thumb_x(Side.LEFT, "palm") < 0 < thumb_x(Side.RIGHT, "palm")


def test_a_picture_on_screen_follows_a_recalibrated_head_at_the_next_frame() -> None:
    script = Script(head=Pose(np.array([0.0, 1.3, 0.0])))
    task = make_task(script)
    _, _, step = until_shown(task, script)
    before = step.draw.meshes[0].world_from_mesh[:3, 3].copy()
    moved = Pose(np.array([0.5, 1.3, 0.0]))  # the patient recalibrated half a metre to the right
    task.context = TaskContext(level_anchor(moved), task.context.seed, task.context.block_index)
    after = task.update(script.frame(), None).draw.meshes[0].world_from_mesh[:3, 3]
    np.testing.assert_allclose(after - before, [0.5, 0.0, 0.0], atol=1e-9)
