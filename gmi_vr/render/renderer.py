"""The renderer: draws a DrawList from one camera into one framebuffer, or from both eyes'
cameras into a two-layer target.

``Renderer.draw(draw_list, camera, framebuffer, width, height)`` is the call every
one-view output uses: the therapist window per pane into an offscreen target, the demo
into a PNG, the OpenXR layer per eye where both eyes cannot be drawn in one pass
(``draw_stereo`` below).

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
camera goes into a uniform buffer once per pass (block ``View``, both eyes' in one pass); every mesh item's
transform, normal matrix and colour go into another once per draw list, shared by both
eyes (block ``Objects``), so drawing an item is an index uniform, its winding and one
draw call; merged groups (``MeshItem.parts``, the room) are one draw for many items, built
the first time a group is seen. Texts sit in a third block (``Texts``) the same way, and the
avatars' program reads the same ``View`` block.

Both eyes in one pass: ``draw_stereo`` draws a DrawList for two cameras into two-layer
texture arrays (an OpenXR swapchain with ``arraySize`` 2) with every draw call covering both
eyes, by GL_OVR_multiview or layered instancing, whichever the driver offers
(``render.stereo``; chosen once, ``stereo_path``), or one eye after the other where it
offers neither. Translucent items are then sorted once for both eyes, by their mean depth.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from OpenGL import GL

from gmi_vr.assets.locations import model_path
from gmi_vr.assets.meshes import PRIMITIVE_NAMES, load_mesh
from gmi_vr.core.types import FloatArray
from gmi_vr.geometry import matrix_from_pose
from gmi_vr.geometry.camera import Camera
from gmi_vr.render.mesh_buffer import COLOR_LOCATION, GpuMesh, merge_parts
from gmi_vr.render.shader import ShaderProgram
from gmi_vr.render.skinned import SkinnedRenderer
from gmi_vr.render.stereo import (
    StereoPath,
    StereoTarget,
    attach,
    choose_stereo_path,
    gl_extensions,
    shader_preamble,
)
from gmi_vr.render.text import GlyphAtlas, GpuText
from gmi_vr.render.view_block import VIEW_BINDING, VIEW_BLOCK_BYTES, view_block
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
#: Uniform block binding points and layouts (std140), shared with shaders/mesh.vert and
#: shaders/text.vert (View: ``render.view_block``).
OBJECTS_BINDING, TEXTS_BINDING = 1, 2
OBJECT_FLOATS = 32  # mat4 world_from_mesh, mat3 as 3 padded columns, vec4 colour
#: Objects visible to one draw: shaders/mesh.vert's MAX_OBJECTS; 128 x 128 bytes is the
#: 16 KiB every OpenGL 4.1 driver allows a uniform block. Longer lists bind 16 KiB windows.
MAX_OBJECTS = 128
OBJECT_WINDOW_BYTES = MAX_OBJECTS * OBJECT_FLOATS * 4
TEXT_FLOATS = 24  # mat4 world_from_text (times its height), vec4 text colour, vec4 background
#: Texts visible to one draw: shaders/text.vert's MAX_TEXTS (12 KiB).
MAX_TEXTS = 128
TEXT_WINDOW_BYTES = MAX_TEXTS * TEXT_FLOATS * 4


@functools.lru_cache(maxsize=1024)  # a scene uses few distinct colours, every frame
def srgb_to_linear(color: RGBA) -> tuple[float, float, float, float]:
    """An sRGB colour with straight alpha to linear RGB (alpha unchanged)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (channel(color[0]), channel(color[1]), channel(color[2]), float(color[3]))


@dataclass(frozen=True)
class ScreenText:
    """Text over a desktop window's picture (``Renderer.draw_screen_texts``): the top-left
    corner of its background box at pixel (x_px, y_px) counted from the top-left, each line
    ``line_px`` pixels tall, sRGB colours, lines left-aligned unless ``align_left`` is False."""

    text: str
    x_px: float
    y_px: float
    line_px: float
    color: RGBA = (1.0, 1.0, 1.0, 1.0)
    background: RGBA | None = (0.0, 0.0, 0.0, 0.6)
    align_left: bool = True


def _view_depth(world_from_item: FloatArray, eye_from_world: FloatArray) -> float:
    """Distance in front of the eye (metres along its -Z) of an item's origin."""
    return float(-(eye_from_world[2, :3] @ world_from_item[:3, 3] + eye_from_world[2, 3]))


#: Index of the next and the one after next of three (cyclic), for cross products by rows.
_NEXT, _AFTER_NEXT = np.array([1, 2, 0]), np.array([2, 0, 1])


def _cross_rows(a: FloatArray, b: FloatArray) -> FloatArray:
    """Cross products of the vectors along the last axis of ``a`` and ``b`` (..., 3)."""
    return a[..., _NEXT] * b[..., _AFTER_NEXT] - a[..., _AFTER_NEXT] * b[..., _NEXT]


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
    # Row i of the cofactor is the cross product of rows i+1 and i+2 (cyclic), all at once:
    # numpy's cross spends most of its time on argument handling at these sizes.
    cofactor = _cross_rows(rows[:, _NEXT], rows[:, _AFTER_NEXT])
    determinant = np.einsum("ij,ij->i", rows[:, 0], cofactor[:, 0])
    cofactor[determinant < 0] *= -1.0
    block = np.zeros((n, OBJECT_FLOATS), np.float32)
    block[:, :16] = world_from_mesh.transpose(0, 2, 1).reshape(n, 16)
    block[:, 16:28].reshape(n, 3, 4)[:, :, :3] = cofactor.transpose(0, 2, 1)  # each column padded to a vec4
    block[:, 28:32] = colors_linear
    return block, determinant


def text_block(world_from_text: FloatArray, colors_linear: FloatArray) -> NDArray[np.float32]:
    """The ``Texts`` block's data for n texts: ``world_from_text`` (n, 4, 4) column-vector
    matrices (each text's placement times its line height), ``colors_linear`` (n, 8): text
    colour then background colour, linear RGB + alpha. Returns (n, TEXT_FLOATS) float32."""
    n = len(world_from_text)
    block = np.empty((n, TEXT_FLOATS), np.float32)
    block[:, :16] = world_from_text.transpose(0, 2, 1).reshape(n, 16)
    block[:, 16:24] = colors_linear
    return block


class _Programs:
    """The renderer's programs for one view layout (``render.stereo``: None one view,
    "multiview" or "layered" both eyes), their blocks bound and constants set once."""

    def __init__(self, layout: StereoPath | None, extensions: frozenset[str]) -> None:
        preamble = shader_preamble(layout, GL.GL_VERTEX_SHADER, extensions)
        self.lit = ShaderProgram("mesh.vert", "lit.frag", preamble)
        self.unlit = ShaderProgram("mesh.vert", "unlit.frag", preamble)
        self.text = ShaderProgram("text.vert", "text.frag", preamble)
        self.fade = ShaderProgram("fade.vert", "fade.frag", preamble)
        blocks = ((self.lit, ("View", "Objects")), (self.unlit, ("View", "Objects")), (self.text, ("View", "Texts")))
        bindings = {"View": VIEW_BINDING, "Objects": OBJECTS_BINDING, "Texts": TEXTS_BINDING}
        for program, names in blocks:
            for name in names:
                GL.glUniformBlockBinding(program.program, GL.glGetUniformBlockIndex(program.program, name),
                                         bindings[name])  # fmt: skip
        self.object_location = {id(p): p.location("u_object") for p in (self.lit, self.unlit)}
        self.text_location = self.text.location("u_text")
        self.fade_location = self.fade.location("u_fade")
        self.lit.use()
        self.lit.set_vec3("u_light_direction", LIGHT_DIRECTION)
        self.lit.set_vec3("u_light_color", LIGHT_COLOR)
        self.lit.set_vec3("u_sky_color", SKY_COLOR)
        self.lit.set_vec3("u_ground_color", GROUND_COLOR)
        self.text.use()
        self.text.set_int("u_atlas", 0)
        GL.glUseProgram(0)

    def release(self) -> None:
        for program in (self.lit, self.unlit, self.text, self.fade):
            program.release()


class Renderer:
    """Draws DrawLists with the OpenGL 4.1 core context that is current at creation.

    Every call must happen with that same context current, on the thread that owns GL: its
    vertex array objects cannot be shared with another context, so the eyes and the
    therapist window draw with one context (the therapist window's, which the OpenXR
    session binds). ``models_root`` replaces ``models/`` for named meshes. ``stereo`` picks
    how ``draw_stereo`` draws both eyes (GraphicsUnavailable when the driver cannot); by
    default the first the driver offers of multiview, layered and two-pass.
    """

    def __init__(self, models_root: Path | None = None, stereo: StereoPath | None = None) -> None:
        self._models_root = models_root
        self._extensions = gl_extensions()
        #: How ``draw_stereo`` draws both eyes: "multiview", "layered" or "two_pass".
        self.stereo_path: StereoPath = choose_stereo_path(self._extensions, stereo)
        self._programs: dict[StereoPath | None, _Programs] = {None: _Programs(None, self._extensions)}
        self._meshes: dict[str, GpuMesh] = {name: GpuMesh(load_mesh(name)) for name in PRIMITIVE_NAMES}
        preambles = {layout: shader_preamble(layout, GL.GL_VERTEX_SHADER, self._extensions)
                     for layout in (None, "multiview", "layered")}  # fmt: skip
        self._skinned = SkinnedRenderer(functools.partial(model_path, root=models_root), ROOM_LIGHT,
                                        dict(preambles))  # fmt: skip
        self._texts: dict[tuple[str, bool], GpuText] = {}
        self._atlas = GlyphAtlas()
        self._empty_vao = int(GL.glGenVertexArrays(1))  # the fade triangle needs no attributes
        self._groups: dict[int, tuple[tuple[MeshItem, ...], GpuMesh]] = {}
        self._view_ubo, self._objects_ubo, self._texts_ubo = (int(b) for b in GL.glGenBuffers(3))
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._view_ubo)
        GL.glBufferData(GL.GL_UNIFORM_BUFFER, VIEW_BLOCK_BYTES, None, GL.GL_DYNAMIC_DRAW)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
        self._objects_capacity = self._texts_capacity = 0
        #: The mesh list whose Objects block is in the buffer (kept, so identity is safe).
        self._objects_for: tuple[MeshItem, ...] | None = None
        self._determinants: FloatArray = np.zeros(0)
        #: The same for texts: the list in the Texts block and its determinants.
        self._texts_for: tuple[TextItem, ...] | None = None
        self._text_determinants: FloatArray = np.zeros(0)

    def _program_set(self, layout: StereoPath | None) -> _Programs:
        programs = self._programs.get(layout)
        if programs is None:
            programs = self._programs[layout] = _Programs(layout, self._extensions)
        return programs

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
        self._draw(draw_list, (camera,), framebuffer, width, height, unorm_holds_linear, None)

    def draw_stereo(self, draw_list: DrawList, cameras: tuple[Camera, Camera], target: StereoTarget,
                    *, unorm_holds_linear: bool = False) -> None:
        """Draw ``draw_list`` for two cameras (left eye, right eye) into layers 0 and 1 of
        ``target``'s texture arrays, in one pass where ``stereo_path`` allows it, else one
        eye after the other. Leaves the framebuffer bound to 0."""
        if self.stereo_path == "two_pass":
            for layer, camera in enumerate(cameras):
                GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target.framebuffer)
                GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, target.color_texture, 0, layer)
                GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, target.depth_attachment, target.depth_texture, 0,
                                             layer)  # fmt: skip
                self._draw(draw_list, (camera,), target.framebuffer, target.width, target.height,
                           unorm_holds_linear, None)  # fmt: skip
            return
        attach(self.stereo_path, target)
        self._draw(draw_list, cameras, target.framebuffer, target.width, target.height, unorm_holds_linear,
                   self.stereo_path)  # fmt: skip

    def _draw(self, draw_list: DrawList, cameras: tuple[Camera, ...], framebuffer: int, width: int, height: int,
              unorm_holds_linear: bool, layout: StereoPath | None) -> None:
        """Draw into the bound ``framebuffer``: one camera (``layout`` None), or two cameras
        in one pass (``layout`` "multiview" or "layered", the attachments set up for it)."""
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
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)  # every layer or view
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LEQUAL)
        GL.glEnable(GL.GL_CULL_FACE)
        GL.glCullFace(GL.GL_BACK)
        GL.glDisable(GL.GL_BLEND)

        programs = self._program_set(layout)
        instances = 2 if layout == "layered" else 1
        eyes_from_world = []
        clips, eye_positions = [], []
        for camera in cameras:
            world_from_eye = matrix_from_pose(camera.pose)
            eye_from_world: FloatArray = np.linalg.inv(world_from_eye).astype(np.float64)
            eyes_from_world.append(eye_from_world)
            clips.append(camera.projection() @ eye_from_world)
            eye_positions.append(world_from_eye[:3, 3])
        self._upload_view(view_block(clips, eye_positions, encode_in_shader))

        meshes = draw_list.meshes
        self._upload_objects(meshes)
        translucent = [item.translucent for item in meshes]
        opaque = [i for i, see_through in enumerate(translucent) if not see_through]
        # Fewer program and buffer switches; groups (no name to sort by) first.
        opaque.sort(key=lambda i: (not meshes[i].lit, not meshes[i].parts, meshes[i].mesh))
        self._draw_meshes(programs, meshes, opaque, instances)
        self._skinned.draw_with_view(draw_list.skinned, layout, instances)

        # Back to front; with two eyes, by the mean of their depths (one order for both).
        blended: list[tuple[float, int, bool]] = []  # (depth, index, is text)
        see_through = [i for i, flag in enumerate(translucent) if flag]
        if see_through:
            origins = np.array([meshes[i].world_from_mesh[:3, 3] for i in see_through], dtype=np.float64)
            depths = sum(-(origins @ eye[2, :3] + eye[2, 3]) for eye in eyes_from_world)
            blended += [(float(d), i, False) for d, i in zip(np.atleast_1d(depths), see_through, strict=True)]
        texts = draw_list.texts
        if texts:
            self._upload_texts(texts)
            blended += [(sum(_view_depth(t.world_from_text, eye) for eye in eyes_from_world), i, True)
                        for i, t in enumerate(texts)]  # fmt: skip
        if blended:
            GL.glEnable(GL.GL_BLEND)
            GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
            GL.glDepthMask(GL.GL_FALSE)
            run: list[int] = []  # consecutive meshes, drawn together
            text_run: list[int] = []  # consecutive texts, drawn together
            for _depth, index, is_text in sorted(blended, key=lambda entry: -entry[0]):
                if is_text:
                    self._draw_meshes(programs, meshes, run, instances)
                    run = []
                    text_run.append(index)
                else:
                    self._draw_texts(programs, texts, text_run, instances)
                    text_run = []
                    run.append(index)
            self._draw_meshes(programs, meshes, run, instances)
            self._draw_texts(programs, texts, text_run, instances)
            GL.glDepthMask(GL.GL_TRUE)

        if draw_list.fade > 0.0:
            self._draw_fade(programs, min(float(draw_list.fade), 1.0), instances)

        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        GL.glFrontFace(GL.GL_CCW)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def _upload_view(self, view: NDArray[np.float32]) -> None:
        """The ``View`` block (``render.view_block``): once per pass, for every program."""
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
        self._objects_capacity = _upload_windows(self._objects_ubo, block, MAX_OBJECTS, OBJECT_WINDOW_BYTES,
                                                 self._objects_capacity)  # fmt: skip
        self._objects_for = meshes

    def _upload_texts(self, texts: tuple[TextItem, ...]) -> None:
        """The ``Texts`` block for ``texts`` (each placement times its height, its colours);
        nothing to do for the list already there."""
        if texts is self._texts_for:
            return
        world = np.array([t.world_from_text for t in texts], dtype=np.float64).reshape(-1, 4, 4)
        world[:, :, :3] *= np.array([t.height_m for t in texts], dtype=np.float64)[:, None, None]
        none = (0.0, 0.0, 0.0, 0.0)
        colors = np.array([srgb_to_linear(t.color) + srgb_to_linear(t.background or none) for t in texts])
        self._write_texts(text_block(world, colors))
        rows = world[:, :3, :3]
        self._text_determinants = np.einsum("ij,ij->i", rows[:, 0], _cross_rows(rows[:, 1], rows[:, 2]))
        self._texts_for = texts

    def _write_texts(self, block: NDArray[np.float32]) -> None:
        self._texts_capacity = _upload_windows(self._texts_ubo, block, MAX_TEXTS, TEXT_WINDOW_BYTES,
                                               self._texts_capacity)  # fmt: skip

    def _draw_meshes(self, programs: _Programs, meshes: tuple[MeshItem, ...], indices: list[int],
                     instances: int) -> None:
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
            wanted = programs.lit if item.lit else programs.unlit
            if wanted is not program:
                program = wanted
                program.use()
                location = programs.object_location[id(program)]
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
            gpu.draw_bound(instances)

    def _draw_texts(self, programs: _Programs, texts: tuple[TextItem, ...], indices: list[int],
                    instances: int) -> None:
        """Draw ``texts[i]`` for each i in ``indices`` (the Texts block for ``texts`` uploaded)."""
        if not indices:
            return
        programs.text.use()
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._atlas.texture)
        window = -1
        for index in indices:
            if index // MAX_TEXTS != window:
                window = index // MAX_TEXTS
                GL.glBindBufferRange(GL.GL_UNIFORM_BUFFER, TEXTS_BINDING, self._texts_ubo,
                                     window * TEXT_WINDOW_BYTES, TEXT_WINDOW_BYTES)  # fmt: skip
            GL.glUniform1i(programs.text_location, index % MAX_TEXTS)
            GL.glFrontFace(GL.GL_CW if self._text_determinants[index] < 0 else GL.GL_CCW)
            self._text_mesh(texts[index].text).draw(instances)
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
        """Overlay one ``ScreenText`` (see there) on what ``framebuffer`` already holds."""
        self.draw_screen_texts((ScreenText(text, x_px, y_px, line_px, color, background, align_left),),
                               framebuffer, width, height)  # fmt: skip

    def draw_screen_texts(self, texts: Sequence[ScreenText], framebuffer: int, width: int, height: int) -> None:
        """Overlay ``texts`` on what ``framebuffer`` (width x height pixels) already holds, in
        order (no clear, no depth), with the state set and the blocks written once for all:
        for status lines, labels and help in desktop windows."""
        if not texts:
            return
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
        # The screen is the "camera" (pixels from the top left to clip space); each text's
        # Texts entry places its block's top-left corner, one line ``line_px`` tall.
        clip_from_pixels = np.array([[2 / width, 0, 0, -1], [0, -2 / height, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]])
        self._upload_view(view_block((clip_from_pixels,), (np.zeros(3),), not srgb_target))
        gpus = [self._text_mesh(t.text, t.align_left) for t in texts]
        pixels_from_text = np.zeros((len(texts), 4, 4))
        for placement, t, gpu in zip(pixels_from_text, texts, gpus, strict=True):
            s = float(t.line_px)
            placement[:, :] = ((s, 0, 0, t.x_px - gpu.min_x * s), (0, -s, 0, t.y_px + gpu.max_y * s),
                               (0, 0, 1, 0), (0, 0, 0, 1))  # fmt: skip
        none = (0.0, 0.0, 0.0, 0.0)
        colors = np.array([srgb_to_linear(t.color) + srgb_to_linear(t.background or none) for t in texts])
        self._write_texts(text_block(pixels_from_text, colors))
        self._texts_for = None
        programs = self._programs[None]
        programs.text.use()
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._atlas.texture)
        window = -1
        for index, gpu in enumerate(gpus):
            if index // MAX_TEXTS != window:
                window = index // MAX_TEXTS
                GL.glBindBufferRange(GL.GL_UNIFORM_BUFFER, TEXTS_BINDING, self._texts_ubo,
                                     window * TEXT_WINDOW_BYTES, TEXT_WINDOW_BYTES)  # fmt: skip
            GL.glUniform1i(programs.text_location, index % MAX_TEXTS)
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

    def _draw_fade(self, programs: _Programs, fade: float, instances: int) -> None:
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ZERO, GL.GL_ONE)
        programs.fade.use()
        GL.glUniform1f(programs.fade_location, fade)
        GL.glBindVertexArray(self._empty_vao)
        GL.glDrawArraysInstanced(GL.GL_TRIANGLES, 0, 3, instances)

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
            GL.glDeleteBuffers(3, [self._view_ubo, self._objects_ubo, self._texts_ubo])
            self._view_ubo = self._objects_ubo = self._texts_ubo = 0
        self._objects_for = None
        self._texts_for = None
        self._atlas.release()
        for programs in self._programs.values():
            programs.release()
        self._programs.clear()
        if self._empty_vao:
            GL.glDeleteVertexArrays(1, [self._empty_vao])
            self._empty_vao = 0


def _upload_windows(ubo: int, block: NDArray[np.float32], per_window: int, window_bytes: int,
                    capacity: int) -> int:  # fmt: skip
    """``block`` (one row per item) into the uniform buffer ``ubo``, grown to whole windows of
    ``per_window`` items (``window_bytes`` each: a draw binds one window) when its
    ``capacity`` (bytes) is short; returns the capacity now."""
    GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, ubo)
    windows = -(-len(block) // per_window)
    if windows * window_bytes > capacity:
        capacity = windows * window_bytes
        GL.glBufferData(GL.GL_UNIFORM_BUFFER, capacity, None, GL.GL_DYNAMIC_DRAW)
    GL.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, block.nbytes, block)
    GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
    return capacity


def _stores_srgb(framebuffer: int) -> bool:
    """Whether the bound framebuffer's colour buffer stores sRGB-encoded values."""
    attachment = GL.GL_BACK_LEFT if framebuffer == 0 else GL.GL_COLOR_ATTACHMENT0
    encoding = GL.glGetFramebufferAttachmentParameteriv(
        GL.GL_FRAMEBUFFER, attachment, GL.GL_FRAMEBUFFER_ATTACHMENT_COLOR_ENCODING
    )
    return int(np.asarray(encoding).reshape(-1)[0]) == GL.GL_SRGB
