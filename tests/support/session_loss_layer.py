"""An OpenXR API layer written in Python (pyopenxr's ``xr.api_layer``) that makes the real
runtime's session look lost after a given number of frames.

It sits between the application and Monado and intercepts two calls:

- ``xrWaitFrame`` counts frames; once ``lose_after_frames`` have been waited it arms the
  fault, and from then on answers ``XR_ERROR_SESSION_LOST`` as a runtime does after a loss;
- ``xrPollEvent`` delivers, once armed, an ``XrEventDataSessionStateChanged`` with
  ``XR_SESSION_STATE_LOSS_PENDING`` for the session before any real event.

Every other call goes straight through to the runtime. Create the layer object before the
instance, and enable it by ``NAME`` in the instance's API layer list.
"""

from __future__ import annotations

import ctypes

import xr

NAME = "XR_APILAYER_GMIVR_session_loss"


class SessionLossLayer(xr.DynamicApiLayerBase):
    def __init__(self, lose_after_frames: int) -> None:
        super().__init__(name=NAME, description="gmi-vr test layer: injects a session loss")
        self.lose_after_frames = lose_after_frames
        self.frames_waited = 0
        self.armed = False
        self.loss_event_sent = False
        self.session: xr.Session | None = None
        self._next_get_proc = None
        self._next_poll_event = None
        self._next_wait_frame = None
        # Keep the C callbacks alive as long as the layer.
        self._c_get_proc = xr.PFN_xrGetInstanceProcAddr(self._get_instance_proc_addr)
        self._c_create_instance = xr.PFN_xrCreateApiLayerInstance(self._create_api_layer_instance)
        self._c_poll_event = xr.PFN_xrPollEvent(self._poll_event)
        self._c_wait_frame = xr.PFN_xrWaitFrame(self._wait_frame)

    # -- loader negotiation
    def negotiate_loader_api_layer_interface(self, loader_info, layer_name, api_layer_request):  # type: ignore[no-untyped-def]
        api_layer_request.layer_interface_version = xr.CURRENT_LOADER_API_LAYER_VERSION
        api_layer_request.layer_api_version = xr.XR_CURRENT_API_VERSION
        api_layer_request.get_instance_proc_addr = self._c_get_proc
        api_layer_request.create_api_layer_instance = self._c_create_instance
        return xr.Result.SUCCESS

    def _create_api_layer_instance(self, info, api_layer_info, instance):  # type: ignore[no-untyped-def]
        next_info = api_layer_info.contents.next_info.contents
        self._next_get_proc = next_info.next_get_instance_proc_addr
        result = next_info.next_create_api_layer_instance(info, api_layer_info, instance)
        if xr.failed(result):
            return result
        # The C signature passes XrInstance*: read the handle the next layer wrote there.
        created = ctypes.cast(instance, ctypes.POINTER(xr.Instance)).contents
        self._next_poll_event = self._lookup(created, b"xrPollEvent", xr.PFN_xrPollEvent)
        self._next_wait_frame = self._lookup(created, b"xrWaitFrame", xr.PFN_xrWaitFrame)
        return xr.Result.SUCCESS.value

    def _lookup(self, instance, name: bytes, kind):  # type: ignore[no-untyped-def]
        function = xr.PFN_xrVoidFunction()
        self._next_get_proc(instance, name, ctypes.pointer(function))
        return ctypes.cast(function, kind)

    def _get_instance_proc_addr(self, instance, name, function):  # type: ignore[no-untyped-def]
        mine = {b"xrPollEvent": self._c_poll_event, b"xrWaitFrame": self._c_wait_frame}.get(name)
        if mine is not None:
            ctypes.memmove(function, ctypes.byref(mine), ctypes.sizeof(xr.PFN_xrVoidFunction))
            return xr.Result.SUCCESS.value
        return self._next_get_proc(instance, name, function)

    # -- the faults
    def _wait_frame(self, session, wait_info, frame_state):  # type: ignore[no-untyped-def]
        self.session = session
        if self.armed:
            return xr.Result.ERROR_SESSION_LOST.value
        result = self._next_wait_frame(session, wait_info, frame_state)
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
        return self._next_poll_event(instance, event_buffer)
