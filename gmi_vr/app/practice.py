"""Practice at home without a headset (``gmi-vr practice --patient ID``): the patient's own
program in a desktop window, recorded as a session of mode "desktop" at station "home".

    PracticeWindow inputs ──DesktopInputs──▶ TrackingFrame (buttons, stick, their times)
        ──▶ SessionLoop / SessionPipeline.step ──▶ PracticeWindow.show (the patient's view)

The tasks, their scoring, the pain ratings and the safety rules are the headset's
(``therapy``, with the sitting's plan from ``therapy.plan.home_sitting.home_program``): the desktop
only stands in for the controllers. Keys and mouse become the controller inputs each task
reads, one-handed, so nothing in therapy knows it runs on a desktop:

- laterality: left / right arrow, F / J, or the left / right mouse button answer left /
  right (the program's answer inputs, pressed at the key's own time);
- pain ratings and questions: the arrows or F / J (or the wheel) step the scale (the
  thumbstick), Space, Enter or a click is the trigger (tap: step on, hold a second: confirm);
- imagery: Space, Enter or a click marks the start and the end of an imagined movement;
- P asks for a pain rating at any time (the thumbstick click);
- Escape twice ends the sitting (with the closing rating; twice more: without it), as the
  therapist's Escape does in the clinic (``app.controls``); the close button counts as Escape.

Every input carries its own time (``glfw.get_time()`` when delivered), and every frame the
time it was begun on the same clock: a reaction time is exact to a frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gmi_vr.app.controls import TherapistControls
from gmi_vr.app.loop import ConsolePacer, SessionLoop
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.core.folders import ensure_writable_folder
from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.therapy.plan.program import AnswerMapping
from gmi_vr.therapy.runner import DEFAULT_ANCHOR, RunnerState, SessionRunner

if TYPE_CHECKING:
    from gmi_vr.console.practice_window import InputEvent, PracticeWindow

#: Frames per second of the practice window (a desktop screen's usual refresh).
PRACTICE_HZ = 60.0

LEFT_KEYS = frozenset({"left_arrow", "f"})
RIGHT_KEYS = frozenset({"right_arrow", "j"})
SELECT_KEYS = frozenset({"space", "enter", "mouse_left", "mouse_right"})

#: The keys line under the picture, by what is on screen (``SessionRunner.task_kind``).
KEY_HELP: dict[str | None, str] = {
    "laterality": "Left: <- or F or left click    Right: -> or J or right click",
    "pain_rating": "<- -> choose    hold Space (or a click) 1 s to confirm",
    "question": "<- -> choose    hold Space (or a click) 1 s to confirm",
    "imagery": "Space or click: start, then again at the end    (ratings: <- -> and hold Space)",
    "break": "Space or click: go on",
}
ESCAPE_HELP = "P: rate pain    Esc twice: finish"


@dataclass
class DesktopInputs:
    """Turns the window's key and mouse events into the controller inputs the task on screen
    reads (module docstring), for one TrackingFrame at a time.

    A key engages one controller input when pressed (chosen by the task on screen then) and
    lets it go when released, so a task that changes under a held key never sees a press it
    did not get. A press and its release delivered between the same two frames are kept
    apart (the release waits a frame), so a quick tap is never lost. Thumbstick flicks are
    given one a frame, with a frame at rest between them (the scale re-arms at rest).
    """

    answer: AnswerMapping
    #: Input held now: (hand, field) -> when it last changed (frame clock).
    _down: dict[tuple[Side, str], float] = field(default_factory=dict)
    _changed: dict[tuple[Side, str], float] = field(default_factory=dict)
    #: Which input each held key engaged.
    _engaged: dict[str, tuple[Side, str]] = field(default_factory=dict)
    _deferred: list[InputEvent] = field(default_factory=list)
    _flicks: list[float] = field(default_factory=list)
    _stick_out: bool = False

    def _answer_input(self, side: Side) -> tuple[Side, str]:
        if self.answer.mode == "two_hands":
            return side, "trigger_click"
        return self.answer.hand, self.answer.left_button if side is Side.LEFT else self.answer.right_button

    def _target(self, name: str, task_kind: str | None) -> tuple[Side, str] | float | None:
        """What key ``name`` does for ``task_kind``: a controller input, a flick (+1 / -1), or nothing."""
        if name == "p":
            return Side.RIGHT, "thumbstick_click"
        if task_kind == "laterality":
            if name in LEFT_KEYS or name == "mouse_left":
                return self._answer_input(Side.LEFT)
            if name in RIGHT_KEYS or name == "mouse_right":
                return self._answer_input(Side.RIGHT)
            return None
        if name in LEFT_KEYS or name == "wheel_down":
            return -1.0
        if name in RIGHT_KEYS or name == "wheel_up":
            return 1.0
        if name in SELECT_KEYS:
            return Side.RIGHT, "trigger_click"
        return None

    def take(self, events: list[InputEvent], task_kind: str | None) -> None:
        """Apply the events delivered since the last frame, oldest first."""
        pending, self._deferred = self._deferred + events, []
        pressed_now: set[tuple[Side, str]] = set()
        for event in pending:
            if not event.down:
                target = self._engaged.get(event.name)
                if target is None:
                    continue
                if target in pressed_now:  # pressed since the last frame: let go next frame
                    self._deferred.append(event)
                    continue
                del self._engaged[event.name]
                self._down.pop(target, None)
                self._changed[target] = event.time_s
                continue
            what = self._target(event.name, task_kind)
            if isinstance(what, float):
                self._flicks.append(what)
            elif what is not None and event.name not in self._engaged and what not in self._down:
                self._engaged[event.name] = what
                self._down[what] = event.time_s
                self._changed[what] = event.time_s
                pressed_now.add(what)

    def frame(self, index: int, time_s: float, head: Pose, focused: bool) -> TrackingFrame:
        """The frame at ``time_s`` with the inputs held now and at most one flick."""
        stick = 0.0
        if self._stick_out:
            self._stick_out = False  # a frame at rest between flicks
        elif self._flicks:
            stick, self._stick_out = self._flicks.pop(0), True
        hands = {}
        for side in (Side.LEFT, Side.RIGHT):
            held = {name for (hand, name) in self._down if hand is side}
            changed = {name: t for (hand, name), t in self._changed.items() if hand is side}
            hands[side] = HandInput(
                trigger=1.0 if "trigger_click" in held else 0.0,
                thumbstick=(stick if side is Side.RIGHT else 0.0, 0.0),
                trigger_click="trigger_click" in held, primary="primary" in held,
                secondary="secondary" in held, thumbstick_click="thumbstick_click" in held,
                changed_at_s=changed,
            )
        return TrackingFrame(index, time_s, int(round(time_s * 1e9)), head, True, hands[Side.LEFT],
                             hands[Side.RIGHT], focused=focused)  # fmt: skip


def practice_frames(window: PracticeWindow, pipeline: SessionPipeline,
                    clock: Callable[[], float], stop: list[bool]) -> Iterator[TrackingFrame]:
    """One frame per ``1 / PRACTICE_HZ`` s until ``stop`` holds True: the window's inputs as
    controller inputs, the head where the session placed its pictures (the runner's anchor,
    once it has one), unfocused while the window is minimised. ``clock`` is the inputs'
    clock (``glfw.get_time``)."""
    runner = pipeline.runner
    assert runner is not None
    inputs = DesktopInputs(runner.program.laterality.answer)
    index = 0
    while not stop[0]:
        events = window.take_inputs()  # stamped before ``now``: they happened before this frame
        now = clock()
        inputs.take(events, _task_kind(runner))
        head = runner.anchor if runner.anchor is not None else DEFAULT_ANCHOR
        yield inputs.frame(index, now, head, focused=not window.minimised)
        index += 1
        delay = now + 1.0 / PRACTICE_HZ - clock()
        if delay > 0:
            time.sleep(delay)


def _task_kind(runner: SessionRunner) -> str | None:
    """The task on screen, as the keys see it: every question (sickness, since last time)
    is answered like a rating."""
    if runner.open_question is not None:
        return "question"
    return runner.task_kind


def practice_status(runner: SessionRunner) -> str:
    """The keys line for what is on screen now."""
    if runner.state is RunnerState.DONE:
        return ""
    if runner.state is RunnerState.CALM:
        return ESCAPE_HELP
    help_line = KEY_HELP.get(_task_kind(runner), "")
    return f"{help_line}    {ESCAPE_HELP}" if help_line else ESCAPE_HELP


def run_practice(patient_id: str, *, max_frames: int | None = None, screenshot: Path | None = None,
                 visible: bool = True, report: Callable[[str], None] | None = None,
                 seed: int | None = None, by: str | None = None) -> None:
    """Run one home practice sitting of ``patient_id`` in a desktop window (module docstring)
    until it is complete and the patient closes the window, or Escape ends it; ``max_frames``
    stops earlier (tests).

    The session is recorded as mode "desktop" at station "home" (``session_pipeline(home=
    True)``), with the same rules as ``gmi-vr run``: a store that cannot be written refuses
    the sitting before it starts and a recording that failed raises StorageError when it
    ends (never reported as saved); ``report`` is given the line saying what was saved.
    ``screenshot`` saves the last picture shown as a PNG; ``by`` is who the records name
    (``session_pipeline``'s therapist: default the logged-in user). Raises GraphicsUnavailable with no
    display, NotFoundError for an unknown patient."""
    from gmi_vr.render.context import choose_gl_platform

    if screenshot is not None:
        ensure_writable_folder(screenshot.parent)
    choose_gl_platform(offscreen=False)
    import glfw

    from gmi_vr.console.practice_window import PRACTICE_WINDOW_SIZE, PracticeWindow
    from gmi_vr.render.context import open_window_context
    from gmi_vr.render.renderer import Renderer

    with ExitStack() as stack:
        context = stack.enter_context(open_window_context(*PRACTICE_WINDOW_SIZE, title="gmi-vr: practice",
                                                          visible=visible))  # fmt: skip
        renderer = Renderer()
        stack.callback(renderer.release)
        window = PracticeWindow(context, renderer)
        stack.callback(window.release)
        with session_pipeline(patient_id, source="desktop", report=report, seed=seed, home=True,
                              therapist=by) as pipeline:
            runner = pipeline.runner
            assert runner is not None
            # The patient's own Escape: the headset window's confirmation, ended as the patient.
            controls = TherapistControls(runner, ends_as="patient")

            def status(frame: TrackingFrame, output: FrameOutput) -> str:
                return practice_status(runner)

            stop = [False]
            loop = SessionLoop(pipeline, window, status, pacer=ConsolePacer(None), controls=controls,
                               capture=screenshot is not None)  # fmt: skip
            frames = practice_frames(window, pipeline, glfw.get_time, stop)
            stopped = loop.run(frames, lambda: stop.__setitem__(0, True), max_frames=max_frames)
            pipeline.ended_by = pipeline.ended_by or stopped or "window_closed"
        if screenshot is not None and loop.last_pixels is not None:
            from PIL import Image

            Image.fromarray(np.ascontiguousarray(loop.last_pixels[:, :, :3])).save(screenshot)
