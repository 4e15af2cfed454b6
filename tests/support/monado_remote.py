"""A client for Monado's *remote* driver (protocol "mndrmt3"), used by the XR tests to play
the headset and the two controllers.

Wire format (Monado 25.0; see XR_RUNTIME.md): TCP 127.0.0.1:4242, fixed 376-byte packets,
little-endian. On connect the service sends its reset state and then its latest state;
afterwards the client writes whole packets whenever it wants the state to change. A pose on
the wire is orientation x, y, z, w then position x, y, z (7 float32).

Poses given to this client use the project's convention instead: position (3,) metres and
orientation (4,) xyzw, in the runtime's tracking space (the remote driver's origin).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields, replace
from typing import Literal

import numpy as np

from gmi_vr.core.types import Pose

MAGIC = b"mndrmt3\x00"
PACKET_SIZE = 376
PORT = 4242

# One view: fov (left, right, up, down) 4 f32, pose 7 f32, u32 padding.
_VIEW = "4f7fI"
# One controller: pose 7, linear velocity 3, angular velocity 3, hand curl 5, trigger,
# squeeze value, squeeze force, thumbstick 2, trackpad force, trackpad 2 (f32), then 13
# bools and 3 padding bytes.
_CONTROLLER = "7f3f3f5f3f2ff2f13?3x"
_PACKET = struct.Struct("<8s" + _VIEW + _VIEW + "7f?3x" + _CONTROLLER + _CONTROLLER)
assert _PACKET.size == PACKET_SIZE, _PACKET.size

_VIEW_FIELDS = 4 + 7 + 1
_CONTROLLER_FIELDS = 7 + 3 + 3 + 5 + 3 + 2 + 1 + 2 + 13


def _pose_to_wire(pose: Pose) -> list[float]:
    return [*map(float, pose.orientation), *map(float, pose.position)]


def _pose_from_wire(values: tuple[float, ...]) -> Pose:
    orientation, position = np.array(values[:4]), np.array(values[4:7])
    return Pose(position, orientation)


@dataclass(frozen=True)
class ViewState:
    fov: tuple[float, float, float, float]  # left, right, up, down (radians)
    pose: Pose


@dataclass(frozen=True)
class ControllerState:
    """One controller as the packet carries it, its fields in the packet's order."""

    pose: Pose = field(default_factory=Pose)
    linear_velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    angular_velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: little, ring, middle, index, thumb (0 open .. 1 curled)
    hand_curl: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    trigger: float = 0.0
    squeeze: float = 0.0
    squeeze_force: float = 0.0
    thumbstick: tuple[float, float] = (0.0, 0.0)
    trackpad_force: float = 0.0
    trackpad: tuple[float, float] = (0.0, 0.0)
    hand_tracking_active: bool = False
    active: bool = True
    system_click: bool = False
    system_touch: bool = False
    a_click: bool = False
    a_touch: bool = False
    b_click: bool = False
    b_touch: bool = False
    trigger_click: bool = False
    trigger_touch: bool = False
    thumbstick_click: bool = False
    thumbstick_touch: bool = False
    trackpad_touch: bool = False

    def to_wire(self) -> list[object]:
        """The packet's values for this controller, field by field: a pose as its 7 wire
        floats, a tuple as its elements, any other field as itself."""
        values: list[object] = []
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Pose):
                values += _pose_to_wire(value)
            elif isinstance(value, tuple):
                values += value
            else:
                values.append(value)
        return values

    @staticmethod
    def from_wire(values: Sequence[float]) -> ControllerState:
        """The controller whose ``to_wire`` values are ``values``: each field takes as many
        values as its default value does on the wire, each of that value's type."""
        default = ControllerState()
        changes: dict[str, object] = {}
        at = 0
        for item in fields(default):
            model = getattr(default, item.name)
            if isinstance(model, Pose):
                changes[item.name] = _pose_from_wire(tuple(float(v) for v in values[at : at + 7]))
                at += 7
            elif isinstance(model, tuple):
                changes[item.name] = tuple(float(v) for v in values[at : at + len(model)])
                at += len(model)
            else:
                changes[item.name] = type(model)(values[at])
                at += 1
        return replace(default, **changes)


@dataclass(frozen=True)
class RemoteState:
    """The whole state one packet carries."""

    views: tuple[ViewState, ViewState]
    head: Pose
    per_view_data_valid: bool
    left: ControllerState
    right: ControllerState


def pack(state: RemoteState) -> bytes:
    """376 bytes for ``state``."""
    values: list[object] = [MAGIC]
    for view in state.views:
        values += [*view.fov, *_pose_to_wire(view.pose), 0]
    values += [*_pose_to_wire(state.head), state.per_view_data_valid]
    values += state.left.to_wire() + state.right.to_wire()
    return _PACKET.pack(*values)


def unpack(packet: bytes) -> RemoteState:
    """The state in one 376-byte packet; ``ValueError`` if it is not an mndrmt3 packet.

    Monado 25.0 leaves the header of the packets it sends zeroed (observed); packets this
    client sends always carry the magic."""
    if len(packet) != PACKET_SIZE:
        raise ValueError(f"a remote-driver packet has {PACKET_SIZE} bytes, not {len(packet)}")
    values = _PACKET.unpack(packet)
    if values[0] not in (MAGIC, bytes(8)):
        raise ValueError(f"not an mndrmt3 packet (header {values[0]!r})")
    at = 1
    views = []
    for _ in range(2):
        view = values[at : at + _VIEW_FIELDS]
        views.append(ViewState(tuple(view[:4]), _pose_from_wire(tuple(view[4:11]))))  # type: ignore[arg-type]
        at += _VIEW_FIELDS
    head = _pose_from_wire(tuple(values[at : at + 7]))
    per_view_valid = bool(values[at + 7])
    at += 8
    left = ControllerState.from_wire(values[at : at + _CONTROLLER_FIELDS])
    at += _CONTROLLER_FIELDS
    right = ControllerState.from_wire(values[at : at + _CONTROLLER_FIELDS])
    return RemoteState((views[0], views[1]), head, per_view_valid, left, right)


class MonadoRemote(AbstractContextManager["MonadoRemote"]):
    """A connection to the remote driver. ``state`` is what the service last received; a
    ``with`` block closes it at its end."""

    def __init__(self, host: str = "127.0.0.1", port: int = PORT, timeout_s: float = 10.0) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the remote driver is only ever reached on this machine (127.0.0.1)")
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.reset_state = unpack(self._receive())
        self.state = unpack(self._receive())

    def _receive(self) -> bytes:
        data = b""
        while len(data) < PACKET_SIZE:
            chunk = self._socket.recv(PACKET_SIZE - len(data))
            if not chunk:
                raise ConnectionError("the remote driver closed the connection")
            data += chunk
        return data

    def send(self, state: RemoteState) -> None:
        self._socket.sendall(pack(state))
        self.state = state

    def set_head(self, pose: Pose) -> None:
        self.send(replace(self.state, head=pose))

    def set_controller(self, side: Literal["left", "right"], **changes: object) -> None:
        """Change fields of one controller (``pose``, ``active``, ``trigger``, ``squeeze``, ...)."""
        controller = replace(getattr(self.state, side), **changes)
        self.send(replace(self.state, **{side: controller}))

    def set_all(self, head: Pose, left: ControllerState, right: ControllerState) -> None:
        """Head and both controllers in one packet (one consistent state change)."""
        self.send(replace(self.state, head=head, left=left, right=right))

    def close(self) -> None:
        self._socket.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
