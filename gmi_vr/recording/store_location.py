"""Where the session store lives: decided once, by ``gmi_vr.core.settings`` (``$GMI_VR_DATA``,
else the settings file's ``data_dir``, else the per-user data folder; the database inside it
is ``sessions.sqlite``; a ``database_url`` names a database server instead). This module
only hands that decision to the recording layer.
"""

from __future__ import annotations

import os
from pathlib import Path

from gmi_vr.core.settings import DATA_ENV, DATABASE_NAME, load_settings

__all__ = ["DATA_ENV", "DATABASE_NAME", "default_database_path", "is_url"]


def default_database_path() -> Path:
    """The SQLite file of the session store in the data folder (``Settings.database_file``)."""
    return load_settings().database_file


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for an SQLAlchemy URL ("sqlite:///...", "postgresql+psycopg://..."), False for a path."""
    return isinstance(location, str) and "://" in location
