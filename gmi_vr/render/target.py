"""Offscreen render targets (framebuffer objects) and reading pixels back."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from OpenGL import GL

from gmi_vr.core.errors import GraphicsUnavailable
from gmi_vr.render.stereo import StereoTarget

#: Layers of a two-eye target (layer i is view i).
STEREO_LAYERS = 2


class RenderTarget:
    """A framebuffer object with an sRGB colour texture and a depth buffer.

    ``samples`` > 1 renders into multisampled buffers; ``resolve()`` then averages them into
    the colour texture (``resolved_framebuffer``), which is what is blitted or read back.
    With ``samples`` == 1 both framebuffers are the same. The colour format is
    GL_SRGB8_ALPHA8 (the renderer writes linear colours and GL encodes them) unless
    ``srgb`` is False (GL_RGBA8, the renderer's shaders encode instead): both store the
    same sRGB-encoded bytes.
    """

    def __init__(self, width: int, height: int, samples: int = 1, srgb: bool = True) -> None:
        self.width, self.height, self.samples = int(width), int(height), int(samples)
        color_format = GL.GL_SRGB8_ALPHA8 if srgb else GL.GL_RGBA8
        self._renderbuffers: list[int] = []
        self._framebuffers: list[int] = []
        self._source_framebuffer = 0  # reads another picture for ``copy_from``, made on first use
        self.color_texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.color_texture)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, color_format, self.width, self.height, 0,
                        GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self.resolved_framebuffer = self._new_framebuffer()
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D,
                                  self.color_texture, 0)
        if self.samples > 1:
            self._check()
            self.framebuffer = self._new_framebuffer()
            self._attach_renderbuffer(color_format, GL.GL_COLOR_ATTACHMENT0)
        else:
            self.framebuffer = self.resolved_framebuffer
        self._attach_renderbuffer(GL.GL_DEPTH_COMPONENT24, GL.GL_DEPTH_ATTACHMENT)
        self._check()
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def _new_framebuffer(self) -> int:
        framebuffer = int(GL.glGenFramebuffers(1))
        self._framebuffers.append(framebuffer)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        return framebuffer

    def _attach_renderbuffer(self, internal_format: int, attachment: int) -> None:
        renderbuffer = int(GL.glGenRenderbuffers(1))
        self._renderbuffers.append(renderbuffer)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, renderbuffer)
        if self.samples > 1:
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, self.samples, internal_format,
                                                self.width, self.height)
        else:
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, internal_format, self.width, self.height)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, 0)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, attachment, GL.GL_RENDERBUFFER, renderbuffer)

    def _check(self) -> None:
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            self.release()
            raise GraphicsUnavailable(
                f"The OpenGL driver cannot render offscreen at {self.width}x{self.height} "
                f"(framebuffer status 0x{int(status):x}); update the graphics driver."
            )

    def resolve(self) -> None:
        """Average the multisampled buffer into the colour texture (no-op with one sample)."""
        if self.framebuffer == self.resolved_framebuffer:
            return
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.framebuffer)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self.resolved_framebuffer)
        GL.glBlitFramebuffer(0, 0, self.width, self.height, 0, 0, self.width, self.height,
                             GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def copy_from(self, texture: int, layer: int | None, width: int, height: int) -> None:
        """Stretch another picture into this target's colour texture (what ``resolve`` fills):
        ``texture`` width x height, a 2D texture (``layer`` None) or one layer of an array,
        its values linear light when it is not sRGB (an OpenXR UNORM swapchain image; GL
        encodes them as they are written, so both kinds store the same sRGB bytes here)."""
        if self._source_framebuffer == 0:
            self._source_framebuffer = int(GL.glGenFramebuffers(1))
            self._framebuffers.append(self._source_framebuffer)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._source_framebuffer)
        if layer is None:
            GL.glFramebufferTexture2D(GL.GL_READ_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, texture, 0)
        else:
            GL.glFramebufferTextureLayer(GL.GL_READ_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, texture, 0, layer)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self.resolved_framebuffer)
        GL.glEnable(GL.GL_FRAMEBUFFER_SRGB)
        GL.glBlitFramebuffer(0, 0, width, height, 0, 0, self.width, self.height, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR)
        GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        # Let go of the picture (a swapchain image goes back to the runtime, then is freed).
        GL.glFramebufferTexture2D(GL.GL_READ_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, 0, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def read_rgba(self) -> NDArray[np.uint8]:
        """(height, width, 4) uint8 sRGB-encoded pixels, row 0 at the top (image order)."""
        self.resolve()
        return read_pixels(self.resolved_framebuffer, 0, 0, self.width, self.height)

    def release(self) -> None:
        if self._framebuffers:
            GL.glDeleteFramebuffers(len(self._framebuffers), self._framebuffers)
            self._framebuffers = []
        if self._renderbuffers:
            GL.glDeleteRenderbuffers(len(self._renderbuffers), self._renderbuffers)
            self._renderbuffers = []
        if self.color_texture:
            GL.glDeleteTextures(1, [self.color_texture])
            self.color_texture = 0


def read_pixels(framebuffer: int, x: int, y: int, width: int, height: int,
                buffer: int | None = None) -> NDArray[np.uint8]:
    """Pixels of a framebuffer rectangle as (height, width, 4) uint8, row 0 at the top.

    ``buffer`` picks the window buffer for framebuffer 0 (GL_BACK by default: a window's
    back buffer holds the frame until the swap; read it before swapping).
    """
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, framebuffer)
    GL.glReadBuffer(buffer if buffer is not None else (GL.GL_BACK if framebuffer == 0 else GL.GL_COLOR_ATTACHMENT0))
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    data = GL.glReadPixels(x, y, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
    pixels = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 4)
    return np.ascontiguousarray(pixels[::-1])


class LayeredRenderTarget:
    """Two-layer colour (GL_SRGB8_ALPHA8, or GL_RGBA8 when ``srgb`` is False) and depth
    (GL_DEPTH_COMPONENT24) texture arrays and a framebuffer: what an OpenXR swapchain with
    ``arraySize`` 2 hands out, for drawing offscreen. ``stereo_target`` for one pass (``render.stereo``);
    ``layer_framebuffer(i)`` for drawing one eye into one layer (two passes)."""

    def __init__(self, width: int, height: int, srgb: bool = True) -> None:
        self.width, self.height = int(width), int(height)
        self.color_texture, self.depth_texture = (int(t) for t in GL.glGenTextures(2))
        formats = ((self.color_texture, GL.GL_SRGB8_ALPHA8 if srgb else GL.GL_RGBA8, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE),
                   (self.depth_texture, GL.GL_DEPTH_COMPONENT24, GL.GL_DEPTH_COMPONENT, GL.GL_FLOAT))  # fmt: skip
        for texture, internal, layout, kind in formats:
            GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, texture)
            GL.glTexImage3D(GL.GL_TEXTURE_2D_ARRAY, 0, internal, self.width, self.height, STEREO_LAYERS, 0,
                            layout, kind, None)  # fmt: skip
            GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST)
            GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, 0)
        self.framebuffer = int(GL.glGenFramebuffers(1))
        self.stereo_target = StereoTarget(self.framebuffer, self.color_texture, self.depth_texture,
                                          self.width, self.height)  # fmt: skip

    def layer_framebuffer(self, layer: int) -> int:
        """The framebuffer with layer ``layer`` of both arrays attached (for one eye)."""
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.framebuffer)
        GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, self.color_texture, 0, layer)
        GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, self.depth_texture, 0, layer)
        if GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) != GL.GL_FRAMEBUFFER_COMPLETE:
            raise GraphicsUnavailable("The OpenGL driver cannot render into a texture array layer.")
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        return self.framebuffer

    def read_rgba(self, layer: int) -> NDArray[np.uint8]:
        """(height, width, 4) uint8 of one layer, row 0 at the top (image order)."""
        return read_pixels(self.layer_framebuffer(layer), 0, 0, self.width, self.height)

    def release(self) -> None:
        if self.framebuffer:
            GL.glDeleteFramebuffers(1, [self.framebuffer])
            GL.glDeleteTextures(2, [self.color_texture, self.depth_texture])
            self.framebuffer = self.color_texture = self.depth_texture = 0
