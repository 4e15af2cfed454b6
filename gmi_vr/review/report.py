"""Writing a report: a patient's progress over a period, or one session in detail, as one
self-contained HTML file or as a PDF.

Route: ``figures_data`` reads the store into plain data → ``document`` lays it out as
sections (tables and figures, the same for both formats) → ``html`` fills the Jinja2 template
with the figures as inline SVG, or ``pdf`` draws the same sections on A4 pages with
matplotlib's PDF backend (vector figures and real text, no browser or HTML engine).

The output path is checked before anything is read (``check_output``), and the file is
written to a temporary name beside it and renamed at the end: a failed report never leaves
half a file, nor replaces an older report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from gmi_vr import __version__
from gmi_vr.recording.privacy import FILE_MODE
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.figures_data import (
    EventLine,
    HistoryLine,
    PatientReview,
    PatientSummary,
    Progress,
    SessionPoint,
    SessionReview,
    no_progress,
    patient_review,
    session_review,
)
from gmi_vr.review.report_errors import ReportError

if TYPE_CHECKING:
    from matplotlib.figure import Figure, FigureBase

    from gmi_vr.review.figures import FigureSpec

FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}
STAGE_NAMES = {1: "left/right judgement", 2: "explicit motor imagery", 3: "mirror therapy",
               4: "graded movement"}  # fmt: skip


# --- the document both formats show --------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, and whether it is a number (right-aligned)."""
    text: str
    num: bool = False


@dataclass(frozen=True)
class Row:
    """One table row; ``css`` marks a session that did no work."""
    cells: tuple[Cell, ...]
    css: str = ""  # "nowork": a session that did no work (shown, not counted)


@dataclass(frozen=True)
class TableSection:
    """A report section holding a table: its key, title, header, rows and a note."""
    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""


@dataclass(frozen=True)
class FigureSection:
    """A report section holding one figure: its key, title, caption and what to draw."""
    key: str
    title: str
    caption: str
    spec: FigureSpec


Section = TableSection | FigureSection


@dataclass(frozen=True)
class Document:
    """A whole report as plain data, drawn by the HTML template or the PDF writer."""
    title: str
    subtitle: str
    patient: PatientSummary
    sections: tuple[Section, ...]
    history: tuple[HistoryLine, ...] | None = None  # patient reports only
    norms: tuple[tuple[str, str], ...] = field(default=())


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.0f} %"


def _sec(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f} s"


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def _opt(value: object) -> str:
    return "–" if value is None else str(value)


def _period(since: date | None, until: date | None) -> str:
    if since is None and until is None:
        return "all sessions"
    return f"sessions from {since or 'the first'} to {until or 'the last'}"


def _session_row(p: SessionPoint) -> Row:
    left, right = p.sides.get("left"), p.sides.get("right")
    notes = []
    if not p.has_work:
        notes.append("no work recorded (not counted)")
    if p.pain_flare:
        notes.append("pain flare")
    if p.stops:
        notes.append("stopped: " + ", ".join(p.stops))
    if p.dropped_frames:
        notes.append(f"{p.dropped_frames} frames lost")
    return Row((
        Cell(str(p.session_id), True), Cell(p.started_at.strftime("%Y-%m-%d %H:%M")), Cell(p.where), Cell(p.status),
        Cell(_opt(p.stage), True), Cell(_minutes(p.duration_s), True), Cell(" > ".join(p.stages) or "–"),
        Cell(_pct(left.accuracy if left else None), True), Cell(_sec(left.median_rt_s if left else None), True),
        Cell(_pct(right.accuracy if right else None), True), Cell(_sec(right.median_rt_s if right else None), True),
        Cell(f"{_opt(p.pain_before)} → {_opt(p.pain_after)}"), Cell("; ".join(notes)),
    ), "" if p.has_work else "nowork")  # fmt: skip


SESSION_HEADER = ("id", "started (UTC)", "where", "status", "stage", "min", "blocks", "left acc.", "left RT",
                  "right acc.", "right RT", "pain", "notes")  # fmt: skip


def _event_rows(events: Sequence[EventLine], with_session: bool) -> tuple[Row, ...]:
    return tuple(Row(((Cell(str(e.session_id), True), Cell(e.started_at.strftime("%Y-%m-%d")))
                      if with_session else ())
                     + (Cell("–" if e.time_s is None else f"{e.time_s:.1f}", True), Cell(e.what), Cell(e.detail)))
                 for e in events)  # fmt: skip


def _figure_sections(specs: Sequence[FigureSpec]) -> tuple[FigureSection, ...]:
    return tuple(FigureSection(s.key, s.title, s.caption, s) for s in specs)


def patient_document(review: PatientReview) -> Document:
    """The patient report of ``review``: its sessions, the figures, stops, flares and recording
    losses, and the program history."""
    from gmi_vr.review.figures import patient_figures

    p = review.patient
    counted = review.counted
    subtitle = (f"{_period(review.since, review.until)}: {len(review.sessions)} session(s), "
                f"{len(counted)} with recorded work. Made {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.")  # fmt: skip
    title = f"Progress report: patient {p.id}"
    if not review.sessions:
        note = f"No sessions are recorded for {p.id} in this period ({_period(review.since, review.until)})."
        sessions = TableSection("sessions", "Sessions", SESSION_HEADER, (), note)
        return Document(title, subtitle, p, (sessions,), review.history, review.norms_used)
    sessions = TableSection("sessions", "Sessions", SESSION_HEADER,
                            tuple(_session_row(s) for s in review.sessions),
                            "Sessions in grey recorded no trials, repetitions or ratings: they are "
                            "listed, but not counted in the figures." if len(counted) < len(review.sessions) else "")  # fmt: skip
    events = TableSection("events", "Stops, flares and recording losses",
                          ("session", "date", "at (s)", "what", "detail"), _event_rows(review.events, True),
                          "" if review.events else "No stops, flares or recording losses in this period.")  # fmt: skip
    return Document(title, subtitle, p, (sessions, _practice_section(review), *_figure_sections(patient_figures(review)),
                                         events), review.history, review.norms_used)  # fmt: skip


PRACTICE_HEADER = ("week of", "stage", "days", "clinic visits", "practice sessions", "done a day",
                   "prescribed a day", "of prescription", "by task: done/prescribed a day")  # fmt: skip


def _practice_section(review: PatientReview) -> TableSection:
    """Practice between visits, week by week, against the prescription (``Program.practice``)."""
    rows = []
    for week in review.practice:
        d = week.dose
        prescribed = sum(t.prescribed_per_day for t in d.tasks)
        rows.append(Row((
            Cell(f"{week.monday}"), Cell(str(week.stage), True), Cell(str(d.days), True), Cell(str(d.visits), True),
            Cell(str(d.practice_sessions), True),
            Cell(f"{d.practice_sessions / d.days:.1f} sessions, {d.practice_minutes / d.days:.1f} min"),
            Cell(f"{prescribed:g} min" if d.tasks else "none"),
            Cell("–" if d.fraction is None else f"{d.fraction * 100:.0f} %", True),
            Cell("; ".join(t.short() for t in d.tasks) or "–"),
        )))  # fmt: skip
    note = ("Practice: sessions at home or on a desktop (minutes of their task blocks); clinic visits: the "
            "other sessions. Prescribed: the program's practice for the week's stage, as set now "
            "(CLINICAL.md \"Practice between visits\": laterality every waking 1-2 hours, mirror 3-10 short "
            "sessions a day). Each task counts up to its own prescription.")  # fmt: skip
    return TableSection("practice", "Practice between visits against the prescription", PRACTICE_HEADER,
                        tuple(rows), note)


def session_document(review: SessionReview) -> Document:
    """The report of one session: its summary row, figures, judgements, pain ratings, movement
    repetitions, changes made during it, and stops, flares and recording losses."""
    from gmi_vr.review.figures import session_figures

    pt = review.point
    title = f"Session {pt.session_id}: patient {review.patient.id}"
    subtitle = (f"Started {pt.started_at:%Y-%m-%d %H:%M} UTC, {_minutes(pt.duration_s)} min, "
                f"status {pt.status}, stage {_opt(pt.stage)}. Made {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.")  # fmt: skip
    summary = TableSection("session", "Session", SESSION_HEADER, (_session_row(pt),))
    trials = TableSection(
        "trials", "Left/right judgements", ("#", "block", "side shown", "rotation", "view", "answer", "correct", "RT", "answered by"),
        tuple(Row((Cell(str(i + 1), True), Cell(str(t.block + 1), True), Cell(t.side), Cell(f"{t.rotation_deg}°", True),
                   Cell(t.view), Cell(t.answer or "no answer"), Cell("yes" if t.correct else "no"),
                   Cell(_sec(t.rt_s), True), Cell(_opt(t.answered_by))))
              for i, t in enumerate(review.trials)),
        "" if review.trials else "No left/right judgements in this session.",
    )  # fmt: skip
    ratings = TableSection(
        "ratings", "Pain ratings", ("at (s)", "NRS", "phase", "given by"),
        tuple(Row((Cell("later" if r.time_s is None else f"{r.time_s:.1f}", True), Cell(str(r.value), True),
                   Cell(r.phase), Cell(r.source))) for r in review.ratings),
        "" if review.ratings else "No pain ratings in this session.",
    )  # fmt: skip
    reps = TableSection(
        "repetitions", "Movement repetitions", ("task", "#", "completed", "duration", "SPARC", "target error", "sync error"),
        tuple(Row((Cell(_opt(r.get("task"))), Cell(_opt(r.get("repetition_index")), True),
                   Cell("yes" if r.get("completed") else "no"), Cell(_sec(r.get("duration_s")), True),
                   Cell("–" if r.get("sparc") is None else f"{r['sparc']:.2f}", True),
                   Cell("–" if r.get("target_error_m") is None else f"{r['target_error_m'] * 100:.1f} cm", True),
                   Cell("–" if r.get("sync_error_m") is None else f"{r['sync_error_m'] * 100:.1f} cm", True)))
              for r in review.repetitions),
        "" if review.repetitions else "No movement repetitions in this session.",
    )  # fmt: skip
    live = TableSection("live", "Changes made during the session", ("at (s)", "what", "detail"),
                        _event_rows(review.live_changes, False),
                        "" if review.live_changes else "No changes were made during the session.")  # fmt: skip
    events = TableSection("events", "Stops, flares and recording losses", ("at (s)", "what", "detail"),
                          _event_rows(review.events, False),
                          "" if review.events else "No stops, flares or recording losses.")  # fmt: skip
    sections: tuple[Section, ...] = (summary, *_figure_sections(session_figures(review)), trials, ratings,
                                     reps, live, events)  # fmt: skip
    return Document(title, subtitle, review.patient, sections)


# --- HTML ------------------------------------------------------------------------------------


def render_html(doc: Document, progress: Progress = no_progress) -> str:
    """The document as one HTML page; figures inline as SVG."""
    from importlib import resources

    import jinja2

    from gmi_vr.review.figures import svg

    text = resources.files("gmi_vr.review").joinpath("templates/report.html.j2").read_text("utf-8")
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(text)
    figures = [s for s in doc.sections if isinstance(s, FigureSection)]
    sections: list[dict[str, object]] = []
    done = 0
    for section in doc.sections:
        if isinstance(section, TableSection):
            sections.append({"key": section.key, "title": section.title, "header": section.header,
                             "rows": section.rows, "note": section.note})  # fmt: skip
            continue
        progress("drawing figures", done, len(figures))
        drawn = section.spec.draw(None) if section.spec.draw is not None else None
        sections.append({"key": section.key, "title": section.title, "caption": section.caption,
                         "svg": svg(cast("Figure", drawn)) if drawn is not None else ""})  # fmt: skip
        done += 1
    progress("drawing figures", done, len(figures))
    context: dict[str, object] = {
        "title": doc.title, "subtitle": doc.subtitle, "patient": doc.patient, "sections": sections,
        "norms": doc.norms, "stage_names": STAGE_NAMES, "version": __version__,
    }  # fmt: skip
    if doc.history is not None:
        context["history"] = doc.history
    return template.render(**context)


# --- PDF -------------------------------------------------------------------------------------

PAGE_IN = (8.27, 11.69)  # A4 portrait, inches
MARGIN_IN = 0.55
LINE_IN = 0.16  # one table line at 6.5 pt
FIGURE_IN = 2.7


@dataclass
class _Block:
    """Something placed on a page: ``height`` inches; ``draw(subfigure)`` draws it there."""

    height: float
    draw: Callable[[FigureBase], None]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


def _text_block(lines: Sequence[tuple[str, float, str, str]]) -> _Block:
    """Lines of (text, size pt, weight, family), each ``size * 1.5`` points high."""
    heights = [size * 1.5 / 72 for _, size, _, _ in lines]
    total = sum(heights) + 0.04

    def draw(sub: FigureBase) -> None:
        y = 1.0
        for (text, size, weight, family), h in zip(lines, heights, strict=True):
            y -= h / total
            sub.text(0.0, y, text, fontsize=size, fontweight=weight, family=family, va="bottom", ha="left")

    return _Block(total, draw)


def _table_lines(section: TableSection) -> list[str]:
    """The table as fixed-width lines (cells clipped to keep the page's width)."""
    rows = [list(section.header)] + [[c.text for c in r.cells] for r in section.rows]
    widths = [min(34, max(len(row[i]) for row in rows)) for i in range(len(section.header))]
    return ["  ".join(_clip(cell, w).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]  # fmt: skip


def _blocks(doc: Document) -> list[_Block]:
    mono, sans = "DejaVu Sans Mono", "DejaVu Sans"
    blocks = [_text_block([(doc.title, 15, "bold", sans)] + [(line, 8, "normal", sans) for line in _wrap(doc.subtitle, 110)])]
    p = doc.patient
    patient_lines = [("Patient", 11, "bold", sans),
                     (f"pseudonymous id {p.id}; affected {p.affected_side} {p.body_part.replace('_', '/')}; "
                      f"age band {p.age_band}; current stage {p.stage} ({STAGE_NAMES.get(p.stage, '')})",
                      8, "normal", sans)]  # fmt: skip
    blocks.append(_text_block(patient_lines))
    if doc.history is not None:
        history = TableSection("history", "Program history, proposals and decisions", ("when (UTC)", "who", "what", "detail", "reason"),
                               tuple(Row((Cell(h.at.strftime("%Y-%m-%d %H:%M")), Cell(h.actor), Cell(h.what),
                                          Cell(h.detail), Cell(h.reason))) for h in doc.history),
                               "" if doc.history else "Nothing in the audit trail yet.")  # fmt: skip
        blocks += _table_blocks(history)
    for section in doc.sections:
        if isinstance(section, TableSection):
            blocks += _table_blocks(section)
        else:
            blocks.append(_figure_block(section))
    if doc.norms:
        norms = TableSection("norms", "Norms and thresholds used, and their sources", ("what", "source"),
                             tuple(Row((Cell(w), Cell(s))) for w, s in doc.norms))  # fmt: skip
        lines = [("Norms and thresholds used, and their sources", 11, "bold", sans)]
        for row in norms.rows:
            wrapped = _wrap(f"{row.cells[0].text}: {row.cells[1].text}", 120)
            lines += [(text, 7, "normal", sans) for text in wrapped]
        blocks.append(_text_block(lines))
    blocks.append(_text_block([(f"Made by gmi-vr {__version__} from the session store; times are UTC.", 7, "normal", mono)]))
    return blocks


def _table_blocks(section: TableSection) -> list[_Block]:
    """A heading and the table in blocks of at most a page's lines (a long table continues
    on the next page with its header repeated)."""
    mono, sans = "DejaVu Sans Mono", "DejaVu Sans"
    lines = _table_lines(section) if section.rows else []
    per_page = int((PAGE_IN[1] - 2 * MARGIN_IN - 0.6) / (6.5 * 1.5 / 72))
    blocks = []
    header, body = (lines[0], lines[1:]) if lines else ("", [])
    first = True
    for start in range(0, max(1, len(body)), per_page - 1):
        chunk = body[start : start + per_page - 1]
        text: list[tuple[str, float, str, str]] = []
        if first:
            text.append((section.title, 11, "bold", sans))
        if lines:
            text += [(header, 6.5, "bold", mono)] + [(line, 6.5, "normal", mono) for line in chunk]
        first = False
        blocks.append(_text_block(text))
    if section.note:
        blocks.append(_text_block([(line, 7.5, "normal", sans) for line in _wrap(section.note, 120)]))
    return blocks


def _figure_block(section: FigureSection) -> _Block:
    sans = "DejaVu Sans"
    title = _text_block([(section.title, 11, "bold", sans)])
    caption = _text_block([(line, 7.5, "normal", sans) for line in _wrap(section.caption, 120)])
    draw_figure = section.spec.draw
    height = title.height + caption.height + (FIGURE_IN if draw_figure is not None else 0.0)

    def draw(sub: FigureBase) -> None:
        parts = [title.height] + ([FIGURE_IN] if draw_figure is not None else []) + [caption.height]
        subs = [row[0] for row in sub.subfigures(len(parts), 1, squeeze=False, height_ratios=parts)]
        title.draw(subs[0])
        if draw_figure is not None:
            draw_figure(subs[1])
        caption.draw(subs[-1])

    return _Block(height, draw)


def render_pdf(doc: Document, out: Path, progress: Progress = no_progress) -> int:
    """Draw the document on A4 pages into ``out`` (a PDF); returns the number of pages."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    usable = PAGE_IN[1] - 2 * MARGIN_IN
    pages: list[list[_Block]] = [[]]
    used = 0.0
    for block in _blocks(doc):
        if pages[-1] and used + block.height > usable:
            pages.append([])
            used = 0.0
        pages[-1].append(block)
        used += block.height
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(out, metadata={"Title": doc.title, "Creator": f"gmi-vr {__version__}"}) as pdf:  # fmt: skip
        for number, blocks in enumerate(pages, start=1):
            progress("drawing pages", number - 1, len(pages))
            page = Figure(figsize=PAGE_IN)
            heights = [b.height for b in blocks]
            rest = max(0.01, usable - sum(heights))
            frame = page.add_gridspec(len(blocks) + 2, 1, height_ratios=[MARGIN_IN, *heights, rest + MARGIN_IN],
                                      left=MARGIN_IN / PAGE_IN[0], right=1 - MARGIN_IN / PAGE_IN[0],
                                      top=1.0, bottom=0.0, hspace=0.0)  # fmt: skip
            for i, block in enumerate(blocks):
                block.draw(page.add_subfigure(frame[i + 1, 0]))
            page.text(0.5, 0.4 / PAGE_IN[1], f"{doc.title} — page {number} of {len(pages)}", ha="center", fontsize=7, color="#666666")
            pdf.savefig(page)
        progress("drawing pages", len(pages), len(pages))
    return len(pages)


# --- writing ---------------------------------------------------------------------------------


def check_output(out: Path, what: str = "report") -> str:
    """The format for ``out`` ("html" or "pdf"), after checking that it can be written;
    ReportError in one sentence otherwise. Runs before the store is read (fail early)."""
    if out.is_dir():
        raise ReportError(f"{out} is a folder; give a file name ending in .html or .pdf.")
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise ReportError(f"Cannot tell the {what}'s format from '{out.name}'; end the name in .html or .pdf.")
    folder = out.parent
    if not folder.is_dir():
        raise ReportError(f"The folder {folder} does not exist; create it or choose another output path.")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ReportError(f"Cannot write {out} (no permission); choose another output path.")
    return kind


def _write(out: Path, kind: str, doc: Document, progress: Progress) -> None:
    def draw(temp: Path) -> None:
        if kind == "html":
            temp.write_text(render_html(doc, progress), encoding="utf-8")
        else:
            render_pdf(doc, temp, progress)

    write_atomically(out, draw)


def write_atomically(out: Path, draw: Callable[[Path], None]) -> None:
    """``draw`` writes the file at a temporary path beside ``out``, which then replaces
    ``out``: a failure leaves neither half a file nor an older file changed."""
    temp = ""
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        os.close(handle)
        draw(Path(temp))
        os.chmod(temp, FILE_MODE)  # health data: this account only (recording/privacy.py)
        os.replace(temp, out)
    except OSError as error:
        raise ReportError(f"Cannot write {out} ({error.strerror}); choose another output path.") from None
    finally:
        if temp and os.path.exists(temp):
            os.unlink(temp)


def write_patient_report(store: SessionStore, patient_id: str, out: Path, since: date | None = None,
                         until: date | None = None, progress: Progress = no_progress) -> Path:
    """The patient's progress report over the period, written to ``out`` (.html or .pdf)."""
    kind = check_output(out)
    review = patient_review(store, patient_id, since, until, progress)
    _write(out, kind, patient_document(review), progress)
    return out


def write_session_report(store: SessionStore, session_id: int, out: Path,
                         progress: Progress = no_progress) -> Path:
    """One session's report, written to ``out`` (.html or .pdf)."""
    kind = check_output(out)
    progress("reading the session", 0, 1)
    review = session_review(store, session_id)
    progress("reading the session", 1, 1)
    _write(out, kind, session_document(review), progress)
    return out
