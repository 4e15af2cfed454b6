"""OpenXR API layers written in Python (pyopenxr's ``xr.api_layer``) that inject faults
into the real runtime or watch the app's calls to it, for the XR tests.

A layer sits between the application and Monado. ``InterceptingLayer`` does the loader
negotiation and routes the functions a subclass names in ``intercepted()`` to its own
Python methods; every other call goes straight through to the runtime. Create the layer
object before the instance (and after the GL context: see xr_app.py) and enable it by its
``name`` in the instance's API layer list.

- ``SessionLossLayer``: after ``lose_after_frames`` waited frames, delivers an
  ``XrEventDataSessionStateChanged`` with ``XR_SESSION_STATE_LOSS_PENDING`` from
  ``xrPollEvent`` and answers ``xrWaitFrame`` with ``XR_ERROR_SESSION_LOST``, as a runtime
  does after a loss;
- ``RejectBindingsLayer``: answers every ``xrSuggestInteractionProfileBindings`` with
  ``XR_ERROR_PATH_UNSUPPORTED``, like a runtime that knows none of the app's controllers;
- ``HapticRecordingLayer`` injects nothing: it records each ``xrApplyHapticFeedback`` on
  its way to the runtime;
- ``DisplayTimeLayer`` injects nothing: it hands each frame's predicted display time, as
  ``xrWaitFrame`` returns it, to a function before the app reads that frame's tracking.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import xr


class InterceptingLayer(xr.DynamicApiLayerBase):
    #: The name the instance enables the layer by, and what the loader lists it as.
    layer_name = ""
    layer_description = ""

    def __init__(self) -> None:
        super().__init__(name=self.layer_name, description=self.layer_description)
        self._next_get_proc: Any = None
        self.next: dict[bytes, Any] = {}  # the runtime's functions this layer wraps
        # Keep every C callback alive as long as the layer.
        self._c_get_proc = xr.PFN_xrGetInstanceProcAddr(self._get_instance_proc_addr)
        self._c_create_instance = xr.PFN_xrCreateApiLayerInstance(self._create_api_layer_instance)
        self._c_mine = {
            name: ctypes.cast(pfn_type(method), xr.PFN_xrVoidFunction)
            for name, (pfn_type, method) in self.intercepted().items()
        }
        self._keep_alive = list(self._c_mine.values())

    def intercepted(self) -> dict[bytes, tuple[Any, Any]]:
        """{function name: (PFN type, bound method)} of the calls this layer handles."""
        return {}

    def negotiate_loader_api_layer_interface(self, loader_info, layer_name, api_layer_request):  # type: ignore[no-untyped-def]
        api_layer_request.layer_interface_version = xr.CURRENT_LOADER_API_LAYER_VERSION
        api_layer_request.layer_api_version = xr.XR_CURRENT_API_VERSION
        api_layer_request.get_instance_proc_addr = self._c_get_proc
        api_layer_request.create_api_layer_instance = self._c_create_instance
        return xr.Result.SUCCESS

    def _create_api_layer_instance(self, info, api_layer_info, instance):  # type: ignore[no-untyped-def]
        next_info = api_layer_info.contents.next_info.contents
        # A field read from the loader's struct is a view into that struct, which the loader
        # frees once the instance exists: keep a copy of the function pointer instead.
        self._next_get_proc = ctypes.cast(
            next_info.next_get_instance_proc_addr, xr.PFN_xrGetInstanceProcAddr
        )
        result = next_info.next_create_api_layer_instance(info, api_layer_info, instance)
        if xr.failed(result):
            return result
        # The C signature passes XrInstance*: read the handle the next layer wrote there.
        created = ctypes.cast(instance, ctypes.POINTER(xr.Instance)).contents
        for name, (pfn_type, _method) in self.intercepted().items():
            function = xr.PFN_xrVoidFunction()
            self._next_get_proc(created, name, ctypes.pointer(function))
            self.next[name] = ctypes.cast(function, pfn_type)
        return xr.Result.SUCCESS.value

    def _get_instance_proc_addr(self, instance, name, function):  # type: ignore[no-untyped-def]
        mine = self._c_mine.get(name)
        if mine is not None:
            ctypes.memmove(function, ctypes.byref(mine), ctypes.sizeof(xr.PFN_xrVoidFunction))
            return xr.Result.SUCCESS.value
        return self._next_get_proc(instance, name, function)


class SessionLossLayer(InterceptingLayer):
    layer_name = "XR_APILAYER_GMIVR_session_loss"
    layer_description = "gmi-vr test layer: injects a session loss"

    def __init__(self, lose_after_frames: int) -> None:
        self.lose_after_frames = lose_after_frames
        self.frames_waited = 0
        self.armed = False
        self.loss_event_sent = False
        self.session: Any = None
        super().__init__()

    def intercepted(self) -> dict[bytes, tuple[Any, Any]]:
        return {
            b"xrWaitFrame": (xr.PFN_xrWaitFrame, self._wait_frame),
            b"xrPollEvent": (xr.PFN_xrPollEvent, self._poll_event),
        }

    def _wait_frame(self, session, wait_info, frame_state):  # type: ignore[no-untyped-def]
        self.session = session
        if self.armed:
            return xr.Result.ERROR_SESSION_LOST.value
        result = self.next[b"xrWaitFrame"](session, wait_info, frame_state)
        self.frames_waited += 1
        if self.frames_waited >= self.lose_after_frames:
            self.armed = True
        return result

    def _poll_event(self, instance, event_buffer):  # type: ignore[no-untyped-def]
        if self.armed and not self.loss_event_sent and self.session is not None:
            self.loss_event_sent = True
            ctypes.memset(event_buffer, 0, ctypes.sizeof(xr.EventDataBuffer))
            event = ctypes.cast(
                event_buffer, ctypes.POINTER(xr.EventDataSessionStateChanged)
            ).contents
            event.type = xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED
            event.session = self.session
            event.state = xr.SessionState.LOSS_PENDING
            event.time = 0
            return xr.Result.SUCCESS.value
        return self.next[b"xrPollEvent"](instance, event_buffer)


class RejectBindingsLayer(InterceptingLayer):
    layer_name = "XR_APILAYER_GMIVR_reject_bindings"
    layer_description = "gmi-vr test layer: no controller profile binds"

    def __init__(self) -> None:
        self.rejected = 0
        super().__init__()

    def intercepted(self) -> dict[bytes, tuple[Any, Any]]:
        return {
            b"xrSuggestInteractionProfileBindings": (
                xr.PFN_xrSuggestInteractionProfileBindings,
                self._suggest,
            )
        }

    def _suggest(self, instance, suggested_bindings):  # type: ignore[no-untyped-def]
        self.rejected += 1
        return xr.Result.ERROR_PATH_UNSUPPORTED.value


class HapticRecordingLayer(InterceptingLayer):
    """Records every ``xrApplyHapticFeedback`` call (hand path, vibration duration,
    frequency, amplitude and the runtime's result) and passes it on to the runtime."""

    layer_name = "XR_APILAYER_GMIVR_haptic_recorder"
    layer_description = "gmi-vr test layer: records haptic feedback"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        super().__init__()

    def intercepted(self) -> dict[bytes, tuple[Any, Any]]:
        return {b"xrApplyHapticFeedback": (xr.PFN_xrApplyHapticFeedback, self._apply)}

    def _apply(self, session, action_info, feedback):  # type: ignore[no-untyped-def]
        result = self.next[b"xrApplyHapticFeedback"](session, action_info, feedback)
        header = feedback.contents
        call: dict[str, Any] = {
            "subaction_path": int(action_info.contents.subaction_path),
            "type": int(header.type),
            "result": int(result),
        }
        if header.type == xr.StructureType.HAPTIC_VIBRATION:
            vibration = ctypes.cast(feedback, ctypes.POINTER(xr.HapticVibration)).contents
            call.update(duration_ns=int(vibration.duration), frequency=float(vibration.frequency),
                        amplitude=float(vibration.amplitude))  # fmt: skip
        self.calls.append(call)
        return result


class DisplayTimeLayer(InterceptingLayer):
    """Calls ``on_frame(predicted_display_time_ns)`` each time ``xrWaitFrame`` returns a
    frame, before the app can read that frame's tracking.

    Monado's remote driver reports whatever state it last received, for any display time. A
    test driving it from here sends the pose meant for the frame the runtime will display
    next, as a real runtime predicts the pose for the display time it gives: the frames the
    app misses on a busy machine then cannot pair a pose with another frame's time."""

    layer_name = "XR_APILAYER_GMIVR_display_time"
    layer_description = "gmi-vr test layer: sees each frame's display time"

    def __init__(self, on_frame: Callable[[int], None]) -> None:
        self.on_frame = on_frame
        #: What ``on_frame`` raised, if it did (it is not called again after that).
        self.error: Exception | None = None
        super().__init__()

    def intercepted(self) -> dict[bytes, tuple[Any, Any]]:
        return {b"xrWaitFrame": (xr.PFN_xrWaitFrame, self._wait_frame)}

    def _wait_frame(self, session, wait_info, frame_state):  # type: ignore[no-untyped-def]
        result = self.next[b"xrWaitFrame"](session, wait_info, frame_state)
        if not xr.failed(result) and self.error is None:
            try:
                self.on_frame(int(frame_state.contents.predicted_display_time))
            except Exception as error:  # noqa: BLE001 - a C callback cannot raise: kept for the app
                self.error = error
        return result
