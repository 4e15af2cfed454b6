"""Short questions in the headset besides the pain rating, answered one-handed: the
start-of-session check "pain and swelling since last time" and the Fast Motion Sickness
Scale (FMS, 0-20; CLINICAL.md: Keshavarz & Hecht 2011, asked every minute).

Controls are the pain rating's (``rating``), the same on both controllers so the healthy
hand alone suffices: thumbstick flick right / left one step; trigger tap one step on,
wrapping; hold the trigger or A/X ``tasks.base.CONFIRM_HOLD_S`` to confirm. Unlike the pain rating a
value may be preselected: the FMS starts at the patient's last answer (0 at first), so an
unchanged answer is one hold, "a second or two" (product choice: the FMS is a quick
repeated rating; the pain rating stays unanchored). The therapist can answer by console.

Each answer is one event (``QuestionTask.event_kind``) with ``{"value", "answer",
"source"}``; the session runner applies the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import Pose, TrackingFrame
from gmi_vr.scene.draw import DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.scenes import (
    BODY_HEIGHT_M,
    SCALE_BOX_COLOR,
    SCALE_CHOSEN_COLOR,
    TITLE_HEIGHT_M,
    hold_bar,
    text,
)
from gmi_vr.therapy.content.stimuli import place_in_front
from gmi_vr.therapy.plan.program import ProgramError
from gmi_vr.therapy.results.scoring import SINCE_LAST_ANSWERS
from gmi_vr.therapy.tasks.base import ButtonEdges, HoldToConfirm, StickFlicks, TaskStep

_AHEAD_M = 1.0


@dataclass(frozen=True)
class Question:
    """One question: its event kind, the lines asked, and the answers (stored names and the
    labels shown), mildest first."""

    event_kind: str
    lines: tuple[str, ...]
    answers: tuple[str, ...]
    labels: tuple[str, ...]
    box_pitch_m: float


SINCE_LAST = Question(
    "check.since_last",
    ("Since your last session,", "how are your pain and swelling?"),
    SINCE_LAST_ANSWERS,
    ("Better or the same", "A bit worse", "Much worse"),
    0.3,
)

#: FMS anchors (Keshavarz & Hecht 2011): 0 no sickness at all, 20 frank sickness.
FMS = Question(
    "sickness.fms",
    ("Any sickness right now?", "0 = none at all        20 = frank sickness"),
    tuple(str(v) for v in range(21)),
    tuple(str(v) for v in range(21)),
    0.045,
)


class QuestionTask:
    """Asks ``question`` once; ``preselect`` is the index chosen at first (None: nothing)."""

    kind = "question"
    involves_movement = False

    def __init__(self, anchor: Pose, question: Question, preselect: int | None = None) -> None:
        self.anchor = anchor
        self.question = question
        self.index = preselect
        self.preselect = preselect
        self._edges = ButtonEdges()
        self._flicks = StickFlicks()
        self._holds = HoldToConfirm()
        self._console: tuple[int, float] | None = None
        self._asked = False

    def enter_from_console(self, answer: str, time_s: float) -> None:
        """The therapist gives the patient's answer (one of ``question.answers``)."""
        if answer not in self.question.answers:
            raise ProgramError(f"Answer '{answer}' is not one of {', '.join(self.question.answers)}.")
        self._console = (self.question.answers.index(answer), time_s)

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): holds in progress are dropped; the question stays open."""
        self._holds.clear()
        self._edges = ButtonEdges()
        return TaskStep()

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        now = frame.time_s
        events: list[Event] = []
        if not self._asked:
            self._asked = True
            events.append(Event(now, "question.ask", {"question": self.question.event_kind,
                                                      "preselect": self.preselect}))
        if self._console is not None:
            index, at = self._console
            return self._finish(at, index, "therapist", events)
        for step in self._flicks.steps(frame):
            self._step(step, wrap=False)
        confirmed, taps = self._holds.follow(frame, self._edges, chosen=self.index is not None)
        for _ in range(taps):
            self._step(1, wrap=True)
        if confirmed and self.index is not None:
            return self._finish(now, self.index, "patient", events)
        return TaskStep(self._draw(), tuple(events))

    def picture(self) -> DrawList:
        """The question as drawn now (the choice and the confirm bar as they stand)."""
        return self._draw()

    def _step(self, direction: int, wrap: bool) -> None:
        last = len(self.question.answers) - 1
        if self.index is None:
            self.index = 0 if direction > 0 else last
        elif wrap:
            self.index = (self.index + direction) % (last + 1)
        else:
            self.index = min(last, max(0, self.index + direction))

    def _finish(self, time_s: float, index: int, source: str, events: list[Event]) -> TaskStep:
        answer = self.question.answers[index]
        events.append(Event(time_s, self.question.event_kind,
                            {"value": index, "answer": answer, "source": source}))
        return TaskStep(events=tuple(events), done=True)

    def _draw(self) -> DrawList:
        anchor, q = self.anchor, self.question
        texts: list[TextItem] = [
            text(anchor, line, up_m=0.18 - 0.09 * i, height_m=TITLE_HEIGHT_M if i == 0 else BODY_HEIGHT_M)
            for i, line in enumerate(q.lines)
        ]
        meshes: list[MeshItem] = []
        n = len(q.answers)
        for i, label in enumerate(q.labels):
            right = (i - (n - 1) / 2) * q.box_pitch_m
            where = place_in_front(anchor, _AHEAD_M + 0.01, -0.02, right)
            selected = i == self.index
            width = q.box_pitch_m * (0.93 if selected else 0.85)
            meshes.append(MeshItem("box", where @ np.diag([width, 0.07, 0.01, 1.0]),
                                   SCALE_CHOSEN_COLOR if selected else SCALE_BOX_COLOR, lit=False))
            texts.append(TextItem(label, place_in_front(anchor, _AHEAD_M, -0.02, right),
                                  height_m=0.035 if n < 5 else 0.03, color=(0.1, 0.1, 0.1, 1.0),
                                  background=None))
        hint = ("Thumbstick or trigger tap to choose" if self.index is None
                else "Hold the trigger or A/X to confirm")
        texts.append(text(anchor, hint, up_m=-0.13, height_m=0.04))
        bar = hold_bar(anchor, self._holds.progress, _AHEAD_M)
        if bar is not None:
            meshes.append(bar)
        return DrawList(meshes=tuple(meshes), texts=tuple(texts))
