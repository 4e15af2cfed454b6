"""Encryption at rest for the SQLite session store: SQLCipher 4, opt-in per station.

An encrypted store is an SQLCipher 4 file (AES-256 pages, each with an HMAC): without the
passphrase it is random bytes, its WAL too. It is opened through the same ``SessionStore``,
``health`` and ``backup`` code as a plaintext one; only the DB-API module differs
(``sqlcipher3`` instead of ``sqlite3``) and every connection is keyed first.

How the store knows it is encrypted without the key: a plaintext SQLite file begins with
"SQLite format 3"; an SQLCipher file begins with its random 16-byte salt. ``gmi-vr store
encrypt`` (and a restore of an encrypted backup) also leaves a small marker file beside the
store (``sessions.sqlite-encrypted``), so a store whose header is not SQLite's is told apart
from a damaged file: an encrypted store opened without its passphrase, or with a wrong one,
is refused with one sentence saying so, and the file is not touched.

Where the passphrase comes from, first found wins (it is never written in the settings):
``$GMI_VR_STORE_PASSPHRASE`` (for scripts), the OS keyring (``keyring``: service "gmi-vr",
entry "session-store"), or the terminal, asked once per start of the program.

Keying: SQLCipher 4 derives the page key from the passphrase with PBKDF2-HMAC-SHA512,
256,000 iterations, salted with the file's first 16 bytes, on every new connection (a
third of a second each). Here the same derivation runs once per process and salt
(``hashlib``) and connections are keyed with the derived raw key, which opens exactly the
same file: a store encrypted here opens in SQLCipher's own shell with the passphrase.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlcipher3.dbapi2 as sqlcipher  # SQLCipher 4 bundled in the wheel: no compiler, no system library

from gmi_vr.core.errors import StorageError

#: The passphrase for scripts and unattended stations (the settings file never holds it).
PASSPHRASE_ENV = "GMI_VR_STORE_PASSPHRASE"
KEYRING_SERVICE = "gmi-vr"
KEYRING_ENTRY = "session-store"
#: Suffix of the marker file beside an encrypted store (``sessions.sqlite-encrypted``).
MARKER_SUFFIX = "-encrypted"
PLAINTEXT_MAGIC = b"SQLite format 3\x00"
#: SQLCipher 4's defaults: PBKDF2-HMAC-SHA512, 256,000 iterations, a 16-byte salt, a 32-byte key.
KDF_ITERATIONS = 256_000
SALT_BYTES = 16
KEY_BYTES = 32
#: The shortest passphrase ``gmi-vr store encrypt`` accepts (a keyring-held one may be random and long).
MIN_PASSPHRASE = 8

#: The DB-API module (``sqlite3``'s interface) and its errors, a class tree apart from ``sqlite3``'s.
dbapi: Any = sqlcipher
Error: type[Exception] = sqlcipher.Error
DatabaseError: type[Exception] = sqlcipher.DatabaseError
OperationalError: type[Exception] = sqlcipher.OperationalError

#: Asks the person at the terminal (set by the CLI; None: nobody to ask).
_asker: Callable[[], str | None] | None = None
#: The passphrase typed at the terminal, kept for the rest of this start only.
_typed: str | None = None


def terminal_asker() -> str | None:
    """Ask at the terminal once (None when there is no terminal to ask at)."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass("Passphrase of the encrypted session store: ") or None


def set_asker(asker: Callable[[], str | None] | None) -> None:
    """Who is asked for the passphrase when neither the environment nor the keyring has it."""
    global _asker
    _asker = asker


def marker_path(store: Path) -> Path:
    """The marker file beside the store file ``store``."""
    return store.with_name(store.name + MARKER_SUFFIX)


def header_is_plaintext(path: Path) -> bool:
    """True when ``path`` starts as a plaintext SQLite file (or is empty: a new store)."""
    with path.open("rb") as f:
        head = f.read(len(PLAINTEXT_MAGIC))
    return not head or head == PLAINTEXT_MAGIC


def is_encrypted_store(path: Path) -> bool:
    """An SQLCipher store: its header is not SQLite's and the marker says it is encrypted."""
    return marker_path(path).exists() and not header_is_plaintext(path)


def write_marker(store: Path) -> None:
    """The marker beside an encrypted store, ``0600``, durable before the store is swapped in."""
    from gmi_vr.recording import privacy

    marker = marker_path(store)
    with open(marker, "w", encoding="utf-8", opener=privacy.private_opener) as f:
        f.write(
            "The session store beside this file is encrypted (SQLCipher 4). Its passphrase comes from\n"
            f"${PASSPHRASE_ENV}, the OS keyring ({KEYRING_SERVICE} / {KEYRING_ENTRY}) or the terminal.\n"
        )
        f.flush()
        os.fsync(f.fileno())


def _from_keyring() -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
    except (KeyringError, RuntimeError):  # no usable keyring on this account: ask instead
        return None


def save_in_keyring(passphrase: str) -> None:
    """Keep the passphrase in this account's OS keyring, so this station is not asked again."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, KEYRING_ENTRY, passphrase)
    except (KeyringError, RuntimeError) as error:
        raise StorageError(
            f"The OS keyring could not keep the passphrase ({error}); leave out --keyring and give the "
            f"passphrase at each start, or set {PASSPHRASE_ENV} for scripts."
        ) from error


def passphrase(ask: bool = True) -> str | None:
    """The store passphrase from the environment, the keyring, or (``ask``) the terminal once
    per start; None when none is given."""
    global _typed
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    stored = _from_keyring()
    if stored:
        return stored
    if _typed is None and ask and _asker is not None:
        _typed = _asker()
    return _typed


def new_passphrase() -> str:
    """A random passphrase for a keyring-held key (256 bits)."""
    return secrets.token_urlsafe(KEY_BYTES)


@functools.lru_cache(maxsize=8)
def _derived_key(secret: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, KDF_ITERATIONS, KEY_BYTES)


def key_pragma(secret: str, salt: bytes) -> str:
    """``PRAGMA key`` with the raw key SQLCipher would derive from ``secret`` and ``salt``; the
    salt is named too, so a new file gets it (and opens with the passphrase alone)."""
    return f"PRAGMA key = \"x'{_derived_key(secret, salt).hex()}{salt.hex()}'\""


def file_salt(path: Path) -> bytes:
    """The salt an SQLCipher file begins with."""
    with path.open("rb") as f:
        return f.read(SALT_BYTES)


def new_salt() -> bytes:
    """A random salt for a new SQLCipher file."""
    return secrets.token_bytes(SALT_BYTES)


def prepare(connection: Any, secret: str, salt: bytes) -> None:
    """Key a fresh SQLCipher connection (before anything else touches the file); SQLCipher's
    own log stays quiet: a wrong key is reported as one sentence, not as log lines."""
    connection.execute("PRAGMA cipher_log_level = NONE")
    connection.execute(key_pragma(secret, salt))


def connect(path: Path, secret: str, *, read_only: bool = False, salt: bytes | None = None, **kwargs: Any) -> Any:
    """An SQLCipher connection to ``path`` keyed with ``secret``: an existing file with its own
    salt, a new one with ``salt`` (default: a new random one). ``read_only`` opens with
    ``mode=ro`` (the WAL is read, never written)."""
    if salt is None:
        salt = file_salt(path) if path.exists() and path.stat().st_size else new_salt()
    if read_only:
        connection = sqlcipher.connect(f"file:{quote(str(path))}?mode=ro", uri=True, **kwargs)
    else:
        connection = sqlcipher.connect(str(path), **kwargs)
    prepare(connection, secret, salt)
    return connection


def opens_with(path: Path, secret: str) -> bool:
    """Whether ``secret`` opens the SQLCipher file ``path`` (read-only; the file is unchanged)."""
    connection = connect(path, secret, read_only=True)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except DatabaseError as error:
        if "not a database" in str(error):
            return False
        raise
    finally:
        connection.close()


def require_passphrase(path: Path) -> str:
    """The passphrase that opens the encrypted store or backup ``path``, or the one sentence
    (StorageError, exit 7) saying it is missing or wrong; the file is not changed."""
    secret = passphrase()
    if secret is None:
        raise StorageError(
            f"The session store {path} is encrypted and no passphrase was given; type it when asked, "
            f"set {PASSPHRASE_ENV}, or keep it in the OS keyring with 'gmi-vr store encrypt --keyring' "
            f"on this station (the file was left unchanged)."
        )
    if not opens_with(path, secret):
        raise StorageError(
            f"The passphrase does not open the encrypted session store {path}; check "
            f"{PASSPHRASE_ENV} or the keyring entry '{KEYRING_SERVICE} / {KEYRING_ENTRY}' (the file was left unchanged)."
        )
    return secret
