"""SessionRunner: the plan, safety within one frame, the stop gesture, pauses, caps and fades."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_therapy_frames import RATE_HZ, Script

from gmi_vr.app.record_rows import stored_row
from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side, TrackingFrame
from gmi_vr.geometry import translation_matrix
from gmi_vr.recording.rows import StoredTrial
from gmi_vr.scene.draw import DrawList, MeshItem
from gmi_vr.therapy.content.scenes import CALM_CLEAR
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, Stage
from gmi_vr.therapy.results.task_records import (
    STORAGE_PHASE,
    RatingRecord,
    TaskEnded,
    TaskStarted,
    TrialRecord,
)
from gmi_vr.therapy.runner import RunnerState, SessionOutcome, SessionRunner, SessionStatus
from gmi_vr.therapy.tasks.base import CONFIRM_HOLD_S, Task, TaskContext, TaskStep
from gmi_vr.therapy.tasks.registry import TASK_BUILDERS

FRAME_S = 1 / RATE_HZ


class ReachStub:
    """A stand-in movement task: a target that moves every frame, counting its updates."""

    kind = "test_reach"
    involves_movement = True
    instances: list[ReachStub] = []

    def __init__(self, program: Program, context: TaskContext) -> None:
        self.updates = 0
        self.interrupts: list[str] = []
        ReachStub.instances.append(self)

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        self.updates += 1
        target = translation_matrix(np.array([np.sin(frame.time_s), 1.0, -0.5]))
        return TaskStep(DrawList(meshes=(MeshItem("sphere", target),)))

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        self.interrupts.append(reason)
        return TaskStep()


@pytest.fixture(autouse=True)
def _test_reach_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans in this file may name the stand-in kind "test_reach" (for this file's tests only)."""
    monkeypatch.setitem(TASK_BUILDERS, "test_reach", ReachStub)


def program(stage: int = 1, **changes: Any) -> Program:
    base = Program.default(Side.LEFT, BodyPart.HAND)
    base = dataclasses.replace(base, stage=Stage(stage))
    changes.setdefault("laterality.trials_per_block", 16)
    # The sickness question every minute has its own tests (test_protocol_safety.py).
    changes.setdefault("safety.fms_every_s", 0)
    new, _ = base.override("test", "short blocks for tests", "2026-03-01T09:00", **changes)
    return new


class Run:
    def __init__(self, prog: Program, seed: int = 5) -> None:
        self.script = Script()
        self.runner = SessionRunner(prog, seed, date_iso="2026-03-01")
        self.frames: list[TrackingFrame] = []
        self.steps: list[TaskStep] = []

    def step(self, n: int = 1) -> TaskStep:
        for _ in range(n):
            frame = self.script.frame()
            self.frames.append(frame)
            self.steps.append(self.runner.update(frame, None))
        return self.steps[-1]

    def until(self, test: Callable[[TaskStep], bool], limit_s: float = 60.0) -> TaskStep:
        for _ in range(int(limit_s * RATE_HZ)):
            step = self.step()
            if test(step):
                return step
        raise AssertionError("condition not reached")

    def until_event(self, kind: str, limit_s: float = 60.0) -> Event:
        step = self.until(lambda s: any(e.kind == kind for e in s.events), limit_s)
        return next(e for e in step.events if e.kind == kind)

    def events(self, kind: str | None = None) -> list[Event]:
        return [e for s in self.steps for e in s.events if kind is None or e.kind == kind]

    def records(self, kind: type) -> list[Any]:
        return [r for s in self.steps for r in s.records if isinstance(r, kind)]

    def rate_from_console(self, value: int) -> None:
        self.runner.rating_from_console(value, self.script.next_time - 0.01)
        self.step()

    def start(self, opening_rating: int) -> None:
        """The first frame (the session starts and asks for the opening pain rating), then
        that rating given from the console."""
        self.step()
        self.rate_from_console(opening_rating)

    def end(self, closing_rating: int | None = None) -> None:
        """The therapist ends the session and a frame passes; then the closing pain rating is
        given from the console where ``closing_rating`` says."""
        self.runner.end_session(self.script.next_time)
        self.step()
        if closing_rating is not None:
            self.rate_from_console(closing_rating)


def test_a_whole_session_runs_rating_blocks_rating_and_records_everything() -> None:
    run = Run(program(**{"session.blocks": ["laterality", "laterality"]}))
    assert run.step().events[0].kind == "session.start"
    assert run.events("pain.ask")[0].data == {"moment": "start"}
    run.rate_from_console(3)
    for _ in range(2):
        for _ in range(16):
            shown = run.until_event("trial.show")
            run.runner.answer_from_console(Side(shown.data["side"]), shown.time_s + 0.9)
            run.until_event("trial.answer")
    run.until_event("pain.ask")
    run.rate_from_console(3)
    assert run.steps[-1].done and run.runner.state is RunnerState.DONE
    trials = run.records(TrialRecord)
    assert len(trials) == 32 and all(t.correct for t in trials)
    assert {t.block_index for t in trials} == {0, 1}
    start = run.events("session.start")[0].data
    assert [t.seed for t in trials][::16] == start["block_seeds"]
    assert [(r.moment, r.value) for r in run.records(RatingRecord)] == [("start", 3), ("end", 3)]
    end = run.events("session.end")[0].data
    assert (end["status"], end["reason"]) == ("completed", "plan_done")
    assert run.runner.outcome("window_closed") == SessionOutcome(SessionStatus.COMPLETED, "plan_done")
    summary = run.runner.summary("2026-03-01")
    assert (summary.accuracy_left, summary.accuracy_right, summary.pain_flare) == (1.0, 1.0, False)
    assert summary.median_rt_left_s == pytest.approx(0.9, abs=1e-9)


def test_reaction_time_through_the_runner_is_exact() -> None:
    run = Run(program(**{"session.rating_at_start": False}))
    shown = run.until_event("trial.show")
    side = Side(shown.data["side"])
    while run.script.next_time < shown.time_s + 0.731:
        run.step()
    run.script.press(side, "trigger_click", at_s=shown.time_s + 0.731)
    run.until_event("trial.answer")
    (trial,) = run.records(TrialRecord)
    assert trial.rt_s == pytest.approx(0.731, abs=1e-12) and trial.answer is side


def start_reach(stage: int = 3, **changes: Any) -> tuple[Run, ReachStub]:
    run = Run(program(stage, **{"session.blocks": ["test_reach"], **changes}))
    run.start(3)
    run.step(20)
    return run, ReachStub.instances[-1]


def assert_stopped_in_this_frame(run: Run, reach: ReachStub, updates_before: int) -> None:
    flare_step = run.steps[-1]
    assert not flare_step.movement_allowed
    assert reach.updates == updates_before  # the movement task did not run in this frame
    # The frame shows the previous frame's picture held still, fading from 0.
    assert flare_step.draw.meshes == run.steps[-2].draw.meshes
    assert 0.0 <= flare_step.draw.fade < 0.05
    run.step(3 * int(RATE_HZ))
    assert reach.updates == updates_before  # ...nor ever after
    assert run.runner.state is RunnerState.CALM
    assert all(not s.movement_allowed for s in run.steps[-3 * int(RATE_HZ):])
    assert run.steps[-1].draw.clear_color == CALM_CLEAR and run.steps[-1].draw.fade == 0.0


def test_a_typed_rating_rise_stops_movement_within_one_frame_and_is_recorded() -> None:
    run, reach = start_reach()
    before = reach.updates
    run.rate_from_console(5)  # 3 -> 5: the flare rule
    kinds = [e.kind for e in run.steps[-1].events]
    assert kinds[:2] == ["pain.rating", "safety.flare"] and "safety.alert" in kinds
    alert = next(e for e in run.steps[-1].events if e.kind == "safety.alert")
    assert alert.data["proposal"]["decision"] == "back"
    assert alert.data["proposal"]["proposed_stage"] == 2
    assert reach.interrupts == ["pain_flare"]
    assert_stopped_in_this_frame(run, reach, before)
    assert run.runner.summary("2026-03-01").pain_flare


def test_a_rating_rise_given_in_the_headset_stops_movement_in_the_confirming_frame() -> None:
    run, reach = start_reach()
    run.script.press(Side.RIGHT, "thumbstick_click")  # the patient asks to rate
    run.step()
    assert run.events("pain.request")[0].data == {"by": "patient"}
    assert reach.interrupts == ["rating"]
    for _ in range(7):  # none -> 0 .. 6
        run.script.set(Side.RIGHT, thumbstick=(1.0, 0.0))
        run.step()
        run.script.set(Side.RIGHT, thumbstick=(0.0, 0.0))
        run.step()
    updates = reach.updates
    run.script.press(Side.RIGHT, "trigger_click")
    run.until(lambda s: any(e.kind == "safety.flare" for e in s.events), CONFIRM_HOLD_S + 0.1)
    ratings = run.records(RatingRecord)
    assert [(r.value, r.moment, r.source) for r in ratings] == [
        (3, "start", "therapist"), (6, "on_demand", "patient")]
    assert_stopped_in_this_frame(run, reach, updates)


def test_a_small_rise_does_not_stop() -> None:
    run = Run(program(3, **{"session.blocks": ["test_reach"]}))
    run.start(6)
    run.step(20)
    reach = ReachStub.instances[-1]
    run.rate_from_console(7)  # +1 from 6: 17 %, under both forms of the rule
    run.step(10)
    assert run.runner.state is RunnerState.RUNNING and not run.events("safety.flare")
    assert run.steps[-1].movement_allowed and reach.updates > 20


def test_a_patient_starting_at_9_flares_at_10_the_ceiling() -> None:
    """A patient who starts at 9 cannot rise 2 points: a rating at the ceiling is a flare."""
    run = Run(program(3, **{"session.blocks": ["test_reach"]}))
    run.start(9)
    run.step(20)
    reach = ReachStub.instances[-1]
    assert run.runner.state is RunnerState.RUNNING  # 9 at the start is below the ceiling
    before = reach.updates
    run.rate_from_console(10)
    flare = run.events("safety.flare")
    assert len(flare) == 1 and (flare[0].data["first"], flare[0].data["rating"]) == (9, 10)
    assert flare[0].data["ceiling"] == 10
    assert_stopped_in_this_frame(run, reach, before)
    assert run.runner.summary("2026-03-01").pain_flare
    assert run.runner.outcome() == SessionOutcome(SessionStatus.SAFETY_STOP, "pain_flare")


def test_a_patients_stop_alerts_without_proposing_a_step_back() -> None:
    run, reach = start_reach()
    run.script.press(Side.LEFT, "menu")
    run.step()
    alert = run.events("safety.alert")[0]
    assert alert.data["cause"] == "patient_stop" and "not a failure" in alert.data["message"]
    assert alert.data["proposal"]["decision"] != "back"
    assert run.runner.outcome() == SessionOutcome(SessionStatus.SAFETY_STOP, "patient_stop")


@pytest.mark.parametrize("hand", [Side.LEFT, Side.RIGHT])
def test_the_menu_button_on_either_controller_stops_one_handed(hand: Side) -> None:
    run, reach = start_reach()
    before = reach.updates
    run.script.press(hand, "menu")
    run.step()
    stop = run.events("safety.stop")
    assert stop[0].data == {"by": "patient", "input": f"{hand.value}.menu"}
    assert "safety.alert" in [e.kind for e in run.steps[-1].events]
    assert_stopped_in_this_frame(run, reach, before)
    assert run.runner.summary("2026-03-01").patient_stop


def test_both_grips_held_for_a_second_stop() -> None:
    run, reach = start_reach()
    run.script.set(Side.LEFT, squeeze=1.0)
    run.script.set(Side.RIGHT, squeeze=1.0)
    run.step(int(0.9 * RATE_HZ))  # under a second: nothing yet
    assert not run.events("safety.stop")
    run.script.set(Side.RIGHT, squeeze=0.2)  # let go: the hold starts again
    run.step()
    run.script.set(Side.RIGHT, squeeze=0.95)
    start = run.script.next_time
    before = reach.updates
    run.until(lambda s: any(e.kind == "safety.stop" for e in s.events), 2.0)
    assert run.frames[-1].time_s - start == pytest.approx(1.0, abs=FRAME_S)
    assert run.events("safety.stop")[0].data["input"] == "both_grips"
    updates = reach.updates
    assert updates - before == pytest.approx(RATE_HZ, abs=2)
    assert_stopped_in_this_frame(run, reach, updates)


def test_the_fade_to_the_calm_scene_is_eased_and_never_jumps() -> None:
    run, _ = start_reach(**{"safety.fade_s": 1.0})
    run.script.press(Side.LEFT, "menu")
    run.step(int(2 * RATE_HZ))
    fades = [s.draw.fade for s in run.steps[-int(2 * RATE_HZ):]]
    steps = np.abs(np.diff(fades))
    # Eased half-second ramps: the largest step is smoothstep's top slope (1.5) x frame / 0.5 s.
    assert steps.max() <= 1.5 * FRAME_S / 0.5 + 1e-6
    assert max(fades) == pytest.approx(1.0, abs=1e-6) and fades[-1] == 0.0
    peak = int(np.argmax(fades))
    assert peak == pytest.approx(0.5 * RATE_HZ, abs=2)
    assert run.steps[-int(2 * RATE_HZ) + peak + 2].draw.clear_color == CALM_CLEAR


def test_the_therapist_ends_the_session_from_the_calm_scene_with_a_closing_rating() -> None:
    run, _ = start_reach()
    run.rate_from_console(6)
    run.step(int(RATE_HZ))
    assert not run.steps[-1].done
    run.end()
    assert run.runner.state is RunnerState.CLOSING
    assert run.events("pain.ask")[-1].data == {"moment": "end"}
    run.rate_from_console(4)
    assert run.steps[-1].done
    end = run.events("session.end")[0].data
    assert (end["status"], end["reason"]) == ("safety_stop", "pain_flare")
    assert [r.moment for r in run.records(RatingRecord)] == ["start", "on_demand", "end"]


def test_the_therapist_stop_goes_calm_without_a_stage_back_proposal() -> None:
    run, reach = start_reach()
    run.runner.stop(run.script.next_time)
    run.step()
    assert run.runner.state is RunnerState.CALM and not run.steps[-1].movement_allowed
    assert run.events("safety.stop")[0].data == {"by": "therapist"}
    assert not run.events("safety.alert")
    assert not run.runner.summary("2026-03-01").flare


def test_an_unfocused_headset_pauses_and_voids_the_open_trial() -> None:
    run = Run(program(**{"session.rating_at_start": False}))
    shown = run.until_event("trial.show")
    run.step(20)
    run.script.focused = False
    step = run.step()
    assert [e.kind for e in step.events] == ["session.pause", "trial.void"]
    assert not step.movement_allowed and step.draw.fade < 0.05
    run.step(int(3 * RATE_HZ))
    paused = run.steps[-int(3 * RATE_HZ) - 1:]
    assert not any(s.records or s.events for s in paused[1:])  # nothing advances
    assert all(s.draw.meshes == paused[0].draw.meshes for s in paused)  # held still
    fades = [s.draw.fade for s in paused]
    assert fades == sorted(fades) and fades[-1] == 1.0  # eased out, no jump
    assert np.abs(np.diff(fades)).max() <= 1.5 * FRAME_S / 0.5 + 1e-6
    active_before = run.runner.active_s
    run.script.focused = True
    resumed = run.step()
    assert resumed.events[0].kind == "session.resume"
    assert resumed.events[0].data["paused_s"] == pytest.approx(3.0 + FRAME_S, abs=1e-9)
    assert run.runner.active_s == active_before  # the session clock stopped
    again = run.until_event("trial.show")
    for key in ("side", "rotation_deg", "view"):
        assert again.data[key] == shown.data[key]
    run.runner.answer_from_console(Side(again.data["side"]), again.time_s + 0.65)
    run.until_event("trial.answer")
    (trial,) = run.records(TrialRecord)
    assert trial.rt_s == pytest.approx(0.65, abs=1e-12)  # not inflated by the pause
    fades = [s.draw.fade for s in run.steps[-int(RATE_HZ):]]
    assert fades[-1] == 0.0


def test_the_session_cap_counts_focused_time_then_asks_the_closing_rating() -> None:
    run = Run(program(**{"safety.session_cap_s": 5.0, "laterality.time_limit_s": None}))
    run.start(2)
    run.step(int(2 * RATE_HZ))
    run.script.focused = False
    run.step(int(10 * RATE_HZ))  # paused time does not count
    run.script.focused = True
    run.step(int(2 * RATE_HZ))
    assert not run.events("safety.time_cap")
    cap = run.until_event("safety.time_cap", 2.0)
    assert cap.data["active_s"] == pytest.approx(5.0, abs=FRAME_S)
    assert run.events("pain.ask")[-1].data == {"moment": "end"}
    assert run.runner.state is RunnerState.CLOSING
    run.rate_from_console(2)
    assert run.steps[-1].done
    end = run.events("session.end")[0].data
    # No time limit and no answer: nothing of the patient's work was recorded.
    assert (end["status"], end["reason"]) == ("not_started", "time_cap")


def test_a_break_is_offered_between_blocks_and_the_patient_goes_on_with_a_trigger() -> None:
    run = Run(program(**{"safety.break_every_s": 10.0, "session.rating_at_start": False}))
    for _ in range(16):
        shown = run.until_event("trial.show")
        run.runner.answer_from_console(Side(shown.data["side"]), shown.time_s + 0.5)
    offered = run.until_event("safety.break")
    assert offered.data == {"state": "offered"}
    run.step(int(5 * RATE_HZ))
    assert not run.events("block.start")[1:]  # waiting for the patient
    assert run.steps[-1].draw.clear_color == CALM_CLEAR  # the calm scene
    assert "break" in run.steps[-1].draw.texts[0].text
    run.script.press(Side.LEFT, "trigger_click")
    run.step()
    assert run.events("safety.break")[-1].data == {"state": "over"}
    run.until_event("block.start")
    assert run.events("block.start")[-1].data["block_index"] == 1


def test_the_therapist_asks_for_a_rating_mid_block_and_the_block_goes_on() -> None:
    run = Run(program(**{"session.rating_at_start": False}))
    shown = run.until_event("trial.show")
    run.runner.request_rating(run.script.next_time)
    step = run.step()
    assert [e.kind for e in step.events][:2] == ["pain.request", "trial.void"]
    run.rate_from_console(2)
    again = run.until_event("trial.show")
    assert again.data["side"] == shown.data["side"]
    assert run.runner.state is RunnerState.RUNNING


def test_tasks_satisfy_the_protocol() -> None:
    run = Run(program())
    run.step()
    assert isinstance(run.runner._task, Task)  # noqa: SLF001
    assert isinstance(ReachStub(program(), None), Task)  # type: ignore[arg-type]


def test_every_event_and_record_of_a_session_is_plain_json_for_the_recorder() -> None:
    run = Run(program(**{"laterality.time_limit_s": 1.0}))
    run.start(3)
    run.until_event("trial.timeout")
    shown = run.until_event("trial.show")
    run.runner.answer_from_console(Side(shown.data["side"]), shown.time_s + 0.4)
    run.until_event("trial.answer")
    run.script.press(Side.LEFT, "menu")
    run.step(int(RATE_HZ))
    for event in run.events():
        json.dumps(event.data)
    trials = run.records(TrialRecord)
    rows = [stored_row(t) for t in trials]
    json.dumps([row.measures for row in rows])
    assert isinstance(rows[0], StoredTrial) and rows[0].answer is None and rows[0].reaction_time_s is None
    assert isinstance(rows[1], StoredTrial) and rows[1].reaction_time_s == pytest.approx(0.4, abs=1e-12)
    assert rows[1].onset_s == shown.time_s and rows[1].measures is not None
    assert rows[1].measures["rt_source"] == "console"
    (rating,) = run.records(RatingRecord)
    assert (rating.value, STORAGE_PHASE[rating.moment], rating.source) == (3, "before", "therapist")


def test_a_finished_session_fades_to_the_calm_scene_with_a_closing_message() -> None:
    run = Run(program(**{"session.blocks": ["test_reach"]}))
    run.start(2)
    run.step(10)
    run.end(2)
    assert run.steps[-1].done
    run.step(int(RATE_HZ))
    last = run.steps[-1]
    assert last.done and not last.movement_allowed and last.draw.fade == 0.0
    assert last.draw.clear_color == CALM_CLEAR
    assert "Session complete" in last.draw.texts[0].text
    fades = [s.draw.fade for s in run.steps[-int(RATE_HZ) - 2:]]
    assert np.abs(np.diff(fades)).max() <= 1.5 * FRAME_S / 0.5 + 1e-6


def test_a_flare_in_the_closing_rating_is_recorded_and_alerted_and_the_session_ends() -> None:
    run = Run(program(2, **{"session.blocks": ["test_reach"]}))
    run.start(2)
    run.step(10)
    run.end(4)
    kinds = [e.kind for e in run.steps[-1].events]
    assert "safety.flare" in kinds and "safety.alert" in kinds and "session.end" in kinds
    assert run.steps[-1].done and run.runner.state is RunnerState.DONE
    assert run.runner.summary("2026-03-01").pain_flare
    alert = run.events("safety.alert")[0]
    assert (alert.data["proposal"]["decision"], alert.data["proposal"]["proposed_stage"]) == ("back", 1)


@settings(max_examples=8, deadline=None)
@example(pauses=[(100, 50), (400, 1)], delay_s=1.0)  # voids the first trial, blinks once
@given(pauses=st.lists(st.tuples(st.integers(0, 2500), st.integers(1, 200)), max_size=6),
       delay_s=st.floats(0.25, 1.8))
def test_pauses_anywhere_never_change_reaction_times_or_the_balance(
    pauses: list[tuple[int, int]], delay_s: float
) -> None:
    """A patient who always answers ``delay_s`` after each picture appears, with the headset
    taken off at random moments: every recorded RT is exactly ``delay_s``, the block keeps
    its 16 balanced trials, and voided trials are the only casualties."""
    run = Run(program(**{"session.rating_at_start": False, "session.rating_at_end": False,
                         "laterality.time_limit_s": None, "session.blocks": ["laterality"]}))
    unfocused = {f for start, length in pauses for f in range(start, start + length)}
    pending: tuple[Side, float] | None = None
    release_at: int | None = None
    for i in range(int(120 * RATE_HZ)):
        run.script.focused = i not in unfocused
        if pending is not None and run.script.next_time >= pending[1]:
            run.script.press(pending[0], "trigger_click", at_s=pending[1])
            pending, release_at = None, i + 5
        if release_at == i:
            run.script.release(Side.LEFT, "trigger_click")
            run.script.release(Side.RIGHT, "trigger_click")
        step = run.step()
        for event in step.events:
            if event.kind == "trial.show":
                pending = (Side(event.data["side"]), event.time_s + delay_s)
        if step.done:
            break
    trials = run.records(TrialRecord)
    assert run.steps[-1].done
    assert len(trials) == 16 and all(t.correct for t in trials)
    assert all(t.rt_s == pytest.approx(delay_s, abs=1e-9) for t in trials)
    assert len({(t.side, t.rotation_deg, t.view) for t in trials}) == 16
    shown = len(run.events("trial.show"))
    assert shown == 16 + len(run.events("trial.void"))


def test_the_stop_during_the_closing_rating_ends_the_session_without_it() -> None:
    run, _ = start_reach(**{"safety.session_cap_s": 2.0})
    run.until_event("safety.time_cap", 3.0)
    assert run.runner.state is RunnerState.CLOSING
    run.step(5)
    run.script.press(Side.RIGHT, "menu")
    step = run.step()
    assert step.done and run.runner.state is RunnerState.DONE
    assert [e.kind for e in step.events] == ["safety.stop", "safety.alert", "session.end"]
    end = run.events("session.end")[0].data
    assert (end["status"], end["reason"]) == ("safety_stop", "patient_stop")
    assert [r.moment for r in run.records(RatingRecord)] == ["start"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"laterality.trials_per_block": 30}, "multiple of 16"),
     ({"session.blocks": ["laterality", "juggling"]}, "task 'juggling'")],
)
def test_a_plan_that_cannot_run_is_refused_before_the_session_starts(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProgramError, match=message):
        SessionRunner(program(**changes), seed=1)


def test_a_pause_during_the_fade_to_calm_resumes_it_smoothly() -> None:
    run, _ = start_reach()
    run.script.press(Side.LEFT, "menu")
    run.step(10)
    run.script.focused = False
    run.step(int(RATE_HZ))
    run.script.focused = True
    run.step(int(2 * RATE_HZ))
    fades = [s.draw.fade for s in run.steps[-int(3 * RATE_HZ) - 10:]]
    assert np.abs(np.diff(fades)).max() <= 1.5 * FRAME_S / 0.5 + 1e-6
    last = run.steps[-1].draw
    assert last.fade == 0.0 and last.clear_color == CALM_CLEAR
    assert run.runner.state is RunnerState.CALM


# --- how the session ended, and its tasks -----------------------------------------------------


def answer_trials(run: Run, count: int) -> None:
    for _ in range(count):
        shown = run.until_event("trial.show")
        run.runner.answer_from_console(Side(shown.data["side"]), shown.time_s + 0.5)
        run.until_event("trial.answer")


def test_the_therapist_ending_after_a_few_trials_is_ended_early_never_completed() -> None:
    run = Run(program())
    run.start(3)
    answer_trials(run, 5)
    run.end()
    run.rate_from_console(3)  # the closing rating is given: the session has ended in order
    assert run.steps[-1].done and len(run.records(TrialRecord)) == 5
    end = run.events("session.end")[0].data
    assert (end["status"], end["reason"]) == ("ended_early", "therapist_end")
    assert run.runner.outcome() == SessionOutcome(SessionStatus.ENDED_EARLY, "therapist_end")


@pytest.mark.parametrize(("stop", "reason"), [("menu", "patient_stop"), ("therapist", "therapist_stop"),
                                              ("flare", "pain_flare")])
def test_a_stop_for_safety_is_a_safety_stop_whether_or_not_the_session_is_then_ended(
        stop: str, reason: str) -> None:
    run = Run(program())
    run.start(3)
    answer_trials(run, 2)
    if stop == "menu":
        run.script.press(Side.LEFT, "menu")
        run.step()
    elif stop == "therapist":
        run.runner.stop(run.script.next_time)
        run.step()
    else:
        run.rate_from_console(6)
    run.step(int(RATE_HZ))
    # The app quits from the calm scene (window closed): the stop is what ended the session.
    assert run.runner.outcome("window_closed") == SessionOutcome(SessionStatus.SAFETY_STOP, reason)
    run.end(2)
    end = run.events("session.end")[0].data
    assert (end["status"], end["reason"]) == ("safety_stop", reason)


def test_a_session_ended_before_any_trial_is_not_started() -> None:
    run = Run(program())
    run.step()
    assert run.runner.outcome("window_closed") == SessionOutcome(SessionStatus.NOT_STARTED, "window_closed")
    run.rate_from_console(4)
    run.until_event("trial.show")  # a picture shown, never answered: no trial recorded yet
    run.end(4)
    end = run.events("session.end")[0].data
    assert (end["status"], end["reason"]) == ("not_started", "therapist_end")


def test_the_apps_reason_names_a_session_it_stopped_stepping_mid_plan() -> None:
    run = Run(program())
    run.start(3)
    answer_trials(run, 3)
    assert run.runner.outcome("motion_ended") == SessionOutcome(SessionStatus.ENDED_EARLY, "motion_ended")
    assert run.runner.outcome() == SessionOutcome(SessionStatus.ENDED_EARLY, "unfinished")


def test_every_task_of_the_plan_is_marked_started_and_ended_in_order() -> None:
    run = Run(program(**{"session.blocks": ["laterality", "laterality"]}))
    run.start(3)
    answer_trials(run, 3)
    run.runner.request_rating(run.script.next_time)  # an on-demand rating over the block
    run.step()
    run.rate_from_console(3)
    answer_trials(run, 13 + 16)
    run.until_event("pain.ask")
    run.rate_from_console(3)
    assert run.steps[-1].done
    started = run.records(TaskStarted)
    ended = run.records(TaskEnded)
    assert [(t.number, t.kind, t.block_index) for t in started] == [
        (1, "pain_rating", None), (2, "laterality", 0), (3, "pain_rating", None),
        (4, "laterality", 1), (5, "pain_rating", None)]
    assert [t.params.get("moment") for t in started] == ["start", None, "on_demand", None, "end"]
    assert started[1].params == {"seed": run.events("session.start")[0].data["block_seeds"][0], "stage": 1}
    # The on-demand rating ends inside the block, which ends after its last trial.
    assert [t.number for t in ended] == [1, 3, 2, 4, 5] and {t.outcome for t in ended} == {"done"}
    trials = [r for s in run.steps for r in s.records if isinstance(r, TrialRecord | TaskEnded)]
    last_of_block_0 = max(i for i, r in enumerate(trials) if isinstance(r, TrialRecord) and r.block_index == 0)
    assert trials[last_of_block_0 + 1] == next(t for t in ended if t.number == 2)
    assert run.runner.end_open_tasks() == ()


def test_tasks_cut_short_end_with_their_cause_and_open_ones_end_with_the_session() -> None:
    run = Run(program())
    run.start(3)
    answer_trials(run, 2)
    run.runner.request_rating(run.script.next_time)
    run.step()
    run.script.press(Side.RIGHT, "menu")  # the patient stops during the on-demand rating
    run.step()
    ended = {t.number: t.outcome for t in run.records(TaskEnded)}
    assert ended == {1: "done", 2: "patient_stop", 3: "patient_stop"}
    run.end()
    (closing,) = [t for t in run.records(TaskStarted) if t.number == 4]
    assert closing.params == {"moment": "end"}
    # The app quits before the closing rating is given: it is ended with the session.
    (open_end,) = run.runner.end_open_tasks()
    assert (open_end.number, open_end.outcome, open_end.time_s) == (4, "session_ended", run.frames[-1].time_s)
