"""One practice sitting at home on a desktop or laptop, from the program's prescription
(``Program.practice``; CLINICAL.md "Practice between visits": GMI's effect came with frequent
home practice; laterality and imagery work on any screen).

``home_program(program, done_today)`` is the patient's own program with the plan and the
safety rules a sitting without a headset needs; the session runner then runs it as in the
clinic, scored by the same code, with the same pain ratings before and after and the same
pain-flare rule. A sitting practises the stage's prescribed tasks (``StagePractice.tasks``:
only what the stage allows), one block each, leaving out a task already done as often today
as prescribed (a once-a-day laterality re-check is not repeated at every imagery sitting);
when every task is done for the day, the sitting practises them all again (the patient chose
to practise more, and it is counted).

The blocks, as the session plan and the store name them: "laterality" (one block of the
program's laterality settings, about the prescribed 2-minute set), "imagery" (one block,
the ghost demonstration played on screen), "mirror_box" (guided mirror-box practice for the
prescribed minutes, ``mirror_box.MirrorBoxTask``, stored as mirror practice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from gmi_vr.therapy.plan.program import Program

#: The session plan's block for each prescribed practice task (``program.PRACTICE_TASKS``).
HOME_BLOCKS: dict[str, str] = {"laterality": "laterality", "imagery": "imagery", "mirror": "mirror_box"}

#: Each task in the patient's words.
TASK_WORDS = {"laterality": "left/right pictures", "imagery": "imagined movements", "mirror": "mirror box"}

HOME_CALM_MESSAGE = ("Let's pause here.\nBreathe slowly and rest.\n"
                     "If the pain stays up, tell your therapist.")
HOME_DONE_MESSAGE = "Practice complete. Well done.\n{next}"


def sitting_tasks(program: Program, done_today: Mapping[str, int] | None = None) -> tuple[str, ...]:
    """The prescribed tasks of the program's stage still due today (``done_today``: task ->
    practice sittings with it today), or all of them when none is due."""
    prescription = program.practice.for_stage(program.stage)
    done = done_today or {}
    due = tuple(task for task in prescription.tasks if done.get(task, 0) < prescription.dose(task)[1])
    return due or prescription.tasks


def home_program(program: Program, done_today: Mapping[str, int] | None = None) -> Program:
    """``program`` for one desktop sitting at home: the blocks of ``sitting_tasks``, the
    mirror-box practice for its prescribed minutes, and the headset-only safety steps off.
    The sickness scale is a headset's (CLINICAL.md: FMS "asked every minute in the
    headset"); the stop hint names the controllers' grip (the window shows its own keys
    instead). Everything else, the pain ratings and the flare rule included, is the
    patient's program as the therapist set it."""
    tasks = sitting_tasks(program, done_today)
    return dataclasses.replace(
        program,
        session=dataclasses.replace(program.session, blocks=tuple(HOME_BLOCKS[task] for task in tasks)),
        safety=dataclasses.replace(program.safety, fms_every_s=0.0, stop_hint_s=0.0),
    )


def home_done_message(program: Program, done_today: Mapping[str, int] | None = None) -> str:
    """What the screen says when a sitting is complete: what is left of today's practice."""
    prescription = program.practice.for_stage(program.stage)
    done = dict(done_today or {})
    for task in sitting_tasks(program, done_today):
        done[task] = done.get(task, 0) + 1  # this sitting, once it is complete
    left = [f"{TASK_WORDS[task]} {prescription.dose(task)[1] - done.get(task, 0)} more times"
            for task in prescription.tasks if done.get(task, 0) < prescription.dose(task)[1]]
    return HOME_DONE_MESSAGE.format(next=f"Still today: {', '.join(left)}." if left else "Today's practice is done.")
