"""Live Lab Streaming Layer (LSL) outlets of a run (``gmi-vr run --lsl``), so a lab's EEG,
EMG or fNIRS recorder (LabRecorder) records our frames and events on one clock with theirs.

    render thread ── frame / event / rating: a timestamp and an append to a bounded deque
        │              (full: dropped and counted, never waited on)
        ▼
    worker thread ── frames packed as the store packs them (``motion.FrameBatch``), turned into
                     the export's channel values (``bids.stream_values``) ──▶ pylsl outlets

Three streams, each with the source id ``gmi-vr@<station>/<stream>`` (stable across
restarts, so a recorder reconnects to a restarted app):

- ``gmi-vr-motion`` (type ``MoCap``, float32, irregular rate): one sample per displayed frame
  with the Motion-BIDS export's channels, names, units and order (``bids.stream_channels``:
  head, both controllers, both hands' 26 joints, the frame's display timing; NaN where a pose
  is invalid or a hand is not tracked).
- ``gmi-vr-events`` (type ``Markers``, one string channel): every event the session records,
  as ``"<kind> <JSON data>"`` (e.g. ``trial.show {"side": "left", ...}``): trials shown and
  answered, ratings asked and given, stops, flares, limb-mode changes, task starts and ends.
- ``gmi-vr-pain`` (type ``Rating``, one float32 channel ``nrs``): each 0-10 pain rating.

Timestamps are display times converted to the LSL clock (``pylsl.local_clock``): the frame
source's clock is tied to the operating system's monotonic clock by a ``ClockLink`` (OpenXR's
XR_KHR_convert_timespec_time; estimated where a runtime lacks it, which the link says), and
the monotonic clock to the LSL clock by an offset measured once here (both are steady clocks;
on Linux both are CLOCK_MONOTONIC and the offset is about zero). Items given before any link
is known are stamped with the LSL clock when they are pushed.

An outlet never blocks its caller (liblsl buffers per consumer and drops the oldest samples of
a consumer that falls ``max_buffered`` behind); the worker is the only thread that calls it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmi_vr.body.pose import BodyPose
from gmi_vr.core.errors import StreamingUnavailable
from gmi_vr.core.events import Event
from gmi_vr.core.types import ClockLink, FrameTiming, TrackingFrame
from gmi_vr.recording import motion
from gmi_vr.recording.export.bids import stream_channels, stream_values

log = logging.getLogger("gmi_vr.recording")

MOTION_STREAM = "gmi-vr-motion"
EVENT_STREAM = "gmi-vr-events"
PAIN_STREAM = "gmi-vr-pain"
#: Worker wake-up period, seconds: samples reach the network at most this late (their
#: timestamps are exact either way).
POLL_S = 0.005
#: Items the render thread may have waiting (frames, events, ratings): about 20 s of a
#: 90 Hz headset; beyond it the worker is far behind and new items are dropped and counted.
QUEUE_ITEMS = 2048
#: Seconds of motion liblsl keeps per consumer that is slower than us (a stalled consumer
#: costs at most this much memory: 100 samples per "second" on an irregular stream).
MOTION_BUFFER = 60
#: Seconds a consumer is given to take the last samples before the outlets close (destroying
#: an outlet drops what its sending threads have not sent yet).
CLOSE_GRACE_S = 0.5
#: The motion stream's capacity per packing (frames per worker round; more wait for the next).
FRAMES_PER_PUSH = 256


@dataclass(frozen=True)
class StreamStats:
    """What the streams did: samples pushed per stream and items dropped because the queue
    was full (the render thread never waits)."""

    motion_samples: int
    markers: int
    ratings: int
    dropped: int


@dataclass(frozen=True)
class _Frame:
    stamp: float | None
    frame: TrackingFrame
    body: BodyPose | None
    timing: FrameTiming | None


@dataclass(frozen=True)
class _Marker:
    stamp: float | None
    event: Event  # formatted by the worker: the render thread only queues it


@dataclass(frozen=True)
class _Rating:
    stamp: float | None
    value: float


def marker_text(event: Event) -> str:
    """An event as its marker: the kind, then its data as JSON when it has any."""
    return event.kind if not event.data else f"{event.kind} {json.dumps(event.data, default=str)}"


def monotonic_to_lsl_s(local_clock: Any, tries: int = 5) -> float:
    """LSL clock minus ``time.monotonic_ns`` in seconds, from the tightest of ``tries``
    bracketed readings (their midpoint: error below half the bracket, microseconds)."""
    best: tuple[float, float] | None = None
    for _ in range(tries):
        before = time.monotonic_ns()
        lsl = local_clock()
        after = time.monotonic_ns()
        width = (after - before) / 1e9
        if best is None or width < best[0]:
            best = (width, lsl - (before + after) / 2e9)
    assert best is not None
    return best[1]


def _stream_info(pylsl: Any, name: str, kind: str, channels: Sequence[Sequence[Any]], fmt: Any,
                 source_id: str) -> Any:  # fmt: skip
    """A StreamInfo whose description names each channel (label, unit, type and, for motion,
    the component and tracked point: the export's columns)."""
    info = pylsl.StreamInfo(name, kind, len(channels), pylsl.IRREGULAR_RATE, fmt, source_id)
    desc = info.desc()
    desc.append_child_value("manufacturer", "gmi-vr")
    node = desc.append_child("channels")
    for name_, component, type_, point, units in ((c[0], c[1], c[2], c[3], c[4]) for c in channels):
        channel = node.append_child("channel")
        channel.append_child_value("label", str(name_))
        channel.append_child_value("unit", str(units))
        channel.append_child_value("type", str(type_))
        channel.append_child_value("component", str(component))
        channel.append_child_value("tracked_point", str(point))
    return info


class LslStreams:
    """The run's three outlets and their worker thread (see the module docstring).

    ``station`` names this PC in the source ids. ``frame``, ``event`` and ``rating`` are the
    render thread's: each costs a timestamp and a deque append. ``use_clock`` ties the frame
    source's clock to the LSL clock. ``close()`` pushes what is queued and closes the outlets;
    ``with LslStreams(...) as streams:`` does it too. Raises StreamingUnavailable when liblsl
    cannot be loaded or an outlet cannot be opened.
    """

    def __init__(self, station: str, *, queue_items: int = QUEUE_ITEMS) -> None:
        try:
            import pylsl
        except (ImportError, RuntimeError, OSError) as error:
            raise StreamingUnavailable(
                f"The Lab Streaming Layer library cannot be loaded ({error}); reinstall gmi-vr "
                "(pylsl ships it) or run without --lsl."
            ) from None
        self._pylsl = pylsl
        self._mono_to_lsl_s = monotonic_to_lsl_s(pylsl.local_clock)
        self.channels = stream_channels()
        source = f"gmi-vr@{station}"
        try:
            self.motion_outlet = pylsl.StreamOutlet(
                _stream_info(pylsl, MOTION_STREAM, "MoCap", self.channels, pylsl.cf_float32, f"{source}/motion"),
                max_buffered=MOTION_BUFFER)  # fmt: skip
            self.event_outlet = pylsl.StreamOutlet(
                _stream_info(pylsl, EVENT_STREAM, "Markers", [["event", "n/a", "MISC", "n/a", "n/a"]],
                             pylsl.cf_string, f"{source}/events"))  # fmt: skip
            self.pain_outlet = pylsl.StreamOutlet(
                _stream_info(pylsl, PAIN_STREAM, "Rating", [["nrs", "n/a", "MISC", "n/a", "n/a"]],
                             pylsl.cf_float32, f"{source}/pain"))  # fmt: skip
        except (RuntimeError, OSError) as error:
            raise StreamingUnavailable(
                f"The Lab Streaming Layer outlets could not be opened ({error}); check this PC's network "
                "settings and lsl_api.cfg, or run without --lsl."
            ) from None
        self._capacity = queue_items
        self._items: deque[_Frame | _Marker | _Rating] = deque()
        self._display_to_lsl_s: float | None = None
        self._dropped = 0  # render thread only
        self._counts = {"motion": 0, "markers": 0, "ratings": 0}  # worker only
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gmi-vr-lsl", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------- render-thread side

    def use_clock(self, link: ClockLink) -> float:
        """Tie the frame source's clock to the LSL clock from now on; returns the LSL clock
        minus the frame source's (s), for the session's record."""
        self._display_to_lsl_s = link.offset_ns / 1e9 + self._mono_to_lsl_s
        return self._display_to_lsl_s

    def lsl_time(self, time_s: float) -> float | None:
        """A time on the frame source's clock (s) on the LSL clock; None before ``use_clock``."""
        return None if self._display_to_lsl_s is None else time_s + self._display_to_lsl_s

    def frame(self, frame: TrackingFrame, body: BodyPose | None, timing: FrameTiming | None) -> None:
        """Queue one displayed frame (its body and timing) for the motion stream."""
        self._put(_Frame(self.lsl_time(frame.time_s), frame, body, timing))

    def event(self, event: Event) -> None:
        """Queue one recorded event for the marker stream."""
        self._put(_Marker(self.lsl_time(event.time_s), event))

    def rating(self, value: float, time_s: float) -> None:
        """Queue one 0-10 pain rating given at ``time_s`` (frame clock) for the pain stream."""
        self._put(_Rating(self.lsl_time(time_s), float(value)))

    def _put(self, item: _Frame | _Marker | _Rating) -> None:
        if self._stop.is_set() or len(self._items) >= self._capacity:
            self._dropped += 1
            return
        self._items.append(item)

    # ------------------------------------------------------------- control

    def stats(self) -> StreamStats:
        """What was pushed and dropped so far."""
        c = self._counts
        return StreamStats(c["motion"], c["markers"], c["ratings"], self._dropped)

    def wait_for_consumers(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` until every stream has a consumer (a recorder connected to
        all three); True when they have. Not for the render thread: call it before the run."""
        deadline = time.monotonic() + timeout_s
        for outlet in (self.motion_outlet, self.event_outlet, self.pain_outlet):
            if not outlet.wait_for_consumers(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def close(self, timeout: float = 10.0) -> StreamStats:
        """Push what is queued, stop the worker and close the outlets (consumers see the
        streams end)."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(timeout)
            outlets = (self.motion_outlet, self.event_outlet, self.pain_outlet)
            if any(outlet.have_consumers() for outlet in outlets):
                time.sleep(CLOSE_GRACE_S)  # liblsl sends from its own threads: let the last samples go
            # Dropping the last reference destroys an outlet: its consumers see the stream end.
            self.motion_outlet = self.event_outlet = self.pain_outlet = None
        return self.stats()

    def __enter__(self) -> LslStreams:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------- worker thread

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            if self._items:
                try:
                    self._push_round()
                except Exception:  # a stream must never take the session down: say so once, go on
                    log.exception("Lab Streaming Layer push failed; the session goes on.")
            elif stopping:
                return
            else:
                time.sleep(POLL_S)

    def _push_round(self) -> None:
        """Push what is queued now: frames in chunks of one body layout, markers and ratings
        one by one (in queue order within each stream)."""
        frames: list[_Frame] = []
        while self._items and len(frames) < FRAMES_PER_PUSH:
            item = self._items.popleft()
            if isinstance(item, _Frame):
                if frames and motion.recorded_body_joints(item.body) != motion.recorded_body_joints(frames[0].body):
                    self._push_frames(frames)
                    frames = []
                frames.append(item)
            elif isinstance(item, _Marker):
                self.event_outlet.push_sample([marker_text(item.event)], item.stamp or 0.0)
                self._counts["markers"] += 1
            else:
                self.pain_outlet.push_sample([item.value], item.stamp or 0.0)
                self._counts["ratings"] += 1
        if frames:
            self._push_frames(frames)

    def _push_frames(self, frames: list[_Frame]) -> None:
        joints = motion.recorded_body_joints(frames[0].body)
        batch = motion.FrameBatch(joints, len(frames))
        for item in frames:
            batch.add(item.frame, item.body, item.timing)
        stamps, rows = batch.pack()
        table = motion.MotionTable(stamps[:, 0], stamps[:, 1], rows, motion.channels(joints))
        values = np.ascontiguousarray(stream_values(table), dtype=np.float32)
        now = self._pylsl.local_clock()
        self.motion_outlet.push_chunk(values, [f.stamp if f.stamp is not None else now for f in frames])
        self._counts["motion"] += len(frames)
