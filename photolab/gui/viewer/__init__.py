"""Showing the photo: the image viewer, preview rendering, histogram, Info panel and the loupe."""
