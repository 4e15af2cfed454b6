"""Where a hand can reach, and where targets go: side-relative reach workspaces, the body
midline reflection, and target placement for mirror therapy and graded movement.

Frames: world is the OpenXR reference space (metres, +Y up). The *anchor* is the calibrated
head pose with its yaw only (``TaskContext.anchor``): its -Z looks forward, its +X points to
the patient's right. A side's *reach frame* has its origin at the hand's rest position on
the work surface and axes ``forward`` (anchor -Z), ``up`` (+Y) and ``outward`` (away from the
midline: anchor +X for the right side, -X for the left); "across" is -outward.

Mirror therapy: the affected hand is drawn as the healthy hand reflected across the body's
midline (sagittal) plane, here the plane through the anchor with the anchor's X axis as its
normal. A target meant for the affected side is therefore placed at the reflection of a
point inside the *healthy* side's reach workspace: the mirrored hand gets there exactly when
the healthy hand reaches the point it is reflected from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.body.calibration import ArmReach, arm_reach
from gmi_vr.body.skeleton import BodyMeasures
from gmi_vr.core.types import FloatArray, Pose, Side
from gmi_vr.geometry import quat_from_axis_angle, quat_rotate

#: Work surface (table top) below the seated patient's eyes, and the hand's rest position on
#: it: about a forearm ahead and a shoulder's half-width to the side. From anthropometric
#: segment proportions (Drillis & Contini, in Winter 2009, Biomechanics and Motor Control of
#: Human Movement, 4th ed.): for a 1.7 m adult, shoulder about 0.20 m below the eyes and
#: 0.22 m off the midline, upper arm 0.32 m, forearm 0.25 m; a table near elbow height.
WORK_SURFACE_DROP_M = 0.45
REST_AHEAD_M = 0.30
REST_SIDE_M = 0.18
#: A typical adult's comfortable hand excursion from that rest position, per direction (same
#: source: forward to near full elbow extension, up to about shoulder height, outward and
#: across within the shoulder's horizontal range). Mirror therapy grades a fraction of these.
TYPICAL_EXCURSION_M: dict[str, float] = {"forward": 0.35, "up": 0.35, "outward": 0.30,
                                         "across": 0.25}


def anchor_axes(anchor: Pose) -> tuple[FloatArray, FloatArray, FloatArray]:
    """World unit vectors (right, up, forward) of the anchor."""
    right = quat_rotate(anchor.orientation, np.array([1.0, 0.0, 0.0]))
    forward = quat_rotate(anchor.orientation, np.array([0.0, 0.0, -1.0]))
    return right, np.array([0.0, 1.0, 0.0]), forward


def reflect_across_midline(anchor: Pose, points: FloatArray) -> FloatArray:
    """Points (..., 3) reflected across the midline plane (through the anchor, normal = its
    X axis). The reflection is its own inverse."""
    points = np.asarray(points, dtype=np.float64)
    normal = anchor_axes(anchor)[0]
    distance = (points - anchor.position) @ normal
    return points - 2.0 * distance[..., None] * normal


def anchor_on_midline(head: Pose, plane_point: FloatArray, plane_normal: FloatArray) -> Pose:
    """The session anchor that makes ``reflect_across_midline`` the body's own mirror: the
    calibrated head position moved onto the midline plane (through ``plane_point`` (3,),
    unit ``plane_normal`` (3,) pointing to the patient's right, as the body calibration's
    ``midline_plane()``), turned to face along the plane (yaw only, -Z forward)."""
    normal = np.asarray(plane_normal, dtype=np.float64)
    normal = normal - normal[1] * np.array([0.0, 1.0, 0.0])
    normal = normal / np.linalg.norm(normal)
    position = np.asarray(head.position, dtype=np.float64)
    position = position - ((position - np.asarray(plane_point)) @ normal) * normal
    yaw = float(np.arctan2(-normal[2], normal[0]))  # +X of the anchor along the normal
    return Pose(position, quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), yaw))


@dataclass(frozen=True)
class Workspace:
    """A hand's reach around its rest position.

    ``rest`` (3,) world metres; ``forward``, ``up``, ``outward`` (3,) world unit vectors;
    ``excursion_m`` the comfortable reach from rest in each of "forward", "up", "outward",
    "across" (metres, measured or typical).
    """

    side: Side
    rest: FloatArray
    forward: FloatArray
    up: FloatArray
    outward: FloatArray
    excursion_m: dict[str, float]

    def world(self, forward_m: float, up_m: float, outward_m: float) -> FloatArray:
        """World point at a reach-frame offset (metres) from the rest position."""
        return self.rest + forward_m * self.forward + up_m * self.up + outward_m * self.outward

    def reach(self, direction: str) -> float:
        """The measured reach in metres in ``direction`` (0 when not measured)."""
        return self.excursion_m.get(direction, 0.0)

    def horizontal_reach(self, azimuth_rad: float) -> float:
        """Reach in the horizontal direction ``azimuth_rad`` from forward (positive outward),
        interpolated between the measured directions (an ellipse through them)."""
        c, s = np.cos(azimuth_rad), np.sin(azimuth_rad)
        side = self.reach("outward") if s >= 0 else self.reach("across")
        forward = self.reach("forward") if c >= 0 else 0.0
        denominator = (c / max(forward, 1e-6)) ** 2 + (s / max(side, 1e-6)) ** 2
        return float(1.0 / np.sqrt(denominator))

    def point(self, azimuth_rad: float, fraction: float, up_m: float = 0.0) -> FloatArray:
        """The point ``fraction`` of the reach away in horizontal direction ``azimuth_rad``
        (0 forward, positive outward), ``up_m`` above the rest height (capped at ``fraction``
        of the upward reach)."""
        distance = fraction * self.horizontal_reach(azimuth_rad)
        up = min(up_m, fraction * self.reach("up"))
        return self.world(distance * np.cos(azimuth_rad), up, distance * np.sin(azimuth_rad))

    def contains(self, point: FloatArray, slack_m: float = 1e-6) -> bool:
        """Whether ``point`` lies within the reach: its horizontal offset within the
        horizontal reach in its direction and its height within the upward reach."""
        offset = np.asarray(point) - self.rest
        f, u, o = offset @ self.forward, offset @ self.up, offset @ self.outward
        distance = float(np.hypot(f, o))
        azimuth = float(np.arctan2(o, f))
        return bool(distance <= self.horizontal_reach(azimuth) + slack_m
                    and -slack_m <= u <= self.reach("up") + slack_m)


def workspace_at(anchor: Pose, side: Side, rest: FloatArray, excursion_m: dict[str, float]) -> Workspace:
    """The workspace of ``side``'s hand with rest position ``rest`` (3,) world metres and the
    measured excursions (metres per direction), oriented by ``anchor``."""
    right, up, forward = anchor_axes(anchor)
    outward = right if side is Side.RIGHT else -right
    return Workspace(side, np.asarray(rest, dtype=np.float64), forward, up, outward,
                     dict(excursion_m))


def rest_position(anchor: Pose, side: Side) -> FloatArray:
    """The typical rest position of ``side``'s hand on the work surface (see constants)."""
    right, up, forward = anchor_axes(anchor)
    lateral = REST_SIDE_M if side is Side.RIGHT else -REST_SIDE_M
    return anchor.position + lateral * right - WORK_SURFACE_DROP_M * up + REST_AHEAD_M * forward


def typical_workspace(anchor: Pose, side: Side) -> Workspace:
    """A typical adult hand's workspace on ``side`` (``TYPICAL_EXCURSION_M``)."""
    return workspace_at(anchor, side, rest_position(anchor, side), TYPICAL_EXCURSION_M)


#: The average arm the typical workspace was drawn for (a 1.70 m adult).
TYPICAL_ARM = arm_reach(BodyMeasures())


def shoulder_position(anchor: Pose, side: Side, arm: ArmReach) -> FloatArray:
    """(3,) world position of ``side``'s shoulder joint for ``arm`` below the anchor's eyes."""
    right, up, forward = anchor_axes(anchor)
    x, y, z = arm.shoulder_from_eye_m
    outward = right if side is Side.RIGHT else -right
    return anchor.position + abs(x) * outward + y * up - z * forward


def calibrated_workspace(anchor: Pose, side: Side, arm: ArmReach) -> Workspace:
    """The typical workspace moved to the calibrated shoulder and scaled by the calibrated
    arm length: the rest position keeps its place relative to the shoulder, scaled by
    arm / typical arm, and so does every excursion. An average arm gives the typical one."""
    scale = arm.arm_length_m / TYPICAL_ARM.arm_length_m
    typical_shoulder = shoulder_position(anchor, side, TYPICAL_ARM)
    rest = shoulder_position(anchor, side, arm) + scale * (rest_position(anchor, side) - typical_shoulder)
    return workspace_at(anchor, side, rest, {d: scale * v for d, v in TYPICAL_EXCURSION_M.items()})


#: Smallest excursion used for placing targets: below it a measured direction is treated as
#: this small, so targets never collapse onto the rest position. Product choice.
MIN_EXCURSION_M = 0.03


def measured_workspace(anchor: Pose, side: Side, rest: FloatArray,
                       excursion_m: dict[str, float]) -> Workspace:
    """The workspace of a measured active range of motion (``rom.RangeOfMotion``);
    unmeasured directions take the smallest measured one (never more than was measured)."""
    measured = {k: max(MIN_EXCURSION_M, v) for k, v in excursion_m.items()}
    smallest = min(measured.values()) if measured else MIN_EXCURSION_M
    full = {d: measured.get(d, smallest) for d in TYPICAL_EXCURSION_M}
    return workspace_at(anchor, side, rest, full)
