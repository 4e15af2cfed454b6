"""Each displayed frame's timing, measured and recorded: the time the healthy limb's pose
refers to, the predicted display time, when the frame was submitted and the mirrored limb's
delay in frames, as motion channels (layout 2) in a real SQLite store, summarised per session
(median, p99) in ``gmi-vr sessions --json``; motion recorded before timing (layout 1) still
reads and exports."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from recording_synth import body, frame
from sqlalchemy import insert

from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.body import BodySettings, LimbMode
from gmi_vr.body.feedback import FeedbackCondition, FeedbackKind
from gmi_vr.core.types import FrameTiming, Side
from gmi_vr.recording import motion, schema
from gmi_vr.recording import recorder as recorder_module
from gmi_vr.recording.export import export_session
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion


@pytest.fixture
def store(tmp_path: Path):
    with SessionStore.open(tmp_path / "data") as s:
        s.add_patient(PatientInfo("T-1", "left", "hand"))
        yield s


def test_timing_channels_hold_each_frame_and_the_session_keeps_median_and_p99(store: SessionStore,
                                                                             tmp_path: Path) -> None:
    recorder = store.start_session("T-1", source="test")
    submit_ms = np.arange(100) % 20 + 5.0  # 5..24 ms before display
    for i in range(100):
        f = frame(i)
        submitted = None if i >= 95 else f.time_ns - int(submit_ms[i] * 1e6)
        recorder.record_frame(f, body(i), FrameTiming(f.time_ns, f.time_ns - 2_000_000, submitted, 0.0))
    recorder.finish()
    (session,) = store.list_sessions("T-1")
    table = store.motion(session.id)
    np.testing.assert_allclose(table.column("timing.pose_to_display_s"), 0.002, atol=1e-9)
    np.testing.assert_allclose(table.column("timing.submit_to_display_s")[:95], submit_ms[:95] / 1e3, atol=1e-9)
    assert np.isnan(table.column("timing.submit_to_display_s")[95:]).all()
    assert (table.column("timing.mirror_delay_frames") == 0).all()

    summary = session.frame_timing
    assert summary is not None and summary["frames"] == 100
    assert summary["submit_to_display_s"]["median"] == pytest.approx(np.median(submit_ms[:95]) / 1e3, abs=1e-9)
    assert summary["submit_to_display_s"]["p99"] == pytest.approx(np.percentile(submit_ms[:95], 99) / 1e3, abs=1e-9)
    assert summary["pose_to_display_s"] == {"median": pytest.approx(0.002), "p99": pytest.approx(0.002)}
    assert summary["mirror_delay_frames"] == {"median": 0.0, "p99": 0.0}

    env = dict(os.environ, GMI_VR_DATA=str(tmp_path / "data"), GMI_VR_CONFIG=str(tmp_path / "absent.toml"))
    listed = subprocess.run([sys.executable, "-m", "gmi_vr.cli", "sessions", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["frame_timing"]["submit_to_display_s"]["p99"] == pytest.approx(summary["submit_to_display_s"]["p99"])


def test_motion_recorded_before_timing_still_reads_and_exports_without_it(store: SessionStore,
                                                                         tmp_path: Path) -> None:
    """A layout-1 chunk, as gmi-vr wrote before frames were timed: read with its own channels
    (no timing), exported without timing channels, listed with no summary."""
    recorder = store.start_session("T-1", source="test")
    recorder.finish()
    (session,) = store.list_sessions("T-1")
    batch = motion.FrameBatch((), 10)
    for i in range(10):
        batch.add(frame(i), None)
    stamps, rows = batch.pack()
    old = rows[:, : len(motion.channels((), 1))]
    with store.engine.begin() as conn:
        layout = conn.execute(insert(schema.MotionLayout).returning(schema.MotionLayout.id),
                              {"session_id": session.id, "layout_version": 1, "body_joints": []}).scalar_one()
        conn.execute(insert(schema.MotionChunk), {
            "session_id": session.id, "seq": 1, "layout_id": layout, "frame_count": 10,
            "first_index": 0, "first_time_ns": int(stamps[0, 1]), "last_time_ns": int(stamps[-1, 1]),
            "codec": motion.CODEC, "stamps": motion.encode_stamps(stamps), "data": motion.encode(old)})  # fmt: skip
    table = store.motion(session.id)
    assert len(table.index) == 10 and not set(motion.TIMING_CHANNELS) & set(table.channels)
    np.testing.assert_array_equal(table.rows, old)
    assert store.session(session.id).frame_timing is None
    files = export_session(store, session.id, "bids", tmp_path / "bids")
    (hmd,) = [p for p in files if p.name.endswith("tracksys-hmd_motion.tsv")]
    assert len(hmd.read_text().splitlines()[0].split("\t")) == 8  # latency + 7 pose channels, no timing


def sweep_motion() -> str:
    """The right (healthy) hand sweeps sideways 1 cm per frame for a second at 30 Hz."""
    lines = [{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30},
             {"t": 0.0, "right": {"position": [0.05, 0.9, -0.35]}},
             {"t": 1.0, "right": {"position": [0.35, 0.9, -0.35]}}]  # fmt: skip
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def test_the_mirrored_limb_shows_the_healthy_limbs_pose_of_the_same_frame(store: SessionStore) -> None:
    """The recorded delay of 0 frames is what the recording shows: every frame's displayed
    affected hand is the reflection of that same frame's healthy grip (and not of the frame
    before, 1 cm away); the submit time the loop reports is kept; a limb shown from its own
    tracking (real mode) has no mirror delay."""
    recorder = store.start_session("T-1", source="test")
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT), recorder=recorder)
    with ScriptedFrameSource(parse_motion(sweep_motion())) as source:
        for f in source.frames():
            if f.index == 25:
                pipeline.set_limb_mode(LimbMode.REAL, 0.0, f.time_s)
            pipeline.step(f, presented_later=True)
            pipeline.presented(f.time_ns - 7_000_000)
    recorder.finish()
    (session,) = store.list_sessions("T-1")
    table = store.motion(session.id)
    assert pipeline.calibration is not None
    plane = pipeline.calibration.midline_plane()
    grip = table.columns([f"right.grip.{c}" for c in ("px", "py", "pz")]).astype(np.float64)
    reflected = grip - 2.0 * ((grip - plane.point) @ plane.normal)[:, None] * plane.normal
    shown = table.columns([f"shown_left.{c}" for c in ("px", "py", "pz")]).astype(np.float64)
    mirrored = slice(1, 25)
    same = np.linalg.norm(shown[mirrored] - reflected[mirrored], axis=1)
    before = np.linalg.norm(shown[mirrored] - reflected[0:24], axis=1)
    assert same.max() < 1e-3 and before.min() > 5e-3, (same.max(), before.min())
    delay = table.column("timing.mirror_delay_frames")
    assert (delay[:25] == 0).all() and np.isnan(delay[26:]).all()
    np.testing.assert_allclose(table.column("timing.submit_to_display_s"), 0.007, atol=1e-9)
    assert math.isclose(session.frame_timing["submit_to_display_s"]["median"], 0.007, abs_tol=1e-9)


def test_a_delayed_feedback_condition_is_recorded_as_its_delay_in_frames(store: SessionStore) -> None:
    """A research block's delayed feedback (here 100 ms at 30 Hz: 3 frames) shows the mirror
    that much later: the recorded delay says so, and the displayed hand is indeed the
    reflection of the healthy grip three frames earlier."""
    delayed = FeedbackCondition(FeedbackKind.DELAYED, 100.0, 0.0)
    recorder = store.start_session("T-1", source="test")
    pipeline = SessionPipeline(BodySettings(affected_side=Side.LEFT, feedback=delayed), recorder=recorder)
    with ScriptedFrameSource(parse_motion(sweep_motion())) as source:
        for f in source.frames():
            pipeline.step(f, presented_later=True)
            pipeline.presented(None)
    recorder.finish()
    (session,) = store.list_sessions("T-1")
    table = store.motion(session.id)
    delay = table.column("timing.mirror_delay_frames")
    assert math.isnan(delay[0]) and np.allclose(delay[1:], 3.0, atol=1e-4)
    assert pipeline.calibration is not None
    plane = pipeline.calibration.midline_plane()
    grip = table.columns([f"right.grip.{c}" for c in ("px", "py", "pz")]).astype(np.float64)
    reflected = grip - 2.0 * ((grip - plane.point) @ plane.normal)[:, None] * plane.normal
    shown = table.columns([f"shown_left.{c}" for c in ("px", "py", "pz")]).astype(np.float64)
    assert np.linalg.norm(shown[6:28] - reflected[3:25], axis=1).max() < 1e-3


def test_the_session_keeps_12_bytes_a_frame_for_its_timing_summary(store: SessionStore) -> None:
    """The summary needs every frame's timing (exact median and p99), so a long session keeps
    them: three float32 a frame and nothing per written chunk (a chunk object each half
    second added about 8 bytes a frame, a memory growth of an hour's session)."""
    frames, per_chunk = 3000, 15  # a chunk of half a second at 30 Hz
    recorder = store.start_session("T-1", source="test")
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(frames):
            f = frame(i)
            recorder.record_frame(f, body(i), FrameTiming(f.time_ns, f.time_ns - 2_000_000, f.time_ns - 9_000_000, 0.0))
            if (i + 1) % per_chunk == 0:
                assert recorder.flush()  # seals the chunk, as half a second would
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = [tracemalloc.Filter(True, recorder_module.__file__)]
    grown = sum(s.size_diff for s in after.filter_traces(kept).compare_to(before.filter_traces(kept), "filename"))
    assert recorder.stats().frames_written == frames
    assert grown <= 13.5 * frames  # 12 a frame, the array's spare room and a few fixed objects
    recorder.finish()
    (session,) = store.list_sessions("T-1")
    assert session.frame_timing is not None and session.frame_timing["frames"] == frames
    assert session.frame_timing["submit_to_display_s"] == {"median": pytest.approx(0.009), "p99": pytest.approx(0.009)}
    # The same summary as from every stored frame's timing, to the bit.
    assert session.frame_timing == motion.timing_summary(store.motion(session.id).columns(motion.TIMING_CHANNELS))
