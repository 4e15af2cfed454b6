"""Finding shaders/, models/ and data/ (in a checkout and in an installed wheel), and meshes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gmi_vr.assets.locations import model_path, shader_path, shaders_dir, shipped_data_dir
from gmi_vr.assets.meshes import PRIMITIVE_NAMES, load_mesh, load_mesh_file, primitive
from gmi_vr.core.errors import InputFileError, NotFoundError

REPOSITORY = Path(__file__).resolve().parent.parent
SHADERS = ("mesh.vert", "lit.frag", "unlit.frag", "text.vert", "text.frag", "fade.vert", "fade.frag")


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_primitives_are_unit_sized_closed_and_face_outwards(name: str) -> None:
    mesh = primitive(name)
    assert mesh.positions.dtype == np.float32 and mesh.indices.dtype == np.uint32
    np.testing.assert_allclose(np.abs(mesh.positions).max(axis=0), [0.5, 0.0 if name == "plane" else 0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-6)
    corners = mesh.positions[mesh.indices].astype(np.float64)
    winding = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    outward = np.einsum("ij,ij->i", winding, mesh.normals[mesh.indices].mean(axis=1))
    assert (outward >= -1e-9).all(), "counter-clockwise seen from the side the normals point to"
    assert (outward > 1e-9).sum() >= len(outward) * 0.9


def test_shaders_are_found_and_each_opens_with_its_interface() -> None:
    assert shaders_dir().is_dir()
    for name in SHADERS:
        text = shader_path(name).read_text()
        assert text.startswith(f"// {name} — "), name
        header = text.split("#version")[0]
        assert "Uniforms:" in header and ("Inputs:" in header), name
    with pytest.raises(NotFoundError, match="nothing.frag"):
        shader_path("nothing.frag")


def test_model_names_map_to_files_under_models(tmp_path: Path) -> None:
    import trimesh

    (tmp_path / "stimuli").mkdir()
    trimesh.creation.box(extents=(0.2, 0.4, 0.6)).export(tmp_path / "stimuli" / "block.glb")
    assert model_path("stimuli/block", tmp_path) == tmp_path / "stimuli" / "block.glb"
    mesh = load_mesh("stimuli/block", tmp_path)
    np.testing.assert_allclose(mesh.positions.max(axis=0), [0.1, 0.2, 0.3], atol=1e-6)
    assert mesh.indices.shape == (12, 3)
    with pytest.raises(NotFoundError, match="No mesh named 'stimuli/none'"):
        load_mesh("stimuli/none", tmp_path)
    broken = tmp_path / "broken.glb"
    broken.write_bytes(b"glTF but not really")
    with pytest.raises(InputFileError, match="broken.glb"):
        load_mesh_file(broken)


def test_an_installed_wheel_carries_shaders_models_and_data(tmp_path: Path) -> None:
    """Build the wheel, install it (not editable) into a fresh virtual environment and look
    the resources up from there, away from the checkout."""
    wheel_dir, venv = tmp_path / "wheel", tmp_path / "venv"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheel_dir), str(REPOSITORY)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheel_dir.glob("gmi_vr-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    probe = textwrap.dedent(
        f"""
        import gmi_vr
        from gmi_vr.assets.locations import shipped_data_dir, model_path, shader_path
        print(gmi_vr.__file__)
        for name in {SHADERS!r}:
            print(shader_path(name))
        for name in ("avatars/avatar_slim", "avatars/avatar_broad", "stimuli/hand_left", "stimuli/neck_right"):
            print(model_path(name))
        print(shipped_data_dir() / "demo-reach.jsonl", (shipped_data_dir() / "demo-reach.jsonl").is_file())
        """
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    site = str(venv)
    assert all(line.startswith(site) for line in lines[:-1]), result.stdout
    assert lines[-1] == "True"


def test_the_demo_motion_ships_in_the_package() -> None:
    assert (shipped_data_dir() / "demo-reach.jsonl").is_file()


def test_vertex_normals_point_out_of_a_closed_mesh_without_scipy() -> None:
    import numpy as np
    import trimesh

    from gmi_vr.assets.meshes import vertex_normals

    sphere = trimesh.creation.icosphere(subdivisions=2)  # shared vertices, outward winding
    normals = vertex_normals(sphere.vertices, sphere.faces)
    outward = sphere.vertices / np.linalg.norm(sphere.vertices, axis=1, keepdims=True)
    assert np.all(np.einsum("ij,ij->i", normals, outward) > 0.99)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-9)
