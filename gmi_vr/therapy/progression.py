"""Progression between the GMI stages: the engine proposes, the therapist decides.

Rules, checked in this order on the history of finished sessions (oldest first); the first
that applies gives the proposal (parameters from ``Program.progression``; the defaults and
their sources: CLINICAL.md "Laterality norms and progression"):

1. ``no_history``: no sessions yet -> hold.
2. Safety in the latest session -> back ``steps_back`` stages (at stage 1: hold, and
   suggest a more distant body part): ``pain_flare`` (the flare rule of
   ``scoring.is_flare``), ``sickness`` (the Fast Motion Sickness Scale at its threshold),
   ``worse_since_last`` (the start-of-session answer "much worse" on pain and swelling since
   the last session). A stop for any other reason — the patient's stop gesture, a break,
   the headset taken off, the therapist ending early — is not a failure and never steps back.
3. ``performance_fall``: on one side and measure, accuracy fell by more than
   ``accuracy_fall`` or median RT rose by more than ``rt_fall_s`` in each of the last
   ``fall_sessions`` sessions with laterality data, against the session before them ->
   back (at stage 1: hold). One bad session is not a fall.
4. ``worse_since_last`` (hold): the latest start-of-session answer was "worse": no advance.
5. Stage 1, ``laterality_targets_met``: the latest sessions at stage 1 that count (at least
   ``min_trials_per_side`` trials on each side) meet every target, ``window`` or more of
   them in a row, spread over at least ``min_span_days`` days: each side's accuracy >=
   ``accuracy_target``, each side's median RT within the body part's norm
   (``max_median_rt_s``, or ``scoring.rt_norm`` when empty), and the left/right gap within
   ``rt_gap_max_s`` or ``rt_gap_max_fraction`` of the slower side's RT, whichever is larger
   -> advance to 2; otherwise ``laterality_targets_not_met`` -> hold, naming what is missing.
6. Stages 2 and 3, ``time_at_stage``: at least ``min_days_at_stage`` days at the stage and
   no flare in the last ``window`` sessions -> advance; otherwise hold.
7. Stage 4, ``final_stage``: hold.

Practice between visits (``results.practice_dose.DoseSummary``, when the caller counted it) goes with
every proposal from rules 5 and 6 (evidence ``practice``): an advance says how much practice
stands behind it, and when stage 1's targets are not met with less practice than
``min_practice_fraction`` of the prescription (over more than the stage's first day:
``DoseSummary.too_little``), the rule is ``too_little_practice`` (hold),
its reason the practice figures before what the targets miss.

``confirm`` applies the therapist's decision and returns the audit record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gmi_vr.therapy.plan.program import Program, ProgramError, ProgressionRules, Stage
from gmi_vr.therapy.results.practice_dose import DoseSummary
from gmi_vr.therapy.results.scoring import SessionSummary, rt_norm


class Decision(StrEnum):
    """What a progression proposal or decision does: advance a stage, go back one, or hold."""
    ADVANCE = "advance"
    BACK = "back"
    HOLD = "hold"


@dataclass(frozen=True)
class ProgressionProposal:
    """The engine's proposal after a session: the stage now and proposed, the decision, the
    rule that made it, a plain reason for the therapist and the figures behind it."""
    current_stage: Stage
    proposed_stage: Stage
    decision: Decision
    rule: str  # the rule's name (module docstring)
    reason: str  # one or two plain sentences for the therapist
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)  # JSON-able figures

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (stages as numbers, the decision as its value), as the audit stores it."""
        return {
            "current_stage": int(self.current_stage), "proposed_stage": int(self.proposed_stage),
            "decision": self.decision.value, "rule": self.rule, "reason": self.reason,
            "evidence": self.evidence,
        }


def _proposal(program: Program, decision: Decision, rule: str, reason: str,
              steps: int = 0, **evidence: Any) -> ProgressionProposal:
    """A proposal ``steps`` stages from the current one (clamped to 1..4)."""
    target = Stage(min(max(int(program.stage) + steps, 1), int(max(Stage))))
    return ProgressionProposal(program.stage, target, decision, rule, reason, dict(evidence))


def _pct(x: float | None) -> str:
    return "none" if x is None else f"{x * 100:.0f} %"


def _sec(x: float | None) -> str:
    return "none" if x is None else f"{x:.2f} s"


#: What each safety rule says, by rule name (``_safety_rule``).
_SAFETY_WORDS = {
    "pain_flare": "a pain flare",
    "sickness": "cybersickness at the threshold",
    "worse_since_last": "much more pain and swelling since the session before",
}


def _safety_rule(session: SessionSummary) -> str | None:
    """The safety rule a session triggers (module docstring, rule 2), or None."""
    if session.pain_flare:
        return "pain_flare"
    if session.sickness:
        return "sickness"
    if session.since_last == "much_worse":
        return "worse_since_last"
    return None


def _falls(rules: ProgressionRules, history: Sequence[SessionSummary]) -> list[str]:
    """Falls beyond the smallest real change held in each of the last ``fall_sessions``
    sessions with laterality data against the session before them (rule 3); [] if none."""
    measured = [s for s in history if s.accuracy_left is not None and s.accuracy_right is not None]
    count = rules.fall_sessions
    if len(measured) < count + 1 or measured[-1] is not history[-1]:
        return []
    reference, recent = measured[-count - 1], measured[-count:]
    falls: list[str] = []
    for side in ("left", "right"):
        acc_before = getattr(reference, f"accuracy_{side}")
        if all(acc_before - getattr(s, f"accuracy_{side}") > rules.accuracy_fall for s in recent):
            after = ", ".join(_pct(getattr(s, f"accuracy_{side}")) for s in recent)
            falls.append(f"{side} accuracy {_pct(acc_before)} -> {after}")
        rt_before = getattr(reference, f"median_rt_{side}_s")
        rts = [getattr(s, f"median_rt_{side}_s") for s in recent]
        if rt_before is not None and all(rt is not None and rt - rt_before > rules.rt_fall_s for rt in rts):
            falls.append(f"{side} median RT {_sec(rt_before)} -> {', '.join(_sec(rt) for rt in rts)}")
    return falls


def gap_allowed_s(rules: ProgressionRules, rt_left_s: float, rt_right_s: float) -> float:
    """The left/right gap still called equal: ``rt_gap_max_s`` or ``rt_gap_max_fraction``
    of the slower side's median RT, whichever is larger (CLINICAL.md: 0.19 s or 10 % of RT)."""
    return max(rules.rt_gap_max_s, rules.rt_gap_max_fraction * max(rt_left_s, rt_right_s))


def planned_trials_per_side(program: Program) -> int:
    """Laterality trials per side a whole session of ``program`` shows (balanced blocks)."""
    return program.blocks.count("laterality") * program.laterality.trials_per_block // 2


def _laterality_misses(program: Program, s: SessionSummary) -> list[str]:
    """What one counted stage-1 session misses of the targets (rule 5); [] if it meets them."""
    rules = program.progression
    limit = rules.max_median_rt_s
    if limit is None:
        limit = rt_norm(s.body_part, program.age_years or program.age_band).limit_s
    missing: list[str] = []
    for side in ("left", "right"):
        accuracy = getattr(s, f"accuracy_{side}")
        if accuracy is None or accuracy < rules.accuracy_target:
            missing.append(f"{s.date}: {side} accuracy {_pct(accuracy)} < {_pct(rules.accuracy_target)}")
        rt = getattr(s, f"median_rt_{side}_s")
        if rt is None or rt > limit:
            missing.append(f"{s.date}: {side} median RT {_sec(rt)} > {_sec(limit)} (the {s.body_part.value} norm)")
    if s.median_rt_left_s is None or s.median_rt_right_s is None:
        missing.append(f"{s.date}: left/right RT gap none")
    else:
        allowed = gap_allowed_s(rules, s.median_rt_left_s, s.median_rt_right_s)
        gap = abs(s.median_rt_right_s - s.median_rt_left_s)
        if gap > allowed + 1e-9:
            missing.append(f"{s.date}: left/right RT gap {_sec(gap)} > {_sec(allowed)}")
    return missing


def _practice_words(dose: DoseSummary | None) -> str:
    """The practice sentence a proposal's reason ends with, or "" with no count."""
    return "" if dose is None else f" Practice between visits {dose.describe()}."


def _practice_evidence(dose: DoseSummary | None) -> dict[str, Any]:
    return {} if dose is None else {"practice": dose.to_dict()}


def _laterality_proposal(program: Program, run: Sequence[SessionSummary],
                         dose: DoseSummary | None = None) -> ProgressionProposal:
    """Rule 5 over the latest unbroken run of sessions at stage 1."""
    rules = program.progression
    enough = rules.min_trials_per_side
    counted = [s for s in run if min(s.n_left, s.n_right) >= enough]
    too_short = len(run) - len(counted)
    met: list[SessionSummary] = []
    latest_misses: list[str] = []
    for s in reversed(counted):
        misses = _laterality_misses(program, s)
        if misses:
            if not met:
                latest_misses = misses
            break
        met.insert(0, s)
    span = (met[-1].day - met[0].day).days if met else 0
    sessions = [s.to_dict() for s in met or counted[-1:]]
    if latest_misses or len(met) < rules.window or span < rules.min_span_days:
        missing = list(latest_misses)
        if not latest_misses:
            missing.append(f"targets met in {len(met)} of {rules.window} sessions in a row, over "
                           f"{span} of {rules.min_span_days} days")
        if too_short:
            missing.append(f"{too_short} session(s) had fewer than {enough} trials per side and do not count")
        planned = planned_trials_per_side(program)
        if planned < enough:
            missing.append(f"the program's blocks give {planned} trials per side: add a laterality block "
                           "or raise laterality.trials_per_block")
        if dose is not None and dose.too_little(rules):
            return _proposal(
                program, Decision.HOLD, "too_little_practice",
                f"Stay at stage 1: too little practice between visits to expect progress ({dose.describe()}; "
                f"under {_pct(rules.min_practice_fraction)} of the prescription); the targets are not met: "
                + "; ".join(missing) + ".", sessions=sessions, missing=missing, **_practice_evidence(dose),
            )  # fmt: skip
        return _proposal(
            program, Decision.HOLD, "laterality_targets_not_met",
            "Stay at stage 1: " + "; ".join(missing) + "." + _practice_words(dose), sessions=sessions,
            missing=missing, **_practice_evidence(dose),
        )
    return _proposal(
        program, Decision.ADVANCE, "laterality_targets_met",
        f"In the last {len(met)} sessions, over {span} days, both sides reached "
        f"{_pct(rules.accuracy_target)} accuracy and the norm's speed with at least {enough} "
        "trials per side, and the two sides were equally fast: move on to explicit motor imagery."
        + _practice_words(dose), steps=1, sessions=sessions, **_practice_evidence(dose),
    )


def evaluate_progression(
    program: Program, history: Sequence[SessionSummary], dose: DoseSummary | None = None
) -> ProgressionProposal:
    """The progression proposal for ``program`` after ``history`` (finished sessions, oldest
    first): the rules of the module docstring applied to the current stage; ``dose``: the
    practice between visits at the current stage, None when not counted."""
    rules = program.progression
    stage = program.stage
    if not history:
        return _proposal(program, Decision.HOLD, "no_history", "No sessions yet: stay at this stage.")
    latest = history[-1]

    rule = _safety_rule(latest)
    if rule is not None:
        cause = _SAFETY_WORDS[rule]
        figures: dict[str, Any] = {"pain_first": latest.pain_first, "pain_last": latest.pain_last,
                   "sickness": latest.sickness, "since_last": latest.since_last}  # fmt: skip
        if stage is Stage.LATERALITY:
            return _proposal(
                program, Decision.HOLD, rule,
                f"The last session ({latest.date}) had {cause}; stage 1 is the first stage, so "
                "stay, and consider a more distant body part (foot, shoulder).", **figures,
            )
        return _proposal(
            program, Decision.BACK, rule,
            f"The last session ({latest.date}) had {cause}: go back {rules.steps_back} stage(s).",
            steps=-rules.steps_back, **figures,
        )

    falls = _falls(rules, history)
    if falls:
        what = "; ".join(falls)
        if stage is Stage.LATERALITY:
            return _proposal(
                program, Decision.HOLD, "performance_fall",
                f"Performance fell beyond the smallest real change in {rules.fall_sessions} "
                f"sessions running ({what}); stage 1 is the first stage, so stay.", falls=falls,
            )
        return _proposal(
            program, Decision.BACK, "performance_fall",
            f"Performance fell beyond the smallest real change in {rules.fall_sessions} sessions "
            f"running ({what}): go back {rules.steps_back} stage(s).", steps=-rules.steps_back,
            falls=falls,
        )

    if latest.since_last == "worse":
        return _proposal(
            program, Decision.HOLD, "worse_since_last",
            f"At the start of the last session ({latest.date}) pain and swelling were worse than "
            "after the session before: stay at this stage.", since_last=latest.since_last,
        )

    # The latest unbroken run of sessions at the current stage (a stage change restarts it).
    run: list[SessionSummary] = []
    for s in reversed(history):
        if s.stage is not stage:
            break
        run.insert(0, s)

    if stage is Stage.LATERALITY:
        return _laterality_proposal(program, run, dose)

    if stage is Stage.GRADED_MOVEMENT:
        return _proposal(program, Decision.HOLD, "final_stage",
                         "Graded movement is the last stage: continue it.")

    if not run:
        return _proposal(program, Decision.HOLD, "time_at_stage",
                         f"No session at stage {int(stage)} yet: stay.")
    days = (run[-1].day - run[0].day).days
    flares = [s.date for s in history[-rules.window:] if s.flare]
    if days >= rules.min_days_at_stage and not flares:
        return _proposal(
            program, Decision.ADVANCE, "time_at_stage",
            f"{days} days at stage {int(stage)} (at least {rules.min_days_at_stage}) with no "
            f"flare in the last {rules.window} sessions: move on." + _practice_words(dose), steps=1,
            days=days, **_practice_evidence(dose),
        )
    reason = f"{days} of {rules.min_days_at_stage} days at stage {int(stage)}"
    if flares:
        reason += f"; flare(s) on {', '.join(flares)}"
    return _proposal(program, Decision.HOLD, "time_at_stage", f"Stay: {reason}." + _practice_words(dose),
                     days=days, **_practice_evidence(dose))  # fmt: skip


@dataclass(frozen=True)
class StageDecision:
    """Audit record of the therapist's decision on a proposal."""

    at: str  # ISO time, given by the caller
    therapist: str
    outcome: str  # "accepted", "rejected" or "overridden"
    stage_before: int
    stage_after: int
    note: str
    proposal: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the decision, as the audit stores it."""
        return dataclasses.asdict(self)


def confirm(
    program: Program,
    proposal: ProgressionProposal,
    therapist: str,
    at: str,
    accept: bool = True,
    override_stage: Stage | int | None = None,
    note: str = "",
) -> tuple[Program, StageDecision]:
    """Apply the therapist's decision: ``accept`` the proposal, reject it (``accept=False``:
    the stage stays), or set ``override_stage`` (a note saying why is required)."""
    if not therapist.strip():
        raise ProgramError("Name the therapist who decides; the decision is kept for the audit trail.")
    if proposal.current_stage != program.stage:
        raise ProgramError(
            "This proposal was made for another stage than the patient's current one; evaluate again."
        )
    if override_stage is not None:
        try:
            new_stage = Stage(int(override_stage))
        except ValueError:
            raise ProgramError(f"Stage {override_stage} does not exist; use 1 to 4.") from None
        if not note.strip():
            raise ProgramError("Say why the proposal is overridden; the note is kept for the audit trail.")
        outcome = "overridden"
    elif accept:
        new_stage, outcome = proposal.proposed_stage, "accepted"
    else:
        new_stage, outcome = program.stage, "rejected"
    decision = StageDecision(at, therapist, outcome, int(program.stage), int(new_stage), note,
                             proposal.to_dict())
    return dataclasses.replace(program, stage=new_stage), decision
