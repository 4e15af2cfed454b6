"""The therapist's session keys drive the real session runner."""

from __future__ import annotations

from test_therapy_session import Run, program

from gmi_vr.app.controls import (
    ESCAPE_CONFIRM_S,
    ESCAPE_PROMPT,
    ESCAPE_SKIP_PROMPT,
    TherapistControls,
)
from gmi_vr.therapy.results.task_records import RatingRecord, TrialRecord
from gmi_vr.therapy.runner import RunnerState


def rated_session() -> tuple[Run, TherapistControls]:
    """A session of the default program past its opening rating (3), and the therapist's
    controls on it."""
    run = Run(program())
    run.start(3)
    return run, TherapistControls(run.runner)


def test_typed_rating_is_recorded_as_the_therapists() -> None:
    run = Run(program())
    run.step()  # session starts with the opening rating
    controls = TherapistControls(run.runner)
    controls.handle(["f5", "7"], run.script.next_time)
    assert controls.message.startswith("pain rating: 7_")
    controls.handle(["enter"], run.script.next_time)
    run.step()
    ratings = run.records(RatingRecord)
    assert [(r.value, r.moment, r.source) for r in ratings] == [(7, "start", "therapist")]
    assert controls.message == "pain rating 7 recorded"


def test_out_of_range_or_cancelled_rating_records_nothing() -> None:
    run = Run(program())
    run.step()
    controls = TherapistControls(run.runner)
    controls.handle(["f5", "4", "2", "enter"], run.script.next_time)
    assert "42 is not a rating" in controls.message
    controls.handle(["f5", "3", "f5"], run.script.next_time)
    run.step(3)
    assert run.records(RatingRecord) == []


def test_function_keys_answer_trials_and_stop() -> None:
    run = Run(program(**{"session.rating_at_start": False}))
    controls = TherapistControls(run.runner)
    shown = run.until_event("trial.show")
    key = "f2" if shown.data["side"] == "left" else "f3"
    controls.handle([key], shown.time_s + 0.8)
    run.until_event("trial.answer")
    (trial,) = run.records(TrialRecord)
    assert trial.correct and trial.answered_by == "console"
    controls.handle(["f8"], run.script.next_time)
    run.until_event("safety.stop")


def test_one_escape_only_asks_and_the_session_goes_on() -> None:
    run, controls = rated_session()
    pressed_at = run.script.next_time
    controls.handle(["escape"], pressed_at)
    assert controls.message == ESCAPE_PROMPT == "press Escape again within 3 s to end the session"
    run.until_event("trial.show")
    assert run.runner.state is RunnerState.RUNNING and not controls.quit_requested
    assert not run.events("session.end_requested")
    # Unconfirmed, the prompt is withdrawn; a later Escape asks again rather than ending.
    late = pressed_at + ESCAPE_CONFIRM_S + 0.1
    assert controls.status(late) == "not ended (Escape was not pressed again)"
    controls.handle(["escape"], late + 0.5)
    run.step()
    assert controls.message == ESCAPE_PROMPT and run.runner.state is RunnerState.RUNNING


def test_a_confirmed_escape_goes_to_the_closing_rating_and_then_completes() -> None:
    run, controls = rated_session()
    now = run.script.next_time
    controls.handle(["escape"], now)
    controls.handle(["escape"], now + ESCAPE_CONFIRM_S - 0.01)
    run.step()
    assert run.runner.state is RunnerState.CLOSING and not controls.quit_requested
    assert run.events("pain.ask")[-1].data == {"moment": "end"}
    controls.handle(["f5", "2", "enter"], run.script.next_time)
    run.step()
    assert run.steps[-1].done and [r.moment for r in run.records(RatingRecord)] == ["start", "end"]
    assert run.runner.outcome().status == "not_started"  # no trial was answered
    # "Session complete" stays until the therapist closes the window: one Escape does.
    run.step(30)
    assert not controls.quit_requested
    controls.handle(["escape"], run.script.next_time)
    assert controls.quit_requested


def test_escape_confirmed_again_in_the_closing_rating_ends_without_it() -> None:
    run, controls = rated_session()
    controls.handle(["escape", "escape"], run.script.next_time)
    run.step()
    controls.handle(["escape"], run.script.next_time)
    run.step()
    assert run.runner.state is RunnerState.CLOSING and not controls.quit_requested
    assert controls.message == ESCAPE_SKIP_PROMPT
    controls.handle(["escape"], run.script.next_time)
    assert controls.quit_requested and controls.message == "ended without the closing rating"


def test_escape_drops_a_rating_being_typed() -> None:
    run = Run(program())
    run.step()
    controls = TherapistControls(run.runner)
    controls.handle(["f5", "7", "escape", "enter"], run.script.next_time)
    run.step(3)
    assert run.records(RatingRecord) == [] and controls.typing is None


def test_a_session_not_begun_or_paused_ends_at_the_first_confirmation() -> None:
    """No closing rating can be asked before the first focused frame or with the headset
    off: a confirmed Escape ends the session rather than waiting for a rating forever."""
    run = Run(program())
    run.script.focused = False
    run.step(5)
    controls = TherapistControls(run.runner)
    controls.handle(["escape", "escape"], run.script.next_time)
    assert controls.quit_requested and not run.runner.started
    assert run.runner.outcome("window_closed").status == "not_started"

    run = Run(program())
    run.start(3)
    run.script.focused = False
    run.step(5)
    controls = TherapistControls(run.runner)
    controls.handle(["escape", "escape"], run.script.next_time)
    assert controls.quit_requested and run.runner.paused


def test_f6_answers_the_question_on_screen_for_the_patient() -> None:
    run = Run(program(**{"session.blocks": ["laterality"], "safety.fms_every_s": 2.0,
                         "session.rating_at_start": False}))
    run.step()
    controls = TherapistControls(run.runner)
    controls.handle(["f6"], run.script.next_time)
    assert controls.message == "no question on screen" and controls.answering is None
    run.until_event("question.ask")  # the sickness scale after 2 s
    controls.handle(["f6", "2", "5", "enter"], run.script.next_time)
    assert controls.message == "25 is not an answer: type 0 to 20"
    run.step()
    assert run.events("sickness.fms") == []  # nothing recorded
    controls.handle(["f6", "4", "enter"], run.script.next_time)
    assert controls.message == "answer 4 recorded"
    run.step()
    (answer,) = run.events("sickness.fms")
    assert answer.data == {"value": 4, "answer": "4", "source": "therapist"}
    assert run.runner.fms == [4] and run.runner.state is RunnerState.RUNNING


def test_every_key_and_console_action_is_audited_with_its_session_time() -> None:
    run = Run(program())
    run.step()
    audited: list[tuple[str, dict]] = []
    controls = TherapistControls(run.runner, audit=lambda action, details: audited.append((action, details)))
    at = run.script.next_time
    controls.handle(["f5", "4", "enter"], at)  # typed: one action, when entered
    controls.handle(["f4"], at + 1.0)
    controls.act("rating", 11, at + 2.0)  # refused: not a rating, so not audited
    controls.act("stop", None, at + 3.0)
    assert [(action, d["via"], d["session_time_s"]) for action, d in audited] == [
        ("console.rating", "key", round(at, 3)), ("console.ask_pain", "key", round(at + 1.0, 3)),
        ("console.stop", "console", round(at + 3.0, 3))]
    assert audited[0][1]["value"] == 4 and "11 is not a rating" not in controls.message
