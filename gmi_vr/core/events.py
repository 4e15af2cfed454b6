"""Events: what happened during a session, as plain data for recording and the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Something that happened at ``time_s`` (frame time, seconds).

    ``kind`` is a short dotted name ("session.start", "trial.answer", "pain.rating",
    "safety.flare", "stage.change", "xr.state", "error", ...). ``data`` holds JSON-able
    values only.
    """

    time_s: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
