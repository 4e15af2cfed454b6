"""The therapist's keys in the desktop window during a session.

Function keys, so they never collide with the simulator's letters and digits. Each key
press reaches the session runner with the frame time of the frame that saw it (logic reads
no clock; a console answer is then at most one frame late, which the trial records say).
"""

from __future__ import annotations

from dataclasses import dataclass

from gmi_vr.core.types import Side
from gmi_vr.therapy.session import SessionRunner

THERAPIST_KEYS: tuple[tuple[str, str], ...] = (
    ("F2 / F3", "answer left / right for the patient"),
    ("F4", "ask the patient for a pain rating"),
    ("F5, digits, enter", "type the patient's pain rating (0-10)"),
    ("F8", "stop: fade to the calm scene"),
    ("F9", "end the session (closing rating)"),
)


@dataclass
class TherapistControls:
    """Turns the window's key presses into session-runner calls. ``typing`` holds the
    digits of a rating being typed after F5 (None when not typing)."""

    runner: SessionRunner
    typing: str | None = None
    #: One-line feedback for the status line ("rating 7 entered", "type a rating: 1_").
    message: str = ""

    def handle(self, pressed: list[str], time_s: float) -> None:
        for key in pressed:
            self._key(key, time_s)

    def _key(self, key: str, time_s: float) -> None:
        if self.typing is not None:
            if key.isdigit() and len(self.typing) < 2:
                self.typing += key
                self.message = f"pain rating: {self.typing}_  (enter to record, F5 to cancel)"
            elif key == "enter" and self.typing:
                value = int(self.typing)
                self.typing = None
                if 0 <= value <= 10:
                    self.runner.rating_from_console(value, time_s)
                    self.message = f"pain rating {value} recorded"
                else:
                    self.message = f"{value} is not a rating: type 0 to 10"
            elif key == "f5":
                self.typing, self.message = None, "rating not recorded"
            return
        if key == "f2":
            self.runner.answer_from_console(Side.LEFT, time_s)
            self.message = "answered left"
        elif key == "f3":
            self.runner.answer_from_console(Side.RIGHT, time_s)
            self.message = "answered right"
        elif key == "f4":
            self.runner.request_rating(time_s)
            self.message = "pain rating asked"
        elif key == "f5":
            self.typing, self.message = "", "pain rating: _  (digits, then enter)"
        elif key == "f8":
            self.runner.stop(time_s)
            self.message = "stopped: calm scene"
        elif key == "f9":
            self.runner.end_session(time_s)
            self.message = "ending: closing rating"
