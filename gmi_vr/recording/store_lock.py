"""Who has a session store open: a shared advisory lock on a file beside it.

Every process that opens an SQLite store (``SessionStore.open``) holds a shared lock
(``flock(LOCK_SH)``) on ``sessions.sqlite-lock`` for as long as the store is open. A command
that replaces the store file (``gmi-vr store encrypt`` renames a new file over it) takes the
lock exclusively, without waiting, and refuses when anyone else holds it. Without this, a
program that had the store open before the swap (the therapist's window idle in free play) keeps
its SQLite connection on the old, unlinked file and writes its next session there: lost,
while it reports success.

- One process holds one lock per store however often it opens it (the console's threads,
  each recorder, a command opening the store twice): the holds are counted and the lock is let
  go with the last one. A process that holds the store open cannot replace it either.
- An opener that finds the store being replaced waits for that to finish (``on_wait`` is told
  once), then opens the new file.
- The last holder anywhere removes the lock file (as SQLite removes its WAL), so a closed
  store's folder holds the store only. A holder checks, once locked, that the name still
  leads to the file it locked (else it locks the new one): a removal can never put two
  processes on two different lock files.
- A folder that cannot be written: an existing lock file is locked read-only; with none there
  is no lock (the store then opens read-only, so it writes nothing, and nothing can be renamed
  over it either).
- PostgreSQL stores have no file and no lock (the server keeps its clients consistent).
- Windows has no ``flock``: no lock is taken there. Windows refuses to rename a file over one
  another program has open, so ``store encrypt`` then stops with "Cannot encrypt the session
  store ... nothing was changed" instead.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gmi_vr.core.errors import StorageError
from gmi_vr.recording.privacy import FILE_MODE

try:
    import fcntl
except ImportError:  # Windows: see the module docstring
    fcntl = None  # type: ignore[assignment]  # the module is None where the OS has none; every use checks

#: Suffix of the lock file beside a store (``sessions.sqlite-lock``).
LOCK_SUFFIX = "-lock"


@dataclass
class _Hold:
    """This process's lock on one store: the locked file descriptor and how many opens share it."""

    fd: int
    count: int


#: This process's locks, by the real path of their lock file; guarded by ``_registry``.
_held: dict[str, _Hold] = {}
_registry = threading.Lock()
#: Holds let go by the garbage collector, dropped at the next call that takes ``_registry``
#: (the collector may run while this very thread holds it).
_dropped_later: deque[str] = deque()


class Held:
    """One open's share of a store's lock (``hold``); let go once, by whichever comes first."""

    def __init__(self, key: str | None) -> None:
        self._key = key

    def release(self) -> None:
        """Let it go now (the store is closed)."""
        key, self._key = self._key, None
        if key is not None:
            with _registry:
                _drop(key)

    def release_later(self) -> None:
        """Let it go at the next lock call (for a finalizer: the store was never closed)."""
        key, self._key = self._key, None
        if key is not None:
            _dropped_later.append(key)


def lock_path(store: Path) -> Path:
    """The lock file of the store file ``store``."""
    return store.with_name(store.name + LOCK_SUFFIX)


def in_use_error(store: Path) -> StorageError:
    """The one sentence when the store cannot be replaced because a program has it open."""
    return StorageError(
        f"Another gmi-vr program has the session store {store} open (the therapist's window?); "
        f"close it and run 'gmi-vr store encrypt' again; nothing was changed."
    )


def hold(store: Path, on_wait: Callable[[str], None]) -> Held:
    """Take this process's shared lock on the store file ``store`` (waiting, with one sentence
    to ``on_wait``, while another process replaces it) until the returned hold is released.
    Where no lock can be taken (Windows, a read-only folder without a lock file, a folder not
    made yet) the hold holds nothing."""
    if fcntl is None:
        return Held(None)
    key = os.path.realpath(lock_path(store))
    with _registry:
        _drop_collected()
        held = _held.get(key)
        if held is None:
            try:
                fd = _locked(key, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                on_wait(
                    f"The session store {store} is being replaced by another gmi-vr program "
                    f"('gmi-vr store encrypt'); waiting for it to finish."
                )
                fd = _locked(key, fcntl.LOCK_SH)
            if fd is None:
                return Held(None)
            held = _held[key] = _Hold(fd, 0)
        held.count += 1
    return Held(key)


@contextmanager
def exclusive(store: Path) -> Iterator[None]:
    """Hold the store file ``store`` alone while the block runs: nobody else has it open, and
    an opener waits (``hold``). Refuses at once, with ``in_use_error``, when another process
    or another open in this one holds it. Opening the store inside the block shares this
    lock. No lock (see ``hold``): the block runs unguarded."""
    if fcntl is None:
        yield
        return
    key = os.path.realpath(lock_path(store))
    with _registry:
        _drop_collected()
        if key in _held:
            raise in_use_error(store)
        try:
            fd = _locked(key, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise in_use_error(store) from None
        if fd is not None:
            _held[key] = _Hold(fd, 1)
    try:
        yield
    finally:
        if fd is not None:
            Held(key).release()


def _open(path: str) -> int | None:
    """The lock file, created ``0600`` when missing; read-only in a folder that cannot be
    written; None when it cannot be had (no folder, or none and no right to create it)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError:
        pass
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


def _locked(path: str, how: int) -> int | None:
    """Open the lock file ``path`` and ``flock`` it ``how``; again when the name was removed
    or replaced while this waited (the last holder removes it: see ``_release``).
    BlockingIOError from ``LOCK_NB`` when another process holds it the other way."""
    assert fcntl is not None
    while True:
        fd = _open(path)
        if fd is None:
            return None
        try:
            fcntl.flock(fd, how)
            locked = os.fstat(fd)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
        except BaseException:
            os.close(fd)
            raise
        if current is not None and os.path.samestat(locked, current):
            return fd
        os.close(fd)


def _drop_collected() -> None:
    """Let go the holds of stores the garbage collector took (under ``_registry``)."""
    while _dropped_later:
        _drop(_dropped_later.popleft())


def _drop(key: str) -> None:
    """One open of the store is closed (under ``_registry``); the last one here lets the lock
    go, and removes the lock file when no other process holds it (it could take it alone)."""
    assert fcntl is not None
    _drop_collected()
    held = _held[key]
    held.count -= 1
    if held.count:
        return
    del _held[key]
    try:
        fcntl.flock(held.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(key)
    except OSError:
        pass  # another process holds it, or the folder is read-only: the file stays
    finally:
        os.close(held.fd)
