"""Renderer-neutral description of what to draw: plain data, no GL (ARCHITECTURE.md)."""

from gmi_vr.scene.draw import Camera, DrawList, MeshItem, SkinnedItem, TextItem

__all__ = ["Camera", "DrawList", "MeshItem", "SkinnedItem", "TextItem"]
