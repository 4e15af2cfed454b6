"""A tracked hand without a controller read as one: palm pose as grip, pinch with hysteresis
as the trigger, an open palm shown to the face and held as the stop (menu)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gmi_vr.core.types import HAND_JOINT_COUNT, HandInput, Pose, Side
from gmi_vr.xr.hands_only import (
    FINGERTIPS,
    HAND_TRACKING_PROFILE,
    INDEX_TIP,
    OPEN_PALM_HOLD_S,
    PINCH_CLOSE_M,
    PINCH_OPEN_M,
    THUMB_TIP,
    HandsOnly,
)

FRAME_S = 1 / 20  # Monado's null compositor's pace
HEAD = Pose(np.array([0.0, 1.6, 0.0]))
PALM_AT = np.array([0.2, 1.3, -0.5])
S = np.sqrt(0.5)
#: Palm orientations: its -Y (the way the palm faces) towards +Z (the patient) or down.
PALM_TO_FACE = np.array([-S, 0.0, 0.0, S])
PALM_DOWN = np.array([0.0, 0.0, 0.0, 1.0])


def tracked_hand(pinch_m: float = 0.12, open_hand: bool = True,
                 palm_orientation: np.ndarray = PALM_TO_FACE) -> HandInput:
    """A hand with no controller: all 26 joints valid, fingertips 10 cm from the palm (open)
    or 3 cm (curled), thumb and index tips ``pinch_m`` apart."""
    joints = np.tile(np.r_[PALM_AT, palm_orientation], (HAND_JOINT_COUNT, 1))
    reach = 0.10 if open_hand else 0.03
    for i, tip in enumerate(FINGERTIPS):
        joints[tip, :3] = PALM_AT + np.array([0.02 * (i - 2), reach, 0.0])
    joints[INDEX_TIP, :3] = joints[THUMB_TIP, :3] + np.array([pinch_m, 0.0, 0.0])
    return HandInput(joints=joints, joints_valid=np.ones(HAND_JOINT_COUNT, dtype=bool),
                     joints_tracked=np.ones(HAND_JOINT_COUNT, dtype=bool),
                     profile="/interaction_profiles/valve/index_controller")  # fmt: skip


def test_a_hand_holding_a_controller_is_left_as_read() -> None:
    hand = dataclasses.replace(tracked_hand(pinch_m=0.005), grip=Pose(np.ones(3)), grip_valid=True)
    assert HandsOnly().apply(Side.RIGHT, hand, 1.0, HEAD) is hand


def test_without_joints_or_with_a_fingertip_untracked_nothing_is_made_up() -> None:
    bare = HandInput()
    assert HandsOnly().apply(Side.LEFT, bare, 1.0, HEAD) is bare
    hand = tracked_hand(pinch_m=0.005)
    valid = np.ones(HAND_JOINT_COUNT, dtype=bool)
    valid[INDEX_TIP] = False
    partial = dataclasses.replace(hand, joints_valid=valid, joints_tracked=valid)
    assert HandsOnly().apply(Side.LEFT, partial, 1.0, HEAD) is partial
    # Valid but no longer tracked (a switched-off controller's last hand pose): not a hand.
    stale = dataclasses.replace(hand, joints_tracked=np.zeros(HAND_JOINT_COUNT, dtype=bool))
    assert HandsOnly().apply(Side.LEFT, stale, 1.0, HEAD) is stale


def test_the_palm_joint_becomes_the_grip_and_the_profile_says_hand_tracking() -> None:
    out = HandsOnly().apply(Side.LEFT, tracked_hand(), 1.0, HEAD)
    assert out.grip_valid and out.aim_valid and out.profile == HAND_TRACKING_PROFILE
    assert np.allclose(out.grip.position, PALM_AT) and np.allclose(out.grip.orientation, PALM_TO_FACE)
    assert not out.trigger_click and not out.menu


def test_a_pinch_closes_below_the_close_distance_and_opens_only_beyond_the_open_one() -> None:
    hands = HandsOnly()
    distances = [0.05, PINCH_CLOSE_M + 0.001, PINCH_CLOSE_M - 0.001, 0.025, PINCH_OPEN_M,
                 PINCH_OPEN_M + 0.001, 0.02, PINCH_CLOSE_M - 0.005]  # fmt: skip
    expected = [False, False, True, True, True, False, False, True]
    seen, changes = [], []
    for i, d in enumerate(distances):
        out = hands.apply(Side.RIGHT, tracked_hand(pinch_m=d), 10.0 + i * FRAME_S, HEAD)
        seen.append(out.trigger_click)
        changes.append(out.changed_at_s.get("trigger_click"))
    assert seen == expected
    # The change time is the display time of the frame that saw the pinch close or open.
    assert changes[2] == changes[3] == changes[4] == pytest.approx(10.0 + 2 * FRAME_S)
    assert changes[5] == changes[6] == pytest.approx(10.0 + 5 * FRAME_S)
    assert changes[7] == pytest.approx(10.0 + 7 * FRAME_S)


def test_an_open_palm_shown_to_the_face_stops_after_a_held_second_only() -> None:
    hands = HandsOnly()
    frames = int(round(OPEN_PALM_HOLD_S / FRAME_S)) + 3
    menu = [hands.apply(Side.LEFT, tracked_hand(), 5.0 + i * FRAME_S, HEAD).menu for i in range(frames)]
    first = menu.index(True)
    assert first == int(round(OPEN_PALM_HOLD_S / FRAME_S)) and all(menu[first:])


@pytest.mark.parametrize("hand", [
    tracked_hand(palm_orientation=PALM_DOWN),  # reaching, palm down: not a stop sign
    tracked_hand(open_hand=False),  # a curled hand
])  # fmt: skip
def test_an_open_hand_reaching_or_a_fist_never_stops(hand: HandInput) -> None:
    hands = HandsOnly()
    assert not any(hands.apply(Side.LEFT, hand, i * FRAME_S, HEAD).menu for i in range(60))
    assert not any(hands.apply(Side.LEFT, hand, i * FRAME_S, None).menu for i in range(60))


def test_lowering_the_palm_restarts_the_hold() -> None:
    hands = HandsOnly()
    hold = int(round(OPEN_PALM_HOLD_S / FRAME_S))
    t = 0.0
    for _ in range(hold - 2):
        assert not hands.apply(Side.RIGHT, tracked_hand(), t, HEAD).menu
        t += FRAME_S
    hands.apply(Side.RIGHT, tracked_hand(palm_orientation=PALM_DOWN), t, HEAD)
    t += FRAME_S
    menu = []
    for _ in range(hold + 1):
        menu.append(hands.apply(Side.RIGHT, tracked_hand(), t, HEAD).menu)
        t += FRAME_S
    assert menu.index(True) == hold


def test_the_therapists_status_says_which_hand_is_tracked_without_a_controller() -> None:
    from gmi_vr.app.headset import status_line

    hand = HandsOnly().apply(Side.RIGHT, tracked_hand(), 1.0, HEAD)
    controller = HandInput(grip=Pose(np.ones(3)), grip_valid=True, profile="/interaction_profiles/valve/index_controller")
    line = status_line("headset: Monado", None, None, (controller, hand))
    assert line == ("headset: Monado  |  hand tracking, no controller: right "
                    "(pinch answers, open palm stops)")  # fmt: skip
    assert status_line("headset: Monado", None, None, (controller, controller)) == "headset: Monado"


def test_the_status_says_how_the_tracked_hand_answers_for_this_patient() -> None:
    from gmi_vr.app.headset import hand_answer_words, status_line
    from gmi_vr.therapy.plan.program import BodyPart, Program

    program = Program.default(Side.LEFT, BodyPart.HAND)
    assert hand_answer_words(program) == hand_answer_words(None) == "pinch answers, open palm stops"
    one_handed, _ = program.override("therapist", "cannot pinch, one hand only", "2026-12-05T17:00:00",
                                     **{"hands.confirm": "dwell", "hands.dwell_s": 2.0,
                                        "laterality.answer.mode": "point"})  # fmt: skip
    words = hand_answer_words(one_handed)
    assert words == "dwell 2 s answers, left/right by pointing with the right hand, open palm stops"
    hand = HandsOnly().apply(Side.RIGHT, tracked_hand(), 1.0, HEAD)
    assert status_line("headset: Monado", None, None, (HandInput(), hand), words).endswith(
        f"hand tracking, no controller: right ({words})")
