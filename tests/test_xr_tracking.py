"""Building TrackingFrames from raw runtime results: validity rules, without a runtime."""

from __future__ import annotations

import numpy as np
import pytest

from gmi_vr.core.types import HAND_JOINT_COUNT
from gmi_vr.xr.tracking import (
    ORIENTATION_TRACKED,
    ORIENTATION_VALID,
    POSITION_TRACKED,
    POSITION_VALID,
    RawHand,
    RawLocation,
    RawView,
    hand_input,
    tracking_frame,
)

ALL_FLAGS = ORIENTATION_VALID | POSITION_VALID | ORIENTATION_TRACKED | POSITION_TRACKED
GRIP = (0.1, 1.2, -0.3, 0.0, 0.0, 0.0, 1.0)


def test_a_located_active_grip_is_valid_with_its_pose() -> None:
    hand = hand_input(RawHand(grip=RawLocation(GRIP, ALL_FLAGS), grip_active=True))
    assert hand.grip_valid
    np.testing.assert_allclose(hand.grip.position, GRIP[:3])
    np.testing.assert_allclose(hand.grip.orientation, GRIP[3:])


@pytest.mark.parametrize(
    ("flags", "active"),
    [
        (ALL_FLAGS, False),  # action not bound to a live device
        (POSITION_VALID | POSITION_TRACKED, True),  # orientation missing
        (ORIENTATION_VALID | ORIENTATION_TRACKED, True),  # position missing
        (0, True),
    ],
)
def test_an_unusable_pose_is_invalid_and_never_carries_the_reported_value(
    flags: int, active: bool
) -> None:
    hand = hand_input(
        RawHand(
            grip=RawLocation(GRIP, flags),
            grip_active=active,
            aim=RawLocation(GRIP, flags),
            aim_active=active,
        )
    )
    assert not hand.grip_valid and not hand.aim_valid
    np.testing.assert_array_equal(hand.grip.position, [0, 0, 0])
    np.testing.assert_array_equal(hand.grip.orientation, [0, 0, 0, 1])


def analog(squeeze: float, active: bool) -> RawHand:
    """A hand whose trigger reads 0.8, its squeeze ``squeeze`` and its thumbstick (0.5, -0.5),
    with all three actions ``active`` or not."""
    return RawHand(
        trigger=0.8,
        trigger_active=active,
        squeeze=squeeze,
        squeeze_active=active,
        thumbstick=(0.5, -0.5),
        thumbstick_active=active,
    )


def test_inactive_analog_inputs_read_as_released() -> None:
    hand = hand_input(analog(squeeze=0.6, active=False))
    assert (hand.trigger, hand.squeeze, hand.thumbstick) == (0.0, 0.0, (0.0, 0.0))
    active = hand_input(analog(squeeze=1.3, active=True))
    assert active.trigger == pytest.approx(0.8)
    assert active.squeeze == 1.0  # clamped to the documented 0..1
    assert active.thumbstick == (0.5, -0.5)


def test_hand_joints_keep_only_valid_joints() -> None:
    joints = np.tile(np.array(GRIP), (HAND_JOINT_COUNT, 1))
    flags = np.full(HAND_JOINT_COUNT, ALL_FLAGS, dtype=np.uint64)
    flags[3] = ORIENTATION_VALID  # position missing
    hand = hand_input(RawHand(joints=joints, joint_flags=flags, joints_active=True))
    assert hand.joints is not None and hand.joints_valid is not None
    assert hand.joints.shape == (HAND_JOINT_COUNT, 7)
    assert hand.joints_valid.sum() == HAND_JOINT_COUNT - 1 and not hand.joints_valid[3]
    np.testing.assert_array_equal(hand.joints[3], [0, 0, 0, 0, 0, 0, 1])
    inactive = hand_input(RawHand(joints=joints, joint_flags=flags, joints_active=False))
    assert inactive.joints is None and inactive.joints_valid is None


def test_tracking_frame_carries_time_head_and_views() -> None:
    view = RawView((0.03, 1.6, 0.0, 0.0, 0.0, 0.0, 1.0), (-0.8, 0.7, 0.75, -0.75))
    frame = tracking_frame(
        index=7,
        predicted_display_time_ns=12_345_678_901,
        head=RawLocation((0.0, 1.6, 0.0, 0.0, 0.0, 0.0, 1.0), ALL_FLAGS),
        views=(view, view),
        views_valid=True,
        left=RawHand(),
        right=RawHand(grip=RawLocation(GRIP, ALL_FLAGS), grip_active=True),
        focused=True,
    )
    assert frame.index == 7 and frame.time_ns == 12_345_678_901
    assert frame.time_s == pytest.approx(12.345678901)
    assert frame.head_valid and frame.head.position[1] == pytest.approx(1.6)
    assert (
        len(frame.views) == 2
        and frame.views[0].fov_left == -0.8
        and frame.views[0].fov_down == -0.75
    )
    assert not frame.left.grip_valid and frame.right.grip_valid
    invalid = tracking_frame(
        index=8, predicted_display_time_ns=1, head=RawLocation(), views=(view, view), views_valid=False,
        left=RawHand(), right=RawHand(), focused=False,
    )  # fmt: skip
    assert invalid.views == () and not invalid.head_valid and not invalid.focused


def test_button_change_times_travel_on_the_frame_clock() -> None:
    # XrTime nanoseconds become seconds on the same clock as TrackingFrame.time_s, so a
    # reaction time is the press's own time minus the stimulus's display time.
    hand = hand_input(RawHand(trigger_click=True, changed_at_ns={"trigger_click": 1_234_567_890_123}))
    assert hand.trigger_click
    assert hand.changed_at_s == {"trigger_click": pytest.approx(1234.567890123, abs=1e-9)}
    assert hand_input(RawHand()).changed_at_s == {}
