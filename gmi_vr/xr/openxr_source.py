"""The OpenXR frame source: one ``TrackingFrame`` per display frame from a real runtime.

One frame, in order (OpenXR specification "Frame Submission"; hello_xr's ``RenderFrame``):

1. ``_poll_events``: drain every pending event; session state changes go through
   ``SessionLifecycle`` (READY → xrBeginSession, STOPPING → xrEndSession, EXITING → leave,
   LOSS_PENDING → ``XrSessionLost``).
2. While the session runs: ``xrWaitFrame`` (paces us to the display), ``xrBeginFrame``
   (``XR_FRAME_DISCARDED`` is a normal success), then ``_track``: locate the views and the
   head at the predicted display time, ``xrSyncActions``, read both hands.
3. ``frames()`` yields the ``TrackingFrame``; the application runs its logic and calls
   ``present(draw_list)``, which renders each view through the injected ``view_renderer``
   into that view's swapchain images (or both views at once through ``stereo_renderer``
   into the layers of one two-layer swapchain, ``swapchains``) and calls ``xrEndFrame``
   with one projection layer.
   If ``present`` is not called (or ``shouldRender`` is false, or the views are not
   valid) the frame still ends, with no layers: wait/begin/end always come in pairs.

``clock_link()`` ties the runtime's clock (XrTime) to the monotonic clock, for submit times
and the Lab Streaming Layer: measured with XR_KHR_convert_timespec_time where the runtime
offers it (Monado does), else estimated at the first frame (see ``estimated_link``).

``request_stop()`` asks the runtime to end the session (``xrRequestExitSession``); the
runtime then walks it through STOPPING and EXITING and ``frames()`` returns.

A lost session or a runtime that dies mid-run ends ``frames()`` with ``XrSessionLost``
(one sentence); leaving the ``with`` block then releases everything that is left.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import xr

from gmi_vr.core.errors import GraphicsUnavailable, XrRuntimeUnavailable, XrSessionLost
from gmi_vr.core.haptics import HapticPulse
from gmi_vr.core.lifetime import ReleasedOnExit
from gmi_vr.core.types import ClockLink, Pose, Side, TrackingFrame, ViewInfo
from gmi_vr.geometry.camera import Camera
from gmi_vr.render.context import OffscreenContext, WindowContext, open_window_context
from gmi_vr.render.stereo import StereoTarget
from gmi_vr.xr.actions import HandActions
from gmi_vr.xr.hands_only import HandsOnly
from gmi_vr.xr.runtime import (
    DEPTH_LAYER_EXTENSION,
    EGL_EXTENSION,
    HAND_TRACKING_EXTENSION,
    LOCATE_SPACES_EXTENSION,
    TIME_CONVERSION_EXTENSION,
    RuntimeInfo,
    check_opengl_requirements,
    create_instance,
    graphics_binding,
    xr_errors,
)
from gmi_vr.xr.session_state import Action, SessionLifecycle, SessionState
from gmi_vr.xr.space_locator import SpaceLocator
from gmi_vr.xr.swapchains import ViewSwapchains
from gmi_vr.xr.tracking import RawView, tracking_frame

#: What ``present`` is given to draw (the app's ``DrawList``): this layer only passes it on.
Scene = TypeVar("Scene")
#: Draws one view: (scene, camera, framebuffer, width, height) -> None. The framebuffer
#: is bound with the view's colour and depth images attached and the viewport set.
ViewRenderer = Callable[[Scene, Camera, int, int, int], None]
#: Draws both views in one pass: (scene, (left camera, right camera), target) -> None, into
#: layers 0 and 1 of the target's texture arrays (``Renderer.draw_stereo``).
StereoRenderer = Callable[[Scene, tuple[Camera, Camera], StereoTarget], None]
#: Keeps a copy of the left eye's picture right after it is drawn, while its swapchain
#: image is still acquired (the image may not be read once released): (scene, colour
#: texture, its array layer or None for a 2D texture, width, height) -> None.
EyeKeeper = Callable[[Scene, int, int | None, int, int], None]

VIEW_CONFIGURATION = xr.ViewConfigurationType.PRIMARY_STEREO
#: While the session is not running (IDLE, after STOPPING), events are polled this often.
IDLE_POLL_S = 0.02


@dataclass
class _OpenFrame:
    """A frame between xrBeginFrame and xrEndFrame."""

    display_time: int
    should_render: bool
    views: Sequence[xr.View]
    views_valid: bool


def _pose(pose: xr.Posef) -> tuple[float, ...]:
    p, q = pose.position, pose.orientation
    return (p.x, p.y, p.z, q.x, q.y, q.z, q.w)


class OpenXrSource(ReleasedOnExit, Generic[Scene]):
    """The ``openxr`` frame source (see the module docstring for one frame's path).

    ``view_renderer`` draws one eye of what ``present`` is given; without it frames end with no layers (input only).
    ``stereo_renderer`` (optional) draws both eyes in one pass; it is used when the
    runtime's two views share one size (``one_pass``), else ``view_renderer`` draws each.
    ``gl_context`` is the GL context the session renders with: a GLFW window context
    (the therapist window, for example) bound through XR_KHR_opengl_enable's Xlib binding
    (Win32 binding on Windows),
    or a surfaceless EGL ``OffscreenContext`` bound through XR_MNDX_egl_enable where the
    runtime offers it (Monado does; create that context before this module is imported:
    importing pyopenxr switches PyOpenGL to its GLX platform). Without it a small hidden
    window is opened.
    ``api_layers`` names OpenXR API layers to enable (e.g. core validation).
    ``on_event`` receives one line per lifecycle event (state changes, profile changes).
    ``ready_timeout_s`` bounds the wait for the runtime to make the session READY (None:
    wait as long as it takes, as a headset app should). ``hands_only``: a hand whose controller
    is not active is read from its tracked joints (``xr.hands_only``: pinch, open-palm stop).
    ``keep_left_eye`` is handed the left eye's image every frame it is drawn (the therapist
    window shows it instead of drawing the scene once more).
    """

    def __init__(
        self,
        view_renderer: ViewRenderer[Scene] | None = None,
        *,
        stereo_renderer: StereoRenderer[Scene] | None = None,
        gl_context: WindowContext | OffscreenContext | None = None,
        api_layers: Sequence[str] = (),
        app_name: str = "gmi-vr",
        near_m: float = 0.05,
        far_m: float = 100.0,
        on_event: Callable[[str], None] | None = None,
        ready_timeout_s: float | None = None,
        hands_only: bool = False,
        keep_left_eye: EyeKeeper[Scene] | None = None,
    ) -> None:
        self.view_renderer = view_renderer
        self.keep_left_eye = keep_left_eye
        self.stereo_renderer = stereo_renderer
        self.api_layers = tuple(api_layers)
        self.app_name = app_name
        self.near_m, self.far_m = near_m, far_m
        self.on_event = on_event or (lambda _line: None)
        self.ready_timeout_s = ready_timeout_s
        self.lifecycle = SessionLifecycle()
        self.info: RuntimeInfo | None = None
        self.reference_space_type: xr.ReferenceSpaceType | None = None
        self.hand_tracking = False
        self._gl_context: WindowContext | OffscreenContext | None = gl_context
        self._own_gl_context: WindowContext | None = None
        self._instance: xr.Instance | None = None
        self._system: xr.SystemId | None = None
        self._session: xr.Session | None = None
        self._space: xr.Space | None = None
        self._view_space: xr.Space | None = None
        self._locator: SpaceLocator | None = None
        self._actions: HandActions | None = None
        self._swapchains: ViewSwapchains | None = None
        self._depth_layers = False
        #: The projection layer and its views, made at the first rendered frame (``_projection_layer``).
        self._layer: tuple[xr.CompositionLayerProjection, ctypes.Array[xr.CompositionLayerProjectionView]] | None = None
        self._layer_keep_alive: list[Any] = []
        self._blend_mode = xr.EnvironmentBlendMode.OPAQUE
        self._frame: _OpenFrame | None = None
        # Chosen by the therapist, never automatic: a runtime may go on reporting a switched-off
        # controller's hand joints as tracked from its last pose (Monado's remote driver does),
        # and a stale hand must never be shown as the patient's.
        self._hands_only = HandsOnly() if hands_only else None
        self._exit = False
        self._lost = False
        self._clock: ClockLink | None = None

    # ------------------------------------------------------------------ lifetime

    def __enter__(self) -> Self:
        try:
            self._open()
        except BaseException:
            self.release()
            raise
        return self

    def _open(self) -> None:
        # The GL context exists before the instance: initialising GLFW after a Python API
        # layer (pyopenxr's xr.api_layer, used by the fault-injection tests) was set up made
        # the loader crash in the next xrGetInstanceProcAddr.
        if self._gl_context is None:
            self._own_gl_context = open_window_context(64, 64, title="gmi-vr OpenXR", visible=False)
            self._gl_context = self._own_gl_context
        self._gl_context.make_current()
        use_egl = isinstance(self._gl_context, OffscreenContext)
        self._instance, self.info, self._system = create_instance(
            self.app_name, self.api_layers, want_egl=use_egl
        )
        if use_egl and EGL_EXTENSION not in self.info.enabled_extensions:
            raise GraphicsUnavailable(
                "The OpenXR runtime cannot use an offscreen (EGL) OpenGL context: run with a display instead."
            )
        enabled = self.info.enabled_extensions
        check_opengl_requirements(self._instance, self._system)
        self._actions = HandActions(self._instance, enabled)
        binding = graphics_binding(self._gl_context)
        try:
            self._session = xr.create_session(
                self._instance,
                xr.SessionCreateInfo(
                    next=ctypes.cast(ctypes.pointer(binding), ctypes.c_void_p),
                    system_id=self._system,
                ),
            )
        except (
            xr.GraphicsDeviceInvalidError,
            xr.GraphicsRequirementsCallMissingError,
            xr.ValidationFailureError,
        ) as error:
            raise GraphicsUnavailable(
                f"The OpenXR runtime refused this machine's OpenGL context ({type(error).__name__}): "
                "check the graphics driver, or use --sim."
            ) from None
        except (xr.RuntimeFailureError, xr.InstanceLostError) as error:
            raise XrRuntimeUnavailable(
                f"The OpenXR runtime could not start a session ({type(error).__name__}): restart the "
                "runtime and try again, or use --sim."
            ) from None
        self.hand_tracking = (
            HAND_TRACKING_EXTENSION in enabled and self._system_supports_hand_tracking()
        )
        self._actions.attach(self._session, self.hand_tracking)
        self.reference_space_type = self._choose_reference_space()
        self._space = xr.create_reference_space(
            self._session,
            xr.ReferenceSpaceCreateInfo(
                reference_space_type=self.reference_space_type, pose_in_reference_space=xr.Posef()
            ),
        )
        self._view_space = xr.create_reference_space(
            self._session,
            xr.ReferenceSpaceCreateInfo(
                reference_space_type=xr.ReferenceSpaceType.VIEW, pose_in_reference_space=xr.Posef()
            ),
        )
        # The head (view space) first, then each hand's grip and aim: located together each frame.
        self._locator = SpaceLocator(
            self._instance, self._session, self._space, [self._view_space, *self._actions.pose_spaces()],
            batched=LOCATE_SPACES_EXTENSION in enabled,
        )
        view_configs = xr.enumerate_view_configuration_views(
            self._instance, self._system, VIEW_CONFIGURATION
        )
        self._depth_layers = DEPTH_LAYER_EXTENSION in enabled
        self._swapchains = ViewSwapchains(self._session, view_configs, with_depth=True,
                                          one_pass=self.stereo_renderer is not None)  # fmt: skip
        blend_modes = list(
            xr.enumerate_environment_blend_modes(self._instance, self._system, VIEW_CONFIGURATION)
        )
        self._blend_mode = (
            xr.EnvironmentBlendMode.OPAQUE
            if xr.EnvironmentBlendMode.OPAQUE in blend_modes
            else xr.EnvironmentBlendMode(blend_modes[0])
        )

    def _system_supports_hand_tracking(self) -> bool:
        hand_tracking = xr.SystemHandTrackingPropertiesEXT()
        properties = xr.SystemProperties(
            next=ctypes.cast(ctypes.pointer(hand_tracking), ctypes.c_void_p)
        )
        result = xr.check_result(
            xr.Result(
                xr.raw_functions.xrGetSystemProperties(
                    self._instance, self._system, ctypes.byref(properties)
                )
            )
        )
        if result.is_exception():
            raise result
        return bool(hand_tracking.supports_hand_tracking)

    def _choose_reference_space(self) -> xr.ReferenceSpaceType:
        """STAGE (floor-level, room-fixed) when the runtime has one, LOCAL otherwise."""
        offered = [xr.ReferenceSpaceType(s) for s in xr.enumerate_reference_spaces(self._session)]
        return (
            xr.ReferenceSpaceType.STAGE
            if xr.ReferenceSpaceType.STAGE in offered
            else xr.ReferenceSpaceType.LOCAL
        )

    def release(self) -> None:
        """Release everything, in reverse order of creation (leaving the ``with`` block does).
        After a runtime crash the calls fail; each failure is ignored so the rest is still
        released and nothing hangs. A second call releases nothing more."""
        if self._gl_context is not None:
            self._gl_context.make_current()
        if self._frame is not None:
            self._end_frame_quietly()
        steps: list[Callable[[], object]] = []
        if self._swapchains is not None:
            steps.append(self._swapchains.destroy)
        if self._actions is not None:
            steps.append(self._actions.destroy)
        for space in (self._view_space, self._space):
            if space is not None:
                steps.append(functools.partial(xr.destroy_space, space))
        if self._session is not None:
            steps.append(lambda: xr.destroy_session(self._session))
        if self._instance is not None:
            steps.append(lambda: xr.destroy_instance(self._instance))
        for step in steps:
            try:
                step()
            except xr.XrException:
                pass
        self._swapchains = self._actions = self._space = self._view_space = self._locator = None
        self._layer, self._layer_keep_alive = None, []
        self._session = self._instance = None
        if self._own_gl_context is not None:
            self._own_gl_context.release()
            self._own_gl_context = self._gl_context = None

    # ------------------------------------------------------------------ the frame loop

    def frames(self) -> Iterator[TrackingFrame]:
        """Yield one frame per display frame until the runtime ends the session (EXITING).

        After each yield call ``present(draw_list)`` once (or not at all for a frame with
        nothing to show). Raises ``XrSessionLost`` when the session is lost."""
        if self._session is None:
            raise RuntimeError("use OpenXrSource as a context manager before calling frames()")
        index = 0
        started = time.monotonic()
        while True:
            with xr_errors("reading runtime events"):
                self._poll_events()
            if self._exit:
                return
            if not self.lifecycle.should_run_frames:
                if (
                    self.ready_timeout_s is not None
                    and index == 0
                    and time.monotonic() - started > self.ready_timeout_s
                ):
                    raise XrRuntimeUnavailable(
                        f"The OpenXR runtime did not start the session within {self.ready_timeout_s:.0f} s: "
                        "wake the headset (put it on) and try again."
                    )
                time.sleep(IDLE_POLL_S)  # no xrWaitFrame to pace us while the session is idle
                continue
            with xr_errors("waiting for the next frame"):
                frame_state = xr.wait_frame(self._session, xr.FrameWaitInfo())
                if self._clock is None:
                    self._clock = self._link_clock(frame_state, time.monotonic_ns())
                try:
                    xr.begin_frame(self._session, xr.FrameBeginInfo())
                except xr.FrameDiscarded:
                    pass  # the previous frame was dropped; this one goes ahead
            self._frame = _OpenFrame(
                int(frame_state.predicted_display_time), bool(frame_state.should_render), (), False
            )
            try:
                with xr_errors("reading tracking"):
                    frame = self._track(index)
                yield frame
            finally:
                if self._frame is not None:  # present() was not called, or the loop was left
                    self._end_frame_quietly()
            index += 1

    def _track(self, index: int) -> TrackingFrame:
        assert self._frame is not None and self._session is not None and self._actions is not None
        assert self._locator is not None
        display_time = self._frame.display_time
        view_state, views = xr.locate_views(
            self._session,
            xr.ViewLocateInfo(
                view_configuration_type=VIEW_CONFIGURATION,
                display_time=display_time,
                space=self._space,
            ),
        )
        valid_bits = xr.VIEW_STATE_ORIENTATION_VALID_BIT | xr.VIEW_STATE_POSITION_VALID_BIT
        self._frame.views = views
        self._frame.views_valid = (int(view_state.view_state_flags) & valid_bits) == valid_bits
        focused = self._actions.sync(self._session) and self.lifecycle.focused
        head, *hand_poses = self._locator.locate(display_time)
        left, right = self._actions.read(self._session, self._space, display_time, hand_poses)
        frame = tracking_frame(
            index=index,
            predicted_display_time_ns=display_time,
            head=head,
            views=tuple(
                RawView(
                    _pose(v.pose),
                    (v.fov.angle_left, v.fov.angle_right, v.fov.angle_up, v.fov.angle_down),
                )
                for v in views
            ),
            views_valid=self._frame.views_valid,
            left=left,
            right=right,
            focused=focused,
        )
        # With hands_only, a hand with no active controller but tracked joints is read from its joints.
        if self._hands_only is None:
            return frame
        head_pose = frame.head if frame.head_valid else None
        return dataclasses.replace(
            frame,
            left=self._hands_only.apply(Side.LEFT, frame.left, frame.time_s, head_pose),
            right=self._hands_only.apply(Side.RIGHT, frame.right, frame.time_s, head_pose),
        )

    def present(self, draw_list: Scene) -> None:
        """Render ``draw_list`` (through ``view_renderer``) into every view and end the frame (xrEndFrame)."""
        frame = self._frame
        if frame is None:
            raise RuntimeError("present() is called once per frame, after frames() yielded it")
        layers: list[Any] = []
        try:
            if frame.should_render and frame.views_valid and self.view_renderer is not None:
                with xr_errors("rendering a frame"):
                    layers = [ctypes.byref(self._render(draw_list, frame))]
        except BaseException:
            self._end_frame_quietly()
            raise
        self._frame = None
        with xr_errors("submitting a frame"):
            self._end_frame(frame, layers)

    @property
    def one_pass(self) -> bool:
        """Whether both eyes are drawn in one pass into one two-layer swapchain (a
        ``stereo_renderer`` was given and the runtime's two views share one size)."""
        return self._swapchains is not None and self._swapchains.one_pass

    def _render(self, draw_list: Scene, frame: _OpenFrame) -> xr.CompositionLayerProjection:
        assert self._swapchains is not None and self.view_renderer is not None
        renderer = self.view_renderer
        cameras = [
            Camera.from_view(ViewInfo(
                Pose.from_array(_pose(view.pose)),
                view.fov.angle_left, view.fov.angle_right, view.fov.angle_up, view.fov.angle_down,
            ), self.near_m, self.far_m)
            for view in frame.views
        ]  # fmt: skip
        one_pass = self._swapchains.one_pass and self.stereo_renderer is not None
        keep = self.keep_left_eye
        if one_pass:
            stereo_renderer = self.stereo_renderer
            assert stereo_renderer is not None

            def draw_both(target: StereoTarget) -> None:
                stereo_renderer(draw_list, (cameras[0], cameras[1]), target)
                if keep is not None:
                    keep(draw_list, target.color_texture, 0, target.width, target.height)

            self._swapchains.render_both(draw_both)
        else:
            swapchains = self._swapchains

            def draw_one(index: int, framebuffer: int, width: int, height: int) -> None:
                renderer(draw_list, cameras[index], framebuffer, width, height)
                if keep is not None and index == 0:
                    keep(draw_list, swapchains.drawn_color, None, width, height)

            for index in range(len(frame.views)):
                swapchains.render_view(index, functools.partial(draw_one, index))
        if self._layer is None:
            self._layer = self._projection_layer(one_pass)
        layer, projection_views = self._layer
        for projection_view, view in zip(projection_views, frame.views, strict=True):
            projection_view.pose, projection_view.fov = view.pose, view.fov  # copied into the structure
        return layer

    def _projection_layer(
        self, one_pass: bool
    ) -> tuple[xr.CompositionLayerProjection, ctypes.Array[xr.CompositionLayerProjectionView]]:
        """The projection layer every frame submits, made once: its views' images and
        depth never change, only their poses and fields of view (set by ``_render``)."""
        assert self._swapchains is not None
        projection_views = []
        for index, chain in enumerate(self._swapchains.views):
            layer = index if one_pass else 0
            rect = xr.Rect2Di(offset=xr.Offset2Di(0, 0), extent=xr.Extent2Di(chain.width, chain.height))
            depth_info = None
            if self._depth_layers and chain.depth is not None:
                depth_info = xr.CompositionLayerDepthInfoKHR(
                    sub_image=xr.SwapchainSubImage(swapchain=chain.depth, image_rect=rect, image_array_index=layer),
                    min_depth=0.0, max_depth=1.0, near_z=self.near_m, far_z=self.far_m,
                )  # fmt: skip
                self._layer_keep_alive.append(depth_info)
            projection_views.append(xr.CompositionLayerProjectionView(
                sub_image=xr.SwapchainSubImage(swapchain=chain.color, image_rect=rect, image_array_index=layer),
                next=ctypes.cast(ctypes.pointer(depth_info), ctypes.c_void_p) if depth_info is not None else None,
            ))  # fmt: skip
        views = (xr.CompositionLayerProjectionView * len(projection_views))(*projection_views)
        return xr.CompositionLayerProjection(space=self._space, views=views), views

    def _end_frame(self, frame: _OpenFrame, layers: list[Any]) -> None:
        xr.end_frame(
            self._session,
            xr.FrameEndInfo(
                display_time=frame.display_time,
                environment_blend_mode=self._blend_mode,
                layers=layers or None,
            ),
        )

    def _end_frame_quietly(self) -> None:
        """End the open frame with no layers; errors are ignored (the session may be gone)."""
        frame, self._frame = self._frame, None
        if frame is None or self._session is None or self._lost:
            return
        try:
            self._end_frame(frame, [])
        except xr.XrException:
            pass

    def _poll_events(self) -> None:
        assert self._instance is not None and self._actions is not None
        while True:
            try:
                event = xr.poll_event(self._instance)
            except xr.EventUnavailable:
                return
            kind = xr.StructureType(event.type)
            if kind == xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED:
                changed = ctypes.cast(
                    ctypes.byref(event), ctypes.POINTER(xr.EventDataSessionStateChanged)
                ).contents
                self._on_session_state(int(changed.state))
            elif kind == xr.StructureType.EVENT_DATA_INSTANCE_LOSS_PENDING:
                self._lost = True
                raise XrSessionLost(
                    "The OpenXR runtime is shutting down: restart it (or reconnect the headset) and start the run again."
                )
            elif kind == xr.StructureType.EVENT_DATA_INTERACTION_PROFILE_CHANGED:
                self._actions.forget_profiles()
                self.on_event("interaction profile changed")
            elif kind == xr.StructureType.EVENT_DATA_EVENTS_LOST:
                self.on_event("the runtime dropped events")

    def _on_session_state(self, state: int) -> None:
        action = self.lifecycle.on_state_changed(state)
        self.on_event(f"session state {SessionState(state).name}")
        if action is Action.BEGIN_SESSION:
            xr.begin_session(
                self._session,
                xr.SessionBeginInfo(primary_view_configuration_type=VIEW_CONFIGURATION),
            )
            self.lifecycle.began()
        elif action is Action.END_SESSION:
            xr.end_session(self._session)
            self.lifecycle.ended()
        elif action is Action.EXIT_LOOP:
            self._exit = True
        elif action is Action.SESSION_LOST:
            self._lost = True
            self.lifecycle.ended()
            raise XrSessionLost(
                "The OpenXR runtime lost the session (the headset was disconnected or its runtime "
                "restarted): check the headset and start the run again."
            )

    def vibrate(self, pulses: Sequence[HapticPulse]) -> None:
        """Play therapy's haptic requests on the controllers (xrApplyHapticFeedback). While
        the session is not running or not focused there is no hand to vibrate: nothing
        happens, as the specification has it."""
        if self._session is None or self._actions is None or not self.lifecycle.running:
            return
        for pulse in pulses:
            try:
                with xr_errors("vibrating a controller"):
                    self._actions.vibrate(self._session, pulse)
            except (xr.SessionNotFocused, xr.SessionNotRunningError):
                return

    def request_stop(self) -> None:
        """Ask the runtime to end the session (xrRequestExitSession): it moves the session to
        STOPPING and then EXITING, after which ``frames()`` returns."""
        if self._session is None or self._exit:
            return
        if not self.lifecycle.running:
            self._exit = True  # nothing is running: there is nothing for the runtime to stop
            return
        try:
            xr.request_exit_session(self._session)
        except xr.SessionNotRunningError:
            self._exit = True
        except (xr.SessionLostError, xr.InstanceLostError, xr.RuntimeFailureError):
            self._exit = True

    # ------------------------------------------------------------------ clocks

    def clock_link(self) -> ClockLink | None:
        """How XrTime relates to the monotonic clock (None before the first frame)."""
        return self._clock

    def _link_clock(self, frame_state: xr.FrameState, waited_ns: int) -> ClockLink:
        """Measure the link with XR_KHR_convert_timespec_time (exact: the runtime converts a
        monotonic instant to XrTime), else estimate it (``estimated_link``)."""
        assert self.info is not None and self._instance is not None
        if TIME_CONVERSION_EXTENSION in self.info.enabled_extensions:
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            converted = xr.convert_timespec_time_to_time_khr(
                self._instance, xr.timespec(now // 1_000_000_000, now % 1_000_000_000))
            return ClockLink(now - int(converted.value), True, f"{TIME_CONVERSION_EXTENSION} (measured)")
        return estimated_link(int(frame_state.predicted_display_time),
                              int(frame_state.predicted_display_period), waited_ns)  # fmt: skip

    # ------------------------------------------------------------------ for tools and tests

    def interaction_profiles(self) -> dict[str, str]:
        """The profile bound per hand right now, e.g. {"left": "/interaction_profiles/valve/index_controller"}."""
        if self._session is None or self._actions is None:
            return {}
        return {
            side: self._actions.current_profile(self._session, i)
            for i, side in enumerate(("left", "right"))
        }

    @property
    def suggested_profiles(self) -> list[str]:
        return list(self._actions.suggested_profiles) if self._actions else []


def estimated_link(display_time_ns: int, display_period_ns: int, waited_ns: int) -> ClockLink:
    """The link where the runtime cannot convert its times (no XR_KHR_convert_timespec_time,
    e.g. on Windows): the first frame is taken to be displayed one display period after
    xrWaitFrame returned (``waited_ns``, monotonic). Times are then off by the runtime's
    latency beyond that period (a few milliseconds to a frame or two), and no submit times
    are recorded (``exact`` False)."""
    return ClockLink(waited_ns + display_period_ns - display_time_ns, False,
                     "estimated: the runtime cannot convert its times (no XR_KHR_convert_timespec_time); "
                     "display taken as one frame after xrWaitFrame returned")  # fmt: skip
