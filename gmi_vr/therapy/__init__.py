"""therapy layer (see ARCHITECTURE.md)."""
