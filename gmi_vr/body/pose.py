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
    #: The block's visual-feedback condition ("mirror", "delayed", "sham", "hidden";
    #: ``body.feedback``) and its added delay in milliseconds.
    feedback: str = "mirror"
    feedback_delay_ms: float = 0.0
    #: The affected hand as the live mode shows it, when a condition shows something else
    #: (None under "mirror": then the displayed hand is the live one).
    measured_affected: Pose | None = None
    measured_affected_valid: bool = False

    def displayed(self, side: Side) -> tuple[Pose, bool]:
        """The hand pose drawn for ``side`` (world metres, xyzw; after mirroring and any
        visual-feedback condition) and whether it is valid this frame."""
        if side is Side.LEFT:
            return self.displayed_left, self.displayed_left_valid
        return self.displayed_right, self.displayed_right_valid

    def measured(self, side: Side) -> tuple[Pose, bool]:
        """The hand tasks measure: the live one, whatever the block's visual-feedback
        condition shows, so every condition's block has the same targets and measures."""
        if side is self.affected_side and self.measured_affected is not None:
            return self.measured_affected, self.measured_affected_valid
        return self.displayed(side)
