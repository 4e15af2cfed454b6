"""Grading settings of the later stages: explicit motor imagery (stage 2), mirror therapy
(stage 3) and graded real movement (stage 4) — plain data stored in the patient's
``Program`` (fields ``imagery``, ``mirror``, ``movement``) and overridden by the therapist
like any other setting (``Program.override(**{"mirror.phase": "healthy"})``).

Every default names its source next to it: ``shared/CLINICAL.md`` or a cited reference, or
says it is a product choice. Distances are metres, times seconds, fractions 0..1.

This module imports nothing from ``program`` (``program`` imports it); invalid values raise
``ProgramError`` all the same, imported when needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gmi_vr.body.pose import LimbMode
from gmi_vr.body.solve import MIN_HAND_SCALE
from gmi_vr.core.errors import ProgramError


class MotorKind(StrEnum):
    """The movement task types of stages 3 and 4 (issue: reach, trace, touch/press, grasp)."""

    REACH = "reach"  # reach to a target in the air (range and height graded)
    TOUCH = "touch"  # press a button on the work surface
    TRACE = "trace"  # follow a path through checkpoints
    GRASP = "grasp"  # pick an object up, carry it, put it down


class MirrorPhase(StrEnum):
    """CLINICAL.md, mirror therapy grading (European Pain Federation CRPS guidance): look at
    the reflection only -> move **both** limbs in sync (the hidden affected limb as far as it
    comfortably can; tracked when the patient holds its controller or hand tracking sees it,
    its distance from the mirror image recorded as the sync error) -> then provocative
    movements, objects and tools, and other contexts (``MIRROR_GRADING``). ``HEALTHY``, the
    healthy limb moving alone while the affected one rests, is the classic mirror-box form
    (Ramachandran) for patients who cannot move the affected limb at all: an option, not the
    EPF's step (the EPF advises against one-limb movement early on)."""

    LOOK = "look"
    BOTH = "both"
    HEALTHY = "healthy"


#: The EPF grading of mirror therapy as program settings, gentlest first (CLINICAL.md): each
#: step names the changes a therapist confirms to move on (``Program.override``). The later
#: steps keep both limbs in sync and grade the movements (complexity 3: across the midline
#: and higher), then objects and tools (trace, grasp), then the context.
MIRROR_GRADING: tuple[tuple[str, dict[str, object]], ...] = (
    ("look at the reflection only", {"mirror.phase": "look"}),
    ("both limbs in sync: large, slow, pain-free", {"mirror.phase": "both", "mirror.grading.complexity": 1,
                                                    "mirror.tasks": ["reach", "touch"]}),
    ("provocative movements", {"mirror.phase": "both", "mirror.grading.complexity": 3}),
    ("objects and tools", {"mirror.phase": "both", "mirror.tasks": ["reach", "touch", "trace", "grasp"]}),
    ("another context", {"mirror.phase": "both", "mirror.context": "kitchen"}),
)


#: Task order from simple to demanding. CLINICAL.md: "large, slow, pain-free movements
#: first; then provocative movements, objects and tools".
MOTOR_ORDER: tuple[MotorKind, ...] = (MotorKind.REACH, MotorKind.TOUCH, MotorKind.TRACE,
                                      MotorKind.GRASP)


@dataclass(frozen=True)
class MotorGrading:
    """How hard one movement block is: range, height, speed, repetitions and complexity
    (CLINICAL.md's grading: "large, slow, pain-free movements first", then more).

    ``range_fraction`` scales every target's distance from the hand's start position: in
    mirror therapy a fraction of the healthy arm's typical reach, in graded movement a
    fraction of the affected limb's measured active range of motion.
    """

    #: Product choice: a comfortable mid range. 0.4 because the workspace is still placed from
    #: typical offsets, not from the calibrated arm: on Monado, with the default seated
    #: 1.70 m body, every direction was reached at 0.4 while 0.6 left the displayed hand up
    #: to 6 cm short straight ahead (tests/xr/test_mirror_xr.py drives this path).
    range_fraction: float = 0.4
    #: Target height above the work surface (reach tasks); touch buttons lie on it.
    height_m: float = 0.10
    #: Suggested duration of one movement, shown by a pacing guide. CLINICAL.md: "slow" first;
    #: 3 s for a 0.2-0.3 m reach is several times a natural reach's duration (product choice).
    pace_s: float = 3.0
    #: Product choice: 8 repetitions per task keep a 4-task block near 5 minutes, inside the
    #: 5-10 minute sessions of CLINICAL.md.
    repetitions: int = 8
    #: 1: one direction / straight path / nearby object; 2: several directions / an arc /
    #: a farther place; 3: across the midline and higher / a zigzag / a raised place.
    #: CLINICAL.md: simple before complex ("then provocative movements, objects and tools").
    complexity: int = 1
    #: Target sphere radius. Product choice: about a hand's half-width, so hitting it is easy.
    target_radius_m: float = 0.05
    #: Time the hand must rest inside a target to complete it (against fly-through hits).
    dwell_s: float = 0.25
    #: A repetition not completed within this is recorded as timed out. Product choice.
    time_limit_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0.1 <= self.range_fraction <= 1.0:
            raise ProgramError("The range fraction must be between 0.1 and 1 of the reachable range.")
        if not 0.0 <= self.height_m <= 0.6:
            raise ProgramError("Target height must be between 0 and 0.6 m above the work surface.")
        if not 0.5 <= self.pace_s <= 20.0:
            raise ProgramError("The movement pace must be between 0.5 s and 20 s.")
        if not 1 <= self.repetitions <= 100:
            raise ProgramError("A movement task needs 1 to 100 repetitions.")
        if self.complexity not in (1, 2, 3):
            raise ProgramError("Complexity is 1, 2 or 3.")
        if not 0.02 <= self.target_radius_m <= 0.2:
            raise ProgramError("The target radius must be between 0.02 m and 0.2 m.")
        if not 0.0 <= self.dwell_s <= 3.0 or self.time_limit_s <= 0:
            raise ProgramError("Dwell must be 0-3 s and the repetition time limit positive.")


@dataclass(frozen=True)
class ImagerySettings:
    """Stage 2, explicit motor imagery: demonstrations to watch, then imagine."""

    #: Movement names from ``movements.LIBRARY``; empty = the library of the program's body
    #: part up to ``max_level``.
    movements: tuple[str, ...] = ()
    #: Library level 1 (easy, distant from the painful part) to 3 (provocative). CLINICAL.md:
    #: pain-free first; "If imagining the hand provokes pain, start with a more distant body
    #: part". Start with the easy movements only.
    max_level: int = 1
    #: Imagined repetitions per movement in a block. Product choice (about 3 minutes a block).
    repetitions: int = 3
    #: An imagined movement not ended within this many times its demonstration is voided as
    #: forgotten. Product choice.
    time_limit_factor: float = 6.0
    #: Vividness 1-5 after each block (issue 6; 5-point scales as in the Kinesthetic and
    #: Visual Imagery Questionnaire, Malouin et al. 2007).
    rate_vividness: bool = True
    #: Pain NRS after each block (issue 6); it passes the session's pain-flare rule.
    rate_pain: bool = True
    #: Scene context (``contexts.CONTEXTS``). CLINICAL.md: varying the context is a grading step.
    context: str = "clinic"

    def __post_init__(self) -> None:
        if self.max_level not in (1, 2, 3):
            raise ProgramError("The imagery level is 1 (easy), 2 or 3 (provocative).")
        if not 1 <= self.repetitions <= 50:
            raise ProgramError("Imagery needs 1 to 50 repetitions per movement.")
        if self.time_limit_factor < 1.5:
            raise ProgramError("The imagery time limit must be at least 1.5 times the demonstration.")


@dataclass(frozen=True)
class MirrorSettings:
    """Stage 3, mirror therapy: the affected limb shown as the reflection of the healthy one."""

    #: CLINICAL.md (EPF): "look at the reflection only" first, then both limbs in sync
    #: (``MIRROR_GRADING``); "healthy" only for patients who cannot move the affected limb.
    phase: MirrorPhase = MirrorPhase.LOOK
    #: Look-only block length. CLINICAL.md: sessions of 5-10 minutes; product choice: 1 minute.
    look_s: float = 60.0
    #: Task types in order (``MOTOR_ORDER``: simple first, objects last, CLINICAL.md).
    tasks: tuple[MotorKind, ...] = (MotorKind.REACH, MotorKind.TOUCH)
    grading: MotorGrading = field(default_factory=MotorGrading)
    #: Scene context. CLINICAL.md: "then vary the context (place, posture, ...)".
    context: str = "clinic"
    #: Size of the displayed affected hand, 0.7-1.0, never larger (``body.BodySettings.
    #: affected_hand_scale``). CLINICAL.md: minified views reduced movement-evoked pain and
    #: swelling, magnified ones raised them most (Moseley, Parsons & Spence 2008); "never
    #: enlarge it by default": the real size until the therapist chooses smaller.
    displayed_hand_scale: float = 1.0

    def __post_init__(self) -> None:
        if not MIN_HAND_SCALE <= self.displayed_hand_scale <= 1.0:
            raise ProgramError(f"The displayed hand size is between {MIN_HAND_SCALE} and 1.0 (never enlarged).")
        if self.look_s <= 0:
            raise ProgramError("The look-only time must be positive seconds.")
        if self.phase is not MirrorPhase.LOOK and not self.tasks:
            raise ProgramError("Name at least one mirror task (reach, touch, trace or grasp).")


#: The blocks of a session by stage number (``program.Stage``: 2 explicit imagery, 3 mirror
#: therapy, 4 graded movement) when the therapist has not chosen them
#: (``program.default_blocks``). CLINICAL.md: sessions of 5-10 minutes; "re-check laterality
#: under stress" (a laterality block opens stages 2 and 3); stage 4 measures the range first.
STAGE_BLOCKS: dict[int, tuple[str, ...]] = {
    2: ("laterality", "imagery"),
    3: ("laterality", "mirror"),
    4: ("graded_movement",),
}


#: Directions the active range of motion is measured in, relative to the affected side.
ROM_DIRECTIONS: tuple[str, ...] = ("forward", "up", "outward", "across")


@dataclass(frozen=True)
class MovementSettings:
    """Graded real movement: the affected limb moves by its own tracking, within a fraction
    of its active range of motion measured at the start of each session."""

    tasks: tuple[MotorKind, ...] = (MotorKind.REACH, MotorKind.TOUCH)
    #: ``grading.range_fraction`` is the therapist-set fraction of the measured range.
    #: Product choice: start at half of it (CLINICAL.md: pain-free movements first).
    grading: MotorGrading = field(default_factory=lambda: MotorGrading(range_fraction=0.5))
    #: After a session with no flare the range fraction may widen by this (proposed by
    #: ``next_range_fraction``, confirmed by the therapist). Product choice: small steps.
    range_step: float = 0.05
    #: 0 = the affected limb shows the mirrored healthy limb, 1 = its own movement; between
    #: fades from mirrored to real (body mode BLEND). Product choice: real movement.
    blend: float = 1.0
    rom_directions: tuple[str, ...] = ROM_DIRECTIONS
    #: Per direction, the patient says "as far as is comfortable" with a button; after this
    #: the largest excursion so far is kept. Product choice.
    rom_time_limit_s: float = 20.0
    context: str = "clinic"

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ProgramError("Name at least one movement task (reach, touch, trace or grasp).")
        if not 0.0 <= self.range_step <= 0.3:
            raise ProgramError("The range step must be between 0 and 0.3 of the range per session.")
        if not 0.0 <= self.blend <= 1.0:
            raise ProgramError("The blend is between 0 (mirrored) and 1 (real movement).")
        unknown = set(self.rom_directions) - set(ROM_DIRECTIONS)
        if unknown or not self.rom_directions:
            raise ProgramError(f"Range-of-motion directions are some of {', '.join(ROM_DIRECTIONS)}.")
        if self.rom_time_limit_s <= 0:
            raise ProgramError("The range-of-motion time limit must be positive seconds.")

    @property
    def limb_mode(self) -> LimbMode:
        """REAL when the blend is complete (1.0), else BLEND of the mirrored and real limb."""
        return LimbMode.REAL if self.blend >= 1.0 else LimbMode.BLEND


def next_range_fraction(settings: MovementSettings, flare: bool, completed: bool) -> float:
    """The range fraction to propose for the next session: one ``range_step`` wider after a
    completed session without a pain flare, one step back after a flare, else unchanged
    (CLINICAL.md: graded, pain-free; "go back ... when pain flares"). The therapist confirms
    it through ``Program.override`` like every progression proposal."""
    fraction = settings.grading.range_fraction
    if flare:
        fraction -= settings.range_step
    elif completed:
        fraction += settings.range_step
    return round(min(1.0, max(0.1, fraction)), 4)
