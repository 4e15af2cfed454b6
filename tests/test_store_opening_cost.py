"""Opening a session store that is already at the newest schema reads its version with plain
SQL and never loads the migration machinery (alembic costs about a second of every start-up,
the headset's included); a store that needs a migration still gets one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gmi_vr.recording.rows import PatientInfo
from gmi_vr.recording.store import SessionStore, _known_revisions

OPEN_AND_REPORT = """
import sys
from gmi_vr.recording.store import SessionStore
store = SessionStore.open(sys.argv[1])
patients = store.list_patients()
store.close()
print("alembic" in sys.modules, len(patients))
"""


def open_in_fresh_process(path: Path) -> str:
    result = subprocess.run([sys.executable, "-c", OPEN_AND_REPORT, str(path)], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_store_at_the_newest_schema_opens_without_importing_alembic(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite"
    store = SessionStore.open(path)  # created and migrated here
    store.add_patient(PatientInfo("P-1", affected_side="left", body_part="hand"))
    store.close()
    assert open_in_fresh_process(path) == "False 1"


def test_a_new_store_is_still_migrated_with_alembic(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite"
    assert open_in_fresh_process(path) == "True 0"
    assert open_in_fresh_process(path) == "False 0"  # and at head from then on


def test_the_migration_files_read_without_alembic_agree_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    from gmi_vr.recording.store import _alembic_config

    script = ScriptDirectory.from_config(_alembic_config())
    known, head = _known_revisions()
    assert known == {revision.revision for revision in script.walk_revisions()}
    assert head == script.get_current_head()
