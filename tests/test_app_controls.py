"""The therapist's session keys drive the real session runner."""

from __future__ import annotations

from test_therapy_session import Run, program

from gmi_vr.app.controls import TherapistControls
from gmi_vr.therapy.records import RatingRecord, TrialRecord


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
