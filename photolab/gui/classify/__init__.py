"""The Classify panel: the chosen model's most probable classes for the current photo."""
