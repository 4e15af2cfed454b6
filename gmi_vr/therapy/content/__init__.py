"""What the patient is shown: stimuli, stand-in figures, movements, contexts, scenes and workspaces."""
