"""assets layer (see ARCHITECTURE.md)."""
