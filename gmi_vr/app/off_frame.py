"""Slow store work off the render thread, while the headset's frames keep flowing.

Opening a patient's session (the store opened, their program, calibration and history
read, the session row written), finishing it (the recorder's last writes, the session read
back) and reading free play's patient list take 100-200 ms: as long as a dozen headset
frames. Done on the render thread they freeze the patient's picture (the runtime then shows
its own, or takes the focus away). Done here, the render thread goes on stepping and
presenting frames of the scene it has, and takes the result when the worker is done:

    render thread:  frame, frame, frame, ... , worker.result()  (the value, or its error raised here)
    worker thread:  work() ─────────────────▶

Only plain results cross back (a pipeline built and no longer touched by the worker, a
saved session's row); an error is raised on the render thread, where it would have been
raised before, so the user still gets the one sentence they would have got.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class OffFrame(Generic[T]):
    """``work()`` started at once on its own thread; ``done`` says when it has returned or
    raised; ``result()`` waits for it and returns its value or raises its error (any
    BaseException) on the calling thread."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._value: tuple[T] | None = None  # (value,) once work() returned
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._value = (work(),)
        except BaseException as error:  # handed to the render thread, raised there
            self._error = error

    @property
    def done(self) -> bool:
        """Whether ``work()`` has returned or raised."""
        return not self._thread.is_alive()

    def wait(self) -> None:
        """Until ``work()`` has returned or raised."""
        self._thread.join()

    def result(self) -> T:
        self.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None, "work() either returned or raised"
        return self._value[0]
