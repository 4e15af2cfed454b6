"""The session store on real SQLite files: schema, migrations, patients, sessions, recorder."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from recording_synth import BODY_JOINTS, PROFILE, body, frame
from sqlalchemy import create_engine

from gmi_vr.core.errors import NotFoundError, StorageError
from gmi_vr.core.events import Event
from gmi_vr.core.settings import load_settings
from gmi_vr.core.types import Side
from gmi_vr.geometry.transforms import quat_from_matrix
from gmi_vr.recording import motion, schema, store_location
from gmi_vr.recording.identity import PatientIdError
from gmi_vr.recording.listing import (
    format_sessions,
    saved_line,
    session_row,
    session_rows,
    sessions_json,
)
from gmi_vr.recording.replay_source import ReplaySource
from gmi_vr.recording.rows import PatientInfo, StoredRating, StoredRepetition, StoredTrial
from gmi_vr.recording.store import SessionStore, utcnow


@pytest.fixture
def store(tmp_path: Path):
    with SessionStore.open(tmp_path / "data") as s:
        s.add_patient(PatientInfo("P0001", affected_side="left", body_part="hand", age_band="40-49"))
        yield s


def test_data_folder_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(store_location.DATA_ENV, str(tmp_path / "clinic"))
    assert store_location.default_database_path() == tmp_path / "clinic" / "sessions.sqlite"
    monkeypatch.delenv(store_location.DATA_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert load_settings().data_dir == tmp_path / "xdg" / "gmi-vr"
    monkeypatch.setenv(store_location.DATA_ENV, str(tmp_path / "env"))
    with SessionStore.open() as s:
        assert Path(s.label) == tmp_path / "env" / "sessions.sqlite"
    assert (tmp_path / "env" / "sessions.sqlite").is_file()


def test_new_store_is_migrated_to_head_and_matches_the_models(store: SessionStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_heads() == ("0008",)
        # The shipped revision creates exactly what the ORM classes describe.
        assert compare_metadata(context, schema.Base.metadata) == []
    db = sqlite3.connect(store.label)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_reopening_keeps_everything_and_does_not_migrate_again(tmp_path: Path) -> None:
    with SessionStore.open(tmp_path) as s:
        s.add_patient(PatientInfo("P7", "right", "foot", birth_year=1961))
    with SessionStore.open(tmp_path / "sessions.sqlite") as s:
        assert s.patient("P7").birth_year == 1961
        assert [p.id for p in s.list_patients()] == ["P7"]


def test_sqlite_url_opens_the_same_store(tmp_path: Path) -> None:
    with SessionStore.open(f"sqlite:///{tmp_path / 'x.sqlite'}") as s:
        s.add_patient(PatientInfo("P1", "left", "hand"))
    with SessionStore.open(tmp_path / "x.sqlite") as s:
        assert s.patient("P1").body_part == "hand"


def test_patients_programs_calibrations_and_audit(store: SessionStore) -> None:
    with pytest.raises(PatientIdError, match="already exists"):
        store.add_patient(PatientInfo("P0001", "left", "hand"))
    with pytest.raises(NotFoundError, match="P9"):
        store.patient("P9")
    program_id = store.set_program("P0001", {"stages": ["laterality", "imagery"], "minutes": 10})
    assert store.patient("P0001").program == {"stages": ["laterality", "imagery"], "minutes": 10}
    store.update_patient_settings("P0001", {"mirror_gain": 1.0})
    assert store.patient("P0001").settings == {"mirror_gain": 1.0}
    assert store.latest_calibration("P0001") is None
    store.add_calibration("P0001", {"arm_length_m": 0.61})
    store.add_calibration("P0001", {"arm_length_m": 0.63})
    latest = store.latest_calibration("P0001")
    assert latest is not None and latest.data == {"arm_length_m": 0.63}
    store.audit("therapist-a", "program.change", patient_id="P0001", details={"program": program_id})
    trail = store.audit_trail("P0001")
    assert [(a.actor, a.action, a.details) for a in trail] == [("therapist-a", "program.change", {"program": program_id})]
    assert trail[0].station and trail[0].at.tzinfo is not None
    rec = store.start_session("P0001", source="test")
    rec.finish()
    assert store.session(1).program_id == program_id


def test_a_session_records_everything_it_is_given(store: SessionStore) -> None:
    rec = store.start_session("P0001", source="test", runtime_name="Monado", settings={"hz": 90})
    rec.record_rating(6, "before")
    block = rec.begin_block("laterality", frame(0).time_s, {"images": 40})
    task = rec.begin_task("laterality.hands", frame(0).time_s, block)
    for i in range(400):
        rec.record_frame(frame(i), body(i, Side.LEFT) if i >= 10 else None)
        if i % 40 == 0:
            rec.record_trial(StoredTrial(
                onset_s=frame(i).time_s, body_part="hand", side="right", rotation_deg=90.0 * (i // 40 % 4),
                view="palm", answer="right", correct=True, reaction_time_s=1.1, task_seq=task,
            ))  # fmt: skip
    rec.record_trial(StoredTrial(onset_s=5.0, kind="imagery", measures={"vividness": 4}))
    rec.record_repetition(StoredRepetition(onset_s=6.0, duration_s=2.5, measures={"range_deg": 40.0}))
    rec.record_event(Event(frame(200).time_s, "safety.flare", {"rating": 8, "odd": {1, 2}}))
    rec.end_task(task, frame(399).time_s)
    rec.end_block(block, frame(399).time_s)
    rec.record_rating(4, "after", source="therapist")
    assert rec.flush()
    stats = rec.finish("completed")
    assert (stats.frames_received, stats.frames_written, stats.dropped_frames) == (400, 400, 0)
    assert stats.write_errors == 0 and stats.last_error is None and stats.lost_records == 0

    session = store.session(1)
    assert session.status == "completed" and session.ended_at is not None and session.runtime_name == "Monado"
    trials = store.trials(1)
    assert [t.seq for t in trials] == list(range(1, 12))
    assert trials[1].rotation_deg == 90.0 and trials[1].task_seq == task and trials[0].correct is True
    assert trials[-1].kind == "imagery" and trials[-1].measures == {"vividness": 4}
    assert store.repetitions(1)[0].measures == {"range_deg": 40.0}
    assert [(r.value, r.phase, r.source) for r in store.ratings(1)] == [(6, "before", "patient"), (4, "after", "therapist")]
    events = store.events(1)
    assert events[0].kind == "safety.flare" and events[0].data["rating"] == 8
    assert isinstance(events[0].data["odd"], str)  # not JSON: kept as text, not lost
    assert store.blocks(1)[0].end_s == pytest.approx(frame(399).time_s)
    assert store.tasks(1)[0].block_seq == block

    table = store.motion(1)
    assert table.index.tolist() == list(range(400))
    assert table.time_ns.tolist() == [frame(i).time_ns for i in range(400)]
    f = frame(123)
    np.testing.assert_allclose(table.column("head.py")[123], f.head.position[1], atol=1e-6)
    np.testing.assert_allclose(
        table.columns([f"right.index_tip.{c}" for c in motion.POSE_FIELDS])[123], f.right.joints[10], atol=1e-6
    )
    # The displayed body: only the affected (left) side's joints, as position + quaternion.
    recorded = [c for c in table.channels if c.startswith("body.") and c.endswith(".qw")]
    assert len(recorded) == sum(1 for j in BODY_JOINTS if j.startswith("left"))
    assert not any(c.startswith("body.right") for c in table.channels)
    b = body(123)
    k = BODY_JOINTS.index("leftLowerArm")
    expected = np.concatenate([b.world_from_joint[k][:3, 3], quat_from_matrix(b.world_from_joint[k])])
    got = table.columns([f"body.leftLowerArm.{c}" for c in motion.POSE_FIELDS])[123]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.isnan(table.column("body.leftLowerArm.px")[5]) and table.column("body.present")[5] == 0


def test_bad_ratings_are_refused_where_they_are_given(store: SessionStore) -> None:
    rec = store.start_session("P0001", source="test")
    for value, phase in [(11, "after"), (-1, "before"), (5.5, "before"), (3, "later")]:
        with pytest.raises(ValueError):
            rec.record_rating(value, phase)  # type: ignore[arg-type]
    rec.finish()
    with pytest.raises(ValueError, match="0 to 10"):
        store.add_rating("P0001", StoredRating(12, "after", "therapist", utcnow()))
    store.add_rating("P0001", StoredRating(2, "after", "therapist", utcnow()))
    assert [r.value for r in store.ratings(patient_id="P0001")] == [2]
    with sqlite3.connect(store.label) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO pain_ratings (patient_id, recorded_at, value, phase, source) VALUES ('P0001', '2026-01-01', 11, 'after', 'patient')"
        )


def test_codec_round_trip_keeps_every_float32_bit() -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(45, 300)).astype(np.float32)
    rows[3, 7] = np.nan
    back = motion.decode(motion.encode(rows), 45, 300)
    assert back.tobytes() == rows.tobytes()


def test_replay_yields_the_recorded_frames_and_seeks(store: SessionStore) -> None:
    rec = store.start_session("P0001", source="test")
    for i in range(300):
        rec.record_frame(frame(i, hands=i % 2 == 0, profile=PROFILE if i >= 100 else ""))
    rec.finish()
    changes = [e for e in store.events(1) if e.kind == "xr.profile"]
    assert [(e.time_s, e.data["side"], e.data["profile"]) for e in changes] == [
        (frame(100).time_s, "left", PROFILE), (frame(100).time_s, "right", PROFILE)]  # fmt: skip
    with ReplaySource(store, 1) as source:
        assert source.frame_count == 300
        assert source.start_s == frame(0).time_s and source.end_s == pytest.approx(frame(299).time_s)
        frames = list(source.frames())
        assert [f.index for f in frames] == list(range(300))
        original, replayed = frame(150), frames[150]
        assert replayed.time_ns == original.time_ns and replayed.time_s == original.time_s
        np.testing.assert_allclose(replayed.head.orientation, original.head.orientation, atol=1e-6)
        np.testing.assert_allclose(replayed.right.grip.position, original.right.grip.position, atol=1e-6)
        assert replayed.left.trigger == pytest.approx(original.left.trigger, abs=1e-6)
        assert replayed.left.primary == original.left.primary and replayed.left.grip_valid
        assert frames[151].left.joints is None and frames[150].left.joints_valid.all()
        assert (frames[99].left.profile, frames[100].left.profile, frames[299].right.profile) == ("", PROFILE, PROFILE)
        source.seek(frame(200).time_s + 0.005)  # between two frames: the earlier one
        assert source.position_s == frame(200).time_s
        assert [f.index for f in source.frames()][:2] == [200, 201]
        assert source.frame_at(frame(10).time_s).index == 10
        source.seek(0.0)
        assert next(source.frames()).index == 0
        source.request_stop()
        assert list(source.frames()) == []


def test_listing_rows_and_json(store: SessionStore) -> None:
    store.add_patient(PatientInfo("P0002", "right", "foot"))
    rec = store.start_session("P0001", source="test")
    rec.record_rating(7, "before")
    for stage in ("laterality", "imagery", "imagery", "mirror"):
        rec.begin_block(stage, 0.0)
    for i in range(181):
        rec.record_frame(frame(i))
    rec.record_rating(5, "after")
    rec.record_trial(StoredTrial(0.5, side="left", answer="left", correct=True))
    rec.finish("ended_early", "therapist_end")
    store.start_session("P0002", source="test").finish("not_started", "window_closed")
    rows = session_rows(store)
    assert [(r.patient, r.status, r.end_reason) for r in rows] == [
        ("P0001", "ended_early", "therapist_end"), ("P0002", "not_started", "window_closed")]
    first = rows[0]
    assert first.stages == ("laterality", "imagery", "mirror") and (first.trials, rows[1].trials) == (1, 0)
    assert (first.pain_before, first.pain_after) == (7, 5)
    assert first.duration_s == pytest.approx(2.0)
    assert rows[1].duration_s is None and rows[1].pain_before is None
    assert [r.patient for r in session_rows(store, patient="P0002")] == ["P0002"]
    with pytest.raises(NotFoundError):
        session_rows(store, patient="nobody")
    data = json.loads(sessions_json(rows))
    assert data[0]["stages"] == ["laterality", "imagery", "mirror"] and data[0]["pain_before"] == 7
    assert data[0]["started_at"].endswith("+00:00")
    assert (data[0]["status"], data[0]["end_reason"], data[0]["trials"]) == ("ended_early", "therapist_end", 1)
    text = format_sessions(rows)
    header, first_line, second_line = text.splitlines()
    assert header.split()[-2:] == ["status", "reason"] and "trials" in header
    assert "laterality > imagery > mirror" in first_line
    assert first_line.split()[-2:] == ["ended_early", "therapist_end"]
    assert second_line.split()[-2:] == ["not_started", "window_closed"]
    assert saved_line(session_row(store, first.session_id)) == (
        f"session {first.session_id} saved (ended_early: therapist_end): 1 trial, pain 7 -> 5")


def test_a_finished_session_cannot_claim_a_status_outside_the_list(store: SessionStore) -> None:
    rec = store.start_session("P0001", source="test")
    with pytest.raises(ValueError, match="completed"):
        rec.finish("stopped")  # the old catch-all: no longer written
    rec.finish("completed", "plan_done")
    assert (store.session(rec.session_id).status, store.session(rec.session_id).end_reason) == (
        "completed", "plan_done")
    row = session_row(store, rec.session_id)
    assert saved_line(row) == f"session {rec.session_id} saved: 0 trials, pain - -> -"


def old_store(path: Path, revision: str, sessions: int, status: str, source: str = "sim") -> Path:
    """A store file at ``path`` as an older gmi-vr left it: its schema at ``revision``,
    patient P1 and ``sessions`` sessions of P1 from frame source ``source`` (the simulator's
    by default) ended with ``status``."""
    from alembic import command

    from gmi_vr.recording.store import _alembic_config

    engine = create_engine(f"sqlite:///{path}")
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.exec_driver_sql("INSERT INTO patients (id, created_at, affected_side, body_part) "
                             "VALUES ('P1', '2026-01-01 10:00:00', 'left', 'hand')")
        for _ in range(sessions):
            conn.exec_driver_sql("INSERT INTO sessions (patient_id, started_at, status, source, dropped_frames) "
                                 "VALUES ('P1', '2026-01-01 10:00:00', ?, ?, 0)", (status, source))
    engine.dispose()
    return path


def test_a_store_written_before_end_reasons_opens_with_its_statuses_kept(tmp_path: Path) -> None:
    path = old_store(tmp_path / "old.sqlite", "0001", sessions=1, status="stopped")
    with SessionStore.open(path) as s:
        (row,) = session_rows(s)
        assert (row.status, row.end_reason) == ("stopped", None)
        assert format_sessions([row]).splitlines()[1].split()[-2:] == ["stopped", "-"]


@pytest.mark.parametrize(("source", "mode"), [("openxr", "headset"), ("sim", "desktop")])
def test_sessions_written_before_uids_each_get_their_own_and_are_clinic_sessions_in_the_mode_they_ran(
        tmp_path: Path, source: str, mode: str) -> None:
    path = old_store(tmp_path / "old.sqlite", "0004", sessions=3, status="completed", source=source)
    with SessionStore.open(path) as s:
        old = [s.session(i) for i in (1, 2, 3)]
        new = s.session(s.start_session("P1", source="test", mode="desktop", station="home").session_id)
    assert {(info.mode, info.station) for info in old} == {(mode, "clinic")}
    assert (new.mode, new.station) == ("desktop", "home")
    uids = [info.uid for info in [*old, new]]
    assert len(set(uids)) == 4 and all(len(uid) == 36 for uid in uids)


def test_simulator_sessions_stored_as_headset_sessions_are_desktop_sessions_once_opened(tmp_path: Path) -> None:
    """Before revision 0008 a session on the desktop simulator was stored as mode "headset";
    its frame source ("sim") says it ran on a screen. The headset's sessions and home
    practice keep their modes, and undoing the revision gives back what was stored."""
    from alembic import command

    from gmi_vr.recording.store import _alembic_config

    path = old_store(tmp_path / "old.sqlite", "0007", sessions=0, status="completed")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for day, source, mode, station in [(1, "openxr", "headset", "clinic"), (2, "sim", "headset", "clinic"),
                                           (3, "desktop", "desktop", "home")]:  # fmt: skip
            conn.exec_driver_sql("INSERT INTO sessions (patient_id, started_at, status, source, dropped_frames, uid, "
                                 "mode, station) VALUES ('P1', ?, 'completed', ?, 0, ?, ?, ?)",
                                 (f"2026-01-0{day} 10:00:00", source, f"00000000-0000-4000-8000-00000000000{day}",
                                  mode, station))  # fmt: skip
    with SessionStore.open(path) as s:
        upgraded = [(info.source, info.mode, info.station) for info in s.list_sessions("P1")]
        listed = format_sessions(session_rows(s)).splitlines()[1:]
    assert upgraded == [("openxr", "headset", "clinic"), ("sim", "desktop", "clinic"), ("desktop", "desktop", "home")]
    assert [" ".join(line.split()[4:6]) for line in listed] == ["clinic, headset", "clinic, desktop", "home, desktop"]
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
        stored = conn.exec_driver_sql("SELECT source, mode FROM sessions ORDER BY id").all()
    engine.dispose()
    assert stored == [("openxr", "headset"), ("sim", "headset"), ("desktop", "desktop")]


def test_unknown_session_is_a_clear_error(store: SessionStore) -> None:
    with pytest.raises(NotFoundError, match="gmi-vr sessions"):
        store.session(42)


def test_recovery_tells_dead_owners_from_live_ones(store: SessionStore) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    live = store.start_session("P0001", source="test")  # this process, heartbeat fresh
    live.flush()
    now = utcnow()
    rows = {}
    cases = [
        ("other_station_fresh", "station-b", now),
        ("other_station_stale", "station-b", now - timedelta(minutes=5)),
        ("dead_pid_here", None, now),
    ]
    for name, _, _ in cases:
        rec = store.start_session("P0001", source="test")
        rec.finish()
        rows[name] = rec.session_id
    with store.engine.begin() as conn:
        for name, host, beat in cases:
            rec_id = rows[name]
            conn.execute(
                update(schema.Session).where(schema.Session.id == rec_id).values(
                    status="running", heartbeat_at=beat, owner_host=host or store.session(live.session_id).owner_host,
                    owner_pid=2**22 + 12345 if host is None else 1,
                )
            )
    assert sorted(store.recover()) == sorted([rows["other_station_stale"], rows["dead_pid_here"]])
    assert store.session(rows["other_station_fresh"]).status == "running"
    assert store.session(live.session_id).status == "running"
    stale = store.session(rows["other_station_stale"])
    assert stale.status == "interrupted" and stale.ended_at == now - timedelta(minutes=5)
    assert stale.end_reason == "heartbeat_stopped"
    assert store.session(rows["dead_pid_here"]).end_reason == "process_gone"
    live.finish()
    assert store.session(live.session_id).status == "completed"


def test_a_blocked_writer_makes_the_queue_drop_frames_counted_and_reported_once(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import time

    caplog.set_level(logging.WARNING, logger="gmi_vr.recording")
    rec = store.start_session("P0001", source="test", queue_frames=30)
    for i in range(20):
        rec.record_frame(frame(i))
    assert rec.flush()
    # Another process holds the database's write lock: the writer waits, the render side must not.
    blocker = sqlite3.connect(store.label, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        rec.record_event(Event(1.0, "stage.change", {}))
        time.sleep(0.2)  # the writer is now waiting for the lock
        for i in range(20, 400):
            rec.record_frame(frame(i))
        stats = rec.stats()
        assert stats.frames_received == 400 and stats.dropped_frames >= 400 - 20 - 30 - 60
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert rec.flush()
    final = rec.finish()
    assert final.frames_written + final.dropped_frames == 400 and final.write_errors == 0
    table = store.motion(1)
    assert table.index[:20].tolist() == list(range(20)) and len(table.index) == final.frames_written
    assert store.session(1).dropped_frames == final.dropped_frames
    assert len(store.events(1)) == 1
    warnings = [r for r in caplog.records if r.name == "gmi_vr.recording" and "dropped frames" in r.getMessage()]
    assert len(warnings) == 1


def test_unusable_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="install its database driver"):
        SessionStore.open("nosuchdb+driver://user:secret@host/db")
    with pytest.raises(StorageError, match="Cannot reach the session store") as caught:
        SessionStore.open(f"postgresql+psycopg://user:secret@/db?host={tmp_path}&port=1")
    assert "secret" not in str(caught.value)
