"""Every therapy record as the session store keeps it, on a real SQLite file: the rows each
kind of record becomes (pinned to the byte, so a change of mapping shows), and the store's
record types against the tables' real columns (so a column added to one without the other
fails here)."""

from __future__ import annotations

import dataclasses
import sqlite3
import typing
from pathlib import Path

import pytest

from gmi_vr.app.pipeline import store_record
from gmi_vr.core.types import Side
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
)
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.figures_data import therapy_trial
from gmi_vr.therapy.plan.program import BodyPart
from gmi_vr.therapy.results.stage_records import (
    ImageryRecord,
    MirrorBoxRecord,
    ObservationRecord,
    RangeOfMotionRecord,
    RepetitionRecord,
    ScreenRecord,
    TouchRecord,
    VividnessRecord,
)
from gmi_vr.therapy.results.task_records import STORAGE_PHASE, RatingRecord, TrialRecord

#: One record of every kind a task hands to storage (times in seconds on the frame clock),
#: with the optional fields both filled and empty.
RECORDS = [
    TrialRecord(0, 3, 11, BodyPart.HAND, Side.LEFT, 90, "back", "kitchen", "stimuli/hand_left", True,
                1000.25, Side.LEFT, "right.trigger_click", 1001.5, 1.25, True, False, "input", "trigger"),
    TrialRecord(0, 4, 11, BodyPart.FOOT, Side.RIGHT, 270, "sole", "none", "stimuli/foot_right", False,
                1004.0, None, None, None, None, False, True, None),
    RatingRecord(1000.0, 4, "start", "patient", confirmed_with="pinch"),
    RatingRecord(1010.5, 6, "on_demand", "therapist", confirmed_with="key"),
    RatingRecord(1020.0, 3, "end", "patient"),
    ImageryRecord(1, 0, "wrist_flexion", "hand", "left", 2, 3.0, 1030.0, 1033.0, 1036.5, 3.5, 3.5 / 3.0,
                  "right.trigger_click", "input", False),
    ImageryRecord(1, 1, "finger_tap", "hand", "left", 1, 2.0, 1040.0, None, None, None, None, None, None, True),
    VividnessRecord(1, 1045.0, 4, "patient"),
    RepetitionRecord(2, "reach", 0, 3, "both", "mirror", 0.0, "left", (0.1, 1.0, -0.3), 0.4, 3.0, 1,
                     1050.0, 1052.0, True, False, 1050.2, 1051.4, 1.2, 0.25, 0.4, -1.6, -6.0, 0.02, 0.015),
    RepetitionRecord(2, "trace", 1, 4, "real", "real", 1.0, "left", (0.0, 1.1, -0.35), 0.6, 4.0, 2,
                     1055.0, None, False, True, None, None, None, None, None, None, None, None),
    RangeOfMotionRecord(3, "left", "up", 0.21, (0.0, 1.0, -0.3), 1060.0, 1062.5, "right.trigger_click"),
    ObservationRecord(4, 1070.0, 1100.0, 30.0, True),
    MirrorBoxRecord(5, 1110.0, 1170.0, 300.0, 60.0, "rating"),
    TouchRecord(6, 0, 2, 5, "index_tip", "finger", 10.0, "mirrored", "healthy", "right", 1180.0, "index_tip",
                "pencil", "left.primary", 1181.2, 1.2, "input", True, False, False),
    TouchRecord(6, 0, 3, 5, "palm", "brush", 20.0, "plain", "affected", "left", 1185.0, None, None, None,
                None, None, None, False, False, True),
    ScreenRecord(6, 0, 0, "palm", "right", 1190.0, 1191.0, 1192.5, "right.primary", True),
]


def record_all(data: Path) -> None:
    """``RECORDS`` as one session of a new store in ``data``, through the pipeline's
    ``store_record`` and the real recorder."""
    with SessionStore.open(data) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
        recorder = store.start_session("P1", source="test")
        task = recorder.begin_task("laterality", 999.0)
        for record in RECORDS:
            store_record(recorder, record, task)
        recorder.finish("completed")


def stored_rows(tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The rows of ``record_all`` as SQLite holds them (JSON as its text), all but the
    ratings' wall-clock time."""
    record_all(tmp_path / "data")
    db = sqlite3.connect(tmp_path / "data" / "sessions.sqlite")
    try:
        return {
            "trials": db.execute("SELECT * FROM trials ORDER BY id").fetchall(),
            "repetitions": db.execute("SELECT * FROM repetitions ORDER BY id").fetchall(),
            "pain_ratings": db.execute("SELECT id, patient_id, session_id, time_s, value, phase, source "
                                       "FROM pain_ratings ORDER BY id").fetchall(),
        }
    finally:
        db.close()


#: What ``RECORDS`` become, as SQLite holds them (measures as the JSON text written).
EXPECTED_ROWS: dict[str, list[tuple[object, ...]]] = {
    "trials": [
        (1, 1, 1, 1, "laterality", 1000.25, "hand", "left", 90.0, "back", "left", 1, 1.25,
         '{"block_index": 0, "trial_index": 3, "seed": 11, "context": "kitchen", '
         '"mesh": "stimuli/hand_left", "reflected": true, "answered_by": "right.trigger_click", '
         '"answered_at_s": 1001.5, "timed_out": false, "rt_source": "input", '
         '"answered_with": "trigger"}'),
        (2, 1, 2, 1, "laterality", 1004.0, "foot", "right", 270.0, "sole", None, 0, None,
         '{"block_index": 0, "trial_index": 4, "seed": 11, "context": "none", '
         '"mesh": "stimuli/foot_right", "reflected": false, "answered_by": null, '
         '"answered_at_s": null, "timed_out": true, "rt_source": null, "answered_with": null}'),
        (3, 1, 3, 1, "imagery", 1030.0, "hand", "left", None, None, None, None, None,
         '{"record_kind": "imagery", "block_index": 1, "trial_index": 0, '
         '"movement": "wrist_flexion", "level": 2, "demo_duration_s": 3.0, '
         '"demo_shown_at_s": 1030.0, "started_at_s": 1033.0, "ended_at_s": 1036.5, '
         '"imagined_s": 3.5, "ratio": 1.1666666666666667, "marked_by": "right.trigger_click", '
         '"time_source": "input", "timed_out": false}'),
        (4, 1, 4, 1, "imagery", 1040.0, "hand", "left", None, None, None, None, None,
         '{"record_kind": "imagery", "block_index": 1, "trial_index": 1, '
         '"movement": "finger_tap", "level": 1, "demo_duration_s": 2.0, '
         '"demo_shown_at_s": 1040.0, "started_at_s": null, "ended_at_s": null, '
         '"imagined_s": null, "ratio": null, "marked_by": null, "time_source": null, '
         '"timed_out": true}'),
        (5, 1, 5, 1, "vividness", 1045.0, None, None, None, None, None, None, None,
         '{"record_kind": "vividness", "block_index": 1, "time_s": 1045.0, "value": 4, '
         '"source": "patient", "scale": "vividness-1-5"}'),
        (6, 1, 6, 1, "range_of_motion", 1060.0, None, "left", None, None, None, None, None,
         '{"record_kind": "range_of_motion", "block_index": 3, "direction": "up", '
         '"excursion_m": 0.21, "rest_position": [0.0, 1.0, -0.3], "started_at_s": 1060.0, '
         '"ended_at_s": 1062.5, "ended_by": "right.trigger_click"}'),
        (7, 1, 7, 1, "observation", 1070.0, None, None, None, None, None, None, None,
         '{"record_kind": "observation", "block_index": 4, "started_at_s": 1070.0, '
         '"ended_at_s": 1100.0, "planned_s": 30.0, "completed": true}'),
        (8, 1, 8, 1, "mirror_box", 1110.0, None, None, None, None, None, None, None,
         '{"record_kind": "mirror_box", "block_index": 5, "started_at_s": 1110.0, '
         '"ended_at_s": 1170.0, "planned_s": 300.0, "practised_s": 60.0, "ended_by": "rating"}'),
        (9, 1, 9, 1, "touch", 1180.0, None, "right", None, "mirrored", None, 0, 1.2,
         '{"record_kind": "touch", "block_index": 6, "touch_block": 0, "touch_index": 2, '
         '"seed": 5, "site": "index_tip", "probe": "finger", "probe_mm": 10.0, '
         '"touched": "healthy", "answer_site": "index_tip", "answer_probe": "pencil", '
         '"answered_by": "left.primary", "answered_at_s": 1181.2, "rt_source": "input", '
         '"site_correct": true, "probe_correct": false, "timed_out": false}'),
        (10, 1, 10, 1, "touch", 1185.0, None, "left", None, "plain", None, 0, None,
         '{"record_kind": "touch", "block_index": 6, "touch_block": 0, "touch_index": 3, '
         '"seed": 5, "site": "palm", "probe": "brush", "probe_mm": 20.0, "touched": "affected", '
         '"answer_site": null, "answer_probe": null, "answered_by": null, "answered_at_s": null, '
         '"rt_source": null, "site_correct": false, "probe_correct": false, "timed_out": true}'),
        (11, 1, 11, 1, "touch_screen", 1190.0, None, "right", None, None, "report", None, None,
         '{"record_kind": "touch_screen", "block_index": 6, "touch_block": 0, "screen_index": 0, '
         '"site": "palm", "cue_at_s": 1190.0, "asked_at_s": 1191.0, "answered_at_s": 1192.5, '
         '"answered_by": "right.primary", "report": true}'),
    ],
    "repetitions": [
        (1, 1, 1, 1, 1050.2, 1.2,
         '{"record_kind": "repetition", "block_index": 2, "task": "reach", "repetition_index": 0, '
         '"stage": 3, "phase": "both", "limb_mode": "mirror", "blend": 0.0, "side": "left", '
         '"target": [0.1, 1.0, -0.3], "range_fraction": 0.4, "pace_s": 3.0, "complexity": 1, '
         '"shown_at_s": 1050.0, "completed_at_s": 1052.0, "completed": true, "timed_out": false, '
         '"onset_s": 1050.2, "end_s": 1051.4, "path_length_m": 0.25, "peak_speed_m_s": 0.4, '
         '"sparc": -1.6, "ldlj": -6.0, "target_error_m": 0.02, "sync_error_m": 0.015}'),
        (2, 1, 2, 1, 1055.0, None,
         '{"record_kind": "repetition", "block_index": 2, "task": "trace", "repetition_index": 1, '
         '"stage": 4, "phase": "real", "limb_mode": "real", "blend": 1.0, "side": "left", '
         '"target": [0.0, 1.1, -0.35], "range_fraction": 0.6, "pace_s": 4.0, "complexity": 2, '
         '"shown_at_s": 1055.0, "completed_at_s": null, "completed": false, "timed_out": true, '
         '"onset_s": null, "end_s": null, "path_length_m": null, "peak_speed_m_s": null, '
         '"sparc": null, "ldlj": null, "target_error_m": null, "sync_error_m": null}'),
    ],
    "pain_ratings": [
        (1, "P1", 1, 1000.0, 4, "before", "patient"),
        (2, "P1", 1, 1010.5, 6, "during", "therapist"),
        (3, "P1", 1, 1020.0, 3, "after", "patient"),
    ],
}


def test_every_kind_of_therapy_record_becomes_the_same_stored_row(tmp_path: Path) -> None:
    assert stored_rows(tmp_path) == EXPECTED_ROWS


def test_stored_laterality_trials_read_back_as_the_records_the_task_produced(tmp_path: Path) -> None:
    record_all(tmp_path / "data")
    with SessionStore.open(tmp_path / "data") as store:
        read_back = [therapy_trial(row) for row in store.trials(1)]
        ratings = store.ratings(session_id=1)
    lateral = [record for record in RECORDS if isinstance(record, TrialRecord)]
    assert read_back[:len(lateral)] == lateral and set(read_back[len(lateral):]) == {None}
    given = [record for record in RECORDS if isinstance(record, RatingRecord)]
    assert [(r.time_s, r.value, r.phase, r.source) for r in ratings] == [
        (r.time_s, r.value, STORAGE_PHASE[r.moment], r.source) for r in given]


#: Each record type the store takes in or hands out, its table, and the table's columns the
#: store fills itself (row ids, the session or patient it is recording for) or keeps to
#: itself (a session's owner and heartbeat: crash recovery's).
STORED_AS: dict[type, tuple[str, frozenset[str]]] = {
    StoredTrial: ("trials", frozenset({"id", "session_id"})),
    StoredRepetition: ("repetitions", frozenset({"id", "session_id"})),
    StoredRating: ("pain_ratings", frozenset({"id"})),
    BlockInfo: ("blocks", frozenset({"id", "session_id"})),
    TaskInfo: ("tasks", frozenset({"id", "session_id"})),
    EventRecord: ("events", frozenset({"id", "session_id"})),
    PatientInfo: ("patients", frozenset()),
    CalibrationInfo: ("calibrations", frozenset()),
    SessionInfo: ("sessions", frozenset({"owner_pid", "heartbeat_at", "app_version"})),
    OutcomeInfo: ("outcomes", frozenset()),
    ExposureInfo: ("desensitization", frozenset()),
    AuditInfo: ("audit", frozenset({"id"})),
}
#: Fields that may be None although their column may not, as the store fills them: the
#: recorder numbers a trial or repetition (``seq``) as it queues it, a rating given in a
#: session learns its patient from the recorder, a new patient's row its creation time.
FILLED_BY_THE_STORE = {(StoredTrial, "seq"), (StoredRepetition, "seq"), (StoredRating, "patient_id"),
                       (PatientInfo, "created_at")}  # fmt: skip
#: Columns that may hold NULL read back as an empty mapping, never None.
NULL_READ_AS_EMPTY = {(EventRecord, "data"), (OutcomeInfo, "details")}


def admits_none(hint: object) -> bool:
    return hint is type(None) or type(None) in typing.get_args(hint)


@pytest.mark.parametrize("record_type", list(STORED_AS), ids=lambda t: t.__name__)
def test_each_stored_record_type_has_its_tables_columns(tmp_path: Path, record_type: type) -> None:
    table, store_only = STORED_AS[record_type]
    with SessionStore.open(tmp_path / "data"):
        pass
    db = sqlite3.connect(tmp_path / "data" / "sessions.sqlite")
    try:  # PRAGMA table_info: (cid, name, type, notnull, default, pk)
        not_null = {row[1]: bool(row[3]) for row in db.execute(f"PRAGMA table_info({table})")}
    finally:
        db.close()
    hints = typing.get_type_hints(record_type)
    fields = {f.name for f in dataclasses.fields(record_type)}
    assert fields == set(not_null) - store_only, f"{record_type.__name__} and the {table} table differ"
    for name in fields:
        if not not_null[name] and (record_type, name) not in NULL_READ_AS_EMPTY:
            assert admits_none(hints[name]), f"{table}.{name} may be NULL but {record_type.__name__}.{name} may not be None"
        if not_null[name] and (record_type, name) not in FILLED_BY_THE_STORE:
            assert not admits_none(hints[name]), f"{table}.{name} is NOT NULL but {record_type.__name__}.{name} may be None"
