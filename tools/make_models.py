"""Generate the project's procedural models into models/ (deterministic, nothing downloaded).

    python tools/make_models.py [--out models]

Writes skinned humanoid avatars (glTF binary with a skin and the VRMC_vrm humanoid map; VRM
humanoid bone names on the joint nodes; three bones per finger, a thumb on the front side in
the palm-down T-pose, nails on the back of the fingers, separate toes with the big toe
inside) and static laterality stimuli baked from the same body in recognisable poses, plus
models/MANIFEST.md. Running it twice gives byte-identical files (a test checks this).

Avatars face +Z (the glTF convention) in a T-pose, metres, with a white material: skin tone
is a per-patient tint (``gmi_vr.body.appearance.SKIN_TONES``).
"""

from __future__ import annotations

import argparse
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gmi_vr.body.skeleton import (
    FINGERS,
    JOINT_INDEX,
    JOINT_NAMES,
    PARENTS,
    BodyMeasures,
    rest_offsets,
    rest_positions,
)

ROOT = Path(__file__).resolve().parent.parent
FACING_PLUS_Z = np.diag([-1.0, 1.0, -1.0])  # body frame (faces -Z) -> glTF model frame (faces +Z)
RING_SIDES = 10
Z_AXIS = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class Build:
    name: str
    measures: BodyMeasures
    girth: float  # limb and torso thickness multiplier


BUILDS = (
    Build("avatar_slim", BodyMeasures(1.62, 0.375, 0.535, 0.300, 0.172), 0.85),
    Build("avatar_broad", BodyMeasures(1.82, 0.49, 0.61, 0.36, 0.195), 1.2),
)


class MeshBuilder:
    """Accumulates vertices (body frame), normals, 4 joint influences and triangles."""

    def __init__(self) -> None:
        self.positions: list[np.ndarray] = []
        self.normals: list[np.ndarray] = []
        self.joints: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        self.triangles: list[np.ndarray] = []
        self.count = 0

    def add(self, positions: np.ndarray, normals: np.ndarray, joints: np.ndarray,
            weights: np.ndarray, triangles: np.ndarray) -> None:
        self.positions.append(positions)
        self.normals.append(normals / np.linalg.norm(normals, axis=1, keepdims=True))
        self.joints.append(joints)
        self.weights.append(weights)
        self.triangles.append(triangles + self.count)
        self.count += len(positions)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (np.concatenate(self.positions), np.concatenate(self.normals),
                np.concatenate(self.joints), np.concatenate(self.weights),
                np.concatenate(self.triangles))  # fmt: skip


def _basis(direction: np.ndarray, hint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = direction / np.linalg.norm(direction)
    a = hint - d * (hint @ d)
    if np.linalg.norm(a) < 1e-6:
        a = np.array([0.0, 0.0, 1.0]) - d * d[2]
    a /= np.linalg.norm(a)
    return a, np.cross(d, a)


def tube(mesh: MeshBuilder, p0: np.ndarray, p1: np.ndarray, radii0: tuple[float, float],
         radii1: tuple[float, float], joint: int, parent: int, child: int,
         hint: np.ndarray = Z_AXIS, rings: int = 6, blend: bool = True) -> None:
    """A capped elliptical tube from p0 to p1; radii (along ``hint``, across it). Vertices near
    p0 share weight with ``parent`` and near p1 with ``child`` (-1: none) so joints bend smoothly."""
    direction = p1 - p0
    a, b = _basis(direction, hint)
    angles = np.linspace(0.0, 2 * math.pi, RING_SIDES, endpoint=False)
    positions, normals, joints, weights = [], [], [], []
    for k in range(rings + 1):
        t = k / rings
        ra = radii0[0] + t * (radii1[0] - radii0[0])
        rb = radii0[1] + t * (radii1[1] - radii0[1])
        centre = p0 + t * direction
        for angle in angles:
            c, s = math.cos(angle), math.sin(angle)
            positions.append(centre + ra * c * a + rb * s * b)
            normals.append(rb * c * a + ra * s * b)
            w_parent = 0.5 * max(0.0, 1.0 - t / 0.25) if (blend and parent >= 0) else 0.0
            w_child = 0.5 * max(0.0, (t - 0.75) / 0.25) if (blend and child >= 0) else 0.0
            joints.append([joint, max(parent, 0), max(child, 0), 0])
            weights.append([1.0 - w_parent - w_child, w_parent, w_child, 0.0])
    triangles = []
    for k in range(rings):
        for i in range(RING_SIDES):
            j = (i + 1) % RING_SIDES
            a0, a1 = k * RING_SIDES + i, k * RING_SIDES + j
            b0, b1 = a0 + RING_SIDES, a1 + RING_SIDES
            triangles += [[a0, a1, b0], [a1, b1, b0]]  # counter-clockwise seen from outside
    # Caps: a centre vertex at each end.
    for end, k, sign in ((p0, 0, -1.0), (p1, rings, 1.0)):
        centre_index = len(positions)
        positions.append(end + sign * 0.5 * min(radii0 if k == 0 else radii1) * direction / np.linalg.norm(direction))
        normals.append(sign * direction)
        joints.append(joints[k * RING_SIDES])
        weights.append(weights[k * RING_SIDES])
        for i in range(RING_SIDES):
            j = (i + 1) % RING_SIDES
            a0, a1 = k * RING_SIDES + i, k * RING_SIDES + j
            triangles.append([centre_index, a1, a0] if sign < 0 else [centre_index, a0, a1])
    mesh.add(np.array(positions), np.array(normals), np.array(joints), np.array(weights),
             np.array(triangles))  # fmt: skip


def loft(mesh: MeshBuilder, points: list[np.ndarray], radii: list[tuple[float, float]],
         joints: list[int], before: int, after: int, hint: np.ndarray = Z_AXIS,
         rings_per_segment: int = 4) -> None:
    """One continuous capped elliptical tube through ``points`` (a limb or the trunk): segment
    k runs points[k] -> points[k+1] and is bound to joints[k]. Rings near a joint are shared
    half and half with the neighbouring segment's joint (``before`` / ``after`` at the ends,
    -1: none), so the skin bends smoothly with no seam or gap at the joints."""
    directions = [(b - a) / np.linalg.norm(b - a) for a, b in zip(points[:-1], points[1:], strict=True)]
    angles = np.linspace(0.0, 2 * math.pi, RING_SIDES, endpoint=False)
    positions, normals, ring_joints, ring_weights = [], [], [], []
    segments = len(joints)
    for k in range(segments):
        last = k == segments - 1
        for r in range(rings_per_segment + (1 if last else 0)):
            t = r / rings_per_segment
            # At a joint the ring faces the mean of both segments' directions (no pinching).
            direction = directions[k] if (r > 0 or k == 0) else directions[k - 1] + directions[k]
            if last and r == rings_per_segment:
                direction = directions[k]
            a, b = _basis(direction, hint)
            ra = radii[k][0] + t * (radii[k + 1][0] - radii[k][0])
            rb = radii[k][1] + t * (radii[k + 1][1] - radii[k][1])
            centre = points[k] + t * (points[k + 1] - points[k])
            previous = joints[k - 1] if k > 0 else before
            following = joints[k + 1] if k + 1 < segments else after
            w_prev = 0.5 * max(0.0, 1.0 - t / 0.25) if previous >= 0 else 0.0
            w_next = 0.5 * max(0.0, (t - 0.75) / 0.25) if following >= 0 else 0.0
            for angle in angles:
                c, sn = math.cos(angle), math.sin(angle)
                positions.append(centre + ra * c * a + rb * sn * b)
                normals.append(rb * c * a + ra * sn * b)
                ring_joints.append([joints[k], max(previous, 0), max(following, 0), 0])
                ring_weights.append([1.0 - w_prev - w_next, w_prev, w_next, 0.0])
    rings = len(positions) // RING_SIDES
    triangles = []
    for k in range(rings - 1):
        for i in range(RING_SIDES):
            j = (i + 1) % RING_SIDES
            a0, a1 = k * RING_SIDES + i, k * RING_SIDES + j
            b0, b1 = a0 + RING_SIDES, a1 + RING_SIDES
            triangles += [[a0, a1, b0], [a1, b1, b0]]  # counter-clockwise seen from outside
    for ring, tip, outward in ((0, points[0], -directions[0]), (rings - 1, points[-1], directions[-1])):
        centre_index = len(positions)
        size = min(radii[0] if ring == 0 else radii[-1])
        positions.append(tip + 0.5 * size * outward)
        normals.append(outward)
        ring_joints.append(ring_joints[ring * RING_SIDES])
        ring_weights.append(ring_weights[ring * RING_SIDES])
        for i in range(RING_SIDES):
            j = (i + 1) % RING_SIDES
            a0, a1 = ring * RING_SIDES + i, ring * RING_SIDES + j
            triangles.append([centre_index, a1, a0] if ring == 0 else [centre_index, a0, a1])
    mesh.add(np.array(positions), np.array(normals), np.array(ring_joints), np.array(ring_weights),
             np.array(triangles))  # fmt: skip


def ellipsoid(mesh: MeshBuilder, centre: np.ndarray, radii: tuple[float, float, float],
              joint: int, stacks: int = 10, slices: int = 14) -> None:
    positions, normals, triangles = [], [], []
    r = np.array(radii)
    for i in range(stacks + 1):
        phi = math.pi * i / stacks
        for j in range(slices):
            theta = 2 * math.pi * j / slices
            unit = np.array([math.sin(phi) * math.cos(theta), math.cos(phi), math.sin(phi) * math.sin(theta)])
            positions.append(centre + r * unit)
            normals.append(unit / r)
    for i in range(stacks):
        for j in range(slices):
            k = (j + 1) % slices
            a0, a1 = i * slices + j, i * slices + k
            b0, b1 = a0 + slices, a1 + slices
            if i > 0:  # the top row's other triangle would collapse onto the pole
                triangles.append([a0, a1, b0])
            if i < stacks - 1:
                triangles.append([a1, b1, b0])
    n = len(positions)
    mesh.add(np.array(positions), np.array(normals), np.tile([joint, 0, 0, 0], (n, 1)),
             np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)), np.array(triangles))


def build_body(build: Build, prominent_nose: bool = False) -> tuple[MeshBuilder, np.ndarray]:
    """The avatar mesh in the body frame (T-pose facing -Z) and the joint rest positions."""
    m = build.measures
    g = build.girth
    offsets = rest_offsets(m)
    rest = rest_positions(offsets)
    mesh = MeshBuilder()
    i = JOINT_INDEX
    h = m.height_m
    z_hint = np.array([0.0, 0.0, 1.0])

    def p(name: str) -> np.ndarray:
        return rest[i[name]]

    # Trunk: one lofted tube, elliptical (wider than deep), from below the pelvis to the head.
    k = g * h / 1.7
    trunk = ["hips", "spine", "chest", "upperChest", "neck", "head"]
    trunk_points = [p("hips") - np.array([0.0, 0.05 * h, 0.0])] + [p(n) for n in trunk[1:]]
    trunk_radii = [(0.11 * k, 0.16 * k), (0.10 * k, 0.14 * k), (0.105 * k, 0.15 * k),
                   (0.10 * k, 0.165 * k), (0.05 * g, 0.055 * g), (0.05 * g, 0.05 * g)]  # fmt: skip
    loft(mesh, trunk_points, trunk_radii, [i[n] for n in trunk[:-1]], -1, i["head"], hint=z_hint)
    head_centre = p("head") + np.array([0.0, 0.10, -0.01]) * h / 1.7
    ellipsoid(mesh, head_centre, (0.08 * h / 1.7, 0.115 * h / 1.7, 0.095 * h / 1.7), i["head"])
    # Stimuli, seen from outside, get a nose: it is what shows a head's turn. Avatars do not:
    # the patient's eyes (either eye, 0.066 H above and 0.045 H in front of the head joint,
    # half an IPD to the side) sit inside the head, whose inside faces are culled, but a nose
    # lies outside it, in view, a few centimetres from the eyes.
    if prominent_nose:
        ellipsoid(mesh, head_centre + np.array([0.0, -0.01, -0.095]) * h / 1.7,
                  (0.015 * h / 1.7, 0.03 * h / 1.7, 0.02 * h / 1.7), i["head"], 6, 8)
    for side in ("left", "right"):
        sign = -1.0 if side == "left" else 1.0

        def q(bone: str, side: str = side) -> np.ndarray:
            return p(f"{side}{bone}")

        def j(bone: str, side: str = side) -> int:
            return i[f"{side}{bone}"]

        r_arm = 0.048 * g * h / 1.7
        loft(mesh, [q("Shoulder"), q("UpperArm"), q("LowerArm"), q("Hand")],
             [(0.055 * g, 0.05 * g), (r_arm, r_arm), (0.037 * g, 0.036 * g), (0.024 * g, 0.030 * g)],
             [j("Shoulder"), j("UpperArm"), j("LowerArm")], i["upperChest"], j("Hand"),
             hint=np.array([0.0, 1.0, 0.0]))  # fmt: skip
        _hand(mesh, build, rest, side, sign)
        # Legs and feet.
        loft(mesh, [q("UpperLeg") + np.array([0, 0.03, 0]), q("LowerLeg"), q("Foot")],
             [(0.085 * g, 0.08 * g), (0.053 * g, 0.053 * g), (0.034 * g, 0.032 * g)],
             [j("UpperLeg"), j("LowerLeg")], i["hips"], j("Foot"))
        _foot(mesh, build, rest, side, sign)
    return mesh, rest


def _hand(mesh: MeshBuilder, build: Build, rest: np.ndarray, side: str, sign: float) -> None:
    i = JOINT_INDEX
    hand = i[f"{side}Hand"]
    hl = build.measures.hand_length_m
    wrist = rest[hand]
    knuckles = rest[i[f"{side}MiddleProximal"]]
    # Palm: a flat tube, wide across the fingers (Z), thin palm-to-back (Y).
    tube(mesh, wrist, knuckles - np.array([sign * 0.01, 0, 0]), (0.018 * build.girth, 0.032),
         (0.016 * build.girth, 0.045 * hl / 0.18), hand, i[f"{side}LowerArm"], -1,
         hint=np.array([0.0, 1.0, 0.0]), rings=3)
    radius = {"Thumb": 0.0115, "Index": 0.0092, "Middle": 0.0095, "Ring": 0.009, "Little": 0.008}
    for finger in FINGERS:
        names = [n for n in JOINT_NAMES if n.startswith(f"{side}{finger}")]
        chain = [i[n] for n in names]
        segment_ends = [rest[c] for c in chain[1:]]
        last_dir = rest[chain[-1]] - rest[chain[-2]]
        tip = rest[chain[-1]] + last_dir / np.linalg.norm(last_dir) * 0.8 * np.linalg.norm(last_dir)
        segment_ends.append(tip)
        r = radius[finger] * hl / 0.18
        start = rest[chain[0]]
        if finger == "Thumb":
            start = start - (rest[chain[1]] - rest[chain[0]]) * 0.3
        for k, joint in enumerate(chain):
            child = chain[k + 1] if k + 1 < len(chain) else -1
            parent = hand if k == 0 else chain[k - 1]
            end = segment_ends[k]
            tube(mesh, start, end, (r, r), (r * 0.92, r * 0.92), joint, parent, child,
                 hint=np.array([0.0, 1.0, 0.0]), rings=3)
            start = end
        # A nail on the back (+Y) of the distal segment: palm and back are told apart by it.
        distal = chain[-1]
        base = rest[distal]
        direction = (tip - base) / np.linalg.norm(tip - base)
        nail_centre = base + direction * 0.6 * np.linalg.norm(tip - base) + np.array([0, r * 0.75, 0])
        ellipsoid(mesh, nail_centre, (0.45 * r * 1.6, 0.3 * r, 0.6 * r * 1.6), distal, 4, 8)


def _foot(mesh: MeshBuilder, build: Build, rest: np.ndarray, side: str, sign: float) -> None:
    i = JOINT_INDEX
    foot, toes = i[f"{side}Foot"], i[f"{side}Toes"]
    g = build.girth
    ankle, ball = rest[foot], rest[toes]
    heel = ankle + np.array([0.0, -0.03, 0.06])
    tube(mesh, heel, ball + np.array([0, 0.01, 0]), (0.035 * g, 0.032), (0.025 * g, 0.048),
         foot, i[f"{side}LowerLeg"], toes, hint=np.array([0.0, 1.0, 0.0]), rings=4)
    # Five toes fanned across the ball of the foot; the big toe on the inside (towards the
    # midline) and larger: that is what makes a left foot look left.
    for k in range(5):
        across = -sign * (0.034 - 0.017 * k)  # k = 0: big toe, medial side
        size = 0.015 if k == 0 else 0.0105 - 0.0007 * k
        length = 0.05 if k == 0 else 0.04 - 0.003 * k
        start = ball + np.array([across, -0.005, 0.0])
        end = start + np.array([0.0, -0.006, -length])
        tube(mesh, start, end, (size, size), (size * 0.85, size * 0.85), toes, foot, -1,
             hint=np.array([0.0, 1.0, 0.0]), rings=2)


# --- glTF binary writing (deterministic: sorted keys, fixed float formats) -----------------------


class GlbWriter:
    def __init__(self) -> None:
        self.binary = bytearray()
        self.buffer_views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, component: int, kind: str, target: int | None = None,
            minmax: bool = False, normalized: bool = False) -> int:
        while len(self.binary) % 4:
            self.binary.append(0)
        data = np.ascontiguousarray(array).tobytes()
        view = {"buffer": 0, "byteOffset": len(self.binary), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.binary += data
        self.buffer_views.append(view)
        accessor = {"bufferView": len(self.buffer_views) - 1, "componentType": component,
                    "count": int(array.shape[0]), "type": kind}  # fmt: skip
        if normalized:
            accessor["normalized"] = True
        if minmax:
            accessor["min"] = [float(v) for v in array.min(axis=0)]
            accessor["max"] = [float(v) for v in array.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def write(self, path: Path, document: dict) -> None:
        while len(self.binary) % 4:
            self.binary.append(0)
        document["buffers"] = [{"byteLength": len(self.binary)}]
        document["bufferViews"] = self.buffer_views
        document["accessors"] = self.accessors
        text = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        text += b" " * ((4 - len(text) % 4) % 4)
        total = 12 + 8 + len(text) + 8 + len(self.binary)
        out = struct.pack("<4sII", b"glTF", 2, total)
        out += struct.pack("<I4s", len(text), b"JSON") + text
        out += struct.pack("<I4s", len(self.binary), b"BIN\x00") + bytes(self.binary)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(out)


FLOAT, UBYTE, USHORT = 5126, 5121, 5123
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
ASSET = {"version": "2.0", "generator": "gmi-vr tools/make_models.py"}
MATERIAL = {"name": "skin", "pbrMetallicRoughness": {
    "baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.8}}


def write_avatar(build: Build, path: Path) -> None:
    mesh, rest = build_body(build)
    positions, normals, joints, weights, triangles = mesh.arrays()
    positions = positions @ FACING_PLUS_Z.T
    normals = normals @ FACING_PLUS_Z.T
    rest_model = rest @ FACING_PLUS_Z.T
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Sort influences by weight so the first is the largest (readers that keep fewer benefit).
    order = np.argsort(-weights, axis=1, kind="stable")
    joints = np.take_along_axis(joints, order, axis=1)
    weights = np.take_along_axis(weights, order, axis=1)
    joints[weights == 0.0] = 0
    w = GlbWriter()
    attributes = {
        "POSITION": w.add(positions.astype(np.float32), FLOAT, "VEC3", ARRAY_BUFFER, minmax=True),
        "NORMAL": w.add(normals.astype(np.float32), FLOAT, "VEC3", ARRAY_BUFFER),
        "JOINTS_0": w.add(joints.astype(np.uint8), UBYTE, "VEC4", ARRAY_BUFFER),
        "WEIGHTS_0": w.add(weights.astype(np.float32), FLOAT, "VEC4", ARRAY_BUFFER),
    }
    indices = w.add(triangles.reshape(-1).astype(np.uint16), USHORT, "SCALAR", ELEMENT_ARRAY_BUFFER)
    n = len(JOINT_NAMES)
    inverse_bind = np.zeros((n, 4, 4), dtype=np.float32)
    for k in range(n):
        m = np.eye(4)
        m[:3, 3] = -rest_model[k]
        inverse_bind[k] = m.T  # glTF stores matrices column-major
    ibm = w.add(inverse_bind.reshape(n, 16), FLOAT, "MAT4")
    joint_node = {name: k + 2 for k, name in enumerate(JOINT_NAMES)}  # 0 root, 1 mesh
    nodes: list[dict] = [
        {"name": build.name, "children": [1, joint_node["hips"]]},
        {"name": "body", "mesh": 0, "skin": 0},
    ]
    for k, name in enumerate(JOINT_NAMES):
        parent = PARENTS[k]
        local = rest_model[k] - (rest_model[parent] if parent >= 0 else 0.0)
        node: dict = {"name": name, "translation": [round(float(v), 6) for v in local]}
        children = [joint_node[JOINT_NAMES[c]] for c in np.nonzero(PARENTS == k)[0]]
        if children:
            node["children"] = children
        nodes.append(node)
    document = {
        "asset": ASSET,
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": nodes,
        "meshes": [{"name": "body", "primitives": [{"attributes": attributes, "indices": indices, "material": 0}]}],
        "materials": [MATERIAL],
        "skins": [{"joints": [joint_node[name] for name in JOINT_NAMES], "inverseBindMatrices": ibm,
                   "skeleton": joint_node["hips"]}],
        "extensionsUsed": ["VRMC_vrm"],
        "extensions": {"VRMC_vrm": {
            "specVersion": "1.0",
            "meta": {"name": build.name, "version": "1", "authors": ["gmi-vr"],
                     "licenseUrl": "https://www.apache.org/licenses/LICENSE-2.0",
                     "avatarPermission": "everyone", "commercialUsage": "corporation",
                     "allowRedistribution": True, "modification": "allowModification"},
            "humanoid": {"humanBones": {name: {"node": joint_node[name]} for name in JOINT_NAMES}},
        }},
    }  # fmt: skip
    w.write(path, document)


# --- static stimuli baked from a posed avatar -------------------------------------------------


def _rot(axis: tuple[float, float, float], degrees: float) -> np.ndarray:
    a = np.array(axis, dtype=np.float64)
    a /= np.linalg.norm(a)
    x, y, z = a
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    t = 1 - c
    return np.array([[c + x * x * t, x * y * t - z * s, x * z * t + y * s],
                     [y * x * t + z * s, c + y * y * t, y * z * t - x * s],
                     [z * x * t - y * s, z * y * t + x * s, c + z * z * t]])  # fmt: skip


def pose_skeleton(rest: np.ndarray, local_rotations: dict[str, np.ndarray]) -> np.ndarray:
    """(n, 4, 4) world_from_joint of the body posed by per-joint local rotations."""
    offsets = rest - np.where(PARENTS[:, None] >= 0, rest[np.maximum(PARENTS, 0)], 0.0)
    world = np.zeros((len(JOINT_NAMES), 4, 4))
    for k, name in enumerate(JOINT_NAMES):
        local = np.eye(4)
        local[:3, :3] = local_rotations.get(name, np.eye(3))
        local[:3, 3] = offsets[k]
        world[k] = local if PARENTS[k] < 0 else world[PARENTS[k]] @ local
    return world


def bake(mesh: MeshBuilder, rest: np.ndarray, world: np.ndarray, keep: set[str]) -> tuple[np.ndarray, ...]:
    """CPU-skin the mesh into ``world`` and keep triangles whose vertices all lean on ``keep``."""
    positions, normals, joints, weights, triangles = mesh.arrays()
    palette = world.copy()
    palette[:, :3, 3] -= np.einsum("nij,nj->ni", world[:, :3, :3], rest)
    skin = np.einsum("vk,vkij->vij", weights, palette[joints])
    out_p = np.einsum("vij,vj->vi", skin[:, :3, :3], positions) + skin[:, :3, 3]
    out_n = np.einsum("vij,vj->vi", skin[:, :3, :3], normals)
    out_n /= np.linalg.norm(out_n, axis=1, keepdims=True)
    keep_ids = np.array([JOINT_INDEX[n] for n in keep])
    main = joints[:, 0]
    kept_vertex = np.isin(main, keep_ids)
    tri = triangles[np.all(kept_vertex[triangles], axis=1)]
    used, remap = np.unique(tri, return_inverse=True)
    return out_p[used], out_n[used], remap.reshape(-1, 3)


def write_static(path: Path, positions: np.ndarray, normals: np.ndarray, triangles: np.ndarray,
                 frame_from_body: np.ndarray, color: tuple[float, float, float]) -> None:
    positions = positions @ frame_from_body.T
    positions -= (positions.max(axis=0) + positions.min(axis=0)) / 2
    normals = normals @ frame_from_body.T
    w = GlbWriter()
    attributes = {
        "POSITION": w.add(positions.astype(np.float32), FLOAT, "VEC3", ARRAY_BUFFER, minmax=True),
        "NORMAL": w.add(normals.astype(np.float32), FLOAT, "VEC3", ARRAY_BUFFER),
    }
    indices = w.add(triangles.reshape(-1).astype(np.uint16), USHORT, "SCALAR", ELEMENT_ARRAY_BUFFER)
    material = {"name": "skin", "pbrMetallicRoughness": {
        "baseColorFactor": [*color, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.8}}
    document = {
        "asset": ASSET, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"name": path.stem, "mesh": 0}],
        "meshes": [{"name": path.stem, "primitives": [{"attributes": attributes, "indices": indices, "material": 0}]}],
        "materials": [material],
    }  # fmt: skip
    w.write(path, document)


STIMULUS_TONE = (0.87, 0.70, 0.58)


def write_stimuli(out: Path) -> list[tuple[str, str]]:
    build = BUILDS[0]
    mesh, rest = build_body(build, prominent_nose=True)
    written = []
    hand_parts = lambda side: {n for n in JOINT_NAMES if n.startswith(side) and  # noqa: E731
                               (n.endswith("Hand") or any(f in n for f in FINGERS))}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        # A relaxed hand: fingers gently flexed, the thumb out. Stimulus frame: fingers up
        # (+Y), back of the hand towards the viewer (+Z), so the thumb points to the viewer's
        # right for a left hand and to the left for a right hand.
        curl = {}
        for finger in FINGERS:
            axis = (0.0, 0.0, -sign)
            angles = (10, 15, 10) if finger != "Thumb" else (5, 10, 10)
            for name, angle in zip([n for n in JOINT_NAMES if n.startswith(f"{side}{finger}")], angles, strict=True):
                curl[name] = _rot(axis, angle)
        # The thumb spread away from the fingers, in the palm's plane: an unmistakable outline.
        thumb = f"{side}ThumbMetacarpal"
        curl[thumb] = _rot((0.0, 1.0, 0.0), sign * 30) @ curl[thumb]
        world = pose_skeleton(rest, curl)
        p, n, t = bake(mesh, rest, world, hand_parts(side))
        # Body frame -> stimulus frame: the hand's finger axis (sign * X) to +Y, back (+Y) to +Z.
        # Columns: where body X (sign * X is along the fingers), Y (back) and Z go; det +1, so
        # a left hand stays a left hand.
        frame = np.array([[0.0, 0.0, sign], [sign, 0.0, 0.0], [0.0, 1.0, 0.0]])
        write_static(out / f"hand_{side}.glb", p, n, t, frame, STIMULUS_TONE)
        written.append((f"stimuli/hand_{side}.glb", f"{side} hand, back view, fingers up"))
        # Foot: seen from above, toes up (+Y), top of the foot towards the viewer (+Z).
        foot_parts = {f"{side}Foot", f"{side}Toes"}
        world = pose_skeleton(rest, {})
        p, n, t = bake(mesh, rest, world, foot_parts)
        frame = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
        write_static(out / f"foot_{side}.glb", p, n, t, frame, STIMULUS_TONE)
        written.append((f"stimuli/foot_{side}.glb", f"{side} foot, seen from above, toes up"))
        # Shoulder: upper body from behind with this arm raised sideways, elbow bent up.
        upper = {m for m in JOINT_NAMES if not any(k in m for k in ("Leg", "Foot", "Toes"))} - {"hips"}
        raise_arm = {f"{side}UpperArm": _rot((0, 0, 1), sign * 10), f"{side}LowerArm": _rot((0, 0, 1), sign * 90)}
        other = "right" if side == "left" else "left"
        raise_arm[f"{other}UpperArm"] = _rot((0, 0, 1), sign * 75)
        world = pose_skeleton(rest, raise_arm)
        p, n, t = bake(mesh, rest, world, upper)
        write_static(out / f"shoulder_{side}.glb", p, n, t, np.eye(3), STIMULUS_TONE)
        written.append((f"stimuli/shoulder_{side}.glb", f"upper body from behind, {side} arm raised"))
        # Neck: head and shoulders from the front, head turned 50° towards this side (the
        # nose shows which way), so a left turn points the nose to the viewer's right.
        head_parts = {"neck", "head", "upperChest", "leftShoulder", "rightShoulder", "chest"}
        world = pose_skeleton(rest, {"neck": _rot((0, 1, 0), -sign * 20), "head": _rot((0, 1, 0), -sign * 30)})
        p, n, t = bake(mesh, rest, world, head_parts)
        write_static(out / f"neck_{side}.glb", p, n, t, np.diag([-1.0, 1.0, -1.0]), STIMULUS_TONE)
        written.append((f"stimuli/neck_{side}.glb", f"head and shoulders from the front, head turned to the {side}"))
    return written


MANIFEST_HEAD = """# models/ — origin and licence of every file

Every file here is generated by `tools/make_models.py` (procedural geometry from the
skeleton in `gmi_vr/body/skeleton.py`; nothing downloaded, nothing scanned). Regenerate with
`python tools/make_models.py`; the output is byte-identical run to run (tested).
Licence: Apache-2.0, the project's licence.

Avatars: glTF 2.0 binary, skinned (JOINTS_0/WEIGHTS_0, inverse bind matrices), VRM humanoid
bone names on the joint nodes plus a `VRMC_vrm` humanoid map, T-pose facing +Z, metres,
white material (skin tone is a per-patient tint, `gmi_vr.body.appearance.SKIN_TONES`).
Stimuli: static glTF 2.0 binary meshes for left/right judgement, centred on the origin, to
be seen by a viewer on +Z looking along -Z: hands show their back with the fingers up (+Y),
feet their top with the toes up, shoulder poses the body from behind, neck poses from the
front (the nose shows the turn).

| file | what | generated by | licence |
| --- | --- | --- | --- |
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    rows = []
    for build in BUILDS:
        write_avatar(build, args.out / "avatars" / f"{build.name}.glb")
        m = build.measures
        rows.append((f"avatars/{build.name}.glb",
                     f"skinned humanoid, {m.height_m:.2f} m, shoulders {m.shoulder_width_m:.2f} m"))
    rows += write_stimuli(args.out / "stimuli")
    lines = [MANIFEST_HEAD] + [f"| `{f}` | {w} | tools/make_models.py | Apache-2.0 |\n" for f, w in rows]
    (args.out / "MANIFEST.md").write_text("".join(lines))
    for f, _ in rows:
        print(f"wrote models/{f} ({(args.out / f).stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
