"""Motion-BIDS export of one session (BIDS 1.11, motion modality).

Layout written under ``out_dir`` (a BIDS dataset root; several sessions can be exported
into the same root, the shared tables are rewritten to include them all)::

    dataset_description.json  README  participants.tsv/.json  task-gmi_events.json
    sub-<P>/sub-<P>_sessions.tsv/.json
    sub-<P>/ses-<S>/sub-<P>_ses-<S>_scans.tsv
    sub-<P>/ses-<S>/motion/sub-<P>_ses-<S>_task-gmi_tracksys-<sys>_motion.tsv   (no header)
                                                       ..._tracksys-<sys>_motion.json
                                                       ..._tracksys-<sys>_channels.tsv/.json
                          motion/sub-<P>_ses-<S>_task-gmi_events.tsv

One tracking system per tracked device: ``hmd``, ``leftcontroller``, ``rightcontroller``
and, when the runtime delivered hand joints, ``lefthand`` and ``righthand`` (26 joints
each). Every tracking system has a LATENCY channel (seconds from the first sample) because
VR frames are not sampled at an exact rate. The ``hmd`` system also carries each frame's
display timing (``motion.TIMING_CHANNELS``, MISC) when the session recorded it. The live
Lab Streaming Layer motion stream (``recording.lsl``) has these very channels, in this order
(``stream_channels``), less the LATENCY ones: its timestamps carry the time. Samples whose pose the runtime marked invalid
are ``n/a``. Coordinates are OpenXR's stage space: X right, Y up, Z backwards, metres;
orientations are unit quaternions.

Subjects are never merged. The subject label is the patient id's letters and digits
(``identity.bids_label``); a store where two patients share a label refuses to export them.
``participants.tsv`` keeps each patient's ``record_key`` (a one-way hash of when the patient
was added to the store, kept across renames), and a folder is written into only when it is
new, empty or a gmi-vr export whose row for this label has the same key: another patient
under the same label, this patient under an older label, an export by an older gmi-vr (no
key) or another BIDS dataset are refused before anything is written. Exporting a session
again rewrites its own files and rows with the same content. ``dataset_description.json``
and ``README`` are written once, so what a researcher adds to them (authors, licence) stays.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from gmi_vr.recording import motion
from gmi_vr.recording.export import ExportError
from gmi_vr.recording.identity import band_of_birth_year, bids_label, label_clashes
from gmi_vr.recording.records import PatientInfo, SessionInfo
from gmi_vr.recording.store import SessionStore, as_utc

BIDS_VERSION = "1.11.1"
TASK = "gmi"
MISSING = "n/a"
POSE_COMPONENTS = ("x", "y", "z", "quat_x", "quat_y", "quat_z", "quat_w")
REFERENCE_FRAME = "stage"


@dataclass(frozen=True)
class _Point:
    """A tracked point: its channel prefix in the recording, its validity channel and where it is."""

    name: str
    prefix: str
    valid: str | None
    placement: str


@dataclass(frozen=True)
class _TrackingSystem:
    label: str
    name: str
    points: tuple[_Point, ...]
    misc: tuple[str, ...] = ()  # recorded channels exported as MISC (analog values, buttons)
    side: str | None = None  # the hand a controller or hand tracker belongs to


#: Units of MISC channels that have one (the others are unitless values and buttons).
_MISC_UNITS = {"timing.pose_to_display_s": "s", "timing.submit_to_display_s": "s"}


def _systems(hands: dict[str, bool], timing: bool = False) -> list[_TrackingSystem]:
    """The tracking systems of a session; hand tracking only for hands the runtime delivered,
    the display timing with the headset when the session recorded it."""
    systems = [
        _TrackingSystem("hmd", "Head-mounted display", (_Point("head", "head", "head.valid", "head-mounted display on the head"),),
                        motion.TIMING_CHANNELS if timing else ()),
    ]
    for side in motion.SIDES:
        systems.append(
            _TrackingSystem(
                f"{side}controller",
                f"{side.capitalize()} hand controller",
                (
                    _Point(f"{side}_grip", f"{side}.grip", f"{side}.grip.valid", f"controller held in the {side} hand (grip pose)"),
                    _Point(f"{side}_aim", f"{side}.aim", f"{side}.aim.valid", f"controller held in the {side} hand (aim pose)"),
                ),
                tuple(f"{side}.{n}" for n in ("trigger", "squeeze", "thumbstick_x", "thumbstick_y") + motion.BUTTONS),
                side,
            )
        )
    for side in motion.SIDES:
        if hands[side]:
            points = tuple(
                _Point(f"{side}_{joint}", f"{side}.{joint}", f"{side}.{joint}.valid", f"{side} hand, {joint.replace('_', ' ')} joint")
                for joint in motion.HAND_JOINT_NAMES
            )
            systems.append(_TrackingSystem(f"{side}hand", f"{side.capitalize()} hand tracking", points, side=side))
    return systems


def _write_matrix(f: TextIO, latency: NDArray[np.float64], data: NDArray[np.float64]) -> None:
    """Rows of a headerless motion TSV: latency with ns resolution, recorded values with the
    7 significant digits float32 holds; missing values as ``MISSING``."""
    line = "%.9f" + "\t%.7g" * data.shape[1] + "\n"
    for t, row in zip(latency, data, strict=True):
        f.write((line % (t, *row)).replace("nan", MISSING))


def _channel_rows(system: _TrackingSystem) -> list[list[Any]]:
    """The ``_channels.tsv`` rows of a tracking system, in the order of its data columns."""
    rows: list[list[Any]] = [["latency", "n/a", "LATENCY", "n/a", "s", "n/a", "n/a"]]
    for point in system.points:
        for k, component in enumerate(POSE_COMPONENTS):
            kind, units = ("POS", "m") if k < 3 else ("ORNT", "n/a")
            rows.append([f"{point.name}_{component}", component, kind, point.name, units, point.placement, REFERENCE_FRAME])
    for name in system.misc:
        rows.append([name.replace(".", "_"), "n/a", "MISC", "n/a", _MISC_UNITS.get(name, "n/a"), "n/a", "n/a"])
    return rows


def _values(table: motion.MotionTable, system: _TrackingSystem) -> NDArray[np.float64]:
    """(n, channels - 1) data of one tracking system for one chunk (poses NaN where invalid)."""
    columns: list[NDArray[np.float64]] = []
    for point in system.points:
        values = table.columns([f"{point.prefix}.{f}" for f in motion.POSE_FIELDS]).astype(np.float64)
        if point.valid is not None:
            values[table.column(point.valid) < 0.5] = np.nan
        columns.append(values)
    for name in system.misc:  # NaN where a chunk lacks the channel (timing before layout 2)
        has = name in table.channels
        columns.append(table.column(name).astype(np.float64)[:, None] if has else np.full((len(table.index), 1), np.nan))
    return np.concatenate(columns, axis=1)


def stream_channels() -> list[list[Any]]:
    """The live motion stream's channels: every ``_channels.tsv`` row (name, component, type,
    tracked_point, units, placement, reference_frame) of every tracking system, both hands and
    the display timing included, in export order, less the LATENCY channels."""
    return [row for system in _systems(dict.fromkeys(motion.SIDES, True), timing=True)
            for row in _channel_rows(system) if row[2] != "LATENCY"]  # fmt: skip


def stream_values(table: motion.MotionTable) -> NDArray[np.float64]:
    """(n, len(stream_channels())) values of recorded frames in the live stream's channel order,
    exactly as the export writes them (invalid poses and absent hand joints NaN)."""
    systems = _systems(dict.fromkeys(motion.SIDES, True), timing=True)
    return np.concatenate([_values(table, system) for system in systems], axis=1)


def _write_tsv(path: Path, header: Sequence[str] | None, rows: Sequence[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        for row in rows:
            writer.writerow([MISSING if v is None else v for v in row])
    return path


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _read_tsv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _merge_rows(path: Path, key: str, header: Sequence[str], row: dict[str, Any]) -> Path:
    """Rewrite a shared TSV (participants, sessions) with ``row`` added or replaced."""
    rows = [r for r in _read_tsv(path) if r.get(key) != row[key]]
    rows.append({k: (MISSING if row.get(k) is None else row[k]) for k in header})
    rows.sort(key=lambda r: r[key])
    return _write_tsv(path, header, [[r.get(k, MISSING) for k in header] for r in rows])


def export_bids(store: SessionStore, session: SessionInfo, out_dir: Path, shift_days: int = 0) -> list[Path]:
    """Write one session as Motion-BIDS under ``out_dir``. ``shift_days`` moves every date
    written (``acq_time``) by that many days, as BIDS allows for de-identified data: use the
    same shift for every session of one dataset so intervals between sessions stay true."""
    # First pass, small: frame times, and which hands the runtime ever tracked.
    times: list[NDArray[np.int64]] = []
    hands = dict.fromkeys(motion.SIDES, False)
    timing = False
    for table in store.iter_motion(session.id):
        times.append(table.time_ns)
        timing = timing or motion.TIMING_CHANNELS[0] in table.channels
        for side in motion.SIDES:
            hands[side] = hands[side] or bool(np.any(table.column(f"{side}.joints.present") > 0.5))
    t_ns = np.concatenate(times)
    patient = store.patient(session.patient_id)
    sub = _subject_label(store, patient)
    _check_target(out_dir, sub, _record_key(patient))
    ses = f"{session.id:03d}"
    written: list[Path] = []
    written += _dataset_description(out_dir)
    written += _readme(out_dir)
    written += _participants(out_dir, sub, patient)
    written.append(_events_sidecar(out_dir))

    session_dir = out_dir / f"sub-{sub}" / f"ses-{ses}"
    motion_dir = session_dir / "motion"
    motion_dir.mkdir(parents=True, exist_ok=True)
    stem = f"sub-{sub}_ses-{ses}_task-{TASK}"
    duration = float(t_ns[-1] - t_ns[0]) / 1e9
    dt = np.diff(t_ns) / 1e9
    # Nominal rate: the headset's refresh rate when the session knew it, else the typical frame interval.
    nominal_hz = session.display_hz or (round(1.0 / float(np.median(dt)), 3) if len(dt) else 0.0)
    effective_hz = (len(t_ns) - 1) / duration if duration > 0 else None
    profiles = _profiles(store, session.id)
    systems = _systems(hands, timing)
    acq_time = _acq_time(session, shift_days)
    scans: list[list[Any]] = []
    for system in systems:
        prefix = f"{stem}_tracksys-{system.label}"
        channel_rows = _channel_rows(system)
        written.append(
            _write_tsv(
                motion_dir / f"{prefix}_channels.tsv",
                ["name", "component", "type", "tracked_point", "units", "placement", "reference_frame"],
                channel_rows,
            )
        )
        written.append(_write_json(motion_dir / f"{prefix}_channels.json", _channels_sidecar()))
        types = [r[2] for r in channel_rows]
        written.append(
            _write_json(
                motion_dir / f"{prefix}_motion.json",
                {
                    "TaskName": TASK,
                    "TaskDescription": "A Graded Motor Imagery or mirror therapy session in virtual reality "
                    "(left/right judgement, explicit motor imagery, mirror therapy, graded movement).",
                    "Instructions": "Stages and instructions follow the patient's therapy program; see the events file.",
                    "TrackingSystemName": system.name,
                    "Manufacturer": session.runtime_name or "n/a",
                    **_model_name(system, session, profiles),
                    "SoftwareVersions": _software_version(),
                    "SamplingFrequency": nominal_hz,
                    "SamplingFrequencyEffective": effective_hz if effective_hz is not None else "n/a",
                    "RecordingDuration": duration,
                    "RecordingType": "continuous",
                    "MotionChannelCount": len(channel_rows),
                    "POSChannelCount": types.count("POS"),
                    "ORNTChannelCount": types.count("ORNT"),
                    "LATENCYChannelCount": types.count("LATENCY"),
                    "MISCChannelCount": types.count("MISC"),
                    "ACCELChannelCount": 0,
                    "ANGACCELChannelCount": 0,
                    "GYROChannelCount": 0,
                    "JNTANGChannelCount": 0,
                    "MAGNChannelCount": 0,
                    "VELChannelCount": 0,
                    "TrackedPointsCount": len(system.points),
                    "MissingValues": MISSING,
                    "SubjectArtefactDescription": f"{session.dropped_frames} frames were not recorded "
                    "(the recorder could not keep up or could not write); the latency channel shows the gaps.",
                },
            )
        )
    # Second pass: the data, chunk by chunk into every tracking system's file.
    paths = {s.label: motion_dir / f"{stem}_tracksys-{s.label}_motion.tsv" for s in systems}
    with contextlib.ExitStack() as files:
        out = {label: files.enter_context(path.open("w", encoding="utf-8")) for label, path in paths.items()}
        for table in store.iter_motion(session.id):
            latency = (table.time_ns - t_ns[0]) / 1e9
            for system in systems:
                _write_matrix(out[system.label], latency, _values(table, system))
    for path in paths.values():
        written.append(path)
        scans.append([f"motion/{path.name}", acq_time])
    written.append(_write_tsv(motion_dir / f"{stem}_events.tsv", *_events(store, session, int(t_ns[0]))))
    written.append(_write_tsv(session_dir / f"sub-{sub}_ses-{ses}_scans.tsv", ["filename", "acq_time"], scans))
    written += _sessions(out_dir / f"sub-{sub}", sub, ses, store, session, duration, shift_days)
    return written


def _profiles(store: SessionStore, session_id: int) -> dict[str, str]:
    """The interaction profile each hand's controller had (the last one recorded)."""
    from gmi_vr.recording.recorder import PROFILE_EVENT

    found: dict[str, str] = {}
    for event in store.events(session_id):
        if event.kind == PROFILE_EVENT and event.data.get("profile"):
            found[str(event.data["side"])] = str(event.data["profile"])
    return found


def _model_name(system: _TrackingSystem, session: SessionInfo, profiles: dict[str, str]) -> dict[str, str]:
    """ManufacturersModelName where the runtime told it: the headset's system name for the
    HMD and hand tracking, the bound interaction profile for a controller."""
    controller = system.label.endswith("controller")
    if controller and system.side in profiles:
        return {"ManufacturersModelName": profiles[system.side]}
    if not controller and session.system_name:
        return {"ManufacturersModelName": session.system_name}
    return {}


def _software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"gmi-vr {version('gmi-vr')}"
    except PackageNotFoundError:
        return "gmi-vr"


def _channels_sidecar() -> dict[str, Any]:
    return {
        "reference_frame": {
            "LongName": "reference frame",
            "Description": "The frame the positions and orientations are expressed in.",
            "Levels": {
                REFERENCE_FRAME: {
                    "Description": "OpenXR stage space: origin on the floor at the centre of the "
                    "play area; X right, Y up, Z backwards (the user faces -Z); metres.",
                    "SpatialAxes": "RUB",
                    "RotationRule": "right-hand",
                    "RotationOrder": "n/a",
                }
            },
        }
    }


def _subject_label(store: SessionStore, patient: PatientInfo) -> str:
    """The patient's BIDS label, refused when another patient in the store has the same one."""
    label = bids_label(patient.id)
    clashes = label_clashes(patient.id, (p.id for p in store.list_patients()))
    if clashes:
        raise ExportError(
            f"Patients {patient.id} and {clashes[0]} would both be sub-{label} in a research export; "
            f"give one of them another id with gmi-vr patients rename before exporting."
        )
    return label


def _record_key(patient: PatientInfo) -> str:
    """A key of the patient's record: a one-way hash of when it was added to the store (the
    time survives a rename and differs between two stores' patients of the same id)."""
    added = as_utc(patient.created_at).isoformat() if patient.created_at else patient.id
    return hashlib.sha256(f"gmi-vr patient record {added}".encode()).hexdigest()[:16]


def _check_target(out_dir: Path, sub: str, record_key: str) -> None:
    """Refuse, before anything is written, a folder where this export would merge two people
    or mix with another dataset (see the module docstring)."""
    if not out_dir.is_dir() or all(p.name.startswith(".") for p in out_dir.iterdir()):
        return  # new, or empty but for hidden files (BIDS ignores them too: .git, .DS_Store)
    description = out_dir / "dataset_description.json"
    try:
        generated_by = json.loads(description.read_text(encoding="utf-8")).get("GeneratedBy", [])
        ours = any(isinstance(g, dict) and g.get("Name") == "gmi-vr" for g in generated_by)
    except (OSError, ValueError, AttributeError, TypeError):
        ours = False
    if not ours:
        raise ExportError(
            f"{out_dir} already holds files that are not a gmi-vr research export; "
            f"export into a new folder or one gmi-vr exported to before."
        )
    subject = f"sub-{sub}"
    described = False
    for row in _read_tsv(out_dir / "participants.tsv"):
        label, same_record = row.get("participant_id", ""), row.get("record_key") == record_key
        if label.casefold() == subject.casefold() and not same_record:
            raise ExportError(
                f"{out_dir} already holds {label} from another patient record (or from an older gmi-vr "
                f"that could merge patients), so {subject} cannot be added; export into a new folder."
            )
        if same_record and label != subject:
            raise ExportError(
                f"{out_dir} already holds this patient as {label} (the id was changed since); "
                f"export into a new folder so that one person is not two subjects."
            )
        described = described or label == subject
    if not described and any(p.name.casefold() == subject.casefold() for p in out_dir.iterdir()):
        raise ExportError(
            f"{out_dir} holds a folder {subject} that participants.tsv does not describe; "
            f"export into a new folder."
        )


def _dataset_description(out_dir: Path) -> list[Path]:
    if (out_dir / "dataset_description.json").exists():
        return []  # checked as gmi-vr's by _check_target; keep what a researcher added
    return [_write_json(
        out_dir / "dataset_description.json",
        {
            "Name": "gmi-vr session recordings",
            "BIDSVersion": BIDS_VERSION,
            "DatasetType": "raw",
            "GeneratedBy": [{"Name": "gmi-vr", "Version": _software_version().removeprefix("gmi-vr ") or "n/a",
                             "Description": "Virtual-reality Graded Motor Imagery and mirror therapy"}],
        },
    )]  # fmt: skip


def _readme(out_dir: Path) -> list[Path]:
    path = out_dir / "README"
    if path.exists():
        return []
    path.write_text(
        "Session recordings exported by gmi-vr, a virtual-reality Graded Motor Imagery and mirror\n"
        "therapy application. Each session holds the head-mounted display, both controllers and, when\n"
        "the headset tracked them, both hands (26 joints each), one tracking system per device, plus\n"
        "the session's events: laterality trials with their answers and response times, pain ratings\n"
        "(0-10) and stage changes. Participants are known by pseudonymous ids only.\n",
        encoding="utf-8",
    )
    return [path]


_PARTICIPANT_COLUMNS = ["participant_id", "age_band", "affected_side", "body_part", "record_key"]


def _participants(out_dir: Path, sub: str, patient: PatientInfo) -> list[Path]:
    rows = [r for r in _read_tsv(out_dir / "participants.tsv") if r.get("participant_id") != f"sub-{sub}"]
    for row in rows:
        # Rows written by an older gmi-vr kept a birth year: only its band is exported now.
        if row.get("age_band", MISSING) == MISSING and (row.get("birth_year") or "").isdigit():
            row["age_band"] = band_of_birth_year(int(row["birth_year"]))
    rows.append({
        "participant_id": f"sub-{sub}", "affected_side": patient.affected_side, "body_part": patient.body_part,
        "age_band": patient.age_band or (band_of_birth_year(patient.birth_year) if patient.birth_year else MISSING),
        "record_key": _record_key(patient),
    })  # fmt: skip
    rows.sort(key=lambda r: r["participant_id"])
    tsv = _write_tsv(
        out_dir / "participants.tsv", _PARTICIPANT_COLUMNS, [[r.get(k, MISSING) for k in _PARTICIPANT_COLUMNS] for r in rows]
    )
    sidecar = _write_json(
        out_dir / "participants.json",
        {
            "participant_id": {"Description": "Pseudonymous participant id (the letters and digits of the clinic's "
                               "id; no two patients of a store share one)."},
            "age_band": {"Description": "Age band in years when the patient was added (ten-year bands, 90+ above), "
                         "kept instead of an age or a birth date."},
            "affected_side": {"Description": "Side of the painful (affected) limb.",
                              "Levels": {"left": "left side", "right": "right side"}},
            "body_part": {"Description": "Body part the therapy addresses (hand, foot, shoulder, ...)."},
            "record_key": {"Description": "A one-way key of the patient's record in the gmi-vr store that exported "
                           "it: gmi-vr adds a session to a subject only when the keys match, so two people are "
                           "never merged under one subject."},
        },
    )  # fmt: skip
    return [tsv, sidecar]


_SESSION_COLUMNS = ["session_id", "acq_time", "duration", "status", "pain_before", "pain_after"]


def _acq_time(session: SessionInfo, shift_days: int) -> str:
    """When the session started (UTC, to the second), moved by ``shift_days`` days."""
    return (session.started_at + timedelta(days=shift_days)).strftime("%Y-%m-%dT%H:%M:%S")


def _sessions(sub_dir: Path, sub: str, ses: str, store: SessionStore, session: SessionInfo, duration: float,
              shift_days: int = 0) -> list[Path]:  # fmt: skip
    ratings = store.ratings(session.id)
    before = [r.value for r in ratings if r.phase == "before"]
    after = [r.value for r in ratings if r.phase == "after"]
    tsv = _merge_rows(
        sub_dir / f"sub-{sub}_sessions.tsv", "session_id", _SESSION_COLUMNS,
        {"session_id": f"ses-{ses}", "acq_time": _acq_time(session, shift_days),
         "duration": round(duration, 3), "status": session.status,
         "pain_before": before[-1] if before else None, "pain_after": after[-1] if after else None},
    )  # fmt: skip
    sidecar = _write_json(
        sub_dir / f"sub-{sub}_sessions.json",
        {
            "acq_time": {"Description": "When the session started (UTC)" + (
                ", with every date of this export shifted by a fixed number of days to de-identify it." if shift_days
                else ".")},
            "duration": {"Description": "Recorded motion duration.", "Units": "s"},
            "status": {"Description": "How the session ended.", "Levels": {
                "completed": "the session plan ran to its end",
                "ended_early": "cut short before the plan's end (by the therapist, the time cap or the program)",
                "safety_stop": "stopped for safety: a pain flare, the patient's stop or the therapist's stop",
                "not_started": "ended before any trial or repetition was recorded",
                "stopped": "stopped early by the therapist or patient (written before the statuses above)",
                "aborted": "ended by an error", "interrupted": "the program stopped during it (crash or power loss)",
                "running": "still running when exported"}},
            "pain_before": {"Description": "Pain rating before the session, 0-10 numeric rating scale (LOINC 72514-3)."},
            "pain_after": {"Description": "Pain rating after the session, 0-10 numeric rating scale (LOINC 72514-3)."},
        },
    )  # fmt: skip
    return [tsv, sidecar]


_EVENT_COLUMNS = ["onset", "duration", "trial_type", "response_time", "stage", "body_part", "side",
                  "rotation", "view", "answer", "correct", "value"]  # fmt: skip


def _events(store: SessionStore, session: SessionInfo, t0_ns: int) -> tuple[list[str], list[list[Any]]]:
    t0 = t0_ns / 1e9
    rows: list[list[Any]] = []

    def row(onset: float, duration: float | None, trial_type: str, **extra: Any) -> None:
        values = {"onset": round(onset - t0, 6), "duration": duration if duration is not None else 0, "trial_type": trial_type, **extra}
        rows.append([values.get(c) for c in _EVENT_COLUMNS])

    for block in store.blocks(session.id):
        length = round(block.end_s - block.start_s, 6) if block.end_s is not None else None
        row(block.start_s, length, "stage", stage=block.stage)
    for trial in store.trials(session.id):
        row(
            trial.onset_s, trial.reaction_time_s, trial.kind, response_time=trial.reaction_time_s,
            body_part=trial.body_part, side=trial.side, rotation=trial.rotation_deg, view=trial.view,
            answer=trial.answer, correct=None if trial.correct is None else int(trial.correct),
        )  # fmt: skip
    for rating in store.ratings(session.id):
        if rating.time_s is not None:
            row(rating.time_s, 0, "pain_rating", value=rating.value)
    for event in store.events(session.id):
        if event.kind.startswith(("safety.", "stage.", "session.", "error")):
            row(event.time_s, 0, event.kind.replace(".", "_"))
    rows.sort(key=lambda r: float(r[0]))
    return _EVENT_COLUMNS, rows


def _events_sidecar(out_dir: Path) -> Path:
    return _write_json(
        out_dir / f"task-{TASK}_events.json",
        {
            "trial_type": {"Description": "What happened.", "Levels": {
                "stage": "a stretch of one therapy stage (see the stage column)",
                "laterality": "a left/right judgement trial: an image was shown and the patient answered",
                "pain_rating": "a 0-10 pain rating during the session (value column)",
                "safety_flare": "a pain flare stopped the movement",
                "stage_change": "the therapy stage changed",
                "session_start": "the session started", "session_stop": "the session was stopped",
                "error": "an error occurred"}},
            "response_time": {"Description": "Time from the image's onset to the answer; n/a when not answered.", "Units": "s"},
            "stage": {"Description": "Therapy stage.", "Levels": {
                "laterality": "implicit motor imagery (left/right judgement)", "imagery": "explicit motor imagery",
                "mirror": "mirror therapy", "movement": "graded real movement"}},
            "body_part": {"Description": "Body part shown in the trial's image."},
            "side": {"Description": "Side of the body part shown.", "Levels": {"left": "left", "right": "right"}},
            "rotation": {"Description": "Rotation of the image from upright.", "Units": "deg"},
            "view": {"Description": "View of the body part shown (for a hand: back or palm)."},
            "answer": {"Description": "Side the patient answered; n/a when not answered.", "Levels": {"left": "left", "right": "right"}},
            "correct": {"Description": "1 if the answer was right, 0 if wrong, n/a when not answered.",
                        "Levels": {"0": "wrong", "1": "right"}},
            "value": {"Description": "Pain rating, 0-10 numeric rating scale (LOINC 72514-3)."},
            "StimulusPresentation": {
                "SoftwareName": "gmi-vr",
                "SoftwareVersion": _software_version().removeprefix("gmi-vr ") or "n/a",
                "OperatingSystem": f"{platform.system()} {platform.release()}",
            },
        },
    )  # fmt: skip
