"""Safety of the protocol: ratings asked at set intervals during mirror blocks (CLINICAL.md:
"In mirror and movement stages ask for a rating at set intervals"), on the simulator through
the whole session pipeline and a real SQLite store; the Fast Motion Sickness Scale every
minute, whose answer at the threshold stops movement like a pain flare; the start-of-session
check "pain and swelling since last time"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.clinic_store import store_with_patient
from test_therapy_frames import RATE_HZ, Script
from test_therapy_session import ReachStub

from gmi_vr.app.patients import edit_patient_program
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side, TrackingFrame
from gmi_vr.geometry import translation_matrix
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import propose, session_summary
from gmi_vr.scene.draw import DrawList, MeshItem
from gmi_vr.therapy.content.scenes import CALM_CLEAR
from gmi_vr.therapy.plan.program import BodyPart, Program, Stage
from gmi_vr.therapy.progression import Decision
from gmi_vr.therapy.replayed import SessionPictures
from gmi_vr.therapy.runner import (
    FMS_LONGEST_WAIT_S,
    RunnerState,
    SessionOutcome,
    SessionRunner,
    SessionStatus,
)
from gmi_vr.therapy.safety import STOP_HINT
from gmi_vr.therapy.tasks.base import CONFIRM_HOLD_S, TaskContext, TaskStep
from gmi_vr.therapy.tasks.registry import TASK_BUILDERS
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

#: 30 s of a seated patient holding still.
STILL = '{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}\n{"t": 0.0}\n{"t": 30.0}\n'


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionStore]:
    with store_with_patient(tmp_path, monkeypatch, "P-1", age_years=50) as opened:
        yield opened


def run_sim(answers: dict[str, int], seed: int = 3, since_last: str | None = None) -> list[Event]:
    """Run the patient's session on the simulator; every pain question of a moment in
    ``answers``, and where ``since_last`` is given the question "since last time", is
    answered from the console 0.3 s later."""
    events: list[Event] = []
    with session_pipeline("P-1", source="sim", seed=seed) as pipeline, \
            ScriptedFrameSource(parse_motion(STILL)) as source:  # fmt: skip
        runner = pipeline.runner
        assert runner is not None
        for frame in source.frames():
            output = pipeline.step(frame)
            events += output.events
            for event in output.events:
                if event.kind == "pain.ask" and event.data["moment"] in answers:
                    runner.rating_from_console(answers[event.data["moment"]], frame.time_s + 0.3)
                if event.kind == "question.ask" and since_last is not None:
                    runner.answer_question_from_console(since_last, frame.time_s + 0.3)
            if output.done:
                break
    return events


def test_a_scheduled_rating_is_asked_during_a_mirror_block(store: SessionStore) -> None:
    edit_patient_program(store, "P-1", {
        "stage": 3, "session.blocks": ["mirror"], "mirror.look_s": 12.0,
        "safety.rating_every_s": 5.0, "safety.fms_every_s": 0,
    }, therapist="t.one", reason="short mirror block")  # fmt: skip
    events = run_sim({"start": 3, "on_demand": 3, "end": 3})
    kinds = [(e.kind, e.data.get("by") or e.data.get("moment")) for e in events]
    block = [i for i, e in enumerate(events) if e.kind == "task.start" and e.data.get("task") == "mirror_look"]
    scheduled = [i for i, (kind, by) in enumerate(kinds) if kind == "pain.request" and by == "schedule"]
    assert scheduled, "no scheduled rating was asked"
    assert block and scheduled[0] > block[0]
    # The first comes 5 s of focused time after the block began; the block waits under it
    # and goes on after (12 s looked in all, so a second one falls due at 10 s).
    ratings = [e for e in events if e.kind == "pain.rating"]
    assert [r.data["moment"] for r in ratings] == ["start", "on_demand", "on_demand", "end"]
    assert len(scheduled) == 2
    end = next(e for e in events if e.kind == "session.end")
    assert end.data["status"] == "completed"


# --- the runner: sickness and the start-of-session check ----------------------------------


@pytest.fixture(autouse=True)
def _test_reach_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans in this file may name the stand-in movement block "test_reach" (for this file's
    tests only)."""
    monkeypatch.setitem(TASK_BUILDERS, "test_reach", ReachStub)


def runner(ask_since_last: bool = False, **changes: Any) -> tuple[SessionRunner, Script, list[TaskStep]]:
    base = Program.default(Side.LEFT, BodyPart.HAND)
    program, _ = base.override("t", "test", "2026-03-01T09:00", stage=Stage.MIRROR_THERAPY.value,
                               **{"session.blocks": ["test_reach"], "safety.fms_every_s": 4.0,
                                  "safety.rating_every_s": 0, **changes})  # fmt: skip
    return SessionRunner(program, 1, date_iso="2026-03-01", ask_since_last=ask_since_last), Script(), []


def step(run: SessionRunner, script: Script, log: list[TaskStep], seconds: float) -> None:
    for _ in range(int(round(seconds * RATE_HZ))):
        log.append(run.update(script.frame(), None))


def events(log: list[TaskStep], kind: str) -> list[Event]:
    return [e for s in log for e in s.events if e.kind == kind]


def hold_trigger(run: SessionRunner, script: Script, log: list[TaskStep], side: Side = Side.RIGHT) -> None:
    """Hold one trigger until the question in front confirms (the healthy hand alone)."""
    script.press(side, "trigger_click")
    step(run, script, log, CONFIRM_HOLD_S + 2 / RATE_HZ)
    script.release(side, "trigger_click")
    step(run, script, log, 1 / RATE_HZ)


def flick(run: SessionRunner, script: Script, log: list[TaskStep], n: int) -> None:
    for _ in range(n):
        script.set(Side.RIGHT, thumbstick=(1.0, 0.0))
        step(run, script, log, 1 / RATE_HZ)
        script.set(Side.RIGHT, thumbstick=(0.0, 0.0))
        step(run, script, log, 1 / RATE_HZ)


def test_the_fms_is_asked_every_interval_and_a_low_answer_is_one_hold() -> None:
    run, script, log = runner()
    step(run, script, log, 0.1)
    run.rating_from_console(2, script.next_time)
    step(run, script, log, 3.5)
    assert not events(log, "sickness.request")  # 4 s of focused time not yet reached
    step(run, script, log, 1.0)
    assert [e.data for e in events(log, "sickness.request")] == [{"by": "schedule"}]
    assert [e.data for e in events(log, "question.ask")] == [{"question": "sickness.fms", "preselect": 0}]
    waiting = ReachStub.instances[-1].updates
    step(run, script, log, 0.2)
    assert ReachStub.instances[-1].updates == waiting  # the block waits under the question
    hold_trigger(run, script, log)  # preselected at 0: one hold answers "no sickness"
    (answer,) = events(log, "sickness.fms")
    assert answer.data == {"value": 0, "answer": "0", "source": "patient"}
    assert run.state is RunnerState.RUNNING and log[-1].movement_allowed
    assert run.fms == [0] and not run.sickness


def run_answering(run: SessionRunner, seconds: float, answer_after_s: float) -> list[TaskStep]:
    """Step ``run`` for ``seconds``; every laterality picture is answered from the console
    ``answer_after_s`` after it shows, every sickness question with 0 half a second after."""
    script, log = Script(), []
    due: list[tuple[float, str]] = []
    for _ in range(int(round(seconds * RATE_HZ))):
        now = script.next_time
        for at, what in [d for d in due if d[0] <= now]:
            due.remove((at, what))
            if what == "side":
                run.answer_from_console(Side.LEFT, at)
            else:
                run.answer_question_from_console("0", at)
        out = run.update(script.frame(), None)
        log.append(out)
        for e in out.events:
            if e.kind == "trial.show":
                due.append((e.time_s + answer_after_s, "side"))
            elif e.kind == "question.ask" and e.data["question"] == "sickness.fms":
                due.append((e.time_s + 0.5, "fms"))
    return log


def test_the_fms_waits_for_the_end_of_a_laterality_trial_and_voids_none() -> None:
    # Pictures with no time limit, answered 2.5 s after they show: the question falling due
    # at 3 s finds a picture on screen and waits for its answer.
    base = Program.default(Side.LEFT, BodyPart.HAND)
    program, _ = base.override("t", "test", "2026-03-01T09:00", **{
        "session.blocks": ["laterality"], "session.rating_at_start": False, "session.rating_at_end": False,
        "safety.fms_every_s": 3.0, "safety.stop_hint_s": 0, "laterality.time_limit_s": None,
    })  # fmt: skip
    run = SessionRunner(program, 1, date_iso="2026-03-01")
    log = run_answering(run, 20.0, 2.5)
    assert events(log, "trial.void") == []
    asked = events(log, "sickness.request")
    assert len(asked) >= 4, "the schedule kept its pace"
    showing = False  # replay the log: each question came between an answer and the next picture
    for e in (e for s in log for e in s.events):
        if e.kind == "trial.show":
            showing = True
        elif e.kind == "trial.answer":
            showing = False
        elif e.kind == "sickness.request":
            assert not showing, f"the question at {e.time_s} cut a picture"
    start = events(log, "session.start")[0].time_s
    # On the programmed grid (3, 6, 9, ... s of focused time), each at most one trial late.
    for n, e in enumerate(asked, 1):
        assert 0.0 <= e.time_s - start - n * 3.0 < FMS_LONGEST_WAIT_S


def test_the_fms_never_cuts_a_touch_and_comes_in_the_pause_between_touches() -> None:
    base = Program.default(Side.LEFT, BodyPart.HAND)
    program, _ = base.override("t", "test", "2026-03-01T09:00", **{
        "session.blocks": ["touch"], "session.rating_at_start": False, "session.rating_at_end": False,
        "safety.stop_hint_s": 0, "safety.fms_every_s": 2.0, "touch.interval_s": 3.0, "touch.lead_s": 1.0,
        "touch.touches_per_block": 4, "touch.blocks": 1, "touch.feedback_s": 0.5,
    })  # fmt: skip
    run = SessionRunner(program, 1, date_iso="2026-03-01")
    log = run_answering(run, 10.0, 1.0)
    assert events(log, "touch.void") == []
    asked = events(log, "sickness.request")
    assert asked, "no sickness question was asked"
    cues = [e.time_s for e in events(log, "touch.cue")]
    start = events(log, "session.start")[0].time_s
    first = asked[0].time_s - start
    # Due at 2 s, while the first touch (cued at 1 s, its slot to 3 s) is under way: asked
    # when that slot ends, before the next cue.
    assert 3.0 - 1e-6 <= first < 3.0 + 2 / RATE_HZ
    assert all(not (c < asked[0].time_s < c + 2.0) for c in cues)


class EndlessTrial:
    """A stand-in block whose one trial never ends (a picture nobody answers, with no time
    limit): it is never between trials. ``cut_when_late`` set per kind."""

    involves_movement = False
    cut_when_late = True
    interrupts: list[str] = []

    def __init__(self, program: Program, context: TaskContext) -> None:
        self.kind = type(self).__name__

    @property
    def between_trials(self) -> bool:
        return False

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        return TaskStep(DrawList(meshes=(MeshItem("sphere", translation_matrix(np.array([0.0, 1.0, -0.5]))),)))

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        EndlessTrial.interrupts.append(reason)
        return TaskStep()


class UncuttableTrial(EndlessTrial):
    cut_when_late = False


@pytest.fixture(autouse=True)
def _test_endless_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans in this file may name the stand-in kind "test_endless" (for this file's tests only)."""
    monkeypatch.setitem(TASK_BUILDERS, "test_endless", EndlessTrial)
@pytest.fixture(autouse=True)
def _test_uncuttable_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans in this file may name the stand-in kind "test_uncuttable" (for this file's tests only)."""
    monkeypatch.setitem(TASK_BUILDERS, "test_uncuttable", UncuttableTrial)


@pytest.mark.parametrize(("block", "asked"), [("test_endless", True), ("test_uncuttable", False)])
def test_a_question_kept_waiting_its_longest_is_asked_only_where_a_trial_may_be_cut(block: str, asked: bool) -> None:
    EndlessTrial.interrupts.clear()
    run, script, log = runner(**{"session.blocks": [block], "session.rating_at_start": False,
                                 "safety.fms_every_s": 2.0})  # fmt: skip
    step(run, script, log, 2.0 + FMS_LONGEST_WAIT_S - 0.5)
    assert events(log, "sickness.request") == [] and EndlessTrial.interrupts == []  # waits for a boundary
    step(run, script, log, 1.0)
    requests = events(log, "sickness.request")
    if asked:  # due at 2 s, asked FMS_LONGEST_WAIT_S later, cutting the trial (voided, shown again)
        (request,) = requests
        start = events(log, "session.start")[0].time_s
        assert request.time_s - start == pytest.approx(2.0 + FMS_LONGEST_WAIT_S, abs=2 / RATE_HZ)
        assert EndlessTrial.interrupts == ["rating"]
    else:  # a touch under way is never cut: the question keeps waiting
        assert requests == [] and EndlessTrial.interrupts == []


def test_an_fms_at_the_threshold_fades_to_the_calm_scene_within_one_frame() -> None:
    run, script, log = runner(**{"safety.fms_threshold": 6})
    step(run, script, log, 0.1)
    run.rating_from_console(2, script.next_time)
    step(run, script, log, 4.5)
    reach = ReachStub.instances[-1]
    flick(run, script, log, 6)  # 0 -> 6
    updates = reach.updates
    hold_trigger(run, script, log)
    stopped = next(i for i, s in enumerate(log) if any(e.kind == "safety.sickness" for e in s.events))
    frame = log[stopped]
    assert [e.data for e in frame.events if e.kind == "safety.sickness"] == [{"fms": 6, "threshold": 6}]
    assert not frame.movement_allowed  # the very frame of the answer
    assert 0.0 <= frame.draw.fade < 0.05  # the eased fade has begun, never a jump
    alert = next(e for e in frame.events if e.kind == "safety.alert")
    assert alert.data["cause"] == "sickness" and "FMS 6" in alert.data["message"]
    step(run, script, log, 2.0)
    assert reach.updates == updates  # the movement block never ran again
    assert run.state is RunnerState.CALM and log[-1].draw.clear_color == CALM_CLEAR
    assert run.outcome() == SessionOutcome(SessionStatus.SAFETY_STOP, "sickness")
    summary = run.summary("2026-03-01")
    assert summary.sickness and summary.flare and not summary.pain_flare


def test_the_since_last_check_follows_the_first_rating_when_there_was_a_last_time() -> None:
    run, script, log = runner(ask_since_last=True, **{"safety.fms_every_s": 0})
    step(run, script, log, 0.1)
    plan = events(log, "session.start")[0].data["plan"]
    assert plan == ["rating:start", "check:since_last", "block:test_reach", "rating:end"]
    run.rating_from_console(3, script.next_time)
    step(run, script, log, 0.2)
    assert [e.data for e in events(log, "question.ask")] == [{"question": "check.since_last", "preselect": None}]
    flick(run, script, log, 3)  # none -> better/same -> a bit worse -> much worse
    hold_trigger(run, script, log)
    assert events(log, "check.since_last")[0].data["answer"] == "much_worse"
    alert = events(log, "safety.alert")[-1]
    assert alert.data["cause"] == "worse_since_last"
    assert alert.data["proposal"]["decision"] == "back"
    assert run.state is RunnerState.RUNNING  # the session goes on; the therapist decides
    assert run.summary("2026-03-01").since_last == "much_worse"
    without, _, _ = runner(ask_since_last=False)
    assert "check:since_last" not in [f"{a}:{b}" for a, b in without._plan]


def test_the_second_session_asks_since_last_time_and_the_store_keeps_the_answer(store: SessionStore) -> None:
    edit_patient_program(store, "P-1", {
        "stage": 3, "session.blocks": ["mirror"], "mirror.look_s": 2.0, "safety.fms_every_s": 0,
    }, therapist="t.one", reason="short mirror block")  # fmt: skip
    first = run_sim({"start": 3, "end": 3})
    assert not [e for e in first if e.kind == "question.ask"]  # no last time yet
    run_sim({"start": 3, "on_demand": 3, "end": 3}, seed=4, since_last="worse")
    (session,) = [s for s in store.list_sessions("P-1")][-1:]
    assert session_summary(store, session.id).since_last == "worse"
    proposal = propose(store, "P-1")
    assert (proposal.decision, proposal.rule) == (Decision.HOLD, "worse_since_last")


# --- the stop with the healthy hand alone -----------------------------------------------------


@pytest.mark.parametrize("healthy", [Side.RIGHT, Side.LEFT])
def test_one_hands_grip_and_trigger_held_stop_with_the_other_hand_idle(healthy: Side) -> None:
    run, script, log = runner(**{"safety.fms_every_s": 0})
    step(run, script, log, 0.1)
    run.rating_from_console(3, script.next_time)
    step(run, script, log, 0.5)
    reach = ReachStub.instances[-1]
    script.set(healthy, squeeze=1.0, trigger=1.0)  # a fist; the other controller lies idle
    script.press(healthy, "trigger_click")
    step(run, script, log, 0.9)
    assert not events(log, "safety.stop")  # a hold, not a touch: 1 s
    step(run, script, log, 0.15)
    (stop,) = events(log, "safety.stop")
    assert stop.data == {"by": "patient", "input": f"{healthy.value}.fist"}
    stopped_at = next(i for i, s in enumerate(log) if any(e.kind == "safety.stop" for e in s.events))
    assert not log[stopped_at].movement_allowed
    updates = reach.updates
    step(run, script, log, 1.0)
    assert reach.updates == updates and run.state is RunnerState.CALM
    assert run.outcome() == SessionOutcome(SessionStatus.SAFETY_STOP, "patient_stop")


@pytest.mark.parametrize("held", [{"squeeze": 1.0}, {"trigger": 1.0}])
def test_a_grip_alone_or_a_trigger_alone_does_not_stop(held: dict[str, float]) -> None:
    """A grasp holds the grip, a rating's confirmation the trigger: neither alone stops."""
    run, script, log = runner(**{"safety.fms_every_s": 0})
    step(run, script, log, 0.1)
    run.rating_from_console(3, script.next_time)
    script.set(Side.RIGHT, **held)
    if "trigger" in held:
        script.press(Side.RIGHT, "trigger_click")
    step(run, script, log, 3.0)
    assert not events(log, "safety.stop") and run.state is RunnerState.RUNNING


def test_every_session_opens_by_telling_the_patient_how_to_stop() -> None:
    run, script, log = runner(**{"safety.fms_every_s": 0})
    step(run, script, log, 0.1)
    kinds = [e.kind for e in log[0].events]
    assert kinds[:2] == ["session.start", "safety.stop_hint"]
    hint = events(log, "safety.stop_hint")[0].data["text"]
    assert "grip and trigger" in hint
    assert hint in [e.data["text"] for e in events(log, "cue.audio")]  # spoken too
    assert hint in [t.text for t in log[-1].draw.texts]  # over the first rating
    run.rating_from_console(3, script.next_time)
    step(run, script, log, 12.5)
    assert hint not in [t.text for t in log[-1].draw.texts]  # gone after stop_hint_s
    (end,) = events(log, "safety.stop_hint_end")  # marked, for a replay to draw it as shown
    last_with = max(i for i, s in enumerate(log) if hint in [t.text for t in s.draw.texts])
    assert log[last_with + 1].events and end in log[last_with + 1].events


def test_a_replay_draws_the_questions_and_the_stop_hint_as_they_were_shown() -> None:
    run, script, log = runner(**{"safety.fms_every_s": 4.0, "safety.stop_hint_s": 6.0})
    frames: list[TrackingFrame] = []

    def advance(seconds: float) -> None:
        for _ in range(int(round(seconds * RATE_HZ))):
            frame = script.frame()
            frames.append(frame)
            log.append(run.update(frame, None))

    advance(0.1)
    run.rating_from_console(2, script.next_time)
    advance(4.5)  # the sickness question, with the stop hint still under it
    for _ in range(3):  # 0 -> 3
        script.set(Side.RIGHT, thumbstick=(1.0, 0.0))
        advance(1 / RATE_HZ)
        script.set(Side.RIGHT, thumbstick=(0.0, 0.0))
        advance(1 / RATE_HZ)
    script.press(Side.RIGHT, "trigger_click")
    advance(CONFIRM_HOLD_S + 0.1)
    script.release(Side.RIGHT, "trigger_click")
    advance(2.0)  # the hint ends at 6 s of focused time
    assert [e.data["value"] for e in events(log, "sickness.fms")] == [3]
    recorded = [e for s in log for e in s.events]
    pictures = SessionPictures(recorded, lambda t: iter([f for f in frames if f.time_s >= t - 1e-9]))
    asked = events(log, "question.ask")[0].time_s
    answered = events(log, "sickness.fms")[0].time_s
    compared = 0
    for frame, live in zip(frames, log, strict=True):  # the question (the block's own is not rebuilt)
        if not asked <= frame.time_s < answered:
            continue
        shown = pictures.at(frame.time_s).draw
        assert [t.text for t in shown.texts] == [t.text for t in live.draw.texts], frame.time_s
        assert [m.color for m in shown.meshes] == [m.color for m in live.draw.meshes], frame.time_s
        compared += 1
    assert compared > CONFIRM_HOLD_S * RATE_HZ
    hint_texts = [STOP_HINT in [t.text for t in pictures.at(f.time_s).draw.texts] for f in frames]
    assert hint_texts[0] and not hint_texts[-1]
