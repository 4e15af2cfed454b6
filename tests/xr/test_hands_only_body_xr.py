"""The mirrored body with tracked hands alone, against the real Monado runtime (inside
tools/xr-sandbox): the same run as tests/xr/test_body_xr.py with both controllers switched
off and their hands tracked (the remote driver synthesises XR_EXT_hand_tracking joints
around the poses it is given). The same bounds hold on every frame: the healthy hand is
drawn at its tracked wrist joint (1 mm) and the affected hand is its reflection across the
calibrated midline (5 mm, 2°), from the same frame.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xr_run import headset_runtime, run_xr_app
from test_body_xr import (
    test_affected_hand_mirrors_the_healthy_controller_on_every_frame as mirror_bounds,
)

from gmi_vr.xr.hands_only import HAND_TRACKING_PROFILE

pytestmark = pytest.mark.xr

APP = Path(__file__).parent.parent / "support" / "xr_body_app.py"


def test_the_mirror_follows_the_tracked_healthy_hand_on_every_frame(tmp_path: Path) -> None:
    headset_runtime()
    run = run_xr_app(APP, ["--frames", "160", "--hands"], tmp_path)
    tracked = [f for f in run["frames"] if f["healthy_valid"]]
    assert len(tracked) >= 140
    # No controller: every tracked healthy hand was read from its joints.
    assert {f["healthy_profile"] for f in tracked} == {HAND_TRACKING_PROFILE}
    assert all(f["healthy_wrist_joint"] is not None for f in tracked)
    mirror_bounds(run)
