"""Instance, system and OpenGL graphics binding: connecting to the OpenXR runtime.

Everything that can fail because of the user's machine (no runtime, no headset, no OpenGL
support in the runtime, an OpenGL context too old) is turned into a ``GmiError`` here with
one sentence saying what to do. ``xr_errors`` translates failures of OpenXR calls made while
a session runs (the runtime lost the session or died) into ``XrSessionLost``.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import xr

from gmi_vr.core.errors import GmiError, GraphicsUnavailable, XrRuntimeUnavailable, XrSessionLost
from gmi_vr.render.context import OffscreenContext, WindowContext
from gmi_vr.xr.bindings import PROFILE_EXTENSIONS

OPENGL_EXTENSION = "XR_KHR_opengl_enable"
EGL_EXTENSION = "XR_MNDX_egl_enable"
HAND_TRACKING_EXTENSION = "XR_EXT_hand_tracking"
DEPTH_LAYER_EXTENSION = "XR_KHR_composition_layer_depth"
#: Converts XrTime to and from the monotonic clock (CLOCK_MONOTONIC): ties display times to a
#: lab's clock (``OpenXrSource.clock_link``). Linux runtimes offer it (Monado does).
TIME_CONVERSION_EXTENSION = "XR_KHR_convert_timespec_time"
#: Locates several spaces in one call (``space_locator``); Monado offers it.
LOCATE_SPACES_EXTENSION = "XR_KHR_locate_spaces"
#: Enabled when offered; none of them is required.
OPTIONAL_EXTENSIONS = (
    HAND_TRACKING_EXTENSION,
    DEPTH_LAYER_EXTENSION,
    TIME_CONVERSION_EXTENSION,
    LOCATE_SPACES_EXTENSION,
    EGL_EXTENSION,
    *PROFILE_EXTENSIONS.values(),
)

NO_RUNTIME = (
    "No OpenXR runtime is running: start your headset's runtime (or Monado) and try again, "
    "or use --sim."
)

# Errors meaning the runtime went away or gave up the session mid-run.
_LOST_ERRORS: tuple[type[Exception], ...] = (
    xr.SessionLostError,
    xr.InstanceLostError,
    xr.RuntimeFailureError,
    xr.SessionLossPending,
)


def raise_for_result(code: int) -> None:
    """Raise pyopenxr's exception for a raw call's failed result code (``xr.PFN_*`` calls
    return a plain int); success and qualified successes pass."""
    if code != 0:
        result = xr.check_result(xr.Result(code))
        if result.is_exception():
            raise result


@contextlib.contextmanager
def xr_errors(doing: str) -> Iterator[None]:
    """Turn a lost session / dead runtime during ``doing`` into ``XrSessionLost``."""
    try:
        yield
    except _LOST_ERRORS as error:
        raise XrSessionLost(
            f"The OpenXR runtime stopped the session while {doing} ({type(error).__name__}): "
            "check the headset and its runtime, then start the run again."
        ) from error


@dataclass(frozen=True)
class RuntimeInfo:
    runtime_name: str
    runtime_version: str
    system_name: str
    offered_extensions: tuple[str, ...]
    enabled_extensions: tuple[str, ...]
    api_layers: tuple[str, ...]


def offered_extensions() -> list[str]:
    """Instance extensions the active runtime (and the loader) offer."""
    try:
        properties = xr.enumerate_instance_extension_properties()
    except (xr.RuntimeUnavailableError, xr.RuntimeFailureError, xr.InstanceLostError):
        raise XrRuntimeUnavailable(NO_RUNTIME) from None
    return [_text(p.extension_name) for p in properties]


def available_api_layers() -> list[str]:
    return [_text(p.layer_name) for p in xr.enumerate_api_layer_properties()]


def create_instance(
    app_name: str, api_layers: Sequence[str] = (), want_egl: bool = False
) -> tuple[xr.Instance, RuntimeInfo, xr.SystemId]:
    """Create the instance with OpenGL and every useful optional extension, and get the
    head-mounted system. Raises ``XrRuntimeUnavailable`` / ``GraphicsUnavailable``."""
    offered = offered_extensions()
    if OPENGL_EXTENSION not in offered:
        raise GraphicsUnavailable(
            "The active OpenXR runtime does not support OpenGL (XR_KHR_opengl_enable): "
            "switch to a runtime that does (Monado, SteamVR) or use --sim."
        )
    enabled = [OPENGL_EXTENSION] + [
        e for e in OPTIONAL_EXTENSIONS if e in offered and (e != EGL_EXTENSION or want_egl)
    ]
    layers = list(api_layers)
    if layers:
        missing = [name for name in layers if name not in available_api_layers()]
        if missing:
            raise GmiError(
                f"The OpenXR API layer {missing[0]} is not installed: install it or run without it."
            )
    try:
        instance = xr.create_instance(
            xr.InstanceCreateInfo(
                application_info=xr.ApplicationInfo(
                    application_name=app_name,
                    application_version=1,
                    engine_name="gmi-vr",
                    engine_version=1,
                    api_version=xr.Version(1, 0, 0),
                ),
                enabled_extension_names=enabled,
                enabled_api_layer_names=layers,
            )
        )
    except (xr.RuntimeUnavailableError, xr.RuntimeFailureError, xr.InstanceLostError):
        raise XrRuntimeUnavailable(NO_RUNTIME) from None
    try:
        properties = xr.get_instance_properties(instance)
        system = xr.get_system(
            instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY)
        )
        system_properties = xr.get_system_properties(instance, system)
    except (xr.FormFactorUnavailableError, xr.FormFactorUnsupportedError):
        xr.destroy_instance(instance)
        raise XrRuntimeUnavailable(
            "The OpenXR runtime is running but no headset is connected: connect and switch on "
            "the headset, then try again, or use --sim."
        ) from None
    except (xr.RuntimeFailureError, xr.InstanceLostError):
        xr.destroy_instance(instance)
        raise XrRuntimeUnavailable(NO_RUNTIME) from None
    info = RuntimeInfo(
        runtime_name=_text(properties.runtime_name),
        runtime_version=str(xr.Version(properties.runtime_version)),
        system_name=_text(system_properties.system_name),
        offered_extensions=tuple(offered),
        enabled_extensions=tuple(enabled),
        api_layers=tuple(layers),
    )
    return instance, info, system


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def check_opengl_requirements(instance: xr.Instance, system: xr.SystemId) -> tuple[int, int]:
    """Call xrGetOpenGLGraphicsRequirementsKHR (required before xrCreateSession) and check the
    current context's OpenGL version against it. Returns the context's (major, minor)."""
    from OpenGL import GL

    get_requirements = ctypes.cast(
        xr.get_instance_proc_addr(instance, "xrGetOpenGLGraphicsRequirementsKHR"),
        xr.PFN_xrGetOpenGLGraphicsRequirementsKHR,
    )
    requirements = xr.GraphicsRequirementsOpenGLKHR()
    result = xr.check_result(
        xr.Result(get_requirements(instance, system, ctypes.byref(requirements)))
    )
    if result.is_exception():
        raise result
    major = int(GL.glGetIntegerv(GL.GL_MAJOR_VERSION))
    minor = int(GL.glGetIntegerv(GL.GL_MINOR_VERSION))
    have = (major << 48) | (minor << 32)
    minimum = xr.Version(requirements.min_api_version_supported)
    if have < int(requirements.min_api_version_supported):
        raise GraphicsUnavailable(
            f"The OpenXR runtime needs OpenGL {minimum.major}.{minimum.minor} but this "
            f"machine's OpenGL is {major}.{minor}: update the graphics driver."
        )
    return major, minor


class GraphicsBindingOpenGLWin32(ctypes.Structure):
    """``XrGraphicsBindingOpenGLWin32KHR`` (XR_KHR_opengl_enable, Windows).

    Defined here rather than taken from pyopenxr, which defines it only when running on
    Windows (its module needs PyOpenGL's WGL platform): the structure the Linux tests fill
    and check is then the very one a Windows session passes to ``xrCreateSession``.
    Layout per the specification: ``type``, ``next``, ``hDC``, ``hGLRC``.
    """

    _fields_ = [
        ("type", ctypes.c_int32),  # XrStructureType
        ("next", ctypes.c_void_p),
        ("h_dc", ctypes.c_void_p),  # HDC
        ("h_glrc", ctypes.c_void_p),  # HGLRC
    ]


#: A structure to chain into ``XrSessionCreateInfo.next``.
GraphicsBinding: TypeAlias = (
    xr.GraphicsBindingOpenGLXlibKHR | xr.GraphicsBindingEGLMNDX | GraphicsBindingOpenGLWin32
)


def graphics_binding(context: WindowContext | OffscreenContext) -> GraphicsBinding:
    """The OpenGL graphics binding for ``context``: the one place it is chosen.

    A surfaceless EGL context binds through XR_MNDX_egl_enable; a window context through
    XR_KHR_opengl_enable's binding for its window system (Xlib on X11, Win32 on Windows).
    """
    if isinstance(context, OffscreenContext):
        return egl_binding(context)
    if context.window_system == "win32":
        return win32_binding(context)
    return glx_binding(context)


def win32_binding(context: WindowContext) -> GraphicsBindingOpenGLWin32:
    """The Win32 binding: the window's device context and its WGL context."""
    handles = context.wgl_handles()
    return GraphicsBindingOpenGLWin32(
        type=int(xr.StructureType.GRAPHICS_BINDING_OPENGL_WIN32_KHR),
        next=None,
        h_dc=handles.device_context,
        h_glrc=handles.gl_context,
    )


def glx_binding(context: WindowContext) -> xr.GraphicsBindingOpenGLXlibKHR:
    """The Xlib/GLX binding with every field filled from the window's own context (Monado
    25.1 and later check the visual id and framebuffer configuration)."""
    return xr.GraphicsBindingOpenGLXlibKHR(
        x_display=context.glx_display(),
        visualid=context.visual_id(),
        glx_fbconfig=context.glx_fbconfig(),
        glx_drawable=context.glx_drawable(),
        glx_context=context.glx_context(),
    )


def egl_binding(context: OffscreenContext) -> xr.GraphicsBindingEGLMNDX:
    """The XR_MNDX_egl_enable binding for a surfaceless EGL context."""
    from OpenGL import EGL

    binding = xr.GraphicsBindingEGLMNDX()
    binding.get_proc_address = ctypes.cast(
        EGL.eglGetProcAddress.load(), xr.PFN_xrEglGetProcAddressMNDX
    )
    binding.display = context.egl_display
    binding.config = context.egl_config
    binding.context = context.egl_context
    return binding
