"""A patient's session in the headset stopped with the healthy hand alone through Monado's
remote driver; run in a subprocess by tests/xr/test_stop_xr.py.

    python tests/support/xr_stop_app.py PATIENT --out RESULT.json [--max-seconds S]

The real ``OpenXrSource`` frame loop drives the real ``session_pipeline`` as ``gmi-vr run
--patient`` does. The head and both controllers are reset first (the driver keeps its last
state across clients); the affected (left) controller stays idle for the whole run. Once the
session has run ``SETTLE_S`` of frames, the healthy (right) controller's grip and trigger are
squeezed together and held; when the "safety.stop" event appears the therapist's end is
requested, as the console's End would.

RESULT.json: the session id, the stop event's data and display time, the display time of
the first frame that saw the fist (s), and whether the session finished.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.*

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

SETTLE_S = 1.0  # frames of the running session before the fist (display time)
HEAD = np.array([0.0, 1.2, 0.0])


def main() -> int:
    from support.xr_patient_session import PatientHeadsetRun, patient_app_arguments

    args = patient_app_arguments(max_seconds=60.0).parse_args()
    run = PatientHeadsetRun("gmi-vr stop test", args.max_seconds)

    from gmi_vr.core.types import Pose
    from support.monado_remote import ControllerState, MonadoRemote

    remote = MonadoRemote()
    idle_left = ControllerState(pose=Pose(np.array([-0.3, 0.75, -0.2])), active=True)
    right = ControllerState(pose=Pose(np.array([0.3, 0.75, -0.2])), active=True)
    remote.set_all(Pose(HEAD), idle_left, right)
    result = run.result
    try:
        with run.session(args.patient) as (source, pipeline):
            runner = pipeline.runner
            assert runner is not None
            first_time: float | None = None
            fist_sent = end_requested = False
            for frame in source.frames():
                output = pipeline.step(frame)
                source.present(output.draw)
                if runner.started and first_time is None:
                    first_time = frame.time_s
                if first_time is not None and not fist_sent and frame.time_s - first_time >= SETTLE_S:
                    remote.set_controller("right", squeeze=1.0, squeeze_force=1.0, trigger=1.0,
                                          trigger_click=True, trigger_touch=True)  # fmt: skip
                    fist_sent = True
                if fist_sent and "fist_seen_s" not in result and frame.right.squeeze >= 0.8:
                    result["fist_seen_s"] = frame.time_s
                    result["left_idle"] = (frame.left.squeeze, frame.left.trigger, frame.left.trigger_click)
                for event in output.events:
                    if event.kind == "safety.stop":
                        result["stop"] = {"time_s": event.time_s, **event.data}
                        result["state_after_stop"] = runner.state.value  # "calm": look only
                    if event.kind == "safety.stop_hint":
                        result["hint"] = event.data["text"]
                if "stop" in result and not end_requested:
                    runner.end_session(frame.time_s)  # the therapist ends from the calm scene
                    end_requested = True
                run.end_when_done(source, frame, output.done)
    finally:
        remote.set_controller("right", squeeze=0.0, squeeze_force=0.0, trigger=0.0,
                              trigger_click=False, trigger_touch=False)  # fmt: skip
        remote.close()
        run.release()
    return run.write(args.out)


if __name__ == "__main__":
    sys.exit(main())
