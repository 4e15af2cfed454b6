"""The remote-driver packet layout (376 bytes, "mndrmt3"), checked byte by byte."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from support.monado_remote import (
    MAGIC,
    PACKET_SIZE,
    ControllerState,
    RemoteState,
    ViewState,
    pack,
    unpack,
)

from gmi_vr.core.types import Pose


def _state() -> RemoteState:
    view = ViewState((-0.8, 0.8, 0.7, -0.7), Pose((0.03, 0.0, 0.0)))
    left = ControllerState(
        pose=Pose((-0.2, 1.3, -0.5), (0.0, 0.0, 0.38268343, 0.92387953)),
        trigger=0.25,
        squeeze=0.75,
        active=True,
    )
    right = ControllerState(
        pose=Pose((0.2, 1.3, -0.5)), active=False, a_click=True, thumbstick=(0.5, -1.0)
    )
    return RemoteState((view, view), Pose((0.0, 1.6, 0.0)), False, left, right)


def test_pack_writes_the_documented_offsets() -> None:
    packet = pack(_state())
    assert len(packet) == PACKET_SIZE
    assert packet[:8] == MAGIC
    # head.views[0]: fov at 8, pose (orientation then position) at 24
    assert struct.unpack_from("<4f", packet, 8) == pytest.approx((-0.8, 0.8, 0.7, -0.7))
    assert struct.unpack_from("<7f", packet, 24) == pytest.approx((0, 0, 0, 1, 0.03, 0, 0))
    # head.center at 104, per_view_data_valid at 132
    assert struct.unpack_from("<7f", packet, 104) == pytest.approx((0, 0, 0, 1, 0.0, 1.6, 0.0))
    assert packet[132] == 0
    # left controller at 136: pose, then trigger at +72 and squeeze value at +76
    assert struct.unpack_from("<7f", packet, 136) == pytest.approx(
        (0, 0, 0.38268343, 0.92387953, -0.2, 1.3, -0.5)
    )
    assert struct.unpack_from("<2f", packet, 136 + 72) == pytest.approx((0.25, 0.75))
    # bools start at +104: hand_tracking_active, active, system click/touch, a click ...
    assert packet[136 + 104 + 1] == 1  # left active
    right = 256
    assert packet[right + 104 + 1] == 0  # right inactive
    assert packet[right + 104 + 4] == 1  # right a click
    assert struct.unpack_from("<2f", packet, right + 84) == pytest.approx((0.5, -1.0))  # thumbstick


def test_unpack_inverts_pack() -> None:
    state = _state()
    back = unpack(pack(state))
    np.testing.assert_allclose(back.left.pose.position, state.left.pose.position, atol=1e-6)
    np.testing.assert_allclose(back.left.pose.orientation, state.left.pose.orientation, atol=1e-6)
    assert back.right.active is False and back.right.a_click is True
    assert back.left.trigger == pytest.approx(0.25) and back.left.squeeze == pytest.approx(0.75)
    assert back.head.position[1] == pytest.approx(1.6)
    assert back.views[0].fov == pytest.approx((-0.8, 0.8, 0.7, -0.7))


def test_unpack_rejects_other_data() -> None:
    with pytest.raises(ValueError):
        unpack(b"\x01" * PACKET_SIZE)
    with pytest.raises(ValueError):
        unpack(b"\x00" * 100)
