"""Balanced randomised laterality sequences (property tests) and the stimulus registry."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmi_vr.core.types import Side
from gmi_vr.therapy.content.stimuli import CONTEXT_PROPS, PARTS, balanced_sequence, stimulus_cells
from gmi_vr.therapy.plan.program import BodyPart, LateralitySettings, ProgramError

parts = st.lists(st.sampled_from(list(BodyPart)), min_size=1, max_size=3, unique=True)
rotations = st.lists(st.sampled_from([0, 45, 90, 135, 180, 225, 270, 315]), min_size=1,
                     max_size=8, unique=True)
contexts = st.lists(st.sampled_from(sorted(CONTEXT_PROPS)), min_size=1, max_size=2, unique=True)


@settings(max_examples=200, deadline=None)
@given(parts=parts, rotations=rotations, contexts=contexts, repeats=st.integers(1, 4),
       seed=st.integers(0, 2**63 - 1))
def test_every_combination_appears_equally_often(parts: list[BodyPart], rotations: list[int],
                                                 contexts: list[str], repeats: int, seed: int) -> None:
    cell_count = sum(2 * len(rotations) * len(PARTS[p].views) * len(contexts) for p in parts)
    block = LateralitySettings(body_parts=tuple(parts), rotations_deg=tuple(rotations),
                               contexts=tuple(contexts), trials_per_block=cell_count * repeats)
    sequence = balanced_sequence(block, BodyPart.HAND, seed)
    assert len(sequence) == cell_count * repeats
    counts = Counter(sequence)
    assert len(counts) == cell_count and set(counts.values()) == {repeats}
    # hence balanced by side, by rotation and by view within each part
    assert Counter(s.side for s in sequence)[Side.LEFT] == len(sequence) // 2
    for part in parts:
        of_part = [s for s in sequence if s.part is part]
        assert len({Counter(s.rotation_deg for s in of_part)[r] for r in rotations}) == 1
        assert len({Counter(s.view for s in of_part)[v] for v in PARTS[part].views}) == 1


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**63 - 1))
def test_the_recorded_seed_reproduces_the_block(seed: int) -> None:
    block = LateralitySettings()
    assert balanced_sequence(block, BodyPart.FOOT, seed) == balanced_sequence(block, BodyPart.FOOT, seed)


def test_different_seeds_give_different_orders() -> None:
    block = LateralitySettings()
    orders = {tuple(balanced_sequence(block, BodyPart.HAND, seed)) for seed in range(20)}
    assert len(orders) == 20


def test_default_block_is_the_affected_part_with_its_own_views() -> None:
    cells = stimulus_cells(LateralitySettings(), BodyPart.FOOT)
    assert {c.view for c in cells} == {"top", "sole"} and {c.part for c in cells} == {BodyPart.FOOT}
    assert len(cells) == 16


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (LateralitySettings(trials_per_block=30), "multiple of 16"),
        (LateralitySettings(views=("sole",)), "no 'sole' view"),
        (LateralitySettings(contexts=("umbrella",)), "unknown"),
    ],
)
def test_unbalanceable_blocks_are_refused(block: LateralitySettings, message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        balanced_sequence(block, BodyPart.HAND, 1)


def test_registry_names_a_shipped_left_and_right_mesh_for_every_part() -> None:
    from gmi_vr.assets.locations import model_path

    for part in BodyPart:
        stimuli = PARTS[part]
        left, right = stimuli.mesh(Side.LEFT, False)[0], stimuli.mesh(Side.RIGHT, False)[0]
        assert left.startswith("stimuli/") and left.endswith("_left")
        assert right == left.removesuffix("_left") + "_right"
        assert stimuli.mesh(Side.RIGHT, True) == (left, True)
        assert len(stimuli.views) == 2
        assert model_path(left).is_file() and model_path(right).is_file()
