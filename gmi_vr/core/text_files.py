"""Reading a text file the user wrote (settings, motion scripts), with one sentence for
every way it can fail to be read."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, overload

from gmi_vr.core.errors import InputFileError


@overload
def read_text_file(path: Path, what: str, fix: str) -> str: ...


@overload
def read_text_file(path: Path, what: str, fix: str, *, absent_ok: Literal[True]) -> str | None: ...


def read_text_file(path: Path, what: str, fix: str, *, absent_ok: bool = False) -> str | None:
    """The text of the file ``path``: UTF-8 with or without a byte-order mark (some Windows
    editors write one). InputFileError when it is not UTF-8 or cannot be read, naming it as
    ``what`` ("settings file") and saying ``fix`` (what to do) when it cannot be read. With
    ``absent_ok``, None when there is no file at ``path``."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"The {what} {path} is not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8."
        ) from None
    except OSError as error:
        if absent_ok and isinstance(error, FileNotFoundError | NotADirectoryError):
            return None
        reason = error.strerror or type(error).__name__
        raise InputFileError(f"Cannot read the {what} {path} ({reason}); {fix}.") from None
