"""``gmi-vr demo --patient``: the shipped sample motion plays a new patient's whole session
into a fresh data folder, which then holds a real record — both pain ratings, every trial,
the motion — that ``sessions`` lists and ``export`` writes out. The sample is what its
generator writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from test_cli import gmi_vr

from gmi_vr.app.demo import DEMO_SEED, DEMO_SESSION_MOTION
from gmi_vr.assets.locations import shipped_data_dir
from gmi_vr.recording.store import SessionStore
from gmi_vr.xr.sim_source import load_motion

REPO = Path(__file__).resolve().parents[1]


def test_demo_patient_leaves_a_recorded_session_with_ratings_and_trials(tmp_path: Path) -> None:
    data = tmp_path / "data"  # where test_cli.gmi_vr keeps the store
    added = gmi_vr(["patients", "add", "DEMO-1", "--side", "left", "--part", "hand", "--age", "54"], tmp_path)
    assert added.returncode == 0, added.stderr
    out = tmp_path / "pictures"
    demo = gmi_vr(["demo", "--patient", "DEMO-1", "--out", str(out)], tmp_path, timeout_s=300,
                  DISPLAY=None, WAYLAND_DISPLAY=None)  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert (out / "patient-view.png").stat().st_size > 0 and (out / "therapist-window.png").stat().st_size > 0
    assert "session 1 saved: 96 trials, pain 4 -> 3" in demo.stdout.splitlines()

    with SessionStore.open(data / "sessions.sqlite") as store:
        (session,) = store.list_sessions("DEMO-1")
        assert session.status == "completed"  # the plan ran to its end
        assert session.settings["seed"] == DEMO_SEED
        trials = store.trials(session.id)
        ratings = store.ratings(session.id)
        frames = store.motion(session.id)
        assert session.dropped_frames == 0
    assert len(trials) == 96 and sum(1 for t in trials if t.correct) == 92  # 48 per side
    assert all(t.answer is not None and t.reaction_time_s is not None for t in trials)
    assert [(r.phase, r.value) for r in ratings] == [("before", 4), ("after", 3)]
    # Every frame of an almost five-minute session at 30 Hz: none missing, none doubled.
    steps_ns = np.diff(frames.time_ns)
    assert steps_ns.min() >= 33_333_333 and steps_ns.max() <= 33_333_334
    assert frames.time_ns[-1] / 1e9 > 280

    listed = gmi_vr(["sessions", "--json"], tmp_path)
    (row,) = json.loads(listed.stdout)
    assert (row["patient"], row["pain_before"], row["pain_after"]) == ("DEMO-1", 4, 3)
    exported = gmi_vr(["export", str(session.id), "--format", "csv", "--out", str(tmp_path / "csv")], tmp_path)
    assert exported.returncode == 0, exported.stderr
    trials_csv = next((tmp_path / "csv").glob("*trials*.csv"))
    assert len(trials_csv.read_text().splitlines()) == 1 + 96


def test_demo_for_an_unknown_patient_fails_before_writing_anything(tmp_path: Path) -> None:
    assert gmi_vr(["patients", "add", "DEMO-1", "--side", "left"], tmp_path).returncode == 0
    out = tmp_path / "pictures"
    result = gmi_vr(["demo", "--patient", "DEMO-2", "--out", str(out)], tmp_path, timeout_s=300, DISPLAY=None)
    assert result.returncode == 8
    assert "Traceback" not in result.stderr and result.stderr.startswith("gmi-vr: ")
    assert not out.exists()
    assert gmi_vr(["sessions", "--json"], tmp_path).stdout.strip() == "[]"


def test_the_shipped_sample_is_what_its_generator_writes(tmp_path: Path) -> None:
    written = tmp_path / "demo-session.jsonl"
    result = subprocess.run([sys.executable, str(REPO / "tools" / "make_demo_session.py"), str(written)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    shipped = shipped_data_dir() / DEMO_SESSION_MOTION
    assert written.read_text() == shipped.read_text(), (
        "the session plan changed: regenerate the sample with tools/make_demo_session.py"
    )
    # A first look of about five minutes: the stage-1 plan shows 40+ pictures per side (CLINICAL.md).
    assert load_motion(shipped).duration_s < 330
