"""Spoken cues through the real espeak-ng (Debian package), written to WAV files."""

from __future__ import annotations

import shutil
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from gmi_vr.app.audio import CueSpeaker
from gmi_vr.core.events import Event


def rms_and_seconds(path: Path) -> tuple[float, float]:
    with wave.open(str(path)) as audio:
        frames = audio.readframes(audio.getnframes())
        samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64) / 32768.0
        return float(np.sqrt(np.mean(samples**2))), audio.getnframes() / audio.getframerate()


def test_cues_are_spoken_one_at_a_time_and_only_the_newest_waits(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (tools/setup installs it)")
    speaker = CueSpeaker(write_to=tmp_path)
    speaker.handle([Event(0.0, "cue.audio", {"text": "Watch. Bend your wrist back."}),
                    Event(0.0, "pain.ask", {"moment": "start"})])  # fmt: skip
    # While the first speaks, two more arrive: only the newest is kept.
    speaker.handle([Event(0.1, "cue.audio", {"text": "stale"})])
    speaker.handle([Event(0.2, "cue.audio", {"text": "Now imagine it."})])
    deadline = time.monotonic() + 30
    while (speaker.speaking() or len(speaker.spoken) < 2) and time.monotonic() < deadline:
        speaker.handle([])
        time.sleep(0.02)
    speaker.close(wait_s=10)
    assert speaker.spoken == ["Watch. Bend your wrist back.", "Now imagine it."]
    for name, words in (("cue-001.wav", 5), ("cue-002.wav", 3)):
        rms, seconds = rms_and_seconds(tmp_path / name)
        assert rms > 0.01  # speech, not silence
        # At 140 words per minute, a few words take roughly 0.4 s each (padding included).
        assert 0.2 * words < seconds < 1.0 * words + 1.0


def test_without_espeak_cues_stay_text_only_and_say_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # a machine without espeak-ng
    with caplog.at_level("WARNING"):
        speaker = CueSpeaker(write_to=tmp_path)
        for t in range(3):
            speaker.handle([Event(float(t), "cue.audio", {"text": "Watch."})])
    assert speaker.spoken == [] and not speaker.speaking()
    assert list(tmp_path.iterdir()) == []
    assert [r.getMessage() for r in caplog.records].count(
        "espeak-ng is not installed: spoken cues are shown as text only (apt-get install espeak-ng)."
    ) == 1
