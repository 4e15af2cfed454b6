"""Triangle meshes uploaded to GL: one vertex array object per mesh."""

from __future__ import annotations

import ctypes

import numpy as np
from numpy.typing import NDArray
from OpenGL import GL
from OpenGL.raw.GL.VERSION.GL_1_1 import glDrawElements as raw_draw_elements
from OpenGL.raw.GL.VERSION.GL_3_1 import glDrawElementsInstanced as raw_draw_elements_instanced

from gmi_vr.assets.meshes import MeshData

#: Vertex layout shared with shaders/mesh.vert: location 0 position, 1 normal (vec3 each),
#: 2 colour (vec4, linear RGB + alpha; only merged groups carry it, other meshes read the
#: constant the renderer sets with glVertexAttrib4f).
POSITION_LOCATION = 0
NORMAL_LOCATION = 1
COLOR_LOCATION = 2


class GpuMesh:
    """A MeshData in GL buffers: interleaved position+normal(+colour) float32 and uint32
    indices. ``data`` keeps the mesh as loaded (groups merge from it)."""

    def __init__(self, mesh: MeshData, colors: NDArray[np.float32] | None = None) -> None:
        self.data = mesh
        columns = [mesh.positions, mesh.normals] + ([colors] if colors is not None else [])
        interleaved = np.ascontiguousarray(np.hstack(columns), np.float32)
        indices = np.ascontiguousarray(mesh.indices.reshape(-1), np.uint32)
        self.index_count = int(indices.size)
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo, self.ibo = (int(b) for b in GL.glGenBuffers(2))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, interleaved.nbytes, interleaved, GL.GL_STATIC_DRAW)
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self.ibo)
        GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, indices.nbytes, indices, GL.GL_STATIC_DRAW)
        stride = interleaved.shape[1] * 4
        GL.glEnableVertexAttribArray(POSITION_LOCATION)
        GL.glVertexAttribPointer(POSITION_LOCATION, 3, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(0))
        GL.glEnableVertexAttribArray(NORMAL_LOCATION)
        GL.glVertexAttribPointer(NORMAL_LOCATION, 3, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(12))
        if colors is not None:
            GL.glEnableVertexAttribArray(COLOR_LOCATION)
            GL.glVertexAttribPointer(COLOR_LOCATION, 4, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(24))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def draw(self) -> None:
        GL.glBindVertexArray(self.vao)
        self.draw_bound()

    def draw_bound(self, instances: int = 1) -> None:
        """Draw with this mesh's vertex array already bound; ``instances`` 2 draws both eyes
        of a layered one-pass program (``render.stereo``)."""
        # The raw entry points: the indices live in the bound buffer, so PyOpenGL's array
        # handling (a third of a draw's CPU time) has nothing to do.
        if instances == 1:
            raw_draw_elements(GL.GL_TRIANGLES, self.index_count, GL.GL_UNSIGNED_INT, None)
        else:
            raw_draw_elements_instanced(GL.GL_TRIANGLES, self.index_count, GL.GL_UNSIGNED_INT, None, instances)

    def release(self) -> None:
        if self.vao:
            GL.glDeleteVertexArrays(1, [self.vao])
            GL.glDeleteBuffers(2, [self.vbo, self.ibo])
            self.vao = self.vbo = self.ibo = 0


def merge_parts(parts: list[tuple[MeshData, NDArray[np.float64], tuple[float, float, float, float]]]) -> tuple[MeshData, NDArray[np.float32]]:
    """One mesh from ``(mesh, group_from_part (4, 4), linear RGBA)`` parts: positions and
    normals carried into the group's frame (normals by the cofactor of the upper 3x3, as
    mesh.vert does, so lighting matches drawing each part alone), a mirroring part's
    triangles turned to keep their winding, and an (n, 4) float32 colour per vertex."""
    positions, normals, colors, indices = [], [], [], []
    offset = 0
    for mesh, group_from_part, color in parts:
        linear = group_from_part[:3, :3]
        cofactor = np.stack([np.cross(linear[1], linear[2]), np.cross(linear[2], linear[0]),
                             np.cross(linear[0], linear[1])])  # fmt: skip
        determinant = float(linear[0] @ cofactor[0])
        if determinant < 0:
            cofactor = -cofactor
        positions.append(mesh.positions.astype(np.float64) @ linear.T + group_from_part[:3, 3])
        normals.append(mesh.normals.astype(np.float64) @ cofactor.T)
        colors.append(np.tile(np.asarray(color, np.float32), (len(mesh.positions), 1)))
        triangles = mesh.indices.reshape(-1, 3).astype(np.int64) + offset
        indices.append(triangles[:, ::-1] if determinant < 0 else triangles)
        offset += len(mesh.positions)
    merged = MeshData(
        np.concatenate(positions).astype(np.float32),
        np.concatenate(normals).astype(np.float32),
        np.concatenate(indices).astype(np.uint32),
    )
    return merged, np.concatenate(colors)
