"""The input action set: created from ``bindings``, attached to the session, read each frame.

``HandActions.read`` syncs the action set (every running frame, as the specification asks)
and returns one ``RawHand`` per hand: the grip and aim poses located in the reference space
at the frame's predicted display time, the buttons and analog values, and — with
XR_EXT_hand_tracking — the 26 hand joints. ``tracking.hand_input`` then decides validity.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xr
from numpy.typing import NDArray

from gmi_vr.core.errors import XrRuntimeUnavailable
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.types import HAND_JOINT_COUNT, FloatArray
from gmi_vr.xr.bindings import (
    ACTION_SET_LOCALIZED_NAME,
    ACTION_SET_NAME,
    ACTIONS,
    HANDS,
    PROFILE_EXTENSIONS,
    SUGGESTED_BINDINGS,
    ActionKind,
    binding_paths,
)
from gmi_vr.xr.runtime import raise_for_result
from gmi_vr.xr.tracking import RawHand, RawLocation

#: The structure each kind of input action's state is read into, and the function reading it.
_STATE_READERS = {
    ActionKind.POSE: (xr.ActionStatePose, "xrGetActionStatePose", xr.PFN_xrGetActionStatePose),
    ActionKind.FLOAT: (xr.ActionStateFloat, "xrGetActionStateFloat", xr.PFN_xrGetActionStateFloat),
    ActionKind.BOOLEAN: (xr.ActionStateBoolean, "xrGetActionStateBoolean", xr.PFN_xrGetActionStateBoolean),
    ActionKind.VECTOR2F: (xr.ActionStateVector2f, "xrGetActionStateVector2f", xr.PFN_xrGetActionStateVector2f),
}

_ACTION_TYPES = {
    ActionKind.POSE: xr.ActionType.POSE_INPUT,
    ActionKind.FLOAT: xr.ActionType.FLOAT_INPUT,
    ActionKind.BOOLEAN: xr.ActionType.BOOLEAN_INPUT,
    ActionKind.VECTOR2F: xr.ActionType.VECTOR2F_INPUT,
    ActionKind.VIBRATION: xr.ActionType.VIBRATION_OUTPUT,
}


#: Memory layout of XrHandJointLocationEXT: flags u64, pose (orientation xyzw, position xyz) f32, radius f32.
_JOINT_LOCATION = np.dtype(
    [("flags", "<u8"), ("orientation", "<f4", (4,)), ("position", "<f4", (3,)), ("radius", "<f4")]
)
assert _JOINT_LOCATION.itemsize == ctypes.sizeof(xr.HandJointLocationEXT)


@dataclass
class _Hand:
    path: int
    grip_space: xr.Space
    aim_space: xr.Space
    tracker: xr.HandTrackerEXT | None = None


#: The boolean actions, named as HandInput's fields.
BUTTON_ACTIONS = ("trigger_click", "primary", "secondary", "menu", "thumbstick_click")


class HandActions:
    """One action set with every action of ``bindings.ACTIONS`` for both hands."""

    def __init__(self, instance: xr.Instance, enabled_extensions: tuple[str, ...]) -> None:
        self.instance = instance
        self.hand_paths = [xr.string_to_path(instance, hand) for hand in HANDS]
        self.action_set = xr.create_action_set(
            instance,
            xr.ActionSetCreateInfo(
                action_set_name=ACTION_SET_NAME,
                localized_action_set_name=ACTION_SET_LOCALIZED_NAME,
                priority=0,
            ),
        )
        self.actions: dict[str, xr.Action] = {}
        for spec in ACTIONS:
            self.actions[spec.name] = xr.create_action(
                self.action_set,
                xr.ActionCreateInfo(
                    action_type=_ACTION_TYPES[spec.kind],
                    action_name=spec.name,
                    localized_action_name=spec.localized_name,
                    count_subaction_paths=len(self.hand_paths),
                    subaction_paths=self.hand_paths,
                ),
            )
        self.suggested_profiles = self._suggest_bindings(enabled_extensions)
        if not self.suggested_profiles:
            raise XrRuntimeUnavailable(
                "The OpenXR runtime accepts none of the controller types gmi-vr supports "
                "(Index, Touch, Vive, Windows Mixed Reality, HP Reverb G2, simple controller): "
                "connect one of those, or use --sim."
            )
        self._hands: list[_Hand] = []
        self._sync_info = xr.ActionsSyncInfo(
            count_active_action_sets=1,
            active_action_sets=[
                xr.ActiveActionSet(action_set=self.action_set, subaction_path=xr.NULL_PATH)
            ],
        )
        self._get_info = {
            (name, hand): xr.ActionStateGetInfo(action=action, subaction_path=path)
            for name, action in self.actions.items()
            for hand, path in enumerate(self.hand_paths)
        }
        # Each input action's state structure, made once and read into every frame, and the
        # reading functions looked up once: pyopenxr's wrappers make a new structure per call.
        kinds = {spec.name: spec.kind for spec in ACTIONS}
        self._states: dict[tuple[str, int], Any] = {
            key: _STATE_READERS[kinds[key[0]]][0]() for key in self._get_info if kinds[key[0]] in _STATE_READERS
        }
        self._get_state: dict[type, Any] = {
            structure: ctypes.cast(xr.get_instance_proc_addr(instance, function), prototype)
            for structure, function, prototype in _STATE_READERS.values()
        }
        self._profiles: dict[int, str] = {}
        self._locate_joints = None
        self._destroy_tracker = None
        self._joint_buffer: list[ctypes.Array[xr.HandJointLocationEXT]] = []
        self._joint_locations: list[xr.HandJointLocationsEXT] = []
        self._joint_views: list[Any] = []
        self._joints_info = xr.HandJointsLocateInfoEXT()

    def _suggest_bindings(self, enabled_extensions: tuple[str, ...]) -> list[str]:
        """Suggest every profile's bindings; returns the profiles the runtime accepted."""
        accepted = []
        for profile in SUGGESTED_BINDINGS:
            needs = PROFILE_EXTENSIONS.get(profile)
            if needs is not None and needs not in enabled_extensions:
                continue
            bindings = [
                xr.ActionSuggestedBinding(
                    self.actions[action], xr.string_to_path(self.instance, path)
                )
                for action, path in binding_paths(profile)
            ]
            try:
                xr.suggest_interaction_profile_bindings(
                    self.instance,
                    xr.InteractionProfileSuggestedBinding(
                        interaction_profile=xr.string_to_path(self.instance, profile),
                        count_suggested_bindings=len(bindings),
                        suggested_bindings=(xr.ActionSuggestedBinding * len(bindings))(*bindings),
                    ),
                )
            except (xr.PathUnsupportedError, xr.PathInvalidError):
                continue  # this runtime does not know the profile; the others still bind
            accepted.append(profile)
        return accepted

    def attach(self, session: xr.Session, hand_tracking: bool) -> None:
        """Attach the action set to ``session`` and create the per-hand spaces (and hand
        trackers when ``hand_tracking``)."""
        xr.attach_session_action_sets(
            session,
            xr.SessionActionSetsAttachInfo(count_action_sets=1, action_sets=[self.action_set]),
        )
        for index, path in enumerate(self.hand_paths):
            grip = xr.create_action_space(
                session,
                xr.ActionSpaceCreateInfo(action=self.actions["grip_pose"], subaction_path=path),
            )
            aim = xr.create_action_space(
                session,
                xr.ActionSpaceCreateInfo(action=self.actions["aim_pose"], subaction_path=path),
            )
            tracker = None
            if hand_tracking:
                tracker = xr.create_hand_tracker_ext(
                    session,
                    xr.HandTrackerCreateInfoEXT(
                        hand=xr.HandEXT.LEFT if index == 0 else xr.HandEXT.RIGHT,
                        hand_joint_set=xr.HandJointSetEXT.DEFAULT,
                    ),
                )
            self._hands.append(_Hand(path, grip, aim, tracker))
        if hand_tracking:
            # Looked up once: pyopenxr's wrappers query the function on every call.
            self._locate_joints = ctypes.cast(
                xr.get_instance_proc_addr(self.instance, "xrLocateHandJointsEXT"),
                xr.PFN_xrLocateHandJointsEXT,
            )
            self._destroy_tracker = ctypes.cast(
                xr.get_instance_proc_addr(self.instance, "xrDestroyHandTrackerEXT"),
                xr.PFN_xrDestroyHandTrackerEXT,
            )
            # The joints are read into the same structures every frame.
            self._joint_buffer = [
                (xr.HandJointLocationEXT * HAND_JOINT_COUNT)() for _ in self._hands
            ]
            self._joint_locations = [
                xr.HandJointLocationsEXT(joint_count=HAND_JOINT_COUNT, joint_locations=buffer)
                for buffer in self._joint_buffer
            ]
            self._joint_views = [np.frombuffer(memoryview(buffer), dtype=_JOINT_LOCATION) for buffer in self._joint_buffer]

    def sync(self, session: xr.Session) -> bool:
        """xrSyncActions; returns False while the session is not focused (input then reads
        as inactive: XR_SESSION_NOT_FOCUSED is a success, not an error)."""
        try:
            xr.sync_actions(session, self._sync_info)
        except xr.SessionNotFocused:
            return False
        return True

    def vibrate(self, session: xr.Session, pulse: HapticPulse) -> None:
        """xrApplyHapticFeedback: ``pulse`` on its hand's vibration output (``haptic``
        bound to ``output/haptic``), at the runtime's own frequency. A hand whose controller
        has no vibration, or is not focused, feels nothing: the runtime ignores it."""
        hand = HANDS.index(f"/user/hand/{pulse.side.value}")
        xr.apply_haptic_feedback(
            session,
            xr.HapticActionInfo(action=self.actions["haptic"], subaction_path=self.hand_paths[hand]),
            xr.HapticVibration(
                duration=int(round(pulse.duration_s * 1e9)),  # XrDuration, nanoseconds
                frequency=xr.FREQUENCY_UNSPECIFIED,
                amplitude=float(pulse.amplitude),
            ),
        )

    def pose_spaces(self) -> list[xr.Space]:
        """Each hand's grip and aim spaces, in the order ``read`` takes their locations:
        left grip, left aim, right grip, right aim."""
        return [space for hand in self._hands for space in (hand.grip_space, hand.aim_space)]

    def read(
        self, session: xr.Session, base_space: xr.Space, time_ns: int, poses: Sequence[RawLocation]
    ) -> tuple[RawHand, RawHand]:
        """Both hands' raw input at ``time_ns``, located in ``base_space``; ``poses`` are the
        spaces of ``pose_spaces`` located there at that time (``SpaceLocator``)."""
        left, right = (
            self._read_hand(session, base_space, time_ns, i, poses[2 * i], poses[2 * i + 1])
            for i in range(len(self._hands))
        )
        return left, right

    def _state(self, session: xr.Session, name: str, index: int) -> Any:
        """Action ``name``'s state for hand ``index``, read into its preallocated structure
        (valid until the next read of the same action and hand)."""
        key = (name, index)
        state = self._states[key]
        raise_for_result(self._get_state[type(state)](session, ctypes.byref(self._get_info[key]), ctypes.byref(state)))
        return state

    def _read_hand(
        self,
        session: xr.Session,
        base_space: xr.Space,
        time_ns: int,
        index: int,
        grip: RawLocation,
        aim: RawLocation,
    ) -> RawHand:
        hand = self._hands[index]
        grip_active = bool(self._state(session, "grip_pose", index).is_active)
        aim_active = bool(self._state(session, "aim_pose", index).is_active)
        trigger = self._state(session, "trigger", index)
        squeeze = self._state(session, "squeeze", index)
        stick = self._state(session, "thumbstick", index)
        buttons = {name: self._state(session, name, index) for name in BUTTON_ACTIONS}
        joints = joint_flags = None
        joints_active = False
        if hand.tracker is not None:
            joints, joint_flags, joints_active = self._locate_hand_joints(
                index, base_space, time_ns
            )
        return RawHand(
            grip=grip,
            grip_active=grip_active,
            aim=aim,
            aim_active=aim_active,
            trigger=float(trigger.current_state),
            trigger_active=bool(trigger.is_active),
            squeeze=float(squeeze.current_state),
            squeeze_active=bool(squeeze.is_active),
            thumbstick=(float(stick.current_state.x), float(stick.current_state.y)),
            thumbstick_active=bool(stick.is_active),
            trigger_click=bool(buttons["trigger_click"].current_state),
            primary=bool(buttons["primary"].current_state),
            secondary=bool(buttons["secondary"].current_state),
            menu=bool(buttons["menu"].current_state),
            thumbstick_click=bool(buttons["thumbstick_click"].current_state),
            # XrTime of each button's last change: reaction times are measured to the press
            # itself, not to the frame that first saw it.
            changed_at_ns={
                name: int(button.last_change_time)
                for name, button in buttons.items()
                if button.is_active and button.last_change_time > 0
            },
            joints=joints,
            joint_flags=joint_flags,
            joints_active=joints_active,
            profile=self.current_profile(session, index),
        )

    def _locate_hand_joints(
        self, index: int, base_space: xr.Space, time_ns: int
    ) -> tuple[FloatArray, NDArray[np.uint64], bool]:
        """(26, 7) joint poses (px py pz qx qy qz qw), (26,) location flags, isActive."""
        locations, info = self._joint_locations[index], self._joints_info
        info.base_space, info.time = base_space, time_ns
        assert self._locate_joints is not None
        raise_for_result(
            self._locate_joints(self._hands[index].tracker, ctypes.byref(info), ctypes.byref(locations))
        )
        joints = self._joint_views[index]  # a view of the buffer, no per-joint Python
        poses = np.concatenate([joints["position"], joints["orientation"]], axis=1).astype(
            np.float64
        )
        flags = joints["flags"].copy()
        return poses, flags, bool(locations.is_active)

    def current_profile(self, session: xr.Session, index: int) -> str:
        """The interaction profile the runtime bound for hand ``index`` ("" when none)."""
        cached = self._profiles.get(index)
        if cached is not None:
            return cached
        state = xr.get_current_interaction_profile(session, self.hand_paths[index])
        profile = (
            xr.path_to_string(self.instance, state.interaction_profile)
            if state.interaction_profile
            else ""
        )
        self._profiles[index] = profile
        return profile

    def forget_profiles(self) -> None:
        """The runtime announced XrEventDataInteractionProfileChanged: read them again."""
        self._profiles = {}

    def destroy(self) -> None:
        """Destroy the hand spaces, hand trackers and the action set (with its actions).
        Failures are ignored: after a runtime crash every call fails, and all must be tried."""
        for hand in self._hands:
            _quietly(xr.destroy_space, hand.grip_space)
            _quietly(xr.destroy_space, hand.aim_space)
            if hand.tracker is not None and self._destroy_tracker is not None:
                self._destroy_tracker(
                    hand.tracker
                )  # returns a result code; nothing to do on failure
        self._hands = []
        _quietly(xr.destroy_action_set, self.action_set)


def _quietly(release: Callable[[Any], object], handle: Any) -> None:
    try:
        release(handle)
    except xr.XrException:
        pass
