"""The gmi-vr command's failures: one sentence, a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def gmi_vr(args: list[str], tmp_path: Path, timeout_s: float = 120.0,
           **env_changes: str | None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = dict(os.environ, GMI_VR_DATA=str(tmp_path / "data"), GMI_VR_CONFIG=str(tmp_path / "absent.toml"))
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-m", "gmi_vr.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout_s)  # fmt: skip


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("gmi-vr: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.display
def test_run_without_a_runtime_suggests_the_simulator(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    result = gmi_vr(["run", "--max-frames", "5"], tmp_path, XR_RUNTIME_JSON="/nonexistent/runtime.json")
    assert result.returncode == 3
    assert "--sim" in one_sentence(result)


def test_run_without_a_display_says_so(tmp_path: Path) -> None:
    result = gmi_vr(["run", "--sim"], tmp_path, DISPLAY=None, WAYLAND_DISPLAY=None)
    assert result.returncode == 5
    assert "display" in one_sentence(result).lower()


def test_malformed_motion_file_names_file_and_line(tmp_path: Path) -> None:
    motion = tmp_path / "bad.jsonl"
    motion.write_text('{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}\n{"t": "soon"}\n')
    result = gmi_vr(["demo", "--motion", str(motion), "--out", str(tmp_path / "out")], tmp_path, DISPLAY=None)
    assert result.returncode == 6
    sentence = one_sentence(result)
    assert "bad.jsonl" in sentence and "line 2" in sentence


def test_demo_into_an_unwritable_folder_fails_before_rendering(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = gmi_vr(["demo", "--out", str(blocker / "out")], tmp_path, DISPLAY=None)
    assert result.returncode != 0
    assert "choose another output folder" in one_sentence(result)


def test_patients_and_sessions_need_no_display_and_no_runtime(tmp_path: Path) -> None:
    env = {"DISPLAY": None, "XR_RUNTIME_JSON": "/nonexistent/runtime.json"}
    assert gmi_vr(["patients", "add", "P-1", "--side", "right", "--age-band", "60-69"], tmp_path, **env).returncode == 0
    shown = gmi_vr(["patients", "show", "P-1"], tmp_path, **env)
    assert shown.returncode == 0 and "60-69" in shown.stdout
    # The program, every setting with where its value comes from.
    assert "  progression.min_span_days = 7  [CLINICAL.md: targets met on sessions spread over" in shown.stdout
    assert "  safety.pain_ceiling = 10  [CLINICAL.md: any rating at the patient's own ceiling" in shown.stdout
    as_json = json.loads(gmi_vr(["patients", "show", "P-1", "--json"], tmp_path, **env).stdout)
    assert as_json["sources"]["progression.rt_gap_max_s"].startswith("CLINICAL.md: gap within 0.19 s")
    listed = gmi_vr(["sessions", "--json"], tmp_path, **env)
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"
    # 'sessions list', as 'patients list' is typed; a patient id where it does not go is pointed to --patient.
    assert gmi_vr(["sessions", "list", "--json"], tmp_path, **env).stdout == listed.stdout
    assert gmi_vr(["sessions", "list"], tmp_path, **env).stdout == (
        "no sessions yet: run one with  gmi-vr run --patient ID  (--sim without a headset)\n")
    assert gmi_vr(["sessions", "--patient", "P-1"], tmp_path, **env).stdout == (
        "no sessions of P-1 yet: run one with  gmi-vr run --patient P-1  (--sim without a headset)\n")
    misplaced = gmi_vr(["sessions", "P-1"], tmp_path, **env)
    assert (misplaced.returncode, one_sentence(misplaced)) == (
        1, "gmi-vr: gmi-vr sessions lists sessions: all of them, or one patient's with --patient P-1.")
    missing = gmi_vr(["export", "9", "--format", "csv", "--out", str(tmp_path / "x")], tmp_path, **env)
    assert missing.returncode == 8 and "No session 9" in one_sentence(missing)


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    from importlib import metadata

    from gmi_vr import __version__

    result = gmi_vr(["--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"gmi-vr {__version__}"
    assert metadata.version("gmi-vr") == __version__  # the installed package says the same


DOCTOR_CHECKS = ["Python", "OpenGL", "OpenXR loader", "OpenXR runtime", "headset", "session", "controllers", "data folder",
                 "store"]


def doctor_checklist(result: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, str]]:
    """{check name: ("pass" | "FAIL", reason)} from ``gmi-vr doctor``'s output, in order."""
    rows: dict[str, tuple[str, str]] = {}
    for line in result.stdout.splitlines():
        verdict, _, rest = line.partition("  ")
        if verdict in ("pass", "FAIL"):
            name = next(n for n in sorted(DOCTOR_CHECKS, key=len, reverse=True) if rest.strip().startswith(n))
            rows[name] = (verdict, rest.strip()[len(name):].strip())
    return rows


def assert_no_loader_lines(result: subprocess.CompletedProcess[str]) -> None:
    assert "OpenXR-Loader" not in result.stdout + result.stderr
    assert "Error [" not in result.stdout + result.stderr


@pytest.mark.display
def test_doctor_without_a_runtime_prints_every_check_and_hides_the_loader(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    result = gmi_vr(["doctor"], tmp_path, XR_RUNTIME_JSON="/nonexistent/runtime.json")
    assert result.returncode == 3
    checks = doctor_checklist(result)
    assert list(checks) == DOCTOR_CHECKS
    assert [checks[name][0] for name in DOCTOR_CHECKS] == ["pass"] * 3 + ["FAIL"] * 4 + ["pass"] * 2
    assert "not created yet; once it is, encrypt it with 'gmi-vr store encrypt'" in checks["store"][1]
    assert checks["OpenGL"][1].startswith("4.")  # the context's version, then its renderer
    assert checks["OpenXR runtime"][1] == "XR_RUNTIME_JSON names /nonexistent/runtime.json, which does not exist"
    assert checks["headset"][1] == "not checked: needs a runtime"
    assert "--sim" in one_sentence(result)
    assert_no_loader_lines(result)

    verbose = gmi_vr(["doctor", "--verbose"], tmp_path, XR_RUNTIME_JSON="/nonexistent/runtime.json")
    assert verbose.returncode == 3
    assert "OpenXR-Loader" in verbose.stderr  # the loader's own lines, on request
    assert doctor_checklist(verbose) == checks


@pytest.mark.display
def test_doctor_names_a_runtime_manifest_whose_runtime_does_not_load(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    manifest = tmp_path / "runtime.json"
    manifest.write_text('{"file_format_version": "1.0.0", "runtime": {"name": "Gone", "library_path": "/nonexistent/libgone.so"}}')
    result = gmi_vr(["doctor"], tmp_path, XR_RUNTIME_JSON=str(manifest))
    assert result.returncode == 3
    verdict, reason = doctor_checklist(result)["OpenXR runtime"]
    assert verdict == "FAIL"
    assert reason.startswith(f"the runtime in {manifest} (XR_RUNTIME_JSON) could not be loaded or did not answer")
    assert_no_loader_lines(result)


def test_doctor_without_a_display_or_a_runtime_fails_both_checks(tmp_path: Path) -> None:
    result = gmi_vr(["doctor"], tmp_path, DISPLAY=None, WAYLAND_DISPLAY=None,
                    XR_RUNTIME_JSON="/nonexistent/runtime.json")  # fmt: skip
    assert result.returncode == 5  # the first failure: no display
    checks = doctor_checklist(result)
    assert list(checks) == DOCTOR_CHECKS
    verdicts = {name: verdict for name, (verdict, _) in checks.items()}
    assert verdicts == {"Python": "pass", "OpenGL": "FAIL", "OpenXR loader": "pass", "OpenXR runtime": "FAIL",
                        "headset": "FAIL", "session": "FAIL", "controllers": "FAIL", "data folder": "pass",
                        "store": "pass"}  # fmt: skip
    assert checks["OpenGL"][1].startswith("no display")
    assert "desktop session" in one_sentence(result)
    assert_no_loader_lines(result)


@pytest.mark.display
def test_a_patients_run_says_what_was_saved_and_sessions_lists_its_true_status(tmp_path: Path) -> None:
    """The built-in reach motion (3 s, one trigger pull) on a plan that starts with its
    laterality block: one trial answered, then the motion ends long before the plan."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    from gmi_vr.assets.locations import shipped_data_dir

    assert gmi_vr(["patients", "add", "P-7", "--side", "left", "--by", "t"], tmp_path).returncode == 0
    edited = gmi_vr(["patients", "edit", "P-7", "--set", "session.rating_at_start=false", "--reason",
                     "straight to the block", "--by", "t"], tmp_path)  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    run = gmi_vr(["run", "--motion", str(shipped_data_dir() / "demo-reach.jsonl"), "--patient", "P-7"], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines() == ["session 1 saved (ended_early: motion_ended): 1 trial, pain - -> -"]
    listed = gmi_vr(["sessions"], tmp_path)
    header, row = listed.stdout.splitlines()
    assert header.split() == ["id", "patient", "date", "(UTC)", "where", "duration", "stages", "trials", "pain",
                              "before", "pain", "after", "status", "reason"]  # fmt: skip
    cells = row.split()
    assert (cells[4], cells[5]) == ("clinic,", "desktop")  # the simulator runs on a screen, not in a headset
    assert (cells[7], cells[8], cells[-2], cells[-1]) == ("laterality", "1", "ended_early", "motion_ended")
    out = tmp_path / "csv"
    assert gmi_vr(["export", "1", "--format", "csv", "--out", str(out)], tmp_path).returncode == 0
    blocks = (out / "session-001_blocks.csv").read_text().splitlines()
    assert len(blocks) == 2 and blocks[1].startswith("P-7,1,1,laterality,0.0,")


@pytest.mark.parametrize("assignment", ["stage", "=2", "session.blocks=[", "stage=nine", "session.blocks=mirror"])
def test_every_malformed_program_edit_is_a_program_error_and_changes_nothing(tmp_path: Path, assignment: str) -> None:
    """A setting written without '=' is as much a program error (exit 9, one sentence) as one
    whose value is wrong; the program is left as it was."""
    assert gmi_vr(["patients", "add", "P-7", "--side", "left", "--by", "t"], tmp_path).returncode == 0
    before = gmi_vr(["patients", "show", "P-7"], tmp_path).stdout
    edited = gmi_vr(["patients", "edit", "P-7", "--set", assignment, "--reason", "r", "--by", "t"], tmp_path)
    assert edited.returncode == 9, edited.stderr
    (line,) = edited.stderr.strip().splitlines()
    assert line.startswith("gmi-vr: ") and line.endswith(".")
    assert gmi_vr(["patients", "show", "P-7"], tmp_path).stdout == before
    if assignment == "session.blocks=mirror":  # a list's one item typed alone: the list is shown
        assert line.endswith('must be a list in square brackets, such as ["mirror"].'), line


# ---------------------------------------------------------------------------- the data folder


@pytest.mark.parametrize("command", [
    ["sessions"], ["patients", "list"], ["patients", "show", "P1"],
    ["export", "1", "--format", "csv", "--out", "OUT"], ["replay", "1"], ["calibrate", "P1", "--sim"],
    ["patients", "edit", "P1", "--set", "stage=2", "--reason", "r"],
])  # fmt: skip
def test_a_missing_data_folder_is_named_and_never_created_by_reading(tmp_path: Path, command: list[str]) -> None:
    mistyped = tmp_path / "dta"
    command = [str(tmp_path / "out") if part == "OUT" else part for part in command]
    result = gmi_vr(command, tmp_path, GMI_VR_DATA=str(mistyped), DISPLAY=None)
    assert result.returncode == 7, result.stderr
    sentence = one_sentence(result)
    assert f"The data folder {mistyped} does not exist" in sentence and "GMI_VR_DATA" in sentence
    assert not mistyped.exists()


def test_the_default_data_folder_is_named_when_missing(tmp_path: Path) -> None:
    result = gmi_vr(["sessions"], tmp_path, GMI_VR_DATA=None, HOME=str(tmp_path / "home"), XDG_DATA_HOME=None)
    assert result.returncode == 7
    assert f"The data folder {tmp_path / 'home' / '.local' / 'share' / 'gmi-vr'} does not exist" in one_sentence(result)


def test_a_folder_without_a_store_is_named_and_left_empty(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = gmi_vr(["patients", "list"], tmp_path)
    assert result.returncode == 7
    assert f"There is no session store in {tmp_path / 'data'}" in one_sentence(result)
    assert list((tmp_path / "data").iterdir()) == []


def test_adding_the_first_patient_creates_the_data_folder_and_says_so(tmp_path: Path) -> None:
    result = gmi_vr(["patients", "add", "P1", "--side", "left"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"created the data folder {tmp_path / 'data'}"
    # The one moment encrypting costs nothing: the clinic is told, once.
    assert result.stderr.splitlines() == ["gmi-vr: the new store is not encrypted; run 'gmi-vr store encrypt' before "
                                          "the first patient's session if this disk is not encrypted itself."]
    again = gmi_vr(["patients", "add", "P2", "--side", "left"], tmp_path)
    assert again.returncode == 0 and "created" not in again.stdout and again.stderr == ""
    assert (tmp_path / "data" / "sessions.sqlite").is_file()
