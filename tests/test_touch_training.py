"""Tactile discrimination training ("touch" block): the balanced sequence (a property test),
a training run on the simulator from a motion file in which the healthy hand's thumbstick
and buttons name site and probe — stored in a real SQLite store and scored right — and the
dysynchiria screen that stops mirrored touch.

The cue times follow from the fixed pace (one touch every ``interval_s``), so a rehearsal
runner with the same program and seed, fed a motion with no answers, finds every cue; the
answers are then scripted at known delays after them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.clinic_store import store_with_patient

from gmi_vr.app.patients import patient_program
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side
from gmi_vr.recording.listing import session_rows
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError
from gmi_vr.therapy.plan.touch_training import PROBES, touch_sequence
from gmi_vr.therapy.runner import SessionRunner
from gmi_vr.therapy.tasks.touch_task import COVER_COLOR, TouchTask
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

RATE_HZ = 60.0
SEED = 4242
FRAME_S = 1.0 / RATE_HZ

#: A short training: 2 blocks of 4 touches, a touch every 3 s, a 2 s rest, no ratings and no
#: sickness questions over it (each is tested with the runner elsewhere).
SHORT = {
    "session.blocks": ["touch"], "session.rating_at_start": False, "session.rating_at_end": False,
    "safety.fms_every_s": 0, "touch.interval_s": 3.0, "touch.lead_s": 1.0, "touch.touches_per_block": 4,
    "touch.blocks": 2, "touch.rest_s": 2.0, "touch.feedback_s": 0.5,
}  # fmt: skip


# --- the sequence ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 8), st.integers(1, 60), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_every_block_and_the_session_share_sites_probes_and_pairs_evenly(
        site_count: int, per_block: int, blocks: int, seed: int) -> None:
    sites = [f"site{i}" for i in range(site_count)]
    plan = touch_sequence(sites, per_block, blocks, seed)
    assert [len(block) for block in plan] == [per_block] * blocks
    session_sites: Counter[str] = Counter()
    session_probes: Counter[str] = Counter()
    for block in plan:
        pairs = Counter((t.site, t.probe) for t in block)
        every_pair = [pairs[(s, p)] for s in sites for p in PROBES]
        assert max(every_pair) - min(every_pair) <= 1, pairs
        by_site = Counter(t.site for t in block)
        assert max(by_site[s] for s in sites) - min(by_site[s] for s in sites) <= 1, by_site
        by_probe = Counter(t.probe for t in block)
        assert abs(by_probe[PROBES[0]] - by_probe[PROBES[1]]) <= 1, by_probe
        session_sites.update(t.site for t in block)
        session_probes.update(t.probe for t in block)
    assert max(session_sites[s] for s in sites) - min(session_sites[s] for s in sites) <= 1, session_sites
    assert abs(session_probes[PROBES[0]] - session_probes[PROBES[1]]) <= 1, session_probes


def test_the_sequence_is_random_from_its_seed_and_the_same_for_the_same_seed() -> None:
    sites = ["a", "b", "c", "d", "e"]
    first, again, other = (touch_sequence(sites, 24, 3, seed) for seed in (1, 1, 2))
    assert first == again and first != other


def test_the_defaults_are_the_published_protocol_and_never_magnify() -> None:
    touch = Program.default(Side.LEFT, BodyPart.HAND).touch
    assert (len(touch.sites), touch.probe_small_mm, touch.probe_large_mm) == (5, 2.0, 11.0)
    assert (touch.interval_s, touch.touches_per_block, touch.blocks, touch.rest_s) == (15.0, 24, 3, 180.0)
    assert touch.touches_per_block * touch.interval_s == 6 * 60  # 6-minute blocks
    assert [v.value for v in touch.views] == ["hidden"] and touch.mirrored_touch is False
    program = Program.default(Side.LEFT, BodyPart.HAND)
    with pytest.raises(ProgramError, match="never larger"):
        program.override("t", "bigger", "2026-01-01", **{"touch.limb_scale": 1.2})
    # A touch session is not cut at the 10-minute GMI cap: it runs its 24 minutes and rests.
    touch_program, _ = program.override("t", "touch", "2026-01-01", **{"session.blocks": ["touch"]})
    assert touch_program.session_cap_s == 3 * 6 * 60 + 2 * 180 + 60
    assert program.session_cap_s == program.safety.session_cap_s
    # Minified is allowed, and a touch session shows the hand at the touch setting's size.
    smaller, _ = touch_program.override("t", "minified", "2026-01-01", **{"touch.limb_scale": 0.8})
    assert (smaller.affected_hand_scale, program.affected_hand_scale) == (0.8, 1.0)


# --- scripted runs -------------------------------------------------------------------------------


def motion_text(keyframes: list[dict[str, Any]], end_s: float) -> str:
    start = {"t": 0.0, "head": {"position": [0.0, 1.2, 0.0]},
             "left": {"position": [-0.2, 0.7, -0.3]},
             "right": {"position": [0.2, 0.7, -0.3], "thumbstick": [0.0, 0.0], "primary": False,
                       "secondary": False}}  # fmt: skip
    lines = [{"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ}, start, *keyframes, {"t": end_s}]
    return "\n".join(json.dumps(line) for line in lines) + "\n"


#: The console's cue lines after each frame of the last ``run_runner`` call.
CUE_LINES: list[tuple[str, ...]] = []


def run_runner(program: Program, keyframes: list[dict[str, Any]], end_s: float) -> tuple[SessionRunner, list[Event]]:
    runner = SessionRunner(program, SEED)
    events: list[Event] = []
    CUE_LINES.clear()
    with ScriptedFrameSource(parse_motion(motion_text(keyframes, end_s))) as source:
        for frame in source.frames():
            step = runner.update(frame, None)
            events += step.events
            cue = runner.therapist_cue(frame.time_s)
            CUE_LINES.append(cue.lines if cue is not None else ())
            if step.done:
                break
    return runner, events


def answer(keyframes: list[dict[str, Any]], cue_s: float, pushes: int, button: str, delay_s: float) -> float:
    """Script the healthy (right) hand: ``pushes`` thumbstick pushes to the right after the
    cue, then ``button`` pressed ``delay_s`` after the cue; returns the press time."""
    t = cue_s + 0.1
    for _ in range(pushes):
        keyframes += [{"t": t, "right": {"thumbstick": [0.0, 0.0]}}, {"t": t + 0.05, "right": {"thumbstick": [1.0, 0.0]}},
                      {"t": t + 0.1, "right": {"thumbstick": [1.0, 0.0]}}, {"t": t + 0.15, "right": {"thumbstick": [0.0, 0.0]}}]  # fmt: skip
        t += 0.2
    press = cue_s + delay_s
    assert press > t
    keyframes += [{"t": press, "right": {button: True}}, {"t": press + 0.2, "right": {button: False}}]
    return press


def test_a_scripted_training_on_the_simulator_is_scored_right_and_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with store_with_patient(tmp_path, monkeypatch, "T-1", program={**SHORT, "touch.views": ["hidden", "virtual"]},
                            reason="a short touch training") as store:
        program = patient_program(store, "T-1")

    # The rehearsal: no answers, every touch times out; the cues come at the fixed pace.
    _, rehearsed = run_runner(program, [], 60.0)
    cues = [e for e in rehearsed if e.kind == "touch.cue"]
    assert len(cues) == 8
    gaps = [b.time_s - a.time_s for a, b in zip(cues, cues[1:], strict=False)]
    assert gaps[:3] == pytest.approx([3.0] * 3, abs=FRAME_S) and gaps[4:] == pytest.approx([3.0] * 3, abs=FRAME_S)
    assert gaps[3] == pytest.approx(3.0 + 2.0, abs=FRAME_S)  # the rest between the blocks

    sites = program.touch.sites
    buttons = {"small": "primary", "large": "secondary"}
    keyframes: list[dict[str, Any]] = []
    planned: list[tuple[str, str, float | None, bool, bool]] = []  # site, probe, rt, site ok, probe ok
    for index, cue in enumerate(cues):
        site, probe = cue.data["site"], cue.data["probe"]
        wrong_site = index == 1  # one site named wrong, one probe, one left unanswered
        wrong_probe = index == 2
        if index == 5:
            planned.append((site, probe, None, False, False))
            continue
        named = sites[(sites.index(site) + 1) % len(sites)] if wrong_site else site
        button = buttons[PROBES[1] if probe == PROBES[0] else PROBES[0]] if wrong_probe else buttons[probe]
        delay = 1.1 + 0.05 * index
        press = answer(keyframes, cue.time_s, sites.index(named), button, delay)
        planned.append((site, probe, press - cue.time_s, not wrong_site, not wrong_probe))

    said: list[str] = []
    text = motion_text(keyframes, 60.0)
    with session_pipeline("T-1", source="sim", seed=SEED, report=said.append) as pipeline, \
            ScriptedFrameSource(parse_motion(text, "touch.jsonl")) as source:  # fmt: skip
        modes, covered, mapped, times = [], [], [], []
        for frame in source.frames():
            times.append(frame.time_s)
            output = pipeline.step(frame)
            modes.append(output.body.mode.value)
            covered.append(any(m.mesh == "box" and m.color == COVER_COLOR for m in output.draw.meshes))
            texts = {t.text for t in output.draw.texts}
            mapped.append(all(site.replace("_", " ") in texts for site in sites))
            if output.done:
                break
        assert output.done, "the training ran to its end"

    with SessionStore.open() as store:
        (session,) = store.list_sessions("T-1")
        trials = store.trials(session.id)
        events = store.events(session.id)
        (row,) = session_rows(store)
    assert (session.status, session.end_reason) == ("completed", "plan_done")
    assert [t.kind for t in trials] == ["touch"] * 8
    for trial, (site, probe, rt, site_ok, probe_ok) in zip(trials, planned, strict=True):
        m = trial.measures or {}
        assert (m["site"], m["probe"], m["site_correct"], m["probe_correct"]) == (site, probe, site_ok, probe_ok)
        assert trial.correct == (site_ok and probe_ok) and trial.side == "left"
        if rt is None:
            assert m["timed_out"] and trial.reaction_time_s is None and m["answer_site"] is None
        else:  # the press is seen by the first frame at or after it
            assert trial.reaction_time_s is not None and rt - 1e-9 <= trial.reaction_time_s < rt + FRAME_S
            assert m["answered_by"] in ("right.primary", "right.secondary") and m["rt_source"] == "frame"
    assert [t.view for t in trials] == ["hidden"] * 4 + ["virtual"] * 4
    # Per block and per session: block 1 had the wrong site and the wrong probe, block 2 the miss.
    (end,) = [e for e in events if e.kind == "touch.end"]
    assert [(b["site_correct"], b["probe_correct"], b["n"]) for b in end.data["blocks"]] == [(3, 3, 4), (3, 3, 4)]
    assert (end.data["score"]["site_correct"], end.data["score"]["probe_correct"]) == (6, 6)
    assert [e.data["score"]["site_accuracy"] for e in events if e.kind == "touch.block_end"] == [0.75, 0.75]
    assert (row.touches, row.touch_sites_right, row.touch_probes_right) == (8, 6, 6)
    assert said == [f"session {session.id} saved: 8 trials, touch: site 6/8, probe 6/8, pain - -> -"]
    # The hidden and the virtual limb both rest still: the healthy hand's answers never move it.
    assert set(modes[10:]) == {"still"}
    # The hidden block covers the affected limb, the virtual one shows it; the site map is in
    # view while touches run (not in the rest).
    at_cue = [times.index(c.time_s) for c in cues]
    assert all(covered[i] for i in at_cue[:4]) and not any(covered[i] for i in at_cue[4:])
    assert all(mapped[i] for i in at_cue)
    rest = times.index(min(times, key=lambda t: abs(t - (cues[3].time_s + 2.5))))
    assert not mapped[rest] and not covered[rest]


def screen_program(**changes: Any) -> Program:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    program, _ = program.override("t", "screen", "2026-01-01", **{
        **SHORT, "touch.views": ["mirrored"], "touch.mirrored_touch": True, "touch.screening_touches": 3,
        **changes})  # fmt: skip
    return program


def screening_answers(program: Program, answers: list[str]) -> tuple[SessionRunner, list[Event]]:
    """Answer the screen's questions in order ("primary" yes, "secondary" no), each after the
    question is up, found by rehearsing the motion so far."""
    keyframes: list[dict[str, Any]] = []
    for button in answers:
        _, events = run_runner(program, keyframes, 40.0)
        done = len([e for e in events if e.kind == "touch.screen"])
        cue = [e for e in events if e.kind == "touch.cue" and e.data.get("screen")][done]
        press = cue.time_s + 2.0
        keyframes += [{"t": press, "right": {button: True}}, {"t": press + 0.2, "right": {button: False}}]
    return run_runner(program, keyframes, 40.0)


def test_a_clear_screen_lets_mirrored_touch_run_on_the_healthy_limb() -> None:
    program = screen_program()
    runner, events = screening_answers(program, ["secondary"] * 3)
    screens = [e.data for e in events if e.kind == "touch.screen"]
    assert [s["report"] for s in screens] == [False, False, False]
    assert not runner.dysynchiria and not any(e.kind == "safety.alert" for e in events)
    touches = [e.data for e in events if e.kind == "touch.cue" and not e.data.get("screen")]
    assert len(touches) == 8 and {(t["touched"], t["side"], t["view"]) for t in touches} == {("healthy", "right", "mirrored")}
    # No touch of training before the screen had passed.
    passed = next(e.time_s for e in events if e.kind == "touch.screen_passed")
    assert min(e.time_s for e in events if e.kind == "touch.cue" and not e.data.get("screen")) > passed
    assert ("body.mode", "mirror") in [(e.kind, e.data.get("mode")) for e in events]


def test_a_report_in_the_screen_stops_mirrored_touch_for_the_session_and_alerts_the_therapist() -> None:
    program = screen_program()
    runner, events = screening_answers(program, ["secondary", "primary"])
    kinds = [e.kind for e in events]
    assert [e.data["report"] for e in events if e.kind == "touch.screen"] == [False, True]
    (report,) = [e for e in events if e.kind == "safety.dysynchiria"]
    (alert,) = [e for e in events if e.kind == "safety.alert"]
    assert alert.data["cause"] == "dysynchiria" and "Mirrored touch is stopped" in alert.data["message"]
    assert alert.time_s == report.time_s and runner.dysynchiria
    # The console says so beside the cue, and its log names it.
    from gmi_vr.app.console import event_words

    assert event_words(report).startswith("dysynchiria: pain or tingling on the affected side")
    stopped = [any(line.startswith("MIRRORED TOUCH STOPPED") for line in lines) for lines in CUE_LINES]
    first, last = stopped.index(True), max(i for i, lines in enumerate(CUE_LINES) if lines)
    assert not stopped[0] and all(stopped[first : last + 1]) and last - first > 20 * RATE_HZ
    # The training goes on (not a stop of the session), with the limb hidden and the affected
    # limb touched, in both blocks; no third screening touch was given.
    assert "task.stopped" not in kinds and runner.outcome().status.value == "completed"
    touches = [e.data for e in events if e.kind == "touch.cue" and not e.data.get("screen")]
    assert len(touches) == 8 and {(t["touched"], t["view"]) for t in touches} == {("affected", "hidden")}
    assert len([e for e in events if e.kind == "touch.cue" and e.data.get("screen")]) == 2
    (end,) = [e for e in events if e.kind == "touch.end"]
    assert end.data["mirrored_touch_stopped"] is True
    # The last body mode is not the mirror.
    assert [e.data["mode"] for e in events if e.kind == "body.mode"][-1] == "still"


def test_a_later_touch_block_of_the_session_keeps_mirrored_touch_stopped() -> None:
    program = screen_program(**{"session.blocks": ["touch", "touch"], "touch.blocks": 1})
    runner, events = screening_answers(program, ["primary"])
    starts = [e.data for e in events if e.kind == "block.start" and e.data.get("kind") == "touch"]
    assert [(s["block_index"], s["view"], s["mirrored_touch"]) for s in starts] == [(0, "mirrored", True), (1, "hidden", False)]
    assert len([e for e in events if e.kind == "touch.screen"]) == 1


def test_a_pause_voids_the_cued_touch_and_gives_it_again() -> None:
    from gmi_vr.therapy.runner import DEFAULT_ANCHOR
    from gmi_vr.therapy.tasks.base import TaskContext

    program = screen_program(**{"touch.views": ["hidden"], "touch.mirrored_touch": False})
    task = TouchTask(program, TaskContext(DEFAULT_ANCHOR, SEED, 0))
    events: list[Event] = []
    paused = False
    with ScriptedFrameSource(parse_motion(motion_text([], 8.0))) as source:
        for frame in source.frames():
            if 1.5 <= frame.time_s < 2.5:  # the headset is off: the task is interrupted once
                if not paused:
                    events += task.interrupt(frame.time_s, "unfocused").events
                    paused = True
                continue
            events += task.update(frame, None).events
    cues = [e for e in events if e.kind == "touch.cue"]
    (void,) = [e.data for e in events if e.kind == "touch.void"]
    assert cues[0].time_s < 1.5 and (void["site"], void["probe"]) == (cues[0].data["site"], cues[0].data["probe"])
    # Given again after a fresh lead, as touch 0; nothing was recorded for the voided one.
    again = cues[1]
    assert again.time_s == pytest.approx(2.5 + program.touch.lead_s, abs=FRAME_S)
    assert (again.data["site"], again.data["probe"], again.data["touch_index"]) == (void["site"], void["probe"], 0)
    assert not [e for e in events if e.kind in ("touch.timeout", "touch.answer") and e.time_s < again.time_s]


@pytest.mark.parametrize(("part", "near", "far"), [("hand", "LowerArm", "Hand"), ("foot", "LowerLeg", "Foot")])
def test_the_hidden_view_covers_the_affected_limb_of_the_patients_body_part(part: str, near: str, far: str) -> None:
    import numpy as np
    from body_frames import calibration, frame, held, upright_head

    from gmi_vr.body.pose import LimbMode
    from gmi_vr.body.skeleton import JOINT_INDEX
    from gmi_vr.body.solve import BodySettings, BodyState, solve_body
    from gmi_vr.therapy.tasks.base import TaskContext
    from gmi_vr.therapy.tasks.touch_task import COVER_COLOR

    cal = calibration(affected=Side.LEFT)
    head = upright_head(cal)
    body = solve_body(frame(0, head, None, held(head)), cal, BodySettings(mode=LimbMode.STILL), BodyState())
    program = Program.default(Side.LEFT, BodyPart(part))
    task = TouchTask(program, TaskContext(head, SEED, 0))
    drawn = task.update(frame(0, head), body).draw
    (cover,) = [m for m in drawn.meshes if m.mesh == "box" and m.color == COVER_COLOR]
    centre = cover.world_from_mesh[:3, 3]

    def middle(side: str) -> np.ndarray:
        joints = body.world_from_joint
        return (joints[JOINT_INDEX[f"{side}{near}"], :3, 3] + joints[JOINT_INDEX[f"{side}{far}"], :3, 3]) / 2

    # Over the affected limb's segment (within its half-length and the cloth's lift), far
    # from the healthy one.
    assert np.linalg.norm(centre - middle("left")) < 0.2
    assert np.linalg.norm(centre - middle("right")) > np.linalg.norm(centre - middle("left")) + 0.15
