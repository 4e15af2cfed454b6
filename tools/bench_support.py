"""What the benchmarks share: writing their figures for ``--json``, and the scratch folder of
a run that needs the XR sandbox's OpenXR runtime.

Imported by the ``tools/bench_*.py`` scripts (their own folder is on ``sys.path`` when run).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def write_figures(path: Path | None, figures: Any) -> None:
    """Write ``figures`` (JSON-able) to ``path`` as indented JSON, when a path is given (the
    benchmarks' ``--json FILE``)."""
    if path is not None:
        path.write_text(json.dumps(figures, indent=2) + "\n")


def sandbox_work_dir(script: str) -> Path | None:
    """The scratch folder ``$TMPDIR/<script's name>`` (made if missing) of a benchmark that
    needs an OpenXR runtime, when it runs inside the XR sandbox; else None, after saying on
    stderr how to run ``script`` (its file name under tools/) there."""
    if os.environ.get("GMI_VR_SANDBOX") != "1":
        print(f"the run needs an OpenXR runtime: tools/xr-sandbox run -- python tools/{script}", file=sys.stderr)
        return None
    work = Path(os.environ.get("TMPDIR", "/tmp")) / Path(script).stem.replace("_", "-")
    work.mkdir(parents=True, exist_ok=True)
    return work
