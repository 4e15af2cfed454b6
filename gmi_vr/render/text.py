"""Text as textured quads: a glyph atlas rasterised once with Pillow, and per-string meshes.

The atlas is a single-channel (R8) texture holding coverage; its top-left block is fully
covered so background quads can sample it too, and one draw call paints a whole TextItem.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from OpenGL import GL
from PIL import Image, ImageDraw, ImageFont

from gmi_vr.render.context import WINDOW_SYSTEM

#: Debian's fonts-dejavu-core; on Windows the system's own sans-serif fonts follow it, and
#: Pillow's built-in font is the last fallback.
DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
#: Printable ASCII and Latin-1 (accents for clinic languages, °, ±, ·).
CHARSET = "".join(chr(c) for c in range(32, 127)) + "".join(chr(c) for c in range(160, 256))
REPLACEMENT = "?"
#: Rasterisation size (pixels per em). Mipmaps keep small text legible at 320x240.
GLYPH_PIXELS = 48
PADDING_PIXELS = 4  # empty texels around each glyph so mipmaps do not bleed
ATLAS_WIDTH = 1024
SOLID_BLOCK = 8  # the fully covered block at the atlas origin, for backgrounds
#: Background margin around the text block, as a fraction of the line height.
BACKGROUND_MARGIN = 0.3


@dataclass(frozen=True)
class Glyph:
    """Where one character sits in the atlas and how it is placed on the line.

    Pixel units at GLYPH_PIXELS: ``left``/``top`` from the pen position on the line's top
    edge (y down), ``width``/``height`` its box, ``advance`` how far the pen moves.
    ``uv`` (u0, v0, u1, v1) with v0 at the glyph's top.
    """

    left: float
    top: float
    width: float
    height: float
    advance: float
    uv: tuple[float, float, float, float]


def font_candidates() -> list[Path]:
    """Font files to try, in order: DejaVu Sans (what the app was designed with), then on
    Windows the fonts every Windows installation has (``render/win32.py``)."""
    if WINDOW_SYSTEM == "win32":
        from gmi_vr.render.win32 import system_font_paths

        return [DEJAVU_SANS, *system_font_paths()]
    return [DEJAVU_SANS]


def _load_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in font_candidates():
        if path.is_file():
            return ImageFont.truetype(str(path), GLYPH_PIXELS)
    return ImageFont.load_default(size=GLYPH_PIXELS)


def rasterise_atlas() -> tuple[NDArray[np.uint8], dict[str, Glyph], float]:
    """The atlas image (h, w) uint8 coverage, the glyph table and the line height in pixels."""
    font = _load_font()
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (GLYPH_PIXELS, 0)
    line_pixels = float(ascent + descent)
    placements: list[tuple[str, tuple[int, int, int, int], float]] = []
    for char in CHARSET:
        x0, y0, x1, y1 = (int(v) for v in font.getbbox(char))  # from the pen on the line's top
        placements.append((char, (x0, y0, x1, y1), float(font.getlength(char))))
    # Shelf packing: left to right in rows of the tallest glyph.
    row_height = max(b[3] - b[1] for _, b, _ in placements) + 2 * PADDING_PIXELS
    x, y = SOLID_BLOCK + PADDING_PIXELS, 0
    positions = []
    for _char, (x0, _y0, x1, _y1), _advance in placements:
        w = max(x1 - x0, 0) + 2 * PADDING_PIXELS
        if x + w > ATLAS_WIDTH:
            x, y = 0, y + row_height
        positions.append((x, y))
        x += w
    height = 1 << int(np.ceil(np.log2(y + row_height)))
    image = Image.new("L", (ATLAS_WIDTH, height), 0)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, SOLID_BLOCK - 1, SOLID_BLOCK - 1), fill=255)
    glyphs: dict[str, Glyph] = {}
    for (char, (x0, y0, x1, y1), advance), (px, py) in zip(placements, positions, strict=True):
        gx, gy = px + PADDING_PIXELS, py + PADDING_PIXELS
        draw.text((gx - x0, gy - y0), char, font=font, fill=255)
        w, h = max(x1 - x0, 0), max(y1 - y0, 0)
        uv = (gx / ATLAS_WIDTH, gy / height, (gx + w) / ATLAS_WIDTH, (gy + h) / height)
        glyphs[char] = Glyph(float(x0), float(y0), float(w), float(h), advance, uv)
    return np.asarray(image, dtype=np.uint8), glyphs, line_pixels


def layout_text(
    text: str, height_m: float, glyphs: dict[str, Glyph], line_pixels: float, solid_uv: tuple[float, float],
    align_left: bool = False,
) -> NDArray[np.float32]:
    """Triangles for one TextItem in its own frame (metres, +X right, +Y up, facing +Z).

    Lines (split on newlines) are centred horizontally (or, with ``align_left``, start at the
    block's left edge), the block centred on the origin; each line is ``height_m`` tall. The background rectangle comes first (layer 0),
    then one quad per visible glyph (layer 1). Returns (n_vertices, 5) float32: x, y, u, v,
    layer — two counter-clockwise triangles per quad.
    """
    scale = height_m / line_pixels
    lines = text.split("\n")
    block_height = len(lines) * height_m
    quads: list[tuple[float, float, float, float, tuple[float, float, float, float], float]] = []
    widths = [sum(glyphs.get(c, glyphs[REPLACEMENT]).advance for c in line) * scale for line in lines]
    widest = max(widths)
    for row, (line, width) in enumerate(zip(lines, widths, strict=True)):
        pen_x = -widest / 2 if align_left else -width / 2
        line_top = block_height / 2 - row * height_m
        for char in line:
            glyph = glyphs.get(char, glyphs[REPLACEMENT])
            if glyph.width > 0 and glyph.height > 0:
                x0 = pen_x + glyph.left * scale
                y1 = line_top - glyph.top * scale
                quads.append((x0, y1 - glyph.height * scale, x0 + glyph.width * scale, y1, glyph.uv, 1.0))
            pen_x += glyph.advance * scale
    margin = BACKGROUND_MARGIN * height_m
    su, sv = solid_uv
    background = (-widest / 2 - margin, -block_height / 2 - margin * 0.6,
                  widest / 2 + margin, block_height / 2 + margin * 0.6, (su, sv, su, sv), 0.0)
    vertices = []
    for x0, y0, x1, y1, (u0, v0, u1, v1), layer in [background, *quads]:
        # v0 is the glyph's top (image rows grow downwards); y1 is the quad's top.
        a, b = (x0, y0, u0, v1, layer), (x1, y0, u1, v1, layer)
        c, d = (x1, y1, u1, v0, layer), (x0, y1, u0, v0, layer)
        vertices += [a, b, c, a, c, d]
    return np.asarray(vertices, dtype=np.float32).reshape(-1, 5)


class GlyphAtlas:
    """The atlas as a mipmapped R8 texture plus its glyph table."""

    def __init__(self) -> None:
        image, self.glyphs, self.line_pixels = rasterise_atlas()
        height, width = image.shape
        # The centre of the solid block, used for background quads.
        self.solid_uv = ((SOLID_BLOCK / 2) / width, (SOLID_BLOCK / 2) / height)
        self.texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_R8, width, height, 0, GL.GL_RED, GL.GL_UNSIGNED_BYTE, image)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)

    def layout(self, text: str, height_m: float, align_left: bool = False) -> NDArray[np.float32]:
        return layout_text(text, height_m, self.glyphs, self.line_pixels, self.solid_uv, align_left)

    def release(self) -> None:
        if self.texture:
            GL.glDeleteTextures(1, [self.texture])
            self.texture = 0


class GpuText:
    """One laid-out string in a vertex array (layout: text.vert locations 0, 1, 2)."""

    def __init__(self, vertices: NDArray[np.float32]) -> None:
        data = np.ascontiguousarray(vertices, np.float32)
        self.vertex_count = int(data.shape[0])
        # The laid-out block's extent (background included), in the layout's units.
        self.min_x, self.max_x = float(data[:, 0].min()), float(data[:, 0].max())
        self.min_y, self.max_y = float(data[:, 1].min()), float(data[:, 1].max())
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, data.nbytes, data, GL.GL_STATIC_DRAW)
        stride = 5 * 4
        for location, size, offset in ((0, 2, 0), (1, 2, 8), (2, 1, 16)):
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(location, size, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(offset))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def draw(self, instances: int = 1) -> None:
        """Draw with the text program in use; ``instances`` 2 for a layered one-pass program."""
        GL.glBindVertexArray(self.vao)
        GL.glDrawArraysInstanced(GL.GL_TRIANGLES, 0, self.vertex_count, instances)

    def release(self) -> None:
        if self.vao:
            GL.glDeleteVertexArrays(1, [self.vao])
            GL.glDeleteBuffers(1, [self.vbo])
            self.vao = self.vbo = 0
