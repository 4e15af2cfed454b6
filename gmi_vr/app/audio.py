"""Spoken cues: therapy's "cue.audio" events read aloud (explicit motor imagery names each
movement; the patient may have their eyes closed while imagining it).

Speech comes from espeak-ng (Debian package ``espeak-ng``) in a child process, so the
render thread never waits on audio. One cue speaks at a time; a cue that arrives while
another is still speaking waits, and only the newest waiting cue is kept (a backlog of
stale instructions would confuse more than help). Without espeak-ng the cues stay
text-only — the headset shows the same words — and that is logged once.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from gmi_vr.core.events import Event

log = logging.getLogger(__name__)

#: Words per minute: slower than espeak-ng's 175 for patients who may be older, in pain or
#: tired (product choice).
SPEECH_RATE_WPM = 140


class CueSpeaker:
    """Speaks "cue.audio" events. ``write_to``: write each cue to a numbered WAV file in that
    folder instead of the sound device (tests, or clinics that want to hear what was said)."""

    def __init__(self, write_to: Path | None = None, program: str | None = None) -> None:
        self.write_to = write_to
        self.program = program or shutil.which("espeak-ng")
        self.spoken: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._waiting: str | None = None
        if self.program is None:
            log.warning("espeak-ng is not installed: spoken cues are shown as text only "
                        "(apt-get install espeak-ng).")  # fmt: skip

    def handle(self, events: Iterable[Event]) -> None:
        """Queue the cues among ``events`` and start the next one if the last has finished.
        Call once per frame; it never blocks."""
        for event in events:
            if event.kind == "cue.audio" and event.data.get("text"):
                self._waiting = str(event.data["text"])
        if self._waiting is not None and not self.speaking():
            self._start(self._waiting)
            self._waiting = None

    def speaking(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self, text: str) -> None:
        if self.program is None:
            return
        command = [self.program, "-s", str(SPEECH_RATE_WPM)]
        if self.write_to is not None:
            command += ["-w", str(self.write_to / f"cue-{len(self.spoken) + 1:03d}.wav")]
        try:
            self._process = subprocess.Popen([*command, text], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        except OSError as error:
            log.warning("Spoken cues are off (%s): the headset still shows them as text.", error)
            self.program = None
            return
        self.spoken.append(text)

    def close(self, wait_s: float = 0.0) -> None:
        """Stop speaking (after up to ``wait_s`` seconds for the current cue to finish)."""
        if self._process is None:
            return
        try:
            self._process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            self._process.wait(timeout=5)
