"""Plain dataclasses in and out of the session store (no ORM objects leave ``store.py``), one
per stored concept, each with its table's columns (``tests/test_stored_records.py`` checks them
against the tables). The trials, repetitions and ratings therapy's records become are
``StoredTrial``, ``StoredRepetition`` and ``StoredRating`` (``app.record_rows`` maps them).

Times of day are timezone-aware UTC datetimes; times inside a session are float seconds on
the frame source's clock (``TrackingFrame.time_s``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gmi_vr.core.types import RatingPhase, RatingSource

#: How a session ended: "completed" (the plan ran to its end), "ended_early" (cut short:
#: the therapist, the time cap, the app), "safety_stop" (pain flare, the patient's or the
#: therapist's stop), "not_started" (no trial or repetition was recorded), "aborted" (an
#: error ended it). "interrupted" is set by crash recovery, never by the app; "stopped" is
#: only in stores written before these names. ``SessionInfo.end_reason`` says why.
SessionStatus = Literal["running", "completed", "ended_early", "safety_stop", "not_started", "aborted",
                        "interrupted", "stopped"]
FINISH_STATUSES = ("completed", "ended_early", "safety_stop", "not_started", "aborted")
PHASES = ("before", "during", "after")
RATING_SOURCES = ("patient", "therapist")


@dataclass(frozen=True)
class PatientInfo:
    """A patient, by pseudonymous id only (CLINICAL.md: age matters for laterality norms,
    so a birth year or an age band may be kept; never a name or a birth date)."""

    id: str
    affected_side: str  # "left" | "right"
    body_part: str  # "hand", "foot", "shoulder", "knee", ...
    birth_year: int | None = None
    age_band: str | None = None  # e.g. "60-69"
    program: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class CalibrationInfo:
    """A stored body calibration: its id, patient, when it was made (UTC) and its data
    (``Calibration.to_dict``)."""
    id: int
    patient_id: str
    created_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class SessionInfo:
    """A stored session as the store hands it out: ids, start and end (UTC), status, frame
    source, and what the session ran with."""
    id: int
    patient_id: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    source: str
    runtime_name: str | None
    program_id: int | None
    dropped_frames: int
    owner_host: str | None
    settings: dict[str, Any] | None = None
    system_name: str | None = None
    display_hz: float | None = None
    end_reason: str | None = None
    #: The session's UUID, the same in every store it is carried to (``schema.Session.uid``).
    uid: str = ""
    #: "headset" or "desktop"; "clinic" or "home" (``schema.Session.mode``/``station``).
    mode: str = "headset"
    station: str = "clinic"
    #: The displayed frames' timing, summarised when the session closed
    #: (``motion.timing_summary``: median and p99 per timing channel); None before it
    #: closed, in sessions recorded before timing was, or when no frame was timed.
    frame_timing: dict[str, Any] | None = None


@dataclass(frozen=True)
class BlockInfo:
    """A block of a session: its sequence number, stage, start and end (seconds, frame clock)
    and parameters."""
    seq: int
    stage: str  # "laterality" | "imagery" | "mirror" | "movement"
    start_s: float
    end_s: float | None = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class TaskInfo:
    """A task of a session: its sequence number, kind, start and end (seconds, frame clock), the
    block it belongs to and its parameters."""
    seq: int
    kind: str
    start_s: float
    block_seq: int | None = None
    end_s: float | None = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class StoredTrial:
    """One trial. For laterality: the image's body part, side, rotation (degrees) and view,
    the side answered (None when the patient did not answer), whether it was correct and the
    reaction time (seconds from onset). Other task types put their figures in ``measures``."""

    onset_s: float
    kind: str = "laterality"
    body_part: str | None = None
    side: str | None = None
    rotation_deg: float | None = None
    view: str | None = None
    answer: str | None = None
    correct: bool | None = None
    reaction_time_s: float | None = None
    measures: dict[str, Any] | None = None
    task_seq: int | None = None
    seq: int | None = None  # assigned by the recorder


@dataclass(frozen=True)
class StoredRepetition:
    """A stored repetition of a movement task: onset and duration (seconds, frame clock) and
    its measures."""
    onset_s: float
    duration_s: float | None = None
    measures: dict[str, Any] | None = None
    task_seq: int | None = None
    seq: int | None = None  # assigned by the recorder


@dataclass(frozen=True)
class StoredRating:
    """A 0-10 numeric pain rating (NRS, CLINICAL.md "Outcomes")."""

    value: int
    phase: RatingPhase
    source: RatingSource
    recorded_at: datetime
    time_s: float | None = None
    session_id: int | None = None
    patient_id: str | None = None


@dataclass(frozen=True)
class ExposureInfo:
    """A graded desensitization exposure as stored (``schema.DesensitizationExposure``):
    ``exposed_on`` the day (ISO), ``station`` "home" or "clinic", ``texture`` tolerated at
    ``level`` of the ``levels`` of the patient's hierarchy then (1 = least provoking)."""

    id: int
    patient_id: str
    recorded_at: datetime
    entered_by: str
    exposed_on: str
    station: str
    minutes: float
    texture: str
    level: int
    levels: int


@dataclass(frozen=True)
class OutcomeInfo:
    """An outcome measure as stored: the instrument's typed items, its total (None where it
    has none), the figures explaining it, when and by whom it was entered."""

    id: int
    patient_id: str
    session_id: int | None
    recorded_at: datetime
    entered_by: str
    instrument: str
    phase: str | None
    items: dict[str, Any]
    score: float | None
    details: dict[str, Any]


@dataclass(frozen=True)
class EventRecord:
    """A stored event: when (seconds, frame clock), its kind and its JSON data."""
    time_s: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditInfo:
    """One entry of the audit trail: when (UTC), who, what, on which station, about which
    patient or session, and its details."""
    at: datetime
    actor: str
    action: str
    station: str
    patient_id: str | None = None
    session_id: int | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class RecorderStats:
    """What the console shows about recording health.

    ``dropped_frames`` counts frames that never reached the disk (queue full, or their chunk
    failed to write); ``write_errors`` counts failed transactions; ``last_error`` is the
    newest failure's message (None while all is well); ``lost_records`` counts trials,
    ratings and events that could not be written by the time the session finished.
    """

    frames_received: int
    frames_written: int
    dropped_frames: int
    records_written: int
    pending_records: int
    lost_records: int
    write_errors: int
    last_error: str | None
    last_written_time_ns: int | None


def check_rating(value: int, phase: str, source: str) -> None:
    """Raise ValueError unless this is a valid 0-10 rating with a known phase and source."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ValueError(f"a pain rating is a whole number from 0 to 10, not {value!r}")
    if phase not in PHASES:
        raise ValueError(f"a pain rating's phase is one of {PHASES}, not {phase!r}")
    if source not in RATING_SOURCES:
        raise ValueError(f"a pain rating's source is one of {RATING_SOURCES}, not {source!r}")
