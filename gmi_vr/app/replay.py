"""``gmi-vr replay SESSION``: the recorded session in the therapist window with what the
patient was shown (stimuli, the pain-rating scale, messages) and its events on a timeline.

    store.events(session)  ──▶ therapy.replayed.SessionPictures ──(time ▶ DrawList, room?)──┐
                           └─▶ therapy.replayed.timeline_marks ──(time, group)──────────────┤
    store motion ──▶ ReplaySource (frames for the body, and for the rating re-run) ──────────┴─▶ console.replay.run_replay

The console draws what it is handed; the pictures come from the therapy layer's own drawing
code, so nothing here draws.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from gmi_vr.app.console import replay_panels
from gmi_vr.app.session import _installed
from gmi_vr.console.replay import run_replay as run_replay_window
from gmi_vr.core.events import Event
from gmi_vr.core.settings import load_settings
from gmi_vr.core.types import TrackingFrame
from gmi_vr.recording.replay import ReplaySource
from gmi_vr.recording.store import SessionStore
from gmi_vr.scene.draw import DrawList
from gmi_vr.therapy.replayed import MARK_GROUPS, SessionPictures, timeline_marks
from gmi_vr.therapy.stimuli import level_anchor


def session_pictures(store: SessionStore, session_id: int, frames: ReplaySource) -> SessionPictures:
    """What recorded session ``session_id`` showed, rebuilt from its events; ``frames`` (a
    source of its own: it is moved about) gives the rating re-run its recorded frames."""
    events = [Event(e.time_s, e.kind, e.data) for e in store.events(session_id)]

    def frames_from(time_s: float) -> Iterator[TrackingFrame]:
        frames.seek(time_s)
        while (frame := frames.next_frame()) is not None:
            yield frame

    first = frames.frame_at(frames.start_s)
    fallback = level_anchor(first.head)  # sessions recorded before "session.start" kept it
    return SessionPictures(events, frames_from, has_mesh=_installed, fallback_anchor=fallback)


def run_replay(store: SessionStore, session_id: int, *, max_frames: int | None = None,
               screenshot: Path | None = None, visible: bool = True, start_paused: bool = False,
               start_at_s: float | None = None) -> None:
    """``console.replay.run_replay`` with the session's therapy pictures, timeline marks and
    the console's panels, read-only (its arguments and errors; NotFoundError for an unknown
    session or one with no motion)."""
    settings = load_settings()
    with ReplaySource(store, session_id) as frames:
        pictures = session_pictures(store, session_id, frames)
        marks = timeline_marks(pictures.events)

        session = store.session(session_id)
        panels = replay_panels(f"replay: session {session_id}, patient {session.patient_id}", frames.start_s,
                               pictures.events, store.trials(session_id),
                               store.ratings(session_id), session.dropped_frames)  # fmt: skip

        def picture_at(time_s: float) -> tuple[DrawList, bool]:
            shown = pictures.at(time_s)
            return shown.draw, shown.room

        run_replay_window(store, session_id, max_frames=max_frames, screenshot=screenshot, visible=visible,
                          start_paused=start_paused, start_at_s=start_at_s, pictures=picture_at,
                          marks=marks, legend=MARK_GROUPS, window_size=settings.console_size,
                          panels=panels)  # fmt: skip
