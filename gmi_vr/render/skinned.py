"""Skinned avatars on the GPU: one vertex array per avatar, its bone palette in a float
texture updated once per frame, drawn by ``shaders/skinned.vert`` + ``skinned.frag``.

A texture (4 RGBA32F texels per joint) rather than a uniform array, so avatars with many
joints (VRM files with hair and clothing bones) fit without hitting uniform limits.
Lifetimes are explicit: ``release()`` frees the GL objects; everything must run on the
thread that owns the GL context.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from OpenGL import GL
from OpenGL.raw.GL.VERSION.GL_1_1 import glDrawElements as raw_draw_elements
from OpenGL.raw.GL.VERSION.GL_3_1 import glDrawElementsInstanced as raw_draw_elements_instanced

from gmi_vr.assets.gltf_skin import SkinnedMeshData
from gmi_vr.core.types import FloatArray
from gmi_vr.render.shader import ShaderProgram
from gmi_vr.render.view_block import VIEW_BINDING, view_block
from gmi_vr.scene.draw import SkinnedItem

#: Vertex layout shared with shaders/skinned.vert.
POSITION_LOCATION, NORMAL_LOCATION, JOINTS_LOCATION, WEIGHTS_LOCATION = 0, 1, 2, 3
#: Texture unit the palette is bound to while drawing.
PALETTE_UNIT = 1

class SkinnedProgram:
    """The skinning program (shaders/skinned.vert + skinned.frag).

    It reads the camera from the ``View`` uniform block at ``VIEW_BINDING``. The renderer
    fills that block once per view for all its programs and calls ``bind``;
    ``use`` is for drawing alone: it writes a block of its own and sets the light.
    ``vertex_preamble``: see ``render.stereo.shader_preamble`` (one view by default)."""

    def __init__(self, vertex_preamble: str = "#define VIEW 0\n",
                 light: dict[str, tuple[float, float, float]] | None = None) -> None:
        self._shader = ShaderProgram("skinned.vert", "skinned.frag", vertex_preamble)
        program = self._shader.program
        GL.glUniformBlockBinding(program, GL.glGetUniformBlockIndex(program, "View"), VIEW_BINDING)
        self._color_location = self._shader.location("u_color")
        self._ghost_location = self._shader.location("u_ghost")
        self._material: tuple[tuple[float, float, float, float], bool] | None = None
        self._own_view_ubo = 0
        self._shader.use()
        self._shader.set_int("u_palette", PALETTE_UNIT)
        for name, value in (light or {}).items():
            self._shader.set_vec3(name, value)
        GL.glUseProgram(0)

    def bind(self) -> None:
        """Use the program; the View block is the caller's."""
        self._shader.use()

    def use(self, clip_from_world: FloatArray, eye_position: FloatArray, encode_srgb: bool,
            light: dict[str, tuple[float, float, float]]) -> None:
        """Use the program with a View block of its own holding this camera, and ``light``."""
        if not self._own_view_ubo:
            self._own_view_ubo = int(GL.glGenBuffers(1))
        view = view_block((clip_from_world,), (eye_position,), encode_srgb)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._own_view_ubo)
        GL.glBufferData(GL.GL_UNIFORM_BUFFER, view.nbytes, view, GL.GL_DYNAMIC_DRAW)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
        GL.glBindBufferBase(GL.GL_UNIFORM_BUFFER, VIEW_BINDING, self._own_view_ubo)
        self._shader.use()
        for name, value in light.items():
            self._shader.set_vec3(name, value)

    def set_material(self, color_linear: tuple[float, float, float, float], ghost: bool) -> None:
        """The avatar's colour and look; sent only when they differ from the last ones (the
        same avatar in both eyes, frame after frame, costs no call)."""
        if self._material == (color_linear, ghost):
            return
        self._material = (color_linear, ghost)
        GL.glUniform4f(self._color_location, *color_linear)
        GL.glUniform1i(self._ghost_location, int(ghost))

    def release(self) -> None:
        self._shader.release()
        if self._own_view_ubo:
            GL.glDeleteBuffers(1, [self._own_view_ubo])
            self._own_view_ubo = 0


class GpuSkinnedMesh:
    """One avatar's vertices in GL buffers plus its palette texture (n_joints x 4 texels)."""

    def __init__(self, mesh: SkinnedMeshData) -> None:
        vertex_count = len(mesh.positions)
        floats = np.ascontiguousarray(
            np.hstack([mesh.positions, mesh.normals, mesh.weights]).astype(np.float32)
        )  # 10 floats per vertex
        joints = np.ascontiguousarray(mesh.joints.astype(np.uint16))
        indices = np.ascontiguousarray(mesh.indices.reshape(-1).astype(np.uint32))
        self.joint_count = len(mesh.joint_names)
        self.index_count = int(indices.size)
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo, self.joint_vbo, self.ibo = (int(b) for b in GL.glGenBuffers(3))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, floats.nbytes, floats, GL.GL_STATIC_DRAW)
        stride = 10 * 4
        for location, size, offset in ((POSITION_LOCATION, 3, 0), (NORMAL_LOCATION, 3, 12), (WEIGHTS_LOCATION, 4, 24)):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(location, size, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(offset))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.joint_vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, joints.nbytes, joints, GL.GL_STATIC_DRAW)
        GL.glEnableVertexAttribArray(JOINTS_LOCATION)
        GL.glVertexAttribIPointer(JOINTS_LOCATION, 4, GL.GL_UNSIGNED_SHORT, 8, ctypes.c_void_p(0))
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self.ibo)
        GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, indices.nbytes, indices, GL.GL_STATIC_DRAW)
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        self.palette_texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.palette_texture)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        identity = np.tile(np.eye(4, dtype=np.float32), (self.joint_count, 1, 1))
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA32F, 4, self.joint_count, 0, GL.GL_RGBA, GL.GL_FLOAT, identity)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self._uploaded: FloatArray | None = None
        self.uploads = 0  # palette uploads so far (one per frame is the budget)
        del vertex_count

    def upload_palette(self, palette: FloatArray) -> None:
        """(n_joints, 4, 4) world_from_bind matrices (column-vector). Row r of joint j lands in
        texel (r, j), so the rows are uploaded as they are. Handing the very array uploaded
        last time again (the second eye of the same frame) uploads nothing: one upload per
        frame however many views draw it."""
        if palette is self._uploaded:
            return
        data = np.ascontiguousarray(palette, dtype=np.float32)
        if data.shape != (self.joint_count, 4, 4):
            raise ValueError(f"palette shape {data.shape}, expected ({self.joint_count}, 4, 4)")
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.palette_texture)
        GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, 4, self.joint_count, GL.GL_RGBA, GL.GL_FLOAT, data)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self._uploaded = palette
        self.uploads += 1

    def draw(self, instances: int = 1) -> None:
        """Draw with ``SkinnedProgram`` in use (binds the palette to ``PALETTE_UNIT``);
        ``instances`` 2 draws both eyes of a layered one-pass program."""
        GL.glActiveTexture(GL.GL_TEXTURE0 + PALETTE_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.palette_texture)
        GL.glBindVertexArray(self.vao)
        if instances == 1:
            raw_draw_elements(GL.GL_TRIANGLES, self.index_count, GL.GL_UNSIGNED_INT, None)
        else:
            raw_draw_elements_instanced(GL.GL_TRIANGLES, self.index_count, GL.GL_UNSIGNED_INT, None, instances)
        GL.glBindVertexArray(0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def release(self) -> None:
        if self.vao:
            GL.glDeleteVertexArrays(1, [self.vao])
            GL.glDeleteBuffers(3, [self.vbo, self.joint_vbo, self.ibo])
            GL.glDeleteTextures(1, [self.palette_texture])
            self.vao = self.vbo = self.joint_vbo = self.ibo = self.palette_texture = 0


@functools.lru_cache(maxsize=64)  # a few tints, every frame
def _srgb_to_linear(color: tuple[float, ...]) -> tuple[float, float, float, float]:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (channel(color[0]), channel(color[1]), channel(color[2]), float(color[3]))


class SkinnedRenderer:
    """Draws a DrawList's ``SkinnedItem``s: loads each avatar on first use (``resolve`` maps
    an avatar name such as "avatars/avatar_slim" to its file), uploads its palette once per
    frame and draws it with the room's light. Opaque avatars write depth; ghosts blend over
    what is there without writing depth. ``programs`` are the skinning programs by view
    layout (``render.stereo``: None for one view, "multiview", "layered"), built when first
    drawn with; ``light`` is set in each once."""

    def __init__(self, resolve: Callable[[str], Path], light: dict[str, tuple[float, float, float]] | None = None,
                 preambles: dict[str | None, str] | None = None) -> None:
        self._resolve = resolve
        self._light = light
        self._preambles = preambles or {None: "#define VIEW 0\n"}
        self._programs: dict[str | None, SkinnedProgram] = {}
        self._avatars: dict[str, tuple[GpuSkinnedMesh, tuple[float, float, float, float]]] = {}

    def avatar(self, name: str) -> GpuSkinnedMesh:
        """The GPU mesh for an avatar name (NotFoundError / InputFileError from loading)."""
        if name not in self._avatars:
            from gmi_vr.assets.gltf_skin import load_skinned_gltf

            mesh = load_skinned_gltf(self._resolve(name))
            self._avatars[name] = (GpuSkinnedMesh(mesh), mesh.base_color)
        return self._avatars[name][0]

    def program(self, layout: str | None = None) -> SkinnedProgram:
        """The skinning program for a view layout (built on first use)."""
        program = self._programs.get(layout)
        if program is None:
            program = self._programs[layout] = SkinnedProgram(self._preambles[layout], self._light)
        return program

    def draw(self, items: Sequence[SkinnedItem], clip_from_world: FloatArray, eye_position: FloatArray,
             encode_srgb: bool, light: dict[str, tuple[float, float, float]]) -> None:
        """Draw ``items`` alone into the bound framebuffer, seen by one camera (depth test on,
        back faces culled): the program gets a View block of its own."""
        if items:
            self.program().use(clip_from_world, eye_position, encode_srgb, light)
            self.draw_bound(items)

    def draw_with_view(self, items: Sequence[SkinnedItem], layout: str | None = None, instances: int = 1) -> None:
        """Draw ``items`` with the View block the caller bound (``Renderer.draw``)."""
        if items:
            self.program(layout).bind()
            self.draw_bound(items, layout, instances)

    def draw_bound(self, items: Sequence[SkinnedItem], layout: str | None = None, instances: int = 1) -> None:
        program = self.program(layout)
        GL.glFrontFace(GL.GL_CCW)
        for ghosts in (False, True):
            batch = [item for item in items if item.ghost is ghosts]
            if not batch:
                continue
            if ghosts:
                GL.glEnable(GL.GL_BLEND)
                GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
                GL.glDepthMask(GL.GL_FALSE)
            for item in batch:
                gpu = self.avatar(item.avatar)
                base = self._avatars[item.avatar][1]
                tint = _srgb_to_linear(item.tint)
                color = (base[0] * tint[0], base[1] * tint[1], base[2] * tint[2], base[3] * tint[3])
                program.set_material(color, ghosts)
                gpu.upload_palette(item.palette)
                gpu.draw(instances)
            if ghosts:
                GL.glDepthMask(GL.GL_TRUE)
                GL.glDisable(GL.GL_BLEND)
        GL.glUseProgram(0)

    def release(self) -> None:
        for gpu, _ in self._avatars.values():
            gpu.release()
        self._avatars.clear()
        for program in self._programs.values():
            program.release()
        self._programs.clear()
