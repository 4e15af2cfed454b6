"""SessionRecorder: the render thread hands frames and records over; a writer thread stores them.

The render thread's side (``record_*``) never blocks and never touches the disk: frames go
into a bounded ``collections.deque`` (an append is atomic under the GIL, so no lock is taken
and the render thread cannot wait on the writer); when it is full the frame is dropped and
counted. Trials, ratings, events, blocks and tasks go into an unbounded queue (they are few
and each matters) and are kept and retried while the disk fails.

The writer thread wakes every ``POLL_S``, packs frames into chunks (``motion.FrameBatch``)
and commits:

- records and the session heartbeat in one transaction within ``RECORD_DELAY_S`` (0.1 s)
  of the oldest pending record, and at least every ``HEARTBEAT_S``;
- a motion chunk (one BLOB of all its frames) every ``chunk_seconds`` (0.5 s by default),
  in a transaction of its own (with any other chunks that piled up), so a crash loses at
  most the frames of the open chunk plus one poll — under a second — and a failed motion
  write never takes records down with it.

A failure (disk full, read-only folder, I/O error) is logged once, counted in ``stats()``
and retried after ``RETRY_S``; what was committed before stays intact (SQLite rolls the
failed transaction back). The console shows ``stats()``.

A full disk: records are committed before motion in every round, and a session holds
``RESERVE_BYTES`` in a file next to the store (``reserve``) from its start. The first failed
write gives that space back and stops motion for the rest of the session, so the trials,
ratings and events still to come and the session's end (small and precious) are written
into it; the heartbeat then slows to ``FULL_HEARTBEAT_S`` to make it last.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from array import array
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.events import Event
from gmi_vr.core.types import FrameTiming, RatingPhase, RatingSource, TrackingFrame
from gmi_vr.recording import motion, schema
from gmi_vr.recording.privacy import private_opener
from gmi_vr.recording.rows import (
    FINISH_STATUSES,
    BlockInfo,
    EventRecord,
    RecorderStats,
    StoredRating,
    StoredRepetition,
    StoredTrial,
    TaskInfo,
    check_rating,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger("gmi_vr.recording")

POLL_S = 0.01  # writer wake-up period
HEARTBEAT_S = 1.0  # session heartbeat period (crash recovery tells live from dead by it)
#: Records wait at most this long to be committed, so a burst (an event every frame) costs a
#: few syncs to disk per second, not one per record.
RECORD_DELAY_S = 0.1
RETRY_S = 1.0  # pause before writing again after a failure
#: Frames one chunk can hold per second of chunk time (covers 144 Hz displays; a chunk that
#: fills up early is simply closed early).
MAX_FRAME_RATE_HZ = 240
#: Space held for a session's records once the disk is full (bytes). In WAL mode a commit
#: appends its pages (4 KiB each) to the write-ahead log, which cannot be checkpointed back
#: into a store that cannot grow: a heartbeat costs about 5 KiB, a trial or rating commit
#: about 20 KiB, so 1 MiB holds a 30-minute session's heartbeats (``FULL_HEARTBEAT_S``), a
#: few dozen record commits and the session's end.
RESERVE_BYTES = 1 << 20
#: Heartbeat period once the reserve is in use; below the store's STALE_HEARTBEAT (30 s).
FULL_HEARTBEAT_S = 10.0
#: Event kind the writer records when a hand's interaction profile changes (data: side, profile).
PROFILE_EVENT = "xr.profile"


@dataclass(frozen=True)
class _BlockEnd:
    seq: int
    end_s: float


@dataclass(frozen=True)
class _TaskEnd:
    seq: int
    end_s: float


@dataclass
class _Chunk:
    body_joints: tuple[str, ...]
    stamps: NDArray[np.int64]  # (n, 2) frame index and XrTime ns
    rows: NDArray[np.float32]  # (n, channels)


class SessionRecorder:
    """Records one running session. Create with ``SessionStore.start_session``.

    ``record_frame`` is for the render thread (non-blocking); the other ``record_*`` calls
    are non-blocking too and may come from the render or logic thread. ``finish(status, reason)``
    ends the session; ``with recorder:`` finishes it as "aborted" if an exception escapes.
    """

    def __init__(
        self,
        engine: Engine | None,
        session_id: int | None,
        *,
        chunk_seconds: float = 0.5,
        queue_frames: int = 1024,
        reserve: Path | None = None,
    ) -> None:
        """``reserve``: a file holding disk space for the session's records (``hold_reserve``),
        owned by the recorder from now on; None on a database server."""
        self.engine = engine
        self.session_id = session_id
        self.chunk_seconds = chunk_seconds
        self._capacity = queue_frames
        self._frames: deque[tuple[TrackingFrame, BodyPose | None, FrameTiming | None]] = deque()
        #: The timing values of the written chunks, row after row (``TIMING_CHANNELS`` float32
        #: per frame; writer thread only), for the session's summary when it closes
        #: (``motion.timing_summary`` takes exact medians and p99s, so it needs every value).
        #: One flat array: 12 bytes a frame, not a numpy array per chunk (about 20 a frame).
        self._timing_values = array("f")
        self._records: deque[object] = deque()
        self._seq = {"trial": 0, "repetition": 0, "block": 0, "task": 0}
        # Counters: each written by one thread only, read by any (ints are safe under the GIL).
        self._received = 0
        self._dropped_queue = 0
        self._dropped_write = 0
        self._frames_written = 0
        self._records_written = 0
        self._lost_records = 0
        self._write_errors = 0
        self._last_error: str | None = None
        self._last_written_ns: int | None = None
        self._pending_records = 0
        self._failure_reported = False
        self._drops_reported = False
        self._finish_status: str | None = None
        self._finish_reason: str | None = None
        self._chunk_seq = 0
        self._frames_failed_since_barrier = False
        self._reserve: Path | None = None
        self._motion_stopped = False  # once the disk was full: records only
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reserve = reserve
        self._thread = threading.Thread(
            target=self._run, name=f"gmi-vr-recorder-{session_id}", daemon=True
        )
        self._thread.start()

    @property
    def recording(self) -> bool:
        """False when nothing of this session can be stored (see ``stats().last_error``)."""
        return self._thread is not None

    # ------------------------------------------------------------- render-thread side

    def record_frame(self, frame: TrackingFrame, body: BodyPose | None = None,
                     timing: FrameTiming | None = None) -> None:
        """Queue one frame, the body displayed with it and the frame's display timing (None:
        not known, its timing channels stay NaN); never blocks (drops when full)."""
        self._received += 1
        if self._thread is None or self._stop.is_set() or len(self._frames) >= self._capacity:
            self._dropped_queue += 1
            return
        self._frames.append((frame, body, timing))

    def record_event(self, event: Event) -> None:
        """Queue an event (never blocks; the writer thread stores it)."""
        self._put(EventRecord(event.time_s, event.kind, dict(event.data)))

    def record_trial(self, trial: StoredTrial) -> int:
        """Queue a trial; returns its sequence number within the session."""
        seq = self._next("trial")
        self._put(replace(trial, seq=seq))
        return seq

    def record_repetition(self, repetition: StoredRepetition) -> int:
        """Queue a repetition; returns its sequence number within the session."""
        seq = self._next("repetition")
        self._put(replace(repetition, seq=seq))
        return seq

    def record_rating(
        self, value: int, phase: RatingPhase, source: RatingSource = "patient", time_s: float | None = None
    ) -> None:
        """Queue a 0-10 pain rating given now (ValueError for an impossible rating)."""
        check_rating(value, phase, source)
        self._put(StoredRating(value, phase, source, datetime.now(UTC), time_s, self.session_id))

    def begin_block(self, stage: str, start_s: float, params: dict[str, Any] | None = None) -> int:
        """A stretch of one stage starts; returns its sequence number for ``end_block``."""
        seq = self._next("block")
        self._put(BlockInfo(seq, stage, start_s, None, params))
        return seq

    def end_block(self, seq: int, end_s: float) -> None:
        """Queue the end of block ``seq`` at ``end_s`` (seconds, frame clock)."""
        self._put(_BlockEnd(seq, end_s))

    def begin_task(
        self, kind: str, start_s: float, block_seq: int | None = None, params: dict[str, Any] | None = None
    ) -> int:
        """Queue the start of a task of ``kind`` at ``start_s`` (seconds, frame clock), in block
        ``block_seq`` if any; returns the task's sequence number within the session."""
        seq = self._next("task")
        self._put(TaskInfo(seq, kind, start_s, block_seq, None, params))
        return seq

    def end_task(self, seq: int, end_s: float) -> None:
        """Queue the end of task ``seq`` at ``end_s`` (seconds, frame clock)."""
        self._put(_TaskEnd(seq, end_s))

    def _next(self, kind: str) -> int:
        self._seq[kind] += 1
        return self._seq[kind]

    def _put(self, record: object) -> None:
        if self._thread is None or self._stop.is_set():
            self._lost_records += 1
            return
        self._records.append(record)

    # ------------------------------------------------------------- control

    def stats(self) -> RecorderStats:
        """What the recorder has received, written, dropped and still holds, now."""
        return RecorderStats(
            frames_received=self._received,
            frames_written=self._frames_written,
            dropped_frames=self._dropped_queue + self._dropped_write,
            records_written=self._records_written,
            pending_records=self._pending_records + len(self._records),
            lost_records=self._lost_records,
            write_errors=self._write_errors,
            last_error=self._last_error,
            last_written_time_ns=self._last_written_ns,
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed; False if it was not (failure or
        timeout). Not for the render thread: it waits on the disk."""
        if self._thread is None:
            return False
        done = threading.Event()
        self._records.append(done)
        if not done.wait(timeout):
            return False
        return self._pending_records == 0 and not self._frames_failed_since_barrier

    def finish(self, status: str = "completed", reason: str | None = None,
               timeout: float = 30.0) -> RecorderStats:
        """Write what is queued, mark the session ``status`` (one of ``FINISH_STATUSES``) with
        its ``reason`` (why it ended; at most 64 characters are kept) and stop the writer
        thread. Waits on the disk: call it when the session is over."""
        if status not in FINISH_STATUSES:
            raise ValueError(f"a session finishes as one of {FINISH_STATUSES}, not {status!r}")
        if self._thread is not None and not self._stop.is_set():
            self._finish_status = status
            self._finish_reason = reason[:64] if reason is not None else None
            self._stop.set()
            self._thread.join(timeout)
        return self.stats()

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.finish("aborted", f"error: {getattr(exc_type, '__name__', exc_type)}")
        else:
            self.finish("completed")

    # ------------------------------------------------------------- writer thread

    def _run(self) -> None:
        assert self.engine is not None and self.session_id is not None
        batch: motion.FrameBatch | None = None
        batch_opened = 0.0
        chunks: list[_Chunk] = []
        records: list[object] = []
        barriers: list[threading.Event] = []
        last_beat = time.monotonic()
        retry_at = 0.0
        capacity = int(self.chunk_seconds * MAX_FRAME_RATE_HZ) + 1
        layouts: dict[tuple[str, ...], int] = {}
        profiles = {"left": "", "right": ""}  # interaction profile per hand, as last recorded
        oldest_record = 0.0  # when the oldest pending record was queued
        while True:
            stopping = self._stop.is_set()
            while self._frames:
                frame, body, timing = self._frames.popleft()
                if frame.left.profile != profiles["left"] or frame.right.profile != profiles["right"]:
                    records.extend(self._profile_changes(frame, profiles))
                joints = motion.recorded_body_joints(body)
                if body is None and batch is not None:
                    joints = batch.body_joints  # a frame without a body fits any layout
                if batch is not None and (joints != batch.body_joints or batch.full):
                    chunks.append(self._seal(batch))
                    batch = None
                if batch is None:
                    batch = motion.FrameBatch(joints, capacity)
                    batch_opened = time.monotonic()
                batch.add(frame, body, timing)
            while self._records:
                item = self._records.popleft()
                if isinstance(item, threading.Event):
                    barriers.append(item)
                else:
                    if not records:
                        oldest_record = time.monotonic()
                    records.append(item)
            self._pending_records = len(records)
            now = time.monotonic()
            if batch is not None and (barriers or stopping or now - batch_opened >= self.chunk_seconds):
                chunks.append(self._seal(batch))
                batch = None
            due = (
                chunks or barriers or stopping
                or now - last_beat >= (FULL_HEARTBEAT_S if self._motion_stopped else HEARTBEAT_S)
                or (records and now - oldest_record >= RECORD_DELAY_S)
            )  # fmt: skip
            if due and (now >= retry_at or stopping):
                self._frames_failed_since_barrier = False
                ok = self._write_records(records, stopping)
                last_beat = now
                if chunks and self._motion_stopped:
                    self._dropped_write += sum(len(c.stamps) for c in chunks)
                    self._frames_failed_since_barrier = True
                elif chunks:
                    ok = self._write_chunks(chunks, layouts) and ok
                chunks.clear()
                self._pending_records = len(records)
                if not ok:
                    retry_at = time.monotonic() + RETRY_S
                elif self._failure_reported and self._write_errors:
                    log.warning("Recording works again after %d failed writes.", self._write_errors)
                    self._failure_reported = False
                for barrier in barriers:
                    barrier.set()
                barriers.clear()
            self._report_queue_drops()
            if stopping and not self._frames and not self._records and batch is None:
                break
            time.sleep(POLL_S)
        self._lost_records += len(records)
        self._pending_records = 0
        self._close_session()
        self._release_reserve()

    @staticmethod
    def _profile_changes(frame: TrackingFrame, profiles: dict[str, str]) -> list[EventRecord]:
        """Events for a changed interaction profile (which controller model the runtime bound),
        so exports can name the device and replay can restore it."""
        changes = []
        for side, hand in (("left", frame.left), ("right", frame.right)):
            if hand.profile != profiles[side]:
                profiles[side] = hand.profile
                changes.append(EventRecord(frame.time_s, PROFILE_EVENT, {"side": side, "profile": hand.profile}))
        return changes

    def _seal(self, batch: motion.FrameBatch) -> _Chunk:
        stamps, rows = batch.pack()
        return _Chunk(batch.body_joints, stamps, rows)

    def _write_records(self, records: list[object], final: bool) -> bool:
        """Commit queued records and the heartbeat in one transaction; on failure keep them."""
        assert self.engine is not None
        try:
            with self.engine.begin() as conn:
                for record in records:
                    self._insert_record(conn, record)
                conn.execute(
                    update(schema.Session)
                    .where(schema.Session.id == self.session_id)
                    .values(heartbeat_at=datetime.now(UTC), dropped_frames=self._dropped_queue + self._dropped_write)
                )
        except OperationalError as error:
            self._failed(error)
            return False
        except SQLAlchemyError as error:
            # Not the disk: a record the store refuses. Drop the batch rather than block all later ones.
            self._failed(error)
            self._lost_records += len(records)
            records.clear()
            return False
        self._records_written += len(records)
        records.clear()
        return True

    def _insert_record(self, conn: Connection, record: object) -> None:
        sid = self.session_id
        if isinstance(record, EventRecord):
            conn.execute(insert(schema.EventRow), {"session_id": sid, "time_s": record.time_s, "kind": record.kind, "data": _jsonable(record.data)})
        elif isinstance(record, StoredTrial):
            conn.execute(insert(schema.Trial), {
                "session_id": sid, "seq": record.seq, "task_seq": record.task_seq, "kind": record.kind,
                "onset_s": record.onset_s, "body_part": record.body_part, "side": record.side,
                "rotation_deg": record.rotation_deg, "view": record.view, "answer": record.answer,
                "correct": record.correct, "reaction_time_s": record.reaction_time_s,
                "measures": _jsonable(record.measures)})  # fmt: skip
        elif isinstance(record, StoredRepetition):
            conn.execute(insert(schema.Repetition), {
                "session_id": sid, "seq": record.seq, "task_seq": record.task_seq, "onset_s": record.onset_s,
                "duration_s": record.duration_s, "measures": _jsonable(record.measures)})  # fmt: skip
        elif isinstance(record, StoredRating):
            patient = conn.execute(select(schema.Session.patient_id).where(schema.Session.id == sid)).scalar_one()
            conn.execute(insert(schema.PainRating), {
                "patient_id": patient, "session_id": sid, "recorded_at": record.recorded_at,
                "time_s": record.time_s, "value": record.value, "phase": record.phase, "source": record.source})  # fmt: skip
        elif isinstance(record, BlockInfo):
            conn.execute(insert(schema.Block), {
                "session_id": sid, "seq": record.seq, "stage": record.stage, "start_s": record.start_s,
                "end_s": None, "params": _jsonable(record.params)})  # fmt: skip
        elif isinstance(record, _BlockEnd):
            conn.execute(update(schema.Block).where(schema.Block.session_id == sid, schema.Block.seq == record.seq).values(end_s=record.end_s))
        elif isinstance(record, TaskInfo):
            conn.execute(insert(schema.Task), {
                "session_id": sid, "seq": record.seq, "block_seq": record.block_seq, "kind": record.kind,
                "start_s": record.start_s, "end_s": None, "params": _jsonable(record.params)})  # fmt: skip
        elif isinstance(record, _TaskEnd):
            conn.execute(update(schema.Task).where(schema.Task.session_id == sid, schema.Task.seq == record.seq).values(end_s=record.end_s))
        else:  # pragma: no cover - only the types above are ever queued
            raise TypeError(f"cannot record {type(record).__name__}")

    def _write_chunks(self, chunks: list[_Chunk], layouts: dict[tuple[str, ...], int]) -> bool:
        """Commit the sealed motion chunks in one transaction (one sync to disk however many
        piled up while the writer was behind); on failure their frames count as dropped."""
        assert self.engine is not None
        packed = [(c, motion.encode_stamps(c.stamps), motion.encode(c.rows)) for c in chunks]
        new_layouts: dict[tuple[str, ...], int] = {}
        seq = self._chunk_seq
        try:
            with self.engine.begin() as conn:
                for chunk, stamps, data in packed:
                    layout_id = layouts.get(chunk.body_joints) or new_layouts.get(chunk.body_joints)
                    if layout_id is None:
                        layout_id = conn.execute(
                            insert(schema.MotionLayout).returning(schema.MotionLayout.id),
                            {"session_id": self.session_id, "layout_version": motion.LAYOUT_VERSION, "body_joints": list(chunk.body_joints)},
                        ).scalar_one()
                        new_layouts[chunk.body_joints] = layout_id
                    seq += 1
                    conn.execute(insert(schema.MotionChunk), {
                        "session_id": self.session_id, "seq": seq, "layout_id": layout_id,
                        "frame_count": len(chunk.stamps), "first_index": int(chunk.stamps[0, 0]),
                        "first_time_ns": int(chunk.stamps[0, 1]), "last_time_ns": int(chunk.stamps[-1, 1]),
                        "codec": motion.CODEC, "stamps": stamps, "data": data})  # fmt: skip
        except SQLAlchemyError as error:
            self._failed(error)
            self._dropped_write += sum(len(c.stamps) for c in chunks)
            self._frames_failed_since_barrier = True
            return False
        self._chunk_seq = seq
        layouts.update(new_layouts)
        timing = slice(-len(motion.TIMING_CHANNELS), None)
        for c in chunks:
            self._timing_values.frombytes(np.ascontiguousarray(c.rows[:, timing], dtype=np.float32).tobytes())
        self._frames_written += sum(len(c.stamps) for c in chunks)
        self._last_written_ns = int(chunks[-1].stamps[-1, 1])
        return True

    def _close_session(self) -> None:
        assert self.engine is not None
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(schema.Session)
                    .where(schema.Session.id == self.session_id)
                    .values(
                        status=self._finish_status or "completed",
                        end_reason=self._finish_reason,
                        ended_at=datetime.now(UTC),
                        heartbeat_at=datetime.now(UTC),
                        dropped_frames=self._dropped_queue + self._dropped_write,
                        frame_timing=self._timing_summary(),
                    )
                )
        except SQLAlchemyError as error:
            # The session stays 'running'; the next open marks it interrupted. Nothing is lost.
            self._failed(error)

    def _timing_summary(self) -> dict[str, Any] | None:
        if not self._timing_values:
            return None
        values = np.frombuffer(self._timing_values, dtype=np.float32).reshape(-1, len(motion.TIMING_CHANNELS))
        return motion.timing_summary(values)

    def _release_reserve(self) -> bool:
        """Give the held space back; True when there was some."""
        if self._reserve is None:
            return False
        try:
            self._reserve.unlink(missing_ok=True)
        except OSError as error:
            log.warning("Cannot give back the space held in %s (%s).", self._reserve, error.strerror)
        self._reserve = None
        return True

    def _failed(self, error: SQLAlchemyError) -> None:
        self._write_errors += 1
        self._last_error = str(getattr(error, "orig", None) or error)
        if self._release_reserve():
            # Whatever failed, the records and the session's end come first from now on.
            self._motion_stopped = True
        if self._motion_stopped:
            self._last_error += "; motion is no longer recorded, trials, ratings and events still are"
        if not self._failure_reported:
            self._failure_reported = True
            log.error(
                "Recording of session %s cannot write (%s); the session goes on, and its end says what was kept.",
                self.session_id, self._last_error,
            )

    def _report_queue_drops(self) -> None:
        if self._dropped_queue and not self._drops_reported:
            self._drops_reported = True
            log.warning(
                "Recording of session %s fell behind and dropped frames; the session goes on, losses are counted.",
                self.session_id,
            )


def hold_reserve(path: Path, size: int = RESERVE_BYTES) -> bool:
    """Hold ``size`` bytes of disk space in the file ``path`` (reused when a crashed session
    left it there); False when the disk has not that much free."""
    try:
        with open(path, "wb", opener=private_opener) as f:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(f.fileno(), 0, size)
            else:  # macOS, Windows: written zeros hold the space as well
                f.write(bytes(size))
                f.flush()
                os.fsync(f.fileno())
    except OSError:
        path.unlink(missing_ok=True)
        return False
    return True


def _jsonable(value: Any) -> Any:
    """JSON-safe copy (values that JSON cannot hold become strings) so one odd value cannot
    make a whole transaction fail."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))
