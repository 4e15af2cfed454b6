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

from gmi_vr.app.patients import rename_patient
from gmi_vr.body import LimbMode
from gmi_vr.core.errors import GmiError
from gmi_vr.core.events import Event
from gmi_vr.core.types import FrameTiming
from gmi_vr.recording.export import ExportError, export_session, export_study, plan_study
from gmi_vr.recording.identity import band_of_birth_year
from gmi_vr.recording.rows import PatientInfo, StoredRepetition, StoredTrial
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


def _record(store: SessionStore, patient: str, frames: int, hands: bool, invalid_left_from: int | None = None,
            mode: str = "headset") -> int:
    recorder = store.start_session(
        patient, source="test", runtime_name="Monado", system_name="Monado: Simulated HMD", display_hz=90.0, mode=mode
    )
    recorder.record_rating(6, "before")
    block = recorder.begin_block("laterality", frame(0).time_s)
    for i in range(frames):
        f = frame(i, hands=hands, profile=PROFILE)
        if invalid_left_from is not None and i >= invalid_left_from:
            from dataclasses import replace

            f = replace(f, left=replace(f.left, grip_valid=False))
        # Submitted 12 ms before its display; the last ten frames' submission unknown.
        timing = FrameTiming(f.time_ns, f.time_ns, f.time_ns - 12_000_000 if i < frames - 10 else None, 0.0)
        recorder.record_frame(f, body(i), timing)
        if i % 30 == 10:
            answered = i % 60 != 10
            recorder.record_trial(StoredTrial(
                onset_s=f.time_s, body_part="hand", side="left" if i % 90 else "right",
                rotation_deg=float(i % 360), view="back", answer="left" if answered else None,
                correct=answered or None, reaction_time_s=1.3 if answered else None,
            ))  # fmt: skip
    recorder.record_event(Event(frame(frames // 2).time_s, "safety.flare", {"rating": 7}))
    recorder.record_event(Event(frame(frames // 3).time_s, "haptic.pulse", {
        "side": "right", "duration_s": 0.05, "amplitude": 0.5, "cause": "trial.answer", "controller": True}))
    # How the affected limb was shown: the task's mode, the therapist's blend and hand size,
    # a research condition and the live mirror again (app.pipeline records these events).
    recorder.record_event(Event(frame(1).time_s, "body.mode", {"mode": "mirror", "blend": 0.0}))
    recorder.record_event(Event(frame(frames // 4).time_s, "body.mode", {"mode": "blend", "blend": 0.25, "by": "therapist"}))
    recorder.record_event(Event(frame(frames // 4 + 1).time_s, "body.hand_scale", {"scale": 0.9, "by": "therapist"}))
    recorder.record_event(Event(frame(frames // 5).time_s, "body.feedback", {
        "feedback": "delayed", "feedback_delay_ms": 250.0, "block_index": 0}))
    recorder.record_event(Event(frame(frames // 5 + 2).time_s, "body.feedback", {
        "feedback": "mirror", "feedback_delay_ms": 0.0, "block_index": None}))
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
    second = _record(store, "P-0008", 120, hands=False, mode="desktop")  # on the desktop simulator
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

    # A desktop session's poses are no one's tracked movement, and its sidecars say so.
    headset_hmd = json.loads((motion / "sub-P0007_ses-001_task-gmi_tracksys-hmd_motion.json").read_text())
    desktop_hmd = json.loads((no_hands / "sub-P0008_ses-002_task-gmi_tracksys-hmd_motion.json").read_text())
    assert "in virtual reality" in headset_hmd["TaskDescription"] and "desktop" not in headset_hmd["TaskDescription"]
    assert headset_hmd["TrackingSystemName"] == "Head-mounted display"
    assert "on a desktop screen, without a headset" in desktop_hmd["TaskDescription"]
    assert "not tracked movement" in desktop_hmd["TaskDescription"]
    assert desktop_hmd["TrackingSystemName"] == "Head-mounted display (stood in for on a desktop: not tracked)"
    with (root / "sub-P0008" / "sub-P0008_sessions.tsv").open() as f:
        assert [r["mode"] for r in csv.DictReader(f, delimiter="\t")] == ["desktop"]

    stem = "sub-P0007_ses-001_task-gmi_tracksys-"
    hmd = np.genfromtxt(motion / f"{stem}hmd_motion.tsv", delimiter="\t", missing_values="n/a")
    assert hmd.shape == (270, 11)  # no header: latency + 7 pose channels + 3 display timing channels
    np.testing.assert_allclose(hmd[:, 0], (np.arange(270) / 90.0), atol=1e-6)
    np.testing.assert_allclose(hmd[100, 1:4], frame(100).head.position, atol=1e-6)
    with (motion / f"{stem}hmd_channels.tsv").open() as f:
        hmd_channels = list(csv.DictReader(f, delimiter="\t"))
    assert [(c["name"], c["type"], c["units"]) for c in hmd_channels[8:]] == [
        ("timing_pose_to_display_s", "MISC", "s"), ("timing_submit_to_display_s", "MISC", "s"),
        ("timing_mirror_delay_frames", "MISC", "n/a")]  # fmt: skip
    np.testing.assert_allclose(hmd[:260, 8:], np.tile([0.0, 0.012, 0.0], (260, 1)), atol=1e-9)
    assert np.isnan(hmd[260:, 9]).all() and not np.isnan(hmd[260:, [8, 10]]).any()  # unknown -> n/a
    sidecar = json.loads((motion / f"{stem}hmd_motion.json").read_text())
    assert sidecar["SamplingFrequency"] == pytest.approx(90.0)
    assert sidecar["MotionChannelCount"] == 11 and sidecar["MISCChannelCount"] == 3
    assert sidecar["Manufacturer"] == "Monado"
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
    assert {e["trial_type"] for e in events} >= {"block", "laterality", "pain_rating", "safety_flare"}
    (pulse,) = [e for e in events if e["trial_type"] == "haptic_pulse"]  # which hand, how long, how strong
    assert (pulse["kind"], pulse["side"], pulse["duration"], pulse["value"]) == ("haptic_pulse", "right", "0.05", "0.5")
    assert float(pulse["onset"]) == pytest.approx(frame(90).time_s - frame(0).time_s, abs=1e-6)
    # How the affected limb was shown, each change a row a researcher can split the motion by.
    shown = [(e["trial_type"], e["onset"], e["limb_mode"], e["feedback"], e["feedback_delay_ms"], e["value"])
             for e in events if e["trial_type"] in ("limb_mode", "hand_size", "feedback_condition")]  # fmt: skip

    def at(index: int) -> str:
        return f"{round(frame(index).time_s - frame(0).time_s, 6):g}"

    assert shown == [
        ("limb_mode", at(1), "mirror", "n/a", "n/a", "0.0"),
        ("feedback_condition", at(54), "n/a", "delayed", "250.0", "n/a"),
        ("feedback_condition", at(56), "n/a", "mirror", "0.0", "n/a"),
        ("limb_mode", at(67), "blend", "n/a", "n/a", "0.25"),
        ("hand_size", at(68), "n/a", "n/a", "n/a", "0.9"),
    ]
    with (root / "participants.tsv").open() as f:
        participants = list(csv.DictReader(f, delimiter="\t"))
    assert [r["participant_id"] for r in participants] == ["sub-P0007", "sub-P0008"]
    assert list(participants[0]) == ["participant_id", "age_band", "affected_side", "body_part",
                                     "stage_at_first_session", "record_key"]
    # Ages are exported as bands only: the birth year an older gmi-vr kept becomes its band.
    assert [r["age_band"] for r in participants] == [band_of_birth_year(1968), "60-69"]
    assert "1968" not in (root / "participants.tsv").read_text()
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


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _assert_valid(root: Path) -> None:
    issues = _validate(root)
    assert [i for i in issues if i["severity"] == "error"] == []
    warnings = {(i["code"], i.get("subCode")) for i in issues if i["severity"] == "warning"}
    assert warnings <= UNKNOWABLE, warnings - UNKNOWABLE


def test_patients_of_one_store_sharing_a_label_are_refused_not_merged(store: SessionStore, tmp_path: Path) -> None:
    store.add_patient(PatientInfo("P0007", "right", "foot"))  # as an older gmi-vr accepted it next to P-0007
    theirs = _record(store, "P0007", 30, hands=False)
    mine = _record(store, "P-0007", 30, hands=False)
    root = tmp_path / "bids"
    for session in (theirs, mine):
        with pytest.raises(ExportError, match="would both be sub-P0007") as refused:
            export_session(store, session, "bids", root)
        assert "gmi-vr patients rename" in str(refused.value)
    assert not root.exists()


def test_another_patient_under_the_same_label_is_refused_and_the_folder_left_as_it_was(
    store: SessionStore, tmp_path: Path
) -> None:
    root = tmp_path / "bids"
    export_session(store, _record(store, "P-0007", 60, hands=False), "bids", root)
    before = _snapshot(root)
    # Other stations' stores: their own P0007 (the same label, another person) and p0007 (one
    # folder with sub-P0007 on a case-insensitive disk), and P0009 (a subject of its own).
    for station, patient in (("two", "P0007"), ("three", "p0007")):
        with SessionStore.open(tmp_path / station) as other:
            other.add_patient(PatientInfo(patient, "right", "foot", age_band="30-39"))
            session = _record(other, patient, 60, hands=False)
            with pytest.raises(ExportError, match="another patient record"):
                export_session(other, session, "bids", root)
        assert _snapshot(root) == before
    with SessionStore.open(tmp_path / "two") as other:
        other.add_patient(PatientInfo("P0009", "right", "shoulder", age_band="70-79"))
        export_session(other, _record(other, "P0009", 60, hands=False), "bids", root)
    participants = {r["participant_id"]: r for r in _rows(root / "participants.tsv")}
    assert set(participants) == {"sub-P0007", "sub-P0009"}
    assert (participants["sub-P0007"]["affected_side"], participants["sub-P0007"]["body_part"]) == ("left", "hand")
    assert (participants["sub-P0009"]["affected_side"], participants["sub-P0009"]["age_band"]) == ("right", "70-79")
    assert participants["sub-P0007"]["record_key"] != participants["sub-P0009"]["record_key"]
    assert [r["session_id"] for r in _rows(root / "sub-P0007" / "sub-P0007_sessions.tsv")] == ["ses-001"]
    assert sorted(p.name for p in (root / "sub-P0007").iterdir()) == ["ses-001", "sub-P0007_sessions.json", "sub-P0007_sessions.tsv"]
    _assert_valid(root)


def test_exporting_a_session_again_changes_nothing(store: SessionStore, tmp_path: Path) -> None:
    root = tmp_path / "bids"
    first = _record(store, "P-0007", 90, hands=True)
    second = _record(store, "P-0007", 60, hands=False)
    export_session(store, first, "bids", root)
    export_session(store, second, "bids", root)
    before = _snapshot(root)
    again = export_session(store, first, "bids", root)
    assert _snapshot(root) == before
    assert all(p.exists() for p in again)
    assert [r["participant_id"] for r in _rows(root / "participants.tsv")] == ["sub-P0007"]
    assert [r["session_id"] for r in _rows(root / "sub-P0007" / "sub-P0007_sessions.tsv")] == ["ses-001", "ses-002"]
    scans = _rows(root / "sub-P0007" / "ses-001" / "sub-P0007_ses-001_scans.tsv")
    assert len(scans) == 5 and all((root / "sub-P0007" / "ses-001" / r["filename"]).exists() for r in scans)
    _assert_valid(root)


def test_a_folder_holding_something_else_is_refused(store: SessionStore, tmp_path: Path) -> None:
    session = _record(store, "P-0007", 30, hands=False)
    other_dataset = tmp_path / "eeg"
    other_dataset.mkdir()
    (other_dataset / "dataset_description.json").write_text(
        json.dumps({"Name": "An EEG study", "BIDSVersion": "1.8.0", "GeneratedBy": [{"Name": "MNE-BIDS"}]})
    )
    (other_dataset / "participants.tsv").write_text("participant_id\tage\nsub-P0007\t54\n")
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "notes.txt").write_text("not a dataset")
    for folder in (other_dataset, papers):
        before = _snapshot(folder)
        with pytest.raises(ExportError, match="not a gmi-vr research export"):
            export_session(store, session, "bids", folder)
        assert _snapshot(folder) == before
    empty = tmp_path / "empty"
    (empty / ".git").mkdir(parents=True)
    assert export_session(store, session, "bids", empty)


def test_a_renamed_patient_does_not_become_a_second_subject(store: SessionStore, tmp_path: Path) -> None:
    root = tmp_path / "bids"
    export_session(store, _record(store, "P-0007", 30, hands=False), "bids", root)
    # The same label after the rename: the same subject, its rows kept.
    rename_patient(store, "P-0007", "P_0007", therapist="t.one", reason="the clinic writes ids with _")
    export_session(store, _record(store, "P_0007", 30, hands=False), "bids", root)
    assert [r["session_id"] for r in _rows(root / "sub-P0007" / "sub-P0007_sessions.tsv")] == ["ses-001", "ses-002"]
    # Another label, even one differing in case only: refused in this folder, exported in a new one.
    before = _snapshot(root)
    for old_id, new_id in (("P_0007", "p0007"), ("p0007", "Q0007")):
        rename_patient(store, old_id, new_id, therapist="t.one", reason="the wrong prefix")
        with pytest.raises(ExportError, match="already holds this patient as sub-P0007"):
            export_session(store, 1, "bids", root)
        assert _snapshot(root) == before
    assert (tmp_path / "new" / "sub-Q0007").exists() is False
    export_session(store, 1, "bids", tmp_path / "new")
    assert (tmp_path / "new" / "sub-Q0007" / "ses-001").is_dir()


def test_an_export_by_an_older_gmi_vr_is_merged_by_band_or_refused(store: SessionStore, tmp_path: Path) -> None:
    root = tmp_path / "bids"
    export_session(store, _record(store, "P-0007", 30, hands=False), "bids", root)
    # Rewrite participants.tsv as an older gmi-vr wrote it: birth years and no record keys.
    (root / "participants.tsv").write_text(
        "participant_id\tbirth_year\tage_band\taffected_side\tbody_part\nsub-P0007\t1968\tn/a\tleft\thand\n"
    )
    with pytest.raises(ExportError, match="older gmi-vr"):
        export_session(store, 1, "bids", root)
    export_session(store, _record(store, "P-0008", 30, hands=False), "bids", root)
    rows = _rows(root / "participants.tsv")
    assert [(r["participant_id"], r["age_band"]) for r in rows] == [
        ("sub-P0007", band_of_birth_year(1968)), ("sub-P0008", "60-69")]  # fmt: skip
    assert "birth_year" not in rows[0]


def test_a_subject_folder_that_participants_tsv_does_not_describe_is_refused(
    store: SessionStore, tmp_path: Path
) -> None:
    root = tmp_path / "bids"
    export_session(store, _record(store, "P-0008", 30, hands=False), "bids", root)
    (root / "sub-p0007" / "ses-001").mkdir(parents=True)  # sub-P0007 on a case-insensitive disk
    with pytest.raises(ExportError, match="does not describe"):
        export_session(store, _record(store, "P-0007", 30, hands=False), "bids", root)
    assert [r["participant_id"] for r in _rows(root / "participants.tsv")] == ["sub-P0008"]


def test_what_a_researcher_adds_to_the_description_stays(store: SessionStore, tmp_path: Path) -> None:
    root = tmp_path / "bids"
    export_session(store, _record(store, "P-0007", 30, hands=False), "bids", root)
    description = root / "dataset_description.json"
    data = json.loads(description.read_text())
    data.update(Authors=["A. Researcher"], License="CC0")
    description.write_text(json.dumps(data))
    (root / "README").write_text("Our pilot study.\n")
    export_session(store, _record(store, "P-0008", 30, hands=False), "bids", root)
    assert json.loads(description.read_text())["Authors"] == ["A. Researcher"]
    assert (root / "README").read_text() == "Our pilot study.\n"


# ---------------------------------------------------------------------- whole-study datasets


def _study_session(store: SessionStore, patient: str, frames: int, stage: int, feedback: dict[str, object]) -> int:
    """A session as the app records one: the program's stage in its settings, a block (with the
    visual-feedback condition ``feedback`` in its params) and its task, laterality trials with
    their pictures, a repetition, ratings and a safety event."""
    recorder = store.start_session(
        patient, source="test", runtime_name="Monado", system_name="Monado: Simulated HMD", display_hz=90.0,
        settings={"program": {"stage": stage}},
    )  # fmt: skip
    recorder.record_rating(6, "before")
    block = recorder.begin_block("laterality", frame(5).time_s, {"block_index": 0, "stage": stage, **feedback})
    task = recorder.begin_task("laterality", frame(5).time_s, block, {"stage": stage})
    for i in range(frames):
        f = frame(i, hands=False, profile=PROFILE)
        recorder.record_frame(f, body(i))
        if i % 20 == 10:
            answered = i % 40 != 10
            recorder.record_trial(StoredTrial(
                onset_s=f.time_s, body_part="hand", side="left" if i % 60 else "right", rotation_deg=float(i % 360),
                view="palm", answer="right" if answered else None, correct=(i % 60 != 30) if answered else None,
                reaction_time_s=0.9 + i / 1000 if answered else None, measures={"mesh": f"hand_palm_{i}"},
                task_seq=task,
            ))  # fmt: skip
    recorder.record_repetition(StoredRepetition(onset_s=frame(15).time_s, duration_s=0.75, task_seq=task))
    recorder.record_event(Event(frame(frames // 2).time_s, "safety.time_cap", {}))
    recorder.record_event(Event(frame(frames // 2).time_s, "body.mode", {"mode": "still", "blend": 0.0}))
    recorder.record_rating(3, "during", time_s=frame(frames // 2).time_s)
    recorder.end_task(task, frame(frames - 1).time_s)
    recorder.end_block(block, frame(frames - 1).time_s)
    # Two events of one moment (HED would read two equal annotations there as an error).
    recorder.record_event(Event(frame(frames - 1).time_s, "safety.stop", {"by": "patient"}))
    recorder.record_event(Event(frame(frames - 1).time_s, "session.end", {}))
    recorder.record_rating(2, "after")
    recorder.finish()
    return recorder.session_id  # type: ignore[return-value]


@pytest.fixture
def study(store: SessionStore) -> SessionStore:
    """Three patients: P-0007 with three sessions (stage 1, a delayed-feedback block, stage 2),
    P-0008 with one, P-0009 with one; and two sessions a study export leaves out."""
    store.add_patient(PatientInfo("P-0009", "left", "foot", age_band="30-39"))
    _study_session(store, "P-0007", 60, 1, {})
    _study_session(store, "P-0007", 45, 1, {"feedback": "delayed", "feedback_delay_ms": 250})
    _study_session(store, "P-0008", 50, 3, {"feedback": "sham"})
    _study_session(store, "P-0007", 40, 2, {})
    store.start_session("P-0009", source="test").finish()  # no motion: not in the dataset
    _study_session(store, "P-0009", 40, 4, {"feedback": "hidden"})
    return store


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_whole_study_is_one_valid_dataset_that_grows_in_place(study: SessionStore, tmp_path: Path) -> None:
    root = tmp_path / "study"
    plan = plan_study(study, None)
    assert [(p.id, [s.id for s in sessions]) for p, sessions in plan.patients] == [
        ("P-0007", [1, 2, 4]), ("P-0008", [3]), ("P-0009", [6])]  # fmt: skip
    assert [(s.id, why) for s, why in plan.left_out] == [(5, "has no recorded motion")]
    done = export_study(study, plan, root)
    assert (done.subjects, done.sessions) == (("P0007", "P0008", "P0009"), (1, 2, 4, 3, 6))
    assert set(done.changed) == {p for p in root.rglob("*") if p.is_file()}
    _assert_valid(root)

    participants = _rows(root / "participants.tsv")
    assert [(r["participant_id"], r["affected_side"], r["body_part"], r["age_band"], r["stage_at_first_session"])
            for r in participants] == [("sub-P0007", "left", "hand", band_of_birth_year(1968), "1"),
                                       ("sub-P0008", "right", "foot", "60-69", "3"),
                                       ("sub-P0009", "left", "foot", "30-39", "4")]  # fmt: skip
    assert "stage_at_first_session" in json.loads((root / "participants.json").read_text())
    sessions = _rows(root / "sub-P0007" / "sub-P0007_sessions.tsv")
    assert [(r["session_id"], r["status"], r["mode"], r["station"], r["pain_before"], r["pain_after"])
            for r in sessions] == [(f"ses-00{n}", "completed", "headset", "clinic", "6", "2") for n in (1, 2, 4)]  # fmt: skip
    for sub, ses in (("P0007", "001"), ("P0007", "002"), ("P0007", "004"), ("P0008", "003"), ("P0009", "006")):
        folder = root / f"sub-{sub}" / f"ses-{ses}"
        scans = _rows(folder / f"sub-{sub}_ses-{ses}_scans.tsv")
        assert len(scans) == 3 and all((folder / r["filename"]).is_file() for r in scans)
        assert (folder / "motion" / f"sub-{sub}_ses-{ses}_task-gmi_events.tsv").is_file()
    assert not (root / "sub-P0009" / "ses-005").exists()
    description = json.loads((root / "dataset_description.json").read_text())
    assert description["HEDVersion"] and description["GeneratedBy"][0]["Name"] == "gmi-vr"

    # Again with nothing new: no file changes, not even its modification time.
    before, times = _snapshot(root), _mtimes(root)
    again = export_study(study, plan_study(study, None), root)
    assert again.changed == ()
    assert _snapshot(root) == before and _mtimes(root) == times

    # One new session: its own files and its row in the subject's sessions.tsv, nothing else.
    new = _study_session(study, "P-0008", 30, 3, {})
    grown = export_study(study, plan_study(study, ["P-0008"]), root)
    assert grown.sessions == (3, new)
    changed = {str(p.relative_to(root)) for p in grown.changed}
    assert changed == {"sub-P0008/sub-P0008_sessions.tsv"} | {
        str(p.relative_to(root)) for p in (root / "sub-P0008" / f"ses-{new:03d}").rglob("*") if p.is_file()}  # fmt: skip
    after = _snapshot(root)
    assert {k: v for k, v in after.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}
    assert [r["session_id"] for r in _rows(root / "sub-P0008" / "sub-P0008_sessions.tsv")] == ["ses-003", f"ses-{new:03d}"]
    _assert_valid(root)

    # What the lab fills in (docs/research.md) stays, and answers the validator's wishes.
    description = root / "dataset_description.json"
    description.write_text(json.dumps({**json.loads(description.read_text()), "Name": "Delayed mirror pilot",
                                       "Authors": ["A. Researcher", "B. Researcher"], "License": "CC0"}))  # fmt: skip
    (root / "task-gmi_motion.json").write_text(json.dumps({
        "InstitutionName": "Pain lab", "InstitutionAddress": "1 Road, Town", "InstitutionalDepartmentName": "Neurology",
        "DeviceSerialNumber": "HMD-01"}))  # fmt: skip
    filled = _snapshot(root)
    assert export_study(study, plan_study(study, None), root).changed == ()
    assert _snapshot(root) == filled
    issues = _validate(root)
    assert [i for i in issues if i["severity"] == "error"] == []
    assert {(i["code"], i.get("subCode")) for i in issues} == {("JSON_KEY_RECOMMENDED", "SourceDatasets")}


def test_events_rows_match_the_stored_trials(study: SessionStore, tmp_path: Path) -> None:
    root = tmp_path / "study"
    export_study(study, plan_study(study, ["P-0007"]), root)
    session = 2  # the delayed-feedback block
    events = _rows(root / "sub-P0007" / "ses-002" / "motion" / "sub-P0007_ses-002_task-gmi_events.tsv")
    t0 = frame(0).time_s

    def number(text: str) -> float | None:
        return None if text == "n/a" else float(text)

    (block,) = [e for e in events if e["trial_type"] == "block"]
    assert (block["task"], block["program_stage"], block["feedback"], block["feedback_delay_ms"]) == (
        "laterality", "1", "delayed", "250")  # fmt: skip
    assert number(block["onset"]) == pytest.approx(frame(5).time_s - t0, abs=1e-6)
    assert number(block["duration"]) == pytest.approx(frame(44).time_s - frame(5).time_s, abs=1e-6)
    trials = study.trials(session)
    rows = [e for e in events if e["trial_type"] == "laterality"]
    assert len(rows) == len(trials) == 2
    for trial, row in zip(trials, rows, strict=True):
        assert number(row["onset"]) == pytest.approx(trial.onset_s - t0, abs=1e-6)
        assert row["stimulus"] == (trial.measures or {})["mesh"]
        assert (row["body_part"], row["side"], number(row["rotation"]), row["view"]) == (
            trial.body_part, trial.side, trial.rotation_deg, trial.view)  # fmt: skip
        assert row["answer"] == (trial.answer or "n/a")
        assert row["correct"] == ("n/a" if trial.correct is None else str(int(trial.correct)))
        assert number(row["response_time"]) == (None if trial.reaction_time_s is None else pytest.approx(trial.reaction_time_s))
        # Every trial carries its block's condition, so a trial table needs no join.
        assert (row["task"], row["feedback"], row["feedback_delay_ms"], row["program_stage"]) == (
            "laterality", "delayed", "250", "1")  # fmt: skip
    assert [r["correct"] for r in rows] == ["n/a", "0"] and rows[1]["answer"] == "right"
    (repetition,) = [e for e in events if e["trial_type"] == "repetition"]
    assert (number(repetition["duration"]), repetition["feedback"]) == (0.75, "delayed")
    (rating,) = [e for e in events if e["trial_type"] == "pain_rating"]
    assert (rating["value"], rating["kind"]) == ("3", "pain_rating_during")
    (cap,) = [e for e in events if e["trial_type"] == "safety_other"]
    assert cap["kind"] == "safety_time_cap"
    assert [number(e["onset"]) for e in events] == sorted(number(e["onset"]) for e in events)  # type: ignore[type-var]
    first = _rows(root / "sub-P0007" / "ses-001" / "motion" / "sub-P0007_ses-001_task-gmi_events.tsv")
    assert {e["feedback"] for e in first} == {"n/a"}  # no condition set: the live mirror
    sidecar = json.loads((root / "task-gmi_events.json").read_text())
    assert set(_rows(root / "sub-P0007" / "ses-002" / "motion" / "sub-P0007_ses-002_task-gmi_events.tsv")[0]) - {
        "onset"} <= set(sidecar)  # fmt: skip
    assert {e["trial_type"] for e in events} <= set(sidecar["trial_type"]["Levels"]) == set(sidecar["trial_type"]["HED"])
    assert set(sidecar["limb_mode"]["Levels"]) == {mode.value for mode in LimbMode}
    (still,) = [e for e in events if e["trial_type"] == "limb_mode"]
    assert (still["limb_mode"], still["kind"]) == ("still", "body_mode")


def test_a_study_export_refuses_unknown_ids_and_other_folders_in_one_sentence(
    study: SessionStore, tmp_path: Path
) -> None:
    with pytest.raises(GmiError, match=r"^No patients P-0404 and Q1 in .*; check the ids with gmi-vr patients list\.$"):
        plan_study(study, ["P-0007", "P-0404", "Q1"])
    study.add_patient(PatientInfo("P-0010", "right", "hand"))
    with pytest.raises(ExportError, match="P-0010 has no finished session with recorded motion"):
        plan_study(study, ["P-0007", "P-0010"])
    assert [p.id for p, _ in plan_study(study, None).patients] == ["P-0007", "P-0008", "P-0009"]  # --all skips P-0010
    eeg = tmp_path / "eeg"
    eeg.mkdir()
    (eeg / "dataset_description.json").write_text(json.dumps({"Name": "EEG", "BIDSVersion": "1.8.0"}))
    with pytest.raises(ExportError, match=r"^\S+ already holds files that are not a gmi-vr research export; [^.]*\.$"):
        export_study(study, plan_study(study, None), eeg)
    assert [p.name for p in eeg.iterdir()] == ["dataset_description.json"]
    # A session label the dataset gives to another session (its uid differs: another station's
    # session 1 of the same patient record) is refused, not overwritten.
    root = tmp_path / "study"
    export_study(study, plan_study(study, ["P-0008"]), root)
    table = root / "sub-P0008" / "sub-P0008_sessions.tsv"
    (row,) = _rows(table)
    assert row["session_uid"] == study.session(3).uid
    table.write_text(table.read_text().replace(row["session_uid"], "0f4c1d3e-another-station"))
    before = _snapshot(root)
    with pytest.raises(ExportError, match=r"already holds sub-P0008/ses-003 from another session"):
        export_study(study, plan_study(study, None), root)
    assert _snapshot(root) == before


def test_the_study_export_command(study: SessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from gmi_vr import cli

    running = study.start_session("P-0008", source="test")  # still running: left out, and said so
    running.record_frame(frame(0, hands=False), body(0))
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    out = tmp_path / "study"
    assert cli.main(["export", "--format", "bids", "--patients", "P-0007,P-0404", "--out", str(out)]) == 8
    assert capsys.readouterr().err == (f"gmi-vr: No patient P-0404 in {tmp_path / 'data' / 'sessions.sqlite'}; "
                                       "check the ids with gmi-vr patients list.\n")  # fmt: skip
    assert not out.exists()
    assert cli.main(["export", "--format", "csv", "--all", "--out", str(out)]) == 9
    assert cli.main(["export", "--format", "bids", "--all", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert sorted(printed.out.split()) == sorted(str(p) for p in out.rglob("*") if p.is_file())
    assert f"session {running.session_id} of P-0008 is still running" in printed.err
    assert "3 subject(s) and 5 session(s)" in printed.err
    assert cli.main(["export", "--format", "bids", "--all", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""  # nothing new, nothing written
    assert {(a.action, a.session_id) for a in study.audit_trail("P-0009")} >= {("session.export", 6)}
    running.finish()
