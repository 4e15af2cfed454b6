"""Progression rules, one table row per rule and boundary, and the therapist's decision."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from gmi_vr.core.types import Side
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, Stage
from gmi_vr.therapy.progression import Decision, confirm, evaluate_progression
from gmi_vr.therapy.results.scoring import SessionSummary


def session(day: int, stage: int = 1, acc: tuple[float, float] = (0.9, 0.9),
            rt: tuple[float | None, float | None] = (1.5, 1.6), flare: bool = False,
            stop: bool = False, n: tuple[int, int] = (48, 48), part: BodyPart = BodyPart.HAND,
            sickness: bool = False, since_last: str | None = None) -> SessionSummary:
    return SessionSummary(
        date=f"2026-03-{day:02d}", stage=Stage(stage), body_part=part, n_trials=sum(n),
        n_left=n[0], n_right=n[1], accuracy_left=acc[0], accuracy_right=acc[1],
        median_rt_left_s=rt[0], median_rt_right_s=rt[1], pain_first=4,
        pain_last=6 if flare else 4, pain_flare=flare, patient_stop=stop, sickness=sickness,
        since_last=since_last,
    )


def no_laterality(day: int, stage: int, flare: bool = False, stop: bool = False) -> SessionSummary:
    return SessionSummary(f"2026-03-{day:02d}", Stage(stage), BodyPart.HAND, pain_flare=flare,
                          patient_stop=stop)


#: Three sessions meeting every target, spread over 7 days (days 1, 4 and 8).
GOOD = [session(1), session(4), session(8)]
NECK = BodyPart.BACK_NECK

CASES: list[tuple[str, int, dict[str, Any], list[SessionSummary], Decision, int, str, str]] = [
    # name, stage, rule overrides, history, decision, proposed stage, rule, words in the reason
    ("no sessions", 1, {}, [], Decision.HOLD, 1, "no_history", "No sessions"),
    ("targets met over 7 days", 1, {}, GOOD, Decision.ADVANCE, 2, "laterality_targets_met",
     "over 7 days"),
    # Time, not sessions (CLINICAL.md): three good sessions in one afternoon do not advance.
    ("three good sessions on one day", 1, {}, [session(1), session(1), session(1)], Decision.HOLD,
     1, "laterality_targets_not_met", "3 of 3 sessions in a row, over 0 of 7 days"),
    ("six days are not enough", 1, {}, [session(1), session(4), session(7)], Decision.HOLD, 1,
     "laterality_targets_not_met", "over 6 of 7 days"),
    ("a longer span (therapist)", 1, {"min_span_days": 14}, GOOD, Decision.HOLD, 1,
     "laterality_targets_not_met", "over 7 of 14 days"),
    ("too few sessions", 1, {}, [session(1), session(8)], Decision.HOLD, 1,
     "laterality_targets_not_met", "2 of 3"),
    ("a failed session restarts the run", 1, {},
     [session(1), session(4, acc=(0.7, 0.9)), session(8), session(9)], Decision.HOLD, 1,
     "laterality_targets_not_met", "2 of 3 sessions in a row, over 1 of 7 days"),
    ("one side under 80 % in the latest", 1, {}, GOOD + [session(9, acc=(0.79, 0.95))],
     Decision.HOLD, 1, "laterality_targets_not_met", "left accuracy 79 %"),
    ("exactly 80 % passes", 1, {}, [session(d, acc=(0.80, 0.80)) for d in (1, 4, 8)],
     Decision.ADVANCE, 2, "laterality_targets_met", ""),
    # Trial count: the norm studies used 40 images per side.
    ("39 trials on a side do not count", 1, {},
     [session(1), session(4), session(8, n=(48, 39))], Decision.HOLD, 1,
     "laterality_targets_not_met", "1 session(s) had fewer than 40 trials per side"),
    ("40 trials per side count", 1, {}, [session(d, n=(40, 40)) for d in (1, 4, 8)],
     Decision.ADVANCE, 2, "laterality_targets_met", ""),
    # The side gap: 0.19 s or 10 % of the slower side's RT, whichever is larger.
    ("gap 0.20 s at 1.6 s is too large", 1, {}, [session(d, rt=(1.4, 1.6)) for d in (1, 4, 8)],
     Decision.HOLD, 1, "laterality_targets_not_met", "gap 0.20 s > 0.19 s"),
    ("gap 0.19 s passes", 1, {}, [session(d, rt=(1.41, 1.6)) for d in (1, 4, 8)],
     Decision.ADVANCE, 2, "laterality_targets_met", ""),
    ("gap 0.20 s at 2.0 s is within 10 %", 1, {},
     [session(d, rt=(1.8, 2.0), part=BodyPart.SHOULDER) for d in (1, 4, 8)],
     Decision.ADVANCE, 2, "laterality_targets_met", ""),
    ("gap 0.49 s no longer passes", 1, {}, [session(d, rt=(1.5, 1.99)) for d in (1, 4, 8)],
     Decision.HOLD, 1, "laterality_targets_not_met", "gap 0.49 s > 0.20 s"),
    ("no correct answers on one side", 1, {}, [session(1), session(4), session(8, rt=(None, 1.5))],
     Decision.HOLD, 1, "laterality_targets_not_met", "gap none"),
    # Per-part norms: hands about 2 s, neck 1.621 + 0.501 s (Wallwork 2013), shoulder 1.74 + 0.74 s.
    ("hands slower than 2 s", 1, {}, [session(d, rt=(2.05, 2.1)) for d in (1, 4, 8)],
     Decision.HOLD, 1, "laterality_targets_not_met", "left median RT 2.05 s > 2.00 s (the hand norm)"),
    ("neck within its norm", 1, {},
     [session(d, rt=(2.0, 2.1), part=NECK) for d in (1, 4, 8)], Decision.ADVANCE, 2,
     "laterality_targets_met", ""),
    ("neck beyond its norm", 1, {},
     [session(d, rt=(2.05, 2.15), part=NECK) for d in (1, 4, 8)], Decision.HOLD, 1,
     "laterality_targets_not_met", "right median RT 2.15 s > 2.12 s (the back_neck norm)"),
    ("shoulder within its wider norm", 1, {},
     [session(d, rt=(2.3, 2.4), part=BodyPart.SHOULDER) for d in (1, 4, 8)], Decision.ADVANCE,
     2, "laterality_targets_met", ""),
    ("a speed target set by the therapist", 1, {"max_median_rt_s": 1.55}, GOOD, Decision.HOLD, 1,
     "laterality_targets_not_met", "right median RT 1.60 s > 1.55 s"),
    ("a shorter window and span (therapist)", 1, {"window": 1, "min_span_days": 0}, GOOD[:1],
     Decision.ADVANCE, 2, "laterality_targets_met", "last 1 sessions"),
    ("sessions before a stage change do not count", 1, {},
     [session(1), session(4), session(8, stage=2), session(9)], Decision.HOLD, 1,
     "laterality_targets_not_met", "1 of 3"),
    # Safety steps back; other stops do not.
    ("flare at stage 1 cannot go back", 1, {}, GOOD + [session(9, flare=True)], Decision.HOLD, 1,
     "pain_flare", "more distant body part"),
    ("flare at stage 2 goes back", 2, {}, [session(1, 2), session(2, 2, flare=True)],
     Decision.BACK, 1, "pain_flare", "pain flare"),
    ("sickness at stage 3 goes back", 3, {}, [session(1, 3, sickness=True)], Decision.BACK, 2,
     "sickness", "cybersickness"),
    ("much worse since last time goes back", 3, {}, [session(1, 3, since_last="much_worse")],
     Decision.BACK, 2, "worse_since_last", "much more pain and swelling"),
    ("worse since last time holds", 2, {}, [no_laterality(1, 2), session(20, 2, since_last="worse")],
     Decision.HOLD, 2, "worse_since_last", "worse than after the session before"),
    ("worse since last time holds stage 1", 1, {},
     [session(1), session(4), session(8, since_last="worse")], Decision.HOLD, 1,
     "worse_since_last", ""),
    ("no worse since last time advances", 1, {},
     [session(1), session(4), session(8, since_last="no_worse")], Decision.ADVANCE, 2,
     "laterality_targets_met", ""),
    ("patient stop at stage 3 does not go back", 3, {},
     [no_laterality(1, 3), no_laterality(15, 3, stop=True)], Decision.ADVANCE, 4, "time_at_stage",
     "14 days"),
    ("patient stop at stage 1 keeps the run", 1, {},
     [session(1), session(4, stop=True), session(8)], Decision.ADVANCE, 2,
     "laterality_targets_met", ""),
    ("a short stopped session does not break the run", 1, {},
     [session(1), session(4), session(5, stop=True, n=(6, 6), acc=(0.5, 0.5)), session(8)],
     Decision.ADVANCE, 2, "laterality_targets_met", ""),
    ("two steps back (therapist)", 3, {"steps_back": 2}, [session(1, 3, flare=True)],
     Decision.BACK, 1, "pain_flare", "2 stage(s)"),
    ("steps back stop at stage 1", 2, {"steps_back": 3}, [session(1, 2, flare=True)],
     Decision.BACK, 1, "pain_flare", ""),
    # A fall beyond the smallest real change, twice running.
    ("accuracy fall in two sessions running", 2, {},
     [session(1, 2, acc=(0.95, 0.95)), session(2, 2, acc=(0.95, 0.80)),
      session(3, 2, acc=(0.95, 0.78))], Decision.BACK, 1, "performance_fall",
     "right accuracy 95 % -> 80 %, 78 %"),
    ("one fallen session is not a fall", 2, {},
     [session(1, 2, acc=(0.95, 0.95)), session(2, 2, acc=(0.95, 0.80))], Decision.HOLD, 2,
     "time_at_stage", "1 of 14 days"),
    ("a fall that recovers is not a fall", 2, {},
     [session(1, 2, acc=(0.95, 0.95)), session(2, 2, acc=(0.95, 0.80)),
      session(3, 2, acc=(0.95, 0.90))], Decision.HOLD, 2, "time_at_stage", ""),
    ("RT rise beyond 0.49 s twice", 3, {},
     [session(1, 3, rt=(1.5, 1.5)), session(2, 3, rt=(2.0, 1.5)), session(3, 3, rt=(2.1, 1.5))],
     Decision.BACK, 2, "performance_fall", "left median RT 1.50 s -> 2.00 s, 2.10 s"),
    ("changes within the smallest real change are not a fall", 2, {},
     [session(1, 2, acc=(0.95, 0.95), rt=(1.5, 1.5)), session(8, 2, acc=(0.82, 0.95), rt=(1.98, 1.5)),
      session(15, 2, acc=(0.82, 0.95), rt=(1.98, 1.5))],
     Decision.ADVANCE, 3, "time_at_stage", "14 days"),
    ("fall at stage 1 cannot go back", 1, {},
     [session(1, acc=(0.95, 0.95)), session(2, acc=(0.6, 0.95)), session(3, acc=(0.6, 0.95))],
     Decision.HOLD, 1, "performance_fall", "first stage"),
    ("one fall counts when the therapist says so", 2, {"fall_sessions": 1, "accuracy_fall": 0.05},
     [session(1, 2, acc=(0.95, 0.95)), session(2, 2, acc=(0.89, 0.95))], Decision.BACK, 1,
     "performance_fall", ""),
    ("two weeks at stage 2", 2, {}, [no_laterality(1, 2), no_laterality(15, 2)], Decision.ADVANCE,
     3, "time_at_stage", "14 days"),
    ("13 days at stage 2", 2, {}, [no_laterality(1, 2), no_laterality(14, 2)], Decision.HOLD, 2,
     "time_at_stage", "13 of 14 days"),
    ("days count from the stage's first session", 3, {},
     [no_laterality(1, 2), no_laterality(10, 3), no_laterality(20, 3)], Decision.HOLD, 3,
     "time_at_stage", "10 of 14"),
    ("an earlier flare in the window holds", 2, {},
     [no_laterality(1, 2), no_laterality(8, 2, flare=True), no_laterality(16, 2)],
     Decision.HOLD, 2, "time_at_stage", "flare(s) on 2026-03-08"),
    ("an earlier patient stop in the window does not hold", 2, {},
     [no_laterality(1, 2), no_laterality(8, 2, stop=True), no_laterality(16, 2)],
     Decision.ADVANCE, 3, "time_at_stage", "15 days"),
    ("no session at the new stage yet", 3, {}, [no_laterality(1, 2)], Decision.HOLD, 3,
     "time_at_stage", "No session at stage 3"),
    ("graded movement is the last stage", 4, {}, [no_laterality(d, 4) for d in (1, 20)],
     Decision.HOLD, 4, "final_stage", "last stage"),
]


@pytest.mark.parametrize(
    ("name", "stage", "rules", "history", "decision", "proposed", "rule", "words"),
    CASES, ids=[case[0] for case in CASES],
)
def test_progression_rules(name: str, stage: int, rules: dict[str, Any],
                           history: list[SessionSummary], decision: Decision, proposed: int,
                           rule: str, words: str) -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    program = dataclasses.replace(program, stage=Stage(stage),
                                  progression=dataclasses.replace(program.progression, **rules))
    proposal = evaluate_progression(program, history)
    assert (proposal.decision, int(proposal.proposed_stage), proposal.rule) == (decision, proposed, rule)
    assert proposal.current_stage is Stage(stage)
    assert words in proposal.reason
    json.dumps(proposal.to_dict())


def test_blocks_too_short_for_the_trial_count_are_named() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    assert "the program's blocks give" not in evaluate_progression(program, GOOD[:1]).reason  # 48 per side
    short, _ = program.override("Dr A", "short session", "2026-03-01T10:00", session__blocks=["laterality"])
    proposal = evaluate_progression(short, [session(1, n=(16, 16))])
    assert "the program's blocks give 16 trials per side" in proposal.reason


def test_rule_parameters_are_overridden_through_the_program_audit() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    assert evaluate_progression(program, GOOD[:1]).decision is Decision.HOLD
    program, record = program.override("Dr A", "daily sessions, fast learner", "2026-03-02T10:00",
                                       progression__window=1, progression__min_span_days=0)
    assert record.new == {"progression.window": 1, "progression.min_span_days": 0}
    assert evaluate_progression(program, GOOD[:1]).decision is Decision.ADVANCE


def test_therapist_accepts_rejects_or_overrides_a_proposal() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    proposal = evaluate_progression(program, GOOD)
    accepted, record = confirm(program, proposal, "Dr A", "2026-03-03T11:00")
    assert accepted.stage is Stage.EXPLICIT_IMAGERY
    assert (record.outcome, record.stage_before, record.stage_after) == ("accepted", 1, 2)
    assert record.proposal["rule"] == "laterality_targets_met"

    kept, record = confirm(program, proposal, "Dr A", "2026-03-03T11:00", accept=False,
                           note="wants one more week")
    assert kept.stage is Stage.LATERALITY and record.outcome == "rejected"

    jumped, record = confirm(program, proposal, "Dr A", "2026-03-03T11:00", override_stage=3,
                             note="mirror box experience at home")
    assert jumped.stage is Stage.MIRROR_THERAPY
    assert (record.outcome, record.stage_after, record.note) == (
        "overridden", 3, "mirror box experience at home")
    json.dumps(record.to_dict())
    assert jumped.affected_side is program.affected_side  # nothing else changes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"therapist": " "}, "Name the therapist"),
        ({"override_stage": 3}, "Say why"),
        ({"override_stage": 5, "note": "x"}, "does not exist"),
    ],
)
def test_incomplete_decisions_are_refused(kwargs: dict[str, Any], message: str) -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    proposal = evaluate_progression(program, GOOD)
    args: dict[str, Any] = {"therapist": "Dr A", **kwargs}
    with pytest.raises(ProgramError, match=message):
        confirm(program, proposal, at="2026-03-03T11:00", **args)


def test_a_stale_proposal_is_refused() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    proposal = evaluate_progression(program, GOOD)
    moved, _ = confirm(program, proposal, "Dr A", "2026-03-03T11:00")
    with pytest.raises(ProgramError, match="evaluate again"):
        confirm(moved, proposal, "Dr A", "2026-03-03T11:05")
