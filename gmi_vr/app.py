"""Composition root: the only place where all layers meet (ARCHITECTURE.md)."""
