"""The Open Recent list, kept in QSettings (newest first, at most ten entries), and its menu labels."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10
SETTINGS_KEY = "recentFiles"


class RecentFiles:
    """Read and update the recent-files list in ``settings``."""

    def __init__(self, settings: QSettings) -> None:
        self._settings = settings

    def paths(self) -> list[str]:
        value = self._settings.value(SETTINGS_KEY, [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [str(path) for path in (value or [])][:MAX_RECENT]

    def _store(self, paths: list[str]) -> None:
        self._settings.setValue(SETTINGS_KEY, paths[:MAX_RECENT])
        self._settings.sync()

    def add(self, path: str | Path) -> None:
        """Put ``path`` first (moving it if already listed)."""
        path = str(Path(path).resolve())
        self._store([path] + [p for p in self.paths() if p != path])

    def remove(self, path: str | Path) -> None:
        self._store([p for p in self.paths() if p != str(path)])

    def prune_missing(self) -> list[str]:
        """Drop entries whose file no longer exists; returns the dropped ones."""
        paths = self.paths()
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            self._store([p for p in paths if p not in missing])
        return missing

    def clear(self) -> None:
        self._store([])


def recent_labels(paths: list[str]) -> list[str]:
    """'name — folder' for each path; files of the same name get as many of their folders' trailing parts as
    it takes to tell them apart (the whole path at most)."""
    names = [Path(p).name for p in paths]
    folders = [Path(p).parent.parts for p in paths]
    labels = []
    for index, (name, parts) in enumerate(zip(names, folders)):
        namesakes = [folders[i] for i in range(len(paths)) if i != index and names[i] == name]
        depth = 1
        while depth < len(parts) and any(other[-depth:] == parts[-depth:] for other in namesakes):
            depth += 1
        labels.append(f"{name} — {Path(*parts[-depth:])}" if parts else name)
    return labels
