"""The clinic room and the controller models as plain DrawList data (no GL)."""

from __future__ import annotations

import numpy as np

from gmi_vr.core.types import HandInput, Pose, Side, TrackingFrame
from gmi_vr.geometry import matrix_from_pose, quat_from_axis_angle
from gmi_vr.scene.room import (
    CONTROLLER_ACCENT,
    CONTROLLER_PRESSED_COLOR,
    TABLE_COLOR,
    TABLE_HEIGHT_M,
    clinic_room,
    controller_items,
    room_draw_list,
)


def frame(left: HandInput, right: HandInput) -> TrackingFrame:
    return TrackingFrame(0, 0.0, 0, Pose((0.0, 1.2, 0.0)), True, left, right)


def test_controllers_only_at_valid_grip_poses() -> None:
    pose = Pose((0.1, 0.9, -0.4), quat_from_axis_angle(np.array([0.0, 1.0, 0.0]), 0.7))
    both = controller_items(frame(HandInput(pose, True), HandInput(pose, True)))
    only_right = controller_items(frame(HandInput(pose, False), HandInput(pose, True)))
    none = controller_items(frame(HandInput(pose, False), HandInput(pose, False)))
    assert len(both) == 2 * len(only_right) and len(only_right) > 0 and none == ()


def test_controller_parts_sit_at_the_grip_and_turn_with_it() -> None:
    for turn in (0.0, 1.2):
        grip = Pose((0.3, 0.8, -0.5), quat_from_axis_angle(np.array([0.2, 1.0, 0.1]), turn))
        items = controller_items(frame(HandInput(), HandInput(grip, True)))
        grip_from_items = [np.linalg.inv(matrix_from_pose(grip)) @ item.world_from_mesh for item in items]
        # The handle is centred on the grip origin; every part stays within a hand's size of it.
        np.testing.assert_allclose(grip_from_items[0][:3, 3], 0.0, atol=1e-9)
        assert all(np.linalg.norm(m[:3, 3]) < 0.12 for m in grip_from_items)
        # The same model in grip space whatever the pose.
        if turn == 0.0:
            reference = grip_from_items
        else:
            for a, b in zip(reference, grip_from_items, strict=True):
                np.testing.assert_allclose(a, b, atol=1e-9)


def test_trigger_and_squeeze_light_the_controller_up() -> None:
    def lit_parts(trigger: float, squeeze: float) -> int:
        items = controller_items(frame(HandInput(), HandInput(Pose(), True, trigger=trigger, squeeze=squeeze)))
        assert CONTROLLER_ACCENT[Side.RIGHT] in [i.color for i in items], "the right hand's colour"
        return sum(i.color == CONTROLLER_PRESSED_COLOR for i in items)

    assert lit_parts(0.0, 0.0) == 0
    assert lit_parts(1.0, 0.0) == 1  # the trigger
    assert lit_parts(0.0, 1.0) == 2  # the grip buttons on both sides
    assert lit_parts(1.0, 1.0) == 3
    assert lit_parts(0.5, 0.0) == 0, "half pulled is on its way, not fully lit"


def test_the_table_top_is_at_seated_working_height_in_front_of_the_user() -> None:
    tops = [i for i in clinic_room() if i.color == TABLE_COLOR]
    assert len(tops) == 1
    m = tops[0].world_from_mesh
    top_surface = m[1, 3] + abs(m[1, 1]) / 2
    assert abs(top_surface - TABLE_HEIGHT_M) < 1e-9
    assert m[2, 3] < -0.3 and abs(m[0, 3]) < 1e-9, "centred in front of the seated user (-Z)"
    lower = clinic_room(table_height_m=0.65)
    assert any(abs(i.world_from_mesh[1, 3] + abs(i.world_from_mesh[1, 1]) / 2 - 0.65) < 1e-9
               for i in lower if i.color == TABLE_COLOR)


def test_room_colours_are_soft_and_items_well_formed() -> None:
    scene = room_draw_list(frame(HandInput(Pose(), True), HandInput()))
    for item in scene.meshes:
        assert item.world_from_mesh.shape == (4, 4)
        assert np.all(np.isfinite(item.world_from_mesh))
        assert item.mesh in ("box", "plane", "sphere", "cylinder")
        assert all(0.0 <= c <= 1.0 for c in item.color)
        if item.color[3] == 1.0 and item.lit:
            # Soft: no pure black or fully saturated white surfaces.
            assert 0.2 <= max(item.color[:3]) <= 0.97
    assert len(scene.meshes) == len(clinic_room()) + len(controller_items(frame(HandInput(Pose(), True), HandInput())))
