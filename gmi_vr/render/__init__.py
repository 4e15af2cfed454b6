"""render layer (see ARCHITECTURE.md)."""
