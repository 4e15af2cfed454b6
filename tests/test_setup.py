"""tools/setup on a machine where nothing is installed yet, with apt-get, dpkg-query and
Python replaced by recorders: the app set-up installs what the app needs at run time and
nothing for the tests; ``--dev`` adds the test tools; a second run installs nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Each stub appends its arguments to log/<name>; apt-get "installs" into installed.txt, which
# dpkg-query reads back.
STUBS = {
    "dpkg-query": 'grep -qx "${@: -1}" "$ROOT/installed.txt" && printf "install ok installed"\n',
    "apt-get": 'echo "$*" >> "$ROOT/log/apt-get"\n'
               'if [ "$1" = install ]; then for p in "$@"; do case $p in -*|install) ;; *) echo "$p" >> "$ROOT/installed.txt";; esac; done; fi\n',
    "sudo": '"$@"\n',
    "python3": 'if [ "$1" = --version ]; then echo "Python 3.11.2"; exit 0; fi\n'
               'mkdir -p .venv/bin && cp "$ROOT/bin/venv-python" .venv/bin/python\n',
    "venv-python": 'echo "$*" >> "$ROOT/log/pip"\n',
}  # fmt: skip


def setup_run(root: Path, *args: str) -> tuple[list[str], list[str]]:
    """Run tools/setup in the copy at ``root``; the apt-get and pip calls it made."""
    for log in (root / "log").iterdir():
        log.unlink()
    env = dict(os.environ, ROOT=str(root), PATH=f"{root / 'bin'}:{os.environ['PATH']}")
    env.pop("PYTHON", None)
    result = subprocess.run(["bash", str(root / "repo" / "tools" / "setup"), *args], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    read = lambda name: (root / "log" / name).read_text().splitlines() if (root / "log" / name).exists() else []  # noqa: E731
    return read("apt-get"), read("pip")


def make_machine(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "tools").mkdir(parents=True)
    shutil.copy(REPO / "tools" / "setup", tmp_path / "repo" / "tools" / "setup")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "repo" / "pyproject.toml")
    (tmp_path / "bin").mkdir()
    (tmp_path / "log").mkdir()
    (tmp_path / "installed.txt").write_text("")
    for name, body in STUBS.items():
        stub = tmp_path / "bin" / name
        stub.write_text("#!/usr/bin/env bash\n" + body)
        stub.chmod(0o755)
    return tmp_path


def installed(apt_calls: list[str]) -> set[str]:
    return {word for call in apt_calls if call.startswith("install") for word in call.split()
            if not word.startswith("-") and word != "install"}  # fmt: skip


def test_the_app_setup_installs_the_runtime_needs_and_nothing_for_the_tests(tmp_path: Path) -> None:
    machine = make_machine(tmp_path)
    apt, pip = setup_run(machine)
    packages = installed(apt)
    assert {"libgl1-mesa-dri", "libegl-mesa0", "fonts-dejavu-core", "espeak-ng", "python3-venv"} <= packages
    assert not packages & {"postgresql", "xvfb", "xauth"}
    assert [call for call in pip if "--upgrade" not in call] == ["-m pip install -q -e ."]

    again_apt, again_pip = setup_run(machine)
    assert again_apt == [] and again_pip == [], "a second run installs nothing"


def test_the_dev_setup_adds_the_test_tools_once(tmp_path: Path) -> None:
    machine = make_machine(tmp_path)
    setup_run(machine)
    apt, pip = setup_run(machine, "--dev")
    assert installed(apt) == {"xvfb", "xauth", "postgresql"}
    assert "-m pip install -q -e .[dev]" in pip

    assert setup_run(machine, "--dev") == ([], [])
    assert setup_run(machine) == ([], []), "the dev install covers the app's"


def test_the_test_command_uses_the_dev_setup_and_the_demo_the_app_setup() -> None:
    test_script = (REPO / "tools" / "test").read_text()
    demo_script = (REPO / "tools" / "demo").read_text()
    assert "\ntools/setup --dev " in test_script
    assert "\ntools/setup\n" in demo_script
