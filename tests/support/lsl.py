"""Lab Streaming Layer inlets for tests: what a lab's recorder (LabRecorder) does, on this
machine only.

``machine_only_config`` writes an lsl_api.cfg that keeps stream discovery on 127.0.0.1
(resolve scope "machine", no IPv6), so a test never sends LSL's multicast or broadcast
queries to the network; liblsl reads the file named by ``LSLAPICFG`` when it is first used,
so set it before any stream is opened or resolved, in this process and in the app's.
``StreamCapture`` resolves the app's three streams by source id, opens an inlet on each
(the app may wait for them: ``run --lsl-wait``) and keeps pulling in a thread until closed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MACHINE_ONLY = """\
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
MachineAddresses = {127.0.0.1}
[lab]
KnownPeers = {127.0.0.1}
"""


def machine_only_config(folder: Path) -> Path:
    path = folder / "lsl_api.cfg"
    path.write_text(MACHINE_ONLY)
    return path


@dataclass
class Received:
    """What one inlet received: samples and their timestamps (LSL clock, s), and the LSL
    clock when each pull returned them (``received_at``)."""

    samples: list[list[Any]] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)


class StreamCapture:
    """Inlets on the app's motion, events and pain streams of ``station`` (source ids
    ``gmi-vr@<station>/...``), pulled in a thread from ``open()`` until ``close()``."""

    STREAMS = ("motion", "events", "pain")

    def __init__(self, station: str) -> None:
        self.station = station
        self.received = {name: Received() for name in self.STREAMS}
        self.infos: dict[str, Any] = {}
        self._inlets: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self, timeout_s: float = 60.0) -> None:
        """Resolve the three streams (waiting for the app to open them) and open an inlet on
        each; raises AssertionError when they do not appear in time."""
        import pylsl

        deadline = time.monotonic() + timeout_s
        for name in self.STREAMS:
            source_id = f"gmi-vr@{self.station}/{name}"
            found: list[Any] = []
            while not found and time.monotonic() < deadline:
                found = pylsl.resolve_byprop("source_id", source_id, 1, 1.0)
            assert found, f"no LSL stream {source_id} within {timeout_s} s"
            inlet = pylsl.StreamInlet(found[0], max_buflen=600, recover=False)
            inlet.open_stream(timeout=10.0)
            self.infos[name] = inlet.info(timeout=10.0)
            self._inlets[name] = inlet
        self._thread = threading.Thread(target=self._pull, daemon=True)
        self._thread.start()

    def _pull(self) -> None:
        import pylsl
        from pylsl.util import LostError

        while True:
            stopping = self._stop.is_set()
            got = 0
            for name, inlet in self._inlets.items():
                try:
                    samples, stamps = inlet.pull_chunk(timeout=0.05)
                except LostError:  # the app closed this stream: everything sent was pulled
                    time.sleep(0.01)
                    continue
                now = pylsl.local_clock()
                into = self.received[name]
                into.samples += samples
                into.stamps += stamps
                into.received_at += [now] * len(stamps)
                got += len(stamps)
            if stopping and not got:
                return

    def close(self) -> None:
        """Pull what is still buffered, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30.0)
        for inlet in self._inlets.values():
            inlet.close_stream()
        self._inlets.clear()
