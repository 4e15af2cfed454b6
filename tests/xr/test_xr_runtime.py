"""The OpenXR platform layer against the real Monado runtime (inside tools/xr-sandbox).

Each scenario runs the real frame loop in a subprocess (tests/support/xr_app.py) so a
runtime crash or a hang cannot take the test run with it; every run is bounded by a
timeout, and the app writes what it measured as JSON.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.sandbox import control, service_log_tail
from support.xr_run import headset_runtime, xr_app_outcome

pytestmark = [pytest.mark.xr, pytest.mark.usefixtures("headset")]

APP = Path(__file__).parent.parent / "support" / "xr_app.py"
RUN_TIMEOUT_S = 120
POSITION_TOLERANCE_M = 0.001
ANGLE_TOLERANCE_DEG = 0.5


def run_app(
    tmp_path: Path, *args: str, timeout_s: float = RUN_TIMEOUT_S, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    return xr_app_outcome(APP, list(args), tmp_path, env, timeout_s)


def angle_deg(q1: np.ndarray, q2: np.ndarray) -> float:
    dot = abs(float(np.dot(q1 / np.linalg.norm(q1), q2 / np.linalg.norm(q2))))
    return float(np.degrees(2 * np.arccos(min(1.0, dot))))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str]:
    headset_runtime()
    return run_app(tmp_path_factory.mktemp("plain"), "--frames", "110")


def test_session_reaches_focused_and_runs_at_least_100_frames(
    plain_run: tuple[int, dict[str, Any], str],
) -> None:
    status, result, output = plain_run
    assert status == 0, output[-3000:]
    assert "FOCUSED" in result["history"]
    assert result["focused_frames"] >= 100
    assert result["system"] == "Monado: Remote HMD"
    assert result["reference_space"] in ("STAGE", "LOCAL")
    assert result["profiles"]["left"] == "/interaction_profiles/valve/index_controller"


def test_swapchain_images_hold_what_the_renderer_drew(
    plain_run: tuple[int, dict[str, Any], str],
) -> None:
    _, result, _ = plain_run
    # Two views per rendered frame, each read back from its swapchain image after drawing.
    assert result["views_drawn"] >= 200
    assert result["views_correct"] == result["views_drawn"], result["first_pixel_failure"]
    assert result["view_sizes"] == [[320, 240]]  # the null compositor's recommendation


def test_the_room_drawn_by_the_renderer_fills_the_swapchain_images(tmp_path: Path) -> None:
    status, result, output = run_app(tmp_path, "--frames", "30", "--room", "--drive-remote")
    assert status == 0, output[-3000:]
    assert result["room_views_drawn"] >= 60
    # Every view shows the scene: a lit room with many shades, not one flat clear colour.
    assert result["room_min_distinct_colours"] >= 50, result["room_min_distinct_colours"]
    assert result["room_min_scene_share"] >= 0.3, result["room_min_scene_share"]


def test_the_merged_room_puts_the_same_pixels_in_the_swapchain_images(tmp_path: Path) -> None:
    """The room merged into groups (what a session draws) against the same room drawn item by
    item, read back from Monado's swapchain images for every view, with the tolerance of
    tests/test_render_lean.py: at most 0.1 % of the pixels more than 2 levels off (an edge
    pixel whose coverage flips may change completely; measured here: 1 pixel in 76,800)."""
    status, result, output = run_app(tmp_path, "--frames", "30", "--room", "--drive-remote")
    assert status == 0, output[-3000:]
    assert result["room_views_drawn"] >= 60
    figures = {k: v for k, v in result.items() if k.startswith("room_grouped")}
    assert result["room_grouped_share_over_2"] <= 0.001, figures


def test_quit_request_ends_through_stopping_and_exiting_and_exits_zero(
    plain_run: tuple[int, dict[str, Any], str],
) -> None:
    status, result, output = plain_run
    assert status == 0 and "error" not in result, output[-3000:]
    history = result["history"]
    focused_at = history.index("FOCUSED")
    tail = history[focused_at:]
    assert tail.index("STOPPING") < tail.index("EXITING"), history
    assert history[-1] == "EXITING"


def test_egl_offscreen_session_renders_without_any_display(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    status, result, output = run_app(tmp_path, "--frames", "50", "--egl", env=env)
    assert status == 0, output[-3000:]
    assert "XR_MNDX_egl_enable" in result["enabled_extensions"]
    assert result["focused_frames"] >= 50
    assert result["views_drawn"] >= 100
    assert result["views_correct"] == result["views_drawn"], result["first_pixel_failure"]
    assert result["history"][-1] == "EXITING"


@pytest.mark.parametrize("batched", [True, False], ids=["locate-spaces", "one-call-per-space"])
def test_driven_poses_and_values_come_out_of_every_frame(tmp_path: Path, batched: bool) -> None:
    """Poses come out right whether the runtime locates the head and hands in one call
    (XR_KHR_locate_spaces, Monado offers it) or each in its own, also while a controller is off."""
    extra = () if batched else ("--no-locate-spaces",)
    status, result, output = run_app(tmp_path, "--frames", "100", "--drive-remote", *extra)
    assert status == 0, output[-3000:]
    assert ("XR_KHR_locate_spaces" in result["enabled_extensions"]) is batched
    sent, observed = result["sent"], result["observed"]
    checked_poses = checked_off = newest = 0
    shown_before = 0  # the state the last frame showed, by its index in ``sent``
    for frame in observed:
        index = frame["index"]
        if not frame["focused"] or index == 0:
            continue
        # The state written right after frame index-1 normally reaches the runtime before
        # frame index is predicted (xrWaitFrame paces at 20 Hz): frame index shows it. On a
        # busy machine the runtime's driver thread may take it in a frame or two later, and
        # the frame shows the one before; never a state not yet sent, nor an older one than
        # the last frame showed.
        candidates = range(index - 1, max(shown_before, index - 3) - 1, -1)
        mismatches = {j: state_mismatch(frame, sent[j]) for j in candidates}
        shown = next((j for j in candidates if mismatches[j] is None), None)
        assert shown is not None, (index, mismatches)
        shown_before, newest = shown, newest + (shown == index - 1)
        checked_off += not sent[shown]["left"]["active"]
        checked_poses += 1 + sent[shown]["left"]["active"]
    assert checked_poses >= 150  # both hands over most of the 100 focused frames
    assert checked_off >= 15  # the left controller was switched off for 20 frames
    # Frames show the state just sent, not only older ones (most do on an idle machine; a
    # busy one lets fewer through, hence a floor well below that).
    assert newest >= 10, newest


def state_mismatch(frame: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """How ``frame`` (the app's record of a frame) differs from the remote driver's state
    ``expected`` (head, and per controller whether it is on, its pose, trigger and
    squeeze), or None when it shows it."""
    if not frame["head_valid"]:
        return "head not valid"
    want_head, got_head = np.array(expected["head"]), np.array(frame["head"])
    if float(np.linalg.norm(got_head[:3] - want_head[:3])) > POSITION_TOLERANCE_M:
        return "head position"
    if angle_deg(got_head[3:], want_head[3:]) > ANGLE_TOLERANCE_DEG:
        return "head orientation"
    for side in ("left", "right"):
        want, got = expected[side], frame[side]
        if not want["active"]:
            if got["grip_valid"] or got["aim_valid"]:
                return f"{side} is off but was located"
            continue
        if not (got["grip_valid"] and got["aim_valid"]):
            return f"{side} not located"
        want_pose, got_pose = np.array(want["pose"]), np.array(got["grip"])
        if float(np.linalg.norm(got_pose[:3] - want_pose[:3])) > POSITION_TOLERANCE_M:
            return f"{side} position"
        if angle_deg(got_pose[3:], want_pose[3:]) > ANGLE_TOLERANCE_DEG:
            return f"{side} orientation"
        if abs(got["trigger"] - want["trigger"]) > 1e-3 or abs(got["squeeze"] - want["squeeze"]) > 1e-3:
            return f"{side} trigger or squeeze"
        # XR_EXT_hand_tracking: the remote driver synthesises all 26 joints.
        if got["joints_valid"] != 26:
            return f"{side} joints"
    return None


def validation_findings(output: str) -> list[str]:
    """The core validation layer's reports above debug level. Its lines look like
    ``[time][VALID_<SEVERITY>|<VUID>|<function>]: message``."""
    return [line for line in output.splitlines() if re.search(r"\]\[VALID_(ERROR|WARNING)\|", line)]


def test_core_validation_layer_reports_no_errors(tmp_path: Path) -> None:
    sample = "[2026-01-01 00:00:00][VALID_ERROR|VUID-xrEndFrame-session-parameter|xrEndFrame]: bad"
    assert validation_findings(sample) == [sample]  # the check recognises the layer's errors
    status, result, output = run_app(tmp_path, "--frames", "40", "--validation", "--drive-remote")
    assert status == 0, output[-3000:]
    assert result["focused_frames"] >= 40
    assert "Core Validation Layer is initialized" in output, "the validation layer did not load"
    assert "Core Validation Layer will be destroyed" in output, "the instance was not destroyed"
    assert validation_findings(output) == [], "\n".join(validation_findings(output)[:20])


def test_injected_session_loss_ends_the_loop_with_a_clear_message(tmp_path: Path) -> None:
    started = time.monotonic()
    status, result, output = run_app(
        tmp_path, "--frames", "200", "--lose-session-after", "40", timeout_s=60
    )
    assert result["loss_layer_armed"]
    assert status == 4, output[-3000:]  # XrSessionLost
    assert result["error_type"] == "XrSessionLost"
    assert "lost the session" in result["error"] and result["error"].endswith(".")
    assert "Traceback" not in output
    assert 30 <= result["frames"] <= 45
    assert time.monotonic() - started < 60


def test_a_runtime_that_binds_no_supported_controller_is_one_clear_sentence(tmp_path: Path) -> None:
    status, result, output = run_app(tmp_path, "--reject-bindings", timeout_s=60)
    assert result["bindings_rejected"] == 6  # one suggestion per supported profile
    assert status == 3, output[-3000:]
    assert result["error_type"] == "XrRuntimeUnavailable"
    assert result["error"].startswith("The OpenXR runtime accepts none of the controller types")
    assert "Traceback" not in output


def test_runtime_killed_mid_run_ends_the_loop_with_a_clear_message(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    app = subprocess.Popen(
        [sys.executable, str(APP), "--out", str(out), "--frames", "100000", "--announce-focus", "--max-seconds", "90"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "FOCUSED"
        time.sleep(1.0)
        os.kill(control("pid"), signal.SIGKILL)  # a real crash of the runtime service
        killed_at = time.monotonic()
        _, errors = app.communicate(timeout=30)
        ended_after_s = time.monotonic() - killed_at
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    result = json.loads(out.read_text())
    assert app.returncode == 4, errors[-3000:] + service_log_tail()
    assert result["error_type"] == "XrSessionLost"
    assert "OpenXR runtime" in result["error"] and "Traceback" not in errors
    assert ended_after_s < 30
    # The sandbox brings the service back for whatever runs next.
    assert control("restart") > 0


_DOCTOR = """
import dataclasses, json, sys
from gmi_vr.core.errors import GmiError
from gmi_vr.xr.doctor import doctor_report
try:
    print(json.dumps(dataclasses.asdict(doctor_report())))
except GmiError as error:
    print(json.dumps({"error_type": type(error).__name__, "error": str(error)}))
    sys.exit(error.exit_code)
"""


def run_doctor(env_changes: dict[str, str]) -> tuple[int, dict[str, Any]]:
    env = dict(os.environ, **env_changes)
    process = subprocess.run(
        [sys.executable, "-c", _DOCTOR], env=env, capture_output=True, text=True, timeout=90
    )
    return process.returncode, json.loads(process.stdout.strip().splitlines()[-1])


def test_doctor_reports_the_runtime_the_system_and_the_bound_profile() -> None:
    status, report = run_doctor({})
    assert status == 0, report
    assert report["runtime_name"].startswith("Monado")
    assert report["system_name"] == "Monado: Remote HMD"
    assert "llvmpipe" in report["gl_renderer"]
    assert "XR_KHR_opengl_enable" in report["enabled_extensions"]
    assert report["focused"] is True
    assert report["interaction_profiles"] == {
        "left": "/interaction_profiles/valve/index_controller",
        "right": "/interaction_profiles/valve/index_controller",
    }


@pytest.mark.parametrize(
    "env_changes",
    [
        {"XR_RUNTIME_JSON": "/nonexistent/openxr_runtime.json"},  # no runtime installed
        {"XDG_RUNTIME_DIR": "/tmp/no-service-here"},  # runtime installed, service not running
    ],
    ids=["no-runtime", "service-not-running"],
)
def test_doctor_without_a_reachable_runtime_says_so_in_one_sentence(
    env_changes: dict[str, str],
) -> None:
    os.makedirs("/tmp/no-service-here", mode=0o700, exist_ok=True)
    status, report = run_doctor(env_changes)
    assert status == 3
    assert report == {
        "error_type": "XrRuntimeUnavailable",
        "error": "No OpenXR runtime is running: start your headset's runtime (or Monado) and try "
        "again, or use --sim.",
    }
