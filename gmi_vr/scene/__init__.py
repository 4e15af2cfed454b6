"""scene layer (see ARCHITECTURE.md): renderer-neutral description of what to draw, plain data
with no GL. ``draw``: ``DrawList`` and its items (meshes, skinned avatars, texts), every
transform a 4x4 ``world_from_local`` in metres; ``room``: the clinic room around the patient.
The camera a view is drawn with is ``gmi_vr.geometry.camera.Camera``.
"""

from gmi_vr.scene.draw import DrawList, MeshItem, SkinnedItem, TextItem

__all__ = ["DrawList", "MeshItem", "SkinnedItem", "TextItem"]
