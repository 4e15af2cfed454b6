"""Practice between visits, on a laptop at home: which of the program's tasks a desktop
sitting runs and how much of each (CLINICAL.md "Practice between visits": GMI's effect came
with frequent home practice; laterality and imagery work on any screen).

``home_program(program)`` is the patient's own program with the plan and the safety rules a
sitting without a headset needs; the session runner then runs it as in the clinic, scored by
the same code, with the same pain ratings before and after and the same pain-flare rule.
"""

from __future__ import annotations

import dataclasses

from gmi_vr.therapy.program import Program, Stage

#: What one home sitting practises at each stage: only what the program's stage allows (a
#: patient at the laterality stage practises laterality), and what a screen can guide.
#: Stage 1: one laterality block (32 pictures, about 2 minutes: ``LateralitySettings``),
#: every waking 1-2 hours (CLINICAL.md "Practice between visits"). Stage 2 adds an imagery
#: block (the ghost demonstration played on screen). Stages 3 and 4: a guided mirror-box
#: practice (``mirror_box.MIRROR_BOX_S``; CLINICAL.md: mirror 3-10 short sessions a day) after
#: the laterality re-check the clinic's plans keep (CLINICAL.md: "re-check laterality");
#: graded real movement needs tracking, so at home stage 4 keeps the mirror box.
HOME_BLOCKS: dict[Stage, tuple[str, ...]] = {
    Stage.LATERALITY: ("laterality",),
    Stage.EXPLICIT_IMAGERY: ("laterality", "imagery"),
    Stage.MIRROR_THERAPY: ("laterality", "mirror_box"),
    Stage.GRADED_MOVEMENT: ("laterality", "mirror_box"),
}

#: How often to sit down to practise, for the window's closing line (CLINICAL.md "Practice
#: between visits").
HOME_FREQUENCY: dict[Stage, str] = {
    Stage.LATERALITY: "every waking 1-2 hours",
    Stage.EXPLICIT_IMAGERY: "every waking 1-2 hours",
    Stage.MIRROR_THERAPY: "3-10 short sittings a day",
    Stage.GRADED_MOVEMENT: "3-10 short sittings a day",
}

HOME_CALM_MESSAGE = ("Let's pause here.\nBreathe slowly and rest.\n"
                     "If the pain stays up, tell your therapist.")
HOME_DONE_MESSAGE = "Practice complete. Well done.\nNext sitting: {frequency}."


def home_program(program: Program) -> Program:
    """``program`` for one desktop sitting at home: the blocks of ``HOME_BLOCKS`` for its
    stage, and the headset-only safety steps off. The sickness scale is a headset's
    (CLINICAL.md: FMS "asked every minute in the headset"); the stop hint names the
    controllers' grip (the window shows its own keys instead). Everything else, the pain
    ratings and the flare rule included, is the patient's program as the therapist set it."""
    return dataclasses.replace(
        program,
        session=dataclasses.replace(program.session, blocks=HOME_BLOCKS[program.stage]),
        safety=dataclasses.replace(program.safety, fms_every_s=0.0, stop_hint_s=0.0),
    )


def home_done_message(program: Program) -> str:
    """What the screen says when a home sitting is complete: when to practise next."""
    return HOME_DONE_MESSAGE.format(frequency=HOME_FREQUENCY[program.stage])
