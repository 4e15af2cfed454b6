"""The per-frame body solve: TrackingFrame + calibration + settings -> BodyPose.

Order: head → neck and torso (seated: the pelvis stays on the chair; standing: it hangs under
the neck) → legs (feet planted) → hand targets (grip poses, with tracking-loss handling) →
the affected hand by the mode → two-bone arm IK with a natural elbow pole → wrists → fingers
→ limb presence (hidden or shortened limbs).

Mirroring uses the calibrated midline plane only (``Calibration.midline_plane``), never the
live head yaw, and reads nothing but the current frame: the mirrored hand has zero frames of
lag. Time comes from ``frame.time_s``.

Stated continuity bound (enforced in ``_Limiter``, tested): after any discontinuity — a
controller's tracking returning, a change of mode, affected side, blend factor or
calibration — each displayed grip pose moves at most ``BodySettings.return_max_step_m``
metres and turns at most ``return_max_turn_deg`` degrees per frame until it has caught up with
its target, then follows it exactly again. While a controller is lost its hand first holds
still for ``loss_hold_s``, then eases to rest over ``loss_ease_s`` with a smoothstep (peak
speed 1.5 × distance / loss_ease_s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from gmi_vr.body.calibration import Calibration, Posture, eye_in_head
from gmi_vr.body.feedback import FeedbackCondition, FeedbackKind, FeedbackState, LimbSample
from gmi_vr.body.hands import (
    FingerCurls,
    FingerModel,
    finger_locals_from_tracked,
    grip_offset,
    tracked_joints_usable,
    wrist_from_tracked,
)
from gmi_vr.body.ik import frame_from_axes, solve_two_bone
from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.body.skeleton import (
    BONE_CHILD,
    JOINT_INDEX,
    JOINT_NAMES,
    PARENTS,
    limb_joints,
    rest_offsets,
    rest_positions,
    side_joint,
)
from gmi_vr.core.errors import InputFileError
from gmi_vr.core.types import FloatArray, HandInput, Pose, Side, TrackingFrame
from gmi_vr.geometry.reflect import reflect_pose7
from gmi_vr.geometry.transforms import (
    compose_pose7,
    invert_pose7,
    quat_from_matrix,
    quat_multiply,
    quat_slerp,
    quat_to_matrix,
    rotation_from_axis_angle,
)

SIDES = (Side.LEFT, Side.RIGHT)
#: The smallest displayed affected hand (``BodySettings.affected_hand_scale``).
MIN_HAND_SCALE = 0.7


@dataclass(frozen=True)
class LimbPresence:
    """How much of each limb is drawn, measured from the shoulder or hip along the limb:
    1 = whole, 0 = hidden, in between shortened (with average proportions, arm: ~0.42 at the
    elbow, ~0.75 at the wrist; leg: ~0.38 at the knee, ~0.77 at the ankle). For amputees who
    should see their residual limb."""

    left_arm: float = 1.0
    right_arm: float = 1.0
    left_leg: float = 1.0
    right_leg: float = 1.0

    def fraction(self, side: Side, limb: str) -> float:
        """How much of ``limb`` ("arm" or "leg") on ``side`` is shown, 0..1 (clamped)."""
        value = getattr(self, f"{side.value}_{limb}")
        return float(min(1.0, max(0.0, value)))


@dataclass(frozen=True)
class BodySettings:
    """What the therapist controls, per patient and live. ``affected_side`` None means the
    calibration's. ``blend`` (BLEND mode): 0 = the mirrored limb, 1 = its own tracking."""

    mode: LimbMode = LimbMode.MIRROR
    blend: float = 0.0
    affected_side: Side | None = None
    limbs: LimbPresence = field(default_factory=LimbPresence)
    #: Tracking loss: hold the last pose, then ease to rest. A short hold rides out momentary
    #: occlusions without motion; 1.5 s to rest is slow enough not to startle (estimates).
    loss_hold_s: float = 0.5
    loss_ease_s: float = 1.5
    #: Continuity bound after a discontinuity: 2 cm and 4° per frame (1.8 m/s and 360°/s at
    #: 90 Hz: about a brisk reach, so catching up takes a few frames but never jumps).
    return_max_step_m: float = 0.02
    return_max_turn_deg: float = 4.0
    #: Size of the displayed affected hand, scaled about its wrist: 0.7 (minified) to 1.0,
    #: never larger. CLINICAL.md: in chronic hand pain, watching the limb magnified while
    #: moving raised movement-evoked pain and swelling most and minified least (Moseley,
    #: Parsons & Spence 2008, Curr Biol 18:R1047); "never enlarge it". The lower bound is a
    #: product choice: small enough to be seen as smaller, large enough to stay one's own hand.
    affected_hand_scale: float = 1.0
    #: The visual-feedback condition of the running block (``feedback``; studies only): set
    #: per block by the app, never stored with the patient's settings.
    feedback: FeedbackCondition = field(default_factory=FeedbackCondition)
    #: Where the resting affected limb really lies (seen touch, ``therapy.tasks.seen_touch``): the
    #: 4x4 rigid ``world_from_rest`` (16 floats, row-major) that carries the limb's resting
    #: pose onto landmarks touched on the real limb; None = the plain resting pose. Used in
    #: STILL mode only: a limb moved by tracking or the mirror lies where that puts it.
    registered_rest: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not MIN_HAND_SCALE <= self.affected_hand_scale <= 1.0:
            raise InputFileError(
                f"The displayed hand size must be between {MIN_HAND_SCALE} and 1.0 (never enlarged), "
                f"not {self.affected_hand_scale}."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for storing a patient's settings (JSON-safe)."""
        return {
            "mode": self.mode.value,
            "blend": self.blend,
            "affected_side": None if self.affected_side is None else self.affected_side.value,
            "limbs": dict(vars(self.limbs)),
            "loss_hold_s": self.loss_hold_s,
            "loss_ease_s": self.loss_ease_s,
            "return_max_step_m": self.return_max_step_m,
            "return_max_turn_deg": self.return_max_turn_deg,
            "affected_hand_scale": self.affected_hand_scale,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> BodySettings:
        """The settings stored by ``to_dict``; InputFileError naming the bad value otherwise."""
        try:
            side = data.get("affected_side")
            settings = BodySettings(
                mode=LimbMode(data.get("mode", LimbMode.MIRROR.value)),
                blend=float(data.get("blend", 0.0)),
                affected_side=None if side is None else Side(side),
                limbs=LimbPresence(**{k: float(v) for k, v in dict(data.get("limbs", {})).items()}),
                loss_hold_s=float(data.get("loss_hold_s", 0.5)),
                loss_ease_s=float(data.get("loss_ease_s", 1.5)),
                return_max_step_m=float(data.get("return_max_step_m", 0.02)),
                return_max_turn_deg=float(data.get("return_max_turn_deg", 4.0)),
                affected_hand_scale=float(data.get("affected_hand_scale", 1.0)),
            )
        except (TypeError, ValueError) as error:
            raise InputFileError(f"The stored body settings are unreadable ({error}); set them again.") from None
        if not (0.0 <= settings.blend <= 1.0) or settings.return_max_step_m <= 0 or settings.loss_ease_s < 0:
            raise InputFileError("The stored body settings are out of range; set them again.")
        return settings


class HandTracking(StrEnum):
    """Where a hand's displayed pose comes from this frame: live tracking, or held or eased
    towards rest after tracking was lost."""
    LIVE = "live"  # the controller (or tracked hand) is valid this frame
    FROZEN = "frozen"  # lost: holding the last live pose
    EASING = "easing"  # lost: easing towards rest
    REST = "rest"  # lost long enough (or never seen): at rest


@dataclass
class _HandTrack:
    last_live: FloatArray | None = None  # (7,) grip pose, world
    lost_since_s: float | None = None
    status: HandTracking = HandTracking.REST
    finger_locals: FloatArray | None = None  # (15, 3, 3) last live finger pose


class _Limiter:
    """Rate-limits one displayed grip after a discontinuity (see the module doc)."""

    def __init__(self) -> None:
        self.last: FloatArray | None = None
        self.catching_up = False

    def step(self, target: FloatArray, max_step_m: float, max_turn_rad: float) -> FloatArray:
        """The pose (7,) to show this frame: ``target`` itself, or while catching up a step of
        at most ``max_step_m`` metres and ``max_turn_rad`` radians from the last one towards it."""
        if self.last is None or not self.catching_up:
            self.last = target
            return target
        last = self.last
        delta = target[:3] - last[:3]
        distance = float(np.linalg.norm(delta))
        dot = float(np.clip(abs(last[3:] @ target[3:]), 0.0, 1.0))
        angle = 2.0 * math.acos(dot)
        if distance <= max_step_m and angle <= max_turn_rad:
            self.catching_up = False
            self.last = target
            return target
        position = last[:3] + delta * min(1.0, max_step_m / max(distance, 1e-12))
        orientation = quat_slerp(last[3:], target[3:], min(1.0, max_turn_rad / max(angle, 1e-12)))
        self.last = np.concatenate([position, orientation])
        return self.last


@dataclass
class BodyState:
    """Everything the solve remembers between frames (one per running session)."""

    tracks: dict[Side, _HandTrack] = field(default_factory=lambda: {s: _HandTrack() for s in SIDES})
    limiters: dict[Side, _Limiter] = field(default_factory=lambda: {s: _Limiter() for s in SIDES})
    last_head: Pose | None = None
    last_key: tuple[object, ...] | None = None
    model: _BodyModel | None = None
    feedback: FeedbackState = field(default_factory=FeedbackState)


def _lerp_pose(a: FloatArray, b: FloatArray, t: float) -> FloatArray:
    return np.concatenate([a[:3] + t * (b[:3] - a[:3]), quat_slerp(a[3:], b[3:], t)])


class _BodyModel:
    """What depends only on the calibration: bone offsets, lengths, rest hand poses."""

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration
        m = calibration.measures
        self.offsets = rest_offsets(m)
        self.rest = rest_positions(self.offsets)
        self.world_from_body = calibration.body_rotation()
        self.plane = calibration.midline_plane()
        self.eye_in_head = eye_in_head(m)
        i = JOINT_INDEX
        self.neck_above_hips = self.rest[i["neck"]] - self.rest[i["hips"]]
        self.head_length = float(np.linalg.norm(self.offsets[i["head"]]))
        self.rest_chain = self.world_from_body @ self.neck_above_hips
        self.rest_chain_unit = tuple((self.rest_chain / np.linalg.norm(self.rest_chain)).tolist())
        self.hips = calibration.hips_position()
        self.body_quat = quat_from_matrix(self.world_from_body)
        self.hand_length = m.hand_length_m
        self._wrist_in_grip: dict[tuple[Side, str], FloatArray] = {}
        self._grip_in_wrist: dict[tuple[Side, str], FloatArray] = {}
        self._legs_for_hips: tuple[float, ...] | None = None
        self._legs: tuple[FloatArray, FloatArray] | None = None
        self.arm_lengths = {
            s: (float(np.linalg.norm(self.offsets[side_joint(s, "LowerArm")])),
                float(np.linalg.norm(self.offsets[side_joint(s, "Hand")])))
            for s in SIDES
        }  # fmt: skip
        self.leg_lengths = {
            s: (float(np.linalg.norm(self.offsets[side_joint(s, "LowerLeg")])),
                float(np.linalg.norm(self.offsets[side_joint(s, "Foot")])))
            for s in SIDES
        }  # fmt: skip
        self.fingers = FingerModel(
            self.offsets, {s: side_joint(s, "ThumbMetacarpal") for s in SIDES}
        )
        self.finger_first = {s: side_joint(s, "ThumbMetacarpal") for s in SIDES}
        self.finger_offsets = {
            s: self.offsets[self.finger_first[s]:self.finger_first[s] + 15].reshape(5, 3, 3)
            for s in SIDES
        }  # fmt: skip
        self.finger_hands = np.repeat([side_joint(s, "Hand") for s in SIDES], 5)
        self.finger_offsets_both = np.concatenate([self.finger_offsets[s] for s in SIDES])  # (10, 3, 3)
        self.finger_levels = [
            np.array([self.finger_first[side] + 3 * f + level for side in SIDES for f in range(5)])
            for level in range(3)
        ]
        self.relaxed = {s: self.fingers.from_curls(s, FingerCurls.relaxed()) for s in SIDES}
        self._rest_wrists = {s: self._rest_wrist(s) for s in SIDES}
        self._rest_grips: dict[tuple[Side, str], FloatArray] = {}
        self.feet = {s: self._foot_target(s) for s in SIDES}
        self.limb_cuts = {
            (s, limb): self._limb_chain(s, limb) for s in SIDES for limb in ("arm", "leg")
        }

    def wrist_in_grip(self, side: Side, profile: str) -> FloatArray:
        """(7,) ``grip_from_wrist`` for this hand size and profile (cached: fixed per session)."""
        key = (side, profile)
        if key not in self._wrist_in_grip:
            self._wrist_in_grip[key] = grip_offset(profile).wrist_in_grip_pose(side, self.hand_length)
        return self._wrist_in_grip[key]

    def grip_from_wrist(self, side: Side, profile: str) -> FloatArray:
        """(7,) ``wrist_from_grip``: where the grip sits in the wrist frame (cached)."""
        key = (side, profile)
        if key not in self._grip_in_wrist:
            self._grip_in_wrist[key] = invert_pose7(self.wrist_in_grip(side, profile))
        return self._grip_in_wrist[key]

    def rest_grip(self, side: Side, profile: str = "") -> FloatArray:
        """(7,) the grip pose of a hand at rest, read with ``profile``'s offset (cached)."""
        key = (side, profile)
        if key not in self._rest_grips:
            self._rest_grips[key] = compose_pose7(self._rest_wrists[side], self.grip_from_wrist(side, profile))
        return self._rest_grips[key]

    def _rest_wrist(self, side: Side) -> FloatArray:
        """Hand at rest: seated on the thigh, palm down; standing hanging beside the thigh."""
        c = self.calibration
        sign = 1.0 if side is Side.RIGHT else -1.0
        hips_y = c.hips_height_m
        if c.posture is Posture.SEATED:
            wrist_body = np.array(
                [sign * (c.measures.hip_width_m / 2 + 0.02), hips_y + 0.10, -0.20 * c.measures.height_m / 1.7]
            )
            rotation = rotation_from_axis_angle(np.array([0.0, 1.0, 0.0]), sign * math.pi / 2)
        else:
            shoulder = self.rest[side_joint(side, "UpperArm")]
            wrist_body = shoulder + np.array([sign * 0.03, -0.96 * c.measures.arm_length_m, -0.03])
            rotation = rotation_from_axis_angle(np.array([0.0, 0.0, 1.0]), -sign * math.pi / 2)
        world_rotation = self.world_from_body @ rotation
        return np.concatenate(
            [c.origin + self.world_from_body @ wrist_body, quat_from_matrix(world_rotation)]
        )

    def _foot_target(self, side: Side) -> FloatArray:
        c = self.calibration
        sign = 1.0 if side is Side.RIGHT else -1.0
        ankle = -self.offsets[side_joint(side, "Toes")][1] / 0.8
        forward = 0.0
        if c.posture is Posture.SEATED:
            forward = -0.9 * float(np.linalg.norm(self.offsets[side_joint(side, "LowerLeg")]))
        local = np.array([sign * c.measures.hip_width_m / 2, ankle, forward])
        ankle_world: FloatArray = c.origin + self.world_from_body @ local
        return ankle_world

    def _limb_chain(self, side: Side, limb: str) -> tuple[list[int], list[float], list[int]]:
        """Main chain joints, their segment lengths, and every joint of the limb."""
        if limb == "arm":
            chain = [side_joint(side, b) for b in ("UpperArm", "LowerArm", "Hand")]
            lengths = [*self.arm_lengths[side], self.hand_length]
        else:
            chain = [side_joint(side, b) for b in ("UpperLeg", "LowerLeg", "Foot")]
            foot = float(np.linalg.norm(self.offsets[side_joint(side, "Toes")])) * 1.3
            lengths = [*self.leg_lengths[side], foot]
        return chain, lengths, list(limb_joints(side, limb))


def solve_body(
    frame: TrackingFrame, calibration: Calibration, settings: BodySettings, state: BodyState
) -> BodyPose:
    """Solve one frame. ``state`` carries tracking-loss and continuity memory between frames;
    pass the same ``BodyState()`` every frame of a session."""
    if state.model is None or state.model.calibration is not calibration:
        state.model = _BodyModel(calibration)
    model = state.model
    affected = settings.affected_side or calibration.affected_side
    healthy = affected.other
    condition = settings.feedback
    key = (settings.mode, round(settings.blend, 6), affected, id(calibration), condition)
    if state.last_key is not None and key != state.last_key:
        for limiter in state.limiters.values():
            limiter.catching_up = True
    state.last_key = key

    n = len(JOINT_NAMES)
    rotations = np.empty((n, 3, 3))
    positions = np.empty((n, 3))

    head = _head_pose(frame, model, state)
    _solve_torso(head, model, rotations, positions)
    _solve_legs(model, rotations, positions)

    # Hand targets in grip space, per side, with tracking-loss handling.
    # The grip <-> wrist offset of the profile each hand's pose is read with: a mirrored (or
    # blended, or resting) affected hand uses the healthy hand's, so the mirror is exact.
    mode = settings.mode
    profiles = {
        healthy: frame.hand(healthy).profile,
        affected: frame.hand(affected if mode is LimbMode.REAL else healthy).profile,
    }
    tracked: dict[Side, FloatArray] = {}
    fingers: dict[Side, FloatArray] = {}
    for side in SIDES:
        tracked[side], fingers[side] = _track_hand(frame, side, profiles[side], model, settings, state)

    mirrored = reflect_pose7(tracked[healthy], model.plane)
    mirrored_fingers = FingerModel.mirrored(fingers[healthy])
    blend = float(min(1.0, max(0.0, settings.blend)))
    targets = {healthy: tracked[healthy]}
    finger_targets = {healthy: fingers[healthy]}
    if mode is LimbMode.MIRROR:
        targets[affected], finger_targets[affected] = mirrored, mirrored_fingers
    elif mode is LimbMode.REAL:
        targets[affected], finger_targets[affected] = tracked[affected], fingers[affected]
    elif mode is LimbMode.BLEND:
        targets[affected] = _lerp_pose(mirrored, tracked[affected], blend)
        finger_targets[affected] = mirrored_fingers if blend < 0.5 else fingers[affected]
    else:  # STILL: the affected limb rests for imagery (where the real one lies, once registered)
        targets[affected] = model.rest_grip(affected, profiles[affected])
        if settings.registered_rest is not None:
            world_from_rest = np.asarray(settings.registered_rest, dtype=np.float64).reshape(4, 4)
            moved = np.concatenate([world_from_rest[:3, 3], quat_from_matrix(world_from_rest[:3, :3])])
            targets[affected] = compose_pose7(moved, targets[affected])
        finger_targets[affected] = model.relaxed[affected]

    live = {s: state.tracks[s].status is HandTracking.LIVE for s in SIDES}
    valid = {
        healthy: live[healthy],
        affected: {
            LimbMode.MIRROR: live[healthy],
            LimbMode.REAL: live[affected],
            LimbMode.BLEND: live[healthy] or live[affected],
            LimbMode.STILL: True,
        }[mode],
    }
    # The visual-feedback condition replaces what the affected limb shows (``feedback``);
    # the live limb stays what tasks measure.
    state.feedback.record(frame.time_s, LimbSample(targets[affected], finger_targets[affected], valid[affected]),
                          LimbSample(mirrored, mirrored_fingers, live[healthy]))
    measured: FloatArray | None = None
    measured_valid = valid[affected]
    if not condition.live:
        profile = profiles[affected]
        wrist = compose_pose7(targets[affected], model.wrist_in_grip(affected, profile))
        reached = _solve_arm(affected, wrist, model, rotations, positions)  # solved again below
        measured = compose_pose7(np.concatenate([reached, wrist[3:]]), model.grip_from_wrist(affected, profile))
    if mode is not LimbMode.STILL and condition.kind in (FeedbackKind.DELAYED, FeedbackKind.SHAM):
        if condition.kind is FeedbackKind.DELAYED:
            sample = state.feedback.delayed(frame.time_s, condition.delay_ms)
        else:
            sample = state.feedback.sham(frame.time_s, condition)
        if sample is None:  # a sham with no earlier movement to replay: the limb rests
            sample = LimbSample(model.rest_grip(affected, profiles[affected]), model.relaxed[affected], True)
        targets[affected], finger_targets[affected], valid[affected] = sample.grip, sample.fingers, sample.valid
    max_turn = math.radians(settings.return_max_turn_deg)
    displayed: dict[Side, FloatArray] = {}
    for side in SIDES:
        grip = state.limiters[side].step(targets[side], settings.return_max_step_m, max_turn)
        profile = profiles[side]
        wrist = compose_pose7(grip, model.wrist_in_grip(side, profile))
        wrist_reached = _solve_arm(side, wrist, model, rotations, positions)
        displayed[side] = compose_pose7(
            np.concatenate([wrist_reached, wrist[3:]]), model.grip_from_wrist(side, profile)
        )

    _solve_fingers(finger_targets, model, rotations, positions)
    world_from_joint = np.zeros((n, 4, 4))
    world_from_joint[:, :3, :3] = rotations
    world_from_joint[:, :3, 3] = positions
    world_from_joint[:, 3, 3] = 1.0
    if settings.affected_hand_scale < 1.0:
        _scale_hand(world_from_joint, affected, settings.affected_hand_scale)
    for side in SIDES:
        for limb in ("arm", "leg"):
            fraction = settings.limbs.fraction(side, limb)
            if fraction < 1.0:
                _cut_limb(world_from_joint, model.limb_cuts[(side, limb)], fraction)
                if limb == "arm" and fraction < 0.999:
                    valid[side] = False
    if settings.limbs.fraction(affected, "arm") < 0.999:
        measured_valid = False  # a shortened arm's hand is not there to measure, as live
    if condition.kind is FeedbackKind.HIDDEN:
        _cut_limb(world_from_joint, model.limb_cuts[(affected, "arm")], 0.0)
        valid[affected] = False

    return BodyPose(
        joint_names=JOINT_NAMES,
        world_from_joint=world_from_joint,
        displayed_left=Pose.from_array(displayed[Side.LEFT]),
        displayed_right=Pose.from_array(displayed[Side.RIGHT]),
        displayed_left_valid=bool(valid[Side.LEFT]),
        displayed_right_valid=bool(valid[Side.RIGHT]),
        affected_side=affected,
        mode=mode,
        blend=blend,
        feedback=condition.kind.value,
        feedback_delay_ms=condition.delay_ms,
        measured_affected=None if measured is None else Pose.from_array(measured),
        measured_affected_valid=bool(measured_valid),
    )


def _head_pose(frame: TrackingFrame, model: _BodyModel, state: BodyState) -> Pose:
    if frame.head_valid:
        state.last_head = frame.head
        return frame.head
    if state.last_head is not None:
        return state.last_head
    c = model.calibration
    eye = model.rest[JOINT_INDEX["head"]] - model.rest[JOINT_INDEX["hips"]] + model.eye_in_head
    position = c.hips_position() + model.world_from_body @ eye
    return Pose(position, quat_from_matrix(model.world_from_body))


def _solve_torso(head: Pose, model: _BodyModel, rotations: FloatArray, positions: FloatArray) -> None:
    i = JOINT_INDEX
    body = model.world_from_body
    head_rotation = quat_to_matrix(head.orientation)
    head_joint = head.position - head_rotation @ model.eye_in_head
    # The neck leans half as much as the head: average of the head's up and the world's up.
    up = head_rotation[:, 1] + np.array([0.0, 1.0, 0.0])
    up *= model.head_length / math.sqrt(float(up @ up))
    neck_target = head_joint - up
    if model.calibration.posture is Posture.SEATED:
        hips = model.hips
        ax, ay, az = model.rest_chain_unit
        bx, by, bz = (neck_target - hips).tolist()
        b_len = math.sqrt(bx * bx + by * by + bz * bz)
        bx, by, bz = bx / b_len, by / b_len, bz / b_len
        cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
        sin_angle = math.sqrt(cx * cx + cy * cy + cz * cz)
        angle = min(math.atan2(sin_angle, ax * bx + ay * by + az * bz), math.radians(60))  # a plausible lean
        axis = (cx / sin_angle, cy / sin_angle, cz / sin_angle) if sin_angle > 1e-9 else (1.0, 0.0, 0.0)
    else:
        hips = neck_target - model.rest_chain
        axis, angle = (1.0, 0.0, 0.0), 0.0
    rotations[i["hips"]] = body
    positions[i["hips"]] = hips
    parent_rotation = body
    for k, name in enumerate(("spine", "chest", "upperChest"), start=1):
        j = i[name]
        positions[j] = positions[PARENTS[j]] + parent_rotation @ model.offsets[j]
        rotations[j] = rotation_from_axis_angle(axis, angle * k / 3.0) @ body
        parent_rotation = rotations[j]
    upper_chest = rotations[i["upperChest"]]
    neck = i["neck"]
    positions[neck] = positions[i["upperChest"]] + upper_chest @ model.offsets[neck]
    half = 0.5 * angle
    bend = np.array([axis[0] * math.sin(half), axis[1] * math.sin(half), axis[2] * math.sin(half), math.cos(half)])
    q_chest = quat_multiply(bend, model.body_quat)
    q_head = np.asarray(head.orientation)
    rotations[neck] = quat_to_matrix(quat_slerp(q_chest, q_head, 0.5))
    positions[i["head"]] = positions[neck] + rotations[neck] @ model.offsets[i["head"]]
    rotations[i["head"]] = head_rotation
    for shoulder, upper_arm in _SHOULDER_JOINTS:  # the shoulder girdle moves with the chest
        positions[shoulder] = positions[PARENTS[shoulder]] + upper_chest @ model.offsets[shoulder]
        positions[upper_arm] = positions[shoulder] + upper_chest @ model.offsets[upper_arm]
        rotations[shoulder] = rotations[upper_arm] = upper_chest


_SHOULDER_JOINTS = tuple((side_joint(s, "Shoulder"), side_joint(s, "UpperArm")) for s in SIDES)
_ARM_JOINTS = {s: (side_joint(s, "UpperArm"), side_joint(s, "LowerArm"), side_joint(s, "Hand")) for s in SIDES}
_LEG_CHAIN = {s: tuple(side_joint(s, b) for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")) for s in SIDES}


_ARM_AXIS = {Side.LEFT: np.array([-1.0, 0.0, 0.0]), Side.RIGHT: np.array([1.0, 0.0, 0.0])}
_ARM_HINGE = {Side.LEFT: np.array([0.0, -1.0, 0.0]), Side.RIGHT: np.array([0.0, 1.0, 0.0])}
#: Natural elbow direction in the chest frame: down, a little out and back (elbows drop and
#: flare slightly when reaching; mirror-symmetric so mirrored elbows match).
_ELBOW_POLE = {Side.LEFT: np.array([-0.3, -1.0, 0.3]), Side.RIGHT: np.array([0.3, -1.0, 0.3])}
_LEG_AXIS = np.array([0.0, -1.0, 0.0])
_LEG_JOINTS = np.array([side_joint(s, b) for s in SIDES for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")])
_LEG_HINGE = np.array([-1.0, 0.0, 0.0])


def _solve_arm(side: Side, wrist: FloatArray, model: _BodyModel, rotations: FloatArray,
               positions: FloatArray) -> FloatArray:
    """Two-bone IK to the wrist pose (7,); returns the wrist position reached (3,)."""
    upper_j, lower_j, hand_j = _ARM_JOINTS[side]
    upper_m, lower_m = model.arm_lengths[side]
    hand_rotation = quat_to_matrix(wrist[3:])
    chest = rotations[JOINT_INDEX["upperChest"]]
    # The elbow also follows the hand's roll: palm down lifts it back, palm up drops it.
    pole = chest @ _ELBOW_POLE[side] + hand_rotation[:, 2]
    solution = solve_two_bone(positions[upper_j], wrist[:3], upper_m, lower_m, pole)
    u1 = (solution.middle - solution.root) / upper_m
    u2 = (solution.end - solution.middle) / lower_m
    rotations[upper_j] = frame_from_axes(_ARM_AXIS[side], u1, _ARM_HINGE[side], solution.hinge_axis)
    forearm = frame_from_axes(_ARM_AXIS[side], u2, _ARM_HINGE[side], solution.hinge_axis)
    # Pronation and supination happen along the forearm (the radius turns about the ulna),
    # not at the wrist: the forearm frame takes half of the hand's twist about the bone, so
    # the skin twists over the forearm's length instead of pinching at the wrist.
    # Twist about local X of R (swing-twist): 2 atan2(R21 - R12, 1 + trace R).
    relative = forearm.T @ hand_rotation
    twist = 2.0 * math.atan2(relative[2, 1] - relative[1, 2], 1.0 + relative[0, 0] + relative[1, 1] + relative[2, 2])
    c, s = math.cos(0.5 * twist), math.sin(0.5 * twist)
    rotations[lower_j] = forearm @ np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    positions[lower_j] = solution.middle
    positions[hand_j] = solution.end
    rotations[hand_j] = hand_rotation
    return solution.end


def _solve_legs(model: _BodyModel, rotations: FloatArray, positions: FloatArray) -> None:
    """Both legs; reused while the pelvis stays put (always, when seated)."""
    hips = tuple(positions[JOINT_INDEX["hips"]].tolist())
    if model._legs_for_hips != hips or model._legs is None:
        for side in SIDES:
            _solve_leg(side, model, rotations, positions)
        model._legs_for_hips = hips
        model._legs = (rotations[_LEG_JOINTS].copy(), positions[_LEG_JOINTS].copy())
    else:
        rotations[_LEG_JOINTS], positions[_LEG_JOINTS] = model._legs


def _solve_leg(side: Side, model: _BodyModel, rotations: FloatArray, positions: FloatArray) -> None:
    upper_j, lower_j, foot_j, toes_j = _LEG_CHAIN[side]
    body = model.world_from_body
    positions[upper_j] = positions[JOINT_INDEX["hips"]] + body @ model.offsets[upper_j]
    upper_m, lower_m = model.leg_lengths[side]
    knee_pole = body @ (np.array([0.0, 0.3, -1.0]) if model.calibration.posture is Posture.SEATED
                        else np.array([0.0, 0.0, -1.0]))  # fmt: skip
    solution = solve_two_bone(positions[upper_j], model.feet[side], upper_m, lower_m, knee_pole)
    u1 = (solution.middle - solution.root) / upper_m
    u2 = (solution.end - solution.middle) / lower_m
    rotations[upper_j] = frame_from_axes(_LEG_AXIS, u1, _LEG_HINGE, solution.hinge_axis)
    rotations[lower_j] = frame_from_axes(_LEG_AXIS, u2, _LEG_HINGE, solution.hinge_axis)
    positions[lower_j] = solution.middle
    positions[foot_j] = solution.end
    rotations[foot_j] = body
    rotations[toes_j] = body
    positions[toes_j] = solution.end + body @ model.offsets[toes_j]


def _solve_fingers(locals_by_side: dict[Side, FloatArray], model: _BodyModel,
                   rotations: FloatArray, positions: FloatArray) -> None:
    """Forward kinematics of all 30 finger joints, batched over the ten fingers."""
    local_r = np.concatenate([locals_by_side[Side.LEFT], locals_by_side[Side.RIGHT]]).reshape(10, 3, 3, 3)
    parent_r = rotations[model.finger_hands]
    parent_p = positions[model.finger_hands]
    offsets = model.finger_offsets_both
    for s in range(3):
        joint_p = parent_p + (parent_r @ offsets[:, s, :, None])[..., 0]
        joint_r = parent_r @ local_r[:, s]
        rotations[model.finger_levels[s]] = joint_r
        positions[model.finger_levels[s]] = joint_p
        parent_r, parent_p = joint_r, joint_p


def _track_hand(frame: TrackingFrame, side: Side, profile: str, model: _BodyModel,
                settings: BodySettings, state: BodyState) -> tuple[FloatArray, FloatArray]:
    """This side's grip target (7,) and finger rotations (15, 3, 3), with loss handling."""
    hand: HandInput = frame.hand(side)
    track = state.tracks[side]
    grip: FloatArray | None = None
    finger_locals: FloatArray | None = None
    if tracked_joints_usable(hand):
        wrist = wrist_from_tracked(hand, side)
        grip = compose_pose7(wrist, model.grip_from_wrist(side, profile))
        finger_locals = finger_locals_from_tracked(hand, side)
    elif hand.grip_valid:
        grip = hand.grip.as_array()
        finger_locals = model.fingers.from_curls(side, FingerCurls.from_controller(hand))
    if grip is not None:
        if track.status is not HandTracking.LIVE and track.last_live is not None:
            for limiter in state.limiters.values():
                limiter.catching_up = True  # tracking returned: blend back, never jump
        track.last_live, track.lost_since_s = grip, None
        track.status, track.finger_locals = HandTracking.LIVE, finger_locals
        assert finger_locals is not None
        return grip, finger_locals
    rest = model.rest_grip(side, profile)
    if track.last_live is None:
        track.status = HandTracking.REST
        return rest, model.relaxed[side]
    if track.lost_since_s is None:
        track.lost_since_s = frame.time_s
    lost_for = frame.time_s - track.lost_since_s
    held_fingers = track.finger_locals if track.finger_locals is not None else model.relaxed[side]
    if lost_for <= settings.loss_hold_s:
        track.status = HandTracking.FROZEN
        return track.last_live, held_fingers
    u = min(1.0, (lost_for - settings.loss_hold_s) / max(settings.loss_ease_s, 1e-6))
    eased = u * u * (3.0 - 2.0 * u)  # smoothstep: zero speed at both ends
    track.status = HandTracking.EASING if u < 1.0 else HandTracking.REST
    return _lerp_pose(track.last_live, rest, eased), held_fingers


def _cut_limb(world_from_joint: FloatArray, cut: tuple[list[int], list[float], list[int]],
              fraction: float) -> None:
    """Shorten a limb in place: the segment holding the cut is scaled along its bone, every
    joint past it collapses (zero scale) onto the cut point, so its skin vanishes."""
    chain, lengths, limb = cut
    keep = fraction * sum(lengths)
    done = 0.0
    collapse_from: int | None = None
    cut_point = world_from_joint[chain[0], :3, 3].copy()
    for joint_index, length in zip(chain, lengths, strict=True):
        if keep >= done + length:
            done += length
            continue
        scale = max(0.0, (keep - done) / length)
        child = BONE_CHILD[joint_index]
        axis = _bone_axis(joint_index, child)
        stretch = np.eye(4)
        stretch[:3, :3] += (scale - 1.0) * np.outer(axis, axis)
        world_from_joint[joint_index] = world_from_joint[joint_index] @ stretch
        local_cut = axis * (length * scale)
        cut_point = world_from_joint[joint_index, :3, 3] + world_from_joint[joint_index, :3, :3] @ (
            local_cut / max(scale, 1e-9) if scale > 0 else np.zeros(3)
        )
        collapse_from = chain.index(joint_index)
        break
    if collapse_from is None:
        return
    cut_joint = chain[collapse_from]
    for joint_index in limb:
        if joint_index != cut_joint and _is_descendant(joint_index, cut_joint):
            world_from_joint[joint_index, :3, :3] = 0.0
            world_from_joint[joint_index, :3, 3] = cut_point


def _scale_hand(world_from_joint: FloatArray, side: Side, scale: float) -> None:
    """Shrink one hand in place about its wrist: the hand joint and every finger joint keep
    their rotations and scale by ``scale`` about the wrist's position, so the skin follows."""
    hand = side_joint(side, "Hand")
    wrist = world_from_joint[hand, :3, 3].copy()
    for joint_index in range(len(JOINT_NAMES)):
        if joint_index == hand or _is_descendant(joint_index, hand):
            world_from_joint[joint_index, :3, :3] *= scale
            world_from_joint[joint_index, :3, 3] = wrist + scale * (world_from_joint[joint_index, :3, 3] - wrist)


def _bone_axis(joint_index: int, child: int) -> FloatArray:
    """Unit bone direction in the joint's own frame (rest frames share the body's axes)."""
    name = JOINT_NAMES[joint_index]
    if name.endswith("Hand"):
        return np.array([-1.0 if name.startswith("left") else 1.0, 0.0, 0.0])
    if name.endswith("Foot"):
        return np.array([0.0, -0.27, -0.96])
    if name.endswith("UpperLeg") or name.endswith("LowerLeg"):
        return np.array([0.0, -1.0, 0.0])
    return np.array([-1.0 if name.startswith("left") else 1.0, 0.0, 0.0]) if child >= 0 else np.zeros(3)


def _is_descendant(joint_index: int, ancestor: int) -> bool:
    parent = PARENTS[joint_index]
    while parent >= 0:
        if parent == ancestor:
            return True
        parent = PARENTS[parent]
    return False
