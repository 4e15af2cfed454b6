"""The ``View`` uniform block every program reads its camera from (std140; declared in
shaders/mesh.vert): one clip_from_world and eye position per view, so a one-pass stereo
program (``render.stereo``) finds both eyes in it, and the target's sRGB encoding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from gmi_vr.core.types import FloatArray

#: Binding point of the View block, shared by every program.
VIEW_BINDING = 0
#: mat4 u_clip_from_world[2] (128 bytes), vec4 u_eye_position[2] (32), int u_encode_srgb
#: (padded to 16).
VIEW_BLOCK_BYTES = 176
_EYES_AT, _ENCODE_AT = 32, 40  # float offsets


def view_block(clip_from_world: Sequence[FloatArray], eye_position: Sequence[FloatArray],
               encode_srgb: bool) -> NDArray[np.float32]:
    """The block's bytes as (VIEW_BLOCK_BYTES / 4,) float32 for one or two views: each
    ``clip_from_world`` a (4, 4) column-vector matrix (stored column by column, the transpose
    of numpy's rows), each ``eye_position`` (3,) world metres."""
    view = np.zeros(VIEW_BLOCK_BYTES // 4, np.float32)
    for index, (clip, eye) in enumerate(zip(clip_from_world, eye_position, strict=True)):
        view[16 * index:16 * index + 16] = np.asarray(clip).T.reshape(16)
        view[_EYES_AT + 4 * index:_EYES_AT + 4 * index + 3] = eye
    view[_ENCODE_AT:_ENCODE_AT + 1].view(np.int32)[0] = int(encode_srgb)
    return view
