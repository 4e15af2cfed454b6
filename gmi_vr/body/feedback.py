"""Controlled visual-feedback conditions for studies: how the affected limb is shown.

A research program may set one condition per block of mirror or movement practice
(``therapy.plan.program.BlockFeedback``); the solve (``solve.solve_body``) applies it to the
affected limb only, after the limb mode has given the limb's live target:

- ``mirror``: the live limb, as the mode shows it (the clinical picture; no manipulation);
- ``delayed``: the limb shown where its live target was ``delay_ms`` earlier (in mirror mode:
  where the healthy limb's reflection was), read from a time-indexed history of the live
  targets and interpolated between the two recorded frames around that time (position
  linearly, orientation by slerp; the finger pose of the nearer frame), so it is exact to
  well within one frame;
- ``sham``: the limb replays, reflected, the healthy limb's movement of the ``SHAM_SOURCE_S``
  seconds before the condition began (the same session's own earlier movement, looped from
  its oldest frame) instead of any live pose. With no earlier movement (the healthy limb was
  never tracked before the block) the limb rests, as in imagery, for the whole block: a sham
  never falls back to the live mirror;
- ``hidden``: the affected arm is not drawn at all (cut at the shoulder).

What tasks measure is the live limb (``BodyPose.measured``): a condition changes only what
the patient sees, so every block has the same targets, pacing and measures whatever its
condition. Plain data and pure logic: no GL, no clock (times come from the frames).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from gmi_vr.core.errors import InputFileError
from gmi_vr.core.types import FloatArray
from gmi_vr.geometry.transforms import quat_slerp

#: The longest added delay a study may set. 1000 ms covers the delays of the delayed
#: virtual-hand studies (ownership held below about 190 ms and was lost by 590 ms).
MAX_DELAY_MS = 1000.0
#: How much of the session's earlier healthy-limb movement a sham block replays (looped).
#: Product choice: long enough that the loop is not noticed in a few reaches, small enough
#: to keep in memory (about 3000 poses at 90 Hz).
SHAM_SOURCE_S = 30.0


class FeedbackKind(StrEnum):
    """The visual-feedback conditions (the block params' ``feedback`` values)."""

    MIRROR = "mirror"
    DELAYED = "delayed"
    SHAM = "sham"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class FeedbackCondition:
    """One condition: ``kind``, the added delay in milliseconds (0 unless ``delayed``) and
    ``since_s``, the frame time it began (a sham replays the movement before it)."""

    kind: FeedbackKind = FeedbackKind.MIRROR
    delay_ms: float = 0.0
    since_s: float = 0.0

    def __post_init__(self) -> None:
        problem = feedback_problem(self.kind.value, self.delay_ms)
        if problem is not None:
            raise InputFileError(problem)

    @property
    def live(self) -> bool:
        """The live picture: nothing manipulated."""
        return self.kind is FeedbackKind.MIRROR

    def label(self) -> str:
        """For the therapist's status line: "delayed 300 ms", "sham", ..."""
        if self.kind is FeedbackKind.DELAYED:
            return f"delayed {self.delay_ms:g} ms"
        return self.kind.value


def feedback_problem(kind: object, delay_ms: object) -> str | None:
    """The one sentence saying what is wrong with a condition, None when it is valid."""
    kinds = ", ".join(k.value for k in FeedbackKind)
    if kind not in {k.value for k in FeedbackKind}:
        return f"Visual feedback {kind!r} is unknown; use one of {kinds}."
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int | float) or not np.isfinite(delay_ms):
        return f"The feedback delay must be a number of milliseconds, not {delay_ms!r}."
    if kind == FeedbackKind.DELAYED.value and not 0.0 <= float(delay_ms) <= MAX_DELAY_MS:
        return f"The feedback delay is {delay_ms:g} ms; set 0 to {MAX_DELAY_MS:g} ms."
    if kind != FeedbackKind.DELAYED.value and float(delay_ms) != 0.0:
        return f"A feedback delay applies only to the delayed condition; set it to 0 for {kind}."
    return None


@dataclass(frozen=True)
class LimbSample:
    """One frame's pose of a limb target: grip pose (7,) world, finger rotations
    (15, 3, 3), and whether it came from live tracking."""

    grip: FloatArray
    fingers: FloatArray
    valid: bool


@dataclass
class PoseHistory:
    """Time-indexed poses of one limb target, oldest first, kept for ``keep_s`` seconds."""

    keep_s: float
    times: list[float] = field(default_factory=list)
    samples: list[LimbSample] = field(default_factory=list)

    def add(self, time_s: float, sample: LimbSample) -> None:
        """Keep ``sample`` as the pose at ``time_s`` (seconds, after every kept one), and
        forget what is older than ``keep_s`` (in batches)."""
        if self.times and time_s < self.times[-1]:
            self.clear()  # time went back: another timeline (a new source), not this one's past
        elif self.times and time_s == self.times[-1]:
            self.samples[-1] = sample
            return
        self.times.append(time_s)
        self.samples.append(sample)
        old = bisect_right(self.times, time_s - self.keep_s) - 1
        if old > 256:  # trim in batches: one list copy per few hundred frames
            del self.times[:old]
            del self.samples[:old]

    def clear(self) -> None:
        """Forget every kept pose."""
        self.times.clear()
        self.samples.clear()

    def at(self, time_s: float) -> LimbSample | None:
        """The pose at ``time_s``, interpolated between the frames around it; the oldest
        (newest) kept pose before (after) the history; None when it is empty."""
        if not self.times:
            return None
        after = bisect_right(self.times, time_s)
        if after == 0:
            return self.samples[0]
        if after == len(self.times):
            return self.samples[-1]
        t0, t1 = self.times[after - 1], self.times[after]
        a, b = self.samples[after - 1], self.samples[after]
        u = (time_s - t0) / (t1 - t0)
        grip = np.concatenate([a.grip[:3] + u * (b.grip[:3] - a.grip[:3]), quat_slerp(a.grip[3:], b.grip[3:], u)])
        return LimbSample(grip, a.fingers if u < 0.5 else b.fingers, a.valid and b.valid)

    def since(self, start_s: float, end_s: float) -> PoseHistory:
        """A copy of the poses from ``start_s`` to ``end_s`` (inclusive)."""
        first, last = bisect_right(self.times, start_s - 1e-12), bisect_right(self.times, end_s)
        return PoseHistory(self.keep_s, self.times[first:last], self.samples[first:last])


@dataclass
class FeedbackState:
    """What the conditions remember between frames (``solve.BodyState.feedback``): the live
    affected-limb targets (for ``delayed``), the healthy limb's reflection (for ``sham``),
    and the sham's source once a sham began."""

    shown: PoseHistory = field(default_factory=lambda: PoseHistory(MAX_DELAY_MS / 1000.0 + 0.5))
    mirrored: PoseHistory = field(default_factory=lambda: PoseHistory(SHAM_SOURCE_S))
    sham_source: PoseHistory | None = None
    sham_for: FeedbackCondition | None = None

    def record(self, time_s: float, shown: LimbSample, mirrored: LimbSample) -> None:
        """Keep one frame's live affected-limb target and healthy-limb reflection."""
        self.shown.add(time_s, shown)
        self.mirrored.add(time_s, mirrored)

    def delayed(self, time_s: float, delay_ms: float) -> LimbSample | None:
        """The live target ``delay_ms`` before ``time_s``; None before the first frame."""
        return self.shown.at(time_s - delay_ms / 1000.0)

    def sham(self, time_s: float, condition: FeedbackCondition) -> LimbSample | None:
        """The replayed reflection for ``time_s``; None when the session had no earlier
        movement to replay (the limb then rests)."""
        if self.sham_for != condition:  # a new sham: take the movement before it as its source
            self.sham_for = condition
            earlier = self.mirrored.since(condition.since_s - SHAM_SOURCE_S, condition.since_s)
            moved = len(earlier.times) >= 2 and any(s.valid for s in earlier.samples)
            self.sham_source = earlier if moved else None
        source = self.sham_source
        if source is None:
            return None
        start, span = source.times[0], source.times[-1] - source.times[0]
        return source.at(start + (time_s - condition.since_s) % span)

