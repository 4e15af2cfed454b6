"""Per-view swapchains: one colour swapchain and one depth swapchain per view, rendered
through one framebuffer object.

For each view of a frame: acquire and wait the colour and depth images, attach both
textures to the framebuffer, let the renderer draw into it, release both images. The
composition layer then names the colour image (and the depth image, chained as
``XrCompositionLayerDepthInfoKHR``, when the runtime offers XR_KHR_composition_layer_depth
so it can reproject with depth).

Both eyes in one pass (``one_pass``): where the two views share one size, a single colour
and a single depth swapchain with ``arraySize`` 2 serve them, layer i for view i (Monado
allows it), and ``render_both`` hands the renderer both layers at once
(``render.stereo.StereoTarget``); the projection layer names layer i as view i's
``imageArrayIndex``. Otherwise one swapchain pair per view, drawn one after the other.

Formats: non-sRGB ``GL_RGBA8`` first (like hello_xr), so the renderer's values reach the
display unchanged; depth ``GL_DEPTH_COMPONENT24`` or the closest the runtime offers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import xr
from OpenGL import GL

from gmi_vr.core.errors import GraphicsUnavailable
from gmi_vr.render.stereo import StereoTarget

COLOR_FORMATS = (GL.GL_RGBA8, GL.GL_SRGB8_ALPHA8, GL.GL_RGB10_A2, GL.GL_RGBA16F)
DEPTH_FORMATS = (
    GL.GL_DEPTH_COMPONENT24,
    GL.GL_DEPTH_COMPONENT32F,
    GL.GL_DEPTH24_STENCIL8,
    GL.GL_DEPTH_COMPONENT16,
)
#: How long to wait for a swapchain image before treating the runtime as hung (ns).
IMAGE_WAIT_TIMEOUT_NS = 2_000_000_000
# The image calls' info structures never change: made once, not per frame.
_ACQUIRE_INFO = xr.SwapchainImageAcquireInfo()
_WAIT_INFO = xr.SwapchainImageWaitInfo(timeout=IMAGE_WAIT_TIMEOUT_NS)
_RELEASE_INFO = xr.SwapchainImageReleaseInfo()

#: Draws one view into the bound framebuffer: (framebuffer, width, height) -> None.
DrawView = Callable[[int, int, int], None]
#: Draws both views into the layers of a two-layer target: (target) -> None.
DrawBoth = Callable[[StereoTarget], None]


def choose_format(offered: Sequence[int], preferred: Sequence[int]) -> int | None:
    """The first of ``preferred`` the runtime offers, or None."""
    for candidate in preferred:
        if candidate in offered:
            return int(candidate)
    return None


@dataclass
class ViewSwapchain:
    """The colour (and optional depth) swapchain of one view, ``width`` x ``height`` pixels."""

    color: xr.Swapchain
    color_images: list[int]
    depth: xr.Swapchain | None
    depth_images: list[int]
    width: int
    height: int


class ViewSwapchains:
    """The views' swapchains (``views[i]`` for view i; in one pass both name the same
    two-layer swapchains, ``one_pass`` True)."""

    def __init__(
        self,
        session: xr.Session,
        view_configs: Sequence[xr.ViewConfigurationView],
        with_depth: bool,
        one_pass: bool = False,
    ) -> None:
        offered = list(xr.enumerate_swapchain_formats(session))
        color_format = choose_format(offered, COLOR_FORMATS)
        if color_format is None:
            raise GraphicsUnavailable(
                "The OpenXR runtime offers no usable colour image format for OpenGL: update the runtime."
            )
        depth_format = choose_format(offered, DEPTH_FORMATS) if with_depth else None
        self.color_format = color_format
        self.depth_format = depth_format
        self.views: list[ViewSwapchain] = []
        sizes = {(int(c.recommended_image_rect_width), int(c.recommended_image_rect_height)) for c in view_configs}
        self.one_pass = one_pass and len(view_configs) == 2 and len(sizes) == 1
        layers = 2 if self.one_pass else 1
        try:
            for config in view_configs[:1] if self.one_pass else view_configs:
                width = int(config.recommended_image_rect_width)
                height = int(config.recommended_image_rect_height)
                color = self._create(
                    session,
                    color_format,
                    width,
                    height,
                    xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT
                    | xr.SwapchainUsageFlags.SAMPLED_BIT,
                    layers,
                )
                depth = None
                if depth_format is not None:
                    depth = self._create(
                        session,
                        depth_format,
                        width,
                        height,
                        xr.SwapchainUsageFlags.DEPTH_STENCIL_ATTACHMENT_BIT,
                        layers,
                    )
                self.views.append(
                    ViewSwapchain(
                        color,
                        _gl_images(color),
                        depth,
                        _gl_images(depth) if depth else [],
                        width,
                        height,
                    )
                )
            if self.one_pass:
                self.views.append(self.views[0])  # the second view is layer 1 of the same
        except BaseException:
            self.destroy()
            raise
        self.framebuffer = int(GL.glGenFramebuffers(1))
        #: The colour image ``render_view`` is drawing into (a GL texture name; 0 outside).
        self.drawn_color = 0

    @staticmethod
    def _create(
        session: xr.Session,
        image_format: int,
        width: int,
        height: int,
        usage: xr.SwapchainUsageFlags,
        layers: int = 1,
    ) -> xr.Swapchain:
        return xr.create_swapchain(
            session,
            xr.SwapchainCreateInfo(
                usage_flags=usage,
                format=image_format,
                sample_count=1,
                width=width,
                height=height,
                face_count=1,
                array_size=layers,
                mip_count=1,
            ),
        )

    def render_view(self, index: int, draw: DrawView) -> None:
        """Acquire this view's images, draw into them through the framebuffer, release them.

        The images are released even when ``draw`` raises (the frame must still end)."""
        view = self.views[index]
        color_index = _acquire(view.color)
        depth_index = None
        try:
            depth_index = _acquire(view.depth) if view.depth is not None else None
            self.drawn_color = view.color_images[color_index]
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.framebuffer)
            GL.glFramebufferTexture2D(
                GL.GL_FRAMEBUFFER,
                GL.GL_COLOR_ATTACHMENT0,
                GL.GL_TEXTURE_2D,
                self.drawn_color,
                0,
            )
            depth_attachment = (
                GL.GL_DEPTH_STENCIL_ATTACHMENT
                if self.depth_format == GL.GL_DEPTH24_STENCIL8
                else GL.GL_DEPTH_ATTACHMENT
            )
            depth_texture = view.depth_images[depth_index] if depth_index is not None else 0
            GL.glFramebufferTexture2D(
                GL.GL_FRAMEBUFFER, depth_attachment, GL.GL_TEXTURE_2D, depth_texture, 0
            )
            GL.glViewport(0, 0, view.width, view.height)
            draw(self.framebuffer, view.width, view.height)
        finally:
            self.drawn_color = 0
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            xr.release_swapchain_image(view.color, _RELEASE_INFO)
            if view.depth is not None and depth_index is not None:
                xr.release_swapchain_image(view.depth, _RELEASE_INFO)

    def render_both(self, draw: DrawBoth) -> None:
        """In one pass: acquire the two-layer images, let ``draw`` draw both views into
        them, release them (even when ``draw`` raises: the frame must still end)."""
        view = self.views[0]
        color_index = _acquire(view.color)
        depth_index = None
        try:
            depth_index = _acquire(view.depth) if view.depth is not None else None
            depth_attachment = (
                GL.GL_DEPTH_STENCIL_ATTACHMENT
                if self.depth_format == GL.GL_DEPTH24_STENCIL8
                else GL.GL_DEPTH_ATTACHMENT
            )
            depth_texture = view.depth_images[depth_index] if depth_index is not None else 0
            draw(StereoTarget(self.framebuffer, view.color_images[color_index], depth_texture,
                              view.width, view.height, depth_attachment))  # fmt: skip
        finally:
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            xr.release_swapchain_image(view.color, _RELEASE_INFO)
            if view.depth is not None and depth_index is not None:
                xr.release_swapchain_image(view.depth, _RELEASE_INFO)

    def destroy(self) -> None:
        """Destroy the swapchains (the session must still exist) and the framebuffer."""
        for view in self.views[:1] if self.one_pass else self.views:
            for chain in (view.color, view.depth):
                if chain is not None:
                    try:
                        xr.destroy_swapchain(chain)
                    except xr.XrException:
                        pass  # the runtime is gone; nothing left to free there
        self.views = []
        if getattr(self, "framebuffer", 0):
            GL.glDeleteFramebuffers(1, [self.framebuffer])
            self.framebuffer = 0


def _gl_images(swapchain: xr.Swapchain) -> list[int]:
    images = xr.enumerate_swapchain_images(swapchain, xr.SwapchainImageOpenGLKHR)
    return [int(image.image) for image in images]


def _acquire(swapchain: xr.Swapchain) -> int:
    index = xr.acquire_swapchain_image(swapchain, _ACQUIRE_INFO)
    try:
        xr.wait_swapchain_image(swapchain, _WAIT_INFO)
    except xr.TimeoutExpired:
        # A compositor that holds an image this long has stopped; treat it as lost.
        raise xr.RuntimeFailureError(
            "the runtime did not hand back a swapchain image in time"
        ) from None
    return int(index)
