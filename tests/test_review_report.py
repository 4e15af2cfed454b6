"""Progress reports on real SQLite stores: the numbers a report shows are the store's
(per-side accuracy and median RT, pain before and after, minutes per week), every figure is
drawn with axes and data, the PDF opens with its pages and text, and the edge cases (no
sessions, one session, many days, a session with no work) give honest reports."""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from review_synth import Plan, SideTrials, record_session
from support.clinic_store import store_with_patient

from gmi_vr.app.patients import patient_program
from gmi_vr.app.session_setup import session_pipeline
from gmi_vr.recording.rows import EventRecord
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.figures_data import patient_review, session_point, session_review, stage_spans
from gmi_vr.review.report import write_patient_report, write_session_report
from gmi_vr.therapy.results.scoring import NORMS, SRC_RT_S
from gmi_vr.xr.sim_source import ScriptedFrameSource, parse_motion

MONDAY = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
PATIENT_FIGURES = ("dose", "accuracy", "reaction_time", "gap", "rotation", "imagery", "movement", "pain")
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionStore]:
    with store_with_patient(tmp_path, monkeypatch, "P-1", age_years=54) as opened:
        yield opened


def full_plan(day: int, k: int = 0, **changes: object) -> Plan:
    """A session ``day`` days after MONDAY with every kind of record (laterality, imagery,
    mirror repetitions, range of motion, pain)."""
    values: dict[str, object] = dict(
        started_at=MONDAY + timedelta(days=day), minutes=1.5,
        left=SideTrials(16, 12 + k, 1.9 - 0.1 * k, rt_per_90_s=0.12), right=SideTrials(16, 15, 1.2, rt_per_90_s=0.1),
        pain=(max(0, 6 - k // 2), max(0, 5 - k // 2)), blocks=(("laterality", 2.0, 50.0), ("mirror", 50.0, 85.0)),
        imagery_ratios=(1.4 - 0.1 * k, 1.2), vividness=(3,), repetitions=((-1.6 + 0.1 * k, 0.04, 0.02),) * 3,
        rom_m={"forward": 0.30 + 0.02 * k, "up": 0.22},
    )  # fmt: skip
    values.update(changes)
    return Plan(**values)  # type: ignore[arg-type]


def record_many(store: SessionStore, days: list[int]) -> list[int]:
    program = patient_program(store, "P-1")
    return [record_session(store, "P-1", program, full_plan(day, k)) for k, day in enumerate(days)]


def expected_side(store: SessionStore, session_id: int, side: str) -> tuple[float, float]:
    """Accuracy and median RT of correct answers of one side, straight from the store's rows."""
    rows = [t for t in store.trials(session_id) if t.kind == "laterality" and t.side == side]
    correct = [t.reaction_time_s for t in rows if t.correct]
    return sum(bool(t.correct) for t in rows) / len(rows), statistics.median(correct)


def figures_in(html: str) -> dict[str, ET.Element]:
    """Each figure's inline SVG by its section id."""
    found = re.findall(r'<h2 id="([a-z_]+)">[^<]*</h2>\s*<figure>\s*(<svg.*?</svg>)', html, re.S)
    return {key: ET.fromstring(svg) for key, svg in found}


def data_lines(svg: ET.Element) -> list[str]:
    """Path data of the drawn lines (matplotlib groups each Line2D as ``line2d_N``)."""
    out = []
    for group in svg.iter(f"{SVG}g"):
        if group.get("id", "").startswith("line2d_"):
            out += [p.get("d", "") for p in group.iter(f"{SVG}path") if p.get("d")]
    return out


def test_the_reports_numbers_are_the_stores(store: SessionStore, tmp_path: Path) -> None:
    ids = record_many(store, [0, 2, 8, 9, 15])  # three ISO weeks: 2 + 2 + 1 sessions
    review = patient_review(store, "P-1")
    assert [p.session_id for p in review.sessions] == ids
    for point in review.sessions:
        for side in ("left", "right"):
            accuracy, median_rt = expected_side(store, point.session_id, side)
            assert point.sides[side].accuracy == pytest.approx(accuracy)
            assert point.sides[side].median_rt_s == pytest.approx(median_rt)
        ratings = store.ratings(session_id=point.session_id)
        assert point.pain_before == [r.value for r in ratings if r.phase == "before"][-1]
        assert point.pain_after == [r.value for r in ratings if r.phase == "after"][-1]
    # The first session: 12 of 16 left correct; the correct ones at 1.9 s + 0.12 s per 90 degrees.
    first = review.sessions[0]
    assert first.sides["left"].accuracy == 0.75 and first.sides["right"].accuracy == pytest.approx(15 / 16)
    assert first.sides["left"].median_rt_s == pytest.approx(statistics.median(
        [1.9 + 0.12 * (i % 4) for i in range(12)]))  # fmt: skip
    assert (first.pain_before, first.pain_after) == (6, 5)

    minutes: dict[date, float] = defaultdict(float)
    for point in review.sessions:
        chunks = store.motion_chunks(point.session_id)
        monday = point.started_at.date() - timedelta(days=point.started_at.weekday())
        minutes[monday] += (chunks[-1].last_time_ns - chunks[0].first_time_ns) / 60e9
    assert [(w.week, w.sessions) for w in review.dose.weeks] == [
        (date(2026, 10, 5), 2), (date(2026, 10, 12), 2), (date(2026, 10, 19), 1)]
    for week in review.dose.weeks:
        assert week.minutes == pytest.approx(minutes[week.week]) and week.minutes == pytest.approx(1.5 * week.sessions)
        assert week.minutes_by_stage == pytest.approx({"laterality": 0.8 * week.sessions, "mirror": 35 / 60 * week.sessions})

    # RT by rotation pooled over the period rises with the angle (the scripted imagery effect).
    left_rot = review.laterality.rt_by_rotation["left"]
    assert [angle for angle, _, _ in left_rot] == [0, 90, 180, 270]
    assert [rt for _, rt, _ in left_rot] == sorted(rt for _, rt, _ in left_rot)
    # The norm band is the scoring module's, not a copy.
    hand_rt = [n for n in NORMS if n.measure == "median_rt_s" and n.body_part and n.body_part.value == "hand"][0]
    assert any(b.measure == "median_rt_s" and b.high == hand_rt.target for b in review.laterality.bands)
    assert review.laterality.src_rt_s == SRC_RT_S

    out = write_patient_report(store, "P-1", tmp_path / "report.html")
    html = out.read_text()
    rows = re.findall(r"<tr>\s*<td class=\"num\">(\d+)</td>(.*?)</tr>", html, re.S)
    assert [int(r[0]) for r in rows] == ids
    assert "75 %" in rows[0][1] and f"{first.sides['left'].median_rt_s:.2f} s" in rows[0][1] and "6 → 5" in rows[0][1]


def test_every_figure_is_drawn_with_axes_and_data(store: SessionStore, tmp_path: Path) -> None:
    record_many(store, [0, 3, 7, 10])
    html = write_patient_report(store, "P-1", tmp_path / "r.html").read_text()
    figures = figures_in(html)
    assert tuple(figures) == PATIENT_FIGURES
    for key, svg in figures.items():
        axes = [g for g in svg.iter(f"{SVG}g") if g.get("id", "").startswith("axes_")]
        assert axes, f"{key} has no axes"
        lines = data_lines(svg)
        bars = [g for g in svg.iter(f"{SVG}g") if g.get("id", "").startswith("patch_")]
        assert lines or len(bars) > 1, f"{key} draws no data"
        assert any(d.count("L") >= 2 for d in lines) or key == "dose", f"{key} has no line through sessions"
    # Self-contained, printable, with the sources of the norms named on the page.
    assert "<script" not in html.lower() and "http://" not in html.replace("http://www.w3.org", "")
    assert "@page { size: A4" in html
    for norm in NORMS:
        if norm.body_part is None or norm.body_part.value == "hand":
            assert norm.source.replace(">", "&gt;") in html
    assert "Farrar et al. 2001" in html and "smallest real change" in html


def test_the_pdf_opens_with_its_pages_and_text(store: SessionStore, tmp_path: Path) -> None:
    record_many(store, [0, 4, 9])
    out = write_patient_report(store, "P-1", tmp_path / "report.pdf")
    reader = pypdf.PdfReader(out)
    pages = [page.extract_text() for page in reader.pages]
    assert 3 <= len(pages) <= 6
    assert "Progress report: patient P-1" in pages[0] and "pseudonymous id P-1" in pages[0]
    for number, text in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in text
    text = "\n".join(pages)
    titles = ["Sessions", "Dose", "Left/right judgement: accuracy", "Left/right judgement: reaction time",
              "Left/right gap", "Reaction time by rotation", "Explicit motor imagery",
              "Mirror therapy and movement", "Pain", "Norms and thresholds used"]  # fmt: skip
    positions = [text.index(t) for t in titles]
    assert positions == sorted(positions), "sections in the report's order"
    assert "Farrar et al. 2001" in text and "NOI accuracy target" in text
    assert reader.metadata is not None and reader.metadata.title == "Progress report: patient P-1"


def test_a_patient_with_no_sessions_gets_a_short_report_saying_so(store: SessionStore, tmp_path: Path) -> None:
    html = write_patient_report(store, "P-1", tmp_path / "r.html").read_text()
    assert "No sessions are recorded for P-1 in this period (all sessions)." in html
    assert "<svg" not in html and "pseudonymous id" in html
    reader = pypdf.PdfReader(write_patient_report(store, "P-1", tmp_path / "r.pdf"))
    assert len(reader.pages) == 1 and "No sessions are recorded for P-1" in reader.pages[0].extract_text()


def test_one_session_draws_its_points_without_a_trend(store: SessionStore, tmp_path: Path) -> None:
    (sid,) = record_many(store, [0])
    review = patient_review(store, "P-1")
    assert review.pain.trend_per_week is None and review.pain.baseline == 6
    assert len(review.laterality.dates) == 1 and review.laterality.session_ids == (sid,)
    html = write_patient_report(store, "P-1", tmp_path / "r.html").read_text()
    figures = figures_in(html)
    assert tuple(figures) == PATIENT_FIGURES
    for key in ("accuracy", "reaction_time", "pain"):
        assert data_lines(figures[key]), key  # a single point is still drawn (its marker)


def test_sessions_on_many_days_and_a_period(store: SessionStore, tmp_path: Path) -> None:
    days = [0, 1, 3, 6, 7, 13, 14, 20, 27, 30]
    ids = record_many(store, days)
    review = patient_review(store, "P-1")
    # ISO weeks from Monday 5 October: 5, 6, 8, 11 | 12, 18 | 19, 25 | 1 Nov | 4 Nov.
    assert [w.sessions for w in review.dose.weeks] == [4, 2, 2, 1, 1]
    assert review.pain.trend_per_week is not None and review.pain.trend_per_week < 0
    period = patient_review(store, "P-1", date(2026, 10, 12), date(2026, 10, 19))
    assert [p.session_id for p in period.sessions] == ids[4:7]
    assert [p.started_at.date() for p in period.sessions] == [date(2026, 10, 12), date(2026, 10, 18), date(2026, 10, 19)]
    html = write_patient_report(store, "P-1", tmp_path / "r.html", date(2026, 10, 12), date(2026, 10, 19)).read_text()
    assert "sessions from 2026-10-12 to 2026-10-19: 3 session(s)" in html


def test_a_session_without_work_is_listed_but_not_counted(store: SessionStore, tmp_path: Path) -> None:
    program = patient_program(store, "P-1")
    worked = record_session(store, "P-1", program, full_plan(0))
    idle = record_session(store, "P-1", program, Plan(MONDAY + timedelta(days=1), minutes=0.5, status="aborted"))
    review = patient_review(store, "P-1")
    assert [p.session_id for p in review.sessions] == [worked, idle]
    assert [p.session_id for p in review.counted] == [worked]
    assert review.laterality.session_ids == (worked,) and review.pain.session_ids == (worked,)
    assert [w.sessions for w in review.dose.weeks] == [1]
    html = write_patient_report(store, "P-1", tmp_path / "r.html").read_text()
    row = re.search(rf'<tr class="nowork">\s*<td class="num">{idle}</td>(.*?)</tr>', html, re.S)
    assert row is not None and "aborted" in row.group(1) and "no work recorded (not counted)" in row.group(1)


def test_a_status_is_shown_as_its_label_whatever_it_is(store: SessionStore) -> None:
    """Status names may change (e.g. "ended_early", "safety_stop"): the report shows the label
    and decides what counts by what was recorded, not by the name."""
    program = patient_program(store, "P-1")
    sid = record_session(store, "P-1", program, full_plan(0, status="ended_early"))
    for label in ("ended_early", "safety_stop", "not_started", "running"):
        session = dataclasses.replace(store.session(sid), status=label)
        point, _, _ = session_point(store, session)
        assert point.status == label and point.has_work and point.sides["left"].n == 16


def test_stops_flares_losses_and_decisions_are_shown(store: SessionStore, tmp_path: Path) -> None:
    from gmi_vr.review.progress import audit_proposal, decide

    program = patient_program(store, "P-1")
    record_session(store, "P-1", program, full_plan(0))
    stopped = record_session(store, "P-1", program, full_plan(
        2, pain=(4, 7, 7), status="safety_stop",
        events=((20.0, "session.pause", {"reason": "unfocused"}),
                (40.0, "safety.flare", {"first": 4, "rating": 7, "rise": 2, "moment": "on_demand"}),
                (40.0, "safety.stop", {"by": "patient", "input": "menu"}))))  # fmt: skip
    audit_proposal(store, "P-1")
    decide(store, "P-1", "t.one", accept=False, override_stage=None, reason="wait for the flare to settle")
    review = patient_review(store, "P-1")
    assert review.pain.flare == (False, True) and review.pain.stopped == (False, True)
    kinds = [(e.session_id, e.what) for e in review.events]
    assert (stopped, "safety.flare") in kinds and (stopped, "safety.stop") in kinds
    assert (stopped, "session.pause") in kinds
    assert [e.time_s for e in review.events if e.session_id == stopped][:3] == [20.0, 40.0, 40.0]
    assert [h.what for h in review.history] == ["patient added", "proposal", "proposal", "decision"]
    assert review.history[-1].reason == "wait for the flare to settle" and review.history[-1].actor == "t.one"
    html = write_patient_report(store, "P-1", tmp_path / "r.html").read_text()
    assert "by patient, input menu" in html and "wait for the flare to settle" in html


def test_one_session_in_detail(store: SessionStore, tmp_path: Path) -> None:
    program = patient_program(store, "P-1")
    sid = record_session(store, "P-1", program, full_plan(
        0, pain=(3, 4, 3), events=((30.0, "pain.request", {"by": "therapist"}),
                                   (60.0, "safety.stop", {"by": "therapist"}))))  # fmt: skip
    review = session_review(store, sid)
    assert len(review.trials) == 32 and sum(t.correct for t in review.trials) == 27
    assert [(r.value, r.phase) for r in review.ratings] == [(3, "before"), (4, "during"), (3, "after")]
    assert [r.time_s for r in review.ratings] == [1.0, 21.0, 41.0]
    assert [e.what for e in review.live_changes] == ["pain.request", "safety.stop"]
    html = write_session_report(store, sid, tmp_path / "s.html").read_text()
    figures = figures_in(html)
    assert tuple(figures) == ("blocks", "rotation")
    for key, svg in figures.items():
        assert len([g for g in svg.iter(f"{SVG}g") if g.get("id", "").startswith("axes_")]) >= 1, key
        assert data_lines(svg), key
    trial_rows = re.search(r'<h2 id="trials">.*?</table>', html, re.S)
    assert trial_rows is not None and trial_rows.group(0).count("<tr>") == 1 + 32
    reader = pypdf.PdfReader(write_session_report(store, sid, tmp_path / "s.pdf"))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert f"Session {sid}: patient P-1" in text and "Changes made during the session" in text


def test_a_session_run_on_the_simulator_reports_its_stored_numbers(store: SessionStore, tmp_path: Path) -> None:
    """The real pipeline: a motion file pulls the triggers (right twice, then left, over and
    over), the therapist types the opening and closing pain ratings at the console."""
    from gmi_vr.app.patients import edit_patient_program

    edit_patient_program(store, "P-1", {
        "session.blocks": ["laterality"], "laterality.trials_per_block": 8,
        "laterality.rotations_deg": [0, 90], "laterality.views": ["back", "palm"],
        "laterality.feedback": False, "laterality.inter_trial_s": 0.4,
    }, therapist="t.one", reason="a short block for the report check")  # fmt: skip
    keys: list[dict[str, object]] = [{"t": 0.0, "left": {"trigger": 0.0, "trigger_click": False},
                                      "right": {"trigger": 0.0, "trigger_click": False}}]  # fmt: skip
    for i in range(60):
        side = "left" if i % 3 == 2 else "right"
        keys.append({"t": 1.0 + 0.7 * i, side: {"trigger": 1.0, "trigger_click": True}})
        keys.append({"t": 1.15 + 0.7 * i, side: {"trigger": 0.0, "trigger_click": False}})
    text = "\n".join(json.dumps(k) for k in [{"format": "gmi-vr-motion", "version": 1, "rate_hz": 60.0},
                                              *keys, {"t": 60.0}]) + "\n"  # fmt: skip
    ratings = iter((5, 3))
    with session_pipeline("P-1", source="sim", seed=11) as pipeline, \
            ScriptedFrameSource(parse_motion(text, "report.jsonl")) as source:  # fmt: skip
        assert pipeline.runner is not None
        for frame in source.frames():
            output = pipeline.step(frame)
            if any(e.kind == "pain.ask" for e in output.events):
                pipeline.runner.rating_from_console(next(ratings), frame.time_s)
            if output.done:
                break
        assert output.done
    (session,) = store.list_sessions("P-1")
    point = patient_review(store, "P-1").sessions[0]
    assert point.session_id == session.id and point.has_work
    for side in ("left", "right"):
        accuracy, median_rt = expected_side(store, session.id, side)
        assert point.sides[side].accuracy == pytest.approx(accuracy)
        assert point.sides[side].median_rt_s == pytest.approx(median_rt)
    assert (point.pain_before, point.pain_after) == (5, 3)
    # The pipeline keeps block rows: the laterality block's time is its row's span.
    (block,) = [b for b in store.blocks(session.id) if b.stage == "laterality"]
    assert point.stages == ("laterality",) and block.end_s is not None
    assert point.minutes_by_stage["laterality"] == pytest.approx((block.end_s - block.start_s) / 60)
    chunks = store.motion_chunks(session.id)
    assert point.duration_s == pytest.approx((chunks[-1].last_time_ns - chunks[0].first_time_ns) / 1e9)
    html = write_patient_report(store, "P-1", tmp_path / "sim.html").read_text()
    assert tuple(figures_in(html)) == PATIENT_FIGURES[:5] + ("pain",)


def test_the_report_reads_no_motion_frames(store: SessionStore, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Durations come from the motion chunks' first and last times, never their frames."""
    record_many(store, [0, 1])

    def refuse(*_: object) -> None:
        raise AssertionError("a report loaded motion frames")

    monkeypatch.setattr(store, "load_chunk", refuse)
    monkeypatch.setattr(store, "motion", refuse)
    review = patient_review(store, "P-1")
    assert [p.duration_s for p in review.sessions] == [pytest.approx(90.0)] * 2
    write_session_report(store, review.sessions[0].session_id, tmp_path / "s.html")


def test_the_motion_span_is_the_first_and_last_chunk_times(store: SessionStore) -> None:
    (sid,) = record_many(store, [0])
    chunks = store.motion_chunks(sid)
    assert len(chunks) > 100  # chunked as in real time: 45 frames each
    assert store.motion_span(sid) == (chunks[0].first_time_ns, chunks[-1].last_time_ns)
    recorder = store.start_session("P-1", source="test")
    recorder.finish("aborted")
    assert recorder.session_id is not None and store.motion_span(recorder.session_id) is None


def test_stage_time_from_the_task_events() -> None:
    events = [EventRecord(0.0, "session.start"), EventRecord(5.0, "task.start", {"task": "pain_rating"}),
              EventRecord(10.0, "block.start", {"kind": "laterality"}), EventRecord(70.0, "block.end", {"kind": "laterality"}),
              EventRecord(75.0, "task.start", {"task": "mirror_look"}), EventRecord(135.0, "task.start", {"task": "mirror_reach"}),
              EventRecord(160.0, "task.stopped", {"cause": "pain_flare"}), EventRecord(170.0, "task.start", {"task": "movement_touch"}),
              EventRecord(180.0, "session.end")]  # fmt: skip
    assert stage_spans(events) == [("laterality", 10.0, 70.0), ("mirror", 75.0, 135.0), ("mirror", 135.0, 160.0),
                                   ("graded_movement", 170.0, 180.0)]  # fmt: skip
