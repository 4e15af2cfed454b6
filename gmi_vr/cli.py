"""The ``gmi-vr`` command. Filled in by the platform work; prints GmiErrors without a traceback."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from gmi_vr.core.errors import GmiError

    try:
        raise GmiError("gmi-vr is not built yet.")
    except GmiError as error:
        print(f"gmi-vr: {error}", file=sys.stderr)
        return error.exit_code
