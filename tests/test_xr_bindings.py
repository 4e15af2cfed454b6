"""The suggested-binding table is plain data; check it against the documented profiles."""

from __future__ import annotations

import re

import pytest

from gmi_vr.xr.bindings import (
    ACTION_NAMES,
    ACTIONS,
    HANDS,
    PROFILE_COMPONENTS,
    SUGGESTED_BINDINGS,
    ActionKind,
    binding_paths,
)

REQUIRED_PROFILES = {
    "/interaction_profiles/khr/simple_controller",
    "/interaction_profiles/valve/index_controller",
    "/interaction_profiles/oculus/touch_controller",
    "/interaction_profiles/htc/vive_controller",
    "/interaction_profiles/microsoft/motion_controller",
    "/interaction_profiles/hp/mixed_reality_controller",
}


def test_every_required_profile_has_bindings_and_a_documented_component_list() -> None:
    assert REQUIRED_PROFILES <= set(SUGGESTED_BINDINGS)
    assert set(SUGGESTED_BINDINGS) <= set(PROFILE_COMPONENTS)


@pytest.mark.parametrize("profile", sorted(SUGGESTED_BINDINGS))
def test_every_binding_names_a_documented_component_of_its_hand(profile: str) -> None:
    left, right = PROFILE_COMPONENTS[profile]
    for action, (left_component, right_component) in SUGGESTED_BINDINGS[profile].items():
        assert action in ACTION_NAMES, action
        if left_component is not None:
            assert left_component in left, (profile, action, left_component)
        if right_component is not None:
            assert right_component in right, (profile, action, right_component)


@pytest.mark.parametrize("profile", sorted(SUGGESTED_BINDINGS))
def test_pose_actions_bind_to_pose_components_and_values_to_inputs(profile: str) -> None:
    kinds = {a.name: a.kind for a in ACTIONS}
    for action, per_hand in SUGGESTED_BINDINGS[profile].items():
        for component in per_hand:
            if component is None:
                continue
            is_pose = component.endswith("/pose")
            assert is_pose == (kinds[action] is ActionKind.POSE), (profile, action, component)
            # Inputs read input components; the vibration output plays on output/haptic.
            if kinds[action] is ActionKind.VIBRATION:
                assert component == "output/haptic", (profile, action, component)
            else:
                assert component.startswith("input/"), (profile, action, component)
            if kinds[action] is ActionKind.VECTOR2F:
                assert component.rsplit("/", 1)[-1] in ("thumbstick", "trackpad"), component


@pytest.mark.parametrize("profile", sorted(SUGGESTED_BINDINGS))
def test_both_hands_get_grip_aim_trigger_and_vibration_on_every_profile(profile: str) -> None:
    bindings = SUGGESTED_BINDINGS[profile]
    for action in ("grip_pose", "aim_pose", "trigger", "haptic"):
        assert None not in bindings[action], (profile, action)


def test_full_binding_paths_are_well_formed() -> None:
    path = re.compile(r"^/user/hand/(left|right)/(input|output)(/[a-z0-9_]+)+$")
    for profile in SUGGESTED_BINDINGS:
        pairs = binding_paths(profile)
        assert pairs
        for _action, full in pairs:
            assert path.match(full), full
            assert full.split("/")[3] in ("left", "right")
    assert HANDS == ("/user/hand/left", "/user/hand/right")


def test_action_names_follow_the_openxr_naming_rules() -> None:
    for name in ACTION_NAMES:
        assert re.fullmatch(r"[a-z0-9_.-]{1,63}", name), name
    assert len(set(ACTION_NAMES)) == len(ACTION_NAMES)
