"""The Open Recent list, kept in QSettings (newest first, at most ten entries)."""

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
