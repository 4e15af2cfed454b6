"""Practice between visits counted against the prescription — plain data, no store.

GMI's effect in the trials came with frequent short home practice (CLINICAL.md "Practice
between visits"); a real-world audit with far less practice found no pain change (Johnson
2012). So the dose is measured, not assumed: the review layer reads the store and hands in
one ``PracticeRecord`` per practice session (a session at station "home" or in mode
"desktop"; clinic headset sessions are visits, counted apart), and ``count_dose`` sets what
was done a day against ``Program.practice`` for the stage.

Days are calendar days (UTC) counted inclusively: a window from Monday to Sunday is 7 days,
and a day with no practice counts as a day with none. Minutes are minutes of task blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from gmi_vr.therapy.plan.program import PRACTICE_TASKS, ProgressionRules, StagePractice

#: How each task is named for a therapist (the handout has its own plain words).
TASK_NAMES = {"laterality": "left/right judgement", "imagery": "explicit motor imagery",
              "mirror": "mirror practice"}  # fmt: skip


@dataclass(frozen=True)
class PracticeRecord:
    """One practice session: its day (UTC) and the minutes it spent on each task (by block
    name: "laterality", "imagery", "mirror"; other names are kept but count for no task)."""

    session_id: int
    day: date
    minutes: dict[str, float] = field(default_factory=dict)

    @property
    def total_minutes(self) -> float:
        """Minutes the session spent on all its blocks."""
        return sum(self.minutes.values())


@dataclass(frozen=True)
class TaskDose:
    """One prescribed task over the window: prescribed ``minutes`` each time ``times`` a day,
    done ``sessions_per_day`` practice sessions with the task and ``minutes_per_day``."""

    task: str
    minutes: float
    times: int
    sessions_per_day: float
    minutes_per_day: float

    @property
    def prescribed_per_day(self) -> float:
        """Minutes prescribed a day: ``minutes`` each time, ``times`` a day."""
        return self.minutes * self.times

    @property
    def fraction(self) -> float:
        """Minutes done a day over minutes prescribed a day (may exceed 1)."""
        return self.minutes_per_day / self.prescribed_per_day

    def short(self) -> str:
        """For a table cell: "laterality 1.0/8 times, 4.0/16 min"."""
        return f"{self.task} {self.sessions_per_day:.1f}/{self.times} times, {self.minutes_per_day:.1f}/{self.prescribed_per_day:g} min"

    def describe(self) -> str:
        """One plain sentence for the therapist: times and minutes a day done of those prescribed."""
        return (f"{TASK_NAMES.get(self.task, self.task)} {self.sessions_per_day:.1f} of {self.times} times "
                f"and {self.minutes_per_day:.1f} of {self.prescribed_per_day:g} minutes a day")


@dataclass(frozen=True)
class DoseSummary:
    """Practice from ``first_day`` to ``last_day`` (``days`` days, inclusive) against the
    prescription: one ``TaskDose`` per prescribed task; ``fraction`` the prescribed minutes
    done, each task counted up to its own prescription (more of one task does not make up
    for none of another), None when nothing is prescribed. ``visits``: clinic sessions in
    the window; ``practice_sessions``: practice sessions in it."""

    first_day: date
    last_day: date
    days: int
    practice_sessions: int
    practice_minutes: float
    visits: int
    tasks: tuple[TaskDose, ...]
    fraction: float | None

    def too_little(self, rules: ProgressionRules) -> bool:
        """Less practice than ``rules.min_practice_fraction`` of the prescription, over more
        than one day: a window of one day is the day the stage began (the first visit at it),
        with no time between visits yet, so it is shown but never called too little."""
        return self.days > 1 and self.fraction is not None and self.fraction < rules.min_practice_fraction

    def describe(self) -> str:
        """One sentence's worth, e.g. "over 7 days (2026-01-06 to 2026-01-12): left/right
        judgement 0.3 of 8 times and 0.6 of 16 minutes a day, 4 % of the prescription; 2
        clinic visits"."""
        span = f"over {self.days} day{'s' if self.days != 1 else ''} ({self.first_day} to {self.last_day})"
        visits = f"{self.visits} clinic visit{'s' if self.visits != 1 else ''}"
        if self.fraction is None:
            return f"{span}: no practice prescribed; {self.practice_sessions} practice session(s); {visits}"
        tasks = "; ".join(t.describe() for t in self.tasks)
        return f"{span}: {tasks}, {self.fraction * 100:.0f} % of the prescription; {visits}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures (evidence of a proposal)."""
        return {
            "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(), "days": self.days,
            "practice_sessions": self.practice_sessions, "practice_minutes": round(self.practice_minutes, 2),
            "visits": self.visits,
            "fraction": None if self.fraction is None else round(self.fraction, 3),
            "tasks": [{"task": t.task, "prescribed_minutes": t.minutes, "prescribed_times_per_day": t.times,
                       "sessions_per_day": round(t.sessions_per_day, 2),
                       "minutes_per_day": round(t.minutes_per_day, 2)} for t in self.tasks],
        }  # fmt: skip


def dose_window(rules: ProgressionRules, last_day: date, stage_began: date | None) -> tuple[date, date]:
    """The days practice is counted over: the last ``rules.practice_days`` days to
    ``last_day``, never before ``stage_began`` (the stage's own prescription applies)."""
    first = last_day - timedelta(days=rules.practice_days - 1)
    if stage_began is not None and first < stage_began <= last_day:
        first = stage_began
    return first, last_day


def count_dose(prescription: StagePractice, practice: Sequence[PracticeRecord], first_day: date,
               last_day: date, visits: int = 0) -> DoseSummary:
    """What ``practice`` (records outside the window are left out) did a day from
    ``first_day`` to ``last_day`` against ``prescription``; ``visits`` is handed through."""
    if last_day < first_day:
        raise ValueError(f"the window ends ({last_day}) before it begins ({first_day})")
    days = (last_day - first_day).days + 1
    inside = [p for p in practice if first_day <= p.day <= last_day]
    tasks: list[TaskDose] = []
    done = prescribed = 0.0
    for task in PRACTICE_TASKS:
        minutes, times = prescription.dose(task)
        if times == 0:
            continue
        sessions = sum(1 for p in inside if p.minutes.get(task, 0.0) > 0)
        task_minutes = sum(p.minutes.get(task, 0.0) for p in inside)
        dose = TaskDose(task, minutes, times, sessions / days, task_minutes / days)
        tasks.append(dose)
        done += min(dose.minutes_per_day, dose.prescribed_per_day)
        prescribed += dose.prescribed_per_day
    return DoseSummary(
        first_day, last_day, days, len(inside), sum(p.total_minutes for p in inside), visits,
        tuple(tasks), done / prescribed if prescribed else None,
    )
