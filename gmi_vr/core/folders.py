"""Output folders: checked before any work, so a run fails at its start rather than after it
has rendered or recorded ("fail now if we fail at all")."""

from __future__ import annotations

from pathlib import Path

from gmi_vr.core.errors import GmiError


def ensure_writable_folder(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written there; GmiError otherwise."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".gmi-vr-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise GmiError(f"Cannot write into {folder} ({error.strerror}); choose another output folder.") from None
