"""Both eyes in one pass: which way the OpenGL driver offers, the shader lines each way
needs, and the two-layer target (``StereoTarget``) handed to the renderer.

An OpenXR runtime can hand out one swapchain whose images are two-layer texture arrays
(``arraySize`` 2), layer 0 the left eye and layer 1 the right. Every draw call then covers
both eyes, halving the Python and driver work per frame:

- ``multiview`` (GL_OVR_multiview2): the texture array is attached with
  ``glFramebufferTextureMultiviewOVR``; each draw runs the vertex shader once per view,
  ``gl_ViewID_OVR`` telling which. What VR GPUs' drivers offer.
- ``layered`` (GL_ARB_shader_viewport_layer_array, or GL_AMD_vertex_shader_layer): the
  array is attached as a layered attachment; each draw is instanced twice and the vertex
  shader sends instance i to layer i (``gl_Layer``). Where multiview is missing (Mesa 22
  llvmpipe, for one).
- ``two_pass``: no such extension; each eye is drawn into its own image, one after the other.

``choose_stereo_path`` picks the first the driver offers, once at start. The shaders read
the view index as the macro ``VIEW`` that ``shader_preamble`` defines after ``#version``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from OpenGL import GL

from gmi_vr.core.errors import GraphicsUnavailable

StereoPath = Literal["multiview", "layered", "two_pass"]
#: The paths in order of preference.
STEREO_PATHS: tuple[StereoPath, ...] = ("multiview", "layered", "two_pass")
MULTIVIEW_EXTENSION = "GL_OVR_multiview2"
LAYER_EXTENSIONS = ("GL_ARB_shader_viewport_layer_array", "GL_AMD_vertex_shader_layer")
#: Views drawn by one pass (the two eyes).
VIEW_COUNT = 2


def gl_extensions() -> frozenset[str]:
    """The extensions of the current OpenGL context."""
    count = int(GL.glGetIntegerv(GL.GL_NUM_EXTENSIONS))
    return frozenset(GL.glGetStringi(GL.GL_EXTENSIONS, i).decode() for i in range(count))


def offered_paths(extensions: frozenset[str]) -> tuple[StereoPath, ...]:
    """The stereo paths a driver with ``extensions`` can take, preferred first."""
    paths: list[StereoPath] = []
    if MULTIVIEW_EXTENSION in extensions:
        paths.append("multiview")
    if any(name in extensions for name in LAYER_EXTENSIONS):
        paths.append("layered")
    return (*paths, "two_pass")


def choose_stereo_path(extensions: frozenset[str], wanted: StereoPath | None = None) -> StereoPath:
    """``wanted`` when the driver offers it (GraphicsUnavailable if not), else the first offered."""
    offered = offered_paths(extensions)
    if wanted is None:
        return offered[0]
    if wanted not in offered:
        raise GraphicsUnavailable(
            f"This OpenGL driver cannot draw both eyes the {wanted.replace('_', '-')} way "
            f"(it offers: {', '.join(p.replace('_', '-') for p in offered)}); choose one of those."
        )
    return wanted


def shader_preamble(path: StereoPath | None, stage: int, extensions: frozenset[str] = frozenset()) -> str:
    """The lines placed right after a shader's ``#version`` for ``path`` (None: one view).

    Vertex shaders get ``VIEW`` (the view drawn, an int) and, when layered, ``LAYERED`` (the
    shader then writes ``gl_Layer``); a multiview vertex shader also declares its two views.
    Fragment shaders read the view from a flat varying and need nothing."""
    if stage != GL.GL_VERTEX_SHADER:
        return ""
    if path == "multiview":
        return (f"#extension {MULTIVIEW_EXTENSION} : require\n"
                f"layout(num_views = {VIEW_COUNT}) in;\n#define VIEW int(gl_ViewID_OVR)\n")  # fmt: skip
    if path == "layered":
        extension = next((name for name in LAYER_EXTENSIONS if name in extensions), LAYER_EXTENSIONS[0])
        return f"#extension {extension} : require\n#define VIEW gl_InstanceID\n#define LAYERED 1\n"
    return "#define VIEW 0\n"


@dataclass(frozen=True)
class StereoTarget:
    """A framebuffer and the two-layer texture arrays (colour, and depth or 0) to draw both
    eyes into, ``width`` x ``height`` pixels each; layer 0 is the first view (left eye)."""

    framebuffer: int
    color_texture: int
    depth_texture: int
    width: int
    height: int
    depth_attachment: int = GL.GL_DEPTH_ATTACHMENT


def attach(path: StereoPath, target: StereoTarget) -> None:
    """Attach ``target``'s arrays to its framebuffer (left bound) the way ``path`` draws."""
    GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target.framebuffer)
    attachments = [(GL.GL_COLOR_ATTACHMENT0, target.color_texture), (target.depth_attachment, target.depth_texture)]
    for attachment, texture in attachments:
        if path == "multiview":
            from OpenGL.GL.OVR.multiview import glFramebufferTextureMultiviewOVR

            glFramebufferTextureMultiviewOVR(GL.GL_FRAMEBUFFER, attachment, texture, 0, 0, VIEW_COUNT)
        elif path == "layered":
            GL.glFramebufferTexture(GL.GL_FRAMEBUFFER, attachment, texture, 0)
        else:
            raise ValueError("two-pass drawing attaches one layer per eye")
