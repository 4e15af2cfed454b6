"""Progression between sessions, from what the store holds: the engine proposes
(``therapy.progression``), the therapist decides, and both go to the audit trail.

Which sessions count (``history_sessions``):

- "completed", "ended_early" and "safety_stop" sessions (and "stopped" ones, from stores
  written before these names): the session ran and ended in order. Its status and reason
  say why it ended, and only a safety event in it (a pain flare, sickness, much more pain
  and swelling since the session before) steps back; a patient's or therapist's stop, a
  break, the time cap or the headset taken off are not failures (``therapy.progression``);
- "interrupted" (the app crashed) and "aborted" (an error ended it) sessions count only when
  they recorded such a safety event: their partial trials are no fair measure of
  performance, but a flare must never be forgotten because the program crashed after it;
- a session with no work in it (no trial and no repetition stored: "not_started", or one
  written before that status existed) counts only for a safety event in it, like a broken
  one: a three-second session is not one of the "sessions at this stage" the rules count;
- a "running" session (the one in progress, or a live one on another station) never counts.

Practice between visits (``practice_records``, ``patient_dose``): a session at station
"home" or in mode "desktop" is practice; any other is a clinic visit. A practice session
counts for the dose with the minutes of its task blocks whatever its status (minutes done are
done), except a "running" one; the dose goes to the engine with the history.

A summary is rebuilt from the stored trials, ratings and events of the session and the
program it ran with (kept in its settings), exactly as ``SessionRunner.summary`` computes it
live, so a proposal can be made again for any past session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from gmi_vr.core.errors import GmiError
from gmi_vr.core.types import Side
from gmi_vr.recording.rows import SessionInfo, StoredTrial
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.figures_data import is_practice, practice_record, session_point, therapy_trial
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError
from gmi_vr.therapy.progression import ProgressionProposal, confirm, evaluate_progression
from gmi_vr.therapy.results.practice_dose import (
    DoseSummary,
    PracticeRecord,
    count_dose,
    dose_window,
)
from gmi_vr.therapy.results.scoring import SessionSummary, summarize_session
from gmi_vr.therapy.results.task_records import STORAGE_PHASE, RatingRecord, TrialRecord
from gmi_vr.therapy.tasks.checks import FMS, SINCE_LAST

log = logging.getLogger("gmi_vr.review")

#: Who the automatic proposal at the end of a session is audited as (no person decided it).
ENGINE_ACTOR = "gmi-vr"
FINISHED = ("completed", "ended_early", "safety_stop", "stopped")
#: Sessions that ended badly or never began: kept only for the safety events they hold
#: (module docstring).
BROKEN = ("interrupted", "aborted", "not_started")
#: The store's rating phases back to the runner's moments.
_MOMENT = {phase: moment for moment, phase in STORAGE_PHASE.items()}


def _session_program(store: SessionStore, session: SessionInfo) -> Program:
    """The program the session ran with (kept in its settings by ``session_pipeline``)."""
    data = (session.settings or {}).get("program")
    if not data:
        raise ProgramError(
            f"Session {session.id} kept no program in its settings, so it cannot be scored; "
            "it was not recorded by a patient's session run."
        )
    return Program.from_dict(data)


def _therapy_trial(session_id: int, row: StoredTrial) -> TrialRecord:
    """A stored laterality trial row back as the record the task produced; a row without
    its stimulus makes the session unscorable (one sentence, not a guess)."""
    trial = therapy_trial(row)
    if trial is None:
        raise ProgramError(
            f"Trial {row.seq} of session {session_id} has no stimulus (body part, side, rotation), "
            "so the session cannot be scored; export it to check the record."
        )
    return trial


def patient_program(store: SessionStore, patient_id: str) -> Program:
    """The patient's current program (the cited defaults if none was stored)."""
    patient = store.patient(patient_id)
    if patient.program:
        return Program.from_dict(patient.program)
    return Program.default(Side(patient.affected_side), BodyPart(patient.body_part))


def session_summary(store: SessionStore, session_id: int) -> SessionSummary:
    """What progression needs from one stored session (any past one, not only the live run).

    Trials: the laterality trial rows. Ratings: in frame-clock order; a rating typed in later
    for the session (no frame time) comes after them. Patient stop: a "safety.stop" event by
    the patient. Sickness: an FMS answer at the program's threshold. Since last time: the
    start-of-session check's answer. Date: the session's start (UTC), as the runner is given it.
    """
    session = store.session(session_id)
    program = _session_program(store, session)
    trials = [_therapy_trial(session_id, t) for t in store.trials(session_id) if t.kind == "laterality"]
    stored = store.ratings(session_id=session_id)
    timed = sorted((r for r in stored if r.time_s is not None), key=lambda r: float(r.time_s or 0.0))
    late = [r for r in stored if r.time_s is None]
    last_time = float(timed[-1].time_s or 0.0) if timed else 0.0
    ratings = [
        RatingRecord(float(r.time_s) if r.time_s is not None else last_time + 1.0 + i,
                     r.value, _MOMENT[r.phase], r.source)
        for i, r in enumerate(timed + late)
    ]  # fmt: skip
    events = store.events(session_id)
    patient_stop = any(e.kind == "safety.stop" and e.data.get("by") == "patient" for e in events)
    sickness = any(e.kind == FMS.event_kind and int(e.data.get("value", 0)) >= program.safety.fms_threshold
                   for e in events)  # fmt: skip
    since_last = next((str(e.data["answer"]) for e in events if e.kind == SINCE_LAST.event_kind), None)
    return summarize_session(program, session.started_at.astimezone(UTC).date().isoformat(),
                             trials, ratings, patient_stop, sickness, since_last)  # fmt: skip


def history_sessions(store: SessionStore, patient_id: str) -> list[tuple[SessionInfo, SessionSummary]]:
    """The patient's sessions that count for progression, oldest first, with their summaries
    (which sessions count: module docstring)."""
    store.patient(patient_id)  # NotFoundError for an unknown patient, in one sentence
    out: list[tuple[SessionInfo, SessionSummary]] = []
    for session in store.list_sessions(patient_id):
        if session.status not in FINISHED + BROKEN:
            continue
        if not (session.settings or {}).get("program"):
            continue  # not a therapy session (nothing to score)
        summary = session_summary(store, session.id)
        if (session.status in BROKEN or not has_work(store, session.id)) and not summary.flare:
            continue
        out.append((session, summary))
    return out


def has_work(store: SessionStore, session_id: int) -> bool:
    """Did the patient do any of the session's work (a trial or a repetition is stored)?"""
    return bool(store.trials(session_id)) or bool(store.repetitions(session_id))


def _day(session: SessionInfo) -> date:
    return session.started_at.astimezone(UTC).date()


def practice_records(store: SessionStore, patient_id: str, first_day: date | None = None,
                     last_day: date | None = None) -> list[tuple[SessionInfo, PracticeRecord]]:
    """The patient's practice sessions with time in a task block, oldest first; only those
    started (UTC day) from ``first_day`` to ``last_day`` when given (the others are not read)."""
    out: list[tuple[SessionInfo, PracticeRecord]] = []
    for session in store.list_sessions(patient_id):
        if session.status == "running" or not is_practice(session):
            continue
        if (first_day is not None and _day(session) < first_day) or (last_day is not None and _day(session) > last_day):
            continue
        record = practice_record(session_point(store, session)[0])
        if record is not None:
            out.append((session, record))
    return out


def patient_dose(store: SessionStore, patient_id: str, program: Program,
                 history: list[tuple[SessionInfo, SessionSummary]] | None = None) -> DoseSummary | None:
    """Practice at the program's stage against its prescription over the last
    ``progression.practice_days`` days to the latest session (clinic or home), from the day
    the latest run of sessions at the stage began; None before any session."""
    sessions = [s for s in store.list_sessions(patient_id) if s.status != "running"]
    if not sessions:
        return None
    if history is None:
        history = history_sessions(store, patient_id)
    run_began: date | None = None
    for session, summary in reversed(history):
        if summary.stage is not program.stage:
            break
        run_began = _day(session)
    first, last = dose_window(program.progression, max(_day(s) for s in sessions), run_began)
    visits = sum(1 for s in sessions if not is_practice(s) and first <= _day(s) <= last)
    practice = [record for _, record in practice_records(store, patient_id, first, last)]
    return count_dose(program.practice.for_stage(program.stage), practice, first, last, visits)


def propose(store: SessionStore, patient_id: str) -> ProgressionProposal:
    """The engine's proposal for the patient's current program over their finished sessions,
    with the practice between visits that stands behind it."""
    program = patient_program(store, patient_id)
    history = history_sessions(store, patient_id)
    dose = patient_dose(store, patient_id, program, history)
    proposal = evaluate_progression(program, [summary for _, summary in history], dose)
    evidence = {**proposal.evidence, "session_ids": [s.id for s, _ in history],
                "practice_session_ids": [s.id for s, _ in history if is_practice(s)],
                "latest": history[-1][1].to_dict() if history else None}  # fmt: skip
    return ProgressionProposal(proposal.current_stage, proposal.proposed_stage, proposal.decision,
                               proposal.rule, proposal.reason, evidence)  # fmt: skip


def audit_proposal(store: SessionStore, patient_id: str, actor: str = ENGINE_ACTOR,
                   session_id: int | None = None) -> ProgressionProposal:
    """Make the proposal and keep it in the audit trail (``progression.proposal``)."""
    proposal = propose(store, patient_id)
    store.audit(actor, "progression.proposal", patient_id=patient_id, session_id=session_id,
                details=proposal.to_dict())  # fmt: skip
    return proposal


def propose_after_session(store: SessionStore, patient_id: str, session_id: int | None) -> None:
    """At the end of a session: audit the proposal so the therapist finds it next time. A
    failure here is logged, never raised: the session itself is already safely recorded."""
    if not store.writable:
        return
    try:
        audit_proposal(store, patient_id, session_id=session_id)
    except GmiError as error:
        log.warning("No progression proposal after session %s: %s", session_id, error)


def decide(store: SessionStore, patient_id: str, therapist: str, accept: bool,
           override_stage: int | None, reason: str) -> Program:
    """The therapist's decision on the current proposal: accept it (``accept=True``), reject
    it (the stage stays), or set ``override_stage`` (a reason is then required). The new
    program is stored; the proposal decided on and the decision are both audited."""
    program = patient_program(store, patient_id)
    proposal = propose(store, patient_id)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    new_program, decision = confirm(program, proposal, therapist, at, accept=accept,
                                    override_stage=override_stage, note=reason)  # fmt: skip
    # The proposal decided on, as the engine made it (it may differ from the one audited at
    # the end of the last session when sessions or the program changed since).
    store.audit(ENGINE_ACTOR, "progression.proposal", patient_id=patient_id, details=proposal.to_dict())
    store.set_program(patient_id, new_program.to_dict())
    details: dict[str, Any] = decision.to_dict()
    store.audit(therapist, "progression.decision", patient_id=patient_id, details=details)
    return new_program


#: What the therapist is told when a stage decision comes without a reason.
REASON_NEEDED = "Say why the stage is decided (a reason); the decision is kept in the audit trail."


@dataclass
class StageDecider:
    """The stage decision after a session as the console takes it: the same ``propose`` and
    ``decide`` as ``gmi-vr patients progress``, for ``patient_id``, decided by ``therapist``."""

    store: SessionStore
    patient_id: str
    therapist: str

    def proposal(self) -> ProgressionProposal:
        """The engine's proposal for the patient now, from the stored sessions."""
        return propose(self.store, self.patient_id)

    def decide(self, what: str, stage: int | None, reason: str) -> Program:
        """``what``: "accept" the proposal, "reject" it (the stage stays), or "stage" (set
        ``stage``). Raises GmiError without a reason, ProgramError for a stage out of range."""
        if not reason.strip():
            raise GmiError(REASON_NEEDED)
        return decide(self.store, self.patient_id, self.therapist, accept=what == "accept",
                      override_stage=stage if what == "stage" else None, reason=reason)  # fmt: skip
