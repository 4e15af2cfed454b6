"""Scripted 90 Hz TrackingFrames for the therapy tests, and checks of the script itself.

``Script`` holds the controller state; ``press``/``release`` set a boolean input with the
time it changed (``HandInput.changed_at_s``), exactly as an OpenXR source reports
lastChangeTime. ``frame()`` returns the next frame.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame

RATE_HZ = 90.0
START_S = 1000.0  # a non-zero clock, as a runtime's would be


class Script:
    def __init__(self, head: Pose | None = None) -> None:
        self.index = 0
        self.head = head or Pose(np.array([0.1, 1.25, 0.3]))
        self.hands = {Side.LEFT: HandInput(), Side.RIGHT: HandInput()}
        self.focused = True

    @property
    def next_time(self) -> float:
        return START_S + self.index / RATE_HZ

    def set(self, side: Side, **fields: object) -> None:
        self.hands[side] = dataclasses.replace(self.hands[side], **fields)

    def press(self, side: Side, name: str, at_s: float | None = None, down: bool = True) -> None:
        """Set boolean input ``name``; ``at_s`` (default: just before the next frame) is its
        change time."""
        hand = self.hands[side]
        changed = dict(hand.changed_at_s)
        changed[name] = self.next_time - 0.004 if at_s is None else at_s
        self.hands[side] = dataclasses.replace(hand, **{name: down}, changed_at_s=changed)

    def release(self, side: Side, name: str, at_s: float | None = None) -> None:
        self.press(side, name, at_s, down=False)

    def frame(self) -> TrackingFrame:
        t = self.next_time
        frame = TrackingFrame(
            index=self.index, time_s=t, time_ns=int(round(t * 1e9)), head=self.head,
            head_valid=True, left=self.hands[Side.LEFT], right=self.hands[Side.RIGHT],
            focused=self.focused,
        )
        self.index += 1
        return frame


def test_script_frames_tick_at_90_hz_and_carry_change_times() -> None:
    script = Script()
    first = script.frame()
    script.press(Side.RIGHT, "trigger_click", at_s=first.time_s + 0.005)
    second = script.frame()
    assert abs(second.time_s - first.time_s - 1 / RATE_HZ) < 1e-9
    assert second.right.trigger_click and not first.right.trigger_click
    assert second.right.changed_at_s["trigger_click"] == first.time_s + 0.005
