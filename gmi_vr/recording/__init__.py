"""Recording layer: the session store, the motion writer thread, crash recovery, replay and
exports (see ARCHITECTURE.md). Imports core, geometry and body types only, plus storage
libraries; never therapy, scene, assets or render.

Entry points:

- ``store.SessionStore.open(path_or_url=None)``: the store (default: ``paths.data_dir()``);
  ``store.start_session(patient_id, source=...)`` returns a ``recorder.SessionRecorder``
  whose ``record_frame`` / ``record_event`` / ``record_trial`` / ``record_rating`` never
  block, ``stats()`` reports losses and ``finish(status)`` ends the session;
- ``replay.ReplaySource(store, session_id)``: a recorded session as a frame source;
- ``export.export_session(store, session_id, "bids" | "csv" | "fhir", out_dir)``;
- ``listing.session_rows(store, patient=None)``, ``sessions_json``, ``format_sessions``.
"""
