"""PhotoLab: a desktop photo lab for camera RAW files and learned models."""

__version__ = "0.1.0"
