"""A view to render: where the eye is and its field of view, and the projection they make.

Renderer-neutral plain data, shared by the frame sources (which know the views) and the
renderer (which draws them). Matrices follow the package's column-vector convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmi_vr.core.types import FloatArray, Pose, ViewInfo


@dataclass(frozen=True)
class Camera:
    """A view to render: ``pose`` is world_from_eye (the eye looks along its -Z), the field of
    view in radians with OpenXR's signs (left and down negative)."""

    pose: Pose
    fov_left: float
    fov_right: float
    fov_up: float
    fov_down: float
    near: float = 0.05
    far: float = 100.0

    @staticmethod
    def from_view(view: ViewInfo, near: float = 0.05, far: float = 100.0) -> Camera:
        """The camera of one runtime view: its pose and asymmetric field of view, with the given
        near and far clip distances in metres."""
        return Camera(view.pose, view.fov_left, view.fov_right, view.fov_up, view.fov_down, near, far)

    @staticmethod
    def symmetric(pose: Pose, vertical_fov_rad: float, aspect: float) -> Camera:
        """A camera at ``pose`` with a symmetric field of view: ``vertical_fov_rad`` in radians, the
        horizontal one from ``aspect`` (width / height)."""
        half_v = vertical_fov_rad / 2
        half_h = float(np.arctan(np.tan(half_v) * aspect))
        return Camera(pose, -half_h, half_h, half_v, -half_v)

    def projection(self) -> FloatArray:
        """4x4 clip_from_eye, OpenGL clip space (z in -1..1), from asymmetric fov angles
        (the same construction as the OpenXR SDK's XrMatrix4x4f_CreateProjectionFov)."""
        left, right = np.tan(self.fov_left), np.tan(self.fov_right)
        up, down = np.tan(self.fov_up), np.tan(self.fov_down)
        width, height = right - left, up - down
        n, f = self.near, self.far
        return np.array(
            [
                [2 / width, 0, (right + left) / width, 0],
                [0, 2 / height, (up + down) / height, 0],
                [0, 0, -(f + n) / (f - n), -2 * f * n / (f - n)],
                [0, 0, -1, 0],
            ]
        )
