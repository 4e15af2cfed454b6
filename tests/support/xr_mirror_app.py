"""Mirror therapy end to end against the real runtime (run by tests/xr/test_mirror_xr.py
inside tools/xr-sandbox): a stored patient (affected side left) at stage 3 runs a short block
of mirrored reaches through ``session_pipeline`` + ``OpenXrSource`` + the real ``Renderer``.

The remote driver plays the patient: the head sits still; the affected (left) controller
lies parked out of the way (mirror mode must ignore it); the healthy (right) controller goes
to the mirror image of the home marker the task shows, and for every target the task
announces ("repetition.show", in the affected side's world coordinates) it waits a reaction
time, then makes a minimum-jerk reach of a known duration to the target's reflection across
the calibrated midline (so the mirrored left hand lands on the target), holds it there until
the task says the repetition is complete ("repetition.complete") and two frames have shown
it still on the target, and after another reaction time returns.

Every movement is planned in the runtime's frame time (the predicted display times). The
remote driver has no notion of time (it reports the state it last received), so the pose is
sent from an API layer as each ``xrWaitFrame`` returns, for that frame's predicted display
time, before the app reads the frame's tracking: the frame then carries the pose meant for
its own display time, as with a runtime that predicts, however many frames a busy machine
makes the app miss. The JSON written at the end holds what was driven (each movement, and
the pose sent for every frame) and what every frame showed (the healthy grip the runtime
reported, both displayed hands, the midline plane).

    python tests/support/xr_mirror_app.py --out RESULT.json [--repetitions N]

The session store is the one GMI_VR_DATA names (the test gives a fresh directory).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

import numpy as np  # noqa: E402

from gmi_vr.app.patients import add_patient, edit_patient_program  # noqa: E402
from gmi_vr.app.pipeline import FrameOutput, SessionPipeline  # noqa: E402
from gmi_vr.app.session_setup import session_pipeline  # noqa: E402
from gmi_vr.body.calibration import Calibration, Posture, eye_above_hips, eye_in_head  # noqa: E402
from gmi_vr.core.errors import GmiError  # noqa: E402
from gmi_vr.core.types import FloatArray, Pose, Side, TrackingFrame  # noqa: E402
from gmi_vr.geometry import quat_from_axis_angle, quat_rotate  # noqa: E402
from gmi_vr.geometry.reflect import Plane, reflect_points  # noqa: E402
from gmi_vr.recording.store import SessionStore  # noqa: E402
from gmi_vr.therapy.results.measures import minimum_jerk  # noqa: E402
from gmi_vr.therapy.tasks.motor import HOME_COLOR  # noqa: E402
from support.xr_app_refusal import refused  # noqa: E402

PATIENT = "P-XR-MIRROR"
AFFECTED, HEALTHY = Side.LEFT, Side.RIGHT
#: The runtime's frame period (Monado's null compositor paces at a fixed 20 Hz).
FRAME_S = 0.05
#: Reach durations, cycled over the repetitions: different durations, so a recorded duration
#: that followed the driven one cannot be a coincidence. Each is a whole number of frames.
REACH_S = (1.0, 1.5, 0.8, 2.0)
#: From a target's first frame, or from the frame that completes the repetition, to the
#: movement's start (a patient's reaction), and the return home's duration. Seconds.
REACTION_S = 0.25
RETURN_S = 1.0
#: The healthy hand turns this much about its forearm over each reach (and back on return),
#: so the mirrored orientation is checked along a moving path, not a fixed one.
TWIST_RAD = math.radians(25.0)
#: The patient sits at the remote driver's origin facing -Z (the seated body of 1.70 m).
BODY = Calibration.uncalibrated(Posture.SEATED, 1.70, AFFECTED)
#: Where the ignored affected controller lies: up and out to the left, far from every target.
PARKED = Pose(np.array([-0.45, 1.35, -0.15]))
#: The healthy controller's pose before the task shows its home marker.
START = np.array([0.22, 0.80, -0.25])


def head_pose() -> Pose:
    """Upright on the chair, looking 15 degrees down at the table (held for the whole run, so
    the midline the session fixes from the first head pose is the body's)."""
    m = BODY.measures
    orientation = quat_from_axis_angle(np.array([1.0, 0.0, 0.0]), math.radians(-15))
    head_joint = BODY.hips_position() + np.array([0.0, eye_above_hips(m) - eye_in_head(m)[1], 0.0])
    return Pose(head_joint + quat_rotate(orientation, eye_in_head(m)), orientation)


@dataclass(frozen=True)
class Movement:
    """One minimum-jerk movement of the healthy controller, in frame time (seconds)."""

    kind: str  # "reach" (to a target's reflection), "return" or "home" (to the home marker's)
    repetition: int
    start_s: float
    duration_s: float
    start: FloatArray  # (3,) world metres
    end: FloatArray
    twist_from: float  # radians about the forearm
    twist_to: float

    def at(self, time_s: float) -> tuple[FloatArray, float]:
        fraction = (time_s - self.start_s) / self.duration_s
        s = float(minimum_jerk(np.zeros(1), np.ones(1), np.array([fraction]))[0, 0])
        return self.start + s * (self.end - self.start), self.twist_from + s * (self.twist_to - self.twist_from)

    def to_dict(self, plane: Plane) -> dict[str, object]:
        return {"kind": self.kind, "repetition": self.repetition, "start_s": self.start_s,
                "duration_s": self.duration_s, "start": self.start.tolist(), "end": self.end.tolist(),
                "length_m": float(np.linalg.norm(self.end - self.start)),
                "mirrored_start": reflect_points(self.start, plane).tolist(),
                "mirrored_end": reflect_points(self.end, plane).tolist()}  # fmt: skip


class HealthyHandDriver:
    """Plans the healthy hand's movements from what the task shows and announces."""

    def __init__(self) -> None:
        self.movements: list[Movement] = []
        self.reaches = 0
        #: For the reach under way: whether the task completed it, and how many frames have
        #: shown the hand resting at its end (two make a still moment any sampling can see).
        self.completed = False
        self.frames_at_rest = 0

    def _last(self) -> tuple[FloatArray, float, float]:
        """Where the planned movements end, the twist there, and when (frame time)."""
        if not self.movements:
            return START, 0.0, -math.inf
        last = self.movements[-1]
        return last.end, last.twist_to, last.start_s + last.duration_s

    def plan(self, now_s: float, output: FrameOutput, plane: Plane) -> None:
        """React to frame ``now_s``'s output: a shown target gets a reach, a completed reach
        seen at rest a return; a home marker shown while nothing is planned gets a move to it."""
        for event in output.events:
            if event.kind == "repetition.show":
                end, twist, _ = self._last()
                source = reflect_points(np.array(event.data["target"]), plane)
                duration = REACH_S[self.reaches % len(REACH_S)]
                self.movements.append(Movement("reach", int(event.data["repetition"]), now_s + REACTION_S,
                                               duration, end, source, twist, twist + TWIST_RAD))  # fmt: skip
                self.reaches += 1
                self.completed, self.frames_at_rest = False, 0
            elif event.kind == "repetition.complete":
                self.completed = True
        if self.movements and self.movements[-1].kind == "reach":
            reach = self.movements[-1]
            if now_s >= reach.start_s + reach.duration_s - 1e-9:
                self.frames_at_rest += 1
            if self.completed and self.frames_at_rest >= 2:
                self.movements.append(Movement("return", reach.repetition, now_s + REACTION_S, RETURN_S,
                                               reach.end, reach.start, reach.twist_to, reach.twist_from))  # fmt: skip
        end, _, ends_at = self._last()
        home = home_marker(output)
        holding = bool(self.movements) and self.movements[-1].kind == "reach"  # until complete
        if home is not None and ends_at <= now_s and not holding:
            source = reflect_points(home, plane)
            if np.linalg.norm(source - end) > 1e-6:
                self.movements.append(Movement("home", -1, now_s + FRAME_S, RETURN_S, end, source, 0.0, 0.0))

    def pose_at(self, time_s: float) -> Pose:
        """The healthy grip pose planned for frame time ``time_s``."""
        position, twist = START, 0.0
        for movement in self.movements:
            if movement.start_s <= time_s:
                position, twist = movement.at(time_s)
        # The grip frame level and facing forward, turned about its -Z (along the forearm).
        return Pose(np.asarray(position, dtype=np.float64),
                    quat_from_axis_angle(np.array([0.0, 0.0, 1.0]), -twist))


def home_marker(output: FrameOutput) -> FloatArray | None:
    """The home marker's centre if this frame shows one (the grey disc the patient rests the
    affected hand on)."""
    for item in output.draw.meshes:
        if item.mesh == "cylinder" and tuple(item.color) == HOME_COLOR:
            return np.array(item.world_from_mesh[:3, 3], dtype=np.float64)
    return None


#: Target range as a fraction of the typical reach. The program's default (0.6) puts the
#: straight-ahead target about 6 cm beyond what the arm of the default seated 1.70 m avatar
#: (no stored calibration) reaches, so its mirrored hand stops short and the repetition
#: times out; 0.4 keeps every direction of the fan inside that arm's reach.
RANGE_FRACTION = 0.4


def prepare_patient(repetitions: int) -> None:
    """A patient with the left hand affected, at stage 3 with one mirrored-reach block: the
    healthy hand moves and the left hand is shown mirrored, targets in four directions
    (complexity 2), no pain ratings around the block (nobody answers them here)."""
    with SessionStore.open() as store:
        add_patient(store, PATIENT, AFFECTED.value, "hand", therapist="t.xr")
        edit_patient_program(store, PATIENT, {
            "stage": 3, "session.blocks": ["mirror"], "session.rating_at_start": False,
            "session.rating_at_end": False, "mirror.phase": "healthy", "mirror.tasks": ["reach"],
            "mirror.grading.repetitions": repetitions, "mirror.grading.complexity": 2,
            "mirror.grading.range_fraction": RANGE_FRACTION,
            "safety.fms_every_s": 0,  # nobody answers the sickness scale here either
        }, therapist="t.xr", reason="a short mirrored-reach block for the headset test")  # fmt: skip


def frame_record(frame: TrackingFrame, output: FrameOutput, pipeline: SessionPipeline,
                 driven: Pose | None) -> dict[str, object]:
    body = output.body
    healthy = frame.hand(HEALTHY)
    plane = pipeline.calibration.midline_plane() if pipeline.calibration is not None else None
    wrist = None
    if healthy.joints is not None and healthy.joints_valid is not None and healthy.joints_valid[1]:
        wrist = healthy.joints[1].tolist()  # XR_HAND_JOINT_WRIST
    return {
        "index": frame.index, "time_s": frame.time_s, "focused": frame.focused,
        "healthy_valid": healthy.grip_valid, "healthy_grip": healthy.grip.as_array().tolist(),
        "healthy_wrist_joint": wrist,
        "displayed_healthy": body.displayed(HEALTHY)[0].as_array().tolist(),
        "displayed_affected": body.displayed(AFFECTED)[0].as_array().tolist(),
        "displayed_affected_valid": body.displayed(AFFECTED)[1],
        "plane": None if plane is None else [plane.point.tolist(), plane.normal.tolist()],
        "driven": None if driven is None else driven.as_array().tolist(),
        "events": [e.kind for e in output.events],
    }  # fmt: skip


#: How long a sent pose may take to reach the runtime before the frame goes ahead anyway
#: (the test then reports the frame that showed another pose). Seconds.
REPORT_WAIT_S = 2.0


def wait_until_reported(source: object, pose: Pose, display_time_ns: int) -> None:
    """Return once the runtime locates the right grip at ``pose``'s position for
    ``display_time_ns`` (or it is not tracked yet, or ``REPORT_WAIT_S`` passed)."""
    import xr

    grip = source._actions.pose_spaces()[2]  # type: ignore[attr-defined]  # left grip, left aim, right grip
    base = source._space  # type: ignore[attr-defined]
    deadline = time.monotonic() + REPORT_WAIT_S
    while time.monotonic() < deadline:
        location = xr.locate_space(grip, base, display_time_ns)
        valid = xr.SpaceLocationFlags.POSITION_VALID_BIT | xr.SpaceLocationFlags.ORIENTATION_VALID_BIT
        if int(location.location_flags) & int(valid) != int(valid):
            return
        p = location.pose.position
        if np.linalg.norm(np.array([p.x, p.y, p.z]) - pose.position) <= 1e-5:  # float32 on the wire
            return
        time.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repetitions", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    from gmi_vr.render.context import open_window_context
    from gmi_vr.render.renderer import Renderer
    from gmi_vr.xr.openxr_source import OpenXrSource
    from support.monado_remote import MonadoRemote

    prepare_patient(args.repetitions)
    frames: list[dict[str, object]] = []
    shown: list[dict[str, object]] = []
    result: dict[str, object] = {"patient": PATIENT, "frames": frames, "shown": shown,
                                 "reach_s": list(REACH_S), "reaction_s": REACTION_S,
                                 "frame_s": FRAME_S, "parked": PARKED.position.tolist()}
    status = 0
    started = time.monotonic()
    remote = MonadoRemote()
    driver = HealthyHandDriver()
    head = head_pose()
    parked = replace(remote.state.left, pose=PARKED, active=True, hand_tracking_active=False)

    def send(pose: Pose) -> None:
        healthy = replace(remote.state.right, pose=pose, active=True, hand_tracking_active=False)
        remote.set_all(head, parked, healthy)

    send(driver.pose_at(-math.inf))  # before the session exists: its first head is this one
    step_ms: list[float] = []
    driven_for: dict[int, Pose] = {}  # predicted display time (ns) -> the pose sent for it

    opened: list[OpenXrSource] = []  # the source, once its session exists

    def drive(display_time_ns: int) -> None:
        """Send the healthy pose planned for the frame the runtime will display at this
        time, and wait until the runtime reports it: the driver applies a packet on its own
        thread, which a busy machine can keep waiting past the app's read of the frame."""
        pose = driver.pose_at(display_time_ns / 1e9)
        driven_for[display_time_ns] = pose
        send(pose)
        if opened:
            wait_until_reported(opened[0], pose, display_time_ns)

    try:
        with open_window_context(64, 64, title="gmi-vr mirror test", visible=False) as context:
            from support.fault_layers import DisplayTimeLayer

            layer = DisplayTimeLayer(drive)  # after the GL context, before the instance
            renderer = Renderer()
            eyes = functools.partial(renderer.draw, unorm_holds_linear=True)
            try:
                with OpenXrSource(eyes, gl_context=context, api_layers=[layer.name]) as source, \
                        session_pipeline(PATIENT, source="openxr") as pipeline:  # fmt: skip
                    opened.append(source)
                    stop_requested = False
                    for frame in source.frames():
                        begin = time.perf_counter()
                        output = pipeline.step(frame)
                        source.present(output.draw)
                        step_ms.append(1000 * (time.perf_counter() - begin))
                        frames.append(frame_record(frame, output, pipeline, driven_for.get(frame.time_ns)))
                        for event in output.events:
                            if event.kind == "repetition.show":
                                shown.append({"time_s": event.time_s, **event.data})
                        if pipeline.calibration is not None:
                            driver.plan(frame.time_s, output, pipeline.calibration.midline_plane())
                        too_long = time.monotonic() - started > args.max_seconds
                        if not stop_requested and (output.done or too_long):
                            source.request_stop()
                            stop_requested = True
                    if layer.error is not None:
                        raise layer.error
                    if pipeline.calibration is not None:
                        plane = pipeline.calibration.midline_plane()
                        result["movements"] = [m.to_dict(plane) for m in driver.movements]
                    if pipeline.recorder is not None:
                        result["session_id"] = pipeline.recorder.session_id
            finally:
                renderer.release()
    except GmiError as error:
        status = refused(error, result)
    finally:
        remote.close()
    result["step_ms"] = step_ms
    result["wall_s"] = time.monotonic() - started
    args.out.write_text(json.dumps(result))
    return status


if __name__ == "__main__":
    sys.exit(main())
