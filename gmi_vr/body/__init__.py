"""The virtual body: skeleton, calibration, IK and mirroring of the affected limb.

Per session (plain data in, plain data out; no GL, no clock):

    calibration = Calibration.from_dict(stored) or CalibrationGuide(...).result
    state = BodyState()
    body = solve_body(frame, calibration, settings, state)   # every frame -> BodyPose

and per avatar (the skin loaded by ``gmi_vr.assets.gltf_skin.load_skinned_gltf``):

    rig = AvatarRig(skin, calibration.measures)
    palette = rig.palette(body.world_from_joint)             # -> SkinnedItem.palette
"""

from gmi_vr.body.appearance import AVATAR_BUILDS, SKIN_TONES, Appearance
from gmi_vr.body.calibration import (
    Calibration,
    CalibrationError,
    CalibrationGuide,
    CalibrationSamples,
    CalibrationStep,
    Posture,
    calibrate,
)
from gmi_vr.body.feedback import MAX_DELAY_MS, FeedbackCondition, FeedbackKind
from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.body.rig import AvatarRig
from gmi_vr.body.skeleton import JOINT_NAMES, BodyMeasures
from gmi_vr.body.solve import BodySettings, BodyState, HandTracking, LimbPresence, solve_body

__all__ = [
    "AVATAR_BUILDS",
    "Appearance",
    "AvatarRig",
    "BodyMeasures",
    "BodyPose",
    "BodySettings",
    "BodyState",
    "Calibration",
    "CalibrationError",
    "CalibrationGuide",
    "CalibrationSamples",
    "CalibrationStep",
    "FeedbackCondition",
    "FeedbackKind",
    "HandTracking",
    "JOINT_NAMES",
    "LimbMode",
    "LimbPresence",
    "MAX_DELAY_MS",
    "Posture",
    "SKIN_TONES",
    "calibrate",
    "solve_body",
]
