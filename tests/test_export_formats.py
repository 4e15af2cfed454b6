"""Exports of a recorded session through the real validators: bids-validator-deno for
Motion-BIDS, fhir.resources for the FHIR Bundle; and the CSV tables read back."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fhir.resources.bundle import Bundle
from recording_synth import PROFILE, body, frame

from gmi_vr.core.errors import GmiError
from gmi_vr.core.events import Event
from gmi_vr.recording.export import export_session
from gmi_vr.recording.records import PatientInfo, TrialRecord
from gmi_vr.recording.store import SessionStore

#: Warnings about what gmi-vr cannot know (the clinic, the dataset's authors and licence,
#: device serial numbers); every other warning is a defect of the export.
UNKNOWABLE = {
    ("SIDECAR_KEY_RECOMMENDED", "DeviceSerialNumber"),
    ("SIDECAR_KEY_RECOMMENDED", "InstitutionName"),
    ("SIDECAR_KEY_RECOMMENDED", "InstitutionAddress"),
    ("SIDECAR_KEY_RECOMMENDED", "InstitutionalDepartmentName"),
    ("JSON_KEY_RECOMMENDED", "License"),
    ("JSON_KEY_RECOMMENDED", "HEDVersion"),
    ("JSON_KEY_RECOMMENDED", "SourceDatasets"),
    ("NO_AUTHORS", "Authors"),
    ("TOO_FEW_AUTHORS", None),
}


def _record(store: SessionStore, patient: str, frames: int, hands: bool, invalid_left_from: int | None = None) -> int:
    recorder = store.start_session(
        patient, source="test", runtime_name="Monado", system_name="Monado: Simulated HMD", display_hz=90.0
    )
    recorder.record_rating(6, "before")
    block = recorder.begin_block("laterality", frame(0).time_s)
    for i in range(frames):
        f = frame(i, hands=hands, profile=PROFILE)
        if invalid_left_from is not None and i >= invalid_left_from:
            from dataclasses import replace

            f = replace(f, left=replace(f.left, grip_valid=False))
        recorder.record_frame(f, body(i))
        if i % 30 == 10:
            answered = i % 60 != 10
            recorder.record_trial(TrialRecord(
                onset_s=f.time_s, body_part="hand", side="left" if i % 90 else "right",
                rotation_deg=float(i % 360), view="back", answer="left" if answered else None,
                correct=answered or None, reaction_time_s=1.3 if answered else None,
            ))  # fmt: skip
    recorder.record_event(Event(frame(frames // 2).time_s, "safety.flare", {"rating": 7}))
    recorder.record_rating(5, "during", time_s=frame(frames // 2).time_s)
    recorder.end_block(block, frame(frames - 1).time_s)
    recorder.record_rating(4, "after")
    recorder.finish()
    return recorder.session_id  # type: ignore[return-value]


@pytest.fixture
def store(tmp_path: Path):
    with SessionStore.open(tmp_path / "data") as s:
        s.add_patient(PatientInfo("P-0007", "left", "hand", birth_year=1968))
        s.add_patient(PatientInfo("P-0008", "right", "foot", age_band="60-69"))
        yield s


def _validator() -> list[str]:
    exe = Path(sys.executable).with_name("bids-validator-deno")
    found = str(exe) if exe.exists() else shutil.which("bids-validator-deno")
    assert found, "bids-validator-deno is a dev dependency (pyproject.toml): run tools/setup"
    return [found]


def _validate(root: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [*_validator(), "--format", "json", "--max-rows", "-1", str(root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.stdout, done.stderr
    return json.loads(done.stdout)["issues"]["issues"]


def test_bids_export_passes_the_official_validator(store: SessionStore, tmp_path: Path) -> None:
    first = _record(store, "P-0007", 270, hands=True, invalid_left_from=200)
    second = _record(store, "P-0008", 120, hands=False)
    root = tmp_path / "bids"
    files = export_session(store, first, "bids", root)
    files += export_session(store, second, "bids", root)
    assert all(f.exists() for f in files)

    issues = _validate(root)
    errors = [i for i in issues if i["severity"] == "error"]
    assert errors == []
    warnings = {(i["code"], i.get("subCode")) for i in issues if i["severity"] == "warning"}
    assert warnings <= UNKNOWABLE, warnings - UNKNOWABLE

    motion = root / "sub-P0007" / "ses-001" / "motion"
    systems = sorted(p.name.split("tracksys-")[1].split("_")[0] for p in motion.glob("*_motion.tsv"))
    assert systems == ["hmd", "leftcontroller", "lefthand", "rightcontroller", "righthand"]
    no_hands = root / "sub-P0008" / "ses-002" / "motion"
    assert sorted(p.name.split("tracksys-")[1].split("_")[0] for p in no_hands.glob("*_motion.tsv")) == [
        "hmd", "leftcontroller", "rightcontroller"]  # fmt: skip

    stem = "sub-P0007_ses-001_task-gmi_tracksys-"
    hmd = np.genfromtxt(motion / f"{stem}hmd_motion.tsv", delimiter="\t", missing_values="n/a")
    assert hmd.shape == (270, 8)  # no header: latency + 7 pose channels
    np.testing.assert_allclose(hmd[:, 0], (np.arange(270) / 90.0), atol=1e-6)
    np.testing.assert_allclose(hmd[100, 1:4], frame(100).head.position, atol=1e-6)
    sidecar = json.loads((motion / f"{stem}hmd_motion.json").read_text())
    assert sidecar["SamplingFrequency"] == pytest.approx(90.0)
    assert sidecar["MotionChannelCount"] == 8 and sidecar["Manufacturer"] == "Monado"
    assert sidecar["ManufacturersModelName"] == "Monado: Simulated HMD"
    controller = json.loads((motion / f"{stem}rightcontroller_motion.json").read_text())
    assert controller["ManufacturersModelName"] == PROFILE
    assert sidecar["RecordingDuration"] == pytest.approx(269 / 90, abs=1e-6)
    with (motion / f"{stem}leftcontroller_channels.tsv").open() as f:
        channels = list(csv.DictReader(f, delimiter="\t"))
    left = np.genfromtxt(motion / f"{stem}leftcontroller_motion.tsv", delimiter="\t", missing_values="n/a")
    assert left.shape[1] == len(channels)
    grip_x = [c["name"] for c in channels].index("left_grip_x")
    assert np.isnan(left[200:, grip_x]).all() and not np.isnan(left[:200, grip_x]).any()  # invalid -> n/a
    hand = np.genfromtxt(motion / f"{stem}lefthand_motion.tsv", delimiter="\t", missing_values="n/a")
    assert hand.shape == (270, 1 + 26 * 7)

    with (motion / "sub-P0007_ses-001_task-gmi_events.tsv").open() as f:
        events = list(csv.DictReader(f, delimiter="\t"))
    laterality = [e for e in events if e["trial_type"] == "laterality"]
    assert len(laterality) == 9
    assert laterality[0]["response_time"] == "n/a" and laterality[1]["response_time"] == "1.3"
    assert {e["trial_type"] for e in events} >= {"stage", "laterality", "pain_rating", "safety_flare"}
    with (root / "participants.tsv").open() as f:
        assert [r["participant_id"] for r in csv.DictReader(f, delimiter="\t")] == ["sub-P0007", "sub-P0008"]
    with (root / "sub-P0007" / "sub-P0007_sessions.tsv").open() as f:
        (row,) = list(csv.DictReader(f, delimiter="\t"))
    assert (row["session_id"], row["pain_before"], row["pain_after"], row["status"]) == ("ses-001", "6", "4", "completed")


def test_bids_validator_would_catch_a_broken_export(store: SessionStore, tmp_path: Path) -> None:
    """The validator run above is not a formality: a required field removed is an error."""
    session = _record(store, "P-0007", 90, hands=False)
    root = tmp_path / "bids"
    export_session(store, session, "bids", root)
    sidecar = root / "sub-P0007" / "ses-001" / "motion" / "sub-P0007_ses-001_task-gmi_tracksys-hmd_motion.json"
    data = json.loads(sidecar.read_text())
    del data["SamplingFrequency"]
    sidecar.write_text(json.dumps(data))
    assert any(i["severity"] == "error" for i in _validate(root))


def test_fhir_export_is_a_valid_bundle_of_pain_observations(store: SessionStore, tmp_path: Path) -> None:
    session = _record(store, "P-0007", 30, hands=False)
    (path,) = export_session(store, session, "fhir", tmp_path / "fhir")
    bundle = Bundle.model_validate_json(path.read_text())
    assert bundle.type == "collection"
    observations = [e.resource for e in bundle.entry]
    assert [o.valueInteger for o in observations] == [6, 5, 4]
    for o in observations:
        assert o.get_resource_type() == "Observation" and o.status == "final"
        assert (o.code.coding[0].system, o.code.coding[0].code) == ("http://loinc.org", "72514-3")
        assert o.subject.identifier.value == "P-0007"
        assert o.effectiveDateTime is not None
    assert "before" in observations[0].note[0].text and "after" in observations[2].note[0].text
    raw = json.loads(path.read_text())
    raw["entry"][0]["resource"]["valueInteger"] = "six"
    with pytest.raises(ValueError):
        Bundle.model_validate(raw)


def test_csv_export_is_tidy_tables(store: SessionStore, tmp_path: Path) -> None:
    session = _record(store, "P-0007", 90, hands=True)
    files = {p.name.split("_")[1]: p for p in export_session(store, session, "csv", tmp_path / "csv")}
    assert set(files) == {"trials.csv", "ratings.csv", "events.csv", "blocks.csv", "motion.csv"}
    with files["trials.csv"].open() as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 3 and trials[1]["reaction_time_s"] == "1.3" and trials[0]["answer"] == ""
    with files["ratings.csv"].open() as f:
        assert [(r["phase"], r["value"]) for r in csv.DictReader(f)] == [("before", "6"), ("during", "5"), ("after", "4")]
    with files["motion.csv"].open() as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    assert len(rows) == 90 and header[:3] == ["frame", "time_ns", "time_s"]
    assert int(rows[45][1]) == frame(45).time_ns
    assert float(rows[45][header.index("right.index_tip.px")]) == pytest.approx(frame(45).right.joints[10, 0], abs=1e-6)


def test_export_errors_are_one_sentence(store: SessionStore, tmp_path: Path) -> None:
    empty = store.start_session("P-0007", source="test")
    empty.finish()
    with pytest.raises(GmiError, match="no recorded motion"):
        export_session(store, empty.session_id, "bids", tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(GmiError, match="Unknown export format"):
        export_session(store, empty.session_id, "xlsx", tmp_path / "x")  # type: ignore[arg-type]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(GmiError, match="Cannot write the export"):
        export_session(store, empty.session_id, "fhir", blocker / "sub")  # type: ignore[arg-type]
