"""Each module's file name says what it holds, once: no two modules of the package share a
file name (``__init__.py`` aside), so a name in a traceback, a search or a review points at
one file."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import gmi_vr


def test_no_two_modules_share_a_file_name() -> None:
    root = Path(gmi_vr.__file__).parent
    homes: dict[str, list[str]] = defaultdict(list)
    for folder, _dirs, files in os.walk(root):  # links (models/, shaders/) are not followed
        for name in files:
            if name.endswith(".py") and name != "__init__.py":
                homes[name].append(str((Path(folder) / name).relative_to(root)))
    assert len(homes) > 100  # the walk saw the package
    shared = {name: sorted(paths) for name, paths in homes.items() if len(paths) > 1}
    assert shared == {}
