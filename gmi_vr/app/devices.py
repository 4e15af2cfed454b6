"""The headset and controllers as the console shows them before a session.

    simulator:  DoctorCheck ──thread──▶ child process: print_doctor_answer()
                    (xr.doctor.doctor_checks + the data folder's check: the rows of gmi-vr doctor)
                ◀── JSON rows, whether a session can start, the first failure's sentence
    headset:    LiveDevices(info).status(hands)   the running session's runtime, headset and bound
                                            controllers (its own session answers the doctor's
                                            questions; a second one would take the headset)

The doctor opens a hidden GL window and an OpenXR instance and session: GLFW wants the main
thread and one process binds PyOpenGL once, so the checks run in a process of their own,
waited for on a worker thread. The window's frames never wait for them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Protocol

from gmi_vr.console.panels import DeviceStatus
from gmi_vr.core.types import HandInput

#: How long the checks may take (a runtime that hangs at start, seconds) before the panel
#: says so; ``gmi-vr doctor`` takes a second or two on a healthy PC.
DOCTOR_TIMEOUT_S = 60.0
#: The simulator's line: where its sessions start, whatever the headset's state.
#: What the child process runs.
CHILD = "from gmi_vr.app.devices import print_doctor_answer; print_doctor_answer()"
SIM_NOTE = "This is the simulator: the session starts here, without a headset."


class DeviceSource(Protocol):
    """Where the console's device status comes from: ``status(hands)`` now (``hands``: the
    last frame's left and right), and ``again()``, the therapist's "check again"."""

    def status(self, hands: tuple[HandInput, HandInput] | None) -> DeviceStatus: ...

    def again(self) -> None: ...


@dataclass
class DoctorCheck:
    """``gmi-vr doctor``'s checks in a child process, started by the first ``status()`` (a
    run that never shows the patients' list never runs them) and by ``again()``; ``note``:
    where this run's sessions start."""

    note: str = SIM_NOTE
    _status: DeviceStatus | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def status(self, hands: tuple[HandInput, HandInput] | None = None) -> DeviceStatus:
        """What the panel shows now (``hands`` is the headset's; unused here)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gmi-vr doctor", daemon=True)
            self._thread.start()
        return self._status if self._status is not None else DeviceStatus(note=self.note, checking=True)

    def again(self) -> None:
        """Check again (the headset was switched on meanwhile); a check under way goes on."""
        if self._thread is not None and not self._thread.is_alive():
            self._status, self._thread = None, None

    def wait(self, timeout_s: float = DOCTOR_TIMEOUT_S + 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                                  timeout=DOCTOR_TIMEOUT_S, check=False)  # fmt: skip
            answer = json.loads(done.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            self._status = DeviceStatus(problem=f"The headset checks did not answer in {DOCTOR_TIMEOUT_S:g} s: "
                                        "restart the headset's runtime, then run gmi-vr doctor.", note=self.note)  # fmt: skip
            return
        except (OSError, ValueError, IndexError):
            self._status = DeviceStatus(problem="The headset checks could not run: run gmi-vr doctor in a "
                                        "terminal to see why.", note=self.note)  # fmt: skip
            return
        rows = tuple((str(v), str(n), str(d)) for v, n, d in answer["rows"])
        self._status = DeviceStatus(rows, str(answer["problem"]), self.note, recheck=True)


@dataclass(frozen=True)
class LiveDevices:
    """The running headset session's runtime and headset (``OpenXrSource.info``), with the
    controllers of each frame (``live_devices``): nothing to check again."""

    runtime_name: str
    system_name: str

    def status(self, hands: tuple[HandInput, HandInput] | None) -> DeviceStatus:
        return live_devices(self.runtime_name, self.system_name, hands)

    def again(self) -> None:
        """Nothing: the running session's state is read every frame."""


def live_devices(runtime_name: str, system_name: str, hands: tuple[HandInput, HandInput] | None) -> DeviceStatus:
    """The running headset session's status in the doctor's rows: its runtime, its headset
    and the controllers bound now (``hands``: the last frame's left and right)."""
    rows = [("pass", "OpenXR runtime", runtime_name), ("pass", "headset", system_name)]
    profiles = [(side, hand.profile) for side, hand in zip(("left", "right"), hands or (), strict=False)]
    if any(profile for _, profile in profiles):
        rows.append(("pass", "controllers", ", ".join(f"{side} {profile or 'none bound'}" for side, profile in profiles)))
    else:
        rows.append(("FAIL", "controllers", "none bound: switch the controllers on (meanwhile the therapist's "
                     "keys answer for the patient)"))  # fmt: skip
    return DeviceStatus(tuple(rows), note="The headset is running: the session starts in it.")


def doctor_answer() -> dict[str, object]:
    """The doctor's checklist as JSON-ready data: ``rows`` [verdict, check, detail] (the
    data folder's and the store's included, as ``gmi-vr doctor`` prints them) and ``problem``:
    the first failure's sentence, prefixed with what it stops ("" when a session can start)."""
    from gmi_vr.app.headset import doctor_rows
    from gmi_vr.xr.doctor import doctor_checks

    result = doctor_checks(capture_loader_output=True)
    rows = [list(row) for row in doctor_rows(result)]
    error = None if result.session_can_start else result.first_error()
    if error is None:
        return {"rows": rows, "problem": ""}
    # Shown inside the simulator, whose own note says the session starts there.
    sentence = str(error).removesuffix(", or use --sim.").removesuffix(" or use --sim.").rstrip(".") + "."
    return {"rows": rows, "problem": f"A session cannot start in the headset now: {sentence}"}


def print_doctor_answer() -> None:
    """The child process's work: ``doctor_answer()`` as one JSON line on stdout."""
    sys.stdout.write(json.dumps(doctor_answer()) + "\n")
