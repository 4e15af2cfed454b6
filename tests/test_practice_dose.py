"""Practice between visits: the prescription in the program (cited defaults, read into
programs stored before it, set by the therapist and audited), the dose counted from home and
desktop sessions on a real SQLite store, the proposal that says how much practice stands
behind it (or that too little practice is why performance stalls), and the listings and
reports that mark where each session ran."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from support.clinic_store import store_with_patient
from test_app_progress import FEW, GOOD, WEEK, at_stage, record, trials

from gmi_vr.app.patients import (
    patient_program,
    prescribe_practice,
)
from gmi_vr.app.pipeline import store_record
from gmi_vr.cli import main
from gmi_vr.core.types import Side
from gmi_vr.recording import schema
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import history_sessions, patient_dose, practice_records, propose
from gmi_vr.therapy.plan.program import (
    DEFAULT_SOURCES,
    BodyPart,
    Program,
    ProgramError,
    ProgressionRules,
    StagePractice,
)
from gmi_vr.therapy.progression import Decision
from gmi_vr.therapy.results.practice_dose import PracticeRecord, count_dose, dose_window
from gmi_vr.therapy.results.task_records import RatingRecord

DAY0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # test_app_progress.record's day 0


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionStore]:
    monkeypatch.chdir(tmp_path)
    with store_with_patient(tmp_path, monkeypatch, "P-1", age_years=50) as opened:
        yield opened


def practise(store: SessionStore, day: int, minutes: float, task: str = "laterality", *, mode: str = "desktop",
             station: str = "home", status: str = "completed", program: Program | None = None,
             judgements: int = 0) -> int:
    """A practice session ``day`` days after 2026-01-05: one ``task`` block of ``minutes``,
    a pain rating at its start and ``judgements`` correct laterality trials a side, recorded
    through the store's real recorder."""
    settings = {"program": program.to_dict()} if program is not None else None
    recorder = store.start_session("P-1", source="desktop", mode=mode, station=station, settings=settings)
    seq = recorder.begin_block(task, 10.0)
    recorder.end_block(seq, 10.0 + minutes * 60.0)
    store_record(recorder, RatingRecord(1.0, 3, "start", "patient"))
    for trial in trials(Side.LEFT, judgements, judgements, 1.0, 20.0) + trials(Side.RIGHT, judgements, judgements, 1.1, 200.0):
        store_record(recorder, trial)
    recorder.finish(status)
    assert recorder.session_id is not None
    with store.engine.begin() as connection:
        connection.execute(update(schema.Session).where(schema.Session.id == recorder.session_id)
                           .values(started_at=DAY0 + timedelta(days=day, minutes=recorder.session_id)))  # fmt: skip
    return recorder.session_id


# --- the prescription in the program ------------------------------------------------------


def test_the_default_prescription_follows_clinical_md_and_names_its_sources() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    assert program.practice.for_stage(1).dose("laterality") == (2.0, 8)  # every 2 h of 16 waking h
    assert program.practice.for_stage(1).tasks == ("laterality",)
    assert program.practice.for_stage(2).tasks == ("laterality", "imagery")
    assert program.practice.for_stage(3).dose("mirror") == (5.0, 3)  # EPF: 5-10 min, 3-10 a day
    assert program.practice.for_stage(3).minutes_per_day == 2.0 * 1 + 5.0 * 3
    sources = {path: source for path, _, source in program.settings_with_sources()}
    assert "every waking 1-2 hours" in sources["practice.stage_1.laterality_times_per_day"]
    assert "3-10 short sessions a day" in sources["practice.stage_3.mirror_minutes"]
    prescribed = [f"practice.stage_{n}.{task}_{what}" for n in (1, 2, 3, 4) for task in ("laterality", "imagery", "mirror")
                  for what in ("minutes", "times_per_day") if program.practice.for_stage(n).dose(task)[1]]  # fmt: skip
    assert prescribed and all(path in DEFAULT_SOURCES for path in prescribed)


def test_a_program_stored_before_the_prescription_reads_with_the_defaults() -> None:
    old = Program.default(Side.RIGHT, BodyPart.FOOT).to_dict()
    del old["practice"]
    del old["progression"]["practice_days"], old["progression"]["min_practice_fraction"]
    program = Program.from_dict(old)
    assert program.practice == Program.default(Side.RIGHT, BodyPart.FOOT).practice
    assert program.progression.practice_days == 7 and program.progression.min_practice_fraction == 0.5


@pytest.mark.parametrize(("fields", "words"), [
    ({"laterality_minutes": 2.0}, "both minutes and times a day"),
    ({"mirror_times_per_day": 3}, "both minutes and times a day"),
    ({"imagery_minutes": 90.0, "imagery_times_per_day": 1}, "0 to 60 minutes"),
    ({"imagery_minutes": 2.0, "imagery_times_per_day": 30}, "0 to 24 times a day"),
])  # fmt: skip
def test_an_impossible_dose_is_refused(fields: dict[str, float], words: str) -> None:
    with pytest.raises(ProgramError, match=words):
        StagePractice(**fields)  # type: ignore[arg-type]


def test_prescribing_is_an_audited_program_change(store: SessionStore) -> None:
    program = prescribe_practice(store, "P-1", {"laterality": (3.0, 6)}, next_step="Visit on Tuesday.",
                                 therapist="t.one", reason="pain allows less")  # fmt: skip
    assert program.practice.for_stage(1).dose("laterality") == (3.0, 6)
    assert patient_program(store, "P-1").practice.next_step == "Visit on Tuesday."
    entry = [e for e in store.audit_trail("P-1") if e.action == "program.override"][-1]
    assert entry.actor == "t.one" and entry.details["reason"] == "pain allows less"
    assert entry.details["old"]["practice.stage_1.laterality_times_per_day"] == 8
    assert entry.details["new"]["practice.stage_1.laterality_times_per_day"] == 6
    later = prescribe_practice(store, "P-1", {"mirror": (2.0, 5)}, stage=3, therapist="t.one", reason="start low")
    assert later.stage == 1 and later.practice.for_stage(3).dose("mirror") == (2.0, 5)


# --- counting the dose --------------------------------------------------------------------


def test_the_dose_is_minutes_a_day_against_the_prescription_each_task_up_to_its_own() -> None:
    stage3 = StagePractice(laterality_minutes=2, laterality_times_per_day=1, mirror_minutes=5, mirror_times_per_day=3)
    first, last = date(2026, 1, 1), date(2026, 1, 4)  # 4 days
    records = [PracticeRecord(1, date(2026, 1, 1), {"mirror": 10.0}), PracticeRecord(2, date(2026, 1, 2), {"mirror": 10.0}),
               PracticeRecord(3, date(2026, 1, 3), {"laterality": 400.0}),  # far too much of one task
               PracticeRecord(4, date(2025, 12, 31), {"mirror": 60.0})]  # before the window  # fmt: skip
    dose = count_dose(stage3, records, first, last, visits=1)
    laterality, mirror = dose.tasks
    assert (dose.days, dose.practice_sessions, dose.visits) == (4, 3, 1)
    assert (mirror.sessions_per_day, mirror.minutes_per_day, mirror.prescribed_per_day) == (0.5, 5.0, 15.0)
    assert laterality.minutes_per_day == 100.0
    assert dose.fraction == pytest.approx((2.0 + 5.0) / 17.0)  # laterality counts up to its 2 min a day
    assert "mirror practice 0.5 of 3 times and 5.0 of 15 minutes a day" in dose.describe()
    assert dose.too_little(ProgressionRules()) is True


def test_the_first_day_at_a_stage_is_never_too_little_practice(store: SessionStore) -> None:
    """Right after the first visit at a stage there has been no time to practise between visits."""
    program = patient_program(store, "P-1")
    record(store, program, left=(50, 35, 1.1), right=(50, 45, 1.2), day=0)
    proposal = propose(store, "P-1")
    assert proposal.rule == "laterality_targets_not_met"
    assert "Practice between visits over 1 day (2026-01-05 to 2026-01-05)" in proposal.reason
    record(store, program, left=(50, 35, 1.1), right=(50, 45, 1.2), day=1)
    assert propose(store, "P-1").rule == "too_little_practice"


def test_the_window_is_the_last_days_but_never_before_the_stage_began() -> None:
    rules = ProgressionRules()
    assert dose_window(rules, date(2026, 1, 12), None) == (date(2026, 1, 6), date(2026, 1, 12))
    assert dose_window(rules, date(2026, 1, 12), date(2026, 1, 10)) == (date(2026, 1, 10), date(2026, 1, 12))
    assert dose_window(rules, date(2026, 1, 12), date(2025, 12, 1)) == (date(2026, 1, 6), date(2026, 1, 12))


def test_home_and_desktop_sessions_are_practice_and_clinic_headset_sessions_are_visits(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    visit = record(store, program, **GOOD, day=1)
    home_desktop = practise(store, 2, 4.0)
    clinic_desktop = practise(store, 3, 4.0, station="clinic")
    home_headset = practise(store, 4, 4.0, mode="headset")
    running = store.start_session("P-1", source="desktop", mode="desktop", station="home")  # never counts
    assert [s.id for s, _ in practice_records(store, "P-1")] == [home_desktop, clinic_desktop, home_headset]
    dose = patient_dose(store, "P-1", program)
    assert dose is not None and (dose.visits, dose.practice_sessions) == (1, 3)
    assert dose.tasks[0].minutes_per_day == pytest.approx(12.0 / dose.days)
    running.finish("completed")
    assert visit not in [s.id for s, _ in practice_records(store, "P-1")]


# --- the proposal ---------------------------------------------------------------------------


def test_a_stall_with_too_little_practice_names_the_practice_as_the_reason(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    for day in WEEK:  # 2026-01-05, -08, -12: the window is 2026-01-06 to -12
        record(store, program, left=(50, 35, 1.1), right=(50, 45, 1.2), day=day)
    for day in range(1, 8):
        practise(store, day, 4.0)  # 4 of 16 prescribed minutes a day
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.HOLD and proposal.rule == "too_little_practice"
    assert ("too little practice between visits to expect progress (over 7 days (2026-01-06 to 2026-01-12): "
            "left/right judgement 1.0 of 8 times and 4.0 of 16 minutes a day, 25 % of the prescription; "
            "2 clinic visits; under 50 % of the prescription)") in proposal.reason
    assert "left accuracy 70 % < 80 %" in proposal.reason  # what the targets miss, after it
    assert proposal.evidence["practice"]["fraction"] == 0.25
    assert proposal.evidence["practice"]["tasks"][0]["minutes_per_day"] == 4.0


def test_a_stall_with_enough_practice_is_the_targets_and_says_the_practice(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    for day in WEEK:
        record(store, program, left=(50, 35, 1.1), right=(50, 45, 1.2), day=day)
    for day in range(1, 8):
        practise(store, day, 8.0)  # half the prescription: not too little
    proposal = propose(store, "P-1")
    assert proposal.rule == "laterality_targets_not_met"
    assert "left accuracy 70 % < 80 %" in proposal.reason
    assert "Practice between visits over 7 days" in proposal.reason and "50 % of the prescription" in proposal.reason


def test_an_advance_says_how_much_practice_stands_behind_it(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    for day in WEEK:
        record(store, program, **GOOD, day=day)
    practise(store, 6, 16.0)
    proposal = propose(store, "P-1")
    assert proposal.decision is Decision.ADVANCE and proposal.rule == "laterality_targets_met"
    assert ("Practice between visits over 7 days (2026-01-06 to 2026-01-12): left/right judgement 0.1 of 8 "
            "times and 2.3 of 16 minutes a day, 14 % of the prescription; 2 clinic visits.") in proposal.reason
    assert proposal.evidence["practice"]["practice_sessions"] == 1


def test_home_sessions_with_work_count_in_the_history_and_are_marked(store: SessionStore) -> None:
    program = patient_program(store, "P-1")
    visit = record(store, program, **GOOD, day=0)
    home = practise(store, 1, 5.0, program=program, judgements=8)
    assert [s.id for s, _ in history_sessions(store, "P-1")] == [visit, home]
    proposal = propose(store, "P-1")
    assert proposal.evidence["session_ids"] == [visit, home]
    assert proposal.evidence["practice_session_ids"] == [home]


def test_stages_two_and_three_say_the_practice_with_the_time_at_stage(store: SessionStore) -> None:
    program = at_stage(store, 3, "from the clinic's notes")
    record(store, program, **FEW, day=0)
    practise(store, 0, 5.0, task="mirror", program=program)
    proposal = propose(store, "P-1")
    assert proposal.rule == "time_at_stage" and proposal.decision is Decision.HOLD
    assert ("over 1 day (2026-01-05 to 2026-01-05): left/right judgement 0.0 of 1 times and 0.0 of 2 minutes a "
            "day; mirror practice 1.0 of 3 times and 5.0 of 15 minutes a day, 29 % of the prescription; "
            "1 clinic visit") in proposal.reason


# --- the command: prescribe, show, sessions ------------------------------------------------


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_therapist_prescribes_from_the_command_and_show_prints_it(
    store: SessionStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["patients", "prescribe", "P-1", "--laterality", "3x6", "--reason", "less at first",
                          "--by", "t.two"], capsys)  # fmt: skip
    assert (code, err) == (0, "")
    assert out.strip() == "patient P-1: practice between visits at stage 1: laterality 3 min x 6 a day (in the audit trail)"
    code, out, _ = run(["patients", "show", "P-1"], capsys)
    assert code == 0 and "      practice: laterality 3 min x 6 a day" in out.splitlines()
    assert 'practice.stage_1.laterality_minutes = 3.0  [set by t.two]' in out
    assert [e.actor for e in store.audit_trail("P-1") if e.action == "program.override"] == ["t.two"]


@pytest.mark.parametrize(("args", "exit_code", "message"), [
    (["--laterality", "3"], 9, "gmi-vr: --laterality '3' is not a dose: write minutes x times a day, e.g. --laterality 2x8, or 0 for none.\n"),
    (["--mirror", "twice"], 9, "gmi-vr: --mirror 'twice' is not a dose"),
    ([], 9, "gmi-vr: Say what to prescribe: --laterality, --imagery or --mirror MINUTESxTIMES, or --next-step TEXT.\n"),
    (["--imagery", "0x3"], 9, "gmi-vr: Give imagery practice both minutes and times a day"),
    (["--next-step", "x" * 241], 9, "gmi-vr: Keep the next step under 240 characters"),
])  # fmt: skip
def test_a_wrong_prescription_is_one_sentence_and_changes_nothing(
    store: SessionStore, capsys: pytest.CaptureFixture[str], args: list[str], exit_code: int, message: str
) -> None:
    before = patient_program(store, "P-1")
    code, out, err = run(["patients", "prescribe", "P-1", *args, "--reason", "r"], capsys)
    assert (code, out) == (exit_code, "") and err.startswith(message) and err.count("\n") == 1
    assert patient_program(store, "P-1") == before


def test_an_unknown_patient_cannot_be_prescribed(store: SessionStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["patients", "prescribe", "P-9", "--laterality", "2x8", "--reason", "r"], capsys)
    assert (code, out) == (8, "") and err.startswith("gmi-vr: No patient P-9 in ")


def test_sessions_show_where_and_how_each_ran(store: SessionStore, capsys: pytest.CaptureFixture[str]) -> None:
    visit = record(store, patient_program(store, "P-1"), **GOOD, day=0)
    home = practise(store, 1, 4.0)
    code, out, _ = run(["sessions"], capsys)
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split()[:5] == ["id", "patient", "date", "(UTC)", "where"]
    assert first.split()[:6] == [str(visit), "P-1", "2026-01-05", "10:00", "clinic,", "headset"]
    assert second.split()[4:6] == ["home,", "desktop"]
    code, out, _ = run(["sessions", "--json"], capsys)
    rows = json.loads(out)
    assert [(r["session_id"], r["mode"], r["station"]) for r in rows] == [(visit, "headset", "clinic"),
                                                                        (home, "desktop", "home")]  # fmt: skip
    assert [r["uid"] for r in rows] == [store.session(visit).uid, store.session(home).uid]
    assert all(len(r["uid"]) == 36 for r in rows)
