"""The session store: opening (with checks and migrations), crash recovery, and queries.

``SessionStore.open()`` with no argument opens the configured store (``core.settings``:
``database_url``, else ``sessions.sqlite`` in the data folder) and names this station in the
audit trail as the settings say; a path opens that SQLite file; a URL
("postgresql+psycopg://...") opens that database.

The store is private (``privacy.py``): a data folder it creates is ``0700`` and the
database, its WAL and shared-memory files and the disk reserve are ``0600``, whatever the
umask. SQLite files run in WAL mode
with ``synchronous=FULL``: a committed transaction survives a crash or a power loss. A store
encrypted by ``gmi-vr store encrypt`` (SQLCipher, ``cipher.py`` and ``encrypt.py``) opens
through the same path, every connection keyed with its passphrase; without the passphrase,
or with a wrong one, StorageError says so and the file is not touched.

Opening never overwrites or "repairs" a file it cannot read: a damaged file (SQLite's
``quick_check`` fails: ``health.py``), a file that is not a session store, or one written by
a newer gmi-vr raises ``StorageError`` naming the file and what to do, and the file is left
byte for byte as it was. ``gmi-vr store check`` and ``store repair`` (``health.py``) say
what is wrong and recover what can be read into a new file.

An open SQLite store holds a shared lock on ``sessions.sqlite-lock`` beside it
(``store_lock.py``) until it is closed, so that ``store encrypt`` never renames a new file
over a store a program still writes to; should the file be replaced anyway, every later write
is refused (``_refuse_if_replaced``).

A data folder that cannot be written (read-only medium, permissions) still opens for
reading; ``store.writable`` is then False, ``store.open_problem`` says why, and every write,
a session's start included, raises StorageError with it.
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import socket
import sqlite3
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    make_url,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession

from gmi_vr.core.errors import GmiError, NotFoundError, StorageError
from gmi_vr.recording import (
    cipher,
    encrypt,
    health,
    motion,
    privacy,
    schema,
    store_location,
    store_lock,
)
from gmi_vr.recording.identity import PatientIdError
from gmi_vr.recording.recorder import RESERVE_BYTES, SessionRecorder, hold_reserve
from gmi_vr.recording.rows import (
    AuditInfo,
    BlockInfo,
    CalibrationInfo,
    EventRecord,
    ExposureInfo,
    OutcomeInfo,
    PatientInfo,
    SessionInfo,
    StoredRating,
    StoredRepetition,
    StoredTrial,
    TaskInfo,
    check_rating,
)

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("gmi_vr.recording")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: A running session whose heartbeat is older than this is taken as dead even when its
#: owner's pid exists (pid reuse, or a station of a shared server that vanished).
STALE_HEARTBEAT = timedelta(seconds=30)
#: Suffix of the file next to an SQLite store that holds disk space while a session records.
RESERVE_SUFFIX = "-reserve"
#: A failure to switch a file to WAL: SQLAlchemy's or a raw plaintext or SQLCipher connection's.
_PREPARE_ERRORS: tuple[type[Exception], ...] = (OperationalError, *health.OPERATIONAL_ERRORS)
#: How long a write waits for another writer (another station or program) before failing.
BUSY_TIMEOUT_MS = 5000


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (everything stored is UTC)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def station_name() -> str:
    """This PC's name for the audit trail (its host name)."""
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection settings. Changes nothing in the file itself (WAL mode is switched on
    once, after the file has been checked: see ``_finish_open``)."""
    # Let SQLAlchemy's BEGIN (see ``_sqlite_begin``) control transactions, so that DDL is
    # transactional too: a crash during a migration leaves the old schema, not half a new one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = FULL")  # a commit survives power loss, not only a crash
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock at BEGIN (waiting up to busy_timeout for another writer):
    # a transaction that reads first and upgrades later would get SQLITE_BUSY at once.
    immediate = conn.get_execution_options().get(_WRITE_OPTION)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: Execution option marking an engine whose transactions write (see ``_sqlite_begin``).
_WRITE_OPTION = "gmi_vr_write"


def writer_engine(engine: Engine) -> Engine:
    """The same database and pool, for transactions that write."""
    return engine.execution_options(**{_WRITE_OPTION: True})


#: The passphrase of an encrypted store and the salt its file begins with (``cipher.py``).
StoreKey = tuple[str, bytes]


def _keyed_engine(url: str, key: StoreKey | None, **kwargs: Any) -> Engine:
    """An engine on an SQLite file; an encrypted one through SQLCipher, each connection keyed
    before anything else reads the file."""
    if key is None:
        return create_engine(url, **kwargs)
    engine = create_engine(url, module=cipher.dbapi, **kwargs)
    secret, salt = key
    event.listen(engine, "connect", lambda dbapi_connection, _record: cipher.prepare(dbapi_connection, secret, salt))
    return engine


def _sqlite_engine(url: str, key: StoreKey | None = None, **kwargs: Any) -> Engine:
    engine = _keyed_engine(url, key, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _can_write(path: Path) -> bool:
    """Whether the file (if it exists) and its folder can be written (access(2) also says no
    on a read-only mount, even to root)."""
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK)


def _check_sqlite_file(path: Path) -> StoreKey | None:
    """Refuse a file that is not an SQLite database, then one SQLite's ``quick_check`` finds
    damaged (``health.quick_check``: a read-only connection, the WAL included). An encrypted
    store (``cipher.py``) is refused when its passphrase is missing or wrong; its key is
    returned (None for a plaintext store).

    Reads only; runs before the store is opened for writing, so a bad file is never modified.
    """
    key: StoreKey | None = None
    try:
        if path.stat().st_size == 0:
            return None  # an empty file is a new store
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as error:
        raise StorageError(
            f"Cannot read the session store {path} ({error.strerror}); check that the file and its folder are readable."
        ) from error
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        if len(header) < 100 or not cipher.marker_path(path).exists():
            raise StorageError(
                f"{path} is not a gmi-vr session store or is damaged; restore it from a backup or "
                f"move it away (it was left unchanged) and set GMI_VR_DATA to another folder."
            )
        key = (cipher.require_passphrase(path), header[: cipher.SALT_BYTES])
    try:
        problems = health.quick_check(path, key[0] if key else None)
    except health.OPERATIONAL_ERRORS as error:
        raise StorageError(
            f"The session store {path} is busy: another program holds it ({error}); "
            f"close other gmi-vr windows using it and try again."
        ) from error
    if problems:
        raise damaged_store_error(path, problems[0])
    return key


def damaged_store_error(path: object, problem: str) -> StorageError:
    """The one sentence for a store SQLite finds damaged: nothing is written to it."""
    return StorageError(
        f"The session store {path} is damaged (SQLite: {problem}) and nothing was written to it; "
        f"run 'gmi-vr store check' for details and 'gmi-vr store repair --out NEWFILE' to recover "
        f"what can be read into a new file."
    )


def _missing_store_error(path: Path) -> StorageError:
    """A data folder or store that is not there: never created by a command that only reads
    (a mistyped GMI_VR_DATA must not look like an empty clinic)."""
    where = (
        f"GMI_VR_DATA is {os.environ[store_location.DATA_ENV]}"
        if os.environ.get(store_location.DATA_ENV)
        else f"the data folder of the settings or the default one; set {store_location.DATA_ENV} to use another"
    )
    if not path.parent.is_dir():
        return StorageError(
            f"The data folder {path.parent} does not exist ({where}); point {store_location.DATA_ENV} at the "
            f"folder that holds sessions.sqlite, or add a first patient with 'gmi-vr patients add' to create it."
        )
    return StorageError(
        f"There is no session store in {path.parent} (no {path.name}; {where}); point {store_location.DATA_ENV} at the "
        f"folder that holds it, or add a first patient with 'gmi-vr patients add' to create it."
    )


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


def _is_locked(error: OperationalError) -> bool:
    return "locked" in str(error.orig) or "busy" in str(error.orig)


def _busy(label: str, error: OperationalError) -> StorageError:
    return StorageError(
        f"The session store {label} is busy: another program holds it ({error.orig}); "
        f"close other gmi-vr windows using it and try again."
    )


def _damaged(path: object, error: Exception) -> StorageError:
    return StorageError(
        f"The session store {path} is damaged or unreadable ({error}); restore it from a backup "
        f"or move it away (it was left unchanged) and set GMI_VR_DATA to another folder."
    )


class SessionStore:
    """An open session store. Use ``SessionStore.open(...)``; close with ``close()`` or
    ``with``. Thread-safe for the calls below; each recorder writes on its own thread."""

    def __init__(self, engine: Engine, label: str, writable: bool, open_problem: str | None):
        self.engine = engine
        #: The file path or URL shown in messages (passwords hidden).
        self.label = label
        self.writable = writable
        self.open_problem = open_problem
        self.recovered_sessions: list[int] = []
        #: The SQLite file (None for a database server).
        self.path: Path | None = None
        #: The data folder this open created (None when it existed): commands say so.
        self.created_folder: Path | None = None
        #: This station's name in the audit trail (the settings' ``station``, else the host name).
        self.station = station_name()
        #: An SQLCipher store (``cipher.py``), opened with its passphrase.
        self.encrypted = False
        #: The store file and its (device, inode) when opened: writes stop once the name leads
        #: elsewhere (``_refuse_if_replaced``). None for a database server.
        self._file: Path | None = None
        self._file_identity: tuple[int, int] | None = None
        #: This open's share of the store file's lock (``store_lock``).
        self._held = store_lock.Held(None)

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls, location: str | os.PathLike[str] | None = None, *, create: bool = True, station: str | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> SessionStore:  # fmt: skip
        """Open (creating and migrating if needed) the store at a path or URL; with no
        ``location``, the configured one (``Settings.store_location``), and the settings'
        station names this station in the audit trail unless ``station`` is given.

        A path is a data folder (holding ``sessions.sqlite``) when it is a folder or does not
        exist and has no file suffix; otherwise it is the SQLite file itself.

        An existing file is checked first (``_check_sqlite_file``: SQLite's ``quick_check``)
        and refused with a StorageError when damaged. ``create=False`` (commands that only
        read) refuses a missing data folder or store with a StorageError naming it instead of
        creating an empty store; otherwise a missing folder is made and
        ``store.created_folder`` names it.

        Marks sessions left 'running' by a crashed process as 'interrupted'
        (``store.recovered_sessions`` lists them).

        On a database server one station at a time creates or upgrades the schema (an
        advisory lock); another station opening meanwhile waits, and ``on_wait`` (default: the
        log) gets one sentence saying so.
        """
        if location is None:
            from gmi_vr.core.settings import load_settings

            settings = load_settings()
            location = settings.store_location()
            station = station or settings.station
        store = cls._open_location(location, create, on_wait or log.warning)
        if station:
            store.station = station
        return store

    @classmethod
    def _open_location(
        cls, location: str | os.PathLike[str], create: bool, on_wait: Callable[[str], None]
    ) -> SessionStore:
        if store_location.is_url(location):
            url = str(location)
            try:
                engine = create_engine(url)
            except (ImportError, ArgumentError) as error:
                raise StorageError(
                    f"Cannot use the database URL {_hide_password(url)} ({error}); check the URL and install its database driver."
                ) from error
            if engine.url.get_backend_name() == "sqlite":
                engine.dispose()
                database = engine.url.database
                if database and database != ":memory:":
                    return cls._while_held(Path(database), on_wait, lambda: cls._open_sqlite_url(url, Path(database), on_wait))
                engine = _sqlite_engine(url, None, connect_args={"check_same_thread": False})
            label = engine.url.render_as_string(hide_password=True)
            return cls._finish_open(engine, label, None, on_wait)
        path = Path(location).expanduser()
        if path.is_dir() or (not path.exists() and not path.suffix):
            path = path / store_location.DATABASE_NAME  # a data folder, not the file itself
        return cls._while_held(path, on_wait, lambda: cls._open_file(path, create, on_wait))

    @classmethod
    def _while_held(cls, path: Path, on_wait: Callable[[str], None], open_it: Callable[[], SessionStore]) -> SessionStore:
        """``open_it()`` the store file ``path`` under this process's shared lock on it
        (``store_lock``: taken before anything reads the file, so no command replaces it
        while open), held until the store is closed or its engine is gone."""
        held = store_lock.hold(path, on_wait)
        try:
            store = open_it()
            if store.created_folder is not None:  # there was no folder for the lock file before
                held = store_lock.hold(path, on_wait)
        except BaseException:
            held.release()
            raise
        store._held = held
        weakref.finalize(store.engine, held.release_later)  # a store never closed lets go with its engine
        store._file_identity = _identity(path)
        store._file = path
        return store

    @classmethod
    def _open_sqlite_url(cls, url: str, database: Path, on_wait: Callable[[str], None]) -> SessionStore:
        """A store named by an ``sqlite:///`` URL (checked first when the file exists)."""
        key = _check_sqlite_file(database) if database.is_file() else None
        engine = _sqlite_engine(url, key, connect_args={"check_same_thread": False})
        # The key too: the store says it is encrypted, so what is written from it says it is not.
        return cls._finish_open(engine, engine.url.render_as_string(hide_password=True), None, on_wait, key)

    @classmethod
    def _open_file(cls, path: Path, create: bool, on_wait: Callable[[str], None]) -> SessionStore:
        created_folder: Path | None = None
        key = None
        if path.exists():
            if _can_write(path):
                encrypt.finish_interrupted(path)  # a 'store encrypt' stopped by a crash
            key = _check_sqlite_file(path)
            if not _can_write(path):
                readonly = cls._open_readonly(path, "the file or its folder is read-only", key)
                if readonly is None:
                    raise StorageError(
                        f"Cannot open the session store {path}: it is read-only and could not be read either; "
                        f"check the folder's permissions or set GMI_VR_DATA to a writable folder."
                    )
                return readonly
        else:
            if not create:
                raise _missing_store_error(path)
            if not path.parent.is_dir():
                try:
                    privacy.make_private_folder(path.parent)
                    created_folder = path.parent
                except OSError as error:
                    if not path.parent.is_dir():
                        raise StorageError(
                            f"Cannot create the data folder {path.parent} ({error.strerror}); set GMI_VR_DATA to a writable folder."
                        ) from error
            if not (_can_write(path) and _writable_fs(path)):
                raise StorageError(
                    f"The data folder {path.parent} is read-only, so no session store can be created in it; "
                    f"make it writable or set GMI_VR_DATA to a writable folder."
                )
            try:
                # Created here, 0600, before SQLite creates it with the umask's mode: SQLite
                # gives the WAL and shared-memory files the database file's permissions.
                privacy.create_private_file(path)
            except OSError as error:
                raise StorageError(
                    f"Cannot create the session store {path} ({error.strerror}); set GMI_VR_DATA to a writable folder."
                ) from error
        engine = _sqlite_engine(f"sqlite:///{path}", key, connect_args={"check_same_thread": False})
        store = cls._finish_open(engine, str(path), path, on_wait, key)
        store.created_folder = created_folder
        return store

    @classmethod
    def _finish_open(
        cls, engine: Engine, label: str, path: Path | None, on_wait: Callable[[str], None], key: StoreKey | None = None
    ) -> SessionStore:
        known, head = _known_revisions()
        try:
            with engine.connect() as conn:
                current = _stored_revisions(conn)
        except OperationalError as error:
            engine.dispose()
            readonly = cls._readonly_fallback(path, label, error, key)
            if readonly is not None:
                return readonly
            if _is_locked(error):
                raise _busy(label, error) from error
            if path is None:
                raise StorageError(
                    f"Cannot reach the session store {label} ({error.orig}); check the address and that the server runs."
                ) from error
            raise _damaged(label, error.orig or error) from error
        except DatabaseError as error:
            engine.dispose()
            raise _damaged(label, error.orig or error) from error
        unknown = [rev for rev in current if rev not in known]
        if unknown:
            engine.dispose()
            raise StorageError(
                f"The session store {label} was written by a newer gmi-vr (schema {', '.join(unknown)}); "
                f"update gmi-vr to open it, or set GMI_VR_DATA to another folder (the store was left unchanged)."
            )
        if path is not None and not current:
            cls._refuse_foreign_tables(engine, label)
        if tuple(current) != (head,):
            try:
                _upgrade(engine, label, on_wait)
            except OperationalError as error:
                readonly = cls._readonly_fallback(path, label, error, key)
                engine.dispose()
                if readonly is not None:
                    return readonly
                if _is_locked(error):
                    raise _busy(label, error) from error
                raise StorageError(
                    f"Cannot prepare the session store {label} ({error.orig}); check that its folder is writable and not full."
                ) from error
            except DatabaseError as error:
                engine.dispose()
                raise _damaged(label, error.orig or error) from error
        if engine.url.get_backend_name() == "sqlite":
            try:
                raw = engine.raw_connection()  # outside a transaction, as SQLite requires
                try:
                    cursor = raw.cursor()
                    cursor.execute("PRAGMA journal_mode = WAL")  # kept in the file
                    cursor.close()
                finally:
                    raw.close()
            except _PREPARE_ERRORS as error:
                engine.dispose()
                raise StorageError(
                    f"Cannot prepare the session store {label} ({error}); check that its folder is writable and not full."
                ) from error
        store = cls(engine, label, writable=True, open_problem=None)
        store.path = path
        store.encrypted = key is not None
        try:
            store.recovered_sessions = store.recover()
        except StorageError as error:
            # Reading must not depend on it: the next open tries again.
            log.warning("Crash recovery postponed: %s", error)
        return store

    @staticmethod
    def _refuse_foreign_tables(engine: Engine, label: str) -> None:
        """A non-empty SQLite file without our schema is someone else's: do not add tables."""
        with engine.connect() as conn:
            names = [
                row[0]
                for row in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
        if names:
            engine.dispose()
            raise StorageError(
                f"{label} is an SQLite database but not a gmi-vr session store; choose another file "
                f"or set GMI_VR_DATA to another folder (it was left unchanged)."
            )

    @classmethod
    def _readonly_fallback(
        cls, path: Path | None, label: str, error: Exception, key: StoreKey | None = None
    ) -> SessionStore | None:
        """After a failure to open for writing: open for reading if writing is what failed."""
        if path is None or not path.exists() or (_can_write(path) and _writable_fs(path)):
            return None
        return cls._open_readonly(path, str(error), key)

    @classmethod
    def _open_readonly(cls, path: Path, reason: str, key: StoreKey | None = None) -> SessionStore | None:
        """Open a store that cannot be written for reading only (listing, replay, export).

        ``immutable=1`` lets SQLite read a WAL-mode file without creating its shared-memory
        file; a store closed cleanly has everything in the main file.
        """
        engine = _keyed_engine(
            f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true", key,
            connect_args={"check_same_thread": False},
        )  # fmt: skip
        try:
            with engine.connect() as conn:
                current = _stored_revisions(conn)
        except DatabaseError:
            engine.dispose()
            return None
        known, _head = _known_revisions()
        if any(rev not in known for rev in current) or not current:
            engine.dispose()
            return None
        problem = (
            f"The session store {path} cannot be written ({reason}); make its folder writable "
            f"or set GMI_VR_DATA to a writable folder"
        )
        log.error(problem)
        store = cls(engine, str(path), writable=False, open_problem=problem)
        store.encrypted = key is not None
        return store

    def require_writable(self) -> None:
        """Fail now (before a session or calibration starts) when nothing could be saved."""
        if not self.writable:
            raise StorageError(f"{self.open_problem}.")

    def close(self) -> None:
        """Release the store's connections and its lock (the store cannot be used after)."""
        self.engine.dispose()
        self._held.release()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[OrmSession]:
        if write and not self.writable:
            raise StorageError(f"{self.open_problem or f'The session store {self.label} is read-only'}.")
        if write:
            self._refuse_if_replaced()
        try:
            bind = writer_engine(self.engine) if write else self.engine
            with OrmSession(bind, expire_on_commit=False) as session:
                yield session
                if write:
                    session.commit()
        except OperationalError as error:
            if _is_locked(error):
                raise _busy(self.label, error) from error
            raise StorageError(
                f"The session store {self.label} failed ({error.orig}); "
                f"check the disk and the folder's permissions."
            ) from error
        except DatabaseError as error:
            raise _damaged(self.label, error.orig or error) from error
        except SQLAlchemyError as error:
            raise StorageError(f"The session store {self.label} failed ({error}).") from error

    def _refuse_if_replaced(self) -> None:
        """StorageError when the store's name no longer leads to the file this store opened
        (replaced or removed by another program in spite of ``store_lock``: by hand, or where
        no lock can be taken): a write would go into a file nobody will read again. One
        ``stat``, before every write transaction of this class (a session's start included)."""
        if self._file is None or self._file_identity is None or _identity(self._file) == self._file_identity:
            return
        raise StorageError(
            f"The session store {self._file} was replaced or removed by another program after this one opened it, "
            f"so nothing more was written to it; close this gmi-vr program and start it again."
        )

    def transaction(self, write: bool = False) -> AbstractContextManager[OrmSession]:
        """One transaction for a module of this package that copies whole rows between stores
        (``bundle.py``): failures as StorageError; with ``write``, committed at the end, and
        refused on a store that cannot be written."""
        return self._session(write=write)

    # ------------------------------------------------------------------ recovery

    def recover(self) -> list[int]:
        """Mark sessions left 'running' by a process that is gone as 'interrupted'.

        A session is orphaned when its owner ran on this station and that pid no longer
        exists, or when its heartbeat is older than ``STALE_HEARTBEAT``. Everything that was
        committed stays; the end time becomes the session's last heartbeat (at most a second
        after its last committed record).
        """
        if not self.writable:
            return []
        me = station_name()
        now = utcnow()
        recovered: list[int] = []
        with self._session(write=True) as s:
            running = s.scalars(select(schema.Session).where(schema.Session.status == "running"))
            for row in running:
                beat = as_utc(row.heartbeat_at or row.started_at)
                same_station_dead = (
                    row.owner_host == me and row.owner_pid is not None and not _pid_alive(row.owner_pid)
                )
                mine = row.owner_host == me and row.owner_pid == os.getpid()
                if mine and not same_station_dead:
                    continue
                if same_station_dead or now - beat > STALE_HEARTBEAT:
                    row.status = "interrupted"
                    row.end_reason = "process_gone" if same_station_dead else "heartbeat_stopped"
                    row.ended_at = beat
                    recovered.append(row.id)
        if recovered:
            log.warning("Sessions %s were interrupted (the program stopped during them); their records are kept.", recovered)
        return recovered

    # ------------------------------------------------------------------ patients

    def add_patient(self, patient: PatientInfo) -> PatientInfo:
        """Store a new patient; returns it as stored. PatientIdError when the id exists;
        ValueError for an empty id or a side other than left or right."""
        if not patient.id or not patient.id.strip():
            raise ValueError("a patient needs a pseudonymous id")
        if patient.affected_side not in ("left", "right"):
            raise ValueError(f"the affected side is 'left' or 'right', not {patient.affected_side!r}")
        with self._session(write=True) as s:
            if s.get(schema.Patient, patient.id) is not None:
                raise PatientIdError(f"Patient {patient.id} already exists; choose another pseudonymous id.")
            row = schema.Patient(
                id=patient.id,
                created_at=patient.created_at or utcnow(),
                birth_year=patient.birth_year,
                age_band=patient.age_band,
                affected_side=patient.affected_side,
                body_part=patient.body_part,
                program=patient.program,
                settings=patient.settings,
            )
            s.add(row)
            if patient.program is not None:
                s.add(schema.Program(patient_id=patient.id, created_at=row.created_at, data=patient.program))
        return _patient_info(row)

    def rename_patient(self, old_id: str, new_id: str, *, actor: str, details: dict[str, Any]) -> dict[str, int]:
        """Give patient ``old_id`` the id ``new_id`` everywhere, in one transaction: the patient
        row and every row of every table with a ``patient_id`` column (calibrations, programs,
        sessions, pain ratings, the audit trail's earlier entries), so the old id is left
        nowhere; a ``patient.rename``
        audit entry by ``actor`` with ``details`` is recorded in the same transaction. Returns
        the rows moved per table. Refuses, changing nothing, when ``old_id`` is missing
        (``NotFoundError``), ``new_id`` exists (``PatientIdError``) or a session of the patient
        is running (``GmiError``).
        """
        children = [t for t in schema.Base.metadata.sorted_tables if "patient_id" in t.c]
        with self._session(write=True) as s:
            if self.engine.url.get_backend_name() == "sqlite":
                # The old id may be a name typed by mistake: zero the bytes it leaves behind in
                # freed space, instead of keeping them in the file until the space is reused.
                s.execute(text("PRAGMA secure_delete = ON"))
            old = self._patient_row(s, old_id)
            if s.get(schema.Patient, new_id) is not None:
                raise PatientIdError(f"Patient {new_id} already exists; choose another id for {old_id}.")
            running = s.scalars(
                select(schema.Session.id).where(schema.Session.patient_id == old_id, schema.Session.status == "running")
            ).first()
            if running is not None:
                # That session's program still knows the old id and would fail at its end.
                raise GmiError(f"Patient {old_id} has session {running} running; rename the patient after it ends.")
            # Foreign keys are enforced: the new row first, then the children, then the old row.
            s.add(
                schema.Patient(
                    id=new_id, created_at=old.created_at, birth_year=old.birth_year, age_band=old.age_band,
                    affected_side=old.affected_side, body_part=old.body_part, program=old.program,
                    settings=old.settings,
                )  # fmt: skip
            )
            s.flush()
            moved: dict[str, int] = {}
            for table in children:
                result = s.execute(update(table).where(table.c.patient_id == old_id).values(patient_id=new_id))
                moved[table.name] = result.rowcount  # type: ignore[attr-defined]  # Session.execute is typed Result; a DELETE or UPDATE gives a CursorResult, which has rowcount
            s.delete(old)
            s.add(
                schema.AuditEntry(
                    at=utcnow(), actor=actor, action="patient.rename", station=self.station,
                    patient_id=new_id, details={**details, "rows_moved": moved},
                )  # fmt: skip
            )
        return moved

    def erase_patient(self, patient_id: str, *, actor: str, reason: str) -> ErasureInfo:
        """Remove patient ``patient_id`` and every row naming the patient or one of the
        patient's sessions, in one transaction: every table with a ``patient_id`` or a
        ``session_id`` column (found from the schema, so a table added later is covered),
        the audit trail's entries about them included. One ``patient.erase`` audit entry by
        ``actor`` stays, naming neither the patient nor the sessions: the ``reason`` and the
        number of rows removed per table.

        On SQLite, ``secure_delete`` zeroes the freed bytes and a WAL checkpoint then writes
        them into the database file and empties the WAL; ``ErasureInfo.checkpointed`` is
        False when another program held the store so that the checkpoint could not finish
        (the next erasure or a later close finishes it). Refuses, changing nothing, when the
        patient is missing (``NotFoundError``) or has a session running (``GmiError``).
        """
        tables = [t for t in reversed(schema.Base.metadata.sorted_tables) if {"patient_id", "session_id"} & set(t.c.keys())]
        sqlite = self.engine.url.get_backend_name() == "sqlite"
        with self._session(write=True) as s:
            if sqlite:
                s.execute(text("PRAGMA secure_delete = ON"))
            self._patient_row(s, patient_id)
            running = s.scalars(
                select(schema.Session.id).where(schema.Session.patient_id == patient_id, schema.Session.status == "running")
            ).first()
            if running is not None:
                raise GmiError(f"Patient {patient_id} has session {running} running; erase the patient after it ends.")
            session_ids = list(s.scalars(select(schema.Session.id).where(schema.Session.patient_id == patient_id)))
            removed: dict[str, int] = {}
            # Children before parents (reverse dependency order), as the foreign keys require.
            for table in tables:
                naming = []
                if "patient_id" in table.c:
                    naming.append(table.c.patient_id == patient_id)
                if "session_id" in table.c and session_ids:
                    naming.append(table.c.session_id.in_(session_ids))
                if not naming:  # a sessions-only table, and the patient has no session: nothing
                    # names them here (an empty or_() would be no WHERE at all: every row)
                    removed[table.name] = 0
                    continue
                result = s.execute(delete(table).where(or_(*naming)))
                removed[table.name] = result.rowcount  # type: ignore[attr-defined]  # Session.execute is typed Result; a DELETE or UPDATE gives a CursorResult, which has rowcount
            patients = schema.Base.metadata.tables[schema.Patient.__tablename__]
            removed[patients.name] = s.execute(delete(patients).where(patients.c.id == patient_id)).rowcount  # type: ignore[attr-defined]  # as above
            s.add(
                schema.AuditEntry(
                    at=utcnow(), actor=actor, action="patient.erase", station=self.station,
                    details={"reason": reason, "rows_removed": {k: v for k, v in removed.items() if v}},
                )  # fmt: skip
            )
        checkpointed = True
        if sqlite:
            checkpointed = self.checkpoint()
        return ErasureInfo(removed, len(session_ids), checkpointed)

    def checkpoint(self) -> bool:
        """SQLite: copy the WAL into the database file and truncate it (so bytes freed by a
        secure delete are zeroed in the file and gone from the WAL); False when a reader
        or writer elsewhere kept it from finishing."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA secure_delete = ON")
            busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.close()
        except (sqlite3.Error, cipher.Error) as error:
            log.warning("WAL checkpoint failed: %s", error)
            return False
        finally:
            raw.close()
        return bool(busy == 0)

    def patient(self, patient_id: str) -> PatientInfo:
        """The patient ``patient_id``; NotFoundError when there is none."""
        with self._session() as s:
            row = s.get(schema.Patient, patient_id)
            if row is None:
                raise NotFoundError(self._missing_patient(s, patient_id, "list patients or check the id."))
            return _patient_info(row)

    def list_patients(self) -> list[PatientInfo]:
        """Every patient, by id."""
        with self._session() as s:
            return [_patient_info(r) for r in s.scalars(select(schema.Patient).order_by(schema.Patient.id))]

    def update_patient_settings(self, patient_id: str, settings: dict[str, Any]) -> None:
        """Replace the patient's stored settings (JSON); NotFoundError for an unknown patient."""
        with self._session(write=True) as s:
            self._patient_row(s, patient_id).settings = settings

    def set_program(self, patient_id: str, program: dict[str, Any]) -> int:
        """Make ``program`` (therapy's program as JSON) the patient's current one; returns its id."""
        with self._session(write=True) as s:
            self._patient_row(s, patient_id).program = program
            row = schema.Program(patient_id=patient_id, created_at=utcnow(), data=program)
            s.add(row)
            s.flush()
            return row.id

    def add_calibration(self, patient_id: str, data: dict[str, Any]) -> CalibrationInfo:
        """Store a body calibration (``Calibration.to_dict``) for the patient; returns it."""
        with self._session(write=True) as s:
            self._patient_row(s, patient_id)
            row = schema.Calibration(patient_id=patient_id, created_at=utcnow(), data=data)
            s.add(row)
            s.flush()
            return CalibrationInfo(row.id, patient_id, as_utc(row.created_at), data)

    def latest_calibration(self, patient_id: str) -> CalibrationInfo | None:
        """The patient's most recent calibration, None when there is none."""
        with self._session() as s:
            row = s.scalars(
                select(schema.Calibration)
                .where(schema.Calibration.patient_id == patient_id)
                .order_by(schema.Calibration.created_at.desc(), schema.Calibration.id.desc())
            ).first()
            if row is None:
                return None
            return CalibrationInfo(row.id, row.patient_id, as_utc(row.created_at), row.data)

    def add_rating(self, patient_id: str, rating: StoredRating) -> None:
        """A pain rating outside a session's recorder (e.g. typed in by the therapist later)."""
        check_rating(rating.value, rating.phase, rating.source)
        with self._session(write=True) as s:
            self._patient_row(s, patient_id)
            s.add(_rating_row(patient_id, rating))

    def audit(
        self,
        actor: str,
        action: str,
        *,
        patient_id: str | None = None,
        session_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record a therapist action (who, what, when, on which station)."""
        with self._session(write=True) as s:
            s.add(
                schema.AuditEntry(
                    at=utcnow(), actor=actor, action=action, station=self.station,
                    patient_id=patient_id, session_id=session_id, details=details,
                )  # fmt: skip
            )

    def audit_trail(self, patient_id: str | None = None) -> list[AuditInfo]:
        """The audit trail, oldest first: the patient's entries, or every entry."""
        with self._session() as s:
            query = select(schema.AuditEntry).order_by(schema.AuditEntry.at, schema.AuditEntry.id)
            if patient_id is not None:
                query = query.where(schema.AuditEntry.patient_id == patient_id)
            return [
                AuditInfo(as_utc(r.at), r.actor, r.action, r.station, r.patient_id, r.session_id, r.details)
                for r in s.scalars(query)
            ]

    # ------------------------------------------------------------------ accounts

    def count_users(self) -> int:
        """How many accounts the store has (0: nobody is asked to sign in yet)."""
        with self._session() as s:
            return int(s.scalar(select(func.count()).select_from(schema.UserAccount)) or 0)

    def add_user(self, name: str, role: str, password_hash: str, *, actor: str, first: bool = False) -> None:
        """Add an account (audited as ``user.add`` by ``actor``). With ``first``, refuses (in
        the same transaction) when the store already has an account, so two first starts
        cannot both create an admin."""
        with self._session(write=True) as s:
            if first and s.scalar(select(func.count()).select_from(schema.UserAccount)):
                raise GmiError("This store already has accounts; sign in as an admin to add another.")
            if s.get(schema.UserAccount, name) is not None:
                raise GmiError(f"There is already an account {name}; choose another name.")
            s.add(schema.UserAccount(name=name, role=role, password_hash=password_hash, created_at=utcnow()))
            s.add(
                schema.AuditEntry(
                    at=utcnow(), actor=actor, action="user.add", station=self.station, details={"user": name, "role": role},
                )  # fmt: skip
            )

    def user(self, name: str) -> tuple[str, str] | None:
        """An account's (role, password hash), None when there is no such account."""
        with self._session() as s:
            row = s.get(schema.UserAccount, name)
            return None if row is None else (row.role, row.password_hash)

    def list_users(self) -> list[tuple[str, str]]:
        """Every account's (name, role), by name."""
        with self._session() as s:
            return [(r.name, r.role) for r in s.scalars(select(schema.UserAccount).order_by(schema.UserAccount.name))]

    def add_sign_in(self, name: str, token_hash: str, expires_at: datetime) -> None:
        """Store a sign-in token's hash for account ``name`` until ``expires_at`` (UTC), audited."""
        with self._session(write=True) as s:
            s.add(schema.SignIn(token_hash=token_hash, user_name=name, created_at=utcnow(), expires_at=expires_at))
            s.add(schema.AuditEntry(at=utcnow(), actor=name, action="user.sign_in", station=self.station))

    def signed_in(self, token_hash: str) -> tuple[str, str] | None:
        """The (name, role) of the account a sign-in token belongs to, None when it is
        unknown or expired."""
        with self._session() as s:
            row = s.get(schema.SignIn, token_hash)
            if row is None or as_utc(row.expires_at) <= utcnow():
                return None
            account = s.get(schema.UserAccount, row.user_name)
            return None if account is None else (account.name, account.role)

    def _patient_row(self, s: OrmSession, patient_id: str) -> schema.Patient:
        row = s.get(schema.Patient, patient_id)
        if row is None:
            raise NotFoundError(self._missing_patient(s, patient_id, "add the patient first."))
        return row

    def _missing_patient(self, s: OrmSession, patient_id: str, advice: str) -> str:
        """The sentence for an id no patient has: where a rename took it (the old id typed
        from paper notes), else ``advice``."""
        renamed_to, renamed_at = patient_id, None
        renames = s.scalars(select(schema.AuditEntry).where(schema.AuditEntry.action == "patient.rename")
                            .order_by(schema.AuditEntry.at, schema.AuditEntry.id))  # fmt: skip
        for entry in renames:  # oldest first: a chain of renames is followed to its end
            details = entry.details or {}
            if details.get("old_id") == renamed_to and isinstance(details.get("new_id"), str):
                renamed_to, renamed_at = details["new_id"], entry.at
        if renamed_at is not None and s.get(schema.Patient, renamed_to) is not None:
            return (f"No patient {patient_id} in {self.label}: it was renamed {renamed_to} on "
                    f"{as_utc(renamed_at):%Y-%m-%d}; use {renamed_to}.")  # fmt: skip
        return f"No patient {patient_id} in {self.label}; {advice}"

    # ------------------------------------------------------------------ sessions

    def start_session(
        self,
        patient_id: str,
        *,
        source: str,
        runtime_name: str | None = None,
        system_name: str | None = None,
        display_hz: float | None = None,
        settings: dict[str, Any] | None = None,
        app_version: str | None = None,
        mode: str = "headset",
        station: str = "clinic",
        chunk_seconds: float = 0.5,
        queue_frames: int = 1024,
    ) -> SessionRecorder:
        """Create a running session and its recorder (whose writer thread starts now).

        ``source`` names the frame source ("openxr", "sim", "replay"); ``runtime_name`` and
        ``system_name`` are what the OpenXR runtime reports for itself and the headset, and
        ``display_hz`` the headset's refresh rate: exports use them to describe the devices.
        ``settings`` keeps the session's settings as JSON. ``mode`` is "headset" or "desktop",
        ``station`` "clinic" or "home"; the session gets a new random ``uid``.

        A store that cannot be written raises StorageError here, before the session runs: a
        patient session is never run unrecorded by accident (running one unsaved on purpose
        is the app's choice: it then starts no recorder).
        """
        self.require_writable()
        reserve = self._hold_reserve()
        now = utcnow()
        with _given_back_on_error(reserve), self._session(write=True) as s:
            patient = self._patient_row(s, patient_id)
            program = s.scalars(
                select(schema.Program)
                .where(schema.Program.patient_id == patient_id)
                .order_by(schema.Program.id.desc())
            ).first()
            row = schema.Session(
                patient_id=patient.id, program_id=program.id if program else None,
                started_at=now, status="running", owner_pid=os.getpid(),
                owner_host=station_name(), heartbeat_at=now, source=source,
                runtime_name=runtime_name, system_name=system_name, display_hz=display_hz,
                app_version=app_version, settings=settings,
                dropped_frames=0, uid=str(uuid.uuid4()), mode=mode, station=station,
            )  # fmt: skip
            s.add(row)
            s.flush()
            session_id = row.id
        return SessionRecorder(
            writer_engine(self.engine), session_id, chunk_seconds=chunk_seconds, queue_frames=queue_frames,
            reserve=reserve,
        )

    def _hold_reserve(self) -> Path | None:
        """Disk space held next to an SQLite store for a session's records (see recorder.py)."""
        if self.path is None:
            return None
        reserve = self.path.with_name(self.path.name + RESERVE_SUFFIX)
        if not hold_reserve(reserve):
            raise StorageError(
                f"The data folder {self.path.parent} has less than {RESERVE_BYTES // 1024} KiB free, too little "
                f"to keep a session's records should the disk fill up; free some space and start again."
            )
        return reserve

    def session(self, session_id: int) -> SessionInfo:
        """The session ``session_id``; NotFoundError when there is none."""
        with self._session() as s:
            missing = f"No session {session_id} in {self.label}; run 'gmi-vr sessions' to list them."
            return _session_info(_existing_row(s, schema.Session, session_id, missing))

    def list_sessions(self, patient: str | None = None) -> list[SessionInfo]:
        """Sessions, oldest first, optionally of one patient."""
        with self._session() as s:
            query = select(schema.Session).order_by(schema.Session.started_at, schema.Session.id)
            if patient is not None:
                query = query.where(schema.Session.patient_id == patient)
            return [_session_info(r) for r in s.scalars(query)]

    def blocks(self, session_id: int) -> list[BlockInfo]:
        """The session's blocks, in order."""
        with self._session() as s:
            rows = s.scalars(select(schema.Block).where(schema.Block.session_id == session_id).order_by(schema.Block.seq))
            return [BlockInfo(r.seq, r.stage, r.start_s, r.end_s, r.params) for r in rows]

    def tasks(self, session_id: int) -> list[TaskInfo]:
        """The session's tasks, in order."""
        with self._session() as s:
            rows = s.scalars(select(schema.Task).where(schema.Task.session_id == session_id).order_by(schema.Task.seq))
            return [TaskInfo(r.seq, r.kind, r.start_s, r.block_seq, r.end_s, r.params) for r in rows]

    def trials(self, session_id: int) -> list[StoredTrial]:
        """The session's trials, in order (times in seconds on the frame clock)."""
        with self._session() as s:
            rows = s.scalars(select(schema.Trial).where(schema.Trial.session_id == session_id).order_by(schema.Trial.seq))
            return [
                StoredTrial(
                    onset_s=r.onset_s, kind=r.kind, body_part=r.body_part, side=r.side,
                    rotation_deg=r.rotation_deg, view=r.view, answer=r.answer, correct=r.correct,
                    reaction_time_s=r.reaction_time_s, measures=r.measures, task_seq=r.task_seq,
                    seq=r.seq,
                )  # fmt: skip
                for r in rows
            ]

    def repetitions(self, session_id: int) -> list[StoredRepetition]:
        """The session's movement repetitions, in order."""
        with self._session() as s:
            rows = s.scalars(
                select(schema.Repetition).where(schema.Repetition.session_id == session_id).order_by(schema.Repetition.seq)
            )
            return [StoredRepetition(r.onset_s, r.duration_s, r.measures, r.task_seq, r.seq) for r in rows]

    def ratings(self, session_id: int | None = None, patient_id: str | None = None) -> list[StoredRating]:
        """Pain ratings of a session, or all of a patient, in the order they were given."""
        with self._session() as s:
            query = select(schema.PainRating).order_by(schema.PainRating.recorded_at, schema.PainRating.id)
            if session_id is not None:
                query = query.where(schema.PainRating.session_id == session_id)
            if patient_id is not None:
                query = query.where(schema.PainRating.patient_id == patient_id)
            return [
                StoredRating(r.value, r.phase, r.source, as_utc(r.recorded_at), r.time_s, r.session_id, r.patient_id)  # type: ignore[arg-type]  # phase and source: text columns held to the Literal names by CHECK constraints
                for r in s.scalars(query)
            ]

    def add_outcome(self, patient_id: str, instrument: str, items: dict[str, Any], score: float | None,
                    details: dict[str, Any], entered_by: str, phase: str | None = None,
                    session_id: int | None = None) -> OutcomeInfo:
        """Keep an outcome measure scored by ``therapy.results.questionnaires`` (the app checks it first),
        stamped with the time now and who entered it."""
        with self._session(write=True) as s:
            self._patient_row(s, patient_id)
            if session_id is not None:
                row_session = s.get(schema.Session, session_id)
                if row_session is None or row_session.patient_id != patient_id:
                    raise NotFoundError(f"Patient {patient_id} has no session {session_id}; list their sessions.")
            row = schema.Outcome(patient_id=patient_id, session_id=session_id, recorded_at=utcnow(),
                                 entered_by=entered_by, instrument=instrument, phase=phase, items=items,
                                 score=score, details=details)  # fmt: skip
            s.add(row)
            s.flush()
            return _outcome_info(row)

    def outcomes(self, patient_id: str | None = None, session_id: int | None = None,
                 instrument: str | None = None) -> list[OutcomeInfo]:
        """Outcome measures of a patient (or a session), oldest first."""
        with self._session() as s:
            query = select(schema.Outcome).order_by(schema.Outcome.recorded_at, schema.Outcome.id)
            if patient_id is not None:
                query = query.where(schema.Outcome.patient_id == patient_id)
            if session_id is not None:
                query = query.where(schema.Outcome.session_id == session_id)
            if instrument is not None:
                query = query.where(schema.Outcome.instrument == instrument)
            return [_outcome_info(r) for r in s.scalars(query)]

    def add_exposure(self, patient_id: str, *, exposed_on: str, station: str, minutes: float, texture: str,
                     level: int, levels: int, entered_by: str) -> ExposureInfo:
        """Keep a desensitization exposure checked by the app (``app.desensitization``),
        stamped with the time now and who entered it."""
        with self._session(write=True) as s:
            self._patient_row(s, patient_id)
            row = schema.DesensitizationExposure(
                patient_id=patient_id, recorded_at=utcnow(), entered_by=entered_by, exposed_on=exposed_on,
                station=station, minutes=minutes, texture=texture, level=level, levels=levels,
            )  # fmt: skip
            s.add(row)
            s.flush()
            return _exposure_info(row)

    def exposures(self, patient_id: str) -> list[ExposureInfo]:
        """A patient's desensitization exposures by the day they were done, then as entered."""
        with self._session() as s:
            table = schema.DesensitizationExposure
            query = select(table).where(table.patient_id == patient_id).order_by(table.exposed_on, table.id)
            return [_exposure_info(r) for r in s.scalars(query)]

    def events(self, session_id: int) -> list[EventRecord]:
        """The session's events, in the order they were stored."""
        with self._session() as s:
            rows = s.scalars(
                select(schema.EventRow).where(schema.EventRow.session_id == session_id).order_by(schema.EventRow.id)
            )
            return [EventRecord(r.time_s, r.kind, r.data or {}) for r in rows]

    # ------------------------------------------------------------------ motion

    def motion_chunks(self, session_id: int) -> list[ChunkMeta]:
        """Where a session's motion is, without loading it (for replay)."""
        with self._session() as s:
            rows = s.execute(
                select(
                    schema.MotionChunk.id, schema.MotionChunk.frame_count,
                    schema.MotionChunk.first_time_ns, schema.MotionChunk.last_time_ns,
                    schema.MotionChunk.layout_id,
                )
                .where(schema.MotionChunk.session_id == session_id)
                .order_by(schema.MotionChunk.seq)
            ).all()  # fmt: skip
            layouts = {}
            for r in s.scalars(select(schema.MotionLayout).where(schema.MotionLayout.session_id == session_id)):
                if r.layout_version not in motion.READABLE_LAYOUTS:
                    raise StorageError(
                        f"Session {session_id} in {self.label} holds motion of layout {r.layout_version}, "
                        f"which this gmi-vr cannot read; update gmi-vr."
                    )
                layouts[r.id] = (tuple(r.body_joints), r.layout_version)
        return [ChunkMeta(r[0], r[1], r[2], r[3], *layouts[r[4]]) for r in rows]

    def motion_span(self, session_id: int) -> tuple[int, int] | None:
        """The first and last recorded frame times (runtime nanoseconds) of a session, None
        without motion: one aggregate query, for durations without listing every chunk."""
        with self._session() as s:
            first, last = s.execute(
                select(func.min(schema.MotionChunk.first_time_ns), func.max(schema.MotionChunk.last_time_ns))
                .where(schema.MotionChunk.session_id == session_id)
            ).one()
        return None if first is None else (int(first), int(last))

    def load_chunk(self, meta: ChunkMeta) -> motion.MotionTable:
        """The decoded frames of one motion chunk; NotFoundError when it is gone, StorageError
        when it cannot be decoded."""
        with self._session() as s:
            missing = f"Motion chunk {meta.chunk_id} is missing from {self.label}."
            row = _existing_row(s, schema.MotionChunk, meta.chunk_id, missing)
            try:
                stamps = motion.decode_stamps(row.stamps)
                names = motion.channels(meta.body_joints, meta.layout_version)
                rows = motion.decode(row.data, row.frame_count, len(names), row.codec)
            except (zlib.error, ValueError) as error:
                raise _damaged(self.label, error) from error
        return motion.MotionTable(stamps[:, 0], stamps[:, 1], rows, names)

    def iter_motion(self, session_id: int) -> Iterator[motion.MotionTable]:
        """A session's motion chunk by chunk, in order (each table has its chunk's channels):
        for exports of long sessions without holding them in memory."""
        for meta in self.motion_chunks(session_id):
            yield self.load_chunk(meta)

    def motion_channels(self, session_id: int) -> tuple[str, ...]:
        """The union of the channels of a session's chunks, in layout order."""
        names = dict.fromkeys(motion.channels((), 1))  # the channels every layout has
        for layout in dict.fromkeys((m.body_joints, m.layout_version) for m in self.motion_chunks(session_id)):
            names.update(dict.fromkeys(motion.channels(*layout)))
        return tuple(names)

    def motion(self, session_id: int) -> motion.MotionTable:
        """All recorded motion of a session, frames in order; channels are the union over
        chunks (body joints can appear once a body is known; absent values are NaN).
        About 2.6 kB per frame in memory: for long sessions prefer ``iter_motion``."""
        names = self.motion_channels(session_id)
        parts = list(self.iter_motion(session_id))
        total = sum(len(p.index) for p in parts)
        rows = np.full((total, len(names)), np.nan, dtype=np.float32)
        lookup = {n: i for i, n in enumerate(names)}
        at = 0
        for part in parts:
            n = len(part.index)
            rows[at : at + n, [lookup[c] for c in part.channels]] = part.rows
            at += n
        index = np.concatenate([p.index for p in parts]) if parts else np.zeros(0, np.int64)
        times = np.concatenate([p.time_ns for p in parts]) if parts else np.zeros(0, np.int64)
        return motion.MotionTable(index, times, rows, names)


@dataclass(frozen=True)
class ErasureInfo:
    """What ``erase_patient`` removed: rows per table, the number of sessions, and whether
    the WAL checkpoint that writes the zeroed pages into the database file finished."""

    rows_removed: dict[str, int]
    sessions: int
    checkpointed: bool


@dataclass(frozen=True, slots=True)
class ChunkMeta:
    """One motion chunk's place: its id, frame count, time span (ns), body joints and layout
    version (``motion.READABLE_LAYOUTS``)."""

    chunk_id: int
    frame_count: int
    first_time_ns: int
    last_time_ns: int
    body_joints: tuple[str, ...]
    layout_version: int = motion.LAYOUT_VERSION


# ---------------------------------------------------------------------- helpers

_Row = TypeVar("_Row", bound=schema.Base)


def _existing_row(s: OrmSession, table: type[_Row], key: object, missing: str) -> _Row:
    """The row of ``table`` whose primary key is ``key``; NotFoundError saying ``missing``
    (what is missing and what to do) when there is none."""
    row = s.get(table, key)
    if row is None:
        raise NotFoundError(missing)
    return row


@functools.cache
def _known_revisions() -> tuple[frozenset[str], str | None]:
    """Every migration revision this gmi-vr knows and the newest one (None unless exactly one
    is newest), read from the ``revision`` / ``down_revision`` lines of the migration files
    without importing them or alembic: opening a store that is already up to date (every
    open but the first after an update) then never loads the migration machinery, which
    costs about a second of start-up."""
    revisions: dict[str, set[str]] = {}
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        names: dict[str, Any] = {}
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if node.targets[0].id in ("revision", "down_revision"):
                    names[node.targets[0].id] = ast.literal_eval(node.value)
        if isinstance(names.get("revision"), str):
            down = names.get("down_revision")
            revisions[names["revision"]] = {down} if isinstance(down, str) else set(down or ())
    replaced = set().union(*revisions.values()) if revisions else set()
    heads = [revision for revision in revisions if revision not in replaced]
    return frozenset(revisions), heads[0] if len(heads) == 1 else None


def _stored_revisions(conn: Connection) -> tuple[str, ...]:
    """The schema revisions a store records in ``alembic_version`` (none for a new store),
    read with plain SQL (see ``_known_revisions``)."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return ()
    return tuple(row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version"))


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def known_revisions() -> set[str]:
    """The schema revisions this gmi-vr can read (a store or backup at another is newer)."""
    return set(_known_revisions()[0])


#: The PostgreSQL advisory lock held by the one station creating or upgrading the schema
#: (any fixed 64-bit number; this one spells "gmi-vr" in ASCII).
UPGRADE_LOCK_KEY = 0x676D692D7672


def _upgrade(engine: Engine, label: str, on_wait: Callable[[str], None]) -> None:
    """Bring the schema to the head revision. On PostgreSQL, stations of one clinic do it
    one at a time: the first takes an advisory lock, the others wait for it (told so through
    ``on_wait``) and then find the schema already upgraded (upgrading to head is then a no-op)."""
    if engine.url.get_backend_name() != "postgresql":
        _alembic_upgrade(engine)
        return
    with engine.connect() as lock:
        if not lock.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY}).scalar():
            on_wait(
                f"Another station is creating or upgrading the session store {label}; "
                f"waiting for it to finish (this takes seconds; sessions start after it)."
            )
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
        lock.commit()  # a session-level lock: held across transactions until unlocked
        try:
            _alembic_upgrade(engine)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK_KEY})
            lock.commit()


def _alembic_upgrade(engine: Engine) -> None:
    from alembic import command

    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) the name ``path`` leads to now; None when nothing is there."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _writable_fs(path: Path) -> bool:
    try:
        return not (os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextmanager
def _given_back_on_error(reserve: Path | None) -> Iterator[None]:
    """Remove the reserve file when the session it was held for could not be started."""
    try:
        yield
    except BaseException:
        if reserve is not None:
            reserve.unlink(missing_ok=True)
        raise


def _rating_row(patient_id: str, rating: StoredRating, session_id: int | None = None) -> schema.PainRating:
    return schema.PainRating(
        patient_id=patient_id, session_id=session_id if session_id is not None else rating.session_id,
        recorded_at=rating.recorded_at, time_s=rating.time_s, value=rating.value,
        phase=rating.phase, source=rating.source,
    )  # fmt: skip


def _patient_info(r: schema.Patient) -> PatientInfo:
    return PatientInfo(
        id=r.id, affected_side=r.affected_side, body_part=r.body_part, birth_year=r.birth_year,
        age_band=r.age_band, program=r.program, settings=r.settings, created_at=as_utc(r.created_at),
    )  # fmt: skip


def _session_info(r: schema.Session) -> SessionInfo:
    return SessionInfo(
        id=r.id, patient_id=r.patient_id, started_at=as_utc(r.started_at),
        ended_at=as_utc(r.ended_at) if r.ended_at else None, status=r.status, source=r.source,
        runtime_name=r.runtime_name, program_id=r.program_id, dropped_frames=r.dropped_frames,
        owner_host=r.owner_host, settings=r.settings, system_name=r.system_name,
        display_hz=r.display_hz, end_reason=r.end_reason, uid=r.uid, mode=r.mode, station=r.station,
        frame_timing=r.frame_timing,
    )  # fmt: skip


def _exposure_info(row: schema.DesensitizationExposure) -> ExposureInfo:
    return ExposureInfo(row.id, row.patient_id, as_utc(row.recorded_at), row.entered_by, row.exposed_on,
                        row.station, row.minutes, row.texture, row.level, row.levels)


def _outcome_info(row: schema.Outcome) -> OutcomeInfo:
    return OutcomeInfo(row.id, row.patient_id, row.session_id, as_utc(row.recorded_at), row.entered_by,
                       row.instrument, row.phase, dict(row.items), row.score, dict(row.details or {}))
