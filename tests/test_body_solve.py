"""The body solve: same-frame mirroring, modes, side switching, tracking loss, amputation."""

import math

import numpy as np
import pytest
from body_frames import calibration, frame, grip_in_front, held, upright_head

from gmi_vr.body import BodyPose, LimbMode
from gmi_vr.body.skeleton import JOINT_INDEX, JOINT_NAMES, side_joint
from gmi_vr.body.solve import BodySettings, BodyState, LimbPresence, solve_body
from gmi_vr.core.types import HandInput, Pose, Side
from gmi_vr.geometry import rotation_angle_between
from gmi_vr.geometry.reflect import reflect_frames, reflect_pose

MM = 1e-3
DEG = math.radians(1)


def assert_pose_close(a: Pose, b: Pose, position_m: float, angle_rad: float) -> None:
    distance = float(np.linalg.norm(a.position - b.position))
    angle = float(rotation_angle_between(a.orientation, b.orientation))
    assert distance <= position_m, f"{distance * 1000:.2f} mm apart"
    assert angle <= angle_rad, f"{math.degrees(angle):.2f} degrees apart"


def _same(a: Pose, b: Pose) -> bool:
    """Caught up: within a micrometre and a millidegree (the limiter hands over exactly)."""
    return bool(np.linalg.norm(a.position - b.position) < 1e-6
                and rotation_angle_between(a.orientation, b.orientation) < 1e-3 * DEG)


def test_affected_hand_is_the_same_frame_reflection_of_the_healthy_one_on_every_frame():
    cal = calibration()
    plane = cal.midline_plane()
    state, settings = BodyState(), BodySettings(mode=LimbMode.MIRROR)
    for i in range(270):  # 3 s of a moving healthy hand, head turning left and right
        t = i / 90
        grip = grip_in_front(cal, Side.RIGHT, t)
        head = upright_head(cal, extra_yaw=0.5 * math.sin(2.0 * t))
        # The affected (left) controller is tracked too, somewhere else: mirror mode ignores it.
        decoy = held(Pose(np.array([5.0, 0.0, 5.0]), np.array([0, 0, 0, 1.0])))
        body = solve_body(frame(i, head, left=decoy, right=held(grip)), cal, settings, state)
        assert body.displayed_right_valid and body.displayed_left_valid
        # The healthy hand is where its controller is (zero lag, reachable path)...
        assert_pose_close(body.displayed_right, grip, 1 * MM, 0.1 * DEG)
        # ...and the affected hand is its reflection from this very frame.
        assert_pose_close(body.displayed_left, reflect_pose(body.displayed_right, plane), 5 * MM, 2 * DEG)
        assert_pose_close(body.displayed_left, reflect_pose(grip, plane), 5 * MM, 2 * DEG)
        # The drawn arm agrees: every left-arm joint mirrors its right counterpart.
        for bone in ("LowerArm", "Hand", "IndexDistal", "ThumbDistal"):
            left = body.world_from_joint[side_joint(Side.LEFT, bone)]
            right = body.world_from_joint[side_joint(Side.RIGHT, bone)]
            mirrored = reflect_frames(right, plane)
            np.testing.assert_allclose(left[:3, 3], mirrored[:3, 3], atol=5 * MM)
            np.testing.assert_allclose(left[:3, :3], mirrored[:3, :3], atol=0.03)


def test_joint_frames_are_proper_rotations_and_elbows_bend_forwards():
    cal = calibration()
    state = BodyState()
    for i in range(60):
        body = solve_body(frame(i, upright_head(cal), right=held(grip_in_front(cal, Side.RIGHT, i / 30))),
                          cal, BodySettings(), state)  # fmt: skip
        rotations = body.world_from_joint[:, :3, :3]
        np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-6)
        for side in (Side.LEFT, Side.RIGHT):
            upper = body.world_from_joint[side_joint(side, "UpperArm")]
            lower = body.world_from_joint[side_joint(side, "LowerArm")]
            # The forearm bends about the elbow hinge (the upper arm's local Y), one way only:
            # its direction, seen from the upper arm, stays in the hinge plane with a
            # non-negative flexion angle (never bends backwards)...
            bone = np.array([-1.0, 0, 0]) if side is Side.LEFT else np.array([1.0, 0, 0])
            hinge = np.array([0, -1.0, 0]) if side is Side.LEFT else np.array([0, 1.0, 0])
            forearm = upper[:3, :3].T @ (lower[:3, :3] @ bone)
            assert abs(forearm @ hinge) < 1e-9
            assert np.cross(bone, forearm) @ hinge >= -1e-9
            # ...and its frame differs from the hinged one only by a twist about the forearm.
            twist_free = upper[:3, :3].T @ lower[:3, :3]
            np.testing.assert_allclose(twist_free @ bone, forearm, atol=1e-9)


def test_switching_the_affected_side_makes_the_other_hand_follow():
    cal = calibration()
    plane = cal.midline_plane()
    state = BodyState()
    settings = BodySettings(mode=LimbMode.MIRROR, affected_side=Side.LEFT)
    previous: BodyPose | None = None
    caught_up_at = None
    for i in range(200):
        t = i / 90
        left, right = grip_in_front(cal, Side.LEFT, t + 1.0), grip_in_front(cal, Side.RIGHT, t)
        if i == 100:
            settings = BodySettings(mode=LimbMode.MIRROR, affected_side=Side.RIGHT)
        body = solve_body(frame(i, upright_head(cal), held(left), held(right)), cal, settings, state)
        if i < 100:
            assert_pose_close(body.displayed_left, reflect_pose(body.displayed_right, plane), 5 * MM, 2 * DEG)
        else:
            assert body.affected_side is Side.RIGHT
            assert previous is not None
            for side in (Side.LEFT, Side.RIGHT):  # both hands glide to their new sources
                step = np.linalg.norm(body.displayed(side)[0].position - previous.displayed(side)[0].position)
                assert step <= settings.return_max_step_m + 1e-6
            mirrored = reflect_pose(body.displayed_left, plane)
            if caught_up_at is None and _same(body.displayed_right, mirrored) and _same(body.displayed_left, left):
                caught_up_at = i
            if caught_up_at is not None:
                assert_pose_close(body.displayed_left, left, 1 * MM, 0.1 * DEG)
                assert_pose_close(body.displayed_right, mirrored, 5 * MM, 2 * DEG)
        previous = body
    assert caught_up_at is not None and caught_up_at < 130


def test_tracking_loss_freezes_then_eases_to_rest_and_blends_back_within_the_bound():
    cal = calibration()
    plane = cal.midline_plane()
    state, settings = BodyState(), BodySettings(mode=LimbMode.MIRROR)
    lost_from, back_at = 60, 60 + 3 * 90
    previous = None
    frozen_pose = None
    caught_up = None
    for i in range(back_at + 120):
        t = i / 90
        live = not (lost_from <= i < back_at)
        # On return the hand reappears far from where it was lost.
        grip = grip_in_front(cal, Side.RIGHT, t if i < lost_from else t + 2.0)
        right = held(grip) if live else HandInput(grip=grip, grip_valid=False)
        body = solve_body(frame(i, upright_head(cal), right=right), cal, settings, state)
        shown = body.displayed_left
        if previous is not None:
            step = float(np.linalg.norm(shown.position - previous.position))
            turn = float(rotation_angle_between(shown.orientation, previous.orientation))
            if i >= back_at:  # the stated bound while blending back
                assert step <= settings.return_max_step_m + 1e-6
                assert turn <= math.radians(settings.return_max_turn_deg) + 1e-6
            else:  # freezing and easing are smooth too (smoothstep peak speed)
                assert step <= 1.5 * 0.6 / (settings.loss_ease_s * 90) + 1e-6
        if i == lost_from - 1:
            frozen_pose = shown
        if lost_from <= i < lost_from + 45:
            assert not body.displayed_left_valid
            assert_pose_close(shown, frozen_pose, 1e-9, 1e-6)  # frozen
        if i == back_at - 1:
            rest = state.model.rest_grip(Side.LEFT, held(Pose()).profile)
            assert np.linalg.norm(shown.position - rest[:3]) < 5 * MM  # at rest by now
        if i >= back_at and caught_up is None:
            if _same(shown, reflect_pose(grip, plane)):
                caught_up = i
        if caught_up is not None:
            assert_pose_close(shown, reflect_pose(grip, plane), 5 * MM, 2 * DEG)
        previous = shown
    assert caught_up is not None and caught_up - back_at < 60


def test_a_head_turn_does_not_swing_the_mirrored_limb():
    cal = calibration()
    grip = grip_in_front(cal, Side.RIGHT, 0.3)
    shown = []
    for extra_yaw in (-0.8, 0.0, 0.8):
        body = solve_body(frame(0, upright_head(cal, extra_yaw), right=held(grip)), cal,
                          BodySettings(), BodyState())
        shown.append(body.displayed_left.position)
    np.testing.assert_allclose(shown[0], shown[1], atol=1e-9)
    np.testing.assert_allclose(shown[2], shown[1], atol=1e-9)


def test_modes_real_blend_and_still():
    cal = calibration()
    plane = cal.midline_plane()
    left, right = grip_in_front(cal, Side.LEFT, 2.0), grip_in_front(cal, Side.RIGHT, 0.0)
    f = frame(0, upright_head(cal), held(left), held(right))
    real = solve_body(f, cal, BodySettings(mode=LimbMode.REAL), BodyState())
    assert_pose_close(real.displayed_left, left, 1 * MM, 0.1 * DEG)
    assert_pose_close(real.displayed_right, right, 1 * MM, 0.1 * DEG)
    blend = solve_body(f, cal, BodySettings(mode=LimbMode.BLEND, blend=0.5), BodyState())
    halfway = (reflect_pose(right, plane).position + left.position) / 2
    np.testing.assert_allclose(blend.displayed_left.position, halfway, atol=1 * MM)
    assert blend.blend == 0.5 and blend.mode is LimbMode.BLEND
    state = BodyState()
    still = solve_body(f, cal, BodySettings(mode=LimbMode.STILL), state)
    np.testing.assert_allclose(still.displayed_left.position, state.model.rest_grip(Side.LEFT, held(Pose()).profile)[:3], atol=1 * MM)
    assert_pose_close(still.displayed_right, right, 1 * MM, 0.1 * DEG)


def test_hidden_and_shortened_limbs():
    cal = calibration()
    f = frame(0, upright_head(cal), right=held(grip_in_front(cal, Side.RIGHT, 0.0)))
    hidden = solve_body(f, cal, BodySettings(limbs=LimbPresence(left_arm=0.0)), BodyState())
    left_hand = hidden.world_from_joint[side_joint(Side.LEFT, "Hand")]
    assert np.allclose(left_hand[:3, :3], 0.0)
    upper = hidden.world_from_joint[side_joint(Side.LEFT, "UpperArm")]
    assert abs(np.linalg.det(upper[:3, :3])) < 1e-9  # squashed to nothing along the bone
    assert not hidden.displayed_left_valid and hidden.displayed_right_valid
    short = solve_body(f, cal, BodySettings(limbs=LimbPresence(left_arm=0.5)), BodyState())
    upper = short.world_from_joint[side_joint(Side.LEFT, "UpperArm")]
    np.testing.assert_allclose(np.linalg.det(upper[:3, :3]), 1.0, atol=1e-9)  # kept whole
    lower = short.world_from_joint[side_joint(Side.LEFT, "LowerArm")]
    assert 0.0 < np.linalg.det(lower[:3, :3]) < 1.0  # the forearm is shortened
    assert np.allclose(short.world_from_joint[side_joint(Side.LEFT, "IndexDistal")][:3, :3], 0.0)
    # The other limbs are untouched.
    np.testing.assert_allclose(short.world_from_joint[side_joint(Side.RIGHT, "Hand")],
                               hidden.world_from_joint[side_joint(Side.RIGHT, "Hand")], atol=1e-12)


def test_fingers_follow_trigger_and_squeeze_and_are_mirrored():
    cal = calibration()
    plane = cal.midline_plane()
    grip = grip_in_front(cal, Side.RIGHT, 0.0)
    open_body = solve_body(frame(0, upright_head(cal), right=held(grip)), cal, BodySettings(), BodyState())
    fist = solve_body(frame(0, upright_head(cal), right=held(grip, trigger=1.0, squeeze=1.0)), cal,
                      BodySettings(), BodyState())  # fmt: skip

    def tip_to_wrist(body, side, finger):
        tip = body.world_from_joint[side_joint(side, f"{finger}Distal")][:3, 3]
        return np.linalg.norm(tip - body.world_from_joint[side_joint(side, "Hand")][:3, 3])

    for finger in ("Index", "Middle", "Little"):
        assert tip_to_wrist(fist, Side.RIGHT, finger) < tip_to_wrist(open_body, Side.RIGHT, finger) - 0.005
    for name in JOINT_NAMES:
        if name.startswith("right") and any(f in name for f in ("Thumb", "Index", "Little")):
            right = fist.world_from_joint[JOINT_INDEX[name]]
            left = fist.world_from_joint[JOINT_INDEX["left" + name[5:]]]
            mirrored = reflect_frames(right, plane)
            np.testing.assert_allclose(left[:3, 3], mirrored[:3, 3], atol=5 * MM)
            np.testing.assert_allclose(left[:3, :3], mirrored[:3, :3], atol=1e-6)


def test_hand_tracking_joints_drive_wrist_and_fingers():
    from gmi_vr.body.hands import XR_FINGER_JOINTS, XR_WRIST

    cal = calibration()
    grip = grip_in_front(cal, Side.RIGHT, 0.0)
    reference = solve_body(frame(0, upright_head(cal), right=held(grip)), cal, BodySettings(), BodyState())
    hand = reference.world_from_joint[side_joint(Side.RIGHT, "Hand")]
    # XR joint frames: -Z along the finger, +Y out of the back of the hand.
    xr_from_skeleton = np.array([[0, 1.0, 0], [0, 0, 1.0], [-1.0, 0, 0]]).T  # right hand
    from gmi_vr.geometry import quat_from_matrix

    wrist_q = quat_from_matrix(hand[:3, :3] @ np.linalg.inv(xr_from_skeleton).T @ np.eye(3))
    # Build joints: a flat hand (every joint oriented like the wrist), then bend the index.
    joints = np.zeros((26, 7))
    joints[:, :3] = hand[:3, 3]
    joints[:, 3:] = wrist_q
    curled_q = quat_from_matrix(
        hand[:3, :3] @ np.array([[0, 1.0, 0], [-1.0, 0, 0], [0, 0, 1.0]]).T @ np.linalg.inv(xr_from_skeleton).T
    )
    for j in XR_FINGER_JOINTS[1][1:]:
        joints[j, 3:] = curled_q
    tracked = HandInput(joints=joints, joints_valid=np.ones(26, bool))
    body = solve_body(frame(0, upright_head(cal), right=tracked), cal, BodySettings(), BodyState())
    assert body.displayed_right_valid
    wrist = body.world_from_joint[side_joint(Side.RIGHT, "Hand")]
    np.testing.assert_allclose(wrist[:3, 3], joints[XR_WRIST, :3], atol=1 * MM)
    middle = body.world_from_joint[side_joint(Side.RIGHT, "MiddleIntermediate")]
    np.testing.assert_allclose(middle[:3, :3], wrist[:3, :3], atol=1e-6)  # straight finger
    index = body.world_from_joint[side_joint(Side.RIGHT, "IndexDistal")]
    assert not np.allclose(index[:3, :3], wrist[:3, :3], atol=1e-3)  # bent finger


@pytest.mark.parametrize("affected", [Side.LEFT, Side.RIGHT])
def test_lost_controllers_from_the_start_rest_without_nan(affected):
    cal = calibration(affected=affected)
    body = solve_body(frame(0, upright_head(cal)), cal, BodySettings(), BodyState())
    assert np.all(np.isfinite(body.world_from_joint))
    assert not body.displayed_left_valid and not body.displayed_right_valid


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

coordinate = st.floats(-1.5, 1.5, allow_nan=False)
unit_quat = st.tuples(*[st.floats(-1, 1, allow_nan=False)] * 4).filter(
    lambda q: np.linalg.norm(q) > 0.1
).map(lambda q: np.array(q) / np.linalg.norm(q))


@settings(max_examples=60, deadline=None)
@given(st.tuples(coordinate, coordinate, coordinate), unit_quat, st.sampled_from([Side.LEFT, Side.RIGHT]))
def test_any_controller_pose_gives_a_finite_proper_mirrored_body(offset, orientation, affected):
    """Reachable or not, anywhere around the patient: no NaN, proper joint rotations, and the
    displayed affected hand is the mirror image of the displayed healthy hand."""
    cal = calibration(affected=affected)
    grip = Pose(cal.hips_position() + np.array(offset), orientation)
    healthy = affected.other
    hands = {healthy: held(grip), affected: HandInput()}
    body = solve_body(frame(0, upright_head(cal), hands[Side.LEFT], hands[Side.RIGHT]), cal,
                      BodySettings(), BodyState())  # fmt: skip
    assert np.all(np.isfinite(body.world_from_joint))
    np.testing.assert_allclose(np.linalg.det(body.world_from_joint[:, :3, :3]), 1.0, atol=1e-6)
    shown_healthy, _ = body.displayed(healthy)
    shown_affected, _ = body.displayed(affected)
    assert_pose_close(shown_affected, reflect_pose(shown_healthy, cal.midline_plane()), 5 * MM, 2 * DEG)


def test_standing_body_follows_the_head_down_and_keeps_its_feet():
    from gmi_vr.body.calibration import Posture

    cal = calibration(posture=Posture.STANDING)
    upright = solve_body(frame(0, upright_head(cal)), cal, BodySettings(), BodyState())
    head = upright_head(cal)
    lowered = Pose(head.position - np.array([0.0, 0.15, 0.0]), head.orientation)
    crouched = solve_body(frame(0, lowered), cal, BodySettings(), BodyState())
    hips = JOINT_INDEX["hips"]
    assert crouched.world_from_joint[hips, 1, 3] == pytest.approx(upright.world_from_joint[hips, 1, 3] - 0.15)
    for side in (Side.LEFT, Side.RIGHT):
        foot = side_joint(side, "Foot")
        # Planted (within the IK's 0.1 mm straight-leg margin when standing fully upright).
        np.testing.assert_allclose(crouched.world_from_joint[foot, :3, 3], upright.world_from_joint[foot, :3, 3],
                                   atol=1e-3)  # fmt: skip
        knee = side_joint(side, "LowerLeg")
        forward = cal.body_rotation() @ np.array([0, 0, -1.0])
        hip_to_foot = crouched.world_from_joint[foot, :3, 3] - crouched.world_from_joint[side_joint(side, "UpperLeg"), :3, 3]
        knee_offset = crouched.world_from_joint[knee, :3, 3] - crouched.world_from_joint[side_joint(side, "UpperLeg"), :3, 3]
        assert (knee_offset - hip_to_foot * 0.5) @ forward > 0.01  # knees bend forwards


def test_a_lost_head_keeps_the_last_head_pose():
    cal = calibration()
    state = BodyState()
    first = solve_body(frame(0, upright_head(cal, 0.3)), cal, BodySettings(), state)
    lost = frame(1, Pose(np.array([9.0, 9.0, 9.0]), np.array([0, 0, 0, 1.0])))
    lost = type(lost)(lost.index, lost.time_s, lost.time_ns, lost.head, False, lost.left, lost.right)
    second = solve_body(lost, cal, BodySettings(), state)
    np.testing.assert_allclose(second.world_from_joint, first.world_from_joint, atol=1e-12)


def test_seated_pelvis_stays_on_the_chair_while_the_spine_follows_a_lean():
    cal = calibration()
    head = upright_head(cal)
    forward = cal.body_rotation() @ np.array([0, 0, -1.0])
    upright = solve_body(frame(0, head), cal, BodySettings(), BodyState())
    leaning = solve_body(frame(0, Pose(head.position + 0.12 * forward - [0, 0.03, 0], head.orientation)), cal,
                         BodySettings(), BodyState())  # fmt: skip
    hips, neck = JOINT_INDEX["hips"], JOINT_INDEX["neck"]
    np.testing.assert_allclose(leaning.world_from_joint[hips], upright.world_from_joint[hips], atol=1e-12)
    moved = leaning.world_from_joint[neck, :3, 3] - upright.world_from_joint[neck, :3, 3]
    assert moved @ forward > 0.05  # the chest leans forwards with the head


def test_a_shortened_leg_hides_the_foot():
    cal = calibration()
    f = frame(0, upright_head(cal))
    body = solve_body(f, cal, BodySettings(limbs=LimbPresence(right_leg=0.45)), BodyState())
    for bone in ("Foot", "Toes"):
        assert np.allclose(body.world_from_joint[side_joint(Side.RIGHT, bone)][:3, :3], 0.0)
        np.testing.assert_allclose(np.linalg.det(body.world_from_joint[side_joint(Side.LEFT, bone)][:3, :3]), 1.0)
    assert body.displayed_left_valid is False and body.displayed_right_valid is False  # no controllers


def _twist_about_x(r: np.ndarray) -> float:
    return 2.0 * math.atan2(r[2, 1] - r[1, 2], 1.0 + np.trace(r))


@pytest.mark.parametrize("roll_deg", [-80.0, 40.0, 80.0])
def test_forearm_takes_half_of_a_wrist_roll(roll_deg):
    """Pronation/supination turns the forearm: half the hand's roll lands on the lower arm."""
    from gmi_vr.geometry import quat_from_axis_angle, quat_multiply

    cal = calibration()
    body_r = cal.body_rotation()
    # Arm held straight out forwards; the controller rolled about the forearm's axis.
    grip_position = cal.origin + body_r @ (np.array([0.22, 1.04, -0.62]))
    roll = quat_from_axis_angle(body_r @ np.array([0, 0, 1.0]), math.radians(roll_deg))
    grip = Pose(grip_position, quat_multiply(roll, yaw_quat_of(cal)))
    body = solve_body(frame(0, upright_head(cal), right=held(grip)), cal, BodySettings(), BodyState())
    upper = body.world_from_joint[side_joint(Side.RIGHT, "UpperArm"), :3, :3]
    lower = body.world_from_joint[side_joint(Side.RIGHT, "LowerArm"), :3, :3]
    hand = body.world_from_joint[side_joint(Side.RIGHT, "Hand"), :3, :3]
    forearm_twist = _twist_about_x(upper.T @ lower)
    hand_twist = _twist_about_x(lower.T @ hand)
    assert abs(forearm_twist) > math.radians(abs(roll_deg) / 6)  # the forearm does turn
    assert abs(forearm_twist - hand_twist) < math.radians(3)  # shared about equally


def yaw_quat_of(cal):
    from body_frames import yaw_quat

    return yaw_quat(cal.yaw_rad)


def test_body_settings_round_trip_as_plain_data():
    import json

    from gmi_vr.core.errors import InputFileError

    settings = BodySettings(mode=LimbMode.BLEND, blend=0.3, affected_side=Side.RIGHT,
                            limbs=LimbPresence(left_arm=0.6))  # fmt: skip
    again = BodySettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings
    assert BodySettings.from_dict({}) == BodySettings()
    with pytest.raises(InputFileError):
        BodySettings.from_dict({"mode": "sideways"})
    with pytest.raises(InputFileError):
        BodySettings.from_dict({"blend": 3.0})
    with pytest.raises(InputFileError):
        BodySettings.from_dict({"limbs": {"tail": 1.0}})


@pytest.mark.parametrize("side", [Side.LEFT, Side.RIGHT])
def test_tracked_hand_joints_reproduce_the_hand_they_were_read_from(side):
    """Joints written from a solved hand (XR_EXT_hand_tracking frames: -Z to the fingertip,
    +Y out of the back of the hand) and read back give the same wrist and finger frames."""
    from gmi_vr.body.hands import _SKELETON_FROM_XR_MATRIX, XR_FINGER_JOINTS, XR_WRIST
    from gmi_vr.geometry import quat_from_matrix

    cal = calibration(affected=side.other)
    grip = grip_in_front(cal, side, 0.4)
    hands = {side: held(grip, trigger=0.7, squeeze=0.4), side.other: HandInput()}
    source = solve_body(frame(0, upright_head(cal), hands[Side.LEFT], hands[Side.RIGHT]), cal,
                        BodySettings(mode=LimbMode.REAL), BodyState())  # fmt: skip
    xr_from_skeleton = _SKELETON_FROM_XR_MATRIX[side].T
    joints = np.zeros((26, 7))
    joints[:, 6] = 1.0
    skeleton_joints = [side_joint(side, "Hand")] + [
        side_joint(side, f"{finger}{segment}")
        for finger, segments in (("Thumb", ("Metacarpal", "Proximal", "Distal")),
                                 ("Index", ("Proximal", "Intermediate", "Distal")),
                                 ("Middle", ("Proximal", "Intermediate", "Distal")),
                                 ("Ring", ("Proximal", "Intermediate", "Distal")),
                                 ("Little", ("Proximal", "Intermediate", "Distal")))
        for segment in segments
    ]  # fmt: skip
    xr_joints = [XR_WRIST] + [j for chain in XR_FINGER_JOINTS for j in chain]
    for skeleton_index, xr_index in zip(skeleton_joints, xr_joints, strict=True):
        world = source.world_from_joint[skeleton_index]
        joints[xr_index, :3] = world[:3, 3]
        joints[xr_index, 3:] = quat_from_matrix(world[:3, :3] @ xr_from_skeleton)
    tracked = HandInput(joints=joints, joints_valid=np.ones(26, bool))
    hands = {side: tracked, side.other: HandInput()}
    again = solve_body(frame(0, upright_head(cal), hands[Side.LEFT], hands[Side.RIGHT]), cal,
                       BodySettings(mode=LimbMode.REAL), BodyState())  # fmt: skip
    for index in skeleton_joints:
        np.testing.assert_allclose(again.world_from_joint[index], source.world_from_joint[index], atol=1e-6)
