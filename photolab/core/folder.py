"""A folder of photos: the files PhotoLab reads in it, in name order (what the filmstrip and
``photolab-cli rate FOLDER`` show). Not a catalog: nothing is stored but each photo's own sidecar."""

from __future__ import annotations

import re
from pathlib import Path

from photolab.core.errors import FileAccessError
from photolab.core.io import SUPPORTED_EXTENSIONS


def natural_key(path: Path) -> tuple:
    """Sort key that orders IMG_2 before IMG_10 and ignores case."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", path.name))


def list_photos(folder: str | Path) -> list[Path]:
    """The photos in ``folder`` (not its subfolders) whose extension PhotoLab reads, hidden files skipped, in
    natural name order. Raises FileAccessError with a one-line message when ``folder`` is missing, not a
    folder or cannot be listed; an empty list when it holds no photos."""
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        raise FileAccessError(f"{folder}: no such folder") from None
    except NotADirectoryError:
        raise FileAccessError(f"{folder}: not a folder") from None
    except OSError as exc:
        raise FileAccessError(f"{folder}: cannot be listed ({exc.strerror or exc})") from None
    photos = []
    for entry in entries:
        if entry.name.startswith(".") or entry.suffix.lower() not in SUPPORTED_EXTENSIONS:
            continue
        try:
            if entry.is_file():
                photos.append(entry)
        except OSError:
            continue
    return sorted(photos, key=natural_key)


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given and folders replaced by their photos (:func:`list_photos`), in order."""
    expanded: list[Path] = []
    for path in map(Path, paths):
        expanded.extend(list_photos(path) if path.is_dir() else [path])
    return expanded
