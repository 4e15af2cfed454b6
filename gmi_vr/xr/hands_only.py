"""A tracked hand with no controller, read as a controller (pure, no runtime).

Patients with CRPS often cannot hold a controller with the painful hand, some not with
either for long. When a hand's controller pose is not active (no controller, or switched
off) but XR_EXT_hand_tracking gives that hand's joints, ``HandsOnly.apply`` turns the
joints into the ``HandInput`` fields the rest of the app reads, so the body, the mirror and
the tasks work unchanged:

- ``grip``: the palm joint's pose (the centre of the hand, where a held controller's grip
  pose would be), valid when the palm joint is;
- ``trigger_click``: a **pinch**, thumb tip to index tip closer than ``PINCH_CLOSE_M``,
  released only when they open beyond ``PINCH_OPEN_M`` (hysteresis: a pinch held at the
  threshold does not flicker into several answers). Its change time is the frame's
  display time (joints come per frame; OpenXR gives no finer time for them);
- ``menu``: an **open palm shown to the face and held** ``OPEN_PALM_HOLD_S``: every
  fingertip at least ``OPEN_FINGERTIP_M`` from the palm joint, no pinch, and the palm
  (the palm joint's -Y, XR_EXT_hand_tracking's convention) turned within
  ``PALM_FACING_DEG`` of the direction to the head — a "stop" sign, which an open hand
  reaching for a target in mirror therapy does not make. The safety rules stop the session
  on ``menu`` (``therapy.safety.StopGesture``), so this is the one-handed stop.

``profile`` becomes ``HAND_TRACKING_PROFILE`` so the therapist's status can say the hand is
tracked without a controller. A hand whose controller is active is left exactly as read.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gmi_vr.core.types import HAND_TRACKING_PROFILE, FloatArray, HandInput, Pose, Side
from gmi_vr.geometry import quat_rotate

#: XR_EXT_hand_tracking joint indices (XrHandJointEXT).
PALM, WRIST, THUMB_TIP, INDEX_TIP, MIDDLE_TIP, RING_TIP, LITTLE_TIP = 0, 1, 5, 10, 15, 20, 25
FINGERTIPS = (THUMB_TIP, INDEX_TIP, MIDDLE_TIP, RING_TIP, LITTLE_TIP)

#: Pinch closes below this thumb-to-index-tip distance (metres). Product choice: fingertips
#: touching, with room for joint noise (an adult fingertip is about 15 mm across).
PINCH_CLOSE_M = 0.015
#: ... and opens again only beyond this (metres): twice the closing distance, so joint noise
#: of a few millimetres never re-triggers a held pinch.
PINCH_OPEN_M = 0.030
#: A fingertip this far from the palm centre (metres) counts as extended. Product choice:
#: an adult's extended fingertips lie 6-9 cm from the palm centre, curled ones 2-4 cm.
OPEN_FINGERTIP_M = 0.055
#: How long an open palm must be held to stop (seconds). Product choice: the same second as
#: the controller stop's hold (``SafetySettings.stop_hold_s``), against stopping by chance.
OPEN_PALM_HOLD_S = 1.0

#: The palm counts as shown to the face within this angle of the direction to the head
#: (degrees). Product choice: a deliberate gesture, tolerant of a tilted wrist.
PALM_FACING_DEG = 45.0

__all__ = ["HAND_TRACKING_PROFILE", "HandsOnly"]


@dataclasses.dataclass
class _HandState:
    pinched: bool = False
    pinch_changed_s: float | None = None
    open_since_s: float | None = None


class HandsOnly:
    """Per-hand gesture state across frames; ``apply`` once per frame per hand."""

    def __init__(self) -> None:
        self._state = {Side.LEFT: _HandState(), Side.RIGHT: _HandState()}

    def apply(self, side: Side, hand: HandInput, time_s: float, head: Pose | None) -> HandInput:
        """``hand`` as read, or read from its joints when its controller pose is inactive
        (see the module docstring). ``time_s``: the frame's predicted display time;
        ``head``: the head pose, None when untracked (then no stop sign is seen)."""
        # Tracked, not only valid: a runtime may go on reporting a switched-off controller's
        # hand joints from its last pose (Monado does), and a stale hand must never be shown.
        joints, tracked = hand.joints, hand.joints_tracked
        needed = (PALM, *FINGERTIPS)
        if hand.grip_valid or joints is None or tracked is None or not bool(np.all(tracked[list(needed)])):
            self._state[side] = _HandState()  # a controller (or nothing): start fresh next time
            return hand
        state = self._state[side]
        positions = np.asarray(joints, dtype=np.float64)[:, :3]
        pinch_m = float(np.linalg.norm(positions[THUMB_TIP] - positions[INDEX_TIP]))
        pinched = pinch_m < PINCH_CLOSE_M if not state.pinched else pinch_m <= PINCH_OPEN_M
        if pinched != state.pinched:
            state.pinched, state.pinch_changed_s = pinched, time_s
        extended = np.linalg.norm(positions[list(FINGERTIPS)] - positions[PALM], axis=1)
        is_open = (bool(np.all(extended >= OPEN_FINGERTIP_M)) and not pinched
                   and head is not None and _palm_faces(joints[PALM], head.position))
        if not is_open:
            state.open_since_s = None
        elif state.open_since_s is None:
            state.open_since_s = time_s
        held_open = state.open_since_s is not None and time_s - state.open_since_s >= OPEN_PALM_HOLD_S - 1e-9
        changed = dict(hand.changed_at_s)
        if state.pinch_changed_s is not None:
            changed["trigger_click"] = state.pinch_changed_s
        return dataclasses.replace(
            hand,
            grip=Pose.from_array(joints[PALM]),
            grip_valid=True,
            aim=Pose.from_array(joints[PALM]),
            aim_valid=True,
            trigger=1.0 if pinched else 0.0,
            trigger_click=pinched,
            menu=held_open,
            profile=HAND_TRACKING_PROFILE,
            changed_at_s=changed,
        )


def _palm_faces(palm: FloatArray, head_position: FloatArray) -> bool:
    """Whether the palm (its joint pose (7,)) is turned towards ``head_position``."""
    facing = quat_rotate(np.asarray(palm[3:], dtype=np.float64), np.array([0.0, -1.0, 0.0]))
    to_head = np.asarray(head_position, dtype=np.float64) - np.asarray(palm[:3], dtype=np.float64)
    distance = float(np.linalg.norm(to_head))
    if distance < 1e-6:
        return False
    return float(facing @ to_head) / distance >= float(np.cos(np.radians(PALM_FACING_DEG)))
