"""Records of the later stages and of the other tasks of a plan, for storage next to
``task_records.TrialRecord`` and ``task_records.RatingRecord``: imagined movements, vividness ratings,
movement repetitions with their measures, range-of-motion excursions, look-only periods,
stretches of mirror-box practice (``mirror_box``), and the touches of the touch training and
of its dysynchiria screen (``touch_task``).

Times are seconds on the frame clock; positions are world (reference space) metres as
3-element lists in ``to_dict()``, so it is JSON-able as is. Each class has ``record_kind``,
its name. The session store row each becomes (a repetition row for ``RepetitionRecord``, a
trial row for the others) is written out in one place, ``app.record_rows``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any


def _jsonable(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"record_kind": record.record_kind}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


@dataclass(frozen=True)
class ImageryRecord:
    """One imagined movement (stage 2).

    The patient marks start and end with a button; both times are the input's own change
    times (``HandInput.changed_at_s``) when the source gives them (``time_source``
    "input"), else the display times of the frames that saw the presses ("frame").
    ``ratio`` = imagined / demonstrated duration: mental chronometry (imagined and executed
    movements take about as long in health, Decety & Jeannerod 1995; imagined movements of
    the affected hand take longer in CRPS, Moseley 2004, Neurology 62:1644).
    """

    record_kind = "imagery"
    block_index: int
    trial_index: int
    movement: str
    body_part: str
    side: str
    level: int
    demo_duration_s: float
    demo_shown_at_s: float
    started_at_s: float | None
    ended_at_s: float | None
    imagined_s: float | None
    ratio: float | None
    marked_by: str | None  # "right.trigger_click" ... (the start press)
    time_source: str | None  # "input" | "frame"
    timed_out: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the record (enums as values, tuples as lists), as events and exports carry it."""
        return _jsonable(self)


@dataclass(frozen=True)
class VividnessRecord:
    """How vivid the imagined movements of a block were, 1 (no image) to 5 (as clear as
    doing it). 5-point scale as in the Kinesthetic and Visual Imagery Questionnaire
    (Malouin et al. 2007)."""

    record_kind = "vividness"
    block_index: int
    time_s: float
    value: int
    source: str  # "patient"
    scale: str = "vividness-1-5"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the record (enums as values, tuples as lists), as events and exports carry it."""
        return _jsonable(self)


@dataclass(frozen=True)
class RepetitionRecord:
    """One repetition of a movement task (stages 3 and 4), measured on the affected hand as
    displayed to the patient (``BodyPose.displayed_*``: the mirrored healthy hand in mirror
    therapy, its own tracking in real movement).

    ``onset_s`` / ``end_s`` bound the movement (speed minima around the movement, see
    ``measures.movement_measures``); ``duration_s`` = ``end_s - onset_s``; ``path_length_m``
    is the hand's path between them; ``sparc`` (spectral arc length) and ``ldlj`` (log
    dimensionless jerk) measure smoothness, both negative, closer to 0 = smoother
    (Balasubramanian et al. 2015, J NeuroEng Rehabil 12:112). ``target_error_m``: reach and
    touch: hand to target centre at the movement's end; trace: mean distance of the hand from
    the path; grasp: object to place centre at release. Measures are None when the hand did
    not move (a timeout with no movement).
    """

    record_kind = "repetition"
    block_index: int
    task: str  # MotorKind value
    repetition_index: int
    stage: int
    phase: str  # "healthy" | "both" (mirror) | "real" | "blend"
    limb_mode: str  # LimbMode value the task asked for
    blend: float
    side: str  # the side whose displayed hand is measured (the affected side)
    target: tuple[float, float, float]
    range_fraction: float
    pace_s: float
    complexity: int
    shown_at_s: float
    completed_at_s: float | None
    completed: bool
    timed_out: bool
    onset_s: float | None
    end_s: float | None
    duration_s: float | None
    path_length_m: float | None
    peak_speed_m_s: float | None
    sparc: float | None
    ldlj: float | None
    target_error_m: float | None
    #: Both-limbs phase only: mean distance between the affected hand's own tracked position
    #: and its displayed (mirrored) position during the repetition — how in sync the limbs were.
    sync_error_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the record (enums as values, tuples as lists), as events and exports carry it."""
        return _jsonable(self)


@dataclass(frozen=True)
class RangeOfMotionRecord:
    """The largest comfortable excursion of the affected hand in one direction, from its rest
    position, measured on its own tracking at the start of a graded-movement block."""

    record_kind = "range_of_motion"
    block_index: int
    side: str
    direction: str  # grading.ROM_DIRECTIONS
    excursion_m: float
    rest_position: tuple[float, float, float]
    started_at_s: float
    ended_at_s: float
    ended_by: str  # "right.trigger_click", ... or "time_limit"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the record (enums as values, tuples as lists), as events and exports carry it."""
        return _jsonable(self)


@dataclass(frozen=True)
class ObservationRecord:
    """A look-only period of mirror therapy (CLINICAL.md: "look at the reflection only")."""

    record_kind = "observation"
    block_index: int
    started_at_s: float
    ended_at_s: float
    planned_s: float
    completed: bool  # False when a pause or stop cut it short

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the record (enums as values, tuples as lists), as events and exports carry it."""
        return _jsonable(self)


@dataclass(frozen=True)
class MirrorBoxRecord:
    """One stretch of guided mirror-box practice, from when it began (or resumed) to when it
    ended: ``ended_by`` "done" (the planned time was practised) or the reason it was cut
    ("rating": a pain rating over it, after which it resumes; "unfocused"; a stop or flare
    such as "pain_flare"). ``practised_s`` is the block's practice so far, this stretch
    included, so a block's last record holds its total. Times on the frame clock, seconds."""

    record_kind = "mirror_box"
    block_index: int
    started_at_s: float
    ended_at_s: float
    planned_s: float
    practised_s: float
    ended_by: str

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-able data, its kind included."""
        data: dict[str, Any] = {"record_kind": self.record_kind}
        data.update(dataclasses.asdict(self))
        return data


@dataclass(frozen=True)
class TouchRecord:
    """One touch and the patient's answer.

    ``touch_block`` counts the training's blocks from 0 (``block_index`` is the session
    plan's block). ``cue_at_s`` is the display time of the frame that cued the touch;
    ``rt_s`` = ``answered_at_s - cue_at_s``. No answer before the slot ended: ``timed_out``,
    neither site nor probe counted right. ``touched`` is the limb the therapist touched
    ("affected", or "healthy" in mirrored touch).
    """

    record_kind = "touch"
    block_index: int
    touch_block: int
    touch_index: int
    seed: int
    site: str
    probe: str
    probe_mm: float
    view: str
    touched: str
    side: str  # the touched limb's side
    cue_at_s: float
    answer_site: str | None
    answer_probe: str | None
    answered_by: str | None  # "right.primary", ...
    answered_at_s: float | None
    rt_s: float | None
    rt_source: str | None  # "input" | "frame"
    site_correct: bool
    probe_correct: bool
    timed_out: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields, with the record kind."""
        return {"record_kind": self.record_kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class ScreenRecord:
    """One touch of the dysynchiria screen: the healthy limb touched at ``site``, seen on the
    limb in the affected place, and the patient's answer whether the affected side felt
    pain or tingling (``report``)."""

    record_kind = "touch_screen"
    block_index: int
    touch_block: int
    screen_index: int
    site: str
    side: str  # the healthy side, touched
    cue_at_s: float
    asked_at_s: float
    answered_at_s: float
    answered_by: str
    report: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields, with the record kind."""
        return {"record_kind": self.record_kind, **dataclasses.asdict(self)}


StageRecord = (ImageryRecord | VividnessRecord | RepetitionRecord | RangeOfMotionRecord
               | ObservationRecord | MirrorBoxRecord | TouchRecord | ScreenRecord)
