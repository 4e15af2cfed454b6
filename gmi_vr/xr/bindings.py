"""The input actions and their suggested bindings per interaction profile, as plain data.

One action set (``gmi_vr``) with one action per input, each with the subaction paths
``/user/hand/left`` and ``/user/hand/right``. For every supported interaction profile the
table says which component of each hand feeds which action; ``None`` means the profile has
no suitable component for that hand. ``PROFILE_COMPONENTS`` lists every component the
OpenXR 1.1 specification documents for each profile (section "Interaction Profile Paths"),
and a unit test checks every suggested binding against it.

Binding a value component to a boolean action (``trigger/value`` → ``trigger_click``) or a
click to a float action (``squeeze/click`` → ``squeeze``) is allowed by the specification:
the runtime converts (with hysteresis for value → boolean).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

HANDS = ("/user/hand/left", "/user/hand/right")


class ActionKind(Enum):
    POSE = "pose"
    FLOAT = "float"
    BOOLEAN = "boolean"
    VECTOR2F = "vector2f"
    VIBRATION = "vibration"  # an output: xrApplyHapticFeedback


@dataclass(frozen=True)
class ActionSpec:
    name: str  # OpenXR action name: lower case, digits, - _ .
    localized_name: str
    kind: ActionKind


ACTION_SET_NAME = "gmi_vr"
ACTION_SET_LOCALIZED_NAME = "gmi-vr therapy input"

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("grip_pose", "Hand grip pose", ActionKind.POSE),
    ActionSpec("aim_pose", "Hand aim pose", ActionKind.POSE),
    ActionSpec("trigger", "Trigger", ActionKind.FLOAT),
    ActionSpec("trigger_click", "Trigger click", ActionKind.BOOLEAN),
    ActionSpec("squeeze", "Grip squeeze", ActionKind.FLOAT),
    ActionSpec("thumbstick", "Thumbstick", ActionKind.VECTOR2F),
    ActionSpec("thumbstick_click", "Thumbstick click", ActionKind.BOOLEAN),
    ActionSpec("primary", "Primary button (A / X)", ActionKind.BOOLEAN),
    ActionSpec("secondary", "Secondary button (B / Y)", ActionKind.BOOLEAN),
    ActionSpec("menu", "Menu button", ActionKind.BOOLEAN),
    ActionSpec("haptic", "Hand vibration", ActionKind.VIBRATION),
)
ACTION_NAMES = tuple(a.name for a in ACTIONS)

#: (left component, right component); a component is a path below /user/hand/<side>.
PerHand = tuple[str | None, str | None]


def both(component: str) -> PerHand:
    return (component, component)


SIMPLE = "/interaction_profiles/khr/simple_controller"
INDEX = "/interaction_profiles/valve/index_controller"
TOUCH = "/interaction_profiles/oculus/touch_controller"
VIVE = "/interaction_profiles/htc/vive_controller"
MOTION = "/interaction_profiles/microsoft/motion_controller"
HP_MIXED_REALITY = "/interaction_profiles/hp/mixed_reality_controller"

#: Instance extension a profile needs on OpenXR 1.0 runtimes (promoted to core in 1.1).
PROFILE_EXTENSIONS: dict[str, str] = {HP_MIXED_REALITY: "XR_EXT_hp_mixed_reality_controller"}

#: The Oculus Touch controller's buttons and sticks, which HP's Mixed Reality controller has
#: too (it differs only in having a menu button on both hands).
_TOUCH_LAYOUT: dict[str, PerHand] = {
        "grip_pose": both("input/grip/pose"),
        "haptic": both("output/haptic"),
        "aim_pose": both("input/aim/pose"),
        "trigger": both("input/trigger/value"),
        "trigger_click": both("input/trigger/value"),
        "squeeze": both("input/squeeze/value"),
        "thumbstick": both("input/thumbstick"),
        "thumbstick_click": both("input/thumbstick/click"),
        "primary": ("input/x/click", "input/a/click"),
        "secondary": ("input/y/click", "input/b/click"),
}

SUGGESTED_BINDINGS: dict[str, dict[str, PerHand]] = {
    SIMPLE: {
        "grip_pose": both("input/grip/pose"),
        "haptic": both("output/haptic"),
        "aim_pose": both("input/aim/pose"),
        "trigger": both("input/select/click"),
        "trigger_click": both("input/select/click"),
        "menu": both("input/menu/click"),
    },
    INDEX: {
        "grip_pose": both("input/grip/pose"),
        "haptic": both("output/haptic"),
        "aim_pose": both("input/aim/pose"),
        "trigger": both("input/trigger/value"),
        "trigger_click": both("input/trigger/click"),
        "squeeze": both("input/squeeze/value"),
        "thumbstick": both("input/thumbstick"),
        "thumbstick_click": both("input/thumbstick/click"),
        "primary": both("input/a/click"),
        "secondary": both("input/b/click"),
        # The Index controller's only other button is the system button, reserved for the runtime.
    },
    TOUCH: {
        **_TOUCH_LAYOUT,
        "menu": ("input/menu/click", None),  # the right controller's is the system button
    },
    VIVE: {
        "grip_pose": both("input/grip/pose"),
        "haptic": both("output/haptic"),
        "aim_pose": both("input/aim/pose"),
        "trigger": both("input/trigger/value"),
        "trigger_click": both("input/trigger/click"),
        "squeeze": both("input/squeeze/click"),
        "thumbstick": both("input/trackpad"),
        "thumbstick_click": both("input/trackpad/click"),
        "primary": both("input/trackpad/click"),
        "menu": both("input/menu/click"),
    },
    MOTION: {
        "grip_pose": both("input/grip/pose"),
        "haptic": both("output/haptic"),
        "aim_pose": both("input/aim/pose"),
        "trigger": both("input/trigger/value"),
        "trigger_click": both("input/trigger/value"),
        "squeeze": both("input/squeeze/click"),
        "thumbstick": both("input/thumbstick"),
        "thumbstick_click": both("input/thumbstick/click"),
        "primary": both("input/trackpad/click"),
        "menu": both("input/menu/click"),
    },
    HP_MIXED_REALITY: {**_TOUCH_LAYOUT, "menu": both("input/menu/click")},
}


def _components(*paths: str) -> frozenset[str]:
    return frozenset(paths)


_POSES_AND_HAPTIC = ("input/grip/pose", "input/aim/pose", "output/haptic")
_THUMBSTICK = (
    "input/thumbstick", "input/thumbstick/x", "input/thumbstick/y", "input/thumbstick/click",
)  # fmt: skip
#: What each of the two Touch controllers has besides its two letter buttons and its menu
#: (left) or system (right) button.
_TOUCH_BOTH_HANDS = (
    "input/squeeze/value", "input/trigger/value", "input/trigger/touch", *_THUMBSTICK,
    "input/thumbstick/touch", "input/thumbrest/touch", *_POSES_AND_HAPTIC,
)  # fmt: skip
_TRACKPAD = (
    "input/trackpad", "input/trackpad/x", "input/trackpad/y", "input/trackpad/click",
    "input/trackpad/touch",
)  # fmt: skip

#: Every component the specification documents per profile, as (left, right) sets
#: (``(same,) * 2`` where both hands have the same components).
PROFILE_COMPONENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    SIMPLE: (
        _components("input/select/click", "input/menu/click", *_POSES_AND_HAPTIC),
        _components("input/select/click", "input/menu/click", *_POSES_AND_HAPTIC),
    ),
    INDEX: (
        _components(
            "input/system/click",
            "input/system/touch",
            "input/a/click",
            "input/a/touch",
            "input/b/click",
            "input/b/touch",
            "input/squeeze/value",
            "input/squeeze/force",
            "input/trigger/click",
            "input/trigger/value",
            "input/trigger/touch",
            *_THUMBSTICK,
            "input/thumbstick/touch",
            "input/trackpad",
            "input/trackpad/x",
            "input/trackpad/y",
            "input/trackpad/force",
            "input/trackpad/touch",
            *_POSES_AND_HAPTIC,
        ),  # fmt: skip
    )
    * 2,
    TOUCH: (
        _components(
            "input/x/click",
            "input/x/touch",
            "input/y/click",
            "input/y/touch",
            "input/menu/click",
            *_TOUCH_BOTH_HANDS,
        ),  # fmt: skip
        _components(
            "input/a/click",
            "input/a/touch",
            "input/b/click",
            "input/b/touch",
            "input/system/click",
            *_TOUCH_BOTH_HANDS,
        ),  # fmt: skip
    ),
    VIVE: (
        _components(
            "input/system/click",
            "input/squeeze/click",
            "input/menu/click",
            "input/trigger/click",
            "input/trigger/value",
            *_TRACKPAD,
            *_POSES_AND_HAPTIC,
        ),  # fmt: skip
    )
    * 2,
    MOTION: (
        _components(
            "input/menu/click",
            "input/squeeze/click",
            "input/trigger/value",
            *_THUMBSTICK,
            *_TRACKPAD,
            *_POSES_AND_HAPTIC,
        ),  # fmt: skip
    )
    * 2,
    HP_MIXED_REALITY: (
        _components(
            "input/x/click",
            "input/y/click",
            "input/menu/click",
            "input/squeeze/value",
            "input/trigger/value",
            *_THUMBSTICK,
            *_POSES_AND_HAPTIC,
        ),  # fmt: skip
        _components(
            "input/a/click",
            "input/b/click",
            "input/menu/click",
            "input/squeeze/value",
            "input/trigger/value",
            *_THUMBSTICK,
            *_POSES_AND_HAPTIC,
        ),  # fmt: skip
    ),
}


def binding_paths(profile: str) -> list[tuple[str, str]]:
    """``(action name, full binding path)`` pairs to suggest for ``profile``."""
    pairs = []
    for action, per_hand in SUGGESTED_BINDINGS[profile].items():
        for hand, component in zip(HANDS, per_hand, strict=True):
            if component is not None:
                pairs.append((action, f"{hand}/{component}"))
    return pairs
