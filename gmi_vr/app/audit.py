"""The console's audit rows, written off the render thread.

    render thread: AuditWriter.write(actor, action, ...)  ──queue──▶  writer thread: store.audit(...)

A console action must never cost the headset a frame, and an SQLite write (a commit with
``synchronous=FULL``) can take milliseconds or wait on another writer; so the render thread
only enqueues, as it does for the recording. A row that cannot be written is counted and its
error kept (``problem``): the console shows it at once, and the session's end says so with
the storage exit status, as for a recording failure.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from gmi_vr.recording.store import SessionStore

log = logging.getLogger("gmi_vr.app")

_CLOSE = object()


class AuditWriter:
    """One writer thread for ``store``'s audit rows; ``close()`` writes what is queued and
    stops it (waits at most ``timeout_s``)."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.written = 0
        self.failed = 0
        self.last_error = ""
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="gmi-vr audit writer", daemon=True)
        self._thread.start()

    def write(self, actor: str, action: str, **row: Any) -> None:
        """Queue one row (``store.audit``'s keywords: patient_id, session_id, details)."""
        self._queue.put((actor, action, row))

    @property
    def problem(self) -> str:
        """One sentence while any row failed, else ""."""
        if not self.failed:
            return ""
        return (f"{self.failed} audit row{'s' if self.failed != 1 else ''} could not be written "
                f"({self.last_error}); check the store with 'gmi-vr store check'.")  # fmt: skip

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _CLOSE:
                return
            actor, action, row = item
            try:
                self.store.audit(actor, action, **row)
            except Exception as error:  # noqa: BLE001  (any failure is counted and shown; the thread goes on)
                self.failed += 1
                self.last_error = str(error).rstrip(".")
                log.error("Audit row %s by %s not written: %s", action, actor, error)
            else:
                self.written += 1

    def close(self, timeout_s: float = 10.0) -> None:
        self._queue.put(_CLOSE)
        self._thread.join(timeout_s)
