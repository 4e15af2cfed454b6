"""Shared looks: the calm look-only scene, instruction text, and the eased fade.

Colours are soft and steady (no flashing); text is large: a 0.05 m line at about 1 m spans
about 3 degrees, several times the smallest size readable in current headsets.
"""

from __future__ import annotations

import numpy as np

from gmi_vr.core.types import Pose
from gmi_vr.geometry import translation_matrix
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.stimuli import place_in_front

#: Soft sky tone of the calm room; task scenes use the DrawList default.
CALM_CLEAR: RGBA = (0.62, 0.72, 0.78, 1.0)
FLOOR_COLOR: RGBA = (0.55, 0.6, 0.55, 1.0)
#: Feedback cues: muted green and muted red, lit softly, never blinking.
CORRECT_COLOR: RGBA = (0.45, 0.72, 0.5, 1.0)
WRONG_COLOR: RGBA = (0.8, 0.5, 0.45, 1.0)

#: The answer scales (the pain rating, the in-headset questions): a value's box, the chosen
#: one, and the bar that fills while a hold confirms (``hold_bar``).
SCALE_BOX_COLOR: RGBA = (0.82, 0.84, 0.88, 1.0)
SCALE_CHOSEN_COLOR: RGBA = (0.98, 0.82, 0.35, 1.0)
HOLD_BAR_COLOR: RGBA = (0.45, 0.72, 0.5, 1.0)

#: Text line heights (metres) at ``TEXT_DISTANCE_M``.
TEXT_DISTANCE_M = 1.0
TITLE_HEIGHT_M = 0.07
BODY_HEIGHT_M = 0.05


def text(anchor: Pose, message: str, up_m: float = 0.0, height_m: float = BODY_HEIGHT_M,
         ahead_m: float = TEXT_DISTANCE_M) -> TextItem:
    """Text facing the patient ``ahead_m`` in front of the anchor, ``up_m`` above eye level."""
    return TextItem(message, place_in_front(anchor, ahead_m, up_m), height_m)


def hold_bar(anchor: Pose, progress: float, ahead_m: float = TEXT_DISTANCE_M) -> MeshItem | None:
    """The bar under an answer scale that fills from the left while a hold confirms it:
    ``progress`` 0..1 of 0.8 m, ``ahead_m`` in front of ``anchor``; None before a hold."""
    if progress <= 0.0:
        return None
    width = 0.8 * progress
    bar = place_in_front(anchor, ahead_m, -0.2, -0.4 + width / 2)
    return MeshItem("box", bar @ np.diag([width, 0.02, 0.01, 1.0]), HOLD_BAR_COLOR, lit=False)


def calm_scene(anchor: Pose, message: str) -> DrawList:
    """Look-only scene: a floor under the patient, a still horizon colour, one calm message."""
    floor = translation_matrix(np.array([anchor.position[0], 0.0, anchor.position[2]]))
    floor = floor @ np.diag([8.0, 1.0, 8.0, 1.0])
    return DrawList(
        meshes=(MeshItem("plane", floor, FLOOR_COLOR),),
        texts=(text(anchor, message, up_m=-0.1),) if message else (),
        clear_color=CALM_CLEAR,
    )


def smoothstep(x: float) -> float:
    """Eased 0..1 ramp (zero slope at both ends): fades start and stop gently."""
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


class Fade:
    """An eased fade value for ``DrawList.fade`` that moves towards a target over time.

    ``to(target, time_s)`` starts a ramp from the current value; ``value(time_s)`` reads it.
    A ramp over the full range takes ``full_s`` seconds; shorter distances take
    proportionally less, so the fade never jumps.
    """

    def __init__(self, full_s: float, value: float = 0.0) -> None:
        self.full_s = full_s
        self._from = value
        self._to = value
        self._start_s = 0.0
        self._duration_s = 0.0

    def to(self, target: float, time_s: float) -> None:
        """Ease from the value at ``time_s`` (s, frame clock) towards ``target`` (0 clear .. 1 black)."""
        current = self.value(time_s)
        self._from, self._to, self._start_s = current, target, time_s
        self._duration_s = abs(target - current) * self.full_s

    def value(self, time_s: float) -> float:
        """The fade at ``time_s``: 0 clear .. 1 black, eased (smoothstep), never a jump."""
        if self._duration_s <= 0.0:
            return self._to
        progress = smoothstep((time_s - self._start_s) / self._duration_s)
        return self._from + (self._to - self._from) * progress

    def settled(self, time_s: float) -> bool:
        """True once the fade has reached its target at ``time_s``."""
        return time_s - self._start_s >= self._duration_s

    @property
    def target(self) -> float:
        """The value the fade is heading to (0 clear .. 1 black)."""
        return self._to
