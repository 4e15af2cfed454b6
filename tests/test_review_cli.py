"""``gmi-vr report`` as a therapist types it, mistakes included: each failure is one sentence
with its exit code and leaves no file behind; other commands never import the plotting and
template libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
from review_synth import Plan, SideTrials, record_session

from gmi_vr.app.patients import add_patient, patient_program
from gmi_vr.cli import StderrProgress, main
from gmi_vr.recording.store import SessionStore


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.chdir(tmp_path)
    with SessionStore.open() as store:
        add_patient(store, "P-1", "right", "hand", age_band="60-69", therapist="t.one")
        add_patient(store, "P-2", "left", "foot", therapist="t.one")
        record_session(store, "P-1", patient_program(store, "P-1"), Plan(
            datetime(2026, 11, 2, 10, 0, tzinfo=UTC), minutes=1.0, left=SideTrials(8, 7, 1.4),
            right=SideTrials(8, 6, 1.7), pain=(4, 3)))  # fmt: skip
    return tmp_path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_html_by_default_and_pdf_by_suffix(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["report", "P-1"], capsys)
    assert code == 0 and out.strip() == "gmi-vr-report-P-1.html"
    assert "Progress report: patient P-1" in (data / "gmi-vr-report-P-1.html").read_text()
    code, out, _ = run(["report", "P-1", "--out", str(data / "p1.pdf"), "--from", "2026-11-01", "--to", "2026-11-30"], capsys)
    assert code == 0 and out.strip() == str(data / "p1.pdf")
    text = pypdf.PdfReader(data / "p1.pdf").pages[0].extract_text()
    assert "sessions from 2026-11-01 to 2026-11-30: 1 session(s)" in text and "age band 60-69" in text
    code, out, _ = run(["report", "--session", "1"], capsys)
    assert code == 0 and "Left/right judgements" in (data / "gmi-vr-session-1.html").read_text()
    assert [p.name for p in data.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize(("args", "exit_code", "message"), [
    (["report", "P-9"], 8, "gmi-vr: No patient P-9 in "),
    (["report", "--session", "99"], 8, "gmi-vr: No session 99 in "),
    (["report", "P-1", "--from", "2026-13-01"], 2, "gmi-vr: --from '2026-13-01' is not a date; write it as YYYY-MM-DD"),
    (["report", "P-1", "--to", "last week"], 2, "gmi-vr: --to 'last week' is not a date"),
    (["report", "P-1", "--from", "2026-11-05", "--to", "2026-11-01"], 2, "gmi-vr: --from 2026-11-05 is after --to 2026-11-01"),
    (["report"], 2, "gmi-vr: Name a patient (gmi-vr report P001) or one session"),
    (["report", "P-1", "--session", "1"], 2, "gmi-vr: Name a patient"),
    (["report", "P-1", "--out", "report.docx"], 2, "gmi-vr: Cannot tell the report's format from 'report.docx'; end the name in .html or .pdf."),
    (["report", "P-1", "--out", "missing/folder/r.html"], 2, "gmi-vr: The folder missing/folder does not exist"),
    (["report", "P-1", "--out", "data"], 2, "gmi-vr: data is a folder; give a file name ending in .html or .pdf."),
])  # fmt: skip
def test_mistakes_are_one_sentence_with_an_exit_code(data: Path, capsys: pytest.CaptureFixture[str],
                                                     args: list[str], exit_code: int, message: str) -> None:
    before = sorted(p.name for p in data.iterdir())
    code, out, err = run(args, capsys)
    assert code == exit_code and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err
    assert sorted(p.name for p in data.iterdir()) == before


def test_an_output_path_that_cannot_be_written(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (data / "a-file").write_text("not a folder")
    code, _, err = run(["report", "P-1", "--out", "a-file/r.html"], capsys)
    assert code == 2 and err == "gmi-vr: The folder a-file does not exist; create it or choose another output path.\n"
    (data / "r.html").mkdir()
    code, _, err = run(["report", "P-1", "--out", "r.html"], capsys)
    assert code == 2 and err == "gmi-vr: r.html is a folder; give a file name ending in .html or .pdf.\n"
    if os.geteuid() != 0:  # root may write anywhere, so the permission check needs another user
        locked = data / "locked"
        locked.mkdir(mode=0o555)
        code, _, err = run(["report", "P-1", "--out", "locked/r.pdf"], capsys)
        assert code == 2 and err.startswith("gmi-vr: Cannot write locked/r.pdf (no permission)")


def test_a_report_replaces_an_older_one_only_once_it_is_complete(data: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from gmi_vr.review import report

    (data / "r.html").write_text("the older report")

    def broken(*_: object, **__: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "render_html", broken)
    code, out, err = run(["report", "P-1", "--out", "r.html"], capsys)
    assert code == 2 and out == "" and err == "gmi-vr: Cannot write r.html (No space left on device); choose another output path.\n"
    assert (data / "r.html").read_text() == "the older report"
    assert sorted(p.name for p in data.iterdir() if p.name.startswith(".")) == []


def test_a_progress_bar_only_after_a_second() -> None:
    ticks = iter([0.0, 0.5, 0.9, 1.2, 1.5])
    bar = StderrProgress(delay_s=1.0, clock=lambda: next(ticks))
    import io
    import sys as sys_

    captured = io.StringIO()
    real, sys_.stderr = sys_.stderr, captured
    try:
        bar("reading sessions", 1, 4)  # 0.5 s
        bar("reading sessions", 2, 4)  # 0.9 s
        assert captured.getvalue() == "" and not bar.shown
        bar("reading sessions", 3, 4)  # 1.2 s
        bar("drawing figures", 8, 8)  # 1.5 s
        bar.close()
    finally:
        sys_.stderr = real
    lines = captured.getvalue().split("\r")
    assert lines[1].startswith("reading sessions") and lines[1].endswith("3/4")
    assert lines[2].startswith("drawing figures") and lines[2].rstrip().endswith("8/8") and lines[2].endswith("\n")


def test_other_commands_do_not_import_matplotlib_or_jinja2(data: Path) -> None:
    code = ("import sys; from gmi_vr.cli import main; main(['sessions']); "
            "assert 'matplotlib' not in sys.modules and 'jinja2' not in sys.modules, 'imported'; "
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['--help'])\n"
            "    except SystemExit: pass\n"
            "assert 'matplotlib' not in sys.modules and 'jinja2' not in sys.modules, 'imported by --help'")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert result.returncode == 0, result.stderr
    assert "P-1" in result.stdout
