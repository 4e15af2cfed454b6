"""The session store's tables (SQLAlchemy 2 typed ORM).

Portable on purpose: only generic types (Integer, BigInteger, Float, String, Text, Boolean,
DateTime, JSON, LargeBinary), so the same schema runs on SQLite (one station) and on
PostgreSQL (several stations of a clinic). Times of day are timezone-aware UTC datetimes;
times inside a session are float seconds on the frame source's clock (``time_s``, the same
clock as ``TrackingFrame.time_s``). Patients are known by a pseudonymous id only: no names,
no birth dates.

Every change to these classes needs a new Alembic revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The declarative base of every table of the session store."""
    pass


class Patient(Base):
    """A patient: a pseudonymous id, never a name, with the clinical facts the therapy needs."""
    __tablename__ = "patients"

    #: Pseudonymous id chosen by the clinic (e.g. "P0012"); never a name.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    age_band: Mapped[str | None] = mapped_column(String(16))  # e.g. "40-49"
    affected_side: Mapped[str] = mapped_column(String(8))  # "left" | "right"
    body_part: Mapped[str] = mapped_column(String(32))  # "hand", "foot", "shoulder", ...
    #: The current therapy program (therapy's program dataclass as JSON); history in ``programs``.
    program: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Calibration(Base):
    """Body calibration of one patient; the newest row is the one in use."""

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Program(Base):
    """Every program a patient was given, in order (the patient row holds the current one)."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Session(Base):
    """One therapy session. ``status`` (``rows.SessionStatus``): running while it runs,
    then completed, ended_early, safety_stop, not_started, aborted (an error ended it) or
    interrupted (crash recovery); "stopped" in stores written before ``end_reason`` existed.
    ``end_reason`` says why ("plan_done", "therapist_end", "pain_flare", ...).

    While running, the recording process keeps ``owner_pid``/``owner_host`` and refreshes
    ``heartbeat_at``; a running session whose owner is gone is found at the next open and
    marked interrupted.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: A random UUID given at start: the same session in every store it is carried to.
    uid: Mapped[str] = mapped_column(String(36), unique=True, index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    #: How it was run: "headset" (VR) or "desktop" (practice on a screen, no headset).
    mode: Mapped[str] = mapped_column(String(16), default="headset", server_default="headset")
    #: Where it was run: "clinic" or "home".
    station: Mapped[str] = mapped_column(String(16), default="clinic", server_default="clinic")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), index=True)
    end_reason: Mapped[str | None] = mapped_column(String(64))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(32))  # "openxr" | "sim" | "replay" | "test"
    runtime_name: Mapped[str | None] = mapped_column(String(128))  # XrInstanceProperties.runtimeName
    system_name: Mapped[str | None] = mapped_column(String(256))  # XrSystemProperties.systemName
    display_hz: Mapped[float | None] = mapped_column(Float)  # the headset's refresh rate
    app_version: Mapped[str | None] = mapped_column(String(32))
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Motion frames lost before they reached the disk (full queue or write failures).
    dropped_frames: Mapped[int] = mapped_column(Integer, default=0)
    #: Median and p99 of the displayed frames' timing, written when the session closes
    #: (``motion.timing_summary``); null before, and in sessions recorded before it existed.
    frame_timing: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Block(Base):
    """A stretch of one GMI stage within a session (laterality, imagery, mirror, movement)."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Task(Base):
    """One task run inside a block (e.g. "laterality.hands", "mirror.wrist_flexion")."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    block_seq: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Trial(Base):
    """One stimulus and its answer. Laterality fields are empty for other task types, which
    keep their figures in ``measures``."""

    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    task_seq: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))  # "laterality", ...
    onset_s: Mapped[float] = mapped_column(Float)
    body_part: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(8))  # side shown
    rotation_deg: Mapped[float | None] = mapped_column(Float)
    view: Mapped[str | None] = mapped_column(String(32))  # "back", "palm", "sole", ...
    answer: Mapped[str | None] = mapped_column(String(16))  # side answered, or None (timeout)
    correct: Mapped[bool | None] = mapped_column()
    reaction_time_s: Mapped[float | None] = mapped_column(Float)
    measures: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Repetition(Base):
    """One repetition of a movement or mirror exercise with its measures (range, speed, ...)."""

    __tablename__ = "repetitions"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    task_seq: Mapped[int | None] = mapped_column(Integer)
    onset_s: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    measures: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PainRating(Base):
    """A 0-10 numeric pain rating (NRS; CLINICAL.md "Outcomes", LOINC 72514-3)."""

    __tablename__ = "pain_ratings"
    __table_args__ = (
        CheckConstraint("value >= 0 AND value <= 10", name="pain_value_0_10"),
        CheckConstraint("phase IN ('before', 'during', 'after')", name="pain_phase"),
        CheckConstraint("source IN ('patient', 'therapist')", name="pain_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_s: Mapped[float | None] = mapped_column(Float)  # frame time, when given in a session
    value: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))


class Outcome(Base):
    """An outcome measure entered on the desktop (``therapy.results.questionnaires``: Budapest criteria,
    CRPS Severity Score, PGIC, Bath body perception, PSFS, SSQ), with when and who."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entered_by: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(32))
    #: When it was asked: "intake", "visit", "before" or "after" a session, or None.
    phase: Mapped[str | None] = mapped_column(String(16))
    items: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DesensitizationExposure(Base):
    """One graded desensitization exposure (CLINICAL.md "Touch": textures from least to most
    provoking, rubbed a few minutes several times a day): the day it was done, at home or in
    the clinic, for how long, and the texture tolerated with its level in the patient's
    hierarchy then (``level`` of ``levels``, 1 = the least provoking), with when and who."""

    __tablename__ = "desensitization"
    __table_args__ = (
        CheckConstraint("station IN ('home', 'clinic')", name="desensitization_station"),
        CheckConstraint("minutes > 0", name="desensitization_minutes"),
        CheckConstraint("level >= 1 AND level <= levels", name="desensitization_level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entered_by: Mapped[str] = mapped_column(String(64))
    exposed_on: Mapped[str] = mapped_column(String(10))  # the day, ISO YYYY-MM-DD
    station: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[float] = mapped_column(Float)
    texture: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    levels: Mapped[int] = mapped_column(Integer)


class EventRow(Base):
    """A ``core.events.Event`` of a session."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    time_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditEntry(Base):
    """A therapist action: who, what, when, on which station (host name)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    station: Mapped[str] = mapped_column(String(255))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class UserAccount(Base):
    """A person who uses gmi-vr: the name in the audit trail, a role (``admin``,
    ``therapist`` or ``researcher``) and an Argon2 hash of the password (never the password)."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignIn(Base):
    """A sign-in that scripts use through ``$GMI_VR_TOKEN``: only the token's SHA-256 is kept."""

    __tablename__ = "sign_ins"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MotionLayout(Base):
    """The channel list of motion chunks (see ``motion.py``): the tracking part is fixed by
    ``layout_version``; the displayed-body part names the recorded body joints."""

    __tablename__ = "motion_layouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    layout_version: Mapped[int] = mapped_column(Integer)
    body_joints: Mapped[list[str]] = mapped_column(JSON)


class MotionChunk(Base):
    """Consecutive motion frames of one session, packed (never one row per frame).

    ``stamps``: little-endian int64 (n, 2) — frame index and runtime XrTime nanoseconds;
    ``data``: the (n, channels) float32 matrix of the layout, packed by ``codec``
    (``motion.CODEC``).
    """

    __tablename__ = "motion_chunks"
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        Index("ix_motion_chunks_session_time", "session_id", "first_time_ns"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    layout_id: Mapped[int] = mapped_column(ForeignKey("motion_layouts.id"))
    frame_count: Mapped[int] = mapped_column(Integer)
    first_index: Mapped[int] = mapped_column(BigInteger)
    first_time_ns: Mapped[int] = mapped_column(BigInteger)
    last_time_ns: Mapped[int] = mapped_column(BigInteger)
    codec: Mapped[str] = mapped_column(String(16))
    stamps: Mapped[bytes] = mapped_column(LargeBinary)
    data: Mapped[bytes] = mapped_column(LargeBinary)
