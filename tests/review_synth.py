"""Sessions with known contents, recorded through the store's real recorder (the records the
therapy tasks hand to storage, the same ``store_record`` the pipeline uses, and motion
frames), for the report tests and ``tools/bench_report.py``.

A session may be dated in the past: the store takes its start time from
``recording.store.utcnow``, which ``record_session`` replaces while it starts the session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from unittest import mock

from recording_synth import frame

from gmi_vr.app.pipeline import store_record
from gmi_vr.core.events import Event
from gmi_vr.core.types import Side
from gmi_vr.recording import store as store_module
from gmi_vr.recording.recorder import MAX_FRAME_RATE_HZ
from gmi_vr.recording.store import SessionStore
from gmi_vr.therapy.plan.program import BodyPart, Program
from gmi_vr.therapy.results.stage_records import (
    ImageryRecord,
    RangeOfMotionRecord,
    RepetitionRecord,
    VividnessRecord,
)
from gmi_vr.therapy.results.task_records import RatingRecord, TrialRecord

RATE_HZ = 90.0
T0_NS = 1_000_000_000_000  # the frame clock's first frame: 1000 s
T0_S = T0_NS / 1e9
#: Frames per motion chunk as the recorder seals them in real time at 90 Hz (every 0.5 s).
REAL_TIME_CHUNK_FRAMES = 45


@dataclass(frozen=True)
class SideTrials:
    """``n`` laterality trials of one side, the first ``n_correct`` correct after ``rt_s``
    (the rest answered with the other side after ``wrong_rt_s``), rotations cycling through
    0, 90, 180, 270 with ``rt_per_90_s`` added per 90 degrees to correct answers."""

    n: int
    n_correct: int
    rt_s: float
    rt_per_90_s: float = 0.0
    wrong_rt_s: float = 2.5


@dataclass(frozen=True)
class Plan:
    """What one synthetic session holds (times in seconds from the session's first frame)."""

    started_at: datetime
    minutes: float = 2.0
    left: SideTrials | None = None
    right: SideTrials | None = None
    pain: Sequence[int] = ()  # first "start", last "end", the rest "on_demand"
    blocks: Sequence[tuple[str, float, float]] = ()  # (stage, start s, end s)
    imagery_ratios: Sequence[float] = ()
    vividness: Sequence[int] = ()
    repetitions: Sequence[tuple[float, float, float | None]] = ()  # (sparc, target error m, sync error m)
    rom_m: dict[str, float] = field(default_factory=dict)
    events: Sequence[tuple[float, str, dict[str, object]]] = ()
    status: str = "completed"
    with_program: bool = True
    chunk_frames: int = REAL_TIME_CHUNK_FRAMES


def side_trials(side: Side, spec: SideTrials, start_s: float, block: int = 0) -> list[TrialRecord]:
    out = []
    for i in range(spec.n):
        correct = i < spec.n_correct
        rotation = 90 * (i % 4)
        rt = spec.rt_s + spec.rt_per_90_s * (rotation // 90) if correct else spec.wrong_rt_s
        answer = side if correct else side.other
        shown = start_s + 3.0 * i
        out.append(TrialRecord(
            block_index=block, trial_index=i, seed=7, body_part=BodyPart.HAND, side=side,
            rotation_deg=rotation, view="back", context="none", mesh=f"stimuli/hand_{side.value}",
            reflected=False, shown_at_s=shown, answer=answer, answered_by=f"{answer.value}.trigger_click",
            answered_at_s=shown + rt, rt_s=rt, correct=correct, timed_out=False, rt_source="input",
        ))  # fmt: skip
    return out


@contextlib.contextmanager
def _clock_at(when: datetime) -> Iterator[None]:
    with mock.patch.object(store_module, "utcnow", lambda: when):
        yield


def record_session(store: SessionStore, patient_id: str, program: Program, plan: Plan) -> int:
    """Record ``plan`` as one session of ``patient_id``; returns its id."""
    settings = {"program": program.to_dict(), "seed": 7} if plan.with_program else None
    # The recorder seals a chunk when it is full (chunk_seconds * MAX_FRAME_RATE_HZ + 1 frames)
    # or chunk_seconds have passed; frames handed over faster than real time fill it first.
    chunk_seconds = (plan.chunk_frames - 0.5) / MAX_FRAME_RATE_HZ
    with _clock_at(plan.started_at):
        recorder = store.start_session(patient_id, source="sim", settings=settings,
                                       chunk_seconds=chunk_seconds, queue_frames=1 << 20)  # fmt: skip
    t = T0_S
    recorder.record_event(Event(t, "session.start", {"seed": 7}))
    n_frames = int(round(plan.minutes * 60 * RATE_HZ)) + 1
    for i in range(n_frames):
        recorder.record_frame(frame(i, hands=False, t0_ns=T0_NS))
    for stage, start, end in plan.blocks:
        seq = recorder.begin_block(stage, t + start)
        recorder.end_block(seq, t + end)
    records: list[object] = []
    if plan.left is not None:
        records += side_trials(Side.LEFT, plan.left, t + 5.0)
    if plan.right is not None:
        records += side_trials(Side.RIGHT, plan.right, t + 5.0 + 3.0 * (plan.left.n if plan.left else 0))
    for i, ratio in enumerate(plan.imagery_ratios):
        records.append(ImageryRecord(0, i, "wrist_flexion", "hand", "left", 1, 3.0, t + 10 * i, t + 10 * i + 3,
                                     t + 10 * i + 3 + 3 * ratio, 3 * ratio, ratio, "right.trigger_click", "input", False))  # fmt: skip
    for i, value in enumerate(plan.vividness):
        records.append(VividnessRecord(i, t + 50.0 + i, value, "patient"))
    for i, (sparc, error, sync) in enumerate(plan.repetitions):
        records.append(RepetitionRecord(
            0, "reach", i, 3, "both", "mirror", 0.0, "left", (0.1, 1.0, -0.3), 0.4, 3.0, 1,
            t + 5 * i, t + 5 * i + 2, True, False, t + 5 * i + 0.2, t + 5 * i + 1.4, 1.2, 0.25, 0.4,
            sparc, -6.0, error, sync))  # fmt: skip
    for i, (direction, excursion) in enumerate(plan.rom_m.items()):
        records.append(RangeOfMotionRecord(0, "left", direction, excursion, (0.0, 1.0, -0.3), t + 3 * i,
                                           t + 3 * i + 2, "right.trigger_click"))  # fmt: skip
    moments = (["start"] + ["on_demand"] * (len(plan.pain) - 2) + ["end"]) if len(plan.pain) > 1 else ["start"] * len(plan.pain)
    for i, (value, moment) in enumerate(zip(plan.pain, moments, strict=True)):
        records.append(RatingRecord(t + 1.0 + 20.0 * i, value, moment, "patient"))
    for record in records:
        store_record(recorder, record)
    for at, kind, data in plan.events:
        recorder.record_event(Event(t + at, kind, dict(data)))
    recorder.finish(plan.status)
    assert recorder.session_id is not None
    return recorder.session_id
