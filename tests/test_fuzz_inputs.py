"""Every file a user hands the app, fuzzed: motion files (the simulator's scripts, calibration
scripts included), the settings file, avatars (glTF/GLB/VRM) and mesh files under models/.

Each reader is given damaged versions of a good file: truncated, bit-flipped, bytes inserted
or deleted, fields of the wrong type, huge values (1e308, NaN, infinity, overlong integers,
giant arrays, deep nesting), other encodings (UTF-16, UTF-32, Latin-1, NUL bytes), plus
empty files, folders and unreadable files. It either returns data that keeps its documented
invariants or raises one ``InputFileError`` (exit 6) whose message is one printable line,
and it writes nothing. The examples are derandomised: every run tries the same cases, as
many as ``max_examples`` says (the counts are stated in README.md). A few runs of the real
command prove the user sees one sentence and a non-zero exit.

Store files are checked by the store's own tests.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmi_vr.assets.gltf_skin import SkinnedMeshData, load_skinned_gltf
from gmi_vr.assets.meshes import MeshData, load_mesh_file
from gmi_vr.body.rig import AvatarRig
from gmi_vr.body.skeleton import BodyMeasures, rest_offsets, rest_positions
from gmi_vr.core.errors import GmiError, InputFileError
from gmi_vr.core.settings import CONSOLE_SIZE_RANGE, Settings, load_settings
from gmi_vr.xr.sim_source import (
    MAX_MOTION_S,
    MAX_POSITION_M,
    Motion,
    frame_from_keyframe,
    load_motion,
    parse_motion,
)
from tests.test_cli import gmi_vr, one_sentence

ROOT = Path(__file__).resolve().parent.parent
AVATAR = ROOT / "models" / "avatars" / "avatar_slim.glb"
STIMULUS = ROOT / "models" / "stimuli" / "foot_left.glb"

#: Examples per reader and kind of damage, per test run (README.md states the totals).
CASES = {
    "motion_fields": 200, "motion_bytes": 200,
    "settings_fields": 200, "settings_bytes": 150,
    "avatar_fields": 200, "avatar_bytes": 120,
    "mesh_fields": 80, "mesh_bytes": 80,
}  # fmt: skip


def fuzz(name: str) -> Callable[[Any], Any]:
    """Derandomised hypothesis settings: the same CASES[name] examples on every run."""
    return settings(
        max_examples=CASES[name],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# ----------------------------------------------------------------------------- the verdict


def assert_one_sentence(error: BaseException) -> None:
    """A malformed or unreadable user file: an InputFileError whose message is one short
    printable line ending in a full stop (the CLI prints it after "gmi-vr: ")."""
    assert type(error) is InputFileError, repr(error)
    message = str(error)
    assert message.isprintable(), repr(message)  # no line break, no control character
    message.encode("utf-8")  # no lone surrogate that would break printing it
    assert 20 <= len(message) <= 400, message
    assert message.endswith("."), message


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(folder.rglob("*"))}  # fmt: skip


@contextmanager
def one_file(name: str, data: bytes) -> Iterator[Path]:
    """``data`` as the only file in a fresh folder; afterwards the folder must be unchanged."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        before = _snapshot(Path(folder))
        yield path
        assert _snapshot(Path(folder)) == before, "a reader wrote something"


def read_and_check(name: str, data: bytes, reader: Callable[[Path], Any], check: Callable[[Any], None]) -> None:
    """``data`` as the only file ``name`` of a fresh folder, given to ``reader``: it either
    returns what passes ``check`` or refuses the file with one sentence, and writes nothing."""
    with one_file(name, data) as path:
        try:
            loaded = reader(path)
        except GmiError as error:
            assert_one_sentence(error)
        else:
            check(loaded)


# ----------------------------------------------------------------------------- damage


#: Byte strings worth writing over a file's bytes: NUL, UTF-16 marks, huge and odd numbers,
#: JSON/TOML syntax.
_NASTY_BYTES = [b"\x00", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\xc3", b"\x85", b"1e308", b"-1e999",
                b"NaN", b"Infinity", b"nan", b"inf", b"9" * 30, b"-", b".", b'"', b"'", b"[", b"]", b"{",
                b"}", b",", b":", b"=", b"\n", b"\r", b"\t", b"#", b"\\u0000", b"\\ud800", b"true", b"null"]  # fmt: skip


@st.composite
def damaged(draw: st.DrawFn, good: bytes, regions: tuple[tuple[int, int], ...] = ()) -> bytes:
    """``good`` after one to four edits: truncation, a flipped bit, inserted, deleted or
    overwritten bytes. ``regions`` (start, end) say where edits may land (default anywhere)."""
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        start, end = draw(st.sampled_from(regions)) if regions else (0, len(data))
        end = min(end, len(data))
        if start >= end:
            continue
        at = draw(st.integers(start, end - 1))
        edit = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "overwrite"]))
        if edit == "truncate":
            del data[at:]
        elif edit == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[at:at] = draw(st.one_of(st.binary(min_size=1, max_size=8), st.sampled_from(_NASTY_BYTES)))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            patch = draw(st.sampled_from(_NASTY_BYTES))
            data[at : at + len(patch)] = patch
    return bytes(data)


def reencoded(text: str) -> st.SearchStrategy[bytes]:
    """``text`` saved in an encoding other than UTF-8 (or with NUL bytes in it)."""
    encodings = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "utf-8-sig"]
    return st.one_of(
        st.sampled_from(encodings).map(lambda name: text.encode(name, errors="replace")),
        st.integers(0, len(text)).map(lambda at: (text[:at] + "\0" + text[at:]).encode()),
    )


@dataclass(frozen=True)
class Raw:
    """Text written into a generated file as it is (a literal JSON cannot express, e.g. an
    overlong integer or nesting thousands deep)."""

    text: str


def to_json(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    return json.dumps(value)  # NaN and Infinity as Python's json writes (and reads) them


#: Values of every wrong kind and size for any field of a JSON file.
json_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0, 2.0, -1.0]),
    st.text(max_size=6),
    st.lists(st.floats(-2, 2), max_size=6),
    st.dictionaries(st.text(max_size=4), st.integers(0, 3), max_size=2),
    st.sampled_from([
        Raw("9" * 400), Raw("-" + "9" * 5000), Raw("1e999"), Raw("-1e999"), Raw("[" * 5000 + "]" * 5000),
        Raw('"\\ud800"'), Raw('"a\\u0000b"'), Raw('"\\u2028"'), Raw("[" + ", ".join(["0.5"] * 20000) + "]"),
    ]),
)  # fmt: skip


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``valid``, sometimes junk: deep enough to reach every check of a reader."""
    return st.one_of(valid, valid, valid, json_junk)


# ----------------------------------------------------------------------------- motion files

_MOTION = "\n".join([
    "# A short reach (café, naïve: non-ASCII in a comment).",
    '{"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}',
    '{"t": 0.0, "head": {"position": [0.0, 1.2, 0.0], "yaw_pitch_roll_deg": [0, -12, 0]}, '
    '"left": {"position": [-0.2, 0.84, -0.36], "valid": false}, "right": {"orientation": [0, 0, 0, 1]}}',
    '{"t": 0.5, "right": {"position": [0.16, 0.9, -0.62], "trigger": 0.4, "thumbstick": [0.5, -1], "primary": true}}',
    '{"t": 1.0, "head": {"valid": false}, "right": {"trigger": 1.0, "trigger_click": false, "squeeze": 1}}',
]) + "\n"  # fmt: skip
MOTION_SEEDS = [
    _MOTION,
    (ROOT / "gmi_vr" / "data" / "demo-reach.jsonl").read_text(),
    "\n".join((ROOT / "tests" / "data" / "calibration-seated-left-affected.jsonl").read_text().splitlines()[:8]),
]


def _finite(*values: Any) -> bool:
    return all(np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in values)


def check_motion(motion: Motion) -> None:
    """What a parsed motion file promises (docs/motion-file.md) and what playing it needs."""
    times = [key.time_s for key in motion.keyframes]
    assert times and all(0.0 <= t <= MAX_MOTION_S for t in times)
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    assert 1.0 <= motion.rate_hz <= 1000.0
    for key in motion.keyframes:
        for pose in (key.head, key.left.grip, key.right.grip):
            assert _finite(pose.position, pose.orientation)
            assert np.all(np.abs(pose.position) <= MAX_POSITION_M)
            assert abs(float(np.linalg.norm(pose.orientation)) - 1.0) < 1e-6
        for hand in (key.left, key.right):
            assert 0.0 <= hand.trigger <= 1.0 and 0.0 <= hand.squeeze <= 1.0
            assert all(-1.0 <= v <= 1.0 for v in hand.thumbstick)
    count = motion.frame_count()
    assert 1 <= count <= MAX_MOTION_S * 1000.0 + 1
    middle = frame_from_keyframe(count // 2, motion.duration_s / 2, motion.sample(motion.duration_s / 2))
    assert _finite(middle.head.position, middle.head.orientation, middle.right.grip.position)


def _pose_fields() -> dict[str, st.SearchStrategy[Any]]:
    vector = st.lists(st.floats(-3, 3), min_size=3, max_size=3)
    return {
        "position": maybe(vector),
        "orientation": maybe(st.sampled_from([[0, 0, 0, 1], [0, 0.7071068, 0, 0.7071068], [1, 0, 0, 0]])),
        "yaw_pitch_roll_deg": maybe(st.lists(st.floats(-720, 720), min_size=3, max_size=3)),
        "valid": maybe(st.booleans()),
    }


_hand_fields = {
    **_pose_fields(),
    "trigger": maybe(st.floats(0, 1)),
    "squeeze": maybe(st.floats(0, 1)),
    "thumbstick": maybe(st.lists(st.floats(-1, 1), min_size=2, max_size=2)),
    "trigger_click": maybe(st.booleans()),
    "primary": maybe(st.booleans()),
    "menu": maybe(st.booleans()),
    "rigth": json_junk,  # a misspelt field
}
_part = st.one_of(st.fixed_dictionaries({}, optional=_hand_fields), json_junk)


@st.composite
def motion_texts(draw: st.DrawFn) -> str:
    """A motion file built field by field: mostly well-formed, with junk where it hurts."""
    header: Any = {"format": "gmi-vr-motion", "version": 1, "rate_hz": 30}
    if draw(st.integers(0, 3)) == 0:
        header = draw(st.fixed_dictionaries(
            {}, optional={"format": maybe(st.just("gmi-vr-motion")), "version": maybe(st.just(1)),
                          "rate_hz": maybe(st.floats(1, 1000)), "extra": json_junk}))  # fmt: skip
    lines = [to_json(header)]
    time_s = 0.0
    for _ in range(draw(st.integers(0, 5))):
        time_s += draw(st.sampled_from([0.0, 0.01, 0.5, 2.0]))
        key = draw(st.fixed_dictionaries(
            {"t": maybe(st.just(time_s))},
            optional={"head": _part, "left": _part, "right": _part, "time": json_junk}))  # fmt: skip
        if draw(st.integers(0, 9)) == 0:
            key = draw(json_junk)  # a keyframe that is not an object at all
        lines.append(to_json(key))
    return "\n".join(lines) + "\n"


@fuzz("motion_fields")
@given(text=motion_texts())
def test_motion_files_with_wrong_fields_load_or_are_refused_in_one_sentence(text: str) -> None:
    read_and_check("motion.jsonl", text.encode(), load_motion, check_motion)


@fuzz("motion_bytes")
@given(data=st.one_of(
    st.sampled_from(MOTION_SEEDS).flatmap(lambda seed: damaged(seed.encode())),
    st.sampled_from(MOTION_SEEDS).flatmap(reencoded),
))  # fmt: skip
def test_damaged_or_reencoded_motion_files_load_or_are_refused_in_one_sentence(data: bytes) -> None:
    read_and_check("motion.jsonl", data, load_motion, check_motion)


def test_motion_cases_found_by_fuzzing_are_refused_in_one_sentence(tmp_path: Path) -> None:
    """Each used to end in a traceback, a printing error, an endless run or silently wrong data."""
    header = '{"format": "gmi-vr-motion", "version": 1}\n'
    cases = {
        "overlong integer": header + '{"t": ' + "9" * 400 + "}\n",  # OverflowError in isfinite
        "integer past json's digit limit": header + '{"t": ' + "9" * 5000 + "}\n",  # ValueError
        "nesting too deep": header + '{"t": 0, "head": ' + "[" * 100000 + "]" * 100000 + "}\n",
        "a day and more": header + '{"t": 0}\n{"t": 1e308}\n',  # frame count overflowed
        "far away": header + '{"t": 0, "right": {"position": [0, 1e300, 0]}}\n',
        "lone surrogate field": header + '{"t": 0, "\\ud800": 1}\n',  # could not be printed
        "control character field": header + '{"t": 0, "head": {"a\\u001b[2Jb": 1}}\n',
        "giant array in a message": header + '{"t": [' + ", ".join(["1"] * 100000) + "]}\n",
    }
    for name, text in cases.items():
        path = tmp_path / "motion.jsonl"
        path.write_text(text)
        with pytest.raises(InputFileError) as caught:
            load_motion(path)
        assert_one_sentence(caught.value)
        assert "line 2" in str(caught.value) or "line 3" in str(caught.value), name


def test_motion_value_nested_just_below_the_parsers_limit_is_refused_in_one_sentence() -> None:
    """Nesting the parser just accepts is one level too deep to be quoted in the message:
    somewhere in this range quoting it used to raise RecursionError."""
    for depth in range(800, 1001):
        text = '{"format": "gmi-vr-motion", "version": 1}\n{"t": ' + "[" * depth + "]" * depth + "}\n"
        with pytest.raises(InputFileError) as caught:
            parse_motion(text, "nested.jsonl")
        assert_one_sentence(caught.value)


def test_motion_file_in_another_encoding_says_so(tmp_path: Path) -> None:
    path = tmp_path / "motion.jsonl"
    path.write_bytes(_MOTION.encode("utf-16"))
    with pytest.raises(InputFileError, match="is not UTF-8 text.*save it as UTF-8"):
        load_motion(path)
    path.write_bytes(_MOTION.encode("utf-8-sig"))  # a byte-order mark is fine
    check_motion(load_motion(path))


# ----------------------------------------------------------------------------- settings


_SETTINGS = (
    "# Station settings (Salle de rééducation).\n"
    'data_dir = "/srv/gmi-vr"\nstation = "salle-2"\nconsole_width = 1280\nconsole_height = 720\n'
)


def check_settings(loaded: Settings) -> None:
    assert isinstance(loaded.data_dir, Path) and str(loaded.data_dir) and "\0" not in str(loaded.data_dir)
    assert isinstance(loaded.station, str) and (loaded.station.isprintable() or not loaded.station)
    assert isinstance(loaded.database_url, str)
    assert not loaded.database_url or (loaded.database_url.isprintable() and "://" in loaded.database_url)
    low, high = CONSOLE_SIZE_RANGE
    for size in (loaded.console_width, loaded.console_height):
        assert type(size) is int and low <= size <= high


def to_toml(value: Any) -> str:
    """A TOML value (JSON's string escapes are TOML's, bar the surrogates TOML refuses)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {to_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    return json.dumps(value)


toml_junk = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2),
    st.sampled_from([
        Raw("1979-05-27T07:32:00Z"), Raw("07:32:00"), Raw("'C:\\data'"), Raw("9" * 5000), Raw("1e999"),
        Raw("[" * 3000 + "]" * 3000), Raw('"a\\u0000b"'), Raw('"\\ud800"'), Raw('"two\\nlines"'),
        Raw('"' + "x" * 300 + '"'), Raw("0x7fffffffffffffff"), Raw("-0"), Raw("1_000"),
    ]),
)  # fmt: skip


def _toml_maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, valid, toml_junk)


@st.composite
def settings_texts(draw: st.DrawFn) -> str:
    values = draw(st.fixed_dictionaries({}, optional={
        "data_dir": _toml_maybe(st.sampled_from(["/srv/gmi-vr", "relative/data", "D:/gmi"])),
        "database_url": _toml_maybe(st.sampled_from(["", "sqlite:////tmp/x.sqlite", "records"])),
        "station": _toml_maybe(st.sampled_from(["room-2", "Salle é", ""])),
        "console_width": _toml_maybe(st.integers(320, 4000)),
        "console_height": _toml_maybe(st.integers(320, 4000)),
        "colour": toml_junk,
    }))  # fmt: skip
    lines = [f"{key} = {to_toml(value)}" for key, value in values.items()]
    if draw(st.integers(0, 9)) == 0:
        lines.append(f"[{draw(st.sampled_from(['data_dir', 'console', 'x']))}]\nkey = 1")  # a table
    return "\n".join(lines) + "\n"


@fuzz("settings_fields")
@given(text=settings_texts())
def test_settings_with_wrong_values_load_or_are_refused_in_one_sentence(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GMI_VR_DATA", "/srv/default-data")
    read_and_check("settings.toml", text.encode(), load_settings, check_settings)


@fuzz("settings_bytes")
@given(data=st.one_of(damaged(_SETTINGS.encode()), reencoded(_SETTINGS)))
def test_damaged_or_reencoded_settings_load_or_are_refused_in_one_sentence(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GMI_VR_DATA", "/srv/default-data")
    read_and_check("settings.toml", data, load_settings, check_settings)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('console_width = "wide"', "console_width = 'wide', but it must be a whole number of pixels"),
        ("console_width = 1e308", "console_width = 1e+308"),
        ("console_height = -5", "console_height = -5"),
        ("console_height = 99999999999999999999999", "a number beyond 64 bits"),
        ("console_width = true", "console_width = True"),
        ("data_dir = 5", "data_dir = 5, but it must be a line of text"),
        ('data_dir = ""', "must be a folder path"),
        ('data_dir = "a\\u0000b"', r"data_dir = 'a\x00b'"),
        ('station = "two\\nlines"', r"station = 'two\nlines'"),
        ("station = [1, 2]", "station = [1, 2]"),
        ('database_url = {a = 1}', "database_url = {'a': 1}"),
        ('database_url = "garbage"', "database_url = 'garbage', but it must be a database URL"),
        ("x = " + "[" * 3000 + "]" * 3000, "not valid TOML"),
        ("x = " + "9" * 5000, "not valid TOML"),
        ('"\\u001b[2J" = 1', r"unknown keys '\x1b[2J'"),
    ],
)
def test_settings_cases_found_by_fuzzing_are_refused_in_one_sentence(tmp_path: Path, text: str, says: str) -> None:
    """Each used to be accepted (a wrong value reaching the window or the store), or to end
    in a traceback."""
    path = tmp_path / "settings.toml"
    path.write_text(text + "\n")
    with pytest.raises(InputFileError) as caught:
        load_settings(path)
    assert_one_sentence(caught.value)
    assert says in str(caught.value)


def test_settings_file_in_another_encoding_says_so(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(_SETTINGS.encode("latin-1"))
    with pytest.raises(InputFileError, match="is not UTF-8 text.*save it as UTF-8"):
        load_settings(path)


# ----------------------------------------------------------------------------- avatars and meshes


def glb_parts(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON document and the binary chunk of a GLB file."""
    json_length = struct.unpack_from("<I", data, 12)[0]
    document = json.loads(data[20 : 20 + json_length])
    bin_at = 20 + json_length
    bin_length = struct.unpack_from("<I", data, bin_at)[0]
    return document, data[bin_at + 8 : bin_at + 8 + bin_length]


def glb(document: dict[str, Any], blob: bytes) -> bytes:
    text = to_json(document).encode()
    text += b" " * (-len(text) % 4)
    blob += b"\0" * (-len(blob) % 4)
    total = 12 + 8 + len(text) + 8 + len(blob)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(text), b"JSON") + text
            + struct.pack("<I4s", len(blob), b"BIN\0") + blob)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (the root excluded)."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found += _paths(child, (*prefix, key))
    return found


def _gltf_fields(good: bytes) -> st.SearchStrategy[bytes]:
    """``good`` (a GLB) with one to three places in its JSON replaced by junk, removed or
    duplicated: wrong types, indices out of range, negative or huge counts and offsets."""
    document, blob = glb_parts(good)
    places = _paths(document)
    junk = st.one_of(
        st.integers(-3, 60), st.integers(-(2**63), 2**64), json_junk,
        st.sampled_from([None, [], {}, 5126, 5121, 5125, "SCALAR", "VEC3", "VEC4", "MAT4", 2**31]),
    )  # fmt: skip

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        changed = copy.deepcopy(document)
        for _ in range(draw(st.integers(1, 3))):
            place = draw(st.sampled_from(places))
            parent = changed
            try:
                for key in place[:-1]:
                    parent = parent[key]
                action = draw(st.sampled_from(["replace", "replace", "remove", "repeat"]))
                if action == "remove" and isinstance(parent, dict):
                    del parent[place[-1]]
                elif action == "repeat" and isinstance(parent, list):
                    parent.append(copy.deepcopy(parent[place[-1]]))
                else:
                    parent[place[-1]] = draw(junk)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier edit removed or replaced this place
        return glb(changed, blob)

    return mutated()


def _glb_regions(good: bytes) -> tuple[tuple[int, int], ...]:
    """Header, JSON chunk and binary chunk of a GLB: damage is spread over all three."""
    json_end = 20 + struct.unpack_from("<I", good, 12)[0]
    return ((0, 20), (20, json_end), (json_end, len(good)))


_AVATAR_BYTES = AVATAR.read_bytes()
_STIMULUS_BYTES = STIMULUS.read_bytes()
_MEASURES = BodyMeasures(1.7, 0.44, 0.564, 0.34, 0.19)


def check_avatar(avatar: SkinnedMeshData) -> None:
    """What the renderer and the rig rely on, and the rig itself on it."""
    n, joints = len(avatar.positions), len(avatar.joint_names)
    assert n > 0 and avatar.positions.shape == avatar.normals.shape == (n, 3)
    assert avatar.joints.shape == avatar.weights.shape == (n, 4)
    assert avatar.indices.ndim == 1 and len(avatar.indices) % 3 == 0 and int(avatar.indices.max()) < n
    assert int(avatar.joints.max()) < joints
    assert _finite(avatar.positions, avatar.normals, avatar.weights, avatar.inverse_bind_matrices)
    assert np.abs(avatar.positions).max() <= 1000.0
    np.testing.assert_allclose(avatar.weights.sum(axis=1), 1.0, atol=1e-4)
    assert avatar.inverse_bind_matrices.shape == (joints, 4, 4)
    assert all(isinstance(name, str) for name in avatar.joint_names)
    assert all(bone is None or isinstance(bone, str) for bone in avatar.joint_humanoid)
    assert len(avatar.joint_parents) == joints and np.all(avatar.joint_parents < joints)
    assert all(0.0 <= c <= 1.0 for c in avatar.base_color)
    try:
        rig = AvatarRig(avatar, _MEASURES)
    except InputFileError as error:  # a skeleton the rig cannot follow
        assert_one_sentence(error)
        return
    rest = rest_positions(rest_offsets(_MEASURES))
    world = np.tile(np.eye(4), (len(rest), 1, 1))
    world[:, :3, 3] = rest
    assert _finite(rig.palette(world), rig.palette(world, first_person=True))


def check_mesh(mesh: MeshData) -> None:
    assert len(mesh.indices) > 0 and _finite(mesh.positions, mesh.normals)
    assert np.abs(mesh.positions).max() <= 1000.0


@fuzz("avatar_fields")
@given(data=_gltf_fields(_AVATAR_BYTES))
def test_avatars_with_wrong_fields_load_or_are_refused_in_one_sentence(data: bytes) -> None:
    read_and_check("clinic_avatar.vrm", data, load_skinned_gltf, check_avatar)


@fuzz("avatar_bytes")
@given(data=damaged(_AVATAR_BYTES, _glb_regions(_AVATAR_BYTES)))
def test_damaged_avatars_load_or_are_refused_in_one_sentence(data: bytes) -> None:
    read_and_check("clinic_avatar.glb", data, load_skinned_gltf, check_avatar)


@fuzz("mesh_fields")
@given(data=_gltf_fields(_STIMULUS_BYTES))
def test_meshes_with_wrong_fields_load_or_are_refused_in_one_sentence(data: bytes) -> None:
    read_and_check("stimulus.glb", data, load_mesh_file, check_mesh)


@fuzz("mesh_bytes")
@given(data=damaged(_STIMULUS_BYTES, _glb_regions(_STIMULUS_BYTES)))
def test_damaged_meshes_load_or_are_refused_in_one_sentence(data: bytes) -> None:
    read_and_check("stimulus.glb", data, load_mesh_file, check_mesh)


def _edited_avatar(edit: Callable[[dict[str, Any], bytearray], None]) -> bytes:
    document, blob = glb_parts(_AVATAR_BYTES)
    data = bytearray(blob)
    edit(document, data)
    return glb(document, bytes(data))


def _at(document: dict[str, Any], accessor: int) -> int:
    """Where accessor ``accessor``'s first element starts in the binary chunk."""
    return int(document["bufferViews"][document["accessors"][accessor]["bufferView"]]["byteOffset"])


def _loop_without_bind_matrices(document: dict[str, Any], blob: bytearray) -> None:
    del document["skins"][0]["inverseBindMatrices"]
    document["nodes"][1]["children"] = [0]  # the root's child "body" holds the root


# Accessors of the generated avatars: 0 POSITION, 2 JOINTS_0 (u8), 3 WEIGHTS_0, 4 indices (u16).
_AVATAR_CASES: dict[str, tuple[Callable[[dict[str, Any], bytearray], None], str]] = {
    # Each was accepted (and read out of bounds on the GPU, or drew NaN) or ended in a traceback.
    "triangle past the vertices": (
        lambda d, b: struct.pack_into("<H", b, _at(d, 4), 65000), "its triangles name vertices it does not have"),
    "joint past the skin": (
        lambda d, b: struct.pack_into("<B", b, _at(d, 2), 200), "bound to a joint its skin does not have"),
    "NaN weight": (lambda d, b: struct.pack_into("<f", b, _at(d, 3), math.nan), "not finite"),
    "unknown component type": (
        lambda d, b: d["accessors"][0].update(componentType=9999), "where VEC3 data was expected"),
    "positions of two numbers": (
        lambda d, b: d["accessors"][0].update(type="VEC2"), "where VEC3 data was expected"),
    "negative offset": (lambda d, b: d["bufferViews"][0].update(byteOffset=-12), "malformed (ValueError)"),
    "skin joint past the nodes": (
        lambda d, b: d["skins"][0]["joints"].__setitem__(0, 999), "malformed (IndexError)"),
    "VRM 0 bone node as text": (
        lambda d, b: d.update(extensions={"VRM": {"humanoid": {"humanBones": [{"bone": "hips", "node": "2"}]}}}),
        "malformed (IndexError)"),
    "node tree loop": (_loop_without_bind_matrices, "its node hierarchy loops back on itself"),  # used to hang
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(_AVATAR_CASES))
def test_avatar_cases_found_by_fuzzing_are_refused_in_one_sentence(tmp_path: Path, case: str) -> None:
    edit, says = _AVATAR_CASES[case]
    path = tmp_path / "clinic_avatar.glb"
    path.write_bytes(_edited_avatar(edit))
    with pytest.raises(InputFileError) as caught:
        load_skinned_gltf(path)
    assert_one_sentence(caught.value)
    assert says in str(caught.value)


def _far_vertex(good: bytes, drop_normals: bool) -> bytes:
    """``good`` with its first vertex moved 1e30 m out (finite in float32, but its normals
    overflow), optionally without stored normals so the reader computes them."""
    document, blob = glb_parts(good)
    primitive = document["meshes"][0]["primitives"][0]
    accessor = document["accessors"][primitive["attributes"]["POSITION"]]
    at = document["bufferViews"][accessor["bufferView"]].get("byteOffset", 0) + accessor.get("byteOffset", 0)
    blob = blob[:at] + struct.pack("<f", 1e30) + blob[at + 4 :]
    if drop_normals:
        del primitive["attributes"]["NORMAL"]
    return glb(document, blob)


@pytest.mark.parametrize(
    ("reader", "good", "drop_normals"),
    [(load_skinned_gltf, _AVATAR_BYTES, True), (load_skinned_gltf, _AVATAR_BYTES, False),
     (load_mesh_file, _STIMULUS_BYTES, False)],
    ids=["avatar computing normals", "avatar", "mesh"],
)  # fmt: skip
def test_a_vertex_far_out_is_refused_rather_than_giving_nan_normals(
    tmp_path: Path, reader: Callable[[Path], Any], good: bytes, drop_normals: bool
) -> None:
    path = tmp_path / "far.glb"
    path.write_bytes(_far_vertex(good, drop_normals))
    with pytest.raises(InputFileError, match="more than 1000 m from its origin; export it in metres") as caught:
        reader(path)
    assert_one_sentence(caught.value)


# ----------------------------------------------------------------------------- not a file at all

_READERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "motion": (load_motion, "motion.jsonl"),
    "settings": (load_settings, "settings.toml"),
    "avatar": (load_skinned_gltf, "avatar.glb"),
    "mesh": (load_mesh_file, "stimulus.glb"),
}


@pytest.mark.parametrize("reader", sorted(_READERS))
def test_empty_file_or_a_folder_is_refused_in_one_sentence(tmp_path: Path, reader: str) -> None:
    read, name = _READERS[reader]
    path = tmp_path / name
    path.write_bytes(b"")
    if reader == "settings":
        check_settings(read(path))  # an empty settings file sets nothing: every default holds
    else:
        with pytest.raises(InputFileError) as caught:
            read(path)
        assert_one_sentence(caught.value)
    path.unlink()
    path.mkdir()
    with pytest.raises(InputFileError) as caught:
        read(path)
    assert_one_sentence(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == [name]


# ----------------------------------------------------------------------------- the real command


def test_cli_refuses_a_fuzzed_motion_file_in_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    for text in (
        '{"format": "gmi-vr-motion", "version": 1}\n{"t": 0, "\\ud800": 1}\n',
        '{"format": "gmi-vr-motion", "version": 1}\n{"t": ' + "9" * 5000 + "}\n",
    ):
        motion = tmp_path / "bad.jsonl"
        motion.write_text(text)
        result = gmi_vr(["demo", "--motion", str(motion), "--out", str(tmp_path / "out")], tmp_path, DISPLAY=None)
        assert result.returncode == 6
        assert "bad.jsonl, line 2 is malformed" in one_sentence(result)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_cli_refuses_a_wrong_settings_file_in_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text("console_width = 1e308\n")
    result = gmi_vr(["sessions"], tmp_path, GMI_VR_CONFIG=str(config))
    assert result.returncode == 6
    assert "console_width" in one_sentence(result)
    config.unlink()
    config.mkdir()
    result = gmi_vr(["sessions"], tmp_path, GMI_VR_CONFIG=str(config))
    assert result.returncode == 6
    assert "Cannot read the settings file" in one_sentence(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]


@pytest.mark.parametrize("what", ["motion", "settings"])
def test_cli_names_an_unreadable_file_in_one_sentence(tmp_path: Path, what: str) -> None:
    """Permission denied for real: as root, the command runs without the capabilities that
    let root read any file, so a file with mode 000 is refused to it as to anyone."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: no way to be denied a file")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    path = tmp_path / ("motion.jsonl" if what == "motion" else "settings.toml")
    path.write_text(_MOTION if what == "motion" else _SETTINGS)
    path.chmod(0)
    args = ["demo", "--motion", str(path), "--out", str(tmp_path / "out")] if what == "motion" else ["sessions"]
    env = dict(os.environ, GMI_VR_DATA=str(tmp_path / "data"),
               GMI_VR_CONFIG=str(path) if what == "settings" else str(tmp_path / "absent.toml"))  # fmt: skip
    env.pop("DISPLAY", None)
    result = subprocess.run([*prefix, sys.executable, "-m", "gmi_vr.cli", *args], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    path.chmod(0o644)
    assert result.returncode == 6
    assert "(Permission denied)" in one_sentence(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_readme_states_how_many_cases_each_reader_survives() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    total = {reader: sum(n for name, n in CASES.items() if name.startswith(reader))
             for reader in ("motion", "settings", "avatar", "mesh")}  # fmt: skip
    assert f"motion files (calibration scripts included) survive {total['motion']} cases" in readme
    assert f"the settings file {total['settings']}," in readme
    assert f"avatars (glTF/VRM) {total['avatar']} and mesh files {total['mesh']}:" in readme
