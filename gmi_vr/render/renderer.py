"""The renderer: draws a DrawList from one camera into one framebuffer.

``Renderer.draw(draw_list, camera, framebuffer, width, height)`` is the one call every
output uses: the OpenXR layer per eye into its swapchain image's framebuffer, the
therapist window per pane into an offscreen target, the demo into a PNG.

Colours in a DrawList are sRGB (as picked in a colour chooser); lighting and blending run on
linear values. When the target framebuffer stores sRGB (GL_SRGB8_ALPHA8 swapchain images;
``RenderTarget``) GL_FRAMEBUFFER_SRGB makes GL encode them. A plain UNORM target (RGBA8)
means one of two things: a window or a PNG shows its bytes as they are, so by default the
shaders encode sRGB themselves; an OpenXR runtime instead reads UNORM swapchain images as
linear light and encodes them itself, so XR views pass ``unorm_holds_linear=True`` (e.g.
``functools.partial(renderer.draw, unorm_holds_linear=True)`` as the view renderer).

Order within a frame: clear, opaque meshes (depth tested and written, back faces culled),
then skinned avatars (opaque ones, then translucent ghosts; ``render/skinned.py``), then
translucent meshes and texts together from far to near (depth tested, not written,
blended), then the full-screen fade.

What a view costs the CPU (Python and PyOpenGL calls, at 90 Hz twice per frame): the
camera goes into a uniform buffer once per view (block ``View``); every mesh item's
transform, normal matrix and colour go into another once per draw list, shared by both
eyes (block ``Objects``), so drawing an item is an index uniform, its winding and one
draw call; merged groups (``MeshItem.parts``, the room) are one draw for many items, built
the first time a group is seen.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from OpenGL import GL

from gmi_vr.assets.meshes import PRIMITIVE_NAMES, load_mesh
from gmi_vr.assets.paths import model_path
from gmi_vr.core.types import FloatArray
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.geometry.camera import Camera
from gmi_vr.render.mesh_buffer import COLOR_LOCATION, GpuMesh, merge_parts
from gmi_vr.render.shader import ShaderProgram
from gmi_vr.render.skinned import SkinnedRenderer
from gmi_vr.render.text import GlyphAtlas, GpuText
from gmi_vr.scene.draw import RGBA, DrawList, MeshItem, TextItem

# The room's light, linear RGB. A bright, slightly warm sky over a darker warm floor bounce
# and one soft "window" light from above, front left: calm, no harsh contrast.
SKY_COLOR = (0.66, 0.67, 0.70)
GROUND_COLOR = (0.36, 0.33, 0.30)
LIGHT_COLOR = (0.52, 0.49, 0.44)
LIGHT_DIRECTION = tuple(np.array((-0.35, 0.85, 0.40)) / np.linalg.norm((-0.35, 0.85, 0.40)))
#: The same light as uniforms, for the skinned avatar's program.
ROOM_LIGHT = {"u_light_direction": LIGHT_DIRECTION, "u_light_color": LIGHT_COLOR,
              "u_sky_color": SKY_COLOR, "u_ground_color": GROUND_COLOR}

#: Strings kept as GPU meshes between frames (a text changes rarely; evict the oldest).
TEXT_CACHE_SIZE = 256
#: Merged groups kept between frames (a session shows one room; evict the oldest).
GROUP_CACHE_SIZE = 16
#: Uniform block binding points and layouts (std140), shared with shaders/mesh.vert.
VIEW_BINDING, OBJECTS_BINDING = 0, 1
VIEW_BLOCK_BYTES = 96  # mat4 clip_from_world, vec4 eye_position, int encode_srgb (padded)
OBJECT_FLOATS = 32  # mat4 world_from_mesh, mat3 as 3 padded columns, vec4 colour
#: Objects visible to one draw: shaders/mesh.vert's MAX_OBJECTS; 128 x 128 bytes is the
#: 16 KiB every OpenGL 4.1 driver allows a uniform block. Longer lists bind 16 KiB windows.
MAX_OBJECTS = 128
OBJECT_WINDOW_BYTES = MAX_OBJECTS * OBJECT_FLOATS * 4


@functools.lru_cache(maxsize=1024)  # a scene uses few distinct colours, every frame
def srgb_to_linear(color: RGBA) -> tuple[float, float, float, float]:
    """An sRGB colour with straight alpha to linear RGB (alpha unchanged)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (channel(color[0]), channel(color[1]), channel(color[2]), float(color[3]))


def normal_matrix(world_from_mesh: FloatArray) -> tuple[FloatArray, float]:
    """The 3x3 that carries normals into the world (the inverse transpose of the upper 3x3,
    up to a positive scale, which the shader's normalize removes) and that 3x3's determinant
    (negative for a mirroring transform). Written out by hand because numpy's inv and det
    on a 3x3 cost several times as much, for every item of every view."""
    (a, b, c), (d, e, f), (g, h, i) = world_from_mesh[:3, :3].tolist()
    cofactor = np.array([
        [e * i - f * h, f * g - d * i, d * h - e * g],
        [c * h - b * i, a * i - c * g, b * g - a * h],
        [b * f - c * e, c * d - a * f, a * e - b * d],
    ])
    determinant = a * cofactor[0, 0] + b * cofactor[0, 1] + c * cofactor[0, 2]
    return (cofactor if determinant >= 0 else -cofactor), determinant


def _view_depth(world_from_item: FloatArray, eye_from_world: FloatArray) -> float:
    """Distance in front of the eye (metres along its -Z) of an item's origin."""
    return float(-(eye_from_world[2, :3] @ world_from_item[:3, 3] + eye_from_world[2, 3]))


def object_block(world_from_mesh: FloatArray, colors_linear: FloatArray) -> tuple[NDArray[np.float32], FloatArray]:
    """The ``Objects`` block's data for n items and each item's determinant.

    ``world_from_mesh`` (n, 4, 4) column-vector matrices, ``colors_linear`` (n, 4). Returns
    (n, OBJECT_FLOATS) float32 in std140 order (matrices column by column: the transpose of
    numpy's rows) and (n,) determinants of the upper 3x3 (negative: a mirroring transform).
    The normal matrix is the cofactor of the upper 3x3 (the inverse transpose up to the
    determinant's magnitude, which the shaders' normalize removes), negated when mirroring.
    """
    n = len(world_from_mesh)
    rows = world_from_mesh[:, :3, :3]
    cofactor = np.stack([np.cross(rows[:, 1], rows[:, 2]), np.cross(rows[:, 2], rows[:, 0]),
                         np.cross(rows[:, 0], rows[:, 1])], axis=1)  # fmt: skip
    determinant = np.einsum("ij,ij->i", rows[:, 0], cofactor[:, 0])
    cofactor[determinant < 0] *= -1.0
    block = np.zeros((n, OBJECT_FLOATS), np.float32)
    block[:, :16] = world_from_mesh.transpose(0, 2, 1).reshape(n, 16)
    block[:, 16:28] = np.pad(cofactor.transpose(0, 2, 1), ((0, 0), (0, 0), (0, 1))).reshape(n, 12)
    block[:, 28:32] = colors_linear
    return block, determinant


class Renderer:
    """Draws DrawLists with the OpenGL 4.1 core context that is current at creation.

    Every call must happen with that same context current, on the thread that owns GL: its
    vertex array objects cannot be shared with another context, so the eyes and the
    therapist window draw with one context (the therapist window's, which the OpenXR
    session binds). ``models_root`` replaces ``models/`` for named meshes.
    """

    def __init__(self, models_root: Path | None = None) -> None:
        self._models_root = models_root
        self._lit = ShaderProgram("mesh.vert", "lit.frag")
        self._unlit = ShaderProgram("mesh.vert", "unlit.frag")
        self._text = ShaderProgram("text.vert", "text.frag")
        self._fade = ShaderProgram("fade.vert", "fade.frag")
        self._meshes: dict[str, GpuMesh] = {name: GpuMesh(load_mesh(name)) for name in PRIMITIVE_NAMES}
        self._skinned = SkinnedRenderer(functools.partial(model_path, root=models_root))
        self._texts: dict[tuple[str, bool], GpuText] = {}
        self._atlas = GlyphAtlas()
        self._empty_vao = int(GL.glGenVertexArrays(1))  # the fade triangle needs no attributes
        self._groups: dict[int, tuple[tuple[MeshItem, ...], GpuMesh]] = {}
        self._view_ubo, self._objects_ubo = (int(b) for b in GL.glGenBuffers(2))
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._view_ubo)
        GL.glBufferData(GL.GL_UNIFORM_BUFFER, VIEW_BLOCK_BYTES, None, GL.GL_DYNAMIC_DRAW)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
        self._objects_capacity = 0
        #: The mesh list whose Objects block is in the buffer (kept, so identity is safe).
        self._objects_for: tuple[MeshItem, ...] | None = None
        self._determinants: FloatArray = np.zeros(0)
        for program in (self._lit, self._unlit):
            GL.glUniformBlockBinding(program.program, GL.glGetUniformBlockIndex(program.program, "View"), VIEW_BINDING)
            GL.glUniformBlockBinding(program.program, GL.glGetUniformBlockIndex(program.program, "Objects"),
                                     OBJECTS_BINDING)  # fmt: skip
        self._object_locations = {id(p): p.location("u_object") for p in (self._lit, self._unlit)}
        self._lit.use()
        self._lit.set_vec3("u_light_direction", LIGHT_DIRECTION)
        self._lit.set_vec3("u_light_color", LIGHT_COLOR)
        self._lit.set_vec3("u_sky_color", SKY_COLOR)
        self._lit.set_vec3("u_ground_color", GROUND_COLOR)
        self._text.use()
        self._text.set_int("u_atlas", 0)
        GL.glUseProgram(0)

    # -- resources ---------------------------------------------------------------------

    def mesh(self, name: str) -> GpuMesh:
        """The GPU mesh for a MeshItem name, loading ``models/<name>`` on first use
        (NotFoundError / InputFileError when it is missing or unreadable)."""
        gpu = self._meshes.get(name)
        if gpu is None:
            gpu = self._meshes[name] = GpuMesh(load_mesh(name, self._models_root))
        return gpu

    def preload(self, names: Iterable[str]) -> None:
        """Load and upload these models now, so that a frame never waits for a file (the
        first laterality picture would otherwise stall the headset while its model loads)."""
        for name in names:
            self.mesh(name)

    def _group_mesh(self, item: MeshItem) -> GpuMesh:
        """The merged GPU mesh of a group, built the first time its ``parts`` tuple is seen
        (kept by identity: the same tuple every frame costs nothing after the first)."""
        key = id(item.parts)
        cached = self._groups.pop(key, None)
        if cached is None or cached[0] is not item.parts:
            if cached is not None:
                cached[1].release()
            parts = []
            for part in item.parts:
                if part.parts:
                    raise ValueError("a group's parts cannot be groups themselves")
                world = np.asarray(part.world_from_mesh, dtype=np.float64)
                parts.append((self.mesh(part.mesh).data, world, srgb_to_linear(part.color)))
            merged, colors = merge_parts(parts)
            cached = (item.parts, GpuMesh(merged, colors))
            if len(self._groups) >= GROUP_CACHE_SIZE:
                self._groups.pop(next(iter(self._groups)))[1].release()
        self._groups[key] = cached  # re-inserted: most recently used last
        return cached[1]

    def _gpu_mesh(self, item: MeshItem) -> GpuMesh:
        return self._group_mesh(item) if item.parts else self.mesh(item.mesh)

    def _text_mesh(self, text: str, align_left: bool = False) -> GpuText:
        """The string laid out one metre per line (scaled by height_m when drawn)."""
        key = (text, align_left)
        gpu = self._texts.pop(key, None)
        if gpu is None:
            gpu = GpuText(self._atlas.layout(text, 1.0, align_left))
            if len(self._texts) >= TEXT_CACHE_SIZE:
                oldest = next(iter(self._texts))
                self._texts.pop(oldest).release()
        self._texts[key] = gpu  # re-inserted: most recently used last
        return gpu

    # -- drawing -----------------------------------------------------------------------

    def draw(self, draw_list: DrawList, camera: Camera, framebuffer: int, width: int, height: int,
             *, unorm_holds_linear: bool = False) -> None:
        """Draw ``draw_list`` seen from ``camera`` into all of ``framebuffer`` (width x height
        pixels; it needs a depth attachment). Leaves the framebuffer bound to 0.

        ``unorm_holds_linear``: a non-sRGB target receives linear values (OpenXR UNORM
        swapchains, which the runtime encodes) instead of sRGB-encoded ones (see module)."""
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        GL.glViewport(0, 0, width, height)
        srgb_target = _stores_srgb(framebuffer)
        encode_in_shader = not srgb_target and not unorm_holds_linear
        if srgb_target:
            GL.glEnable(GL.GL_FRAMEBUFFER_SRGB)
        else:
            GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        # Linear unless the bytes are to be stored sRGB-encoded as they are (GL encodes the
        # clear colour of an sRGB target with GL_FRAMEBUFFER_SRGB on).
        clear = draw_list.clear_color if encode_in_shader else srgb_to_linear(draw_list.clear_color)
        GL.glClearColor(*clear)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LEQUAL)
        GL.glEnable(GL.GL_CULL_FACE)
        GL.glCullFace(GL.GL_BACK)
        GL.glDisable(GL.GL_BLEND)

        world_from_eye = matrix_from_pose(camera.pose)
        eye_from_world: FloatArray = np.linalg.inv(world_from_eye).astype(np.float64)
        clip_from_world = camera.projection() @ eye_from_world
        eye_position = world_from_eye[:3, 3]
        self._upload_view(clip_from_world, eye_position, encode_in_shader)
        self._text.use()
        self._text.set_int("u_encode_srgb", int(encode_in_shader))

        meshes = draw_list.meshes
        self._upload_objects(meshes)
        translucent = [item.translucent for item in meshes]
        opaque = [i for i, see_through in enumerate(translucent) if not see_through]
        # Fewer program and buffer switches; groups (no name to sort by) first.
        opaque.sort(key=lambda i: (not meshes[i].lit, not meshes[i].parts, meshes[i].mesh))
        self._draw_meshes(meshes, opaque)
        self._skinned.draw(draw_list.skinned, clip_from_world, eye_position, encode_in_shader, ROOM_LIGHT)

        blended: list[tuple[float, int, MeshItem | TextItem]] = []
        see_through = [i for i, flag in enumerate(translucent) if flag]
        if see_through:
            origins = np.array([meshes[i].world_from_mesh[:3, 3] for i in see_through], dtype=np.float64)
            depths = -(origins @ eye_from_world[2, :3] + eye_from_world[2, 3])
            blended += [(float(d), i, meshes[i]) for d, i in zip(depths, see_through, strict=True)]
        blended += [(_view_depth(t.world_from_text, eye_from_world), -1, t) for t in draw_list.texts]
        if blended:
            GL.glEnable(GL.GL_BLEND)
            GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
            GL.glDepthMask(GL.GL_FALSE)
            run: list[int] = []  # consecutive meshes, drawn together
            for _depth, index, blended_item in sorted(blended, key=lambda entry: -entry[0]):
                if isinstance(blended_item, TextItem):
                    self._draw_meshes(meshes, run)
                    run = []
                    self._draw_text(blended_item, clip_from_world)
                else:
                    run.append(index)
            self._draw_meshes(meshes, run)
            GL.glDepthMask(GL.GL_TRUE)

        if draw_list.fade > 0.0:
            self._draw_fade(min(float(draw_list.fade), 1.0))

        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        GL.glFrontFace(GL.GL_CCW)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def _upload_view(self, clip_from_world: FloatArray, eye_position: FloatArray, encode_srgb: bool) -> None:
        """The ``View`` block: once per view, for every mesh program."""
        view = np.zeros(VIEW_BLOCK_BYTES // 4, np.float32)
        view[:16] = clip_from_world.T.reshape(16)  # std140 matrices are column by column
        view[16:19] = eye_position
        view[20:21].view(np.int32)[0] = int(encode_srgb)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._view_ubo)
        GL.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, view.nbytes, view)
        GL.glBindBufferBase(GL.GL_UNIFORM_BUFFER, VIEW_BINDING, self._view_ubo)

    def _upload_objects(self, meshes: tuple[MeshItem, ...]) -> None:
        """The ``Objects`` block for ``meshes``; nothing to do for the list already there
        (both eyes, the therapist's view of the patient's eyes draw the same list)."""
        if meshes is self._objects_for or not meshes:
            return
        world = np.array([m.world_from_mesh for m in meshes], dtype=np.float64).reshape(-1, 4, 4)
        colors = np.array([srgb_to_linear(m.color) for m in meshes], dtype=np.float64)
        block, self._determinants = object_block(world, colors)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._objects_ubo)
        windows = -(-len(meshes) // MAX_OBJECTS)
        if windows * OBJECT_WINDOW_BYTES > self._objects_capacity:
            self._objects_capacity = windows * OBJECT_WINDOW_BYTES
            GL.glBufferData(GL.GL_UNIFORM_BUFFER, self._objects_capacity, None, GL.GL_DYNAMIC_DRAW)
        GL.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, block.nbytes, block)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
        self._objects_for = meshes

    def _draw_meshes(self, meshes: tuple[MeshItem, ...], indices: list[int]) -> None:
        """Draw ``meshes[i]`` for each i in ``indices``, in that order (the Objects block for
        ``meshes`` uploaded). Program, winding, vertex array and block window are changed
        only when they differ from the previous item's."""
        if not indices:
            return
        GL.glVertexAttrib4f(COLOR_LOCATION, 1.0, 1.0, 1.0, 1.0)  # for meshes without colours
        program: ShaderProgram | None = None
        location = -1
        front_face = window = vao = -1
        for index in indices:
            item = meshes[index]
            wanted = self._lit if item.lit else self._unlit
            if wanted is not program:
                program = wanted
                program.use()
                location = self._object_locations[id(program)]
            if index // MAX_OBJECTS != window:
                window = index // MAX_OBJECTS
                GL.glBindBufferRange(GL.GL_UNIFORM_BUFFER, OBJECTS_BINDING, self._objects_ubo,
                                     window * OBJECT_WINDOW_BYTES, OBJECT_WINDOW_BYTES)  # fmt: skip
            GL.glUniform1i(location, index % MAX_OBJECTS)
            # A mirrored transform (negative determinant) turns the winding inside out.
            face = GL.GL_CW if self._determinants[index] < 0 else GL.GL_CCW
            if face != front_face:
                front_face = face
                GL.glFrontFace(face)
            gpu = self._gpu_mesh(item)
            if gpu.vao != vao:
                vao = gpu.vao
                GL.glBindVertexArray(vao)
            gpu.draw_bound()

    def _draw_text(self, item: TextItem, clip_from_world: FloatArray) -> None:
        gpu = self._text_mesh(item.text)
        scale = np.diag((item.height_m, item.height_m, item.height_m, 1.0))
        self._text.use()
        self._text.set_mat4("u_clip_from_text", clip_from_world @ item.world_from_text @ scale)
        self._text.set_vec4("u_text_color", srgb_to_linear(item.color))
        background = item.background if item.background is not None else (0.0, 0.0, 0.0, 0.0)
        self._text.set_vec4("u_background_color", srgb_to_linear(background))
        _, determinant = normal_matrix(np.asarray(item.world_from_text, dtype=np.float64))
        GL.glFrontFace(GL.GL_CW if determinant < 0 else GL.GL_CCW)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._atlas.texture)
        gpu.draw()
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)

    def draw_screen_text(
        self,
        text: str,
        framebuffer: int,
        width: int,
        height: int,
        x_px: float,
        y_px: float,
        line_px: float,
        color: RGBA = (1.0, 1.0, 1.0, 1.0),
        background: RGBA | None = (0.0, 0.0, 0.0, 0.6),
        align_left: bool = True,
    ) -> None:
        """Overlay ``text`` on what ``framebuffer`` already holds (no clear, no depth): the
        top-left corner of its background box at pixel (x_px, y_px) counted from the top-left,
        each line ``line_px`` pixels tall, lines left-aligned unless ``align_left`` is False.
        For status lines and help in desktop windows."""
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        GL.glViewport(0, 0, width, height)
        srgb_target = _stores_srgb(framebuffer)
        if srgb_target:
            GL.glEnable(GL.GL_FRAMEBUFFER_SRGB)
        else:
            GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
        gpu = self._text_mesh(text, align_left)
        left, top = gpu.min_x, gpu.max_y  # the block's corner in its own units (one per line)
        s = float(line_px)
        clip_from_text = np.array([
            [2 * s / width, 0, 0, 2 * (x_px - left * s) / width - 1],
            [0, 2 * s / height, 0, 1 - 2 * (y_px + top * s) / height],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
        ])
        self._text.use()
        self._text.set_int("u_encode_srgb", int(not srgb_target))
        self._text.set_mat4("u_clip_from_text", clip_from_text)
        self._text.set_vec4("u_text_color", srgb_to_linear(color))
        self._text.set_vec4("u_background_color", srgb_to_linear(background or (0.0, 0.0, 0.0, 0.0)))
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._atlas.texture)
        gpu.draw()
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def screen_text_width(self, text: str, line_px: float) -> float:
        """Width in pixels of ``text``'s background box when drawn ``line_px`` per line."""
        gpu = self._text_mesh(text, align_left=True)
        return (gpu.max_x - gpu.min_x) * line_px

    def _draw_fade(self, fade: float) -> None:
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ZERO, GL.GL_ONE)
        self._fade.use()
        self._fade.set_float("u_fade", fade)
        GL.glBindVertexArray(self._empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)

    def release(self) -> None:
        """Delete every GL object this renderer made (its context must be current)."""
        self._skinned.release()
        for gpu in self._meshes.values():
            gpu.release()
        self._meshes.clear()
        for text in self._texts.values():
            text.release()
        self._texts.clear()
        for _parts, group in self._groups.values():
            group.release()
        self._groups.clear()
        if self._view_ubo:
            GL.glDeleteBuffers(2, [self._view_ubo, self._objects_ubo])
            self._view_ubo = self._objects_ubo = 0
        self._objects_for = None
        self._atlas.release()
        for program in (self._lit, self._unlit, self._text, self._fade):
            program.release()
        if self._empty_vao:
            GL.glDeleteVertexArrays(1, [self._empty_vao])
            self._empty_vao = 0


def _stores_srgb(framebuffer: int) -> bool:
    """Whether the bound framebuffer's colour buffer stores sRGB-encoded values."""
    attachment = GL.GL_BACK_LEFT if framebuffer == 0 else GL.GL_COLOR_ATTACHMENT0
    encoding = GL.glGetFramebufferAttachmentParameteriv(
        GL.GL_FRAMEBUFFER, attachment, GL.GL_FRAMEBUFFER_ATTACHMENT_COLOR_ENCODING
    )
    return int(np.asarray(encoding).reshape(-1)[0]) == GL.GL_SRGB
