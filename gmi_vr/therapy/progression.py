"""Progression between the GMI stages: the engine proposes, the therapist decides.

Rules, checked in this order on the history of finished sessions (oldest first); the first
that applies gives the proposal (parameters from ``Program.progression``):

1. ``no_history``: no sessions yet -> hold.
2. ``pain_flare``: the latest session had a pain flare or a patient stop -> back
   ``steps_back`` stages (at stage 1: hold, and suggest a more distant body part).
3. ``performance_fall``: on either side, accuracy fell by more than ``accuracy_fall`` or
   median RT rose by more than ``rt_fall_s`` from the previous session with laterality data
   to the latest -> back (at stage 1: hold).
4. Stage 1, ``laterality_targets_met``: each of the last ``window`` sessions at stage 1 has
   accuracy >= ``accuracy_target`` on both sides and a left/right median-RT gap
   <= ``rt_gap_max_s`` (and both medians <= ``max_median_rt_s`` when set) -> advance to 2;
   otherwise ``laterality_targets_not_met`` -> hold, naming what is missing.
5. Stages 2 and 3, ``time_at_stage``: at least ``min_days_at_stage`` days at the stage and
   no flare in the last ``window`` sessions -> advance; otherwise hold.
6. Stage 4, ``final_stage``: hold.

``confirm`` applies the therapist's decision and returns the audit record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gmi_vr.therapy.program import Program, ProgramError, Stage
from gmi_vr.therapy.scoring import SessionSummary


class Decision(StrEnum):
    ADVANCE = "advance"
    BACK = "back"
    HOLD = "hold"


@dataclass(frozen=True)
class ProgressionProposal:
    current_stage: Stage
    proposed_stage: Stage
    decision: Decision
    rule: str  # the rule's name (module docstring)
    reason: str  # one or two plain sentences for the therapist
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)  # JSON-able figures

    def to_dict(self) -> dict[str, Any]:
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


def evaluate_progression(
    program: Program, history: Sequence[SessionSummary]
) -> ProgressionProposal:
    rules = program.progression
    stage = program.stage
    if not history:
        return _proposal(program, Decision.HOLD, "no_history", "No sessions yet: stay at this stage.")
    latest = history[-1]

    if latest.flare:
        cause = "a patient stop" if latest.patient_stop and not latest.pain_flare else "a pain flare"
        if stage is Stage.LATERALITY:
            return _proposal(
                program, Decision.HOLD, "pain_flare",
                f"The last session ({latest.date}) had {cause}; stage 1 is the first stage, so "
                "stay, and consider a more distant body part (foot, shoulder).",
                pain_first=latest.pain_first, pain_last=latest.pain_last,
            )
        return _proposal(
            program, Decision.BACK, "pain_flare",
            f"The last session ({latest.date}) had {cause}: go back {rules.steps_back} stage(s).",
            steps=-rules.steps_back, pain_first=latest.pain_first, pain_last=latest.pain_last,
        )

    measured = [s for s in history if s.accuracy_left is not None and s.accuracy_right is not None]
    if len(measured) >= 2 and measured[-1] is latest:
        previous = measured[-2]
        falls: list[str] = []
        for side in ("left", "right"):
            acc_before = getattr(previous, f"accuracy_{side}")
            acc_now = getattr(latest, f"accuracy_{side}")
            if acc_before - acc_now > rules.accuracy_fall:
                falls.append(f"{side} accuracy {_pct(acc_before)} -> {_pct(acc_now)}")
            rt_before = getattr(previous, f"median_rt_{side}_s")
            rt_now = getattr(latest, f"median_rt_{side}_s")
            if rt_before is not None and rt_now is not None and rt_now - rt_before > rules.rt_fall_s:
                falls.append(f"{side} median RT {_sec(rt_before)} -> {_sec(rt_now)}")
        if falls:
            what = "; ".join(falls)
            if stage is Stage.LATERALITY:
                return _proposal(
                    program, Decision.HOLD, "performance_fall",
                    f"Performance fell beyond the smallest real change ({what}); stage 1 is "
                    "the first stage, so stay.", falls=falls,
                )
            return _proposal(
                program, Decision.BACK, "performance_fall",
                f"Performance fell beyond the smallest real change ({what}): go back "
                f"{rules.steps_back} stage(s).", steps=-rules.steps_back, falls=falls,
            )

    # The latest unbroken run of sessions at the current stage (a stage change restarts it).
    run: list[SessionSummary] = []
    for s in reversed(history):
        if s.stage is not stage:
            break
        run.insert(0, s)

    if stage is Stage.LATERALITY:
        window = run[-rules.window:]
        missing: list[str] = []
        if len(window) < rules.window:
            missing.append(f"{len(window)} of {rules.window} sessions at stage 1 so far")
        for s in window:
            for side in ("left", "right"):
                accuracy = getattr(s, f"accuracy_{side}")
                if accuracy is None or accuracy < rules.accuracy_target:
                    missing.append(f"{s.date}: {side} accuracy {_pct(accuracy)} "
                                   f"< {_pct(rules.accuracy_target)}")
                rt = getattr(s, f"median_rt_{side}_s")
                if rules.max_median_rt_s is not None and (rt is None or rt > rules.max_median_rt_s):
                    missing.append(f"{s.date}: {side} median RT {_sec(rt)} > {_sec(rules.max_median_rt_s)}")
            gap = s.rt_gap_s
            if gap is None or gap > rules.rt_gap_max_s:
                missing.append(f"{s.date}: left/right RT gap {_sec(gap)} > {_sec(rules.rt_gap_max_s)}")
        sessions = [s.to_dict() for s in window]
        if missing:
            return _proposal(
                program, Decision.HOLD, "laterality_targets_not_met",
                "Stay at stage 1: " + "; ".join(missing) + ".", sessions=sessions, missing=missing,
            )
        return _proposal(
            program, Decision.ADVANCE, "laterality_targets_met",
            f"In each of the last {rules.window} sessions both sides reached "
            f"{_pct(rules.accuracy_target)} accuracy and the left/right RT gap stayed within "
            f"{_sec(rules.rt_gap_max_s)}: move on to explicit motor imagery.", steps=1, sessions=sessions,
        )

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
            f"flare in the last {rules.window} sessions: move on.", steps=1, days=days,
        )
    reason = f"{days} of {rules.min_days_at_stage} days at stage {int(stage)}"
    if flares:
        reason += f"; flare(s) on {', '.join(flares)}"
    return _proposal(program, Decision.HOLD, "time_at_stage", f"Stay: {reason}.", days=days)


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
