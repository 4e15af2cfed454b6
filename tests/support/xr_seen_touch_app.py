"""A patient's seen-touch block in the headset, the affected (left) controller moved through
Monado's remote driver as the therapist's probe; run in a subprocess by
tests/xr/test_seen_touch_xr.py.

    python tests/support/xr_seen_touch_app.py PATIENT --out RESULT.json [--max-seconds S]

The real ``OpenXrSource`` frame loop drives the real ``session_pipeline`` and the product's
renderer draws the eyes. When the task asks for the registration, the probe's tip is put on
each landmark of the "real" limb (the resting virtual limb's landmarks moved by ``SHIFT``)
and its trigger pulled; once registered the tip waits above the back of the real hand, then
comes down onto it. The tip's offset from the grip is read from the frames (the grip
orientation the runtime reports), so the tip lands where it is put.

RESULT.json: the session id, the landmarks touched, the real back-of-hand point, and per
frame with a "touch.contact" event its data, the marks drawn (position) and the probe's tip
drawn; "done" when the plan ended.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

#: Where the real limb lies relative to the resting virtual one (metres): 3 cm further out.
SHIFT = (0.0, 0.0, -0.03)
#: Wall-clock seconds each scripted step waits: several 20 Hz frames on a loaded machine.
STEP_S = 0.4


def main() -> int:
    from support.xr_patient_session import PatientHeadsetRun, patient_app_arguments

    args = patient_app_arguments(max_seconds=120.0).parse_args()
    run = PatientHeadsetRun("gmi-vr seen touch test", args.max_seconds)

    import numpy as np

    from gmi_vr.body.skeleton import JOINT_INDEX
    from gmi_vr.core.types import Pose, Side
    from gmi_vr.therapy.plan.program import BodyPart
    from gmi_vr.therapy.tasks.seen_touch import probe_tip, virtual_landmarks
    from gmi_vr.therapy.tasks.touch_task import MARK_COLOR, PROBE_TIP_COLOR
    from support.monado_remote import MonadoRemote

    remote = MonadoRemote()
    shift = np.array(SHIFT)
    up = np.array([0.0, 1.0, 0.0])
    result = run.result
    contacts: list[dict[str, object]] = []
    result["contacts"] = contacts
    # The script: (what, point) steps, each held STEP_S of wall clock; filled once the
    # registration is asked for (the resting limb's landmarks are known then).
    steps: list[tuple[str, np.ndarray | None]] = []
    step_at = 0.0
    plan_at: float | None = None
    last_landmarks: np.ndarray | None = None
    still = 0
    tip_offset = np.array([0.0, 0.0, -0.12])  # tip - grip, updated from the frames
    # The tracked grip lies where the driver is told plus a fixed offset (the reference
    # space's origin and the controller's grip offset): measured from settled frames.
    correction = np.zeros(3)
    commanded = {"position": np.zeros(3), "at": 0.0}

    def put_tip(point: np.ndarray) -> None:
        position = point - tip_offset - correction
        remote.set_controller("left", pose=Pose(position, np.array([0.0, 0.0, 0.0, 1.0])), active=True)
        commanded.update(position=position, at=time.monotonic())

    def pull(pulled: bool) -> None:
        remote.send(replace(remote.state, left=replace(remote.state.left, trigger=1.0 if pulled else 0.0,
                                                       trigger_click=pulled, trigger_touch=pulled)))  # fmt: skip

    try:
        pull(False)
        put_tip(np.array([-0.1, 1.3, -0.3]))
        with run.session(args.patient) as (source, pipeline):
            for frame in source.frames():
                output = pipeline.step(frame)
                tip = probe_tip(frame.left)
                if tip is not None:
                    tip_offset = tip - np.asarray(frame.left.grip.position)
                    if time.monotonic() - float(commanded["at"]) > 0.3:  # type: ignore[arg-type]
                        correction = np.asarray(frame.left.grip.position) - commanded["position"]
                        result["correction"] = correction.tolist()
                kinds = [e.kind for e in output.events]
                if "body.registration" in kinds and plan_at is None:
                    plan_at = time.monotonic()
                # The limb eases to rest from the mode before the block (at most 2 cm a
                # frame): the real limb is read once it has stopped (10 frames within 0.1 mm).
                now_landmarks = virtual_landmarks(output.body, Side.LEFT, BodyPart.HAND)
                still = 0 if last_landmarks is None or np.abs(now_landmarks - last_landmarks).max() > 1e-4 \
                    else still + 1  # fmt: skip
                last_landmarks = now_landmarks
                if plan_at is not None and still >= 10 and "landmarks" not in result:
                    body = output.body
                    real = virtual_landmarks(body, Side.LEFT, BodyPart.HAND) + shift
                    hand = body.world_from_joint[JOINT_INDEX["leftHand"], :3, 3]
                    knuckle = body.world_from_joint[JOINT_INDEX["leftMiddleProximal"], :3, 3]
                    back = (hand + knuckle) / 2 + 0.015 * up + shift
                    result["landmarks"] = real.tolist()
                    result["virtual_at_start"] = (real - shift).round(4).tolist()
                    result["back_of_hand"] = back.tolist()
                    for point in real:
                        steps += [("move", point + 0.05 * up), ("move", point), ("pull", None), ("release", None),
                                  ("move", point + 0.05 * up)]  # fmt: skip
                    steps += [("move", back + 0.08 * up), ("wait", None), ("wait", None),
                              ("move", back + 0.03 * up), ("move", back + 0.001 * up), ("wait", None),
                              ("move", back + 0.08 * up)]  # fmt: skip
                    step_at = time.monotonic()
                if steps and time.monotonic() >= step_at:
                    what, point = steps.pop(0)
                    if what == "move" and point is not None:
                        put_tip(point)
                    elif what in ("pull", "release"):
                        pull(what == "pull")
                        if what == "pull":  # where the tip is as the trigger is pulled
                            result.setdefault("pulled_at", []).append(None if tip is None else tip.round(4).tolist())
                            result.setdefault("virtual_at_pull", []).append(
                                [virtual_landmarks(output.body, Side.LEFT, BodyPart.HAND).round(4).tolist(),
                                 output.body.mode.value, frame.left.joints is not None])
                    step_at = time.monotonic() + STEP_S
                for event in output.events:
                    if event.kind == "touch.contact":
                        marks = [m.world_from_mesh[:3, 3].tolist() for m in output.draw.meshes
                                 if m.mesh == "sphere" and m.color[:3] == MARK_COLOR[:3] and not m.lit]
                        tips = [m.world_from_mesh[:3, 3].tolist() for m in output.draw.meshes
                                if m.mesh == "sphere" and m.color == PROBE_TIP_COLOR]
                        contacts.append({"time_s": event.time_s, "data": event.data, "marks": marks,
                                         "tips": tips, "tracked_tip": None if tip is None else tip.tolist()})
                    if event.kind == "touch.registration":
                        result.setdefault("registrations", []).append(event.data)
                if frame.index % 20 == 0:  # what the console showed, for a failure's message
                    cue = pipeline.runner.therapist_cue(frame.time_s) if pipeline.runner else None
                    result["cue"] = [cue.headline, *cue.lines] if cue is not None else None
                    result["left"] = [frame.left.grip_valid, frame.left.trigger_click,
                                      np.asarray(frame.left.grip.position).round(3).tolist()]
                source.present(output.draw)
                run.end_when_done(source, frame, output.done)
    finally:
        pull(False)
        put_tip(np.array([-0.1, 1.3, -0.3]))
        remote.close()
        run.release()
    return run.write(args.out)


if __name__ == "__main__":
    sys.exit(main())
