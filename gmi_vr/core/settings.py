"""Station settings: TOML file -> frozen dataclasses, every field with a working default.

Nothing needs configuring before the first session; a clinic may write
``$GMI_VR_CONFIG`` (default: ``<config dir>/gmi-vr/settings.toml``) to change a default.
Per-patient clinical settings live in the patient's program, not here.
"""

from __future__ import annotations

import os
import socket
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from gmi_vr.core.errors import InputFileError
from gmi_vr.core.text_files import read_text_file

#: Environment variable that chooses the data folder, before the settings file's ``data_dir``.
DATA_ENV = "GMI_VR_DATA"
#: File name of the SQLite session store inside the data folder.
DATABASE_NAME = "sessions.sqlite"


def default_data_dir() -> Path:
    """The per-user data folder when neither ``$GMI_VR_DATA`` nor ``data_dir`` chooses one:
    the XDG data folder (``$XDG_DATA_HOME/gmi-vr``, by default ``~/.local/share/gmi-vr``) on
    Linux, ``~/Library/Application Support/gmi-vr`` on macOS, ``%LOCALAPPDATA%\\gmi-vr`` on
    Windows."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "gmi-vr"


def resolve_data_dir(configured: str | None) -> Path:
    """The one rule for the data folder: ``$GMI_VR_DATA`` (a one-off choice for this shell),
    else the settings file's ``data_dir``, else ``default_data_dir()``. ``~`` is expanded."""
    if env := os.environ.get(DATA_ENV):
        return Path(env).expanduser()
    if configured:
        return Path(configured).expanduser()
    return default_data_dir()


def default_config_file() -> Path:
    """``$GMI_VR_CONFIG``, else ``settings.toml`` in the per-user configuration folder:
    ``$XDG_CONFIG_HOME/gmi-vr`` (``~/.config/gmi-vr``) on Linux and macOS,
    ``%APPDATA%\\gmi-vr`` on Windows (settings roam with the user; records stay local)."""
    if env := os.environ.get("GMI_VR_CONFIG"):
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "gmi-vr" / "settings.toml"


@dataclass(frozen=True)
class Settings:
    """The app's settings, read once from the settings file (``load_settings``): where records
    live, this station's name, the therapist window's size. Frozen; every field is checked."""
    #: Folder for the session database (``sessions.sqlite``); see ``resolve_data_dir``.
    data_dir: Path
    #: SQLAlchemy URL of a database server; empty means SQLite at ``database_file``.
    database_url: str = ""
    #: Name of this PC in the audit trail (default: the host name).
    station: str = ""
    #: Therapist window size in screen pixels.
    console_width: int = 1280
    console_height: int = 600
    #: Minutes without a mouse or key event before the console locks (on a store with
    #: accounts). HIPAA 164.312(a)(2)(iv) asks for an automatic logoff without naming a
    #: time, and NIST SP 800-53 AC-11 leaves it to the organisation; 10 minutes is this
    #: product's default: long enough for a therapist watching a session without touching
    #: the console, short enough that an unattended console does not stay open for long.
    console_lock_minutes: float = 10.0
    #: Open the Lab Streaming Layer streams in every run, as ``gmi-vr run --lsl`` does (a lab's
    #: station; docs/research.md).
    lsl: bool = False

    @property
    def database_file(self) -> Path:
        """The SQLite store inside the data folder (used when ``database_url`` is empty)."""
        return self.data_dir / DATABASE_NAME

    def store_location(self) -> str | Path:
        """Where the session store is: the server's URL, else the SQLite file."""
        return self.database_url or self.database_file

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL of the store: ``database_url`` when set, else SQLite at ``database_file``."""
        return self.database_url or f"sqlite:///{self.database_file}"

    @property
    def console_size(self) -> tuple[int, int]:
        """The therapist window's (width, height) in screen pixels."""
        return (self.console_width, self.console_height)


#: The therapist window's size limits, screen pixels (a small laptop screen up to 16K).
CONSOLE_SIZE_RANGE = (320, 16384)
#: The idle lock's limits, minutes (a few seconds, for a demonstration, to a working day).
CONSOLE_LOCK_RANGE = (0.05, 720.0)
#: The longest station name kept in the audit trail, characters.
MAX_STATION_LENGTH = 200


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives the defaults, an unreadable or malformed one an
    InputFileError (one sentence naming the file and the problem)."""
    path = path or default_config_file()
    values: dict[str, object] = {}
    text = read_text_file(path, "settings file", "fix its permissions or delete it", absent_ok=True)
    if text is not None:  # no settings file: every default holds
        try:
            values = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise InputFileError(f"The settings file {path} is not valid TOML ({error}); fix or delete it.") from None
        except RecursionError:
            raise InputFileError(f"The settings file {path} is not valid TOML (nested far too deeply); fix or delete it.") from None
        except ValueError:  # tomllib passes on Python's refusal of an overlong integer
            raise InputFileError(f"The settings file {path} is not valid TOML (a number is far too long); fix or delete it.") from None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        shown = ", ".join(_shown(key, bare=True) for key in unknown[:3]) + (" ..." if len(unknown) > 3 else "")
        raise InputFileError(
            f"The settings file {path} has unknown keys {shown}; known keys are {', '.join(sorted(known))}."
        )

    def wrong(key: str, expected: str) -> InputFileError:
        return InputFileError(
            f"The settings file {path} gives {key} = {_shown(values[key])}, but it must be {expected}."
        )

    for key in ("data_dir", "database_url", "station"):
        value = values.get(key, "")
        if not isinstance(value, str) or not value.isprintable():  # no NUL, no line break
            raise wrong(key, "a line of text")
    if "data_dir" in values and not values["data_dir"]:
        raise wrong("data_dir", "a folder path")
    if values.get("database_url") and "://" not in str(values["database_url"]):
        # The store would take anything else for a folder and create it where gmi-vr runs.
        raise wrong("database_url", "a database URL such as postgresql+psycopg://host/gmi (or left out)")
    if len(str(values.get("station", ""))) > MAX_STATION_LENGTH:
        raise wrong("station", f"at most {MAX_STATION_LENGTH} characters")
    low, high = CONSOLE_SIZE_RANGE
    for key in ("console_width", "console_height"):
        value = values.get(key, low)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise wrong(key, f"a whole number of pixels from {low} to {high}")
    lock_low, lock_high = CONSOLE_LOCK_RANGE
    lock = values.get("console_lock_minutes", lock_low)
    if isinstance(lock, bool) or not isinstance(lock, int | float) or not lock_low <= lock <= lock_high:
        raise wrong("console_lock_minutes", f"a number of minutes from {lock_low} to {lock_high:.0f}")
    if "console_lock_minutes" in values:
        values["console_lock_minutes"] = float(lock)
    if not isinstance(values.get("lsl", False), bool):
        raise wrong("lsl", "true or false")
    data_dir = resolve_data_dir(str(values.pop("data_dir")) if "data_dir" in values else None)
    if not values.get("station"):
        values["station"] = socket.gethostname()
    return Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]  # TOML values, each checked against its field's type above


def _shown(value: object, limit: int = 40, bare: bool = False) -> str:
    """A key (``bare``: unquoted when it is short printable ASCII) or a value from the file
    for a message: escaped (no control characters reach the terminal) and cut short."""
    if bare and isinstance(value, str) and value.isascii() and value.isprintable() and len(value) <= limit:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 64:
        return "a number beyond 64 bits"
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
