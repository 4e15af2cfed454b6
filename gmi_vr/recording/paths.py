"""Where the session store lives: decided once, by ``gmi_vr.core.settings`` (``$GMI_VR_DATA``,
else the settings file's ``data_dir``, else the per-user data folder; the database inside it
is ``sessions.sqlite``; a ``database_url`` names a database server instead). This module
only hands that decision to the recording layer.
"""

from __future__ import annotations

import os
from pathlib import Path

from gmi_vr.core.settings import DATA_ENV, DATABASE_NAME, load_settings

__all__ = ["DATA_ENV", "DATABASE_NAME", "data_dir", "default_database_path", "is_url"]


def data_dir() -> Path:
    """The folder that holds the session store (not created here)."""
    return load_settings().data_dir


def default_database_path() -> Path:
    return load_settings().database_file


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for an SQLAlchemy URL ("sqlite:///...", "postgresql+psycopg://..."), False for a path."""
    return isinstance(location, str) and "://" in location
