"""One frame, from tracking to what is drawn and recorded (ARCHITECTURE.md, "Data flow of
one frame"):

    TrackingFrame ──▶ solve_body ──BodyPose──▶ SessionRunner.update ──TaskStep──▶ DrawList
                                   └──────────────▶ SessionRecorder (non-blocking) ◀──┘

Every frame source (openxr, sim, replay) goes through ``SessionPipeline.step``; the caller
then hands ``FrameOutput.draw`` to the eyes and to the therapist window. A caller that knows
when the frame was submitted (the session loop) steps with ``presented_later`` and then says
so with ``presented(submit_ns)``: the frame is recorded with its display timing
(``FrameTiming``) then. The live Lab Streaming Layer streams (``streams``, optional) get the
same frames, events and ratings as the recorder. Nothing here touches GL, OpenXR or the wall
clock: time is the frame's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from gmi_vr.app.off_frame import OffFrame
from gmi_vr.app.record_rows import store_rating, stored_row
from gmi_vr.assets.gltf_skin import SkinnedMeshData, load_skinned_gltf
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
    Posture,
    solve_body,
)
from gmi_vr.body.solve import MIN_HAND_SCALE
from gmi_vr.core.events import Event
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.types import ClockLink, FrameTiming, Pose, Side, TrackingFrame
from gmi_vr.geometry import quat_rotate, translation_matrix
from gmi_vr.recording.listing import SessionRow
from gmi_vr.recording.lsl import LslStreams
from gmi_vr.recording.recorder import SessionRecorder
from gmi_vr.recording.rows import RecorderStats, StoredRepetition
from gmi_vr.scene.draw import DrawList, SkinnedItem
from gmi_vr.scene.room import clinic_room_groups, room_draw_list
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.content.workspace import anchor_on_midline
from gmi_vr.therapy.results.stage_records import StageRecord
from gmi_vr.therapy.results.task_records import (
    RatingRecord,
    Record,
    TaskEnded,
    TaskStarted,
    TrialRecord,
)
from gmi_vr.therapy.runner import SessionRunner

if TYPE_CHECKING:
    from gmi_vr.review.progress import StageDecider

#: Seated, the eyes are about this far in front of the pelvis (the head leans forward of the
#: hips); the room's chair is placed the same way (scene/room.py). Metres.
SEATED_PELVIS_BEHIND_EYES_M = 0.10
#: Event kind recorded with a session's first frame: how its display times are tied to the
#: monotonic clock (``ClockLink``: ``method``, ``exact``, ``monotonic_minus_display_s``) and,
#: when streaming, to the Lab Streaming Layer clock (``lsl_minus_display_s``). Where the
#: runtime cannot convert its times, ``exact`` is false and no submit times are recorded.
CLOCK_EVENT = "clock.link"
#: Event kind of a live change of the displayed affected hand's size (``set_hand_scale``):
#: ``scale`` (``MIN_HAND_SCALE`` to 1) and ``by``; a replay shows the hand at that size from then.
HAND_SCALE_EVENT = "body.hand_scale"


@dataclass(frozen=True)
class FrameOutput:
    """What one frame produced: the picture, the solved body (None where nothing solves
    one: calibration), what happened, whether the session plan has finished, and the
    controllers' vibrations (``haptics``)."""

    draw: DrawList
    body: BodyPose | None
    events: tuple[Event, ...] = ()
    done: bool = False
    haptics: tuple[HapticPulse, ...] = ()


@dataclass
class SessionPipeline:
    """Per-frame composition of body, therapy and recording for one session.

    ``calibration`` None takes a quick seated calibration from the first tracked head (the
    midline plane is then fixed for the session: a later head turn never swings the
    mirrored limb). ``runner`` None is free play (mirror mode, nothing but the room);
    ``recorder`` None records nothing (demos).

    A patient's session ends with ``finish()`` (``app.session_setup.session_pipeline`` does it
    when its block ends, if the app has not): the recording is closed and ``saved`` holds
    what the store has of the session. ``ended_by`` is the app's reason for no longer
    stepping a plan that has not ended (``SessionRunner.outcome``).
    """

    body_settings: BodySettings
    appearance: Appearance = field(default_factory=Appearance)
    calibration: Calibration | None = None
    runner: SessionRunner | None = None
    recorder: SessionRecorder | None = None
    #: Extra items for free play (the demo's instruction panel), called with each frame.
    overlay: Callable[[TrackingFrame], DrawList] | None = None
    #: Why the app stopped stepping before the plan ended: "motion_ended", "window_closed",
    #: "frame_limit", "runtime_ended", ... (None: it did not, or not yet).
    ended_by: str | None = None
    #: The session as the store holds it once finished (None before, in free play, or when
    #: nothing could be saved).
    saved: SessionRow | None = None
    #: Closes the recording and reads the session back (set by ``session_pipeline``); called
    #: with the error that ended the session, if one did.
    finisher: Callable[[BaseException | None], SessionRow | None] | None = None
    #: Writes one therapist action to the audit trail: (action, details) for this session
    #: (set by ``session_pipeline``; None in free play and demos, where nothing is stored).
    audit: Callable[[str, dict[str, Any]], None] | None = None
    #: One sentence while an audit row could not be written ("" while all were).
    audit_problem: Callable[[], str] = lambda: ""
    #: The stage decision after the session (``review.progress.StageDecider``; None in free play).
    stage_decision: StageDecider | None = None
    #: The run's live Lab Streaming Layer outlets (``run --lsl``), None without.
    streams: LslStreams | None = None
    #: How the frame source's clock is tied to the monotonic clock (``use_clock``), if known.
    clock: ClockLink | None = None
    #: A frame stepped with ``presented_later``, recorded when ``presented`` says when it was
    #: submitted (or without a submit time at the next step or at ``finish``).
    _unpresented: tuple[TrackingFrame, BodyPose] | None = None
    _finished: bool = False
    #: The finisher under way off the render thread (``finish_off_frame``), until collected.
    _finishing: OffFrame[SessionRow | None] | None = None
    #: Recorder sequence numbers of the runner's tasks and blocks, and the open tasks (the
    #: last is the one whose trials are arriving: a suspended block resumes under a rating).
    _task_seqs: dict[int, int] = field(default_factory=dict)
    _block_seqs: dict[int, int] = field(default_factory=dict)
    _task_blocks: dict[int, int] = field(default_factory=dict)
    _open_tasks: list[int] = field(default_factory=list)
    _state: BodyState = field(default_factory=BodyState)
    _rig: AvatarRig | None = None
    #: The avatar's skinned mesh, read by ``prepare`` (or the first frame).
    _skin: SkinnedMeshData | None = None
    _task_mode: tuple[LimbMode, float] | None = None
    #: The displayed affected hand's size the therapist chose live (None: the program's).
    _hand_scale: float | None = None
    _placed_room: DrawList | None = None
    #: Events of the therapist's live changes (``set_limb_mode``), recorded with the next frame.
    _pending: list[Event] = field(default_factory=list)
    _held_still: bool = False
    #: Where the resting affected limb really lies (a "body.registration" event of seen touch).
    _registered_rest: tuple[float, ...] | None = None
    #: The ``CLOCK_EVENT``'s data, recorded with the next frame (``use_clock``).
    _clock_event: dict[str, Any] | None = None
    #: The last recorded frame's display time (ns): the frame interval for a delay in frames.
    _last_display_ns: int | None = None
    #: The running research block's visual-feedback condition, and its task's number.
    _feedback: FeedbackCondition = field(default_factory=FeedbackCondition)
    _feedback_task: int | None = None

    def set_limb_mode(self, mode: LimbMode, blend: float, time_s: float) -> None:
        """The therapist's choice of how the affected limb is shown, from the next step on
        (``time_s``: the frame time that saw it). Recorded as a "body.mode" event (by
        "therapist"), so a replay and an export show when it changed; a task that later
        announces its own mode, or a safety stop that holds the limb still, takes over."""
        blend = min(1.0, max(0.0, float(blend)))
        self._pending.append(Event(time_s, "body.mode", {"mode": mode.value, "blend": blend, "by": "therapist"}))

    def set_hand_scale(self, scale: float, time_s: float) -> None:
        """The therapist's size of the displayed affected hand, ``MIN_HAND_SCALE`` to 1 (never
        larger: CLINICAL.md, minified limbs), from the next step on (``time_s``: the frame time
        that saw it). Recorded as a "body.hand_scale" event (by "therapist"), so a replay and
        an export show when it changed; it holds for the rest of the session, in every mode."""
        scale = min(1.0, max(MIN_HAND_SCALE, float(scale)))
        self._pending.append(Event(time_s, HAND_SCALE_EVENT, {"scale": scale, "by": "therapist"}))

    @property
    def hand_scale(self) -> float:
        """The displayed affected hand's size the body is solved with now (1 = life size)."""
        return self._settings_now().affected_hand_scale

    @property
    def limb_held_still(self) -> bool:
        """The session holds the affected limb still now (a rating, the calm scene, a
        break): no limb mode can be chosen until its task resumes."""
        return self._held_still

    @property
    def limb_mode(self) -> tuple[LimbMode, float]:
        """The limb mode and blend the body is solved with now."""
        settings = self._settings_now()
        return settings.mode, settings.blend

    def use_clock(self, link: ClockLink) -> None:
        """The frame source's clock is tied to the monotonic clock by ``link`` from now on:
        the streams convert display times with it, and the session records how (a
        ``CLOCK_EVENT`` with the next frame)."""
        self.clock = link
        self._clock_event = {"method": link.method, "exact": link.exact,
                             "monotonic_minus_display_s": link.offset_ns / 1e9}  # fmt: skip
        if self.streams is not None:
            self._clock_event["lsl_minus_display_s"] = self.streams.use_clock(link)

    def presented(self, submit_ns: int | None) -> None:
        """The frame last stepped with ``presented_later`` was submitted at ``submit_ns`` (on
        the frame source's clock; None: not known): record it with its timing now."""
        if self._unpresented is not None:
            frame, body = self._unpresented
            self._unpresented = None
            self._record_frame(frame, body, submit_ns)

    def step(self, frame: TrackingFrame, presented_later: bool = False) -> FrameOutput:
        """One frame: solve the body, advance therapy, record. ``presented_later``: the
        frame is recorded when ``presented`` is called (with its submit time), not now."""
        self.presented(None)  # a frame whose submission was never reported: recorded without it
        if self._clock_event is not None:
            self._pending.append(Event(frame.time_s, CLOCK_EVENT, self._clock_event))
            self._clock_event = None
        if self._pending:
            chosen, self._pending = tuple(self._pending), []
            self._follow_body_mode(chosen)  # before the solve: shown in this very frame
        else:
            chosen = ()
        calibration = self._calibration_for(frame)
        settings = self._settings_now()
        body = solve_body(frame, calibration, settings, self._state)
        if self.runner is not None:
            if self.runner.anchor is None and frame.focused and frame.head_valid:
                # Tasks place and mirror targets across the same midline the body mirrors
                # across: the calibrated one, not wherever the head happens to be.
                plane = calibration.midline_plane()
                self.runner.anchor = anchor_on_midline(frame.head, plane.point, plane.normal)
            step = self.runner.update(frame, body)
            feedback = self._follow_feedback(step.records)
            events, done, haptics = chosen + tuple(step.events) + feedback, step.done, step.haptics
            self._follow_body_mode(events)
            self._held_still = not step.movement_allowed
            if not step.movement_allowed:
                self._task_mode = (LimbMode.STILL, 0.0)
            task_draw = step.draw
            show_room = not self.runner.calm_scene_shown and self.runner.scene_context == "clinic"
            self._record(frame, body, events, step.records, presented_later)
        else:
            events, done, haptics = chosen, False, ()
            task_draw = self.overlay(frame) if self.overlay is not None else DrawList()
            show_room = True
            self._record(frame, body, (), (), presented_later)
        return FrameOutput(
            self._compose(task_draw, body, show_room), body, tuple(events), done, haptics
        )

    def recorder_stats(self) -> RecorderStats | None:
        return self.recorder.stats() if self.recorder is not None else None

    @property
    def finished(self) -> bool:
        """The recording is closed and ``saved`` holds what the store has (a finish under way
        off the render thread counts once ``finish_off_frame`` has collected it)."""
        return self._finished and self._finishing is None

    def finish(self, error: BaseException | None = None) -> SessionRow | None:
        """End the session's recording now (once: later calls return the same ``saved``):
        the tasks still open end with it, the recorder is finished with the session's status
        and reason, and ``saved`` is read back from the store. Later frames are not recorded.
        A finish under way off the render thread is waited for (its error raised here)."""
        if self._finishing is not None:
            finishing, self._finishing = self._finishing, None
            self.saved = finishing.result()
            return self.saved
        if self._finished:
            return self.saved
        self._close_recording()
        if self.finisher is not None:
            self.saved = self.finisher(error)
        return self.saved

    def finish_off_frame(self) -> None:
        """``finish()`` with its slow part (the recorder's last writes, the session read back:
        ``finisher``) on a worker thread, so the headset's frames go on meanwhile (stepped,
        shown, no longer recorded). Once the plan is done the loop calls it every frame: the
        first call starts it; the first call that finds it done (``finish_done``) collects
        ``saved``, raising the finisher's error here, on the render thread, as ``finish()``
        would have raised it."""
        if self._finishing is not None:
            if self._finishing.done:
                self.finish()
        elif not self._finished:
            self._close_recording()
            finisher = self.finisher
            if finisher is not None:
                self._finishing = OffFrame(lambda: finisher(None), "gmi-vr session finish")

    @property
    def finish_done(self) -> bool:
        """A finish started by ``finish_off_frame`` is done, and the next call collects it."""
        return self._finishing is not None and self._finishing.done

    def _close_recording(self) -> None:
        """The render thread's part of finishing: the last frame and the open tasks' records
        queued, nothing recorded after."""
        self.presented(None)
        self._finished = True
        if self.runner is not None and self.recorder is not None:
            for record in self.runner.end_open_tasks():
                self._store(record)

    # --- body -------------------------------------------------------------------------------

    def _calibration_for(self, frame: TrackingFrame) -> Calibration:
        if self.calibration is None:
            side = self.body_settings.affected_side or Side.LEFT
            anchor = level_anchor(frame.head) if frame.head_valid else None
            default = Calibration.uncalibrated(Posture.SEATED, affected_side=side)
            if anchor is None:
                return default  # no head yet: do not fix the midline on a guess
            # Seated, eyes about above the pelvis: the floor point below the head, the head's
            # heading. Fixed from now on; a guided calibration replaces it when stored.
            yaw = _yaw_of(anchor)
            behind = quat_rotate(anchor.orientation, np.array([0.0, 0.0, SEATED_PELVIS_BEHIND_EYES_M]))
            origin = anchor.position + behind
            self.calibration = replace(default, origin=np.array([origin[0], 0.0, origin[2]]), yaw_rad=yaw)
        return self.calibration

    def _settings_now(self) -> BodySettings:
        settings = self.body_settings
        if not self._feedback.live:
            settings = replace(settings, feedback=self._feedback)
        if self._registered_rest is not None:
            settings = replace(settings, registered_rest=self._registered_rest)
        if self._hand_scale is not None:
            settings = replace(settings, affected_hand_scale=self._hand_scale)
        if self._task_mode is None:
            return settings
        mode, blend = self._task_mode
        return replace(settings, mode=mode, blend=blend)

    def _follow_feedback(self, records: tuple[Any, ...]) -> tuple[Event, ...]:
        """A research block's visual-feedback condition (its params' "feedback" and
        "feedback_delay_ms", ``Program.feedback_for``) shows the affected limb from the next
        frame until the block's task ends. Each change is a "body.feedback" event: recorded,
        listed in the therapist's console; the patient's view never announces it."""
        changes: list[Event] = []
        for record in records:
            if isinstance(record, TaskStarted) and "feedback" in record.params:
                delay_ms = float(record.params.get("feedback_delay_ms", 0.0))
                self._feedback = FeedbackCondition(FeedbackKind(record.params["feedback"]), delay_ms, record.time_s)
                self._feedback_task = record.number
                changes.append(Event(record.time_s, "body.feedback", {
                    "feedback": self._feedback.kind.value, "feedback_delay_ms": delay_ms,
                    "block_index": record.block_index}))
            elif isinstance(record, TaskEnded) and record.number == self._feedback_task:
                self._feedback, self._feedback_task = FeedbackCondition(since_s=record.time_s), None
                changes.append(Event(record.time_s, "body.feedback", {
                    "feedback": FeedbackKind.MIRROR.value, "feedback_delay_ms": 0.0, "block_index": None}))
        return tuple(changes)

    def _follow_body_mode(self, events: tuple[Event, ...]) -> None:
        """Tasks announce the limb mode they need ("body.mode" events) and where the resting
        limb really lies ("body.registration", seen touch); the body follows."""
        for event in events:
            if event.kind == "body.registration":
                matrix = event.data.get("world_from_rest")
                self._registered_rest = None if matrix is None else tuple(float(v) for v in matrix)
            if event.kind == "body.mode":
                self._task_mode = (LimbMode(event.data["mode"]), float(event.data.get("blend", 0.0)))
            if event.kind == HAND_SCALE_EVENT:
                self._hand_scale = float(event.data["scale"])

    def prepare(self) -> None:
        """Read what the first frame needs from disk (the avatar's skinned mesh, some 25 ms),
        so that frame does not wait for it: called where the session is opened, off the
        render thread (``app.console_run.open_beside``). The rig is fitted at the first frame,
        once its calibration is known."""
        if self._skin is None:
            self._skin = load_skinned_gltf(model_path(self.appearance.avatar_model))

    def _avatar(self, body: BodyPose) -> SkinnedItem:
        if self._rig is None:  # fitted once, on the first frame, before anything is shown
            measures = (self.calibration or Calibration.uncalibrated()).measures
            self.prepare()
            assert self._skin is not None, "prepare() read it"
            self._rig = AvatarRig(skin=self._skin, measures=measures)
        outside = self._rig.palette(body.world_from_joint)  # the therapist's view shows the head
        palette = self._rig.first_person(outside, body.world_from_joint)
        return SkinnedItem(self.appearance.avatar_model, palette, self.appearance.tint,
                           third_person_palette=outside)

    # --- picture and records ---------------------------------------------------------------

    def _room(self) -> DrawList:
        """The clinic room placed around the calibrated patient: its chair under the pelvis,
        its table in front (room coordinates have the eyes above the origin, facing -Z).
        Drawn as the few merged groups of ``clinic_room_groups`` (a call or two per view)."""
        if self._placed_room is None:
            calibration = self.calibration or Calibration.uncalibrated()
            world_from_room = np.eye(4)
            world_from_room[:3, :3] = calibration.body_rotation()
            world_from_room[:3, 3] = calibration.origin
            world_from_room = world_from_room @ translation_matrix(np.array([0.0, 0.0, -SEATED_PELVIS_BEHIND_EYES_M]))
            room = room_draw_list(None)
            meshes = tuple(replace(m, world_from_mesh=world_from_room @ m.world_from_mesh) for m in clinic_room_groups())
            placed = replace(room, meshes=meshes)
            if self.calibration is None:
                return placed  # not fixed yet: place it again once calibrated
            self._placed_room = placed
        return self._placed_room

    def _compose(self, task: DrawList, body: BodyPose, show_room: bool) -> DrawList:
        # The controllers are not drawn: the patient sees the avatar's hands, and the
        # affected side's real controller must never show in mirror mode.
        room = self._room() if show_room else DrawList()
        return DrawList(
            meshes=room.meshes + task.meshes,
            skinned=(self._avatar(body),) + task.skinned,
            texts=task.texts,
            clear_color=room.clear_color if show_room else task.clear_color,
            fade=task.fade,
        )

    def _record(self, frame: TrackingFrame, body: BodyPose, events: tuple[Event, ...],
                records: tuple[Record, ...], presented_later: bool = False) -> None:
        if presented_later:
            self._unpresented = (frame, body)
        else:
            self._record_frame(frame, body, None)
        if self._finished:
            return
        if self.streams is not None:
            for event in events:
                self.streams.event(event)
            for record in records:
                if isinstance(record, RatingRecord):
                    self.streams.rating(record.value, record.time_s)
        if self.recorder is None:
            return
        for event in events:
            self.recorder.record_event(event)
        for record in records:
            self._store(record)

    def _record_frame(self, frame: TrackingFrame, body: BodyPose, submit_ns: int | None) -> None:
        """Hand one displayed frame, its body and its timing to the recorder and the streams.
        Every source locates the healthy limb's pose at the predicted display time, and the
        mirrored limb is solved from that same pose in the same frame: its delay is 0 frames
        whenever the limb is mirrored (mirror mode, or a blend not wholly real). A research
        block's delayed-feedback condition shows it its delay later: that delay over the
        frame interval (fractional frames; unknown on the first frame). Not a number when the
        limb is not mirrored, or a sham or hidden condition shows no live mirror."""
        mirrored = body.mode is LimbMode.MIRROR or (body.mode is LimbMode.BLEND and body.blend < 1.0)
        delay = 0.0 if mirrored and body.feedback in ("mirror", "delayed") else math.nan
        if body.feedback == "delayed" and not math.isnan(delay):
            interval_ns = frame.time_ns - self._last_display_ns if self._last_display_ns is not None else 0
            delay = body.feedback_delay_ms * 1e6 / interval_ns if interval_ns > 0 else math.nan
        self._last_display_ns = frame.time_ns
        timing = FrameTiming(frame.time_ns, frame.time_ns, submit_ns, delay)
        if self.recorder is not None and not self._finished:
            self.recorder.record_frame(frame, body, timing)
        if self.streams is not None:
            self.streams.frame(frame, body, timing)

    def _store(self, record: Record) -> None:
        """Hand one therapy record to the recorder: a task's start or end becomes a task row
        (and a block row for a block's task), a trial or repetition is stored under the task
        that produced it (the last open one)."""
        recorder = self.recorder
        assert recorder is not None
        if isinstance(record, TaskStarted):
            block_seq = None
            if record.block_index is not None:
                block_seq = recorder.begin_block(record.kind, record.time_s,
                                                 {"block_index": record.block_index, **record.params})
                self._block_seqs[record.block_index] = block_seq
                self._task_blocks[record.number] = record.block_index
            seq = recorder.begin_task(record.kind, record.time_s, block_seq, dict(record.params))
            self._task_seqs[record.number] = seq
            self._open_tasks.append(record.number)
        elif isinstance(record, TaskEnded):
            if record.number not in self._task_seqs:
                return
            recorder.end_task(self._task_seqs[record.number], record.time_s)
            block_index = self._task_blocks.get(record.number)
            if block_index is not None:
                recorder.end_block(self._block_seqs[block_index], record.time_s)
            if record.number in self._open_tasks:
                self._open_tasks.remove(record.number)
        else:
            task_seq = self._task_seqs[self._open_tasks[-1]] if self._open_tasks else None
            store_record(recorder, record, task_seq)


def store_record(recorder: SessionRecorder, record: TrialRecord | RatingRecord | StageRecord,
                 task_seq: int | None = None) -> None:
    """Hand a therapy record (trial, repetition, rating) to the session store's recorder as
    the row ``record_rows`` writes out for it; ``task_seq`` is the recorder's number of the
    task it belongs to (a rating belongs to the session, not to a task)."""
    if isinstance(record, RatingRecord):
        store_rating(recorder, record)
        return
    row = stored_row(record, task_seq)
    if isinstance(row, StoredRepetition):
        recorder.record_repetition(row)
    else:
        recorder.record_trial(row)


def _yaw_of(anchor: Pose) -> float:
    """Heading of a level (yaw-only) anchor pose, as the body calibration measures it
    (radians about +Y)."""
    _, y, _, w = anchor.orientation
    return 2.0 * math.atan2(y, w)
