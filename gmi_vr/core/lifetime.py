"""Lifetimes you can see (STYLE.md): an object that holds something to give back (a GL
context, an OpenXR session) has an explicit ``release()`` and is also a ``with`` block."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ReleasedOnExit:
    """Base of an object with an explicit ``release()`` that is also a ``with`` block: the
    block gives the object itself and releases it on the way out, error or not."""

    def release(self) -> None:
        """Give back what the object holds; a second call does nothing."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
