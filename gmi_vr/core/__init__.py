"""Plain data shared by every layer: errors, frames, events, settings. Imports only stdlib and numpy."""
