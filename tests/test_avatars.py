"""Generated models: deterministic, loadable with their skins; user avatars load; non-humanoid
files are refused with the missing bones named; the rig lands avatar joints on the body."""

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh

from gmi_vr.assets import gltf_skin
from gmi_vr.assets.gltf_skin import load_skinned_gltf
from gmi_vr.body.calibration import Calibration, Posture
from gmi_vr.body.rig import AvatarRig
from gmi_vr.body.skeleton import JOINT_NAMES, REQUIRED_BONES, rest_offsets, rest_positions
from gmi_vr.core.errors import InputFileError
from gmi_vr.core.types import Side

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
AVATARS = sorted((MODELS / "avatars").glob("*.glb"))
STIMULI = sorted((MODELS / "stimuli").glob("*.glb"))


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_regenerating_the_models_gives_identical_bytes(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_models.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)  # fmt: skip
    assert _digests(tmp_path) == _digests(MODELS)


def test_models_are_small_and_listed_in_the_manifest():
    manifest = (MODELS / "MANIFEST.md").read_text()
    assert len(AVATARS) >= 2
    names = {p.stem for p in STIMULI}
    assert {"hand_left", "hand_right", "foot_left", "foot_right"} <= names
    for path in AVATARS + STIMULI:
        assert path.stat().st_size < 400_000
        assert f"`{path.relative_to(MODELS)}`" in manifest


@pytest.mark.parametrize("path", AVATARS, ids=lambda p: p.stem)
def test_every_generated_avatar_loads_with_its_skin(path):
    avatar = load_skinned_gltf(path)
    assert set(avatar.joint_humanoid) == set(JOINT_NAMES)
    assert avatar.positions.shape == avatar.normals.shape
    assert avatar.joints.shape == avatar.weights.shape == (len(avatar.positions), 4)
    np.testing.assert_allclose(avatar.weights.sum(axis=1), 1.0, atol=1e-5)
    assert avatar.joints.max() < len(avatar.joint_names)
    assert avatar.indices.max() < len(avatar.positions)
    # Three bones per finger on both hands, and feet with toes.
    for side in ("left", "right"):
        for finger in ("Thumb", "Index", "Middle", "Ring", "Little"):
            assert sum(1 for b in avatar.joint_humanoid if b and b.startswith(side + finger)) == 3
        assert f"{side}Toes" in avatar.joint_humanoid


@pytest.mark.parametrize("path", STIMULI, ids=lambda p: p.stem)
def test_stimuli_load_as_static_meshes(path):
    mesh = trimesh.load(path, force="mesh")
    assert len(mesh.faces) > 50
    assert np.all(np.abs(mesh.bounds) < 1.0)


def test_left_and_right_hand_stimuli_are_mirror_images_not_copies():
    left = trimesh.load(MODELS / "stimuli" / "hand_left.glb", force="mesh")
    right = trimesh.load(MODELS / "stimuli" / "hand_right.glb", force="mesh")
    # Mirroring the left hand across the YZ plane gives the right hand (same vertex set).
    mirrored = np.asarray(left.vertices) * [-1, 1, 1]
    np.testing.assert_allclose(np.sort(mirrored, axis=0), np.sort(np.asarray(right.vertices), axis=0), atol=1e-4)
    # Seen from the back with the fingers up, a left hand's thumb is on the viewer's right
    # (+X) and a right hand's on the left: the palm-and-thumb part (lower 40 %) leans that way.
    def lower_part_lean(mesh):
        v = np.asarray(mesh.vertices)
        low = v[v[:, 1] < v[:, 1].min() + 0.4 * np.ptp(v[:, 1])]
        return low[:, 0].mean()

    assert lower_part_lean(left) > 0.005 and lower_part_lean(right) < -0.005


def _user_avatar(tmp_path: Path, names: dict[str, str], scale: float = 1.3) -> Path:
    """A different avatar made here: a box per bone at its own proportions (not our mesh),
    joints named by ``names`` (humanoid bone -> node name), facing -Z like VRM 0.x."""
    measures = Calibration.uncalibrated(Posture.STANDING, 1.5).measures
    rest = rest_positions(rest_offsets(measures)) * [1.0, 1.0, 1.0] * scale
    box = trimesh.creation.box(extents=(0.05, 0.05, 0.05))
    positions, indices, joints = [], [], []
    for k in range(len(JOINT_NAMES)):
        positions.append(np.asarray(box.vertices) + rest[k])
        indices.append(np.asarray(box.faces) + 8 * k)
        joints.append(np.full((8, 4), [k, 0, 0, 0]))
    positions = np.concatenate(positions).astype(np.float32)
    indices = np.concatenate(indices).astype(np.uint32).reshape(-1)
    joints = np.concatenate(joints).astype(np.uint16)
    weights = np.tile(np.array([1, 0, 0, 0], np.float32), (len(positions), 1))
    ibm = np.stack([np.linalg.inv(np.block([[np.eye(3), p[:, None]], [np.zeros((1, 3)), 1]])) for p in rest])
    blobs = [positions.tobytes(), joints.tobytes(), weights.tobytes(), indices.tobytes(),
             ibm.transpose(0, 2, 1).astype(np.float32).tobytes()]  # fmt: skip
    offsets = np.cumsum([0] + [len(b) for b in blobs])
    gltf = pygltflib.GLTF2(
        scene=0,
        scenes=[pygltflib.Scene(nodes=[0])],
        nodes=[pygltflib.Node(name="root", children=[1] + [2]), pygltflib.Node(name="mesh", mesh=0, skin=0)]
        + [pygltflib.Node(name=names.get(n, n), translation=[float(v) for v in rest[k]]) for k, n in enumerate(JOINT_NAMES)],
        meshes=[pygltflib.Mesh(primitives=[pygltflib.Primitive(
            attributes=pygltflib.Attributes(POSITION=0, JOINTS_0=1, WEIGHTS_0=2), indices=3)])],
        skins=[pygltflib.Skin(joints=list(range(2, 2 + len(JOINT_NAMES))), inverseBindMatrices=4)],
        accessors=[
            pygltflib.Accessor(bufferView=0, componentType=5126, count=len(positions), type="VEC3",
                               min=positions.min(0).tolist(), max=positions.max(0).tolist()),
            pygltflib.Accessor(bufferView=1, componentType=5123, count=len(positions), type="VEC4"),
            pygltflib.Accessor(bufferView=2, componentType=5126, count=len(positions), type="VEC4"),
            pygltflib.Accessor(bufferView=3, componentType=5125, count=len(indices), type="SCALAR"),
            pygltflib.Accessor(bufferView=4, componentType=5126, count=len(ibm), type="MAT4"),
        ],
        bufferViews=[pygltflib.BufferView(buffer=0, byteOffset=int(offsets[i]), byteLength=len(b))
                     for i, b in enumerate(blobs)],
        buffers=[pygltflib.Buffer(byteLength=int(offsets[-1]))],
    )  # fmt: skip
    # Flat hierarchy is fine for a skin; joint positions come from the inverse bind matrices.
    gltf.nodes[0].children = [1] + list(range(2, 2 + len(JOINT_NAMES)))
    gltf.set_binary_blob(b"".join(blobs))
    path = tmp_path / "clinic_avatar.glb"
    gltf.save_binary(str(path))
    return path


def test_a_user_supplied_humanoid_gltf_loads_and_fits_the_body(tmp_path):
    path = _user_avatar(tmp_path, {})
    avatar = load_skinned_gltf(path)
    assert avatar.joint_humanoid == JOINT_NAMES
    calibration = Calibration.uncalibrated(Posture.STANDING, 1.8, Side.LEFT)
    rig = AvatarRig(avatar, calibration.measures)
    rest = rest_positions(rest_offsets(calibration.measures))
    world = np.tile(np.eye(4), (len(rest), 1, 1))
    world[:, :3, 3] = rest
    palette = rig.palette(world)
    bind = np.linalg.inv(avatar.inverse_bind_matrices)
    landed = np.einsum("nij,nj->ni", palette, bind[:, :, 3])[:, :3]
    np.testing.assert_allclose(landed, rest, atol=1e-9)


def test_mixamo_named_avatar_loads(tmp_path):
    names = {"hips": "mixamorig:Hips", "spine": "mixamorig:Spine", "head": "mixamorig:Head",
             "leftUpperArm": "mixamorig:LeftArm", "leftLowerArm": "mixamorig:LeftForeArm",
             "leftHand": "mixamorig:LeftHand", "rightUpperArm": "mixamorig:RightArm",
             "rightLowerArm": "mixamorig:RightForeArm", "rightHand": "mixamorig:RightHand",
             "leftUpperLeg": "mixamorig:LeftUpLeg", "leftLowerLeg": "mixamorig:LeftLeg",
             "leftFoot": "mixamorig:LeftFoot", "rightUpperLeg": "mixamorig:RightUpLeg",
             "rightLowerLeg": "mixamorig:RightLeg", "rightFoot": "mixamorig:RightFoot"}  # fmt: skip
    avatar = load_skinned_gltf(_user_avatar(tmp_path, names))
    for bone in REQUIRED_BONES:
        assert bone in avatar.joint_humanoid


def test_a_gltf_without_a_humanoid_skeleton_is_refused_naming_what_is_missing(tmp_path):
    names = {n: f"bone_{i}" for i, n in enumerate(JOINT_NAMES) if n in ("leftHand", "rightFoot", "spine")}
    with pytest.raises(InputFileError) as refused:
        load_skinned_gltf(_user_avatar(tmp_path, names))
    message = str(refused.value)
    assert "leftHand" in message and "rightFoot" in message and "spine" in message
    assert "leftUpperArm" not in message
    assert message.count(".") <= 2 and "\n" not in message  # one sentence


def test_a_mesh_without_a_skin_and_a_non_gltf_file_are_refused(tmp_path):
    static = MODELS / "stimuli" / "hand_left.glb"
    with pytest.raises(InputFileError, match="no skin"):
        load_skinned_gltf(static)
    junk = tmp_path / "avatar.glb"
    junk.write_bytes(b"glTF" + struct.pack("<II", 2, 20) + b"\x00" * 8)
    with pytest.raises(InputFileError, match="not a readable"):
        load_skinned_gltf(junk)
    with pytest.raises(InputFileError, match="does not exist"):
        load_skinned_gltf(tmp_path / "missing.vrm")


def test_required_bone_lists_agree_between_layers():
    assert gltf_skin.REQUIRED_BONES == REQUIRED_BONES


def test_vrm_humanoid_extension_names_the_bones():
    document = json.loads(_json_chunk(AVATARS[0]))
    bones = document["extensions"]["VRMC_vrm"]["humanoid"]["humanBones"]
    assert set(bones) == set(JOINT_NAMES)


def _json_chunk(path: Path) -> bytes:
    data = path.read_bytes()
    length = struct.unpack_from("<I", data, 12)[0]
    return data[20:20 + length]


def test_palette_lands_every_avatar_joint_on_the_solved_posed_body():
    from body_frames import calibration as make_calibration
    from body_frames import frame, grip_in_front, held, upright_head

    from gmi_vr.body.solve import BodySettings, BodyState, solve_body

    cal = make_calibration()
    body = solve_body(frame(0, upright_head(cal), right=held(grip_in_front(cal, Side.RIGHT, 0.7))), cal,
                      BodySettings(), BodyState())  # fmt: skip
    for path in AVATARS:
        avatar = load_skinned_gltf(path)
        palette = AvatarRig(avatar, cal.measures).palette(body.world_from_joint)
        bind = np.linalg.inv(avatar.inverse_bind_matrices)
        landed = np.einsum("nij,nj->ni", palette, bind[:, :, 3])[:, :3]
        order = [JOINT_NAMES.index(b) for b in avatar.joint_humanoid]
        np.testing.assert_allclose(landed, body.world_from_joint[order, :3, 3], atol=1e-6)


def test_appearance_round_trips_and_names_real_models():
    from gmi_vr.body.appearance import AVATAR_BUILDS, SKIN_TONES, Appearance

    for model in AVATAR_BUILDS.values():
        assert (MODELS / f"{model}.glb").is_file()
    assert len(SKIN_TONES) >= 4
    choice = Appearance("broad", "dark")
    assert Appearance.from_dict(choice.to_dict()) == choice
    assert choice.avatar_model == "avatars/avatar_broad" and choice.tint == SKIN_TONES["dark"]
    with pytest.raises(InputFileError, match="skin tone"):
        Appearance.from_dict({"skin_tone": "green"})


@pytest.mark.parametrize("path", AVATARS + STIMULI, ids=lambda p: p.stem)
def test_triangles_face_outwards(path):
    """Counter-clockwise winding seen from outside (glTF's front face): each triangle's
    winding normal agrees with its vertices' normals, so back-face culling keeps the skin."""
    document = pygltflib.GLTF2().load_binary(str(path))
    primitive = document.meshes[0].primitives[0]
    blob = document.binary_blob()

    def read(index, dtype, components):
        accessor = document.accessors[index]
        view = document.bufferViews[accessor.bufferView]
        return np.frombuffer(blob, dtype, accessor.count * components, view.byteOffset)

    positions = read(primitive.attributes.POSITION, np.float32, 3).reshape(-1, 3)
    normals = read(primitive.attributes.NORMAL, np.float32, 3).reshape(-1, 3)
    triangles = read(primitive.indices, np.uint16, 1).reshape(-1, 3)
    a, b, c = (positions[triangles[:, k]] for k in range(3))
    winding = np.cross(b - a, c - a)
    area = np.linalg.norm(winding, axis=1)
    assert np.all(area > 0), "degenerate triangles"
    agree = np.einsum("ij,ij->i", winding, normals[triangles].sum(axis=1)) > 0
    assert agree.mean() > 0.99


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(height=st.floats(1.4, 2.05), shoulders=st.floats(0.3, 0.55), arm=st.floats(0.45, 0.7),
       hips=st.floats(0.25, 0.42), hand=st.floats(0.15, 0.22))  # fmt: skip
def test_every_generated_avatar_fits_any_patient_exactly(height, shoulders, arm, hips, hand):
    from gmi_vr.body.skeleton import BodyMeasures

    measures = BodyMeasures(height, shoulders, arm, hips, hand)
    rest = rest_positions(rest_offsets(measures))
    world = np.tile(np.eye(4), (len(rest), 1, 1))
    world[:, :3, 3] = rest
    for avatar in _LOADED_AVATARS:
        palette = AvatarRig(avatar, measures).palette(world)
        bind = np.linalg.inv(avatar.inverse_bind_matrices)
        landed = np.einsum("nij,nj->ni", palette, bind[:, :, 3])[:, :3]
        np.testing.assert_allclose(landed, rest, atol=1e-6)


_LOADED_AVATARS = [load_skinned_gltf(path) for path in AVATARS]


def test_a_vrm0_avatar_maps_bones_from_its_extension(tmp_path):
    """VRM 0.x (what many avatar makers export): humanoid bones come from extensions.VRM,
    whatever the nodes are called, and its thumb names shift to VRM 1.0's."""
    vrm1_to_vrm0 = {"ThumbMetacarpal": "ThumbProximal", "ThumbProximal": "ThumbIntermediate"}
    names = {bone: f"J_{i:03d}" for i, bone in enumerate(JOINT_NAMES)}  # meaningless node names
    path = _user_avatar(tmp_path, names)
    gltf = pygltflib.GLTF2().load_binary(str(path))
    bones = []
    for i, bone in enumerate(JOINT_NAMES):
        vrm0 = bone
        for new, old in vrm1_to_vrm0.items():
            if bone.endswith(new):
                vrm0 = bone[: -len(new)] + old
        bones.append({"bone": vrm0, "node": 2 + i})
    gltf.extensions = {"VRM": {"humanoid": {"humanBones": bones}}}
    gltf.extensionsUsed = ["VRM"]
    vrm = tmp_path / "clinic_avatar.vrm"
    gltf.save_binary(str(vrm))
    avatar = load_skinned_gltf(vrm)
    assert avatar.joint_humanoid == JOINT_NAMES
    assert avatar.joint_names[JOINT_NAMES.index("leftThumbMetacarpal")] == names["leftThumbMetacarpal"]
