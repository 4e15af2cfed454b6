"""A patient's laterality block in the headset, answered through Monado's remote driver; run
in a subprocess by tests/xr/test_laterality_xr.py.

    python tests/support/xr_laterality_app.py PATIENT --out RESULT.json [--delay S] [--max-seconds S]
        [--record-haptics] [--hands] [--hold S] [--palm-stop] [--point {pinch,dwell}]

The real ``OpenXrSource`` frame loop drives the real ``session_pipeline`` (body, therapy,
recording into the store at $GMI_VR_DATA) and the product's renderer draws the eyes, as
``gmi-vr run --patient`` does, without the therapist window. When a frame's events show a
stimulus ("trial.show"), a timer presses that side's controller trigger through the remote
driver ``--delay`` seconds later (wall clock) and releases it HOLD_S after that.

RESULT.json: the session id, and per stimulus its side, the frame's predicted display time
(s), and the wall-clock (monotonic) times it was seen by the loop and the press was sent
(just before and after sending); per frame its display time and when the loop had stepped
it ("frame_times"); and the runtime's measured link of XrTime to the monotonic clock
("clock_offset_ns": monotonic = XrTime + offset), so that a test can place the presses on
the frames' clock instead of trusting a timer thread's delay.
With ``--hands`` both controllers are switched off and their hands tracked instead (the
remote driver synthesises the joints from finger curls): a "press" curls thumb and index
(a pinch), a release opens the hand.
With ``--palm-stop`` (and ``--hands``), after the first answer the right hand turns its open
palm to the face and holds it; the run ends at the patient's stop ("safety.stop"), and
RESULT.json has that event and when the palm was turned.
With ``--point`` (and ``--hands``; the patient's program answers laterality by pointing with
the right hand) only the right hand is tracked; the left is neither a controller nor a
hand. The app learns where the synthesised palm joint lies from the pose it sends when the
first stimulus appears (the offset of the palm from the driver's controller pose, kept by
holding the orientation fixed; the hand has rested since the start), then for each stimulus moves the palm ``--delay`` seconds later onto the line from
the eye to that side's target, and with ``pinch`` pinches POINT_SETTLE_S after that (held
``--hold``); with ``dwell`` it only rests there. After each answer the hand goes back to
the middle, pointing between the targets. RESULT.json's "answers_seen" says when the loop
saw each answer (monotonic), to compare with when the hand was moved and pinched ("sent").
Like ``gmi-vr run``, each frame's haptic pulses go to ``OpenXrSource.vibrate``. With
``--record-haptics`` a Python API layer (``fault_layers.HapticRecordingLayer``) records every
``xrApplyHapticFeedback`` on its way to Monado; RESULT.json then has the calls, the hands'
XrPaths, and per frame with an answer or a pulse the answers, the pulses asked for and how
many calls the runtime had received before and after that frame's ``vibrate``.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

HOLD_S = 0.5  # how long a trigger stays pulled: several 20 Hz frames even on a loaded machine
#: Finger curls (little, ring, middle, index, thumb; 0 open .. 1 curled) for --hands: an open
#: hand, and thumb and index curled together (their tips then touch: a pinch).
OPEN = (0.0, 0.0, 0.0, 0.0, 0.0)
PINCH = (0.0, 0.0, 0.0, 1.0, 1.0)
#: --point: how far along the line from the eye to a target the palm is held (metres), and
#: how long after the hand has moved the pinch comes (several 20 Hz frames: the pointer is
#: on the target before the pinch is seen).
POINT_REACH_M = 0.35
POINT_SETTLE_S = 0.3


class TriggerPresser:
    """Presses controller triggers through the remote driver from timer threads (one lock: a
    press and a release never interleave their packets), and releases each one as a patient
    does: once the app has taken the answer it gave and it has been held ``hold_s``.

    The runtime reports a trigger's state at each frame, not the presses between frames: a
    press timed on the wall clock alone can begin and end inside one long frame of a busy
    machine and never be seen. ``release_answered`` (every frame) lets go only of what the
    app has seen."""

    def __init__(self, hands: bool = False, point: bool = False) -> None:
        from support.monado_remote import MonadoRemote

        self.remote = MonadoRemote()
        self.hands = hands
        if hands:  # no controller, a tracked open hand on each side (--point: the right only)
            for side in ("left", "right"):
                self.remote.set_controller(side, active=False, hand_tracking_active=not point or side == "right",
                                           hand_curl=OPEN)  # fmt: skip
        self.lock = threading.Lock()
        self.timers: list[threading.Timer] = []
        self.sent: list[dict[str, object]] = []
        #: Side -> (when pulled, monotonic s; how long to hold at least, s), while pulled.
        self.pulled: dict[str, tuple[float, float]] = {}
        self.hold_s: dict[str, float] = {}
        self.answered: set[str] = set()  # pulled sides whose answer the app has taken

    def _set(self, side: str, pulled: bool) -> None:
        if pulled:
            self.pulled[side] = (time.monotonic(), self.hold_s.get(side, HOLD_S))
        else:
            self.pulled.pop(side, None)
        with self.lock:
            before = time.monotonic()  # the runtime cannot have seen it sooner
            if self.hands:
                self.remote.set_controller(side, hand_curl=PINCH if pulled else OPEN)  # type: ignore[arg-type]
            else:
                controller = getattr(self.remote.state, side)
                self.remote.send(replace(self.remote.state, **{side: replace(
                    controller, trigger=1.0 if pulled else 0.0, trigger_click=pulled, trigger_touch=pulled)}))
            self.sent.append({"side": side, "pulled": pulled, "before_monotonic_s": before,
                              "monotonic_s": time.monotonic()})  # fmt: skip

    def show_palm(self, side: str) -> None:
        """Turn ``side``'s open hand 35 cm ahead of the face, a little low and outward, palm
        towards the face (the hand's -Y is the palm's way; rotated -90° about X it points
        back at the patient)."""
        import numpy as np

        from gmi_vr.core.types import Pose

        head = self.remote.state.head.position
        offset = (0.15 if side == "right" else -0.15, -0.2, -0.35)
        s = 0.5 ** 0.5
        with self.lock:
            self.remote.set_controller(side, hand_curl=OPEN, pose=Pose(  # type: ignore[arg-type]
                np.asarray(head) + np.array(offset), np.array([-s, 0.0, 0.0, s])))
            self.sent.append({"side": side, "palm": True, "monotonic_s": time.monotonic()})

    def move_right_hand(self, position: object) -> None:
        """Send the right controller pose at ``position`` ((3,) metres), orientation fixed
        (identity), so the synthesised palm keeps one offset from it."""
        import numpy as np

        from gmi_vr.core.types import Pose

        with self.lock:
            before = time.monotonic()
            self.remote.set_controller("right", pose=Pose(np.asarray(position, dtype=float)))  # type: ignore[arg-type]
            self.sent.append({"side": "right", "moved_to": [float(v) for v in np.asarray(position)],
                              "before_monotonic_s": before, "monotonic_s": time.monotonic()})  # fmt: skip

    def point_after(self, position: object, delay_s: float, pinch: bool, hold_s: float) -> None:
        """``delay_s`` from now move the right hand to ``position``; with ``pinch``, pinch
        POINT_SETTLE_S later and open ``hold_s`` after that."""
        timer = threading.Timer(delay_s, self.move_right_hand, (position,))
        timer.start()
        self.timers.append(timer)
        if pinch:
            self.press_after("right", delay_s + POINT_SETTLE_S, hold_s)

    def press_after(self, side: str, delay_s: float, hold_s: float = HOLD_S) -> None:
        """Pull ``side``'s trigger ``delay_s`` from now; ``release_answered`` lets it go."""
        self.hold_s[side] = hold_s
        timer = threading.Timer(delay_s, self._set, (side, True))
        timer.start()
        self.timers.append(timer)

    def release_answered(self, answered_by: list[str]) -> None:
        """After a frame whose answers were ``answered_by`` ("right.trigger_click", ...):
        release each pulled trigger whose hand answered (now or in an earlier frame) once
        it has been held its time."""
        for name in answered_by:
            side = name.split(".")[0]
            if side in self.pulled:
                self.answered.add(side)
        with self.lock:
            due = [side for side in self.answered & set(self.pulled)
                   if time.monotonic() >= self.pulled[side][0] + self.pulled[side][1]]  # fmt: skip
        for side in due:
            self.answered.discard(side)
            self._set(side, False)

    def close(self) -> None:
        for timer in self.timers:
            timer.cancel()
        if self.hands:  # the driver keeps its state across clients: give the controllers back
            with self.lock:
                for side in ("left", "right"):
                    self.remote.set_controller(side, active=True, hand_tracking_active=False,
                                               hand_curl=OPEN)  # fmt: skip
        self.remote.close()


def main() -> int:
    from support.xr_patient_session import PatientHeadsetRun, patient_app_arguments

    parser = patient_app_arguments(max_seconds=90.0)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--record-haptics", action="store_true")
    parser.add_argument("--hands", action="store_true")
    parser.add_argument("--hold", type=float, default=HOLD_S, help="how long each press lasts (s)")
    parser.add_argument("--palm-stop", action="store_true")
    parser.add_argument("--point", choices=("pinch", "dwell"))
    args = parser.parse_args()
    run = PatientHeadsetRun("gmi-vr laterality test", args.max_seconds)

    haptic_layer = None
    if args.record_haptics:
        from support.fault_layers import HapticRecordingLayer

        haptic_layer = HapticRecordingLayer()
    haptic_frames: list[dict[str, object]] = []
    presser = TriggerPresser(hands=args.hands, point=args.point is not None)
    shows: list[dict[str, object]] = []
    result = run.result
    result.update(shows=shows, point_settle_s=POINT_SETTLE_S)
    try:
        layers = [haptic_layer.name] if haptic_layer is not None else []
        with run.session(args.patient, api_layers=layers, hands_only=args.hands) as (source, pipeline):
            import xr as openxr

            result["hand_paths"] = {side: openxr.string_to_path(source._instance, f"/user/hand/{side}").value
                                    for side in ("left", "right")}  # fmt: skip
            import numpy as np

            rest = np.asarray(presser.remote.state.head.position) + np.array([0.0, -0.15, -POINT_REACH_M])
            palm_offset = None  # --point: the synthesised palm's position less the pose sent
            if args.point:
                presser.move_right_hand(rest)
            from gmi_vr.therapy.tasks.laterality import answer_targets

            def palm_at(frame: object, name: str | None) -> np.ndarray:
                """The pose to send so the palm lies POINT_REACH_M from the eye towards the
                target ``name`` ("left", "right"; None: the picture, between them)."""
                runner = pipeline.runner
                assert runner is not None and runner.anchor is not None and palm_offset is not None
                panel, choices = answer_targets(runner.anchor, runner.program.laterality)
                target = next((c.centre for c in choices if c.name == name), panel[:3, 3])
                eye = np.asarray(frame.head.position)  # type: ignore[attr-defined]
                return np.asarray(eye + POINT_REACH_M * (target - eye) / np.linalg.norm(target - eye) - palm_offset)

            for frame in source.frames():
                output = pipeline.step(frame)
                seen = time.monotonic()
                shown = any(e.kind == "trial.show" for e in output.events)
                if args.point and palm_offset is None and shown and frame.right.grip_valid:
                    # The hand has rested at ``rest`` since before the first frame.
                    palm_offset = np.asarray(frame.right.grip.position) - rest
                    result["palm_offset"] = palm_offset.tolist()
                for event in output.events:
                    if event.kind == "trial.show" and args.point:
                        presser.point_after(palm_at(frame, str(event.data["side"])), args.delay,
                                            args.point == "pinch", args.hold)  # fmt: skip
                        shows.append({"side": str(event.data["side"]), "display_time_s": event.time_s,
                                      "seen_monotonic_s": seen})  # fmt: skip
                    elif event.kind == "trial.answer" and args.point:  # back between the targets
                        presser.move_right_hand(palm_at(frame, None))
                    elif event.kind == "trial.show":
                        side = str(event.data["side"])
                        presser.press_after(side, args.delay, args.hold)
                        shows.append({"side": side, "display_time_s": event.time_s,
                                      "seen_monotonic_s": seen})  # fmt: skip
                source.present(output.draw)
                before = len(haptic_layer.calls) if haptic_layer is not None else 0
                source.vibrate(output.haptics)
                answers = [e.data["answered_by"] for e in output.events if e.kind == "trial.answer"]
                presser.release_answered(answers)
                result.setdefault("answers_seen", []).extend(
                    {"answered_by": a, "seen_monotonic_s": seen} for a in answers)
                if args.palm_stop and answers and "palm_shown" not in result:
                    result["palm_shown"] = True
                    presser.show_palm("right")
                for event in output.events:
                    if event.kind == "safety.stop":
                        result["stop"] = {"time_s": event.time_s, "data": event.data,
                                          "seen_monotonic_s": time.monotonic()}  # fmt: skip
                result.setdefault("frame_times", []).append([frame.time_s, seen])
                result.setdefault("profiles", []).append(
                    [frame.left.profile, frame.right.profile, frame.left.grip_valid, frame.right.grip_valid])
                if haptic_layer is not None and (answers or output.haptics):
                    haptic_frames.append({
                        "frame": frame.index, "answers": answers,
                        "pulses": [[p.side.value, p.duration_s, p.amplitude] for p in output.haptics],
                        "calls_before": before, "calls_after": len(haptic_layer.calls)})  # fmt: skip
                run.end_when_done(source, frame, output.done, stopped="stop" in result)
            link = source.clock_link()  # monotonic_ns = XrTime + offset_ns, measured by the runtime
            result["clock_offset_ns"] = link.offset_ns if link is not None and link.exact else None
    finally:
        presser.close()
        run.release()
    result["sent"] = presser.sent
    if haptic_layer is not None:
        result["haptic_calls"] = haptic_layer.calls
        result["haptic_frames"] = haptic_frames
    return run.write(args.out)


if __name__ == "__main__":
    sys.exit(main())
