"""review layer (see ARCHITECTURE.md)."""
