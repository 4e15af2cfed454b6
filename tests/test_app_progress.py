"""Progression from stored sessions on a real SQLite store: the proposal after each session,
the therapist's decision, both in the audit trail; the same through the gmi-vr command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from support.cli import gmi_vr
from support.clinic_store import store_with_patient

from gmi_vr.app.patients import edit_patient_program, patient_program
from gmi_vr.app.pipeline import store_record
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.core.errors import NotFoundError
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side
from gmi_vr.recording import schema
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import decide, history_sessions, propose, session_summary
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, Stage
from gmi_vr.therapy.progression import Decision
from gmi_vr.therapy.results.task_records import RatingRecord, TrialRecord
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionStore]:
    with store_with_patient(tmp_path, monkeypatch, "P-1", age_years=50) as opened:
        yield opened


def trials(side: Side, n: int, n_correct: int, rt_s: float, start_s: float = 0.0) -> list[TrialRecord]:
    """``n`` trials of one side, the first ``n_correct`` answered correctly after ``rt_s``."""
    out = []
    for i in range(n):
        correct = i < n_correct
        shown = start_s + 3.0 * i
        answer = side if correct else side.other
        out.append(TrialRecord(
            block_index=0, trial_index=i, seed=7, body_part=BodyPart.HAND, side=side,
            rotation_deg=90 * (i % 4), view="back", context="none", mesh="stimuli/hand_left",
            reflected=False, shown_at_s=shown, answer=answer, answered_by=f"{answer.value}.trigger_click",
            answered_at_s=shown + rt_s, rt_s=rt_s, correct=correct, timed_out=False, rt_source="input",
        ))  # fmt: skip
    return out


def record(store: SessionStore, program: Program, *, left: tuple[int, int, float],
           right: tuple[int, int, float], pain: tuple[int, ...] = (3, 3), patient_stop: bool = False,
           status: str = "completed", day: int = 0) -> int:
    """A session recorded through the real recorder: laterality trials per side given as
    (n, n correct, RT s), pain ratings in order (first at the start, last at the end). Its
    start is moved to ``day`` days after 2026-01-05 (progression counts days)."""
    recorder = store.start_session("P-1", source="sim", settings={"program": program.to_dict(), "seed": 7})
    recorder.record_event(Event(0.0, "session.start", {"seed": 7}))
    for record_ in trials(Side.LEFT, *left) + trials(Side.RIGHT, *right, start_s=100.0):
        store_record(recorder, record_)
    moments = ["start"] + ["on_demand"] * (len(pain) - 2) + ["end"] if len(pain) > 1 else ["start"]
    for i, (value, moment) in enumerate(zip(pain, moments, strict=True)):
        store_record(recorder, RatingRecord(1.0 + 200.0 * i, value, moment, "patient"))
    if patient_stop:
        recorder.record_event(Event(150.0, "safety.stop", {"by": "patient", "input": "menu"}))
    recorder.finish(status)
    assert recorder.session_id is not None
    started = datetime(2026, 1, 5, 10, 0, tzinfo=UTC) + timedelta(days=day, seconds=recorder.session_id)
    with store.engine.begin() as connection:
        connection.execute(update(schema.Session).where(schema.Session.id == recorder.session_id)
                           .values(started_at=started))
    return recorder.session_id


GOOD = {"left": (50, 45, 1.1), "right": (50, 45, 1.25)}  # 90 % both sides, gap 0.15 s, 50 per side
FEW = {"left": (4, 4, 1.0), "right": (4, 4, 1.0)}  # all correct, but too few trials for the targets
WEEK = (0, 3, 7)  # three sessions spread over 7 days


def at_stage(store: SessionStore, stage: int, reason: str) -> Program:
    """P-1's program once the therapist has moved them to ``stage`` for ``reason``."""
    edit_patient_program(store, "P-1", {"stage": stage}, therapist="t.one", reason=reason)
    return patient_program(store, "P-1")


def record_a_week(store: SessionStore, *, left: tuple[int, int, float] = GOOD["left"],
                  right: tuple[int, int, float] = GOOD["right"]) -> list[int]:
    """P-1's sessions on each day of ``WEEK`` with these laterality results per side (n, n
    correct, RT s; ``GOOD`` unless given); their ids."""
    program = patient_program(store, "P-1")
    return [record(store, program, left=left, right=right, day=day) for day in WEEK]


def test_three_sessions_meeting_the_targets_over_a_week_propose_stage_2(store: SessionStore) -> None:
    ids = record_a_week(store)
    summary = session_summary(store, ids[-1])
    assert (summary.accuracy_left, summary.accuracy_right) == (0.9, 0.9)
    assert summary.rt_gap_s == pytest.approx(0.15)
    assert summary.stage is Stage.LATERALITY and (summary.n_left, summary.n_right) == (50, 50)

    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.ADVANCE and proposal.rule == "laterality_targets_met"
    assert int(proposal.proposed_stage) == 2
    assert proposal.evidence["session_ids"] == ids


def test_three_good_sessions_on_one_day_hold(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    for _ in range(3):
        record(store, program, **GOOD)
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.HOLD
    assert "3 of 3 sessions in a row, over 0 of 7 days" in proposal.reason


def test_fewer_sessions_than_the_window_hold(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    record(store, program, **GOOD, day=0)
    record(store, program, **GOOD, day=7)
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.HOLD
    assert "2 of 3 sessions in a row" in proposal.reason


def test_short_blocks_do_not_count(store: SessionStore) -> None:
    """The norm studies used 40 images per side: 39 on a side is too noisy a median."""
    record_a_week(store, left=(39, 38, 1.1), right=(50, 48, 1.2))
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.HOLD
    assert "3 session(s) had fewer than 40 trials per side" in proposal.reason


def test_accuracy_under_80_percent_holds_and_says_which_side(store: SessionStore) -> None:
    record_a_week(store, left=(50, 35, 1.1), right=(50, 45, 1.2))
    proposal = propose(store, "P-1")
    # No practice between visits is recorded: that is the reason named first, then the targets.
    assert proposal.decision is Decision.HOLD and proposal.rule == "too_little_practice"
    assert "left accuracy 70 % < 80 %" in proposal.reason
    assert "right accuracy" not in proposal.reason


def test_a_left_right_rt_gap_beyond_the_smallest_real_change_holds(store: SessionStore) -> None:
    record_a_week(store, left=(50, 50, 1.5), right=(50, 50, 1.75))  # gap 0.25 s
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.HOLD and proposal.rule == "too_little_practice"  # none recorded
    assert "left/right RT gap 0.25 s > 0.19 s" in proposal.reason


def test_a_pain_flare_proposes_one_stage_back(store: SessionStore) -> None:
    program = at_stage(store, 2, "skipped stage 1")
    record(store, program, **FEW, pain=(3, 3))
    record(store, program, **FEW, pain=(3, 6, 6))  # +3: a flare
    summary = session_summary(store, history_sessions(store, "P-1")[-1][0].id)
    assert summary.pain_flare and (summary.pain_first, summary.pain_last) == (3, 6)
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.BACK and proposal.rule == "pain_flare"
    assert int(proposal.proposed_stage) == 1


def test_a_patient_stop_is_not_a_failure(store: SessionStore) -> None:
    """CLINICAL.md: a stop for another reason than a flare (fatigue, a break) does not demote."""
    program = at_stage(store, 3, "skipped")
    record(store, program, **FEW, day=0)
    stopped = record(store, program, **FEW, patient_stop=True, status="safety_stop", day=14)
    assert session_summary(store, stopped).patient_stop
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.ADVANCE and proposal.rule == "time_at_stage"
    assert int(proposal.proposed_stage) == 4


def test_an_aborted_session_counts_only_for_its_flare(store: SessionStore) -> None:
    program = at_stage(store, 2, "skipped")
    good = record(store, program, **FEW)
    record(store, program, left=(1, 0, 1.0), right=(1, 0, 1.0), status="aborted")  # no flare
    assert [s.id for s, _ in history_sessions(store, "P-1")] == [good]
    assert propose(store, "P-1").decision is Decision.HOLD
    flared = record(store, program, left=(1, 1, 1.0), right=(1, 1, 1.0), pain=(2, 5), status="aborted")
    assert [s.id for s, _ in history_sessions(store, "P-1")] == [good, flared]
    assert propose(store, "P-1").decision is Decision.BACK


@pytest.mark.parametrize("status", ["not_started", "completed", "ended_early"])
def test_a_session_with_no_work_in_it_is_not_one_of_the_sessions_that_count(
        store: SessionStore, status: str) -> None:
    """Two good sessions and a three-second one with no trial (as "completed" was written
    for it before statuses were true): the window still holds two sessions, not three."""
    program = patient_program(store, "P-1")
    good = [record(store, program, **GOOD, day=day) for day in (0, 7)]
    record(store, program, left=(0, 0, 1.0), right=(0, 0, 1.0), pain=(3,), status=status, day=8)
    assert [s.id for s, _ in history_sessions(store, "P-1")] == good
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.HOLD and "2 of 3 sessions in a row" in proposal.reason
    assert proposal.evidence["session_ids"] == good


def test_a_session_stopped_for_safety_before_any_trial_still_counts_for_its_flare(store: SessionStore) -> None:
    program = at_stage(store, 3, "skipped")
    record(store, program, **GOOD)
    stopped = record(store, program, left=(0, 0, 1.0), right=(0, 0, 1.0), pain=(3, 6),
                     status="safety_stop")  # fmt: skip
    assert history_sessions(store, "P-1")[-1][0].id == stopped
    assert propose(store, "P-1").decision is Decision.BACK
    # A patient's stop before any trial, with no flare, is no session that counts.
    record(store, program, left=(0, 0, 1.0), right=(0, 0, 1.0), pain=(3,), patient_stop=True,
           status="safety_stop")
    assert history_sessions(store, "P-1")[-1][0].id == stopped


def test_accepting_stores_the_new_stage_and_audits_proposal_and_decision(store: SessionStore) -> None:
    record_a_week(store)
    new = decide(store, "P-1", "t.two", accept=True, override_stage=None, reason="targets met twice over")
    assert int(new.stage) == 2 and int(patient_program(store, "P-1").stage) == 2
    trail = [a for a in store.audit_trail("P-1") if a.action.startswith("progression.")]
    assert [a.action for a in trail] == ["progression.proposal", "progression.decision"]
    proposal, decision = (a.details or {} for a in trail)
    assert proposal["decision"] == "advance" and proposal["proposed_stage"] == 2
    assert decision["outcome"] == "accepted" and decision["therapist"] == "t.two"
    assert (decision["stage_before"], decision["stage_after"]) == (1, 2)
    assert decision["note"] == "targets met twice over" and trail[1].actor == "t.two"
    assert trail[0].actor == "gmi-vr" and decision["proposal"] == proposal


def test_an_override_sets_the_therapists_stage_and_needs_a_reason(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    record(store, program, **GOOD)  # one session: the engine says hold
    assert propose(store, "P-1").decision is Decision.HOLD
    with pytest.raises(ProgramError, match="Say why"):
        decide(store, "P-1", "t.two", accept=False, override_stage=3, reason=" ")
    assert int(patient_program(store, "P-1").stage) == 1  # nothing stored
    assert not [a for a in store.audit_trail("P-1") if a.action == "progression.decision"]

    new = decide(store, "P-1", "t.two", accept=False, override_stage=3, reason="did stage 2 elsewhere")
    assert int(new.stage) == 3 and int(patient_program(store, "P-1").stage) == 3
    (decision,) = [a.details for a in store.audit_trail("P-1") if a.action == "progression.decision"]
    assert decision is not None and decision["outcome"] == "overridden"
    assert decision["proposal"]["decision"] == "hold" and decision["stage_after"] == 3


def test_rejecting_keeps_the_stage_and_is_audited(store: SessionStore) -> None:
    record_a_week(store)
    new = decide(store, "P-1", "t.two", accept=False, override_stage=None, reason="wants one more week")
    assert int(new.stage) == 1
    (decision,) = [a.details for a in store.audit_trail("P-1") if a.action == "progression.decision"]
    assert decision is not None and decision["outcome"] == "rejected"


def test_an_unknown_patient_is_one_sentence(store: SessionStore) -> None:
    with pytest.raises(NotFoundError, match=r"^No patient P-404 in .*; list patients or check the id\.$"):
        propose(store, "P-404")
    with pytest.raises(NotFoundError, match="No patient P-404"):
        decide(store, "P-404", "t.one", accept=True, override_stage=None, reason="x")


# --- a session run through the pipeline ----------------------------------------------------

#: 12 s of a seated patient holding still; the answers come from the therapist's keys.
STILL = '{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}\n{"t": 0.0}\n{"t": 12.0}\n'


def test_the_stored_summary_matches_the_live_one_and_a_proposal_is_audited(store: SessionStore) -> None:
    edit_patient_program(store, "P-1", {
        "session.blocks": ["laterality"], "laterality.trials_per_block": 4,
        "laterality.rotations_deg": [0, 180], "laterality.views": ["back"],
        "laterality.inter_trial_s": 0.5, "laterality.feedback": False,
    }, therapist="t.one", reason="short test block")  # fmt: skip
    answered = 0
    with session_pipeline("P-1", source="sim", seed=11) as pipeline, \
            ScriptedFrameSource(parse_motion(STILL)) as source:  # fmt: skip
        runner = pipeline.runner
        assert runner is not None
        for frame in source.frames():
            output = pipeline.step(frame)
            if frame.index == 3:
                runner.rating_from_console(2, frame.time_s)
            for event in output.events:
                if event.kind == "pain.ask" and event.data.get("moment") == "end":
                    runner.rating_from_console(5, frame.time_s + 0.3)  # +3: a flare at the end
                if event.kind == "trial.show":
                    side = Side(event.data["side"])
                    # Three right answers, then a wrong one, each 0.4 s + 0.1 s per trial late.
                    answer = side if answered < 3 else side.other
                    runner.answer_from_console(answer, frame.time_s + 0.4 + 0.1 * answered)
                    answered += 1
            if output.done:
                break
    assert answered == 4 and runner.state.value == "done"

    (session,) = store.list_sessions("P-1")
    assert session.status == "completed"
    live = runner.summary(runner.date_iso)
    stored = session_summary(store, session.id)
    assert stored == live
    assert stored.n_trials == 4 and stored.pain_flare and (stored.pain_first, stored.pain_last) == (2, 5)

    proposals = [a for a in store.audit_trail("P-1") if a.action == "progression.proposal"]
    assert len(proposals) == 1 and proposals[0].actor == "gmi-vr"
    assert proposals[0].session_id == session.id
    assert proposals[0].details == propose(store, "P-1").to_dict()
    assert proposals[0].details["rule"] == "pain_flare"


# --- the command ----------------------------------------------------------------------------


def test_the_command_prints_the_proposal_and_records_the_decision(store: SessionStore, tmp_path: Path) -> None:
    record_a_week(store)
    data = tmp_path / "data"

    shown = gmi_vr(["patients", "progress", "P-1"], data)
    assert shown.returncode == 0, shown.stderr
    assert "stage 1 -> proposed 2 (advance, rule laterality_targets_met)" in shown.stdout
    assert "reason: In the last 3 sessions, over 7 days, both sides reached 80 % accuracy" in shown.stdout
    assert "evidence sessions:" in shown.stdout and "evidence session_ids:" in shown.stdout
    as_json = json.loads(gmi_vr(["patients", "progress", "P-1", "--json"], data).stdout)
    assert as_json["proposed_stage"] == 2

    missing_reason = gmi_vr(["patients", "progress", "P-1", "--accept"], data)
    assert missing_reason.returncode != 0 and "Traceback" not in missing_reason.stderr
    assert missing_reason.stderr.strip() == \
        "gmi-vr: Say why with --reason TEXT; the decision is kept in the audit trail."  # fmt: skip

    accepted = gmi_vr(["patients", "progress", "P-1", "--accept", "--reason", "targets met", "--by", "t.two"], data)
    assert accepted.returncode == 0, accepted.stderr
    assert "proposal accepted, now at stage 2" in accepted.stdout
    overridden = gmi_vr(["patients", "progress", "P-1", "--stage", "1", "--reason", "pain at home"], data)
    assert overridden.returncode == 0, overridden.stderr
    assert "proposal overridden, now at stage 1" in overridden.stdout

    assert int(patient_program(store, "P-1").stage) == 1
    decisions = [a.details for a in store.audit_trail("P-1") if a.action == "progression.decision"]
    assert [(d or {})["outcome"] for d in decisions] == ["accepted", "overridden"]

    unknown = gmi_vr(["patients", "progress", "P-404"], data)
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    (line,) = unknown.stderr.strip().splitlines()
    assert line.startswith("gmi-vr: No patient P-404 in ") and line.endswith("check the id.")
