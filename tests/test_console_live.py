"""The console's live controls and figures that are more than a button: the displayed
affected hand's size (a slider, 70-100 %, never larger: CLINICAL.md on minified limbs),
applied from the next step, audited and recorded in the session so a replay shows it; the
mirror sync-error figure, which is each repetition's recorded ``sync_error_m``, live and in
replay alike; and the keys the console shows beside its buttons, which are the keys the app
acts on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.clinic_store import store_with_patient
from support.station import controlled_session
from test_therapy_session import Run, program

from gmi_vr.app.console import SessionConsole, replay_panels
from gmi_vr.app.controls import AUDIT_ACTIONS, TherapistControls, button_keys
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.app.record_rows import stored_row
from gmi_vr.body import BodySettings, LimbMode
from gmi_vr.body.skeleton import JOINT_INDEX
from gmi_vr.body.solve import MIN_HAND_SCALE
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side
from gmi_vr.recording.store import SessionStore


def _hand_size(output: FrameOutput, pipeline: SessionPipeline) -> float:
    """The skinned left hand's size against the right's, in the avatar's skinning palette
    the frame hands to the renderer (the cube root of the linear part's determinant)."""
    rig = pipeline._rig
    assert rig is not None
    joints = list(rig.body_joint)
    palette = output.draw.skinned[0].palette
    size = [np.cbrt(np.linalg.det(palette[joints.index(JOINT_INDEX[f"{side}Hand"]), :3, :3]))
            for side in ("left", "right")]  # fmt: skip
    return float(size[0] / size[1])


def test_a_hand_size_chosen_at_the_console_shows_from_the_next_step_and_stays() -> None:
    run = Run(program(**{"session.rating_at_start": False}))
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), runner=run.runner)
    audited: list[tuple[str, dict[str, Any]]] = []
    controls = TherapistControls(run.runner, pipeline, lambda action, details: audited.append((action, details)))
    first = pipeline.step(run.script.frame())
    assert _hand_size(first, pipeline) == pytest.approx(1.0, abs=1e-6) and pipeline.hand_scale == 1.0

    controls.act("hand_scale", 0.8, run.script.next_time)
    output = pipeline.step(run.script.frame())
    assert _hand_size(output, pipeline) == pytest.approx(0.8, abs=1e-6), "the very next frame"
    changes = [e for e in output.events if e.kind == "body.hand_scale"]
    assert [c.data for c in changes] == [{"scale": 0.8, "by": "therapist"}]
    assert audited == [("console.hand_scale", {"session_time_s": round(changes[0].time_s, 3), "via": "console",
                                               "scale": 0.8, "was": 1.0})]  # fmt: skip
    # A limb-mode change (the therapist's, or a task's) keeps the size.
    controls.act("limb_mode", "real", run.script.next_time)
    later = pipeline.step(run.script.frame())
    assert later.body.mode is LimbMode.REAL and _hand_size(later, pipeline) == pytest.approx(0.8, abs=1e-6)


@pytest.mark.parametrize("scale", [1.05, 0.6, float("nan")])
def test_a_hand_size_larger_than_life_or_below_the_smallest_is_refused(scale: float) -> None:
    run = Run(program(**{"session.rating_at_start": False}))
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), runner=run.runner)
    audited: list[str] = []
    controls = TherapistControls(run.runner, pipeline, lambda action, details: audited.append(action))
    pipeline.step(run.script.frame())
    controls.act("hand_scale", scale, run.script.next_time)
    output = pipeline.step(run.script.frame())
    assert _hand_size(output, pipeline) == pytest.approx(1.0, abs=1e-6)
    assert audited == [] and not [e for e in output.events if e.kind == "body.hand_scale"]
    assert controls.message.startswith(f"the hand is shown at {MIN_HAND_SCALE:.0%} to 100% of its size")


def test_the_size_change_is_in_the_store_the_audit_the_report_and_the_replay(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from recording_synth import frame

    from gmi_vr.app.replay_run import replay_body
    from gmi_vr.review.figures_data import session_review

    store_with_patient(tmp_path, monkeypatch, "H-1").close()
    with controlled_session("H-1", therapist="dr.h") as (pipeline, controls):
        for index in range(20):
            if index == 10:
                controls.act("hand_scale", 0.75, frame(index).time_s)
            pipeline.step(frame(index))
        pipeline.ended_by = "window_closed"
    changed_at = frame(10).time_s
    with SessionStore.open(create=False) as store:
        (session,) = store.list_sessions("H-1")
        changes = [(e.time_s, e.data) for e in store.events(session.id) if e.kind == "body.hand_scale"]
        rows = [(a.actor, a.action, a.details) for a in store.audit_trail("H-1") if a.action.startswith("console.")]
        body = replay_body(store, session.id)
        review = session_review(store, session.id)
    assert changes == [(pytest.approx(changed_at), {"scale": 0.75, "by": "therapist"})]
    assert [(actor, action, details["scale"], details["was"]) for actor, action, details in rows] == [
        ("dr.h", "console.hand_scale", 0.75, 1.0)]
    # Replayed, the hand is life size until the change and at 75 % from it.
    assert body.settings_at(changed_at - 0.01).affected_hand_scale == 1.0
    assert body.settings_at(changed_at).affected_hand_scale == 0.75
    # The session report lists it with the therapist's live changes.
    assert [(line.what, line.detail) for line in review.live_changes if line.what == "body.hand_scale"] == [
        ("body.hand_scale", "scale 0.75, by therapist")]


def test_the_sync_error_figure_is_each_mirror_repetitions_recorded_sync_error() -> None:
    """A both-limbs mirror repetition with the real affected hand 3 cm behind its image:
    the live console and the replayed one plot the record's own ``sync_error_m`` (in cm) at
    the time the record was made, and nothing for the look-only and healthy-only tasks."""
    from test_stages_mirror import ANCHOR, Motion, mirror_program, records_of, run_for, start

    from gmi_vr.therapy.content.workspace import reflect_across_midline
    from gmi_vr.therapy.results.measures import minimum_jerk
    from gmi_vr.therapy.results.stage_records import RepetitionRecord
    from gmi_vr.therapy.tasks.motor import HOME_DWELL_S

    mirror = mirror_program(Side.LEFT, **{"mirror.phase": "both", "mirror.grading.repetitions": 1})
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    task, motor, log = start(mirror, motion)
    plan = motor.plans[0]
    offset = np.array([0.0, 0.0, 0.03])
    motion.place(Side.RIGHT, reflect_across_midline(ANCHOR, plan.home))
    motion.place(Side.LEFT, plan.home + offset)
    run_for(motion, task.update, HOME_DWELL_S + 0.1, log)
    source, goal = reflect_across_midline(ANCHOR, plan.home), reflect_across_midline(ANCHOR, plan.target)
    for i in range(1, 109):
        motion.place(Side.RIGHT, minimum_jerk(source, goal, np.array([i / 108]))[0])
        motion.place(Side.LEFT, motion.displayed() + offset)
        log.append(task.update(*motion.frame()))
    motion.place(Side.LEFT, plan.target + offset)
    run_for(motion, task.update, 1.0, log)
    (record,) = records_of(log, RepetitionRecord)
    assert record.sync_error_m == pytest.approx(0.03)

    # Live: every step's events through the console, as the session loop hands them on.
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT))
    console = SessionConsole(pipeline, None, "live")
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    motion.place(Side.RIGHT, source)
    frame, _ = motion.frame()
    blank = pipeline.step(frame)
    start_s = frame.time_s
    events: list[Event] = []
    for k, step in enumerate(log):
        frame = replace(frame, time_s=start_s + k / 90)
        console.observe(frame, replace(blank, events=tuple(step.events)))
        events.extend(step.events)
    (made,) = [e for e in events if e.kind == "repetition.record"]
    expected = ((pytest.approx(made.time_s - start_s), pytest.approx(100 * record.sync_error_m)),)
    assert console.panel().sync_error_cm == expected
    stored = stored_row(record).measures["sync_error_m"]
    assert console.panel().sync_error_cm[0][1] == pytest.approx(100 * stored), "the stored row's figure"
    # Replayed from the recorded events: the same point, once the record's time is reached.
    panel_at = replay_panels("replay", start_s, events, [], [])
    assert panel_at(made.time_s - 0.01).sync_error_cm == ()
    assert panel_at(made.time_s).sync_error_cm == expected


def test_the_keys_beside_the_buttons_are_the_keys_the_app_acts_on() -> None:
    """Each key the console shows beside a button does that button's action (the same audit
    row, "via" the key), and the live panel carries exactly those keys."""
    keys = button_keys()
    assert keys == {"answer_left": "F2", "answer_right": "F3", "ask_pain": "F4", "rating": "F5", "pause": "F7",
                    "resume": "F7", "stop": "F8", "end": "F9", "repeat": "F10", "skip": "F11"}  # fmt: skip
    for button, key in keys.items():
        run = Run(program(**{"session.rating_at_start": False}))
        audited: list[tuple[str, dict[str, Any]]] = []
        controls = TherapistControls(run.runner, audit=lambda action, details, into=audited: into.append((action, details)))
        run.step(3)
        if button == "resume":
            controls.act("pause", None, run.script.next_time)
            run.step()
            audited.clear()
        if button in ("repeat", "skip"):
            run.until_event("trial.show")
        pressed = [key.lower()] + (["7", "enter"] if button == "rating" else [])
        controls.handle(pressed, run.script.next_time)
        name = button.split("_")[0] if button.startswith("answer") else button
        assert [(action, details["via"]) for action, details in audited] == [(AUDIT_ACTIONS[name], "key")], button
    run = Run(program(**{"session.rating_at_start": False}))
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), runner=run.runner)
    pipeline.step(run.script.frame())
    panel = SessionConsole(pipeline, TherapistControls(run.runner, pipeline), "live").panel()
    assert panel.keys == keys and (panel.hand_scale, panel.hand_scale_min) == (1.0, MIN_HAND_SCALE)


def test_replays_timeline_marks_the_therapists_changes_but_not_a_tasks_own_limb_mode() -> None:
    from gmi_vr.console.replay_window import MARK_COLORS
    from gmi_vr.therapy.replayed import MARK_GROUPS, timeline_marks

    events = [
        Event(1.0, "body.mode", {"mode": "still", "blend": 0.0}),  # a task asks for it
        Event(2.0, "body.hand_scale", {"scale": 0.8, "by": "therapist"}),
        Event(3.0, "body.mode", {"mode": "real", "blend": 0.0, "by": "therapist"}),
        Event(4.0, "session.pause", {"by": "therapist"}),
        Event(5.0, "session.pause", {}),  # the headset taken off
        Event(6.0, "task.skipped", {"kind": "laterality", "by": "therapist"}),
    ]
    assert timeline_marks(events) == ((2.0, "change"), (3.0, "change"), (4.0, "change"), (6.0, "change"))
    assert ("change", "therapist's change") in MARK_GROUPS and "change" in MARK_COLORS
