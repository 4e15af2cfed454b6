"""Scoring per side, part, rotation and view; norms; change against the smallest real change."""

from __future__ import annotations

import json

import pytest

from gmi_vr.core.types import Side
from gmi_vr.therapy.plan.program import BodyPart, Program
from gmi_vr.therapy.results.scoring import (
    AGE_NOTE,
    SessionSummary,
    change_since,
    compare_with_norms,
    rotation_direction,
    rt_norm,
    score_trials,
    summarize_session,
)
from gmi_vr.therapy.results.task_records import RatingRecord, TrialRecord


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


def test_hand_and_foot_speed_targets_are_about_two_seconds() -> None:
    trials = [trial(Side.RIGHT, 2.3, True), trial(Side.RIGHT, 1.9, True, part=BodyPart.FOOT)]
    comparisons = compare_with_norms(score_trials(trials), age=None)
    rt = {c.body_part: c for c in comparisons if c.measure == "median_rt_s"}
    assert rt[BodyPart.HAND].meets_target is False and rt[BodyPart.HAND].z is None
    assert rt[BodyPart.FOOT].meets_target is True and "feet about 2 s" in rt[BodyPart.FOOT].norm.source


def test_the_neck_has_its_own_norms_not_trunk_figures() -> None:
    trials = [trial(Side.LEFT, 2.122, True, part=BodyPart.BACK_NECK)] * 9 + [
        trial(Side.LEFT, 1.5, False, part=BodyPart.BACK_NECK)]
    comparisons = compare_with_norms(score_trials(trials), 40)
    assert all("Bray" not in c.norm.source for c in comparisons)
    neck = {c.measure: c for c in comparisons if "Wallwork" in c.norm.source}
    assert neck["median_rt_s"].z == pytest.approx((2.122 - 1.621) / 0.501)
    assert neck["accuracy"].value == 0.9 and neck["accuracy"].meets_target is False  # < 92.5 %
    # The progression gate: within mean + 1 SD.
    assert rt_norm(BodyPart.BACK_NECK).limit_s == pytest.approx(2.122)
    assert rt_norm(BodyPart.SHOULDER).limit_s == pytest.approx(2.48)
    assert rt_norm(BodyPart.HAND).limit_s == rt_norm(BodyPart.FOOT).limit_s == 2.0


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
    calm = summarize_session(program, "2026-03-01", TRIALS, [RatingRecord(1.0, 5, "start", "patient"),
                                                              RatingRecord(90.0, 6, "end", "patient")])
    assert not calm.pain_flare  # +1 from 5 is 20 %
    assert type(result).from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.mark.parametrize(
    ("ratings", "flare"),
    [
        ((4, 5), False),  # +1, 25 %
        ((4, 6), True),  # +2 points
        ((3, 4), True),  # +1 is 33 %: the 30 % form
        ((6, 7), False),  # +1, 17 %
        ((7, 9), True),  # +2
        ((0, 1), False),  # from 0 a percentage means nothing: only points count
        ((0, 2), True),
        ((9, 10), True),  # at the ceiling: a patient who starts at 9 cannot rise 2
        ((9, 9, 9), False),
        ((10,), True),  # the first rating at the ceiling
        ((5, 3, 4), False),  # falls do not flare; the first rating is the reference
    ],
)
def test_the_flare_rule_has_points_percent_and_ceiling(ratings: tuple[int, ...], flare: bool) -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    records = [RatingRecord(float(i), v, "on_demand", "patient") for i, v in enumerate(ratings)]
    assert summarize_session(program, "2026-03-01", [], records).pain_flare is flare
    assert summarize_session(program, "2026-03-01", [], records).flare is flare


def test_a_lower_ceiling_is_the_patients_own() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    program, _ = program.override("Dr A", "patient says 8 is unbearable", "2026-03-01T10:00",
                                  safety__pain_ceiling=8)
    records = [RatingRecord(0.0, 7, "start", "patient"), RatingRecord(1.0, 8, "on_demand", "patient")]
    assert summarize_session(program, "2026-03-01", [], records).pain_flare


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
