"""Laterality stimuli: which mesh shows which body part and side, balanced trial sequences, and
where a stimulus is placed in front of the patient.

Stimulus meshes live in ``models/stimuli/`` and are named in ``scene.MeshItem`` as
"stimuli/<part>_<side>". Their frame (the convention the models follow): metres at life
size, origin at the centre of the picture, +Y the picture's "up" (fingers, toes, head), and
the first view of the part ("back" of a hand, "top" of a foot, "back" of a shoulder or
trunk) facing +Z, towards a patient who looks down -Z. Other views turn the mesh half a
turn about its Y axis; rotations are in the picture plane (about +Z, counter-clockwise as
the patient sees it).

A right stimulus may be drawn as the left mesh reflected across its YZ plane (a scale of
-1 on X, determinant -1; the renderer must flip its triangle winding for such items) when
``LateralitySettings.mirrored_stimuli`` is set: then left and right differ only in
handedness. Trial records say which was drawn.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray, Pose, Side
from gmi_vr.geometry import matrix_from_pose, quat_from_axis_angle, quat_multiply, quat_rotate
from gmi_vr.therapy.plan.program import BodyPart, LateralitySettings, ProgramError


@dataclass(frozen=True)
class PartStimuli:
    """The meshes and views of one body part."""

    part: BodyPart
    left_mesh: str
    right_mesh: str
    #: View names; the first faces the patient at rotation 0, the second is turned half a turn.
    views: tuple[str, ...]

    def mesh(self, side: Side, mirrored_stimuli: bool) -> tuple[str, bool]:
        """(mesh name, reflected?) for a stimulus of ``side``."""
        if side is Side.LEFT:
            return self.left_mesh, False
        if mirrored_stimuli:
            return self.left_mesh, True
        return self.right_mesh, False


#: Registry of body parts and their stimulus meshes (CLINICAL.md: hands, feet, shoulders,
#: neck/back; views back/palm and sole/top).
PARTS: dict[BodyPart, PartStimuli] = {
    BodyPart.HAND: PartStimuli(BodyPart.HAND, "stimuli/hand_left", "stimuli/hand_right", ("back", "palm")),
    BodyPart.FOOT: PartStimuli(BodyPart.FOOT, "stimuli/foot_left", "stimuli/foot_right", ("top", "sole")),
    BodyPart.SHOULDER: PartStimuli(
        BodyPart.SHOULDER, "stimuli/shoulder_left", "stimuli/shoulder_right", ("back", "front")
    ),
    BodyPart.BACK_NECK: PartStimuli(
        # The neck models face the patient (a head turned to its left or right, seen from
        # the front), so this part's first view is "front".
        BodyPart.BACK_NECK, "stimuli/neck_left", "stimuli/neck_right", ("front", "back")
    ),
}

#: Context props (an object the part holds), drawn in the stimulus's frame: mesh name and
#: offset (3,) metres in that frame. "none" draws the part alone.
CONTEXT_PROPS: dict[str, tuple[str, tuple[float, float, float]] | None] = {
    "none": None,
    "cup": ("stimuli/prop_cup", (0.0, 0.02, 0.05)),
    "ball": ("stimuli/prop_ball", (0.0, 0.03, 0.05)),
}


def stimulus_mesh_names() -> tuple[str, ...]:
    """Every model name stimuli may use: the app checks which exist and passes the set as
    ``TaskContext.available_meshes``."""
    names = [name for p in PARTS.values() for name in (p.left_mesh, p.right_mesh)]
    names += [prop[0] for prop in CONTEXT_PROPS.values() if prop is not None]
    return tuple(names)


@dataclass(frozen=True)
class Stimulus:
    """One picture: which part, which side, how it is turned and what it holds."""

    part: BodyPart
    side: Side
    rotation_deg: int
    view: str
    context: str = "none"


def stimulus_cells(settings: LateralitySettings, default_part: BodyPart) -> list[Stimulus]:
    """Every combination a balanced block contains once per repetition."""
    parts = settings.body_parts or (default_part,)
    cells: list[Stimulus] = []
    for part in parts:
        views = settings.views or PARTS[part].views
        for view in views:
            if view not in PARTS[part].views:
                raise ProgramError(
                    f"A {part.value} has no '{view}' view; use {' or '.join(PARTS[part].views)}."
                )
        for context in settings.contexts:
            if context not in CONTEXT_PROPS:
                raise ProgramError(
                    f"Context '{context}' is unknown; use one of {', '.join(CONTEXT_PROPS)}."
                )
        for side, rotation, view, context in itertools.product(
            (Side.LEFT, Side.RIGHT), settings.rotations_deg, views, settings.contexts
        ):
            cells.append(Stimulus(part, side, rotation % 360, view, context))
    return cells


def balanced_sequence(
    settings: LateralitySettings, default_part: BodyPart, seed: int
) -> list[Stimulus]:
    """A block's trials: each cell of ``stimulus_cells`` equally often, in an order shuffled by
    ``numpy.random.default_rng(seed)`` (record the seed: the same seed gives the same block)."""
    cells = stimulus_cells(settings, default_part)
    if settings.trials_per_block % len(cells):
        raise ProgramError(
            f"A balanced block needs a multiple of {len(cells)} trials "
            f"(parts x sides x rotations x views x contexts); {settings.trials_per_block} is not."
        )
    trials = cells * (settings.trials_per_block // len(cells))
    order = np.random.default_rng(seed).permutation(len(trials))
    return [trials[i] for i in order]


def stimulus_world_from_mesh(
    anchor: Pose, stimulus: Stimulus, settings: LateralitySettings, reflected: bool
) -> FloatArray:
    """4x4 world_from_mesh for a stimulus ``settings.distance_m`` ahead of ``anchor`` (the
    calibrated head, yaw only) and ``settings.drop_m`` below it, turned by the stimulus's
    rotation and view; X scaled by -1 when ``reflected``."""
    position = anchor.position + quat_rotate(
        anchor.orientation, np.array([0.0, -settings.drop_m, -settings.distance_m])
    )
    picture = quat_from_axis_angle(np.array([0.0, 0.0, 1.0]), np.radians(stimulus.rotation_deg))
    view_index = PARTS[stimulus.part].views.index(stimulus.view)
    turn = quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), np.pi * view_index)
    orientation = quat_multiply(anchor.orientation, quat_multiply(picture, turn))
    world_from_mesh = matrix_from_pose(Pose(position, orientation))
    if reflected:
        world_from_mesh = world_from_mesh @ np.diag([-1.0, 1.0, 1.0, 1.0])
    return world_from_mesh


def level_anchor(head: Pose) -> Pose:
    """The head's position with its yaw only (no pitch or roll): the frame stimuli and text
    are placed in, so a tilted head at calibration does not tilt the pictures."""
    forward = quat_rotate(head.orientation, np.array([0.0, 0.0, -1.0]))
    yaw = float(np.arctan2(-forward[0], -forward[2]))
    return Pose(head.position, quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), yaw))


def place_in_front(anchor: Pose, ahead_m: float, up_m: float, right_m: float = 0.0) -> FloatArray:
    """4x4 world_from_item facing the patient (+Z towards them), offset in the anchor frame."""
    position = anchor.position + quat_rotate(anchor.orientation, np.array([right_m, up_m, -ahead_m]))
    return matrix_from_pose(Pose(position, anchor.orientation))
