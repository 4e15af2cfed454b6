"""Load a skinned humanoid avatar (glTF 2.0 / GLB / VRM 0.x or 1.0) into plain mesh data.

trimesh drops skins, so this reads the file with pygltflib. All triangle primitives of the
meshes bound to the humanoid skin are merged into one vertex array. Joints are mapped to VRM
humanoid bone names from the ``VRMC_vrm`` (1.0) or ``VRM`` (0.x) extension when present,
otherwise from node names (VRM names, case-insensitive, or the common Mixamo names).
A file without the bones VRM requires is refused with an ``InputFileError`` naming them.

An avatar is a file a clinic brings, so nothing in it is trusted: pygltflib checks no types
(any field may hold any JSON value), so every index, count, offset and number is checked
before use and a file that breaks any rule is refused with one sentence, never half loaded.

Matrices are returned in the column-vector convention of ``gmi_vr.geometry`` (glTF stores
them column-major; they are transposed on reading).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib
from numpy.typing import NDArray

from gmi_vr.core.errors import InputFileError

#: Bones VRM 1.0 requires of a humanoid (kept equal to gmi_vr.body.skeleton.REQUIRED_BONES;
#: assets may not import body, a test checks they agree).
REQUIRED_BONES: tuple[str, ...] = (
    "hips", "spine", "head",
    "leftUpperArm", "leftLowerArm", "leftHand", "rightUpperArm", "rightLowerArm", "rightHand",
    "leftUpperLeg", "leftLowerLeg", "leftFoot", "rightUpperLeg", "rightLowerLeg", "rightFoot",
)  # fmt: skip

_VRM0_TO_VRM1 = {
    f"{side}{old}": f"{side}{new}"
    for side in ("left", "right")
    for old, new in (("ThumbProximal", "ThumbMetacarpal"), ("ThumbIntermediate", "ThumbProximal"))
}


def _mixamo_names() -> dict[str, str]:
    names = {"hips": "hips", "spine": "spine", "spine1": "chest", "spine2": "upperChest",
             "neck": "neck", "head": "head"}  # fmt: skip
    for side, prefix in (("Left", "left"), ("Right", "right")):
        names.update({
            f"{side}Shoulder".lower(): f"{prefix}Shoulder", f"{side}Arm".lower(): f"{prefix}UpperArm",
            f"{side}ForeArm".lower(): f"{prefix}LowerArm", f"{side}Hand".lower(): f"{prefix}Hand",
            f"{side}UpLeg".lower(): f"{prefix}UpperLeg", f"{side}Leg".lower(): f"{prefix}LowerLeg",
            f"{side}Foot".lower(): f"{prefix}Foot", f"{side}ToeBase".lower(): f"{prefix}Toes",
        })  # fmt: skip
        for finger, vrm in (("Thumb", "Thumb"), ("Index", "Index"), ("Middle", "Middle"),
                            ("Ring", "Ring"), ("Pinky", "Little")):
            segments = ("Metacarpal", "Proximal", "Distal") if finger == "Thumb" else (
                "Proximal", "Intermediate", "Distal")
            for k, segment in enumerate(segments, start=1):
                names[f"{side}Hand{finger}{k}".lower()] = f"{prefix}{vrm}{segment}"
    return names


_MIXAMO = _mixamo_names()


@dataclass(frozen=True)
class SkinnedMeshData:
    """One avatar's skinned mesh. Shapes: v vertices, t triangles, n skin joints.

    positions (v, 3) float32 metres and normals (v, 3) float32 in the bind (model) space;
    joints (v, 4) uint16 indices into the skin's joints; weights (v, 4) float32 summing to 1;
    indices (3 t,) uint32. joint_names (n,) node names; joint_humanoid (n,) VRM bone name or
    None; joint_parents (n,) nearest ancestor that is a skin joint, -1 at the top;
    inverse_bind_matrices (n, 4, 4) ``joint_from_model`` at bind time.
    """

    name: str
    positions: NDArray[np.float32]
    normals: NDArray[np.float32]
    joints: NDArray[np.uint16]
    weights: NDArray[np.float32]
    indices: NDArray[np.uint32]
    joint_names: tuple[str, ...]
    joint_humanoid: tuple[str | None, ...]
    joint_parents: NDArray[np.int64]
    inverse_bind_matrices: NDArray[np.float64]
    base_color: tuple[float, float, float, float]


_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
#: Component types glTF 2.0 allows for each use (spec section 3.7.2 and 3.11).
_FLOAT = (5126,)
_UNSIGNED = (5121, 5123, 5125)
_WEIGHT_TYPES = (5126, 5121, 5123)
_JOINT_TYPES = (5121, 5123)
#: How far from its origin an avatar's vertex may lie, metres (a body is 2 m tall; this keeps
#: normals and skinning finite).
MAX_EXTENT_M = 1000.0
#: The malformed-structure errors a glTF whose JSON holds a wrong type raises on reading.
_STRUCTURE_ERRORS = (IndexError, KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)


def _refuse(path: Path, what: str) -> InputFileError:
    return InputFileError(f"The avatar {path.name} cannot be used: {what}.")


def _index(value: object, length: int) -> int:
    """``value`` as an index into a list of ``length`` items; IndexError when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < length:
        raise IndexError(f"{value!r} is not an index below {length}")
    return value


def _whole(value: object, low: int = 0) -> int:
    """A whole number at least ``low`` (absent: 0); ValueError otherwise."""
    value = 0 if value is None else value
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{value!r} is not a whole number from {low}")
    return value


def _read_accessor(
    gltf: pygltflib.GLTF2, blob: bytes, index: object, path: Path, kind: str, components: tuple[int, ...]
) -> np.ndarray:
    """Accessor ``index`` as a (count, width) array, after checking that it is a ``kind``
    ("VEC3", ...) of one of ``components`` and lies wholly inside its buffer view and the
    binary data. Normalised integers come back as floats in 0..1."""
    accessor = gltf.accessors[_index(index, len(gltf.accessors))]
    if accessor.sparse is not None or accessor.bufferView is None:
        raise _refuse(path, "it uses sparse or empty accessors, which are not supported; re-export it without them")
    if accessor.type != kind or accessor.componentType not in components:
        held = f"{_shown(accessor.type)} of component type {_shown(accessor.componentType)}"
        raise _refuse(path, f"an accessor holds {held} where {kind} data was expected")
    view = gltf.bufferViews[_index(accessor.bufferView, len(gltf.bufferViews))]
    dtype = np.dtype(_COMPONENTS[accessor.componentType])
    width = _WIDTH[accessor.type]
    element = dtype.itemsize * width
    count = _whole(accessor.count, low=1)
    view_start, view_length = _whole(view.byteOffset), _whole(view.byteLength, low=1)
    offset = _whole(accessor.byteOffset)
    stride = element if view.byteStride is None else _whole(view.byteStride, low=element)
    if view_start + view_length > len(blob) or offset + stride * (count - 1) + element > view_length:
        raise _refuse(path, "its binary data is shorter than its accessors claim")
    raw = np.ndarray((count, width), dtype=dtype, buffer=blob, offset=view_start + offset, strides=(stride, dtype.itemsize))
    data: np.ndarray = np.array(raw)
    if accessor.normalized is True and dtype.kind in "iu":
        largest = float(np.iinfo(dtype.type).max)
        data = data.astype(np.float32) / np.float32(largest)
    if dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise _refuse(path, "its mesh data holds numbers that are not finite (NaN or infinity)")
    return data


def _shown(value: object, limit: int = 30) -> str:
    """A value from the file for a message: escaped to ASCII and cut short."""
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _node_matrix(node: pygltflib.Node) -> np.ndarray:
    if node.matrix is not None:
        return np.array(node.matrix, dtype=np.float64).reshape(4, 4).T  # ValueError unless 16 numbers
    m = np.eye(4)
    if node.scale is not None:
        m = np.diag([*node.scale, 1.0])
    if node.rotation is not None:
        x, y, z, w = node.rotation
        r = np.array([
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ])  # fmt: skip
        m[:3, :3] = r @ m[:3, :3]
    if node.translation is not None:
        m[:3, 3] = node.translation
    return m


def _humanoid_map(gltf: pygltflib.GLTF2) -> dict[int, str]:
    """node index -> VRM 1.0 humanoid bone name."""
    extensions = gltf.extensions or {}
    node_count = len(gltf.nodes)
    if "VRMC_vrm" in extensions:
        bones = extensions["VRMC_vrm"].get("humanoid", {}).get("humanBones", {})
        return {_index(entry["node"], node_count): name for name, entry in bones.items() if "node" in entry}
    if "VRM" in extensions:
        bones = extensions["VRM"].get("humanoid", {}).get("humanBones", [])
        return {_index(b["node"], node_count): _VRM0_TO_VRM1.get(b["bone"], b["bone"])
                for b in bones if isinstance(b.get("bone"), str) and b.get("node", -1) != -1}  # fmt: skip
    from_names: dict[int, str] = {}
    vrm_names = {name.lower(): name for name in _all_vrm_names()}
    for index, node in enumerate(gltf.nodes):
        key = (node.name if isinstance(node.name, str) else "").lower()
        for prefix in ("mixamorig:", "mixamorig_", "armature_", "j_bip_c_"):
            key = key.removeprefix(prefix)
        bone = vrm_names.get(key) or _MIXAMO.get(key)
        if bone is not None and bone not in from_names.values():
            from_names[index] = bone
    return from_names


def _all_vrm_names() -> list[str]:
    names = ["hips", "spine", "chest", "upperChest", "neck", "head", "jaw", "leftEye", "rightEye"]
    for side in ("left", "right"):
        names += [f"{side}{b}" for b in ("Shoulder", "UpperArm", "LowerArm", "Hand",
                                         "UpperLeg", "LowerLeg", "Foot", "Toes")]  # fmt: skip
        names += [f"{side}Thumb{s}" for s in ("Metacarpal", "Proximal", "Distal")]
        for finger in ("Index", "Middle", "Ring", "Little"):
            names += [f"{side}{finger}{s}" for s in ("Proximal", "Intermediate", "Distal")]
    return names


def load_skinned_gltf(path: Path | str) -> SkinnedMeshData:
    """Read ``path`` (.glb, .gltf or .vrm). Raises ``InputFileError`` with one sentence if the
    file is unreadable or malformed, has no skin, or lacks the humanoid bones (listed in the
    message)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise InputFileError(f"The avatar file {path} does not exist; check the path.") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputFileError(f"Cannot read the avatar file {path} ({reason}); check the path and its permissions.") from None
    try:
        with warnings.catch_warnings():
            # pygltflib warns on stderr about parts it skips; the refusal below says enough.
            warnings.simplefilter("ignore", UserWarning)
            gltf = pygltflib.GLTF2().load_binary(str(path)) if magic == b"glTF" else pygltflib.GLTF2().load_json(str(path))
            if gltf is None:
                raise ValueError("empty")
            gltf.convert_buffers(pygltflib.BufferFormat.BINARYBLOB)
            blob = gltf.binary_blob() or b""
        if not isinstance(blob, bytes):
            raise TypeError("binary data")
    except Exception as error:  # pygltflib raises assorted errors on malformed files
        raise _refuse(path, f"it is not a readable glTF/VRM file ({type(error).__name__})") from None
    try:
        return _skinned_mesh(gltf, blob, path)
    except _STRUCTURE_ERRORS as error:
        raise _refuse(path, f"its glTF structure is malformed ({type(error).__name__}); re-export it") from None


def _skinned_mesh(gltf: pygltflib.GLTF2, blob: bytes, path: Path) -> SkinnedMeshData:
    """The checked mesh of a loaded document; a wrong type anywhere raises one of
    _STRUCTURE_ERRORS, a rule broken with the right types an InputFileError."""
    if not gltf.skins:
        raise _refuse(path, "it has no skin (joints and weights); export it as a rigged humanoid")
    humanoid = _humanoid_map(gltf)
    missing = [bone for bone in REQUIRED_BONES if bone not in humanoid.values()]
    if missing:
        raise _refuse(
            path, f"it has no humanoid skeleton: missing bones {', '.join(missing)} "
            "(name the joints with VRM humanoid bone names or export it as VRM)"
        )
    skin_index = _humanoid_skin(gltf, humanoid)
    skin = gltf.skins[skin_index]
    node_count = len(gltf.nodes)
    joint_nodes = [_index(node, node_count) for node in skin.joints]
    if not joint_nodes or len(set(joint_nodes)) != len(joint_nodes):
        raise _refuse(path, "its skin lists no joints or a joint twice")
    parent_of = {
        _index(child, node_count): i for i, node in enumerate(gltf.nodes) for child in (node.children or [])
    }
    node_to_joint = {node: k for k, node in enumerate(joint_nodes)}
    parents = np.full(len(joint_nodes), -1, dtype=np.int64)
    for k, node in enumerate(joint_nodes):
        ancestors = _ancestors(node, parent_of, path)
        up = next((a for a in ancestors if a in node_to_joint), None)
        parents[k] = -1 if up is None else node_to_joint[up]
    if skin.inverseBindMatrices is not None:
        ibm = _read_accessor(gltf, blob, skin.inverseBindMatrices, path, "MAT4", _FLOAT).astype(np.float64)
        inverse_bind = ibm.reshape(-1, 4, 4).transpose(0, 2, 1)
        if len(inverse_bind) != len(joint_nodes):
            raise _refuse(path, "its skin has a different number of inverse bind matrices than joints")
    else:
        inverse_bind = np.linalg.inv(np.stack([_global(gltf, n, parent_of, path) for n in joint_nodes]))
    if not np.all(np.isfinite(inverse_bind)) or np.any(np.linalg.cond(inverse_bind) > 1e12):
        raise _refuse(path, "its skin's bind pose is degenerate (a joint with no size or no finite place)")
    positions, normals, joints, weights, indices = _merge_primitives(gltf, blob, skin_index, path)
    if int(joints.max()) >= len(joint_nodes):
        raise _refuse(path, "a vertex is bound to a joint its skin does not have")
    color = (1.0, 1.0, 1.0, 1.0)
    if gltf.materials and gltf.materials[0].pbrMetallicRoughness is not None:
        factor = gltf.materials[0].pbrMetallicRoughness.baseColorFactor
        if factor:
            color = (float(factor[0]), float(factor[1]), float(factor[2]), float(factor[3]))
            if not all(0.0 <= c <= 1.0 for c in color):  # NaN fails too
                raise _refuse(path, "its base colour is not four numbers from 0 to 1")
    return SkinnedMeshData(
        name=path.stem,
        positions=positions,
        normals=normals,
        joints=joints,
        weights=weights,
        indices=indices,
        joint_names=tuple(_node_name(gltf.nodes[n], n) for n in joint_nodes),
        joint_humanoid=tuple(humanoid.get(n) for n in joint_nodes),
        joint_parents=parents,
        inverse_bind_matrices=inverse_bind,
        base_color=color,
    )


def _node_name(node: pygltflib.Node, index: int) -> str:
    return node.name if isinstance(node.name, str) and node.name else f"node{index}"


def _ancestors(node: int, parent_of: dict[int, int], path: Path) -> list[int]:
    """``node``'s parent, grandparent, ... up to the root; refused when the chain loops."""
    chain: list[int] = []
    up = parent_of.get(node)
    while up is not None:
        if up == node or len(chain) > len(parent_of):
            raise _refuse(path, "its node hierarchy loops back on itself")
        chain.append(up)
        up = parent_of.get(up)
    return chain


def _global(gltf: pygltflib.GLTF2, node: int, parent_of: dict[int, int], path: Path) -> np.ndarray:
    m = _node_matrix(gltf.nodes[node])
    for up in _ancestors(node, parent_of, path):
        m = _node_matrix(gltf.nodes[up]) @ m
    return m


def _humanoid_skin(gltf: pygltflib.GLTF2, humanoid: dict[int, str]) -> int:
    """The skin that holds the most humanoid bones (VRM files may carry extra skins)."""
    counts = [sum(1 for j in skin.joints if j in humanoid) for skin in gltf.skins]  # TypeError if not lists
    return int(np.argmax(counts))


def _merge_primitives(
    gltf: pygltflib.GLTF2, blob: bytes, skin_index: int, path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions, normals, joints, weights and indices of every triangle primitive of the
    nodes bound to the skin, concatenated (indices offset accordingly)."""
    positions, normals, joints, weights, indices = [], [], [], [], []
    offset = 0
    for node in gltf.nodes:
        if node.mesh is None or node.skin != skin_index:
            continue
        for primitive in gltf.meshes[_index(node.mesh, len(gltf.meshes))].primitives:
            if primitive.mode not in (None, 4):
                continue  # lines and points carry no skin surface
            attributes = primitive.attributes
            if attributes.POSITION is None or attributes.JOINTS_0 is None or attributes.WEIGHTS_0 is None:
                raise _refuse(path, "a skinned mesh lacks POSITION, JOINTS_0 or WEIGHTS_0")
            p = _read_accessor(gltf, blob, attributes.POSITION, path, "VEC3", _FLOAT).astype(np.float32)
            if np.abs(p).max() > MAX_EXTENT_M:
                raise _refuse(path, f"its vertices lie more than {MAX_EXTENT_M:.0f} m from its origin; export it in metres")
            count = len(p)
            if primitive.indices is not None:
                idx = _read_accessor(gltf, blob, primitive.indices, path, "SCALAR", _UNSIGNED).reshape(-1).astype(np.uint32)
            else:
                idx = np.arange(count, dtype=np.uint32)
            if len(idx) % 3 or int(idx.max()) >= count:
                raise _refuse(path, "its triangles name vertices it does not have")
            if attributes.NORMAL is not None:
                n = _read_accessor(gltf, blob, attributes.NORMAL, path, "VEC3", _FLOAT).astype(np.float32)
            else:
                n = _vertex_normals(p, idx.reshape(-1, 3))
            w = _read_accessor(gltf, blob, attributes.WEIGHTS_0, path, "VEC4", _WEIGHT_TYPES).astype(np.float32)
            j = _read_accessor(gltf, blob, attributes.JOINTS_0, path, "VEC4", _JOINT_TYPES).astype(np.uint16)
            if not len(n) == len(w) == len(j) == count:
                raise _refuse(path, "a skinned mesh has different numbers of positions, normals, joints and weights")
            if np.any(w < 0):
                raise _refuse(path, "a skinned mesh has negative joint weights")
            total = w.sum(axis=1, keepdims=True)
            w = np.where(total > 0, w / np.where(total > 0, total, 1), np.array([1, 0, 0, 0], np.float32))
            positions.append(p)
            normals.append(n)
            joints.append(j)
            weights.append(w.astype(np.float32))
            indices.append(idx + offset)
            offset += count
    if not positions:
        raise _refuse(path, "no triangle mesh is bound to its humanoid skin")
    return (np.concatenate(positions), np.concatenate(normals), np.concatenate(joints),
            np.concatenate(weights), np.concatenate(indices))  # fmt: skip


def _vertex_normals(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = (positions[triangles[:, k]] for k in range(3))
    face = np.cross(b - a, c - a)
    normals = np.zeros_like(positions)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return (normals / np.where(length > 0, length, 1)).astype(np.float32)
