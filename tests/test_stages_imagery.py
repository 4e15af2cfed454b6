"""Explicit motor imagery (stage 2): the ghost demonstration, cues, imagined durations taken
exactly from the buttons' change times, the vividness and pain ratings after the block."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stages_frames import ANCHOR, HEAD
from test_therapy_frames import RATE_HZ, Script

from gmi_vr.body.pose import LimbMode
from gmi_vr.core.types import Side
from gmi_vr.therapy.content.movements import movements_for
from gmi_vr.therapy.plan.program import BodyPart, Program, Stage
from gmi_vr.therapy.results.stage_records import ImageryRecord, VividnessRecord
from gmi_vr.therapy.results.task_records import STORAGE_PHASE, RatingRecord
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep
from gmi_vr.therapy.tasks.imagery import GHOST_COLOR, ImageryTask, VividnessRatingTask
from gmi_vr.therapy.tasks.registry import build_task


def imagery_program(part: BodyPart = BodyPart.HAND, **changes: Any) -> Program:
    base = {"stage": Stage.EXPLICIT_IMAGERY.value, "imagery.repetitions": 1}
    base.update(changes)
    program, _ = Program.default(Side.LEFT, part).override("t", "test", "2026-01-01", **base)
    return program


def run(task: Any, script: Script, seconds: float, log: list[TaskStep]) -> None:
    for _ in range(int(round(seconds * RATE_HZ))):
        log.append(task.update(script.frame(), None))


def until(task: Any, script: Script, kind: str, log: list[TaskStep], limit_s: float = 30.0) -> None:
    for _ in range(int(limit_s * RATE_HZ)):
        step = task.update(script.frame(), None)
        log.append(step)
        if any(e.kind == kind for e in step.events):
            return
    raise AssertionError(f"no {kind} event")


def tap(script: Script, side: Side, name: str, at_s: float) -> None:
    script.press(side, name, at_s=at_s)


def taps(task: Any, script: Script, side: Side, name: str, count: int, log: list[TaskStep]) -> None:
    """``count`` presses of ``side``'s button ``name``, each held 0.1 s and let go 0.1 s."""
    for _ in range(count):
        tap(script, side, name, script.next_time - 0.001)
        run(task, script, 0.1, log)
        script.release(side, name)
        run(task, script, 0.1, log)


def at_the_imagine_prompt(**changes: Any) -> tuple[ImageryTask, Script, list[TaskStep]]:
    """An imagery task of ``imagery_program(**changes)`` stepped to its first movement's
    imagine prompt (the audio cue after the demonstration's), with its script and steps."""
    task = ImageryTask(imagery_program(**changes), TaskContext(ANCHOR, 1, 0))
    script = Script(HEAD)
    log: list[TaskStep] = []
    until(task, script, "cue.audio", log)
    until(task, script, "cue.audio", log)
    return task, script, log


#: One movement, wrist flexion, imagined without the ratings after it.
ONE_UNRATED = {"imagery.movements": ["wrist_flexion"], "imagery.rate_vividness": False, "imagery.rate_pain": False}


def test_imagery_block_demonstrates_then_records_imagined_durations_from_the_change_times() -> None:
    program = imagery_program()
    task = build_task("imagery", program, TaskContext(ANCHOR, 1, 0))
    assert isinstance(task, ImageryTask) and task.limb_mode is LimbMode.STILL
    assert not task.involves_movement
    script = Script(HEAD)
    log: list[TaskStep] = []
    movements = movements_for(BodyPart.HAND, 1)
    assert [m.name for m in task.queue] == [m.name for m in movements]
    for trial, movement in enumerate(movements):
        count = len(log)
        until(task, script, "imagery.demo", log)
        ghosts = []
        # Presses during the demonstration are not marks.
        tap(script, Side.RIGHT, "trigger_click", script.next_time - 0.002)
        run(task, script, 0.5, log)
        script.release(Side.RIGHT, "trigger_click")
        run(task, script, movement.duration_s - 0.5, log)
        for step in log[count:]:
            ghosts += [m for m in step.draw.meshes if m.mesh == "stimuli/hand_left"]
        assert ghosts and all(m.color == GHOST_COLOR for m in ghosts)
        moved = max(np.linalg.norm(g.world_from_mesh[:3, 3] - ghosts[0].world_from_mesh[:3, 3])
                    for g in ghosts)
        assert moved > 0.1  # the ghost demonstrates a movement, it is not a still picture
        cues = [e for s in log[count:] for e in s.events if e.kind == "cue.audio"]
        assert movement.title in cues[0].data["text"]
        until(task, script, "cue.audio", log)  # the imagine prompt
        prompt_s = log[-1].events[-1].time_s
        start_s, end_s = prompt_s + 0.7031, prompt_s + 0.7031 + 3.1177 + trial
        for _ in range(int(0.8 * RATE_HZ)):
            if script.next_time > start_s + 0.05:
                break
            log.append(task.update(script.frame(), None))
        tap(script, Side.LEFT, "primary", start_s)  # either hand's button marks
        run(task, script, 0.2, log)
        script.release(Side.LEFT, "primary")
        while script.next_time < end_s:
            log.append(task.update(script.frame(), None))
        tap(script, Side.RIGHT, "trigger_click", end_s)
        log.append(task.update(script.frame(), None))
        script.release(Side.RIGHT, "trigger_click")
        record = [r for r in log[-1].records if isinstance(r, ImageryRecord)][0]
        assert record.movement == movement.name and record.trial_index == trial
        assert record.started_at_s == start_s and record.ended_at_s == end_s
        assert record.imagined_s == end_s - start_s
        assert record.ratio == pytest.approx((end_s - start_s) / movement.duration_s)
        assert record.time_source == "input" and record.marked_by == "left.primary"
        assert not record.timed_out
    # After the block: vividness 1-5, then the pain rating that the flare rule checks.
    run(task, script, 0.1, log)
    assert isinstance(task._ratings[0], VividnessRatingTask)
    taps(task, script, Side.RIGHT, "trigger_click", 3, log)  # three trigger taps: 1, 2, 3
    tap(script, Side.RIGHT, "primary", script.next_time - 0.001)
    run(task, script, 1.2, log)
    script.release(Side.RIGHT, "primary")
    vivid = [r for s in log for r in s.records if isinstance(r, VividnessRecord)]
    assert len(vivid) == 1 and vivid[0].value == 3
    taps(task, script, Side.LEFT, "trigger_click", 4, log)
    tap(script, Side.LEFT, "trigger_click", script.next_time - 0.001)
    run(task, script, 1.2, log)
    pain = [r for s in log for r in s.records if isinstance(r, RatingRecord)]
    assert len(pain) == 1 and pain[0].value == 3 and pain[0].moment == "on_demand"
    assert STORAGE_PHASE[pain[0].moment] == "during"
    assert log[-1].done or any(s.done for s in log[-100:])


def test_an_imagined_movement_never_ended_times_out_and_the_next_one_follows() -> None:
    task, script, log = at_the_imagine_prompt(**{
        "imagery.time_limit_factor": 2.0, "imagery.rate_vividness": False, "imagery.rate_pain": False,
        "imagery.movements": ["wrist_extension", "finger_tapping"]})
    run(task, script, 0.2, log)
    tap(script, Side.RIGHT, "trigger_click", script.next_time - 0.003)
    until(task, script, "imagery.record", log, limit_s=10)
    record = [r for r in log[-1].records if isinstance(r, ImageryRecord)][0]
    assert record.timed_out and record.imagined_s is None and record.started_at_s is not None
    assert record.movement == "wrist_extension"
    until(task, script, "imagery.demo", log)
    demo = [e for e in log[-1].events if e.kind == "imagery.demo"][0]
    assert demo.data == {"movement": "finger_tapping", "trial": 1}


def test_a_pause_voids_the_trial_and_the_demonstration_is_shown_again() -> None:
    task, script, log = at_the_imagine_prompt(**{"imagery.movements": ["wrist_flexion"]})
    tap(script, Side.RIGHT, "trigger_click", script.next_time - 0.001)
    run(task, script, 0.3, log)
    step = task.interrupt(script.next_time, "unfocused")
    assert [e.kind for e in step.events] == ["imagery.void"]
    until(task, script, "imagery.demo", log)
    assert not [r for s in log for r in s.records]
    assert sum(e.kind == "imagery.demo" for s in log for e in s.events) == 2


def test_each_body_part_has_a_library_and_foot_imagery_shows_the_foot() -> None:
    program = imagery_program(BodyPart.FOOT, **{"imagery.max_level": 3})
    task = ImageryTask(program, TaskContext(ANCHOR, 1, 0))
    assert task.mesh == "stimuli/foot_left"
    assert {m.level for m in task.queue} == {1, 2, 3}


def test_without_input_change_times_the_marks_are_the_frames_that_saw_the_presses() -> None:
    task, script, log = at_the_imagine_prompt(**ONE_UNRATED)
    run(task, script, 0.3, log)
    script.set(Side.RIGHT, trigger_click=True)  # a source without lastChangeTime
    start_s = script.next_time
    run(task, script, 0.2, log)
    script.set(Side.RIGHT, trigger_click=False)
    run(task, script, 1.0, log)
    script.set(Side.RIGHT, trigger_click=True)
    end_s = script.next_time
    log.append(task.update(script.frame(), None))
    record = [r for r in log[-1].records if isinstance(r, ImageryRecord)][0]
    assert (record.started_at_s, record.ended_at_s) == (start_s, end_s)
    assert record.time_source == "frame"


@settings(max_examples=20, deadline=None)
@given(delay_s=st.floats(0.05, 2.0), imagined_s=st.floats(0.2, 5.0),
       start_button=st.sampled_from([(Side.LEFT, "trigger_click"), (Side.RIGHT, "primary")]),
       end_button=st.sampled_from([(Side.RIGHT, "trigger_click"), (Side.LEFT, "primary")]))
def test_any_imagined_duration_is_recorded_exactly_from_the_change_times(
        delay_s: float, imagined_s: float, start_button: tuple[Side, str],
        end_button: tuple[Side, str]) -> None:
    task, script, log = at_the_imagine_prompt(**ONE_UNRATED)
    start_s = log[-1].events[-1].time_s + delay_s
    end_s = start_s + imagined_s
    for at, (side, name) in ((start_s, start_button), (end_s, end_button)):
        while script.next_time < at:
            log.append(task.update(script.frame(), None))
        script.press(side, name, at_s=at)
        log.append(task.update(script.frame(), None))
        script.release(side, name, at_s=script.next_time - 0.001)
    record = [r for s in log for r in s.records if isinstance(r, ImageryRecord)][0]
    assert record.imagined_s == end_s - start_s
    assert record.ratio == (end_s - start_s) / 3.0
