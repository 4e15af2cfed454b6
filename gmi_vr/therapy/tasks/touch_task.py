"""Tactile discrimination training as a session-plan block ("touch"): the whole training of
``TouchSettings`` (its blocks of touches and the rests between) in one task.

One touch (one slot of ``interval_s``, so the pace is fixed whatever the patient does)::

    lead (lead_s): the console shows what comes next, counting down
    cue: "touch now" on the console ("touch.cue" event); the therapist touches the named
         site with the named probe; the patient's answer is open until the slot ends
    answer: thumbstick left/right picks the site on the small map in view (each touch starts
         at the map's first site), a probe button (small / large) answers; feedback follows

The response time runs from the cue's display time to the probe button's own change time
(``ButtonEdges``: the input's time when the source gives one, else the frame's). It is not
the moment of contact, which nothing measures here: the therapist touches at the cue.

Mirrored touch (``mirrored_touch``, in a block whose view is "mirrored") begins with the
dysynchiria screen: a few touches of the *healthy* limb, shown on the limb in the affected
place, each followed by the question "pain or tingling in your affected hand?" (CLINICAL.md,
Acerra & Moseley 2005). Any "yes" stops mirrored touch for the session: a
"safety.dysynchiria" event (the runner raises a safety alert for the therapist, as for a
pain flare), and the remaining mirrored blocks run with the limb hidden, touching the
affected limb. The runner passes the stop on to later touch blocks
(``TaskContext.mirrored_touch_allowed``).

Pause rule (as in the laterality task): a pause while a touch is cued and unanswered voids
it ("touch.void") and the same touch comes again; a screening touch is given again; rest
time paused does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gmi_vr.body.pose import BodyPose, LimbMode
from gmi_vr.body.skeleton import JOINT_INDEX
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side, TrackingFrame
from gmi_vr.geometry.transforms import matrix_from_pose, translation_matrix
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem
from gmi_vr.therapy.content.contexts import instruction, readable_height
from gmi_vr.therapy.content.scenes import CORRECT_COLOR, WRONG_COLOR
from gmi_vr.therapy.content.stimuli import place_in_front
from gmi_vr.therapy.plan.program import BodyPart, Program
from gmi_vr.therapy.plan.touch_training import (
    PROBES,
    SITE_BONES,
    SITE_MAP,
    Touch,
    TouchScore,
    TouchView,
    score_touches,
    touch_sequence,
)
from gmi_vr.therapy.results.stage_records import ScreenRecord, TouchRecord
from gmi_vr.therapy.tasks.base import ButtonEdges, TaskContext, TaskStep
from gmi_vr.therapy.tasks.seen_touch import (
    DELAY_BOUND_MS,
    DELAY_GOAL_MS,
    LANDMARKS,
    PROBE_LENGTH_M,
    Contact,
    ContactDetector,
    Registration,
    limb_capsules,
    probe_tip,
    register,
    virtual_landmarks,
)

#: Frame times are sums of float periods; compare durations with this slack.
_EPS = 1e-9
#: The thumbstick moves the site choice once per push past ``_PUSH`` and back under ``_RELEASE``
#: (a hysteresis, so a held stick moves it once). Product choice.
_PUSH = 0.6
_RELEASE = 0.3
#: How the buttons are named in view.
BUTTON_LABELS = {"primary": "A/X", "secondary": "B/Y", "trigger_click": "trigger"}
COVER_COLOR: RGBA = (0.55, 0.6, 0.7, 1.0)  # a plain cloth over the hidden limb
MARK_COLOR: RGBA = (0.95, 0.85, 0.3, 1.0)  # where a mirrored touch lands
#: A shown touch stays marked this long after the cue. Product choice: seen, then gone.
MARK_S = 1.0
#: The screening question comes this long after its touch's cue: the touch is seen first.
#: Product choice.
ASK_AFTER_S = 1.5
#: The site map: this far ahead and below eye level, straight ahead (metres); each site's
#: label this far from the map's centre per map unit, across and up (labels never overlap).
MAP_AHEAD_M = 0.7
MAP_DROP_M = 0.1
MAP_SIDE_M = 0.0
MAP_UNIT_X_M = 0.26
MAP_UNIT_Y_M = 0.09
SELECTED_BACKGROUND: RGBA = (0.2, 0.45, 0.75, 0.9)
#: Seen touch: the probe's rod (a 6 mm square rod, drawn the probe's length ahead of the
#: grip), its tip's colour, and the soft mark a contact leaves on the limb (starting this
#: opaque and fading out over ``MARK_S``; at least 12 mm across so it can be seen).
PROBE_ROD_M = 0.006
PROBE_COLOR: RGBA = (0.85, 0.75, 0.6, 1.0)
PROBE_TIP_COLOR: RGBA = (0.7, 0.55, 0.4, 1.0)
SEEN_MARK_ALPHA = 0.8


def _words(name: str) -> str:
    return name.replace("_", " ")


@dataclass(frozen=True)
class TherapistCue:
    """What the console shows the therapist now (plain data): ``headline`` the cue itself
    ("TOUCH NOW ..." while a touch is due, else what comes next), ``now`` True while the
    therapist should touch, ``lines`` the rest (block, countdown, scores, screen results)."""

    headline: str
    now: bool
    lines: tuple[str, ...]


class TouchTask:
    """The touch training of ``program.touch`` as one block of the plan."""

    kind = "touch"
    involves_movement = False
    scene_context = "clinic"
    #: A touch under way is never cut by a scheduled question (``base.TrialPaced``): the
    #: therapist's probe may be on the limb; the question waits for the pause between touches.
    cut_when_late = False

    def __init__(self, program: Program, context: TaskContext) -> None:
        self.settings = program.touch
        self.context = context
        self.affected = program.affected_side
        self.body_part = program.body_part
        self.hand = program.affected_side.other  # the healthy hand answers
        self.plan = touch_sequence(self.settings.sites, self.settings.touches_per_block,
                                   self.settings.blocks, context.seed)
        self.records: list[TouchRecord] = []
        self.screens: list[ScreenRecord] = []
        #: False once a report in the screen (here or in an earlier block) stopped mirrored touch.
        self.mirrored_allowed = context.mirrored_touch_allowed
        self._screened = False
        self._block = 0
        self._queue: list[Touch] = []
        self._done_in_block = 0
        self._phase = "start"  # start -> [screen_lead -> screen_touch]* -> lead -> touch ... -> rest -> ... -> done
        self._phase_start: float | None = None
        self._current: Touch | None = None
        self._cue_at: float | None = None
        self._answered: TouchRecord | None = None
        self._screen_index = 0
        self._screen_site = ""
        self._rest_done_s = 0.0
        self._edges = ButtonEdges()
        self._choice = 0
        self._stick_out = False
        self._inputs = ((self.hand, self.settings.small_button), (self.hand, self.settings.large_button))
        self._last_now = 0.0
        self._view = TouchView.HIDDEN
        # Seen touch (``TouchSettings.seen_touch``): the registration and the contacts.
        self.seen = self.settings.seen_touch
        self.registration: Registration | None = None
        self.attempts: list[Registration] = []
        self.contacts: list[dict[str, Any]] = []  # each "touch.contact" event's data
        self._registered_at: float | None = None
        self._touched_points: list[np.ndarray] = []
        self._probe_edges = ButtonEdges()
        self._detector = ContactDetector()
        self._shown: Contact | None = None

    @staticmethod
    def build(program: Program, context: TaskContext) -> TouchTask:
        """The task for one plan block (``TaskBuilder``, in ``registry.TASK_BUILDERS``)."""
        return TouchTask(program, context)

    # --- what the block shows and how the limb is driven --------------------------------------

    @property
    def view(self) -> TouchView:
        """The view of the block running now (a mirrored block runs hidden once mirrored
        touch has been stopped)."""
        return self._view

    @property
    def mirrored_touch_now(self) -> bool:
        """The healthy limb is touched and the touch shown in the affected place."""
        return self._view is TouchView.MIRRORED and self.settings.mirrored_touch and self.mirrored_allowed

    @property
    def limb_mode(self) -> LimbMode:
        """How the body shows the affected limb: the mirror in a mirrored block, else still."""
        return LimbMode.MIRROR if self._view is TouchView.MIRRORED and self._phase != "rest" else LimbMode.STILL

    @property
    def blend(self) -> float:
        """Always mirrored or still: 0 (no blend)."""
        return 0.0

    @property
    def between_trials(self) -> bool:
        """Between touches (``base.TrialPaced``): the lead before a cue, a rest, or before the
        training starts; never while a touch is cued, a screening touch asked, or the seen
        limb registered."""
        return self._phase in ("start", "lead", "screen_lead", "rest", "done")

    def block_scores(self) -> list[TouchScore]:
        """Accuracy of each training block so far (touches answered or timed out)."""
        return [score_touches([(r.site_correct, r.probe_correct, r.rt_s) for r in self.records
                               if r.touch_block == b]) for b in range(self.settings.blocks)]  # fmt: skip

    def session_score(self) -> TouchScore:
        """Accuracy of every touch of the training so far."""
        return score_touches([(r.site_correct, r.probe_correct, r.rt_s) for r in self.records])

    # --- the frame step ---------------------------------------------------------------------

    def update(self, frame: TrackingFrame, body: BodyPose | None) -> TaskStep:
        """Advance to ``frame``: the lead, the cue, the answer, the rests (module docstring)."""
        now = frame.time_s
        self._last_now = now
        events: list[Event] = []
        records: list[TouchRecord | ScreenRecord] = []
        self._move_choice(frame)
        presses = self._edges.presses(frame, self._inputs)
        probe_presses = self._probe_edges.presses(frame, ((self.affected, "trigger_click"),)) if self.seen else []
        if self._phase == "start":
            if self.seen and self.registration is None:
                self._start_registration(now, events)
            else:
                self._start_block(now, events)
        if self._phase == "register" and probe_presses:
            self._take_landmark(frame, body, now, events)
        if self._phase_start is None:
            self._phase_start = now
        elapsed = now - self._phase_start
        s = self.settings

        if self._phase == "rest" and self._rest_done_s + elapsed + _EPS >= s.rest_s:
            self._block += 1
            self._start_block(now, events)
            elapsed = 0.0
        if self._phase == "screen_lead" and elapsed + _EPS >= s.lead_s:
            self._cue_at = now
            self._enter("screen_touch", now)
            events.append(Event(now, "touch.cue", {
                "screen": True, "screen_index": self._screen_index, "site": self._screen_site,
                "touched": "healthy", "side": self.affected.other.value, "block_index": self.context.block_index,
            }))  # fmt: skip
        elif self._phase == "screen_touch" and elapsed + _EPS >= ASK_AFTER_S:
            for hand, name, at, _ in presses:
                if at + _EPS < now - elapsed + ASK_AFTER_S:
                    continue  # pressed before the question was shown
                report = name == s.small_button  # yes / no, as the question labels them
                records.append(self._screened_touch(now - elapsed + ASK_AFTER_S, at, f"{hand.value}.{name}",
                                                    report, events))  # fmt: skip
                break
        elif self._phase == "lead" and elapsed + _EPS >= s.lead_s:
            self._current = self._queue[0]
            self._cue_at = now
            self._choice = 0
            self._answered = None
            self._enter("touch", now)
            events.append(Event(now, "touch.cue", {
                "block_index": self.context.block_index, "touch_block": self._block,
                "touch_index": self._done_in_block, "site": self._current.site, "probe": self._current.probe,
                "view": self._view.value, "touched": self._touched(),
                "side": (self.affected.other if self.mirrored_touch_now else self.affected).value,
            }))  # fmt: skip
        elif self._phase == "touch":
            if self._answered is None:
                valid = [p for p in presses if self._cue_at is not None and p[2] + _EPS >= self._cue_at]
                if valid:
                    hand, name, at, source = valid[0]
                    probe = PROBES[0] if name == s.small_button else PROBES[1]
                    records.append(self._record(s.sites[self._choice], probe, f"{hand.value}.{name}", at, source,
                                                events))  # fmt: skip
            if elapsed + _EPS >= s.interval_s - s.lead_s:
                if self._answered is None:
                    records.append(self._record(None, None, None, None, None, events))
                self._next_touch(now, events)
        self._detect_contact(frame, body, now, events)
        return TaskStep(self._draw(now, body, frame), tuple(events), tuple(records), self._phase == "done")

    def interrupt(self, time_s: float, reason: str) -> TaskStep:
        """A pause voids the touch on cue (given again), restarts a screening touch, holds a
        rest, and starts a registration under way again from its first landmark (the limb may
        have moved while paused: landmarks touched before would no longer fit it)."""
        events: list[Event] = []
        if self._phase == "register":
            if self._touched_points:
                events.append(Event(time_s, "touch.registration_restart", {
                    "block_index": self.context.block_index, "reason": reason,
                    "dropped": len(self._touched_points)}))  # fmt: skip
            self._touched_points = []
            self._probe_edges = ButtonEdges()  # a trigger held through the pause is no confirmation
            self._phase_start = None
        elif self._phase == "touch" and self._answered is None and self._current is not None:
            events.append(Event(time_s, "touch.void", {
                "block_index": self.context.block_index, "touch_block": self._block,
                "touch_index": self._done_in_block, "site": self._current.site, "probe": self._current.probe,
                "reason": reason,
            }))  # fmt: skip
            self._enter("lead", None)
        elif self._phase == "touch":  # answered: the slot's remaining wait is dropped
            self._next_touch(time_s, events)
            self._phase_start = None
        elif self._phase in ("lead", "screen_lead"):
            self._phase_start = None
        elif self._phase == "screen_touch":
            self._enter("screen_lead", None)  # the screening touch is given again
        elif self._phase == "rest" and self._phase_start is not None:
            self._rest_done_s += time_s - self._phase_start
            self._phase_start = None
        return TaskStep(events=tuple(events))

    # --- the course of the training ------------------------------------------------------------

    def _start_block(self, now: float, events: list[Event]) -> None:
        s = self.settings
        if self._block >= s.blocks:
            events.append(Event(now, "touch.end", {
                "block_index": self.context.block_index, "score": self.session_score().to_dict(),
                "blocks": [score.to_dict() for score in self.block_scores()],
                "mirrored_touch_stopped": not self.mirrored_allowed,
                **({"seen_touch": self.seen_summary()} if self.seen else {}),
            }))  # fmt: skip
            self._enter("done", now)
            return
        wanted = s.view_of(self._block)
        if wanted is TouchView.MIRRORED and s.mirrored_touch and not self.mirrored_allowed:
            wanted = TouchView.HIDDEN  # mirrored touch was stopped: the classic, limb hidden
        self._view = wanted
        self._queue = list(self.plan[self._block])
        self._done_in_block = 0
        events.append(Event(now, "block.start", {
            "kind": self.kind, "block_index": self.context.block_index, "touch_block": self._block,
            "view": wanted.value, "seed": self.context.seed, "touches": len(self._queue),
            "mirrored_touch": self.mirrored_touch_now,
        }))  # fmt: skip
        events.append(Event(now, "body.mode", {"mode": self.limb_mode.value, "blend": 0.0}))
        if self.mirrored_touch_now and not self._screened:
            self._screen_index = 0
            self._screen_site = s.sites[0]
            self._enter("screen_lead", now)
        else:
            self._enter("lead", now)

    def _next_touch(self, now: float, events: list[Event]) -> None:
        self._queue.pop(0)
        self._done_in_block += 1
        self._current = None
        self._cue_at = None
        if self._queue:
            self._enter("lead", now)
            return
        score = self.block_scores()[self._block]
        events.append(Event(now, "touch.block_end", {
            "block_index": self.context.block_index, "touch_block": self._block, "view": self._view.value,
            "score": score.to_dict(),
        }))  # fmt: skip
        if self._block + 1 < self.settings.blocks and self.settings.rest_s > 0:
            self._rest_done_s = 0.0
            self._enter("rest", now)
            events.append(Event(now, "body.mode", {"mode": LimbMode.STILL.value, "blend": 0.0}))
        else:
            self._block += 1
            self._start_block(now, events)

    def _screened_touch(self, asked_at: float, at: float, by: str, report: bool,
                        events: list[Event]) -> ScreenRecord:
        assert self._cue_at is not None
        record = ScreenRecord(self.context.block_index, self._block, self._screen_index, self._screen_site,
                              self.affected.other.value, self._cue_at, asked_at, at, by, report)  # fmt: skip
        self.screens.append(record)
        events.append(Event(at, "touch.screen", record.to_dict()))
        if report:
            self.mirrored_allowed = False
            self._screened = True
            events.append(Event(at, "safety.dysynchiria", {
                "site": self._screen_site, "screen_index": self._screen_index,
                "affected_side": self.affected.value, "touch_block": self._block,
            }))  # fmt: skip
            self._view = TouchView.HIDDEN
            events.append(Event(at, "body.mode", {"mode": self.limb_mode.value, "blend": 0.0}))
            self._enter("lead", at)
            return record
        self._screen_index += 1
        if self._screen_index >= self.settings.screening_touches:
            self._screened = True
            events.append(Event(at, "touch.screen_passed", {"touches": self._screen_index}))
            self._enter("lead", at)
        else:
            sites = self.settings.sites
            self._screen_site = sites[self._screen_index % len(sites)]
            self._enter("screen_lead", at)
        return record

    def _record(self, site: str | None, probe: str | None, by: str | None, at: float | None,
                source: str | None, events: list[Event]) -> TouchRecord:
        touch, cue_at = self._current, self._cue_at
        assert touch is not None and cue_at is not None
        record = TouchRecord(
            block_index=self.context.block_index, touch_block=self._block, touch_index=self._done_in_block,
            seed=self.context.seed, site=touch.site, probe=touch.probe,
            probe_mm=self.settings.probe_mm(touch.probe), view=self._view.value, touched=self._touched(),
            side=(self.affected.other if self.mirrored_touch_now else self.affected).value,
            cue_at_s=cue_at, answer_site=site, answer_probe=probe, answered_by=by, answered_at_s=at,
            rt_s=None if at is None else at - cue_at, rt_source=source,
            site_correct=site == touch.site, probe_correct=probe == touch.probe, timed_out=at is None,
        )  # fmt: skip
        self._answered = record
        self.records.append(record)
        events.append(Event(at if at is not None else self._last_now,
                            "touch.timeout" if at is None else "touch.answer", record.to_dict()))
        return record

    # --- seen touch ------------------------------------------------------------------------------

    def _start_registration(self, now: float, events: list[Event]) -> None:
        """Before the first block: the limb at plain rest (any earlier registration undone),
        the therapist touches ``LANDMARKS`` in order with the probe's tip."""
        self._touched_points = []
        self.registration = None
        events.append(Event(now, "body.registration", {"world_from_rest": None}))
        events.append(Event(now, "body.mode", {"mode": LimbMode.STILL.value, "blend": 0.0}))
        self._enter("register", now)

    def _take_landmark(self, frame: TrackingFrame, body: BodyPose | None, now: float, events: list[Event]) -> None:
        """The probe's trigger confirms the tip on the next landmark; the third registers."""
        tip = probe_tip(frame.hand(self.affected))
        if tip is None or body is None:
            return  # nothing to take: the probe is not tracked (the console says which landmark is due)
        self._touched_points.append(tip)
        landmarks = LANDMARKS[self.body_part]
        if len(self._touched_points) < len(landmarks):
            return
        # The virtual limb's landmarks as it rests now: read at the last confirmation, when the
        # limb has long come to rest (it eases there from the mode before, at most 2 cm a frame).
        virtual = virtual_landmarks(body, self.affected, self.body_part)
        result = register(virtual, np.stack(self._touched_points), self.settings.registration_max_mm)
        self.attempts.append(result)
        events.append(Event(now, "touch.registration", {
            "block_index": self.context.block_index, "attempt": len(self.attempts),
            "rms_mm": result.rms_mm, "bound_mm": result.bound_mm, "accepted": result.accepted,
            "landmarks": [name for name, _, _ in landmarks], "residuals_mm": list(result.residuals_mm),
            "touched": [p.tolist() for p in self._touched_points],
            "world_from_rest": result.world_from_rest.reshape(-1).tolist(),
        }))  # fmt: skip
        self._touched_points = []
        if not result.accepted:
            return  # the therapist registers again (the console says why)
        self.registration = result
        self._registered_at = now
        events.append(Event(now, "body.registration", {"world_from_rest": result.world_from_rest.reshape(-1).tolist()}))
        self._start_block(now, events)

    def _probe_mm(self) -> float:
        """The tip's diameter now: the probe of the touch on cue or next (small while registering)."""
        touch = self._current if self._current is not None else (self._queue[0] if self._queue else None)
        return self.settings.probe_mm(touch.probe if touch is not None else PROBES[0])

    def _detect_contact(self, frame: TrackingFrame, body: BodyPose | None, now: float, events: list[Event]) -> None:
        """A contact of the probe's tip with the registered limb, in a block whose limb rests
        where the real one lies (not a mirrored one): recorded, and shown in a virtual view."""
        watching = (self.registration is not None and body is not None and self._registered_at is not None
                    and now > self._registered_at and self._phase in ("lead", "touch")
                    and self._view is not TouchView.MIRRORED)  # fmt: skip
        if not watching or body is None:
            self._detector.update(now, None, 0.0, ())
            return
        capsules = limb_capsules(body, self.affected, self.body_part, SITE_BONES)
        probe_mm = self._probe_mm()
        contact = self._detector.update(now, probe_tip(frame.hand(self.affected)), probe_mm / 2000.0, capsules)
        if contact is None:
            return
        shown = self._view is TouchView.VIRTUAL
        if shown:
            self._shown = contact
        touch = self._current if self._phase == "touch" else None
        data: dict[str, Any] = {
            "block_index": self.context.block_index, "touch_block": self._block,
            "touch_index": self._done_in_block if touch is not None else None,
            "cued_site": touch.site if touch is not None else None, "site": contact.site,
            "probe_mm": probe_mm, "point": contact.point.tolist(), "view": self._view.value, "shown": shown,
            "contact_at_s": contact.contact_at_s, "shown_at_s": contact.shown_at_s if shown else None,
            "delay_ms": contact.delay_ms if shown else None,
        }  # fmt: skip
        self.contacts.append(data)
        events.append(Event(now, "touch.contact", data))

    def seen_summary(self) -> dict[str, Any]:
        """The seen touch so far: the registration's error, the contacts, and the shown ones'
        delays (median and largest, ms) against the goal and the bound."""
        delays = [float(c["delay_ms"]) for c in self.contacts if c["delay_ms"] is not None]
        return {
            "registration_rms_mm": self.registration.rms_mm if self.registration is not None else None,
            "registration_attempts": len(self.attempts), "contacts": len(self.contacts), "shown": len(delays),
            "median_delay_ms": float(np.median(delays)) if delays else None,
            "max_delay_ms": max(delays) if delays else None, "goal_ms": DELAY_GOAL_MS, "bound_ms": DELAY_BOUND_MS,
            "over_goal": sum(d > DELAY_GOAL_MS for d in delays), "over_bound": sum(d > DELAY_BOUND_MS for d in delays),
        }  # fmt: skip

    def _probe_items(self, frame: TrackingFrame) -> list[MeshItem]:
        """The affected side's controller drawn as the probe: a rod ahead of the grip and its
        tip, a sphere of the probe's diameter."""
        hand = frame.hand(self.affected)
        tip = probe_tip(hand)
        if tip is None:
            return []
        grip = matrix_from_pose(hand.grip)
        rod = grip @ translation_matrix(np.array([0.0, 0.0, -PROBE_LENGTH_M / 2])) \
            @ np.diag([PROBE_ROD_M, PROBE_ROD_M, PROBE_LENGTH_M, 1.0])  # fmt: skip
        size = self._probe_mm() / 1000.0
        return [MeshItem("box", rod, PROBE_COLOR),
                MeshItem("sphere", translation_matrix(tip) @ np.diag([size, size, size, 1.0]), PROBE_TIP_COLOR)]

    def _seen_mark(self, now: float) -> MeshItem | None:
        """The soft mark where the last shown contact landed, fading out over ``MARK_S``."""
        contact = self._shown
        if contact is None or not 0.0 <= now - contact.shown_at_s < MARK_S:
            return None
        fade = 1.0 - (now - contact.shown_at_s) / MARK_S
        size = max(0.012, self._probe_mm() / 1000.0)
        color: RGBA = (MARK_COLOR[0], MARK_COLOR[1], MARK_COLOR[2], SEEN_MARK_ALPHA * fade)
        return MeshItem("sphere", translation_matrix(contact.point) @ np.diag([size, size, size, 1.0]), color, lit=False)

    def _touched(self) -> str:
        return "healthy" if self.mirrored_touch_now else "affected"

    def _enter(self, phase: str, time_s: float | None) -> None:
        self._phase = phase
        self._phase_start = time_s

    def _move_choice(self, frame: TrackingFrame) -> None:
        """The thumbstick's push left or right moves the site choice one along the map's order."""
        x = float(frame.hand(self.hand).thumbstick[0])
        if self._stick_out:
            self._stick_out = abs(x) > _RELEASE
            return
        if abs(x) >= _PUSH:
            self._stick_out = True
            if self._phase == "touch" and self._answered is None:
                self._choice = (self._choice + (1 if x > 0 else -1)) % len(self.settings.sites)

    # --- the therapist's cue ---------------------------------------------------------------------

    def therapist_cue(self, time_s: float) -> TherapistCue:
        """What the console shows at ``time_s``: the touch due now or next, and the scores."""
        s = self.settings
        elapsed = 0.0 if self._phase_start is None else max(0.0, time_s - self._phase_start)
        lines: list[str] = [f"block {min(self._block + 1, s.blocks)} of {s.blocks}, view: {self._view.value}"]
        if self.mirrored_touch_now and not self._screened:
            lines.append(f"dysynchiria screen: touch {self._screen_index + 1} of {s.screening_touches}")
        if not self.mirrored_allowed:
            lines.append("MIRRORED TOUCH STOPPED: the patient reported pain or tingling on the affected side")
        headline, now = "", False
        healthy, affected = self.affected.other.value, self.affected.value
        part = _words(self.body_part.value)
        if self.seen:
            lines += self._seen_lines()
        if self._phase == "register":
            landmarks = LANDMARKS[self.body_part]
            name = landmarks[len(self._touched_points)][0]
            headline = (f"REGISTER the resting {affected} {part} ({len(self._touched_points) + 1} of {len(landmarks)}):\n"
                        f"touch the {name} with the probe's tip, pull its trigger")  # fmt: skip
        elif self._phase in ("screen_lead", "screen_touch"):
            where = f"{_words(self._screen_site)}\nHEALTHY {healthy} {part}"
            if self._phase == "screen_lead":
                headline = f"next in {max(0.0, s.lead_s - elapsed):.0f} s (screen):\n{where}"
            else:
                headline, now = f"TOUCH NOW (screen):\n{where}", elapsed < ASK_AFTER_S
                if elapsed >= ASK_AFTER_S:
                    headline = f"asking the patient:\npain or tingling in the {affected} {part}?"
        elif self._phase in ("lead", "touch") and self._queue:
            touch = self._queue[0]
            limb = f"HEALTHY {healthy}" if self.mirrored_touch_now else f"affected {affected}"
            what = f"{_words(touch.site)}, {touch.probe} probe ({s.probe_mm(touch.probe):g} mm)\n{limb} {part}"
            if self._phase == "lead":
                headline = f"next in {max(0.0, s.lead_s - elapsed):.0f} s:\n{what}"
            else:
                headline, now = f"TOUCH NOW:\n{what}", self._answered is None
            lines.append(f"touch {self._done_in_block + 1} of {s.touches_per_block}")
        elif self._phase == "rest":
            left = max(0.0, s.rest_s - self._rest_done_s - elapsed)
            headline = f"rest: {left:.0f} s until block {self._block + 2}"
        elif self._phase == "done":
            headline = "touch training done"
        for index, score in enumerate(self.block_scores()):
            if score.n:
                lines.append(f"block {index + 1}: site {score.site_correct}/{score.n}, "
                             f"probe {score.probe_correct}/{score.n}")
        total = self.session_score()
        if total.n:
            lines.append(f"session: site {total.site_correct}/{total.n}, probe {total.probe_correct}/{total.n}")
        return TherapistCue(headline, now, tuple(lines))

    def _seen_lines(self) -> list[str]:
        """The registration's error (or why to register again) and the last touch's delay."""
        lines: list[str] = []
        last = self.attempts[-1] if self.attempts else None
        if self.registration is not None:
            lines.append(f"registered: {self.registration.rms_mm:.1f} mm RMS (bound {self.registration.bound_mm:g} mm)")
        elif last is not None:
            lines.append(f"REGISTER AGAIN: {last.rms_mm:.1f} mm RMS is over the bound of {last.bound_mm:g} mm; "
                         "keep the limb still and touch each landmark squarely")  # fmt: skip
        if self.contacts:
            contact = self.contacts[-1]
            where = _words(contact["site"]) if contact["site"] else "limb"
            delay = f", shown after {contact['delay_ms']:.0f} ms" if contact["delay_ms"] is not None else ""
            lines.append(f"probe touched: {where}{delay}")
        return lines

    # --- drawing ---------------------------------------------------------------------------------

    def _draw(self, now: float, body: BodyPose | None, frame: TrackingFrame) -> DrawList:
        anchor = self.context.anchor
        meshes: list[MeshItem] = self._probe_items(frame) if self.seen and self._phase != "done" else []
        texts: list[TextItem] = []
        s = self.settings
        if self._phase == "register":
            part = _words(self.body_part.value)
            texts.append(instruction(anchor, f"Rest your {self.affected.value} {part} still.\n"
                                             "Your therapist is placing it."))  # fmt: skip
            return DrawList(meshes=tuple(meshes), texts=tuple(texts))
        if self._phase == "rest":
            left = max(0.0, s.rest_s - self._rest_done_s - (now - (self._phase_start or now)))
            texts.append(instruction(anchor, f"Rest.\nThe next block starts in {left:.0f} s."))
            return DrawList(meshes=tuple(meshes), texts=tuple(texts))
        if self._phase == "done":
            return DrawList()
        if body is not None and self._view is TouchView.HIDDEN:
            meshes.append(self._cover(body))
        seen_mark = self._seen_mark(now) if self._view is TouchView.VIRTUAL else None
        if seen_mark is not None:
            meshes.append(seen_mark)
        shown = self._phase in ("screen_touch", "touch") and self._cue_at is not None and now - self._cue_at < MARK_S
        site = self._screen_site if self._phase == "screen_touch" else (self._current.site if self._current else "")
        if body is not None and shown and (self._phase == "screen_touch" or self.mirrored_touch_now):
            mark = self._mark(body, site)
            if mark is not None:
                meshes.append(mark)
        if self._phase == "screen_touch" and self._cue_at is not None and now - self._cue_at + _EPS >= ASK_AFTER_S:
            yes, no = BUTTON_LABELS.get(s.small_button, s.small_button), BUTTON_LABELS.get(s.large_button, s.large_button)
            part = _words(self.body_part.value)
            texts.append(instruction(anchor, f"Any pain or tingling in your {self.affected.value} {part}?\n"
                                             f"{yes}: yes      {no}: no"))  # fmt: skip
        elif self._phase in ("lead", "touch", "screen_lead"):
            texts += self._site_map()
            if self._phase == "touch" and self._answered is not None and s.feedback and self._answered.answered_at_s is not None \
                    and now - self._answered.answered_at_s < s.feedback_s:  # fmt: skip
                record = self._answered
                right = record.site_correct and record.probe_correct
                said = "Yes" if right else "It was"
                texts.append(TextItem(f"{said}: {_words(record.site)}, {record.probe} probe",
                                      place_in_front(anchor, MAP_AHEAD_M, -MAP_DROP_M + 2.0 * MAP_UNIT_Y_M, self._map_right()),
                                      height_m=readable_height(MAP_AHEAD_M) * 1.2,
                                      background=CORRECT_COLOR if right else WRONG_COLOR))  # fmt: skip
        return DrawList(meshes=tuple(meshes), texts=tuple(texts))

    def _map_right(self) -> float:
        return MAP_SIDE_M if self.hand is Side.RIGHT else -MAP_SIDE_M

    def _site_map(self) -> list[TextItem]:
        """The small site map: each site's name where it lies on the limb (``SITE_MAP``; a left
        limb's map mirrored), the chosen one highlighted, and which button names which probe."""
        anchor = self.context.anchor
        s = self.settings
        height = readable_height(MAP_AHEAD_M)
        flip = -1.0 if self.affected is Side.LEFT else 1.0
        items: list[TextItem] = []
        for index, site in enumerate(s.sites):
            x, y = SITE_MAP.get(site, (-0.9 + 1.8 * index / max(1, len(s.sites) - 1), -1.0))
            chosen = self._phase == "touch" and self._answered is None and index == self._choice
            items.append(TextItem(_words(site), place_in_front(anchor, MAP_AHEAD_M, -MAP_DROP_M + y * MAP_UNIT_Y_M,
                                                               self._map_right() + flip * x * MAP_UNIT_X_M),
                                  height_m=height,
                                  background=SELECTED_BACKGROUND if chosen else (0.0, 0.0, 0.0, 0.6)))  # fmt: skip
        small, large = BUTTON_LABELS.get(s.small_button, s.small_button), BUTTON_LABELS.get(s.large_button, s.large_button)
        items.append(TextItem(f"stick: where   {small}: small probe   {large}: large probe",
                              place_in_front(anchor, MAP_AHEAD_M, -MAP_DROP_M - 1.8 * MAP_UNIT_Y_M, self._map_right()),
                              height_m=height))  # fmt: skip
        return items

    def _cover(self, body: BodyPose) -> MeshItem:
        """A cloth over the affected forearm and hand (a foot patient's lower leg and foot),
        as a screen hides the limb in the clinic."""
        prefix = self.affected.value
        near, far = ("LowerLeg", "Foot") if self.body_part is BodyPart.FOOT else ("LowerArm", "Hand")
        elbow = body.world_from_joint[JOINT_INDEX[f"{prefix}{near}"], :3, 3]
        wrist = body.world_from_joint[JOINT_INDEX[f"{prefix}{far}"], :3, 3]
        along = wrist - elbow
        length = float(np.linalg.norm(along))
        axis = along / length if length > 1e-6 else np.array([0.0, 0.0, -1.0])
        up = np.array([0.0, 1.0, 0.0])
        side = np.cross(up, axis)
        side = side / np.linalg.norm(side) if np.linalg.norm(side) > 1e-6 else np.array([1.0, 0.0, 0.0])
        normal = np.cross(axis, side)
        world = np.eye(4)
        world[:3, 0], world[:3, 1], world[:3, 2] = side, normal, axis
        # From just behind the elbow to a hand's length past the wrist, over the limb.
        world[:3, 3] = elbow + axis * (length + 0.22) / 2 - axis * 0.04 + normal * 0.02
        return MeshItem("box", world @ np.diag([0.16, 0.1, length + 0.3, 1.0]), COVER_COLOR)

    def _mark(self, body: BodyPose, site: str) -> MeshItem | None:
        """The touch shown at ``site`` of the displayed affected limb (sized by the probe,
        never smaller than 12 mm so it can be seen)."""
        bone = SITE_BONES.get(site)
        if bone is None:
            return None
        position = body.world_from_joint[JOINT_INDEX[f"{self.affected.value}{bone}"], :3, 3]
        probe = self._current.probe if self._current is not None else PROBES[1]
        size = max(0.012, self.settings.probe_mm(probe) / 1000.0)
        world = np.eye(4)
        world[:3, 3] = position
        return MeshItem("sphere", world @ np.diag([size, size, size, 1.0]), MARK_COLOR, lit=False)
