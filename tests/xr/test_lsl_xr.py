"""``gmi-vr run --lsl`` in the headset against the real Monado runtime (inside
tools/xr-sandbox), received by pylsl inlets in this process as a lab's recorder would.

The patient rates pain and answers two laterality stimuli through the remote driver, driven
by what the event stream shows live (a "pain.ask" marker starts the rating's taps, each
"trial.show" marker pulls that side's trigger). Then, against the stored session:
- every recorded event arrived as a marker, in order, stamped with its display time
  converted to the LSL clock within 1 ms, and the rating on the pain stream the same way;
- every recorded frame arrived as a motion sample with the stored values, at its display time
  (the stream goes on with the frames shown after the session ended, which are not stored);
- the conversion is the runtime's own (XR_KHR_convert_timespec_time, which Monado offers),
  and it is physically plausible: some frames were submitted shortly before their predicted
  display time (the null compositor paces at 20 Hz; a loaded machine submits more late, and
  the first, which loads the avatar, always), none long before, and every sample arrived
  within two seconds of its display time on the LSL clock.

The sandbox's network namespace has only its loopback: LSL finds the streams through its
unicast query to 127.0.0.1 (multicast cannot be joined there and is not needed); the
machine-only configuration keeps it so outside the sandbox too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from support.lsl import StreamCapture, machine_only_config
from support.xr_run import headset_runtime, patient_store

from gmi_vr.app.pipeline import CLOCK_EVENT
from gmi_vr.recording.export.bids import stream_values
from gmi_vr.recording.recorder import PROFILE_EVENT
from gmi_vr.recording.store import SessionStore

pytestmark = pytest.mark.xr

MATCH_S = 1e-3  # the brief's bound for a marker's timestamp against its converted display time
HOLD_S = 0.4  # a tap holds the trigger several 20 Hz frames, even on a loaded machine
CONFIRM_S = 1.6  # a held trigger confirms a rating after a full second (therapy.tasks.rating)
FRAMES = 700  # 35 s at the null compositor's 20 Hz: the rating, two trials and some rest


def wait_for_marker(capture: StreamCapture, kind: str, after: int, timeout_s: float = 60.0) -> int:
    """Index of the first marker of ``kind`` at or after ``after``, waiting as they arrive."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        samples = list(capture.received["events"].samples)
        for i in range(after, len(samples)):
            if samples[i][0].split(" ", 1)[0] == kind:
                return i
        time.sleep(0.02)
    raise AssertionError(f"no {kind} marker within {timeout_s} s")


def patient(capture: StreamCapture) -> None:
    """Rate pain when asked (two taps, then a held trigger), then answer two stimuli with the
    trigger of the side each marker names."""
    from support.monado_remote import MonadoRemote

    with MonadoRemote() as remote:
        def pull(side: str, seconds: float) -> None:
            remote.set_controller(side, trigger=1.0, trigger_click=True)  # type: ignore[arg-type]
            time.sleep(seconds)
            remote.set_controller(side, trigger=0.0, trigger_click=False)  # type: ignore[arg-type]
            time.sleep(0.4)

        asked = wait_for_marker(capture, "pain.ask", 0)
        time.sleep(1.0)
        for _ in range(3):  # a loaded machine may miss a tap's frames: choose and hold again
            pull("right", HOLD_S)
            pull("right", HOLD_S)
            pull("right", CONFIRM_S)
            try:
                seen = wait_for_marker(capture, "pain.rating", asked, timeout_s=5.0)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("the rating was not taken after three tries")
        for _ in range(2):
            seen = wait_for_marker(capture, "trial.show", seen + 1)
            side = json.loads(capture.received["events"].samples[seen][0].split(" ", 1)[1])["side"]
            time.sleep(0.5)
            pull(side, HOLD_S)


def test_a_headset_sessions_streams_carry_every_event_rating_and_frame_on_the_lsl_clock(tmp_path: Path) -> None:
    headset_runtime()
    station = f"lsl-xr-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "settings.toml"
    config.write_text(f'station = "{station}"\n')
    data = patient_store(tmp_path, "XR-LSL", {
        "session.blocks": ["laterality"], "session.rating_at_start": True, "session.rating_at_end": False,
        "laterality.trials_per_block": 2, "laterality.rotations_deg": [0], "laterality.views": ["back"],
        "laterality.feedback": False, "laterality.inter_trial_s": 0.5,
    }, reason="a short session for the LSL check")  # fmt: skip
    env = dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(config),
               LSLAPICFG=str(machine_only_config(tmp_path)))  # fmt: skip
    os.environ["LSLAPICFG"] = env["LSLAPICFG"]  # this process's inlets too (read at liblsl's first use)

    capture = StreamCapture(station)
    app = subprocess.Popen(
        [sys.executable, "-m", "gmi_vr.cli", "run", "--patient", "XR-LSL", "--max-frames", str(FRAMES),
         "--lsl-wait", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    problems: list[BaseException] = []

    def play() -> None:
        try:
            patient(capture)
        except BaseException as error:  # reported by the main thread
            problems.append(error)

    try:
        capture.open(timeout_s=60.0)
        player = threading.Thread(target=play, daemon=True)
        player.start()
        out, err = app.communicate(timeout=300)
        player.join(10.0)
    finally:
        if app.poll() is None:
            app.kill()
        capture.close()
    assert app.returncode == 0, err[-3000:]
    assert not problems, problems
    assert "none dropped" in err, err[-2000:]

    with SessionStore.open(data) as store:
        (session,) = store.list_sessions("XR-LSL")
        events = [e for e in store.events(session.id) if e.kind != PROFILE_EVENT]
        ratings = store.ratings(session.id)
        table = store.motion(session.id)
        trials = store.trials(session.id)
    assert session.source == "openxr" and "Monado" in (session.runtime_name or "")
    assert len(trials) == 2 and len(ratings) == 1
    (clock,) = [e for e in events if e.kind == CLOCK_EVENT]
    assert clock.data["exact"] and clock.data["method"].startswith("XR_KHR_convert_timespec_time")
    to_lsl = clock.data["lsl_minus_display_s"]

    markers = capture.received["events"]
    assert [m[0].split(" ", 1)[0] for m in markers.samples] == [e.kind for e in events]
    np.testing.assert_allclose(markers.stamps, [e.time_s + to_lsl for e in events], rtol=0, atol=MATCH_S)
    pain = capture.received["pain"]
    assert [s[0] for s in pain.samples] == [r.value for r in ratings]
    np.testing.assert_allclose(pain.stamps, [r.time_s + to_lsl for r in ratings], rtol=0, atol=MATCH_S)

    # The session's frames lead the motion stream; the run goes on streaming the frames that
    # show "Session complete" after the session was saved, up to --max-frames.
    motion = capture.received["motion"]
    stored = len(table.time_ns)
    sent = re.search(r"Lab Streaming Layer: (\d+) motion samples, (\d+) event markers and (\d+) pain ratings", err)
    assert sent is not None, err[-2000:]
    assert (len(motion.samples), len(markers.samples), len(pain.samples)) == tuple(map(int, sent.groups()))
    assert len(motion.samples) >= FRAMES and stored > 20
    np.testing.assert_array_equal(np.array(motion.samples[:stored], dtype=np.float32),
                                  stream_values(table).astype(np.float32))  # fmt: skip
    np.testing.assert_allclose(motion.stamps[:stored], table.time_ns / 1e9 + to_lsl, rtol=0, atol=MATCH_S)
    assert min(motion.stamps[stored:]) > table.time_ns[-1] / 1e9 + to_lsl

    submitted = table.column("timing.submit_to_display_s")
    assert np.isfinite(submitted).mean() > 0.95  # only a frame ended without presenting has none
    known = submitted[np.isfinite(submitted)]
    # Submitted after xrWaitFrame, which returns a period or two before the predicted display
    # (50 ms each at 20 Hz): no frame far before its display, and some a little before. A
    # busy machine submits more late (negative; the first, which loads the avatar, always),
    # so how many are late says nothing of the clock; a conversion off by more than a frame
    # or two moves them all past one of these bounds.
    assert 0.0 < known.max() < 0.25, (np.median(known), known.max())
    lag = np.array(motion.received_at) - np.array(motion.stamps)
    assert (np.abs(lag) < 2.0).all(), (lag.min(), lag.max())
    assert session.frame_timing is not None and session.frame_timing["mirror_delay_frames"]["p99"] == 0.0
