"""``gmi-vr store encrypt``: a plaintext SQLite store turned into an SQLCipher one, safely.

The whole conversion holds the store's lock alone (``store_lock.exclusive``): a gmi-vr
program that has the store open (the therapist's window idle, another command) would go on
writing into the old file after the swap and lose it, so the conversion refuses to start
while one does, and a program opening the store meanwhile waits for the new file.

The steps, each before the next, so that a crash or a failed check at any point leaves the
store readable (the old plaintext file until the swap, the encrypted one after it):

1. the plaintext store's WAL is checkpointed into its main file (nothing else may be
   recording: a running session refuses the conversion);
2. ``sqlcipher_export`` writes every table, index and AUTOINCREMENT counter into a NEW
   file ``sessions.sqlite.encrypting`` (``0600``), encrypted with the passphrase;
3. the new file is verified: SQLite's ``quick_check`` through the key, the rows of every
   table counted in both files and equal, the schema revision equal; and the plaintext file
   unchanged meanwhile (size, modification time, WAL);
4. the marker ``sessions.sqlite-encrypted`` is written and synced, the new file is synced
   and renamed over the store (one atomic rename), the folder synced;
5. only then the old plaintext file (kept under a second name for the rename) is overwritten
   with zeros, synced and unlinked.

What step 5 does not guarantee: on an SSD (wear levelling), a copy-on-write or journaling
file system (btrfs, ZFS, ext4 with data journaling) or under snapshots and backups of the
disk, overwriting a file in place need not reach the blocks that held the old bytes; only
encrypting the disk itself (BitLocker, FileVault, LUKS) covers them. The README says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmi_vr.core.errors import StorageError
from gmi_vr.recording import cipher, health, privacy, store_lock
from gmi_vr.recording.durable import fsync_path

#: A step that failed on the disk or in SQLite: the store is left as it was.
_FAILURES: tuple[type[Exception], ...] = (OSError, *health.DATABASE_ERRORS)
#: Bytes overwritten per write while the old plaintext file is scrubbed.
_SCRUB_CHUNK = 1 << 20


@dataclass(frozen=True)
class EncryptInfo:
    """What the conversion verified: rows per table (equal in both files) and the revision."""

    path: Path
    rows: dict[str, int]
    revision: str | None


def _signature(path: Path) -> tuple[int, int, int]:
    """What changes when anything commits to the plaintext store: its size and time, and its
    WAL's size (a missing WAL and an empty one are the same: a reader may create it)."""
    stat = path.stat()
    wal = path.with_name(path.name + "-wal")
    return stat.st_size, stat.st_mtime_ns, wal.stat().st_size if wal.exists() else 0


def _rows(connection: Any, schema: str = "main") -> tuple[dict[str, int], str | None]:
    """Rows per table (``sqlite_sequence`` included) and the schema revision of one database."""
    execute = connection.execute
    tables = [
        row[0]
        for row in execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    rows = {table: int(execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()[0]) for table in tables}
    revision = None
    if "alembic_version" in tables:
        found = execute(f"SELECT version_num FROM {schema}.alembic_version").fetchone()
        revision = found[0] if found else None
    return rows, revision


def encrypt_store(path: Path, secret: str) -> EncryptInfo:
    """Convert the plaintext SQLite store ``path`` into an SQLCipher store keyed with ``secret``
    (see the module docstring). The caller has opened it once (checks, migrations, crash
    recovery) and made sure no session is running. StorageError, with the store unchanged,
    when a step fails or another program has the store open (``store_lock.in_use_error``)."""
    with store_lock.exclusive(path):
        return _encrypt_alone(path, secret)


def _encrypt_alone(path: Path, secret: str) -> EncryptInfo:
    """``encrypt_store`` while nobody else has the store open."""
    finish_interrupted(path)
    if not cipher.header_is_plaintext(path):
        raise StorageError(f"{path} is not a plaintext session store; nothing was changed.")
    partial = _partial(path)
    old = _old(path)
    try:
        # 1. Everything into the main file.
        plain = cipher.dbapi.connect(str(path), isolation_level=None)
        try:
            plain.execute(f"PRAGMA busy_timeout = {health.CHECK_BUSY_TIMEOUT_MS}")
            busy = plain.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            plain.close()
        if busy:
            raise StorageError(
                f"Another program is using the session store {path}; close every gmi-vr window and "
                f"try again (nothing was changed)."
            )
        before = _signature(path)
        # 2. The encrypted copy.
        privacy.create_private_file(partial)
        salt = cipher.new_salt()
        # Reads only; a read-write connection so that, as the last one to close, it takes the
        # (empty) WAL and shared-memory files away with it, leaving no plaintext-era file behind.
        plain = cipher.dbapi.connect(str(path), isolation_level=None)
        try:
            key = cipher.key_pragma(secret, salt).split("= ", 1)[1]
            plain.execute(f"ATTACH DATABASE ? AS encrypted KEY {key}", (str(partial),))
            plain.execute("SELECT sqlcipher_export('encrypted')").fetchall()
            plain.execute("DETACH DATABASE encrypted")
            source_rows, source_revision = _rows(plain)
        finally:
            plain.close()
        # 3. Verified, through the key, before the plaintext store is touched.
        problems = health.quick_check(partial, secret)
        if problems:
            raise StorageError(f"The encrypted copy of {path} failed SQLite's check ({problems[0]}); nothing was changed.")
        copy = cipher.connect(partial, secret, read_only=True)
        try:
            copy_rows, copy_revision = _rows(copy)
        finally:
            copy.close()
        if copy_rows != source_rows or copy_revision != source_revision:
            raise StorageError(
                f"The encrypted copy of {path} does not hold the same rows as the store; nothing was changed "
                f"(run 'gmi-vr store check')."
            )
        if _signature(path) != before:
            raise StorageError(
                f"Another program wrote to the session store {path} during the conversion; close every "
                f"gmi-vr window and try again (nothing was changed)."
            )
        # 4. The swap: the marker first, so that an encrypted store never lies without it.
        fsync_path(partial)
        cipher.write_marker(path)
        os.link(path, old)
        os.replace(partial, path)
        fsync_path(path.parent)
    except _FAILURES as error:
        partial.unlink(missing_ok=True)
        raise StorageError(f"Cannot encrypt the session store {path} ({error}); nothing was changed.") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # 5. The old plaintext bytes overwritten, then unlinked. Its WAL was empty (checked with
    # the signature) and its shared-memory file holds no rows, only the WAL's index: both are
    # left to SQLite, which starts them anew for the encrypted file.
    scrub(old)
    return EncryptInfo(path, source_rows, source_revision)


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".encrypting")


def _old(path: Path) -> Path:
    return path.with_name(path.name + ".plaintext-old")


def finish_interrupted(path: Path) -> None:
    """Clear what a conversion stopped by a crash left beside the store ``path``: before the
    swap, the unfinished encrypted copy and the second name of the (unchanged) plaintext
    store; after the swap, the old plaintext file, which is scrubbed then. Cheap (a few
    ``stat`` calls) when there is nothing to clear. A marker left beside a plaintext store
    stays: the header decides (``cipher.is_encrypted_store``), so it is harmless, and an
    encrypted store never loses its marker even when this runs during a conversion."""
    _partial(path).unlink(missing_ok=True)
    old = _old(path)
    if not old.exists():
        return
    if path.exists() and os.path.samefile(old, path):
        old.unlink()  # the store itself under its second name: only the name goes
    else:
        scrub(old)


def scrub(path: Path) -> None:
    """Overwrite ``path`` with zeros, sync, unlink (see the module docstring for what this
    cannot promise on SSDs and journaling file systems); nothing when it is missing."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        size = os.fstat(fd).st_size
        zeros = bytes(_SCRUB_CHUNK)
        done = 0
        while done < size:
            done += os.write(fd, zeros[: min(_SCRUB_CHUNK, size - done)])
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()

