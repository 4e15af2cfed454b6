"""therapy layer (see ARCHITECTURE.md): the patient's program and its progression, the
session runner with its safety rules, and the tasks of all four stages: laterality
judgement (stage 1), explicit motor imagery (stage 2), mirror therapy (stage 3) and graded
real movement (stage 4), with pain ratings and the short checks in between.

Pure logic: imports only core, geometry, body and scene; time comes from frames (float
seconds on the frame clock), positions are world metres, and what a task produces is plain
data: a ``DrawList`` to show, ``Event``s, and records for storage.

Modules, by role:

- the plan: ``program`` (``Program``: stages, blocks, settings, overrides), ``grading``
  (the later stages' grading settings), ``progression`` (the engine proposes a stage change,
  the therapist confirms), ``scoring`` (laterality scores, norms, ``SessionSummary``),
  ``results.practice_dose`` (practice between visits counted against the prescription);
- the session: ``runner`` (``SessionRunner``: runs the plan frame by frame with the safety
  rules of ``safety``), ``tasks.base`` (the ``Task`` protocol, ``TaskStep``, the task registry),
  ``stages`` (stage 2-4 blocks as task kinds);
- the tasks: ``laterality`` and ``stimuli`` (stage 1), ``imagery`` and ``movements``
  (stage 2), ``motor``, ``measures``, ``rom`` and ``workspace`` (stages 3 and 4), ``rating``
  and ``checks`` (pain and the short questions), ``scenes``, ``contexts`` and ``content.stand_in_figures``
  (what they look like), ``haptic_pulses`` (which events pulse a controller), ``pointing`` (one
  hand choosing by pointing: pinch or dwell);
- what is stored: ``results.task_records`` (trials, ratings, task start and end) and ``stage_records``
  (the records of the later stages, the touch training and the mirror box), ``results.questionnaires``
  (questionnaires entered on the desktop);
- ``replayed``: what the patient was shown, rebuilt from a recorded session.

How the app runs one session (``gmi_vr.app.session_setup`` and ``gmi_vr.app.pipeline``)::

    runner = SessionRunner(program, seed=session_seed, date_iso=today,
                           available_meshes=installed, arm=arm_reach(calibration.measures))
    for frame in source.frames():
        body = solve_body(frame, calibration, body_settings, body_state)
        runner.anchor = runner.anchor or anchor_on_midline(frame.head, ...)  # once
        step = runner.update(frame, body)        # every frame, focused or not
        # step.draw -> render; step.events and step.records -> recorder;
        # step.movement_allowed False -> hold the avatar still; step.haptics -> controllers
        if step.done:
            break
    records = runner.end_open_tasks()            # tasks cut short end with the session
    summary = runner.summary(today)
    # then, in gmi_vr.review.progress, with the stored sessions and the practice dose:
    proposal = evaluate_progression(program, history + [summary], dose)
    program, decision = confirm(program, proposal, therapist, at=now_iso, accept=True)

Console keys call ``runner.answer_from_console``, ``rating_from_console``,
``request_rating``, ``stop`` and ``end_session`` with frame-clock times.
"""

from gmi_vr.therapy.content.stimuli import stimulus_mesh_names
from gmi_vr.therapy.plan.grading import (
    ImagerySettings,
    MirrorPhase,
    MirrorSettings,
    MotorGrading,
    MotorKind,
    MovementSettings,
    next_range_fraction,
)
from gmi_vr.therapy.plan.program import (
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
from gmi_vr.therapy.results.scoring import (
    LateralityScore,
    SessionSummary,
    change_since,
    compare_with_norms,
    score_trials,
    summarize_session,
)
from gmi_vr.therapy.results.stage_records import (
    ImageryRecord,
    ObservationRecord,
    RangeOfMotionRecord,
    RepetitionRecord,
    VividnessRecord,
)
from gmi_vr.therapy.results.task_records import RatingRecord, TrialRecord
from gmi_vr.therapy.runner import RunnerState, SessionRunner
from gmi_vr.therapy.tasks.base import Task, TaskContext, TaskStep
from gmi_vr.therapy.tasks.laterality import LateralityTask
from gmi_vr.therapy.tasks.rating import PainRatingTask
from gmi_vr.therapy.tasks.registry import TASK_BUILDERS, build_task
from gmi_vr.therapy.tasks.stages import LookTask, TaskSequence, build_graded_movement, build_mirror

__all__ = [
    "AnswerMapping", "BodyPart", "Decision", "LateralityScore", "LateralitySettings",
    "LateralityTask", "OverrideRecord", "PainRatingTask", "Program", "ProgramError",
    "ProgressionProposal", "ProgressionRules", "RatingRecord", "RunnerState", "SafetySettings",
    "SessionPlan", "SessionRunner", "SessionSummary", "Stage", "StageDecision", "Task",
    "TaskContext", "TaskStep", "TrialRecord", "change_since", "compare_with_norms", "confirm",
    "evaluate_progression", "build_task", "TASK_BUILDERS", "score_trials", "stimulus_mesh_names",
    "summarize_session",
    "ImagerySettings", "MirrorPhase", "MirrorSettings", "MotorGrading", "MotorKind", "MovementSettings", "next_range_fraction",
    "ImageryRecord", "ObservationRecord", "RangeOfMotionRecord", "RepetitionRecord", "VividnessRecord",
    "LookTask", "TaskSequence", "build_graded_movement", "build_mirror",
]
