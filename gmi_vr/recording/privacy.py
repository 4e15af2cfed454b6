"""Health records are private on disk: who may read the data folder and the files gmi-vr writes.

The rule: the data folder is ``0700`` and every file of the store (the database, its WAL and
shared-memory files, the disk reserve), every backup and every export is ``0600`` — only the
account that runs gmi-vr can read them, whatever the umask. Files are created with that mode
(``os.open(..., 0o600)``, then ``fchmod``, because the umask can only take bits away and a
file that already exists keeps its mode). SQLite gives a database's WAL and shared-memory
files the database file's own permissions, so creating the database ``0600`` covers them.

``folder_exposure`` is the check ``gmi-vr doctor`` runs on an existing data folder (made by
an older gmi-vr, or copied by hand): one sentence saying who else can read it and the
command that fixes it, or None.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: The data folder: only its owner may list, read or enter it.
FOLDER_MODE = 0o700
#: Every file gmi-vr writes with health data in it.
FILE_MODE = 0o600


def private_opener(path: str, flags: int) -> int:
    """For ``open(path, mode, opener=private_opener)``: the file is ``0600`` whatever the umask
    (also when it already existed with a wider mode)."""
    fd = os.open(path, flags, FILE_MODE)
    if hasattr(os, "fchmod"):  # POSIX; Windows keeps a file private through the user's profile folder
        os.fchmod(fd, FILE_MODE)
    return fd


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and ``0600``; FileExistsError when it is there."""
    with open(path, "xb", opener=private_opener):
        pass


def make_private_folder(folder: Path) -> None:
    """Create ``folder`` (and missing parents) with the folder itself ``0700`` whatever the umask;
    an existing folder is left as it is (the doctor reports a wide one)."""
    folder.mkdir(parents=True, mode=FOLDER_MODE)
    os.chmod(folder, FOLDER_MODE)


def folder_exposure(folder: Path) -> str | None:
    """One sentence when other accounts can read the data folder or a file in it (group or
    others have any permission), saying how to fix it; None when it is private or absent."""
    if os.name != "posix" or not folder.is_dir():
        return None
    exposed: list[Path] = []
    for path in [folder, *sorted(folder.iterdir())]:
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            continue
        if mode & 0o077:
            exposed.append(path)
    if not exposed:
        return None
    shown = ", ".join(f"{p.name or p} ({stat.filemode(p.lstat().st_mode)})" for p in exposed[:3])
    more = f" and {len(exposed) - 3} more" if len(exposed) > 3 else ""
    return (
        f"The data folder {folder} can be read by other accounts on this computer: {shown}{more}; "
        f"make it private with: chmod -R go-rwx '{folder}'"
    )
