"""Bundles between two real data folders: the clinic prepares the home machine, home practice
comes back to the clinic once, and a bundle that is altered, damaged, of a newer gmi-vr, for
an unknown patient or not a bundle at all is refused with one sentence, the clinic's store
left byte for byte as it was."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from home_practice import record_home_practice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gmi_vr.cli import main
from gmi_vr.core.errors import InputFileError
from gmi_vr.recording import bundle, schema
from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore

PATIENT = "P0012"


class Cli:
    """``gmi-vr`` run in this process on one data folder: (exit status, stdout, stderr)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path):
        self.monkeypatch, self.capsys = monkeypatch, capsys
        monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
        monkeypatch.delenv("GMI_VR_TOKEN", raising=False)

    def __call__(self, data: Path, *args: str) -> tuple[int, str, str]:
        self.monkeypatch.setenv("GMI_VR_DATA", str(data))
        self.capsys.readouterr()
        code = main(list(args))
        out = self.capsys.readouterr()
        return code, out.out, out.err


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    return Cli(monkeypatch, capsys, tmp_path)


@pytest.fixture
def clinic(cli: Cli, tmp_path: Path) -> Path:
    """A clinic store with the patient, another patient and a headset session of each (so the
    ids home sessions get at the clinic differ from the ones they had at home)."""
    data = tmp_path / "clinic"
    assert cli(data, "patients", "add", PATIENT, "--side", "left", "--age", "54")[0] == 0
    assert cli(data, "patients", "add", "P0099", "--side", "right")[0] == 0
    with SessionStore.open(data) as store:
        store.add_calibration(PATIENT, {"arm_length_m": 0.61})
        for patient in ("P0099", PATIENT):
            store.start_session(patient, source="test").finish("completed", "plan_done")
    return data


@pytest.fixture
def home(cli: Cli, clinic: Path, tmp_path: Path) -> Path:
    """The home machine, set up from the clinic's program bundle, with two practice sessions."""
    program_file = tmp_path / "program.gmi"
    assert cli(clinic, "bundle", "export", "--program", PATIENT, "--out", str(program_file))[0] == 0
    data = tmp_path / "home"
    code, out, err = cli(data, "bundle", "import", str(program_file))
    assert code == 0, err
    assert out.splitlines()[0] == f"created the data folder {data}"
    assert out.splitlines()[1].startswith(f"added patient {PATIENT} to this machine with program (stage 1), calibration of ")
    with SessionStore.open(data) as store:
        record_home_practice(store, PATIENT, trials=4)
        record_home_practice(store, PATIENT, trials=6, first_frame=500)
    return data


def digest(data: Path) -> str:
    """The store file's bytes (every store here is closed, its WAL checkpointed and gone)."""
    assert not (data / "sessions.sqlite-wal").exists()
    return hashlib.sha256((data / "sessions.sqlite").read_bytes()).hexdigest()


def row_counts(store: SessionStore) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
                for t in schema.Base.metadata.sorted_tables}  # fmt: skip


def one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("gmi-vr: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def export(cli: Cli, home: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return cli(home, "bundle", "export", "--patient", PATIENT, "--out", str(out), *extra)


def test_home_practice_reaches_the_clinic_once_with_every_record(cli: Cli, clinic: Path, home: Path,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "practice.gmi"
    code, said, err = export(cli, home, out)
    assert code == 0, err
    assert said.startswith(f"bundled 2 home practice sessions of {PATIENT} (10 trials, 4 pain ratings) into {out}")
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    code, said, err = cli(clinic, "bundle", "import", str(out))
    assert code == 0, err
    assert said.strip() == f"added 2 home practice sessions of {PATIENT} (10 trials, 4 pain ratings)"

    with SessionStore.open(home) as h, SessionStore.open(clinic) as c:
        at_home = h.list_sessions(PATIENT)
        by_uid = {s.uid: s for s in c.list_sessions(PATIENT)}
        assert len(by_uid) == 3  # the clinic's own session and the two from home
        for session in at_home:
            there = by_uid[session.uid]
            assert there.id != session.id  # new ids at the clinic, the same uid
            assert (there.station, there.mode, there.status, there.end_reason) == ("home", "desktop", "completed", "plan_done")
            assert (there.started_at, there.ended_at, there.source) == (session.started_at, session.ended_at, session.source)
            assert c.trials(there.id) == h.trials(session.id)
            assert c.blocks(there.id) == h.blocks(session.id) and c.tasks(there.id) == h.tasks(session.id)
            assert c.events(there.id) == h.events(session.id)
            assert [(r.value, r.phase, r.source, r.recorded_at, r.time_s) for r in c.ratings(there.id)] == [
                (r.value, r.phase, r.source, r.recorded_at, r.time_s) for r in h.ratings(session.id)]  # fmt: skip
            assert {r.session_id for r in c.ratings(there.id)} == {there.id}
            moved, kept = c.motion(there.id), h.motion(session.id)
            assert moved.channels == kept.channels and len(moved.index) == 90
            np.testing.assert_array_equal(moved.rows, kept.rows)
            np.testing.assert_array_equal(moved.time_ns, kept.time_ns)
            # Run with the program the clinic gave: the clinic's own program row, not a copy.
            clinic_session = c.list_sessions(PATIENT)[0]
            assert there.program_id is not None and there.program_id == clinic_session.program_id
        imports = [a for a in c.audit_trail(PATIENT) if a.action == "bundle.import"]
        assert len(imports) == 1 and imports[0].details is not None
        assert sorted(imports[0].details["sessions_added"]) == sorted(s.uid for s in at_home)
        counts = row_counts(c)
    before = digest(clinic)

    code, said, err = cli(clinic, "bundle", "import", str(out))  # the same file again
    assert code == 0, err
    assert said.strip() == (f"nothing new: the 2 home practice sessions of {PATIENT} in {out} are already here; "
                            f"nothing changed")  # fmt: skip
    assert digest(clinic) == before
    with SessionStore.open(clinic) as c:
        assert row_counts(c) == counts

    code, listed, _ = cli(clinic, "sessions", "--patient", PATIENT)
    assert code == 0
    rows = [line.split() for line in listed.splitlines()[1:]]
    assert [row[4:6] for row in rows] == [["clinic,", "headset"], ["home,", "desktop"], ["home,", "desktop"]]  # id, patient, date, time, where
    as_json = json.loads(cli(clinic, "sessions", "--json")[1])
    assert [(r["station"], r["mode"]) for r in as_json] == [("clinic", "headset")] * 2 + [("home", "desktop")] * 2


def test_only_practice_since_the_last_bundle_is_exported(cli: Cli, clinic: Path, home: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.gmi"
    assert export(cli, home, first)[0] == 0
    again = tmp_path / "again.gmi"
    code, said, err = export(cli, home, again)
    assert (code, said) == (1, "")
    assert "All 2 home practice sessions of P0012 were bundled before; nothing was written" in one_sentence(err)
    assert not again.exists()

    with SessionStore.open(home) as store:
        (entry,) = [a for a in store.audit_trail(PATIENT) if a.action == "bundle.export" and a.details
                    and a.details["kind"] == "practice"]  # fmt: skip
        assert entry.details is not None and entry.details["file"] == str(first)
        assert sorted(entry.details["session_uids"]) == sorted(s.uid for s in store.list_sessions(PATIENT))
        newest = record_home_practice(store, PATIENT, trials=3)
        newest_uid = store.session(newest).uid
        all_uids = [s.uid for s in store.list_sessions(PATIENT)]
        running = store.start_session(PATIENT, source="desktop", mode="desktop", station="home")
    assert export(cli, home, again)[0] == 0
    with bundle.open_bundle(again) as (manifest, _):
        # A session still running waits for the next bundle.
        assert manifest.session_uids == (newest_uid,) and manifest.kind == "practice"
    running.finish("ended_early", "window_closed")
    with SessionStore.open(home) as store:
        running_uid = store.session(running.session_id or 0).uid

    everything = tmp_path / "everything.gmi"
    code, said, _ = export(cli, home, everything, "--all")
    assert code == 0 and said.startswith("bundled 4 home practice sessions")
    with bundle.open_bundle(everything) as (manifest, _):
        assert list(manifest.session_uids) == [*all_uids, running_uid]

    assert cli(clinic, "bundle", "import", str(first))[0] == 0
    code, said, _ = cli(clinic, "bundle", "import", str(everything))
    assert (code, said.strip()) == (0, f"added 2 home practice sessions of {PATIENT} (3 trials, 2 pain ratings); 2 already here")
    code, _, err = export(cli, home, first, "--all")  # a bundle never overwrites a file
    assert code == 7 and "already exists" in one_sentence(err)
    code, _, err = export(cli, home, tmp_path, "--all")
    assert code == 7 and "is a folder" in one_sentence(err)
    code, _, err = cli(home, "bundle", "export", "--patient", "P0013", "--out", str(tmp_path / "x.gmi"))
    assert code == 8 and "No patient P0013" in one_sentence(err)
    code, _, err = cli(home, "bundle", "export", "--program", PATIENT, "--all", "--out", str(tmp_path / "x.gmi"))
    assert code == 1 and "--all is for home practice" in one_sentence(err)
    assert not (tmp_path / "x.gmi").exists()


def import_a_changed_bundle(cli: Cli, clinic: Path, home: Path, out: Path,
                            change: Callable[[Path], None]) -> tuple[int, str, str]:  # fmt: skip
    """The home store's bundle exported to ``out``, changed there by ``change(out)``, then
    imported into the clinic's store: what the import returned. Neither the clinic's store
    nor the bundle file may change."""
    assert export(cli, home, out)[0] == 0
    change(out)
    changed = out.read_bytes()
    before = digest(clinic)
    result = cli(clinic, "bundle", "import", str(out))
    assert digest(clinic) == before
    assert out.read_bytes() == changed  # the file itself is never changed
    return result


def _write_sql(path: Path, statement: str) -> None:
    """Run one SQL statement on the bundle file at ``path`` and commit it, as someone
    editing the file with a SQLite tool would."""
    with sqlite3.connect(path) as connection:  # commits, but does not close
        connection.execute(statement)
    connection.close()


def _change_a_trial_answer(path: Path) -> None:
    _write_sql(path, "UPDATE trials SET answer = CASE answer WHEN 'left' THEN 'right' ELSE 'left' END WHERE seq = 1")


def _flip_bytes_in_motion(path: Path) -> None:
    """Flip bytes inside one motion chunk's stored data (found where it lies in the file)."""
    connection = sqlite3.connect(path)
    (data,) = connection.execute("SELECT data FROM motion_chunks ORDER BY id LIMIT 1").fetchone()
    connection.close()
    raw = bytearray(path.read_bytes())
    at = raw.find(data[40:72])
    assert at > 0 and raw.find(data[40:72], at + 1) == -1
    raw[at + 5] ^= 0xFF
    raw[at + 6] ^= 0x0F
    path.write_bytes(bytes(raw))


def _flip_bytes_in_a_page_header(path: Path) -> None:
    """Damage the b-tree page of the file's third page (SQLite's own structure, not a record)."""
    raw = bytearray(path.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    for k in range(2 * page, 2 * page + 12):
        raw[k] ^= 0xA5
    path.write_bytes(bytes(raw))


def _truncate(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _edit_the_manifests_uids(path: Path) -> None:
    _write_sql(path, "UPDATE bundle_manifest SET manifest = json_set(manifest, '$.session_uids[0]', 'x')")


def _add_a_trigger(path: Path) -> None:
    """No record changes, but the schema does: a trigger that would empty the trials."""
    _write_sql(path, "CREATE TRIGGER wipe AFTER UPDATE ON sessions BEGIN DELETE FROM trials; END")


@pytest.mark.parametrize(("tamper", "said"), [
    (_change_a_trial_answer, "was altered or damaged after it was written (its checksum does not match)"),
    (_flip_bytes_in_motion, "was altered or damaged after it was written (its checksum does not match)"),
    (_add_a_trigger, "was altered or damaged after it was written (its checksum does not match)"),
    (_edit_the_manifests_uids, "was altered or damaged after it was written (its checksum does not match)"),
    (_flip_bytes_in_a_page_header, "is damaged and was not imported"),
    (_truncate, "is damaged and was not imported"),
])  # fmt: skip
def test_an_altered_or_damaged_bundle_is_refused_and_the_clinic_store_is_unchanged(
    cli: Cli, clinic: Path, home: Path, tmp_path: Path, tamper: Callable[[Path], None], said: str
) -> None:
    out = tmp_path / "practice.gmi"
    code, printed, err = import_a_changed_bundle(cli, clinic, home, out, tamper)
    assert (code, printed) == (6, "")
    assert f"The bundle {out} {said}" in one_sentence(err)


def _newer_format(path: Path) -> None:
    _write_sql(path, "UPDATE bundle_manifest SET manifest = json_set(manifest, '$.format_version', 2)")


def _newer_schema(path: Path) -> None:
    _write_sql(path, "UPDATE alembic_version SET version_num = '9999'")


@pytest.mark.parametrize(("change", "said"), [
    (_newer_format, "is of a newer format (version 2) than this gmi-vr reads (1); update gmi-vr"),
    (_newer_schema, "was written by a newer gmi-vr (schema 9999); update gmi-vr"),
])  # fmt: skip
def test_a_bundle_of_a_newer_gmi_vr_is_refused(cli: Cli, clinic: Path, home: Path, tmp_path: Path,
                                               change: Callable[[Path], None], said: str) -> None:  # fmt: skip
    out = tmp_path / "practice.gmi"
    code, _, err = import_a_changed_bundle(cli, clinic, home, out, change)
    assert code == 6 and f"The bundle {out} {said}" in one_sentence(err)


def test_a_bundle_of_a_patient_the_clinic_does_not_know_is_refused(cli: Cli, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "practice.gmi"
    assert export(cli, home, out)[0] == 0
    other_clinic = tmp_path / "other-clinic"
    assert cli(other_clinic, "patients", "add", "P0077", "--side", "left")[0] == 0
    before = digest(other_clinic)
    code, _, err = cli(other_clinic, "bundle", "import", str(out))
    assert code == 8
    assert f"{out} holds home practice of {PATIENT}, who is not a patient in" in one_sentence(err)
    assert digest(other_clinic) == before
    # A mistyped data folder is not created, nor taken for an empty clinic.
    code, _, err = cli(tmp_path / "typo", "bundle", "import", str(out))
    assert code == 7 and "does not exist" in one_sentence(err) and not (tmp_path / "typo").exists()


def test_a_file_that_is_not_a_bundle_is_refused(cli: Cli, clinic: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("practice: 3 times a day\n" * 20)
    store_copy = tmp_path / "sessions-copy.sqlite"
    store_copy.write_bytes((clinic / "sessions.sqlite").read_bytes())  # a store, not a bundle
    before = digest(clinic)
    for wrong in (text, store_copy):
        code, _, err = cli(clinic, "bundle", "import", str(wrong))
        assert code == 6 and f"{wrong} is not a gmi-vr bundle" in one_sentence(err)
    code, _, err = cli(clinic, "bundle", "import", str(tmp_path / "missing.gmi"))
    assert code == 8 and "There is no file" in one_sentence(err)
    code, _, err = cli(clinic, "bundle", "import", str(tmp_path))
    assert code == 6 and "is a folder" in one_sentence(err)
    assert digest(clinic) == before


def test_the_program_bundle_updates_the_home_machine_and_an_older_one_is_refused(
    cli: Cli, clinic: Path, home: Path, tmp_path: Path
) -> None:
    old = tmp_path / "program.gmi"  # the one the home machine was set up with
    code, said, _ = cli(home, "bundle", "import", str(old))
    assert (code, said.strip()) == (0, f"patient {PATIENT} is already as {old} has it; nothing changed")

    assert cli(clinic, "patients", "edit", PATIENT, "--set", "stage=2", "--reason", "targets met")[0] == 0
    with SessionStore.open(clinic) as store:
        store.add_calibration(PATIENT, {"arm_length_m": 0.63})
    new = tmp_path / "program-2.gmi"
    code, said, _ = cli(clinic, "bundle", "export", "--program", PATIENT, "--out", str(new))
    assert code == 0 and said.startswith(f"wrote the program of {PATIENT} into {new}")
    code, said, err = cli(home, "bundle", "import", str(new))
    assert code == 0, err
    assert said.startswith(f"updated patient {PATIENT} from {new}: program (stage 2), calibration of ")
    with SessionStore.open(home) as store, SessionStore.open(clinic) as at_clinic:
        assert store.patient(PATIENT).program == at_clinic.patient(PATIENT).program
        calibration = store.latest_calibration(PATIENT)
        assert calibration is not None and calibration.data == {"arm_length_m": 0.63}
        sessions = len(store.list_sessions(PATIENT))
    before = digest(home)
    code, _, err = cli(home, "bundle", "import", str(old))
    assert code == 6 and "older than the one this machine has" in one_sentence(err)
    assert digest(home) == before
    with SessionStore.open(home) as store:
        assert len(store.list_sessions(PATIENT)) == sessions
        assert [a.action for a in store.audit_trail(PATIENT)].count("bundle.import") == 2


def test_the_checksum_covers_every_record_and_the_manifest(cli: Cli, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "practice.gmi"
    assert export(cli, home, out)[0] == 0
    connection = sqlite3.connect(out)
    (text,) = connection.execute("SELECT manifest FROM bundle_manifest").fetchone()
    manifest = json.loads(text)
    assert bundle.content_sha256(connection, manifest) == manifest["sha256"]
    assert set(manifest) == {"format", "format_version", "kind", "schema_revision", "app_version", "patient_id",
                             "session_uids", "created_at", "sha256"}  # fmt: skip
    assert bundle.content_sha256(connection, {**manifest, "patient_id": "P0013"}) != manifest["sha256"]
    connection.execute("PRAGMA ignore_check_constraints = ON")
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    probed = 0
    for table in tables:
        first = connection.execute(f"SELECT * FROM {table} ORDER BY rowid LIMIT 1").fetchone()
        if table == "bundle_manifest" or first is None:
            continue
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        for column, value in zip(columns, first, strict=True):
            changed = _another(value)
            connection.execute("SAVEPOINT probe")
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = (SELECT min(rowid) FROM {table})", (changed,))
            assert bundle.content_sha256(connection, manifest) != manifest["sha256"], f"{table}.{column}"
            connection.execute("ROLLBACK TO probe")
            connection.execute("RELEASE probe")
            probed += 1
    assert bundle.content_sha256(connection, manifest) == manifest["sha256"]
    assert probed > 80  # every column of patients, programs, sessions and everything under them
    connection.close()


def _another(value: object) -> object:
    """A different value of the same type (a NULL becomes a number)."""
    if value is None:
        return 1
    if isinstance(value, int):
        return value + 1_000_003
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return value + "x"
    assert isinstance(value, bytes)
    return value + b"x"


# ---------------------------------------------------------------------- damage, fuzzed

#: Damaged bundles tried per run (derandomised: the same cases every run).
FUZZ_CASES = 60


@pytest.fixture(scope="module")
def fuzz_material(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, dict[str, object]]:
    """A practice bundle's bytes, a clinic store's bytes, and what the bundle holds."""
    folder = tmp_path_factory.mktemp("fuzz")
    with SessionStore.open(folder / "clinic") as clinic, SessionStore.open(folder / "home") as home:
        for store in (clinic, home):
            store.add_patient(PatientInfo(PATIENT, "left", "hand", program={"stage": 1}))
        session = record_home_practice(home, PATIENT, trials=5, frames=120)
        bundle.export_practice(home, PATIENT, folder / "practice.gmi", actor="fuzz", app_version="test")
        held = {"trials": home.trials(session), "events": home.events(session),
                "motion": home.motion(session).rows.tobytes()}  # fmt: skip
    return (folder / "practice.gmi").read_bytes(), (folder / "clinic" / "sessions.sqlite").read_bytes(), held


def _damaged(draw: st.DrawFn, good: bytes) -> bytes:
    raw = bytearray(good)
    anywhere = draw(st.randoms(use_true_random=False))  # uniform over the file, not drawn to its start
    how = draw(st.sampled_from(["flip", "overwrite", "truncate"]))
    if how == "truncate":
        return bytes(raw[: anywhere.randrange(len(raw))])
    for _ in range(draw(st.integers(1, 8))):
        at = anywhere.randrange(len(raw))
        if how == "flip":
            raw[at] ^= 1 << draw(st.integers(0, 7))
        else:
            chunk = draw(st.binary(min_size=1, max_size=64))
            raw[at : at + len(chunk)] = chunk
    return bytes(raw[: len(good)])


@settings(max_examples=FUZZ_CASES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
def test_a_damaged_bundle_is_refused_in_one_sentence_or_imported_whole(
    fuzz_material: tuple[bytes, bytes, dict[str, object]], tmp_path: Path, data: st.DataObject
) -> None:
    good, clinic_bytes, held = fuzz_material
    damaged = data.draw(st.composite(lambda draw: _damaged(draw, good))())
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "clinic").mkdir()
    (folder / "clinic" / "sessions.sqlite").write_bytes(clinic_bytes)
    path = folder / "practice.gmi"
    path.write_bytes(damaged)
    try:
        with bundle.open_bundle(path) as (manifest, contents), SessionStore.open(folder / "clinic") as clinic:
            done = bundle.import_practice(clinic, manifest, contents, path, actor="fuzz")
            (session_id,) = done.added.values()
            # Accepted only where the damage touched no record: everything arrived as it was.
            assert clinic.trials(session_id) == held["trials"] and clinic.events(session_id) == held["events"]
            assert clinic.motion(session_id).rows.tobytes() == held["motion"]
    except InputFileError as error:
        assert "\n" not in str(error) and str(error).endswith(".")
        assert (folder / "clinic" / "sessions.sqlite").read_bytes() == clinic_bytes
    assert path.read_bytes() == damaged


def test_a_bundle_edited_with_its_checksum_recomputed_must_still_hold_home_practice(
    cli: Cli, clinic: Path, home: Path, tmp_path: Path
) -> None:
    """The checksum is no signature; what the file holds is checked against its manifest too:
    a clinic session slipped into a practice bundle is refused."""
    out = tmp_path / "practice.gmi"
    assert export(cli, home, out)[0] == 0
    connection = sqlite3.connect(out)
    connection.execute("UPDATE sessions SET station = 'clinic' WHERE id = 1")
    manifest = json.loads(connection.execute("SELECT manifest FROM bundle_manifest").fetchone()[0])
    manifest["sha256"] = bundle.content_sha256(connection, manifest)
    connection.execute("UPDATE bundle_manifest SET manifest = ?", (json.dumps(manifest),))
    connection.commit()
    connection.close()
    before = digest(clinic)
    code, _, err = cli(clinic, "bundle", "import", str(out))
    assert code == 6
    assert f"{out} does not hold what its manifest says (home practice of {PATIENT})" in one_sentence(err)
    assert digest(clinic) == before
