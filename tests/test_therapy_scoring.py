"""Scoring per side, part, rotation and view; norms; change against the smallest real change."""

from __future__ import annotations

import json

import pytest

from gmi_vr.core.types import Side
from gmi_vr.therapy.program import BodyPart, Program
from gmi_vr.therapy.records import RatingRecord, TrialRecord
from gmi_vr.therapy.scoring import (
    AGE_NOTE,
    SessionSummary,
    change_since,
    compare_with_norms,
    rotation_direction,
    score_trials,
    summarize_session,
)


def trial(side: Side, rt: float | None, correct: bool, rotation: int = 0, view: str = "back",
          part: BodyPart = BodyPart.HAND) -> TrialRecord:
    answer = None if rt is None else (side if correct else side.other)
    return TrialRecord(0, 0, 1, part, side, rotation, view, "none", "m", False, 10.0, answer,
                       None if rt is None else "console", None if rt is None else 10.0 + rt, rt,
                       correct and rt is not None, rt is None, None if rt is None else "console")


TRIALS = [
    trial(Side.LEFT, 1.0, True, 0), trial(Side.LEFT, 2.0, True, 90), trial(Side.LEFT, 3.0, True, 180),
    trial(Side.LEFT, 0.5, False, 270),  # wrong: its RT is left out of the median
    trial(Side.RIGHT, 1.2, True, 0, "palm"), trial(Side.RIGHT, None, False, 90, "palm"),  # timeout
]


def test_accuracy_counts_timeouts_as_wrong_and_median_rt_uses_correct_answers() -> None:
    score = score_trials(TRIALS)
    left, right = score.by_side["left"], score.by_side["right"]
    assert (left.n, left.n_correct, left.accuracy, left.median_rt_s) == (4, 3, 0.75, 2.0)
    assert (right.n, right.n_correct, right.n_timeouts, right.accuracy, right.median_rt_s) == (
        2, 1, 1, 0.5, 1.2)
    assert score.rt_gap_s == pytest.approx(0.8)
    assert score.by_rotation[0].median_rt_s == pytest.approx(1.1)
    assert score.by_rotation[180].median_rt_s == 3.0
    assert score.by_rotation[270].median_rt_s is None
    assert score.by_view["palm"].n == 2 and score.by_part["hand"].n == 6
    assert score.by_part_side["hand/left"] == left
    json.dumps(score.to_dict())


def test_shoulder_norms_give_z_scores_and_targets() -> None:
    trials = [trial(Side.LEFT, 2.48, True, part=BodyPart.SHOULDER)] * 9 + [
        trial(Side.LEFT, 1.0, False, part=BodyPart.SHOULDER)]
    comparisons = compare_with_norms(score_trials(trials), age=80)
    by = {(c.measure, c.norm.mean): c for c in comparisons}
    rt = by[("median_rt_s", 1.74)]
    assert rt.z == pytest.approx((2.48 - 1.74) / 0.74)
    accuracy = by[("accuracy", 0.935)]
    assert accuracy.z == pytest.approx((0.9 - 0.935) / 0.092)
    noi = by[("accuracy", None)]
    assert noi.meets_target is True and "NOI" in noi.norm.source
    assert all(c.age_note == AGE_NOTE for c in comparisons)  # says plainly: no age bands
    json.dumps([c.to_dict() for c in comparisons])


def test_hand_speed_target_and_parts_without_rt_norms() -> None:
    trials = [trial(Side.RIGHT, 2.3, True), trial(Side.RIGHT, 2.3, True, part=BodyPart.FOOT)]
    comparisons = compare_with_norms(score_trials(trials), age=None)
    hand_rt = [c for c in comparisons if c.body_part is BodyPart.HAND and c.measure == "median_rt_s"]
    assert len(hand_rt) == 1 and hand_rt[0].meets_target is False and hand_rt[0].z is None
    foot = [c for c in comparisons if c.body_part is BodyPart.FOOT]
    assert [c.measure for c in foot] == ["accuracy"]  # no RT norm exists for feet


def test_back_neck_is_compared_with_trunk_rotation_controls() -> None:
    trials = [trial(Side.LEFT, 1.5, True, part=BodyPart.BACK_NECK)] * 4 + [
        trial(Side.LEFT, 1.5, False, part=BodyPart.BACK_NECK)]
    trunk = [c for c in compare_with_norms(score_trials(trials), 40) if "Bray" in c.norm.source]
    assert len(trunk) == 1 and trunk[0].value == 0.8 and trunk[0].meets_target is False


def summary(date: str, left: tuple[float, float], right: tuple[float, float]) -> SessionSummary:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    trials = [trial(Side.LEFT, left[1], True)] * int(left[0] * 10) + [
        trial(Side.LEFT, left[1], False)] * (10 - int(left[0] * 10))
    trials += [trial(Side.RIGHT, right[1], True)] * int(right[0] * 10) + [
        trial(Side.RIGHT, right[1], False)] * (10 - int(right[0] * 10))
    return summarize_session(program, date, trials, [])


@pytest.mark.parametrize(
    ("before", "after", "verdicts"),
    [
        # (accuracy, rt) left; right is unchanged
        ((0.8, 1.5), (0.9, 1.2), {"accuracy": ("possibly real", True), "median_rt_s": ("possibly real", True)}),
        ((0.8, 1.5), (0.8, 1.6), {"accuracy": ("within noise", False), "median_rt_s": ("within noise", False)}),
        ((0.6, 1.5), (0.8, 2.1), {"accuracy": ("real", True), "median_rt_s": ("real", False)}),
    ],
)
def test_change_since_the_last_session_against_the_smallest_real_change(
    before: tuple[float, float], after: tuple[float, float], verdicts: dict[str, tuple[str, bool]]
) -> None:
    changes = change_since(summary("2026-03-01", before, (0.9, 1.4)), summary("2026-03-02", after, (0.9, 1.4)))
    left = {c.measure: (c.verdict, c.better) for c in changes if c.side == "left"}
    assert left == verdicts
    right = [c for c in changes if c.side == "right"]
    assert all(c.delta == 0 and c.verdict == "within noise" for c in right)


def test_session_summary_flags_a_flare_from_the_ratings_and_round_trips() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    ratings = [RatingRecord(1.0, 3, "start", "patient"), RatingRecord(50.0, 5, "on_demand", "therapist"),
               RatingRecord(90.0, 4, "end", "patient")]
    result = summarize_session(program, "2026-03-01", TRIALS, ratings)
    assert (result.pain_first, result.pain_last, result.pain_flare, result.flare) == (3, 4, True, True)
    calm = summarize_session(program, "2026-03-01", TRIALS, ratings[:1] + ratings[2:])
    assert not calm.pain_flare
    assert type(result).from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.mark.parametrize(
    ("side", "rotation", "direction"),
    [(Side.LEFT, 0, "upright"), (Side.RIGHT, 180, "inverted"), (Side.LEFT, 90, "lateral"),
     (Side.RIGHT, 90, "medial"), (Side.LEFT, 270, "medial"), (Side.RIGHT, 270, "lateral"),
     (Side.LEFT, 45, "lateral"), (Side.RIGHT, -90, "lateral")],
)
def test_rotation_direction_relative_to_the_midline(side: Side, rotation: int, direction: str) -> None:
    assert rotation_direction(side, rotation) == direction


def test_scores_group_by_medial_and_lateral_rotation() -> None:
    score = score_trials([trial(Side.LEFT, 2.5, True, 90), trial(Side.RIGHT, 1.5, True, 90),
                          trial(Side.RIGHT, 2.7, True, 270)])
    assert score.by_direction["lateral"].median_rt_s == pytest.approx(2.6)
    assert score.by_direction["medial"].median_rt_s == 1.5
