"""The run's Lab Streaming Layer outlets (``gmi-vr run --lsl``): opened once per run, before
the first frame, and handed to every session's pipeline (``SessionPipeline.streams``), so a
lab's recorder sees the same three streams through free play and every session."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from gmi_vr.recording.lsl import LslStreams, StreamStats


def open_lsl_streams(stack: ExitStack, station: str, wait_s: float,
                     notice: Callable[[str], None]) -> LslStreams:  # fmt: skip
    """Open the outlets (closed by ``stack``, after what is queued was pushed). With
    ``wait_s`` > 0, wait that long for a recorder (LabRecorder) to connect to all three
    before the run starts, and say whether one did; the run starts either way."""
    streams = stack.enter_context(LslStreams(station))
    # An ExitStack unwinds last in, first out: this runs before the streams' own exit, so it
    # closes them first (close is idempotent), and the summary counts all that was sent.
    stack.callback(lambda: notice(_summary(streams.close())))
    notice(f"Lab Streaming Layer streams open: {len(streams.channels)} motion channels, events, pain ratings "
           f"(source ids gmi-vr@{station}/...)")  # fmt: skip
    if wait_s > 0:
        notice(f"waiting up to {wait_s:g} s for a recorder (LabRecorder) to connect to the three streams")
        if streams.wait_for_consumers(wait_s):
            notice("a recorder is connected to every stream; the run starts")
        else:
            notice(f"no recorder connected to every stream within {wait_s:g} s; the run starts anyway")
    return streams


def _summary(s: StreamStats) -> str:
    dropped = f"{s.dropped} dropped (the streams fell behind)" if s.dropped else "none dropped"
    return (f"Lab Streaming Layer: {s.motion_samples} motion samples, {s.markers} event markers and "
            f"{s.ratings} pain ratings sent, {dropped}")
