"""The task registry: one explicit table of the kinds a session plan may name, the same
whatever was imported before it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_stages_frames import ANCHOR

from gmi_vr.core.types import Side
from gmi_vr.therapy.plan.grading import STAGE_BLOCKS
from gmi_vr.therapy.plan.home_sitting import HOME_BLOCKS
from gmi_vr.therapy.plan.program import BodyPart, Program, Stage, default_blocks
from gmi_vr.therapy.tasks.base import Task, TaskContext
from gmi_vr.therapy.tasks.registry import TASK_BUILDERS, build_task

#: Every kind a plan of this version can name, with the stage its program is set to.
KINDS = {
    "laterality": 1, "imagery": 2, "mirror": 3, "mirror_box": 3, "graded_movement": 4,
    "range_of_motion": 4, "touch": 3,
}


def test_the_table_names_every_block_a_program_or_a_home_sitting_plans() -> None:
    planned = {block for stage in Stage for block in default_blocks(stage)}
    planned |= {block for blocks in STAGE_BLOCKS.values() for block in blocks}
    planned |= set(HOME_BLOCKS.values())
    assert planned <= set(TASK_BUILDERS)
    assert set(TASK_BUILDERS) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_builds_a_task_from_the_program(kind: str) -> None:
    program, _ = Program.default(Side.LEFT, BodyPart.HAND).override(
        "t", "x", "2026-01-01T10:00:00", stage=KINDS[kind])
    task = build_task(kind, program, TaskContext(ANCHOR, 7, 0))
    assert isinstance(task, Task)


def test_importing_only_the_registry_gives_every_kind_and_importing_tasks_adds_none() -> None:
    """In a fresh interpreter: what a plan can run does not depend on which task modules
    someone imported first (no task registers itself as a side effect of an import)."""
    script = (
        "import json, importlib\n"
        "from gmi_vr.therapy.tasks.registry import TASK_BUILDERS\n"
        "first = sorted(TASK_BUILDERS)\n"
        "for name in ('laterality', 'imagery', 'mirror_box', 'stages', 'touch_task', 'rom',"
        " 'motor', 'rating', 'checks'):\n"
        "    importlib.import_module('gmi_vr.therapy.tasks.' + name)\n"
        "import gmi_vr.therapy, gmi_vr.therapy.runner\n"
        "print(json.dumps([first, sorted(TASK_BUILDERS)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    first, after = json.loads(out.stdout)
    assert first == after == sorted(KINDS)
