"""Tactile discrimination training (CLINICAL.md "Touch"): its settings, its balanced random
sequence of touches and its scores — plain data, stored in the patient's ``Program``
(field ``touch``) and overridden like any other setting
(``Program.override(**{"touch.views": ["hidden", "mirrored"]})``).

The protocol (Moseley, Zalucki & Wiech 2008, Pain 137:600): five sites on the affected limb,
two probes (2 mm and 11 mm cork), one touch every 15 s in 3 blocks of 6 minutes (24 touches
each) with 3-minute rests; the patient names site and probe. Discrimination, not touch alone,
lowered pain (27 mm/100) and the two-point threshold. The therapist gives each touch by hand
when the console's cue says so; the patient answers one-handed with the healthy hand's
controller (``touch_task.TouchTask``).

This module imports nothing from ``program`` (``program`` imports it); invalid values raise
``ProgramError`` all the same, imported when needed. Times are seconds, sizes millimetres.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import median
from typing import NoReturn

import numpy as np

from gmi_vr.body.solve import MIN_HAND_SCALE


def _invalid(message: str) -> NoReturn:
    from gmi_vr.therapy.plan.program import ProgramError  # program imports this module

    raise ProgramError(message)


class TouchView(StrEnum):
    """What the patient sees of the affected limb during a block (CLINICAL.md "Touch")."""

    #: The classic protocol: the limb hidden (Moseley, Zalucki & Wiech 2008). In VR the
    #: virtual affected limb rests under a cover, as a screen hides the real one.
    HIDDEN = "hidden"
    #: The virtual affected limb at rest, in view.
    VIRTUAL = "virtual"
    #: The mirror image of the healthy limb in the affected limb's place (Moseley & Wiech
    #: 2009, Pain 144:314: the two-point threshold fell 8 mm more).
    MIRRORED = "mirrored"


#: The two probes, smallest first: names the patient's two buttons answer with.
PROBES: tuple[str, str] = ("small", "large")

#: Which skeleton bone (of the affected side: "left" + bone) marks each default site on the
#: displayed limb, where a touch is shown (mirrored touch). A site with no bone here is
#: named but not marked.
SITE_BONES: dict[str, str] = {
    "thumb": "ThumbDistal", "index_finger": "IndexDistal", "little_finger": "LittleDistal",
    "back_of_hand": "Hand", "forearm": "LowerArm",
}  # fmt: skip

#: Where each default site sits on the patient's small site map: (right, up) in map units
#: (-1..1), a right hand's back seen from above; a left hand's map is its mirror image.
SITE_MAP: dict[str, tuple[float, float]] = {
    "thumb": (-1.0, 0.3), "index_finger": (-0.5, 1.0), "little_finger": (0.6, 0.7),
    "back_of_hand": (0.0, 0.0), "forearm": (0.0, -1.0),
}  # fmt: skip


@dataclass(frozen=True)
class TouchSettings:
    """Tactile discrimination blocks (session-plan task kind "touch": one plan block runs the
    whole training, its blocks and rests).

    ``views`` gives each block's view in order (the last repeats for the later blocks).
    ``mirrored_touch``: in a mirrored block the therapist touches the *healthy* limb, and the
    touch is shown at the same site of the limb the patient sees in the affected place; it
    runs only after a dysynchiria screen (``screening_touches``) with no report of pain or
    tingling on the affected side. Off: the affected limb is touched, as in every other view.
    """

    #: CLINICAL.md (Moseley, Zalucki & Wiech 2008): 5 sites marked on a photo of the limb.
    #: Which five is a product choice for a hand: thumb, index and little finger, back of
    #: the hand, forearm (spread so each is told apart; the therapist may name others).
    sites: tuple[str, ...] = ("thumb", "index_finger", "little_finger", "back_of_hand", "forearm")
    #: CLINICAL.md (Moseley 2008): 2 probes, a 2 mm and an 11 mm cork, in ``PROBES`` order.
    probe_small_mm: float = 2.0
    probe_large_mm: float = 11.0
    #: CLINICAL.md (Moseley 2008): one touch every 15 s.
    interval_s: float = 15.0
    #: CLINICAL.md (Moseley 2008): blocks of 6 minutes, 24 touches each, 3 blocks ...
    touches_per_block: int = 24
    blocks: int = 3
    #: ... with 3-minute rests between them (72 touches, 24 minutes of touching).
    rest_s: float = 180.0
    #: How long before each touch the console shows what comes next (site, probe, limb),
    #: counting down to the touch cue. Product choice: time to pick up the probe and reach.
    lead_s: float = 3.0
    #: CLINICAL.md: the classic protocol hides the limb (Moseley 2008); the mirrored view
    #: (Moseley & Wiech 2009) is the therapist's choice per block.
    views: tuple[TouchView, ...] = (TouchView.HIDDEN,)
    #: Off by default: watching the healthy limb touched in a mirror can evoke pain or
    #: tingling in the affected limb in CRPS (CLINICAL.md, dysynchiria, Acerra & Moseley 2005).
    mirrored_touch: bool = False
    #: CLINICAL.md: mirrored touch starts with "a few touches of the healthy limb seen
    #: mirrored", the patient asked about the affected side after each. 3 a product choice.
    screening_touches: int = 3
    #: Seen touch: the therapist holds the affected side's unused controller as the probe,
    #: registers the resting limb to three landmarks before the first block, and the virtual
    #: limb shows each touch where the probe's tip lands (``seen_touch``). Off by default:
    #: it needs the controller in the therapist's hand and a registration.
    seen_touch: bool = False
    #: The registration is accepted when its RMS error over the landmarks is at most this
    #: (mm). Product choice: the default sites lie 40 mm or more apart (fingertips, back of
    #: the hand, forearm), so a touch shown under half that spacing off still lands nearest
    #: the site touched; a controller's tracking (a few mm) and a landmark found by touch on
    #: soft skin (5-10 mm) fit within it. Above it the therapist registers again.
    registration_max_mm: float = 20.0
    #: Size of the displayed affected limb, 1 = life size. CLINICAL.md: never magnify the
    #: limb (magnified views raised pain most, minified least; Moseley, Parsons & Spence 2008).
    limb_scale: float = 1.0
    #: A calm green/red line after each answer saying what the touch was. Product choice,
    #: as in the laterality task; discrimination is trained by knowing the answer.
    feedback: bool = True
    feedback_s: float = 1.5
    #: The healthy hand's controller buttons naming the probe (the thumbstick picks the site).
    small_button: str = "primary"
    large_button: str = "secondary"
    #: The graded desensitization hierarchy, least provoking first. CLINICAL.md (hand
    #: therapy, Göransson & Cederlund 2011): silk, cotton, felt, denim, scourer; rice, pasta, sand.
    textures: tuple[str, ...] = ("silk", "cotton", "felt", "denim", "scourer", "rice", "pasta", "sand")

    def __post_init__(self) -> None:
        if not 2 <= len(self.sites) <= 8 or len(set(self.sites)) != len(self.sites):
            _invalid("Name 2 to 8 different touch sites (the classic protocol uses 5).")
        if any(not site.strip() for site in self.sites):
            _invalid("A touch site needs a name, for example index_finger.")
        if not 0 < self.probe_small_mm < self.probe_large_mm:
            _invalid("The small probe must be thinner than the large one (millimetres, above 0).")
        if self.interval_s <= self.lead_s + 1.0 or self.lead_s < 0:
            _invalid("Leave at least 1 s to answer: the touch interval must exceed the lead time by 1 s.")
        if self.feedback and not 0 <= self.feedback_s < self.interval_s - self.lead_s:
            _invalid("Feedback must end before the next touch is announced.")
        if self.touches_per_block < 1 or self.blocks < 1 or self.rest_s < 0:
            _invalid("Touch training needs at least one block of one touch; rests cannot be negative.")
        if not self.views:
            _invalid("Give each block's view: hidden, virtual or mirrored.")
        if not 1 <= self.screening_touches <= 10:
            _invalid("The dysynchiria screen takes 1 to 10 touches (a few: 3 by default).")
        if not 5.0 <= self.registration_max_mm <= 50.0:
            _invalid("The registration bound must be 5 to 50 mm (20 by default).")
        if not MIN_HAND_SCALE <= self.limb_scale <= 1.0:
            _invalid(f"The limb may be shown life size (1) or smaller, down to {MIN_HAND_SCALE}; never larger.")
        from gmi_vr.therapy.plan.program import ANSWER_BUTTONS

        for button in (self.small_button, self.large_button):
            if button not in ANSWER_BUTTONS:
                _invalid(f"Probe button '{button}' cannot be used; pick one of {', '.join(ANSWER_BUTTONS)}.")
        if self.small_button == self.large_button:
            _invalid("The two probes need two different buttons.")
        if not self.textures or len(set(self.textures)) != len(self.textures):
            _invalid("The texture hierarchy needs at least one texture, each named once.")

    def view_of(self, block: int) -> TouchView:
        """The view of block ``block`` (0-based): ``views`` in order, the last repeating."""
        return self.views[min(block, len(self.views) - 1)]

    def probe_mm(self, probe: str) -> float:
        """The diameter of ``probe`` ("small" or "large"), millimetres."""
        return self.probe_small_mm if probe == PROBES[0] else self.probe_large_mm

    @property
    def planned_s(self) -> float:
        """The training's length without pauses: its blocks of touches and the rests between."""
        return self.blocks * self.touches_per_block * self.interval_s + (self.blocks - 1) * self.rest_s


@dataclass(frozen=True)
class Touch:
    """One planned touch: the site and the probe ("small" or "large")."""

    site: str
    probe: str


def touch_sequence(sites: Sequence[str], touches_per_block: int, blocks: int, seed: int) -> list[list[Touch]]:
    """Each block's touches in order, balanced and random.

    Within every block each site-probe pair appears equally often, give or take one, and so
    does each site and each probe; over the session each site and each probe does too (the
    touches a block cannot share out evenly go to the sites and the probe used least so far).
    The order inside a block is shuffled from ``seed``.
    """
    rng = np.random.default_rng(seed)
    pairs = [Touch(site, probe) for site in sites for probe in PROBES]
    used_sites: Counter[str] = Counter({site: 0 for site in sites})
    used_probes: Counter[str] = Counter({probe: 0 for probe in PROBES})
    result: list[list[Touch]] = []
    for _ in range(blocks):
        cycles, rest = divmod(touches_per_block, len(pairs))
        block = pairs * cycles + _remainder(list(sites), rest, used_sites, used_probes, rng)
        for touch in block:
            used_sites[touch.site] += 1
            used_probes[touch.probe] += 1
        order = rng.permutation(len(block))
        result.append([block[i] for i in order])
    return result


def _remainder(sites: list[str], count: int, used_sites: Counter[str], used_probes: Counter[str],
               rng: np.random.Generator) -> list[Touch]:
    """``count`` (< 2 x sites) different pairs with each site and probe given out evenly,
    the least used (over the session so far) first."""
    if count == 0:
        return []
    ties = rng.permutation(len(sites))
    order = sorted(range(len(sites)), key=lambda i: (used_sites[sites[i]], ties[i]))
    ranked = [sites[i] for i in order]
    least = min(PROBES, key=lambda p: (used_probes[p], rng.random()))
    other = PROBES[1] if least == PROBES[0] else PROBES[0]
    # Probes alternate along the sites; a site's second touch takes the other probe. The
    # start is chosen so that an odd one out goes to the least-used probe.
    start = least if count < len(ranked) or len(ranked) % 2 == 1 else other
    first: list[Touch] = []
    for i, site in enumerate(ranked[: min(count, len(ranked))]):
        first.append(Touch(site, start if i % 2 == 0 else (other if start == least else least)))
    second = [Touch(t.site, PROBES[1] if t.probe == PROBES[0] else PROBES[0])
              for t in first[: count - len(first)]]
    return first + second


@dataclass(frozen=True)
class TouchScore:
    """Accuracy of some touches: ``n`` touches, how many had the site, the probe and both
    named right (a touch with no answer counts as wrong), and the median response time of
    the answered ones (seconds from the touch cue; None if none was answered)."""

    n: int
    site_correct: int
    probe_correct: int
    both_correct: int
    answered: int
    median_rt_s: float | None

    @property
    def site_accuracy(self) -> float | None:
        """Fraction of the touches with the site named right (None with no touches)."""
        return self.site_correct / self.n if self.n else None

    @property
    def probe_accuracy(self) -> float | None:
        """Fraction of the touches with the probe named right (None with no touches)."""
        return self.probe_correct / self.n if self.n else None

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-able figures, the accuracies included."""
        return {"n": self.n, "site_correct": self.site_correct, "probe_correct": self.probe_correct,
                "both_correct": self.both_correct, "answered": self.answered,
                "site_accuracy": self.site_accuracy, "probe_accuracy": self.probe_accuracy,
                "median_rt_s": self.median_rt_s}  # fmt: skip


def score_touches(answers: Sequence[tuple[bool, bool, float | None]]) -> TouchScore:
    """Score (site right?, probe right?, response time s or None) of each touch."""
    rts = [rt for _, _, rt in answers if rt is not None]
    return TouchScore(
        n=len(answers), site_correct=sum(site for site, _, _ in answers),
        probe_correct=sum(probe for _, probe, _ in answers),
        both_correct=sum(site and probe for site, probe, _ in answers), answered=len(rts),
        median_rt_s=float(median(rts)) if rts else None,
    )  # fmt: skip
