"""A patient's therapy program: what to train, how, and when to move on — plain data.

A ``Program`` is stored with the patient as JSON (``to_dict()`` / ``from_dict()``, versioned
by ``format_version``). Every default comes from ``shared/CLINICAL.md`` (or is a product
choice, said so) and names its source next to it; ``DEFAULT_SOURCES`` collects the same
citations by field path so a therapist view can show them. The therapist may change any
setting with ``Program.override(...)``, which returns the new program and an
``OverrideRecord`` (who, why, old and new values) for the audit trail.

Times are seconds, distances metres, accuracies fractions 0..1.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum
from typing import Any

from gmi_vr.body.feedback import FeedbackKind, feedback_problem

# ProgramError lives with the other user-facing errors; it is re-exported here, where its
# settings are, for the modules that import it from the program.
from gmi_vr.core.errors import ProgramError as ProgramError
from gmi_vr.core.types import Side
from gmi_vr.therapy.plan.grading import (
    STAGE_BLOCKS,
    ImagerySettings,
    MirrorSettings,
    MovementSettings,
)
from gmi_vr.therapy.plan.touch_training import TouchSettings

#: Version of the JSON layout written by ``Program.to_dict``. Bump when a field changes meaning
#: or is added: an older document reads with the new field's default, but an older gmi-vr
#: reading a newer document must be able to say so (not "unknown setting"). Version 2: the
#: progression's gap fraction, trial count, time spread and falls. Version 3: the haptics,
#: tracked-hands, touch-training, practice and research (``research``, ``feedback``) settings.
PROGRAM_FORMAT_VERSION = 3

#: Defaults corrected in a format version: a document of an older version that still holds
#: the old default (not set by the therapist) takes the new one when read. Version 2: the
#: left/right gap gate 0.49 s -> 0.19 s or 10 % (CLINICAL.md: 0.49 s is too loose to call two
#: sides equal).
CORRECTED_DEFAULTS: dict[int, tuple[str, ...]] = {2: ("progression.rt_gap_max_s",)}


class BodyPart(StrEnum):
    """The affected body part, which is also the default laterality stimulus."""

    HAND = "hand"  # hand / arm
    FOOT = "foot"  # foot / leg
    SHOULDER = "shoulder"
    BACK_NECK = "back_neck"


class Stage(IntEnum):
    """The GMI stages in their order (Moseley 2005: the order matters), then graded movement."""

    LATERALITY = 1  # implicit motor imagery: left/right judgement
    EXPLICIT_IMAGERY = 2
    MIRROR_THERAPY = 3
    GRADED_MOVEMENT = 4


#: Boolean controller inputs a patient may answer with (fields of ``core.types.HandInput``).
#: The menu button is the stop and the thumbstick click asks for a pain rating, so neither
#: may answer.
ANSWER_BUTTONS = ("trigger_click", "primary", "secondary")
#: How laterality answers are given (``AnswerMapping``).
ANSWER_MODES = ("two_hands", "one_hand", "point")


@dataclass(frozen=True)
class AnswerMapping:
    """How the patient says "left" or "right" in the laterality task.

    ``two_hands``: the left controller's trigger answers left, the right's answers right.
    ``one_hand``: two buttons of the ``hand`` controller; ``left_button`` answers left,
    ``right_button`` answers right.
    ``point``: the ``hand`` alone (a tracked hand without a controller, or a controller)
    points at a "Left" or a "Right" target beside the picture (the hand held left or right
    of centre) and answers by a pinch or trigger there, or by resting on it when
    ``Program.hands.confirm`` is "dwell" (``therapy.tasks.pointing``). For a patient who can use
    one hand only, in hands-only sessions. Either way the therapist can answer by key.
    """

    mode: str = "two_hands"
    hand: Side = Side.RIGHT
    left_button: str = "primary"
    right_button: str = "secondary"

    def __post_init__(self) -> None:
        if self.mode not in ANSWER_MODES:
            raise ProgramError(
                f"Answer mode '{self.mode}' is unknown; use 'two_hands', 'one_hand' or 'point'."
            )
        for button in (self.left_button, self.right_button):
            if button not in ANSWER_BUTTONS:
                raise ProgramError(
                    f"Answer button '{button}' cannot be used; pick one of {', '.join(ANSWER_BUTTONS)}."
                )
        if self.mode == "one_hand" and self.left_button == self.right_button:
            raise ProgramError("One-handed answers need two different buttons for left and right.")


@dataclass(frozen=True)
class LateralitySettings:
    """Stage-1 left/right judgement blocks. Balanced design: every combination of body part,
    side, rotation, view and context appears equally often in each block, so
    ``trials_per_block`` must be a multiple of the number of combinations."""

    #: Body parts shown; empty = the program's affected body part. CLINICAL.md: "If imagining
    #: the hand provokes pain, start with a more distant body part (foot, shoulder)".
    body_parts: tuple[BodyPart, ...] = ()
    #: Picture-plane rotations, degrees counter-clockwise as the patient sees them. CLINICAL.md:
    #: pictures "in varied rotations"; RT by angle shows whether motor imagery is used.
    rotations_deg: tuple[int, ...] = (0, 90, 180, 270)
    #: Views by name ("back"/"palm" for hands, "top"/"sole" for feet; see ``stimuli.PARTS``);
    #: empty = every view the body part has. CLINICAL.md: "varied rotations and views".
    views: tuple[str, ...] = ()
    #: Contexts ("none" or a prop such as "cup": holding an object). Product choice: plain.
    contexts: tuple[str, ...] = ("none",)
    #: Product choice: 2 of each of 16 hand combinations (a multiple of 32 as well, for two
    #: body parts), about 2 minutes; stage 1's three blocks give 48 per side
    #: (``default_blocks``; CLINICAL.md: the norm studies used 40 images per side or more).
    trials_per_block: int = 32
    #: Per-trial limit; a timeout is recorded as no answer. NOI skip rule: "90 % accuracy in
    #: 3-4 s"; 5 s leaves room above that. None = no limit.
    time_limit_s: float | None = 5.0
    #: Brief calm green/red cue after each answer. Product choice, therapist can turn it off.
    feedback: bool = True
    feedback_s: float = 0.6  # product choice: long enough to read, short enough to keep pace
    #: Fixation / blank between trials. Product choice (common in laterality tests).
    inter_trial_s: float = 0.8
    #: Stimulus distance ahead of the calibrated head and drop below eye level. Product choice:
    #: within arm's reach, slightly below the eyes for a comfortable seated gaze.
    distance_m: float = 0.6
    drop_m: float = 0.15
    #: Draw right stimuli as the left mesh reflected (negative-determinant scale) instead of
    #: the right mesh: guarantees the two sides differ only by handedness.
    mirrored_stimuli: bool = False
    answer: AnswerMapping = field(default_factory=AnswerMapping)

    def __post_init__(self) -> None:
        if not self.rotations_deg:
            raise ProgramError("Give at least one stimulus rotation (for example 0).")
        if not self.contexts:
            raise ProgramError("Give at least one stimulus context (for example 'none').")
        if self.trials_per_block < 1:
            raise ProgramError("A laterality block needs at least one trial.")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ProgramError("The trial time limit must be positive, or empty for none.")
        if self.feedback_s < 0 or self.inter_trial_s < 0:
            raise ProgramError("Feedback and pause durations cannot be negative.")
        if not 0.2 <= self.distance_m <= 2.0:
            raise ProgramError("Show the stimulus between 0.2 m and 2 m ahead of the patient.")


@dataclass(frozen=True)
class SessionPlan:
    """One session: a pain rating, the task blocks in order, a pain rating.

    ``blocks`` names task kinds ("laterality", ...); each kind reads its settings from the
    program. Empty = the default blocks for the program's stage (``default_blocks``).
    """

    blocks: tuple[str, ...] = ()
    #: CLINICAL.md: pain (NRS 0-10) "before and after each session".
    rating_at_start: bool = True
    rating_at_end: bool = True


#: The blocks a visual-feedback condition may be set for: mirror and movement practice.
FEEDBACK_BLOCKS = ("mirror", "graded_movement")
#: The program's research settings (top-level names): only a researcher or an admin changes
#: them where the store has accounts (``app.accounts``).
RESEARCH_SETTINGS = ("research", "feedback")


@dataclass(frozen=True)
class BlockFeedback:
    """A study's visual-feedback condition for one block (research programs only; what each
    does: ``body.feedback``). ``block`` counts the session's blocks from 1, as
    ``gmi-vr patients show`` lists them; ``feedback`` is "mirror" (the live picture),
    "delayed", "sham" or "hidden"; ``feedback_delay_ms`` the added delay, 0-1000 ms, for
    "delayed" only. The block's recorded params carry the same two keys."""

    block: int
    feedback: str = FeedbackKind.MIRROR.value
    feedback_delay_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.block < 1:
            raise ProgramError(f"Block {self.block} does not exist; count blocks from 1, as 'gmi-vr patients show' lists them.")
        problem = feedback_problem(self.feedback, self.feedback_delay_ms)
        if problem is not None:
            raise ProgramError(problem)

    def params(self) -> dict[str, object]:
        """The block params' keys for this condition."""
        return {"feedback": self.feedback, "feedback_delay_ms": self.feedback_delay_ms}


@dataclass(frozen=True)
class SafetySettings:
    """The session's safety rules: the time cap, breaks and rating intervals in seconds, the
    pain-flare rule in NRS points (and as a fraction), the pain ceiling, and which questions
    are asked (each default cites CLINICAL.md)."""
    #: CLINICAL.md (European Pain Federation CRPS guidance): "Sessions of 5-10 minutes";
    #: safety: "session time is capped". Upper bound of the guidance.
    session_cap_s: float = 600.0
    #: CLINICAL.md safety: "breaks are offered". Product choice: halfway through a full session.
    break_every_s: float = 300.0
    #: Pain-flare rule (CLINICAL.md "Pain ratings and flares"): a rating ``flare_rise`` points
    #: or ``flare_rise_fraction`` or more above the session's first, or at ``pain_ceiling``.
    #: 2 points or 30 % is the change patients call meaningful (Farrar et al. 2001, Pain
    #: 94:149): a study of improvement; using it for worsening is our extrapolation.
    flare_rise: int = 2
    flare_rise_fraction: float = 0.30
    #: The patient's own ceiling: any rating at or above it is a flare (a patient who starts
    #: at 9 cannot rise 2). CLINICAL.md; default the scale's top, 10, for the therapist to lower.
    pain_ceiling: int = 10
    #: During mirror and movement blocks a pain rating is asked this often (focused time).
    #: CLINICAL.md: "ask for a rating at set intervals (for example every 2-3 minutes)";
    #: the upper end, so a 5-10 minute session is not mostly ratings. 0 = never.
    rating_every_s: float = 180.0
    #: Start of each session: "pain and swelling since last time" (CLINICAL.md: movement can
    #: provoke pain and swelling that show the next day, Moseley, Parsons & Spence 2008).
    ask_since_last: bool = True
    #: Cybersickness: the Fast Motion Sickness Scale (0-20) asked this often in the headset
    #: (CLINICAL.md: every minute, Keshavarz & Hecht 2011). 0 = never.
    fms_every_s: float = 60.0
    #: An FMS rating at or above this stops movement like a pain flare. Product choice:
    #: CLINICAL.md gives no cut-off; the scale runs from 0 (no sickness) to 20 (frank
    #: sickness), and halfway there is where a patient in therapy (not an experiment) should
    #: stop, as mirror therapy alone made 19 of 33 amputees dizzy (Casale 2009).
    fms_threshold: int = 10
    #: One-handed stop: one controller's grip and trigger squeezed together (a fist) past
    #: ``grip_threshold`` for ``stop_hold_s``, the healthy hand alone (CLINICAL.md safety: "the
    #: healthy hand alone (a CRPS hand may not grip)"); also both grips, or a menu button
    #: where the controller has one. Hold time is a product choice against accidental stops.
    grip_threshold: float = 0.8
    stop_hold_s: float = 1.0
    #: How long the session's opening line says how to stop. Product choice: long enough to
    #: read twice; the patient is told at the start of every session (CLINICAL.md safety).
    stop_hint_s: float = 12.0
    #: Fade out and in when switching to the calm scene. Product choice: calm, never a jump.
    fade_s: float = 1.0

    def __post_init__(self) -> None:
        if self.session_cap_s <= 0 or self.break_every_s <= 0:
            raise ProgramError("Session cap and break interval must be positive seconds.")
        if not 1 <= self.flare_rise <= 10:
            raise ProgramError("The pain-flare rise must be between 1 and 10 NRS points.")
        if not 0 < self.flare_rise_fraction <= 1:
            raise ProgramError("The pain-flare rise fraction must be between 0 and 1 (0.30 is 30 %).")
        if not 1 <= self.pain_ceiling <= 10:
            raise ProgramError("The pain ceiling is an NRS value from 1 to 10.")
        if self.rating_every_s < 0 or self.fms_every_s < 0:
            raise ProgramError("Rating intervals must be positive seconds, or 0 for never.")
        if not 1 <= self.fms_threshold <= 20:
            raise ProgramError("The sickness threshold is an FMS value from 1 to 20.")
        if not 0 < self.grip_threshold <= 1 or self.stop_hold_s <= 0 or self.fade_s <= 0:
            raise ProgramError("Grip threshold must be in (0, 1]; hold and fade times positive.")
        if self.stop_hint_s < 0:
            raise ProgramError("The stop hint's time cannot be negative.")


@dataclass(frozen=True)
class HapticSettings:
    """Short vibrations in the hand (``therapy/haptic_pulses.py`` decides when, the headset's
    controllers play them). Never on the affected side's controller unless
    ``affected_side_allowed``."""

    #: A pulse on the answering hand after each laterality answer. Off by default: CRPS
    #: often brings allodynia (touch, and vibration, felt as pain), and gmi-vr cannot know
    #: whether this patient has it; the therapist turns it on after asking. Product choice.
    answer_pulse: bool = False
    #: A pulse on the moving hand when the displayed hand reaches a mirror or movement
    #: target. CLINICAL.md: touch feedback on the intact hand during reaching lowered
    #: phantom pain more than none (Sano 2016, JNER 13:61). In mirror therapy the moving
    #: hand is the healthy one, so the default never touches the painful limb.
    target_pulse: bool = True
    #: Pulses may go to the affected side's controller (graded real movement, both hands in
    #: mirror therapy). Off: a vibration on the painful hand can hurt (allodynia).
    affected_side_allowed: bool = False
    #: Product choice: a tick felt without startling, well under a reaction time.
    duration_s: float = 0.05
    #: Product choice: half the controller's strongest vibration.
    amplitude: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.duration_s <= 1.0:
            raise ProgramError("A haptic pulse lasts more than 0 s and at most 1 s.")
        if not 0.0 < self.amplitude <= 1.0:
            raise ProgramError("Haptic amplitude is a fraction of full strength, above 0 and at most 1.")


@dataclass(frozen=True)
class HandAnswerSettings:
    """How a hand tracked without a controller (``gmi-vr run --hands``) takes a choice it
    points at: a laterality target (``AnswerMapping`` mode "point") or a pain-scale number."""

    #: "pinch" (thumb to index) or "dwell" (resting on the choice ``dwell_s``). Pinch by
    #: default: quick, and a hand at rest never answers by chance. Dwell for a patient who
    #: cannot pinch (CRPS often brings stiff, swollen or painful fingers); then a tracked
    #: hand answers by dwell only, since fingers closing by chance must not answer. Product
    #: choice.
    confirm: str = "pinch"
    #: Resting time that takes a choice (seconds). Product choice: longer than a glance
    #: passing over a target (a few hundred ms), the same order as the controllers'
    #: one-second confirming hold, so an answer is deliberate without tiring a held-up hand.
    dwell_s: float = 1.5

    def __post_init__(self) -> None:
        if self.confirm not in ("pinch", "dwell"):
            raise ProgramError(f"Hand confirmation '{self.confirm}' is unknown; use 'pinch' or 'dwell'.")
        if not 0.3 <= self.dwell_s <= 5.0:
            raise ProgramError("The dwell time is between 0.3 and 5 seconds.")

    @property
    def dwell(self) -> float | None:
        """The dwell time when choices are taken by dwell, else None."""
        return self.dwell_s if self.confirm == "dwell" else None


@dataclass(frozen=True)
class ProgressionRules:
    """Defaults for ``progression.evaluate_progression``. CLINICAL.md: "There is no
    trial-validated progression rule; GMI is 'not a preset program'" — the therapist
    confirms every change. The defaults follow CLINICAL.md "Laterality norms and progression"."""

    #: NOI (noinotes 2012): >= 80 % correct, required on both sides.
    accuracy_target: float = 0.80
    #: Left/right gap of median RT: within 0.19 s or 10 % of the RT, whichever is larger.
    #: CLINICAL.md: 0.19 s is the smallest real change's lower end; its 0.49 s upper end (the
    #: least reliable part/task) "is too loose to call two sides equal".
    rt_gap_max_s: float = 0.19
    rt_gap_max_fraction: float = 0.10
    #: Speed target on both sides: each side's median RT at most this. None = the body part's
    #: norm (``scoring.rt_norm``: hands and feet about 2 s, neck Wallwork 2013, shoulder
    #: validity study; age-banded where data exist).
    max_median_rt_s: float | None = None
    #: CLINICAL.md: the norm studies used 40 images per side or more; a session with fewer
    #: trials on a side does not count towards the targets (too noisy a median).
    min_trials_per_side: int = 40
    #: Product choice: sessions, all meeting the targets in a row, that an advance needs (one
    #: good session can be luck) ...
    window: int = 3
    #: ... spread over at least this many days, first to last. CLINICAL.md: "Time, not
    #: sessions" (Moseley 2004/2006 gave each stage about 2 weeks).
    min_span_days: int = 7
    #: A fall in performance beyond the smallest real change (CLINICAL.md: RT 0.19-0.49 s,
    #: accuracy 5-14 %) in ``fall_sessions`` sessions running steps back a stage. The upper
    #: bounds, as the part/task-specific value is unknown: noise alone never steps back.
    rt_fall_s: float = 0.49
    accuracy_fall: float = 0.14
    #: CLINICAL.md: "a change beyond the smallest real change, twice".
    fall_sessions: int = 2
    #: Stages 2 and 3 have no measured gate yet: move on after this many days at the stage
    #: (Moseley 2004, 2006: about 2 weeks per stage) with no flare in the window.
    min_days_at_stage: int = 14
    #: Stages to step back after a flare or a fall (CLINICAL.md: "Back a stage").
    steps_back: int = 1
    #: Practice between visits is counted over the last this many days (to the latest
    #: session, clinic or home), never before the stage began. CLINICAL.md: targets over at
    #: least 7 days; the same span.
    practice_days: int = 7
    #: Practice below this fraction of the prescribed minutes a day is named as the reason
    #: when performance stalls. Product choice: half the dose; CLINICAL.md: a real-world audit
    #: with far less practice than the trials found no pain change (Johnson 2012).
    min_practice_fraction: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.accuracy_target <= 1 or not 0 <= self.accuracy_fall <= 1:
            raise ProgramError("Accuracy targets are fractions between 0 and 1.")
        if self.window < 1 or self.steps_back < 1 or self.min_days_at_stage < 0 or self.fall_sessions < 1:
            raise ProgramError("The session window, falls and steps back must be at least 1.")
        if self.rt_gap_max_s <= 0 or self.rt_fall_s <= 0 or not 0 <= self.rt_gap_max_fraction < 1:
            raise ProgramError("Reaction-time thresholds must be positive seconds (the gap fraction 0-1).")
        if self.min_trials_per_side < 1 or self.min_span_days < 0:
            raise ProgramError("Trials per side must be at least 1 and the span in days not negative.")
        if self.max_median_rt_s is not None and self.max_median_rt_s <= 0:
            raise ProgramError("The speed target must be positive seconds, or empty for the norm.")
        if self.practice_days < 1 or not 0 <= self.min_practice_fraction <= 1:
            raise ProgramError("Practice is counted over at least 1 day, against a fraction 0-1 of the prescription.")


@dataclass(frozen=True)
class StagePractice:
    """What to practise between clinic visits at one stage: per task, minutes each time and
    times a day (0 times = not prescribed). Tasks are the practice a patient can do without a
    headset: left/right judgement (any screen), explicit motor imagery, and mirror-box
    practice (a mirror box at home, or the mirror task on a desktop)."""

    laterality_minutes: float = 0.0
    laterality_times_per_day: int = 0
    imagery_minutes: float = 0.0
    imagery_times_per_day: int = 0
    mirror_minutes: float = 0.0
    mirror_times_per_day: int = 0

    def __post_init__(self) -> None:
        for task in PRACTICE_TASKS:
            minutes, times = self.dose(task)
            if not 0 <= minutes <= 60:
                raise ProgramError(f"Practice of {task} is 0 to 60 minutes at a time, not {minutes:g}.")
            if not 0 <= times <= 24:
                raise ProgramError(f"Practice of {task} is 0 to 24 times a day, not {times}.")
            if (minutes > 0) != (times > 0):
                raise ProgramError(
                    f"Give {task} practice both minutes and times a day (or 0 for both to prescribe none)."
                )

    def dose(self, task: str) -> tuple[float, int]:
        """(minutes each time, times a day) prescribed for ``task`` (one of ``PRACTICE_TASKS``)."""
        return float(getattr(self, f"{task}_minutes")), int(getattr(self, f"{task}_times_per_day"))

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks prescribed (times a day above 0), in ``PRACTICE_TASKS`` order."""
        return tuple(task for task in PRACTICE_TASKS if self.dose(task)[1] > 0)

    @property
    def minutes_per_day(self) -> float:
        """Prescribed practice a day over every task, minutes."""
        return sum(m * t for m, t in (self.dose(task) for task in PRACTICE_TASKS))


#: Practice tasks, as their blocks are named in the store (``BlockInfo.stage``).
PRACTICE_TASKS = ("laterality", "imagery", "mirror")

#: Laterality and imagery at home: a short set (one laterality block of the defaults is about
#: 2 minutes: product choice) every 2 hours of a 16-hour waking day. CLINICAL.md "Practice
#: between visits": "laterality every waking 1-2 hours" (clinic guidance; Moseley 2004, 2006
#: trials: frequent short home practice); the less frequent end, for a patient in pain.
_SHORT_SET_MIN, _EVERY_2_HOURS_AWAKE = 2.0, 8
#: Mirror-box practice: CLINICAL.md (European Pain Federation CRPS guidance): "Sessions of
#: 5-10 minutes, several times a day (3-10 short sessions a day)"; the lower ends to start.
_MIRROR_MIN, _MIRROR_TIMES = 5.0, 3
#: Later stages keep one laterality set a day as a re-check (CLINICAL.md: "re-check
#: laterality under stress"; the clinic sessions do the same, ``default_blocks``).
_RECHECK_TIMES = 1


@dataclass(frozen=True)
class PracticePrescription:
    """Practice between visits for each stage (``for_stage``), and the clinic's next step
    for the patient's handout (empty = a sentence from the stage)."""

    stage_1: StagePractice = field(default_factory=lambda: StagePractice(
        laterality_minutes=_SHORT_SET_MIN, laterality_times_per_day=_EVERY_2_HOURS_AWAKE))  # fmt: skip
    stage_2: StagePractice = field(default_factory=lambda: StagePractice(
        laterality_minutes=_SHORT_SET_MIN, laterality_times_per_day=_RECHECK_TIMES,
        imagery_minutes=_SHORT_SET_MIN, imagery_times_per_day=_EVERY_2_HOURS_AWAKE))  # fmt: skip
    stage_3: StagePractice = field(default_factory=lambda: StagePractice(
        laterality_minutes=_SHORT_SET_MIN, laterality_times_per_day=_RECHECK_TIMES,
        mirror_minutes=_MIRROR_MIN, mirror_times_per_day=_MIRROR_TIMES))  # fmt: skip
    #: Product choice: CLINICAL.md gives no home dose for graded movement; mirror practice
    #: goes on as at stage 3 until the therapist sets the functional tasks.
    stage_4: StagePractice = field(default_factory=lambda: StagePractice(
        mirror_minutes=_MIRROR_MIN, mirror_times_per_day=_MIRROR_TIMES))  # fmt: skip
    #: The therapist's words for the handout's "next step" (a visit, a call); kept short so the
    #: handout stays one page.
    next_step: str = ""

    def __post_init__(self) -> None:
        if len(self.next_step) > NEXT_STEP_MAX_CHARS:
            raise ProgramError(f"Keep the next step under {NEXT_STEP_MAX_CHARS} characters so the handout fits one page.")

    def for_stage(self, stage: Stage | int) -> StagePractice:
        """The practice prescribed for ``stage`` (1-4, the Stage or its number)."""
        practice: StagePractice = getattr(self, f"stage_{int(stage)}")
        return practice


#: The longest next step a handout shows on its one page.
NEXT_STEP_MAX_CHARS = 240


def default_blocks(stage: Stage) -> tuple[str, ...]:
    """Stage 1: three laterality blocks, 48 trials per side with the default 32-trial blocks
    (CLINICAL.md: the norm studies used 40 images per side or more; fewer give too noisy a
    median to gate on), about 5-6 minutes at 3-4 s a trial, inside the 5-10 minute sessions. Later stages keep one laterality block as a re-check (CLINICAL.md:
    "re-check laterality under stress") until their own tasks are added to the plan."""
    if stage is Stage.LATERALITY:
        return ("laterality", "laterality", "laterality")
    return STAGE_BLOCKS[int(stage)]  # stages 2-4: their own blocks (grading.STAGE_BLOCKS)


@dataclass(frozen=True)
class Program:
    """Everything the session runner and the progression engine need for one patient."""

    affected_side: Side
    body_part: BodyPart
    #: Age in whole years, or None. CLINICAL.md: older people are slower and less accurate.
    age_years: int | None = None
    #: An age band such as "60-69" or "80+" where the exact age is not kept.
    age_band: str | None = None
    #: CLINICAL.md: the stages run in order, starting with laterality.
    stage: Stage = Stage.LATERALITY
    session: SessionPlan = field(default_factory=SessionPlan)
    laterality: LateralitySettings = field(default_factory=LateralitySettings)
    #: Stages 2-4 (``grading``: explicit imagery, mirror therapy, graded movement).
    imagery: ImagerySettings = field(default_factory=ImagerySettings)
    mirror: MirrorSettings = field(default_factory=MirrorSettings)
    movement: MovementSettings = field(default_factory=MovementSettings)
    #: Tactile discrimination training and the desensitization hierarchy (``touch``):
    #: the session-plan block "touch".
    touch: TouchSettings = field(default_factory=TouchSettings)
    progression: ProgressionRules = field(default_factory=ProgressionRules)
    safety: SafetySettings = field(default_factory=SafetySettings)
    haptics: HapticSettings = field(default_factory=HapticSettings)
    #: How a hand tracked without a controller takes what it points at (pinch or dwell).
    hands: HandAnswerSettings = field(default_factory=HandAnswerSettings)
    #: A research program: only it may set visual-feedback conditions (``feedback``). Set by
    #: an account with the researcher or admin role where the store has accounts (the CLI
    #: checks); clinical (False) by default.
    research: bool = False
    #: Visual-feedback conditions of a study, per block (``BlockFeedback``); a block not named
    #: shows the live picture. Empty by default: clinical therapy never manipulates it.
    feedback: tuple[BlockFeedback, ...] = ()
    #: What to practise between visits, per stage (CLINICAL.md "Practice between visits"). A
    #: program stored before it existed reads with these defaults.
    practice: PracticePrescription = field(default_factory=PracticePrescription)
    #: Dotted paths of settings a therapist has set (the rest are the cited defaults).
    overridden: tuple[str, ...] = ()
    format_version: int = PROGRAM_FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.age_years is not None and not 0 < self.age_years < 130:
            raise ProgramError(f"Age {self.age_years} is not plausible; give years (1-129).")
        if self.age_band is not None and not re.fullmatch(r"\d{1,3}(-\d{1,3}|\+)", self.age_band):
            raise ProgramError(f"Age band '{self.age_band}' is not a band; write it like 60-69 or 80+.")
        _check_format_version(self.format_version)
        self._check_feedback()

    def _check_feedback(self) -> None:
        """Visual-feedback conditions only in a research program, one per block, each on a
        mirror or movement block of the session plan."""
        if self.feedback and not self.research:
            raise ProgramError(
                "Visual-feedback conditions are for research programs only; a researcher or admin "
                "marks the program research=true first, or clear 'feedback'."
            )
        blocks = self.blocks
        seen: set[int] = set()
        for condition in self.feedback:
            number = condition.block
            if number in seen:
                raise ProgramError(f"Block {number} has two feedback conditions; give each block one.")
            seen.add(number)
            if number > len(blocks):
                raise ProgramError(f"Block {number} does not exist; the sessions have {len(blocks)} blocks ({', '.join(blocks)}).")
            if blocks[number - 1] not in FEEDBACK_BLOCKS:
                raise ProgramError(
                    f"Block {number} is a {blocks[number - 1]} block; visual-feedback conditions apply "
                    f"to {' and '.join(FEEDBACK_BLOCKS)} blocks only."
                )

    def feedback_for(self, block_index: int) -> BlockFeedback | None:
        """The research condition of the block at ``block_index`` (0-based, as recorded):
        None for a clinical program or a block that is not mirror or movement practice;
        the live "mirror" condition for such a block of a research program that names none."""
        if not self.research or self.blocks[block_index] not in FEEDBACK_BLOCKS:
            return None
        for condition in self.feedback:
            if condition.block == block_index + 1:
                return condition
        return BlockFeedback(block_index + 1)

    @staticmethod
    def default(
        affected_side: Side, body_part: BodyPart, age_years: int | None = None
    ) -> Program:
        """The cited defaults for a new patient. One-handed answers, when chosen, default to
        the healthy hand's controller."""
        answer = AnswerMapping(hand=affected_side.other)
        return Program(
            affected_side=affected_side,
            body_part=body_part,
            age_years=age_years,
            laterality=LateralitySettings(answer=answer),
        )

    @property
    def blocks(self) -> tuple[str, ...]:
        """The task blocks of this program's sessions."""
        return self.session.blocks or default_blocks(self.stage)

    @property
    def session_cap_s(self) -> float:
        """The session's time cap: ``safety.session_cap_s``, or, when the plan holds touch
        training, at least that training's planned length with a minute to spare (CLINICAL.md:
        Moseley 2008 trained 24 minutes a day; the 5-10 minutes of GMI sessions would cut it)."""
        cap = self.safety.session_cap_s
        if "touch" in self.blocks:
            cap = max(cap, self.blocks.count("touch") * self.touch.planned_s + 60.0)
        return cap

    @property
    def affected_hand_scale(self) -> float:
        """The displayed affected hand's size for this program's sessions (1 = life size):
        the mirror setting, and no larger than the touch setting when the plan holds touch
        training. Both are capped at 1 (CLINICAL.md: never magnify the limb)."""
        scale = self.mirror.displayed_hand_scale
        return min(scale, self.touch.limb_scale) if "touch" in self.blocks else scale

    @property
    def laterality_parts(self) -> tuple[BodyPart, ...]:
        """The body parts laterality trials show: the ones set for laterality, else the program's own."""
        return self.laterality.body_parts or (self.body_part,)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (enums as their values, tuples as lists)."""
        result = _to_jsonable(self)
        assert isinstance(result, dict)
        return result

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Program:
        """Read a dict written by ``to_dict`` (of this or an older format version; defaults
        corrected since then apply where the therapist had not set them: ``CORRECTED_DEFAULTS``)."""
        version = data.get("format_version", 1)
        _check_format_version(version)  # before its settings: a newer one has settings unknown here
        if version < PROGRAM_FORMAT_VERSION:
            data = _upgrade(data, version)
        program = _from_jsonable(Program, data, "program")
        assert isinstance(program, Program)
        return program

    def override(
        self, changed_by: str, reason: str, at: str, **changes: Any
    ) -> tuple[Program, OverrideRecord]:
        """Change settings by dotted path (``**{"safety.session_cap_s": 480}``) or with ``__``
        for the dot (``safety__session_cap_s=480``); ``at`` is an ISO time the caller gives
        (logic reads no clock). Returns the new program and the audit record."""
        if not changed_by.strip() or not reason.strip():
            raise ProgramError("Say who changes the program and why; both are kept for the audit trail.")
        if not changes:
            raise ProgramError("Name at least one setting to change.")
        data = self.to_dict()
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for raw_path, value in changes.items():
            path = raw_path.replace("__", ".")
            if path.split(".")[0] in ("overridden", "format_version"):
                raise ProgramError(f"'{path}' is kept by gmi-vr and cannot be set by hand.")
            parent, key = _walk(data, path)
            old[path] = parent[key]
            parent[key] = _to_jsonable(value)
            new[path] = parent[key]
        data["overridden"] = sorted(set(data["overridden"]) | set(new))
        program = Program.from_dict(data)
        checked = program.to_dict()  # record values as stored (480 -> 480.0 for a float)
        for path in new:
            parent, key = _walk(checked, path)
            new[path] = parent[key]
        return program, OverrideRecord(changed_by, reason, at, old, new)

    def settings_with_sources(self, set_by: Mapping[str, str] | None = None) -> list[tuple[str, Any, str]]:
        """Every setting as (dotted path, JSON value, source): what ``source_of`` cites for a
        default, or for an overridden one "set by WHO", WHO from ``set_by`` (overridden
        path -> who changed it last, read from the audit trail), else "set by hand (the
        audit trail says who)"."""
        rows: list[tuple[str, Any, str]] = []
        who = dict(set_by or {})

        def walk(node: dict[str, Any], prefix: str) -> None:
            for key, value in node.items():
                path = f"{prefix}{key}"
                if path in ("overridden", "format_version"):
                    continue
                if isinstance(value, dict):
                    walk(value, f"{path}.")
                    continue
                by = next((who.get(p, "hand (the audit trail says who)") for p in self.overridden
                           if path == p or path.startswith(f"{p}.")), None)
                rows.append((path, value, f"set by {by}" if by is not None else Program.source_of(path)))

        walk(self.to_dict(), "")
        return rows

    @staticmethod
    def source_of(path: str) -> str:
        """The citation behind a default setting's value, by dotted path."""
        return DEFAULT_SOURCES.get(path, "product choice (see the field's comment)")


@dataclass(frozen=True)
class OverrideRecord:
    """Audit record of a therapist's change: old and new JSON values by dotted path."""

    changed_by: str
    reason: str
    at: str
    old: dict[str, Any]
    new: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the override (who, why, when, the old and new values)."""
        return dataclasses.asdict(self)


#: Where each clinical default comes from (CLINICAL.md names the references).
DEFAULT_SOURCES: dict[str, str] = {
    "affected_side": "the patient's record (entered by the therapist)",
    "body_part": "the patient's record (entered by the therapist)",
    "age_years": "the patient's record (entered by the therapist)",
    "age_band": "the patient's record (entered by the therapist)",
    "session.blocks": "empty = the stage's blocks: CLINICAL.md 40+ images per side, sessions of 5-10 minutes, re-check laterality",
    "stage": "CLINICAL.md: GMI stages in order (Moseley 2005)",
    "laterality.body_parts": "CLINICAL.md: start with a more distant body part if the hand provokes pain",
    "laterality.rotations_deg": "CLINICAL.md: varied rotations; RT by rotation angle",
    "laterality.views": "CLINICAL.md: back/palm, sole/top views",
    "laterality.time_limit_s": "CLINICAL.md: NOI skip rule, 90 % in 3-4 s",
    "laterality.trials_per_block": "product choice: 2 minutes a block; stage 1's three blocks give 48 per side (CLINICAL.md: 40 or more)",
    "session.rating_at_start": "CLINICAL.md: NRS 0-10 before and after each session",
    "session.rating_at_end": "CLINICAL.md: NRS 0-10 before and after each session",
    "safety.session_cap_s": "CLINICAL.md: European Pain Federation CRPS guidance, sessions of 5-10 minutes",
    "safety.break_every_s": "CLINICAL.md safety: breaks are offered",
    "safety.flare_rise": "CLINICAL.md: Farrar et al. 2001, 2 points meaningful (improvement study; extrapolated to worsening)",
    "safety.flare_rise_fraction": "CLINICAL.md: Farrar et al. 2001, 30 % meaningful (improvement study; extrapolated to worsening)",
    "safety.pain_ceiling": "CLINICAL.md: any rating at the patient's own ceiling is a flare (default the scale's top)",
    "safety.rating_every_s": "CLINICAL.md: ratings at set intervals in mirror and movement stages, every 2-3 minutes",
    "safety.ask_since_last": "CLINICAL.md: ask about pain and swelling since the last session (Moseley, Parsons & Spence 2008)",
    "safety.fms_every_s": "CLINICAL.md: Fast Motion Sickness Scale every minute (Keshavarz & Hecht 2011)",
    "safety.fms_threshold": "product choice: half the FMS scale; CLINICAL.md gives no cut-off (see the field's comment)",
    "safety.grip_threshold": "CLINICAL.md safety: stop with the healthy hand alone; threshold a product choice",
    "imagery.max_level": "CLINICAL.md: pain-free first; a more distant body part if imagining provokes pain",
    "imagery.context": "CLINICAL.md: varying the context is a later grading step",
    "mirror.phase": "CLINICAL.md: EPF grading, look at the reflection only first, then both limbs in sync",
    "mirror.displayed_hand_scale": "CLINICAL.md: Moseley, Parsons & Spence 2008, minified least pain; never enlarged by default",
    "mirror.look_s": "CLINICAL.md: EPF grading starts with looking only; 1 minute a product choice",
    "mirror.tasks": "CLINICAL.md: large, slow, pain-free movements first; objects and tools later",
    "mirror.grading.pace_s": "CLINICAL.md: slow movements first; 3 s a product choice",
    "mirror.grading.complexity": "CLINICAL.md: simple first, then provocative movements, objects and tools",
    "mirror.context": "CLINICAL.md: vary the context (place, posture, ...) as a later step",
    "movement.grading.range_fraction": "CLINICAL.md: pain-free movements first; half the measured range a product choice",
    "movement.context": "CLINICAL.md: vary the context as a later step",
    "progression.accuracy_target": "CLINICAL.md: NOI accuracy target >= 80 %",
    "progression.rt_gap_max_s": "CLINICAL.md: gap within 0.19 s (smallest real change, lower end) or 10 % of RT",
    "progression.rt_gap_max_fraction": "CLINICAL.md: gap within 0.19 s or 10 % of RT",
    "progression.max_median_rt_s": "CLINICAL.md: per-part norm when empty (hands/feet about 2 s; neck Wallwork 2013; shoulder n=1413)",
    "progression.min_trials_per_side": "CLINICAL.md: the norm studies used 40 images per side or more",
    "progression.min_span_days": "CLINICAL.md: targets met on sessions spread over at least 7 days (Moseley 2004, 2006)",
    "progression.rt_fall_s": "CLINICAL.md: smallest real change RT 0.19-0.49 s (upper bound)",
    "progression.accuracy_fall": "CLINICAL.md: smallest real change accuracy 5-14 % (upper bound)",
    "progression.fall_sessions": "CLINICAL.md: a change beyond the smallest real change, twice",
    "progression.min_days_at_stage": "CLINICAL.md: about 2 weeks per stage (Moseley 2004, 2006)",
    "progression.steps_back": "CLINICAL.md: back a stage on a pain flare or a real fall in performance",
    "touch.sites": "CLINICAL.md: 5 sites (Moseley, Zalucki & Wiech 2008); which five a product choice for the hand",
    "touch.probe_small_mm": "CLINICAL.md: a 2 mm cork probe (Moseley, Zalucki & Wiech 2008)",
    "touch.probe_large_mm": "CLINICAL.md: an 11 mm cork probe (Moseley, Zalucki & Wiech 2008)",
    "touch.interval_s": "CLINICAL.md: one touch every 15 s (Moseley, Zalucki & Wiech 2008)",
    "touch.touches_per_block": "CLINICAL.md: 24 touches in a 6-minute block (Moseley, Zalucki & Wiech 2008)",
    "touch.blocks": "CLINICAL.md: 3 blocks (Moseley, Zalucki & Wiech 2008)",
    "touch.rest_s": "CLINICAL.md: 3-minute rests between blocks (Moseley, Zalucki & Wiech 2008)",
    "touch.views": "CLINICAL.md: limb hidden in the classic protocol; mirrored view Moseley & Wiech 2009",
    "touch.mirrored_touch": "off: CLINICAL.md dysynchiria (Acerra & Moseley 2005); on only after a screen",
    "touch.screening_touches": "CLINICAL.md: a few touches of the healthy limb seen mirrored; 3 a product choice",
    "touch.limb_scale": "CLINICAL.md: never magnify the limb (Moseley, Parsons & Spence 2008)",
    "touch.textures": "CLINICAL.md: silk, cotton, felt, denim, scourer; rice, pasta, sand (Goransson & Cederlund 2011)",
    "progression.practice_days": "CLINICAL.md: targets met over at least 7 days; practice counted over the same span",
    "progression.min_practice_fraction": "product choice: half the prescription; CLINICAL.md: far less practice, no pain change (Johnson 2012)",
    "haptics.answer_pulse": "off: CRPS often brings allodynia; the therapist turns it on after asking (product choice)",
    "haptics.target_pulse": "CLINICAL.md: touch feedback on the intact hand during reaching (Sano 2016, JNER 13:61)",
    "haptics.affected_side_allowed": "off: never vibrate the painful hand unless the therapist enables it (allodynia)",
    "hands.confirm": "pinch: quick and never by chance at rest; dwell for a patient who cannot pinch (stiff or painful fingers in CRPS) (product choice)",
    "hands.dwell_s": "longer than a glance over a target, about the controllers' one-second confirming hold (product choice)",
    "research": "clinical: only a researcher or admin marks a program for research",
    "feedback": "none: the live mirror; visual-feedback conditions are a study's controls, not therapy",
    **{f"practice.stage_{n}.laterality_{what}": "CLINICAL.md: laterality every waking 1-2 hours (less often end: every 2 h of 16 waking h; a 2-minute set, product choice)"
       for n in (1,) for what in ("minutes", "times_per_day")},
    **{f"practice.stage_{n}.laterality_{what}": "CLINICAL.md: re-check laterality under stress (once a day, 2 minutes: product choice)"
       for n in (2, 3) for what in ("minutes", "times_per_day")},
    **{f"practice.stage_2.imagery_{what}": "CLINICAL.md: frequent short home practice, every waking 1-2 hours (Moseley 2004, 2006)"
       for what in ("minutes", "times_per_day")},
    **{f"practice.stage_3.mirror_{what}": "CLINICAL.md: EPF CRPS guidance, 5-10 minutes, 3-10 short sessions a day (lower ends)"
       for what in ("minutes", "times_per_day")},
    **{f"practice.stage_4.mirror_{what}": "product choice: stage 3's mirror practice goes on (CLINICAL.md gives no home dose for graded movement)"
       for what in ("minutes", "times_per_day")},
    "practice.next_step": "empty = a sentence from the stage; the therapist may write the next visit or call",
}


# --- JSON conversion -------------------------------------------------------------------------


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    return value


@functools.cache
def _type_hints(kind: type) -> dict[str, Any]:
    """The settings class's resolved annotations, worked out once per class: resolving them
    is most of reading a program, which sessions do as they start and end (on the frame
    thread)."""
    return typing.get_type_hints(kind)


def _from_jsonable(kind: Any, value: Any, where: str) -> Any:
    """Convert JSON ``value`` to the annotated type ``kind``; ``where`` names the setting."""
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            return _from_jsonable(option, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            example = f", such as [{json.dumps(value)}]" if isinstance(value, str | int | float) else ""
            raise ProgramError(f"Setting '{where}' must be a list in square brackets{example}.")
        item_kind = typing.get_args(kind)[0]
        return tuple(_from_jsonable(item_kind, v, where) for v in value)
    if kind is Any or origin is dict:
        return value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ProgramError(f"Setting '{where}' must be a table of settings.")
        hints = _type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        unknown = set(value) - names
        if unknown:
            raise ProgramError(
                f"Setting '{where}.{sorted(unknown)[0]}' is unknown; check its spelling."
            )
        required = [
            f.name for f in dataclasses.fields(kind)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [name for name in required if name not in value]
        if missing:
            raise ProgramError(f"Setting '{where}.{missing[0]}' is missing; give it a value.")
        args = {k: _from_jsonable(hints[k], v, f"{where}.{k}") for k, v in value.items()}
        return kind(**args)
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise ProgramError(f"Setting '{where}' is {value!r}; use one of {allowed}.") from None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProgramError(f"Setting '{where}' must be a number, not {value!r}.")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProgramError(f"Setting '{where}' must be a whole number, not {value!r}.")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ProgramError(f"Setting '{where}' must be true or false, not {value!r}.")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ProgramError(f"Setting '{where}' must be text, not {value!r}.")
        return value
    raise ProgramError(f"Setting '{where}' has a value gmi-vr cannot read.")


def _check_format_version(version: object) -> None:
    """Refuse a program document this gmi-vr cannot read: one of a newer format (written by
    a newer gmi-vr) or with no whole-number version."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProgramError(f"The program's format version {version!r} is not one gmi-vr writes; restore it from a backup.")
    if version > PROGRAM_FORMAT_VERSION:
        raise ProgramError(
            f"This program was written by a newer gmi-vr (program format {version}, this one reads up to "
            f"{PROGRAM_FORMAT_VERSION}); update gmi-vr on this computer to open it."
        )


def _upgrade(data: dict[str, Any], version: int) -> dict[str, Any]:
    """``data`` of format ``version`` with the defaults corrected since then dropped (so the
    current ones apply) where the therapist had not set them, marked as the current format."""
    upgraded: dict[str, Any] = _to_jsonable(data)  # a deep copy
    overridden = set(upgraded.get("overridden", ()))
    for later, paths in CORRECTED_DEFAULTS.items():
        if later <= version:
            continue
        for path in paths:
            if path in overridden:
                continue
            *parents, key = path.split(".")
            node: Any = upgraded
            for name in parents:
                node = node.get(name) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(key, None)
    upgraded["format_version"] = PROGRAM_FORMAT_VERSION
    return upgraded


def _walk(data: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The dict holding the last key of dotted ``path`` in ``data``, and that key."""
    *parents, key = path.split(".")
    node: Any = data
    for name in parents:
        if not isinstance(node, dict) or name not in node or not isinstance(node[name], dict):
            raise ProgramError(f"Setting '{path}' does not exist; check its spelling.")
        node = node[name]
    if key not in node:
        raise ProgramError(f"Setting '{path}' does not exist; check its spelling.")
    return node, key
