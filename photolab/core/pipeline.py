"""File in, developed file out: the one develop-and-export path shared by the GUI and the CLI."""

from __future__ import annotations

from pathlib import Path

from photolab.core import io
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe, render
from photolab.jobs import JobContext


def export_developed(context: JobContext, photo: Photo, recipe: Recipe, target: str | Path, *,
                     file_format: str, quality: int = 92) -> Path:
    """Render ``recipe`` on the full-resolution ``photo`` and write it to ``target`` (atomically)."""
    context.progress(0.0, "Developing")
    developed = render(photo, recipe, progress=lambda f: context.progress(0.5 * f, "Developing"))
    return io.export_photo(developed, target, file_format=file_format, quality=quality,
                           metadata=photo.metadata, context=context.subtask(0.5, 1.0))


def develop_file(context: JobContext, source: str | Path, target: str | Path, recipe: Recipe, *,
                 file_format: str, quality: int = 92, demosaic: str = io.DEFAULT_DEMOSAIC) -> Path:
    """Read ``source`` (RAW files demosaiced with ``demosaic``), develop it with ``recipe`` and export it to
    ``target``; returns the written path."""
    context.progress(0.0, f"Reading {Path(source).name}")
    photo = io.read_photo(source, context=context.subtask(0.0, 0.5), demosaic=demosaic)
    return export_developed(context.subtask(0.5, 1.0), photo, recipe, target,
                            file_format=file_format, quality=quality)
