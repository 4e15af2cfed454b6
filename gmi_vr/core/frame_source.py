"""The protocol every frame source (openxr, sim, replay) satisfies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from gmi_vr.core.types import TrackingFrame


class FrameSource(Protocol):
    """Yields one TrackingFrame per display frame until the session ends.

    Sources are context managers: entering acquires the runtime/device/file, leaving
    releases everything, also after an error.
    """

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, *exc: object) -> None: ...

    def frames(self) -> Iterator[TrackingFrame]:
        """Yield one ``TrackingFrame`` per display frame until the source ends or is asked to stop."""
        ...

    def request_stop(self) -> None:
        """Ask the source to end gracefully (OpenXR: xrRequestExitSession)."""
        ...
