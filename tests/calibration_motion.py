"""Motion-file text for the guided calibration, performed one-handed by a known body.

The body is seated upright, eyes at the simulator's seated eye point (0, 1.2, 0) looking
along -Z (or, ``standing``, stands on the simulator's floor at y = 0, eyes at its standing
eye height, 0.936 of 1.70 m); the healthy RIGHT arm does the whole pose and the affected LEFT controller is never
tracked. Each grip pose is the one that puts the wrist (through the anatomical grip-to-wrist
offset the simulator's profile uses) exactly where this body's shoulder and arm put it, so a
correct calibration recovers the body's measures.

Timeline, following CalibrationGuide's steps (each completes after 1 s held within 2 cm):
upright and still 0-1.6 s; the arm swings out to the side 1.6-2.6 s and is held until 4.2 s;
swings forward 4.2-5.2 s and is held until 6.8 s; comes back to rest by 7.8 s; 2 s more keep
"Calibration finished." on show. Holds carry a 2 mm tremor (a living arm is never still).
"""

from __future__ import annotations

import json

import numpy as np

from gmi_vr.body.calibration import EYE_HEIGHT_FRACTION, eye_in_head
from gmi_vr.body.hands import grip_offset
from gmi_vr.body.skeleton import JOINT_INDEX, BodyMeasures, rest_offsets, rest_positions, side_joint
from gmi_vr.core.types import Side
from gmi_vr.geometry import compose_pose7, invert_pose7, quat_from_matrix
from gmi_vr.xr.sim_source import REST_GRIP_POSITION, SEATED_EYE_HEIGHT_M

SIM_PROFILE = "/interaction_profiles/gmi_vr/sim"
#: The scripted patient: 1.70 m, with average proportions (Drillis & Contini, body.skeleton).
BODY = BodyMeasures.from_height(1.70)
EYE = np.array([0.0, SEATED_EYE_HEIGHT_M, 0.0])
STANDING_EYE = np.array([0.0, EYE_HEIGHT_FRACTION * BODY.height_m, 0.0])
RATE_HZ = 30


def hips_position(measures: BodyMeasures = BODY, eye: np.ndarray = EYE) -> np.ndarray:
    """Where the scripted body's pelvis is: upright below the eyes."""
    rest = rest_positions(rest_offsets(measures))
    return eye - (rest[JOINT_INDEX["head"]] - rest[JOINT_INDEX["hips"]] + eye_in_head(measures))


def right_arm_grips(measures: BodyMeasures = BODY, side_reach_m: float | None = None,
                    eye: np.ndarray = EYE) -> tuple[np.ndarray, np.ndarray]:
    """(7,) grip poses of the right controller, arm straight out to the side and straight
    forward at shoulder height. ``side_reach_m`` overrides how far out the side pose reaches
    (an impossible arm, for the refusal test)."""
    rest = rest_positions(rest_offsets(measures))
    shoulder = hips_position(measures, eye) + rest[side_joint(Side.RIGHT, "UpperArm")] - rest[JOINT_INDEX["hips"]]
    grip_from_wrist = invert_pose7(grip_offset(SIM_PROFILE).wrist_in_grip_pose(Side.RIGHT, measures.hand_length_m))
    reach = measures.arm_length_m if side_reach_m is None else side_reach_m
    side_wrist = np.concatenate([shoulder + [reach, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    fingers_forward = np.array([[0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]])  # wrist X (fingers) -> -Z
    forward_wrist = np.concatenate([shoulder + [0.0, 0.0, -measures.arm_length_m],
                                    quat_from_matrix(fingers_forward)])  # fmt: skip
    return compose_pose7(side_wrist, grip_from_wrist), compose_pose7(forward_wrist, grip_from_wrist)


def _right(grip: np.ndarray, tremor_m: float = 0.0) -> dict[str, object]:
    position = grip[:3] + [0.0, tremor_m, 0.0]
    return {"position": [round(float(v), 5) for v in position],
            "orientation": [round(float(v), 6) for v in grip[3:]]}  # fmt: skip


def calibration_motion(side_reach_m: float | None = None, repeats: int = 1, standing: bool = False) -> str:
    """The motion-file text: the pose ``repeats`` times (each pass 7.8 s, then 4 s at rest
    reading the panel before the next), then 2 s at rest. With ``side_reach_m`` the FIRST pass
    holds the side pose that far out; ``standing``: the body stands on the floor at y = 0."""
    eye = STANDING_EYE if standing else EYE
    rest_position = np.array(REST_GRIP_POSITION[Side.RIGHT]) + (eye - EYE)  # the arm hangs as low below the eyes
    rest = {"position": [round(float(v), 5) for v in rest_position], "orientation": [0.0, 0.0, 0.0, 1.0]}
    where = f"standing on the floor, eyes at (0, {eye[1]:.4g}, 0)" if standing else "eyes at (0, 1.2, 0)"
    lines = [
        f"# Guided calibration, {'standing' if standing else 'seated'}, one-handed: the healthy right controller only, the",
        "# affected left one untracked. Body: 1.70 m, average proportions (shoulders 0.440 m,",
        f"# arm 0.564 m), {where} looking along -Z. See tests/calibration_motion.py.",
        json.dumps({"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ}),
        json.dumps({"t": 0.0, "head": {"position": eye.tolist(), "yaw_pitch_roll_deg": [0, 0, 0]},
                    "left": {"valid": False}, "right": rest}),
    ]  # fmt: skip
    start = 0.0
    for attempt in range(repeats):
        side, forward = right_arm_grips(side_reach_m=side_reach_m if attempt == 0 else None, eye=eye)
        keys = [
            (1.6, rest), (2.6, _right(side)), (3.2, _right(side, 0.002)), (3.7, _right(side, -0.002)),
            (4.2, _right(side)), (5.2, _right(forward)), (5.8, _right(forward, 0.002)),
            (6.3, _right(forward, -0.002)), (6.8, _right(forward)), (7.8, rest),
        ]
        lines += [json.dumps({"t": round(start + t, 3), "right": pose}) for t, pose in keys]
        start += 7.8 if attempt == repeats - 1 else 7.8 + 4.0
    lines.append(json.dumps({"t": round(start + 2.0, 3), "right": rest}))
    return "\n".join(lines) + "\n"
