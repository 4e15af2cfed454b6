"""Bundles: home practice carried to the clinic, and the patient's program carried home.

A bundle is one SQLite file of the session store's own schema (made by ``SessionStore.open``,
so at this gmi-vr's schema revision, with the same tables and constraints) holding only part
of a store, plus one table of its own, ``bundle_manifest``, whose one row is the manifest as
JSON. Two kinds:

- ``practice`` (``export_practice``, home to clinic): the patient row, the sessions of station
  "home" not bundled before (or all of them), every row under them (blocks, tasks, trials,
  repetitions, pain ratings, outcomes, events, motion layouts and chunks: every table with a
  ``session_id`` but the audit trail) and the program rows they were run with, ids as at home.
  ``import_practice`` merges them into the clinic's store in one transaction: sessions whose
  uid the store already holds are left alone (importing twice adds nothing), the others get
  new ids there (the uid stays), nothing of the clinic is changed.
- ``program`` (``export_program``, clinic to home): the patient row, the current program and
  the newest calibration. ``import_program`` creates or updates the patient on the home
  machine; a program older than the one the machine has is refused.

What was bundled is remembered in the audit trail: every export is a ``bundle.export`` entry
naming its sessions' uids, and "since the last bundle" means "not named by any of them". The
trail already is the record of who did what when, it is erased and renamed with the patient,
and it needs no schema change.

The manifest (``Manifest``): format name and version, kind, schema revision, app version,
patient id, session uids, creation time and ``sha256``, the checksum ``content_sha256``
computes over
  1. the manifest without its ``sha256`` key, as JSON (sorted keys, no spaces, UTF-8);
  2. the schema: every entry of ``sqlite_master`` (type, name, table, SQL) but SQLite's own
     and the manifest's, in order of type and name (so no table, index, view or trigger can
     be added, dropped or changed);
  3. every table of the file but ``bundle_manifest`` and SQLite's own (``sqlite_*``), in order
     of name: the table's name and column names, then every row in primary-key order, each
     value as a token of its type (NULL; integer in decimal; real as ``float.hex``, exact;
     text as its UTF-8 bytes and blob as its bytes, each prefixed by its length).
A changed, added or removed value, row, column, table or schema entry, or a changed manifest,
changes it.
It finds damage and editing; it is not a signature (someone who edits the file and computes
the checksum again is not stopped).

A bundle is read from a private copy (``open_bundle``): the file given is never changed, and
a file that is not a bundle, is damaged or altered, or was written by a newer gmi-vr is
refused with one sentence (``InputFileError``) before any store is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session as OrmSession

from gmi_vr.core.errors import GmiError, InputFileError, NotFoundError, StorageError
from gmi_vr.recording import health, privacy, schema
from gmi_vr.recording.durable import fsync_path
from gmi_vr.recording.store import SessionStore, as_utc, known_revisions, utcnow

#: The manifest's ``format``: what makes an SQLite file a gmi-vr bundle.
FORMAT = "gmi-vr bundle"
#: Raised when the manifest or what a bundle holds changes meaning; a newer one is refused.
FORMAT_VERSION = 1
MANIFEST_TABLE = "bundle_manifest"
Kind = Literal["practice", "program"]
#: Audit actions of bundles (the exports' entries are what "since the last bundle" reads).
EXPORT_ACTION = "bundle.export"
IMPORT_ACTION = "bundle.import"
HOME = "home"
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Manifest:
    """What a bundle says about itself. ``created_at`` ISO 8601 UTC; ``sha256`` hex
    (``content_sha256``); ``session_uids`` in the order the sessions started."""

    kind: Kind
    schema_revision: str
    app_version: str
    patient_id: str
    session_uids: tuple[str, ...]
    created_at: str
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict of the manifest (session uids as a list), as the bundle stores it."""
        data = asdict(self)
        data["session_uids"] = list(self.session_uids)
        return data


@dataclass(frozen=True)
class Counts:
    """Rows of a set of sessions that a person cares about."""

    sessions: int
    trials: int
    repetitions: int
    pain_ratings: int

    def describe(self) -> str:
        """"12 trials, 6 pain ratings" (repetitions only when there are some)."""
        parts = [_plural(self.trials, "trial")]
        if self.repetitions:
            parts.append(_plural(self.repetitions, "repetition"))
        parts.append(_plural(self.pain_ratings, "pain rating"))
        return ", ".join(parts)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the bundle's path, its manifest and the rows it holds."""
    path: Path
    manifest: Manifest
    counts: Counts


@dataclass(frozen=True)
class PracticeImport:
    """What ``import_practice`` did: the sessions added (uid -> new id in this store), those
    already here, and the counts of what was added."""

    patient_id: str
    added: dict[str, int]
    already_here: tuple[str, ...]
    counts: Counts


@dataclass(frozen=True)
class ProgramImport:
    """What ``import_program`` did: ``created`` when the patient is new here; ``changes``
    says what changed in words (empty: the machine already had all of it)."""

    patient_id: str
    created: bool
    changes: tuple[str, ...]


# ---------------------------------------------------------------------- export


def export_practice(store: SessionStore, patient_id: str, out: Path, *, actor: str, app_version: str,
                    everything: bool = False) -> ExportResult:  # fmt: skip
    """Write the patient's home practice sessions not bundled before (all of them with
    ``everything``) into the new bundle file ``out``, and remember them as bundled (an audit
    entry by ``actor``). Sessions still running are left for the next bundle.

    GmiError when there is nothing to bundle; NotFoundError for an unknown patient;
    StorageError when ``out`` exists or cannot be written (then no file is left and nothing
    is remembered)."""
    store.require_writable()  # what was bundled must be remembered
    store.patient(patient_id)
    home = [s for s in store.list_sessions(patient_id) if s.station == HOME and s.status != "running"]
    bundled = bundled_uids(store, patient_id)
    chosen = home if everything else [s for s in home if s.uid not in bundled]
    if not home:
        raise GmiError(f"Patient {patient_id} has no finished home practice session in {store.label}; nothing was "
                       f"written: practice bundles are made on the home machine, where the practice is recorded.")  # fmt: skip
    if not chosen:
        raise GmiError(f"All {_plural(len(home), 'home practice session')} of {patient_id} were bundled before; "
                       f"nothing was written: practise first, or add --all to bundle them all again.")  # fmt: skip
    session_ids = [s.id for s in chosen]
    with _new_bundle(out) as (bundle_store, partial):
        with store.transaction() as src, bundle_store.transaction(write=True) as dst:
            _copy_rows(src, dst, _table(schema.Patient), schema.Patient.id == patient_id)
            program_ids = [s.program_id for s in chosen if s.program_id is not None]
            _copy_rows(src, dst, _table(schema.Program), schema.Program.id.in_(program_ids))
            _copy_rows(src, dst, _table(schema.Session), schema.Session.id.in_(session_ids))
            for session_id in session_ids:  # one session's rows in memory at a time
                for table in session_tables():
                    _copy_rows(src, dst, table, table.c.session_id == session_id)
            counts = _counts(dst, session_ids)
        manifest = _seal(partial, bundle_store, "practice", patient_id, tuple(s.uid for s in chosen), app_version)
    _remember(store, out, manifest, actor)
    return ExportResult(out, manifest, counts)


def export_program(store: SessionStore, patient_id: str, out: Path, *, actor: str, app_version: str) -> ExportResult:
    """Write the patient row, the current program and the newest calibration into the new
    bundle file ``out``, for the patient's home machine (audited)."""
    store.require_writable()
    store.patient(patient_id)
    with _new_bundle(out) as (bundle_store, partial):
        with store.transaction() as src, bundle_store.transaction(write=True) as dst:
            _copy_rows(src, dst, _table(schema.Patient), schema.Patient.id == patient_id)
            program = src.scalars(select(schema.Program.id).where(schema.Program.patient_id == patient_id)
                                  .order_by(schema.Program.id.desc())).first()  # as start_session chooses it
            calibration = src.scalars(select(schema.Calibration.id).where(schema.Calibration.patient_id == patient_id)
                                      .order_by(schema.Calibration.created_at.desc(), schema.Calibration.id.desc())).first()  # fmt: skip
            _copy_rows(src, dst, _table(schema.Program), schema.Program.id == program)
            _copy_rows(src, dst, _table(schema.Calibration), schema.Calibration.id == calibration)
        manifest = _seal(partial, bundle_store, "program", patient_id, (), app_version)
    _remember(store, out, manifest, actor)
    return ExportResult(out, manifest, Counts(0, 0, 0, 0))


def bundled_uids(store: SessionStore, patient_id: str) -> set[str]:
    """The uids of the patient's sessions that a practice bundle already holds (the audit
    trail's ``bundle.export`` entries)."""
    uids: set[str] = set()
    for entry in store.audit_trail(patient_id):
        details = entry.details or {}
        if entry.action == EXPORT_ACTION and details.get("kind") == "practice":
            uids.update(str(uid) for uid in details.get("session_uids", []))
    return uids


def session_tables() -> list[Table]:
    """The tables of rows under a session, parents first (layouts before their chunks); the
    audit trail stays in the store it was written in."""
    return [t for t in schema.Base.metadata.sorted_tables if "session_id" in t.c and t.name != "audit"]


def _copy_rows(src: OrmSession, dst: OrmSession, table: Table, where: Any) -> None:
    """Copy the rows of ``table`` matching ``where`` as they are, ids included."""
    rows = [dict(row) for row in src.execute(select(table).where(where)).mappings()]
    if rows:
        dst.execute(insert(table), rows)


def _counts(s: OrmSession, session_ids: Sequence[int]) -> Counts:
    def count(table: Table) -> int:
        return len(s.execute(select(table.c.id).where(table.c.session_id.in_(session_ids))).all())

    return Counts(len(session_ids), count(_table(schema.Trial)), count(_table(schema.Repetition)),
                  count(_table(schema.PainRating)))  # fmt: skip


@contextmanager
def _new_bundle(out: Path) -> Iterator[tuple[SessionStore, Path]]:
    """A new store of this gmi-vr's schema in ``out.partial`` (``0600``), given the name
    ``out`` when the block ends well, removed otherwise; ``out`` must not exist."""
    if out.is_dir():
        raise StorageError(f"{out} is a folder; name the bundle file to write, e.g. {out / 'practice.gmi'}.")
    if out.exists():
        raise StorageError(f"{out} already exists; a bundle never overwrites a file: choose a new name.")
    if not out.parent.is_dir():
        raise StorageError(f"The folder {out.parent} does not exist; create it or choose another place for the bundle.")
    partial = out.with_name(out.name + ".partial")
    _remove_sqlite_files(partial)  # left by an interrupted earlier try: never a whole bundle
    try:
        privacy.create_private_file(partial)
    except OSError as error:
        raise StorageError(f"Cannot write {out} ({error.strerror}); choose a writable place.") from error
    try:
        with SessionStore.open(partial, station="bundle") as bundle_store:
            yield bundle_store, partial
        problems = health.quick_check(partial)
        if problems:
            raise StorageError(f"The bundle {out} failed SQLite's check ({problems[0]}); check the disk and try again.")
        fsync_path(partial)
        os.replace(partial, out)
        fsync_path(out.parent)
    except OSError as error:
        raise StorageError(f"Cannot write {out} ({error.strerror}); choose a writable place.") from error
    finally:
        _remove_sqlite_files(partial)


def _seal(path: Path, bundle_store: SessionStore, kind: Kind, patient_id: str, uids: tuple[str, ...],
          app_version: str) -> Manifest:  # fmt: skip
    """Close the bundle's store, add the manifest with its checksum and make the file one
    self-contained file (no WAL beside it)."""
    bundle_store.close()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = DELETE")
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        manifest = Manifest(kind=kind, schema_revision=str(revision), app_version=app_version,
                            patient_id=patient_id, session_uids=uids, created_at=utcnow().isoformat())  # fmt: skip
        connection.execute(f"CREATE TABLE {MANIFEST_TABLE} (manifest TEXT NOT NULL)")
        sealed = Manifest(**{**asdict(manifest), "sha256": content_sha256(connection, manifest.to_json())})
        connection.execute(f"INSERT INTO {MANIFEST_TABLE} (manifest) VALUES (?)", (json.dumps(sealed.to_json()),))
    finally:
        connection.close()
    return sealed


def _remember(store: SessionStore, out: Path, manifest: Manifest, actor: str) -> None:
    """The export's audit entry; without it the bundle does not count, so the file goes too."""
    try:
        store.audit(actor, EXPORT_ACTION, patient_id=manifest.patient_id, details={
            "kind": manifest.kind, "file": str(out), "session_uids": list(manifest.session_uids),
            "sha256": manifest.sha256,
        })  # fmt: skip
    except BaseException:
        out.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------- checksum


def content_sha256(connection: sqlite3.Connection, manifest: dict[str, Any]) -> str:
    """The bundle's checksum (hex), as the module docstring defines it."""
    digest = hashlib.sha256()
    unsigned = {key: value for key, value in manifest.items() if key != "sha256"}
    digest.update(json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode())
    for entry in connection.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name != ? "
        "ORDER BY type, name", (MANIFEST_TABLE,),
    ):  # fmt: skip
        digest.update(b"schema" + b"".join(_token(value) for value in entry))
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != ? ORDER BY name",
        (MANIFEST_TABLE,),
    )]  # fmt: skip
    for table in tables:
        info = connection.execute(f'PRAGMA table_info("{table}")').fetchall()  # (cid, name, type, notnull, default, pk)
        columns = [str(row[1]) for row in info]
        key = [str(row[1]) for row in sorted(info, key=lambda row: row[5]) if row[5]] or columns
        digest.update(b"table" + _token(table) + _token(len(columns)) + b"".join(_token(c) for c in columns))
        order = ", ".join(f'"{c}"' for c in key)
        for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY {order}'):
            digest.update(b"row" + b"".join(_token(value) for value in row))
    return digest.hexdigest()


def _token(value: object) -> bytes:
    """One value, typed and self-delimiting (see the module docstring)."""
    if value is None:
        return b"N"
    if isinstance(value, int):
        return b"I" + str(value).encode() + b";"
    if isinstance(value, float):
        return b"R" + value.hex().encode() + b";"
    raw = value.encode() if isinstance(value, str) else bytes(value)  # type: ignore[call-overload]  # a BLOB column's bytes or memoryview, typed as object by the row
    return (b"T" if isinstance(value, str) else b"B") + str(len(raw)).encode() + b":" + raw


# ---------------------------------------------------------------------- reading


@contextmanager
def open_bundle(path: Path) -> Iterator[tuple[Manifest, SessionStore]]:
    """The manifest of the bundle file ``path`` and its contents as a store, read from a
    private copy (the file is never changed), after refusing (InputFileError, one sentence)
    a file that is not a bundle, is damaged or altered, or is of a newer gmi-vr. A bundle of
    an older schema is upgraded in the copy, after its checksum was checked."""
    if path.is_dir():
        raise InputFileError(f"{path} is a folder; name the bundle file in it.")
    if not path.is_file():
        raise NotFoundError(f"There is no file {path}; check the name of the bundle.")
    with tempfile.TemporaryDirectory(prefix="gmi-vr-bundle-") as folder:  # 0700
        copy = Path(folder) / "bundle.sqlite"
        try:
            privacy.create_private_file(copy)
            with path.open("rb") as source, copy.open("wb") as target:
                shutil.copyfileobj(source, target)
        except OSError as error:
            raise InputFileError(f"Cannot read {path} ({error.strerror}); check the file and its permissions.") from error
        manifest = _checked_manifest(copy, path)
        bundle_store = SessionStore.open(copy, create=False, station="bundle")
        try:
            yield manifest, bundle_store
        finally:
            bundle_store.close()


def _checked_manifest(copy: Path, shown: Path) -> Manifest:
    not_a_bundle = InputFileError(f"{shown} is not a gmi-vr bundle; choose the file that 'gmi-vr bundle export' wrote.")
    with copy.open("rb") as f:
        if not f.read(100).startswith(_SQLITE_MAGIC):
            raise not_a_bundle
    damaged = InputFileError(f"The bundle {shown} is damaged and was not imported; export it again from the machine "
                             f"it came from.")  # fmt: skip
    if health.check_store(copy).problems:
        raise damaged
    connection = health.read_only_connection(copy)
    try:
        try:
            row = connection.execute(f"SELECT manifest FROM {MANIFEST_TABLE}").fetchone()
        except sqlite3.OperationalError:
            raise not_a_bundle from None  # no manifest: another SQLite file (a session store?)
        except sqlite3.Error:
            raise damaged from None
        try:
            data = json.loads(row[0])
        except (TypeError, ValueError):
            raise damaged from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise damaged
        version = data.get("format_version")
        if not isinstance(version, int):
            raise damaged
        if version > FORMAT_VERSION:
            raise InputFileError(f"The bundle {shown} is of a newer format (version {version}) than this gmi-vr reads "
                                 f"({FORMAT_VERSION}); update gmi-vr, then import it again.")  # fmt: skip
        try:
            revisions = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.Error:
            raise damaged from None
        if not revisions:
            raise damaged
        newer = [revision for revision in revisions if revision not in known_revisions()]
        if newer:
            raise InputFileError(f"The bundle {shown} was written by a newer gmi-vr (schema {', '.join(newer)}); "
                                 f"update gmi-vr, then import it again.")  # fmt: skip
        try:
            manifest = Manifest(**{**data, "session_uids": tuple(data["session_uids"])})
            actual = content_sha256(connection, data)
        except (TypeError, KeyError, sqlite3.Error, UnicodeDecodeError):
            raise damaged from None
    finally:
        connection.close()
    if actual != manifest.sha256:
        raise InputFileError(f"The bundle {shown} was altered or damaged after it was written (its checksum does not "
                             f"match) and was not imported; export it again from the machine it came from.")  # fmt: skip
    if manifest.kind not in ("practice", "program"):
        raise not_a_bundle
    return manifest


# ---------------------------------------------------------------------- import


def import_practice(store: SessionStore, manifest: Manifest, bundle_store: SessionStore, shown: Path, *,
                    actor: str) -> PracticeImport:  # fmt: skip
    """Merge a practice bundle's sessions into ``store`` in one transaction (see the module
    docstring), audited by ``actor`` unless nothing was added. NotFoundError when the store
    does not know the patient; nothing is changed then."""
    patient_id = manifest.patient_id
    sessions = _table(schema.Session)
    with bundle_store.transaction() as src, store.transaction(write=True) as dst:
        _check_practice_contents(src, manifest, shown)
        if dst.get(schema.Patient, patient_id) is None:
            raise NotFoundError(f"{shown} holds home practice of {patient_id}, who is not a patient in {store.label}; "
                                f"check that GMI_VR_DATA is the clinic's store, then import again (nothing was changed).")  # fmt: skip
        here = set(dst.scalars(select(schema.Session.uid).where(schema.Session.uid.in_(manifest.session_uids))))
        new_rows = [row for row in src.execute(select(sessions).order_by(sessions.c.started_at, sessions.c.id)).mappings()
                    if row["uid"] not in here]  # fmt: skip
        already = tuple(uid for uid in manifest.session_uids if uid in here)
        if not new_rows:
            return PracticeImport(patient_id, {}, already, Counts(0, 0, 0, 0))
        new_ids: dict[str, dict[Any, Any]] = {"programs": _matching_programs(src, dst, patient_id)}
        new_ids["sessions"] = {}
        referenced = {fk.column.table.name for t in session_tables() for fk in t.foreign_keys}
        try:
            for session in new_rows:  # one session's rows in memory at a time
                new_ids["sessions"][session["id"]] = _insert_new(dst, sessions, session, new_ids)
                for table in session_tables():
                    query = select(table).where(table.c.session_id == session["id"]).order_by(table.c.id)
                    rows = list(src.execute(query).mappings())
                    if table.name in referenced:  # other rows point at these: learn each new id
                        new_ids.setdefault(table.name, {}).update(
                            {row["id"]: _insert_new(dst, table, row, new_ids) for row in rows})
                    elif rows:
                        dst.execute(insert(table), [_renumbered(table, row, new_ids) for row in rows])
        except KeyError:  # a row pointing at one the bundle does not hold
            raise _not_as_manifest(shown, manifest) from None
        added = {row["uid"]: new_ids["sessions"][row["id"]] for row in new_rows}
        counts = _counts(dst, list(added.values()))
        dst.add(schema.AuditEntry(
            at=utcnow(), actor=actor, action=IMPORT_ACTION, station=store.station, patient_id=patient_id,
            details={"kind": "practice", "file": str(shown), "sha256": manifest.sha256,
                     "bundle_created_at": manifest.created_at, "app_version": manifest.app_version,
                     "sessions_added": added, "sessions_already_here": list(already)},
        ))  # fmt: skip
    return PracticeImport(patient_id, added, already, counts)


def _check_practice_contents(src: OrmSession, manifest: Manifest, shown: Path) -> None:
    """The sessions in the file are the manifest's, all of its patient and all home practice."""
    rows = src.execute(select(schema.Session.uid, schema.Session.patient_id, schema.Session.station)).all()
    patients = list(src.scalars(select(schema.Patient.id)))
    if (sorted(uid for uid, _, _ in rows) != sorted(manifest.session_uids) or patients != [manifest.patient_id]
            or any(pid != manifest.patient_id or station != HOME for _, pid, station in rows)):  # fmt: skip
        raise _not_as_manifest(shown, manifest)


def _not_as_manifest(shown: Path, manifest: Manifest) -> InputFileError:
    return InputFileError(f"{shown} does not hold what its manifest says (home practice of {manifest.patient_id}); "
                          f"it was not imported: export it again from the home machine.")  # fmt: skip


def _matching_programs(src: OrmSession, dst: OrmSession, patient_id: str) -> dict[int, int | None]:
    """Each program of the bundle -> the clinic's program of the patient with the same
    contents (the one the clinic gave the home machine), else None: a home program is never
    added to the clinic's program history (that would change the clinic's current program)."""
    clinic = list(dst.execute(select(schema.Program.id, schema.Program.data)
                              .where(schema.Program.patient_id == patient_id).order_by(schema.Program.id.desc())))
    matches: dict[int, int | None] = {}
    for program_id, data in src.execute(select(schema.Program.id, schema.Program.data)):
        matches[program_id] = next((clinic_id for clinic_id, clinic_data in clinic if clinic_data == data), None)
    return matches


def _renumbered(table: Table, row: Any, new_ids: dict[str, dict[Any, Any]]) -> dict[str, Any]:
    """A bundle row for this store: no id of its own (the store gives one), its references to
    other copied rows replaced by their new ids (patients keep their id)."""
    values = {name: value for name, value in dict(row).items() if name != "id"}
    for column in table.columns:
        for fk in column.foreign_keys:
            target = fk.column.table.name
            if target == "patients" or values.get(column.name) is None:
                continue
            if target not in new_ids:
                raise StorageError(f"Bundles do not know how to carry {table.name}.{column.name}; update gmi-vr.")
            values[column.name] = new_ids[target][values[column.name]]
    return values


def _insert_new(dst: OrmSession, table: Table, row: Any, new_ids: dict[str, dict[Any, Any]]) -> int:
    result = dst.execute(insert(table).values(**_renumbered(table, row, new_ids)))
    return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]  # Session.execute is typed Result; an INSERT gives a CursorResult, which has the key


def import_program(store: SessionStore, manifest: Manifest, bundle_store: SessionStore, shown: Path, *,
                   actor: str) -> ProgramImport:  # fmt: skip
    """Create the bundle's patient in ``store`` (the home machine) or bring it up to date: the
    patient's record, the program (when it differs, kept with the clinic's time) and the
    calibration (when newer), in one transaction, audited unless nothing changed. A program
    older than the one this store has is refused (InputFileError), changing nothing."""
    patient_id = manifest.patient_id
    with bundle_store.transaction() as src, store.transaction(write=True) as dst:
        patient = src.get(schema.Patient, patient_id)
        if patient is None or src.scalars(select(schema.Session.id)).first() is not None:
            raise InputFileError(f"{shown} does not hold what its manifest says (the program of {patient_id}); "
                                 f"it was not imported: export it again at the clinic.")  # fmt: skip
        program = src.scalars(select(schema.Program)).first()
        calibration = src.scalars(select(schema.Calibration)).first()
        here = dst.get(schema.Patient, patient_id)
        created = here is None
        changes: list[str] = []
        if here is None:
            here = schema.Patient(id=patient_id, created_at=patient.created_at)
            dst.add(here)
        for field, words in PATIENT_FIELDS.items():
            value = getattr(patient, field)
            if getattr(here, field) != value:
                setattr(here, field, value)
                if words and not created:
                    changes.append(f"{words} {value}" if field != "settings" else words)
        dst.flush()
        newest = dst.scalars(select(schema.Program).where(schema.Program.patient_id == patient_id)
                             .order_by(schema.Program.id.desc())).first()  # fmt: skip
        if program is not None and (newest is None or newest.data != program.data):
            if newest is not None and as_utc(newest.created_at) > as_utc(program.created_at):
                raise InputFileError(f"{shown} holds a program of {patient_id} of {as_utc(program.created_at):%Y-%m-%d %H:%M:%S} UTC, "
                                     f"older than the one this machine has ({as_utc(newest.created_at):%Y-%m-%d %H:%M:%S} UTC); "
                                     f"nothing was changed: ask the clinic for a new one.")  # fmt: skip
            dst.add(schema.Program(patient_id=patient_id, created_at=program.created_at, data=program.data))
            stage = program.data.get("stage") if isinstance(program.data, dict) else None
            changes.append("program" + (f" (stage {stage})" if stage is not None else ""))
        if calibration is not None:
            latest = dst.scalars(select(schema.Calibration).where(schema.Calibration.patient_id == patient_id)
                                 .order_by(schema.Calibration.created_at.desc(), schema.Calibration.id.desc())).first()  # fmt: skip
            if latest is None or as_utc(latest.created_at) < as_utc(calibration.created_at):
                dst.add(schema.Calibration(patient_id=patient_id, created_at=calibration.created_at, data=calibration.data))
                changes.append(f"calibration of {as_utc(calibration.created_at):%Y-%m-%d}")
        if created or changes:
            dst.add(schema.AuditEntry(
                at=utcnow(), actor=actor, action=IMPORT_ACTION, station=store.station, patient_id=patient_id,
                details={"kind": "program", "file": str(shown), "sha256": manifest.sha256,
                         "bundle_created_at": manifest.created_at, "created": created, "changes": changes},
            ))  # fmt: skip
    return ProgramImport(patient_id, created, tuple(changes))


#: The patient record's fields a program bundle brings home, and their words in "what changed"
#: (None: said by the program's own line).
PATIENT_FIELDS: dict[str, str | None] = {
    "affected_side": "affected side", "body_part": "body part", "birth_year": "birth year",
    "age_band": "age band", "settings": "settings", "program": None,
}  # fmt: skip


# ---------------------------------------------------------------------- files


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)



def _table(model: type[schema.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"

