"""Choosing by pointing with one hand: a pointer on a panel of choices, a choice taken by a
pinch (or trigger) while pointing at it, or by resting on it for a set time (dwell).

For patients who answer with one tracked hand and no controller (``Program.hands``):

- **the pointer** is where the line from the eye through the hand (its grip pose: the palm
  centre for a tracked hand) meets the panel the choices lie on. Moving the hand a few
  centimetres left or right moves the pointer over the choices; no finger posture is
  needed, only a hand held in front of the body.
- **dwell** (``DwellTimer``): resting the pointer on one choice for ``dwell_s`` takes it.
  The pointer enters a choice within its radius and leaves it only beyond
  ``EXIT_FACTOR`` times the radius (hysteresis: a pointer trembling on a choice's edge
  neither restarts the timer nor flickers between two choices). After a choice is taken
  the pointer must leave it before it can be taken again.
- the time filling is shown as a ring around the choice (``dwell_ring``), its segments
  only ever added while the pointer rests there, so it never flickers.

Pure logic: positions in metres in the reference space, times in seconds on the frame clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import HAND_TRACKING_PROFILE, FloatArray, HandInput, Pose, TrackingFrame
from gmi_vr.scene.draw import RGBA, MeshItem

#: The pointer leaves a choice only beyond this multiple of its radius. Product choice:
#: room for a resting hand's tremor (a few millimetres at the hand, about a centimetre on
#: a panel twice as far away) without letting two neighbouring choices overlap.
EXIT_FACTOR = 1.35
#: Segments of the dwell ring: enough to read as a smooth fill over a second and a half.
RING_SEGMENTS = 24

_RING_EMPTY: RGBA = (0.75, 0.77, 0.8, 1.0)
_RING_FULL: RGBA = (0.35, 0.7, 0.45, 1.0)
_POINTER_COLOR: RGBA = (0.98, 0.82, 0.35, 1.0)


@dataclass(frozen=True)
class Choice:
    """One thing that can be pointed at: ``name`` (what it answers), ``world_from_choice``
    (4, 4) its centre on the panel facing the patient (``stimuli.place_in_front``),
    ``radius_m`` how near the pointer must come."""

    name: str
    world_from_choice: FloatArray
    radius_m: float

    @property
    def centre(self) -> FloatArray:
        """(3,) the choice's centre in the reference space, metres."""
        return np.asarray(self.world_from_choice[:3, 3], dtype=np.float64)


def pointer_on_panel(eye: FloatArray, hand: FloatArray, world_from_panel: FloatArray) -> FloatArray | None:
    """(3,) where the line from ``eye`` through ``hand`` (both (3,) metres) meets the panel
    (the plane of ``world_from_panel``'s X and Y axes), or None when the hand does not point
    at it (line parallel to the panel, or the panel behind the eye)."""
    normal = np.asarray(world_from_panel[:3, 2], dtype=np.float64)
    origin = np.asarray(world_from_panel[:3, 3], dtype=np.float64)
    direction = np.asarray(hand, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    along = float(direction @ normal)
    if abs(along) < 1e-9 or float(np.linalg.norm(direction)) < 1e-6:
        return None
    t = float((origin - eye) @ normal) / along
    if t <= 0.0:
        return None
    return np.asarray(eye + t * direction, dtype=np.float64)


def hand_pointer(frame: TrackingFrame, hand: HandInput, anchor: Pose,
                 world_from_panel: FloatArray) -> FloatArray | None:
    """(3,) the pointer of ``hand`` on the panel, from the tracked head (the calibrated
    ``anchor`` when the head is not tracked); None when the hand's pose is not valid."""
    if not hand.grip_valid:
        return None
    eye = frame.head.position if frame.head_valid else anchor.position
    return pointer_on_panel(np.asarray(eye), np.asarray(hand.grip.position), world_from_panel)


def input_used(hand: HandInput, name: str) -> str:
    """What the patient did to make ``name`` (a ``HandInput`` boolean field) true: "pinch"
    for a hand tracked without a controller (its ``trigger_click`` is thumb to index),
    "trigger" for a controller's trigger, else the button's field name ("primary", ...)."""
    if name == "trigger_click":
        return "pinch" if hand.profile == HAND_TRACKING_PROFILE else "trigger"
    return name


def pointed_choice(point: FloatArray | None, choices: tuple[Choice, ...], current: str | None) -> str | None:
    """The name of the choice ``point`` rests on, with hysteresis: ``current`` (the choice
    it rested on last frame) is kept while the point stays within ``EXIT_FACTOR`` times its
    radius; another is entered only within its own radius (the nearest, if several)."""
    if point is None:
        return None
    by_name = {c.name: c for c in choices}
    if current in by_name:
        kept = by_name[current]
        if float(np.linalg.norm(point - kept.centre)) <= kept.radius_m * EXIT_FACTOR:
            return current
    inside = [(float(np.linalg.norm(point - c.centre)), c.name) for c in choices
              if float(np.linalg.norm(point - c.centre)) <= c.radius_m]
    return min(inside)[1] if inside else None


@dataclass(frozen=True)
class DwellState:
    """One frame of a ``DwellTimer``: the choice pointed at (None: none), how far its dwell
    has filled (0..1), and the choice taken this frame (None: none)."""

    pointed: str | None
    progress: float
    taken: str | None


class DwellTimer:
    """Resting on a choice for ``dwell_s`` seconds takes it (see the module docstring).
    ``dwell_s`` None: no dwell (pointing only shows where the pointer is)."""

    def __init__(self, dwell_s: float | None) -> None:
        self.dwell_s = dwell_s
        self._pointed: str | None = None
        self._since: float | None = None
        self._taken = False

    def reset(self) -> None:
        """Forget the choice pointed at: the next dwell starts from the next frame's pointer."""
        self._pointed, self._since, self._taken = None, None, False

    def update(self, point: FloatArray | None, choices: tuple[Choice, ...], time_s: float,
               not_before_s: float | None = None) -> DwellState:
        """Advance to ``time_s`` with the pointer at ``point`` ((3,) or None). A dwell counts
        from when the pointer came to rest, but not from before ``not_before_s`` (a picture
        must be seen before it is answered)."""
        pointed = pointed_choice(point, choices, self._pointed)
        if pointed != self._pointed:
            self._pointed, self._since, self._taken = pointed, time_s, False
        if pointed is None or self._since is None or self.dwell_s is None:
            return DwellState(pointed, 0.0, None)
        start = self._since if not_before_s is None else max(self._since, not_before_s)
        progress = min(1.0, max(0.0, (time_s - start) / self.dwell_s))
        if self._taken:
            return DwellState(pointed, 1.0, None)
        if time_s - start >= self.dwell_s - 1e-9:
            self._taken = True
            return DwellState(pointed, 1.0, pointed)
        return DwellState(pointed, progress, None)


def dwell_ring(choice: Choice, progress: float) -> tuple[MeshItem, ...]:
    """A ring of ``RING_SEGMENTS`` short bars around ``choice``, the first ``progress``
    (0..1) of them, clockwise from the top, filled: the dwell's time shown as it fills.
    Every segment is always drawn (empty or full), so the ring's shape never changes."""
    filled = int(np.floor(progress * RING_SEGMENTS + 1e-9))
    radius = choice.radius_m * 1.1
    length = 2 * np.pi * radius / RING_SEGMENTS * 0.8
    items: list[MeshItem] = []
    for k in range(RING_SEGMENTS):
        angle = np.pi / 2 - (k + 0.5) * 2 * np.pi / RING_SEGMENTS  # clockwise from 12 o'clock
        local = np.eye(4)
        c, s = np.cos(angle), np.sin(angle)
        # a bar along the circle's tangent: rotate the box's X axis to (-sin, cos)
        local[:3, :3] = np.array([[-s, -c, 0.0], [c, -s, 0.0], [0.0, 0.0, 1.0]])
        local[:3, 3] = (radius * c, radius * s, 0.004)
        scale = np.diag([length, 0.008, 0.004, 1.0])
        items.append(MeshItem("box", choice.world_from_choice @ local @ scale,
                              _RING_FULL if k < filled else _RING_EMPTY, lit=False))
    return tuple(items)


def pointer_mark(world_from_panel: FloatArray, point: FloatArray) -> MeshItem:
    """A small dot at ``point`` on the panel: where the hand points."""
    where = np.array(world_from_panel, dtype=np.float64)
    where[:3, 3] = point + where[:3, 2] * 0.008  # just in front of the panel
    return MeshItem("sphere", where @ np.diag([0.018, 0.018, 0.018, 1.0]), _POINTER_COLOR, lit=False)
