"""OpenGL contexts: a GLFW window (GLX or WGL) and a surfaceless EGL context for offscreen work.

Two providers behind one small surface (``make_current`` / ``release``):

- ``open_window_context``: a GLFW window with an OpenGL 4.1 core, forward-compatible
  context, created through GLX on X11 or WGL on Windows (``WINDOW_SYSTEM``, the one place
  the window system is chosen; Windows' own lines live in ``render/win32.py``). It serves
  the therapist window and the (hidden) window whose context an OpenXR session renders
  with; for the latter it exposes the handles the OpenXR graphics binding needs:
  ``XrGraphicsBindingOpenGLXlibKHR`` with every field filled, or the WGL handles of
  ``XrGraphicsBindingOpenGLWin32KHR``.
- ``open_offscreen_context``: EGL on the default display, an OpenGL 4.1 core context made
  current with no surface at all (``EGL_KHR_surfaceless_context``); render into framebuffer
  objects. Needs no X server.

PyOpenGL picks its platform (GLX or EGL) once, when ``OpenGL`` is first imported, from the
``PYOPENGL_PLATFORM`` environment variable. The application therefore calls
``choose_gl_platform(offscreen=...)`` before anything imports ``OpenGL`` (this module imports
it lazily for that reason). Importing pyopenxr (module ``xr``) on Linux switches PyOpenGL
to its GLX platform: an offscreen (EGL) process that also opens an OpenXR session creates
its ``OffscreenContext`` before importing pyopenxr (OpenGL calls keep working afterwards
through Mesa's shared dispatch, verified on Monado).
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import TYPE_CHECKING, Any, Literal

from gmi_vr.core.errors import GraphicsUnavailable
from gmi_vr.core.lifetime import ReleasedOnExit
from gmi_vr.render import configure_pyopengl

if TYPE_CHECKING:
    from gmi_vr.render.win32 import WglHandles

#: The OpenGL version every context provides (the renderer's shaders are GLSL 4.10 core).
GL_MAJOR, GL_MINOR = 4, 1

WindowSystem = Literal["x11", "win32"]
#: The window system GLFW windows and their OpenGL contexts use on this machine: the one
#: place the platform is chosen (PyOpenGL's platform, the window hints and the OpenXR
#: graphics binding follow from it).
WINDOW_SYSTEM: WindowSystem = "win32" if sys.platform == "win32" else "x11"

#: PyOpenGL's platform name for a window context, per window system.
_PYOPENGL_WINDOW_PLATFORM: dict[WindowSystem, str] = {"x11": "glx", "win32": "nt"}


def display_available() -> bool:
    """Whether windows can be opened: always on Windows, with a ``DISPLAY`` on X11."""
    return WINDOW_SYSTEM == "win32" or bool(os.environ.get("DISPLAY"))


def choose_gl_platform(offscreen: bool) -> None:
    """Select PyOpenGL's platform: EGL for ``offscreen``, GLX (WGL on Windows) for windows.

    Must run before the first ``import OpenGL`` in the process. Calling it again with the
    same choice is harmless; asking for the other platform after OpenGL was loaded raises
    ``RuntimeError`` (a programming error: the choice can no longer take effect).
    """
    wanted = "egl" if offscreen else _PYOPENGL_WINDOW_PLATFORM[WINDOW_SYSTEM]
    if "OpenGL.platform" in sys.modules:
        if _loaded_platform_name() != wanted:
            raise RuntimeError(
                f"PyOpenGL is already loaded with another platform; call "
                f"choose_gl_platform(offscreen={offscreen}) before anything imports OpenGL"
            )
        os.environ["PYOPENGL_PLATFORM"] = wanted
        return
    os.environ["PYOPENGL_PLATFORM"] = wanted
    configure_pyopengl(wanted)


def _loaded_platform_name() -> str:
    import OpenGL.platform as gl_platform

    name = type(gl_platform.PLATFORM).__name__.lower()  # EGLPlatform, GLXPlatform, Win32Platform
    if "egl" in name:
        return "egl"
    return "glx" if "glx" in name else "nt" if "win32" in name else name


# --------------------------------------------------------------------------- window (GLFW)

_glfw_windows_open = 0  # GLFW is initialised while at least one window context exists


class WindowContext(ReleasedOnExit):
    """A GLFW window with a current-able OpenGL 4.1 core context (GLX on X11, WGL on Windows).

    Use as a context manager or call ``release()``. All methods must be called from the
    thread that created the window (GLFW and GL are single-threaded here).
    ``window_system`` says which handles the context has (``glx_*`` or ``wgl_handles``).
    """

    def __init__(self, window: Any, window_system: WindowSystem = WINDOW_SYSTEM) -> None:
        self.window = window
        self.window_system: WindowSystem = window_system
        # The GLXFBConfig as a plain address (copied out of Xlib's array before it is freed).
        self._fbconfig_address: int | None = None
        self._visual_id: int | None = None

    # -- everyday use
    def make_current(self) -> None:
        import glfw

        glfw.make_context_current(self.window)

    def swap(self) -> None:
        import glfw

        glfw.swap_buffers(self.window)

    def should_close(self) -> bool:
        import glfw

        return bool(glfw.window_should_close(self.window))

    def poll(self) -> None:
        import glfw

        glfw.poll_events()

    def framebuffer_size(self) -> tuple[int, int]:
        """(width, height) of the default framebuffer in pixels."""
        import glfw

        width, height = glfw.get_framebuffer_size(self.window)
        return int(width), int(height)

    def release(self) -> None:
        """Destroy the window and its context; terminate GLFW with the last window."""
        global _glfw_windows_open
        if self.window is None:
            return
        import glfw

        glfw.destroy_window(self.window)
        self.window = None
        _glfw_windows_open -= 1
        if _glfw_windows_open == 0:
            glfw.terminate()


    # -- the handles an XrGraphicsBindingOpenGLWin32KHR needs (Windows)
    def wgl_handles(self) -> WglHandles:
        """The window's device context and WGL context (see ``render/win32.py``)."""
        from gmi_vr.render.win32 import wgl_handles

        return wgl_handles(self.window)

    # -- the handles an XrGraphicsBindingOpenGLXlibKHR needs (X11)
    def glx_display(self) -> Any:
        """The X ``Display*`` GLFW uses, as a PyOpenGL ``POINTER(GLX.Display)``."""
        import glfw
        from OpenGL import GLX

        address = glfw.get_x11_display()
        return ctypes.cast(ctypes.c_void_p(address), ctypes.POINTER(GLX.Display))

    def glx_drawable(self) -> int:
        """The ``GLXWindow`` GLFW makes current with the context (an XID)."""
        import glfw

        return int(glfw.get_glx_window(self.window))

    def glx_context(self) -> Any:
        """The ``GLXContext`` as a PyOpenGL ``GLX.GLXContext``."""
        import glfw
        from OpenGL import GLX

        address = glfw.get_glx_context(self.window)
        return ctypes.cast(ctypes.c_void_p(address), GLX.GLXContext)

    def glx_fbconfig(self) -> Any:
        """The ``GLXFBConfig`` the context was created with.

        Looked up once from the context's own ``GLX_FBCONFIG_ID`` (not guessed), so the
        runtime sees exactly the configuration GLFW chose. Each call returns a new pointer
        object holding the kept address, owning its own memory.
        """
        from OpenGL import GLX

        if self._fbconfig_address is None:
            self._describe_framebuffer_config()
        return ctypes.cast(ctypes.c_void_p(self._fbconfig_address), GLX.GLXFBConfig)

    def visual_id(self) -> int:
        """The X visual id of the context's framebuffer configuration."""
        if self._visual_id is None:
            self._describe_framebuffer_config()
        assert self._visual_id is not None
        return self._visual_id

    def _describe_framebuffer_config(self) -> None:
        from OpenGL import GLX

        display = self.glx_display()
        config_id = ctypes.c_int(0)
        if (
            GLX.glXQueryContext(
                display, self.glx_context(), GLX.GLX_FBCONFIG_ID, ctypes.byref(config_id)
            )
            != 0
        ):
            raise GraphicsUnavailable(
                "The X server could not describe the OpenGL context's configuration; check the display's GLX support."
            )
        wanted = (ctypes.c_int * 3)(GLX.GLX_FBCONFIG_ID, config_id.value, 0)
        count = ctypes.c_int(0)
        configs = GLX.glXChooseFBConfig(
            display, _default_screen(display), wanted, ctypes.byref(count)
        )
        if not configs or count.value < 1:
            raise GraphicsUnavailable(
                "The X server has no framebuffer configuration matching the OpenGL context; check the display's GLX support."
            )
        # ``configs[0]`` would be a view into Xlib's array, which XFree releases below and
        # the allocator then reuses: copy the handle's address out first and keep only that.
        address = ctypes.cast(configs, ctypes.POINTER(ctypes.c_void_p))[0]
        _x_free(configs)
        if not address:
            raise GraphicsUnavailable(
                "The X server has no framebuffer configuration matching the OpenGL context; check the display's GLX support."
            )
        config = ctypes.cast(ctypes.c_void_p(address), GLX.GLXFBConfig)
        visual = ctypes.c_int(0)
        GLX.glXGetFBConfigAttrib(display, config, GLX.GLX_VISUAL_ID, ctypes.byref(visual))
        self._fbconfig_address, self._visual_id = int(address), int(visual.value)


def _default_screen(display: Any) -> int:
    x11 = _libx11()
    x11.XDefaultScreen.restype = ctypes.c_int
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    return int(x11.XDefaultScreen(ctypes.cast(display, ctypes.c_void_p)))


def _x_free(pointer: Any) -> None:
    x11 = _libx11()
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XFree(ctypes.cast(pointer, ctypes.c_void_p))


def _libx11() -> ctypes.CDLL:
    return ctypes.CDLL("libX11.so.6")


def open_window_context(
    width: int,
    height: int,
    *,
    title: str = "gmi-vr",
    visible: bool = True,
    share: WindowContext | None = None,
) -> WindowContext:
    """Open a ``width`` x ``height`` (screen units) GLFW window with an OpenGL 4.1 core,
    forward-compatible, double-buffered GLX context, and make it current.

    ``share`` names another window context whose GL objects (buffers, textures, programs)
    this one shares. Raises ``GraphicsUnavailable`` when there is no X display or the
    display cannot give OpenGL 4.1.
    """
    global _glfw_windows_open
    import glfw

    if not display_available():
        raise GraphicsUnavailable(
            "No display is available for a window: run on a desktop (or under Xvfb), or use the offscreen mode."
        )
    previous_reporting = glfw.ERROR_REPORTING
    glfw.ERROR_REPORTING = "exception"
    try:
        if _glfw_windows_open == 0:
            if WINDOW_SYSTEM == "x11" and hasattr(glfw, "PLATFORM_X11"):
                glfw.init_hint(glfw.PLATFORM, glfw.PLATFORM_X11)
            glfw.init()
        try:
            glfw.default_window_hints()
            glfw.window_hint(glfw.CLIENT_API, glfw.OPENGL_API)
            glfw.window_hint(glfw.CONTEXT_CREATION_API, glfw.NATIVE_CONTEXT_API)
            glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, GL_MAJOR)
            glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, GL_MINOR)
            glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
            glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
            glfw.window_hint(glfw.DOUBLEBUFFER, True)
            glfw.window_hint(glfw.VISIBLE, visible)
            shared = share.window if share is not None else None
            window = glfw.create_window(int(width), int(height), title, None, shared)
        except glfw.GLFWError:
            if _glfw_windows_open == 0:
                glfw.terminate()
            raise
    except glfw.GLFWError as error:
        raise GraphicsUnavailable(
            f"Could not open an OpenGL {GL_MAJOR}.{GL_MINOR} window ({error}); check the display and its OpenGL drivers."
        ) from None
    finally:
        glfw.ERROR_REPORTING = previous_reporting
    if not window:
        if _glfw_windows_open == 0:
            glfw.terminate()
        raise GraphicsUnavailable(
            f"Could not open an OpenGL {GL_MAJOR}.{GL_MINOR} window; check the display and its OpenGL drivers."
        )
    _glfw_windows_open += 1
    context = WindowContext(window)
    context.make_current()
    if context.window_system == "x11":
        context._describe_framebuffer_config()  # while nothing else has touched the display
    return context


# --------------------------------------------------------------------------- offscreen (EGL)


class OffscreenContext(ReleasedOnExit):
    """An OpenGL 4.1 core context on EGL with no surface: render into framebuffer objects.

    ``egl_display``, ``egl_config`` and ``egl_context`` are the EGL handles (an OpenXR EGL
    graphics binding needs them).
    """

    def __init__(self, egl_display: Any, egl_config: Any, egl_context: Any) -> None:
        self.egl_display = egl_display
        self.egl_config = egl_config
        self.egl_context = egl_context

    def make_current(self) -> None:
        from OpenGL import EGL

        if not EGL.eglMakeCurrent(
            self.egl_display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, self.egl_context
        ):
            raise GraphicsUnavailable(
                "The offscreen OpenGL context could not be made current; check the EGL drivers."
            )

    def release(self) -> None:
        """Destroy the context and let go of the EGL display."""
        if self.egl_context is None:
            return
        from OpenGL import EGL

        EGL.eglMakeCurrent(
            self.egl_display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT
        )
        EGL.eglDestroyContext(self.egl_display, self.egl_context)
        EGL.eglTerminate(self.egl_display)
        self.egl_context = None



# EGL_KHR_create_context / EGL 1.5 attribute names (not all PyOpenGL versions export them).
_EGL_CONTEXT_MAJOR_VERSION = 0x3098
_EGL_CONTEXT_MINOR_VERSION = 0x30FB
_EGL_CONTEXT_OPENGL_PROFILE_MASK = 0x30FD
_EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT = 0x00000001
_EGL_CONTEXT_OPENGL_FORWARD_COMPATIBLE = 0x31B1


_EGL_PLATFORM_SURFACELESS_MESA = 0x31DD


def _initialised_egl_display(EGL: Any) -> Any:
    """An initialised EGL display that needs no window system.

    Mesa's surfaceless platform first (it works with no X server and no GPU device node);
    the default display otherwise, which on other drivers is the GPU device.
    """
    client_extensions = (
        (EGL.eglQueryString(EGL.EGL_NO_DISPLAY, EGL.EGL_EXTENSIONS) or b"").decode().split()
    )
    candidates = []
    if "EGL_MESA_platform_surfaceless" in client_extensions:
        candidates.append(
            lambda: EGL.eglGetPlatformDisplay(
                _EGL_PLATFORM_SURFACELESS_MESA, EGL.EGL_DEFAULT_DISPLAY, None
            )
        )
    candidates.append(lambda: EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY))
    for get_display in candidates:
        major, minor = EGL.EGLint(), EGL.EGLint()
        try:
            display = get_display()
            if display and EGL.eglInitialize(display, ctypes.byref(major), ctypes.byref(minor)):
                return display
        except EGL.EGLError:
            continue
    raise GraphicsUnavailable(
        "EGL could not open a display for offscreen OpenGL: install the Mesa EGL drivers (libegl1, libegl-mesa0)."
    )


def open_offscreen_context() -> OffscreenContext:
    """Create a surfaceless OpenGL 4.1 core, forward-compatible context on EGL's default
    display and make it current.

    Requires ``choose_gl_platform(offscreen=True)`` before OpenGL was first imported. Raises
    ``GraphicsUnavailable`` when EGL, surfaceless contexts or OpenGL 4.1 are missing.
    """
    if "OpenGL.platform" in sys.modules and _loaded_platform_name() != "egl":
        raise RuntimeError(
            "open_offscreen_context needs choose_gl_platform(offscreen=True) before OpenGL is imported"
        )
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        from OpenGL import EGL
    except (ImportError, AttributeError):
        raise GraphicsUnavailable(
            "EGL is not available for offscreen OpenGL: install the Mesa EGL drivers (libegl1, libegl-mesa0)."
        ) from None

    display = _initialised_egl_display(EGL)
    try:
        extensions = (EGL.eglQueryString(display, EGL.EGL_EXTENSIONS) or b"").decode()
        if "EGL_KHR_surfaceless_context" not in extensions.split():
            raise GraphicsUnavailable(
                "This EGL driver cannot render without a surface (EGL_KHR_surfaceless_context); use a window instead."
            )
        if not EGL.eglBindAPI(EGL.EGL_OPENGL_API):
            raise GraphicsUnavailable(
                "This EGL driver offers no desktop OpenGL; install Mesa's EGL drivers."
            )
        config_attributes = (EGL.EGLint * 5)(
            EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT, EGL.EGL_SURFACE_TYPE, 0, EGL.EGL_NONE
        )
        config = EGL.EGLConfig()
        count = EGL.EGLint()
        if (
            not EGL.eglChooseConfig(
                display, config_attributes, ctypes.byref(config), 1, ctypes.byref(count)
            )
            or count.value < 1
        ):
            raise GraphicsUnavailable(
                "EGL offers no OpenGL configuration for offscreen rendering; install Mesa's EGL drivers."
            )
        context_attributes = (EGL.EGLint * 9)(
            _EGL_CONTEXT_MAJOR_VERSION, GL_MAJOR,
            _EGL_CONTEXT_MINOR_VERSION, GL_MINOR,
            _EGL_CONTEXT_OPENGL_PROFILE_MASK, _EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
            _EGL_CONTEXT_OPENGL_FORWARD_COMPATIBLE, 1,
            EGL.EGL_NONE,
        )  # fmt: skip
        context = EGL.eglCreateContext(display, config, EGL.EGL_NO_CONTEXT, context_attributes)
        if context == EGL.EGL_NO_CONTEXT:
            raise GraphicsUnavailable(
                f"EGL could not create an OpenGL {GL_MAJOR}.{GL_MINOR} core context; a newer Mesa (or GPU driver) is needed."
            )
    except BaseException:
        EGL.eglTerminate(display)
        raise
    offscreen = OffscreenContext(display, config, context)
    try:
        offscreen.make_current()
    except BaseException:
        offscreen.release()
        raise
    return offscreen
