"""A recorded session as a frame source (the ``replay`` backend of ``core.frame_source``).

``ReplaySource(store, session_id)`` yields the recorded ``TrackingFrame``s in order with
their recorded times (``time_s``/``time_ns`` are the runtime's, unchanged). It does not
pace itself and owns no clock: the caller (the desktop replay window) pulls a frame when it
wants one, pauses by not pulling, and jumps with ``seek(time_s)``. Only one motion chunk
(half a second) is decoded and held at a time, so long sessions replay in little memory.

Views (eye poses and fields of view) are not recorded: replayed frames have ``views=()``.
Interaction profiles come back from the "xr.profile" events the recorder wrote when they
changed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from gmi_vr.core.errors import NotFoundError
from gmi_vr.core.types import TrackingFrame
from gmi_vr.recording import motion
from gmi_vr.recording.recorder import PROFILE_EVENT
from gmi_vr.recording.store import ChunkMeta, SessionStore


class ReplaySource:
    """Frames of a recorded session; a ``FrameSource``.

    ``start_s``/``end_s`` are the first and last recorded frame times (source clock,
    seconds); ``position_s`` is the time of the next frame ``frames()`` yields.
    """

    def __init__(self, store: SessionStore, session_id: int) -> None:
        self.store = store
        self.session = store.session(session_id)
        self._chunks: list[ChunkMeta] = store.motion_chunks(session_id)
        if not self._chunks:
            raise NotFoundError(f"Session {session_id} has no recorded motion to replay.")
        self._starts_ns = [c.first_time_ns for c in self._chunks]
        # Interaction profiles are recorded as events when they change; frames get them back.
        self._profile_changes = [
            (e.time_s, str(e.data.get("side")), str(e.data.get("profile", "")))
            for e in store.events(session_id)
            if e.kind == PROFILE_EVENT
        ]
        self._profile_changes.sort(key=lambda change: change[0])
        self._loaded: tuple[int, motion.MotionTable] | None = None
        self._chunk = 0
        self._row = 0
        self._stop = False

    # FrameSource protocol ------------------------------------------------------

    def __enter__(self) -> ReplaySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._loaded = None

    def request_stop(self) -> None:
        """End ``frames()`` after the frame it is on."""
        self._stop = True

    def frames(self) -> Iterator[TrackingFrame]:
        """Recorded frames from the current position on; follows ``seek`` calls made while
        iterating. Ends at the last frame or after ``request_stop()``."""
        while not self._stop:
            frame = self.next_frame()
            if frame is None:
                return
            yield frame

    # play / seek -----------------------------------------------------------------

    @property
    def start_s(self) -> float:
        """Time of the first recorded frame, seconds on the frame clock."""
        return self._chunks[0].first_time_ns / 1e9

    @property
    def end_s(self) -> float:
        """Time of the last recorded frame, seconds on the frame clock."""
        return self._chunks[-1].last_time_ns / 1e9

    @property
    def duration_s(self) -> float:
        """Seconds from the first recorded frame to the last."""
        return self.end_s - self.start_s

    @property
    def frame_count(self) -> int:
        """Number of recorded frames."""
        return sum(c.frame_count for c in self._chunks)

    @property
    def position_s(self) -> float:
        """Time of the frame ``next_frame()`` returns next (``end_s`` when at the end)."""
        if self._chunk >= len(self._chunks):
            return self.end_s
        table = self._table(self._chunk)
        return int(table.time_ns[self._row]) / 1e9

    def seek(self, time_s: float) -> None:
        """Continue from the last frame at or before ``time_s`` (the first frame if earlier)."""
        t_ns = int(round(time_s * 1e9))
        chunk = max(0, bisect.bisect_right(self._starts_ns, t_ns) - 1)
        table = self._table(chunk)
        row = int(np.searchsorted(table.time_ns, t_ns, side="right")) - 1
        self._chunk, self._row = chunk, max(row, 0)
        self._stop = False

    def next_frame(self) -> TrackingFrame | None:
        """The frame at the current position, then advance; None at the end."""
        if self._chunk >= len(self._chunks):
            return None
        table = self._table(self._chunk)
        frame = motion.frame_from_row(table.index[self._row], table.time_ns[self._row], table.rows[self._row])
        if self._profile_changes:
            frame = self._with_profiles(frame)
        self._row += 1
        if self._row >= len(table.index):
            self._chunk += 1
            self._row = 0
        return frame

    def frame_at(self, time_s: float) -> TrackingFrame:
        """The last frame at or before ``time_s`` (for scrubbing); the position is unchanged."""
        chunk, row = self._chunk, self._row
        self.seek(time_s)
        frame = self.next_frame()
        self._chunk, self._row = chunk, row
        assert frame is not None
        return frame

    def _with_profiles(self, frame: TrackingFrame) -> TrackingFrame:
        profile = {"left": "", "right": ""}
        for time_s, side, name in self._profile_changes:
            if time_s > frame.time_s:
                break
            profile[side] = name
        return replace(
            frame,
            left=replace(frame.left, profile=profile["left"]),
            right=replace(frame.right, profile=profile["right"]),
        )

    def _table(self, chunk: int) -> motion.MotionTable:
        if self._loaded is None or self._loaded[0] != chunk:
            self._loaded = (chunk, self.store.load_chunk(self._chunks[chunk]))
        return self._loaded[1]
