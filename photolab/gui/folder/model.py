"""The open folder as a Qt list model: one row per photo with its thumbnail and rating, and a filter by rating.

``FolderModel`` holds the photos of ``photolab.core.folder.list_photos``; ``ThumbnailLoader`` fills in their
thumbnails and ratings from background jobs (``photolab.core.thumbnails``, the THUMBNAILS lane), a few at a
time, so the GUI thread only receives finished QImages. ``RatingFilter`` is the proxy the filmstrip shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QImage

from photolab.core.errors import PhotoLabError
from photolab.core.rating import Rating, matches, read_rating
from photolab.core.thumbnails import THUMBNAIL_SIDE, prune_cache, thumbnail
from photolab.gui.jobs import THUMBNAILS, JobHandle, JobRunner
from photolab.gui.viewer.rendering import to_qimage
from photolab.jobs import Job, JobState

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
RATING_ROLE = Qt.ItemDataRole.UserRole + 2
THUMBNAIL_ROLE = Qt.ItemDataRole.UserRole + 3
ERROR_ROLE = Qt.ItemDataRole.UserRole + 4
IN_FLIGHT = 6  # thumbnail jobs queued at once: enough to keep the lane busy, few to cancel on a new folder


@dataclass
class PhotoEntry:
    path: Path
    rating: Rating = Rating()
    thumbnail: QImage | None = None
    error: str = ""  # why there is no thumbnail (or rating)
    loaded: bool = False


class FolderModel(QAbstractListModel):
    """The photos of one folder, in name order."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.entries: list[PhotoEntry] = []
        self._rows: dict[Path, int] = {}

    def set_photos(self, folder: Path | None, paths: list[Path]) -> None:
        self.beginResetModel()
        self.folder = folder
        self.entries = [PhotoEntry(Path(path)) for path in paths]
        self._rows = {entry.path: row for row, entry in enumerate(self.entries)}
        self.endResetModel()

    def row_of(self, path: Path) -> int:
        """The row of ``path``, -1 when it is not in the folder."""
        return self._rows.get(Path(path), -1)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.path.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{entry.path.name}\n{entry.rating.label()}" + (f"\n{entry.error}" if entry.error else "")
        if role == PATH_ROLE:
            return entry.path
        if role == RATING_ROLE:
            return entry.rating
        if role == THUMBNAIL_ROLE:
            return entry.thumbnail
        if role == ERROR_ROLE:
            return entry.error
        return None

    def set_loaded(self, row: int, image: QImage | None, rating: Rating | None, error: str) -> None:
        entry = self.entries[row]
        entry.thumbnail, entry.error, entry.loaded = image, error, True
        if rating is not None:
            entry.rating = rating
        self.dataChanged.emit(self.index(row), self.index(row))

    def set_rating(self, path: Path, rating: Rating) -> None:
        row = self.row_of(path)
        if row >= 0:
            self.entries[row].rating = rating
            self.dataChanged.emit(self.index(row), self.index(row))

    @property
    def all_loaded(self) -> bool:
        return all(entry.loaded for entry in self.entries)


@dataclass(frozen=True)
class _Loaded:
    image: QImage | None
    rating: Rating | None
    error: str


def _load(context, path: Path, side: int) -> _Loaded:
    """Job work (a worker thread): the thumbnail as a QImage (Qt images are safe to make off the GUI thread)
    and the rating; a photo that cannot be read gets its error instead."""
    errors = []
    try:
        rating = read_rating(path)
    except PhotoLabError as exc:
        rating, errors = None, [str(exc)]
    context.check_cancelled()
    image = None
    try:
        image = to_qimage(thumbnail(path, side))
    except PhotoLabError as exc:
        errors.append(str(exc))
    return _Loaded(image, rating, "; ".join(errors))


def _prune_cache(context) -> int:
    """Job work: keep the thumbnail cache within its size (``photolab.core.thumbnails.prune_cache``)."""
    return prune_cache()


class ThumbnailLoader(QObject):
    """Loads the thumbnails and ratings of a FolderModel's photos in the background, in row order."""

    finished = Signal()  # every photo of the folder has its thumbnail (or error)
    progressed = Signal(int, int)  # loaded, total

    def __init__(self, model: FolderModel, runner: JobRunner, side: int = THUMBNAIL_SIDE,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.runner = runner
        self.side = side
        self._pending: list[int] = []
        self._running: dict[JobHandle, int] = {}  # the jobs of the current folder, and their rows
        self._loaded = 0

    def start(self) -> None:
        """(Re)load every photo of the model, cancelling what was loading."""
        self.cancel()
        self._pending = list(range(len(self.model.entries)))[::-1]  # popped from the end: row 0 first
        self._loaded = 0
        if not self._pending:
            self.finished.emit()
        self._submit_more()

    def prioritize(self, rows: list[int]) -> None:
        """Load ``rows`` (on screen, say) before the others still waiting."""
        waiting = set(self._pending)
        wanted = [row for row in rows if row in waiting]
        if wanted:
            chosen = set(wanted)
            self._pending = [row for row in self._pending if row not in chosen] + wanted[::-1]

    def cancel(self) -> None:
        for handle in self._running:
            handle.cancel()
        self._running.clear()
        self._pending = []

    @property
    def is_loading(self) -> bool:
        return bool(self._pending or self._running)

    def _submit_more(self) -> None:
        while self._pending and len(self._running) < IN_FLIGHT:
            row = self._pending.pop()
            path = self.model.entries[row].path
            handle = self.runner.submit(Job(_load, path, self.side, title=f"Thumbnail of {path.name}"),
                                        lane=THUMBNAILS, visible=False)
            self._running[handle] = row
            handle.ended.connect(self._on_ended)  # a bound slot: disconnected when the loader is deleted

    def _on_ended(self, handle: JobHandle) -> None:
        row = self._running.pop(handle, None)  # None: cancelled by a newer start()
        if row is None:
            return
        if handle.job.state is JobState.CANCELLED:  # the runner is stopping (the window closes): start nothing
            self.cancel()
            return
        if handle.job.result is not None:
            result = handle.job.result
            self.model.set_loaded(row, result.image, result.rating, result.error)
        elif handle.job.error is not None:
            self.model.set_loaded(row, None, None, handle.job.error_message)
        self._loaded += 1
        self.progressed.emit(self._loaded, len(self.model.entries))
        self._submit_more()
        if not self.is_loading:
            self.runner.submit(Job(_prune_cache, title="Pruning the thumbnail cache"), lane=THUMBNAILS, visible=False)
            self.finished.emit()


class RatingFilter(QSortFilterProxyModel):
    """The photos whose rating passes the filter (``photolab.core.rating.matches``)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.min_stars = 0
        self.rejected = "include"
        self.setDynamicSortFilter(True)

    def set_filter(self, min_stars: int, rejected: str) -> None:
        if not hasattr(self, "endFilterChange"):  # Qt before 6.10
            self.min_stars, self.rejected = min_stars, rejected
            self.invalidateFilter()
            return
        self.beginFilterChange()
        self.min_stars, self.rejected = min_stars, rejected
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        rating = self.sourceModel().index(source_row, 0, source_parent).data(RATING_ROLE)
        return rating is None or matches(rating, min_stars=self.min_stars, rejected=self.rejected)
