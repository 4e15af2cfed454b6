"""Triangle meshes as plain arrays: the built-in primitives and files under ``models/``.

Primitive shapes (``MeshItem.mesh`` names), all unit sized and centred on the origin so
that ``MeshItem.world_from_mesh``'s scale gives their size in metres:

- ``"box"``: the cube -0.5..0.5 on every axis, flat-shaded faces.
- ``"plane"``: the square -0.5..0.5 in X and Z at y = 0, facing +Y (a floor tile; rotate
  it for walls).
- ``"sphere"``: radius 0.5.
- ``"cylinder"``: radius 0.5 around the Y axis, y from -0.5 to 0.5, capped.

Every other name is a file under ``models/`` loaded with trimesh (glTF is +Y up, metres,
like the rest of the product); its materials are ignored, ``MeshItem.color`` colours it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gmi_vr.assets.locations import model_path
from gmi_vr.core.errors import InputFileError
from gmi_vr.core.types import FloatArray

PRIMITIVE_NAMES = ("box", "plane", "sphere", "cylinder")
#: How far from its origin a mesh file's vertex may lie, metres (room props are a few metres;
#: this keeps normals finite).
MAX_EXTENT_M = 1000.0


@dataclass(frozen=True)
class MeshData:
    """An indexed triangle mesh in its own (mesh) frame, metres.

    ``positions`` (n, 3) float32, ``normals`` (n, 3) float32 unit length, ``indices``
    (m, 3) uint32 counter-clockwise seen from outside.
    """

    positions: NDArray[np.float32]
    normals: NDArray[np.float32]
    indices: NDArray[np.uint32]

    def __post_init__(self) -> None:
        n = self.positions.shape[0]
        if self.positions.shape != (n, 3) or self.normals.shape != (n, 3):
            raise ValueError("positions and normals must both be (n, 3)")
        if self.indices.ndim != 2 or self.indices.shape[1] != 3:
            raise ValueError("indices must be (m, 3)")
        if self.indices.size and int(self.indices.max()) >= n:
            raise ValueError("an index points past the last vertex")


def _mesh(positions: object, normals: object, indices: object) -> MeshData:
    return MeshData(
        np.ascontiguousarray(positions, dtype=np.float32),
        np.ascontiguousarray(normals, dtype=np.float32),
        np.ascontiguousarray(indices, dtype=np.uint32).reshape(-1, 3),
    )


def box() -> MeshData:
    """The unit cube, four vertices per face so each face has its own normal."""
    positions: list[FloatArray] = []
    normals: list[FloatArray] = []
    indices: list[int] = []
    for axis in range(3):
        for sign in (1.0, -1.0):
            normal = np.zeros(3)
            normal[axis] = sign
            u_axis, v_axis = (axis + 1) % 3, (axis + 2) % 3
            u, v = np.zeros(3), np.zeros(3)
            u[u_axis], v[v_axis] = 0.5, 0.5
            if sign < 0:
                u, v = v, u  # keep the winding counter-clockwise seen from outside
            centre = normal * 0.5
            base = len(positions)
            positions += [centre - u - v, centre + u - v, centre + u + v, centre - u + v]
            normals += [normal] * 4
            indices += [base, base + 1, base + 2, base, base + 2, base + 3]
    return _mesh(positions, normals, indices)


def plane() -> MeshData:
    """The unit square in the XZ plane, facing +Y."""
    positions = [(-0.5, 0, 0.5), (0.5, 0, 0.5), (0.5, 0, -0.5), (-0.5, 0, -0.5)]
    return _mesh(positions, [(0, 1, 0)] * 4, [0, 1, 2, 0, 2, 3])


def sphere(segments: int = 32, rings: int = 16) -> MeshData:
    """A UV sphere of radius 0.5 with ``segments`` around Y and ``rings`` from pole to pole."""
    theta = np.linspace(0.0, np.pi, rings + 1)  # from +Y down to -Y
    phi = np.linspace(0.0, 2.0 * np.pi, segments + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    normals = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1)
    normals = normals.reshape(-1, 3)
    row = segments + 1
    r, s = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    a = (r * row + s).ravel()
    b, c, d = a + row, a + row + 1, a + 1
    indices = np.stack([np.stack([a, b, c], -1), np.stack([a, c, d], -1)], axis=1).reshape(-1, 3)
    return _mesh(normals * 0.5, normals, indices)


def cylinder(segments: int = 32) -> MeshData:
    """A capped cylinder of radius 0.5 around Y, from y = -0.5 to 0.5."""
    angle = np.linspace(0.0, 2.0 * np.pi, segments + 1)
    ring = np.stack([np.sin(angle), np.zeros_like(angle), np.cos(angle)], axis=-1)
    side_positions = np.concatenate([ring * 0.5 + (0, -0.5, 0), ring * 0.5 + (0, 0.5, 0)])
    side_normals = np.concatenate([ring, ring])
    i = np.arange(segments)
    top = i + segments + 1
    side_indices = np.stack([np.stack([i, i + 1, top + 1], -1), np.stack([i, top + 1, top], -1)], 1)
    positions, normals = [side_positions], [side_normals]
    indices = [side_indices.reshape(-1, 3)]
    base = len(side_positions)
    for y in (0.5, -0.5):
        centre_index = base
        cap = np.concatenate([[(0.0, y, 0.0)], ring[:-1] * 0.5 + (0, y, 0)])
        positions.append(cap)
        normals.append(np.tile((0.0, np.sign(y), 0.0), (len(cap), 1)))
        rim = centre_index + 1 + i
        rim_next = centre_index + 1 + (i + 1) % segments
        centre = np.full(segments, centre_index)
        tris = np.stack([centre, rim, rim_next], -1) if y > 0 else np.stack([centre, rim_next, rim], -1)
        indices.append(tris)
        base += len(cap)
    return _mesh(np.concatenate(positions), np.concatenate(normals), np.concatenate(indices))


_PRIMITIVES = {"box": box, "plane": plane, "sphere": sphere, "cylinder": cylinder}


def primitive(name: str) -> MeshData:
    """One of PRIMITIVE_NAMES; KeyError for anything else."""
    return _PRIMITIVES[name]()


def load_mesh_file(path: Path) -> MeshData:
    """Every triangle of a mesh file (scene transforms applied) as one MeshData.

    Raises InputFileError naming the file when trimesh cannot read it or finds no triangles.
    """
    import trimesh  # imported here: only needed when a model file is actually used

    try:
        with warnings.catch_warnings():  # trimesh warns about parts it ignores (colours)
            warnings.simplefilter("ignore")
            loaded = trimesh.load(path, force="mesh", process=False)
    except Exception as error:  # trimesh raises many unrelated types for bad files
        # Its messages can span lines or quote the file's bytes: name only the kind.
        raise InputFileError(f"Cannot read the mesh file {path} ({type(error).__name__}); replace the file.") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise InputFileError(f"The mesh file {path} holds no triangles; replace the file.")
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    faces = np.asarray(loaded.faces)
    if not np.all(np.isfinite(vertices)):
        raise InputFileError(f"The mesh file {path} holds vertices that are not finite numbers; replace the file.")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= len(vertices):
        raise InputFileError(f"The mesh file {path} has triangles naming vertices it does not have; replace the file.")
    if np.abs(vertices).max() > MAX_EXTENT_M:
        raise InputFileError(
            f"The mesh file {path} has vertices more than {MAX_EXTENT_M:.0f} m from its origin; export it in metres."
        )
    return _mesh(vertices, vertex_normals(vertices, faces), faces)


def vertex_normals(vertices: object, faces: object) -> FloatArray:
    """(n, 3) unit vertex normals, each the area-weighted mean of its faces' normals.

    Computed here rather than by trimesh, whose fast path needs scipy and which otherwise
    logs a traceback on every load. Counter-clockwise faces (glTF's front) give outward
    normals; a vertex of no face gets a zero normal."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    face_normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # length: twice the area
    summed = np.zeros_like(v)
    np.add.at(summed, f.ravel(), np.repeat(face_normals, 3, axis=0))
    length = np.linalg.norm(summed, axis=1, keepdims=True)
    return summed / np.where(length > 0, length, 1.0)


def load_mesh(name: str, models_root: Path | None = None) -> MeshData:
    """A primitive by name, or ``models/<name>.<ext>`` (``models_root`` replaces ``models/``)."""
    if name in _PRIMITIVES:
        return primitive(name)
    return load_mesh_file(model_path(name, models_root))
