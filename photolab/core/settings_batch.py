"""Paste copied settings or a preset onto many photos at once, through their sidecars (Edit ▸ Paste Settings
and Edit ▸ Presets with several photos selected in the filmstrip; ``photolab-cli presets apply``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from photolab.core.errors import PhotoLabError, RecipeError
from photolab.core.recipe import (SIDECAR_LOCK, CopiedSettings, Recipe, read_recipe_file, save_sidecar,
                                  sidecar_path)


@dataclass
class PasteOutcome:
    """Which photos got the settings, and a one-line error for each one that did not."""

    changed: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


def paste_onto_files(paths, settings: CopiedSettings, *, context=None) -> PasteOutcome:
    """Set ``settings``' operations in the sidecar of every photo of ``paths`` (each written atomically, its
    other operations, rating and reject flag kept). A photo that is missing or whose sidecar cannot be read
    (damaged, from a newer PhotoLab) is left alone and listed in the errors. ``context`` (a JobContext) gets
    progress and may cancel between photos."""
    outcome = PasteOutcome()
    paths = [Path(path) for path in paths]
    for index, path in enumerate(paths):
        if context is not None:
            context.progress(index / max(1, len(paths)), f"Pasting onto {path.name}")
        try:
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such photo")
            with SIDECAR_LOCK:
                try:
                    recipe = read_recipe_file(sidecar_path(path))
                except FileNotFoundError:
                    recipe = Recipe()
                except RecipeError as exc:
                    raise RecipeError(f"not changed, its sidecar cannot be read: {exc}") from None
                save_sidecar(path, settings.paste_onto(recipe))
        except (PhotoLabError, OSError) as exc:
            outcome.errors.append((path, str(exc)))
        else:
            outcome.changed.append(path)
    return outcome
