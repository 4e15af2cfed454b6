"""A patient's headset session started and steered from the console against the real runtime
(run by tests/xr/test_console_xr.py inside tools/xr-sandbox): ``run_openxr`` as ``gmi-vr run``
runs it (the real OpenXR frame loop, the therapist window with the console's panels), in free
play until the therapist picks the patient in the console's list and starts their session,
while Monado's remote driver moves both controllers: the healthy (right) one along
a loop, the affected (left) one along a loop of its own, away from the right one's mirror
image. While the mirror shows, the console's hand-size slider is clicked at its smallest end
(70 %); after the mirror has shown for a while, the console's "real" button is clicked: the
pointer's move, press and release are handed to the window's GLFW callbacks as GLFW calls
them (the sandbox's root has no XTEST client library), so the click takes the window's and
the panels' own input path. Opening the session's store is slowed on purpose by
START_SLOW_S (a sleep in the store's ``open`` as the session's setup calls it). Writes JSON: per frame stepped in the
patient's session the limb mode, the displayed left hand's size against the right's, and the
displayed and tracked grips; the frame count at which the console handed each click on; the
frames submitted to the runtime (xrEndFrame) while the slowed store opened ("submitted_while_opening").

    python tests/support/xr_console_app.py --out RESULT.json --data DIR [--frames N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

import glfw  # noqa: E402
import numpy as np  # noqa: E402

import gmi_vr.app.pipeline as app_pipeline  # noqa: E402
import gmi_vr.console.panels as panels  # noqa: E402
import gmi_vr.console.therapist_window as console_window  # noqa: E402
from gmi_vr.body.skeleton import side_joint  # noqa: E402
from gmi_vr.core.types import Pose, Side  # noqa: E402
from gmi_vr.geometry import quat_from_axis_angle  # noqa: E402

PATIENT = "XR-C1"
#: Seated eyes; the hands loop in front of the shoulders, within reach (metres, the
#: runtime's space as the remote driver takes it).
HEAD = Pose(np.array([0.0, 1.2, 0.0]), quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), math.radians(-15)))
#: Mirror frames shown before the click on "real", and before the hand-size slider's.
MIRROR_FRAMES = 90
SIZE_FRAMES = 40
#: Free-play frames before the therapist picks the patient and starts their session.
FREE_FRAMES = 20
#: How much slower the session's store opens than it would (s): many frames at the runtime's rate.
START_SLOW_S = 0.5


def hand_path(side: Side, t: float) -> Pose:
    """The right hand loops forward and to the right; the left one, low and close to the
    body: never near the right one's reflection, so which one the left arm follows shows."""
    if side is Side.RIGHT:
        position = np.array([0.20 + 0.05 * math.sin(1.3 * t), 1.02 + 0.06 * math.sin(2.1 * t),
                             -0.45 - 0.05 * math.cos(1.7 * t)])  # fmt: skip
    else:
        position = np.array([-0.22 + 0.04 * math.sin(1.1 * t), 0.82 + 0.04 * math.cos(1.5 * t),
                             -0.22 - 0.03 * math.sin(1.9 * t)])  # fmt: skip
    return Pose(position, np.array([0.0, 0.0, 0.0, 1.0]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=360)
    args = parser.parse_args()

    import gmi_vr.app.session_setup as session_setup
    from gmi_vr.app.headset import run_openxr
    from gmi_vr.recording.store import SessionStore
    from gmi_vr.xr.openxr_source import OpenXrSource
    from support.monado_remote import MonadoRemote

    remote = MonadoRemote()
    steps: list[dict[str, object]] = []
    actions: list[list[object]] = []
    reports: list[str] = []
    state = {"focused": 0, "free": 0, "submitted": 0}
    submitted_while_opening: list[int] = []

    original_present = OpenXrSource.present

    def present(self, draw_list):  # type: ignore[no-untyped-def]
        original_present(self, draw_list)
        state["submitted"] += 1

    OpenXrSource.present = present  # type: ignore[method-assign]

    class SlowStore(SessionStore):
        # The session's own store (``app.session_setup`` opens it), START_SLOW_S slower once.
        @classmethod
        def open(cls, *options, **named):  # type: ignore[no-untyped-def, override]
            if not submitted_while_opening:
                before = state["submitted"]
                time.sleep(START_SLOW_S)
                submitted_while_opening.append(state["submitted"] - before)
            return SessionStore.open(*options, **named)

    session_setup.SessionStore = SlowStore  # type: ignore[misc]

    def drive_controllers() -> None:
        t = state["focused"] / 60.0
        now = remote.state
        left = replace(now.left, pose=hand_path(Side.LEFT, t), active=True)
        right = replace(now.right, pose=hand_path(Side.RIGHT, t), active=True)
        remote.set_all(HEAD, left, right)

    original_step = app_pipeline.SessionPipeline.step

    def step(self, frame, presented_later=False):  # type: ignore[no-untyped-def]
        output = original_step(self, frame, presented_later)
        if self.runner is None:  # free play, before the session starts
            state["free"] += 1 if frame.focused else 0
            drive_controllers()
            return output
        if frame.focused:
            state["focused"] += 1
        shown, shown_valid = output.body.displayed(Side.LEFT)
        hand = frame.left
        # With XR_EXT_hand_tracking (Monado's remote driver reports it) the hand is drawn at
        # the tracked wrist joint, otherwise at the controller's grip.
        wrist = (hand.joints[1].tolist() if hand.joints is not None and hand.joints_valid is not None
                 and hand.joints_valid[1] else None)  # fmt: skip
        steps.append({
            "focused": frame.focused, "mode": output.body.mode.value, "shown_valid": bool(shown_valid),
            "shown_left": shown.position.tolist(),
            "shown_left_wrist": output.body.world_from_joint[side_joint(Side.LEFT, "Hand"), :3, 3].tolist(),
            "hand_size": float(np.cbrt(np.linalg.det(output.body.world_from_joint[side_joint(Side.LEFT, "Hand"), :3, :3]))
                               / np.cbrt(np.linalg.det(output.body.world_from_joint[side_joint(Side.RIGHT, "Hand"), :3, :3]))),
            "left_wrist_joint": wrist[:3] if wrist is not None else None,
            "left_grip": frame.left.grip.position.tolist(), "left_valid": frame.left.grip_valid,
            "right_grip": frame.right.grip.position.tolist(), "right_valid": frame.right.grip_valid,
        })  # fmt: skip
        drive_controllers()
        return output

    app_pipeline.SessionPipeline.step = step  # type: ignore[method-assign]

    original_take = panels.Console.take_actions

    def take_actions(self):  # type: ignore[no-untyped-def]
        taken = original_take(self)
        for action in taken:
            actions.append([len(steps), action.name, action.value])
        return taken

    panels.Console.take_actions = take_actions  # type: ignore[method-assign]

    def click(window, label: str, at: float):  # type: ignore[no-untyped-def]
        x, y, w, h = window.console.button_rects[label]
        handle = window.context.window
        # Window coordinates are framebuffer pixels here; ``at``: how far across the item.
        window._on_cursor(handle, float(x + max(1, round(at * w))), float(y + h // 2))
        window = yield
        window._on_mouse_button(handle, glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
        window = yield
        window._on_mouse_button(handle, glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
        return window

    def driver():  # type: ignore[no-untyped-def]
        window = yield
        while state["free"] < FREE_FRAMES:
            window = yield
        window = yield from click(window, f"patient {PATIENT}", 0.5)  # picked in the list ...
        while "start" not in window.console.button_rects:
            window = yield
        window = yield from click(window, "start", 0.5)  # ... and their session started
        while state["focused"] < SIZE_FRAMES:
            window = yield
        window = yield from click(window, "hand size", 0.0)  # its smallest end
        while state["focused"] < MIRROR_FRAMES:
            window = yield
        window = yield from click(window, "real", 0.5)
        while True:
            yield

    drive = driver()
    next(drive)
    original_show = console_window.TherapistWindow.show

    def show(self, draw_list, frame, status, capture=False, timeline=None):  # type: ignore[no-untyped-def]
        pixels = original_show(self, draw_list, frame, status, capture, timeline)
        drive.send(self)
        return pixels

    console_window.TherapistWindow.show = show  # type: ignore[method-assign]
    try:
        drive_controllers()
        run_openxr(None, max_frames=args.frames, therapist="dr.xr", report=reports.append)
    finally:
        remote.close()
    args.out.write_text(json.dumps({"steps": steps, "actions": actions, "reports": reports,
                                    "submitted_while_opening": submitted_while_opening}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
