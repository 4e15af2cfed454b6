"""``gmi-vr replay SESSION``: a recorded session in the therapist window with what the
patient was shown (stimuli, the pain-rating scale, messages), play, pause and seek, its events
on a timeline and the console's panels read-only; on the one session loop (``app.loop``).

One loop iteration per displayed picture:

    ReplayFrames: the window's keys and timeline clicks ──▶ PlaybackClock.position(now)
        ──▶ ReplayPlayer.update: recorded TrackingFrames ──▶ solve_body(...) ──▶ BodyPose
    SessionLoop: ReplayPlayer.step(frame) ──▶ room + controllers + avatar (+ the body as rods)
        + therapy.replayed's picture at that time ──▶ DrawList
        ──▶ TherapistWindow.show(..., TimelineBar: the recorded events marked, the panels)

The frames go through the loop every live frame goes through; their step is the player's
own, not ``SessionPipeline``'s: a replay must record nothing, and what therapy showed is the
recorded one (``therapy.replayed.SessionPictures``, rebuilt from the stored events by the
therapy layer's own drawing code), not a task run again. The body is solved again from the
recorded frames with the patient's calibration and affected side, so the therapist sees the
mirrored limb as the patient saw it. Playback runs in real time by the recorded frames' own
times against the wall clock (read here, in the app; the player and the clock take the time
as an argument and never read one). The console (``console.replay_window``, ``console.therapist_window``)
only draws what it is handed.

    store.events(session)  ──▶ SessionPictures ──(time ▶ DrawList, room?)──┐
                           └─▶ timeline_marks ──(time, group)───────────────┤
    store motion ──▶ ReplaySource (frames for the body, and for the rating re-run) ──┴─▶ run_replay

This module imports no OpenGL at import time: ``run_replay`` opens the window through
``app.window_setup.open_therapist_window``, which chooses the GL platform first.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

from gmi_vr.app.console import replay_panels
from gmi_vr.app.loop import ConsolePacer, SessionLoop
from gmi_vr.app.pipeline import HAND_SCALE_EVENT, FrameOutput
from gmi_vr.app.session_setup import _installed, installed_stimulus_meshes
from gmi_vr.assets.gltf_skin import load_skinned_gltf
from gmi_vr.assets.locations import model_path
from gmi_vr.body import (
    Appearance,
    AvatarRig,
    BodyPose,
    BodySettings,
    BodyState,
    Calibration,
    FeedbackCondition,
    FeedbackKind,
    LimbMode,
    solve_body,
)
from gmi_vr.body.skeleton import JOINT_INDEX, PARENTS
from gmi_vr.console.replay_window import Mark, timeline_bar
from gmi_vr.core.errors import GmiError
from gmi_vr.core.events import Event
from gmi_vr.core.folders import ensure_writable_folder
from gmi_vr.core.types import ClockLink, FloatArray, Side, TrackingFrame
from gmi_vr.recording.replay_source import ReplaySource
from gmi_vr.recording.store import SessionStore
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, SkinnedItem
from gmi_vr.scene.room import room_draw_list
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.replayed import MARK_GROUPS, SessionPictures, timeline_marks

if TYPE_CHECKING:
    from gmi_vr.body.rig import SkinSkeleton
    from gmi_vr.console.panels import SessionPanel
    from gmi_vr.console.therapist_window import TherapistWindow, TimelineBar

#: What therapy showed at a recording time (seconds): its DrawList (fade set) and whether
#: the clinic room was drawn around it (the calm scene brings its own floor).
TherapyPictures = Callable[[float], tuple[DrawList, bool]]
#: The console's read-only panels at a recording time (seconds).
ReplayPanels = Callable[[float], "SessionPanel"]

#: How far the arrow keys jump, seconds of recording.
SEEK_STEP_S = 5.0
#: A forward gap larger than this (the window stalled, e.g. while dragged) is jumped over
#: with a seek instead of solving every frame in between.
MAX_CATCH_UP_S = 1.0
#: Pictures per second at most: replay needs no more, and a hidden window has no vsync.
MAX_DISPLAY_HZ = 60.0

#: The replay window's keys, shown by F1 (window names: "space", "left_arrow", ...).
REPLAY_KEY_HELP: tuple[tuple[str, str], ...] = (
    ("space", "play / pause (at the end: play from the start)"),
    ("left / right arrow", f"back / forward {SEEK_STEP_S:g} s"),
    ("Page Down or N", "to the next event marked on the timeline"),
    ("Page Up or P", "to the previous event marked on the timeline"),
    ("click or drag along the timeline", "to that time"),
    ("Home", "back to the start"),
    ("drag / wheel (right pane)", "orbit / zoom the third-person view"),
    ("F1", "show or hide this help"),
    ("escape", "quit"),
)

#: "Previous event" from just after a mark goes to the one before it, not to the same one.
PREVIOUS_SLACK_S = 0.25

#: Draw the solved body's bones as rods (``body_figure_items``) instead of the skinned
#: avatar: a plainer picture of the joints for reviewers who want to see the skeleton.
BODY_AS_RODS = False

#: The body figure: bones drawn as thin rods from parent to child joint (trunk, arms, legs;
#: not the fingers, too small to read at this distance, nor the neck and head, which sit at
#: the patient view's camera).
FIGURE_BONES: tuple[str, ...] = ("spine", "chest", "upperChest") + tuple(
    f"{side}{bone}"
    for side in ("left", "right")
    for bone in ("Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot")
)
FIGURE_RADIUS_M = 0.022
FIGURE_COLOR: RGBA = (0.93, 0.80, 0.68, 1.0)  # the head marker's skin tone (console.therapist_window)
#: The affected limb, driven by the mirror (or blend): a distinct, calm violet, so the
#: therapist sees at a glance which arm is the reflection.
AFFECTED_COLOR: RGBA = (0.62, 0.50, 0.80, 1.0)



# --------------------------------------------------------------------------- playback clock


class PlaybackClock:
    """Which recording time (seconds, the recording's clock) to show at a wall-clock time
    ``now_s`` (seconds, any monotonic clock): real-time play, pause, seek.

    Every method takes ``now_s``; the clock never reads one. Positions stay within
    ``start_s``..``end_s``. Reaching the end pauses there (call ``update``); playing from
    the end starts again from the start.
    """

    def __init__(self, start_s: float, end_s: float, now_s: float, *, playing: bool = True,
                 at_s: float | None = None) -> None:
        if end_s < start_s:
            raise ValueError(f"end {end_s} before start {start_s}")
        self.start_s = start_s
        self.end_s = end_s
        self.playing = playing
        self._anchor_s = self._clamp(start_s if at_s is None else at_s)  # recording time ...
        self._anchor_now_s = now_s  # ... at this wall-clock time

    def _clamp(self, time_s: float) -> float:
        return min(self.end_s, max(self.start_s, time_s))

    def position(self, now_s: float) -> float:
        """The recording time to show at ``now_s``."""
        if not self.playing:
            return self._anchor_s
        return self._clamp(self._anchor_s + (now_s - self._anchor_now_s))

    def update(self, now_s: float) -> None:
        """Pause at the end once it is reached (so the status says so and space replays)."""
        if self.playing and self.position(now_s) >= self.end_s:
            self.pause(now_s)

    def pause(self, now_s: float) -> None:
        self._anchor_s, self._anchor_now_s = self.position(now_s), now_s
        self.playing = False

    def play(self, now_s: float) -> None:
        position = self.position(now_s)
        self._anchor_s = self.start_s if position >= self.end_s else position
        self._anchor_now_s = now_s
        self.playing = True

    def toggle(self, now_s: float) -> None:
        if self.playing:
            self.pause(now_s)
        else:
            self.play(now_s)

    def seek(self, time_s: float, now_s: float) -> None:
        """Show ``time_s`` (clamped) now; playing or paused as before."""
        self._anchor_s, self._anchor_now_s = self._clamp(time_s), now_s

    def seek_by(self, delta_s: float, now_s: float) -> None:
        self.seek(self.position(now_s) + delta_s, now_s)


# --------------------------------------------------------------------------- the body


#: The event tasks send when they need another limb mode (gmi_vr.therapy.tasks.stages); a live
#: session's body follows it, so the replayed body follows the recorded ones.
BODY_MODE_EVENT = "body.mode"
#: A research block's visual-feedback condition (``app.pipeline``); the replayed body shows it
#: too (a sham replays what was played since the last seek, resting until there is some).
BODY_FEEDBACK_EVENT = "body.feedback"


@dataclass(frozen=True)
class ReplayBody:
    """How to solve and show the body of one recorded session.

    ``settings`` are those the session ran with (its stored settings' "body", else the
    patient's, else the defaults) with the patient's affected side; ``mode_changes`` are
    the recorded (time_s, mode, blend) changes, in time order, that override their mode;
    ``feedback_changes`` the recorded visual-feedback conditions, in time order;
    ``hand_scale_changes`` the therapist's (time_s, size) changes of the displayed hand.
    """

    calibration: Calibration
    settings: BodySettings
    appearance: Appearance
    mode_changes: tuple[tuple[float, LimbMode, float], ...] = ()
    feedback_changes: tuple[FeedbackCondition, ...] = ()
    hand_scale_changes: tuple[tuple[float, float], ...] = ()

    def settings_at(self, time_s: float) -> BodySettings:
        """The body settings in force at ``time_s`` (recording clock, seconds)."""
        settings = self.settings
        h = bisect.bisect_right([change[0] for change in self.hand_scale_changes], time_s) - 1
        if h >= 0:
            settings = replace(settings, affected_hand_scale=self.hand_scale_changes[h][1])
        f = bisect.bisect_right([c.since_s for c in self.feedback_changes], time_s) - 1
        if f >= 0:
            settings = replace(settings, feedback=self.feedback_changes[f])
        times = [change[0] for change in self.mode_changes]
        k = bisect.bisect_right(times, time_s) - 1
        if k < 0:
            return settings
        _, mode, blend = self.mode_changes[k]
        return replace(settings, mode=mode, blend=blend)


def replay_body(store: SessionStore, session_id: int) -> ReplayBody:
    """The body setup of recorded session ``session_id``: the patient's latest stored
    calibration (average seated proportions if none), the session's body settings and
    appearance, and its recorded limb-mode and hand-size changes. Raises NotFoundError for an unknown
    session, CalibrationError / InputFileError for unreadable stored settings."""
    session = store.session(session_id)
    patient = store.patient(session.patient_id)
    side = Side(patient.affected_side)
    stored = store.latest_calibration(patient.id)
    if stored is None:
        calibration = Calibration.uncalibrated(affected_side=side)
    else:
        calibration = Calibration.from_dict(stored.data)
    ran_with, own = session.settings or {}, patient.settings or {}
    body_data = ran_with.get("body", own.get("body"))
    settings = BodySettings() if body_data is None else BodySettings.from_dict(body_data)
    if settings.affected_side is None:
        settings = replace(settings, affected_side=side)
    appearance = Appearance.from_dict(ran_with.get("appearance", own.get("appearance", {})))
    changes = []
    conditions = []
    sizes = []
    for event in store.events(session_id):
        try:
            if event.kind == BODY_MODE_EVENT:
                changes.append((event.time_s, LimbMode(event.data["mode"]), float(event.data.get("blend", 0.0))))
            elif event.kind == HAND_SCALE_EVENT:
                size = float(event.data["scale"])
                replace(settings, affected_hand_scale=size)  # InputFileError when out of range
                sizes.append((event.time_s, size))
            elif event.kind == BODY_FEEDBACK_EVENT:
                conditions.append(FeedbackCondition(FeedbackKind(event.data["feedback"]),
                                                    float(event.data.get("feedback_delay_ms", 0.0)), event.time_s))
        except (KeyError, TypeError, ValueError, GmiError):
            continue  # a malformed event changes nothing, as it did live
    changes.sort(key=lambda change: change[0])
    conditions.sort(key=lambda condition: condition.since_s)
    sizes.sort(key=lambda size: size[0])
    return ReplayBody(calibration, settings, appearance, tuple(changes), tuple(conditions), tuple(sizes))


def _rod(start: FloatArray, end: FloatArray, radius_m: float, color: RGBA) -> MeshItem | None:
    """A cylinder of ``radius_m`` from ``start`` to ``end`` (world, metres); None when the two
    points (nearly) coincide."""
    axis = end - start
    length = float(np.linalg.norm(axis))
    if length < 1e-4:
        return None
    y = axis / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    x = np.cross(y, helper)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    world_from_mesh = np.eye(4)
    # The unit cylinder runs along its Y from -0.5 to 0.5 with radius 0.5.
    world_from_mesh[:3, :3] = np.column_stack([x * 2 * radius_m, y * length, z * 2 * radius_m])
    world_from_mesh[:3, 3] = (start + end) / 2
    return MeshItem("cylinder", world_from_mesh, color)


def body_figure_items(body: BodyPose) -> tuple[MeshItem, ...]:
    """The solved body as rods from each FIGURE_BONES joint to its parent, the affected
    side's arm and hand in AFFECTED_COLOR (they show what the mirror made of them)."""
    affected_prefix = body.affected_side.value  # "left" | "right", the joint names' prefix
    positions = body.world_from_joint[:, :3, 3]
    items = []
    for name in FIGURE_BONES:
        joint = JOINT_INDEX[name]
        parent = int(PARENTS[joint])
        is_arm = any(part in name for part in ("Shoulder", "Arm", "Hand"))
        color = AFFECTED_COLOR if is_arm and name.startswith(affected_prefix) else FIGURE_COLOR
        rod = _rod(positions[parent], positions[joint], FIGURE_RADIUS_M, color)
        if rod is not None:
            items.append(rod)
    return tuple(items)


# --------------------------------------------------------------------------- the player


@dataclass(frozen=True)
class ShownFrame:
    """What the window shows: the recorded frame and the body solved from it."""

    frame: TrackingFrame
    body: BodyPose


class ReplayPlayer:
    """Follows a PlaybackClock through a ReplaySource and solves the body on the way; the
    session loop's frame step in a replay (``app.loop.FrameStep``: ``step``).

    No GL and no clock: ``handle_key(name, now_s)`` and ``update(now_s)`` take the time.
    While playing, every recorded frame between two pictures goes through the body solver
    (its tracking-loss and smoothing memory needs them in order); a seek starts the solver
    afresh at the new place. Nothing is recorded: a replay never makes a session.
    """

    def __init__(self, source: ReplaySource, clock: PlaybackClock, body: ReplayBody,
                 rig: AvatarRig | None = None, body_as_rods: bool = BODY_AS_RODS,
                 pictures: TherapyPictures | None = None, marks: tuple[Mark, ...] = (),
                 legend: tuple[tuple[str, str], ...] = ()) -> None:
        self.source = source
        self.clock = clock
        self.body = body
        self.rig = rig
        self.body_as_rods = body_as_rods
        self.pictures = pictures
        self.marks = tuple(sorted(marks, key=lambda mark: mark[0]))
        self.legend = legend  # (group, words), in the order the legend lists them
        self.patient_id = source.session.patient_id
        self.session_id = source.session.id
        self._state = BodyState()
        self.shown = self._jump(clock.start_s)
        self._jump_pending = True  # the first update goes to wherever the clock starts

    def step(self, frame: TrackingFrame, presented_later: bool = False) -> FrameOutput:
        """The session loop's step: ``frame`` is the one ``update`` moved to (``ReplayFrames``
        yields it), its body solved on the way with every recorded frame before it; out come
        the replay's picture (``draw_list``) and that body. No therapy runs and nothing is
        recorded: what therapy showed is the recorded one (``pictures``)."""
        assert frame is self.shown.frame, "a replay steps the frame its player moved to"
        return FrameOutput(self.draw_list(), self.shown.body)

    def use_clock(self, link: ClockLink) -> None:
        """A replay has its recording's times: nothing to tie to the monotonic clock."""

    def presented(self, submit_ns: int | None) -> None:
        """Nothing is recorded in a replay."""

    @property
    def finished(self) -> bool:
        return False  # a replay has no session plan to end

    def finish(self) -> None:
        """Nothing to close: the store was only read."""

    def _solve(self, frame: TrackingFrame) -> ShownFrame:
        settings = self.body.settings_at(frame.time_s)
        return ShownFrame(frame, solve_body(frame, self.body.calibration, settings, self._state))

    def _jump(self, time_s: float) -> ShownFrame:
        self.source.seek(time_s)
        frame = self.source.next_frame()
        assert frame is not None  # a ReplaySource has at least one frame
        self._state = BodyState()
        self.shown = self._solve(frame)
        return self.shown

    def handle_key(self, name: str, now_s: float) -> bool:
        """Apply a key pressed in the window (REPLAY_KEY_HELP); False when it is not ours."""
        if name == "space":
            self.clock.toggle(now_s)
            return True
        if name in ("left_arrow", "right_arrow", "home"):
            if name == "home":
                self.clock.seek(self.clock.start_s, now_s)
            else:
                self.clock.seek_by(SEEK_STEP_S if name == "right_arrow" else -SEEK_STEP_S, now_s)
            self._jump_pending = True
            return True
        if name in ("page_down", "n", "page_up", "p"):
            target = self.next_mark_s(now_s) if name in ("page_down", "n") else self.previous_mark_s(now_s)
            if target is not None:
                self.seek(target, now_s)
            return True
        return False

    def seek(self, time_s: float, now_s: float) -> None:
        """Show recording time ``time_s`` (clamped) from the next update on."""
        self.clock.seek(time_s, now_s)
        self._jump_pending = True

    def seek_fraction(self, fraction: float, now_s: float) -> None:
        """Show the time ``fraction`` (0..1) of the way through the recording (a timeline click)."""
        self.seek(self.clock.start_s + fraction * (self.clock.end_s - self.clock.start_s), now_s)

    def next_mark_s(self, now_s: float) -> float | None:
        """The time of the first mark after the shown position; None after the last."""
        position = self.clock.position(now_s)
        times = [mark[0] for mark in self.marks]
        k = bisect.bisect_right(times, position + 1e-9)
        return times[k] if k < len(times) else None

    def previous_mark_s(self, now_s: float) -> float | None:
        """The time of the last mark before the shown position (more than PREVIOUS_SLACK_S
        before it while playing, so that a press just after a mark goes past it)."""
        position = self.clock.position(now_s)
        slack = PREVIOUS_SLACK_S if self.clock.playing else 1e-9
        times = [mark[0] for mark in self.marks]
        k = bisect.bisect_left(times, position - slack) - 1
        return times[k] if k >= 0 else None

    def update(self, now_s: float) -> ShownFrame:
        """Bring the shown frame to the clock's position at ``now_s``."""
        self.clock.update(now_s)
        target = self.clock.position(now_s)
        current = self.shown.frame.time_s
        if self._jump_pending or target < current or target - current > MAX_CATCH_UP_S:
            self._jump_pending = False
            return self._jump(target)
        while self.source.position_s <= target:
            frame = self.source.next_frame()
            if frame is None:
                break
            self.shown = self._solve(frame)
        return self.shown

    def draw_list(self) -> DrawList:
        """The room with the recorded controllers (unless therapy's picture replaced it),
        therapy's picture (``pictures``: stimulus, rating scale, messages; its fade), the body
        as rods (``body_as_rods``) and, with a rig, the avatar (its head folded away for the
        patient's eye view, shown in the third-person view)."""
        therapy, show_room = DrawList(), True
        if self.pictures is not None:
            therapy, show_room = self.pictures(self.shown.frame.time_s)
        room = room_draw_list(self.shown.frame) if show_room else DrawList(clear_color=therapy.clear_color)
        skinned: tuple[SkinnedItem, ...] = ()
        if self.rig is not None:
            joints = self.shown.body.world_from_joint
            appearance = self.body.appearance
            skinned = (SkinnedItem(appearance.avatar_model, self.rig.palette(joints, first_person=True),
                                   appearance.tint, third_person_palette=self.rig.palette(joints)),)
        figure = body_figure_items(self.shown.body) if self.body_as_rods else ()
        return DrawList(room.meshes + therapy.meshes + figure, skinned + therapy.skinned,
                        room.texts + therapy.texts, room.clear_color, therapy.fade)

    def timeline(self, now_s: float) -> TimelineBar:
        """The timeline at ``now_s``: the marks in their group's colour, the legend, the position."""
        return timeline_bar(self.clock.start_s, self.clock.end_s, self.clock.position(now_s), self.marks,
                            self.legend)  # fmt: skip

    def status(self, now_s: float) -> str:
        position = self.clock.position(now_s) - self.clock.start_s
        duration = self.clock.end_s - self.clock.start_s
        state = "playing" if self.clock.playing else "paused"
        return (f"replay: session {self.session_id}, patient {self.patient_id}, "
                f"t = {position:.1f} / {duration:.1f} s, {state}   (F1: keys)")


# --------------------------------------------------------------------------- the loop


class ReplayFrames:
    """Replay's frame source: one recorded frame per picture, the one the playback clock is
    at. Before each, the keys pressed in ``window`` since the last one (REPLAY_KEY_HELP) and
    its timeline clicks go to the player. ``now`` is the wall clock playback runs by
    (seconds); ``frames()`` yields at most MAX_DISPLAY_HZ pictures a second."""

    def __init__(self, player: ReplayPlayer, window: TherapistWindow,
                 now: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.player = player
        self.window = window
        self.now = now
        #: The wall-clock time (seconds) of the picture last yielded.
        self.now_s = now()
        self._stop = False

    def next_frame(self) -> TrackingFrame:
        """The frame to show now, after the window's keys and clicks."""
        now_s = self.now_s = self.now()
        for key in self.window.input.take_pressed():
            self.player.handle_key(key, now_s)
        for fraction in self.window.take_timeline_clicks():
            self.player.seek_fraction(fraction, now_s)
        return self.player.update(now_s).frame

    def frames(self) -> Iterator[TrackingFrame]:
        while not self._stop:
            started = time.monotonic()
            yield self.next_frame()
            spare = 1.0 / MAX_DISPLAY_HZ - (time.monotonic() - started)
            if spare > 0:
                time.sleep(spare)

    def request_stop(self) -> None:
        self._stop = True


def replay_loop(frames: ReplayFrames, *, panels: ReplayPanels | None = None, capture: bool = False) -> SessionLoop:
    """The session loop of a replay: the player (``frames.player``) as its frame step,
    nothing presented to eyes, the window drawn every picture with the player's status and
    timeline and, with ``panels``, the console's read-only panels as they stood at the shown
    time with the limb mode and hand size the body is solved in."""
    player = frames.player

    def panel(frame: TrackingFrame, output: FrameOutput) -> SessionPanel:
        assert panels is not None
        settings = player.body.settings_at(frame.time_s)
        return replace(panels(frame.time_s), limb_mode=settings.mode.value, blend=settings.blend,
                       hand_scale=settings.affected_hand_scale)

    return SessionLoop(player, frames.window, lambda frame, output: player.status(frames.now_s),
                       pacer=ConsolePacer(None), capture=capture, speak=False,
                       timeline=lambda: player.timeline(frames.now_s),
                       panel=panel if panels is not None else None)  # fmt: skip


def show_replay_picture(window: TherapistWindow, player: ReplayPlayer, now_s: float, capture: bool = False,
                        panels: ReplayPanels | None = None) -> NDArray[np.uint8] | None:
    """One picture at wall-clock time ``now_s`` through the replay's loop (``replay_loop``,
    ``ReplayFrames``): the keys pressed since the last one go to the player, the player moves
    to ``now_s``, the window draws it (with ``capture`` returns its pixels, see
    TherapistWindow.show)."""
    frames = ReplayFrames(player, window, now=lambda: now_s)
    loop = replay_loop(frames, panels=panels, capture=capture)
    loop.run([frames.next_frame()], frames.request_stop)
    return loop.last_pixels if capture else None


# --------------------------------------------------------------------------- the session


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
    """Show recorded session ``session_id`` in the therapist window (``app.window_setup``: the
    settings' console size) until escape or the window is closed, with what therapy showed,
    the events marked on the timeline and the console's panels read-only (REPLAY_KEY_HELP:
    space plays and pauses, the arrows seek 5 s, Page Down / Page Up go to the next /
    previous marked event, a click on the timeline, or a drag along it, goes there, Home goes
    back to the start).

    ``max_frames`` stops after that many pictures; ``screenshot`` saves the last one as a
    PNG; ``start_paused`` opens paused; ``start_at_s`` opens that many seconds into the
    recording. Raises NotFoundError for an unknown session or one with no recorded motion,
    CalibrationError for an unreadable stored calibration, GraphicsUnavailable with no
    display; all before any window opens.
    """
    from gmi_vr.app.window_setup import open_therapist_window

    source = ReplaySource(store, session_id)
    with ExitStack() as stack:
        stack.enter_context(source)
        body = replay_body(store, session_id)
        # SkinnedMeshData is what AvatarRig's SkinSkeleton protocol describes, but the protocol
        # declares settable attributes (the loaded skin is frozen) and float joint parents.
        skin = cast("SkinSkeleton", load_skinned_gltf(model_path(body.appearance.avatar_model)))
        rig = AvatarRig(skin, body.calibration.measures)
        if screenshot is not None:
            ensure_writable_folder(Path(screenshot).parent)
        pictures_source = stack.enter_context(ReplaySource(store, session_id))
        pictures = session_pictures(store, session_id, pictures_source)
        session = store.session(session_id)
        panels = replay_panels(f"replay: session {session_id}, patient {session.patient_id}", source.start_s,
                               pictures.events, store.trials(session_id), store.ratings(session_id),
                               session.dropped_frames)  # fmt: skip

        def picture_at(time_s: float) -> tuple[DrawList, bool]:
            shown = pictures.at(time_s)
            return shown.draw, shown.room

        # The pictures' models loaded before the first frame, as a live session's are: a
        # stimulus loading mid-replay would hold the picture on the frame before it.
        shown = {str(e.data["mesh"]) for e in pictures.events if e.kind == "trial.show" and (e.data or {}).get("mesh")}
        window = stack.enter_context(open_therapist_window(
            f"gmi-vr: replay of session {session_id}", visible=visible, console=True, help_rows=REPLAY_KEY_HELP,
            timeline=True, preload=shown & installed_stimulus_meshes()))  # fmt: skip
        at_s = None if start_at_s is None else source.start_s + start_at_s
        clock = PlaybackClock(source.start_s, source.end_s, time.monotonic(), playing=not start_paused, at_s=at_s)
        player = ReplayPlayer(source, clock, body, rig, pictures=picture_at, marks=timeline_marks(pictures.events),
                              legend=MARK_GROUPS)  # fmt: skip
        frames = ReplayFrames(player, window)
        loop = replay_loop(frames, panels=panels, capture=screenshot is not None)
        loop.run(frames.frames(), frames.request_stop, max_frames=max_frames)
        source.request_stop()
        if screenshot is not None and loop.last_pixels is not None:
            from PIL import Image

            Image.fromarray(loop.last_pixels[:, :, :3]).save(screenshot)
