"""A person behind every action: accounts with roles, Argon2 passwords and sign-in tokens,
through the ``gmi-vr`` command on a real SQLite store (no stand-in for the hasher or the store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_synth import body, frame
from sqlalchemy import update
from support.station import gmi, sign_in, use_station

from gmi_vr.recording import schema
from gmi_vr.recording.store import SessionStore, utcnow

PASSWORD = "correct horse"


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return use_station(tmp_path, monkeypatch)


def _clinic(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An admin (the first account, in one step), a therapist and a researcher."""
    assert gmi(monkeypatch, "users", "add", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD) == 0
    assert "from now on commands that change records ask for an account" in capsys.readouterr().out
    sign_in(monkeypatch, capsys, "boss", PASSWORD)
    for name, role in (("ana", "therapist"), ("rita", "researcher")):
        assert gmi(monkeypatch, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD) == 0
    monkeypatch.delenv("GMI_VR_TOKEN")


def test_the_first_account_is_an_admin_made_in_one_step_and_then_only_admins_add_accounts(
    station: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gmi(monkeypatch, "users", "add", "ana", "--role", "therapist", "--password-stdin", stdin=PASSWORD) == 11
    assert "The first account manages the others, so it is an admin" in capsys.readouterr().err
    _clinic(monkeypatch, capsys)
    # Without a sign-in nobody adds an account; a therapist may not either.
    assert gmi(monkeypatch, "users", "add", "eve", "--role", "admin", "--password-stdin", stdin=PASSWORD) == 11
    assert "sign in with 'gmi-vr signin NAME'" in capsys.readouterr().err
    sign_in(monkeypatch, capsys, "ana", PASSWORD)
    assert gmi(monkeypatch, "users", "add", "eve", "--role", "admin", "--password-stdin", stdin=PASSWORD) == 11
    assert "Account ana is a therapist and may not manage accounts; ask someone with the admin role." in capsys.readouterr().err
    assert gmi(monkeypatch, "users", "list") == 0
    assert capsys.readouterr().out.split() == ["ana", "therapist", "boss", "admin", "rita", "researcher"]


def test_passwords_are_kept_only_as_argon2id_hashes_and_a_wrong_one_is_refused(
    station: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clinic(monkeypatch, capsys)
    with SessionStore.open(create=False) as store:
        role, password_hash = store.user("ana")  # type: ignore[misc]
        assert role == "therapist" and password_hash.startswith("$argon2id$")
    for path in station.iterdir():
        assert PASSWORD.encode() not in path.read_bytes()
    assert gmi(monkeypatch, "signin", "ana", "--password-stdin", stdin="wrong horse\n") == 11
    assert "The account name or the password is wrong" in capsys.readouterr().err
    assert gmi(monkeypatch, "signin", "nobody", "--password-stdin", stdin=PASSWORD) == 11
    assert "The account name or the password is wrong" in capsys.readouterr().err
    sign_in(monkeypatch, capsys, "boss", PASSWORD)
    assert gmi(monkeypatch, "users", "add", "bob", "--role", "therapist", "--password-stdin", stdin="short") == 1
    assert "The password is too short; use at least 8 characters." in capsys.readouterr().err


def test_every_change_names_the_signed_in_account_and_roles_are_refused_in_one_sentence(
    station: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clinic(monkeypatch, capsys)
    # No sign-in: a change is refused, saying how to sign in.
    assert gmi(monkeypatch, "patients", "add", "P001", "--side", "left") == 11
    assert "This store has accounts: sign in" in capsys.readouterr().err
    sign_in(monkeypatch, capsys, "ana", PASSWORD)
    assert gmi(monkeypatch, "patients", "add", "P001", "--side", "left") == 0
    assert gmi(monkeypatch, "patients", "edit", "P001", "--set", "stage=2", "--reason", "ready") == 0
    assert gmi(monkeypatch, "patients", "add", "P002", "--side", "left", "--by", "someone") == 11
    assert "--by someone is not the signed-in account ana" in capsys.readouterr().err
    with SessionStore.open(create=False) as store:
        recorder = store.start_session("P001", source="test")
        for i in range(20):
            recorder.record_frame(frame(i), body(i))
        recorder.finish()
        session = recorder.session_id

    sign_in(monkeypatch, capsys, "rita", PASSWORD)
    assert gmi(monkeypatch, "patients", "edit", "P001", "--set", "stage=3", "--reason", "x") == 11
    assert capsys.readouterr().err.strip() == (
        "gmi-vr: Account rita is a researcher and may not change records; ask someone with the admin or therapist role."
    )
    assert gmi(monkeypatch, "patients", "erase", "P001", "--reason", "x") == 11
    assert gmi(monkeypatch, "export", str(session), "--format", "csv", "--out", str(station.parent / "csv")) == 0
    # A report or a handout carries the records out as an export does: the same sign-in and audit.
    assert gmi(monkeypatch, "report", "P001", "--out", str(station.parent / "report.html")) == 0
    assert gmi(monkeypatch, "patients", "show", "P001", "--handout", str(station.parent / "handout.html")) == 0
    monkeypatch.delenv("GMI_VR_TOKEN")
    capsys.readouterr()
    assert gmi(monkeypatch, "report", "--session", str(session), "--out", str(station.parent / "s.html")) == 11
    assert gmi(monkeypatch, "patients", "show", "P001", "--handout", str(station.parent / "h2.html")) == 11
    assert capsys.readouterr().err.count("This store has accounts: sign in") == 2
    assert not (station.parent / "s.html").exists() and not (station.parent / "h2.html").exists()

    with SessionStore.open(create=False) as store:
        trail = [(a.actor, a.action) for a in store.audit_trail()]
        assert store.patient("P001").id == "P001"
    assert ("boss", "user.add") in trail and ("ana", "user.sign_in") in trail
    assert [(actor, action) for actor, action in trail if action in ("patient.add", "program.override")] == [
        ("ana", "patient.add"), ("ana", "program.override")]
    assert ("rita", "session.export") in trail
    assert ("rita", "report.write") in trail and ("rita", "handout.write") in trail


def test_an_expired_or_unknown_token_signs_nobody_in(
    station: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clinic(monkeypatch, capsys)
    monkeypatch.setenv("GMI_VR_TOKEN", "made-up")
    assert gmi(monkeypatch, "patients", "add", "P001", "--side", "left") == 11
    assert "is unknown or has expired" in capsys.readouterr().err
    sign_in(monkeypatch, capsys, "ana", PASSWORD)
    with SessionStore.open(create=False) as store, store.engine.begin() as conn:
        conn.execute(update(schema.SignIn).values(expires_at=utcnow()))
    assert gmi(monkeypatch, "patients", "add", "P001", "--side", "left") == 11
    assert "is unknown or has expired" in capsys.readouterr().err


def test_a_store_without_accounts_asks_for_nothing(station: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gmi(monkeypatch, "patients", "add", "P001", "--side", "left", "--by", "ana") == 0
    with SessionStore.open(create=False) as store:
        assert [a.actor for a in store.audit_trail("P001")] == ["ana"]
