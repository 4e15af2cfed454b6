"""console layer (see ARCHITECTURE.md): the therapist's desktop window, drawing plain data the app
hands it. ``therapist_window``: the window with the patient's view and a third-person view;
``panels``: the Dear ImGui panels beside them (live figures, controls); ``replay_window``: a recorded
session's read-only window. It imports no frame source and no therapy.
"""
