"""Where the shipped resources live: ``shaders/`` (GLSL), ``models/`` (glTF/GLB) and
``gmi_vr/data/`` (built-in motion files and other small data).

The repository keeps ``shaders/`` and ``models/`` at its top level. The package reaches
them through the links ``gmi_vr/shaders -> ../shaders`` and ``gmi_vr/models -> ../models``,
which setuptools follows when it builds a wheel, so an installed package carries real
copies at the same place inside the package (see ``[tool.setuptools.package-data]``).
One lookup therefore serves a source checkout, an editable install and a wheel install;
the repository root is only a fallback for a checkout whose links were not created
(a file system without symbolic links).
"""

from __future__ import annotations

from pathlib import Path

from gmi_vr.core.errors import NotFoundError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../gmi_vr
_CHECKOUT_DIR = _PACKAGE_DIR.parent  # the repository root in a source checkout

#: File name extensions tried, in order, for a model named without one.
MODEL_EXTENSIONS = (".glb", ".gltf", ".obj", ".ply", ".stl")


def _resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / name, _CHECKOUT_DIR / name):
        if candidate.is_dir():
            return candidate
    raise NotFoundError(
        f"The gmi-vr resource folder '{name}' is missing next to {_PACKAGE_DIR}; "
        "reinstall gmi-vr."
    )


def shaders_dir() -> Path:
    """The folder holding the GLSL sources."""
    return _resource_dir("shaders")


def models_dir() -> Path:
    """The folder holding the meshes that ``MeshItem.mesh`` names refer to."""
    return _resource_dir("models")


def shipped_data_dir() -> Path:
    """The folder of small data files shipped inside the package (the built-in motion files);
    not the user's data folder, which is ``Settings.data_dir``."""
    return _PACKAGE_DIR / "data"


def shader_path(file_name: str) -> Path:
    """``shaders/<file_name>`` (e.g. "lit.frag"); NotFoundError when it does not exist."""
    path = shaders_dir() / file_name
    if not path.is_file():
        raise NotFoundError(f"The shader {path} is missing; reinstall gmi-vr.")
    return path


def model_path(name: str, root: Path | None = None) -> Path:
    """The file for a mesh name such as "stimuli/hand_left" (``models/stimuli/hand_left.glb``).

    ``root`` replaces ``models/`` (tests, user model folders). A name may carry its own
    extension; otherwise MODEL_EXTENSIONS are tried in order.
    """
    base = root if root is not None else models_dir()
    direct = base / name
    if direct.suffix and direct.is_file():
        return direct
    for extension in MODEL_EXTENSIONS:
        candidate = base / f"{name}{extension}"
        if candidate.is_file():
            return candidate
    raise NotFoundError(
        f"No mesh named '{name}' in {base} (looked for {', '.join(MODEL_EXTENSIONS)}); "
        "check the name or add the model file."
    )
