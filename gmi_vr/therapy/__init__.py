"""therapy layer (see ARCHITECTURE.md): the patient's program and its progression, the
session runner with its safety rules, and the tasks of all four stages: laterality
judgement (stage 1), explicit motor imagery (stage 2), mirror therapy (stage 3) and graded
real movement (stage 4), with pain ratings and the short checks in between.

Pure logic: imports only core, geometry, body and scene; time comes from frames (float
seconds on the frame clock), positions are world metres, and what a task produces is plain
data: a ``DrawList`` to show, ``Event``s, and records for storage.

Subpackages, in layers (each imports only those below it; the import-linter contract
"Therapy in layers" in pyproject.toml checks it):

    replayed                              what the patient was shown, rebuilt from a recording
    runner                                ``SessionRunner``: the plan frame by frame
    progression | safety | haptic_pulses  stage proposals; stop and breaks; controller pulses
    tasks/                                the task base, every task, the registry of kinds
    content/  |  results/                 what is shown  |  what is recorded and scored
    plan/                                 the patient's program and its settings

- ``plan``: ``program`` (``Program``: stages, blocks, settings, overrides), ``grading``
  (the later stages' grading settings), ``touch_training`` (touch settings, sequence and
  scores), ``home_sitting`` (the plan of a practice sitting at home);
- ``content``: ``stimuli`` (laterality stimuli and their placing), ``stand_in_figures``
  (stimuli from primitives when a model is missing), ``movements`` (the imagery library),
  ``contexts`` and ``scenes`` (what the tasks look like), ``workspace`` (reach and targets);
- ``results``: ``task_records`` (trials, ratings, task start and end), ``stage_records``
  (the later stages' records, the touch training's and the mirror box's), ``measures``
  (movement measures), ``scoring`` (laterality scores, norms, ``SessionSummary``),
  ``practice_dose`` (practice between visits against the prescription), ``questionnaires``
  (outcome measures entered on the desktop);
- ``tasks``: ``base`` (the ``Task`` protocol, ``TaskStep``, ``TaskContext``, input edges),
  ``registry`` (``TASK_BUILDERS``: the kinds a plan may name), ``laterality`` (stage 1),
  ``imagery`` (stage 2), ``stages`` (stage 2-4 blocks), ``motor`` and ``rom`` (mirror and
  movement tasks), ``mirror_box`` (home mirror practice), ``touch_task`` and ``seen_touch``
  (touch training), ``rating`` and ``checks`` (pain and the short questions), ``pointing``
  (one hand choosing by pinch or dwell);
- on top: ``runner`` (``SessionRunner``), ``safety`` (the stop gesture and breaks),
  ``progression`` (the engine proposes a stage change, the therapist confirms),
  ``haptic_pulses`` (which events pulse a controller), ``replayed``.

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
