"""Seen touch: the affected side's controller as the probe, the resting limb registered to
three landmarks touched with its tip, and each contact shown on the virtual limb in the frame
that saw it, with its delay recorded.

The simulator test scripts a "real" limb: the virtual limb's resting pose (read from a
rehearsal that registers nothing) moved by a known rigid transform. The probe controller
touches its landmarks (once badly, so the therapist is asked again), then two sites; the
store must hold the registration's error, each contact's site and delay, and each contact
must show in the very frame that detected it, where the real limb was touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.clinic_store import store_with_patient

from gmi_vr.app.patients import patient_program
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.body.pose import BodyPose
from gmi_vr.body.skeleton import JOINT_INDEX
from gmi_vr.core.types import Side
from gmi_vr.geometry.fit import rigid_fit
from gmi_vr.geometry.transforms import quat_from_axis_angle, quat_to_matrix
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.plan.program import BodyPart
from gmi_vr.therapy.tasks.seen_touch import (
    CONTACT_TOLERANCE_M,
    PROBE_LENGTH_M,
    RELEASE_M,
    Capsule,
    ContactDetector,
    virtual_landmarks,
)
from gmi_vr.therapy.tasks.touch_task import MARK_COLOR, PROBE_TIP_COLOR
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

RATE_HZ = 60.0
FRAME_S = 1.0 / RATE_HZ
SEED = 77
SEEN = {
    "session.blocks": ["touch"], "session.rating_at_start": False, "session.rating_at_end": False,
    "safety.fms_every_s": 0, "touch.interval_s": 3.0, "touch.lead_s": 1.0, "touch.touches_per_block": 3,
    "touch.blocks": 1, "touch.rest_s": 0.0, "touch.feedback_s": 0.5, "touch.views": ["virtual"],
    "touch.seen_touch": True,
}  # fmt: skip
#: Where the probe waits between touches: well above the limb.
PARK = [-0.1, 1.3, -0.3]
UP = np.array([0.0, 1.0, 0.0])


# --- contact with hysteresis -------------------------------------------------------------------


def test_a_tip_shaking_on_the_skin_makes_one_contact_and_a_lifted_one_a_new_one() -> None:
    limb = (Capsule(np.zeros(3), np.array([0.0, 0.0, -0.2]), 0.02, "forearm"),)
    detector = ContactDetector()
    tip_r = 0.001

    def at(gap_m: float) -> np.ndarray:  # the tip this far off the skin (its own surface)
        return np.array([0.0, 0.02 + tip_r + gap_m, -0.1])

    contacts = []
    gaps = [0.03, 0.02, 0.01, 0.004, 0.002, 0.005, 0.0, 0.009, 0.001, 0.006]  # in, jitter within the release band
    for i, gap in enumerate(gaps):
        contact = detector.update(i * 0.01, at(gap), tip_r, limb)
        if contact is not None:
            contacts.append((i, contact))
    assert [i for i, _ in contacts] == [4]
    (_, first), = contacts
    assert first.site == "forearm" and np.allclose(first.point, [0.0, 0.02, -0.1])
    # The tip crossed the threshold between the frames at 0.03 s (4 mm) and 0.04 s (2 mm):
    # half way, 5 ms before the frame that shows it.
    assert first.contact_at_s == pytest.approx(0.035) and first.delay_ms == pytest.approx(5.0)
    # Lifted past the band, it ends; the next approach is a new contact.
    assert detector.update(0.2, at(CONTACT_TOLERANCE_M + RELEASE_M + 0.001), tip_r, limb) is None
    assert not detector.touching
    again = detector.update(0.21, at(0.0), tip_r, limb)
    assert again is not None and again.delay_ms == pytest.approx(0.0, abs=10.0)
    # A probe that loses tracking ends the contact; found again already on the skin, it
    # must lift off before it touches again.
    assert detector.update(0.22, None, tip_r, limb) is None and not detector.touching
    assert detector.update(0.23, at(0.0), tip_r, limb) is None and detector.touching
    assert detector.update(0.24, at(0.001), tip_r, limb) is None


# --- a scripted block on the simulator -------------------------------------------------------


def motion(keyframes: list[dict[str, Any]], end_s: float) -> str:
    start = {"t": 0.0, "head": {"position": [0.0, 1.2, 0.0]},
             "left": {"position": PARK, "orientation": [0.0, 0.0, 0.0, 1.0], "trigger_click": False},
             "right": {"position": [0.2, 0.7, -0.3]}}  # fmt: skip
    lines = [{"format": "gmi-vr-motion", "version": 1, "rate_hz": RATE_HZ}, start, *keyframes, {"t": end_s}]
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def grip_for(tip: np.ndarray) -> list[float]:
    """The grip position that puts the probe's tip (straight ahead, -Z, unrotated) at ``tip``."""
    return (tip + np.array([0.0, 0.0, PROBE_LENGTH_M])).tolist()


def joint(body: BodyPose, name: str) -> np.ndarray:
    return np.array(body.world_from_joint[JOINT_INDEX[name], :3, 3])


def rest_body() -> BodyPose:
    """The displayed body while the task waits for the first landmark (nothing registered)."""
    with session_pipeline("S-1", source="sim", seed=SEED, record=False) as pipeline, \
            ScriptedFrameSource(parse_motion(motion([], 1.0))) as source:  # fmt: skip
        outputs = [pipeline.step(frame) for frame in source.frames()]
    return outputs[-1].body


def test_a_touch_of_the_registered_limb_shows_in_the_same_frame_where_it_landed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with store_with_patient(tmp_path, monkeypatch, "S-1", program=SEEN, reason="seen touch") as store:
        program = patient_program(store, "S-1")
    assert program.touch.seen_touch and program.touch.registration_max_mm == 20.0

    body = rest_body()
    virtual = virtual_landmarks(body, Side.LEFT, BodyPart.HAND)
    # The real limb lies 4 cm further out and 3 cm to the side, turned 10 degrees about the
    # vertical through its wrist, of where the virtual one rests.
    turn = quat_to_matrix(quat_from_axis_angle(UP, np.radians(10.0)))
    wrist = joint(body, "leftHand")

    def real(point: np.ndarray) -> np.ndarray:
        return np.asarray(turn @ (point - wrist) + wrist + np.array([-0.03, 0.0, -0.04]))

    touched_good = np.array([real(p) for p in virtual])
    touched_good[1] += [0.003, 0.0, 0.0]  # the knuckle found 3 mm off
    touched_bad = touched_good.copy()
    touched_bad[2] += [0.0, 0.0, 0.06]  # the elbow 60 mm off: over the bound

    # Sites on the real limb's skin: the back of the hand, the index fingertip (top surfaces).
    back = (joint(body, "leftHand") + joint(body, "leftMiddleProximal")) / 2 + 0.015 * UP
    distal, middle = joint(body, "leftIndexDistal"), joint(body, "leftIndexIntermediate")
    fingertip = distal + 0.4 * (distal - middle) + 0.009 * UP
    sites = {"back_of_hand": real(back), "index_finger": real(fingertip)}

    keys: list[dict[str, Any]] = []
    t = 0.5
    for points in (touched_bad, touched_good):
        for point in points:
            keys += [{"t": t, "left": {"position": grip_for(point + 0.05 * UP)}},
                     {"t": t + 0.3, "left": {"position": grip_for(point)}},
                     {"t": t + 0.4, "left": {"trigger_click": True}},
                     {"t": t + 0.5, "left": {"trigger_click": False, "position": grip_for(point)}},
                     {"t": t + 0.8, "left": {"position": grip_for(point + 0.05 * UP)}}]  # fmt: skip
            t += 1.0
    # Registered at t = 5.9, with the tip still on the elbow (not a touch); the block's cues
    # at about 6.9, 9.9 and 12.9. Each touch comes
    # down slowly from 6 cm above the site, rests on the skin (the tip's centre 1 mm above it:
    # the small probe's radius; the large one presses in), lifts.
    touches = [("back_of_hand", 7.6), ("index_finger", 10.6)]
    for site, at in touches:
        point = sites[site]
        keys += [{"t": at - 0.5, "left": {"position": grip_for(point + 0.06 * UP)}},
                 {"t": at, "left": {"position": grip_for(point + 0.001 * UP)}},
                 {"t": at + 0.4, "left": {"position": grip_for(point + 0.001 * UP)}},
                 {"t": at + 0.8, "left": {"position": grip_for(point + 0.08 * UP)}},
                 {"t": at + 1.2, "left": {"position": PARK}}]  # fmt: skip

    frames: list[tuple[float, Any]] = []
    cues: list[tuple[str, tuple[str, ...]]] = []  # the console's touch bar after each frame
    with session_pipeline("S-1", source="sim", seed=SEED) as pipeline, \
            ScriptedFrameSource(parse_motion(motion(keys, 20.0), "seen.jsonl")) as source:  # fmt: skip
        for frame in source.frames():
            output = pipeline.step(frame)
            frames.append((frame.time_s, output))
            assert pipeline.runner is not None
            cue = pipeline.runner.therapist_cue(frame.time_s)
            cues.append((cue.headline, cue.lines) if cue is not None else ("", ()))
            if output.done:
                break
    assert frames[-1][1].done

    with SessionStore.open() as store:
        session = store.list_sessions("S-1")[-1]
        events = store.events(session.id)
    # Registration: the bad try refused (its error measured against the known landmarks),
    # the good one accepted; both errors as the fit of the touched points gives them.
    attempts = [e.data for e in events if e.kind == "touch.registration"]
    assert [a["accepted"] for a in attempts] == [False, True]
    for attempt, touched in zip(attempts, (touched_bad, touched_good), strict=True):
        expected_mm = rigid_fit(virtual, touched).rms_m * 1000.0
        assert attempt["rms_mm"] == pytest.approx(expected_mm, abs=0.5)
    assert attempts[0]["rms_mm"] > 20.0 and attempts[1]["rms_mm"] < 3.0
    # The console asks for each landmark in turn, then says the error: over the bound, to
    # register again; accepted, the error and the bound.
    assert cues[0][0].startswith("REGISTER the resting left hand (1 of 3):\ntouch the back of the wrist")
    rejected = next(i for i, (_, lines) in enumerate(cues) if any(line.startswith("REGISTER AGAIN") for line in lines))
    assert cues[rejected][0].startswith("REGISTER the resting left hand (1 of 3)")
    assert f"{attempts[0]['rms_mm']:.1f} mm RMS is over the bound of 20 mm" in " ".join(cues[rejected][1])
    # The block's touches came only after the accepted registration.
    accepted_at = next(e.time_s for e in events if e.kind == "touch.registration" and e.data["accepted"])
    after = [time for time, _ in frames].index(accepted_at) + 1
    assert f"registered: {attempts[1]['rms_mm']:.1f} mm RMS (bound 20 mm)" in cues[after][1]
    assert min(e.time_s for e in events if e.kind == "touch.cue") > accepted_at

    contacts = [e for e in events if e.kind == "touch.contact"]
    assert [c.data["site"] for c in contacts] == [site for site, _ in touches]
    times = [time for time, _ in frames]
    for contact, (site, _) in zip(contacts, touches, strict=True):
        index = times.index(contact.time_s)
        before, shown = frames[index - 1][1].draw, frames[index][1].draw
        marks = [m for m in shown.meshes if m.mesh == "sphere" and m.color[:3] == MARK_COLOR[:3] and not m.lit]
        assert len(marks) == 1, "the touch shows in the very frame that detected it"
        assert not [m for m in before.meshes if m.mesh == "sphere" and m.color[:3] == MARK_COLOR[:3]]
        # Where the real limb was touched, within the registration's error and the tip's
        # approach (a frame's step and the contact tolerance), far within the 20 mm bound.
        off_mm = float(np.linalg.norm(marks[0].world_from_mesh[:3, 3] - sites[site])) * 1000.0
        assert off_mm < 10.0
        # The delay from the tracked contact to the showing frame: under one frame here.
        assert 0.0 <= contact.data["delay_ms"] <= FRAME_S * 1000.0 + 1e-6
        assert contact.data["shown_at_s"] == contact.time_s
        # The probe is drawn with a tip of the touch's probe.
        tips = [m for m in shown.meshes if m.mesh == "sphere" and m.color == PROBE_TIP_COLOR]
        assert len(tips) == 1 and tips[0].world_from_mesh[0, 0] == pytest.approx(contact.data["probe_mm"] / 1000.0)
    # The mark fades and is gone after a second; nothing else jumps in.
    first = times.index(contacts[0].time_s)
    alphas = [next((m.color[3] for m in frames[i][1].draw.meshes
                    if m.mesh == "sphere" and m.color[:3] == MARK_COLOR[:3]), 0.0)
              for i in range(first, first + int(1.2 * RATE_HZ))]  # fmt: skip
    assert all(a >= b for a, b in zip(alphas, alphas[1:], strict=False)) and alphas[0] > 0.7 and alphas[-1] == 0.0
    (end,) = [e for e in events if e.kind == "touch.end"]
    summary = end.data["seen_touch"]
    assert (summary["contacts"], summary["shown"], summary["over_goal"], summary["over_bound"]) == (2, 2, 0, 0)
    assert summary["registration_rms_mm"] == pytest.approx(attempts[1]["rms_mm"])
    assert summary["max_delay_ms"] == max(c.data["delay_ms"] for c in contacts)


def test_a_pause_during_registration_starts_it_again_from_the_first_landmark(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The session below opens the store itself.
    store_with_patient(tmp_path, monkeypatch, "S-1", program=SEEN, reason="seen touch").close()
    virtual = virtual_landmarks(rest_body(), Side.LEFT, BodyPart.HAND)
    shift = np.array([-0.03, 0.0, -0.04])  # the real limb: 3 cm out, 4 cm forward of the virtual one
    # Before the pause two landmarks are touched where the limb lay then; during the pause
    # the patient moves the arm 8 cm, and after it all three are touched where it lies now.
    before = [p + shift + [0.0, 0.0, 0.08] for p in virtual[:2]]
    after = [p + shift for p in virtual]
    keys: list[dict[str, Any]] = []
    for t, point in [(0.5, before[0]), (1.5, before[1]), (4.0, after[0]), (5.0, after[1]), (6.0, after[2])]:
        keys += [{"t": t, "left": {"position": grip_for(point + 0.05 * UP)}},
                 {"t": t + 0.3, "left": {"position": grip_for(point)}},
                 {"t": t + 0.4, "left": {"trigger_click": True}},
                 {"t": t + 0.5, "left": {"trigger_click": False, "position": grip_for(point)}},
                 {"t": t + 0.8, "left": {"position": grip_for(point + 0.05 * UP)}}]  # fmt: skip
    events = []
    cues: list[str] = []
    with session_pipeline("S-1", source="sim", seed=SEED, record=False) as pipeline, \
            ScriptedFrameSource(parse_motion(motion(keys, 7.5))) as source:  # fmt: skip
        runner = pipeline.runner
        assert runner is not None
        start: float | None = None
        for frame in source.frames():
            start = frame.time_s if start is None else start
            if abs(frame.time_s - start - 2.6) < FRAME_S / 2:
                runner.hold(True, frame.time_s)  # the therapist pauses between the second and third
            if abs(frame.time_s - start - 3.4) < FRAME_S / 2:
                runner.hold(False, frame.time_s)
            output = pipeline.step(frame)
            events += output.events
            cue = runner.therapist_cue(frame.time_s)
            cues.append(cue.headline if cue is not None else "")
    assert [e.data["reason"] for e in events if e.kind == "touch.registration_restart"] == ["paused"]
    # The first registration uses the three landmarks touched after the pause only.
    attempts = [e.data for e in events if e.kind == "touch.registration"]
    assert len(attempts) == 1 and attempts[0]["accepted"]
    assert np.allclose(attempts[0]["touched"], np.stack(after), atol=0.005)
    assert attempts[0]["rms_mm"] == pytest.approx(rigid_fit(virtual, np.stack(after)).rms_m * 1000.0, abs=0.5)
    # After the pause the console asks for the first landmark again.
    resumed = next(i for i, e in enumerate(cues) if i > 3.4 * RATE_HZ and e)
    assert cues[resumed].startswith("REGISTER the resting left hand (1 of 3)")
