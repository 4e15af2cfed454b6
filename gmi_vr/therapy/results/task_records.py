"""What tasks hand to storage: one plain record per trial and per pain rating, and the
session runner's marks of where each block and task of the plan began and ended.

Times are seconds on the frame clock (``TrackingFrame.time_s``), never the wall clock.
``to_dict()`` gives JSON-able values (enums as their string values).
The session store row each record becomes is written out in one place, ``app.record_rows``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gmi_vr.core.types import RatingPhase, RatingSource, Side
from gmi_vr.therapy.plan.program import BodyPart
from gmi_vr.therapy.results.stage_records import StageRecord

#: NRS 0-10 pain intensity (CLINICAL.md: LOINC 72514-3).
NRS_LOINC = "72514-3"


def _jsonable(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        out[f.name] = value.value if isinstance(value, Side | BodyPart) else value
    return out


@dataclass(frozen=True)
class TrialRecord:
    """One laterality trial.

    ``shown_at_s`` is the predicted display time of the first frame that showed the picture.
    ``rt_s`` = ``answered_at_s - shown_at_s``; ``answered_at_s`` is the input's own change
    time (``HandInput.changed_at_s``) when the source gives one (``rt_source`` "input"), else
    the display time of the frame that first saw the press ("frame": up to one frame late;
    also a dwell's, taken on the frame its time was full), or the therapist's key time
    ("console"). A timeout has no answer and no RT.

    ``answered_with`` says what the patient (or therapist) did: "trigger", "primary",
    "secondary" (a controller's), "pinch" (a tracked hand's thumb to index), "dwell" (resting
    the pointer on a target, ``therapy.tasks.pointing``; its RT includes the dwell time) or "key"
    (the therapist's). ``answered_by`` names the hand and the same input ("right.pinch").
    """

    block_index: int
    trial_index: int
    seed: int
    body_part: BodyPart
    side: Side
    rotation_deg: int
    view: str
    context: str
    mesh: str
    reflected: bool
    shown_at_s: float
    answer: Side | None
    answered_by: str | None  # "left.trigger_click", "right.primary", "right.pinch", "right.dwell", "console", or None
    answered_at_s: float | None
    rt_s: float | None
    correct: bool
    timed_out: bool
    rt_source: str | None  # "input", "frame", "console" or None
    answered_with: str | None = None  # "trigger", "primary", "secondary", "pinch", "dwell", "key", or None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the record (enums as values, tuples as lists), as events and exports carry it."""
        return _jsonable(self)


#: Rating moments as the session store names its phases.
STORAGE_PHASE: dict[str, RatingPhase] = {"start": "before", "on_demand": "during", "end": "after"}


@dataclass(frozen=True)
class RatingRecord:
    """One pain rating on the 0-10 numeric rating scale (NRS-11, LOINC 72514-3).

    ``moment``: "start", "end" or "on_demand"; ``source``: "patient" (in the headset)
    or "therapist" (typed at the console). ``confirmed_with``: what confirmed it ("trigger",
    "primary", "pinch" held on the value, "dwell" on the confirm target, "key" for the
    therapist's); the "pain.rating" event carries it.
    """

    time_s: float
    value: int
    moment: str
    source: RatingSource
    scale: str = "NRS-11"
    loinc: str = NRS_LOINC
    confirmed_with: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the record (enums as values, tuples as lists), as events and exports carry it."""
        return _jsonable(self)


@dataclass(frozen=True)
class TaskStarted:
    """The runner started a task of the plan: a block's task (``block_index`` >= 0, the
    block's position in ``Program.blocks``), a pain rating or a break (``block_index`` None).

    ``number`` counts the session's tasks from 1 in the order they started; the records the
    task produces until its ``TaskEnded`` (or until another task starts on top of it, as an
    on-demand rating does over a suspended block) belong to it. ``kind`` is the task's kind
    ("laterality", "pain_rating", "break", ...). A block starts with its task.
    """

    number: int
    kind: str
    time_s: float
    block_index: int | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class TaskEnded:
    """The task ``number`` ended at ``time_s``: ``outcome`` "done" when it ran to its end,
    else why it was cut short ("pain_flare", "therapist_end", "session_ended", ...). When
    the task is a block's, the block ends with it."""

    number: int
    time_s: float
    outcome: str = "done"


#: Everything a task step hands to storage (the later stages' records included).
Record = TrialRecord | RatingRecord | TaskStarted | TaskEnded | StageRecord
