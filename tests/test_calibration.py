"""One-handed calibration from a guided pose, and its storage form."""

import math
import re

import numpy as np
import pytest
from body_frames import RATE_HZ

from gmi_vr.body.calibration import (
    Calibration,
    CalibrationError,
    CalibrationGuide,
    CalibrationStep,
    Posture,
    eye_in_head,
)
from gmi_vr.body.hands import grip_offset as offset_for
from gmi_vr.body.skeleton import JOINT_INDEX, BodyMeasures, rest_offsets, rest_positions, side_joint
from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.geometry import compose_pose7, invert_pose7, quat_from_matrix, quat_rotate, yaw_rotation

PROFILE = "/interaction_profiles/oculus/touch_controller"


def _patient_poses(measures: BodyMeasures, yaw: float, hips: np.ndarray, side: Side):
    """Head and the one arm's grips in the three guided poses, from a known body."""
    rest = rest_positions(rest_offsets(measures))
    body = yaw_rotation(yaw)
    head_q = quat_from_matrix(body)

    def world(local_from_hips):
        return hips + body @ local_from_hips

    eye = world(rest[JOINT_INDEX["head"]] - rest[JOINT_INDEX["hips"]] + eye_in_head(measures))
    shoulder = world(rest[side_joint(side, "UpperArm")] - rest[JOINT_INDEX["hips"]])
    sign = 1.0 if side is Side.RIGHT else -1.0
    grip_from_wrist = invert_pose7(offset_for(PROFILE).wrist_in_grip_pose(side, measures.hand_length_m))
    side_wrist = np.concatenate([shoulder + body @ [sign * measures.arm_length_m, 0, 0], head_q])
    forward_rotation = body @ np.array([[0, 0, sign], [0, 1.0, 0], [-sign, 0, 0]])  # fingers forward
    forward_wrist = np.concatenate(
        [shoulder + body @ [0, 0, -measures.arm_length_m], quat_from_matrix(forward_rotation)]
    )
    return (Pose(eye, head_q), Pose.from_array(compose_pose7(side_wrist, grip_from_wrist)),
            Pose.from_array(compose_pose7(forward_wrist, grip_from_wrist)))  # fmt: skip


def _run_guide(guide, head, side_grip, forward_grip, side, rng):
    index = 0
    for phase, grip in (("neutral", None), ("side", side_grip), ("forward", forward_grip)):
        for _ in range(int(1.6 * RATE_HZ)):
            jitter = rng.normal(0, 0.002, 3)  # a living arm is never perfectly still
            hand = HandInput()
            if grip is not None:
                hand = HandInput(grip=Pose(grip.position + jitter, grip.orientation), grip_valid=True,
                                 profile=PROFILE)  # fmt: skip
            # The affected arm holds nothing: its controller is not tracked at all.
            left, right = (hand, HandInput()) if side is Side.LEFT else (HandInput(), hand)
            t = index / RATE_HZ
            guide.add(TrackingFrame(index, t, int(t * 1e9), head, True, left, right))
            index += 1
        del phase
    return guide


@pytest.mark.parametrize("posture", [Posture.STANDING, Posture.SEATED])
@pytest.mark.parametrize("side", [Side.RIGHT, Side.LEFT])
def test_one_handed_guided_calibration_recovers_the_body(posture, side):
    truth = BodyMeasures(1.78, 0.45, 0.60, 0.191 * 1.78, 0.108 * 1.78)
    yaw = 0.7
    standing_hips = rest_positions(rest_offsets(truth))[JOINT_INDEX["hips"]][1]  # on a floor at y = 0
    hips_height = standing_hips if posture is Posture.STANDING else 0.55
    hips = np.array([0.4, hips_height, -1.1])
    head, side_grip, forward_grip = _patient_poses(truth, yaw, hips, side)
    guide = CalibrationGuide(posture, floor_y=0.0 if posture is Posture.STANDING else None,
                             known_height_m=None)  # fmt: skip
    assert guide.instruction
    _run_guide(guide, head, side_grip, forward_grip, side, np.random.default_rng(1))
    assert guide.step is CalibrationStep.DONE
    result = guide.result
    assert result is not None
    assert result.measured_side is side and result.affected_side is side.other
    assert abs(result.measures.shoulder_width_m - 0.45) < 0.01
    assert abs(result.measures.arm_length_m - 0.60) < 0.01
    if posture is Posture.STANDING:
        assert abs(result.measures.height_m - 1.78) < 0.03
    assert abs(result.yaw_rad - yaw) < math.radians(1)
    # The midline plane passes through the true body's centre line, normal to its right.
    plane = result.midline_plane()
    assert abs(plane.signed_distance(hips)) < 0.01
    np.testing.assert_allclose(plane.normal, yaw_rotation(yaw)[:, 0], atol=1e-6)
    if posture is Posture.SEATED:  # the pelvis sits where it was
        assert np.linalg.norm(result.hips_position()[[0, 2]] - hips[[0, 2]]) < 0.01


def test_a_controller_not_held_out_to_its_own_side_is_refused():
    truth = BodyMeasures.from_height(1.7)
    head, side_grip, forward_grip = _patient_poses(truth, 0.0, np.array([0, 0.9, 0]), Side.RIGHT)
    from gmi_vr.body.calibration import CalibrationSamples, calibrate

    wrong = CalibrationSamples(head, forward_grip, forward_grip, Side.RIGHT, PROFILE)
    with pytest.raises(CalibrationError, match="straight out to the side at shoulder height and hold it again") as refused:
        calibrate(wrong, Posture.STANDING, floor_y=0.0)
    assert refused.value.redo == "side"


def test_calibration_round_trips_through_plain_data_and_rejects_damage():
    calibration = Calibration.uncalibrated(Posture.SEATED, 1.66, Side.RIGHT, origin=(0.1, 0.0, 0.2))
    data = calibration.to_dict()
    import json

    again = Calibration.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    np.testing.assert_allclose(again.midline_plane().normal, calibration.midline_plane().normal)
    broken = dict(data, arm_length_m="long")
    with pytest.raises(CalibrationError, match="calibrate"):
        Calibration.from_dict(broken)
    missing = {k: v for k, v in data.items() if k != "posture"}
    with pytest.raises(CalibrationError):
        Calibration.from_dict(missing)


def test_yaw_rotation_turns_forward_as_documented():
    # yaw_rotation turns the body's forward (-Z) to (-sin, 0, -cos).
    q = quat_from_matrix(yaw_rotation(0.3))
    np.testing.assert_allclose(quat_rotate(q, [0, 0, -1.0]), [-math.sin(0.3), 0, -math.cos(0.3)], atol=1e-12)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    height=st.floats(1.45, 2.0),
    shoulder_ratio=st.floats(0.22, 0.29),
    arm_ratio=st.floats(0.30, 0.36),
    yaw=st.floats(-math.pi, math.pi),
    x=st.floats(-2, 2),
    z=st.floats(-2, 2),
    side=st.sampled_from([Side.LEFT, Side.RIGHT]),
)
def test_calibration_recovers_any_plausible_body_from_one_arm(height, shoulder_ratio, arm_ratio, yaw, x, z, side):
    from gmi_vr.body.calibration import CalibrationSamples, calibrate

    truth = BodyMeasures(height, shoulder_ratio * height, arm_ratio * height, 0.191 * height, 0.108 * height)
    hips = np.array([x, rest_positions(rest_offsets(truth))[JOINT_INDEX["hips"]][1], z])
    head, side_grip, forward_grip = _patient_poses(truth, yaw, hips, side)
    result = calibrate(CalibrationSamples(head, side_grip, forward_grip, side, PROFILE), Posture.STANDING,
                       known_height_m=height)  # fmt: skip
    assert abs(result.measures.shoulder_width_m - truth.shoulder_width_m) < 1e-6
    assert abs(result.measures.arm_length_m - truth.arm_length_m) < 1e-6
    assert abs(math.remainder(result.yaw_rad - yaw, 2 * math.pi)) < 1e-6
    assert abs(result.midline_plane().signed_distance(hips)) < 1e-6
    assert result.affected_side is side.other


def test_guide_waits_for_the_forward_pose_and_can_restart():
    truth = BodyMeasures.from_height(1.7)
    hips = np.array([0.0, rest_positions(rest_offsets(truth))[JOINT_INDEX["hips"]][1], 0.0])
    head, side_grip, forward_grip = _patient_poses(truth, 0.0, hips, Side.RIGHT)
    guide = CalibrationGuide(Posture.STANDING, floor_y=0.0)
    rng = np.random.default_rng(3)
    # The arm stays out to the side through the "forward" step: nothing is measured.
    _run_guide(guide, head, side_grip, side_grip, Side.RIGHT, rng)
    assert guide.step is CalibrationStep.FORWARD and guide.result is None
    guide.restart()
    assert guide.step is CalibrationStep.NEUTRAL
    _run_guide(guide, head, side_grip, forward_grip, Side.RIGHT, rng)
    assert guide.step is CalibrationStep.DONE
    assert guide.result is not None and abs(guide.result.measures.arm_length_m - truth.arm_length_m) < 0.01


def test_a_standing_calibration_done_seated_is_refused_and_the_whole_pose_asked_again():
    # The patient sits while the clinic calibrates "standing" on a known floor: the eyes give
    # a body about 1.3 m tall, each measure alone within a human's range, the arm far too
    # long for that height.
    truth = BodyMeasures(1.78, 0.45, 0.60, 0.191 * 1.78, 0.108 * 1.78)
    head, side_grip, forward_grip = _patient_poses(truth, 0.3, np.array([0.0, 0.55, 0.0]), Side.RIGHT)
    guide = CalibrationGuide(Posture.STANDING, floor_y=0.0)
    with pytest.raises(CalibrationError) as refused:
        _run_guide(guide, head, side_grip, forward_grip, Side.RIGHT, np.random.default_rng(2))
    message = str(refused.value)
    assert re.match(r"The arm measured \(0\.6\d m\) does not fit a body 1\.3\d m tall \(an arm is about "
                    r"0\.27-0\.40 of the height\)", message), message
    assert message.endswith("; stand upright looking straight ahead and hold still again (or calibrate seated).")
    assert message.count(". ") == 0 and refused.value.redo == "neutral"
    assert guide.result is None
    guide.restart()
    assert guide.step is CalibrationStep.NEUTRAL


def test_implausible_shoulders_ask_for_the_forward_step_again_and_keep_the_rest():
    truth = BodyMeasures.from_height(1.70)
    hips = np.array([0.0, 0.9, 0.0])
    head, side_grip, forward_grip = _patient_poses(truth, 0.0, hips, Side.RIGHT)
    # The arm reached forward across the body: its wrist 5 cm from the midline, shoulders
    # "0.10 m" apart.
    across = Pose(forward_grip.position - [truth.shoulder_width_m / 2 - 0.05, 0.0, 0.0], forward_grip.orientation)
    guide = CalibrationGuide(Posture.SEATED)
    with pytest.raises(CalibrationError, match=r"shoulder width \(0\.1\d m\) is outside a human's 0\.22-0\.65 m; "
                                               r"stretch the same arm fully straight forward") as refused:
        _run_guide(guide, head, side_grip, across, Side.RIGHT, np.random.default_rng(3))
    assert refused.value.redo == "forward" and guide.result is None
    guide.restart()
    assert guide.step is CalibrationStep.FORWARD  # the upright and side poses stand
    index = 10_000
    for _ in range(int(1.6 * RATE_HZ)):
        t = index / RATE_HZ
        hand = HandInput(grip=forward_grip, grip_valid=True, profile=PROFILE)
        guide.add(TrackingFrame(index, t, int(t * 1e9), head, True, HandInput(), hand))
        index += 1
    assert guide.step is CalibrationStep.DONE and guide.result is not None
    assert abs(guide.result.measures.shoulder_width_m - truth.shoulder_width_m) < 0.01
