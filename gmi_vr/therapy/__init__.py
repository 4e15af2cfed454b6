"""therapy layer (see ARCHITECTURE.md): the patient's program and its progression, the
session runner with its safety rules, and the tasks (stage 1: laterality; pain ratings).

Pure logic: imports only core, geometry, body and scene; time comes from frames.

How the app runs one session::

    program = Program.from_dict(patient_row.program)        # or Program.default(...)
    installed = frozenset(n for n in stimulus_mesh_names() if model_exists(n))
    runner = SessionRunner(program, seed=session_seed, anchor=calibrated_head_pose,
                           date_iso=today, available_meshes=installed)
    for frame in source.frames():
        body = solver.solve(frame) if ... else None
        step = runner.update(frame, body)                    # every frame, focused or not
        renderer.draw(step.draw)                             # complete DrawList, fade set
        body_mode = LimbMode.STILL if not step.movement_allowed else ...
        for event in step.events: recorder.event(event)      # Event, JSON-able data
        for record in step.records: recorder.store(record.storage_fields())
        if step.done: break
    history = stored_summaries + [runner.summary(today)]
    proposal = evaluate_progression(program, history, dose)  # dose: practice.count_dose, or None
    program, decision = confirm(program, proposal, therapist, at=now_iso, accept=True)

Console keys call ``runner.answer_from_console``, ``rating_from_console``,
``request_rating``, ``stop`` and ``end_session`` with frame-clock times.
"""

from gmi_vr.therapy.grading import (
    ImagerySettings,
    MirrorPhase,
    MirrorSettings,
    MotorGrading,
    MotorKind,
    MovementSettings,
    next_range_fraction,
)
from gmi_vr.therapy.laterality import LateralityTask
from gmi_vr.therapy.program import (
    AnswerMapping,
    BodyPart,
    LateralitySettings,
    OverrideRecord,
    Program,
    ProgramError,
    ProgressionRules,
    SafetySettings,
    SessionPlan,
    Stage,
)
from gmi_vr.therapy.progression import (
    Decision,
    ProgressionProposal,
    StageDecision,
    confirm,
    evaluate_progression,
)
from gmi_vr.therapy.rating import PainRatingTask
from gmi_vr.therapy.records import RatingRecord, TrialRecord
from gmi_vr.therapy.scoring import (
    LateralityScore,
    SessionSummary,
    change_since,
    compare_with_norms,
    score_trials,
    summarize_session,
)
from gmi_vr.therapy.session import RunnerState, SessionRunner
from gmi_vr.therapy.stage_records import (
    ImageryRecord,
    ObservationRecord,
    RangeOfMotionRecord,
    RepetitionRecord,
    VividnessRecord,
)
from gmi_vr.therapy.stages import LookTask, TaskSequence, build_graded_movement, build_mirror
from gmi_vr.therapy.stimuli import stimulus_mesh_names
from gmi_vr.therapy.task import Task, TaskContext, TaskStep, register_task

__all__ = [
    "AnswerMapping", "BodyPart", "Decision", "LateralityScore", "LateralitySettings",
    "LateralityTask", "OverrideRecord", "PainRatingTask", "Program", "ProgramError",
    "ProgressionProposal", "ProgressionRules", "RatingRecord", "RunnerState", "SafetySettings",
    "SessionPlan", "SessionRunner", "SessionSummary", "Stage", "StageDecision", "Task",
    "TaskContext", "TaskStep", "TrialRecord", "change_since", "compare_with_norms", "confirm",
    "evaluate_progression", "register_task", "score_trials", "stimulus_mesh_names",
    "summarize_session",
    "ImagerySettings", "MirrorPhase", "MirrorSettings", "MotorGrading", "MotorKind", "MovementSettings", "next_range_fraction",
    "ImageryRecord", "ObservationRecord", "RangeOfMotionRecord", "RepetitionRecord", "VividnessRecord",
    "LookTask", "TaskSequence", "build_graded_movement", "build_mirror",
]
