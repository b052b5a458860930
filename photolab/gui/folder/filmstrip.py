"""The filmstrip: one row of thumbnails of the open folder, with stars and the reject mark, a filter by rating,
and a selection of several photos (Ctrl/Shift+click) for batch commands.

Left/Right move through the photos (the window opens the current one); the rating keys are window actions
(``photolab.gui.folder.commands``). The thumbnails arrive from ``ThumbnailLoader``'s background jobs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListView, QStyle,
                               QStyledItemDelegate, QVBoxLayout, QWidget)

from photolab.core.rating import MAX_STARS
from photolab.gui.folder.model import (ERROR_ROLE, PATH_ROLE, RATING_ROLE, THUMBNAIL_ROLE, FolderModel,
                                       RatingFilter, ThumbnailLoader)
from photolab.gui.jobs import JobRunner

FILTERS = (  # label, minimum stars, rejected photos
    ("All photos", 0, "include"),
    ("Hide rejected", 0, "exclude"),
    *((f"{'★' * stars} or more", stars, "exclude") for stars in range(1, MAX_STARS)),
    ("★★★★★", MAX_STARS, "exclude"),
    ("Rejected only", 0, "only"),
)
CELL = QSize(136, 128)
IMAGE = QSize(124, 92)
REJECT_COLOR = QColor(220, 60, 60)
STAR_COLOR = QColor(240, 200, 60)


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a thumbnail (dimmed when rejected), its stars or reject mark, and its name."""

    def sizeHint(self, option, index) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        painter.save()
        rect = option.rect
        palette = option.palette
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect.adjusted(2, 2, -2, -2), palette.color(QPalette.ColorRole.Highlight).darker(140))
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRect(rect.adjusted(2, 2, -3, -3))
        rating = index.data(RATING_ROLE)
        image = index.data(THUMBNAIL_ROLE)
        frame = QRect(rect.x() + (rect.width() - IMAGE.width()) // 2, rect.y() + 6, IMAGE.width(), IMAGE.height())
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        if image is not None and not image.isNull():
            size = image.size().scaled(frame.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(frame.x() + (frame.width() - size.width()) // 2,
                           frame.y() + (frame.height() - size.height()) // 2, size.width(), size.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            if rating is not None and rating.rejected:
                painter.setOpacity(0.35)
            painter.drawImage(target, image)
            painter.setOpacity(1.0)
        else:
            text = "cannot be read" if index.data(ERROR_ROLE) else "…"
            painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, text)
        line = QRect(rect.x() + 4, frame.bottom() + 2, rect.width() - 8, 14)
        if rating is not None and rating.rejected:
            painter.setPen(REJECT_COLOR)
            painter.drawText(line, Qt.AlignmentFlag.AlignCenter, "✕ rejected")
        elif rating is not None:
            painter.setPen(STAR_COLOR)
            painter.drawText(line, Qt.AlignmentFlag.AlignCenter, "★" * rating.stars + "·" * (MAX_STARS - rating.stars))
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        name = painter.fontMetrics().elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "",
                                                Qt.TextElideMode.ElideMiddle, line.width())
        painter.drawText(line.translated(0, 14), Qt.AlignmentFlag.AlignCenter, name)
        painter.restore()


class Filmstrip(QWidget):
    """The folder's photos as a strip of thumbnails (module docstring)."""

    current_changed = Signal(object)  # Path of the new current photo (or None)
    selection_changed = Signal()

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = FolderModel(self)
        self.proxy = RatingFilter(self)
        self.proxy.setSourceModel(self.model)
        self.loader = ThumbnailLoader(self.model, runner, parent=self)
        self._opening_blocked = False  # select_path(open_it=False) moves the current photo without opening it
        self.title = QLabel("No folder")
        self.count = QLabel()
        self.filter = QComboBox()
        for label, stars, rejected in FILTERS:
            self.filter.addItem(label, (stars, rejected))
        self.filter.setToolTip("Show only the photos with this rating")
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(ThumbnailDelegate(self.view))
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setFlow(QListView.Flow.LeftToRight)
        self.view.setWrapping(False)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setGridSize(CELL)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setFixedHeight(CELL.height() + self.view.horizontalScrollBar().sizeHint().height() + 6)
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.count)
        row.addWidget(self.filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(row)
        layout.addWidget(self.view)
        self.filter.currentIndexChanged.connect(self._on_filter)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.selectionModel().selectionChanged.connect(lambda *args: self.selection_changed.emit())
        self.proxy.rowsInserted.connect(self._show_count)
        self.proxy.rowsRemoved.connect(self._show_count)
        self.proxy.modelReset.connect(self._show_count)
        self.view.horizontalScrollBar().valueChanged.connect(self._prioritize_visible)

    # --- the folder -----------------------------------------------------------------------------------
    def set_folder(self, folder: Path | None, paths: list[Path]) -> None:
        """Show ``paths`` (the photos of ``folder``) and start loading their thumbnails."""
        self.model.set_photos(folder, paths)
        self.title.setText(f"{folder.name or folder}  ({len(paths)} photos)" if folder is not None else "No folder")
        self.title.setToolTip(str(folder or ""))
        self.loader.start()
        self._show_count()

    def _show_count(self, *args) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown} of {total} shown" if shown != total else "")

    def _prioritize_visible(self, *args) -> None:
        first = self.view.indexAt(QPoint(CELL.width() // 2, CELL.height() // 2))
        if first.isValid():
            start = self.proxy.mapToSource(first).row()
            visible = self.view.viewport().width() // CELL.width() + 2
            self.loader.prioritize(list(range(start, start + visible)))

    # --- filter ---------------------------------------------------------------------------------------
    def set_filter(self, index: int) -> None:
        """Choose the FILTERS entry ``index``."""
        self.filter.setCurrentIndex(index)

    def _on_filter(self, index: int) -> None:
        current = self.current_path()
        stars, rejected = self.filter.itemData(index)
        self.proxy.set_filter(stars, rejected)
        self._show_count()
        if current is not None and self.select_path(current, open_it=False):
            return
        if self.proxy.rowCount():
            self.view.setCurrentIndex(self.proxy.index(0, 0))

    # --- current and selected photos --------------------------------------------------------------------
    def paths_shown(self) -> list[Path]:
        """The photos the filter shows, in order."""
        return [self.proxy.index(row, 0).data(PATH_ROLE) for row in range(self.proxy.rowCount())]

    def current_path(self) -> Path | None:
        index = self.view.currentIndex()
        return index.data(PATH_ROLE) if index.isValid() else None

    def selected_paths(self) -> list[Path]:
        """The selected photos in strip order (hidden ones excluded)."""
        rows = sorted(index.row() for index in self.view.selectionModel().selectedIndexes())
        return [self.proxy.index(row, 0).data(PATH_ROLE) for row in rows]

    def select_path(self, path: Path, *, open_it: bool = True) -> bool:
        """Make ``path`` the current, only selected photo; False when it is not shown."""
        row = self.model.row_of(path)
        index = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 else QModelIndex()
        if not index.isValid():
            return False
        self._opening_blocked = not open_it
        try:
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._opening_blocked = False
        self.view.scrollTo(index)
        return True

    def clear_selection(self) -> None:
        """No current or selected photo (nothing is opened)."""
        self._opening_blocked = True
        try:
            self.view.selectionModel().clear()
        finally:
            self._opening_blocked = False

    def select_all(self) -> None:
        self.view.selectAll()

    def move(self, step: int) -> bool:
        """Make the photo ``step`` places on (in the filtered strip) the current, only selected one."""
        row = self.view.currentIndex().row() + step if self.view.currentIndex().isValid() else 0
        if not 0 <= row < self.proxy.rowCount():
            return False
        index = self.proxy.index(row, 0)
        self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.scrollTo(index)
        return True

    def _on_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not self._opening_blocked:
            self.current_changed.emit(current.data(PATH_ROLE) if current.isValid() else None)
