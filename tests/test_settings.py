from pathlib import Path

import pytest

from gmi_vr.core.errors import InputFileError
from gmi_vr.core.settings import load_settings


def test_missing_file_gives_working_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("GMI_VR_DATA", str(tmp_path / "data"))
    settings = load_settings(tmp_path / "absent.toml")
    assert settings.data_dir == tmp_path / "data"
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    assert settings.station


def test_values_are_read(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('data_dir = "/srv/gmi"\nstation = "room-2"\nconsole_width = 1280\n')
    settings = load_settings(path)
    assert (settings.data_dir, settings.station, settings.console_width) == (Path("/srv/gmi"), "room-2", 1280)


@pytest.mark.parametrize(
    ("text", "message"),
    [("data_dir = [", "not valid TOML"), ("colour = 'red'", "unknown keys colour")],
)
def test_malformed_file_names_the_problem(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message):
        load_settings(path)
