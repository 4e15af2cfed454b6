"""Recording layer: the session store, the motion writer thread, crash recovery, replay and
exports (see ARCHITECTURE.md). Imports core, geometry and body types only, plus storage
libraries; never therapy, scene, assets or render.

Entry points: ``SessionStore.open()`` (store.py), ``store.start_session(...)`` returning a
``SessionRecorder`` (recorder.py), ``ReplaySource`` (replay.py), ``export_session``
(export/), ``session_rows`` / ``sessions_json`` (listing.py).
"""
