"""How the XR support apps (tests/support/xr_*app.py) end on a refusal: as the real CLI does."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gmi_vr.core.errors import GmiError


def refused(error: GmiError, result: dict[str, Any]) -> int:
    """Says ``error``'s one sentence on stderr ("gmi-vr: ..."), keeps it in ``result["error"]``
    for the test and answers the exit status the CLI would give."""
    print(f"gmi-vr: {error}", file=sys.stderr)
    result["error"] = str(error)
    return error.exit_code
