"""Stage-2/3/4 settings in the program, the movement library, scene contexts and readable
headset text."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_stages_frames import ANCHOR, Motion
from test_therapy_frames import RATE_HZ

from gmi_vr.body.pose import LimbMode
from gmi_vr.core.types import Side
from gmi_vr.therapy.content.contexts import (
    CONTEXTS,
    MIN_TEXT_ANGLE_RAD,
    context_scene,
    text_angle_rad,
)
from gmi_vr.therapy.content.movements import LIBRARY, movement_by_name, movements_for
from gmi_vr.therapy.content.workspace import WORK_SURFACE_DROP_M
from gmi_vr.therapy.plan.grading import MirrorPhase, MotorKind
from gmi_vr.therapy.plan.program import BodyPart, Program, ProgramError, Stage
from gmi_vr.therapy.tasks.base import TaskContext, TaskStep
from gmi_vr.therapy.tasks.registry import build_task


def test_stage_settings_round_trip_through_json_and_overrides_are_audited() -> None:
    program = Program.default(Side.RIGHT, BodyPart.HAND)
    changed, audit = program.override(
        "dr k", "patient ready to move", "2026-02-01T10:00:00", stage=Stage.MIRROR_THERAPY.value,
        **{"mirror.phase": "both", "mirror.tasks": ["reach", "grasp"],
           "mirror.grading.complexity": 2, "mirror.context": "garden",
           "imagery.max_level": 2, "movement.blend": 0.5})
    assert changed.mirror.phase is MirrorPhase.BOTH
    assert changed.mirror.tasks == (MotorKind.REACH, MotorKind.GRASP)
    assert changed.movement.limb_mode is LimbMode.BLEND
    assert audit.old["mirror.phase"] == "look" and audit.new["mirror.phase"] == "both"
    again = Program.from_dict(json.loads(json.dumps(changed.to_dict())))
    assert again == changed


def test_a_stored_program_without_stage_settings_reads_with_the_cited_defaults() -> None:
    data = Program.default(Side.LEFT, BodyPart.FOOT).to_dict()
    for key in ("imagery", "mirror", "movement"):
        del data[key]
    program = Program.from_dict(data)
    assert program.mirror.phase is MirrorPhase.LOOK
    assert program.imagery.max_level == 1


@pytest.mark.parametrize(("path", "value", "message"), [
    ("mirror.grading.complexity", 4, "Complexity"),
    ("mirror.grading.repetitions", 0, "repetitions"),
    ("mirror.phase", "wave", "mirror.phase"),
    ("imagery.max_level", 0, "imagery level"),
    ("mirror.context", "garden", None),
])
def test_invalid_grading_is_refused_with_a_sentence(path: str, value: object, message: str | None) -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    if message is None:
        program.override("t", "ok", "2026", **{path: value})
        return
    with pytest.raises(ProgramError, match=message):
        program.override("t", "bad", "2026", **{path: value})


def test_an_unknown_context_or_movement_says_which_exist() -> None:
    with pytest.raises(ProgramError, match="garden"):
        context_scene("beach", ANCHOR)
    with pytest.raises(ProgramError, match="wrist_flexion"):
        movement_by_name("cartwheel")


@pytest.mark.parametrize("part", list(BodyPart))
def test_every_body_part_has_movements_ordered_from_easy_to_provocative(part: BodyPart) -> None:
    movements = LIBRARY[part]
    assert len(movements) >= 4
    levels = [m.level for m in movements]
    assert levels == sorted(levels) and levels[0] == 1 and levels[-1] == 3
    assert movements_for(part, 1) == tuple(m for m in movements if m.level == 1)
    for movement in movements:
        assert 2.0 <= movement.duration_s <= 6.0
        times = [k[0] for k in movement.keyframes]
        assert times[0] == 0.0 and times[-1] == 1.0 and times == sorted(times)
        for side in Side:
            # Movements start and end at rest.
            np.testing.assert_allclose(movement.demo_from_mesh(side, 0.0),
                                       movement.demo_from_mesh(side, 1.0), atol=1e-9)
            rotation = movement.demo_from_mesh(side, 0.4)[:3, :3]
            assert np.isclose(np.linalg.det(rotation), 1.0)


def test_the_right_side_demonstration_is_the_reflection_of_the_left() -> None:
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    for movements in LIBRARY.values():
        for movement in movements:
            for fraction in (0.2, 0.5, 0.7):
                left = movement.demo_from_mesh(Side.LEFT, fraction)
                right = movement.demo_from_mesh(Side.RIGHT, fraction)
                np.testing.assert_allclose(right, flip @ left @ flip, atol=1e-9)


def test_the_library_covers_the_issue_movements() -> None:
    names = {m.name for ms in LIBRARY.values() for m in ms}
    assert {"wrist_flexion", "wrist_extension", "finger_tapping", "reach_forward", "grasp_cup",
            "ankle_dorsiflexion", "ankle_plantarflexion", "shoulder_shrug"} <= names


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_contexts_put_the_work_surface_under_the_targets(name: str) -> None:
    scene = context_scene(name, ANCHOR)
    if name == "clinic":
        assert scene.meshes == ()  # the app's clinic room
        return
    surface_y = ANCHOR.position[1] - WORK_SURFACE_DROP_M
    tops = [m.world_from_mesh[1, 3] + m.world_from_mesh[1, 1] / 2 for m in scene.meshes
            if m.mesh == "box"]
    assert any(abs(top - surface_y) < 1e-9 for top in tops)
    assert scene.clear_color != (0.55, 0.65, 0.75, 1.0)


@pytest.mark.parametrize(("stage", "block"), [
    (Stage.EXPLICIT_IMAGERY, "imagery"), (Stage.MIRROR_THERAPY, "mirror"),
    (Stage.GRADED_MOVEMENT, "graded_movement"),
])
@pytest.mark.parametrize("context", ["clinic", "kitchen", "garden"])
def test_every_text_the_stage_tasks_show_is_readable_in_the_headset(
        stage: Stage, block: str, context: str) -> None:
    """At least a 0.04 m line at 0.6 m (about 3.8 degrees) from the eyes."""
    section = {"imagery": "imagery", "mirror": "mirror", "graded_movement": "movement"}[block]
    changes = {"stage": stage.value, f"{section}.context": context}
    if block == "mirror":
        changes["mirror.phase"] = "healthy"
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override("t", "x", "2026", **changes)
    task = build_task(block, program, TaskContext(ANCHOR, 2, 0))
    motion = Motion(Side.LEFT, LimbMode.REAL)
    motion.place(Side.LEFT, ANCHOR.position + np.array([-0.18, -0.45, -0.3]))
    motion.place(Side.RIGHT, ANCHOR.position + np.array([0.18, -0.45, -0.3]))
    steps: list[TaskStep] = [task.update(*motion.frame()) for _ in range(int(3 * RATE_HZ))]
    texts = [t for s in steps for t in s.draw.texts]
    assert texts
    for item in texts:
        assert text_angle_rad(item, ANCHOR.position) >= MIN_TEXT_ANGLE_RAD - 1e-9, item.text
    if context != "clinic":
        assert any(s.draw.clear_color == context_scene(context, ANCHOR).clear_color for s in steps)


def test_stage_records_become_session_store_rows_with_json_measures() -> None:
    from dataclasses import fields

    from gmi_vr.app.record_rows import stored_row
    from gmi_vr.recording.rows import StoredRepetition, StoredTrial
    from gmi_vr.therapy.results.stage_records import (
        ImageryRecord,
        ObservationRecord,
        RangeOfMotionRecord,
        RepetitionRecord,
        VividnessRecord,
    )

    repetition = RepetitionRecord(
        block_index=1, task="reach", repetition_index=2, stage=3, phase="healthy",
        limb_mode="mirror", blend=0.0, side="left", target=(0.1, 0.8, -0.4), range_fraction=0.6,
        pace_s=3.0, complexity=1, shown_at_s=10.0, completed_at_s=12.0, completed=True,
        timed_out=False, onset_s=10.5, end_s=11.7, duration_s=1.2, path_length_m=0.3,
        peak_speed_m_s=0.5, sparc=-1.5, ldlj=-5.4, target_error_m=0.01)
    row = stored_row(repetition)
    assert isinstance(row, StoredRepetition) and row.measures is not None
    assert (row.onset_s, row.duration_s) == (10.5, 1.2)
    assert row.measures["path_length_m"] == 0.3 and row.measures["target"] == [0.1, 0.8, -0.4]
    json.dumps(row.measures)
    imagery = ImageryRecord(0, 0, "wrist_flexion", "hand", "left", 2, 3.0, 5.0, 9.0, 12.5, 3.5,
                            3.5 / 3.0, "right.trigger_click", "input", False)
    others = [imagery, VividnessRecord(0, 20.0, 4, "patient"),
              RangeOfMotionRecord(0, "right", "up", 0.2, (0.0, 0.8, -0.3), 1.0, 4.0, "time_limit"),
              ObservationRecord(0, 1.0, 61.0, 60.0, True)]
    rows = [stored_row(record) for record in others]
    for record, row in zip(others, rows, strict=True):
        assert isinstance(row, StoredTrial) and row.measures is not None
        assert row.kind == record.record_kind and isinstance(row.onset_s, float)
        stored = {f.name for f in fields(record)} - {"body_part", "side"}
        assert stored <= set(row.measures)
        json.dumps(row.measures)
    assert isinstance(rows[0], StoredTrial) and rows[0].body_part == "hand"
    assert rows[0].measures is not None and rows[0].measures["ratio"] == pytest.approx(3.5 / 3.0)


def test_without_the_hand_model_the_ghost_is_a_translucent_primitive_figure() -> None:
    from gmi_vr.therapy.tasks.imagery import GHOST_COLOR, ImageryTask

    program, _ = Program.default(Side.RIGHT, BodyPart.HAND).override(
        "t", "x", "2026", stage=2, **{"imagery.movements": ["reach_forward"]})
    task = ImageryTask(program, TaskContext(ANCHOR, 1, 0, available_meshes=frozenset()))
    motion = Motion(Side.RIGHT, LimbMode.STILL)
    steps = [task.update(*motion.frame()) for _ in range(int(RATE_HZ))]
    ghost = [m for s in steps for m in s.draw.meshes if m.color == GHOST_COLOR]
    assert ghost and all(not m.mesh.startswith("stimuli/") for m in ghost)
