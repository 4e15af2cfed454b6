"""Stimulus figures built from primitives, for when a stimulus model is not installed.

Each figure follows the stimulus mesh convention of ``stimuli`` (metres, origin at the
picture's centre, +Y up, the first view facing +Z) so it is placed, turned and rotated
exactly like the model it stands in for. The left figure is built; the right one is its
reflection across the YZ plane (each part's transform conjugated by the reflection, so
every part stays a proper, non-mirrored transform).

What makes each side and view recognisable, as in a photograph:

- hand, back view: the thumb on the viewer's right for a left hand, nails and knuckles
  facing the viewer; the palm view turns it half a turn (thumb on the left, no nails);
- foot, top view: the big toe on the viewer's right for a left foot, toenails visible;
  the sole view shows the darker sole;
- shoulder: seen from behind, the left arm raised sideways; the front view shows the nose;
- back/neck: seen from behind, the head bent towards the left shoulder; the front view
  shows the nose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray, Side
from gmi_vr.geometry import quat_from_axis_angle, quat_to_matrix
from gmi_vr.scene.draw import RGBA
from gmi_vr.therapy.plan.program import BodyPart

SKIN: RGBA = (0.86, 0.74, 0.64, 1.0)
SKIN_SHADE: RGBA = (0.78, 0.64, 0.55, 1.0)
NAIL: RGBA = (0.96, 0.88, 0.86, 1.0)
SOLE: RGBA = (0.62, 0.5, 0.44, 1.0)
SHIRT: RGBA = (0.45, 0.58, 0.72, 1.0)
NOSE: RGBA = (0.8, 0.6, 0.52, 1.0)


@dataclass(frozen=True)
class FigurePart:
    """One primitive of a figure: ``figure_from_part`` (4, 4) includes its size."""

    primitive: str
    figure_from_part: FloatArray
    color: RGBA


def _part(primitive: str, centre: tuple[float, ...], size: tuple[float, float, float],
          color: RGBA, about_z_deg: float = 0.0, about_x_deg: float = 0.0) -> FigurePart:
    """A primitive of ``size`` metres (box extents; sphere and cylinder diameters and the
    cylinder's length along Y), turned about Z then X, centred at ``centre``."""
    rotation = quat_to_matrix(quat_from_axis_angle(np.array([0.0, 0.0, 1.0]), np.radians(about_z_deg)))
    rotation = rotation @ quat_to_matrix(
        quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(about_x_deg)))
    matrix = np.eye(4)
    matrix[:3, :3] = rotation @ np.diag(size)
    matrix[:3, 3] = centre
    return FigurePart(primitive, matrix, color)


def _left_hand() -> list[FigurePart]:
    parts = [
        _part("box", (0.0, -0.035, 0.0), (0.085, 0.09, 0.028), SKIN),  # palm
        _part("cylinder", (0.0, -0.115, 0.0), (0.055, 0.07, 0.045), SKIN),  # wrist
    ]
    # Index to little finger, index nearest the thumb (+X for a left hand seen from the back).
    for x, length, width in ((0.03, 0.075, 0.018), (0.01, 0.085, 0.018), (-0.01, 0.078, 0.017),
                             (-0.03, 0.062, 0.016)):
        parts.append(_part("cylinder", (x, 0.01 + length / 2, 0.0), (width, length, width), SKIN))
        parts.append(_part("box", (x, 0.01 + length - 0.011, width / 2), (0.012, 0.016, 0.003), NAIL))
        parts.append(_part("sphere", (x, 0.008, 0.011), (0.02, 0.02, 0.012), SKIN_SHADE))  # knuckle
    # Thumb: out from the palm's lower side, angled 35 degrees from the fingers.
    direction = np.array([np.sin(np.radians(35)), np.cos(np.radians(35)), 0.0])
    base = np.array([0.036, -0.06, 0.0])
    tip = base + direction * 0.065
    centre = tuple(float(v) for v in (base + tip) / 2)
    parts.append(_part("cylinder", centre, (0.021, 0.065, 0.021), SKIN, about_z_deg=-35))
    nail = tuple(float(v) for v in tip - direction * 0.01 + np.array([0.0, 0.0, 0.0105]))
    parts.append(_part("box", nail, (0.013, 0.015, 0.003), NAIL, about_z_deg=-35))
    return parts


def _left_foot() -> list[FigurePart]:
    parts = [
        _part("box", (0.0, 0.02, 0.0), (0.095, 0.11, 0.045), SKIN),  # forefoot
        _part("box", (-0.005, -0.085, 0.0), (0.07, 0.11, 0.05), SKIN),  # midfoot and heel
        _part("box", (0.0, -0.03, -0.025), (0.085, 0.2, 0.004), SOLE),  # the sole
        _part("cylinder", (-0.005, -0.1, 0.045), (0.055, 0.06, 0.055), SKIN, about_x_deg=90),  # ankle
    ]
    # Big toe first, on the medial side (+X for a left foot seen from above).
    for x, y, size in ((0.03, 0.09, 0.032), (0.005, 0.085, 0.022), (-0.013, 0.078, 0.02),
                       (-0.028, 0.07, 0.018), (-0.041, 0.06, 0.016)):
        parts.append(_part("sphere", (x, y, 0.0), (size, size, size), SKIN))
        parts.append(_part("box", (x, y + 0.003, size * 0.45), (size * 0.55, size * 0.5, 0.003), NAIL))
    return parts


def _figure_body(head_tilt_deg: float, left_arm_raised: bool) -> list[FigurePart]:
    """A seated upper body seen from behind (+Z is its back); its left is the viewer's -X."""
    neck_top = np.array([0.0, 0.19, 0.0])
    tilt = np.radians(head_tilt_deg)  # positive: towards the figure's left (-X)
    head = neck_top + 0.09 * np.array([-np.sin(tilt), np.cos(tilt), 0.0])
    head_t = tuple(float(v) for v in head)
    parts = [
        _part("box", (0.0, -0.05, 0.0), (0.3, 0.4, 0.15), SHIRT),  # trunk
        _part("cylinder", (float(-0.03 * np.sin(tilt)), 0.17, 0.0), (0.08, 0.06, 0.08), SKIN,
              about_z_deg=head_tilt_deg),  # neck
        _part("sphere", head_t, (0.17, 0.2, 0.18), SKIN),  # head
        _part("sphere", (head_t[0], head_t[1], -0.09), (0.035, 0.045, 0.04), NOSE),  # face: front
        _part("cylinder", (0.18, -0.1, 0.0), (0.07, 0.42, 0.07), SHIRT),  # right arm, down
    ]
    if left_arm_raised:
        parts.append(_part("cylinder", (-0.36, 0.1, 0.0), (0.07, 0.42, 0.07), SHIRT, about_z_deg=90))
    else:
        parts.append(_part("cylinder", (-0.18, -0.1, 0.0), (0.07, 0.42, 0.07), SHIRT))
    return parts


def _left_figure(part: BodyPart) -> list[FigurePart]:
    if part is BodyPart.HAND:
        return _left_hand()
    if part is BodyPart.FOOT:
        return _left_foot()
    if part is BodyPart.SHOULDER:
        return _figure_body(head_tilt_deg=0.0, left_arm_raised=True)
    return _figure_body(head_tilt_deg=30.0, left_arm_raised=False)


_REFLECT_X = np.diag([-1.0, 1.0, 1.0, 1.0])


def figure(part: BodyPart, side: Side) -> list[FigurePart]:
    """The primitives of a ``side`` figure of ``part`` in the stimulus mesh frame."""
    parts = _left_figure(part)
    if side is Side.LEFT:
        return parts
    return [FigurePart(p.primitive, _REFLECT_X @ p.figure_from_part @ _REFLECT_X, p.color)
            for p in parts]
