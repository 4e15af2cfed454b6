"""Scene contexts for the imagery, mirror and movement tasks, and headset-readable text.

CLINICAL.md (mirror therapy grading): "then vary the context (place, posture, time,
distraction)". A context is a DrawList builder placed around the patient's anchor (the
calibrated head, yaw only; see ``workspace``), with its work surface at
``workspace.WORK_SURFACE_DROP_M`` below the eyes so targets rest on it in every context.

"clinic" is the calm clinic room the app draws by default (``gmi_vr.scene.room``): its
builder here adds nothing. The other contexts replace the room: when a task's
``scene_context`` is not "clinic", the app draws the task's DrawList without the room.

Colours are soft and steady, as in the clinic room: nothing may glare or flicker.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gmi_vr.core.types import FloatArray, Pose
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.stimuli import place_in_front
from gmi_vr.therapy.content.workspace import WORK_SURFACE_DROP_M
from gmi_vr.therapy.plan.program import ProgramError

#: Smallest text: 0.04 m glyph height at 0.6 m, about 3.8 degrees of visual angle, readable
#: at the angular resolution of current consumer headsets (about 20 pixels per degree gives
#: some 75 pixels per line). Product requirement; every task text is at least this large.
MIN_TEXT_ANGLE_RAD = float(np.arctan2(0.04, 0.6))
#: Instruction text: distance ahead of the eyes and line height (4.1 degrees).
TEXT_AHEAD_M = 0.9
TEXT_HEIGHT_M = 0.065
TITLE_HEIGHT_M = 0.08

TEXT_COLOR: RGBA = (1.0, 1.0, 1.0, 1.0)
TEXT_BACKGROUND: RGBA = (0.12, 0.16, 0.2, 0.7)


def readable_height(distance_m: float) -> float:
    """The smallest line height (metres) readable at ``distance_m``."""
    return float(distance_m * np.tan(MIN_TEXT_ANGLE_RAD))


def instruction(anchor: Pose, message: str, up_m: float = 0.12, height_m: float = TEXT_HEIGHT_M,
                ahead_m: float = TEXT_AHEAD_M) -> TextItem:
    """Text facing the patient ``ahead_m`` ahead and ``up_m`` above eye level; never smaller
    than readable at that distance."""
    height = max(height_m, readable_height(float(np.hypot(ahead_m, up_m))))
    return TextItem(message, place_in_front(anchor, ahead_m, up_m), height, TEXT_COLOR,
                    TEXT_BACKGROUND)


def _box(anchor: Pose, ahead: float, up: float, right: float, size: tuple[float, float, float],
         color: RGBA, lit: bool = True) -> MeshItem:
    """A box centred at an anchor-frame offset (``up`` from the eyes), axes along the anchor."""
    m = place_in_front(anchor, ahead, up, right) @ np.diag([size[0], size[1], size[2], 1.0])
    return MeshItem("box", m, color, lit)


def _floor(anchor: Pose, color: RGBA, size_m: float = 12.0) -> MeshItem:
    centre = np.array([anchor.position[0], 0.0, anchor.position[2]])
    m = matrix_from_pose(Pose(centre, anchor.orientation)) @ np.diag([size_m, 1.0, size_m, 1.0])
    return MeshItem("plane", m, color)


def clinic(anchor: Pose) -> DrawList:
    """The clinic room is drawn by the app (``scene.room``); nothing to add."""
    return DrawList()


KITCHEN_CLEAR: RGBA = (0.86, 0.84, 0.78, 1.0)


def kitchen(anchor: Pose) -> DrawList:
    """A kitchen table by a counter: the table top at the work surface height, a counter with
    a splash-back behind it, wall cupboards, a kettle and a bowl (everyday objects, as a
    grading step from the clinic's plain table)."""
    surface = -WORK_SURFACE_DROP_M
    eye_height = float(anchor.position[1])
    meshes = [
        _floor(anchor, (0.72, 0.66, 0.58, 1.0)),
        # Table: top 0.03 m thick, its top face at the work surface.
        _box(anchor, 0.55, surface - 0.015, 0.0, (1.2, 0.03, 0.75), (0.78, 0.70, 0.58, 1.0)),
        _box(anchor, 0.55, (surface - eye_height) / 2, 0.0, (0.08, eye_height + surface, 0.08),
             (0.5, 0.44, 0.38, 1.0)),
        # Counter along the wall ahead, then the splash-back and wall cupboards above it.
        _box(anchor, 1.7, surface + 0.2 - (eye_height + surface + 0.2) / 2, 0.0,
             (2.6, eye_height + surface + 0.2, 0.6), (0.93, 0.92, 0.88, 1.0)),
        _box(anchor, 2.0, surface + 0.5, 0.0, (2.6, 0.6, 0.02), (0.80, 0.86, 0.84, 1.0)),
        _box(anchor, 1.85, surface + 1.15, 0.0, (2.6, 0.7, 0.35), (0.70, 0.77, 0.74, 1.0)),
        # Everyday objects on the counter (not targets).
        MeshItem("cylinder", place_in_front(anchor, 1.6, surface + 0.3, -0.6)
                 @ np.diag([0.16, 0.2, 0.16, 1.0]), (0.62, 0.66, 0.70, 1.0)),
        MeshItem("sphere", place_in_front(anchor, 1.6, surface + 0.24, 0.5)
                 @ np.diag([0.24, 0.1, 0.24, 1.0]), (0.86, 0.76, 0.56, 1.0)),
    ]
    return DrawList(meshes=tuple(meshes), clear_color=KITCHEN_CLEAR)


GARDEN_CLEAR: RGBA = (0.70, 0.82, 0.92, 1.0)  # a hazy summer sky


def garden(anchor: Pose) -> DrawList:
    """A garden: grass, a wooden garden table at the work surface height, a low hedge and a
    few shrubs under an open sky (a calm outdoor context)."""
    surface = -WORK_SURFACE_DROP_M
    eye_height = float(anchor.position[1])
    wood: RGBA = (0.62, 0.48, 0.34, 1.0)
    meshes = [
        _floor(anchor, (0.50, 0.64, 0.42, 1.0), 40.0),
        _box(anchor, 0.55, surface - 0.02, 0.0, (1.1, 0.04, 0.7), wood),
        _box(anchor, 0.55, (surface - eye_height) / 2, -0.45, (0.06, eye_height + surface, 0.06), wood),
        _box(anchor, 0.55, (surface - eye_height) / 2, 0.45, (0.06, eye_height + surface, 0.06), wood),
        _box(anchor, 5.0, 0.5 - eye_height, 0.0, (12.0, 1.0, 0.8), (0.36, 0.52, 0.34, 1.0)),
    ]
    for right, ahead, size in ((-2.5, 4.0, 1.2), (2.8, 3.6, 1.0), (1.2, 4.4, 0.8)):
        meshes.append(MeshItem("sphere", place_in_front(anchor, ahead, size / 2 - eye_height, right)
                               @ np.diag([size, size, size, 1.0]), (0.40, 0.58, 0.38, 1.0)))
    return DrawList(meshes=tuple(meshes), clear_color=GARDEN_CLEAR)


#: Contexts by name (``ImagerySettings.context``, ``MirrorSettings.context``, ...).
CONTEXTS: dict[str, Callable[[Pose], DrawList]] = {
    "clinic": clinic,
    "kitchen": kitchen,
    "garden": garden,
}


def context_scene(name: str, anchor: Pose) -> DrawList:
    """The DrawList of the scene context ``name`` placed around ``anchor`` (world metres);
    ProgramError naming the known contexts for an unknown one."""
    try:
        builder = CONTEXTS[name]
    except KeyError:
        raise ProgramError(
            f"Scene context '{name}' is unknown; use one of {', '.join(sorted(CONTEXTS))}."
        ) from None
    return builder(anchor)


def combine(*lists: DrawList) -> DrawList:
    """One DrawList of all items; the clear colour of the first list that is not the default."""
    default = DrawList().clear_color
    clear = next((d.clear_color for d in lists if d.clear_color != default), default)
    return DrawList(
        meshes=tuple(m for d in lists for m in d.meshes),
        skinned=tuple(s for d in lists for s in d.skinned),
        texts=tuple(t for d in lists for t in d.texts),
        clear_color=clear,
    )


def text_angle_rad(item: TextItem, eye: FloatArray) -> float:
    """Visual angle of one line of ``item`` seen from ``eye`` (3,)."""
    distance = float(np.linalg.norm(item.world_from_text[:3, 3] - np.asarray(eye)))
    return float(np.arctan2(item.height_m, distance))
