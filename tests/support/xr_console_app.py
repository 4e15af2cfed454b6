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
the panels' own input path. Writes JSON: per frame stepped in the patient's session the limb
mode, the displayed left hand's size against the right's, and the displayed and tracked
grips; the frame count at which the console handed each click on; per window redraw whether
its patient pane showed the left eye kept from the swapchain image, and for one redraw in
the session that pane and the left eye's image itself (as the runtime holds it) in blocks;
the frames submitted to the runtime (xrEndFrame) while the session's store opened, slowed on
purpose by START_SLOW_S (a sleep in the store's ``open`` as the session's setup calls it).

    python tests/support/xr_console_app.py --out RESULT.json --data DIR [--frames N] [--two-pass]
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
#: The eye and the pane compared in BLOCKS_DOWN x BLOCKS_ACROSS block means of sRGB bytes.
BLOCKS_DOWN, BLOCKS_ACROSS = 6, 8


def block_means(picture: np.ndarray) -> list[list[list[float]]]:
    """(BLOCKS_DOWN, BLOCKS_ACROSS, 3) means of an (h, w, >=3) picture's blocks."""
    h, w = picture.shape[0] // BLOCKS_DOWN * BLOCKS_DOWN, picture.shape[1] // BLOCKS_ACROSS * BLOCKS_ACROSS
    rgb = picture[:h, :w, :3].astype(float)
    return rgb.reshape(BLOCKS_DOWN, h // BLOCKS_DOWN, BLOCKS_ACROSS, w // BLOCKS_ACROSS, 3).mean(axis=(1, 3)).tolist()


def read_eye(texture: int, layer: int | None, width: int, height: int) -> np.ndarray:
    """The left eye's swapchain image as sRGB bytes, row 0 at the top (a UNORM image holds
    linear light: encoded here as the window's copy encodes it)."""
    from OpenGL import GL

    from gmi_vr.render.target import read_pixels

    framebuffer = int(GL.glGenFramebuffers(1))
    GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
    kind = GL.GL_TEXTURE_2D if layer is None else GL.GL_TEXTURE_2D_ARRAY
    if layer is None:
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, kind, texture, 0)
    else:
        GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, texture, 0, layer)
    GL.glBindTexture(kind, texture)
    stored = int(GL.glGetTexLevelParameteriv(kind, 0, GL.GL_TEXTURE_INTERNAL_FORMAT))
    GL.glBindTexture(kind, 0)
    pixels = read_pixels(framebuffer, 0, 0, width, height)
    GL.glDeleteFramebuffers(1, [framebuffer])
    if stored == GL.GL_SRGB8_ALPHA8:
        return pixels
    linear = pixels[:, :, :3] / 255.0
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(255 * encoded).astype(np.uint8)


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
    parser.add_argument("--two-pass", action="store_true", help="draw the eyes one after the other")
    args = parser.parse_args()
    if args.two_pass:  # as on a driver with neither multiview nor layered drawing
        import gmi_vr.render.renderer as renderer_module

        renderer_module.choose_stereo_path = lambda *_: "two_pass"  # type: ignore[assignment]

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
    #: Per redraw whether the patient pane was the kept eye; one session redraw's blocks.
    panes: dict[str, object] = {"from_eye": [], "eye": None, "pane": None, "of": None, "layer": None}

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

    original_keep = console_window.TherapistView.keep_patient_eye

    def keep(self, draw_list, texture, layer, width, height):  # type: ignore[no-untyped-def]
        wanted = self._eye_wanted
        original_keep(self, draw_list, texture, layer, width, height)
        if wanted and panes["eye"] is None and state["focused"] > 30:  # in the session, the image still acquired
            panes["eye"], panes["of"] = block_means(read_eye(texture, layer, width, height)), draw_list
            panes["layer"] = layer  # 0: layer 0 of the two-layer swapchain; None: the left eye's own

    console_window.TherapistView.keep_patient_eye = keep  # type: ignore[method-assign]

    drive = driver()
    next(drive)
    original_show = console_window.TherapistWindow.show

    def show(self, draw_list, frame, status, capture=False, timeline=None):  # type: ignore[no-untyped-def]
        panes["from_eye"].append(self.view._drawn_for.get("patient") is draw_list)  # type: ignore[attr-defined]
        compare = draw_list is panes["of"] and panes["pane"] is None
        pixels = original_show(self, draw_list, frame, status, capture or compare, timeline)
        if compare:
            width, height = self.context.framebuffer_size()
            area = console_window.pane_layout(width - self.view.panel_px, height)[0]
            x, y, w, h = console_window.letterbox(area, console_window.view_aspect(frame.views[0]))
            panes["pane"] = block_means(pixels[y : y + h, x : x + w])
        drive.send(self)
        return pixels

    console_window.TherapistWindow.show = show  # type: ignore[method-assign]
    try:
        drive_controllers()
        run_openxr(None, max_frames=args.frames, therapist="dr.xr", report=reports.append)
    finally:
        remote.close()
    panes.pop("of")
    args.out.write_text(json.dumps({"steps": steps, "actions": actions, "reports": reports, "panes": panes,
                                    "submitted_while_opening": submitted_while_opening}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
