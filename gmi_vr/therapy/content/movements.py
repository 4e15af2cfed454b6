"""The movement library of explicit motor imagery (stage 2): per body part, the movements and
postures a ghost limb demonstrates, ordered from easy to provocative, as plain data.

Order and levels (CLINICAL.md): "large, slow, pain-free movements first; then provocative
movements, objects and tools"; "Start with the shoulder or elbow if the hand cannot be
used"; "If imagining the hand provokes pain, start with a more distant body part". Level 1
moves the limb as a whole, away from the painful part; level 2 moves the painful part
itself; level 3 loads it or adds an object. Durations are those of a slow, deliberate
demonstration (product choice: 2.5-5 s), and become the reference of the imagined-versus-
actual time check.

Keyframes place the demonstrated part (the stimulus mesh of ``stimuli.PARTS``, e.g.
"stimuli/hand_left") in a *demonstration frame*: origin at the part's rest position, +X
towards the patient's right, +Y up, -Z away from the patient (the anchor's axes). A keyframe
is ``(time fraction, offset (x, y, z) m, rotation axis, angle deg)``: the part is turned by
the angle about the axis through ``Movement.pivot`` (a wrist, an ankle, a shoulder) and then
shifted by the offset. Axes and offsets are given for the LEFT side; the right side's are
their reflection across the midline (``Movement.keyframes_for``). The ghost is a rigid mesh:
finger movements are shown by the whole hand until an avatar palette is available.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray, Side
from gmi_vr.geometry import quat_from_axis_angle, quat_to_matrix, rotation_blend
from gmi_vr.therapy.plan.program import BodyPart, ProgramError

Vec3 = tuple[float, float, float]
Keyframe = tuple[float, Vec3, Vec3, float]

_X: Vec3 = (1.0, 0.0, 0.0)
_Y: Vec3 = (0.0, 1.0, 0.0)
_Z: Vec3 = (0.0, 0.0, 1.0)
_O: Vec3 = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Movement:
    """One movement of the imagery library: what it is called and shows, its body part and
    level, and how its demonstration moves the mesh (degrees, metres, seconds)."""
    name: str
    body_part: BodyPart
    level: int  # 1 easy .. 3 provocative
    title: str  # shown in the headset and spoken by the audio cue
    duration_s: float  # one demonstration, start to end
    #: Rest orientation of the mesh in the demonstration frame: axis and angle (deg). Hands
    #: lie palm down with the fingers pointing away; feet stand sole down, toes away.
    rest_axis: Vec3
    rest_angle_deg: float
    pivot: Vec3  # joint the rotations turn about, demonstration frame, metres (left side)
    keyframes: tuple[Keyframe, ...]  # time fractions from 0 to 1, increasing
    posture: bool = False  # a posture to hold (imagined holding), not a movement

    def keyframes_for(self, side: Side) -> tuple[Keyframe, ...]:
        """Keyframes for ``side``: the left side's reflected across the midline for the right
        (x of offsets negated; a rotation's axis becomes (x, -y, -z))."""
        if side is Side.LEFT:
            return self.keyframes
        return tuple((t, (-o[0], o[1], o[2]), (a[0], -a[1], -a[2]), angle)
                     for t, o, a, angle in self.keyframes)

    def demo_from_mesh(self, side: Side, fraction: float) -> FloatArray:
        """4x4 demonstration_from_mesh at time ``fraction`` (0..1) of the demonstration."""
        frames = self.keyframes_for(side)
        times = [k[0] for k in frames]
        fraction = min(1.0, max(0.0, fraction))
        i = max(0, min(len(frames) - 2, int(np.searchsorted(times, fraction, "right")) - 1))
        t0, o0, a0, g0 = frames[i]
        t1, o1, a1, g1 = frames[min(i + 1, len(frames) - 1)]
        w = 0.0 if t1 <= t0 else (fraction - t0) / (t1 - t0)
        w = w * w * (3 - 2 * w)  # eased between keyframes: no jerk at the poses
        turn0 = quat_to_matrix(quat_from_axis_angle(np.array(a0), np.radians(g0)))
        turn1 = quat_to_matrix(quat_from_axis_angle(np.array(a1), np.radians(g1)))
        turn = rotation_blend(turn0, turn1, w)
        offset = (1 - w) * np.array(o0) + w * np.array(o1)
        pivot = np.array(self.pivot) * (np.array([-1.0, 1.0, 1.0]) if side is Side.RIGHT else 1.0)
        rest_axis = np.array(self.rest_axis)
        if side is Side.RIGHT:
            rest_axis = rest_axis * np.array([1.0, -1.0, -1.0])
        rest = quat_to_matrix(quat_from_axis_angle(rest_axis, np.radians(self.rest_angle_deg)))
        m = np.eye(4)
        m[:3, :3] = turn @ rest
        m[:3, 3] = pivot - turn @ pivot + offset
        return m


_HAND_REST = ((1.0, 0.0, 0.0), -90.0)  # palm down, fingers away from the patient
_FOOT_REST = ((1.0, 0.0, 0.0), -90.0)  # sole down, toes away from the patient
_WRIST: Vec3 = (0.0, 0.0, 0.09)  # hand mesh origin is mid-hand; the wrist is nearer the patient
_ANKLE: Vec3 = (0.0, 0.02, 0.08)
_SHOULDER: Vec3 = (0.0, 0.12, 0.0)
_NECK: Vec3 = (0.0, -0.15, 0.0)


def _there_and_back(offset: Vec3, axis: Vec3, angle: float, hold: float = 0.2) -> tuple[Keyframe, ...]:
    """Rest -> the end pose -> held -> back to rest, over the time fractions 0..1."""
    half = (1.0 - hold) / 2
    return ((0.0, _O, axis, 0.0), (half, offset, axis, angle), (half + hold, offset, axis, angle),
            (1.0, _O, axis, 0.0))


def _repeat(offset: Vec3, axis: Vec3, angle: float, count: int) -> tuple[Keyframe, ...]:
    frames: list[Keyframe] = [(0.0, _O, axis, 0.0)]
    for i in range(count):
        frames.append(((2 * i + 1) / (2 * count), offset, axis, angle))
        frames.append(((2 * i + 2) / (2 * count), _O, axis, 0.0))
    return tuple(frames)


def _hand(name: str, level: int, title: str, duration: float, frames: tuple[Keyframe, ...],
          posture: bool = False) -> Movement:
    return Movement(name, BodyPart.HAND, level, title, duration, _HAND_REST[0], _HAND_REST[1],
                    _WRIST, frames, posture)


def _foot(name: str, level: int, title: str, duration: float, frames: tuple[Keyframe, ...],
          posture: bool = False) -> Movement:
    return Movement(name, BodyPart.FOOT, level, title, duration, _FOOT_REST[0], _FOOT_REST[1],
                    _ANKLE, frames, posture)


def _upright(name: str, part: BodyPart, level: int, title: str, duration: float,
             pivot: Vec3, frames: tuple[Keyframe, ...], posture: bool = False) -> Movement:
    return Movement(name, part, level, title, duration, _Y, 0.0, pivot, frames, posture)


#: Every movement, by body part, easy -> provocative (see the module docstring).
LIBRARY: dict[BodyPart, tuple[Movement, ...]] = {
    BodyPart.HAND: (
        _hand("hand_slide_forward", 1, "Slide your hand forward on the table and back", 4.0,
              _there_and_back((0.0, 0.0, -0.25), _X, 0.0)),
        _hand("reach_forward", 1, "Reach forward and up, then back to rest", 4.0,
              _there_and_back((0.0, 0.2, -0.3), _X, 20.0)),
        _hand("wrist_extension", 2, "Lift the back of your hand: bend the wrist up", 3.0,
              _there_and_back(_O, _X, 45.0)),
        _hand("wrist_flexion", 2, "Let your hand bend down at the wrist", 3.0,
              _there_and_back((0.0, 0.06, 0.0), _X, -45.0)),
        _hand("finger_tapping", 2, "Tap your fingers on the table, slowly", 4.0,
              _repeat(_O, _X, 12.0, 4)),
        _hand("hold_fist", 3, "Make a soft fist and hold it", 5.0,
              _there_and_back((0.0, 0.02, 0.02), _X, 30.0, hold=0.5), posture=True),
        _hand("grasp_cup", 3, "Reach for the cup, grasp it and lift it", 5.0,
              _there_and_back((0.0, 0.12, -0.22), _Z, 80.0, hold=0.3)),
    ),
    BodyPart.FOOT: (
        _foot("foot_slide_forward", 1, "Slide your foot forward on the floor and back", 4.0,
              _there_and_back((0.0, 0.0, -0.25), _X, 0.0)),
        _foot("ankle_dorsiflexion", 2, "Pull your toes up towards you", 3.0,
              _there_and_back(_O, _X, 25.0)),
        _foot("ankle_plantarflexion", 2, "Point your toes down", 3.0,
              _there_and_back((0.0, 0.03, 0.0), _X, -30.0)),
        _foot("ankle_circles", 2, "Turn the sole inwards, then outwards", 4.0,
              ((0.0, _O, _Z, 0.0), (0.3, _O, _Z, 20.0), (0.7, _O, _Z, -15.0), (1.0, _O, _Z, 0.0))),
        _foot("toe_curl", 3, "Curl your toes and hold", 4.0,
              _there_and_back(_O, _X, -10.0, hold=0.5), posture=True),
        _foot("stand_on_foot", 3, "Press your foot into the floor as if to stand", 4.0,
              _there_and_back((0.0, -0.01, 0.0), _X, 0.0, hold=0.5), posture=True),
    ),
    BodyPart.SHOULDER: (
        _upright("shoulder_shrug", BodyPart.SHOULDER, 1, "Lift your shoulder up, then let it drop",
                 3.0, _SHOULDER, _there_and_back((0.0, 0.05, 0.0), _Z, 0.0)),
        _upright("shoulder_roll", BodyPart.SHOULDER, 1, "Roll your shoulder slowly backwards", 4.0,
                 _SHOULDER, ((0.0, _O, _X, 0.0), (0.33, (0.0, 0.04, -0.02), _X, 0.0),
                             (0.66, (0.0, 0.03, 0.03), _X, 0.0), (1.0, _O, _X, 0.0))),
        _upright("arm_forward_raise", BodyPart.SHOULDER, 2, "Raise your arm forward to shoulder height",
                 4.0, _SHOULDER, _there_and_back(_O, _X, 45.0)),
        _upright("arm_side_raise", BodyPart.SHOULDER, 2, "Raise your arm out to the side", 4.0,
                 _SHOULDER, _there_and_back(_O, _Z, 40.0)),
        _upright("reach_overhead", BodyPart.SHOULDER, 3, "Reach up above your head", 5.0,
                 _SHOULDER, _there_and_back((0.0, 0.05, 0.0), _X, 80.0)),
    ),
    BodyPart.BACK_NECK: (
        _upright("neck_nod", BodyPart.BACK_NECK, 1, "Nod your head gently", 3.0, _NECK,
                 _there_and_back(_O, _X, -15.0)),
        _upright("neck_turn", BodyPart.BACK_NECK, 2, "Turn your head to look over your shoulder",
                 4.0, _NECK, _there_and_back(_O, _Y, 45.0)),
        _upright("trunk_side_bend", BodyPart.BACK_NECK, 2, "Lean your upper body to the side", 4.0,
                 (0.0, -0.3, 0.0), _there_and_back(_O, _Z, 15.0)),
        _upright("trunk_rotation", BodyPart.BACK_NECK, 3, "Turn your upper body to the side", 5.0,
                 (0.0, -0.3, 0.0), _there_and_back(_O, _Y, 35.0)),
    ),
}


def movement_by_name(name: str) -> Movement:
    """The library's movement called ``name``; ProgramError naming the known ones otherwise."""
    for movements in LIBRARY.values():
        for movement in movements:
            if movement.name == name:
                return movement
    known = ", ".join(m.name for ms in LIBRARY.values() for m in ms)
    raise ProgramError(f"Movement '{name}' is not in the library; use one of {known}.")


def movements_for(part: BodyPart, max_level: int, names: tuple[str, ...] = ()) -> tuple[Movement, ...]:
    """The named movements in the order given, or the body part's library up to
    ``max_level`` (easy first)."""
    if names:
        return tuple(movement_by_name(name) for name in names)
    return tuple(m for m in LIBRARY[part] if m.level <= max_level)
