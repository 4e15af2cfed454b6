"""Where the session store lives.

The default is a per-user data folder: ``$GMI_VR_DATA`` when set, otherwise the XDG data
directory (``$XDG_DATA_HOME/gmi-vr``, by default ``~/.local/share/gmi-vr``) on Linux,
``~/Library/Application Support/gmi-vr`` on macOS and ``%LOCALAPPDATA%\\gmi-vr`` on Windows.
The database inside it is ``sessions.sqlite``. A full SQLAlchemy URL (for example a clinic's
PostgreSQL server) can be given instead of a path wherever a store is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from gmi_vr.core.settings import default_data_dir

#: Environment variable that overrides the data folder.
DATA_ENV = "GMI_VR_DATA"
#: File name of the SQLite session store inside the data folder.
DATABASE_NAME = "sessions.sqlite"


def data_dir() -> Path:
    """The folder that holds the session store (not created here)."""
    return default_data_dir()


def default_database_path() -> Path:
    return data_dir() / DATABASE_NAME


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for an SQLAlchemy URL ("sqlite:///...", "postgresql+psycopg://..."), False for a path."""
    return isinstance(location, str) and "://" in location
