"""Locating the frame's fixed set of spaces (head, grips, aims) in one call per frame.

Each ``xrLocateSpace`` is a round trip to an out-of-process runtime (Monado's IPC): five
spaces a frame cost five. XR_KHR_locate_spaces (core in OpenXR 1.1 as xrLocateSpaces)
locates them all in one call; where the runtime does not offer it, each space is located
in turn. Either way the ctypes structures are made once, not per frame.

A space the batched call reports without a valid pose is located again on its own: while
any space of the batch cannot be located (a controller switched off), Monado 25.0's
xrLocateSpacesKHR also reports another, tracked space of the batch as unlocated. So a pose
is only ever lost when xrLocateSpace itself loses it, and the common frame, everything
tracked, still costs one call.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
import xr

from gmi_vr.xr.runtime import raise_for_result
from gmi_vr.xr.tracking import POSE_VALID, RawLocation

#: Memory layout of XrSpaceLocationData (and of XrSpaceLocation's flags and pose, after its
#: type and next): flags u64, pose (orientation xyzw, position xyz) f32.
_LOCATION_DATA = np.dtype(
    [("flags", "<u8"), ("orientation", "<f4", (4,)), ("position", "<f4", (3,))],
    align=True,
)
assert _LOCATION_DATA.itemsize == ctypes.sizeof(xr.SpaceLocationData)


class SpaceLocator:
    """Locates ``spaces`` in ``base_space`` at a given time: one xrLocateSpacesKHR call when
    ``batched`` (the instance enabled ``runtime.LOCATE_SPACES_EXTENSION``), else one xrLocateSpace per space.
    ``locate`` returns one ``RawLocation`` per space, in the order given."""

    def __init__(
        self,
        instance: xr.Instance,
        session: xr.Session,
        base_space: xr.Space,
        spaces: Sequence[xr.Space],
        *,
        batched: bool,
    ) -> None:
        self.batched = batched
        self._session = session
        self._spaces = list(spaces)
        self._base_space = base_space
        count = len(self._spaces)
        # Looked up once: pyopenxr's wrappers make a new result structure on every call.
        self._locate_space = ctypes.cast(
            xr.get_instance_proc_addr(instance, "xrLocateSpace"), xr.PFN_xrLocateSpace
        )
        self._each = [xr.SpaceLocation() for _ in self._spaces]
        if batched:
            self._locate_spaces = ctypes.cast(
                xr.get_instance_proc_addr(instance, "xrLocateSpacesKHR"), xr.PFN_xrLocateSpacesKHR
            )
            self._space_array = (xr.Space * count)(*self._spaces)
            self._data = (xr.SpaceLocationData * count)()
            self._info = xr.SpacesLocateInfo(base_space=base_space, time=0, space_count=count,
                                             spaces=self._space_array)  # fmt: skip
            self._locations = xr.SpaceLocations(location_count=count, locations=self._data)
            self._view: Any = np.frombuffer(self._data, dtype=_LOCATION_DATA)  # a view: no per-space Python

    def locate(self, time_ns: int) -> list[RawLocation]:
        """Every space's pose (px py pz qx qy qz qw) and location flags at ``time_ns``."""
        if not self.batched:
            return [self._locate_one(space, location, time_ns)
                    for space, location in zip(self._spaces, self._each, strict=True)]  # fmt: skip
        self._info.time = time_ns
        raise_for_result(self._locate_spaces(self._session, ctypes.byref(self._info),
                                       ctypes.byref(self._locations)))  # fmt: skip
        view = self._view
        poses = np.concatenate([view["position"], view["orientation"]], axis=1).tolist()
        flags = view["flags"].tolist()
        return [
            RawLocation(tuple(pose), flag) if flag & POSE_VALID == POSE_VALID
            else self._locate_one(self._spaces[index], self._each[index], time_ns)
            for index, (pose, flag) in enumerate(zip(poses, flags, strict=True))
        ]  # fmt: skip

    def _locate_one(self, space: xr.Space, location: xr.SpaceLocation, time_ns: int) -> RawLocation:
        raise_for_result(self._locate_space(space, self._base_space, time_ns, ctypes.byref(location)))
        p, q = location.pose.position, location.pose.orientation
        return RawLocation((p.x, p.y, p.z, q.x, q.y, q.z, q.w), int(location.location_flags))
