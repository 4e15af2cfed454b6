"""recording layer (see ARCHITECTURE.md)."""
