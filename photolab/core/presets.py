"""Presets: named settings of some operations (``photolab.core.recipe.CopiedSettings``), one JSON file each.

A preset is ``<user data>/presets/NAME.json``, in the sidecar's own format (schema, PhotoLab version, order
version, and each listed operation with its version and params) listing only the preset's operations, so a
preset reads, migrates and is refused exactly like a sidecar. The user data folder is ``$PHOTOLAB_DATA_DIR``
when set (tests, portable installs), else the platform's (``$XDG_DATA_HOME/photolab``, by default
``~/.local/share/photolab``, on Linux) — the folder the model store uses too.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from photolab.core.errors import PhotoLabError, RecipeError
from photolab.core.recipe import CopiedSettings, read_settings_file

DATA_DIR_ENV = "PHOTOLAB_DATA_DIR"
PRESET_SUFFIX = ".json"
MAX_NAME_LENGTH = 100
_SAFE_NAME = re.compile(r"\w[\w .,()+'&-]*", re.UNICODE)


class PresetError(PhotoLabError):
    """A preset cannot be saved, found or read (the message names it, on one line)."""


class UnknownPresetError(PresetError):
    """No preset has that name (the message lists the ones there are)."""


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path
    settings: CopiedSettings


def user_data_dir() -> Path:
    """PhotoLab's user data folder: ``$PHOTOLAB_DATA_DIR``, else the platform's (XDG on Linux)."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override)
    from platformdirs import user_data_dir as platform_data_dir

    return Path(platform_data_dir("photolab", appauthor=False))


def presets_dir() -> Path:
    """Where presets are kept."""
    return user_data_dir() / "presets"


def check_name(name: str) -> str:
    """``name`` if it makes a safe file name (letters, digits, spaces and ``._-,()+'&``, starting with a
    letter or digit, not ending in a dot or space, at most 100 characters); else raises PresetError."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or name != name.rstrip(". ") \
            or len(name) > MAX_NAME_LENGTH:
        raise PresetError(f"{name!r} is not a usable preset name: use letters, digits, spaces and . _ - , ( ) + ' &, "
                          f"start with a letter or digit, at most {MAX_NAME_LENGTH} characters")
    return name


def preset_path(name: str) -> Path:
    return presets_dir() / (check_name(name) + PRESET_SUFFIX)


def list_presets() -> list[str]:
    """The names of the saved presets, sorted (files whose name is not a preset name are skipped)."""
    folder = presets_dir()
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise PresetError(f"{folder}: cannot list the presets ({exc.strerror or exc})") from exc
    names = []
    for entry in entries:
        name = entry.name.removesuffix(PRESET_SUFFIX)
        if entry.name.endswith(PRESET_SUFFIX) and _is_name(name) and entry.is_file():
            names.append(name)
    return sorted(names, key=lambda n: (n.casefold(), n))


def _is_name(name: str) -> bool:
    try:
        check_name(name)
    except PresetError:
        return False
    return True


def load_preset(name: str) -> Preset:
    """The preset ``name``; raises UnknownPresetError (listing the presets) or PresetError (a damaged or
    foreign file, named)."""
    path = preset_path(name)
    try:
        settings = read_settings_file(path)
    except FileNotFoundError:
        raise UnknownPresetError(f"no preset named {name!r} ({available_text()})") from None
    except RecipeError as exc:
        raise PresetError(f"preset {name!r} cannot be used: {exc}") from exc
    return Preset(name, path, settings)


def available_text() -> str:
    """'presets: A, B' or 'there are no presets', for error messages."""
    names = list_presets()
    return f"presets: {', '.join(names)}" if names else f"there are no presets in {presets_dir()}"


def save_preset(name: str, settings: CopiedSettings, *, replace: bool = False) -> Path:
    """Write the preset atomically; an existing one is replaced only with ``replace`` (else PresetError)."""
    from photolab.core.atomic import write_bytes_atomic

    path = preset_path(name)
    if not settings.operations:
        raise PresetError(f"preset {name!r}: choose at least one operation")
    if path.exists() and not replace:
        raise PresetError(f"a preset named {name!r} already exists ({path})")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PresetError(f"{path.parent}: cannot create the presets folder ({exc.strerror or exc})") from exc
    data = settings.to_dict()
    data["preset"] = name
    write_bytes_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return path


def delete_preset(name: str) -> Path:
    """Remove the preset ``name``; raises UnknownPresetError when there is none."""
    path = preset_path(name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise UnknownPresetError(f"no preset named {name!r} ({available_text()})") from None
    except OSError as exc:
        raise PresetError(f"{path}: cannot be deleted ({exc.strerror or exc})") from exc
    return path
