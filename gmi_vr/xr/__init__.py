"""xr layer (see ARCHITECTURE.md): the frame sources.

- ``openxr_source``: ``OpenXrSource``, the frame loop on a real OpenXR runtime — start here
  to follow one frame from xrWaitFrame to the rendered views;
- ``runtime``: instance, system, OpenGL graphics bindings (GLX, EGL, Win32), error translation;
- ``session_state``: the session lifecycle decisions (pure);
- ``actions`` and ``bindings``: the input action set and its suggested bindings (plain data);
- ``swapchains``: one colour and one depth swapchain per view;
- ``tracking``: raw runtime results to ``TrackingFrame`` (pure);
- ``hands_only``: a tracked hand with no controller read as one: pinch, open-palm stop (pure);
- ``doctor``: ``doctor_checks()`` (the checklist) and ``doctor_report()`` for ``gmi-vr doctor``;
- ``sim_source``: the built-in simulator source.

Importing this package imports no OpenXR binding: pyopenxr switches PyOpenGL to its GLX
platform when imported, which the offscreen (EGL) simulator must not suffer. Only
``openxr_source``, ``runtime``, ``actions`` and ``swapchains`` import it (``doctor`` when
called).
"""
