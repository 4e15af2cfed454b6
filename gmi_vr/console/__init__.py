"""console layer (see ARCHITECTURE.md)."""
