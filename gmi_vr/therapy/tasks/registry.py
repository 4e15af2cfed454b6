"""The task kinds a session plan may name, each with the builder that makes one block of it.

One explicit table (``TASK_BUILDERS``): a new task kind is a new row here. No module adds
itself by being imported, so what a plan can run is read in one place, and importing a
task module (a test, the replay) changes nothing.

The runner builds every block of the plan through ``build_task`` when it starts, so a plan
naming a kind missing here is refused before the session begins (``ProgramError``).
"""

from __future__ import annotations

from gmi_vr.therapy.plan.program import Program, ProgramError
from gmi_vr.therapy.tasks.base import Task, TaskBuilder, TaskContext
from gmi_vr.therapy.tasks.imagery import ImageryTask
from gmi_vr.therapy.tasks.laterality import LateralityTask
from gmi_vr.therapy.tasks.mirror_box import MirrorBoxTask
from gmi_vr.therapy.tasks.stages import build_graded_movement, build_mirror, build_range_of_motion
from gmi_vr.therapy.tasks.touch_task import TouchTask

#: Session-plan block name -> the builder of one block (``TaskBuilder``: program, context ->
#: ``Task``). Tests add stand-in kinds with ``monkeypatch.setitem``.
TASK_BUILDERS: dict[str, TaskBuilder] = {
    "laterality": LateralityTask.build,        # stage 1
    "imagery": ImageryTask.build,              # stage 2
    "mirror": build_mirror,                    # stage 3
    "mirror_box": MirrorBoxTask.build,         # practice at home: the mirror box on a desktop
    "graded_movement": build_graded_movement,  # stage 4
    "range_of_motion": build_range_of_motion,  # stage 4, measuring only
    "touch": TouchTask.build,                  # tactile discrimination and seen touch
}


def build_task(kind: str, program: Program, context: TaskContext) -> Task:
    """One block of task ``kind`` from the program; ProgramError naming the known kinds otherwise."""
    try:
        builder = TASK_BUILDERS[kind]
    except KeyError:
        known = ", ".join(sorted(TASK_BUILDERS))
        raise ProgramError(
            f"The session plan names task '{kind}', which gmi-vr cannot run; use one of {known}."
        ) from None
    return builder(program, context)
