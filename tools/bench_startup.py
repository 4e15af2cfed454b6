"""Start-up: ``gmi-vr --help``, and ``gmi-vr run --patient P`` to its first submitted frame.

    .venv/bin/python tools/bench_startup.py --help-only          # anywhere
    tools/xr-sandbox run -- python tools/bench_startup.py        # both, on the real runtime

Each sample is a fresh process, timed by the wall clock from its start:

- ``--help``: until the process has exited (``python -m gmi_vr.cli --help``).
- ``run``: until the first ``xrEndFrame`` that carries a projection layer, i.e. the
  headset's first picture (the time is taken inside the process by a hook on
  ``OpenXrSource._end_frame`` installed as the module is imported, so nothing is imported
  ahead of the command's own imports). Each sample opens a copy of a store that is already
  at the newest schema with the patient in it, as every start but the first after an
  update does.

Prints median and p99 over ``--runs`` samples, then the imports that cost most on the way
to the first frame (``python -X importtime``, cumulative, one extra run).
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench_support import sandbox_work_dir

REPO = Path(__file__).resolve().parent.parent
PATIENT = "START-1"


def percentiles(values: list[float]) -> str:
    import numpy as np

    return f"median {np.median(values):.2f} s, p99 {np.percentile(values, 99):.2f} s (n={len(values)})"


# --------------------------------------------------------------------------- the child


class FirstFrameHook(importlib.abc.MetaPathFinder):
    """When gmi_vr.xr.openxr_source is imported, wrap OpenXrSource._end_frame so the first
    call with layers writes the wall time to ``out`` (JSON)."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def find_spec(self, name: str, path: Any, target: ModuleType | None = None) -> Any:
        if name != "gmi_vr.xr.openxr_source":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run_module = loader.exec_module
        out = self.out

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            end_frame = module.OpenXrSource._end_frame

            def timed_end_frame(source: Any, frame: Any, layers: list[Any]) -> None:
                end_frame(source, frame, layers)
                if layers and not out.exists():
                    out.write_text(json.dumps({"first_frame_wall": time.time()}))

            module.OpenXrSource._end_frame = timed_end_frame

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def child(out: Path) -> int:
    sys.meta_path.insert(0, FirstFrameHook(out))
    from gmi_vr import cli

    return cli.main(["run", "--patient", PATIENT, "--max-frames", "3"])


# --------------------------------------------------------------------------- the parent


def time_help(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gmi_vr.cli", "--help"], check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return samples


def prepared_store(work: Path) -> Path:
    """A data folder whose store is at the newest schema and holds the patient."""
    data = work / "template"
    if not (data / "sessions.sqlite").exists():
        env = dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))
        subprocess.run([sys.executable, "-m", "gmi_vr.cli", "patients", "add", PATIENT, "--side", "left",
                        "--part", "hand", "--by", "bench"], env=env, check=True, capture_output=True)  # fmt: skip
    return data


def time_run(work: Path, runs: int, importtime: bool = False) -> tuple[list[float], str]:
    template = prepared_store(work)
    samples = []
    stderr = ""
    for index in range(runs):
        data = work / f"run-{index}"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(template, data)
        out = work / f"first-frame-{index}.json"
        out.unlink(missing_ok=True)
        env = dict(os.environ, GMI_VR_DATA=str(data), GMI_VR_CONFIG=str(data / "absent.toml"))
        flags = ["-X", "importtime"] if importtime else []
        started = time.time()
        result = subprocess.run([sys.executable, *flags, __file__, "--child", str(out)], env=env,
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode != 0 or not out.exists():
            raise SystemExit(f"gmi-vr run failed ({result.returncode}):\n{result.stderr[-3000:]}")
        samples.append(json.loads(out.read_text())["first_frame_wall"] - started)
        stderr = result.stderr
    return samples, stderr


def heaviest_imports(importtime_log: str, count: int = 12) -> list[tuple[float, str]]:
    """(cumulative seconds, module) of the costliest imports at the top two levels of an
    importtime log (``import time: self_us | cumulative_us | <indent>name``)."""
    rows = []
    for line in importtime_log.splitlines():
        if not line.startswith("import time:"):
            continue
        _self, cumulative, name = line.split(":", 1)[1].split("|")
        indent = len(name) - len(name.lstrip())
        if cumulative.strip().isdigit() and indent <= 3:  # top level: 1 space; nested: 2 more
            rows.append((int(cumulative) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--help-only", action="store_true", help="time only gmi-vr --help (no runtime needed)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    print(f"gmi-vr --help: {percentiles(time_help(args.runs))}")
    if args.help_only:
        return 0
    work = sandbox_work_dir("bench_startup.py")
    if work is None:
        return 2
    samples, _ = time_run(work, args.runs)
    print(f"gmi-vr run --patient to the first submitted frame: {percentiles(samples)}")
    _, log = time_run(work, 1, importtime=True)
    print("heaviest imports on the way (cumulative, python -X importtime, one run):")
    for seconds, name in heaviest_imports(log):
        print(f"  {seconds:6.3f} s  {name.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
