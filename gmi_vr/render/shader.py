"""Shader programs built from the GLSL files in ``shaders/``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike
from OpenGL import GL

from gmi_vr.assets.locations import shader_path
from gmi_vr.core.errors import GraphicsUnavailable


def _driver_refused(doing: str, log: bytes) -> GraphicsUnavailable:
    """The one sentence for a shader the driver would not compile, or a program it would not
    link (``doing``), with the driver's own log."""
    words = log.decode(errors="replace").strip()
    return GraphicsUnavailable(f"The OpenGL driver could not {doing} ({words}); an OpenGL 4.1 core driver is needed.")


def _compile(stage: int, file_name: str, preamble: str = "") -> int:
    source = shader_path(file_name).read_text(encoding="utf-8")
    if preamble:  # right after the #version line, which must come before any code
        lines = source.splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if line.startswith("#version"))
        source = "".join(lines[:at + 1]) + preamble + "".join(lines[at + 1:])
    shader = GL.glCreateShader(stage)
    GL.glShaderSource(shader, source)
    GL.glCompileShader(shader)
    if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
        log = GL.glGetShaderInfoLog(shader)
        GL.glDeleteShader(shader)
        raise _driver_refused(f"compile shaders/{file_name}", log)
    return int(shader)


class ShaderProgram:
    """A linked vertex + fragment program; uniforms are set by name while it is in use.

    Matrices are numpy row-major column-vector matrices (gmi_vr.geometry) and are
    uploaded with ``transpose=GL_TRUE``. ``vertex_preamble`` goes right after the vertex
    shader's ``#version`` line (``render.stereo.shader_preamble``: the view index).
    """

    def __init__(self, vertex_file: str, fragment_file: str, vertex_preamble: str = "") -> None:
        self.name = f"{vertex_file}+{fragment_file}"
        stages = [
            _compile(GL.GL_VERTEX_SHADER, vertex_file, vertex_preamble),
            _compile(GL.GL_FRAGMENT_SHADER, fragment_file),
        ]
        program = GL.glCreateProgram()
        for shader in stages:
            GL.glAttachShader(program, shader)
        GL.glLinkProgram(program)
        for shader in stages:
            GL.glDetachShader(program, shader)
            GL.glDeleteShader(shader)
        if not GL.glGetProgramiv(program, GL.GL_LINK_STATUS):
            log = GL.glGetProgramInfoLog(program)
            GL.glDeleteProgram(program)
            raise _driver_refused(f"link {self.name}", log)
        self.program: int = int(program)
        self._locations: dict[str, int] = {}

    def use(self) -> None:
        GL.glUseProgram(self.program)

    def location(self, uniform: str) -> int:
        """The uniform's location; -1 (ignored by GL) when the compiler optimised it away."""
        if uniform not in self._locations:
            self._locations[uniform] = int(GL.glGetUniformLocation(self.program, uniform))
        return self._locations[uniform]

    def set_mat4(self, uniform: str, matrix: ArrayLike) -> None:
        GL.glUniformMatrix4fv(self.location(uniform), 1, GL.GL_TRUE, np.asarray(matrix, np.float32))

    def set_mat3(self, uniform: str, matrix: ArrayLike) -> None:
        GL.glUniformMatrix3fv(self.location(uniform), 1, GL.GL_TRUE, np.asarray(matrix, np.float32))

    def set_vec3(self, uniform: str, value: Iterable[float]) -> None:
        x, y, z = (float(v) for v in value)
        GL.glUniform3f(self.location(uniform), x, y, z)

    def set_vec4(self, uniform: str, value: Iterable[float]) -> None:
        x, y, z, w = (float(v) for v in value)
        GL.glUniform4f(self.location(uniform), x, y, z, w)

    def set_float(self, uniform: str, value: float) -> None:
        GL.glUniform1f(self.location(uniform), float(value))

    def set_int(self, uniform: str, value: int) -> None:
        GL.glUniform1i(self.location(uniform), int(value))

    def release(self) -> None:
        if self.program:
            GL.glDeleteProgram(self.program)
            self.program = 0
