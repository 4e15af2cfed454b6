"""Spoken cues: therapy's "cue.audio" events read aloud (explicit motor imagery names each
movement; the patient may have their eyes closed while imagining it).

Speech comes from a child process, so the render thread never waits on audio: espeak-ng
(Debian package ``espeak-ng``) on Linux, Windows' own speech (System.Speech, through the
Windows PowerShell every Windows 10 and 11 has) on Windows. One cue speaks at a time; a
cue that arrives while another is still speaking waits, and only the newest waiting cue is
kept (a backlog of stale instructions would confuse more than help). Without a speech
program the cues stay text-only — the headset shows the same words — and that is logged
once.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from gmi_vr.core.events import Event

log = logging.getLogger(__name__)

#: Words per minute: slower than espeak-ng's 175 for patients who may be older, in pain or
#: tired (product choice).
SPEECH_RATE_WPM = 140
#: System.Speech's rate (-10 … 10, 0 the voice's normal pace; it documents no words per
#: minute): a little slower than normal, for the same reason as SPEECH_RATE_WPM.
SAPI_RATE = -2

SpeechEngine = Literal["espeak-ng", "windows"]
#: The speech engine of this machine.
ENGINE: SpeechEngine = "windows" if sys.platform == "win32" else "espeak-ng"
_ENGINE_PROGRAM: dict[SpeechEngine, str] = {"espeak-ng": "espeak-ng", "windows": "powershell"}
_MISSING: dict[SpeechEngine, str] = {
    "espeak-ng": "espeak-ng is not installed: spoken cues are shown as text only "
    "(apt-get install espeak-ng).",
    "windows": "Windows PowerShell was not found: spoken cues are shown as text only.",
}

#: The PowerShell script that speaks one cue. The text (and the WAV path, when writing to
#: files) come in through environment variables, never inside the script, so no cue text
#: can be read as PowerShell.
WINDOWS_SPEECH_SCRIPT = (
    "Add-Type -AssemblyName System.Speech; "
    "$voice = New-Object System.Speech.Synthesis.SpeechSynthesizer; "
    f"$voice.Rate = {SAPI_RATE}; "
    "if ($env:GMI_VR_CUE_WAV) { $voice.SetOutputToWaveFile($env:GMI_VR_CUE_WAV) }; "
    "$voice.Speak($env:GMI_VR_CUE_TEXT); "
    "$voice.Dispose()"
)


def speech_command(
    engine: SpeechEngine, program: str, text: str, wav: Path | None
) -> tuple[list[str], dict[str, str]]:
    """The command line and the extra environment variables that speak ``text`` with
    ``engine`` (into ``wav`` instead of the sound device when given)."""
    if engine == "windows":
        extra = {"GMI_VR_CUE_TEXT": text}
        if wav is not None:
            extra["GMI_VR_CUE_WAV"] = str(wav)
        command = [program, "-NoProfile", "-NonInteractive", "-Command", WINDOWS_SPEECH_SCRIPT]
        return command, extra
    command = [program, "-s", str(SPEECH_RATE_WPM)]
    if wav is not None:
        command += ["-w", str(wav)]
    return [*command, text], {}


class CueSpeaker:
    """Speaks "cue.audio" events. ``write_to``: write each cue to a numbered WAV file in that
    folder instead of the sound device (tests, or clinics that want to hear what was said)."""

    def __init__(
        self,
        write_to: Path | None = None,
        program: str | None = None,
        engine: SpeechEngine = ENGINE,
    ) -> None:
        self.write_to = write_to
        self.engine = engine
        self.program = program or shutil.which(_ENGINE_PROGRAM[engine])
        self.spoken: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._waiting: str | None = None
        if self.program is None:
            log.warning(_MISSING[engine])

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
        wav = None
        if self.write_to is not None:
            wav = self.write_to / f"cue-{len(self.spoken) + 1:03d}.wav"
        command, extra_environment = speech_command(self.engine, self.program, text, wav)
        # No console window flashes up over the therapist's desktop on Windows.
        no_window = getattr(subprocess, "CREATE_NO_WINDOW", 0) if self.engine == "windows" else 0
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                             env={**os.environ, **extra_environment},
                                             creationflags=no_window)  # fmt: skip
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
