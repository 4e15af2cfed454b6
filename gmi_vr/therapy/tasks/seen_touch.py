"""Seen touch: the therapist touches the patient's real affected limb with the patient's
unused controller (the affected side's) as the probe, and the virtual limb, lying where the
real one does, shows the touch where it landed (CLINICAL.md "Touch": seen and felt touch
must coincide, ownership holds below about 300 ms, aim at 100 ms).

Plain logic, no drawing: the probe's tip, registering the resting limb to three landmarks
touched with the tip (``register``), the limb's surface as capsules around its bones
(``limb_capsules``), contact with hysteresis (``ContactDetector``) and the site a contact
landed nearest. Metres and seconds; the registration error is reported in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.body.pose import BodyPose
from gmi_vr.body.skeleton import JOINT_INDEX
from gmi_vr.core.types import FloatArray, HandInput, Side
from gmi_vr.geometry.fit import capsule_gap, rigid_fit
from gmi_vr.geometry.transforms import quat_rotate
from gmi_vr.therapy.plan.program import BodyPart

#: The probe is drawn as a rod this long straight ahead of the controller's grip (its -Z,
#: out of the fist), its tip at the end: the tip is what touches. Product choice: a
#: pencil's length clear of the controller's ring, short enough to hold steady.
PROBE_LENGTH_M = 0.12
#: The landmarks registered, in the order the therapist touches them: each one's name, the
#: bone whose joint it lies over on the virtual limb (of the affected side: "left" + bone)
#: and how far above that joint the skin is touched (metres, straight up from the resting,
#: palm-down limb; the capsule radii below). Three points not on one line fix a rigid
#: placement; these are easy to find by touch on a resting limb.
LANDMARKS: dict[BodyPart, tuple[tuple[str, str, float], ...]] = {
    BodyPart.HAND: (("back of the wrist", "Hand", 0.020), ("middle knuckle", "MiddleProximal", 0.015),
                    ("elbow", "LowerArm", 0.030)),
    BodyPart.FOOT: (("front of the ankle", "Foot", 0.040), ("base of the toes", "Toes", 0.025),
                    ("kneecap", "LowerLeg", 0.045)),
}  # fmt: skip
#: Contact begins when the tip's surface is within this of the limb's surface, and ends
#: only once it is ``RELEASE_M`` further out (hysteresis: a tip resting on the skin, shaking
#: by a tracker's millimetres, makes one touch, not a flicker). Product choices.
CONTACT_TOLERANCE_M = 0.003
RELEASE_M = 0.008
#: The seen touch's delay: the goal and the bound (CLINICAL.md "Touch": ownership kept
#: below about 190-300 ms, Shimada 2009; aim at 100 ms, a margin under 190).
DELAY_GOAL_MS = 100.0
DELAY_BOUND_MS = 300.0


def probe_tip(hand: HandInput) -> FloatArray | None:
    """(3,) where the probe's tip is (the grip pose moved ``PROBE_LENGTH_M`` along its -Z),
    or None while the controller is not tracked."""
    if not hand.grip_valid:
        return None
    ahead = quat_rotate(np.asarray(hand.grip.orientation, dtype=np.float64), np.array([0.0, 0.0, -PROBE_LENGTH_M]))
    return np.asarray(hand.grip.position, dtype=np.float64) + ahead


def _joint(body: BodyPose, side: Side, bone: str) -> FloatArray:
    return np.asarray(body.world_from_joint[JOINT_INDEX[f"{side.value}{bone}"], :3, 3], dtype=np.float64)


def virtual_landmarks(body: BodyPose, side: Side, part: BodyPart) -> FloatArray:
    """(3, 3) the landmarks of ``LANDMARKS`` on the displayed limb of ``side``, world metres."""
    up = np.array([0.0, 1.0, 0.0])
    return np.stack([_joint(body, side, bone) + lift * up for _, bone, lift in LANDMARKS[part]])


@dataclass(frozen=True)
class Registration:
    """The resting limb registered to the landmarks touched on the real one:
    ``world_from_rest`` (4x4) carries the virtual limb onto the real; ``rms_mm`` the RMS of
    the landmarks' remaining distances, ``residuals_mm`` each one's; ``accepted`` when
    ``rms_mm`` is within the bound."""

    world_from_rest: FloatArray
    rms_mm: float
    residuals_mm: tuple[float, ...]
    bound_mm: float

    @property
    def accepted(self) -> bool:
        """The error is within the bound: the limb may be used."""
        return self.rms_mm <= self.bound_mm


def register(virtual: FloatArray, touched: FloatArray, bound_mm: float) -> Registration:
    """Register the (N, 3) landmarks of the virtual limb to the (N, 3) points the probe's tip
    touched on the real limb, matched in order; accepted up to ``bound_mm`` RMS
    (``TouchSettings.registration_max_mm``)."""
    fit = rigid_fit(virtual, touched)
    return Registration(fit.target_from_source, fit.rms_m * 1000.0,
                        tuple(float(r) * 1000.0 for r in fit.residuals_m), bound_mm)


@dataclass(frozen=True)
class Capsule:
    """Part of the limb's surface: a capsule of ``radius_m`` around the segment ``a``-``b``
    (world, metres); ``site`` the touch site it is, or None."""

    a: FloatArray
    b: FloatArray
    radius_m: float
    site: str | None


#: Each site's bone (``plan.touch_training.SITE_BONES``) as a capsule: from which joint to which, and its
#: radius. A fingertip's capsule runs from its last joint on by 0.8 of the bone before it
#: (a fingertip's length). Radii are adult estimates: a finger 18 mm thick, the hand 30 mm
#: (back to palm), the forearm 60 mm; the shin 90 mm, the foot 50 mm.
_HAND_BONES: tuple[tuple[str, str, str, float], ...] = (
    ("LowerArm", "LowerArm", "Hand", 0.030),
    ("Hand", "Hand", "MiddleProximal", 0.015),
    ("ThumbDistal", "ThumbProximal", "ThumbDistal", 0.009),
    ("IndexDistal", "IndexIntermediate", "IndexDistal", 0.009),
    ("MiddleDistal", "MiddleIntermediate", "MiddleDistal", 0.009),
    ("RingDistal", "RingIntermediate", "RingDistal", 0.009),
    ("LittleDistal", "LittleIntermediate", "LittleDistal", 0.009),
)
_FOOT_BONES: tuple[tuple[str, str, str, float], ...] = (
    ("LowerLeg", "LowerLeg", "Foot", 0.045),
    ("Foot", "Foot", "Toes", 0.025),
)


def limb_capsules(body: BodyPose, side: Side, part: BodyPart, site_bones: dict[str, str]) -> tuple[Capsule, ...]:
    """The displayed limb of ``side`` as capsules (forearm, hand and fingertips; a foot
    patient's shin and foot), each named by the site ``site_bones`` gives its bone."""
    sites = {bone: site for site, bone in site_bones.items()}
    capsules: list[Capsule] = []
    for bone, start, end, radius in _HAND_BONES if part is BodyPart.HAND else _FOOT_BONES:
        a, b = _joint(body, side, start), _joint(body, side, end)
        if bone.endswith("Distal"):  # the fingertip: on from the last joint
            a, b = b, b + 0.8 * (b - a)
        capsules.append(Capsule(a, b, radius, sites.get(bone)))
    return tuple(capsules)


@dataclass(frozen=True)
class Contact:
    """The probe's tip reached the limb: ``point`` the surface point nearest the tip (where
    the touch is shown), ``site`` the touch site nearest it (None when no capsule names one),
    ``contact_at_s`` when the tip reached the surface (between the two frames that saw it
    outside and inside, interpolated on the gap), ``shown_at_s`` the display time of the
    frame that first shows it."""

    point: FloatArray
    site: str | None
    contact_at_s: float
    shown_at_s: float

    @property
    def delay_ms(self) -> float:
        """From the tracked contact to the frame that shows it, milliseconds."""
        return (self.shown_at_s - self.contact_at_s) * 1000.0


def nearest(tip: FloatArray, capsules: tuple[Capsule, ...]) -> tuple[float, FloatArray, Capsule]:
    """The smallest gap between ``tip`` and the capsules' surfaces (metres), the surface point
    there and its capsule."""
    best: tuple[float, FloatArray, Capsule] | None = None
    for capsule in capsules:
        gap, point = capsule_gap(tip, capsule.a, capsule.b, capsule.radius_m)
        if best is None or gap < best[0]:
            best = (gap, point, capsule)
    if best is None:
        raise ValueError("the limb has no capsules")
    return best


def nearest_site(point: FloatArray, capsules: tuple[Capsule, ...]) -> str | None:
    """The touch site whose capsule lies nearest ``point`` (None when none is a site)."""
    named = tuple(c for c in capsules if c.site is not None)
    return nearest(point, named)[2].site if named else None


class ContactDetector:
    """Finds the probe's contacts with the limb, one per touch: contact begins when the tip's
    gap to the surface falls to its radius plus ``CONTACT_TOLERANCE_M`` and ends only when it
    rises ``RELEASE_M`` above that (hysteresis). A contact is the tip seen arriving: a tip
    already on the limb when first seen (the last landmark just registered, a probe found
    again after a loss of tracking) must leave it first."""

    def __init__(self) -> None:
        self.touching = False
        self._before: tuple[float, float] | None = None  # (time s, gap m) of the last frame

    def update(self, time_s: float, tip: FloatArray | None, tip_radius_m: float,
               capsules: tuple[Capsule, ...]) -> Contact | None:
        """The contact that began in this frame (``time_s`` its display time), else None. A
        lost probe (``tip`` None) ends a contact."""
        if tip is None or not capsules:
            self.touching, self._before = False, None
            return None
        gap, point, _ = nearest(tip, capsules)
        gap -= tip_radius_m
        before, self._before = self._before, (time_s, gap)
        if self.touching or before is None:
            self.touching = gap <= CONTACT_TOLERANCE_M + (RELEASE_M if self.touching else 0.0)
            return None
        if gap > CONTACT_TOLERANCE_M:
            return None
        self.touching = True
        contact_at = time_s
        if before is not None and before[1] > CONTACT_TOLERANCE_M and time_s > before[0]:
            # The tip crossed the threshold between the two frames: linearly in between.
            fraction = (before[1] - CONTACT_TOLERANCE_M) / (before[1] - gap)
            contact_at = before[0] + fraction * (time_s - before[0])
        return Contact(point, nearest_site(point, capsules), contact_at, time_s)
