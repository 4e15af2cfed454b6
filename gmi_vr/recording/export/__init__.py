"""Exports of a recorded session: Motion-BIDS, tidy CSV tables, FHIR pain ratings.

``export_session(store, session_id, fmt, out_dir)`` is the one entry point for a session (the
CLI's ``gmi-vr export SESSION --format bids|csv|fhir --out DIR``); it returns the files written.
``plan_study`` then ``export_study`` write a whole study as one BIDS dataset (``gmi-vr export
--format bids --patients P1,P2 | --all --out DIR``), through the same writer as a session.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gmi_vr.core.errors import GmiError
from gmi_vr.recording.store import SessionStore

if TYPE_CHECKING:
    from gmi_vr.recording.export.bids import StudyExport, StudyPlan

ExportFormat = Literal["bids", "csv", "fhir"]
FORMATS: tuple[ExportFormat, ...] = ("bids", "csv", "fhir")


class ExportError(GmiError):
    """An export cannot be written (unknown format, nothing to export, output not writable)."""

    exit_code = 9


def export_session(
    store: SessionStore, session_id: int, fmt: ExportFormat, out_dir: str | os.PathLike[str], shift_days: int = 0
) -> list[Path]:
    """Write session ``session_id`` in format ``fmt`` under ``out_dir``; returns the files.
    ``shift_days`` (BIDS only) moves every date of the export by that many days."""
    from gmi_vr.recording.export.bids import export_bids
    from gmi_vr.recording.export.fhir import export_fhir
    from gmi_vr.recording.export.tables import export_csv

    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    session = store.session(session_id)
    out = Path(out_dir)
    if fmt == "bids" and not store.motion_chunks(session_id):
        raise ExportError(f"Session {session_id} has no recorded motion, so there is no Motion-BIDS data to export; try --format csv.")
    if shift_days and fmt != "bids":
        raise ExportError("--shift-dates is for research exports (--format bids); CSV and FHIR keep the true dates.")
    try:
        if fmt == "bids":
            return export_bids(store, session, out, shift_days)
        writer = {"csv": export_csv, "fhir": export_fhir}[fmt]
        return writer(store, session, out)
    except OSError as error:
        raise ExportError(f"Cannot write the export to {out} ({error.strerror}); choose a writable folder with --out.") from error


def plan_study(store: SessionStore, patient_ids: Sequence[str] | None) -> StudyPlan:
    """The sessions a whole-study export of ``patient_ids`` (every patient when None) writes,
    and those it leaves out with why (``bids.plan_study``)."""
    from gmi_vr.recording.export import bids

    return bids.plan_study(store, patient_ids)


def export_study(
    store: SessionStore, plan: StudyPlan, out_dir: str | os.PathLike[str], shift_days: int = 0
) -> StudyExport:
    """Write ``plan`` as one BIDS dataset under ``out_dir``, or update the one gmi-vr wrote there."""
    from gmi_vr.recording.export import bids

    out = Path(out_dir)
    try:
        return bids.export_study(store, plan, out, shift_days)
    except OSError as error:
        raise ExportError(f"Cannot write the export to {out} ({error.strerror}); choose a writable folder with --out.") from error
