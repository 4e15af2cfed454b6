"""The test API layers keep nothing that points into the loader's memory.

The OpenXR loader hands a layer its ``XrApiLayerCreateInfo`` (and the next layer's
functions in ``XrApiLayerNextInfo``) only for the duration of ``xrCreateApiLayerInstance``,
then frees it. These checks need no runtime: they play the loader's part with ctypes.
"""

from __future__ import annotations

import ctypes

import xr

from tests.support.fault_layers import RejectBindingsLayer

_NextInfo = dict(xr.ApiLayerCreateInfo._fields_)["next_info"]._type_


def test_layer_keeps_the_next_get_proc_address_after_the_loader_frees_its_struct() -> None:
    calls: list[tuple[str, bytes]] = []

    def next_get_proc(instance, name, function):  # type: ignore[no-untyped-def]
        calls.append(("next", name))
        return xr.Result.SUCCESS.value

    def impostor_get_proc(instance, name, function):  # type: ignore[no-untyped-def]
        calls.append(("impostor", name))
        return xr.Result.SUCCESS.value

    def next_create(info, api_layer_info, instance):  # type: ignore[no-untyped-def]
        return xr.Result.SUCCESS.value

    c_next_get_proc = xr.PFN_xrGetInstanceProcAddr(next_get_proc)
    c_impostor = xr.PFN_xrGetInstanceProcAddr(impostor_get_proc)
    next_info = _NextInfo(next_get_instance_proc_addr=c_next_get_proc)
    next_info.next_create_api_layer_instance = type(next_info.next_create_api_layer_instance)(
        next_create
    )
    create_info = xr.ApiLayerCreateInfo(next_info=ctypes.pointer(next_info))
    instance_slot = ctypes.c_void_p(0x1234)

    layer = object.__new__(RejectBindingsLayer)  # the loader side is played here, unregistered
    layer.rejected, layer.next, layer._c_mine = 0, {}, {}
    result = layer._create_api_layer_instance(
        None, ctypes.pointer(create_info), ctypes.cast(ctypes.byref(instance_slot), xr.Instance)
    )
    assert result == xr.Result.SUCCESS.value
    # The loader is done with its struct; the memory now holds something else.
    next_info.next_get_instance_proc_addr = c_impostor
    calls.clear()
    layer._get_instance_proc_addr(None, b"xrGetSystem", ctypes.pointer(xr.PFN_xrVoidFunction()))
    assert calls == [("next", b"xrGetSystem")]
