"""The numbers behind every figure and table of a progress report, computed from the store in
one place: the HTML and PDF reports draw them (``review.figures``), and a therapist console
can draw the same plain dataclasses. No plotting library is imported here.

What is read: the patient, their audit trail, and per session in the period its trials,
repetitions, ratings, events, blocks and its motion's first and last frame times (the
session's duration, ``store.motion_span``). Motion frames themselves are never loaded. Time
per stage comes from block rows where a session has them, else from the task events the
session runner records ("block.start"/"task.start" to their ends: ``stage_spans``).

Which sessions count for performance: every session in the period is listed with its
``status`` as an opaque label (the store's names may change), but a session that recorded
no trials, repetitions or pain ratings did "no work": it is shown, and left out of the
figures and the dose.

Conventions (from ``therapy.results.scoring``, so the report says what progression uses): accuracy
= correct / shown trials (a timeout is not correct), median reaction time over correct
answers only. Pain "before" and "after" are the last rating of each phase, as
``gmi-vr sessions`` lists them. Weeks are ISO weeks (Monday to Sunday) of the session's
start in UTC. Times are seconds, reaction times seconds, distances metres.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gmi_vr.core.types import Side
from gmi_vr.recording.rows import (
    AuditInfo,
    EventRecord,
    PatientInfo,
    SessionInfo,
    StoredRating,
    StoredTrial,
)
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, SafetySettings
from gmi_vr.therapy.results.practice_dose import DoseSummary, PracticeRecord, count_dose
from gmi_vr.therapy.results.scoring import (
    AGE_NOTE,
    NORMS,
    SRC_ACCURACY,
    SRC_RT_S,
    GroupScore,
    pain_flare,
    score_trials,
)
from gmi_vr.therapy.results.task_records import RatingRecord as TherapyRating
from gmi_vr.therapy.results.task_records import TrialRecord as TherapyTrial

#: Meaningful improvement of an NRS pain rating: about 2 points or 30 % from the baseline
#: (Farrar et al. 2001, Pain 94:149; CLINICAL.md "Pain ratings and flares"). A study of
#: improvement: these lines mark a fall in pain, the flare rule (``SafetySettings.flare_rise``)
#: covers a rise.
MEANINGFUL_PAIN_POINTS = 2
MEANINGFUL_PAIN_FRACTION = 0.30

#: Stages of the blocks a session runs, in the order reports show them.
BLOCK_STAGES = ("laterality", "imagery", "mirror", "graded_movement")
#: Events that end, cut short or pause a session, shown in the events table with their
#: reason ("session.pause": the headset lost focus, e.g. taken off or its system menu open).
STOP_EVENTS = ("safety.stop", "task.stopped", "safety.time_cap", "safety.flare",
               "session.end_requested", "session.pause", "error")  # fmt: skip
#: Events that are the therapist's changes during a session (the session report lists them).
LIVE_CHANGE_EVENTS = ("safety.stop", "session.end_requested", "pain.request", "session.pause",
                      "session.resume", "body.mode", "body.hand_scale", "pain.rating")  # fmt: skip

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called while a report is computed and drawn."""


def no_progress(step: str, done: int, total: int) -> None:
    """The default progress callback: reports nothing."""
    return None


# --- per session ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SideScore:
    """One side's laterality in one session (``therapy.results.scoring`` conventions)."""

    n: int
    accuracy: float | None
    median_rt_s: float | None


@dataclass(frozen=True)
class SessionPoint:
    """One session as the patient report shows it."""

    session_id: int
    started_at: datetime  # UTC
    status: str  # the store's label, shown as is
    stage: int | None  # the program stage the session ran at (None: not a therapy session)
    duration_s: float | None  # motion span, else blocks' span, else start to end
    has_work: bool  # any trial, repetition or pain rating recorded
    dropped_frames: int
    stages: tuple[str, ...]  # block stages in the order they ran
    minutes_by_stage: dict[str, float]  # block stage -> minutes
    sides: dict[str, SideScore]  # "left"/"right" -> laterality (only sides with trials)
    pain_before: int | None
    pain_after: int | None
    pain_flare: bool
    stops: tuple[str, ...]  # who or what stopped it: "patient", "therapist", "time cap", ...
    imagery_ratio: float | None  # median imagined / demonstrated duration
    vividness: float | None  # mean vividness 1-5
    rom_m: dict[str, float]  # direction -> largest excursion, metres
    sparc: float | None  # median over repetitions (closer to 0 is smoother)
    target_error_m: float | None  # median over repetitions
    sync_error_m: float | None  # median over both-limb repetitions
    station: str = "clinic"  # "clinic" or "home" (``SessionInfo.station``)
    mode: str = "headset"  # "headset" or "desktop"

    @property
    def where(self) -> str:
        """"clinic, headset", "home, desktop", ..."""
        return f"{self.station}, {self.mode}"

    @property
    def day(self) -> date:
        """The session's start date (UTC)."""
        return self.started_at.astimezone(UTC).date()

    @property
    def week(self) -> date:
        """The Monday of the session's ISO week."""
        return self.day - timedelta(days=self.day.weekday())

    @property
    def rt_gap_s(self) -> float | None:
        """Absolute difference in seconds between the right and left median reaction times; None
        when a side has none."""
        left, right = self.sides.get("left"), self.sides.get("right")
        if left is None or right is None or left.median_rt_s is None or right.median_rt_s is None:
            return None
        return abs(right.median_rt_s - left.median_rt_s)


# --- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormBand:
    """A shaded band on a figure: ``low``..``high`` of one measure, with its source."""

    measure: str  # "accuracy" or "median_rt_s"
    low: float
    high: float
    label: str
    source: str


class _PerSessionFigure:
    """A figure with a point per counted session (its ``dates``); nothing to draw without one."""

    dates: tuple[datetime, ...]

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return not self.dates


@dataclass(frozen=True)
class LateralityFigure(_PerSessionFigure):
    """Accuracy and median RT per side per session, against the norms for the body part."""

    body_part: str
    dates: tuple[datetime, ...]  # one per counted session with laterality trials
    session_ids: tuple[int, ...]
    accuracy: dict[str, tuple[float | None, ...]]  # side -> per session
    median_rt_s: dict[str, tuple[float | None, ...]]
    n_trials: dict[str, tuple[int, ...]]
    rt_gap_s: tuple[float | None, ...]
    bands: tuple[NormBand, ...]
    src_accuracy: tuple[float, float]  # smallest real change range (fraction)
    src_rt_s: tuple[float, float]
    src_source: str
    rt_gap_max_s: float  # the program's gate on the left/right gap
    age_note: str
    #: Pooled over the period: side -> ((rotation deg, median RT s, n correct), ...)
    rt_by_rotation: dict[str, tuple[tuple[int, float | None, int], ...]]


@dataclass(frozen=True)
class DoseWeek:
    """One ISO week of dose: its Monday, the sessions, minutes in all and by block stage, and
    sessions by program stage."""
    week: date  # Monday
    sessions: int
    minutes: float  # all counted sessions' durations
    minutes_by_stage: dict[str, float]  # block stage -> minutes
    sessions_by_program_stage: dict[int, int]


@dataclass(frozen=True)
class DoseFigure:
    """The dose figure's data: one entry per week, and the prescribed dose to compare with."""
    weeks: tuple[DoseWeek, ...]
    #: The prescribed dose the program holds: the cap of one session, minutes.
    session_cap_min: float | None
    prescribed_note: str

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return not self.weeks


@dataclass(frozen=True)
class PracticeWeek:
    """Practice between visits in one week of the period (its days inside the period only),
    against the prescription of the stage the patient was at (``stage``)."""

    monday: date
    stage: int
    dose: DoseSummary


@dataclass(frozen=True)
class ImageryFigure(_PerSessionFigure):
    """The imagery figure's data, per session: the imagined / demonstrated time ratio and the
    mean vividness (1-5), None where a session had none."""
    dates: tuple[datetime, ...]
    ratio: tuple[float | None, ...]
    vividness: tuple[float | None, ...]


@dataclass(frozen=True)
class MovementFigure(_PerSessionFigure):
    """The movement figure's data, per session: range of motion per direction, SPARC, and the
    mean target and sync errors, in metres (None where a session had none)."""
    dates: tuple[datetime, ...]
    rom_m: dict[str, tuple[float | None, ...]]  # direction -> per session
    sparc: tuple[float | None, ...]
    target_error_m: tuple[float | None, ...]
    sync_error_m: tuple[float | None, ...]


@dataclass(frozen=True)
class PainFigure:
    """The pain figure's data, per session: NRS 0-10 before and after, flare and stop marks,
    and the trend line when there are enough sessions."""
    dates: tuple[datetime, ...]
    session_ids: tuple[int, ...]
    before: tuple[int | None, ...]
    after: tuple[int | None, ...]
    flare: tuple[bool, ...]
    stopped: tuple[bool, ...]
    baseline: int | None  # the first "before" rating of the period
    #: Least-squares trend of the "before" ratings, NRS points per week (None: < 2 ratings).
    trend_per_week: float | None
    trend_line: tuple[tuple[datetime, float], tuple[datetime, float]] | None
    meaningful_points: int
    meaningful_fraction: float
    meaningful_source: str

    @property
    def empty(self) -> bool:
        """True when no session has a pain rating."""
        return not any(v is not None for v in self.before + self.after)


@dataclass(frozen=True)
class EventLine:
    """One line of a report's event list: the session, when it started (UTC), seconds into it,
    what happened and its detail."""
    session_id: int
    started_at: datetime
    time_s: float | None  # seconds into the session (frame clock from its first event)
    what: str
    detail: str


@dataclass(frozen=True)
class HistoryLine:
    """One step of the program's history: an added patient, an override, a proposal, a
    decision (from the audit trail)."""

    at: datetime
    actor: str
    what: str
    detail: str
    reason: str


@dataclass(frozen=True)
class PatientSummary:
    """The patient facts a report's header shows (pseudonymous id, never a name)."""
    id: str
    affected_side: str
    body_part: str
    age_band: str
    stage: int
    created_at: datetime | None


@dataclass(frozen=True)
class PatientReview:
    """Everything a patient's progress report shows."""

    patient: PatientSummary
    since: date | None
    until: date | None
    sessions: tuple[SessionPoint, ...]  # every session in the period, oldest first
    history: tuple[HistoryLine, ...]
    laterality: LateralityFigure
    dose: DoseFigure
    imagery: ImageryFigure
    movement: MovementFigure
    pain: PainFigure
    events: tuple[EventLine, ...]
    norms_used: tuple[tuple[str, str], ...]  # (what, source) named on the page
    practice: tuple[PracticeWeek, ...] = ()  # every week of the period, oldest first

    @property
    def counted(self) -> tuple[SessionPoint, ...]:
        """The sessions that did work (the ones every figure and total counts)."""
        return tuple(s for s in self.sessions if s.has_work)


# --- reading ---------------------------------------------------------------------------------


def _median(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return statistics.median(kept) if kept else None


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def session_program(session: SessionInfo) -> Program | None:
    """The program a session ran with (kept in its settings), None for other sessions."""
    data = (session.settings or {}).get("program")
    if not data:
        return None
    try:
        return Program.from_dict(data)
    except ProgramError:
        return None


def therapy_trial(row: StoredTrial) -> TherapyTrial | None:
    """A stored laterality trial row as the record the task produced, for
    ``therapy.results.scoring``; None for a row without a stimulus (it cannot be scored)."""
    if row.kind != "laterality" or row.body_part is None or row.side is None or row.rotation_deg is None:
        return None
    m = row.measures or {}
    return TherapyTrial(
        block_index=int(m.get("block_index", 0)), trial_index=int(m.get("trial_index", 0)),
        seed=int(m.get("seed", 0)), body_part=BodyPart(row.body_part), side=Side(row.side),
        rotation_deg=int(row.rotation_deg), view=row.view or "", context=str(m.get("context", "none")),
        mesh=str(m.get("mesh", "")), reflected=bool(m.get("reflected", False)), shown_at_s=row.onset_s,
        answer=Side(row.answer) if row.answer else None, answered_by=m.get("answered_by"),
        answered_at_s=m.get("answered_at_s"), rt_s=row.reaction_time_s, correct=bool(row.correct),
        timed_out=bool(m.get("timed_out", row.answer is None)), rt_source=m.get("rt_source"),
        answered_with=m.get("answered_with"),
    )  # fmt: skip


def _side_scores(trials: Sequence[TherapyTrial]) -> dict[str, SideScore]:
    if not trials:
        return {}
    by_side: dict[str, GroupScore] = score_trials(trials).by_side
    return {side: SideScore(g.n, g.accuracy, g.median_rt_s) for side, g in by_side.items()}


def _stops(events: Sequence[EventRecord]) -> tuple[str, ...]:
    out: list[str] = []
    for e in events:
        if e.kind == "safety.stop":
            out.append(str(e.data.get("by", "stop")))
        elif e.kind == "safety.time_cap":
            out.append("time cap")
        elif e.kind == "task.stopped" and e.data.get("cause") == "pain_flare":
            out.append("pain flare")
    return tuple(dict.fromkeys(out))


def _ordered_ratings(ratings: Sequence[StoredRating]) -> list[StoredRating]:
    """Ratings with a frame time in that order, then those typed in later (no frame time)."""
    timed = sorted((r for r in ratings if r.time_s is not None), key=lambda r: float(r.time_s or 0.0))
    return timed + [r for r in ratings if r.time_s is None]


def _flare(ratings: Sequence[StoredRating], events: Sequence[EventRecord], rise: int) -> bool:
    """A "safety.flare" event, or the flare rule (``therapy.results.scoring.pain_flare``) on the
    stored ratings in the order they were given."""
    if any(e.kind == "safety.flare" for e in events):
        return True
    ordered = _ordered_ratings(ratings)
    if len(ordered) < 2:
        return False
    records = [TherapyRating(float(i), r.value, "on_demand", r.source) for i, r in enumerate(ordered)]
    return pain_flare(records, rise)


def _duration_s(session: SessionInfo, spans: tuple[float, float] | None,
                blocks_span: float | None) -> float | None:
    if spans is not None:
        return spans[1] - spans[0]
    if blocks_span is not None:
        return blocks_span
    if session.ended_at is not None and session.ended_at >= session.started_at:
        return (session.ended_at - session.started_at).total_seconds()
    return None


def _stage_of(activity: str) -> str | None:
    """The block stage of a task or block name as the session's events give it."""
    if activity.startswith("laterality"):
        return "laterality"
    if activity in ("imagery", "vividness_rating"):
        return "imagery"
    if activity.startswith("mirror"):
        return "mirror"
    if activity.startswith("movement_") or activity in ("range_of_motion", "graded_movement"):
        return "graded_movement"
    return None  # pain ratings, breaks


def stage_spans(events: Sequence[EventRecord]) -> list[tuple[str, float, float | None]]:
    """(stage, start s, end s) of the tasks a session ran, from its events ("block.start" /
    "block.end" of laterality blocks, "task.start" / "task.end" of the other tasks): what the
    session runner records when no block rows are kept. A task without an end ends at the next
    task's start, a stop, or the last event."""
    out: list[tuple[str, float, float | None]] = []
    open_: tuple[str, float] | None = None
    last = events[-1].time_s if events else None
    for e in events:
        if e.kind in ("block.start", "task.start"):
            stage = _stage_of(str(e.data.get("kind") or e.data.get("task") or ""))
            if stage is None:
                continue
            if open_ is not None:
                out.append((open_[0], open_[1], e.time_s))
            open_ = (stage, e.time_s)
        elif e.kind in ("block.end", "task.end", "task.stopped") and open_ is not None:
            out.append((open_[0], open_[1], e.time_s))
            open_ = None
    if open_ is not None:
        out.append((open_[0], open_[1], last))
    return out


def session_point(store: SessionStore, session: SessionInfo,
                  ratings: Sequence[StoredRating] | None = None) -> tuple[SessionPoint, list[TherapyTrial], list[EventRecord]]:
    """One session's point, its scorable laterality trials and its events. ``ratings``: the
    session's ratings when already read (a patient's are read at once)."""
    sid = session.id
    program = session_program(session)
    trials = store.trials(sid)
    repetitions = store.repetitions(sid)
    ratings = list(store.ratings(session_id=sid) if ratings is None else ratings)
    events = store.events(sid)
    blocks = store.blocks(sid)
    span_ns = store.motion_span(sid)
    motion_span = (span_ns[0] / 1e9, span_ns[1] / 1e9) if span_ns else None

    spans = [(b.stage, b.start_s, b.end_s) for b in blocks] or stage_spans(events)
    ends = [end for _, _, end in spans if end is not None]
    # An unfinished block ends with the session's last event (the frame clock of the blocks,
    # which need not be the motion's runtime clock).
    last_times = [*ends, *(e.time_s for e in events[-1:])]
    session_end_s = max(last_times) if last_times else None
    minutes: dict[str, float] = {}
    stages: list[str] = []
    for stage, start, end in spans:
        end = end if end is not None else session_end_s
        if end is not None:
            minutes[stage] = minutes.get(stage, 0.0) + max(0.0, end - start) / 60.0
        if not stages or stages[-1] != stage:
            stages.append(stage)
    spans_s = (max(ends) - min(start for _, start, _ in spans)) if spans and ends else None

    lateral = [t for t in (therapy_trial(r) for r in trials) if t is not None]
    measures = [r.measures or {} for r in repetitions]
    rom: dict[str, float] = {}
    for row in trials:
        m = row.measures or {}
        if row.kind == "range_of_motion" and m.get("excursion_m") is not None:
            direction = str(m.get("direction", "?"))
            rom[direction] = max(rom.get(direction, 0.0), float(m["excursion_m"]))
    before = [r.value for r in ratings if r.phase == "before"]
    after = [r.value for r in ratings if r.phase == "after"]
    rise = program.safety.flare_rise if program else SafetySettings().flare_rise
    point = SessionPoint(
        session_id=sid, started_at=session.started_at, status=session.status,
        stage=int(program.stage) if program else None,
        duration_s=_duration_s(session, motion_span, spans_s),
        has_work=bool(trials or repetitions or ratings), dropped_frames=session.dropped_frames,
        stages=tuple(stages), minutes_by_stage=minutes, sides=_side_scores(lateral),
        pain_before=before[-1] if before else None, pain_after=after[-1] if after else None,
        pain_flare=_flare(ratings, events, rise), stops=_stops(events),
        imagery_ratio=_median((r.measures or {}).get("ratio") for r in trials if r.kind == "imagery"),
        vividness=_mean((r.measures or {}).get("value") for r in trials if r.kind == "vividness"),
        rom_m=rom, sparc=_median(m.get("sparc") for m in measures),
        target_error_m=_median(m.get("target_error_m") for m in measures),
        sync_error_m=_median(m.get("sync_error_m") for m in measures),
        station=session.station, mode=session.mode,
    )  # fmt: skip
    return point, lateral, events


def is_practice(session: SessionInfo | SessionPoint) -> bool:
    """Practice between visits: a session at home, or on a desktop without a headset; any
    other session is a clinic visit."""
    return session.station == "home" or session.mode == "desktop"


def practice_record(point: SessionPoint) -> PracticeRecord | None:
    """A practice session as the dose counts it: the minutes of its task blocks (the same
    minutes the report's dose figure shows); None when it spent no time in a block."""
    minutes = {stage: m for stage, m in point.minutes_by_stage.items() if m > 0}
    return PracticeRecord(point.session_id, point.day, minutes) if minutes else None


# --- the figures -------------------------------------------------------------------------


def _in_unit(measure: str, value: float) -> str:
    return f"{value * 100:.3g} %" if measure == "accuracy" else f"{value:.3g} s"


def norm_bands(body_part: str) -> tuple[NormBand, ...]:
    """The shaded bands for a body part from ``therapy.results.scoring.NORMS``: a target shades from
    it to the good end (accuracy up to 100 %, RT down to 0 s), a mean and SD shade mean +- 1 SD."""
    part = BodyPart(body_part)
    bands: list[NormBand] = []
    for norm in NORMS:
        if norm.body_part not in (None, part):
            continue
        accuracy = norm.measure == "accuracy"
        if norm.mean is not None and norm.sd is not None:
            low, high = norm.mean - norm.sd, norm.mean + norm.sd
            label = f"norm {_in_unit(norm.measure, norm.mean)} ± {_in_unit(norm.measure, norm.sd)}"
        elif norm.target is not None:
            low, high = (norm.target, 1.0) if accuracy else (0.0, norm.target)
            label = f"norm {'≥' if accuracy else '≤'} {_in_unit(norm.measure, norm.target)}"
        else:
            continue
        if norm.measure == "accuracy":
            high = min(high, 1.0)
        bands.append(NormBand(norm.measure, low, high, label, norm.source))
    return tuple(bands)


SRC_SOURCE = (f"day-to-day change in healthy people: RT {SRC_RT_S[0]:g}-{SRC_RT_S[1]:g} s, accuracy "
              f"{SRC_ACCURACY[0] * 100:g}-{SRC_ACCURACY[1] * 100:g} points; the lower bound is marked "
              "(reliability study of laterality tasks, CLINICAL.md)")  # fmt: skip


def rt_by_rotation(trials: Sequence[TherapyTrial]) -> dict[str, tuple[tuple[int, float | None, int], ...]]:
    """Per side shown: (rotation degrees, median RT of correct answers s, correct answers),
    by increasing rotation (``therapy.results.scoring`` per side and rotation)."""
    out: dict[str, tuple[tuple[int, float | None, int], ...]] = {}
    for side in ("left", "right"):
        own = [t for t in trials if t.side.value == side]
        if own:
            rotations = score_trials(own).by_rotation
            out[side] = tuple((int(k), g.median_rt_s, g.n_correct) for k, g in sorted(rotations.items()))
    return out


def _laterality(points: Sequence[SessionPoint], trials: Sequence[TherapyTrial], body_part: str,
                gap_max_s: float, age: str | None) -> LateralityFigure:
    shown = [p for p in points if p.sides]
    sides = ("left", "right")
    return LateralityFigure(
        body_part=body_part, dates=tuple(p.started_at for p in shown),
        session_ids=tuple(p.session_id for p in shown),
        accuracy={s: tuple(p.sides[s].accuracy if s in p.sides else None for p in shown) for s in sides},
        median_rt_s={s: tuple(p.sides[s].median_rt_s if s in p.sides else None for p in shown) for s in sides},
        n_trials={s: tuple(p.sides[s].n if s in p.sides else 0 for p in shown) for s in sides},
        rt_gap_s=tuple(p.rt_gap_s for p in shown), bands=norm_bands(body_part),
        src_accuracy=SRC_ACCURACY, src_rt_s=SRC_RT_S, src_source=SRC_SOURCE, rt_gap_max_s=gap_max_s,
        age_note=AGE_NOTE if age else "Age unknown; compared with all-age norms.",
        rt_by_rotation=rt_by_rotation(trials),
    )  # fmt: skip


def _dose(points: Sequence[SessionPoint], program: Program | None) -> DoseFigure:
    weeks: dict[date, list[SessionPoint]] = {}
    for p in points:
        weeks.setdefault(p.week, []).append(p)
    out = []
    for monday in sorted(weeks):
        group = weeks[monday]
        by_stage: dict[str, float] = {}
        by_program: dict[int, int] = {}
        for p in group:
            for stage, minutes in p.minutes_by_stage.items():
                by_stage[stage] = by_stage.get(stage, 0.0) + minutes
            if p.stage is not None:
                by_program[p.stage] = by_program.get(p.stage, 0) + 1
        total = sum((p.duration_s or 0.0) for p in group) / 60.0
        out.append(DoseWeek(monday, len(group), total, by_stage, by_program))
    cap = program.safety.session_cap_s / 60.0 if program else None
    note = ("The program prescribes clinic sessions of up to "
            f"{cap:g} minutes (its session cap); practice between visits: see its own table."
            if cap is not None else "No program is stored, so no dose is prescribed.")  # fmt: skip
    return DoseFigure(tuple(out), cap, note)


def _pain(points: Sequence[SessionPoint]) -> PainFigure:
    rated = [p for p in points if p.pain_before is not None or p.pain_after is not None]
    befores = [(p.started_at, p.pain_before) for p in rated if p.pain_before is not None]
    baseline = befores[0][1] if befores else None
    trend = line = None
    if len({d for d, _ in befores}) >= 2:
        t0 = befores[0][0]
        xs = [(d - t0).total_seconds() / (7 * 86400) for d, _ in befores]
        ys = [float(v) for _, v in befores]
        slope, intercept = statistics.linear_regression(xs, ys)
        trend = slope
        line = ((befores[0][0], intercept), (befores[-1][0], intercept + slope * xs[-1]))
    return PainFigure(
        dates=tuple(p.started_at for p in rated), session_ids=tuple(p.session_id for p in rated),
        before=tuple(p.pain_before for p in rated), after=tuple(p.pain_after for p in rated),
        flare=tuple(p.pain_flare for p in rated), stopped=tuple(bool(p.stops) for p in rated),
        baseline=baseline, trend_per_week=trend, trend_line=line,
        meaningful_points=MEANINGFUL_PAIN_POINTS, meaningful_fraction=MEANINGFUL_PAIN_FRACTION,
        meaningful_source="Farrar et al. 2001, Pain 94:149: a fall of about 2 points or 30 % "
                          "is the change patients call meaningful (CLINICAL.md)",
    )  # fmt: skip


def _event_lines(session: SessionPoint, events: Sequence[EventRecord]) -> list[EventLine]:
    t0 = events[0].time_s if events else 0.0
    out = []
    for e in events:
        if e.kind not in STOP_EVENTS:
            continue
        detail = ", ".join(f"{k} {v}" for k, v in e.data.items() if k not in ("proposal", "message"))
        out.append(EventLine(session.session_id, session.started_at, e.time_s - t0, e.kind, detail))
    if session.dropped_frames:
        out.append(EventLine(session.session_id, session.started_at, None, "recording loss",
                             f"{session.dropped_frames} motion frames never reached the disk"))
    return out


def _history(trail: Sequence[AuditInfo]) -> tuple[HistoryLine, ...]:
    out = []
    for entry in trail:
        d: dict[str, Any] = entry.details or {}
        if entry.action == "patient.add":
            stage = (d.get("program") or {}).get("stage", 1)
            out.append(HistoryLine(entry.at, entry.actor, "patient added", f"stage {stage}", ""))
        elif entry.action == "program.override":
            changes = ", ".join(f"{k} {d.get('old', {}).get(k)!r} → {v!r}" for k, v in (d.get("new") or {}).items())
            out.append(HistoryLine(entry.at, entry.actor, "program changed", changes, str(d.get("reason", ""))))
        elif entry.action == "progression.proposal":
            text = (f"stage {d.get('current_stage')} → {d.get('proposed_stage')} "
                    f"({d.get('decision')}, rule {d.get('rule')})")  # fmt: skip
            out.append(HistoryLine(entry.at, entry.actor, "proposal", text, str(d.get("reason", ""))))
        elif entry.action == "progression.decision":
            text = f"{d.get('outcome')}: stage {d.get('stage_before')} → {d.get('stage_after')}"
            out.append(HistoryLine(entry.at, entry.actor, "decision", text, str(d.get("note", ""))))
    return tuple(out)


def _age_band(patient: PatientInfo, program: Program | None) -> str | None:
    """The age band shown (never an exact age): the program's or patient's band, else the
    decade of the age in years, else the birth year."""
    band = (program.age_band if program else None) or patient.age_band
    if band is None and program is not None and program.age_years is not None:
        decade = program.age_years // 10 * 10
        band = f"{decade}-{decade + 9}"
    if band is None and patient.birth_year is not None:
        band = f"born {patient.birth_year}"
    return band


def parse_day(text: str | None, option: str) -> date | None:
    """A ``--from``/``--to`` date (YYYY-MM-DD), or ReportError in one sentence."""
    from gmi_vr.review.report_errors import ReportError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{option} '{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-01.") from None


def patient_review(store: SessionStore, patient_id: str, since: date | None = None,
                   until: date | None = None, progress: Progress = no_progress) -> PatientReview:
    """Everything the patient's report shows, for sessions started (UTC date) from ``since``
    to ``until`` inclusive. NotFoundError for an unknown patient; ReportError when
    ``since`` is after ``until``."""
    from gmi_vr.review.report_errors import ReportError

    if since is not None and until is not None and since > until:
        raise ReportError(f"--from {since} is after --to {until}; give the earlier date first.")
    patient: PatientInfo = store.patient(patient_id)
    program = Program.from_dict(patient.program) if patient.program else None
    sessions = [s for s in store.list_sessions(patient_id)
                if (since is None or s.started_at.date() >= since)
                and (until is None or s.started_at.date() <= until)]  # fmt: skip
    all_ratings = store.ratings(patient_id=patient_id)
    by_session: dict[int | None, list[StoredRating]] = {}
    for rating in all_ratings:
        by_session.setdefault(rating.session_id, []).append(rating)
    points: list[SessionPoint] = []
    counted_trials: list[TherapyTrial] = []
    events: list[EventLine] = []
    for i, session in enumerate(sessions):
        progress("reading sessions", i, len(sessions))
        point, trials, session_events = session_point(store, session, by_session.get(session.id, []))
        points.append(point)
        if point.has_work:
            counted_trials += trials
        events += _event_lines(point, session_events)
    progress("reading sessions", len(sessions), len(sessions))
    counted = [p for p in points if p.has_work]
    age = _age_band(patient, program)
    summary = PatientSummary(patient.id, patient.affected_side, patient.body_part, age or "unknown",
                             int(program.stage) if program else 1, patient.created_at)  # fmt: skip
    gap_max = program.progression.rt_gap_max_s if program else SRC_RT_S[1]
    laterality = _laterality(counted, counted_trials, patient.body_part, gap_max, age)
    norms_used = tuple((f"{'accuracy' if b.measure == 'accuracy' else 'median RT'}: {b.label}", b.source)
                       for b in laterality.bands)  # fmt: skip
    norms_used += (
        ("smallest real change", SRC_SOURCE),
        (f"left/right RT gap ≤ {gap_max:g} s", "the program's progression gate (ProgressionRules.rt_gap_max_s)"),
        ("age", laterality.age_note),
        (f"pain: {MEANINGFUL_PAIN_POINTS} points / {MEANINGFUL_PAIN_FRACTION:.0%} fall", _pain([]).meaningful_source),
    )  # fmt: skip
    return PatientReview(
        patient=summary, since=since, until=until, sessions=tuple(points),
        history=_history(store.audit_trail(patient_id)), laterality=laterality,
        dose=_dose(counted, program),
        imagery=ImageryFigure(*_series(counted, lambda p: p.imagery_ratio is not None or p.vividness is not None,
                                       lambda p: p.imagery_ratio, lambda p: p.vividness)),
        movement=_movement(counted), pain=_pain(counted), events=tuple(events), norms_used=norms_used,
        practice=_practice_weeks(points, program, since, until),
    )  # fmt: skip


def _practice_weeks(points: Sequence[SessionPoint], program: Program | None, since: date | None,
                    until: date | None) -> tuple[PracticeWeek, ...]:
    """Each week from the period's first day (``since``, else the first session's) to its
    last: practice sessions' minutes against the prescription of the stage of the week's
    last therapy session (or the one before it; the program's stage before any)."""
    if program is None or not points:
        return ()
    first, last = since or min(p.day for p in points), until or max(p.day for p in points)
    records = [r for r in (practice_record(p) for p in points if is_practice(p)) if r is not None]
    staged = sorted(((p.day, p.stage) for p in points if p.stage is not None), key=lambda x: x[0])
    weeks: list[PracticeWeek] = []
    monday = first - timedelta(days=first.weekday())
    stage = staged[0][1] if staged else int(program.stage)
    while monday <= last:
        week_first, week_last = max(monday, first), min(monday + timedelta(days=6), last)
        for day, at in staged:
            if day <= week_last:
                stage = at
        visits = sum(1 for p in points if not is_practice(p) and week_first <= p.day <= week_last)
        dose = count_dose(program.practice.for_stage(stage), records, week_first, week_last, visits)
        weeks.append(PracticeWeek(monday, stage, dose))
        monday += timedelta(days=7)
    return tuple(weeks)


def _series(points: Sequence[SessionPoint], keep: Callable[[SessionPoint], bool],
            *values: Callable[[SessionPoint], float | None]) -> tuple[tuple[Any, ...], ...]:
    kept = [p for p in points if keep(p)]
    return (tuple(p.started_at for p in kept), *(tuple(v(p) for p in kept) for v in values))


def _movement(points: Sequence[SessionPoint]) -> MovementFigure:
    kept = [p for p in points if p.rom_m or p.sparc is not None or p.target_error_m is not None]
    directions = sorted({d for p in kept for d in p.rom_m})
    return MovementFigure(
        dates=tuple(p.started_at for p in kept),
        rom_m={d: tuple(p.rom_m.get(d) for p in kept) for d in directions},
        sparc=tuple(p.sparc for p in kept), target_error_m=tuple(p.target_error_m for p in kept),
        sync_error_m=tuple(p.sync_error_m for p in kept),
    )


# --- one session -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialLine:
    """One laterality trial in a session report: block, stimulus side, rotation (degrees), view,
    answer, whether it was right and the reaction time (s)."""
    block: int
    side: str
    rotation_deg: int
    view: str
    answer: str | None
    correct: bool
    rt_s: float | None
    answered_by: str | None


@dataclass(frozen=True)
class BlockScore:
    """Accuracy and reaction time per side of one block."""
    block: int
    sides: dict[str, SideScore]


@dataclass(frozen=True)
class RatingLine:
    """One pain rating in a session report: seconds into the session, value (0-10), phase and
    source."""
    time_s: float | None  # seconds into the session
    value: int
    phase: str
    source: str


@dataclass(frozen=True)
class SessionReview:
    """Everything one session's report shows."""

    patient: PatientSummary
    point: SessionPoint
    trials: tuple[TrialLine, ...]
    blocks: tuple[BlockScore, ...]
    rt_by_rotation: dict[str, tuple[tuple[int, float | None, int], ...]]
    ratings: tuple[RatingLine, ...]
    live_changes: tuple[EventLine, ...]
    events: tuple[EventLine, ...]
    repetitions: tuple[dict[str, Any], ...] = field(default=())


def session_review(store: SessionStore, session_id: int) -> SessionReview:
    """One session in detail. NotFoundError for an unknown session."""
    session = store.session(session_id)
    patient = store.patient(session.patient_id)
    point, trials, events = session_point(store, session)
    program = session_program(session)
    t0 = events[0].time_s if events else 0.0
    lines = tuple(TrialLine(t.block_index, t.side.value, t.rotation_deg, t.view,
                            t.answer.value if t.answer else None, t.correct, t.rt_s, t.answered_by)
                  for t in trials)  # fmt: skip
    blocks: dict[int, list[TherapyTrial]] = {}
    for t in trials:
        blocks.setdefault(t.block_index, []).append(t)
    ratings = tuple(RatingLine(None if r.time_s is None else float(r.time_s) - t0, r.value, r.phase, r.source)
                    for r in _ordered_ratings(store.ratings(session_id=session_id)))  # fmt: skip
    live = []
    for e in events:
        if e.kind in LIVE_CHANGE_EVENTS and (e.data.get("by") == "therapist" or e.data.get("source") == "therapist"
                                             or e.kind in ("body.mode", "session.pause", "session.resume")):
            detail = ", ".join(f"{k} {v}" for k, v in e.data.items())
            live.append(EventLine(session_id, session.started_at, e.time_s - t0, e.kind, detail))
    age = _age_band(patient, program) or "unknown"
    summary = PatientSummary(patient.id, patient.affected_side, patient.body_part, age,
                             point.stage or 1, patient.created_at)  # fmt: skip
    reps = tuple({k: v for k, v in (r.measures or {}).items()
                  if k in ("task", "repetition_index", "completed", "duration_s", "sparc", "target_error_m", "sync_error_m")}
                 | {"duration_s": r.duration_s} for r in store.repetitions(session_id))  # fmt: skip
    return SessionReview(
        patient=summary, point=point, trials=lines,
        blocks=tuple(BlockScore(b, _side_scores(ts)) for b, ts in sorted(blocks.items())),
        rt_by_rotation=rt_by_rotation(trials), ratings=ratings, live_changes=tuple(live),
        events=tuple(_event_lines(point, events)), repetitions=reps,
    )
