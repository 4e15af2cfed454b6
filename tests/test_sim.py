"""The sim frame source: motion files (format, interpolation, errors) and keyboard/mouse."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gmi_vr.assets.locations import shipped_data_dir
from gmi_vr.core.errors import InputFileError
from gmi_vr.core.input import InputState
from gmi_vr.core.types import Side
from gmi_vr.geometry import (
    quat_from_axis_angle,
    quat_rotate,
    rotation_angle_between,
    yaw_pitch_roll_quat,
)
from gmi_vr.xr.sim_source import (
    IPD_M,
    SEATED_EYE_HEIGHT_M,
    KeyboardMouseFrameSource,
    ScriptedFrameSource,
    load_motion,
    parse_motion,
)

HEADER = '{"format": "gmi-vr-motion", "version": 1, "rate_hz": 10}'


def motion_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "motion.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_frames_interpolate_positions_orientations_and_analog_values(tmp_path: Path) -> None:
    path = motion_file(
        tmp_path,
        "# a comment, then the header",
        HEADER,
        '{"t": 0.0, "right": {"position": [0.2, 0.8, -0.3], "yaw_pitch_roll_deg": [0, 0, 0]}}',
        "",
        '{"t": 1.0, "right": {"position": [0.4, 1.0, -0.5], "yaw_pitch_roll_deg": [90, 0, 0], "trigger": 1.0, "primary": true}}',
    )
    frames = list(ScriptedFrameSource.from_file(path).frames())
    assert [f.index for f in frames] == list(range(11))
    assert [f.time_s for f in frames] == pytest.approx([i / 10 for i in range(11)])
    assert frames[3].time_ns == 300_000_000
    right = frames[3].right  # t = 0.3
    np.testing.assert_allclose(right.grip.position, [0.26, 0.86, -0.36], atol=1e-12)
    expected = quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), math.radians(27.0))
    assert rotation_angle_between(right.grip.orientation, expected) < 1e-9
    assert right.trigger == pytest.approx(0.3)
    assert right.primary is False, "buttons switch at the keyframe, they do not interpolate"
    assert right.trigger_click is False
    last = frames[-1].right
    assert last.primary is True and last.trigger == 1.0 and last.trigger_click is True
    assert right.grip_valid and right.aim_valid
    # The left hand was never named: it rests where a seated user's hand rests, valid.
    assert frames[5].left.grip_valid
    np.testing.assert_allclose(frames[5].left.grip.position, [-0.18, 0.86, -0.38])


def test_head_gives_two_eye_views_an_ipd_apart(tmp_path: Path) -> None:
    path = motion_file(tmp_path, HEADER, '{"t": 0, "head": {"yaw_pitch_roll_deg": [90, 0, 0]}}')
    (frame,) = ScriptedFrameSource.from_file(path).frames()
    assert frame.head_valid
    assert frame.head.position[1] == SEATED_EYE_HEIGHT_M
    left, right = frame.views
    assert np.linalg.norm(right.pose.position - left.pose.position) == pytest.approx(IPD_M)
    # Turned 90 degrees left, the head's +X (towards the right eye) points along -Z.
    np.testing.assert_allclose((right.pose.position - left.pose.position) / IPD_M, [0, 0, -1], atol=1e-12)
    for view in (left, right):
        assert view.fov_left == -view.fov_right and view.fov_down == -view.fov_up
        assert math.tan(view.fov_right) / math.tan(view.fov_up) == pytest.approx(320 / 240)


def test_validity_switches_at_keyframes_and_omitted_values_carry_over(tmp_path: Path) -> None:
    path = motion_file(
        tmp_path,
        HEADER,
        '{"t": 0.0, "left": {"position": [0, 1, -0.5], "squeeze": 0.5}, "head": {"valid": true}}',
        '{"t": 0.5, "left": {"valid": false}, "head": {"valid": false}}',
        '{"t": 1.0, "left": {"valid": true, "position": [0, 1, -1.5]}}',
    )
    frames = list(ScriptedFrameSource.from_file(path).frames())
    valid = [f.left.grip_valid for f in frames]
    assert valid == [True] * 5 + [False] * 5 + [True]
    assert [f.head_valid for f in frames] == [True] * 5 + [False] * 6
    assert all(f.left.squeeze == 0.5 for f in frames)
    # From t = 0.5 (position carried over) to t = 1.0 the hand moves the full metre.
    assert frames[5].left.grip.position[2] == pytest.approx(-0.5)
    assert frames[8].left.grip.position[2] == pytest.approx(-1.1)


def test_yaw_pitch_roll_turns_the_forward_axis_as_documented() -> None:
    forward = np.array([0.0, 0.0, -1.0])
    np.testing.assert_allclose(quat_rotate(yaw_pitch_roll_quat(90, 0, 0), forward), [-1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(quat_rotate(yaw_pitch_roll_quat(0, 90, 0), forward), [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(quat_rotate(yaw_pitch_roll_quat(0, 0, 90), [0.0, 1.0, 0.0]), [-1, 0, 0], atol=1e-12)


def test_the_same_file_gives_the_same_frames_every_run() -> None:
    path = shipped_data_dir() / "demo-reach.jsonl"
    runs = [[(f.time_s, f.right.grip.as_array().tolist(), f.right.trigger) for f in ScriptedFrameSource.from_file(path).frames()]
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert len(runs[0]) == 91  # 3 s at 30 frames per second, both ends included
    assert runs[0][-1][2] == 1.0, "the demo ends with the trigger pulled"


def test_request_stop_ends_the_frames(tmp_path: Path) -> None:
    source = ScriptedFrameSource.from_file(motion_file(tmp_path, HEADER, '{"t": 0}', '{"t": 5}'))
    seen = []
    with source:
        for frame in source.frames():
            seen.append(frame.index)
            if frame.index == 2:
                source.request_stop()
    assert seen == [0, 1, 2]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((HEADER, '{"t": 1.5}', '{"t": 1.0}'), r"line 3 is malformed: t = 1.0 does not come after the previous keyframe's t = 1.5"),
        ((HEADER, '{"t": 0}', '{"t": 1, "left": {"trigger": 1.5}}'), r"line 3 is malformed: left.trigger must lie between 0.0 and 1.0"),
        ((HEADER, '{"t": 0, "head": {"orientation": [0, 0, 0, 2]}}'), r"line 2 .*head.orientation must be a unit quaternion"),
        ((HEADER, '{"t": 0, "right": {"position": [0, 1]}}'), r"line 2 .*right.position must be a list of 3 numbers"),
        ((HEADER, '{"t": 0, "rigth": {}}'), r"line 2 .*unknown field 'rigth'"),
        ((HEADER, '{"t": 0, "left": {"valid": "yes"}}'), r"line 2 .*left.valid must be true or false"),
        ((HEADER, "{'t': 0}"), r"line 2 .*not a JSON object"),
        ((HEADER, '{"head": {}}'), r"line 2 .*needs a time t"),
        (('{"t": 0}',), r"line 1 .*the first line must be the header"),
        (('{"format": "gmi-vr-motion", "version": 7}', '{"t": 0}'), r"line 1 .*version 7 is not supported"),
        ((HEADER,), r"has a header but no keyframes"),
        (("# only a comment",), r"it is empty"),
    ],
)
def test_malformed_files_name_the_file_line_and_problem(tmp_path: Path, lines: tuple[str, ...], message: str) -> None:
    path = motion_file(tmp_path, *lines)
    with pytest.raises(InputFileError, match=message) as caught:
        load_motion(path)
    text = str(caught.value)
    assert text.startswith(f"The motion file {path}")
    assert text.count(".") >= 1 and "\n" not in text


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="Cannot read the motion file .*nothing.jsonl"):
        load_motion(tmp_path / "nothing.jsonl")


def test_parse_motion_names_its_source_in_errors() -> None:
    with pytest.raises(InputFileError, match="script.jsonl, line 1"):
        parse_motion("not json", "script.jsonl")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_keyboard_moves_the_head_where_it_looks_and_time_comes_from_the_clock() -> None:
    clock, state = FakeClock(), InputState()
    source = KeyboardMouseFrameSource(state, clock)
    frames = source.frames()
    first = next(frames)
    assert first.time_s == 100.0 and first.head.position[1] == SEATED_EYE_HEIGHT_M
    state.look_dx = -600.0  # mouse dragged left: turn left by 600 * 0.15 = 90 degrees
    clock.now += 0.1
    turned = next(frames)
    forward = quat_rotate(turned.head.orientation, [0.0, 0.0, -1.0])
    # Turned 90 degrees left, still looking 15 degrees down at the table as at the start.
    np.testing.assert_allclose(forward, [-math.cos(math.radians(15)), -math.sin(math.radians(15)), 0], atol=1e-9)
    state.keys_down.add("w")
    clock.now += 1.0
    moved = next(frames)
    assert moved.time_s == 101.1
    # Forward is now -X: half a metre in one second at the head speed.
    np.testing.assert_allclose(moved.head.position, [-0.5, SEATED_EYE_HEIGHT_M, 0.0], atol=1e-9)


def test_keyboard_selects_a_hand_moves_it_and_presses_its_buttons() -> None:
    clock, state = FakeClock(), InputState()
    source = KeyboardMouseFrameSource(state, clock)
    frames = source.frames()
    start = next(frames)
    state.pressed.append("1")
    state.keys_down.update({"e", "space"})
    clock.now += 1.0
    frame = next(frames)
    assert frame.left.grip.position[1] == pytest.approx(start.left.grip.position[1] + 0.35)
    np.testing.assert_allclose(frame.right.grip.position, start.right.grip.position)
    assert frame.left.trigger == 1.0 and frame.left.trigger_click and frame.right.trigger == 0.0
    state.keys_down.clear()
    state.mouse_buttons.add("middle")
    state.pressed.append("t")
    clock.now += 0.1
    frame = next(frames)
    assert frame.left.squeeze == 1.0 and frame.left.trigger == 0.0
    assert not frame.left.grip_valid and frame.right.grip_valid
    assert source.hand_side is Side.LEFT and "left hand" in source.status()
    source.request_stop()
    assert list(frames) == []
