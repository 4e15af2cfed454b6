"""The one-handed calibration pose played through Monado's remote driver, for the headset
tests (tests/xr/test_calibration_xr.py, support/xr_console_calibration_app.py): the right
controller holds the pose in a loop on the wall clock (3 s at rest, 3 s out to the side, 3 s
forward) while the left one is not tracked, so however long the run takes to start, a whole
pose soon follows. The poses are ``calibration_motion``'s scripted body's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from gmi_vr.core.types import Pose


@contextmanager
def calibration_pose_loop() -> Iterator[None]:
    """The pose played on a thread while the block runs; the driver closed after it."""
    from calibration_motion import EYE, right_arm_grips

    from support.monado_remote import MonadoRemote

    side, forward = (Pose.from_array(g) for g in right_arm_grips())
    rest = Pose(np.array([0.18, 0.86, -0.38]))
    remote = MonadoRemote()
    stop = threading.Event()

    def drive() -> None:
        start = time.monotonic()
        while not stop.is_set():
            phase = (time.monotonic() - start) % 9.0
            grip = rest if phase < 3.0 else side if phase < 6.0 else forward
            now = remote.state
            remote.set_all(Pose(EYE), replace(now.left, active=False), replace(now.right, pose=grip, active=True))
            time.sleep(0.02)

    driver = threading.Thread(target=drive, name="calibration pose")
    driver.start()
    try:
        yield
    finally:
        stop.set()
        driver.join()
        remote.close()
