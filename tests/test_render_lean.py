"""The lean draw paths draw the pictures the renderer drew before them.

``tests/render_scenes.py`` stored two scenes from the renderer as it was (one draw and its
own glUniform calls per item): the demo's room, controllers, text and avatar, and a mix of
everything drawn separately (ghost, translucent, unlit and mirrored items, a text with a
background, a fade), each into an sRGB target and an RGBA8 target holding linear values
(an OpenXR UNORM swapchain). Now every item's data sits in one uniform buffer and the room
may be merged into a few groups.

Tolerances, in 8-bit levels of any channel: items drawn one by one through the uniform
buffers match to 1 level everywhere (the same float32 maths in a different order). The
merged room places its vertices in float64 before the GPU adds the room's own placement,
so an edge pixel may change coverage, and then its colour completely: at most 0.1 % of the
pixels more than 2 levels off (measured with Mesa 22.3 llvmpipe: 2 pixels of 76,800, 4
levels at most; with Mesa 25 in the XR sandbox: 1 pixel).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image
from render_scenes import REFERENCE_DIR, TARGETS, render, scenes

from gmi_vr.scene.draw import DrawList, MeshItem, group_static
from gmi_vr.scene.room import clinic_room, clinic_room_groups

pytestmark = pytest.mark.gl

SCENES = scenes()
CASES = [(name, kind) for name in SCENES for kind in TARGETS]


def reference(name: str, kind: str) -> np.ndarray:
    return np.asarray(Image.open(REFERENCE_DIR / f"{name}-{kind}.png")).astype(int)


def difference(picture: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per pixel, the largest difference of any channel (RGBA), in levels."""
    return np.abs(picture.astype(int) - expected).max(axis=2)


def with_room_grouped(draw_list: DrawList) -> DrawList:
    """The scene with its room items replaced by the room's merged groups."""
    room = len(clinic_room())
    assert [m.mesh for m in draw_list.meshes[:room]] == [m.mesh for m in clinic_room()]
    return replace(draw_list, meshes=clinic_room_groups() + draw_list.meshes[room:])


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_items_drawn_from_the_uniform_buffers_match_the_stored_picture(renderer: Any, name: str, kind: str) -> None:
    draw_list, camera = SCENES[name]
    assert difference(render(renderer, draw_list, camera, kind), reference(name, kind)).max() <= 1


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_the_merged_room_matches_the_stored_picture(renderer: Any, name: str, kind: str) -> None:
    draw_list, camera = SCENES[name]
    grouped = with_room_grouped(draw_list)
    assert len(grouped.meshes) < len(draw_list.meshes) - 50  # the room is a few groups now
    diff = difference(render(renderer, grouped, camera, kind), reference(name, kind))
    assert (diff > 2).mean() <= 0.001


def test_a_group_is_merged_once_and_drawn_again_from_its_buffer(renderer: Any) -> None:
    draw_list, camera = SCENES["demo"]
    grouped = with_room_grouped(draw_list)
    first = render(renderer, grouped, camera, "srgb")
    cached = dict(renderer._groups)
    again = render(renderer, replace(grouped, meshes=tuple(grouped.meshes)), camera, "srgb")
    assert renderer._groups.keys() == cached.keys()
    assert all(renderer._groups[k][1] is cached[k][1] for k in cached)
    assert difference(again, first).max() == 0


def test_mirrored_parts_keep_their_front_faces_inside_a_group(renderer: Any) -> None:
    """A part with a negative determinant, merged, looks as it does drawn alone."""
    draw_list, camera = SCENES["mixed"]
    sphere = next(m for m in draw_list.meshes if m.mesh == "sphere" and np.linalg.det(m.world_from_mesh[:3, :3]) < 0)
    alone = DrawList(meshes=(sphere,), clear_color=draw_list.clear_color)
    merged = DrawList(meshes=group_static((sphere,)), clear_color=draw_list.clear_color)
    diff = difference(render(renderer, merged, camera, "srgb"), render(renderer, alone, camera, "srgb"))
    assert (diff > 2).mean() <= 0.001


BLUE = (0.0, 0.0, 1.0, 1.0)


def assert_the_last_is_drawn(renderer: Any, camera: Any, everything: DrawList, last_alone: DrawList) -> None:
    """Where ``last_alone`` (the last item of ``everything``, red on blue) draws red, drawing
    ``everything`` draws red too: the last of many items is not dropped."""
    all_drawn = render(renderer, everything, camera, "srgb")
    red = render(renderer, last_alone, camera, "srgb")[:, :, 0] > 200
    assert red.any()
    assert (all_drawn[red, 0] > 200).all()


def test_more_items_than_one_uniform_block_holds_are_all_drawn(renderer: Any) -> None:
    """Beyond MAX_OBJECTS items the renderer binds further windows of its buffer."""
    from gmi_vr.render.renderer import MAX_OBJECTS

    _, camera = SCENES["demo"]
    boxes = []
    for i in range(MAX_OBJECTS * 2 + 5):
        world = np.diag((0.01, 0.01, 0.01, 1.0))
        world[:3, 3] = (-0.3 + 0.6 * (i % 40) / 40, 0.8 + 0.3 * (i // 40) / 7, -0.6)
        boxes.append(MeshItem("box", world, (1.0, 0.0, 0.0, 1.0), lit=False))
    # The last box, from the third window, is there.
    assert_the_last_is_drawn(renderer, camera, DrawList(meshes=tuple(boxes), clear_color=BLUE),
                             DrawList(meshes=(boxes[-1],), clear_color=BLUE))


def test_more_texts_than_one_uniform_block_holds_are_all_drawn(renderer: Any) -> None:
    """Texts sit in their own uniform block; beyond MAX_TEXTS the renderer binds further
    windows of it, so the last of many texts is drawn where it is drawn alone."""
    from gmi_vr.render.renderer import MAX_TEXTS
    from gmi_vr.scene.draw import TextItem

    _, camera = SCENES["demo"]
    texts = []
    for i in range(MAX_TEXTS + 3):
        world = np.eye(4)
        world[:3, 3] = (-0.3 + 0.6 * (i % 20) / 20, 0.7 + 0.4 * (i // 20) / 7, -0.8)
        texts.append(TextItem("o", world, 0.02, (0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 0.0, 1.0)))
    texts[-1] = replace(texts[-1], background=(1.0, 0.0, 0.0, 1.0))
    # The last text, from the second window, is there.
    assert_the_last_is_drawn(renderer, camera, DrawList(texts=tuple(texts), clear_color=BLUE),
                             DrawList(texts=(texts[-1],), clear_color=BLUE))
