"""The therapist's live steering from the console: pause and resume (a calm pause for the
patient; a paused laterality trial is voided, not scored), repeat or skip the running block,
and the time to the next break. Each through ``TherapistControls.act`` (the buttons) or its
key, audited, and marked by events in the session; then recorded through the real pipeline
into a real SQLite store."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from support.clinic_store import store_with_patient
from support.station import controlled_session
from test_therapy_frames import RATE_HZ
from test_therapy_session import Run, answer_trials, program

from gmi_vr.app.controls import TherapistControls
from gmi_vr.core.types import Side
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.content.scenes import CALM_CLEAR
from gmi_vr.therapy.results.task_records import TaskEnded, TrialRecord
from gmi_vr.therapy.runner import HELD_MESSAGE, RunnerState


def controlled(run: Run) -> tuple[TherapistControls, list[tuple[str, dict[str, Any]]]]:
    audited: list[tuple[str, dict[str, Any]]] = []
    return TherapistControls(run.runner, audit=lambda action, details: audited.append((action, details))), audited


def test_a_pause_voids_the_trial_on_screen_shows_a_calm_pause_and_stops_the_session_clock() -> None:
    run = Run(program(**{"session.rating_at_start": False}))
    controls, audited = controlled(run)
    answer_trials(run, 2)
    shown = run.until_event("trial.show")
    run.step(10)
    controls.act("pause", None, run.script.next_time)
    step = run.step()
    assert [(e.kind, e.data.get("by")) for e in step.events][:2] == [("session.pause", "therapist"), ("trial.void", None)]
    assert not step.movement_allowed
    active = run.runner.active_s
    run.step(int(3 * RATE_HZ))
    held = run.steps[-1].draw
    assert held.clear_color == CALM_CLEAR and [t.text for t in held.texts] == [HELD_MESSAGE]
    fades = [s.draw.fade for s in run.steps[-int(3 * RATE_HZ):]]
    assert max(fades) == 1.0 and fades[-1] == 0.0, "faded out, then the calm pause faded in"
    assert run.runner.active_s == active, "breaks and the time cap count only session time that ran"
    controls.act("skip", None, run.script.next_time)  # refused while paused: resume first
    assert "resume first" in controls.message
    controls.handle(["f7"], run.script.next_time)  # F7 again resumes
    resumed = run.step()
    assert (resumed.events[0].kind, resumed.events[0].data["by"]) == ("session.resume", "therapist")
    again = run.until_event("trial.show")
    assert {k: again.data[k] for k in ("side", "rotation_deg")} == {k: shown.data[k] for k in ("side", "rotation_deg")}
    run.runner.answer_from_console(Side(again.data["side"]), again.time_s + 0.6)
    run.until_event("trial.answer")
    trials = run.records(TrialRecord)
    assert len(trials) == 3 and trials[-1].rt_s == pytest.approx(0.6, abs=1e-9), "the paused trial is not scored"
    assert [(a, d["via"]) for a, d in audited] == [("console.pause", "console"), ("console.resume", "key")]


def test_repeat_starts_the_block_again_and_skip_goes_on_with_the_plan() -> None:
    run = Run(program(**{"session.rating_at_start": False, "safety.break_every_s": 3600.0}))
    controls, audited = controlled(run)
    answer_trials(run, 3)
    run.until_event("trial.show")
    controls.handle(["f10"], run.script.next_time)
    step = run.step()
    kinds = [e.kind for e in step.events]
    assert "trial.void" in kinds and "task.repeat" in kinds
    repeat = next(e for e in step.events if e.kind == "task.repeat")
    assert repeat.data["block_index"] == 0 and repeat.data["by"] == "therapist" and "seed" in repeat.data
    assert [r.outcome for r in step.records if isinstance(r, TaskEnded)] == ["repeated"]
    started = [e.data["block_index"] for e in run.events("block.start")]
    assert started == [0, 1], "the same block again, under a block index of its own"
    answer_trials(run, 1)
    controls.act("skip", None, run.script.next_time)
    step = run.step()
    skipped = next(e for e in step.events if e.kind == "task.skipped")
    assert skipped.data["block_index"] == 1
    assert [r.outcome for r in step.records if isinstance(r, TaskEnded)] == ["skipped"]
    assert run.events("block.start")[-1].data["block_index"] == 2, "the plan's next block"
    assert [a for a, _ in audited] == ["console.repeat", "console.skip"]


def test_nothing_is_repeated_or_skipped_under_a_rating_and_a_pause_needs_a_running_session() -> None:
    run = Run(program())  # the opening rating runs first
    controls, audited = controlled(run)
    run.step(3)
    controls.act("repeat", None, run.script.next_time)
    assert controls.message.startswith("nothing to repeat now")
    run.rate_from_console(2)
    run.until_event("trial.show")
    controls.act("stop", None, run.script.next_time)
    run.step()
    assert run.runner.state is RunnerState.CALM
    controls.act("pause", None, run.script.next_time)
    assert controls.message == "nothing to pause now (calm scene or closing)"
    assert [a for a, _ in audited] == ["console.stop"]


def test_the_time_to_the_next_break_counts_down_with_focused_time() -> None:
    run = Run(program(**{"session.rating_at_start": False, "safety.break_every_s": 20.0}))
    run.until_event("trial.show")
    first = run.runner.time_to_break_s
    assert first is not None and 19.0 < first <= 20.0
    run.step(int(2 * RATE_HZ))
    assert run.runner.time_to_break_s == pytest.approx(first - 2.0, abs=0.1)


def test_pause_repeat_and_skip_are_recorded_in_the_session_and_audited(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from recording_synth import frame

    store_with_patient(tmp_path, monkeypatch, "S-1").close()
    with controlled_session("S-1", therapist="dr.s") as (pipeline, controls):
        index = 0

        def step(n: int) -> None:
            nonlocal index
            for _ in range(n):
                pipeline.step(frame(index))
                index += 1

        step(5)
        pipeline.runner.rating_from_console(1, frame(index).time_s)  # the opening rating
        step(60)
        controls.act("pause", None, frame(index).time_s)
        step(30)
        controls.act("resume", None, frame(index).time_s)
        step(30)
        controls.act("skip", None, frame(index).time_s)
        step(30)
        pipeline.ended_by = "window_closed"
    with SessionStore.open(create=False) as store:
        (session,) = store.list_sessions("S-1")
        kinds = [(e.kind, (e.data or {}).get("by")) for e in store.events(session.id)]
        rows = [a.action for a in store.audit_trail("S-1") if a.action.startswith("console.")]
    assert ("session.pause", "therapist") in kinds and ("session.resume", "therapist") in kinds
    assert ("task.skipped", "therapist") in kinds
    assert rows == ["console.pause", "console.resume", "console.skip"]


def test_a_failed_audit_write_is_shown_in_the_console_and_the_run_ends_with_the_storage_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console's rows are written on a thread of their own (the render thread only
    queues); one the store refuses (here a real SQLite trigger aborts every audit insert
    made after the session started) is named in the console's panel and the session's end
    raises StorageError (exit 7), while the session itself is saved."""
    from recording_synth import frame

    from gmi_vr.app.console import session_console
    from gmi_vr.core.errors import StorageError

    store_with_patient(tmp_path, monkeypatch, "S-2").close()
    database = tmp_path / "data" / "sessions.sqlite"
    with pytest.raises(StorageError, match=r"was saved, but 1 audit row could not be written \(.*audit refused"):
        with controlled_session("S-2", therapist="dr.s") as (pipeline, controls):
            with sqlite3.connect(database) as raw:
                raw.execute("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit "
                            "BEGIN SELECT RAISE(ABORT, 'audit refused'); END")
            console = session_console(pipeline, controls, "S-2", "sim")
            for index in range(10):
                pipeline.step(frame(index))
            controls.act("ask_pain", None, frame(10).time_s)
            for _ in range(200):  # the writer thread takes the row; the frames never wait for it
                if pipeline.audit_problem():
                    break
                pipeline.step(frame(11))
                time.sleep(0.01)
            assert console.panel().message.startswith("1 audit row could not be written (")
            pipeline.ended_by = "window_closed"
    with sqlite3.connect(database) as raw:
        raw.execute("DROP TRIGGER refuse_audit")
    with SessionStore.open(create=False) as store:
        (session,) = store.list_sessions("S-2")
        assert session.status in ("not_started", "ended_early")
        assert not [a for a in store.audit_trail("S-2") if a.action == "console.ask_pain"]


def test_a_break_can_be_skipped_but_not_repeated() -> None:
    run = Run(program(**{"safety.break_every_s": 10.0, "session.rating_at_start": False}))
    controls, audited = controlled(run)
    for _ in range(16):
        shown = run.until_event("trial.show")
        run.runner.answer_from_console(Side(shown.data["side"]), shown.time_s + 0.5)
    run.until_event("safety.break")
    assert run.runner.time_to_break_s == pytest.approx(10.0, abs=0.1), "the break began: a full interval to the next"
    controls.act("repeat", None, run.script.next_time)
    assert controls.message == "nothing to repeat now: a block must be running"
    controls.act("skip", None, run.script.next_time)
    step = run.step()
    skipped = next(e for e in step.events if e.kind == "task.skipped")
    assert skipped.data["block_index"] is None and skipped.data["kind"] != "laterality"
    assert run.events("block.start")[-1].data["block_index"] == 1, "the next block, without waiting for the patient"
    assert [a for a, _ in audited] == ["console.skip"]
