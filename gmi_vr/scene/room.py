"""The calm clinic room the patient sits in, and the controllers drawn at their grip poses.

Plain data only: both builders return MeshItems (unit primitives placed by 4x4
``world_from_mesh`` matrices, see ``gmi_vr.assets.meshes`` for the primitive sizes).

Layout in the reference space (OpenXR: +Y up, -Z forward, metres, floor at y = 0): the
patient sits on a chair at the origin facing -Z, with a table in front at seated working
height; the room is 6 m wide, 6 m deep and 2.8 m high, with a window on the front wall.
Colours are soft and low in contrast (sRGB): nothing in a room for people in pain should
glare or flicker.
"""

from __future__ import annotations

import functools

import numpy as np

from gmi_vr.core.types import FloatArray, HandInput, Side, TrackingFrame
from gmi_vr.geometry import matrix_from_pose, quat_from_axis_angle, quat_to_matrix
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem, group_static

#: Table top height above the floor, metres: a common fixed table height at which a seated
#: adult rests forearms with the elbows near 90 degrees.
TABLE_HEIGHT_M = 0.72
#: Table top width (x) and depth (z), metres; its near edge is TABLE_NEAR_EDGE_M in front
#: of the patient's eyes (negative z), within easy forearm reach.
TABLE_SIZE_M = (1.3, 0.75)
TABLE_NEAR_EDGE_M = -0.22
CHAIR_SEAT_HEIGHT_M = 0.46
ROOM_HALF_WIDTH_M = 3.0
ROOM_FRONT_Z_M = -3.6
ROOM_BACK_Z_M = 2.4
ROOM_HEIGHT_M = 2.8

FLOOR_COLOR: RGBA = (0.66, 0.58, 0.50, 1.0)  # light oak
RUG_COLOR: RGBA = (0.56, 0.64, 0.62, 1.0)  # muted sage
WALL_COLOR: RGBA = (0.90, 0.88, 0.83, 1.0)  # warm off-white
ACCENT_WALL_COLOR: RGBA = (0.74, 0.81, 0.77, 1.0)  # pale sage, the wall the patient faces
SKIRTING_COLOR: RGBA = (0.95, 0.94, 0.91, 1.0)
CEILING_COLOR: RGBA = (0.86, 0.86, 0.84, 1.0)
WINDOW_VIEW_COLOR: RGBA = (0.80, 0.89, 0.96, 1.0)  # a bright, hazy sky seen through glass
WINDOW_FRAME_COLOR: RGBA = (0.97, 0.97, 0.96, 1.0)
TABLE_COLOR: RGBA = (0.80, 0.68, 0.54, 1.0)  # pale warm wood
TABLE_LEG_COLOR: RGBA = (0.45, 0.40, 0.36, 1.0)
CHAIR_COLOR: RGBA = (0.44, 0.54, 0.64, 1.0)  # soft blue-grey fabric
CHAIR_FRAME_COLOR: RGBA = (0.35, 0.33, 0.32, 1.0)
PLANT_POT_COLOR: RGBA = (0.80, 0.62, 0.50, 1.0)  # terracotta
PLANT_COLOR: RGBA = (0.42, 0.60, 0.40, 1.0)

CONTROLLER_BODY_COLOR: RGBA = (0.24, 0.26, 0.29, 1.0)
CONTROLLER_STICK_COLOR: RGBA = (0.18, 0.19, 0.21, 1.0)
#: Accents tell the hands apart at a glance (left cool, right warm) and light up with input.
CONTROLLER_ACCENT: dict[Side, RGBA] = {
    Side.LEFT: (0.36, 0.62, 0.74, 1.0),
    Side.RIGHT: (0.88, 0.60, 0.40, 1.0),
}
CONTROLLER_PRESSED_COLOR: RGBA = (1.0, 0.93, 0.55, 1.0)


def placed(
    mesh: str,
    centre: tuple[float, float, float],
    size: tuple[float, float, float],
    color: RGBA,
    rotation: FloatArray | None = None,
    lit: bool = True,
) -> MeshItem:
    """A unit primitive scaled to ``size`` (metres, its own x, y, z), rotated by the 3x3
    ``rotation`` (identity if None) and centred at ``centre`` (world, metres)."""
    world_from_mesh = np.eye(4)
    turn = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
    world_from_mesh[:3, :3] = turn @ np.diag(size)
    world_from_mesh[:3, 3] = centre
    return MeshItem(mesh, world_from_mesh, color, lit)


def _rotation(axis: tuple[float, float, float], degrees: float) -> FloatArray:
    return quat_to_matrix(quat_from_axis_angle(np.array(axis), np.radians(degrees)))


def _wall(centre: tuple[float, float, float], width: float, height: float, facing_deg: float,
          color: RGBA, lit: bool = True) -> MeshItem:
    """A wall plane facing inward: the +Y of the unit plane turned to horizontal, then yawed.

    ``facing_deg`` 0 faces +Z (the front wall), 180 faces -Z, 90 faces +X, -90 faces -X.
    """
    stand_up = _rotation((1, 0, 0), 90)  # plane normal +Y -> +Z
    turn = _rotation((0, 1, 0), facing_deg) @ stand_up
    return placed("plane", centre, (width, 1.0, height), color, turn, lit)


def clinic_room(table_height_m: float = TABLE_HEIGHT_M) -> tuple[MeshItem, ...]:
    """Every static item of the room: floor, rug, walls, ceiling, window, table, chair, plant."""
    w, h = ROOM_HALF_WIDTH_M, ROOM_HEIGHT_M
    front, back = ROOM_FRONT_Z_M, ROOM_BACK_Z_M
    depth = back - front
    mid_z = (front + back) / 2
    items = [
        placed("plane", (0.0, 0.0, mid_z), (2 * w, 1.0, depth), FLOOR_COLOR),
        placed("box", (0.0, 0.003, -0.35), (2.4, 0.006, 1.8), RUG_COLOR),
        # Unlit: a real ceiling is lit by light bounced off the floor, which this lighting lacks.
        placed("plane", (0.0, h, mid_z), (2 * w, 1.0, depth), CEILING_COLOR, _rotation((1, 0, 0), 180),
               lit=False),
        _wall((0.0, h / 2, front), 2 * w, h, 0, ACCENT_WALL_COLOR),
        _wall((0.0, h / 2, back), 2 * w, h, 180, WALL_COLOR),
        _wall((-w, h / 2, mid_z), depth, h, 90, WALL_COLOR),
        _wall((w, h / 2, mid_z), depth, h, -90, WALL_COLOR),
        # Skirting boards soften the wall-floor edge.
        placed("box", (0.0, 0.05, front + 0.01), (2 * w, 0.1, 0.02), SKIRTING_COLOR),
        placed("box", (0.0, 0.05, back - 0.01), (2 * w, 0.1, 0.02), SKIRTING_COLOR),
        placed("box", (-w + 0.01, 0.05, mid_z), (0.02, 0.1, depth), SKIRTING_COLOR),
        placed("box", (w - 0.01, 0.05, mid_z), (0.02, 0.1, depth), SKIRTING_COLOR),
    ]
    # A wide window on the front wall, slightly left of centre, at a calm eye level.
    window_centre_x, window_centre_y, window_w, window_h = -0.6, 1.55, 1.8, 1.1
    # The view through the glass is unlit: daylight, not a surface lit by the room.
    items.append(_wall((window_centre_x, window_centre_y, front + 0.015), window_w, window_h, 0,
                       WINDOW_VIEW_COLOR, lit=False))
    frame_depth, bar = 0.05, 0.06
    for dx in (-window_w / 2, 0.0, window_w / 2):
        items.append(placed("box", (window_centre_x + dx, window_centre_y, front + 0.02),
                            (bar, window_h + bar, frame_depth), WINDOW_FRAME_COLOR))
    for dy in (-window_h / 2, window_h / 2):
        items.append(placed("box", (window_centre_x, window_centre_y + dy, front + 0.02),
                            (window_w + bar, bar, frame_depth), WINDOW_FRAME_COLOR))
    items += table(table_height_m)
    items += chair()
    items += plant((2.35, 0.0, -2.9))
    # Soft contact shadows keep the furniture standing on the floor instead of floating.
    items += contact_shadow((0.0, TABLE_NEAR_EDGE_M - TABLE_SIZE_M[1] / 2), (TABLE_SIZE_M[0] + 0.3, TABLE_SIZE_M[1] + 0.3))
    items += contact_shadow((0.0, 0.12), (0.62, 0.62))
    items += contact_shadow((2.35, -2.9), (0.6, 0.6))
    return tuple(items)


@functools.cache
def clinic_room_groups(table_height_m: float = TABLE_HEIGHT_M) -> tuple[MeshItem, ...]:
    """``clinic_room`` as a few merged groups (``scene.draw.group_static``), built once per
    table height and the same objects ever after, so the renderer merges the room once and
    draws it with a call or two per view instead of one per item. Sessions draw this."""
    return group_static(clinic_room(table_height_m))


#: Opacity of each of the stacked discs of a contact shadow (sRGB black).
SHADOW_LAYER_ALPHA = 0.035
SHADOW_LAYERS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)


def contact_shadow(centre_xz: tuple[float, float], size_xz: tuple[float, float]) -> list[MeshItem]:
    """A soft dark ellipse on the floor: translucent discs, each smaller and stacked, so the
    shadow darkens towards its centre (a cheap stand-in for ambient occlusion)."""
    x, z = centre_xz
    return [
        placed("cylinder", (x, 0.009 + 0.0002 * i, z), (size_xz[0] * k, 0.001, size_xz[1] * k),
               (0.0, 0.0, 0.0, SHADOW_LAYER_ALPHA), lit=False)
        for i, k in enumerate(SHADOW_LAYERS)
    ]


def _four_legs(centre_z: float, size_xz: tuple[float, float], inset_m: float, height_m: float,
               diameter_m: float, color: RGBA) -> list[MeshItem]:  # fmt: skip
    """Four cylindrical legs from the floor up to ``height_m``, under the corners of a top of
    ``size_xz`` (metres) centred on x = 0, z = ``centre_z``, each ``inset_m`` in from both of
    its corner's edges."""
    half_x = size_xz[0] / 2 - inset_m
    half_z = size_xz[1] / 2 - inset_m
    return [
        placed("cylinder", (sx * half_x, height_m / 2, centre_z + sz * half_z), (diameter_m, height_m, diameter_m), color)
        for sx in (-1, 1)
        for sz in (-1, 1)
    ]


def table(height_m: float = TABLE_HEIGHT_M) -> list[MeshItem]:
    """The table in front of the patient: a top whose upper surface is at ``height_m``."""
    width, depth = TABLE_SIZE_M
    top_thickness = 0.035
    centre_z = TABLE_NEAR_EDGE_M - depth / 2
    items = [placed("box", (0.0, height_m - top_thickness / 2, centre_z), (width, top_thickness, depth), TABLE_COLOR)]
    return items + _four_legs(centre_z, (width, depth), 0.07, height_m - top_thickness, 0.045, TABLE_LEG_COLOR)


def chair() -> list[MeshItem]:
    """The patient's chair, seat centred a little behind the eyes (the head leans forward)."""
    seat_z, seat_size = 0.12, 0.46
    seat_thickness = 0.08
    items = [
        placed("box", (0.0, CHAIR_SEAT_HEIGHT_M - seat_thickness / 2, seat_z),
               (seat_size, seat_thickness, seat_size), CHAIR_COLOR),
        placed("box", (0.0, CHAIR_SEAT_HEIGHT_M + 0.27, seat_z + seat_size / 2 - 0.02),
               (seat_size, 0.42, 0.06), CHAIR_COLOR, _rotation((1, 0, 0), -8)),
    ]
    leg_height = CHAIR_SEAT_HEIGHT_M - seat_thickness
    return items + _four_legs(seat_z, (seat_size, seat_size), 0.04, leg_height, 0.035, CHAIR_FRAME_COLOR)


def plant(base: tuple[float, float, float]) -> list[MeshItem]:
    """A potted plant standing on the floor at ``base``: something alive in a corner."""
    x, y, z = base
    return [
        placed("cylinder", (x, y + 0.22, z), (0.36, 0.44, 0.36), PLANT_POT_COLOR),
        placed("sphere", (x, y + 0.78, z), (0.62, 0.78, 0.62), PLANT_COLOR),
        placed("sphere", (x + 0.18, y + 1.08, z + 0.08), (0.38, 0.48, 0.38), PLANT_COLOR),
    ]


def _mix(a: RGBA, b: RGBA, t: float) -> RGBA:
    t = float(np.clip(t, 0.0, 1.0))
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t, 1.0)


def controller_items(frame: TrackingFrame) -> tuple[MeshItem, ...]:
    """A simple controller at each hand's grip pose, only where that pose is valid.

    In OpenXR's grip frame the handle runs along -Z (forward out of the closed fist) and +Y
    is roughly up out of the top of the fist. The model: a handle, a head in front of the
    fist with a thumbstick and a tracking ring in the hand's colour (left cool, right warm),
    a trigger under the index finger that lights up as it is pulled and grip buttons on
    the handle's sides that light up while squeezed.
    """
    items: list[MeshItem] = []
    for side in (Side.LEFT, Side.RIGHT):
        hand = frame.hand(side)
        if hand.grip_valid:
            items += _controller(hand, side)
    return tuple(items)


def _controller(hand: HandInput, side: Side) -> list[MeshItem]:
    world_from_grip = matrix_from_pose(hand.grip)
    accent = CONTROLLER_ACCENT[side]
    body = CONTROLLER_BODY_COLOR
    along_z = _rotation((1, 0, 0), 90)  # cylinder axis Y -> Z
    head_tilt = _rotation((1, 0, 0), 25)  # the head leans back towards the thumb
    parts = [
        # the handle through the fist, rounded at its lower end
        placed("cylinder", (0.0, 0.0, 0.0), (0.034, 0.11, 0.034), body, along_z),
        placed("sphere", (0.0, 0.0, 0.055), (0.034, 0.034, 0.034), body),
        # the head in front of the fist, with the thumbstick on top
        placed("sphere", (0.0, 0.018, -0.062), (0.052, 0.036, 0.064), body, head_tilt),
        placed("cylinder", (0.0, 0.038, -0.066), (0.012, 0.014, 0.012), CONTROLLER_STICK_COLOR, head_tilt),
        # the tracking ring around the head, in the hand's colour
        placed("cylinder", (0.0, 0.024, -0.062), (0.074, 0.008, 0.082), accent, head_tilt),
        # trigger under the index finger, drawn deeper and brighter as it is pulled
        placed("box", (0.0, -0.016, -0.062 + 0.008 * hand.trigger), (0.014, 0.026, 0.016),
               _mix(accent, CONTROLLER_PRESSED_COLOR, hand.trigger), _rotation((1, 0, 0), -20)),
    ]
    # grip buttons on both sides of the handle light up while squeezed
    for x in (-0.0175, 0.0175):
        parts.append(placed("box", (x, 0.0, -0.005), (0.006, 0.02, 0.05),
                            _mix(body, CONTROLLER_PRESSED_COLOR, hand.squeeze)))
    return [MeshItem(p.mesh, world_from_grip @ p.world_from_mesh, p.color, p.lit) for p in parts]


def room_draw_list(frame: TrackingFrame | None, texts: tuple[TextItem, ...] = (),
                   fade: float = 0.0) -> DrawList:
    """The room plus the controllers of ``frame`` (none without a frame), with ``texts``."""
    controllers = controller_items(frame) if frame is not None else ()
    return DrawList(meshes=clinic_room() + controllers, texts=texts, fade=fade,
                    clear_color=(0.80, 0.88, 0.96, 1.0))
