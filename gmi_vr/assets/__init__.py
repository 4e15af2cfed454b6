"""assets layer (see ARCHITECTURE.md): the shipped files and mesh data. ``locations``: where
``models/``, ``shaders/`` and the shipped data files are, in a checkout or an install;
``meshes``: static meshes (primitives, trimesh-loaded files) as vertex arrays in metres;
``gltf_skin``: glTF skins (joints, weights, inverse bind matrices), which trimesh drops.
"""
