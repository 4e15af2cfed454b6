"""One-handed body calibration: height, shoulder width and arm length from a short guided pose.

The patient sits (or stands) upright looking ahead, then stretches the ONE arm that holds a
controller straight out to the side, then straight forward, each at shoulder height, holding
each pose for a second. The affected arm never has to rise or hold anything: its length and
shoulder are inferred by symmetry (the body is taken as mirror-symmetric about the midline
plane fixed here), and the affected side defaults to the arm that did not take part.

Geometry, in the calibrated body frame (origin below the pelvis, -Z forward, +X right):
arm straight forward → the wrist lies in front of its shoulder, so its lateral distance from
the head's midline is half the shoulder width; arm out to the side → the wrist's lateral
distance minus half the shoulder width is the arm length, and the forward reach minus the
shoulder's depth (taken from the side pose) is a second estimate of it; the two are averaged.

The calibrated frame (``origin``, ``yaw_rad``) defines the mirror plane for the whole session,
so a later head turn cannot swing the mirrored limb (ARCHITECTURE.md, Conventions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from gmi_vr.body.hands import grip_offset
from gmi_vr.body.skeleton import JOINT_INDEX, BodyMeasures, rest_offsets, rest_positions
from gmi_vr.core.errors import GmiError
from gmi_vr.core.types import FloatArray, Pose, Side, TrackingFrame
from gmi_vr.geometry.reflect import Plane
from gmi_vr.geometry.transforms import (
    compose_pose7,
    quat_mean,
    quat_rotate,
    rotation_angle_between,
    yaw_of,
    yaw_rotation,
)


class CalibrationError(GmiError):
    """The guided calibration pose gave implausible measures; it should be repeated.
    ``redo``: the step (``CalibrationStep`` value) the guide goes back to: the one whose
    pose gave the implausible measure ("neutral" when unknown: the whole pose)."""

    exit_code = 6

    def __init__(self, message: str, redo: str = "neutral") -> None:
        super().__init__(message)
        self.redo = redo


class Posture(StrEnum):
    """How the patient does the session: seated or standing."""
    SEATED = "seated"
    STANDING = "standing"


#: Eye height as a fraction of standing height (Drillis & Contini; see body.skeleton).
EYE_HEIGHT_FRACTION = 0.936
#: Arm (shoulder joint to wrist) as a fraction of height: upper arm 0.186 + forearm 0.146.
ARM_LENGTH_FRACTION = 0.332
#: Eyes relative to the head joint (skull base), head frame, as fractions of height: above it
#: by the eye-to-chin height (0.936 - 0.870) and in front of it by about 0.045 H (estimate).
EYE_IN_HEAD = (0.0, 0.066, -0.045)
#: A usual chair seat height when the floor is not known (office chairs ~0.42-0.52 m).
DEFAULT_SEAT_HEIGHT_M = 0.46
#: Hip joint centre above the seat surface when sitting (~0.055 H; estimate from pelvis size).
HIP_ABOVE_SEAT_FRACTION = 0.055

#: What a calibration accepts as a human body, metres. Product choice: wider than any adult,
#: so only a pose gone wrong (a bent arm, a controller off to one side, a seated patient
#: calibrating standing) is refused. Drillis & Contini's proportions (arm 0.332 H,
#: shoulder joints 0.259 H apart; body.skeleton) over heights of 1.0-2.3 m give arms of
#: 0.33-0.76 m and shoulders of 0.26-0.60 m; the bounds leave room for a person's own build.
_PLAUSIBLE_ARM_M = (0.35, 1.0)
_PLAUSIBLE_SHOULDERS_M = (0.22, 0.65)
_PLAUSIBLE_HEIGHT_M = (1.0, 2.3)
#: Arm length as a fraction of a height measured on its own (standing on a known floor, or
#: given): Drillis & Contini's 0.332 within about 20 % either way. Product choice, as above:
#: people differ by a few per cent; a patient who stands calibration out seated is read about
#: 1.3 m tall, with an arm over 0.45 of that.
_PLAUSIBLE_ARM_FRACTION = (0.27, 0.40)


def eye_in_head(measures: BodyMeasures) -> FloatArray:
    """(3,) offset in metres of the eyes' midpoint from the head joint, in the body frame, for
    these measures."""
    return np.array(EYE_IN_HEAD) * measures.height_m


def eye_above_hips(measures: BodyMeasures) -> float:
    """Height in metres of the eyes above the hips joint when upright, for these measures."""
    positions = rest_positions(rest_offsets(measures))
    head = positions[JOINT_INDEX["head"]] - positions[JOINT_INDEX["hips"]]
    return float(head[1] + eye_in_head(measures)[1])


@dataclass(frozen=True)
class ArmReach:
    """A body's arm for placing reach targets, plain data: the right shoulder joint relative to
    the eyes in the body frame (metres; +X right, +Y up, -Z forward; the left one mirrors X)
    and the arm's length, shoulder joint to wrist."""

    shoulder_from_eye_m: tuple[float, float, float]
    arm_length_m: float


def arm_reach(measures: BodyMeasures) -> ArmReach:
    """The calibrated (or average) arm of ``measures``, from the skeleton's rest proportions."""
    positions = rest_positions(rest_offsets(measures))
    eye = positions[JOINT_INDEX["head"]] + eye_in_head(measures)
    shoulder = positions[JOINT_INDEX["rightUpperArm"]] - eye
    return ArmReach((float(shoulder[0]), float(shoulder[1]), float(shoulder[2])), float(measures.arm_length_m))


@dataclass(frozen=True, eq=False)
class Calibration:
    """A patient's calibrated body, plain data; ``to_dict``/``from_dict`` for storage.

    ``origin`` (3,) world metres: the floor point below the pelvis at calibration.
    ``yaw_rad``: the torso's heading (body -Z forward = ``yaw_rotation(yaw_rad) @ (0, 0, -1)``).
    ``hips_height_m``: pelvis (hips joint) height above ``origin`` while upright.
    """

    posture: Posture
    measures: BodyMeasures
    origin: FloatArray
    yaw_rad: float
    hips_height_m: float
    affected_side: Side
    measured_side: Side
    version: int = 1
    _plane: Plane = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        origin = np.array(self.origin, dtype=np.float64).reshape(3)
        origin.flags.writeable = False
        object.__setattr__(self, "origin", origin)
        rotation = yaw_rotation(self.yaw_rad)
        object.__setattr__(self, "_plane", Plane(origin, rotation[:, 0]))

    def body_rotation(self) -> FloatArray:
        """(3, 3) world_from_body rotation of the calibrated torso."""
        return yaw_rotation(self.yaw_rad)

    def midline_plane(self) -> Plane:
        """The sagittal plane the affected limb is mirrored across (normal: patient's right)."""
        return self._plane

    def hips_position(self) -> FloatArray:
        """(3,) world position in metres of the hips joint while upright."""
        hips: FloatArray = self.origin + np.array([0.0, self.hips_height_m, 0.0])
        return hips

    @staticmethod
    def uncalibrated(
        posture: Posture = Posture.SEATED,
        height_m: float = 1.70,
        affected_side: Side = Side.LEFT,
        origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> Calibration:
        """Average proportions facing -Z at ``origin``: a default until the patient calibrates."""
        measures = BodyMeasures.from_height(height_m)
        hips = rest_positions(rest_offsets(measures))[JOINT_INDEX["hips"]][1]
        if posture is Posture.SEATED:
            hips = DEFAULT_SEAT_HEIGHT_M + HIP_ABOVE_SEAT_FRACTION * height_m
        return Calibration(posture, measures, np.array(origin), 0.0, float(hips),
                           affected_side, affected_side.other)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the store (``from_dict`` reads it back); lengths in metres, yaw in radians."""
        m = self.measures
        return {
            "version": self.version,
            "posture": self.posture.value,
            "height_m": m.height_m,
            "shoulder_width_m": m.shoulder_width_m,
            "arm_length_m": m.arm_length_m,
            "hip_width_m": m.hip_width_m,
            "hand_length_m": m.hand_length_m,
            "origin": [float(v) for v in self.origin],
            "yaw_rad": self.yaw_rad,
            "hips_height_m": self.hips_height_m,
            "affected_side": self.affected_side.value,
            "measured_side": self.measured_side.value,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Calibration:
        """The calibration stored by ``to_dict``; GmiError naming what is wrong when a field is
        missing or not a number."""
        try:
            if int(data["version"]) != 1:
                raise ValueError("version")
            measures = BodyMeasures(
                float(data["height_m"]), float(data["shoulder_width_m"]),
                float(data["arm_length_m"]), float(data["hip_width_m"]),
                float(data["hand_length_m"]),
            )  # fmt: skip
            calibration = Calibration(
                Posture(data["posture"]), measures, np.array(data["origin"], dtype=np.float64),
                float(data["yaw_rad"]), float(data["hips_height_m"]),
                Side(data["affected_side"]), Side(data["measured_side"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as error:
            raise CalibrationError(
                f"The stored body calibration is unreadable ({error}); calibrate the patient again."
            ) from None
        values = [*calibration.to_dict().values()]
        if not all(np.all(np.isfinite(v)) for v in values if not isinstance(v, str)):
            raise CalibrationError("The stored body calibration holds non-numbers; calibrate again.")
        return calibration


@dataclass(frozen=True)
class CalibrationSamples:
    """What the guided pose captured (world space, each averaged over a still hold)."""

    neutral_head: Pose  # upright, looking straight ahead
    side_grip: Pose  # the measured arm straight out to the side at shoulder height
    forward_grip: Pose  # the same arm straight forward at shoulder height
    measured_side: Side
    profile: str = ""


def calibrate(
    samples: CalibrationSamples,
    posture: Posture,
    known_height_m: float | None = None,
    floor_y: float | None = None,
    affected_side: Side | None = None,
) -> Calibration:
    """Measures and the body frame from one arm's guided pose.

    ``known_height_m``: the patient's height if the clinic knows it (otherwise estimated from
    eye height when standing on a known floor, else from arm length). ``floor_y``: the floor's
    height in the reference space (0 in a STAGE space; None if unknown, e.g. LOCAL space).
    """
    head = samples.neutral_head
    look = quat_rotate(head.orientation, np.array([0.0, 0.0, -1.0]))
    if math.hypot(look[0], look[2]) < 0.3:
        raise CalibrationError("The head was not level during calibration; look straight ahead and repeat.", "neutral")
    yaw = math.atan2(-look[0], -look[2])
    world_from_body = yaw_rotation(yaw)
    side = samples.measured_side
    sign = 1.0 if side is Side.RIGHT else -1.0

    def wrist_local(grip: Pose, hand_length: float) -> FloatArray:
        offset = grip_offset(samples.profile).wrist_in_grip_pose(side, hand_length)
        wrist = compose_pose7(grip.as_array(), offset)[:3]
        return world_from_body.T @ (wrist - head.position)

    height = known_height_m if known_height_m is not None else 1.70
    for _ in range(3):  # hand length depends on height, height may depend on arm length
        hand_length = 0.108 * height
        side_wrist = wrist_local(samples.side_grip, hand_length)
        forward_wrist = wrist_local(samples.forward_grip, hand_length)
        half_shoulders = sign * forward_wrist[0]
        shoulder_width = 2.0 * half_shoulders
        reach_side = sign * side_wrist[0] - half_shoulders
        reach_forward = side_wrist[2] - forward_wrist[2]
        arm_length = 0.5 * (reach_side + reach_forward)
        if known_height_m is not None:
            height = known_height_m
        elif posture is Posture.STANDING and floor_y is not None:
            height = (head.position[1] - floor_y) / EYE_HEIGHT_FRACTION
        else:
            height = arm_length / ARM_LENGTH_FRACTION
    if sign * side_wrist[0] < 0.2:
        raise CalibrationError(
            f"The {side.value} controller was not held out to the {side.value} side; repeat the pose.", "side"
        )
    # Each refusal asks again for the step whose pose gave the measure (and those after it).
    again_side = "stretch the arm holding the controller fully straight out to the side at shoulder height and hold it again"
    again_forward = "stretch the same arm fully straight forward, in front of its shoulder at shoulder height, and hold it again"
    again_upright = ("stand upright looking straight ahead and hold still again (or calibrate seated)"
                     if posture is Posture.STANDING else "sit upright looking straight ahead and hold still again")
    _check("arm length", arm_length, _PLAUSIBLE_ARM_M, again_side, "side")
    _check("shoulder width", shoulder_width, _PLAUSIBLE_SHOULDERS_M, again_forward, "forward")
    measured_height = known_height_m is not None or (posture is Posture.STANDING and floor_y is not None)
    _check("standing height from the eyes" if measured_height and known_height_m is None else "height",
           height, _PLAUSIBLE_HEIGHT_M, again_upright if measured_height else again_side,
           "neutral" if measured_height else "side")  # fmt: skip
    low, high = _PLAUSIBLE_ARM_FRACTION
    if measured_height and not low <= arm_length / height <= high:
        raise CalibrationError(
            f"The arm measured ({arm_length:.2f} m) does not fit a body {height:.2f} m tall (an arm is about "
            f"{low:.2f}-{high:.2f} of the height); {again_upright if known_height_m is None else again_side}.",
            "neutral" if known_height_m is None else "side",
        )
    measures = BodyMeasures(
        float(height), float(shoulder_width), float(arm_length), 0.191 * height, 0.108 * height
    )
    # The head joint sits above the pelvis when upright; the eyes are in front of it.
    eye_offset = world_from_body @ eye_in_head(measures)
    hips_y = head.position[1] - eye_above_hips(measures)
    if floor_y is None:
        if posture is Posture.STANDING:
            rest_hips = rest_positions(rest_offsets(measures))[JOINT_INDEX["hips"]][1]
            floor_y = hips_y - rest_hips
        else:
            floor_y = hips_y - (DEFAULT_SEAT_HEIGHT_M + HIP_ABOVE_SEAT_FRACTION * height)
    origin = np.array([head.position[0] - eye_offset[0], floor_y, head.position[2] - eye_offset[2]])
    return Calibration(
        posture, measures, origin, float(yaw), float(hips_y - floor_y),
        affected_side if affected_side is not None else side.other, side,
    )  # fmt: skip


def _check(what: str, value: float, bounds: tuple[float, float], again: str, redo: str) -> None:
    """Refuse ``value`` outside ``bounds`` in one sentence ending with ``again`` (what to do
    for the step ``redo``, which the guide goes back to)."""
    if not (bounds[0] <= value <= bounds[1]) or not math.isfinite(value):
        raise CalibrationError(
            f"The measured {what} ({value:.2f} m) is outside a human's {bounds[0]:.2f}-{bounds[1]:.2f} m; {again}.",
            redo,
        )


class CalibrationStep(StrEnum):
    """The guided calibration's steps, in order."""
    NEUTRAL = "neutral"
    SIDE = "side"
    FORWARD = "forward"
    DONE = "done"


INSTRUCTIONS = {
    CalibrationStep.NEUTRAL: "Sit or stand upright, look straight ahead and keep still.",
    CalibrationStep.SIDE: "Stretch the arm holding the controller straight out to the side at shoulder height, and hold it.",
    CalibrationStep.FORWARD: "Now stretch the same arm straight forward at shoulder height, and hold it.",
    CalibrationStep.DONE: "Calibration finished.",
}


class CalibrationGuide:
    """Walks the patient through the pose frame by frame (time from ``frame.time_s``).

    Each step completes once its pose is held still for ``hold_s`` seconds (within
    ``still_m`` metres; 1 s and 2 cm are short enough for a tired arm yet exclude drift).
    The measured arm is whichever controller is tracked and held out to its side.
    """

    def __init__(self, posture: Posture, hold_s: float = 1.0, still_m: float = 0.02,
                 known_height_m: float | None = None, floor_y: float | None = None) -> None:
        self.posture = posture
        self.hold_s = hold_s
        self.still_m = still_m
        self.known_height_m = known_height_m
        self.floor_y = floor_y
        self.step = CalibrationStep.NEUTRAL
        self._held: list[tuple[float, FloatArray]] = []
        self._head: Pose | None = None
        self._side_grip: Pose | None = None
        self._side: Side | None = None
        self._profile = ""
        self.result: Calibration | None = None
        #: Where ``restart`` goes back to: the step a refused pose names, else the first.
        self._redo = CalibrationStep.NEUTRAL

    @property
    def instruction(self) -> str:
        """What to tell the patient now (one line, for the headset and the console)."""
        return INSTRUCTIONS[self.step]

    def restart(self) -> None:
        """Start again: after a CalibrationError from the step it names (``redo``: the poses
        before it are kept), else from the first step."""
        redo, self._redo = self._redo, CalibrationStep.NEUTRAL
        self._held = []
        self.result = None
        if redo is CalibrationStep.FORWARD and self._side_grip is not None:
            self.step = redo  # the head and the side pose stand; the same arm goes forward
            return
        self._side_grip, self._side, self._profile = None, None, ""
        if redo is CalibrationStep.SIDE and self._head is not None:
            self.step = redo
            return
        self.step, self._head = CalibrationStep.NEUTRAL, None

    def add(self, frame: TrackingFrame) -> CalibrationStep:
        """Feed one frame; returns the current step. Raises CalibrationError (one sentence
        to show the patient) when the finished pose gives implausible measures."""
        if self.step is CalibrationStep.DONE:
            return self.step
        if self.step is CalibrationStep.NEUTRAL:
            if frame.head_valid:
                if self._hold(frame.time_s, frame.head.as_array(), is_head=True):
                    self._head = Pose.from_array(self._mean())
                    self._advance(CalibrationStep.SIDE)
            return self.step
        assert self._head is not None
        right = yaw_rotation(yaw_of(self._head.orientation))[:, 0]
        candidates = [self._side] if self._side is not None else [Side.RIGHT, Side.LEFT]
        for side in candidates:
            assert side is not None
            hand = frame.hand(side)
            if not hand.grip_valid:
                continue
            offset = hand.grip.position - self._head.position
            sign = 1.0 if side is Side.RIGHT else -1.0
            lateral = sign * float(offset @ right)
            forward = float(offset @ np.cross([0.0, 1.0, 0.0], right))  # along the body's -Z
            # Wait for the pose asked for: far out to the side, then well in front and no
            # longer far out (an arm still held to the side must not count as "forward").
            if self.step is CalibrationStep.SIDE and lateral < 0.35:
                continue
            if self.step is CalibrationStep.FORWARD and (forward < 0.3 or lateral > 0.3):
                continue
            self._side = side
            self._profile = hand.profile
            if self._hold(frame.time_s, hand.grip.as_array(), is_head=False):
                if self.step is CalibrationStep.SIDE:
                    self._side_grip = Pose.from_array(self._mean())
                    self._advance(CalibrationStep.FORWARD)
                else:
                    forward_grip = Pose.from_array(self._mean())
                    assert self._side_grip is not None
                    samples = CalibrationSamples(self._head, self._side_grip, forward_grip, side, self._profile)
                    try:
                        self.result = calibrate(samples, self.posture, self.known_height_m, self.floor_y)
                    except CalibrationError as error:
                        self._redo = CalibrationStep(error.redo)  # where ``restart`` goes back to
                        raise
                    self._advance(CalibrationStep.DONE)
            break
        return self.step

    def _advance(self, step: CalibrationStep) -> None:
        self.step = step
        self._held = []

    def _hold(self, time_s: float, pose: FloatArray, is_head: bool) -> bool:
        """Collect a still window; True once it has lasted ``hold_s``."""
        if self._held:
            first = self._held[0][1]
            moved = np.linalg.norm(pose[:3] - first[:3]) > self.still_m
            turned = is_head and rotation_angle_between(pose[3:], first[3:]) > math.radians(3)
            if moved or turned:
                self._held = []
        self._held.append((time_s, pose))
        return self._held[-1][0] - self._held[0][0] >= self.hold_s

    def _mean(self) -> FloatArray:
        poses = np.array([p for _, p in self._held])
        return np.concatenate([poses[:, :3].mean(axis=0), quat_mean(poses[:, 3:])])
