"""What the patient is shown, built from the plan: stimuli, figures, movements and scenes.

``stimuli`` (laterality stimulus meshes, balanced sequences, placing in front of the
patient), ``stand_in_figures`` (stimuli drawn from primitives when a model is missing),
``movements`` (the imagery library, easy to provocative), ``contexts`` (scene contexts and
headset-readable text), ``scenes`` (the calm scene, instructions, the fade) and ``workspace``
(reach workspaces, the midline reflection, target placing). Metres, world frame; builds
``DrawList`` items and plain data. Imports only ``plan`` from therapy (never ``results``).
"""
