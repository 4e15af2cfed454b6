"""core layer (see ARCHITECTURE.md): plain data shared by every layer. Imports only stdlib and numpy.

- ``types``: ``Pose``, ``TrackingFrame``, ``HandInput``, ``ViewInfo``, ``Side`` (OpenXR
  coordinates: metres, +Y up, -Z forward; quaternions xyzw);
- ``frame_source``: the ``FrameSource`` protocol every source (openxr, sim, replay) follows;
- ``events``: ``Event``, what happened at a frame-clock time, with JSON-able data;
- ``errors``: ``GmiError`` and its subclasses, one sentence each with the CLI's exit code;
- ``settings``: the settings file read into a frozen ``Settings``, and the one rule for the
  data folder (``resolve_data_dir``);
- ``input``: the desktop window's keyboard and mouse as plain data (``InputState``);
- ``haptics``: ``HapticPulse``, a controller vibration as plain data;
- ``folders``: checking that an output folder can be written, before any work.
"""
