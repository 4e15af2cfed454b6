"""Per-view swapchains: one colour swapchain and one depth swapchain per view, rendered
through one framebuffer object.

For each view of a frame: acquire and wait the colour and depth images, attach both
textures to the framebuffer, let the renderer draw into it, release both images. The
composition layer then names the colour image (and the depth image, chained as
``XrCompositionLayerDepthInfoKHR``, when the runtime offers XR_KHR_composition_layer_depth
so it can reproject with depth).

Formats: non-sRGB ``GL_RGBA8`` first (like hello_xr), so the renderer's values reach the
display unchanged; depth ``GL_DEPTH_COMPONENT24`` or the closest the runtime offers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import xr
from OpenGL import GL

from gmi_vr.core.errors import GraphicsUnavailable

COLOR_FORMATS = (GL.GL_RGBA8, GL.GL_SRGB8_ALPHA8, GL.GL_RGB10_A2, GL.GL_RGBA16F)
DEPTH_FORMATS = (
    GL.GL_DEPTH_COMPONENT24,
    GL.GL_DEPTH_COMPONENT32F,
    GL.GL_DEPTH24_STENCIL8,
    GL.GL_DEPTH_COMPONENT16,
)
#: How long to wait for a swapchain image before treating the runtime as hung (ns).
IMAGE_WAIT_TIMEOUT_NS = 2_000_000_000

#: Draws one view into the bound framebuffer: (framebuffer, width, height) -> None.
DrawView = Callable[[int, int, int], None]


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
    def __init__(
        self,
        session: xr.Session,
        view_configs: Sequence[xr.ViewConfigurationView],
        with_depth: bool,
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
        try:
            for config in view_configs:
                width = int(config.recommended_image_rect_width)
                height = int(config.recommended_image_rect_height)
                color = self._create(
                    session,
                    color_format,
                    width,
                    height,
                    xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT
                    | xr.SwapchainUsageFlags.SAMPLED_BIT,
                )
                depth = None
                if depth_format is not None:
                    depth = self._create(
                        session,
                        depth_format,
                        width,
                        height,
                        xr.SwapchainUsageFlags.DEPTH_STENCIL_ATTACHMENT_BIT,
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
        except BaseException:
            self.destroy()
            raise
        self.framebuffer = int(GL.glGenFramebuffers(1))

    @staticmethod
    def _create(
        session: xr.Session,
        image_format: int,
        width: int,
        height: int,
        usage: xr.SwapchainUsageFlags,
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
                array_size=1,
                mip_count=1,
            ),
        )

    def render_view(self, index: int, draw: DrawView) -> None:
        """Acquire this view's images, draw into them through the framebuffer, release them.

        The images are released even when ``draw`` raises (the frame must still end)."""
        view = self.views[index]
        color_index = _acquire(view.color)
        depth_index = _acquire(view.depth) if view.depth is not None else None
        try:
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.framebuffer)
            GL.glFramebufferTexture2D(
                GL.GL_FRAMEBUFFER,
                GL.GL_COLOR_ATTACHMENT0,
                GL.GL_TEXTURE_2D,
                view.color_images[color_index],
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
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            xr.release_swapchain_image(view.color, xr.SwapchainImageReleaseInfo())
            if view.depth is not None:
                xr.release_swapchain_image(view.depth, xr.SwapchainImageReleaseInfo())

    def destroy(self) -> None:
        """Destroy the swapchains (the session must still exist) and the framebuffer."""
        for view in self.views:
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
    index = xr.acquire_swapchain_image(swapchain, xr.SwapchainImageAcquireInfo())
    try:
        xr.wait_swapchain_image(swapchain, xr.SwapchainImageWaitInfo(timeout=IMAGE_WAIT_TIMEOUT_NS))
    except xr.TimeoutExpired:
        # A compositor that holds an image this long has stopped; treat it as lost.
        raise xr.RuntimeFailureError(
            "the runtime did not hand back a swapchain image in time"
        ) from None
    return int(index)
