"""The console's sign-in and idle lock (``app.signin.ConsoleGate``) on a real SQLite store and
real Argon2 hashes, without a window: who may sign in, when it locks, who unlocks it, and
what a store without accounts offers. (The window's side: tests/test_console_signin.py.)"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from support.station import use_station

from gmi_vr import cli
from gmi_vr.app.accounts import Account, add_user
from gmi_vr.app.signin import ConsoleGate
from gmi_vr.console.panels import ConsoleAction
from gmi_vr.core.errors import InputFileError
from gmi_vr.core.settings import load_settings
from gmi_vr.recording.store import SessionStore

PASSWORD = "correcthorse"


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_station(tmp_path, monkeypatch)
    return tmp_path


@pytest.fixture
def clinic(station: Path) -> Path:
    with SessionStore.open() as store:
        add_user(store, "boss", "admin", PASSWORD, by=None)
        add_user(store, "ana", "therapist", PASSWORD, by=Account("boss", "admin"))
        add_user(store, "rita", "researcher", PASSWORD, by=Account("boss", "admin"))
    return station


def _sign_in(gate: ConsoleGate, name: str, password: str, now_s: float) -> bool:
    gate.act(ConsoleAction("sign_in", (name, password)))
    gate.wait()
    return gate.watch(None, now_s)


def test_only_an_account_that_may_change_records_opens_the_console(clinic: Path) -> None:
    gate = ConsoleGate.for_store(lock_after_s=600.0)
    assert gate.accounts and not gate.open and gate.prompt() is not None and gate.prompt().kind == "sign_in"
    assert not _sign_in(gate, "ana", "wrong password", 0.0)
    assert gate.problem == "The account name or the password is wrong; try again (names are case-sensitive)."
    assert not _sign_in(gate, "nobody", PASSWORD, 0.0)
    assert gate.problem == "The account name or the password is wrong; try again (names are case-sensitive)."
    assert not _sign_in(gate, "rita", PASSWORD, 0.0)
    assert gate.problem.startswith("Account rita is a researcher and may not change records")
    assert not gate.open and gate.actor() != "rita"
    assert _sign_in(gate, "ana", PASSWORD, 0.0)
    assert gate.open and gate.actor() == "ana" and gate.prompt() is None and gate.problem == ""


def test_it_locks_after_the_idle_time_and_only_the_same_account_unlocks_it(clinic: Path) -> None:
    gate = ConsoleGate.for_store(lock_after_s=600.0)
    assert _sign_in(gate, "ana", PASSWORD, 100.0)
    gate.watch(650.0, 699.0)  # input at 650 s: not idle yet at 699 s
    gate.watch(650.0, 1249.0)
    assert gate.open
    gate.watch(650.0, 1250.0)  # 600 s without input
    assert gate.locked and not gate.open and gate.prompt().kind == "unlock" and gate.prompt().name == "ana"
    gate.watch(1300.0, 1300.0)  # input while locked does not unlock
    assert not gate.open
    assert not _sign_in(gate, "boss", PASSWORD, 1301.0)
    assert gate.problem == "This console is locked for ana: that account's password unlocks it."
    assert not _sign_in(gate, "ana", "wrong password", 1302.0)
    assert _sign_in(gate, "ana", PASSWORD, 1303.0)
    assert gate.open and gate.actor() == "ana"
    gate.watch(None, 1303.0 + 599.0)  # the unlock counts as activity
    assert gate.open
    with SessionStore.open(create=False) as store:
        rows = [(a.actor, a.action) for a in store.audit_trail() if a.action.startswith("console.")]
    gate.act(ConsoleAction("lock"))
    assert not gate.open
    assert rows[0] == ("ana", "console.sign_in") and ("ana", "console.unlock") in rows


def test_a_token_signs_the_console_in_and_a_store_without_accounts_asks_nothing(clinic: Path, station: Path) -> None:
    gate = ConsoleGate.for_store(Account("ana", "therapist"), lock_after_s=600.0)
    assert gate.open and gate.actor() == "ana"


def test_a_store_without_accounts_is_open_and_offers_the_first_admin(station: Path) -> None:
    gate = ConsoleGate.for_store(lock_after_s=1.0, fallback="t.one")
    assert gate.open and not gate.accounts and gate.actor() == "t.one"
    assert gate.prompt() is not None and gate.prompt().kind == "first_admin"
    gate.watch(None, 0.0)
    gate.watch(None, 1000.0)
    assert gate.open, "no account: nothing to unlock with, so no lock"
    gate.act(ConsoleAction("create_admin", ("boss", PASSWORD, PASSWORD + "x")))
    assert gate.problem == "The two passwords differ; type the same password twice."
    gate.act(ConsoleAction("create_admin", ("boss", "short", "short")))
    gate.wait()
    gate.watch(None, 1001.0)
    assert gate.problem.startswith("The password is too short")
    gate.act(ConsoleAction("no_accounts"))
    assert gate.prompt() is None and gate.open
    assert not SessionStore.open(create=True).count_users()


def test_the_first_admin_made_at_the_console_signs_in_and_a_second_first_is_refused(station: Path) -> None:
    first, second = ConsoleGate.for_store(lock_after_s=600.0), ConsoleGate.for_store(lock_after_s=600.0)
    first.act(ConsoleAction("create_admin", ("boss", PASSWORD, PASSWORD)))
    first.wait()
    assert first.watch(None, 0.0) and first.actor() == "boss" and first.open
    second.act(ConsoleAction("create_admin", ("other", PASSWORD, PASSWORD)))
    second.wait()
    assert not second.watch(None, 0.0)
    assert second.problem == "This store has accounts: sign in as an admin to add one."
    assert not second.open and second.prompt().kind == "sign_in", "another station made the first: sign in"
    with SessionStore.open(create=False) as store:
        assert store.list_users() == [("boss", "admin")]


def test_run_with_by_on_a_store_with_accounts_is_refused_in_one_sentence(
        clinic: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["run", "--sim", "--patient", "K-1", "--by", "ana"]) == 11
    err = capsys.readouterr().err
    assert err == ("gmi-vr: This store has accounts: leave --by out and sign in at the console, "
                   "whose account the audit trail names.\n")


@pytest.mark.parametrize("value", ["0", "-1", "721", "true", '"ten"'])
def test_the_lock_setting_is_a_number_of_minutes(station: Path, value: str) -> None:
    settings = station / "settings.toml"
    settings.write_text(f"console_lock_minutes = {value}\n")
    with pytest.raises(InputFileError, match="console_lock_minutes"):
        load_settings(settings)
    settings.write_text("console_lock_minutes = 2.5\n")
    assert load_settings(settings).console_lock_minutes == 2.5
    assert load_settings(station / "absent.toml").console_lock_minutes == 10.0


def test_the_consoles_patient_progress_is_the_reports_numbers_read_off_the_render_thread(station: Path) -> None:
    """Choosing a patient in free play reads their progress on a worker thread ("reading"
    until then) from the report's own figures (``patient_review``), read-only."""
    import time
    from datetime import UTC, datetime, timedelta

    from review_synth import Plan, SideTrials, record_session

    from gmi_vr.app.console import SessionConsole
    from gmi_vr.app.patients import add_patient, patient_program
    from gmi_vr.app.pipeline import SessionPipeline
    from gmi_vr.body import BodySettings
    from gmi_vr.console.panels import BeforeSession
    from gmi_vr.review.figures_data import patient_review

    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with SessionStore.open() as store:
        add_patient(store, "P-1", "left", "hand", age_years=54, therapist="t.one")
        program = patient_program(store, "P-1")
        for day, (correct, pain) in enumerate(((10, (5, 4)), (14, (4, 3)))):
            record_session(store, "P-1", program, Plan(
                monday + timedelta(days=day), left=SideTrials(16, correct, 1.2), right=SideTrials(16, 15, 0.9),
                pain=pain))  # fmt: skip
        expected = patient_review(store, "P-1")
    console = SessionConsole(SessionPipeline(BodySettings()), None, "free play", before=BeforeSession())
    console.apply([ConsoleAction("review", "P-1")], 0.0)
    assert console.panel().before.progress.reading
    for _ in range(500):
        progress = console.panel().before.progress
        if not progress.reading:
            break
        time.sleep(0.01)
    assert progress.patient_id == "P-1" and progress.problem == ""
    assert progress.accuracy["left"] == pytest.approx((10 / 16, 14 / 16))
    assert progress.accuracy == {k: tuple(v) for k, v in expected.laterality.accuracy.items()}
    assert progress.median_rt_ms["left"] == pytest.approx((1200.0, 1200.0))
    assert (progress.pain_before, progress.pain_after) == ((5.0, 4.0), (4.0, 3.0))
    assert progress.lines[0] == "2 sessions (2 with work), now at stage 1"
    console.apply([ConsoleAction("review", "NOBODY")], 0.0)
    for _ in range(500):
        progress = console.panel().before.progress
        if not progress.reading:
            break
        time.sleep(0.01)
    assert progress.problem.startswith("The progress of NOBODY cannot be read: No patient NOBODY")
