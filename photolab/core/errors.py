"""Errors a user can act on. Every message names the file and says what went wrong in plain words."""


class PhotoLabError(Exception):
    """Base class of every error PhotoLab reports to a person (dialog in the GUI, message in the CLI)."""


class UnsupportedFormatError(PhotoLabError):
    """The file is not an image PhotoLab can read (or write)."""


class CorruptFileError(PhotoLabError):
    """The file looks like a supported format but its data cannot be decoded (corrupt, truncated, empty)."""


class ImageTooLargeError(PhotoLabError):
    """The image has more pixels than the configured guard allows (like Pillow's decompression-bomb check)."""


class FileAccessError(PhotoLabError):
    """The file is missing, vanished, or cannot be read or written (permissions, disk full)."""


class RecipeError(PhotoLabError):
    """A recipe or sidecar is invalid, or comes from a newer PhotoLab."""


class DenoiseError(PhotoLabError):
    """A denoiser could not be loaded or run (missing/truncated/mismatched weights, no runtime installed), or a
    photo is too small to measure its noise."""
