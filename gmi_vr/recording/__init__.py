"""Recording layer: the session store, the motion writer thread, crash recovery, replay and
exports (see ARCHITECTURE.md). Imports core, geometry and body types only, plus storage
libraries; never therapy, scene, assets or render.

Entry points:

- ``store.SessionStore.open(path_or_url=None, create=True)``: the store (default:
  ``store_location.default_database_path()``, in ``Settings.data_dir``), checked by SQLite's ``quick_check`` first;
  ``store.start_session(patient_id, source=...)`` returns a ``recorder.SessionRecorder``
  whose ``record_frame`` / ``record_event`` / ``record_trial`` / ``record_rating`` never
  block, ``stats()`` reports losses and ``finish(status)`` ends the session;
- ``replay_source.ReplaySource(store, session_id)``: a recorded session as a frame source;
- ``export.export_session(store, session_id, "bids" | "csv" | "fhir", out_dir)``;
- ``health.check_store(path)`` / ``health.repair_store(damaged, out)``: SQLite's
  ``integrity_check``, and what can be read copied into a new file;
- ``listing.session_rows(store, patient=None)``, ``sessions_json``, ``format_sessions``.
- ``encrypt.encrypt_store(path, passphrase)``: a plaintext SQLite store turned into an
  SQLCipher one (new file, verified, swapped); ``cipher`` keys every connection to an
  encrypted store and finds its passphrase (environment, OS keyring, terminal).
- ``store_lock.hold(path, on_wait)`` / ``store_lock.exclusive(path)``: every open store holds
  a shared lock on the file beside it; a command replacing the store file takes it alone.
"""
