"""xr layer (see ARCHITECTURE.md)."""
