"""A person behind every action: accounts, roles, passwords and sign-in.

A store with no accounts works as before (the audit trail names the logged-in user), so
nothing needs configuring before the first session; the first account added is an admin
and needs no sign-in. From then on every command that changes records, or exports them,
acts as a signed-in account, and the audit trail names it:

- ``admin``: everything, and the only role that manages accounts;
- ``therapist``: patients, programs, calibrations, sessions, reports and exports;
- ``researcher``: exports (pseudonymised) and reading, no change to any record but a
  program's research settings (``research``, ``feedback``: a study's visual-feedback
  conditions), which only a researcher or an admin may change.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended
parameter set); the password itself is never stored. A script signs in once with
``gmi-vr signin NAME`` and passes the printed token in ``$GMI_VR_TOKEN``; only the token's
SHA-256 is stored, and it expires after ``TOKEN_HOURS``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from gmi_vr.core.errors import AccessError, GmiError
from gmi_vr.recording.store import SessionStore, utcnow

Role = Literal["admin", "therapist", "researcher"]
Permission = Literal["manage_users", "change_records", "export", "research"]

ROLES: tuple[Role, ...] = ("admin", "therapist", "researcher")
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "admin": frozenset({"manage_users", "change_records", "export", "research"}),
    "therapist": frozenset({"change_records", "export"}),
    "researcher": frozenset({"export", "research"}),
}
#: What each permission lets an account do, for the refusal's sentence.
DOING: dict[Permission, str] = {
    "manage_users": "manage accounts",
    "change_records": "change records",
    "export": "export records",
    "research": "change a program's research settings",
}
#: The environment variable a script puts its sign-in token in.
TOKEN_ENV = "GMI_VR_TOKEN"
#: How long a sign-in token is good for: one clinic day.
TOKEN_HOURS = 12
#: The shortest password accepted (NIST SP 800-63B, 5.1.1.2: at least 8 characters).
MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Account:
    name: str
    role: Role


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_new_account(name: str, role: str, password: str) -> None:
    if not _NAME.fullmatch(name):
        raise GmiError(f"{name!r} is not an account name: use 1-64 letters, digits, '.', '-' or '_'.")
    if role not in ROLES:
        raise GmiError(f"{role!r} is not a role; choose one of {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise GmiError(f"The password is too short; use at least {MIN_PASSWORD_LENGTH} characters.")


def add_user(store: SessionStore, name: str, role: str, password: str, by: Account | None) -> bool:
    """Add an account. ``by`` is the signed-in admin; None only on a store with no account
    yet, where the first account must be an admin. Returns True when it was the first."""
    check_new_account(name, role, password)
    if by is None:
        if store.count_users():
            raise AccessError("This store has accounts: sign in as an admin to add one.")
        if role != "admin":
            raise AccessError(f"The first account manages the others, so it is an admin: add {name} with --role admin.")
        store.add_user(name, role, hash_password(password), actor=name, first=True)
        return True
    require(by, "manage_users")
    store.add_user(name, role, hash_password(password), actor=by.name)
    return False


def sign_in(store: SessionStore, name: str, password: str) -> Account:
    """The account when the password is its own; AccessError (one sentence, not saying
    which of the two was wrong) otherwise."""
    found = store.user(name)
    # Hash even for an unknown name, so the time taken does not say which names exist.
    known_hash = found[1] if found else hash_password("not an account")
    if not password_matches(known_hash, password) or found is None:
        raise AccessError("The account name or the password is wrong; try again (names are case-sensitive).")
    return Account(name, found[0])  # type: ignore[arg-type]  # the store's role is text; add_user writes only ROLES


def issue_token(store: SessionStore, account: Account) -> str:
    """A new sign-in token for scripts (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    store.add_sign_in(account.name, _token_hash(token), utcnow() + timedelta(hours=TOKEN_HOURS))
    return token


def from_token(store: SessionStore, token: str) -> Account:
    found = store.signed_in(_token_hash(token.strip()))
    if found is None:
        raise AccessError(f"The sign-in in ${TOKEN_ENV} is unknown or has expired; sign in again with 'gmi-vr signin NAME'.")
    return Account(found[0], found[1])  # type: ignore[arg-type]  # as in sign_in: a role from ROLES


def require(account: Account, permission: Permission) -> None:
    if permission not in PERMISSIONS[account.role]:
        allowed = [role for role in ROLES if permission in PERMISSIONS[role]]
        raise AccessError(
            f"Account {account.name} is a {account.role} and may not {DOING[permission]}; "
            f"ask someone with the {' or '.join(allowed)} role."
        )


def acting_account(
    store: SessionStore,
    permission: Permission,
    token: str | None,
    ask: Callable[[], tuple[str, str]] | None,
) -> Account | None:
    """Who acts, on a store with accounts: the account of ``token`` (``$GMI_VR_TOKEN``), else
    the one ``ask`` signs in (a name and password typed at a terminal), checked for
    ``permission``. None on a store without accounts. AccessError when nobody can be signed
    in (no token and no terminal) or the role may not."""
    if not store.count_users():
        return None
    if token:
        account = from_token(store, token)
    elif ask is not None:
        account = sign_in(store, *ask())
    else:
        raise AccessError(
            f"This store has accounts: sign in with 'gmi-vr signin NAME' and put the token it prints in ${TOKEN_ENV}."
        )
    require(account, permission)
    return account


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
