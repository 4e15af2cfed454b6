"""Scoring laterality trials, comparing them with norms, and summarising a session.

Conventions: accuracy = correct / shown trials, so a timeout counts as not correct;
median reaction time is over correct answers only (the usual laterality measure: a wrong
answer's time says little about motor imagery). Voided trials (paused mid-trial) never
reach here: they have no record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gmi_vr.core.types import Side
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, Stage
from gmi_vr.therapy.results.task_records import RatingRecord, TrialRecord

#: Smallest real change between sessions (CLINICAL.md: reliability study of laterality
#: tasks): RT 0.19-0.49 s, accuracy 5-14 percentage points, depending on part and task.
SRC_RT_S = (0.19, 0.49)
SRC_ACCURACY = (0.05, 0.14)


@dataclass(frozen=True)
class GroupScore:
    """Trials of one group (a side, a part, a rotation...)."""

    n: int  # trials shown and ended (answered or timed out)
    n_correct: int
    n_timeouts: int
    accuracy: float | None  # n_correct / n, None when n == 0
    median_rt_s: float | None  # over correct answers; None when there are none


def _group(trials: Sequence[TrialRecord]) -> GroupScore:
    correct_rts = [t.rt_s for t in trials if t.correct and t.rt_s is not None]
    n = len(trials)
    n_correct = sum(t.correct for t in trials)
    return GroupScore(
        n=n,
        n_correct=n_correct,
        n_timeouts=sum(t.timed_out for t in trials),
        accuracy=n_correct / n if n else None,
        median_rt_s=statistics.median(correct_rts) if correct_rts else None,
    )


#: What trials are grouped by: a side or part name, or a rotation in degrees.
_Key = TypeVar("_Key", str, int)


def _by(trials: Sequence[TrialRecord], key: Callable[[TrialRecord], _Key]) -> dict[_Key, GroupScore]:
    groups: dict[_Key, list[TrialRecord]] = {}
    for trial in trials:
        groups.setdefault(key(trial), []).append(trial)
    return {k: _group(v) for k, v in sorted(groups.items(), key=lambda kv: str(kv[0]))}


@dataclass(frozen=True)
class LateralityScore:
    """Accuracy and median RT overall and per side, body part, part and side, rotation, view.
    Keys are plain strings ("left", "hand", "hand/left", "back") and ints (rotation degrees)."""

    overall: GroupScore
    by_side: dict[str, GroupScore]
    by_part: dict[str, GroupScore]
    by_part_side: dict[str, GroupScore]
    by_rotation: dict[int, GroupScore]
    by_view: dict[str, GroupScore]
    #: "upright", "medial", "lateral", "inverted" (see ``rotation_direction``).
    by_direction: dict[str, GroupScore]

    @property
    def rt_gap_s(self) -> float | None:
        """|median RT right - median RT left|, None unless both sides have correct answers."""
        left, right = self.by_side.get("left"), self.by_side.get("right")
        if left is None or right is None or left.median_rt_s is None or right.median_rt_s is None:
            return None
        return abs(right.median_rt_s - left.median_rt_s)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the score and its groups."""
        return dataclasses.asdict(self)


def score_trials(trials: Sequence[TrialRecord]) -> LateralityScore:
    """Accuracy and reaction times of laterality ``trials``: overall, and grouped by side, body
    part, part and side, rotation, view and rotation direction."""
    return LateralityScore(
        overall=_group(trials),
        by_side=_by(trials, lambda t: t.side.value),
        by_part=_by(trials, lambda t: t.body_part.value),
        by_part_side=_by(trials, lambda t: f"{t.body_part.value}/{t.side.value}"),
        by_rotation=_by(trials, lambda t: t.rotation_deg),
        by_view=_by(trials, lambda t: t.view),
        by_direction=_by(trials, lambda t: rotation_direction(t.side, t.rotation_deg)),
    )


def rotation_direction(side: Side, rotation_deg: int) -> str:
    """Where a picture-plane rotation points the part, relative to the body midline.

    Counter-clockwise rotations (as the patient sees them, 0-180 degrees) point a left part
    away from the midline (lateral) and a right part towards it (medial); clockwise the
    reverse. Lateral rotations are the awkward ones for a real limb, so motor imagery shows
    as slower answers for them (the biomechanical-constraint effect, Parsons 1994) — a check
    that the patient imagines moving rather than matching pictures.
    """
    angle = rotation_deg % 360
    if angle == 0:
        return "upright"
    if angle == 180:
        return "inverted"
    counter_clockwise = angle < 180
    return "lateral" if counter_clockwise == (side is Side.LEFT) else "medial"


# --- norms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Norm:
    """A reference for one measure: a target (pass/fail) and/or a mean and SD (z-score)."""

    body_part: BodyPart | None  # None: every body part
    measure: str  # "accuracy" or "median_rt_s"
    target: float | None  # accuracy: at least; RT: at most
    mean: float | None
    sd: float | None
    source: str


#: From CLINICAL.md "Laterality norms and progression". The BACK_NECK stimuli are necks (a
#: head turned left or right), so that part takes the neck norms of Wallwork et al. 2013 (n=1361,
#: 40 images), not trunk-rotation figures. CLINICAL.md gives no values per age band (older people
#: are slower and less accurate, n=154; neck RT rises with age), so every norm is for all ages.
NORMS: tuple[Norm, ...] = (
    Norm(None, "accuracy", 0.80, None, None, "NOI accuracy target >= 80 % (noinotes 2012)"),
    Norm(BodyPart.HAND, "median_rt_s", 2.0, None, None,
         "hand-therapy clinic guidance: under about 2 s per image"),
    Norm(BodyPart.FOOT, "median_rt_s", 2.0, None, None,
         "CLINICAL.md progression defaults: hands and feet about 2 s"),
    Norm(BodyPart.SHOULDER, "median_rt_s", None, 1.74, 0.74,
         "shoulder left/right judgement validity study, n=1413"),
    Norm(BodyPart.SHOULDER, "accuracy", None, 0.935, 0.092,
         "shoulder left/right judgement validity study, n=1413"),
    Norm(BodyPart.BACK_NECK, "median_rt_s", None, 1.621, 0.501,
         "Wallwork et al. 2013, Manual Therapy 18:225: neck, n=1361"),
    Norm(BodyPart.BACK_NECK, "accuracy", 0.925, None, None,
         "Wallwork et al. 2013, Manual Therapy 18:225: neck median accuracy 92.5 %, n=1361"),
)

AGE_NOTE = (
    "No age-banded norms are available (CLINICAL.md: older people are slower and less "
    "accurate, n=154, but no values per band); compared with all-age norms."
)


@dataclass(frozen=True)
class RtNorm:
    """The progression gate on one side's median RT for a body part: at most ``limit_s``."""

    limit_s: float
    source: str


def rt_norm(part: BodyPart, age: int | str | None = None) -> RtNorm:
    """The slowest median RT still within the norm for ``part``: the target where the norm
    gives one (hands and feet about 2 s), else mean + 1 SD (product choice: slower than about
    five healthy people in six is outside the norm; neck 2.12 s, shoulder 2.48 s). ``age``
    would pick an age band's values; CLINICAL.md has none yet (``AGE_NOTE``)."""
    for norm in NORMS:
        if norm.body_part is part and norm.measure == "median_rt_s":
            if norm.target is not None:
                return RtNorm(norm.target, norm.source)
            assert norm.mean is not None and norm.sd is not None
            return RtNorm(round(norm.mean + norm.sd, 3), f"{norm.source}: mean + 1 SD")
    raise ProgramError(f"No reaction-time norm is known for a {part.value}; set progression.max_median_rt_s.")


@dataclass(frozen=True)
class NormComparison:
    """One measure of one side compared with a published norm (``Norm``), and whether it
    meets the norm's target (None when the norm has none)."""
    body_part: BodyPart
    side: str
    measure: str
    value: float
    norm: Norm
    meets_target: bool | None  # None when the norm has no target
    z: float | None  # (value - mean) / sd; None when the norm has no mean and SD
    age_note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (body parts as their values)."""
        data = dataclasses.asdict(self)
        data["body_part"] = self.body_part.value
        data["norm"]["body_part"] = self.norm.body_part.value if self.norm.body_part else None
        return data


def compare_with_norms(score: LateralityScore, age: int | str | None) -> list[NormComparison]:
    """Each (body part, side) of ``score`` against every norm that applies to that part.
    Body parts with no norm for a measure (feet have only the accuracy target) are simply
    not compared for it. ``age`` (years or a band) only selects the note: no banded values
    exist yet; when they do, they go into ``NORMS`` with the band they hold for."""
    note = AGE_NOTE if age is not None else "Age unknown; compared with all-age norms."
    out: list[NormComparison] = []
    for key, group in score.by_part_side.items():
        part_name, side = key.split("/")
        part = BodyPart(part_name)
        for norm in NORMS:
            if norm.body_part not in (None, part):
                continue
            value = group.accuracy if norm.measure == "accuracy" else group.median_rt_s
            if value is None:
                continue
            meets = None
            if norm.target is not None:
                meets = value >= norm.target if norm.measure == "accuracy" else value <= norm.target
            z = (value - norm.mean) / norm.sd if norm.mean is not None and norm.sd else None
            out.append(NormComparison(part, side, norm.measure, value, norm, meets, z, note))
    return out


# --- sessions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSummary:
    """What progression needs from one finished session (plain, JSON-able via ``to_dict``).

    ``date`` is the session's ISO date or datetime, from storage. Accuracy and median RT
    per side come from the session's laterality trials (None without any).
    """

    date: str
    stage: Stage
    body_part: BodyPart
    n_trials: int = 0
    #: Laterality trials shown per side (CLINICAL.md: the norms used 40 per side or more).
    n_left: int = 0
    n_right: int = 0
    accuracy_left: float | None = None
    accuracy_right: float | None = None
    median_rt_left_s: float | None = None
    median_rt_right_s: float | None = None
    pain_first: int | None = None
    pain_last: int | None = None
    #: A pain flare (``pain_flare``: the rise or the ceiling rule, CLINICAL.md "Pain ratings
    #: and flares").
    pain_flare: bool = False
    #: The patient stopped the session (stop gesture). Recorded, but not a failure: CLINICAL.md,
    #: "a stop for another reason (fatigue, a break, the headset taken off) is not a failure".
    patient_stop: bool = False
    #: Cybersickness at or above the program's threshold (Fast Motion Sickness Scale).
    sickness: bool = False
    #: The start-of-session answer on pain and swelling since the last session: "no_worse",
    #: "worse", "much_worse", or None when not asked (``SINCE_LAST_ANSWERS``).
    since_last: str | None = None

    @property
    def flare(self) -> bool:
        """A safety event that steps back a stage: a pain flare, sickness, or much more pain
        and swelling since the last session (CLINICAL.md: movement-evoked swelling shows later)."""
        return self.pain_flare or self.sickness or self.since_last == "much_worse"

    @property
    def rt_gap_s(self) -> float | None:
        """Absolute difference in seconds between the right and left median reaction times; None
        when a side has none."""
        if self.median_rt_left_s is None or self.median_rt_right_s is None:
            return None
        return abs(self.median_rt_right_s - self.median_rt_left_s)

    @property
    def day(self) -> dt.date:
        """The session's date; ProgramError when ``date`` is not an ISO date."""
        try:
            return dt.datetime.fromisoformat(self.date).date()
        except ValueError:
            raise ProgramError(f"Session date {self.date!r} is not an ISO date (YYYY-MM-DD).") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (stage as its number, body part as its value); ``from_dict`` reads it."""
        data = dataclasses.asdict(self)
        data["stage"] = int(self.stage)
        data["body_part"] = self.body_part.value
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> SessionSummary:
        """The summary stored by ``to_dict``; ProgramError naming an unknown or bad field."""
        fields = {f.name for f in dataclasses.fields(SessionSummary)}
        unknown = set(data) - fields
        if unknown:
            raise ProgramError(f"Session summary field '{sorted(unknown)[0]}' is unknown.")
        try:
            return SessionSummary(**{**data, "stage": Stage(data["stage"]),
                                     "body_part": BodyPart(data["body_part"])})
        except (KeyError, TypeError, ValueError) as error:
            raise ProgramError(f"A stored session summary cannot be read ({error}).") from None


#: Answers of the start-of-session check "pain and swelling since last time", mildest first.
SINCE_LAST_ANSWERS = ("no_worse", "worse", "much_worse")


def is_flare(first: int, value: int, rise: int, rise_fraction: float, ceiling: int) -> bool:
    """The flare rule for one rating against the session's first (CLINICAL.md "Pain ratings
    and flares"): ``rise`` points or more above it, or ``rise_fraction`` of it or more (a rise
    of at least one point; from a first rating of 0 a percentage means nothing, so only the
    points count), or at the patient's ``ceiling`` (a patient who starts at 9 cannot rise 2)."""
    if value >= ceiling:
        return True
    gain = value - first
    return gain >= rise or (first > 0 and gain >= 1 and gain >= rise_fraction * first - 1e-9)


def pain_flare(ratings: Iterable[RatingRecord], rise: int, rise_fraction: float = 0.0,
               ceiling: int = 11) -> bool:
    """True if any rating flares against the session's first (``is_flare``); the first
    rating itself flares only at the ceiling."""
    values = [r.value for r in sorted(ratings, key=lambda r: r.time_s)]
    if not values:
        return False
    return values[0] >= ceiling or any(
        is_flare(values[0], v, rise, rise_fraction, ceiling) for v in values[1:])


def summarize_session(
    program: Program,
    date_iso: str,
    trials: Sequence[TrialRecord],
    ratings: Sequence[RatingRecord],
    patient_stop: bool = False,
    sickness: bool = False,
    since_last: str | None = None,
) -> SessionSummary:
    """The ``SessionSummary`` of one session for progression and reports, from its trials and
    ratings: trial counts, accuracy and median reaction time (s) per side, the first and last
    pain rating, whether pain flared, the patient stopped or felt sick, and the answer to
    "since last time"."""
    score = score_trials(trials)
    left, right = score.by_side.get("left"), score.by_side.get("right")
    ordered = sorted(ratings, key=lambda r: r.time_s)
    return SessionSummary(
        date=date_iso,
        stage=program.stage,
        body_part=program.body_part,
        n_trials=len(trials),
        n_left=left.n if left else 0,
        n_right=right.n if right else 0,
        accuracy_left=left.accuracy if left else None,
        accuracy_right=right.accuracy if right else None,
        median_rt_left_s=left.median_rt_s if left else None,
        median_rt_right_s=right.median_rt_s if right else None,
        pain_first=ordered[0].value if ordered else None,
        pain_last=ordered[-1].value if ordered else None,
        pain_flare=pain_flare(ordered, program.safety.flare_rise, program.safety.flare_rise_fraction,
                              program.safety.pain_ceiling),
        patient_stop=patient_stop,
        sickness=sickness,
        since_last=since_last,
    )


@dataclass(frozen=True)
class Change:
    """A change of one measure on one side between two sessions, judged against the smallest
    real change range: "within noise" below its lower bound, "possibly real" inside the
    range, "real" above its upper bound."""

    side: str
    measure: str
    before: float
    after: float
    delta: float  # after - before
    better: bool  # RT down or accuracy up
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the change."""
        return dataclasses.asdict(self)


def _verdict(delta: float, band: tuple[float, float]) -> str:
    if abs(delta) < band[0]:
        return "within noise"
    return "possibly real" if abs(delta) <= band[1] else "real"


def change_since(previous: SessionSummary, current: SessionSummary) -> list[Change]:
    """Per side, accuracy and median RT of ``current`` against ``previous`` (where both have them)."""
    changes: list[Change] = []
    for side in (Side.LEFT, Side.RIGHT):
        pairs = (
            ("accuracy", f"accuracy_{side.value}", SRC_ACCURACY, True),
            ("median_rt_s", f"median_rt_{side.value}_s", SRC_RT_S, False),
        )
        for measure, attribute, band, up_is_better in pairs:
            before, after = getattr(previous, attribute), getattr(current, attribute)
            if before is None or after is None:
                continue
            delta = after - before
            better = delta > 0 if up_is_better else delta < 0
            changes.append(Change(side.value, measure, before, after, delta, better,
                                  _verdict(delta, band)))
    return changes
