"""Steps that make a written file durable before the next step relies on it (a rename over
a store, a backup's or a bundle's last step)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file's bytes, or a folder's entries (a rename within it), to the disk.

    A path that cannot be opened is left alone (it was never written here), and a file system
    that cannot sync a folder is not an error: the rename is then as durable as it can be.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder
    finally:
        os.close(fd)
