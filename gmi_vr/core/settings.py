"""Station settings: TOML file -> frozen dataclasses, every field with a working default.

Nothing needs configuring before the first session; a clinic may write
``$GMI_VR_CONFIG`` (default: ``<config dir>/gmi-vr/settings.toml``) to change a default.
Per-patient clinical settings live in the patient's program, not here.
"""

from __future__ import annotations

import os
import socket
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from gmi_vr.core.errors import InputFileError


def default_data_dir() -> Path:
    """Where records live: ``$GMI_VR_DATA``, else the XDG data folder (~/.local/share/gmi-vr)."""
    if env := os.environ.get("GMI_VR_DATA"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gmi-vr"


def default_config_file() -> Path:
    if env := os.environ.get("GMI_VR_CONFIG"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "gmi-vr" / "settings.toml"


@dataclass(frozen=True)
class Settings:
    #: Folder for the session database and exports.
    data_dir: Path
    #: SQLAlchemy URL; empty means SQLite at ``data_dir / "gmi-vr.sqlite"``.
    database_url: str = ""
    #: Name of this PC in the audit trail.
    station: str = ""
    #: Therapist window size in screen pixels.
    console_width: int = 1600
    console_height: int = 900

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'gmi-vr.sqlite'}"


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives the defaults, a malformed one an InputFileError."""
    path = path or default_config_file()
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InputFileError(f"The settings file {path} is not valid TOML ({error}); fix or delete it.") from error
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputFileError(
            f"The settings file {path} has unknown keys {', '.join(unknown)}; known keys are {', '.join(sorted(known))}."
        )
    data_dir = Path(str(values.pop("data_dir"))) if "data_dir" in values else default_data_dir()
    values.setdefault("station", socket.gethostname())
    try:
        return Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    except TypeError as error:
        raise InputFileError(f"The settings file {path} has a value of the wrong kind ({error}).") from error
