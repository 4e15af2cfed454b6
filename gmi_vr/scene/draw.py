"""The DrawList: what therapy hands to render each frame (hello_xr's list of cubes, grown up).

Every transform is a 4x4 ``world_from_local`` matrix in the column-vector convention of
``gmi_vr.geometry``; world is the OpenXR reference space (STAGE or LOCAL), metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray

RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class MeshItem:
    """A mesh by name, placed in the world.

    ``mesh`` names a built-in primitive ("box", "sphere", "cylinder", "plane") sized by
    ``world_from_mesh``'s scale (unit primitives: box and plane span -0.5..0.5, sphere
    and cylinder have radius 0.5), or a mesh the renderer loaded from ``models/``
    ("controller_left", ...).

    A *group* (``parts`` not empty; ``mesh`` is then only a label) draws its parts, each
    placed in the group's frame by its own ``world_from_mesh`` and coloured by its own
    colour, moved together by the group's ``world_from_mesh`` and tinted by its ``color``.
    The renderer merges a group into one buffer the first time it sees that ``parts``
    tuple and draws it with one call from then on, so build a group once and hand the
    very same tuple every frame (``dataclasses.replace`` keeps it). All parts share the
    group's ``lit``; parts that are all opaque or all translucent (see ``group_static``).
    """

    mesh: str
    world_from_mesh: FloatArray
    color: RGBA = (0.8, 0.8, 0.8, 1.0)
    lit: bool = True
    parts: tuple[MeshItem, ...] = ()

    @property
    def translucent(self) -> bool:
        """Drawn blended (after the opaque items, far to near) rather than opaque."""
        return self.color[3] < 1.0 or (bool(self.parts) and self.parts[0].color[3] < 1.0)


def group_static(items: tuple[MeshItem, ...]) -> tuple[MeshItem, ...]:
    """Items that never move relative to each other (a room's walls and furniture) as a few
    groups at the identity: one per (lit, translucent) kind, in the kinds' first-seen order.
    ``items`` must not hold groups themselves."""
    kinds: dict[tuple[bool, bool], list[MeshItem]] = {}
    for item in items:
        if item.parts:
            raise ValueError("group_static takes plain items, not groups")
        kinds.setdefault((item.lit, item.color[3] < 1.0), []).append(item)
    return tuple(
        MeshItem(f"group of {len(parts)}", np.eye(4), (1.0, 1.0, 1.0, 1.0), lit, tuple(parts))
        for (lit, _translucent), parts in kinds.items()
    )


@dataclass(frozen=True)
class SkinnedItem:
    """A skinned avatar: ``palette`` (n_joints, 4, 4) is ``world_from_joint @ joint_from_bind``
    (the inverse bind matrices already applied), one per skin joint in the avatar's order."""

    avatar: str
    palette: FloatArray
    tint: RGBA = (1.0, 1.0, 1.0, 1.0)
    #: Draw as a translucent ghost (explicit-imagery demonstrations).
    ghost: bool = False
    #: The same pose for cameras outside the patient's eyes (the therapist's third-person
    #: view): ``palette`` may fold the head away so it never hangs in the patient's view.
    third_person_palette: FloatArray | None = None

    def seen_from_outside(self) -> SkinnedItem:
        """This item as a third-person camera should draw it."""
        if self.third_person_palette is None:
            return self
        return SkinnedItem(self.avatar, self.third_person_palette, self.tint, self.ghost)


@dataclass(frozen=True)
class TextItem:
    """A line (or lines, split on newlines) of text on a quad facing +Z of ``world_from_text``,
    centred on its origin; ``height_m`` is the height of one line in metres."""

    text: str
    world_from_text: FloatArray
    height_m: float = 0.05
    color: RGBA = (1.0, 1.0, 1.0, 1.0)
    background: RGBA | None = (0.0, 0.0, 0.0, 0.6)


@dataclass(frozen=True)
class DrawList:
    """Everything to draw in one frame, as plain data: meshes, skinned avatars and texts, all in
    world coordinates (metres), the background colour and the fade to black (0..1)."""
    meshes: tuple[MeshItem, ...] = ()
    skinned: tuple[SkinnedItem, ...] = ()
    texts: tuple[TextItem, ...] = ()
    clear_color: RGBA = (0.55, 0.65, 0.75, 1.0)
    #: 0 = normal, 1 = fully faded to black; therapy eases it for calm transitions
    #: (never a jump: nothing may flicker in the headset).
    fade: float = 0.0


EMPTY = DrawList()
