"""Program: JSON round trip, cited defaults, therapist overrides with an audit record, errors."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from gmi_vr.core.errors import GmiError
from gmi_vr.core.types import Side
from gmi_vr.therapy.plan.program import (
    DEFAULT_SOURCES,
    PROGRAM_FORMAT_VERSION,
    AnswerMapping,
    BodyPart,
    Program,
    ProgramError,
    Stage,
)


def test_defaults_come_from_clinical_md() -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND, age_years=54)
    assert program.progression.accuracy_target == 0.80  # NOI
    assert 0.19 <= program.progression.rt_gap_max_s <= 0.49  # smallest real change range
    assert 5 * 60 <= program.safety.session_cap_s <= 10 * 60  # EPF: 5-10 minute sessions
    assert program.safety.flare_rise == 2
    assert program.stage is Stage.LATERALITY
    assert program.session.rating_at_start and program.session.rating_at_end
    assert program.laterality.answer.hand is Side.RIGHT  # one-handed: the healthy hand
    assert program.blocks == ("laterality", "laterality", "laterality")  # 48 trials per side
    # Every cited path exists and names where it comes from.
    data = program.to_dict()
    for path, source in DEFAULT_SOURCES.items():
        node: Any = data
        for key in path.split("."):
            node = node[key]
        assert source and Program.source_of(path) == source


def test_every_setting_shows_its_source_and_overrides_say_so() -> None:
    program = Program.default(Side.LEFT, BodyPart.BACK_NECK)
    program, _ = program.override("Dr A", "lower ceiling", "2026-03-01T10:00", safety__pain_ceiling=8)
    rows = {path: (value, source) for path, value, source in program.settings_with_sources()}
    assert rows["safety.pain_ceiling"] == (8, "set by hand (the audit trail says who)")
    named = {path: source for path, _, source in program.settings_with_sources({"safety.pain_ceiling": "Dr A"})}
    assert named["safety.pain_ceiling"] == "set by Dr A"
    assert rows["progression.rt_gap_max_s"][0] == 0.19 and "0.19 s" in rows["progression.rt_gap_max_s"][1]
    assert rows["progression.min_span_days"][0] == 7 and "7 days" in rows["progression.min_span_days"][1]
    assert rows["progression.min_trials_per_side"][0] == 40
    assert rows["safety.flare_rise_fraction"] == (0.3, DEFAULT_SOURCES["safety.flare_rise_fraction"])
    assert "extrapolat" in rows["safety.flare_rise"][1]  # Farrar 2001 studied improvement
    assert "product choice" in rows["safety.fms_threshold"][1]
    assert rows["affected_side"][1].startswith("the patient's record")
    assert "overridden" not in rows and "format_version" not in rows


def test_json_round_trip_is_exact() -> None:
    program = Program.default(Side.RIGHT, BodyPart.FOOT, age_years=71)
    program = dataclasses.replace(program, stage=Stage.MIRROR_THERAPY, laterality=dataclasses.replace(
        program.laterality, contexts=("none", "cup"), time_limit_s=None,
        answer=AnswerMapping("one_hand", Side.LEFT, "trigger_click", "primary")))
    text = json.dumps(program.to_dict())
    assert Program.from_dict(json.loads(text)) == program
    assert json.loads(text)["format_version"] == PROGRAM_FORMAT_VERSION


def test_a_version_1_program_takes_the_corrected_gap_unless_the_therapist_set_it() -> None:
    old = Program.default(Side.LEFT, BodyPart.HAND).to_dict()
    old["format_version"] = 1
    old["progression"]["rt_gap_max_s"] = 0.49
    for name in ("rt_gap_max_fraction", "min_trials_per_side", "min_span_days", "fall_sessions"):
        del old["progression"][name]  # fields version 1 did not have
    upgraded = Program.from_dict(old)
    assert upgraded.progression.rt_gap_max_s == 0.19 and upgraded.format_version == PROGRAM_FORMAT_VERSION
    assert upgraded.progression.min_span_days == 7
    old["overridden"] = ["progression.rt_gap_max_s"]
    assert Program.from_dict(old).progression.rt_gap_max_s == 0.49  # the therapist's choice stays


def test_older_documents_missing_new_fields_read_with_defaults() -> None:
    data = {"affected_side": "left", "body_part": "shoulder", "format_version": 1}
    program = Program.from_dict(data)
    assert program.body_part is BodyPart.SHOULDER and program.safety.session_cap_s == 600.0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"stage": 2}, {"stage": Stage.EXPLICIT_IMAGERY}),
        ({"safety.session_cap_s": 480}, {"safety.session_cap_s": 480.0}),
        ({"safety__break_every_s": 120.5}, {"safety.break_every_s": 120.5}),
        ({"progression.accuracy_target": 0.9, "progression.window": 2},
         {"progression.accuracy_target": 0.9, "progression.window": 2}),
        ({"laterality.body_parts": ["foot"]}, {"laterality.body_parts": (BodyPart.FOOT,)}),
        ({"laterality.answer.mode": "one_hand"}, {"laterality.answer.mode": "one_hand"}),
        ({"laterality.time_limit_s": None}, {"laterality.time_limit_s": None}),
        ({"session.blocks": ["laterality"]}, {"session.blocks": ("laterality",)}),
    ],
)
def test_override_changes_settings_and_records_who_why_old_and_new(
    changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    new, record = program.override("Dr. Weber", "patient tires quickly", "2026-11-25T09:30:00", **changes)
    for path, value in expected.items():
        node: Any = new
        for key in path.split("."):
            node = getattr(node, key)
        assert node == value
    paths = sorted(path.replace("__", ".") for path in changes)
    assert record.changed_by == "Dr. Weber" and record.reason == "patient tires quickly"
    assert record.at == "2026-11-25T09:30:00"
    assert sorted(record.old) == paths == sorted(record.new)
    assert set(paths) <= set(new.overridden)
    assert program.overridden == ()  # the original is untouched
    json.dumps(record.to_dict())  # the audit record is JSON-able
    for path in paths:  # the old values are the defaults
        node = program.to_dict()
        for key in path.split("."):
            node = node[key]
        assert record.old[path] == node


@pytest.mark.parametrize(
    ("who", "why", "changes", "message"),
    [
        ("", "x", {"stage": 2}, "who"),
        ("Dr A", " ", {"stage": 2}, "why"),
        ("Dr A", "x", {}, "at least one"),
        ("Dr A", "x", {"safety.nonsense": 1}, "does not exist"),
        ("Dr A", "x", {"stage": 7}, "use one of"),
        ("Dr A", "x", {"safety.session_cap_s": "long"}, "must be a number"),
        ("Dr A", "x", {"safety.session_cap_s": -5}, "positive"),
        ("Dr A", "x", {"safety.flare_rise": 0}, "between 1 and 10"),
        ("Dr A", "x", {"laterality.answer.left_button": "menu"}, "cannot be used"),
        ("Dr A", "x", {"overridden": []}, "cannot be set"),
        ("Dr A", "x", {"age_years": 400}, "not plausible"),
    ],
)
def test_invalid_overrides_are_refused_with_one_sentence(
    who: str, why: str, changes: dict[str, Any], message: str
) -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    with pytest.raises(ProgramError, match=message) as info:
        program.override(who, why, "2026-11-25T09:30:00", **changes)
    assert isinstance(info.value, GmiError)
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")


def test_documents_from_a_newer_version_or_with_unknown_fields_are_refused() -> None:
    data = Program.default(Side.LEFT, BodyPart.HAND).to_dict()
    with pytest.raises(ProgramError, match="newer gmi-vr"):
        Program.from_dict({**data, "format_version": PROGRAM_FORMAT_VERSION + 1})
    # A newer program has settings this gmi-vr does not know: the version is what it says,
    # in one sentence, not "unknown setting".
    with pytest.raises(ProgramError) as info:
        Program.from_dict({**data, "format_version": PROGRAM_FORMAT_VERSION + 1, "colour": "blue"})
    assert str(info.value) == (
        f"This program was written by a newer gmi-vr (program format {PROGRAM_FORMAT_VERSION + 1}, this one "
        f"reads up to {PROGRAM_FORMAT_VERSION}); update gmi-vr on this computer to open it.")
    with pytest.raises(ProgramError, match="not one gmi-vr writes"):
        Program.from_dict({**data, "format_version": "3"})
    with pytest.raises(ProgramError, match="unknown"):
        Program.from_dict({**data, "colour": "blue"})


def test_the_format_version_marks_the_settings_added_since_version_2() -> None:
    # A program with research settings is written as format 3, which a version-2 reader
    # refuses as newer instead of naming 'research' an unknown setting.
    program = Program.default(Side.LEFT, BodyPart.HAND)
    research, _ = program.override("r", "study", "2026-12-01T09:00", research=True)
    assert PROGRAM_FORMAT_VERSION == 3 and research.to_dict()["format_version"] == 3
    old = program.to_dict()
    old["format_version"] = 2
    for name in ("haptics", "hands", "touch", "practice", "research", "feedback"):
        del old[name]  # sections version 2 did not have
    assert Program.from_dict(old) == program


def test_one_handed_mapping_needs_two_different_buttons() -> None:
    with pytest.raises(ProgramError, match="two different buttons"):
        AnswerMapping("one_hand", Side.RIGHT, "primary", "primary")


def test_missing_required_settings_are_named() -> None:
    with pytest.raises(ProgramError, match=r"'program.affected_side' is missing"):
        Program.from_dict({"body_part": "hand"})


@pytest.mark.parametrize(("band", "ok"), [("60-69", True), ("80+", True), ("old", False), ("60", False)])
def test_an_age_band_can_stand_in_for_the_age(band: str, ok: bool) -> None:
    program = Program.default(Side.LEFT, BodyPart.HAND)
    if ok:
        changed, _ = program.override("Dr A", "band only", "2026-03-01T09:00", age_band=band)
        assert Program.from_dict(changed.to_dict()).age_band == band
    else:
        with pytest.raises(ProgramError, match="like 60-69 or 80\\+"):
            program.override("Dr A", "band only", "2026-03-01T09:00", age_band=band)
