"""Motion-BIDS export (BIDS 1.11, motion modality): one session, or a whole study.

Layout written under ``out_dir`` (a BIDS dataset root)::

    dataset_description.json  README  participants.tsv/.json  task-gmi_events.json
    sub-<P>/sub-<P>_sessions.tsv/.json
    sub-<P>/ses-<S>/sub-<P>_ses-<S>_scans.tsv
    sub-<P>/ses-<S>/motion/sub-<P>_ses-<S>_task-gmi_tracksys-<sys>_motion.tsv   (no header)
                                                       ..._tracksys-<sys>_motion.json
                                                       ..._tracksys-<sys>_channels.tsv/.json
                          motion/sub-<P>_ses-<S>_task-gmi_events.tsv

``export_bids`` writes one session; ``export_study`` every session with recorded motion of
the patients named (every patient of the store when none are): both go through ``_export``,
so a session is written the same way whichever way it was asked for. The shared tables
(participants, sessions, scans) are merged, so several exports can fill one dataset.

One tracking system per tracked device: ``hmd``, ``leftcontroller``, ``rightcontroller``
and, when the runtime delivered hand joints, ``lefthand`` and ``righthand`` (26 joints
each). Every tracking system has a LATENCY channel (seconds from the first sample) because
VR frames are not sampled at an exact rate. The ``hmd`` system also carries each frame's
display timing (``motion.TIMING_CHANNELS``, MISC) when the session recorded it. The live
Lab Streaming Layer motion stream (``recording.lsl``) has these very channels, in this order
(``stream_channels``), less the LATENCY ones: its timestamps carry the time. Samples whose pose the runtime marked invalid
are ``n/a``. Coordinates are OpenXR's stage space: X right, Y up, Z backwards, metres;
orientations are unit quaternions. Each session's ``events.tsv`` holds its blocks (with
their visual-feedback condition where a research program set one), trials (stimulus,
answer, correctness, response time), repetitions, pain ratings and safety and session
events; ``task-gmi_events.json`` describes every column, with HED tags.

Subjects are never merged. The subject label is the patient id's letters and digits
(``identity.bids_label``); a store where two patients share a label refuses to export them.
``participants.tsv`` keeps each patient's ``record_key`` (a one-way hash of when the patient
was added to the store, kept across renames), and a folder is written into only when it is
new, empty or a gmi-vr export whose row for this label has the same key: another patient
under the same label, this patient under an older label, an export by an older gmi-vr (no
key) or another BIDS dataset are refused before anything is written.

Updating in place: every file is written only when its content changes, so exporting again
with nothing new changes no file (not even its modification time), and a new session adds
its own files and its rows in the shared tables. ``dataset_description.json`` and
``README`` are written once, so what a lab adds to them (authors, licence) stays; gmi-vr only
adds the description keys its files need when they are missing (``HEDVersion``).
"""

from __future__ import annotations

import contextlib
import csv
import filecmp
import hashlib
import io
import json
import os
import platform
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from gmi_vr.core.errors import NotFoundError
from gmi_vr.recording import motion
from gmi_vr.recording.export import ExportError
from gmi_vr.recording.identity import band_of_birth_year, bids_label, label_clashes
from gmi_vr.recording.rows import PatientInfo, SessionInfo
from gmi_vr.recording.store import SessionStore, as_utc

BIDS_VERSION = "1.11.1"
TASK = "gmi"
MISSING = "n/a"
POSE_COMPONENTS = ("x", "y", "z", "quat_x", "quat_y", "quat_z", "quat_w")
REFERENCE_FRAME = "stage"
#: The HED schema the tags of ``task-gmi_events.json`` are written in (bundled by the validators).
HED_VERSION = "8.3.0"


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


class _Files:
    """The files of one export, each written only when its content differs from what the
    folder holds, so an export with nothing new changes no file (nor its modification time)."""

    def __init__(self) -> None:
        self.written: list[Path] = []  # every file of the export, changed or not
        self.changed: list[Path] = []  # the files this export created or whose content it changed

    def text(self, path: Path, content: str) -> Path:
        """``content`` as the UTF-8 file ``path`` (written only when it differs); returns ``path``."""
        data = content.encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.is_file() and path.read_bytes() == data):
            path.write_bytes(data)
            self.changed.append(path)
        self.written.append(path)
        return path

    @contextlib.contextmanager
    def stream(self, path: Path) -> Iterator[TextIO]:
        """A large file written through a hidden part file beside it, which replaces ``path``
        only when the content differs (BIDS ignores dot files: a part file left behind by a
        crash harms no dataset)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.part")
        try:
            with part.open("w", encoding="utf-8", newline="") as f:
                yield f
            if path.is_file() and filecmp.cmp(part, path, shallow=False):
                part.unlink()
            else:
                os.replace(part, path)
                self.changed.append(path)
        finally:
            part.unlink(missing_ok=True)
        self.written.append(path)

    def tsv(self, path: Path, header: Sequence[str] | None, rows: Sequence[Sequence[Any]]) -> Path:
        """``rows`` as a tab-separated file (``header`` first when given; None as BIDS' n/a)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        for row in rows:
            writer.writerow([MISSING if v is None else v for v in row])
        return self.text(path, buffer.getvalue())

    def json(self, path: Path, data: dict[str, Any]) -> Path:
        """``data`` as an indented JSON file."""
        return self.text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def merge_rows(self, path: Path, key: str, header: Sequence[str], new: Sequence[dict[str, Any]]) -> Path:
        """Rewrite a shared TSV (a subject's sessions) with the ``new`` rows added or replaced,
        sorted by ``key``; rows of other exports are kept (a column they lack is ``n/a``)."""
        keys = {row[key] for row in new}
        rows = [r for r in _read_tsv(path) if r.get(key) not in keys]
        rows += [{k: (MISSING if row.get(k) is None else row[k]) for k in header} for row in new]
        rows.sort(key=lambda r: r[key])
        return self.tsv(path, header, [[r.get(k, MISSING) for k in header] for r in rows])


def _read_tsv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@dataclass(frozen=True)
class StudyPlan:
    """What a whole-study export will write: each patient with their sessions to export, and
    the sessions it leaves out with why (a clause: "is still running ...")."""

    patients: tuple[tuple[PatientInfo, tuple[SessionInfo, ...]], ...]
    left_out: tuple[tuple[SessionInfo, str], ...]

    @property
    def sessions(self) -> tuple[SessionInfo, ...]:
        """Every session to export, patient by patient."""
        return tuple(session for _, sessions in self.patients for session in sessions)


@dataclass(frozen=True)
class StudyExport:
    """What a whole-study export did: the dataset's root, its subject labels (``P0007``) and
    sessions from this store, and the files this run created or changed (none when nothing
    was new)."""

    root: Path
    subjects: tuple[str, ...]
    sessions: tuple[int, ...]
    changed: tuple[Path, ...]


def export_bids(store: SessionStore, session: SessionInfo, out_dir: Path, shift_days: int = 0) -> list[Path]:
    """Write one session as Motion-BIDS under ``out_dir``; returns every file of it and of
    the dataset it joined. ``shift_days`` moves every date written (``acq_time``) by that many
    days, as BIDS allows for de-identified data: use the same shift for every session of one
    dataset so intervals between sessions stay true."""
    return _export(store, [(store.patient(session.patient_id), [session])], out_dir, shift_days).written


def plan_study(store: SessionStore, patient_ids: Sequence[str] | None) -> StudyPlan:
    """Every finished session with recorded motion of ``patient_ids`` (of every patient of the
    store when None). Unknown ids, a named patient with nothing to export, or a store with
    nothing to export are refused in one sentence."""
    known = {p.id: p for p in store.list_patients()}
    if patient_ids is None:
        patients = list(known.values())
    else:
        wanted = list(dict.fromkeys(patient_ids))
        unknown = [pid for pid in wanted if pid not in known]
        if unknown:
            raise NotFoundError(
                f"No patient{'s' if len(unknown) > 1 else ''} {_and(unknown)} in {store.label}; "
                f"check the ids with gmi-vr patients list."
            )
        patients = [known[pid] for pid in wanted]
    chosen: list[tuple[PatientInfo, tuple[SessionInfo, ...]]] = []
    left_out: list[tuple[SessionInfo, str]] = []
    for patient in patients:
        sessions: list[SessionInfo] = []
        for session in store.list_sessions(patient.id):
            why = _why_left_out(store, session)
            if why is None:
                sessions.append(session)
            else:
                left_out.append((session, why))
        if sessions:
            chosen.append((patient, tuple(sessions)))
        elif patient_ids is not None:
            raise ExportError(
                f"{patient.id} has no finished session with recorded motion to export; "
                f"leave it out of --patients or record a session first."
            )
    if not chosen:
        raise ExportError(f"{store.label} holds no finished session with recorded motion, so there is no study to export.")
    return StudyPlan(tuple(chosen), tuple(left_out))


def export_study(store: SessionStore, plan: StudyPlan, out_dir: Path, shift_days: int = 0) -> StudyExport:
    """Write ``plan`` as one BIDS dataset under ``out_dir``, or bring a dataset gmi-vr exported
    there before up to date (see the module docstring); refused in one sentence, before
    anything is written, where the folder holds something else."""
    files = _export(store, plan.patients, out_dir, shift_days)
    return StudyExport(
        root=out_dir,
        subjects=tuple(bids_label(patient.id) for patient, _ in plan.patients),
        sessions=tuple(session.id for session in plan.sessions),
        changed=tuple(files.changed),
    )


def _and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _why_left_out(store: SessionStore, session: SessionInfo) -> str | None:
    """Why a whole-study export leaves a session out (a clause), None when it exports it."""
    if session.status == "running":
        return "is still running (export again when it has ended)"
    if not store.motion_chunks(session.id):
        return "has no recorded motion"
    return None


def _export(
    store: SessionStore, plan: Sequence[tuple[PatientInfo, Sequence[SessionInfo]]], out_dir: Path, shift_days: int
) -> _Files:
    """Write the sessions of ``plan`` (each patient with sessions of theirs) into the dataset
    at ``out_dir``: every subject's folder is checked before anything is written."""
    subjects = [(patient, _subject_label(store, patient), sessions) for patient, sessions in plan]
    for patient, sub, sessions in subjects:
        _check_target(out_dir, sub, _record_key(patient))
        _check_sessions(out_dir, sub, sessions)
    files = _Files()
    _dataset_description(files, out_dir)
    _readme(files, out_dir)
    _participants(files, out_dir, [(sub, patient, _first_stage(store, patient.id)) for patient, sub, _ in subjects])
    _events_sidecar(files, out_dir)
    for _, sub, sessions in subjects:
        rows = [_session_files(files, store, session, out_dir, sub, shift_days) for session in sessions]
        _sessions(files, out_dir / f"sub-{sub}", sub, rows, shift_days)
    return files


def _session_files(
    files: _Files, store: SessionStore, session: SessionInfo, out_dir: Path, sub: str, shift_days: int
) -> dict[str, Any]:
    """Write one session's folder; returns its ``sessions.tsv`` row."""
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
    ses = f"{session.id:03d}"
    session_dir = out_dir / f"sub-{sub}" / f"ses-{ses}"
    motion_dir = session_dir / "motion"
    stem = f"sub-{sub}_ses-{ses}_task-{TASK}"
    duration = float(t_ns[-1] - t_ns[0]) / 1e9
    dt = np.diff(t_ns) / 1e9
    # Nominal rate: the headset's refresh rate when the session knew it, else the typical frame interval.
    nominal_hz = session.display_hz or (round(1.0 / float(np.median(dt)), 3) if len(dt) else 0.0)
    effective_hz = (len(t_ns) - 1) / duration if duration > 0 else None
    profiles = _profiles(store, session.id)
    systems = _systems(hands, timing)
    acq_time = _acq_time(session, shift_days)
    for system in systems:
        prefix = f"{stem}_tracksys-{system.label}"
        channel_rows = _channel_rows(system)
        files.tsv(
            motion_dir / f"{prefix}_channels.tsv",
            ["name", "component", "type", "tracked_point", "units", "placement", "reference_frame"],
            channel_rows,
        )
        files.json(motion_dir / f"{prefix}_channels.json", _channels_sidecar())
        types = [r[2] for r in channel_rows]
        files.json(
            motion_dir / f"{prefix}_motion.json",
            {
                "TaskName": TASK,
                "TaskDescription": _TASK_DESCRIPTIONS.get(session.mode, _TASK_DESCRIPTIONS["headset"]),
                "Instructions": "Stages and instructions follow the patient's therapy program; see the events file.",
                "TrackingSystemName": system.name if session.mode != "desktop" else f"{system.name} (stood in for "
                "on a desktop: not tracked)",
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
    # Second pass: the data, chunk by chunk into every tracking system's file.
    paths = {s.label: motion_dir / f"{stem}_tracksys-{s.label}_motion.tsv" for s in systems}
    with contextlib.ExitStack() as stack:
        out = {label: stack.enter_context(files.stream(path)) for label, path in paths.items()}
        for table in store.iter_motion(session.id):
            latency = (table.time_ns - t_ns[0]) / 1e9
            for system in systems:
                _write_matrix(out[system.label], latency, _values(table, system))
    files.tsv(motion_dir / f"{stem}_events.tsv", *_events(store, session, int(t_ns[0])))
    scans = [[f"motion/{path.name}", acq_time] for path in paths.values()]
    files.tsv(session_dir / f"sub-{sub}_ses-{ses}_scans.tsv", ["filename", "acq_time"], scans)
    return _session_row(store, session, ses, duration, shift_days)


def _profiles(store: SessionStore, session_id: int) -> dict[str, str]:
    """The interaction profile each hand's controller had (the last one recorded)."""
    from gmi_vr.recording.recorder import PROFILE_EVENT

    found: dict[str, str] = {}
    for event in store.events(session_id):
        if event.kind == PROFILE_EVENT and event.data.get("profile"):
            found[str(event.data["side"])] = str(event.data["profile"])
    return found


#: The motion sidecars' TaskDescription by the session's mode (``SessionInfo.mode``): a desktop
#: session's head and hand channels are no one's tracked movement, and a reader must know.
_TASKS = "(left/right judgement, explicit motor imagery, mirror therapy, graded movement)"
_TASK_DESCRIPTIONS = {
    "headset": f"A Graded Motor Imagery or mirror therapy session in virtual reality {_TASKS}.",
    "desktop": f"A Graded Motor Imagery or mirror therapy session on a desktop screen, without a headset {_TASKS}: "
               "the head and hand channels are the poses the desktop made from the keyboard, the mouse or a motion "
               "file, not tracked movement.",
}


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


#: What gmi-vr cannot know and a lab fills in ``dataset_description.json`` (BIDS names):
#: named in the dataset's README and in docs/research.md.
LAB_FIELDS = ("Name", "Authors", "License", "Acknowledgements", "HowToAcknowledge", "Funding",
              "EthicsApprovals", "ReferencesAndLinks", "DatasetDOI")  # fmt: skip


def _check_sessions(out_dir: Path, sub: str, sessions: Sequence[SessionInfo]) -> None:
    """Refuse a session whose label the folder already gives to another session (another
    station's store numbers its sessions from 1 too): its ``session_uid`` differs."""
    exported = {r.get("session_id"): r.get("session_uid") for r in _read_tsv(out_dir / f"sub-{sub}" / f"sub-{sub}_sessions.tsv")}
    for session in sessions:
        uid = exported.get(f"ses-{session.id:03d}")
        if uid not in (None, MISSING, session.uid):
            raise ExportError(
                f"{out_dir} already holds sub-{sub}/ses-{session.id:03d} from another session (another station's "
                f"store?), so session {session.id} cannot be added; export into a new folder."
            )


def _dataset_description(files: _Files, out_dir: Path) -> None:
    """Written once, then kept as a lab filled it (checked as gmi-vr's by ``_check_target``);
    only the keys gmi-vr's own files need are added when missing."""
    path = out_dir / "dataset_description.json"
    ours = {
        "Name": "gmi-vr session recordings",
        "BIDSVersion": BIDS_VERSION,
        "HEDVersion": HED_VERSION,
        "DatasetType": "raw",
        "GeneratedBy": [{"Name": "gmi-vr", "Version": _software_version().removeprefix("gmi-vr ") or "n/a",
                         "Description": "Virtual-reality Graded Motor Imagery and mirror therapy"}],
    }  # fmt: skip
    if not path.exists():
        files.json(path, ours)
        return
    kept = json.loads(path.read_text(encoding="utf-8"))
    if "HEDVersion" not in kept:  # a dataset exported before events carried HED tags
        files.json(path, {**kept, "HEDVersion": HED_VERSION})


def _readme(files: _Files, out_dir: Path) -> None:
    if (out_dir / "README").exists():
        return
    files.text(
        out_dir / "README",
        "Session recordings exported by gmi-vr, a virtual-reality Graded Motor Imagery and mirror\n"
        "therapy application. Each session holds the head-mounted display, both controllers and, when\n"
        "the headset tracked them, both hands (26 joints each), one tracking system per device, plus\n"
        "the session's events: blocks with their visual-feedback conditions, laterality trials with\n"
        "their answers and response times, pain ratings (0-10), how the affected limb was shown\n"
        "(mirrored, its own, still; its size; the feedback condition) and safety events\n"
        "(task-gmi_events.json describes every column). Participants are known by pseudonymous ids only.\n"
        "\n"
        "gmi-vr cannot know who made this dataset: fill in dataset_description.json's "
        + ", ".join(LAB_FIELDS[:-1]) + f" and {LAB_FIELDS[-1]},\n"
        "and replace this README with the study's own. gmi-vr keeps both files as you leave them when\n"
        "it adds new sessions to the dataset.\n",
    )


_PARTICIPANT_COLUMNS = ["participant_id", "age_band", "affected_side", "body_part", "stage_at_first_session",
                        "record_key"]  # fmt: skip


def _first_stage(store: SessionStore, patient_id: str) -> int | None:
    """The program stage (1-4) of the patient's first session that ran a program."""
    for session in store.list_sessions(patient_id):
        stage = ((session.settings or {}).get("program") or {}).get("stage")
        if isinstance(stage, int) and not isinstance(stage, bool):
            return stage
    return None


def _participants(files: _Files, out_dir: Path, subjects: Sequence[tuple[str, PatientInfo, int | None]]) -> None:
    """Add or replace the rows of ``subjects`` (label, patient, stage at the first session);
    the rows of other subjects stay."""
    new = [{
        "participant_id": f"sub-{sub}", "affected_side": patient.affected_side, "body_part": patient.body_part,
        "age_band": patient.age_band or (band_of_birth_year(patient.birth_year) if patient.birth_year else None),
        "stage_at_first_session": stage, "record_key": _record_key(patient),
    } for sub, patient, stage in subjects]  # fmt: skip
    path = out_dir / "participants.tsv"
    rows: list[dict[str, Any]] = [r for r in _read_tsv(path) if r.get("participant_id") not in {n["participant_id"] for n in new}]
    for row in rows:
        # Rows written by an older gmi-vr kept a birth year: only its band is exported now.
        if row.get("age_band", MISSING) == MISSING and (row.get("birth_year") or "").isdigit():
            row["age_band"] = band_of_birth_year(int(row["birth_year"]))
    rows = sorted([*rows, *new], key=lambda r: str(r["participant_id"]))
    files.tsv(path, _PARTICIPANT_COLUMNS, [[r.get(k, MISSING) for k in _PARTICIPANT_COLUMNS] for r in rows])
    files.json(
        out_dir / "participants.json",
        {
            "participant_id": {"Description": "Pseudonymous participant id (the letters and digits of the clinic's "
                               "id; no two patients of a store share one)."},
            "age_band": {"Description": "Age band in years when the patient was added (ten-year bands, 90+ above), "
                         "kept instead of an age or a birth date."},
            "affected_side": {"Description": "Side of the painful (affected) limb.",
                              "Levels": {"left": "left side", "right": "right side"}},
            "body_part": {"Description": "Body part the therapy addresses (hand, foot, shoulder, ...)."},
            "stage_at_first_session": {
                "Description": "The therapy program's stage at the patient's first session that ran a program.",
                "Levels": _PROGRAM_STAGES},
            "record_key": {"Description": "A one-way key of the patient's record in the gmi-vr store that exported "
                           "it: gmi-vr adds a session to a subject only when the keys match, so two people are "
                           "never merged under one subject."},
        },
    )  # fmt: skip


#: The program stages (``therapy.plan.program.Stage``), as participants.tsv and events.tsv give them.
_PROGRAM_STAGES = {
    "1": "laterality recognition (implicit motor imagery)", "2": "explicit motor imagery",
    "3": "mirror therapy", "4": "graded real movement",
}  # fmt: skip

_SESSION_COLUMNS = ["session_id", "acq_time", "duration", "status", "mode", "station", "pain_before", "pain_after",
                    "session_uid"]  # fmt: skip


def _acq_time(session: SessionInfo, shift_days: int) -> str:
    """When the session started (UTC, to the second), moved by ``shift_days`` days."""
    return (session.started_at + timedelta(days=shift_days)).strftime("%Y-%m-%dT%H:%M:%S")


def _session_row(store: SessionStore, session: SessionInfo, ses: str, duration: float, shift_days: int) -> dict[str, Any]:
    ratings = store.ratings(session.id)
    before = [r.value for r in ratings if r.phase == "before"]
    after = [r.value for r in ratings if r.phase == "after"]
    return {"session_id": f"ses-{ses}", "acq_time": _acq_time(session, shift_days), "duration": round(duration, 3),
            "status": session.status, "mode": session.mode, "station": session.station,
            "pain_before": before[-1] if before else None, "pain_after": after[-1] if after else None,
            "session_uid": session.uid or None}  # fmt: skip


def _sessions(files: _Files, sub_dir: Path, sub: str, rows: Sequence[dict[str, Any]], shift_days: int) -> None:
    files.merge_rows(sub_dir / f"sub-{sub}_sessions.tsv", "session_id", _SESSION_COLUMNS, rows)
    files.json(
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
            "mode": {"Description": "How the session was run.", "Levels": {
                "headset": "in the virtual-reality headset", "desktop": "on a desktop screen, without a headset"}},
            "station": {"Description": "Where the session was run.", "Levels": {
                "clinic": "at the clinic", "home": "at the patient's home"}},
            "pain_before": {"Description": "Pain rating before the session, 0-10 numeric rating scale (LOINC 72514-3)."},
            "pain_after": {"Description": "Pain rating after the session, 0-10 numeric rating scale (LOINC 72514-3)."},
            "session_uid": {"Description": "The session's random id in gmi-vr, the same in every store it is carried "
                            "to: gmi-vr refuses to put another session under a label already taken."},
        },
    )  # fmt: skip


_EVENT_COLUMNS = ["onset", "duration", "trial_type", "kind", "task", "program_stage", "feedback", "feedback_delay_ms",
                  "limb_mode", "stimulus", "body_part", "side", "rotation", "view", "answer", "correct",
                  "response_time", "value"]  # fmt: skip

#: Trial kinds of the store that are a ``trial_type`` of their own; other kinds are "other_trial".
_TRIAL_TYPES = ("laterality", "imagery", "vividness", "range_of_motion", "observation")
#: Recorded events exported, by kind, with their ``trial_type``; other events of these
#: groups are "safety_other", "session_other" and "error" (the ``kind`` column names them).
_EVENT_TYPES = {
    "safety.flare": "safety_flare", "safety.stop": "safety_stop", "stage.change": "stage_change",
    "session.start": "session_start", "session.pause": "session_pause", "session.resume": "session_resume",
    "session.end": "session_end", "haptic.pulse": "haptic_pulse",
    "body.mode": "limb_mode", "body.hand_scale": "hand_size", "body.feedback": "feedback_condition",
}  # fmt: skip
#: The affected limb's display modes (``body.LimbMode``'s values, ``limb_mode`` column).
_LIMB_MODES = {
    "mirror": "the healthy limb reflected across the body's midline",
    "real": "the affected limb's own tracking",
    "blend": "between the reflection and its own tracking (value column: the share of its own)",
    "still": "resting where it lies, for imagined movement",
}
_EVENT_GROUPS = {"safety.": "safety_other", "stage.": "stage_change", "session.": "session_other", "error": "error"}


#: Characters a ``kind`` value may not hold: HED reads it as a label (letters, digits, - and _).
_NOT_NAME_LIKE = re.compile(r"[^A-Za-z0-9_-]")


def _event_type(kind: str) -> str | None:
    """The ``trial_type`` of a recorded event, None for events the file leaves out."""
    if kind in _EVENT_TYPES:
        return _EVENT_TYPES[kind]
    return next((group for prefix, group in _EVENT_GROUPS.items() if kind.startswith(prefix)), None)


def _events(store: SessionStore, session: SessionInfo, t0_ns: int) -> tuple[list[str], list[list[Any]]]:
    """The rows of a session's ``events.tsv``: onsets in seconds from the first motion sample."""
    t0 = t0_ns / 1e9
    rows: list[list[Any]] = []

    def row(onset: float, duration: float | None, trial_type: str, kind: str, **extra: Any) -> None:
        values = {"onset": round(onset - t0, 6), "duration": duration, "trial_type": trial_type,
                  "kind": _NOT_NAME_LIKE.sub("_", kind), **extra}  # fmt: skip
        rows.append([values.get(c) for c in _EVENT_COLUMNS])

    blocks = {b.seq: b for b in store.blocks(session.id)}
    tasks = {t.seq: t for t in store.tasks(session.id)}

    def condition(task_seq: int | None) -> dict[str, Any]:
        """The task and the block condition a trial or repetition ran under."""
        task = tasks.get(task_seq) if task_seq is not None else None
        block = blocks.get(task.block_seq) if task is not None and task.block_seq is not None else None
        params = (block.params if block is not None else None) or {}
        return {"task": task.kind if task is not None else None, "program_stage": params.get("stage"),
                "feedback": params.get("feedback"), "feedback_delay_ms": params.get("feedback_delay_ms")}  # fmt: skip

    for block in blocks.values():
        params = block.params or {}
        length = round(block.end_s - block.start_s, 6) if block.end_s is not None else None
        row(block.start_s, length, "block", kind=block.stage, task=block.stage, program_stage=params.get("stage"),
            feedback=params.get("feedback"), feedback_delay_ms=params.get("feedback_delay_ms"))  # fmt: skip
    for trial in store.trials(session.id):
        m = trial.measures or {}
        ended, started = m.get("ended_at_s"), m.get("started_at_s")
        length = trial.reaction_time_s if trial.reaction_time_s is not None else (
            round(ended - started, 6) if isinstance(ended, float | int) and isinstance(started, float | int) else None)
        row(
            trial.onset_s, length, trial.kind if trial.kind in _TRIAL_TYPES else "other_trial", kind=trial.kind,
            **condition(trial.task_seq), stimulus=m.get("mesh") or m.get("movement"), body_part=trial.body_part,
            side=trial.side, rotation=trial.rotation_deg, view=trial.view, answer=trial.answer,
            correct=None if trial.correct is None else int(trial.correct), response_time=trial.reaction_time_s,
            value=m.get("value") if trial.kind == "vividness" else None,
        )  # fmt: skip
    for repetition in store.repetitions(session.id):
        row(repetition.onset_s, repetition.duration_s, "repetition", kind="repetition", **condition(repetition.task_seq))
    for rating in store.ratings(session.id):
        if rating.time_s is not None:
            row(rating.time_s, 0, "pain_rating", kind=f"pain_rating_{rating.phase}", value=rating.value)
    for event in store.events(session.id):
        trial_type, data = _event_type(event.kind), event.data or {}
        if trial_type == "haptic_pulse":  # how long, on which hand, how strong (value)
            row(event.time_s, data.get("duration_s"), trial_type, kind=event.kind, side=data.get("side"),
                value=data.get("amplitude"))
        elif trial_type == "limb_mode":  # what the affected limb shows from now on
            row(event.time_s, 0, trial_type, kind=event.kind, limb_mode=data.get("mode"), value=data.get("blend"))
        elif trial_type == "hand_size":
            row(event.time_s, 0, trial_type, kind=event.kind, value=data.get("scale"))
        elif trial_type == "feedback_condition":
            row(event.time_s, 0, trial_type, kind=event.kind, feedback=data.get("feedback"),
                feedback_delay_ms=data.get("feedback_delay_ms"))
        elif trial_type is not None:
            row(event.time_s, 0, trial_type, kind=event.kind)
    rows.sort(key=lambda r: float(r[0]))
    # The same record twice at one moment says nothing more, and HED reads it as an error.
    unique = [r for i, r in enumerate(rows) if i == 0 or r != rows[i - 1]]
    return _EVENT_COLUMNS, unique


#: ``trial_type`` levels: what each is, and its HED annotation (HED ``HED_VERSION``).
_TRIAL_TYPE_LEVELS: dict[str, tuple[str, str]] = {
    "block": ("a block of one task of the program (task column), with its visual-feedback condition",
              "Experiment-structure"),
    "laterality": ("a left/right judgement trial: a picture of a body part was shown and the patient answered "
                   "which side it is", "Sensory-event, Experimental-stimulus, Visual-presentation, (Image, Body-part)"),
    "imagery": ("an explicit motor imagery trial: a movement was demonstrated, then imagined",
                "Sensory-event, Experimental-stimulus, Visual-presentation, (Experiment-participant, Imagine, Move)"),
    "vividness": ("the patient rated how vivid the imagined movements were, 1-5 (value column)",
                  "Agent-action, Participant-response, (Experiment-participant, Judge)"),
    "range_of_motion": ("the affected hand's largest comfortable excursion in one direction was measured",
                        "Agent-action, Measurement-event, (Experiment-participant, Move)"),
    "observation": ("a look-only period of mirror therapy: the patient watched the reflection",
                    "Sensory-event, Visual-presentation, (Experiment-participant, Attend-to)"),
    "other_trial": ("a trial of another kind (kind column)", "Experimental-trial"),
    "repetition": ("one repetition of a movement task (mirror therapy or graded movement)",
                   "Agent-action, (Experiment-participant, Move)"),
    "pain_rating": ("a 0-10 pain rating (value column)", "Agent-action, Participant-response, (Experiment-participant, Judge)"),
    "safety_flare": ("a pain flare: the rating rose past the program's limit, movement stopped", "Experiment-control"),
    "safety_stop": ("the patient or the therapist stopped the session", "Experiment-control"),
    "safety_other": ("another safety event (kind column: time cap, break, alert)", "Experiment-control"),
    "stage_change": ("the therapy stage changed", "Experiment-structure"),
    "session_start": ("the session started", "Experiment-control"),
    "session_pause": ("the session was paused", "Experiment-control"),
    "session_resume": ("the session resumed", "Experiment-control"),
    "session_end": ("the session ended", "Experiment-control"),
    "session_other": ("another session event (kind column)", "Experiment-control"),
    "error": ("an error occurred", "Experiment-control"),
    "haptic_pulse": ("a vibration in the patient's hand (side column; its strength, 0-1 of the controller's "
                     "strongest, in the value column)", "Sensory-event, Tactile-presentation"),
    "limb_mode": ("what the affected limb shows from now on (limb_mode column), set by the task or the therapist",
                  "Experiment-control"),
    "hand_size": ("the therapist changed the affected hand's displayed size (value column: its scale, 1 = as "
                  "measured)", "Experiment-control"),
    "feedback_condition": ("the visual-feedback condition from now on (feedback and feedback_delay_ms columns): "
                           "a research block's, or the live mirror again after it", "Experiment-control"),
}  # fmt: skip


def _events_sidecar(files: _Files, out_dir: Path) -> None:
    files.json(
        out_dir / f"task-{TASK}_events.json",
        {
            "onset": {"Description": "Time from the first motion sample of the session (the latency channel's 0).",
                      "Units": "s"},
            "duration": {"Description": "How long it lasted: a block's length, a trial's response time or "
                         "measured period, a repetition's movement; 0 for a moment; n/a when unknown.", "Units": "s"},
            "trial_type": {"Description": "What happened.",
                           "Levels": {k: d for k, (d, _) in _TRIAL_TYPE_LEVELS.items()},
                           # One group per row with its kind, so that two rows at one onset stay two events.
                           "HED": {k: f"({h}, {{kind}})" for k, (_, h) in _TRIAL_TYPE_LEVELS.items()}},
            "kind": {"Description": "The record's name in the gmi-vr store, with '.' written as '_': a block's "
                     "task, a trial's kind, pain_rating_<before|during|after>, or an event's kind (for example "
                     "safety_time_cap for safety.time_cap).", "HED": "Label/#"},
            "task": {"Description": "The program task the row belongs to (laterality, imagery, mirror_reach, ...)."},
            "program_stage": {"Description": "The program's stage when the block ran.", "Levels": _PROGRAM_STAGES},
            "feedback": {"Description": "The visual-feedback condition a research program set for the block (for "
                         "example delayed, sham or hidden affected limb); n/a where none was set, which is the "
                         "live mirror of a clinical program. The patient's view never announces it."},
            "feedback_delay_ms": {"Description": "Delay added to the displayed affected limb in the block; n/a where "
                                  "none was set.", "Units": "ms", "HED": "(Delay/# ms, (Visual-presentation))"},
            "limb_mode": {"Description": "How the affected limb is shown from a limb_mode row on; n/a on other "
                          "rows.", "Levels": _LIMB_MODES},
            "stimulus": {"Description": "What was shown: the laterality picture's model, or the movement "
                         "demonstrated for imagery."},
            "body_part": {"Description": "Body part shown in the trial's picture or moved."},
            "side": {"Description": "Side of the body part shown or moved.", "Levels": {"left": "left", "right": "right"}},
            "rotation": {"Description": "Rotation of the picture from upright.", "Units": "deg"},
            "view": {"Description": "View of the body part shown (for a hand: back or palm)."},
            "answer": {"Description": "Side the patient answered; n/a when not answered.",
                       "Levels": {"left": "left", "right": "right"}},
            "correct": {"Description": "1 if the answer was right, 0 if wrong, n/a when not answered.",
                        "Levels": {"0": "wrong", "1": "right"},
                        "HED": {"0": "Incorrect-action", "1": "Correct-action"}},
            "response_time": {"Description": "Time from the picture's onset to the answer; n/a when not answered.",
                              "Units": "s", "HED": "(Delay/# s, (Participant-response))"},
            "value": {"Description": "The rating given: pain on the 0-10 numeric rating scale (LOINC 72514-3) for "
                      "pain_rating rows, vividness 1-5 for vividness rows; for haptic_pulse rows, the vibration's "
                      "amplitude, 0-1 of the controller's strongest; for limb_mode rows, the share of the affected "
                      "limb's own tracking shown (0 the reflection, 1 its own); for hand_size rows, the affected "
                      "hand's displayed scale (1 = as measured)."},
            "StimulusPresentation": {
                "SoftwareName": "gmi-vr",
                "SoftwareVersion": _software_version().removeprefix("gmi-vr ") or "n/a",
                "OperatingSystem": f"{platform.system()} {platform.release()}",
            },
        },
    )  # fmt: skip
