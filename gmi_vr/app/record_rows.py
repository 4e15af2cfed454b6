"""The session store row each therapy record becomes, written out per record type: the one
place where what a task measured (``therapy.results.task_records``, ``therapy.results.stage_records``) meets what
the store keeps (``recording.rows``).

A record's figures that have a column of their own go there (onset in seconds on the frame
clock, kind, body part, side, rotation in degrees, view, answer, correct, reaction time in
seconds; a repetition's duration); everything else of the record goes into the row's
``measures``: its ``to_dict()`` (enums as their values, tuples as lists, with its
``record_kind`` where it has one) less the fields kept in columns, in field order, so nothing
a task measured is lost. A pain rating becomes the recorder's rating (``store_rating``).

``tests/test_stored_records.py`` pins the row of every kind of record and checks the store's
record types against the tables' columns.
"""

from __future__ import annotations

from typing import Any, assert_never

from gmi_vr.recording.recorder import SessionRecorder
from gmi_vr.recording.rows import StoredRepetition, StoredTrial
from gmi_vr.therapy.results.stage_records import (
    ImageryRecord,
    MirrorBoxRecord,
    ObservationRecord,
    RangeOfMotionRecord,
    RepetitionRecord,
    ScreenRecord,
    StageRecord,
    TouchRecord,
    VividnessRecord,
)
from gmi_vr.therapy.results.task_records import STORAGE_PHASE, RatingRecord, TrialRecord


def _measures(data: dict[str, Any], in_columns: tuple[str, ...]) -> dict[str, Any]:
    """``data`` (a record's ``to_dict()``) less the fields the row keeps in columns."""
    return {key: value for key, value in data.items() if key not in in_columns}


def stored_row(record: TrialRecord | StageRecord, task_seq: int | None = None) -> StoredTrial | StoredRepetition:
    """The store row of a task's record: a repetition row for a movement repetition, a trial
    row for every other record; ``task_seq`` is the recorder's number of the task it belongs
    to. The recorder numbers the row itself (``seq``) as it queues it."""
    match record:
        case TrialRecord():
            return StoredTrial(
                onset_s=record.shown_at_s, kind="laterality", body_part=record.body_part.value,
                side=record.side.value, rotation_deg=float(record.rotation_deg), view=record.view,
                answer=record.answer.value if record.answer is not None else None, correct=record.correct,
                reaction_time_s=record.rt_s, task_seq=task_seq,
                measures=_measures(record.to_dict(), ("shown_at_s", "body_part", "side", "rotation_deg", "view",
                                                      "answer", "correct", "rt_s")),
            )  # fmt: skip
        case ImageryRecord():
            return StoredTrial(onset_s=record.demo_shown_at_s, kind=record.record_kind, body_part=record.body_part,
                               side=record.side, measures=_measures(record.to_dict(), ("body_part", "side")),
                               task_seq=task_seq)  # fmt: skip
        case VividnessRecord():
            return StoredTrial(onset_s=record.time_s, kind=record.record_kind, measures=record.to_dict(),
                               task_seq=task_seq)  # fmt: skip
        case RangeOfMotionRecord():
            return StoredTrial(onset_s=record.started_at_s, kind=record.record_kind, side=record.side,
                               measures=_measures(record.to_dict(), ("side",)), task_seq=task_seq)  # fmt: skip
        case ObservationRecord() | MirrorBoxRecord():
            return StoredTrial(onset_s=record.started_at_s, kind=record.record_kind, measures=record.to_dict(),
                               task_seq=task_seq)  # fmt: skip
        case TouchRecord():
            return StoredTrial(
                onset_s=record.cue_at_s, kind=record.record_kind, side=record.side, view=record.view,
                correct=record.site_correct and record.probe_correct, reaction_time_s=record.rt_s,
                measures=_measures(record.to_dict(), ("side", "view", "cue_at_s", "rt_s")), task_seq=task_seq,
            )  # fmt: skip
        case ScreenRecord():
            return StoredTrial(onset_s=record.cue_at_s, kind=record.record_kind, side=record.side,
                               answer="report" if record.report else "none",
                               measures=_measures(record.to_dict(), ("side",)), task_seq=task_seq)  # fmt: skip
        case RepetitionRecord():
            # A hand that never moved has no movement onset: the row starts when the target showed.
            onset = record.onset_s if record.onset_s is not None else record.shown_at_s
            return StoredRepetition(onset_s=onset, duration_s=record.duration_s,
                                    measures=_measures(record.to_dict(), ("duration_s",)), task_seq=task_seq)  # fmt: skip
        case _:
            assert_never(record)


def store_rating(recorder: SessionRecorder, record: RatingRecord) -> None:
    """Hand a pain rating to the recorder: its value, the store's phase for its moment
    (``therapy.results.task_records.STORAGE_PHASE``), who gave it and its frame time (s); the recorder adds
    the wall-clock time it was recorded."""
    recorder.record_rating(record.value, STORAGE_PHASE[record.moment], record.source, record.time_s)
