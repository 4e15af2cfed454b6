"""The session store on a real PostgreSQL server (what a clinic with several stations uses):
the shipped migration creates the ORM schema there too, and a session records, lists,
replays, exports and recovers the same way as on SQLite.

A throw-away server is started in a temporary folder, reachable through a Unix socket only,
and stopped at the end. Skipped, saying why, where the PostgreSQL server binaries are not
installed (Debian: ``apt-get install postgresql``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
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
from gmi_vr.recording.replay_source import ReplaySource
from gmi_vr.recording.rows import PatientInfo, StoredTrial
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
            assert context.get_current_heads() == ("0008",)
            assert compare_metadata(context, schema.Base.metadata) == []
        store.add_patient(PatientInfo("PG1", "left", "hand", birth_year=1960, program={"stages": ["mirror"]}))
        recorder = store.start_session("PG1", source="test", runtime_name="Monado", display_hz=90.0)
        recorder.record_rating(5, "before")
        block = recorder.begin_block("mirror", frame(0).time_s)
        for i in range(200):
            recorder.record_frame(frame(i, profile=PROFILE), body(i))
            if i % 50 == 0:
                recorder.record_trial(StoredTrial(onset_s=frame(i).time_s, body_part="hand", side="left", correct=True))
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
        store.add_exposure("PG0O1", exposed_on="2026-12-01", station="clinic", minutes=5, texture="silk", level=1,
                           levels=6, entered_by="t.one")  # fmt: skip
        moved = store.rename_patient("PG0O1", "PG001", actor="t.two", details={"reason": "O for zero"})
        assert moved == {"calibrations": 1, "programs": 1, "sessions": 1, "pain_ratings": 1, "outcomes": 1,
                         "desensitization": 1, "audit": 1}  # fmt: skip
        assert [(o.patient_id, o.items) for o in store.outcomes("PG001")] == [("PG001", {"value": 3})]
        assert [p.id for p in store.list_patients()] == ["PG001"]
        assert [s.patient_id for s in store.list_sessions()] == ["PG001"]
        assert [a.action for a in store.audit_trail("PG001")] == ["patient.add", "patient.rename"]


# ---------------------------------------------------------------------- a clinic's stations on one server

TESTS = str(Path(__file__).parent)

#: One station recording a session: frames in 30-frame bursts, one pain rating per burst,
#: then a flush; each line printed says what the server has committed by then.
STATION = """
import json, sys, time
sys.path.insert(0, {tests!r})
from recording_synth import body, frame
from gmi_vr.recording.store import SessionStore

url, patient, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = SessionStore.open(url, station=patient)
recorder = store.start_session(patient, source="test", chunk_seconds=0.2)
print(json.dumps({{"session": recorder.session_id}}), flush=True)
frames = ratings = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(30):
        recorder.record_frame(frame(frames), body(frames))
        frames += 1
    recorder.record_rating(ratings % 11, "during", time_s=frame(frames).time_s)
    ratings += 1
    assert recorder.flush(), recorder.stats()
    print(json.dumps({{"frames": frames, "ratings": ratings}}), flush=True)
    time.sleep(0.05)
stats = recorder.finish("completed", "plan_done")
print(json.dumps({{"finished": frames, "written": stats.frames_written, "ratings": ratings}}), flush=True)
"""

#: A third station reading what the two record: session list, motion spans, ratings, motion.
READER = """
import json, sys, time
sys.path.insert(0, {tests!r})
from gmi_vr.recording.listing import session_rows
from gmi_vr.recording.store import SessionStore

url, seconds = sys.argv[1], float(sys.argv[2])
store = SessionStore.open(url, station="front-desk")
reads = frames = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for row in session_rows(store):
        store.motion_span(row.session_id)
        store.ratings(row.session_id)
    sessions = store.list_sessions()
    if sessions:
        frames = max(frames, sum(len(t.index) for t in store.iter_motion(sessions[0].id)))
    reads += 1
print(json.dumps({{"reads": reads, "frames_seen": frames}}), flush=True)
"""


def _lines(process: subprocess.Popen[str], into: list[dict[str, int]]) -> threading.Thread:
    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            into.append(json.loads(line))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_two_stations_record_while_a_third_reads_and_a_killed_one_loses_nothing_committed(postgres_url: str) -> None:
    with SessionStore.open(postgres_url) as store:
        store.add_patient(PatientInfo("ROOM-A", "left", "hand"))
        store.add_patient(PatientInfo("ROOM-B", "right", "hand"))
    python = sys.executable
    station, reader = STATION.format(tests=TESTS), READER.format(tests=TESTS)
    a = subprocess.Popen([python, "-c", station, postgres_url, "ROOM-A", "120"], stdout=subprocess.PIPE, text=True)
    b = subprocess.Popen([python, "-c", station, postgres_url, "ROOM-B", "30"], stdout=subprocess.PIPE, text=True)
    r = subprocess.Popen([python, "-c", reader, postgres_url, "30"], stdout=subprocess.PIPE, text=True)
    lines_a: list[dict[str, int]] = []
    lines_b: list[dict[str, int]] = []
    lines_r: list[dict[str, int]] = []
    readers = [_lines(a, lines_a), _lines(b, lines_b), _lines(r, lines_r)]
    try:
        time.sleep(15)
        a.send_signal(signal.SIGKILL)  # the station's power cable, in the middle of its session
        assert a.wait(10) == -signal.SIGKILL
        assert b.wait(120) == 0 and r.wait(120) == 0
    finally:
        for process in (a, b, r):
            if process.poll() is None:
                process.kill()
    for thread in readers:
        thread.join(10)
    session_a, session_b = lines_a[0]["session"], lines_b[0]["session"]
    committed_a = [line for line in lines_a if "frames" in line][-1]
    finished_b = lines_b[-1]
    assert committed_a["frames"] > 300 and finished_b["finished"] > 300
    assert finished_b["written"] == finished_b["finished"]
    assert lines_r[-1]["reads"] > 5 and lines_r[-1]["frames_seen"] > 0

    with SessionStore.open(postgres_url) as store:
        # The killed station's session: recovered as interrupted, everything it committed kept.
        assert session_a in store.recovered_sessions
        info_a, info_b = store.session(session_a), store.session(session_b)
        assert (info_a.status, info_a.end_reason) == ("interrupted", "process_gone")
        assert len(store.motion(session_a).index) >= committed_a["frames"]
        assert len(store.ratings(session_a)) >= committed_a["ratings"]
        # The other station's session is untouched: completed, every frame and rating there.
        assert (info_b.status, info_b.end_reason) == ("completed", "plan_done")
        motion_b = store.motion(session_b)
        assert list(motion_b.index) == list(range(finished_b["finished"]))
        assert len(store.ratings(session_b)) == finished_b["ratings"]


def test_stations_upgrade_the_schema_one_at_a_time_and_say_so(postgres_url: str, tmp_path: Path) -> None:
    import psycopg
    from sqlalchemy import make_url

    from gmi_vr.recording.store import UPGRADE_LOCK_KEY

    settings = tmp_path / "settings.toml"
    settings.write_text(f'database_url = "{postgres_url}"\nstation = "room-1"\n')
    env = {**os.environ, "GMI_VR_CONFIG": str(settings)}
    env.pop("GMI_VR_DATA", None)
    plain = make_url(postgres_url)
    # Another station holds the upgrade: it has just begun creating the schema.
    holder = psycopg.connect(host=plain.query["host"], port=int(plain.query["port"]), user="postgres",
                             dbname="postgres", autocommit=True)  # fmt: skip
    holder.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK_KEY,))
    gmi_vr = [sys.executable, "-m", "gmi_vr.cli", "patients", "list"]
    stations = [subprocess.Popen(gmi_vr, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]  # fmt: skip
    try:
        for station in stations:  # each says why it waits, at once, and then waits
            assert station.stderr is not None
            told = station.stderr.readline()
            assert "Another station is creating or upgrading the session store" in told
            assert "waiting for it to finish" in told
        time.sleep(1)
        assert [s.poll() for s in stations] == [None, None]  # neither touches the schema meanwhile
        holder.execute("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK_KEY,))
        results = [s.communicate(timeout=60) for s in stations]
    finally:
        holder.close()
        for s in stations:
            if s.poll() is None:
                s.kill()
    for station, (out, err) in zip(stations, results, strict=True):
        assert station.returncode == 0, err
        assert "no patients yet" in out
    heads = []
    for location in (postgres_url, tmp_path / "sqlite-station"):  # the same head as a new SQLite store
        with SessionStore.open(location) as store, store.engine.connect() as conn:
            heads.append(MigrationContext.configure(conn).get_current_heads())
    assert heads[0] == heads[1] and len(heads[0]) == 1
