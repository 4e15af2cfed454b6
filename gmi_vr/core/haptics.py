"""A vibration request for one hand's controller: plain data from therapy to the frame source.

Therapy decides when a hand should feel a pulse (``therapy/haptic_pulses.py``); the OpenXR frame
source plays it with ``xrApplyHapticFeedback`` on that hand's vibration output; sources
without controllers (simulator, replay) ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gmi_vr.core.types import Side


@dataclass(frozen=True)
class HapticPulse:
    """One short vibration: ``side``'s controller, ``duration_s`` seconds, ``amplitude``
    0..1 of the controller's strongest, at the runtime's own frequency. ``cause`` names
    the event it answers ("trial.answer", "repetition.complete")."""

    side: Side
    duration_s: float
    amplitude: float
    cause: str
