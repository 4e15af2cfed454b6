"""Both eyes in one pass on Monado's swapchain images (inside tools/xr-sandbox).

The app (tests/support/xr_app.py ``--stereo PATH``) asks for one colour and one depth
swapchain with arraySize 2, draws the room with both eyes in one ``Renderer.draw_stereo``
call, reads both layers back from the swapchain image and compares each with that eye
drawn alone by ``Renderer.draw`` (the two-pass picture) in the same process. Every path is
run: GL_OVR_multiview (Mesa 25 llvmpipe in the sandbox offers it), layered instancing, and
the two-pass fallback drawing each eye into its layer.

Tolerance: at most 1 level of 8 bits in any channel of any pixel (the same float32 maths
per vertex and fragment each way; measured: 0). The pictures are real: each layer holds
the lit room (many colours) and the two layers differ (two eyes).

The app itself (``gmi-vr run``) picks the way at start, logs it and runs with it: multiview
here, and layered or two passes when made to (as a driver lacking multiview, or both, would).

The same comparison without a runtime, on EGL offscreen targets, is
tests/test_render_stereo.py; run here too, it covers multiview, which the host's Mesa 22
lacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.xr_run import xr_app_outcome

pytestmark = [pytest.mark.xr, pytest.mark.usefixtures("headset")]

APP = Path(__file__).parent.parent / "support" / "xr_app.py"
RUN_TIMEOUT_S = 180


def run_app(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    return xr_app_outcome(APP, list(args), tmp_path, timeout_s=RUN_TIMEOUT_S)


@pytest.mark.parametrize("path", ["multiview", "layered", "two_pass"])
def test_both_eyes_in_one_swapchain_match_each_eye_drawn_alone(tmp_path: Path, path: str) -> None:
    status, result, output = run_app(tmp_path, "--frames", "20", "--stereo", path, "--drive-remote")
    assert status == 0, output[-3000:]
    assert result["one_pass"] is True  # one two-layer swapchain for both views
    assert result["stereo_path"] == path
    assert result["stereo_views_drawn"] >= 40
    assert result["stereo_max_difference"] <= 1, result["stereo_share_over_1"]
    assert result["stereo_min_distinct_colours"] >= 50
    assert result["stereo_layers_differ"] is True
    assert result["history"][-1] == "EXITING"


def test_without_a_one_pass_renderer_each_view_has_its_own_swapchain(tmp_path: Path) -> None:
    status, result, output = run_app(tmp_path, "--frames", "10")
    assert status == 0, output[-3000:]
    assert result["one_pass"] is False
    assert result["views_correct"] == result["views_drawn"] >= 20, result["first_pixel_failure"]


def test_the_offscreen_comparison_passes_with_this_mesa_multiview_included() -> None:
    """tests/test_render_stereo.py on EGL offscreen with the sandbox's Mesa, where the
    multiview cases run rather than being skipped."""
    test_file = Path(__file__).parent.parent / "test_render_stereo.py"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    result = subprocess.run([sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
                             "-m", "gl", "-rs"], env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "skipped" not in result.stdout, result.stdout[-2000:]
    assert "16 passed" in result.stdout, result.stdout[-2000:]


APP_EYES = {
    None: "eyes: both in one pass (GL_OVR_multiview)",  # what the sandbox's Mesa offers first
    "layered": "eyes: both in one pass (layered instancing)",
    "two_pass": "eyes: one after the other (the OpenGL driver offers no one-pass drawing)",
}


@pytest.mark.parametrize("forced", list(APP_EYES))
def test_the_headset_app_says_how_it_draws_the_eyes_and_runs_that_way(tmp_path: Path, forced: str | None) -> None:
    """``gmi-vr run`` (free play, with its therapist window) picks the way at start and logs
    it; each way, forced as a driver offering less would force it, runs to a clean end."""
    code = ["import logging, sys", "logging.basicConfig(level=logging.INFO, format='%(message)s')"]
    if forced is not None:
        code += ["import gmi_vr.render.renderer as renderer", f"renderer.choose_stereo_path = lambda *_: {forced!r}"]
    code += ["from gmi_vr import cli", "sys.exit(cli.main(['run', '--max-frames', '40']))"]
    env = dict(os.environ, GMI_VR_DATA=str(tmp_path), GMI_VR_CONFIG=str(tmp_path / "absent.toml"))
    result = subprocess.run([sys.executable, "-c", "; ".join(code)], env=env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert APP_EYES[forced] in result.stderr.splitlines(), result.stderr[-3000:]
