"""BodyPose: the solved body for one frame, plain data for therapy, render and recording."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gmi_vr.core.types import FloatArray, Pose, Side


class LimbMode(StrEnum):
    """How the affected limb is driven."""

    MIRROR = "mirror"  # the reflection of the healthy limb; its own tracking ignored
    REAL = "real"  # each limb from its own tracking
    BLEND = "blend"  # between mirrored and real by ``BodyPose.blend``
    STILL = "still"  # a resting pose (explicit motor imagery)


@dataclass(frozen=True)
class BodyPose:
    """``world_from_joint`` (n, 4, 4) for ``joint_names`` (VRM humanoid bone names), and the
    hand poses as displayed to the patient (after mirroring), which tasks use for targets."""

    joint_names: tuple[str, ...]
    world_from_joint: FloatArray
    displayed_left: Pose
    displayed_right: Pose
    displayed_left_valid: bool
    displayed_right_valid: bool
    affected_side: Side
    mode: LimbMode
    blend: float = 0.0  # 0 = mirrored, 1 = real (BLEND mode)

    def displayed(self, side: Side) -> tuple[Pose, bool]:
        """The hand pose shown for ``side`` (world metres, xyzw) and whether it is valid this frame."""
        if side is Side.LEFT:
            return self.displayed_left, self.displayed_left_valid
        return self.displayed_right, self.displayed_right_valid
