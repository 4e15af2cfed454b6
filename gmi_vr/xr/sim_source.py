"""The ``sim`` frame source: TrackingFrames without any OpenXR runtime.

Two ways to drive it, one frame type out:

- ``ScriptedFrameSource``: a motion file (format in docs/motion-file.md) played at a fixed
  rate. Frame ``i`` has ``time_s = i / rate_hz``, so a run is identical every time.
- ``KeyboardMouseFrameSource``: the desktop window's keyboard and mouse, read through an
  ``InputState`` that the window's callbacks fill; time comes from a clock passed in.

Both produce a seated user by default (eyes at SEATED_EYE_HEIGHT_M) with two eye views
IPD_M apart, symmetric fields of view matching SIM_VIEW_SIZE.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from gmi_vr.core.errors import InputFileError
from gmi_vr.core.input import InputState
from gmi_vr.core.text_files import read_text_file
from gmi_vr.core.types import FloatArray, HandInput, Pose, Side, TrackingFrame, ViewInfo
from gmi_vr.geometry import (
    quat_rotate,
    quat_slerp,
    yaw_pitch_roll_quat,
)

#: Eye height of a seated adult above the floor, metres: a ~0.46 m chair seat plus a
#: median adult's seated eye height of roughly 0.75-0.8 m (anthropometric tables).
SEATED_EYE_HEIGHT_M = 1.2
#: Interpupillary distance, metres: the adult mean (about 63 mm, Dodgson 2004,
#: "Variation and extrema of human interpupillary distance").
IPD_M = 0.063
#: Per-eye image size the sim renders (Monado's null compositor recommends 320x240 too).
SIM_VIEW_SIZE = (320, 240)
#: Horizontal field of view of each eye, degrees; the vertical one follows SIM_VIEW_SIZE.
SIM_HORIZONTAL_FOV_DEG = 90.0
DEFAULT_RATE_HZ = 60.0
#: A trigger pulled this far counts as clicked when a keyframe does not say.
TRIGGER_CLICK_THRESHOLD = 0.9

#: Where the hands rest when nothing moves them: in front of the body above the table
#: (metres, reference space; grip frames pointing forward, -Z).
REST_GRIP_POSITION = {Side.LEFT: (-0.18, 0.86, -0.38), Side.RIGHT: (0.18, 0.86, -0.38)}

MOTION_FORMAT = "gmi-vr-motion"
MOTION_VERSION = 1
#: The longest a motion file may run, seconds (a day: far beyond any session, and it keeps
#: the frame count and every time finite).
MAX_MOTION_S = 86_400.0
#: How far from the origin a position may lie, metres per coordinate (far beyond any room:
#: it keeps interpolation and rendering finite).
MAX_POSITION_M = 100.0


def sim_views(head: Pose, ipd_m: float = IPD_M, horizontal_fov_deg: float = SIM_HORIZONTAL_FOV_DEG,
              view_size: tuple[int, int] = SIM_VIEW_SIZE) -> tuple[ViewInfo, ViewInfo]:
    """Left and right eye views of a head pose: eyes ±ipd/2 along the head's +X, looking
    where the head looks, with symmetric fields of view whose aspect matches ``view_size``."""
    half_h = math.radians(horizontal_fov_deg) / 2
    half_v = math.atan(math.tan(half_h) * view_size[1] / view_size[0])
    views = []
    for sign in (-1.0, 1.0):
        offset = quat_rotate(head.orientation, np.array([sign * ipd_m / 2, 0.0, 0.0]))
        views.append(ViewInfo(Pose(head.position + offset, head.orientation), -half_h, half_h, half_v, -half_v))
    return views[0], views[1]


# ----------------------------------------------------------------------------- motion files


@dataclass(frozen=True)
class HandKey:
    """One hand at one keyframe (every field filled: omitted ones carry over)."""

    grip: Pose
    valid: bool = True
    trigger: float = 0.0
    squeeze: float = 0.0
    thumbstick: tuple[float, float] = (0.0, 0.0)
    trigger_click: bool | None = None  # None: derived from trigger
    primary: bool = False
    secondary: bool = False
    menu: bool = False
    thumbstick_click: bool = False


@dataclass(frozen=True)
class Keyframe:
    time_s: float
    head: Pose
    head_valid: bool
    left: HandKey
    right: HandKey

    def hand(self, side: Side) -> HandKey:
        return self.left if side is Side.LEFT else self.right


@dataclass(frozen=True)
class Motion:
    """A parsed motion file: keyframes with strictly increasing times, played at rate_hz."""

    rate_hz: float
    keyframes: tuple[Keyframe, ...]
    source: str = "<motion>"

    @property
    def duration_s(self) -> float:
        return self.keyframes[-1].time_s

    @cached_property
    def key_times(self) -> FloatArray:
        """The keyframes' times (k,), seconds: made once, searched every frame."""
        return np.array([k.time_s for k in self.keyframes])

    def frame_count(self) -> int:
        """Frames at t = i / rate_hz for every i with t <= the last keyframe's time."""
        return int(math.floor(self.duration_s * self.rate_hz + 1e-9)) + 1

    def sample(self, time_s: float) -> Keyframe:
        """The state at ``time_s``: positions and analog values interpolated linearly,
        orientations by slerp, flags and buttons held from the keyframe at or before it.
        Before the first keyframe the first holds; after the last the last holds."""
        keys = self.keyframes
        if time_s <= keys[0].time_s:
            return keys[0]
        if time_s >= keys[-1].time_s:
            return keys[-1]
        i = int(np.searchsorted(self.key_times, time_s, side="right")) - 1
        a, b = keys[i], keys[i + 1]
        t = (time_s - a.time_s) / (b.time_s - a.time_s)
        return Keyframe(
            time_s,
            _lerp_pose(a.head, b.head, t),
            a.head_valid,
            _lerp_hand(a.left, b.left, t),
            _lerp_hand(a.right, b.right, t),
        )


def _lerp_pose(a: Pose, b: Pose, t: float) -> Pose:
    return Pose(a.position + (b.position - a.position) * t, quat_slerp(a.orientation, b.orientation, t))


def _lerp_hand(a: HandKey, b: HandKey, t: float) -> HandKey:
    return replace(
        a,
        grip=_lerp_pose(a.grip, b.grip, t),
        trigger=a.trigger + (b.trigger - a.trigger) * t,
        squeeze=a.squeeze + (b.squeeze - a.squeeze) * t,
        thumbstick=(
            a.thumbstick[0] + (b.thumbstick[0] - a.thumbstick[0]) * t,
            a.thumbstick[1] + (b.thumbstick[1] - a.thumbstick[1]) * t,
        ),
    )


class _LineError(Exception):
    """What is wrong on one line; turned into an InputFileError naming file and line."""


def _shown(value: object, limit: int = 40) -> str:
    """``value`` as JSON for a message: ASCII only (no control characters or stray
    surrogates reach the terminal) and cut short (a file may hold a huge array)."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except RecursionError:  # nested almost as deep as the parser allows
        text = "a value nested far too deeply"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_name(name: str) -> str:
    """A field name from the file, quoted; escaped unless it is short printable ASCII."""
    return f"'{name}'" if name.isascii() and name.isprintable() and len(name) <= 40 else _shown(name)


def _number(value: object, what: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _LineError(f"{what} must be a number, not {_shown(value)}")
    try:
        number = float(value)  # an integer beyond a float's range overflows here
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise _LineError(f"{what} must be a finite number, not {_shown(value)}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise _LineError(f"{what} must lie between {low} and {high}, not {_shown(value)}")
    return number


def _vector(value: object, length: int, what: str, low: float | None = None, high: float | None = None) -> list[float]:
    if not isinstance(value, list) or len(value) != length:
        raise _LineError(f"{what} must be a list of {length} numbers, not {_shown(value)}")
    return [_number(v, what, low, high) for v in value]


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise _LineError(f"{what} must be true or false, not {_shown(value)}")
    return value


def _object(value: object, what: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _LineError(f"{what} must be an object, not {_shown(value)}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _LineError(f"{what} has unknown field {_field_name(unknown[0])} (allowed: {', '.join(sorted(allowed))})")
    return value


_POSE_FIELDS = {"position", "orientation", "yaw_pitch_roll_deg"}
_HAND_FIELDS = _POSE_FIELDS | {
    "valid", "trigger", "squeeze", "thumbstick", "trigger_click", "primary", "secondary",
    "menu", "thumbstick_click",
}
_HEAD_FIELDS = _POSE_FIELDS | {"valid"}
_KEY_FIELDS = {"t", "head", "left", "right"}
_HEADER_FIELDS = {"format", "version", "rate_hz"}


def _pose(fields: dict[str, Any], previous: Pose, what: str) -> Pose:
    position = previous.position
    orientation = previous.orientation
    if "position" in fields:
        position = np.array(_vector(fields["position"], 3, f"{what}.position", -MAX_POSITION_M, MAX_POSITION_M))
    if "orientation" in fields and "yaw_pitch_roll_deg" in fields:
        raise _LineError(f"{what} gives both orientation and yaw_pitch_roll_deg; keep one")
    if "orientation" in fields:
        q = np.array(_vector(fields["orientation"], 4, f"{what}.orientation"))
        norm = float(np.linalg.norm(q))
        if abs(norm - 1.0) > 1e-3:
            raise _LineError(f"{what}.orientation must be a unit quaternion x, y, z, w (its length is {norm:.4f})")
        orientation = q / norm
    if "yaw_pitch_roll_deg" in fields:
        orientation = yaw_pitch_roll_quat(*_vector(fields["yaw_pitch_roll_deg"], 3, f"{what}.yaw_pitch_roll_deg"))
    return Pose(position, orientation)


def _hand(fields: Any, previous: HandKey, what: str) -> HandKey:
    fields = _object(fields, what, _HAND_FIELDS)
    changes: dict[str, Any] = {"grip": _pose(fields, previous.grip, what)}
    for name in ("trigger", "squeeze"):
        if name in fields:
            changes[name] = _number(fields[name], f"{what}.{name}", 0.0, 1.0)
    if "thumbstick" in fields:
        x, y = _vector(fields["thumbstick"], 2, f"{what}.thumbstick")
        if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
            raise _LineError(f"{what}.thumbstick values must lie between -1 and 1")
        changes["thumbstick"] = (x, y)
    for name in ("valid", "trigger_click", "primary", "secondary", "menu", "thumbstick_click"):
        if name in fields:
            changes[name] = _flag(fields[name], f"{what}.{name}")
    if "trigger" in changes and "trigger_click" not in fields:
        changes["trigger_click"] = None  # derive again from the new value
    return replace(previous, **changes)


def default_keyframe() -> Keyframe:
    """A seated user looking straight ahead with both hands resting over the table."""
    return Keyframe(
        0.0,
        Pose(np.array([0.0, SEATED_EYE_HEIGHT_M, 0.0])),
        True,
        HandKey(Pose(np.array(REST_GRIP_POSITION[Side.LEFT]))),
        HandKey(Pose(np.array(REST_GRIP_POSITION[Side.RIGHT]))),
    )


def parse_motion(text: str, source: str = "<motion>") -> Motion:
    """Parse motion-file text (docs/motion-file.md). ``source`` names it in error messages.

    Raises InputFileError naming the source, the line and what is wrong.
    """

    def fail(line_number: int | None, message: str) -> InputFileError:
        where = f"{source}, line {line_number}" if line_number is not None else source
        return InputFileError(f"The motion file {where} is malformed: {message}.")

    header: dict[str, Any] | None = None
    keyframes: list[Keyframe] = []
    previous = default_keyframe()
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise _LineError(f"not a JSON object ({error.msg} at column {error.colno})") from None
            except ValueError:  # an integer literal longer than Python converts
                raise _LineError("not a JSON object (a number is far too long)") from None
            except RecursionError:
                raise _LineError("not a JSON object (nested far too deeply)") from None
            if header is None:
                if not isinstance(record, dict) or record.get("format") != MOTION_FORMAT:
                    raise _LineError(f'the first line must be the header {{"format": "{MOTION_FORMAT}", "version": 1, ...}}')
                header = _object(record, "the header", _HEADER_FIELDS)
                if header.get("version") != MOTION_VERSION:
                    raise _LineError(f"version {_shown(header.get('version'))} is not supported (only {MOTION_VERSION})")
                if "rate_hz" in header:
                    _number(header["rate_hz"], "rate_hz", 1.0, 1000.0)
                continue
            record = _object(record, "a keyframe", _KEY_FIELDS)
            if "t" not in record:
                raise _LineError("a keyframe needs a time t in seconds")
            time_s = _number(record["t"], "t", 0.0, MAX_MOTION_S)
            if keyframes and time_s <= keyframes[-1].time_s:
                raise _LineError(f"t = {time_s} does not come after the previous keyframe's t = {keyframes[-1].time_s}")
            head_fields = _object(record.get("head", {}), "head", _HEAD_FIELDS)
            head = _pose(head_fields, previous.head, "head")
            head_valid = _flag(head_fields["valid"], "head.valid") if "valid" in head_fields else previous.head_valid
            left = _hand(record.get("left", {}), previous.left, "left")
            right = _hand(record.get("right", {}), previous.right, "right")
        except _LineError as error:
            raise fail(line_number, str(error)) from None
        previous = Keyframe(time_s, head, head_valid, left, right)
        keyframes.append(previous)
    if header is None:
        raise fail(None, "it is empty (it needs a header line and at least one keyframe)")
    if not keyframes:
        raise fail(None, "it has a header but no keyframes")
    return Motion(float(header.get("rate_hz", DEFAULT_RATE_HZ)), tuple(keyframes), source)


def load_motion(path: Path) -> Motion:
    """Read and parse a motion file; InputFileError when it is missing, unreadable or malformed.

    UTF-8 with or without a byte-order mark (some Windows editors write one)."""
    return parse_motion(read_text_file(path, "motion file", "check the path"), str(path))


# ----------------------------------------------------------------------------- frames


def _hand_input(key: HandKey) -> HandInput:
    click = key.trigger_click if key.trigger_click is not None else key.trigger >= TRIGGER_CLICK_THRESHOLD
    # The sim has no separate aim pose: it aims where the grip points (its -Z).
    return HandInput(
        grip=key.grip, grip_valid=key.valid, aim=key.grip, aim_valid=key.valid,
        trigger=key.trigger, squeeze=key.squeeze, thumbstick=key.thumbstick,
        trigger_click=click, primary=key.primary, secondary=key.secondary, menu=key.menu,
        thumbstick_click=key.thumbstick_click, profile="/interaction_profiles/gmi_vr/sim",
    )


def frame_from_keyframe(index: int, time_s: float, key: Keyframe) -> TrackingFrame:
    """The TrackingFrame for a sampled keyframe state at ``time_s``."""
    return TrackingFrame(
        index=index,
        time_s=time_s,
        time_ns=round(time_s * 1e9),
        head=key.head,
        head_valid=key.head_valid,
        left=_hand_input(key.left),
        right=_hand_input(key.right),
        views=sim_views(key.head),
    )


class ScriptedFrameSource:
    """Plays a Motion: frame i at time_s = i / rate_hz until the last keyframe's time.

    Deterministic: the frames depend only on the motion, never on the wall clock. Whoever
    shows them paces them (the desktop app waits for each frame's time).
    """

    def __init__(self, motion: Motion) -> None:
        self.motion = motion
        self._stop = False

    @staticmethod
    def from_file(path: Path) -> ScriptedFrameSource:
        return ScriptedFrameSource(load_motion(path))

    def __enter__(self) -> ScriptedFrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True

    def frames(self) -> Iterator[TrackingFrame]:
        rate = self.motion.rate_hz
        for index in range(self.motion.frame_count()):
            if self._stop:
                return
            time_s = index / rate
            yield frame_from_keyframe(index, time_s, self.motion.sample(time_s))

    def request_stop(self) -> None:
        self._stop = True


# ----------------------------------------------------------------------------- keyboard + mouse


#: What each key does, in the order the window's help overlay lists it (one place only).
KEY_HELP: tuple[tuple[str, str], ...] = (
    ("H / 1 / 2", "control the head / left hand / right hand"),
    ("W A S D", "move forward, left, back, right (where the head looks)"),
    ("Q / E", "move down / up"),
    ("right mouse drag", "look around (head) or turn the hand"),
    ("space / left mouse", "pull the trigger of the hand"),
    ("G / middle mouse", "squeeze the grip of the hand"),
    ("B / N / M", "primary / secondary / menu button"),
    ("T", "toggle tracking of the hand (lost / found)"),
    ("backspace", "back to the resting pose"),
    ("F1", "show or hide this help"),
    ("escape", "quit"),
)

HEAD_SPEED_M_S = 0.5
START_PITCH_DEG = -15.0
HAND_SPEED_M_S = 0.35
LOOK_DEG_PER_PIXEL = 0.15


@dataclass
class _Controlled:
    """The mutable pose the keyboard moves: position (3,) and yaw/pitch in degrees."""

    position: FloatArray
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0

    def orientation(self) -> FloatArray:
        return yaw_pitch_roll_quat(self.yaw_deg, self.pitch_deg)


class KeyboardMouseFrameSource:
    """TrackingFrames from the desktop window's keyboard and mouse (see KEY_HELP).

    ``clock`` returns seconds (the app passes ``time.monotonic``; tests pass a fake); a
    frame's time_s is the clock's reading when the frame is made. The selected hand (the
    last of 1 / 2 pressed, right at first) takes the buttons even while the head moves.
    """

    def __init__(self, input_state: InputState, clock: Callable[[], float]) -> None:
        self.input = input_state
        self._clock = clock
        self._stop = False
        self.controlling: str = "head"  # "head", "left" or "right"
        self.hand_side = Side.RIGHT
        self._reset()

    def _reset(self) -> None:
        # Looking a little down, as a seated patient does at a table: hands in view.
        self._head = _Controlled(np.array([0.0, SEATED_EYE_HEIGHT_M, 0.0]), pitch_deg=START_PITCH_DEG)
        self._hands = {side: _Controlled(np.array(REST_GRIP_POSITION[side], dtype=np.float64)) for side in Side}
        self._hand_valid = {side: True for side in Side}

    def __enter__(self) -> KeyboardMouseFrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True

    def request_stop(self) -> None:
        self._stop = True

    def status(self) -> str:
        """One line for the window's status bar: what the keys move now."""
        target = "head" if self.controlling == "head" else f"{self.controlling} hand"
        return f"keys move the {target}; buttons act on the {self.hand_side.value} hand"

    def frames(self) -> Iterator[TrackingFrame]:
        index = 0
        previous_time = self._clock()
        while not self._stop:
            now = self._clock()
            self.step(now - previous_time)
            previous_time = now
            yield self.frame(index, now)
            index += 1

    def step(self, dt_s: float) -> None:
        """Apply the input held for ``dt_s`` seconds and the keys pressed since last step."""
        for key in self.input.take_pressed():
            if key == "h":
                self.controlling = "head"
            elif key in ("1", "2"):
                self.hand_side = Side.LEFT if key == "1" else Side.RIGHT
                self.controlling = self.hand_side.value
            elif key == "t":
                self._hand_valid[self.hand_side] = not self._hand_valid[self.hand_side]
            elif key == "backspace":
                self._reset()
        target = self._head if self.controlling == "head" else self._hands[Side(self.controlling)]
        speed = HEAD_SPEED_M_S if target is self._head else HAND_SPEED_M_S
        keys = self.input.keys_down
        move = np.array([
            ("d" in keys) - ("a" in keys),
            ("e" in keys) - ("q" in keys),
            ("s" in keys) - ("w" in keys),
        ], dtype=np.float64)
        if move.any():
            # Horizontal moves follow where the head looks (its yaw only), up stays up.
            heading = yaw_pitch_roll_quat(self._head.yaw_deg, 0.0)
            target.position = target.position + quat_rotate(heading, move / np.linalg.norm(move)) * speed * dt_s
        dx, dy = self.input.take_look()
        target.yaw_deg = (target.yaw_deg - dx * LOOK_DEG_PER_PIXEL + 180.0) % 360.0 - 180.0
        target.pitch_deg = float(np.clip(target.pitch_deg - dy * LOOK_DEG_PER_PIXEL, -85.0, 85.0))

    def frame(self, index: int, time_s: float) -> TrackingFrame:
        """The frame for the current state (without applying input)."""
        keys, buttons = self.input.keys_down, self.input.mouse_buttons
        head = Pose(self._head.position.copy(), self._head.orientation())
        hands = {}
        for side in Side:
            state = self._hands[side]
            key = HandKey(Pose(state.position.copy(), state.orientation()), self._hand_valid[side])
            if side is self.hand_side:
                trigger = 1.0 if ("space" in keys or "left" in buttons) else 0.0
                squeeze = 1.0 if ("g" in keys or "middle" in buttons) else 0.0
                key = replace(key, trigger=trigger, squeeze=squeeze, primary="b" in keys,
                              secondary="n" in keys, menu="m" in keys)
            hands[side] = key
        state_key = Keyframe(time_s, head, True, hands[Side.LEFT], hands[Side.RIGHT])
        return frame_from_keyframe(index, time_s, state_key)
