"""Triangle meshes uploaded to GL: one vertex array object per mesh."""

from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL
from OpenGL.raw.GL.VERSION.GL_1_1 import glDrawElements as raw_draw_elements

from gmi_vr.assets.meshes import MeshData

#: Vertex layout shared with shaders/mesh.vert: location 0 position, 1 normal (vec3 each).
POSITION_LOCATION = 0
NORMAL_LOCATION = 1


class GpuMesh:
    """A MeshData in GL buffers: interleaved position+normal float32 and uint32 indices."""

    def __init__(self, mesh: MeshData) -> None:
        interleaved = np.ascontiguousarray(np.hstack([mesh.positions, mesh.normals]), np.float32)
        indices = np.ascontiguousarray(mesh.indices.reshape(-1), np.uint32)
        self.index_count = int(indices.size)
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo, self.ibo = (int(b) for b in GL.glGenBuffers(2))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, interleaved.nbytes, interleaved, GL.GL_STATIC_DRAW)
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self.ibo)
        GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, indices.nbytes, indices, GL.GL_STATIC_DRAW)
        stride = 6 * 4
        GL.glEnableVertexAttribArray(POSITION_LOCATION)
        GL.glVertexAttribPointer(POSITION_LOCATION, 3, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(0))
        GL.glEnableVertexAttribArray(NORMAL_LOCATION)
        GL.glVertexAttribPointer(NORMAL_LOCATION, 3, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(12))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def draw(self) -> None:
        GL.glBindVertexArray(self.vao)
        # The raw entry point: the indices live in the bound buffer, so PyOpenGL's array
        # handling (a third of a draw's CPU time) has nothing to do.
        raw_draw_elements(GL.GL_TRIANGLES, self.index_count, GL.GL_UNSIGNED_INT, None)

    def release(self) -> None:
        if self.vao:
            GL.glDeleteVertexArrays(1, [self.vao])
            GL.glDeleteBuffers(2, [self.vbo, self.ibo])
            self.vao = self.vbo = self.ibo = 0
