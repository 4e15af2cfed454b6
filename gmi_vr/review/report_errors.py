"""The report's own user-facing failure (the rest are the store's: ``NotFoundError``...)."""

from __future__ import annotations

from gmi_vr.core.errors import GmiError


class ReportError(GmiError):
    """A report cannot be made as asked: a bad date or period, an output path that cannot
    be written. Exit 2, like other mistakes in a command's arguments."""

    exit_code = 2
