"""Movement tasks of mirror therapy (stage 3) and graded real movement (stage 4): reach,
touch (press), trace and grasp-and-release, measured per repetition.

One ``MotorTask`` runs the repetitions of one task type. Each repetition:

1. **home**: a marker at the affected hand's rest position; the displayed affected hand must
   rest there (``HOME_RADIUS_M``) for ``HOME_DWELL_S``;
2. **active**: the target appears (its display time is ``shown_at_s``) with a pacing guide
   that moves to it over ``pace_s`` on a minimum-jerk profile; the repetition completes when
   the displayed affected hand stays inside the target for ``dwell_s`` (reach, touch), passes
   every checkpoint of the path in order and rests on the last (trace), or puts the object
   down in the place zone (grasp). After ``time_limit_s`` it is recorded as timed out;
3. **settle**: samples go on while the hand stays near the target (up to ``SETTLE_MAX_S``)
   so the end of a slow movement is seen at rest, then the ``RepetitionRecord`` with its
   measures (``measures.movement_measures``, from the target's appearance).

What is measured is the affected hand *as the live mode displays it* (``BodyPose.measured``):
in mirror therapy the reflection of the healthy hand, in graded movement the affected hand's
own (or blended) tracking — the movement the patient sees their affected limb make, and the
same under a study's visual-feedback condition (delayed, sham, hidden: ``body.feedback``),
which changes only the picture. Targets are
placed by ``plan_repetitions`` in a ``workspace.Workspace``; for mirror therapy the plan is
made in the healthy side's workspace and reflected across the midline
(``reflect_plans``), so every target is reachable by the mirrored hand.

Safety: the runner stops a task in the frame a pain flare or stop happens and calls
``interrupt``; a repetition in progress is then voided ("repetition.void") and repeated
from home on the next ``update`` — except one already completed and settling, which is
recorded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.core.events import Event
from gmi_vr.core.types import FloatArray, Pose, Side, TrackingFrame
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.contexts import combine, context_scene, instruction
from gmi_vr.therapy.content.workspace import Workspace, reflect_across_midline
from gmi_vr.therapy.plan.grading import MotorGrading, MotorKind
from gmi_vr.therapy.results.measures import distance_to_polyline, minimum_jerk, movement_measures
from gmi_vr.therapy.results.stage_records import RepetitionRecord
from gmi_vr.therapy.tasks.base import TaskStep

#: The hand must rest (slower than ``REST_SPEED_M_S``) this close to the home marker, this
#: long, before a target appears. Product choice: a clear, calm start from rest for every
#: repetition, so its movement is measured from rest.
HOME_RADIUS_M = 0.07
HOME_DWELL_S = 0.3
REST_SPEED_M_S = 0.03
#: After completion, samples are kept while the hand stays near the target (within twice
#: its radius), up to this long, so the end of a slow movement is seen at rest; the hand's
#: return ends it earlier. Product choice.
SETTLE_MAX_S = 1.0
#: Grasp: the hand closes on the object within this distance, with the grip (squeeze) past
#: ``GRIP_CLOSE`` and opens it below ``GRIP_OPEN`` (hysteresis against flicker).
GRASP_RADIUS_M = 0.08
GRIP_CLOSE = 0.6
GRIP_OPEN = 0.3
#: Object size (a cup: 8 cm across, 10 cm tall).
OBJECT_SIZE_M = (0.08, 0.10)

TARGET_COLOR: RGBA = (0.45, 0.62, 0.85, 0.9)  # calm blue
DONE_COLOR: RGBA = (0.45, 0.72, 0.5, 0.9)  # muted green, as the stage-1 feedback
HOME_COLOR: RGBA = (0.78, 0.80, 0.84, 0.8)
GUIDE_COLOR: RGBA = (1.0, 1.0, 1.0, 0.35)
PATH_COLOR: RGBA = (0.60, 0.70, 0.85, 0.7)
OBJECT_COLOR: RGBA = (0.90, 0.86, 0.78, 1.0)
MIRROR_HINT_COLOR: RGBA = (0.45, 0.62, 0.85, 0.35)

#: Horizontal target directions from forward (positive = outward, away from the midline) by
#: complexity: straight ahead first, then a fan, then across the midline (CLINICAL.md:
#: simple before complex).
AZIMUTHS_DEG: dict[int, tuple[float, ...]] = {1: (0.0,), 2: (-20.0, 0.0, 20.0, 40.0),
                                              3: (-45.0, -20.0, 0.0, 30.0, 60.0)}


@dataclass(frozen=True)
class RepetitionPlan:
    """Where one repetition's things are (world metres): ``home`` the start position,
    ``target`` what completes it (reach/touch target, the path's end, the place zone),
    ``path`` (k, 3) the checkpoints to pass in order (trace; else just the target),
    ``pick`` the object's start (grasp)."""

    index: int
    home: FloatArray
    target: FloatArray
    path: FloatArray
    pick: FloatArray | None = None


def plan_repetitions(kind: MotorKind, grading: MotorGrading, workspace: Workspace,
                     seed: int, max_across_m: float | None = None) -> list[RepetitionPlan]:
    """``grading.repetitions`` plans in ``workspace``; directions cycle through the
    complexity's fan in an order drawn from ``seed``. ``max_across_m``: no point lies
    further than this across (towards the midline) from the rest position."""
    rng = np.random.default_rng(seed)
    fan = np.radians(AZIMUTHS_DEG[grading.complexity])
    order: list[float] = []
    while len(order) < grading.repetitions:
        order.extend(float(a) for a in rng.permutation(fan))
    f = grading.range_fraction
    home = workspace.rest
    plans = []
    for index, azimuth in enumerate(order[: grading.repetitions]):
        pick = None
        if kind is MotorKind.REACH:
            target = workspace.point(azimuth, f, grading.height_m)
            path = target[None]
        elif kind is MotorKind.TOUCH:
            target = workspace.point(azimuth, f, 0.0)
            path = target[None]
        elif kind is MotorKind.TRACE:
            path = _trace_path(workspace, grading.complexity, f, index)
            target = path[-1]
        else:
            pick = workspace.point(azimuth, 0.5 * f, 0.0)
            turn = np.radians(40.0 if grading.complexity == 1 else 70.0)
            place_azimuth = azimuth + turn if azimuth <= 0 else azimuth - turn
            lift = 0.12 if grading.complexity == 3 else 0.0
            target = workspace.point(place_azimuth, f, lift)
            path = target[None]
        if max_across_m is not None:
            target, path = _within(workspace, target, max_across_m), _within(workspace, path, max_across_m)
            pick = None if pick is None else _within(workspace, pick, max_across_m)
        plans.append(RepetitionPlan(index, home, target, path, pick))
    return plans


def _within(workspace: Workspace, points: FloatArray, max_across_m: float) -> FloatArray:
    """``points`` (..., 3) moved outward where they lie more than ``max_across_m`` across."""
    outward = (np.asarray(points) - workspace.rest) @ workspace.outward
    shift = np.maximum(0.0, -max_across_m - outward)
    return np.asarray(points) + shift[..., None] * workspace.outward


def _trace_path(workspace: Workspace, complexity: int, fraction: float, index: int) -> FloatArray:
    """Checkpoints (k, 3): a straight line ahead (1), an arc from ahead to the side (2), a
    zigzag ahead (3). Alternate repetitions of 2 and 3 run mirrored for variety."""
    forward = fraction * workspace.reach("forward")
    if complexity == 1:
        return np.array([workspace.world(forward * s, 0.0, 0.0) for s in (0.25, 0.5, 0.75, 1.0)])
    sign = 1.0 if index % 2 == 0 else -1.0
    if complexity == 2:
        radius = fraction * min(workspace.reach("forward"), workspace.reach("outward"),
                                workspace.reach("across"))
        angles = np.radians([0.0, 22.5, 45.0, 67.5, 90.0]) * sign
        approach = [workspace.world(radius * s, 0.0, 0.0) for s in (0.5,)]
        arc = [workspace.world(radius * np.cos(a), 0.0, radius * np.sin(a)) for a in angles]
        return np.array(approach + arc)
    side = 0.3 * forward * sign
    return np.array([workspace.world(forward * s, 0.0, o) for s, o in
                     ((0.25, side), (0.5, -side), (0.75, side), (1.0, 0.0))])


def reflect_plans(anchor: Pose, plans: list[RepetitionPlan]) -> list[RepetitionPlan]:
    """Plans made in the healthy side's workspace, reflected across the midline: where the
    mirrored healthy hand will be when the healthy hand reaches the original points."""
    def mirror(points: FloatArray | None) -> FloatArray | None:
        return None if points is None else reflect_across_midline(anchor, points)

    return [RepetitionPlan(p.index, reflect_across_midline(anchor, p.home),
                           reflect_across_midline(anchor, p.target),
                           reflect_across_midline(anchor, p.path), mirror(p.pick)) for p in plans]



#: XR_EXT_hand_tracking's palm joint (index 0 of the 26), the tracked hand's stand-in for a
#: controller's grip when the affected hand holds none.
PALM_JOINT = 0

class _Phase(StrEnum):
    HOME = "home"
    ACTIVE = "active"
    SETTLE = "settle"
    DONE = "done"


@dataclass(frozen=True)
class MotorSetup:
    """What a ``MotorTask`` needs besides its plans.

    ``side``: the affected side, whose displayed hand is measured. ``input_side``: the
    controller whose grip closes a grasp (the healthy one in mirror therapy). ``phase``:
    "healthy" | "both" (mirror therapy) or "real" | "blend" (graded movement).
    """

    kind: MotorKind
    task_kind: str  # the name in events, e.g. "mirror_reach"
    stage: int
    phase: str
    limb_mode: LimbMode
    blend: float
    side: Side
    input_side: Side
    anchor: Pose
    block_index: int
    grading: MotorGrading
    context: str = "clinic"


INSTRUCTIONS: dict[str, str] = {
    "healthy": "Move your {healthy} hand slowly.\nWatch your {affected} hand {verb}.",
    "both": "Move both hands together, slowly,\nlike mirror images. Watch your {affected} hand.",
    "real": "Slowly move your {affected} hand\nonly as far as is comfortable.",
    "blend": "Slowly move your {affected} hand\nonly as far as is comfortable.",
}
VERBS: dict[MotorKind, str] = {
    MotorKind.REACH: "reach the ball",
    MotorKind.TOUCH: "press the button",
    MotorKind.TRACE: "follow the path",
    MotorKind.GRASP: "move the cup to the ring",
}


class MotorTask:
    """The repetitions of one movement task type (see the module docstring)."""

    involves_movement = True
    #: A repetition still in motion after a scheduled question's longest wait may be voided
    #: and repeated (``base.TrialPaced``).
    cut_when_late = True
    # Per-repetition state (``_reset_repetition``).
    _home_since: float | None
    _previous: tuple[float, FloatArray] | None  # last displayed hand sample while at home
    _shown_at: float
    _times: list[float]
    _points: list[FloatArray]
    _last_sample_s: float
    _sync: list[float]
    _inside_since: float | None
    _checkpoint: int
    _completed_at: float | None
    _timed_out: bool
    _object: FloatArray | None
    _held_offset: FloatArray | None

    def __init__(self, setup: MotorSetup, plans: list[RepetitionPlan]) -> None:
        self.setup = setup
        self.kind = setup.task_kind
        self.limb_mode = setup.limb_mode
        self.blend = setup.blend
        self.scene_context = setup.context
        self.plans = plans
        self.records: list[RepetitionRecord] = []
        self._index = 0
        self._phase = _Phase.HOME if plans else _Phase.DONE
        self._started = False
        self._context = context_scene(setup.context, setup.anchor)
        self._reset_repetition()

    # --- the Task protocol ---------------------------------------------------------------

    @property
    def between_trials(self) -> bool:
        """No repetition in motion (``base.TrialPaced``): at home, settling (a question then
        stores it), or done."""
        return self._phase is not _Phase.ACTIVE

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """One focused frame of the task (``Task.update``): what to draw, what happened, what to store."""
        now = frame.time_s
        events: list[Event] = []
        records: list[RepetitionRecord] = []
        if self._phase is _Phase.DONE and self._started:  # finished: nothing more happens
            return TaskStep(done=True)
        if not self._started:
            self._started = True
            events.append(Event(now, "task.start", {
                "task": self.kind, "phase": self.setup.phase, "repetitions": len(self.plans),
                "limb_mode": self.limb_mode.value, "blend": self.blend,
                "grading": dataclasses.asdict(self.setup.grading),
            }))
            events.append(Event(now, "body.mode", {"mode": self.limb_mode.value,
                                                   "blend": self.blend}))
            events.append(Event(now, "cue.audio", {"text": self._instruction().replace("\n", " ")}))
        hand = self._displayed(body)
        if self._phase is _Phase.HOME:
            self._update_home(now, hand, events)
        # Not ``elif``: the frame that shows the target is the repetition's first sample, the
        # hand at rest before it moves. Without it a reach begun by the next frame (a quick
        # patient, or frames missed on a busy machine) would be measured from mid-movement.
        if self._phase is _Phase.ACTIVE:
            self._sample(now, hand, frame)
            self._update_active(now, hand, frame, events)
        if self._phase is _Phase.SETTLE:
            if self._last_sample_s < now:
                self._sample(now, hand, frame)
            near = hand is not None and (
                np.linalg.norm(hand - self.plan.target) <= 2 * self.setup.grading.target_radius_m)
            assert self._completed_at is not None
            if not near or now - self._completed_at >= SETTLE_MAX_S - 1e-9:
                records.append(self._finish(now, events))
        done = self._phase is _Phase.DONE
        if done:
            events.append(Event(now, "task.end", {"task": self.kind,
                                                  "repetitions": len(self.records)}))
        return TaskStep(self._draw(now, hand), tuple(events), tuple(records), done)

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """Pause or stop at ``time_s`` on the frame clock (``Task.interrupt``): a repetition settling is finished and stored, one in motion is voided."""
        events: list[Event] = []
        records: list[RepetitionRecord] = []
        if self._phase is _Phase.SETTLE:
            records.append(self._finish(time_s, events))
        elif self._phase is _Phase.ACTIVE:
            events.append(Event(time_s, "repetition.void", {
                "task": self.kind, "repetition": self._index, "reason": reason}))
            self._phase = _Phase.HOME
            self._reset_repetition()
        elif self._phase is _Phase.HOME:
            self._home_since, self._previous = None, None
        return TaskStep(events=tuple(events), records=tuple(records))

    # --- repetition state ------------------------------------------------------------------

    @property
    def plan(self) -> RepetitionPlan:
        """The plan of the current repetition (the last one once all are done)."""
        return self.plans[min(self._index, len(self.plans) - 1)]

    def _reset_repetition(self) -> None:
        self._home_since = None
        self._previous = None
        self._shown_at = 0.0
        self._times = []
        self._points = []
        self._last_sample_s = -np.inf
        self._sync = []
        self._inside_since = None
        self._checkpoint = 0
        self._completed_at = None
        self._timed_out = False
        self._object = None if not self.plans or self.plan.pick is None else self.plan.pick.copy()
        self._held_offset = None

    def _displayed(self, body: BodyPose | None) -> FloatArray | None:
        if body is None:
            return None
        pose, valid = body.measured(self.setup.side)  # the live hand, whatever a study shows
        return np.array(pose.position) if valid else None

    def _update_home(self, now: float, hand: FloatArray | None, events: list[Event]) -> None:
        at_home = hand is not None and np.linalg.norm(hand - self.plan.home) <= HOME_RADIUS_M
        previous, self._previous = self._previous, (now, hand) if hand is not None else None
        if at_home and previous is not None and now > previous[0]:
            assert hand is not None
            at_home = np.linalg.norm(hand - previous[1]) / (now - previous[0]) <= REST_SPEED_M_S
        if not at_home:
            self._home_since = None
            return
        if self._home_since is None:
            self._home_since = now
        if now - self._home_since >= HOME_DWELL_S - 1e-9:
            self._phase = _Phase.ACTIVE
            self._shown_at = now  # this frame is the first to show the target
            events.append(Event(now, "repetition.show", {
                "task": self.kind, "repetition": self._index,
                "target": [float(v) for v in self.plan.target]}))

    def _sample(self, now: float, hand: FloatArray | None, frame: TrackingFrame) -> None:
        if hand is None:
            return
        self._times.append(now)
        self._points.append(hand)
        self._last_sample_s = now
        if self.setup.phase == "both":
            # The real affected hand, where it is tracked: its controller's grip, or, for a
            # hand that cannot hold one, the palm as hand tracking sees it.
            own = frame.hand(self.setup.side)
            real: FloatArray | None = None
            if own.grip_valid:
                real = np.array(own.grip.position)
            elif own.joints is not None and own.joints_valid is not None and own.joints_valid[PALM_JOINT]:
                real = np.array(own.joints[PALM_JOINT, :3])
            if real is not None:
                self._sync.append(float(np.linalg.norm(real - hand)))

    def _update_active(self, now: float, hand: FloatArray | None, frame: TrackingFrame,
                       events: list[Event]) -> None:
        grading = self.setup.grading
        kind = self.setup.kind
        radius = grading.target_radius_m
        complete = False
        if hand is not None:
            if kind is MotorKind.GRASP:
                complete = self._update_grasp(now, hand, frame)
            else:
                if kind is MotorKind.TRACE and self._checkpoint < len(self.plan.path) - 1:
                    if np.linalg.norm(hand - self.plan.path[self._checkpoint]) <= radius:
                        self._checkpoint += 1
                        events.append(Event(now, "trace.checkpoint", {
                            "task": self.kind, "repetition": self._index,
                            "checkpoint": self._checkpoint}))
                on_last = kind is not MotorKind.TRACE or self._checkpoint == len(self.plan.path) - 1
                inside = on_last and np.linalg.norm(hand - self.plan.target) <= radius
                if not inside:
                    self._inside_since = None
                else:
                    if self._inside_since is None:
                        self._inside_since = now
                    complete = now - self._inside_since >= grading.dwell_s - 1e-9
        if complete:
            self._completed_at = now
            self._phase = _Phase.SETTLE
            events.append(Event(now, "repetition.complete", {
                "task": self.kind, "repetition": self._index}))
        elif now - self._shown_at >= grading.time_limit_s:
            self._timed_out = True
            self._completed_at = now
            events.append(Event(now, "repetition.timeout", {
                "task": self.kind, "repetition": self._index}))
            self._phase = _Phase.SETTLE

    def _update_grasp(self, now: float, hand: FloatArray, frame: TrackingFrame) -> bool:
        assert self._object is not None
        squeeze = frame.hand(self.setup.input_side).squeeze
        if self._held_offset is None:
            if squeeze >= GRIP_CLOSE and np.linalg.norm(hand - self._object) <= GRASP_RADIUS_M:
                self._held_offset = self._object - hand
            return False
        self._object = hand + self._held_offset
        if squeeze > GRIP_OPEN:
            return False
        self._held_offset = None  # released: the object rests where it was let go
        place = self.plan.target
        horizontal = self._object - place
        horizontal = horizontal - (horizontal @ np.array([0.0, 1.0, 0.0])) * np.array([0.0, 1.0, 0.0])
        if np.linalg.norm(horizontal) <= 2 * self.setup.grading.target_radius_m:
            self._object = place + horizontal  # set down on the place's surface
            return True
        self._object = self._object.copy()
        self._object[1] = self.plan.pick[1] if self.plan.pick is not None else self._object[1]
        return False

    def _finish(self, now: float, events: list[Event]) -> RepetitionRecord:
        plan = self.plan
        grading = self.setup.grading
        completed = not self._timed_out
        times = np.array(self._times)
        points = np.array(self._points).reshape(-1, 3)
        measures = movement_measures(times, points, self._completed_at) if len(times) >= 3 else None
        error: float | None = None
        if measures is not None:
            start = int(np.searchsorted(times, measures.onset_s))
            stop = int(np.searchsorted(times, measures.end_s)) + 1
            if self.setup.kind is MotorKind.TRACE:
                polyline = np.vstack([plan.home[None], plan.path])
                error = float(distance_to_polyline(points[start:stop], polyline).mean())
            elif self.setup.kind is MotorKind.GRASP:
                if self._object is not None:
                    error = float(np.linalg.norm(self._object - plan.target))
            else:
                error = float(np.linalg.norm(np.array(measures.end_position) - plan.target))
        record = RepetitionRecord(
            block_index=self.setup.block_index, task=self.setup.kind.value,
            repetition_index=self._index, stage=self.setup.stage, phase=self.setup.phase,
            limb_mode=self.limb_mode.value, blend=self.blend, side=self.setup.side.value,
            target=(float(plan.target[0]), float(plan.target[1]), float(plan.target[2])),
            range_fraction=grading.range_fraction, pace_s=grading.pace_s,
            complexity=grading.complexity, shown_at_s=self._shown_at,
            completed_at_s=None if self._timed_out else self._completed_at,
            completed=completed, timed_out=self._timed_out,
            onset_s=None if measures is None else measures.onset_s,
            end_s=None if measures is None else measures.end_s,
            duration_s=None if measures is None else measures.duration_s,
            path_length_m=None if measures is None else measures.path_length_m,
            peak_speed_m_s=None if measures is None else measures.peak_speed_m_s,
            sparc=None if measures is None else measures.sparc,
            ldlj=None if measures is None else measures.ldlj,
            target_error_m=error,
            sync_error_m=float(np.mean(self._sync)) if self._sync else None,
        )
        self.records.append(record)
        events.append(Event(now, "repetition.record", record.to_dict()))
        self._index += 1
        if self._index >= len(self.plans):
            self._phase = _Phase.DONE
        else:
            self._phase = _Phase.HOME
            self._reset_repetition()
        return record

    # --- drawing ---------------------------------------------------------------------------

    def _draw(self, now: float, hand: FloatArray | None) -> DrawList:
        setup = self.setup
        meshes: list[MeshItem] = []
        texts: list[TextItem] = []
        affected = setup.side.value
        message = self._instruction()
        if self._phase is _Phase.DONE:
            texts.append(instruction(setup.anchor, "Well done."))
            return combine(self._context, DrawList(texts=tuple(texts)))
        plan = self.plan
        count = f"{self._index + 1} of {len(self.plans)}"
        if self._phase is _Phase.HOME:
            texts.append(instruction(setup.anchor, f"Rest your {affected} hand on the grey marker.\n{count}"))
            meshes.append(_disc(plan.home, HOME_RADIUS_M, HOME_COLOR))
        else:
            texts.append(instruction(setup.anchor, f"{message}\n{count}"))
            done = self._phase is _Phase.SETTLE and not self._timed_out
            color = DONE_COLOR if done else TARGET_COLOR
            radius = setup.grading.target_radius_m
            kind = setup.kind
            if kind is MotorKind.REACH:
                meshes.append(_sphere(plan.target, radius, color))
            elif kind is MotorKind.TOUCH:
                meshes.append(_disc(plan.target, radius, color, thickness=0.02))
            elif kind is MotorKind.TRACE:
                polyline = np.vstack([plan.home[None], plan.path])
                meshes += [_sphere(p, 0.012, PATH_COLOR) for p in _dots(polyline, 0.03)]
                for i, point in enumerate(plan.path):
                    passed = i < self._checkpoint or done
                    meshes.append(_sphere(point, radius * 0.6, DONE_COLOR if passed else TARGET_COLOR))
            else:
                meshes.append(_disc(plan.target, 2 * radius, color, thickness=0.005))
                if self._object is not None:
                    meshes.append(_cup(self._object))
            if setup.phase == "both":  # the healthy hand's own target, unmirrored
                twin = reflect_across_midline(setup.anchor, plan.target)
                meshes.append(_sphere(twin, radius, MIRROR_HINT_COLOR))
            if self._phase is _Phase.ACTIVE and kind is not MotorKind.GRASP:
                meshes.append(_sphere(self._guide(now), 0.02, GUIDE_COLOR))
        return combine(self._context, DrawList(meshes=tuple(meshes), texts=tuple(texts)))

    def _instruction(self) -> str:
        setup = self.setup
        return INSTRUCTIONS[setup.phase].format(
            healthy=setup.side.other.value, affected=setup.side.value, verb=VERBS[setup.kind])

    def _guide(self, now: float) -> FloatArray:
        """The pacing guide: along home -> path at a minimum-jerk pace over ``pace_s``."""
        polyline = np.vstack([self.plan.home[None], self.plan.path])
        fraction = (now - self._shown_at) / self.setup.grading.pace_s
        progress = float(minimum_jerk(np.zeros(1), np.ones(1), np.array([fraction]))[0, 0])
        return _along(polyline, progress)


def _along(polyline: FloatArray, fraction: float) -> FloatArray:
    lengths = np.linalg.norm(np.diff(polyline, axis=0), axis=1)
    total = float(lengths.sum())
    last: FloatArray = polyline[-1]
    if total <= 0:
        return last
    distance = min(1.0, max(0.0, fraction)) * total
    for start, length, end in zip(polyline[:-1], lengths, polyline[1:], strict=True):
        if distance <= length and length > 0:
            point: FloatArray = start + (end - start) * (distance / length)
            return point
        distance -= length
    return last


def _dots(polyline: FloatArray, spacing_m: float) -> list[FloatArray]:
    total = float(np.linalg.norm(np.diff(polyline, axis=0), axis=1).sum())
    count = max(2, int(total / spacing_m))
    return [_along(polyline, i / (count - 1)) for i in range(count)]


def _sphere(centre: FloatArray, radius: float, color: RGBA) -> MeshItem:
    m = np.diag([2 * radius, 2 * radius, 2 * radius, 1.0])
    m[:3, 3] = centre
    return MeshItem("sphere", m, color)


def _disc(centre: FloatArray, radius: float, color: RGBA, thickness: float = 0.004) -> MeshItem:
    m = np.diag([2 * radius, thickness, 2 * radius, 1.0])
    m[:3, 3] = centre
    return MeshItem("cylinder", m, color)


def _cup(position: FloatArray) -> MeshItem:
    width, height = OBJECT_SIZE_M
    m = np.diag([width, height, width, 1.0])
    m[:3, 3] = position
    return MeshItem("cylinder", m, OBJECT_COLOR)
