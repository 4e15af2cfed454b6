"""Who sits at the console: sign-in once per start, the idle lock, and the first admin.

    start ──▶ ConsoleGate.for_store(account, lock_after_s)     reads the store's accounts once
    each frame:  gate.watch(last_input_s, now_s)                  locks when idle; takes a finished check
    each click:  gate.act(ConsoleAction)                          sign in, unlock, first admin, lock

- On a store with accounts the console shows only a sign-in prompt until an account that may
  change records signs in (or ``$GMI_VR_TOKEN`` already did); a wrong name or password gets
  one sentence that never says which of the two was wrong (``accounts.sign_in``).
- Signed in, the console locks after ``lock_after_s`` without a mouse or key event in the
  window (settings' ``console_lock_minutes``) and shows only the unlock prompt for the same
  account. The session loop keeps running while locked: the headset's frames, the patient's
  own stop and flare, and the recording go on; only the therapist's controls wait.
- On a store with no accounts nothing is asked: the console offers, beside everything else,
  to create the first admin (name and password, once) or to go on without accounts (one
  click hides the offer).

Checking a password (Argon2, tens of milliseconds) and writing the audit rows happen on a
worker thread with its own store connection: the headset's frames never wait for them.
The idle time is the desktop's wall clock (``time.monotonic``), like the window's pacing.
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gmi_vr.app.accounts import Account, add_user, require, sign_in
from gmi_vr.console.panels import ConsoleAction, SignInPrompt
from gmi_vr.core.errors import GmiError
from gmi_vr.core.settings import Settings, load_settings
from gmi_vr.recording.store import SessionStore

#: The console's actions that the gate takes (everything else waits for it to open).
GATE_ACTIONS = frozenset({"sign_in", "create_admin", "no_accounts", "lock"})


def store_opener(settings: Settings) -> Callable[[bool], SessionStore]:
    """Opens the store of ``settings`` (bound once: a run's checks and rows go to the store it
    started with, whatever the environment says later); the argument is ``create``."""
    location, station = settings.store_location(), settings.station
    return lambda create: SessionStore.open(location, create=create, station=station)


def _open_configured(create: bool) -> SessionStore:
    return store_opener(load_settings())(create)


@dataclass
class ConsoleGate:
    """Whether the console's controls are open, and to whom (``actor``).

    ``accounts``: the store has accounts (sign-in and the idle lock apply); ``account``: who
    signed in; ``locked``: the idle lock is on; ``offer_admin``: a store without accounts
    still offers to create the first admin. ``problem`` is the last refusal's sentence.
    ``opener`` opens the store on the worker thread (tests hand in their own)."""

    accounts: bool
    lock_after_s: float
    account: Account | None = None
    locked: bool = False
    offer_admin: bool = False
    problem: str = ""
    #: Who acts on a store without accounts (``--by``, else the logged-in user).
    fallback: str = field(default_factory=getpass.getuser)
    opener: Callable[[bool], SessionStore] = _open_configured
    _busy: threading.Thread | None = None
    #: What the worker found: ("account", Account), ("problem", str), or ("accounts", str):
    #: the first admin was refused because the store has accounts now.
    _done: tuple[str, Any] | None = None
    _last_input_s: float | None = None

    @classmethod
    def for_store(cls, account: Account | None = None, lock_after_s: float | None = None,
                  fallback: str | None = None) -> ConsoleGate:
        """The gate of one start: the store's accounts read once (a store that does not exist
        or cannot be read has none to ask for: nothing of it can be reached either).
        ``account``: already signed in (``$GMI_VR_TOKEN``); ``lock_after_s`` None: the
        settings' ``console_lock_minutes``."""
        settings = load_settings()
        lock = 60.0 * settings.console_lock_minutes if lock_after_s is None else lock_after_s
        who = fallback or getpass.getuser()
        exists = bool(settings.database_url) or settings.database_file.exists()
        opener = store_opener(settings)
        count = 0
        if exists:
            try:
                store = opener(False)
            except GmiError:
                return cls(False, lock, fallback=who, opener=opener)
            try:
                count = store.count_users()
            except GmiError:
                return cls(False, lock, fallback=who, opener=opener)
            finally:
                store.close()
        return cls(count > 0, lock, account=account if count else None, offer_admin=count == 0, fallback=who,
                   opener=opener)  # fmt: skip

    # -- what the console and the app ask

    @property
    def open(self) -> bool:
        """The therapist's controls act (no accounts, or signed in and not locked)."""
        return not self.accounts or (self.account is not None and not self.locked)

    def actor(self) -> str:
        """The name the audit trail gives the console's actions."""
        return self.account.name if self.account is not None else self.fallback

    def prompt(self) -> SignInPrompt | None:
        """What the console shows of the gate: sign-in or unlock (nothing else is shown with
        them), the first-admin offer, or None."""
        busy = self._busy is not None
        if self.accounts and self.account is None:
            return SignInPrompt("sign_in", problem=self.problem, busy=busy)
        if self.accounts and self.locked:
            return SignInPrompt("unlock", self.account.name if self.account else "", self.problem, busy)
        if self.offer_admin:
            return SignInPrompt("first_admin", problem=self.problem, busy=busy)
        return None

    def signed_in_line(self) -> str:
        if self.account is None:
            return ""
        return f"signed in as {self.account.name} ({self.account.role}); locks after {self.lock_after_s / 60:g} min idle"

    # -- per frame and per click

    def watch(self, last_input_s: float | None, now_s: float) -> bool:
        """Take a finished check, and lock once ``lock_after_s`` passed since the window's
        last input (``last_input_s``; None: none yet, counted from the first call). Returns
        True when the gate opened in this call (a sign-in or unlock went through)."""
        opened = False
        if self._done is not None and (self._busy is None or not self._busy.is_alive()):
            kind, value = self._done
            self._done, self._busy = None, None
            if kind == "account":
                self.account, self.accounts, self.locked, self.offer_admin, self.problem = value, True, False, False, ""
                self._last_input_s = now_s  # signing in is the therapist's latest activity
                opened = True
            else:
                self.problem = str(value)
                if kind == "accounts":  # another station made the first admin meanwhile: sign in
                    self.accounts, self.offer_admin = True, False
        if self._last_input_s is None or (last_input_s is not None and last_input_s > self._last_input_s):
            self._last_input_s = last_input_s if last_input_s is not None else now_s
        if self.accounts and self.account is not None and not self.locked and self._busy is None:
            idle = now_s - self._last_input_s
            if idle >= self.lock_after_s:
                self.locked = True
                self._audit("console.lock", {"idle_s": round(idle, 1)})
        return opened

    def act(self, action: ConsoleAction) -> None:
        """A gate action from the console: "sign_in" (name, password), "create_admin"
        (name, password, the password again), "no_accounts", "lock"."""
        if action.name == "no_accounts":
            self.offer_admin, self.problem = False, ""
        elif action.name == "lock":
            if self.accounts and self.account is not None and not self.locked:
                self.locked = True
                self._audit("console.lock", {"by_hand": True})
        elif self._busy is not None:
            return  # one check at a time; a second press while checking is the same request
        elif action.name == "sign_in":
            name, password = action.value
            if self.locked and self.account is not None and name.strip() != self.account.name:
                self.problem = f"This console is locked for {self.account.name}: that account's password unlocks it."
                return
            self._start(self._check_sign_in, name.strip(), password)
        elif action.name == "create_admin" and self.offer_admin:
            name, password, again = action.value
            if password != again:
                self.problem = "The two passwords differ; type the same password twice."
                return
            self._start(self._create_admin, name.strip(), password)

    def wait(self, timeout_s: float = 30.0) -> None:
        """Wait for a check under way (tests, and the end of a run)."""
        if self._busy is not None:
            self._busy.join(timeout_s)

    # -- the worker's side (its own store connection)

    def _start(self, work: Callable[[str, str], None], name: str, password: str) -> None:
        self.problem = ""
        self._busy = threading.Thread(target=work, args=(name, password), name="gmi-vr sign-in", daemon=True)
        self._busy.start()

    def _check_sign_in(self, name: str, password: str) -> None:
        unlocking = self.locked
        try:
            store = self.opener(False)
            try:
                account = sign_in(store, name, password)
                require(account, "change_records")
                store.audit(account.name, "console.unlock" if unlocking else "console.sign_in")
            finally:
                store.close()
        except GmiError as error:
            self._done = ("problem", str(error))
        else:
            self._done = ("account", account)

    def _create_admin(self, name: str, password: str) -> None:
        try:
            store = self.opener(True)
            try:
                try:
                    add_user(store, name, "admin", password, by=None)
                except GmiError as error:
                    self._done = ("accounts" if store.count_users() else "problem", str(error))
                    return
                store.audit(name, "console.sign_in", details={"first_admin": True})
            finally:
                store.close()
        except GmiError as error:
            self._done = ("problem", str(error))
        else:
            self._done = ("account", Account(name, "admin"))

    def _audit(self, action: str, details: dict[str, Any]) -> None:
        """A lock's audit row, written on a worker thread (a failure is shown, never fatal)."""
        name = self.actor()

        def write() -> None:
            try:
                store = self.opener(False)
                try:
                    store.audit(name, action, details=details)
                finally:
                    store.close()
            except GmiError as error:
                self.problem = f"The audit row could not be written ({error})."

        threading.Thread(target=write, name="gmi-vr audit", daemon=True).start()
