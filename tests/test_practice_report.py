"""The patient's one-page practice handout (``gmi-vr patients show ID --handout FILE``) and
the progress report's practice against the prescription, written from a real SQLite store;
every mistake is one sentence and leaves no file behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from support.clinic_store import store_with_patient
from test_practice_dose import practise

from gmi_vr.app.patients import edit_patient_program, prescribe_practice
from gmi_vr.cli import main
from gmi_vr.core.types import Side
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.handout import BODY_PT, handout, page_lines
from gmi_vr.review.progress import patient_program
from gmi_vr.therapy.plan.program import BodyPart, Program


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionStore]:
    monkeypatch.chdir(tmp_path)
    with store_with_patient(tmp_path, monkeypatch, "P-1", age_years=50) as opened:
        yield opened


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_handout_says_what_how_often_how_to_stop_and_the_next_step_in_html_and_pdf(
    store: SessionStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prescribe_practice(store, "P-1", {"laterality": (3.0, 4)}, next_step="Next visit: Tuesday 10:00.",
                       therapist="t.one", reason="less at first")  # fmt: skip
    code, out, err = run(["patients", "show", "P-1", "--handout", str(tmp_path / "practice.html")], capsys)
    assert (code, out, err) == (0, f"{tmp_path / 'practice.html'}\n", "")
    html = (tmp_path / "practice.html").read_text()
    assert "<h1>Your practice between visits</h1>" in html and "font-size: 16pt" in html
    assert "3 minutes, 4 times a day (about every 4 hours while you are awake)." in html
    assert "Stop moving straight away if your pain goes up by 2 points or more" in html
    assert "Stop too if you feel dizzy, sick or confused." in html
    assert "Next visit: Tuesday 10:00." in html
    code, out, _ = run(["patients", "show", "P-1", "--handout", str(tmp_path / "practice.pdf")], capsys)
    assert code == 0
    pdf = pypdf.PdfReader(tmp_path / "practice.pdf")
    assert len(pdf.pages) == 1
    text = " ".join(pdf.pages[0].extract_text().split())
    assert "Left or right?" in text and "3 minutes, 4 times a day" in text and "If pain flares" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_the_handout_follows_the_stage_and_the_patients_own_ceiling(store: SessionStore) -> None:
    edit_patient_program(store, "P-1", {"stage": 3, "safety.pain_ceiling": 7}, therapist="t.one", reason="notes")
    doc = handout("P-1", patient_program(store, "P-1"))
    what, stop, flare, next_step = doc.parts
    assert what.heading == "What to practise" and len(what.paragraphs) == 2
    assert what.paragraphs[1].startswith("Mirror box. Put your left hand behind the mirror")
    assert "never a magnifying one. 5 minutes, 3 times a day." in what.paragraphs[1]
    assert "or reaches 7 out of 10." in stop.paragraphs[1]
    assert flare.paragraphs[0] == "Stop moving. With the mirror, only look at the reflection, or rest."
    assert next_step.paragraphs == ("At your next visit your therapist looks at your practice and your results "
                                    "with you, and decides with you when to move on to everyday movements.",)  # fmt: skip


def test_the_longest_handout_still_fits_one_page_in_large_type() -> None:
    program = Program.default(Side.RIGHT, BodyPart.BACK_NECK)
    program, _ = program.override("t", "r", "2026-01-01T00:00:00", **{
        "practice.stage_1.imagery_minutes": 2.0, "practice.stage_1.imagery_times_per_day": 8,
        "practice.stage_1.mirror_minutes": 10.0, "practice.stage_1.mirror_times_per_day": 10,
        "practice.next_step": "W" * 240, "safety.pain_ceiling": 8})  # fmt: skip
    body_pt, lines = page_lines(handout("P-LONG-ID-0001", program))
    assert body_pt >= BODY_PT[-1] >= 13.0
    assert sum(1 for text, _, _ in lines if text) > 30


@pytest.mark.parametrize(("name", "exit_code", "message"), [
    ("practice.docx", 2, "gmi-vr: Cannot tell the handout's format from 'practice.docx'; end the name in .html or .pdf.\n"),
    ("missing/practice.pdf", 2, "gmi-vr: The folder {tmp}/missing does not exist; create it or choose another output path.\n"),
    (".", 2, "gmi-vr: {tmp} is a folder; give a file name ending in .html or .pdf.\n"),
])  # fmt: skip
def test_a_wrong_handout_path_is_one_sentence_and_writes_nothing(
    store: SessionStore, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, exit_code: int, message: str
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    target = tmp_path / name if name != "." else tmp_path
    code, out, err = run(["patients", "show", "P-1", "--handout", str(target)], capsys)
    assert (code, out, err) == (exit_code, "", message.format(tmp=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_handout_for_an_unknown_patient_is_one_sentence(
    store: SessionStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["patients", "show", "P-9", "--handout", str(tmp_path / "h.pdf")], capsys)
    assert (code, out) == (8, "") and err.startswith("gmi-vr: No patient P-9 in ") and err.count("\n") == 1
    assert not (tmp_path / "h.pdf").exists()


def test_the_report_shows_practice_against_the_prescription_and_marks_home_sessions(
    store: SessionStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for day in (0, 1, 1, 2):  # Monday 2026-01-05 to Wednesday: 3 days, 4 sessions of 4 minutes
        practise(store, day, 4.0)
    code, _, _ = run(["report", "P-1", "--out", str(tmp_path / "r.html")], capsys)
    assert code == 0
    html = (tmp_path / "r.html").read_text()
    assert "Practice between visits against the prescription" in html
    assert "<td>home, desktop</td>" in html
    # 16 minutes over 3 days against 2 min x 8 a day: 5.3 of 16 minutes a day, 33 %.
    assert "<td>laterality 1.3/8 times, 5.3/16 min</td>" in html
    assert ">33 %<" in html
    code, _, _ = run(["report", "P-1", "--out", str(tmp_path / "r.pdf")], capsys)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(tmp_path / "r.pdf").pages)
    assert code == 0 and "Practice between visits against the prescription" in text and "33 %" in text


def test_a_week_with_no_practice_is_shown_as_none_done(store: SessionStore, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    practise(store, 0, 4.0)
    practise(store, 14, 4.0)  # two weeks later: the week between had none
    code, _, _ = run(["report", "P-1", "--out", str(tmp_path / "r.html")], capsys)
    html = (tmp_path / "r.html").read_text()
    monday = (datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=7)).date().isoformat()
    row = html[html.index(f"<td>{monday}</td>"):].split("</tr>")[0]
    assert code == 0 and "<td>laterality 0.0/8 times, 0.0/16 min</td>" in row and ">0 %<" in row
