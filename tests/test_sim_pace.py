"""The simulator keeps the session's clock on the wall clock when the drawing is slow.

A motion file's frame ``i`` has ``time_s = i / rate_hz``; the session's times (trial
onsets, reaction times, block lengths) are those frame times. On a PC without a GPU the
window's software OpenGL can take longer than a frame, and if every frame were still
stepped the session's clock would fall behind the wall clock: trials would last longer
than the record says. ``app.simulator._paced`` drops the frames that are already overtaken by the
next one (never one where a button or tracking flag changes), so the frames stepped keep
to real time.

Tolerance: a frame stepped is at most one frame period late when it is handed out, plus
whatever the step before it took; a press or release is never dropped, so it may be handed
out one slow step late. With each window draw made TOTAL_SLOW_S slower, every recorded
time is checked against the wall clock to within TOLERANCE_S; stepping every frame instead
puts the session seconds behind within a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.clinic_store import store_with_patient
from support.screens import logged, require_display, run_window_script, window_env, window_script

from gmi_vr.app.simulator import _paced
from gmi_vr.recording.store import SessionStore
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

RATE_HZ = 30
#: What each window draw (or, in the unit test, each step) is made to take on top.
TOTAL_SLOW_S = 0.12
#: How far a recorded time may lie from the wall clock, seconds (see the module docstring:
#: a slow step and a frame period, with room for a loaded test machine).
TOLERANCE_S = 0.5
#: Trigger taps, alternately right and left, every TAP_EVERY_S from TAP_START_S on, held
#: TAP_HOLD_S. The first tap comes after the first frame's one-time loading (the avatar, the
#: window's first draw; seconds on a loaded machine), during which the loop is not yet
#: running: a press due then is stepped when the loop runs, late by that loading.
TAP_START_S = 4.0
TAP_EVERY_S = 1.0
TAP_HOLD_S = 0.2


def tap_motion(seconds: float) -> str:
    """A seated patient tapping a trigger (right, left, right, ...) every TAP_EVERY_S from
    TAP_START_S, until ``seconds``."""
    lines: list[dict[str, object]] = [
        {"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ},
        {"t": 0.0, "left": {"trigger": 0.0, "trigger_click": False}, "right": {"trigger": 0.0, "trigger_click": False}},
    ]
    k = 0
    while TAP_START_S + k * TAP_EVERY_S + TAP_HOLD_S < seconds:
        t, side = TAP_START_S + k * TAP_EVERY_S, "left" if k % 2 else "right"
        lines.append({"t": t, side: {"trigger": 1.0, "trigger_click": True}})
        lines.append({"t": t + TAP_HOLD_S, side: {"trigger": 0.0, "trigger_click": False}})
        k += 1
    lines.append({"t": seconds})
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def clicks(frame: object) -> tuple[bool, bool]:
    return (frame.left.trigger_click, frame.right.trigger_click)  # type: ignore[attr-defined]


def test_a_slow_loop_drops_overtaken_frames_but_never_a_press_or_release() -> None:
    motion = parse_motion(tap_motion(TAP_START_S + 3.0))
    every = list(ScriptedFrameSource(motion).frames())
    edges = [f.index for f, before in zip(every[1:], every, strict=False) if clicks(f) != clicks(before)]
    lags: list[float] = []
    seen: list[int] = []
    start = time.monotonic()
    for frame in _paced(ScriptedFrameSource(motion).frames(), None):
        lags.append(time.monotonic() - start - frame.time_s)
        seen.append(frame.index)
        time.sleep(TOTAL_SLOW_S)  # a step four frames long
    assert len(seen) < len(every) / 2, "overtaken frames are dropped"
    assert set(edges) <= set(seen), "every press and release is stepped"
    assert seen[-1] / RATE_HZ >= every[-1].time_s - TOLERANCE_S, "the motion plays to its end"
    assert max(lags) <= TOLERANCE_S, f"the frames keep to the wall clock (lags {max(lags):.2f} s)"
    assert min(lags) >= -0.01, "no frame comes before its time"


def test_stepping_every_frame_of_a_slow_loop_falls_behind_the_wall_clock() -> None:
    """What the catch-up prevents (the simulator before it), as a check on the check above."""
    motion = parse_motion(tap_motion(TAP_START_S))
    start = time.monotonic()
    for frame in _paced(ScriptedFrameSource(motion).frames(), None, catch_up=False):
        lag = time.monotonic() - start - frame.time_s
        time.sleep(TOTAL_SLOW_S)
    assert lag > 3 * TOLERANCE_S


# Runs in the child (PyOpenGL binds GLX once per process): the simulator's session for
# patient C-1 on the tap motion, every window draw made TOTAL_SLOW_S slower, each step's
# frame time and wall time logged.
SCRIPT = """
    import time
    import gmi_vr.console.therapist_window as console
    from gmi_vr.app import pipeline, run_sim

    show, step = console.TherapistWindow.show, pipeline.SessionPipeline.step
    stepped = []

    def slow_show(self, *args, **options):
        time.sleep({slow!r})
        return show(self, *args, **options)

    def logged_step(self, frame, *args, **options):
        stepped.append((frame.time_s, time.monotonic()))
        return step(self, frame, *args, **options)

    console.TherapistWindow.show = slow_show
    pipeline.SessionPipeline.step = logged_step
    run_sim(Path({motion!r}), patient_id="C-1", report=print)
    print("LOG", json.dumps(stepped))
    """


@pytest.mark.display
def test_a_sim_sessions_record_follows_the_wall_clock_when_drawing_is_slow(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    require_display()
    store_with_patient(tmp_path, monkeypatch, "C-1", program={
        "session.blocks": ["laterality"], "session.rating_at_start": False,
        "session.rating_at_end": False, "laterality.trials_per_block": 8,
        "laterality.rotations_deg": [0, 90], "laterality.views": ["back"],
        "laterality.feedback": False, "laterality.inter_trial_s": 0.5,
        "safety.fms_every_s": 0, "safety.ask_since_last": False,
    }, reason="a short block for the clock check").close()  # fmt: skip
    motion = tmp_path / "taps.jsonl"
    motion.write_text(tap_motion(TAP_START_S + 20.0), encoding="utf-8")
    script = window_script(SCRIPT, slow=TOTAL_SLOW_S, motion=str(motion))
    stepped = logged(run_window_script(script, timeout_s=300))
    start_wall = stepped[0][1] - stepped[0][0]
    wall_at = {round(time_s * RATE_HZ): wall - start_wall for time_s, wall in stepped}  # frame number -> wall s

    def wall(time_s: float) -> float:
        """Wall seconds since the run began when the frame at ``time_s`` was stepped."""
        return wall_at[round(time_s * RATE_HZ)]

    with SessionStore.open() as store:
        (session,) = store.list_sessions("C-1")
        trials = store.trials(session.id)
        (block,) = store.blocks(session.id)
    assert session.end_reason == "plan_done" and len(trials) == 8
    answered = [t for t in trials if t.reaction_time_s is not None]
    assert len(answered) >= 6, "the taps answer the trials"
    for trial in trials:
        assert abs(wall(trial.onset_s) - trial.onset_s) <= TOLERANCE_S
    for trial in answered:
        assert trial.reaction_time_s is not None
        measured = wall(trial.onset_s + trial.reaction_time_s) - wall(trial.onset_s)
        assert abs(measured - trial.reaction_time_s) <= TOLERANCE_S
    assert block.end_s is not None
    assert abs((wall(block.end_s) - wall(block.start_s)) - (block.end_s - block.start_s)) <= TOLERANCE_S
    assert len(stepped) < 0.8 * RATE_HZ * block.end_s, "the slow window made the simulator drop frames"


@pytest.mark.parametrize("mode", [["--sim"], []])
def test_every_frame_without_a_motion_file_is_refused_in_one_sentence(tmp_path: Path, mode: list[str]) -> None:
    env = dict(os.environ, GMI_VR_DATA=str(tmp_path / "data"), GMI_VR_CONFIG=str(tmp_path / "absent.toml"))
    result = subprocess.run([sys.executable, "-m", "gmi_vr.cli", "run", *mode, "--every-frame"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "gmi-vr: --every-frame is for a motion file's run (--motion FILE); leave it out otherwise."
    ]
    assert not (tmp_path / "data").exists(), "nothing was written"


# Runs in the child: the demo motion on the simulator (free play), every frame stepped; the
# window's draws timed and the panes' render targets noted.
WINDOW_SCRIPT = """
    import gmi_vr.console.therapist_window as console
    from gmi_vr.app import pipeline, run_sim
    from gmi_vr.assets.locations import shipped_data_dir

    import gmi_vr.app.loop as loop
    show, compose, step = console.TherapistWindow.show, console.TherapistView.compose, pipeline.SessionPipeline.step
    run = loop.SessionLoop.run
    log = {{"shows": 0, "steps": 0, "targets": {{}}, "window_hz": []}}

    def timed_show(self, *args, **options):
        log["shows"] += 1
        return show(self, *args, **options)

    def paced_run(self, *args, **options):
        log["window_hz"].append(self.pacer.max_hz)
        return run(self, *args, **options)

    def noted_compose(self, *args, **options):
        compose(self, *args, **options)
        log["targets"] = {{name: [t.width, t.height, t.samples] for name, t in self._targets.items()}}

    def counted_step(self, frame, *args, **options):
        log["steps"] += 1
        return step(self, frame, *args, **options)

    console.TherapistWindow.show = timed_show
    console.TherapistView.compose = noted_compose
    pipeline.SessionPipeline.step = counted_step
    loop.SessionLoop.run = paced_run
    run_sim(shipped_data_dir() / "demo-reach.jsonl", every_frame=True)
    print("LOG", json.dumps(log))
    """


@pytest.mark.display
def test_the_simulators_window_draws_single_sample_panes_at_three_quarters_size_at_most_15_times_a_second(
        tmp_path: Path) -> None:  # fmt: skip
    require_display()
    from gmi_vr.app.loop import CONSOLE_MAX_HZ
    from gmi_vr.console.panels import PANEL_PX
    from gmi_vr.console.therapist_window import WINDOW_SIZE, letterbox, pane_layout

    env = window_env(GMI_VR_DATA=str(tmp_path / "data"), GMI_VR_CONFIG=str(tmp_path / "absent.toml"))
    log = logged(run_window_script(window_script(WINDOW_SCRIPT), env, timeout_s=300))
    assert log["steps"] == 91, "every frame of the 3 s motion at 30 Hz was stepped"
    # The default window (1280x600): the panes drawn at three quarters, one sample per pixel.
    patient, third, _ = pane_layout(WINDOW_SIZE[0] - PANEL_PX, WINDOW_SIZE[1])
    patient = letterbox(patient, 4 / 3)
    assert log["targets"] == {"patient": [314, 236, 1], "third": [314, 418, 1]}
    assert [round(0.75 * v) for v in (*patient[2:], *third[2:])] == [314, 236, 314, 418]
    assert log["window_hz"] == [CONSOLE_MAX_HZ] and CONSOLE_MAX_HZ == 15.0, "redrawn at most 15 times a second"
    assert 0 < log["shows"] <= log["steps"]
