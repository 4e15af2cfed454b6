"""The session store's health in SQLite's own words, and recovery into a new file.

- ``quick_check(path)``: ``PRAGMA quick_check`` through a read-only connection, run each
  time a store file is opened (``SessionStore.open``). It walks every page of the file
  (tables, indexes, motion BLOB overflow chains, the free list) but does not compare
  indexes with their tables. Measured on a 200 MB store: 0.23 s with the file in the page
  cache, 2.2 s from a cold disk; a store grows by about 10 MB per hour of motion.
- ``check_store(path)``: ``PRAGMA integrity_check`` (indexes against tables too) for
  ``gmi-vr store check``.
- ``repair_store(damaged, out)``: copies what can be read, table by table and row by row,
  into a new file (``gmi-vr store repair``), stepping over unreadable pages; says per table
  how many rows came across and which ids could not be read.

Every connection here opens the damaged file read-only (``mode=ro``): nothing is written to
it and its write-ahead log is read, never checkpointed into it. The WAL is part of the
store: a main file shorter than its header says is normal while pages still live in the
WAL (after a full disk, for instance), so no check here guesses from file sizes.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from gmi_vr.core.errors import StorageError
from gmi_vr.recording import cipher

#: At most this many problems are collected: the first ones say enough, and a badly damaged
#: file would otherwise list thousands.
MAX_PROBLEMS = 100
#: Milliseconds a check waits for another program's write lock before failing.
CHECK_BUSY_TIMEOUT_MS = 5000
#: Rowids are 64-bit: the search for the next readable row never goes past this.
_MAX_ROWID = 2**63 - 1
#: Python's sqlite3 decodes SQLite's messages and names as UTF-8: a damaged schema whose
#: names are not UTF-8 raises UnicodeDecodeError instead of a DatabaseError.
_NOT_UTF8 = "the file's table list holds bytes that are not text (damaged schema)"
#: What a plaintext (``sqlite3``) or an encrypted (``sqlcipher3``) connection raises.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError, cipher.DatabaseError)
OPERATIONAL_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError, cipher.OperationalError)
_WRITE_ERRORS: tuple[type[Exception], ...] = (OSError, *DATABASE_ERRORS)


def read_only_connection(path: Path, secret: str | None = None) -> Any:
    """A connection that can never change ``path``: ``mode=ro`` (sees the WAL), or, where the
    folder cannot hold the WAL's shared-memory file, ``immutable=1`` (the main file only).

    An encrypted store (``cipher.py``) is keyed with ``secret``, or with the passphrase its
    marker asks for (StorageError when none is given or it is wrong: the file is not read)."""
    if secret is None and cipher.is_encrypted_store(path):
        secret = cipher.require_passphrase(path)
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect(query: str) -> Any:
        if secret is None:
            return sqlite3.connect(query, uri=True, check_same_thread=False)
        connection = cipher.dbapi.connect(query, uri=True, check_same_thread=False)
        cipher.prepare(connection, secret, cipher.file_salt(path))
        return connection

    try:
        connection = connect(uri)
        connection.execute(f"PRAGMA busy_timeout = {CHECK_BUSY_TIMEOUT_MS}")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except OPERATIONAL_ERRORS as error:
        if "locked" in str(error) or "busy" in str(error):
            raise
        return connect(f"{uri}&immutable=1")


def _pragma_lines(path: Path, pragma: str, secret: str | None = None) -> list[str]:
    """The lines ``pragma`` answers, [] for "ok"; a file SQLite cannot read at all answers
    with its error. ``sqlite3.OperationalError`` for a lock held by another program."""
    connection = None
    try:  # opening and reading fail alike: a file SQLite cannot read answers with its error
        connection = read_only_connection(path, secret)
        lines = [str(row[0]) for row in connection.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})")]
    except DATABASE_ERRORS as error:
        if "locked" in str(error) or "busy" in str(error):
            raise
        return [str(error)]
    except UnicodeDecodeError:
        return [_NOT_UTF8]
    finally:
        if connection is not None:
            connection.close()
    # SQLite answers one row per problem, or several problems joined by newlines in a row.
    problems = [line for text in lines for line in text.splitlines() if line and not line.startswith("*** in database")]
    return [] if problems == ["ok"] else problems


def quick_check(path: Path, secret: str | None = None) -> list[str]:
    """SQLite's ``quick_check`` of a store file: [] when healthy, else its problems (an
    encrypted file is keyed with ``secret`` or its marker's passphrase: see ``read_only_connection``)."""
    return _pragma_lines(path, "quick_check", secret)


@dataclass(frozen=True)
class StoreHealth:
    """``problems``: SQLite's ``integrity_check`` lines (empty when healthy); ``rows``: rows
    per table where the table could be counted."""

    path: Path
    problems: tuple[str, ...]
    rows: dict[str, int]

    @property
    def ok(self) -> bool:
        """True when the check found no problem."""
        return not self.problems


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise StorageError(f"There is no session store at {path}; check the path (or GMI_VR_DATA).")


def check_store(path: Path) -> StoreHealth:
    """The full check (``integrity_check``) of the store file at ``path``, read-only."""
    _require_file(path)
    try:
        problems = _pragma_lines(path, "integrity_check")
    except OPERATIONAL_ERRORS as error:
        raise StorageError(f"The session store {path} is busy ({error}); close other gmi-vr windows and try again.") from error
    rows: dict[str, int] = {}
    try:
        connection = read_only_connection(path)
        try:
            for table in _tables(connection):
                try:
                    rows[table] = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                except DATABASE_ERRORS:
                    continue
        finally:
            connection.close()
    except DATABASE_ERRORS:
        pass  # the problems already say it
    return StoreHealth(path, tuple(problems), rows)


def _tables(connection: Any) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        )
    ]


# ---------------------------------------------------------------------------- repair


@dataclass(frozen=True)
class TableRecovery:
    """One table's recovery: rows copied, and the rowid stretches that could not be read
    (``(after, before)``: ids strictly between are missing; ``before`` None means every row
    after ``after``). ``problem`` says why a table could not be copied at all."""

    table: str
    recovered: int
    unreadable: tuple[tuple[int, int | None], ...] = ()
    problem: str | None = None

    @property
    def complete(self) -> bool:
        """True when every row of the table was recovered."""
        return not self.unreadable and self.problem is None

    def describe(self) -> str:
        """One line for the therapist: how many rows were recovered and which were lost."""
        if self.problem is not None:
            return f"{self.table}: nothing recovered ({self.problem})"
        text = f"{self.table}: {self.recovered} rows recovered"
        if self.unreadable:
            spans = ", ".join(_span(after, before) for after, before in self.unreadable)
            text += f"; unreadable and lost: {spans}"
        return text


def _span(after: int, before: int | None) -> str:
    if before is None:
        return f"every id after {after}"
    return f"id {after + 1}" if before - after == 2 else f"ids {after + 1}-{before - 1}"


@dataclass(frozen=True)
class RepairReport:
    """What ``repair_store`` did: the damaged file, the new one, what each table recovered, and
    the new file's own integrity check (empty when healthy)."""
    damaged: Path
    out: Path
    tables: tuple[TableRecovery, ...]
    #: ``integrity_check`` of the new file: empty when it is healthy.
    out_problems: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when every table was recovered whole."""
        return all(t.complete for t in self.tables)


def repair_store(damaged: Path, out: Path) -> RepairReport:
    """Copy what can be read from the store ``damaged`` into the new file ``out``.

    The schema is copied from the damaged file's own table list (so the new file has the same
    schema revision); then each table row by row in rowid order. A read that fails (a damaged
    page) is stepped over: the smallest rowid past it from which reading works again is
    found by bisection, and the stretch in between is reported as lost. Indexes are built
    after the rows are in. ``damaged`` is only ever opened read-only; ``out`` must not exist
    (it is written under a temporary name and renamed when complete). A recovery of an
    encrypted store is encrypted with the same passphrase, its marker beside it.
    """
    _require_file(damaged)
    secret = cipher.require_passphrase(damaged) if cipher.is_encrypted_store(damaged) else None
    if out.exists():
        raise StorageError(f"{out} already exists; choose a new file for the recovered store (nothing was written).")
    if not out.parent.is_dir():
        raise StorageError(f"The folder {out.parent} does not exist; create it or choose another place for the recovered store.")
    try:
        source = read_only_connection(damaged, secret)
        schema_rows = source.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
    except DATABASE_ERRORS as error:
        raise StorageError(
            f"Nothing can be recovered from {damaged}: SQLite cannot read its list of tables ({error}); restore it from a backup."
        ) from error
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        target = sqlite3.connect(partial) if secret is None else cipher.connect(partial, secret)
        try:
            target.isolation_level = None
            target.execute("BEGIN")
            tables = [(name, sql) for kind, name, _t, sql in schema_rows if kind == "table" and not name.startswith("sqlite_")]
            for _name, sql in tables:
                target.execute(sql)
            results = [_copy_table(source, target, name) for name, _sql in tables]
            results.extend(_copy_sequence(source, target, schema_rows))
            for kind, name, _t, sql in schema_rows:
                if kind in ("index", "trigger", "view") and not name.startswith("sqlite_"):
                    try:
                        target.execute(sql)
                    except DATABASE_ERRORS as error:
                        # e.g. a unique index over rows whose damaged values now collide
                        results.append(TableRecovery(name, 0, problem=f"the {kind} could not be rebuilt: {error}"))
            target.execute("COMMIT")
            problems = [str(row[0]) for row in target.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})")]
        finally:
            target.close()
        if secret is not None:
            cipher.write_marker(out)
        os.replace(partial, out)
    except _WRITE_ERRORS as error:
        partial.unlink(missing_ok=True)
        raise StorageError(f"Cannot write the recovered store {out} ({error}); check the folder's free space and permissions.") from error
    finally:
        source.close()
    return RepairReport(damaged, out, tuple(results), tuple(p for p in problems if p != "ok"))


def _copy_sequence(source: Any, target: Any, schema_rows: list[tuple[str, str, str, str]]) -> list[TableRecovery]:
    """AUTOINCREMENT counters, so the new file never reuses an id of a lost row."""
    if not any(name == "sqlite_sequence" for _k, name, _t, _s in schema_rows):
        return []
    try:
        rows = source.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
    except DATABASE_ERRORS as error:
        return [TableRecovery("sqlite_sequence", 0, problem=str(error))]
    for name, seq in rows:
        target.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name,))
        target.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
    return []


def _copy_table(source: Any, target: Any, table: str) -> TableRecovery:
    """Rows of ``table`` in rowid order, stepping over what cannot be read.

    Rows are read in one scan while it works; after a failure, one row at a time (``LIMIT 1``:
    SQLite reads a row ahead, so a scan fails on the last good row before a damaged page)
    until ``_next_readable`` has stepped over the damage."""
    try:
        columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
    except DATABASE_ERRORS as error:
        return TableRecovery(table, 0, problem=str(error))
    names = ", ".join(f'"{c}"' for c in columns)
    scan = f'SELECT rowid, {names} FROM "{table}" WHERE rowid >= ? ORDER BY rowid'
    one = f"{scan} LIMIT 1"
    insert = f'INSERT INTO "{table}" (rowid, {names}) VALUES ({", ".join("?" * (len(columns) + 1))})'
    recovered = 0
    unreadable: list[tuple[int, int | None]] = []
    after = 0  # the last rowid copied or stepped over (every gmi-vr table's rowids start at 1)
    while True:
        try:
            for row in source.execute(scan, (after + 1,)):
                target.execute(insert, row)
                recovered += 1
                after = row[0]
            break
        except DATABASE_ERRORS:
            pass
        row = _row_from(source, one, after + 1)
        if row is None:
            break
        if row is not False:
            target.execute(insert, row)
            recovered += 1
            after = row[0]
            continue
        resume = _next_readable(source, one, after)
        unreadable.append((after, resume))
        if resume is None:
            break
        after = resume - 1
    return TableRecovery(table, recovered, tuple(unreadable))


def _row_from(source: Any, one: str, start: int) -> tuple[Any, ...] | None | Literal[False]:
    """The first row from rowid ``start`` on (``one`` is a ``LIMIT 1`` query), None when
    there is none, False when reading it fails."""
    try:
        row = source.execute(one, (start,)).fetchone()
    except DATABASE_ERRORS:
        return False
    return None if row is None else tuple(row)


def _next_readable(source: Any, one: str, bad_after: int) -> int | None:
    """The first rowid past a failed read (reading from ``bad_after + 1`` fails) from which
    reading works again, or None when nothing past it can be read.

    Reading from a rowid that falls in a damaged page fails (SQLite's seek lands on that page),
    from one past the page works: doubling steps find a start that works, bisection the
    smallest one, whose first row is the first readable one after the damage."""
    low, step = bad_after + 1, 1  # reading from ``low`` fails
    while True:
        probe = min(bad_after + 1 + step, _MAX_ROWID)
        if _row_from(source, one, probe) is not False:
            break
        if probe == _MAX_ROWID:
            return None
        low, step = probe, step * 2
    high = probe  # reading from ``high`` works
    while high - low > 1:
        middle = (low + high) // 2
        if _row_from(source, one, middle) is False:
            low = middle
        else:
            high = middle
    row = _row_from(source, one, high)
    return int(row[0]) if row else None
