"""Renderer-neutral description of what to draw: plain data, no GL (ARCHITECTURE.md)."""

from gmi_vr.scene.draw import DrawList, MeshItem, SkinnedItem, TextItem

__all__ = ["DrawList", "MeshItem", "SkinnedItem", "TextItem"]
