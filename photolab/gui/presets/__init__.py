"""Copy / Paste Settings and presets in the window."""
