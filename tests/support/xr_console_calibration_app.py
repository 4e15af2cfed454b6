"""A calibration started from the console in the headset, against the real runtime (run by
tests/xr/test_calibration_xr.py inside tools/xr-sandbox): ``run_openxr`` as ``gmi-vr run``
runs it, in free play; the therapist's "calibrate" for the patient reaches the window's queue
(``support.stand_in_headset.DrivenWindow``), the remote driver plays the one-handed pose
(``support.calibration_driver``) and the guide measures it on the run's own frame loop. The
store's three waits are slowed on purpose by SLOW_S each (a sleep): opening it for the
calibration, storing the result, and reading free play's patient list after it. Writes JSON:
per slowed wait, how many pictures were presented to the runtime's eyes meanwhile
(``OpenXrSource.present``); the console's sentence once free play is back.

    python tests/support/xr_console_calibration_app.py PATIENT --out RESULT.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for support.* and calibration_motion

from gmi_vr.render.context import choose_gl_platform  # noqa: E402

choose_gl_platform(offscreen=False)

import glfw  # noqa: E402

import gmi_vr.app.calibrate as calibrate  # noqa: E402
import gmi_vr.app.console as app_console  # noqa: E402
from gmi_vr.app.headset import run_openxr  # noqa: E402
from gmi_vr.console.panels import ConsoleAction  # noqa: E402
from gmi_vr.recording.store import SessionStore  # noqa: E402
from support.calibration_driver import calibration_pose_loop  # noqa: E402
from support.stand_in_headset import DrivenWindow, until  # noqa: E402

#: How long each slowed store call sleeps: a dozen frames and more at the runtime's 20 Hz.
SLOW_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("patient")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from gmi_vr.xr.openxr_source import OpenXrSource

    presented: list[float] = []
    product_present = OpenXrSource.present

    def present(self: OpenXrSource, draw_list: object) -> None:
        presented.append(time.monotonic())
        product_present(self, draw_list)

    OpenXrSource.present = present
    slow: list[list[object]] = []
    log: dict[str, object] = {"slow": slow}
    free_play_next = {"slowed": False}

    def slowed(what: str, call: Callable[[], object]) -> object:
        before = len(presented)
        time.sleep(SLOW_S)
        slow.append([what, len(presented) - before])
        return call()

    class SlowCalibrationStore(SessionStore):
        @classmethod
        def open(cls, *a: Any, **k: Any) -> Any:
            return slowed("calibration open", lambda: SessionStore.open(*a, **k))

    class SlowListStore(SessionStore):
        @classmethod
        def open(cls, *a: Any, **k: Any) -> Any:
            if not free_play_next["slowed"]:
                return SessionStore.open(*a, **k)
            free_play_next["slowed"] = False
            return slowed("free play open", lambda: SessionStore.open(*a, **k))

    product_store = calibrate._store

    def slow_store(*a: Any) -> None:
        free_play_next["slowed"] = True  # the next list read is free play's, after the calibration
        slowed("calibration save", lambda: product_store(*a))

    calibrate.SessionStore = SlowCalibrationStore
    calibrate._store = slow_store
    app_console.SessionStore = SlowListStore

    def drive(driven: DrivenWindow) -> Generator[None, Any, None]:
        window, status = yield from until(lambda w, s: w.panel is not None and w.panel.before is not None,
                                          "free play's list")  # fmt: skip
        driven.actions.append(ConsoleAction("calibrate", args.patient))
        window, status = yield from until(lambda w, s: s.startswith(f"calibration of {args.patient}"), "calibrating")
        log["calibrating"] = status
        window, status = yield from until(lambda w, s: w.panel.before is not None, "free play again")
        log["message"] = window.panel.message
        glfw.set_window_should_close(window.context.window, True)  # the therapist closes the window
        while True:
            yield

    DrivenWindow(drive)
    with calibration_pose_loop():
        run_openxr(None, max_frames=4000, visible=False, therapist="t.one")
    log["presented"] = len(presented)
    args.out.write_text(json.dumps(log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
