"""The displayed affected hand's size: 0.7 to 1.0 about its wrist, never larger (CLINICAL.md:
magnified views raised movement-evoked pain and swelling most, minified least; Moseley,
Parsons & Spence 2008)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from body_frames import calibration, frame, grip_in_front, held, upright_head

from gmi_vr.body.skeleton import JOINT_NAMES, side_joint
from gmi_vr.body.solve import BodySettings, BodyState, solve_body
from gmi_vr.core.errors import InputFileError
from gmi_vr.core.types import Side


def test_a_smaller_hand_shrinks_about_its_wrist_and_leaves_the_rest_alone() -> None:
    cal = calibration()
    f = frame(0, upright_head(cal), right=held(grip_in_front(cal, Side.RIGHT, 0.0)))
    whole = solve_body(f, cal, BodySettings(), BodyState()).world_from_joint
    small = solve_body(f, cal, BodySettings(affected_hand_scale=0.7), BodyState()).world_from_joint
    hand = side_joint(Side.LEFT, "Hand")
    wrist = whole[hand, :3, 3]
    np.testing.assert_allclose(small[hand, :3, 3], wrist, atol=1e-9)  # the wrist stays put
    np.testing.assert_allclose(np.linalg.det(small[hand, :3, :3]), 0.7**3, rtol=1e-9)
    tip = side_joint(Side.LEFT, "IndexDistal")
    np.testing.assert_allclose(np.linalg.norm(small[tip, :3, 3] - wrist),
                               0.7 * np.linalg.norm(whole[tip, :3, 3] - wrist), rtol=1e-9)
    # The arm above the wrist and the healthy hand are untouched.
    for name in ("LowerArm", "UpperArm"):
        index = side_joint(Side.LEFT, name)
        np.testing.assert_allclose(small[index], whole[index], atol=1e-12)
    for index, name in enumerate(JOINT_NAMES):
        if name.startswith("right"):
            np.testing.assert_allclose(small[index], whole[index], atol=1e-12)


@pytest.mark.parametrize("scale", [1.05, 0.69, 2.0])
def test_the_hand_is_never_enlarged_nor_shrunk_below_0_7(scale: float) -> None:
    with pytest.raises(InputFileError, match="never enlarged"):
        BodySettings(affected_hand_scale=scale)
    with pytest.raises(InputFileError, match="never enlarged"):
        BodySettings.from_dict({"affected_hand_scale": scale})


def test_the_size_round_trips_and_defaults_to_the_real_size() -> None:
    settings = BodySettings(affected_hand_scale=0.85)
    assert BodySettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    assert BodySettings().affected_hand_scale == 1.0 == BodySettings.from_dict({}).affected_hand_scale
