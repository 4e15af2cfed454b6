"""The patient's avatar and skin tone, set with ``gmi-vr patients edit --set appearance.*``:
an avatar that is missing or cannot be loaded is refused when it is set, in one sentence,
with nothing changed (a session would otherwise fail when it first draws the body); on a
real SQLite store through the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmi_vr import cli
from gmi_vr.app.patients import add_patient
from gmi_vr.assets.locations import models_dir
from gmi_vr.body.appearance import Appearance
from gmi_vr.recording.store import SessionStore
from gmi_vr.review.progress import patient_program


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GMI_VR_CONFIG", str(tmp_path / "absent.toml"))
    store = SessionStore.open(create=True)
    add_patient(store, "P1", "left", "hand", therapist="t.one")
    store.close()
    return tmp_path


def state() -> tuple[dict[str, object], int]:
    """The patient's stored settings and how many audit entries the store holds."""
    store = SessionStore.open()
    try:
        return dict(store.patient("P1").settings or {}), len(store.audit_trail())
    finally:
        store.close()


def edit(capsys: pytest.CaptureFixture[str], *assignments: str) -> tuple[int, str, str]:
    args = ["patients", "edit", "P1"]
    for assignment in assignments:
        args += ["--set", assignment]
    code = cli.main([*args, "--reason", "the patient's own build", "--by", "t.one"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_shipped_build_is_set_and_audited(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = edit(capsys, "appearance.avatar=broad", "appearance.skin_tone=dark")
    assert (code, err) == (0, "")
    settings, _ = state()
    assert Appearance.from_dict(settings["appearance"]) == Appearance("broad", "dark")  # type: ignore[arg-type]
    store = SessionStore.open()
    try:
        (entry,) = [e for e in store.audit_trail("P1") if e.action == "appearance.change"]
    finally:
        store.close()
    assert entry.actor == "t.one" and entry.details is not None
    assert entry.details["new"] == {"avatar": "broad", "skin_tone": "dark"}


def test_a_missing_avatar_is_refused_in_one_sentence_and_nothing_changes(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = state()
    code, out, err = edit(capsys, "appearance.avatar=avatars/nobody", "stage=2")
    assert (code, out) == (8, "")
    assert err == (f"gmi-vr: The avatar 'avatars/nobody' is neither a build (slim, broad) nor a model file in "
                   f"{models_dir()}; give a build or add the model there (nothing was changed).\n")  # fmt: skip
    assert state() == before  # the settings and the audit trail as they were
    store = SessionStore.open()
    try:
        assert int(patient_program(store, "P1").stage) == 1  # the program change beside it was not made
    finally:
        store.close()


def test_a_model_that_cannot_be_loaded_is_refused_and_nothing_changes(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = station / "broken.glb"
    broken.write_bytes(b"glTF not really a model")
    before = state()
    code, out, err = edit(capsys, f"appearance.avatar={broken.with_suffix('')}")
    assert (code, out) == (6, "")
    assert err.startswith("gmi-vr: The avatar broken.glb cannot be used: it is not a readable glTF/VRM file")
    assert err.count("\n") == 1 and state() == before
