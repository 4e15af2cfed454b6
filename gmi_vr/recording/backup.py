"""Backups that restore: a copy of the session store taken while it is in use, and its return.

``backup_sqlite`` copies an SQLite store with SQLite's online backup API in one step: one
read transaction, so the copy is the store as of one commit even while a session records
(WAL mode lets the writer go on meanwhile). ``backup_postgres`` runs ``pg_dump``. Either
writes a new file, ``0600`` (``privacy.py``), first under a ``.partial`` name, checked with
SQLite's ``quick_check`` where it is SQLite, and only then given its name: a file with the
backup's name is a whole backup.

``restore_sqlite`` brings a backup into an EMPTY data folder only (nothing is ever
overwritten), after refusing a file that is damaged (``health.quick_check``), not a session
store, or written by a newer gmi-vr; the restored store is then opened once, which upgrades
an older schema and marks sessions that were running when the backup was taken as
interrupted.

A backup of an encrypted store (``cipher.py``) is encrypted with the store's passphrase
(the backup API copies it page by page, keyed on both ends); restoring it needs that
passphrase and leaves the store's marker beside the restored file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from gmi_vr.core.errors import NotFoundError, StorageError
from gmi_vr.core.settings import DATABASE_NAME
from gmi_vr.recording import cipher, health, privacy
from gmi_vr.recording.durable import fsync_path

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: How long the backup waits for a writer holding the store, milliseconds.
BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class BackupInfo:
    """What a backup (or a restore) holds: its file, the schema revision and the sessions."""

    path: Path
    revision: str | None
    sessions: int
    patients: int


def backup_sqlite(source: Path, out: Path) -> BackupInfo:
    """Copy the SQLite store ``source`` into the new file ``out`` (see the module docstring)."""
    if not source.is_file():
        raise NotFoundError(f"There is no session store at {source}; check GMI_VR_DATA or the settings' data_dir.")
    secret = cipher.require_passphrase(source) if cipher.is_encrypted_store(source) else None
    partial = _new_file(out)
    try:
        # Read-only: the backup never changes the store (not even its WAL) nor waits for it to be idle.
        src = _connect(source, secret, read_only=True, timeout=BUSY_TIMEOUT_MS / 1000)
        dst = _connect(partial, secret, salt=cipher.file_salt(source) if secret else None)
        try:
            src.backup(dst)  # pages=-1: the whole store in one read transaction, one commit's state
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no WAL beside it
        finally:
            dst.close()
            src.close()
        problems = health.quick_check(partial, secret)
        if problems:
            raise StorageError(
                f"The backup of {source} failed SQLite's check ({problems[0]}); the store itself may be damaged: "
                f"run 'gmi-vr store check'."
            )
        info = _describe(partial, out, secret)
        fsync_path(partial)
        os.replace(partial, out)
        fsync_path(out.parent)
    except _SQLITE_ERRORS as error:
        raise StorageError(f"Cannot back up {source} ({error}); check the disk and try again.") from error
    except OSError as error:
        raise StorageError(f"Cannot write the backup {out} ({error.strerror}); choose a writable place with --out.") from error
    finally:
        partial.unlink(missing_ok=True)
    return info


def backup_postgres(url: str, out: Path) -> Path:
    """``pg_dump`` of the database at ``url`` (custom format, for ``pg_restore``) into ``out``."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise StorageError(
            "The store is on a PostgreSQL server and pg_dump is not installed here; install the "
            "PostgreSQL client tools (Debian: postgresql-client) or back up on the server."
        )
    partial = _new_file(out)
    plain = make_url(url).set(drivername="postgresql")
    try:
        result = subprocess.run(
            [pg_dump, "--format=custom", f"--file={partial}", "--dbname", plain.render_as_string(hide_password=False)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise StorageError(f"pg_dump could not back up {plain.render_as_string(hide_password=True)} ({last}).")
        fsync_path(partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def restore_sqlite(backup: Path, data_dir: Path, known_revisions: set[str]) -> Path:
    """Copy the backup ``backup`` into ``data_dir / sessions.sqlite``; ``data_dir`` must be
    missing or empty. ``known_revisions`` are the schema revisions this gmi-vr can read.
    Returns the restored file (not yet opened: the caller opens it to upgrade and recover)."""
    secret = backup_passphrase(backup)
    check_backup(backup, known_revisions, secret)
    if data_dir.exists():
        if not data_dir.is_dir():
            raise StorageError(f"{data_dir} is a file, not a data folder; choose an empty or new folder to restore into.")
        if any(data_dir.iterdir()):
            raise StorageError(
                f"The data folder {data_dir} is not empty; a restore never overwrites a store: point "
                f"GMI_VR_DATA at a new folder, restore there, and check it before using it."
            )
    else:
        try:
            privacy.make_private_folder(data_dir)
        except OSError as error:
            raise StorageError(f"Cannot create the data folder {data_dir} ({error.strerror}); choose a writable place.") from error
    target = data_dir / DATABASE_NAME
    partial = _new_file(target)
    try:
        src = _connect(backup, secret, read_only=True)
        dst = _connect(partial, secret, salt=cipher.file_salt(backup) if secret else None)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        fsync_path(partial)
        if secret is not None:
            cipher.write_marker(target)
        os.replace(partial, target)
        fsync_path(data_dir)
    except _SQLITE_ERRORS as error:
        raise StorageError(f"Cannot restore {backup} ({error}); the data folder {data_dir} holds no store.") from error
    finally:
        partial.unlink(missing_ok=True)
    return target


def _header(backup: Path) -> bytes:
    """The first 100 bytes of a backup file (an SQLite header's length); one sentence when
    the file is missing or unreadable."""
    try:
        with backup.open("rb") as f:
            return f.read(100)
    except FileNotFoundError:
        raise NotFoundError(f"There is no backup file {backup}; check the name.") from None
    except OSError as error:
        raise StorageError(f"Cannot read the backup {backup} ({error.strerror}); check its permissions.") from None


def backup_passphrase(backup: Path) -> str | None:
    """None for a plaintext backup; the passphrase that opens an encrypted one (StorageError
    when none is given or it does not open it)."""
    header = _header(backup)
    if len(header) < 100 or header.startswith(_SQLITE_MAGIC):
        return None  # plaintext, or too short to be anything: check_backup says which
    secret = cipher.passphrase()
    if secret is None or not cipher.opens_with(backup, secret):
        raise StorageError(
            f"{backup} is an encrypted backup (or not a gmi-vr backup at all): "
            + ("no passphrase was given" if secret is None else "the passphrase does not open it")
            + f"; give the store's passphrase when asked or in {cipher.PASSPHRASE_ENV} (nothing was restored)."
        )
    return secret


def check_backup(backup: Path, known_revisions: set[str], secret: str | None = None) -> str:
    """The schema revision of a backup file (an encrypted one keyed with ``secret``);
    StorageError (one sentence) for a file that is missing, not a session store, damaged, or
    of a newer gmi-vr."""
    header = _header(backup)
    if len(header) < 100 or (secret is None and not header.startswith(_SQLITE_MAGIC)):
        raise StorageError(
            f"{backup} is not a gmi-vr backup of an SQLite store (a PostgreSQL backup is restored with pg_restore); "
            f"nothing was restored."
        )
    try:
        problems = health.quick_check(backup, secret)
    except _SQLITE_ERRORS as error:
        raise StorageError(f"The backup {backup} cannot be read ({error}); nothing was restored.") from error
    if problems:
        raise StorageError(
            f"The backup {backup} is damaged (SQLite: {problems[0]}); nothing was restored: use another backup."
        )
    revisions = _revisions(backup, secret)
    if not revisions:
        raise StorageError(f"{backup} is an SQLite database but not a gmi-vr session store; nothing was restored.")
    newer = [rev for rev in revisions if rev not in known_revisions]
    if newer:
        raise StorageError(
            f"The backup {backup} was written by a newer gmi-vr (schema {', '.join(newer)}); update gmi-vr "
            f"to restore it (nothing was restored)."
        )
    return revisions[0]


#: What a plaintext (``sqlite3``) or an encrypted (``sqlcipher3``) connection raises.
_SQLITE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, cipher.Error)


def _connect(path: Path, secret: str | None, *, read_only: bool = False, salt: bytes | None = None, **kwargs: Any) -> Any:
    """A plaintext connection, or an SQLCipher one keyed with ``secret`` (a new file gets ``salt``)."""
    if secret is not None:
        return cipher.connect(path, secret, read_only=read_only, salt=salt, **kwargs)
    if read_only:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, **kwargs)
    return sqlite3.connect(path, **kwargs)


def _revisions(path: Path, secret: str | None = None) -> list[str]:
    conn = _connect(path, secret, read_only=True)
    try:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    except health.OPERATIONAL_ERRORS:
        return []  # no alembic_version table
    finally:
        conn.close()


def _describe(path: Path, shown_as: Path, secret: str | None = None) -> BackupInfo:
    conn = _connect(path, secret, read_only=True)
    try:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
        patients = conn.execute("SELECT count(*) FROM patients").fetchone()[0]
    except health.OPERATIONAL_ERRORS:
        raise StorageError(f"{shown_as} would not be a gmi-vr session store; nothing was backed up.") from None
    finally:
        conn.close()
    return BackupInfo(shown_as, revision[0] if revision else None, int(sessions), int(patients))


def _new_file(out: Path) -> Path:
    """A new ``0600`` file ``out.partial`` beside ``out``, refusing an ``out`` that exists."""
    if out.exists():
        raise StorageError(f"{out} already exists; a backup never overwrites a file: choose a new name.")
    if not out.parent.is_dir():
        raise StorageError(f"The folder {out.parent} does not exist; create it or choose another place.")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)  # left by an interrupted earlier try: never a whole backup
    try:
        privacy.create_private_file(partial)
    except OSError as error:
        raise StorageError(f"Cannot write {out} ({error.strerror}); choose a writable place.") from error
    return partial

