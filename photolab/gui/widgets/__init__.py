"""Widgets shared by the features: message boxes and file choosers, the labelled parameter slider."""
