"""Models ▸ Learn a Look…: the wizard that learns a look from before/after pairs."""
