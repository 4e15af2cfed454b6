"""Every ``gmi-vr ...`` command shown in README.md and docs/*.md is run, in an order that makes
sense, on a fresh data folder under the suite's X display.

Commands are found in the documents themselves (so a new command in the docs is picked up
without touching this file): lines of code blocks and code spans in a table's first column
that start with ``gmi-vr `` are whole commands, and run; other code spans that start with
``gmi-vr `` are mentions in the text, only checked to name a real command with real options
(``gmi-vr store repair`` may leave out the ``--out`` it needs).
A shown form expands into what it stands for: ``[--opt]`` both without and with every
bracketed part, ``a|b`` each alternative. Placeholders become real values (``substitute``).

Each command must be known to ``ORDER`` (where it runs in the sequence); one that is not fails
the test, naming the document and line, so a command added to the docs cannot go unrun.
Commands that wait for a person get what a person would do (``for_a_person``); an example
that needs a state of its own runs on a data folder of its own (``own_folder_setup``).
Commands that need a headset are run here too, with no runtime (they must end with one
sentence offering the simulator, exit 3), and each must name the real-runtime test in
tests/xr that runs it with a headset (``HEADSET_RUNS``).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.lsl import machine_only_config

from gmi_vr.assets.locations import shipped_data_dir
from gmi_vr.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

#: Where each command runs in the sequence: the first words of its arguments, in order. The
#: longest match wins. A session must exist before sessions/export/replay/progress; renaming
#: the documented patient comes last.
ORDER: list[tuple[str, ...]] = [
    ("--version",),
    ("doctor",),
    ("patients", "add"),  # every later command needs the patient
    ("patients", "list"),
    ("patients", "show"),
    ("patients", "edit"),
    ("patients", "desensitization", "add"),
    ("patients", "desensitization", "list"),
    ("patients", "prescribe"),
    ("calibrate",),
    ("demo",),  # demo --patient records session 1
    ("run",),
    ("practice",),  # a sitting at home: a desktop session of the patient
    ("patients", "progress"),  # after the sessions it proposes from
    ("sessions",),
    ("outcomes", "items"),
    ("outcomes", "add"),  # after a session, which an example names with --session
    ("outcomes", "list"),
    ("export",),
    ("report",),
    ("replay",),
    ("bundle", "export"),  # home practice on a data folder of its own (own_folder_setup)
    ("bundle", "import"),  # into the sequence's store, which knows the patient
    ("store", "check"),
    ("store", "repair"),
    ("store", "encrypt"),  # on a data folder of its own: every later command would need the passphrase
    ("backup",),  # its BACKUP.sqlite is what restore brings back
    ("restore",),  # into an empty data folder of its own (own_folder_setup)
    ("users", "list"),
    ("users", "add"),  # on a data folder of its own: accounts would ask every later command for one
    ("signin",),  # on a data folder of its own, with its account
    ("patients", "rename"),  # on a data folder of its own (own_folder_setup)
    ("patients", "erase"),  # on a data folder of its own
]

#: Headset commands (their shape: the subcommand and the options used) and the real-runtime
#: test (tests/xr, run by tools/test inside tools/xr-sandbox) that runs each with a headset.
HEADSET_RUNS: dict[tuple[str, ...], str] = {
    ("doctor",): "tests/xr/test_cli_headset.py::test_doctor_exits_zero_and_names_the_runtime",
    ("run",): "tests/xr/test_cli_headset.py::test_free_play_run_ends_cleanly_and_records_nothing",
    ("run", "--patient"): "tests/xr/test_cli_headset.py::test_a_patients_headset_session_is_recorded_and_exports",
    ("run", "--lsl", "--patient"):
        "tests/xr/test_lsl_xr.py::test_a_headset_sessions_streams_carry_every_event_rating_and_frame_on_the_lsl_clock",
    ("run", "--no-record", "--patient"):
        "tests/xr/test_cli_unsaved_headset.py::test_a_headset_session_chosen_unsaved_stores_nothing_and_exits_10",
    ("calibrate",): "tests/xr/test_calibration_xr.py::test_one_handed_calibration_in_the_headset_is_stored",
}

DEMO_REACH = shipped_data_dir() / "demo-reach.jsonl"
CALIBRATION_MOTION = REPO / "tests" / "data" / "calibration-seated-left-affected.jsonl"
#: A standing calibration is held standing (a seated pose is refused as not fitting the height).
STANDING_CALIBRATION_MOTION = REPO / "tests" / "data" / "calibration-standing-left-affected.jsonl"
#: Exit status of a headset command with no OpenXR runtime (core.errors.XrRuntimeUnavailable).
NO_RUNTIME_EXIT = 3


@dataclass(frozen=True)
class Shown:
    text: str  # as the reader sees it, e.g. "gmi-vr calibrate P001 [--standing] [--sim]"
    where: str  # "README.md:52"
    whole: bool = True  # a code block's line or the command table's; False: a mention in the text


def shown_commands() -> list[Shown]:
    """Every command shown in the documents, once each, in the order they first appear."""
    found: dict[str, Shown] = {}
    for document in DOCUMENTS:
        in_block = False
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{document.relative_to(REPO)}:{number}"
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            candidates: list[tuple[str, bool]] = []
            if in_block:
                text = line.strip().removeprefix("$ ")
                if text.startswith("gmi-vr "):
                    candidates.append((text.split("  #")[0], True))
            else:
                # A table row's first cell holds whole commands (its `|` are escaped as `\|`).
                first_cell = re.split(r"(?<!\\)\|", line)[1] if line.lstrip().startswith("|") else ""
                for span in re.findall(r"`([^`]+)`", line):
                    if span.startswith("gmi-vr "):
                        candidates.append((span.replace("\\|", "|"), f"`{span}`" in first_cell))
            for text, whole in candidates:
                text = " ".join(text.split())
                if text not in found or (whole and not found[text].whole):
                    found[text] = Shown(text, where, whole)
    return list(found.values())


def variants(text: str) -> list[list[str]]:
    """The argument lists a shown form stands for (without the leading "gmi-vr")."""
    # An optional part opens after a space: "[--json]"; a bracket after "=" is a value's
    # (a JSON list: 'session.blocks=["mirror"]').
    optional = re.findall(r"(?<=\s)\[([^\]]*)\]", text)
    forms = [re.sub(r"\s+\[[^\]]*\]", "", text)]
    if optional:
        forms.append(re.sub(r"(?<=\s)\[([^\]]*)\]", r"\1", text))
    result: list[list[str]] = []
    for form in forms:
        words = shlex.split(form)[1:]
        expanded: list[list[str]] = [[]]
        for word in words:
            choices = word.split("|") if "|" in word else [word]
            expanded = [prefix + [choice] for prefix in expanded for choice in choices]
        result += expanded
    return result


def rank(argv: list[str], shown: Shown) -> int:
    """Position in ORDER; a command not there fails with what to do."""
    matches = [i for i, key in enumerate(ORDER) if tuple(argv[: len(key)]) == key]
    if not matches:
        raise LookupError(
            f"{shown.where} shows `{shown.text}`, which no test runs: add where it runs to ORDER "
            "in tests/test_docs_commands.py (and what it needs to substitute or for_a_person)"
        )
    return max(matches, key=lambda i: len(ORDER[i]))


def needs_headset(argv: list[str]) -> bool:
    return argv[0] == "doctor" or (argv[0] in ("run", "calibrate") and not {"--sim", "--motion"} & set(argv))


def headset_shape(argv: list[str]) -> tuple[str, ...]:
    return (argv[0], *sorted(word for word in argv[1:] if word.startswith("--")))


def substitute(argv: list[str], scratch: Path, counter: list[int]) -> list[str]:
    """Placeholders to real values: P001 and the other ids stay (they are real ids); SESSION is
    the first recorded session (so is an example's ``--session 12``); DIR, NEWFILE, FILE.ext
    and an output FILE fresh paths in ``scratch``; a
    motion FILE the shipped reach demo; a store file F the sequence's own store (in the data
    folder next to ``scratch``)."""
    out: list[str] = []
    for i, word in enumerate(argv):
        previous = argv[i - 1] if i else ""
        counter[0] += 1
        if word == "SESSION" or (previous == "--session" and word.isdigit()):
            word = "1"  # an example's session number: the sequence has its own
        elif word == "DIR":
            word = str(scratch / f"dir-{counter[0]}")
        elif word == "FILE" and argv[0] == "report":  # a report's type comes from its name
            word = str(scratch / f"file-{counter[0]}.html")
        elif word in ("FILE", "MOTION"):
            word = str(DEMO_REACH) if previous == "--motion" or word == "MOTION" else str(scratch / f"file-{counter[0]}")
        elif word == "NEWFILE" or word.startswith("FILE."):  # FILE.pdf: an output file of that type
            word = str(scratch / f"file-{counter[0]}{word.removeprefix('FILE').removeprefix('NEWFILE')}")
        elif word == "F" and previous == "--file":
            word = str(scratch.parent / "data" / "sessions.sqlite")
        elif word in ("ID", "OLD"):
            word = "P001"
        elif word == "NEW":
            word = "P001-B"
        elif word == "BACKUP.sqlite":  # the backup the sequence takes, for restore to bring back
            word = str(scratch / "backup.sqlite")
        elif word == "DAYS":
            word = "-365"
        out.append(word)
    return out


def for_a_person(argv: list[str]) -> list[str]:
    """What a person at the keyboard would add: a window they would close after a moment,
    a calibration pose they would hold (scripted by a motion file)."""
    if argv[0] in ("run", "replay", "practice") and "--motion" not in argv:
        return [*argv, "--max-frames", "30"]
    if argv[0] == "calibrate" and "--sim" in argv and "--motion" not in argv:
        return [*argv, "--motion", str(STANDING_CALIBRATION_MOTION if "--standing" in argv else CALIBRATION_MOTION)]
    if argv[:2] == ["users", "add"] or argv[0] == "signin":  # the password, typed (see typed_by_a_person)
        return [*argv, "--password-stdin"]
    return argv


def set_by_a_person(argv: list[str], scratch: Path) -> dict[str, str]:
    """What a person sets in the environment for a command: an encrypted store's passphrase
    (no terminal here to type it at) and, for the keyring, keyring's file backend in ``scratch``."""
    if argv[:2] != ["store", "encrypt"]:
        return {}
    return {"GMI_VR_STORE_PASSPHRASE": "a long passphrase", "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "XDG_DATA_HOME": str(scratch / "keyring")}  # fmt: skip


def typed_by_a_person(argv: list[str]) -> str | None:
    """What a person types when a command asks for it: an account's password."""
    return "a long password\n" if "--password-stdin" in argv else None


def own_folder_setup(argv: list[str]) -> list[list[str]] | None:
    """Commands whose example needs a state the sequence does not have run on a fresh data
    folder of their own, after these set-up commands (``setup_command``); None: in the shared
    sequence."""
    if argv[:2] == ["patients", "rename"]:  # the mistyped id must exist, the right one not yet
        return [["patients", "add", argv[2], "--side", "left"]]
    if argv[:2] == ["patients", "erase"]:  # the erased patient is gone for the commands after it
        return [["patients", "add", argv[2], "--side", "left"]]
    if argv[:3] == ["patients", "edit", "S001"]:  # a study's patient: its research plan changes no later example
        return [["patients", "add", argv[2], "--side", "left"]]
    if argv[0] == "restore" or argv[:2] == ["users", "add"]:  # an empty data folder; the first account
        return []
    if argv[:2] == ["store", "encrypt"]:  # a store to encrypt
        return [["patients", "add", "P001", "--side", "left"]]
    if argv[0] == "signin":
        return [["users", "add", argv[1], "--role", "admin", "--password-stdin"]]
    if argv[:2] == ["bundle", "export"] and "--patient" in argv:  # a home machine with practice on it
        patient = argv[argv.index("--patient") + 1]
        return [["patients", "add", patient, "--side", "left"], [*HOME_PRACTICE, patient]]
    return None


#: A set-up step that is not a gmi-vr command: a home practice session recorded as the desktop
#: practice records it (tests/home_practice.py), into the step's data folder.
HOME_PRACTICE = ["python", str(REPO / "tests" / "home_practice.py")]


def setup_command(command: list[str]) -> list[str]:
    """How a set-up step runs: a gmi-vr command, or a script of the tests (``HOME_PRACTICE``)."""
    if command[0] == "python":
        return [sys.executable, *command[1:]]
    return [sys.executable, "-m", "gmi_vr.cli", *command]


@dataclass(frozen=True)
class Step:
    argv: list[str]
    shown: Shown
    rank: int
    headset: bool


def cli_refusal(argv: list[str]) -> str | None:
    """gmi-vr's own complaint about these arguments (argparse's last line), None if it
    takes them."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as exit_:
        if exit_.code != 0:
            return (stderr.getvalue().strip().splitlines() or ["?"])[-1]
    return None


def mention_refusal(shown: Shown, argv: list[str]) -> str | None:
    """What is wrong with a mention in the text: gmi-vr's complaint, unless it only says
    that arguments the mention leaves out are required (it names a real command)."""
    refusal = cli_refusal(argv)
    return None if refusal is None or "arguments are required" in refusal else refusal


def planned_steps(scratch: Path) -> list[Step]:
    """Every variant of every whole command shown (code blocks, the command table),
    substituted, in ORDER (ties: as shown)."""
    counter = [0]
    steps: list[Step] = []
    seen: set[tuple[str, ...]] = set()
    for shown in shown_commands():
        for argv in variants(shown.text) if shown.whole else []:
            if tuple(argv) in seen:
                continue
            seen.add(tuple(argv))
            steps.append(Step(substitute(argv, scratch, counter), shown, rank(argv, shown), needs_headset(argv)))
    return sorted(steps, key=lambda step: step.rank)  # stable: ties keep the documents' order


def defined_tests(path: Path) -> set[str]:
    return {node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)}


# ----------------------------------------------------------------------------- tests


def test_the_documents_show_commands() -> None:
    texts = [shown.text for shown in shown_commands()]
    assert "gmi-vr doctor" in texts and "gmi-vr demo --patient P001" in texts
    assert len(texts) >= 15


def test_every_shown_command_is_one_gmi_vr_accepts(tmp_path: Path) -> None:
    problems = []
    for step in planned_steps(tmp_path):
        refusal = cli_refusal(step.argv)
        if refusal is not None:
            problems.append(f"{step.shown.where} shows `{step.shown.text}`, which gmi-vr does not "
                            f"accept: {refusal}")  # fmt: skip
    for shown in shown_commands():
        for argv in variants(shown.text) if not shown.whole else []:
            refusal = mention_refusal(shown, substitute(argv, tmp_path, [0]))
            if refusal is not None:
                problems.append(f"{shown.where} mentions `{shown.text}`, which gmi-vr does not "
                                f"accept: {refusal}")  # fmt: skip
    assert not problems, "\n".join(problems)


def test_every_headset_command_is_run_by_a_real_runtime_test(tmp_path: Path) -> None:
    problems = []
    for step in planned_steps(tmp_path):
        if not step.headset:
            continue
        test = HEADSET_RUNS.get(headset_shape(step.argv))
        if test is None:
            problems.append(f"{step.shown.where} shows `{step.shown.text}`, which needs a headset and "
                            "no real-runtime test runs: add one in tests/xr and list it in HEADSET_RUNS")  # fmt: skip
            continue
        file, _, name = test.partition("::")
        if name not in defined_tests(REPO / file):
            problems.append(f"HEADSET_RUNS names {test}, which does not exist")
    assert not problems, "\n".join(problems)


def test_how_shown_commands_are_read_and_checked() -> None:
    shown = Shown("gmi-vr frobnicate P001", "README.md:99")
    (argv,) = variants(shown.text)
    with pytest.raises(LookupError, match=r"README.md:99 shows `gmi-vr frobnicate P001`, which no test runs"):
        rank(argv, shown)
    # A mention in the text may leave out what the command needs, but may not use what
    # gmi-vr does not take (the motion file page once showed this); a whole command may do
    # neither.
    mention = Shown("gmi-vr export", "README.md:9", whole=False)
    assert mention_refusal(mention, ["export"]) is None
    assert "required" in (cli_refusal(["export"]) or "")
    assert "unrecognized arguments: MOTION" in (mention_refusal(mention, ["run", "--sim", "MOTION"]) or "")
    assert variants("gmi-vr patients edit P1 --set 'feedback=[{\"block\": 2}]' [--by B]") == [
        ["patients", "edit", "P1", "--set", 'feedback=[{"block": 2}]'],
        ["patients", "edit", "P1", "--set", 'feedback=[{"block": 2}]', "--by", "B"],
    ]
    assert variants("gmi-vr export SESSION --format bids|csv --out DIR [--json]") == [
        ["export", "SESSION", "--format", "bids", "--out", "DIR"],
        ["export", "SESSION", "--format", "csv", "--out", "DIR"],
        ["export", "SESSION", "--format", "bids", "--out", "DIR", "--json"],
        ["export", "SESSION", "--format", "csv", "--out", "DIR", "--json"],
    ]


@pytest.mark.display
def test_every_shown_command_runs(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display: tools/test runs this suite under Xvfb")
    # LSL streams (run --lsl) are found on this machine only: no discovery traffic leaves it.
    env = dict(os.environ, GMI_VR_DATA=str(tmp_path / "data"), GMI_VR_CONFIG=str(tmp_path / "absent.toml"),
               XR_RUNTIME_JSON="/nonexistent/runtime.json", LSLAPICFG=str(machine_only_config(tmp_path)))  # fmt: skip
    problems = []
    ran = []
    (tmp_path / "scratch").mkdir()  # where DIR and output FILE placeholders point
    for index, step in enumerate(planned_steps(tmp_path / "scratch")):
        argv = for_a_person(step.argv)
        step_env = env
        setup = own_folder_setup(argv)
        if setup is not None:
            step_env = dict(env, GMI_VR_DATA=str(tmp_path / f"own-data-{index}"), **set_by_a_person(argv, tmp_path))
            for command in setup:
                prepared = subprocess.run(setup_command(command), env=step_env,
                                          input=typed_by_a_person(command) or "",
                                          capture_output=True, text=True, timeout=120)  # fmt: skip
                assert prepared.returncode == 0, prepared.stderr
        # No one answers a question on stdin: a command that asks must not wait for ever.
        typed = typed_by_a_person(argv)
        result = subprocess.run([sys.executable, "-m", "gmi_vr.cli", *argv], env=step_env, cwd=tmp_path,
                                input=typed or "", capture_output=True, text=True, timeout=300)  # fmt: skip
        expected = NO_RUNTIME_EXIT if step.headset else 0
        ran.append(" ".join(argv))
        if result.returncode != expected or "Traceback" in result.stderr:
            problems.append(f"{step.shown.where}: `gmi-vr {' '.join(argv)}` exited {result.returncode} "
                            f"(expected {expected}): {result.stderr.strip()[-800:]}")  # fmt: skip
        elif step.headset:
            # The last word is one sentence saying what is missing and what to do instead
            # (a notice may come before it, e.g. that the session was chosen unsaved).
            said = [line for line in result.stderr.splitlines() if line.startswith("gmi-vr: ")]
            if not said or "--sim" not in said[-1]:
                problems.append(f"`gmi-vr {' '.join(argv)}` without a runtime does not end with one "
                                f"sentence offering --sim: {result.stderr[-800:]}")  # fmt: skip
    assert not problems, "\n".join(problems)
    assert any(command.startswith("demo --patient") for command in ran)
