"""Damaged session stores, fuzzed: whatever bytes a store file holds, opening, reading and
writing it either works or fails with one GmiError sentence naming the file, and a store that
fails is left byte for byte as it was (hypothesis, the same cases every run)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_synth import body, frame

from gmi_vr.core.errors import GmiError
from gmi_vr.core.events import Event
from gmi_vr.recording.listing import session_rows
from gmi_vr.recording.rows import PatientInfo, StoredTrial
from gmi_vr.recording.store import SessionStore

#: Cases per test run (fixed: the run is repeatable, and the README states the count).
FUZZ_CASES = 200


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("pristine") / "sessions.sqlite"
    with SessionStore.open(path) as store:
        store.add_patient(PatientInfo("P1", "left", "hand"))
        store.audit("therapist", "patient.add", patient_id="P1")
        recorder = store.start_session("P1", source="test")
        recorder.record_rating(3, "before")
        for i in range(120):
            recorder.record_frame(frame(i), body(i))
        recorder.record_trial(StoredTrial(onset_s=0.5, kind="laterality", side="left", answer="left", correct=True, reaction_time_s=0.8))
        recorder.record_event(Event(0.5, "trial.shown", {"side": "left"}))
        recorder.record_rating(2, "after")
        recorder.finish()
    return path.read_bytes()


def _read_everything(path: Path) -> None:
    with SessionStore.open(path) as store:
        store.list_patients()
        for row in session_rows(store):
            store.trials(row.session_id)
            store.ratings(row.session_id)
            store.events(row.session_id)
            store.motion(row.session_id)
        store.audit_trail()
        store.add_patient(PatientInfo("P2", "right", "foot"))  # a write, where the store is whole


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0), st.just(b"")),
    st.tuples(st.just("flip"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("garbage"), st.floats(0.0, 1.0), st.binary(min_size=512, max_size=8192)),
)


@settings(max_examples=FUZZ_CASES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_a_damaged_store_is_one_sentence_and_left_unchanged(pristine: bytes, tmp_path: Path, mutations: list[tuple[str, float, bytes]]) -> None:
    folder = tmp_path / "case"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    path = folder / "sessions.sqlite"
    data = bytearray(pristine)
    for kind, where, payload in mutations:
        at = int(where * len(data))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip":
            for i, byte in enumerate(payload):
                if at + i < len(data):
                    data[at + i] ^= byte or 0xFF
        else:
            data[at : at + len(payload)] = payload
    path.write_bytes(bytes(data))
    digest = hashlib.sha256(bytes(data)).hexdigest()
    try:
        _read_everything(path)
    except GmiError as error:
        message = str(error)
        assert "\n" not in message and str(path) in message, message
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, "a refused store was modified"


def test_readme_states_how_many_store_cases_survive() -> None:
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert f"Session stores (`tests/test_store_fuzz.py`) survive {FUZZ_CASES} cases" in readme
