"""The virtual body: skeleton, calibration, IK and mirroring of the affected limb."""

from gmi_vr.body.pose import BodyPose, LimbMode

__all__ = ["BodyPose", "LimbMode"]
