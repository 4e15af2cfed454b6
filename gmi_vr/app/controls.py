"""The therapist's keys in the desktop window during a session.

Function keys, so they never collide with the simulator's letters and digits. Each key
press reaches the session runner with the frame time of the frame that saw it (logic reads
no clock; a console answer is then at most one frame late, which the trial records say).

Escape in a patient's session asks before it acts: pressed once, the status line asks for
it again; pressed again within ``ESCAPE_CONFIRM_S`` the session goes to its closing rating
(as F9 does), and confirmed once more it ends without the rating. A session that has not
begun, or is paused (the headset is off: no rating can be given in it), ends at the first
confirmation. Once the session is complete, one Escape closes the window. The window's
close button counts as an Escape (``console_keys``). In free play there is no session:
Escape quits at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gmi_vr.app.pipeline import SessionPipeline
from gmi_vr.body import LimbMode
from gmi_vr.body.solve import MIN_HAND_SCALE
from gmi_vr.core.types import Side
from gmi_vr.recording.listing import saved_line
from gmi_vr.therapy.runner import RunnerState, SessionRunner

if TYPE_CHECKING:
    from gmi_vr.console.practice_window import PracticeWindow
    from gmi_vr.console.therapist_window import TherapistWindow

#: A second Escape within this many seconds (frame clock) confirms it: a stray key press
#: must never end a patient's session, and a prompt that waited longer would surprise.
ESCAPE_CONFIRM_S = 3.0
ESCAPE_PROMPT = f"press Escape again within {ESCAPE_CONFIRM_S:.0f} s to end the session"
#: The prompt once the closing rating has been asked for.
ESCAPE_SKIP_PROMPT = f"press Escape again within {ESCAPE_CONFIRM_S:.0f} s to end without the closing rating"

THERAPIST_KEYS: tuple[tuple[str, str], ...] = (
    ("F2 / F3", "answer left / right for the patient"),
    ("F4", "ask the patient for a pain rating"),
    ("F5, digits, enter", "type the patient's pain rating (0-10)"),
    ("F6, digits, enter", "answer the question on screen: sickness 0-20, or since last time 0 better/same, 1 a bit worse, 2 much worse"),
    ("F7", "pause the session (a calm pause for the patient); F7 again resumes"),
    ("F10 / F11", "repeat the running block from its start / skip the running block or break"),
    ("F8", "stop: fade to the calm scene"),
    ("F9", "end the session (closing rating)"),
    ("escape twice", "end the session (closing rating); twice more: without it"),
    ("escape", "close the window once the session is complete"),
)


#: What an audit row calls each therapist action (``TherapistControls.act``).
AUDIT_ACTIONS: dict[str, str] = {
    "answer": "console.answer", "ask_pain": "console.ask_pain", "rating": "console.rating",
    "stop": "console.stop", "end": "console.end", "limb_mode": "console.limb_mode",
    "blend": "console.blend", "pause": "console.pause", "resume": "console.resume",
    "repeat": "console.repeat", "skip": "console.skip", "hand_scale": "console.hand_scale",
}


#: The function keys that are shortcuts for a console action: key -> (action, value).
KEY_ACTIONS: dict[str, tuple[str, Any]] = {
    "f2": ("answer", "left"), "f3": ("answer", "right"), "f4": ("ask_pain", None),
    "f8": ("stop", None), "f9": ("end", None), "f10": ("repeat", None), "f11": ("skip", None),
}
#: The key that starts typing a pain rating (digits, then enter: "rating"), and the one that
#: pauses a running session and resumes a paused one.
RATING_KEY = "f5"
HOLD_KEY = "f7"


def button_keys() -> dict[str, str]:
    """The key of each console button that has one, as the console shows it beside the
    button (``SessionPanel.keys``: action name, "answer_left" / "answer_right" for the
    answers -> "F2"), read from the keys this module acts on."""
    keys = {(name if value is None else f"{name}_{value}"): key.upper() for key, (name, value) in KEY_ACTIONS.items()}
    return keys | {"rating": RATING_KEY.upper(), "pause": HOLD_KEY.upper(), "resume": HOLD_KEY.upper()}


@dataclass
class TherapistControls:
    """Turns the window's key presses and the console's buttons into session calls, one
    path for both (``act``). ``typing`` holds the digits of a rating being typed after F5
    (None when not typing). ``pipeline`` takes the limb-mode changes (none without it);
    ``audit(action, details)`` is given every action taken (the app writes the audit row:
    who, what, session time)."""

    runner: SessionRunner
    pipeline: SessionPipeline | None = None
    audit: Callable[[str, dict[str, Any]], None] | None = None
    typing: str | None = None
    #: The digits of a question's answer being typed after F6 (None when not typing).
    answering: str | None = None
    #: Who an "end" comes from, for the session's reason: "therapist" at the clinic's
    #: console, "patient" practising alone at home (``app.practice``).
    ends_as: str = "therapist"
    #: One-line feedback for the status line ("rating 7 entered", "type a rating: 1_").
    message: str = ""
    #: The therapist asked to close the window (the session is complete, its end was
    #: confirmed again after the closing rating was asked, or no rating can be asked): the
    #: app stops the run.
    quit_requested: bool = False
    _escape_at: float | None = None  # frame time of an Escape awaiting its confirmation
    _end_asked: bool = False  # a confirmed Escape has asked for the closing rating

    def handle(self, pressed: list[str], time_s: float) -> None:
        for key in pressed:
            self._key(key, time_s)

    def act(self, name: str, value: Any, time_s: float, via: str = "console") -> None:
        """Apply one action at ``time_s`` (frame clock): "answer" ("left" / "right"),
        "ask_pain", "rating" (0-10), "stop", "end", "limb_mode" (a LimbMode value), "blend"
        (0..1: the blend mode with that share of the real limb), "pause" / "resume" (a calm
        pause for the patient), "repeat" / "skip" (the running block; skip: a break too),
        "hand_scale" (the displayed affected hand's size, ``MIN_HAND_SCALE`` to 1). ``via``: "console" (a
        button) or "key". Audited when taken; a value out of range, or a limb mode while
        the session holds the limb still, is refused with a message and is not."""
        details: dict[str, Any] = {"session_time_s": round(time_s, 3), "via": via}
        if name == "answer":
            side = Side(value)
            self.runner.answer_from_console(side, time_s)
            self.message = f"answered {side.value}"
            details["side"] = side.value
        elif name == "ask_pain":
            self.runner.request_rating(time_s)
            self.message = "pain rating asked"
        elif name == "rating":
            rating = int(value)
            if not 0 <= rating <= 10:
                self.message = f"{rating} is not a rating: type 0 to 10"
                return
            self.runner.rating_from_console(rating, time_s)
            self.message = f"pain rating {rating} recorded"
            details["value"] = rating
        elif name == "stop":
            self.runner.stop(time_s)
            self.message = "stopped: calm scene"
        elif name == "end":
            self.runner.end_session(time_s, by=self.ends_as)
            self.message = "ending: closing rating"
        elif name in ("pause", "resume"):
            if name == "pause" and (self.runner.held or self.runner.state is not RunnerState.RUNNING):
                self.message = "already paused" if self.runner.held else "nothing to pause now (calm scene or closing)"
                return
            if name == "resume" and not self.runner.held:
                self.message = "not paused"
                return
            self.runner.hold(name == "pause", time_s)
            self.message = "paused: a calm pause for the patient (F7 resumes)" if name == "pause" else "resumed"
        elif name in ("repeat", "skip"):
            if not (self.runner.repeatable if name == "repeat" else self.runner.steerable) or self.runner.held:
                running = "a block" if name == "repeat" else "a block or break"
                self.message = f"nothing to {name} now: {running} must be running" + (
                    " (resume first)" if self.runner.held else "")
                return
            (self.runner.repeat_task if name == "repeat" else self.runner.skip_task)(time_s)
            self.message = "block starts again" if name == "repeat" else "skipped: the plan goes on"
        elif name == "hand_scale":
            if self.pipeline is None:
                return
            scale, was = float(value), self.pipeline.hand_scale
            if not MIN_HAND_SCALE <= scale <= 1.0:  # never larger than life (CLINICAL.md)
                self.message = f"the hand is shown at {MIN_HAND_SCALE:.0%} to 100% of its size, not {scale:.0%}"
                return
            self.pipeline.set_hand_scale(scale, time_s)
            self.message = f"affected hand shown at {scale:.0%} of its size"
            details.update(scale=round(scale, 3), was=round(was, 3))
        elif name in ("limb_mode", "blend"):
            if self.pipeline is None:
                return
            if self.pipeline.limb_held_still:
                self.message = "the limb is held still now (rating, calm scene or break): choose again when the task goes on"
                return
            mode = LimbMode.BLEND if name == "blend" else LimbMode(value)
            current_mode, current_blend = self.pipeline.limb_mode
            blend = float(value) if name == "blend" else current_blend
            self.pipeline.set_limb_mode(mode, blend, time_s)
            self.message = f"limb: {mode.value}" + (f" ({blend:.0%} real)" if mode is LimbMode.BLEND else "")
            details.update(mode=mode.value, blend=round(blend, 3), was=current_mode.value)
        else:
            raise ValueError(f"no console action {name!r}")
        if self.audit is not None:
            self.audit(AUDIT_ACTIONS[name], details)

    def status(self, time_s: float) -> str:
        """The feedback line at ``time_s``: an Escape prompt that was not confirmed in time
        is withdrawn."""
        if self._escape_at is not None and time_s - self._escape_at > ESCAPE_CONFIRM_S:
            self._escape_at = None
            self.message = "not ended (Escape was not pressed again)"
        return self.message

    def _escape(self, time_s: float) -> None:
        if self.runner.state is RunnerState.DONE:
            self.quit_requested = True
            return
        if self._escape_at is None or time_s - self._escape_at > ESCAPE_CONFIRM_S:
            closing = self._end_asked or self.runner.state is RunnerState.CLOSING
            self._escape_at, self.message = time_s, ESCAPE_SKIP_PROMPT if closing else ESCAPE_PROMPT
            return
        self._escape_at = None
        if not self.runner.started or self.runner.paused:
            self.quit_requested = True
            self.message = "ended (no closing rating can be asked now)"
        elif self._end_asked or self.runner.state is RunnerState.CLOSING:
            self.quit_requested = True
            self.message = "ended without the closing rating"
        else:
            self.act("end", None, time_s, via="key")
            self._end_asked = True
            self.message = "ending: closing rating (Escape twice more ends without it)"

    def _key(self, key: str, time_s: float) -> None:
        if key == "escape":
            self.typing = None  # a rating being typed is dropped, never entered by Escape
            self._escape(time_s)
            return
        if self.answering is not None:
            self._answer_key(key, time_s)
            return
        if self.typing is not None:
            if key.isdigit() and len(self.typing) < 2:
                self.typing += key
                self.message = f"pain rating: {self.typing}_  (enter to record, F5 to cancel)"
            elif key == "enter" and self.typing:
                value = int(self.typing)
                self.typing = None
                self.act("rating", value, time_s, via="key")
            elif key == RATING_KEY:
                self.typing, self.message = None, "rating not recorded"
            return
        if key == RATING_KEY:
            self.typing, self.message = "", "pain rating: _  (digits, then enter)"
        elif key == "f6":
            if self.runner.open_question is None:
                self.message = "no question on screen"
            else:
                self.answering, self.message = "", "answer: _  (digits, then enter)"
        elif key == HOLD_KEY:
            self.act("resume" if self.runner.held else "pause", None, time_s, via="key")
        elif key in KEY_ACTIONS:
            name, value = KEY_ACTIONS[key]
            self.act(name, value, time_s, via="key")


    def _answer_key(self, key: str, time_s: float) -> None:
        """Digits and enter after F6: the answer's number on the question's scale."""
        assert self.answering is not None
        if key.isdigit() and len(self.answering) < 2:
            self.answering += key
            self.message = f"answer: {self.answering}_  (enter to record, F6 to cancel)"
        elif key == "f6":
            self.answering, self.message = None, "answer not recorded"
        elif key == "enter" and self.answering:
            index, self.answering = int(self.answering), None
            question = self.runner.open_question
            if question is None:
                self.message = "the question is gone: answer not recorded"
            elif index >= len(question.answers):
                self.message = f"{index} is not an answer: type 0 to {len(question.answers) - 1}"
            else:
                self.runner.answer_question_from_console(question.answers[index], time_s)
                self.message = f"answer {question.labels[index]} recorded"


def console_keys(window: TherapistWindow | PracticeWindow, controls: TherapistControls | None) -> list[str]:
    """The keys the therapist pressed in ``window`` (a ``console.therapist_window.TherapistWindow``)
    since the last frame. In a patient's session the window's close button asks like Escape
    does: the close request is taken back and counted as an Escape."""
    keys: list[str] = window.take_console_keys()
    if controls is not None and window.should_close() and not controls.quit_requested:
        window.cancel_close()
        keys.append("escape")
    return keys


def session_status(status: str, pipeline: SessionPipeline, controls: TherapistControls | None,
                   time_s: float) -> str:
    """The window's status line in a session: the run's ``status`` with the controls'
    feedback while it runs; once the session is finished, what the store holds of it."""
    if pipeline.finished and pipeline.runner is not None:
        saved = saved_line(pipeline.saved) if pipeline.saved is not None else "session not saved (see the terminal)"
        return f"{saved}  |  Escape closes the window"
    if controls is not None and controls.status(time_s):
        return f"{status}  |  {controls.message}"
    return status
