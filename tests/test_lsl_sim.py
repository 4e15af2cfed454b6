"""``gmi-vr run --lsl`` on the simulator, received as a lab's recorder would: pylsl inlets in
this process on the app's motion, events and pain streams of a patient's short session
(a pain rating, four laterality trials answered with the triggers) run from a motion file in
a real window (Xvfb).

What is checked, against the session the store then holds:
- every recorded event arrives as a marker, in order, with its kind and data, stamped with
  its display time converted to the LSL clock (the session's "clock.link" event says how)
  within 1 ms; the rating arrives on the pain stream the same way;
- every recorded frame arrives as a motion sample holding exactly the values the store has
  (through the export's channel selection), stamped with its display time on the LSL clock;
- the motion stream's channels are the BIDS export's channels.tsv rows (names, units, order);
- the simulator's display times really are on the LSL clock: no sample is stamped later than
  the moment it was received (the simulator shows a frame when it is due, before pushing it).

Discovery stays on 127.0.0.1 (``support.lsl.machine_only_config``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from support.lsl import StreamCapture, machine_only_config

from gmi_vr.app.patients import add_patient, edit_patient_program
from gmi_vr.app.pipeline import CLOCK_EVENT
from gmi_vr.recording.export import export_session
from gmi_vr.recording.export.bids import stream_channels, stream_values
from gmi_vr.recording.motion import HAND_JOINT_NAMES, SIDES
from gmi_vr.recording.recorder import PROFILE_EVENT
from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.display

#: A short plan: the opening pain rating and one block of four laterality trials.
PROGRAM = {
    "session.blocks": ["laterality"], "session.rating_at_start": True, "session.rating_at_end": False,
    "laterality.trials_per_block": 4, "laterality.rotations_deg": [0], "laterality.views": ["back"],
    "laterality.feedback": False, "laterality.inter_trial_s": 0.5,
}  # fmt: skip
#: LSL timestamps match the converted display times to this, seconds (the brief's bound; the
#: conversion is one addition in double precision, so anything looser would hide a wrong clock).
MATCH_S = 1e-3


def tap(t: float, side: str = "right", hold_s: float = 0.2) -> list[dict[str, object]]:
    """A trigger pulled at ``t`` and released ``hold_s`` later."""
    return [{"t": round(t - 0.05, 3), side: {"trigger": 0.0, "trigger_click": False}},
            {"t": round(t, 3), side: {"trigger": 1.0, "trigger_click": True}},
            {"t": round(t + hold_s, 3), side: {"trigger": 0.0, "trigger_click": False}}]  # fmt: skip


def motion_text() -> str:
    """Rate pain 1 (two taps, then a held trigger), then answer with alternating triggers."""
    keys: list[dict[str, object]] = [{"t": 0.0, "left": {"trigger": 0.0, "trigger_click": False},
                                      "right": {"trigger": 0.0, "trigger_click": False}}]  # fmt: skip
    keys += tap(1.5) + tap(2.0) + tap(3.0, hold_s=1.6)
    t = 6.0
    while t < 16.0:
        keys += tap(t, "right" if int(t) % 2 else "left")
        t += 1.3
    lines = [{"format": "gmi-vr-motion", "version": 1, "rate_hz": 20}, *keys, {"t": 18.0}]
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def channel_labels(info: object) -> list[tuple[str, str]]:
    """(label, unit) of every channel a stream's description lists."""
    found = []
    channel = info.desc().child("channels").child("channel")  # type: ignore[attr-defined]
    while not channel.empty():
        found.append((channel.child_value("label"), channel.child_value("unit")))
        channel = channel.next_sibling()
    return found


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A data folder with one patient on the short plan, a station name of its own (the
    streams' source ids) and LSL kept on this machine, for this process and the app's."""
    station = f"lsl-test-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "settings.toml"
    config.write_text(f'station = "{station}"\n')
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(config))
    monkeypatch.setenv("LSLAPICFG", str(machine_only_config(tmp_path)))
    with SessionStore.open() as store:
        add_patient(store, "LSL-1", "left", "hand", therapist="t.one")
        edit_patient_program(store, "LSL-1", PROGRAM, therapist="t.one", reason="a short session for the LSL check")
    motion = tmp_path / "session.jsonl"
    motion.write_text(motion_text())
    return {"station": station, "motion": motion, "data": tmp_path / "data"}


def test_a_simulated_sessions_streams_carry_every_event_rating_and_frame_on_the_lsl_clock(
        lab: dict[str, object], tmp_path: Path) -> None:  # fmt: skip
    capture = StreamCapture(str(lab["station"]))
    app = subprocess.Popen(
        [sys.executable, "-m", "gmi_vr.cli", "run", "--motion", str(lab["motion"]), "--patient", "LSL-1",
         "--lsl-wait", "60"],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        capture.open(timeout_s=60.0)
        out, err = app.communicate(timeout=600)
    finally:
        if app.poll() is None:
            app.kill()
        capture.close()
    assert app.returncode == 0, err[-3000:]
    assert "a recorder is connected to every stream" in err
    assert "none dropped" in err, err[-2000:]
    sent = re.search(r"Lab Streaming Layer: (\d+) motion samples, (\d+) event markers and (\d+) pain ratings", err)
    assert sent is not None, err[-2000:]
    counts = tuple(len(capture.received[name].samples) for name in ("motion", "events", "pain"))
    assert counts == tuple(map(int, sent.groups())), "every sample the app sent arrived"

    with SessionStore.open() as store:
        (session,) = store.list_sessions("LSL-1")
        events = [e for e in store.events(session.id) if e.kind != PROFILE_EVENT]
        ratings = store.ratings(session.id)
        table = store.motion(session.id)
        expected = stream_values(table)
        exported = export_session(store, session.id, "bids", tmp_path / "bids")
    assert session.status == "completed", session.end_reason
    (clock,) = [e for e in events if e.kind == CLOCK_EVENT]
    assert clock.data["exact"] and clock.data["method"].startswith("simulator")
    to_lsl = clock.data["lsl_minus_display_s"]

    # Every recorded event, as a marker: same kinds, data and order, stamped at its display time.
    markers = capture.received["events"]
    kinds = [m[0].split(" ", 1)[0] for m in markers.samples]
    assert kinds == [e.kind for e in events]
    assert {"session.start", "pain.ask", "pain.rating", "block.start", "trial.show", "trial.answer",
            "block.end", "session.end"} <= set(kinds)  # fmt: skip
    for sample, event in zip(markers.samples, events, strict=True):
        data = json.loads(sample[0].split(" ", 1)[1]) if " " in sample[0] else {}
        assert data == json.loads(json.dumps(event.data, default=str))
    np.testing.assert_allclose(markers.stamps, [e.time_s + to_lsl for e in events], rtol=0, atol=MATCH_S)

    pain = capture.received["pain"]
    assert [s[0] for s in pain.samples] == [r.value for r in ratings] == [1]
    np.testing.assert_allclose(pain.stamps, [r.time_s + to_lsl for r in ratings], rtol=0, atol=MATCH_S)

    # Every stored frame, as a motion sample with the stored values, at its display time.
    motion = capture.received["motion"]
    assert len(motion.samples) == len(table.time_ns) == session.frame_timing["frames"]  # type: ignore[index]
    received = np.array(motion.samples, dtype=np.float32)
    np.testing.assert_array_equal(received, expected.astype(np.float32))  # NaN where the export has n/a
    np.testing.assert_allclose(motion.stamps, table.time_ns / 1e9 + to_lsl, rtol=0, atol=MATCH_S)
    stamps = np.array(markers.stamps + pain.stamps + motion.stamps)
    arrived = np.array(markers.received_at + pain.received_at + motion.received_at)
    assert np.all(stamps <= arrived), "a display time on the LSL clock lies after the sample arrived"

    # The motion stream's channels are the export's channels.tsv rows, less LATENCY, in order.
    labels = channel_labels(capture.infos["motion"])
    assert labels == [(row[0], row[4]) for row in stream_channels()]
    written: list[tuple[str, str]] = []
    for system in ("hmd", "leftcontroller", "rightcontroller"):  # the simulator tracks no hand joints
        (path,) = [p for p in exported if p.name.endswith(f"tracksys-{system}_channels.tsv")]
        with path.open() as f:
            written += [(r["name"], r["units"]) for r in csv.DictReader(f, delimiter="\t") if r["type"] != "LATENCY"]
    hand_joints = tuple(f"{side}_{joint}_" for side in SIDES for joint in HAND_JOINT_NAMES)
    assert [label for label in labels if not label[0].startswith(hand_joints)] == written


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_the_lsl_setting_streams_every_run_and_wrong_values_are_refused_in_one_sentence(
        lab: dict[str, object], tmp_path: Path) -> None:  # fmt: skip
    config = tmp_path / "settings.toml"
    reach = str(Path(__file__).resolve().parents[1] / "gmi_vr" / "data" / "demo-reach.jsonl")

    config.write_text(f'station = "{lab["station"]}"\nlsl = true\n')
    free_play = cli(["run", "--motion", reach, "--every-frame"], dict(os.environ))
    assert free_play.returncode == 0, free_play.stderr[-2000:]
    said = [line for line in free_play.stderr.splitlines() if line.startswith("gmi-vr: ")]
    assert said[0].startswith("gmi-vr: Lab Streaming Layer streams open: 420 motion channels")
    assert said[-1].startswith("gmi-vr: Lab Streaming Layer: 91 motion samples")  # every frame of the motion

    config.write_text('lsl = "yes"\n')
    wrong = cli(["run", "--motion", reach], dict(os.environ))
    assert wrong.returncode == 6 and "gives lsl = " in wrong.stderr and "true or false" in wrong.stderr

    config.write_text("")
    for value in ("-1", "nan"):
        refused = cli(["run", "--motion", reach, "--lsl-wait", value], dict(os.environ))
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.strip().splitlines() == [
            f"gmi-vr: --lsl-wait takes the seconds to wait for a recorder, from 0 to 86400, not {value}."]


def test_the_runs_lsl_summary_counts_every_sample_queued_before_the_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The summary line is made once the streams have pushed what was queued: with a worker
    slower than the end of the run it still counts every frame (it used to be read before
    the streams closed, and said fewer than were sent)."""
    import threading
    import time
    from contextlib import ExitStack

    from gmi_vr.app.streams import open_lsl_streams
    from gmi_vr.recording.lsl import LslStreams
    from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

    monkeypatch.setenv("LSLAPICFG", str(machine_only_config(tmp_path)))
    slow_round = LslStreams._push_round
    release = threading.Event()

    def late(self: LslStreams) -> None:
        release.wait(5.0)  # the worker is still behind when the run ends
        slow_round(self)

    monkeypatch.setattr(LslStreams, "_push_round", late)
    said: list[str] = []
    frames = list(ScriptedFrameSource(parse_motion(motion_text())).frames())[:40]
    with ExitStack() as stack:
        streams = open_lsl_streams(stack, f"lsl-test-{uuid.uuid4().hex[:8]}", 0.0, said.append)
        for frame in frames:
            streams.frame(frame, None, None)
        threading.Timer(0.3, release.set).start()
        time.sleep(0.05)
    assert said[-1] == "Lab Streaming Layer: 40 motion samples, 0 event markers and 0 pain ratings sent, none dropped"
