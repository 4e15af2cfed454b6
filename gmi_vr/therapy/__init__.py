"""therapy layer (see ARCHITECTURE.md): the patient's program and its progression, the
session runner with its safety rules, and the tasks (stage 1: laterality; pain ratings).

Pure logic: imports only core, geometry, body and scene; time comes from frames.
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
from gmi_vr.therapy.task import Task, TaskContext, TaskStep, register_task

__all__ = [
    "AnswerMapping", "BodyPart", "Decision", "LateralityScore", "LateralitySettings",
    "LateralityTask", "OverrideRecord", "PainRatingTask", "Program", "ProgramError",
    "ProgressionProposal", "ProgressionRules", "RatingRecord", "RunnerState", "SafetySettings",
    "SessionPlan", "SessionRunner", "SessionSummary", "Stage", "StageDecision", "Task",
    "TaskContext", "TaskStep", "TrialRecord", "change_since", "compare_with_norms", "confirm",
    "evaluate_progression", "register_task", "score_trials", "summarize_session",
    "ImagerySettings", "MirrorPhase", "MirrorSettings", "MotorGrading", "MotorKind", "MovementSettings", "next_range_fraction",
    "ImageryRecord", "ObservationRecord", "RangeOfMotionRecord", "RepetitionRecord", "VividnessRecord",
    "LookTask", "TaskSequence", "build_graded_movement", "build_mirror",
]
