"""Mirror therapy as the EPF grades it (look -> both limbs in sync -> provocative, objects,
contexts; the healthy limb alone as an option), targets placed from the patient's calibrated
shoulder and arm length, and the displayed hand's size (CLINICAL.md, mirror therapy grading)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.clinic_store import store_with_patient
from test_stages_frames import ANCHOR as FRAMES_ANCHOR
from test_stages_frames import Motion, records_of, run_for
from test_therapy_frames import RATE_HZ

from gmi_vr.app.patients import patient_program
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.body.calibration import Calibration, arm_reach
from gmi_vr.body.pose import LimbMode
from gmi_vr.body.skeleton import BodyMeasures
from gmi_vr.core.types import Pose, Side
from gmi_vr.therapy.content.stimuli import level_anchor
from gmi_vr.therapy.content.workspace import (
    TYPICAL_ARM,
    calibrated_workspace,
    reflect_across_midline,
    shoulder_position,
    typical_workspace,
)
from gmi_vr.therapy.plan.grading import MIRROR_GRADING, MirrorPhase
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, Stage
from gmi_vr.therapy.results.measures import minimum_jerk
from gmi_vr.therapy.results.stage_records import RepetitionRecord
from gmi_vr.therapy.tasks.base import TaskContext
from gmi_vr.therapy.tasks.motor import HOME_DWELL_S, MotorTask
from gmi_vr.therapy.tasks.registry import build_task
from gmi_vr.therapy.tasks.stages import TaskSequence

ANCHOR = level_anchor(Pose(np.array([0.0, 1.2, 0.0])))


def reach_program(**changes: object) -> Program:
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "t", "test", "2026-01-01", stage=Stage.MIRROR_THERAPY.value,
        **{"mirror.phase": "both", "mirror.tasks": ["reach"], "mirror.grading.repetitions": 6,
           "mirror.grading.complexity": 2, **changes})  # fmt: skip
    return program


def reach_targets(arm_height_m: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(targets (6, 3), home (3,)) of a mirror reach block for a body of that height (None:
    no calibration), seen on the healthy (right) side: the reflection of the shown targets."""
    arm = None if arm_height_m is None else arm_reach(BodyMeasures.from_height(arm_height_m))
    task = build_task("mirror", reach_program(), TaskContext(ANCHOR, 5, 0, None, arm))
    assert isinstance(task, TaskSequence)
    motor = task.part()
    assert isinstance(motor, MotorTask)
    targets = np.array([reflect_across_midline(ANCHOR, p.target) for p in motor.plans])
    return targets, reflect_across_midline(ANCHOR, motor.plans[0].home)


def test_mirror_reach_targets_move_with_the_calibrated_arm_length() -> None:
    short_arm = arm_reach(BodyMeasures.from_height(1.50))
    long_arm = arm_reach(BodyMeasures.from_height(1.90))
    short, short_home = reach_targets(1.50)
    long, long_home = reach_targets(1.90)
    ratio = long_arm.arm_length_m / short_arm.arm_length_m
    # Each target's reach from its start along the table scales with the arm (the same seed
    # gives the same directions); its height above the table is the grading's, in metres.
    short_reach, long_reach = short - short_home, long - long_home
    np.testing.assert_allclose(np.linalg.norm(long_reach[:, [0, 2]], axis=1),
                               ratio * np.linalg.norm(short_reach[:, [0, 2]], axis=1), rtol=1e-9)
    np.testing.assert_allclose(long_reach[:, 1], short_reach[:, 1], atol=1e-12)
    assert (np.linalg.norm(long_reach[:, [0, 2]], axis=1)
            > np.linalg.norm(short_reach[:, [0, 2]], axis=1) + 0.02).all()  # fmt: skip
    # The start lies where the calibrated shoulder puts it: its offset from the shoulder scales too.
    short_shoulder = shoulder_position(ANCHOR, Side.RIGHT, short_arm)
    long_shoulder = shoulder_position(ANCHOR, Side.RIGHT, long_arm)
    np.testing.assert_allclose(long_home - long_shoulder, ratio * (short_home - short_shoulder), atol=1e-9)
    assert not np.allclose(short_shoulder, long_shoulder)
    # An uncalibrated patient gets the typical adult's workspace, which is the average arm's.
    typical, _ = reach_targets(None)
    average, _ = reach_targets(1.70)
    np.testing.assert_allclose(typical, average, atol=1e-9)
    np.testing.assert_allclose(calibrated_workspace(ANCHOR, Side.RIGHT, TYPICAL_ARM).rest,
                               typical_workspace(ANCHOR, Side.RIGHT).rest, atol=1e-12)


def test_targets_stay_on_the_affected_side_for_a_narrow_body() -> None:
    """The midline margin follows the calibrated rest position, not a fixed offset."""
    targets, _ = reach_targets(1.40)
    right = ANCHOR.position + np.array([1.0, 0.0, 0.0])
    assert ((targets - ANCHOR.position) @ (right - ANCHOR.position) > 0.04).all()


def test_the_grading_goes_look_then_both_limbs_and_keeps_healthy_only_as_an_option() -> None:
    assert Program.default(Side.LEFT, BodyPart.HAND).mirror.phase is MirrorPhase.LOOK
    assert [step[1]["mirror.phase"] for step in MIRROR_GRADING] == ["look", "both", "both", "both", "both"]
    program = reach_program()
    for name, changes in MIRROR_GRADING:  # every step is a valid program change
        program, record = program.override("t", name, "2026-01-02", **changes)
        assert set(record.new) == set(changes)
    healthy = reach_program(**{"mirror.phase": "healthy"})
    assert healthy.mirror.phase is MirrorPhase.HEALTHY
    assert isinstance(build_task("mirror", healthy, TaskContext(ANCHOR, 1, 0)), TaskSequence)


@pytest.mark.parametrize("scale", [0.69, 1.01])
def test_the_displayed_hand_is_never_enlarged(scale: float) -> None:
    with pytest.raises(ProgramError, match="never enlarged"):
        Program.default(Side.LEFT, BodyPart.HAND).override("t", "x", "2026-01-01",
                                                           **{"mirror.displayed_hand_scale": scale})


def test_the_session_shows_the_hand_at_the_programs_size_and_places_targets_from_the_calibration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with store_with_patient(tmp_path, monkeypatch, "P-1", therapist="t", reason="minified view",
                            program={"mirror.displayed_hand_scale": 0.8}) as store:
        assert patient_program(store, "P-1").mirror.displayed_hand_scale == 0.8
        calibration = Calibration.uncalibrated(height_m=1.85)
        store.add_calibration("P-1", calibration.to_dict())
    with session_pipeline("P-1", source="sim", seed=1) as pipeline:
        assert pipeline.body_settings.affected_hand_scale == 0.8
        assert pipeline.runner is not None
        assert pipeline.runner.arm == arm_reach(calibration.measures)
        pipeline.ended_by = "test"


def test_both_hands_sync_error_comes_from_hand_tracking_when_the_affected_hand_holds_no_controller() -> None:
    """A CRPS hand may not hold a controller: hand tracking's palm stands in for its grip."""
    program = reach_program(**{"mirror.grading.repetitions": 1, "mirror.grading.complexity": 1})
    motion = Motion(Side.LEFT, LimbMode.MIRROR)
    task = build_task("mirror", program, TaskContext(FRAMES_ANCHOR, 11, 0))
    assert isinstance(task, TaskSequence)
    log = [task.update(*motion.frame())]
    motor = task.current
    assert isinstance(motor, MotorTask)
    plan = motor.plans[0]
    offset = np.array([0.0, 0.0, 0.04])  # the real left hand 4 cm behind its mirror image
    joints = np.zeros((26, 7))
    joints[:, 6] = 1.0
    seen = np.zeros(26, dtype=bool)
    seen[0] = True  # only the palm is needed

    def track_left(position: np.ndarray) -> None:
        joints[0, :3] = position
        motion.script.set(Side.LEFT, joints=joints.copy(), joints_valid=seen.copy())

    motion.place(Side.LEFT, None)  # no controller in the affected hand
    motion.place(Side.RIGHT, reflect_across_midline(FRAMES_ANCHOR, plan.home))
    track_left(plan.home + offset)
    run_for(motion, task.update, HOME_DWELL_S + 0.1, log)
    source = reflect_across_midline(FRAMES_ANCHOR, plan.home)
    goal = reflect_across_midline(FRAMES_ANCHOR, plan.target)
    for i in range(1, int(1.2 * RATE_HZ) + 1):
        motion.place(Side.RIGHT, minimum_jerk(source, goal, np.array([i / (1.2 * RATE_HZ)]))[0])
        shown = motion.displayed()
        assert shown is not None
        track_left(shown + offset)
        log.append(task.update(*motion.frame()))
    track_left(plan.target + offset)
    run_for(motion, task.update, 1.0, log)
    (record,) = records_of(log, RepetitionRecord)
    assert record.phase == "both" and record.completed
    assert record.sync_error_m == pytest.approx(0.04)
