"""The session store on a real PostgreSQL server (what a clinic with several stations uses):
the shipped migration creates the ORM schema there too, and a session records, lists,
replays, exports and recovers the same way as on SQLite.

A throw-away server is started in a temporary folder, reachable through a Unix socket only,
and stopped at the end. Skipped, saying why, where the PostgreSQL server binaries are not
installed (Debian: ``apt-get install postgresql``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from recording_synth import PROFILE, body, frame
from sqlalchemy import update

from gmi_vr.core.events import Event
from gmi_vr.recording import schema
from gmi_vr.recording.export import export_session
from gmi_vr.recording.listing import session_rows
from gmi_vr.recording.records import PatientInfo, TrialRecord
from gmi_vr.recording.replay import ReplaySource
from gmi_vr.recording.store import SessionStore, utcnow


def _server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    bin_dir = _server_binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="psycopg is a dev dependency: run tools/setup")
    # Not under pytest's temporary folder: when run as root that folder is closed to the
    # 'postgres' user the server must run as.
    root = Path(tempfile.mkdtemp(prefix="gmi-vr-postgres-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)  # fmt: skip
    options = f"-c listen_addresses='' -c unix_socket_directories={sock} -p 55433 -c fsync=on"
    subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(sock / "log"), "-w", "start"],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port=55433"
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_the_store_is_portable_to_postgresql(postgres_url: str, tmp_path: Path) -> None:
    with SessionStore.open(postgres_url) as store:
        assert "postgresql" in store.label
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_heads() == ("0003",)
            assert compare_metadata(context, schema.Base.metadata) == []
        store.add_patient(PatientInfo("PG1", "left", "hand", birth_year=1960, program={"stages": ["mirror"]}))
        recorder = store.start_session("PG1", source="test", runtime_name="Monado", display_hz=90.0)
        recorder.record_rating(5, "before")
        block = recorder.begin_block("mirror", frame(0).time_s)
        for i in range(200):
            recorder.record_frame(frame(i, profile=PROFILE), body(i))
            if i % 50 == 0:
                recorder.record_trial(TrialRecord(onset_s=frame(i).time_s, body_part="hand", side="left", correct=True))
        recorder.record_event(Event(frame(10).time_s, "safety.flare", {"rating": 8}))
        recorder.end_block(block, frame(199).time_s)
        recorder.record_rating(3, "after")
        stats = recorder.finish("completed", "plan_done")
        assert (stats.frames_written, stats.write_errors, stats.lost_records) == (200, 0, 0)
        (row,) = session_rows(store)
        assert (row.stages, row.pain_before, row.pain_after, row.status) == (("mirror",), 5, 3, "completed")
        assert (row.end_reason, row.trials) == ("plan_done", 4)
        with ReplaySource(store, 1) as source:
            frames = list(source.frames())
        assert [f.index for f in frames] == list(range(200)) and frames[7].time_ns == frame(7).time_ns
        assert len(store.trials(1)) == 4
        files = export_session(store, 1, "fhir", tmp_path / "fhir")
        assert files[0].exists()
        # A session left running by another station that vanished is recovered at the next open.
        other = store.start_session("PG1", source="test")
        other.record_frame(frame(0))
        other.finish()
        with store.engine.begin() as conn:
            conn.execute(
                update(schema.Session).where(schema.Session.id == other.session_id).values(
                    status="running", owner_host="station-b", heartbeat_at=utcnow() - timedelta(minutes=5)
                )
            )
    with SessionStore.open(postgres_url) as store:
        assert store.recovered_sessions == [other.session_id]
        assert [(s.status, s.end_reason) for s in store.list_sessions()] == [
            ("completed", "plan_done"), ("interrupted", "heartbeat_stopped")]
        assert len(store.motion(other.session_id).index) == 1


def test_a_patient_is_renamed_in_one_transaction_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL checks foreign keys at once too: the new row, the children, then the old row."""
    with SessionStore.open(postgres_url) as store:
        store.add_patient(PatientInfo("PG0O1", "left", "hand", program={"stages": ["mirror"]}))
        store.add_calibration("PG0O1", {"height_m": 1.7})
        recorder = store.start_session("PG0O1", source="test")
        recorder.record_rating(5, "before")
        recorder.record_frame(frame(0))
        recorder.finish()
        store.add_outcome("PG0O1", "pgic", {"value": 3}, 3.0, {"label": "minimally improved"}, "t.one",
                          "visit", recorder.session_id)  # fmt: skip
        store.audit("t.one", "patient.add", patient_id="PG0O1")
        moved = store.rename_patient("PG0O1", "PG001", actor="t.two", details={"reason": "O for zero"})
        assert moved == {"calibrations": 1, "programs": 1, "sessions": 1, "pain_ratings": 1, "outcomes": 1,
                         "audit": 1}  # fmt: skip
        assert [(o.patient_id, o.items) for o in store.outcomes("PG001")] == [("PG001", {"value": 3})]
        assert [p.id for p in store.list_patients()] == ["PG001"]
        assert [s.patient_id for s in store.list_sessions()] == ["PG001"]
        assert [a.action for a in store.audit_trail("PG001")] == ["patient.add", "patient.rename"]
