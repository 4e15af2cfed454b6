"""Reaction time on the sim source: a trigger press scripted in a motion file a known delay
after the stimulus's display time is recorded as that delay, to one frame.

The sim source gives no input change times (``HandInput.changed_at_s`` is empty), so
``ButtonEdges`` takes the display time of the first frame that sees the press
(``rt_source`` "frame"). With frames at ``i / rate_hz``, a press at ``shown + delay`` is
seen by the first frame at or after it, so the recorded RT satisfies
``delay <= rt < delay + 1 / rate_hz``, and equals the delay when the press falls on a frame.

The stimuli's sides and display times depend on the seed and on the earlier answers, so the
motion is built trial by trial: a rehearsal runner with the same program and seed is fed the
frames of the motion so far until the next "trial.show", and the answer to it is appended.
The final motion file then runs once, from the file's text, through the real pipeline
(``session_pipeline`` with a fixed seed) into a real SQLite store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.clinic_store import store_with_patient

from gmi_vr.app.patients import patient_program
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.core.types import Side
from gmi_vr.recording.export.tables import export_csv
from gmi_vr.recording.listing import session_rows
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.runner import SessionRunner
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

RATE_HZ = 60.0
SEED = 20261125
#: Delay from each stimulus's display time to the scripted press, seconds: whole frames
#: (recorded exactly) and not (recorded up to one frame late).
DELAYS = (30 / RATE_HZ, 0.6123, 21 / RATE_HZ, 0.8777)
HOLD_S = 0.2  # how long each trigger stays pulled


def motion_text(keyframes: list[dict[str, object]], end_s: float) -> str:
    lines = [{"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ}, *keyframes, {"t": end_s}]
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def next_show(program_dict: dict[str, object], keyframes: list[dict[str, object]],
              after_s: float) -> tuple[float, Side]:
    """Display time and side of the first stimulus shown after ``after_s``, rehearsed on a
    runner with the session's program and seed fed the motion's frames so far."""
    from gmi_vr.therapy.plan.program import Program

    runner = SessionRunner(Program.from_dict(program_dict), SEED)
    with ScriptedFrameSource(parse_motion(motion_text(keyframes, after_s + 10.0))) as source:
        for frame in source.frames():
            for event in runner.update(frame, None).events:
                if event.kind == "trial.show" and event.time_s > after_s:
                    return event.time_s, Side(event.data["side"])
    raise AssertionError("no stimulus was shown")


def test_a_scripted_trigger_press_is_recorded_as_its_delay_to_one_frame(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with store_with_patient(tmp_path, monkeypatch, "RT-1", program={
        "session.blocks": ["laterality"], "session.rating_at_start": False,
        "session.rating_at_end": False, "laterality.trials_per_block": len(DELAYS),
        "laterality.rotations_deg": [0, 90], "laterality.views": ["back"],
        "laterality.feedback": False, "laterality.inter_trial_s": 0.5,
    }, reason="a short block for the reaction-time check") as store:  # fmt: skip
        program = patient_program(store, "RT-1").to_dict()

    # Both triggers released (explicitly, so the click holds false until a press keyframe).
    keyframes: list[dict[str, object]] = [{"t": 0.0, "left": {"trigger": 0.0, "trigger_click": False},
                                           "right": {"trigger": 0.0, "trigger_click": False}}]  # fmt: skip
    planned: list[tuple[float, Side, float]] = []
    last = -1.0
    for delay in DELAYS:
        shown, side = next_show(program, keyframes, last)
        press = shown + delay
        if abs(delay * RATE_HZ - round(delay * RATE_HZ)) < 1e-9:  # exactly on a frame's time
            press = (round(shown * RATE_HZ) + round(delay * RATE_HZ)) / RATE_HZ
        keyframes.append({"t": press, side.value: {"trigger": 1.0, "trigger_click": True}})
        keyframes.append({"t": press + HOLD_S, side.value: {"trigger": 0.0, "trigger_click": False}})
        planned.append((shown, side, delay))
        last = press
    text = motion_text(keyframes, last + 2.0)
    assert len({side for _, side, _ in planned}) == 2, "both sides are answered"

    first_stimulus_frames: list[float] = []
    showing = False
    said: list[str] = []
    with session_pipeline("RT-1", source="sim", seed=SEED, report=said.append) as pipeline, \
            ScriptedFrameSource(parse_motion(text, "rt.jsonl")) as source:  # fmt: skip
        for frame in source.frames():
            output = pipeline.step(frame)
            on_screen = any(m.mesh.startswith("stimuli/hand_") for m in output.draw.meshes)
            if on_screen and not showing:
                first_stimulus_frames.append(frame.time_s)
            showing = on_screen
            if output.done:
                break
        assert output.done, "the block ran to its end"

    with SessionStore.open() as store:
        (session,) = store.list_sessions("RT-1")
        assert session.status == "completed" and session.settings["seed"] == SEED
        assert session.end_reason == "plan_done"
        stored = store.trials(session.id)
        (block,) = store.blocks(session.id)
        (task,) = store.tasks(session.id)
        (row,) = session_rows(store)
        written = export_csv(store, session, tmp_path / "csv")
    assert len(stored) == len(DELAYS)
    # The block and its task span the trials, and every trial is filed under its task.
    assert (block.stage, task.kind, task.block_seq) == ("laterality", "laterality", block.seq)
    assert (task.start_s, task.end_s) == (block.start_s, block.end_s)
    assert block.start_s < stored[0].onset_s and block.end_s > stored[-1].onset_s
    assert {t.task_seq for t in stored} == {task.seq}
    assert (row.stages, row.trials, row.status, row.end_reason) == (("laterality",), 4, "completed", "plan_done")
    assert said == [f"session {session.id} saved: 4 trials, pain - -> -"]
    blocks_csv = next(p for p in written if p.name.endswith("_blocks.csv")).read_text().splitlines()
    # A clinical block: no visual-feedback condition in the last two columns.
    assert blocks_csv[1:] == [f"RT-1,{session.id},{block.seq},laterality,{block.start_s},{block.end_s},,"]
    # The display time recorded is that of the first frame that drew the picture.
    assert [t.onset_s for t in stored] == first_stimulus_frames == [p[0] for p in planned]
    frame_s = 1.0 / RATE_HZ
    for trial, (_, side, delay) in zip(stored, planned, strict=True):
        assert (trial.side, trial.answer, trial.correct) == (side.value, side.value, True)
        assert trial.measures is not None and trial.measures["rt_source"] == "frame"
        assert trial.measures["answered_by"] == f"{side.value}.trigger_click"
        rt = trial.reaction_time_s
        assert rt is not None and delay - 1e-9 <= rt < delay + frame_s, (rt, delay)
        if abs(delay * RATE_HZ - round(delay * RATE_HZ)) < 1e-9:
            assert rt == pytest.approx(delay, abs=1e-9)  # a press on a frame: exact
