"""The Attention view: what every SE block of the chosen model does with the current photo (a separate window).

Excitations tab: a block selector with the bars of that block's C channels, and a blocks x channels heatmap
whose channels can be ordered by index, by weight (excitation), by variance across photos (A, B and the
class averages) or across the blocks of a stage; tooltips name block, channel and value. Photo A is the
current photo as edited; photo B a chosen file (with its saved edits), the current photo pinned as it is
now, or a recent photo. A and B are shown side by side or as the difference A − B (diverging colour map).
The Class Average tab (:mod:`photolab.gui.attention.class_average`) and the Activation Map tab
(:mod:`photolab.gui.attention.cam`) complete it. Numbers export to CSV or JSON, figures to PNG.
Every computation runs as a job on an inference channel (:mod:`photolab.gui.attention.data` holds the
jobs, :mod:`photolab.models.analysis.records` the numbers); the view only draws.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QMenu, QPushButton, QTabWidget, QVBoxLayout,
                               QWidget)

from photolab.gui.attention.cam import CamTab
from photolab.gui.attention.charts import SERIES_COLORS, BarChart, Heatmap
from photolab.gui.attention.class_average import ClassAverageTab
from photolab.gui.attention.data import excite_file, excite_snapshot
from photolab.gui.models.service import CurrentPhoto, ModelSelector, ModelService, PhotoSnapshot
from photolab.gui.widgets import dialogs
from photolab.models.analysis.records import (ExcitationSet, channel_orders, class_rows, excitation_rows, numbers_dict,
                                              write_csv, write_json)

DEBOUNCE_MS = 300
MODES = (("Photo A", "a"), ("A and B side by side", "both"), ("Difference A − B", "diff"))
SORTS = (("Channel index", "index"), ("Weight (largest first)", "weight"),
         ("Variance across photos", "photos"), ("Variance across the stage's blocks", "stage"))


class ExcitationPane(QWidget):
    """One photo's (or the difference's) bar chart of a block above its blocks x channels heatmap."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars = BarChart()
        self.heatmap = Heatmap()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bars, 2)
        layout.addWidget(self.heatmap, 3)


class AttentionView(QWidget):
    """The non-modal Attention window."""

    def __init__(self, service: ModelService, photo: CurrentPhoto, settings=None, recent_paths=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Attention — PhotoLab")
        self._service, self._photo = service, photo
        self._settings = settings if settings is not None else service.settings
        self._recent_paths = recent_paths or (lambda: [])
        self.a: ExcitationSet | None = None
        self.b: ExcitationSet | None = None
        self._b_source: tuple[str, object] | None = None  # ("file", path) or ("snapshot", PhotoSnapshot)
        self._dirty = True
        self._orders: list = []  # left-to-right channel order of every block, as the heatmap shows them
        self.channel_a = service.channel(self, title="Excitations of photo A")
        self.channel_b = service.channel(self, title="Excitations of photo B")
        self.selector = ModelSelector(service)
        self.photo_label = QLabel()
        self.b_button = QPushButton("Photo B")
        self.b_button.setToolTip("The photo to compare with: a file, a recent photo, or this one as it is now")
        self.b_menu = QMenu(self)
        self.b_menu.aboutToShow.connect(self._fill_b_menu)
        self.b_button.setMenu(self.b_menu)
        self.mode = QComboBox()
        for text, key in MODES:
            self.mode.addItem(text, key)
        self.block_combo = QComboBox()
        self.block_combo.setMinimumContentsLength(14)
        self.sort = QComboBox()
        for text, key in SORTS:
            self.sort.addItem(text, key)
        self.pane_a, self.pane_b = ExcitationPane(), ExcitationPane()
        self.class_tab = ClassAverageTab(service, self._settings)
        self.cam_tab = CamTab(service)
        self.tabs = QTabWidget()
        excitations_tab = QWidget()
        controls = QHBoxLayout()
        for widget in (QLabel("Show:"), self.mode, QLabel("Block:"), self.block_combo, QLabel("Order channels by:"),
                       self.sort):
            controls.addWidget(widget)
        controls.addStretch(1)
        self.figure = QWidget()  # what "Export Figure" grabs on this tab
        panes = QHBoxLayout(self.figure)
        panes.setContentsMargins(0, 0, 0, 0)
        panes.addWidget(self.pane_a)
        panes.addWidget(self.pane_b)
        tab_layout = QVBoxLayout(excitations_tab)
        tab_layout.addLayout(controls)
        tab_layout.addWidget(self.figure, 1)
        self.tabs.addTab(excitations_tab, "Excitations")
        self.tabs.addTab(self.class_tab, "Class Average")
        self.tabs.addTab(self.cam_tab, "Activation Map")
        self.status = QLabel()
        numbers_button, figure_button = QPushButton("Export Numbers…"), QPushButton("Export Figure…")
        header = QHBoxLayout()
        for widget in (QLabel("Model:"), self.selector, self.photo_label, self.b_button):
            header.addWidget(widget)
        header.addStretch(1)
        header.addWidget(numbers_button)
        header.addWidget(figure_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.update_photo_a)
        photo.changed.connect(self.schedule)
        service.current_changed.connect(self._model_changed)
        service.models_changed.connect(self._models_listed)
        self.channel_a.result_ready.connect(self.set_a)
        self.channel_b.result_ready.connect(self.set_b)
        for channel in (self.channel_a, self.channel_b):
            channel.failed.connect(lambda message: self.status.setText(message))
        self.mode.currentIndexChanged.connect(lambda index: self.redraw())
        self.sort.currentIndexChanged.connect(lambda index: self.redraw())
        self.block_combo.currentIndexChanged.connect(lambda index: self._draw_bars())
        self.pane_a.heatmap.row_clicked.connect(self.block_combo.setCurrentIndex)
        self.pane_b.heatmap.row_clicked.connect(self.block_combo.setCurrentIndex)
        self.class_tab.result_changed.connect(lambda result: self.redraw())
        numbers_button.clicked.connect(self.choose_and_export_numbers)
        figure_button.clicked.connect(self.choose_and_export_figure)
        self.resize(1200, 820)
        self.redraw()

    # --- photos A and B ---------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._service.start()
        if self._dirty:
            self.schedule(immediately=True)

    def schedule(self, *args, immediately: bool = False) -> None:
        """The current photo or its edit changed: compute photo A again once the edits settle."""
        self._dirty = True
        if self.isVisible():
            self._timer.start(0 if immediately else DEBOUNCE_MS)

    def update_photo_a(self) -> None:
        """Compute the excitations (and, on its tab, the activation map) of the current photo now."""
        snapshot = self._photo.snapshot()
        self._dirty = not self._service.is_ready
        self.cam_tab.set_snapshot(snapshot)
        if snapshot is None:
            self.channel_a.invalidate()
            self.set_a(None)
            self.status.setText("Open a photo to see its excitations.")
        elif self.channel_a.request(excite_snapshot, snapshot) < 0:
            self.status.setText("No model is installed: import or download one in the Model Manager."
                                if self._service.is_ready else "Loading models…")
        else:
            self.status.setText(f"Computing the excitations of {snapshot.name}…")

    def set_photo_b_file(self, path: str | Path) -> None:
        """Compare with the photo at ``path`` (with the edits saved beside it)."""
        self._set_b_source(("file", str(path)))

    def set_photo_b_current(self) -> None:
        """Compare with the current photo as it is now (pinned: later edits change only A)."""
        snapshot = self._photo.snapshot()
        if snapshot is not None:
            self._set_b_source(("snapshot", PhotoSnapshot(snapshot.proxy, snapshot.recipe,
                                                          f"{snapshot.name} (pinned)")))

    def clear_photo_b(self) -> None:
        """Compare with nothing."""
        self._b_source = None
        self.channel_b.invalidate()
        self.set_b(None)

    def _set_b_source(self, source: tuple[str, object]) -> None:
        self._b_source = source
        kind, value = source
        work = excite_file if kind == "file" else excite_snapshot
        self.channel_b.request(work, value)
        if self.mode.currentData() == "a":
            self.mode.setCurrentIndex(1)

    def _fill_b_menu(self) -> None:
        menu = self.b_menu
        menu.clear()
        menu.addAction("Current Photo as Edited Now", self.set_photo_b_current).setEnabled(
            self._photo.snapshot() is not None)
        menu.addAction("Choose File…", self.choose_photo_b)
        recent = [p for p in self._recent_paths() if Path(p).exists()][:8]
        if recent:
            menu.addSection("Recent photos")
            for path in recent:
                menu.addAction(Path(path).name, lambda p=path: self.set_photo_b_file(p))
        menu.addSeparator()
        menu.addAction("Clear Photo B", self.clear_photo_b).setEnabled(self._b_source is not None)

    def choose_photo_b(self) -> None:
        """Ask for a photo file to compare with."""
        path = dialogs.get_open_path(self, "Photo B", str(self._settings.value("open/folder", "")),
                                     dialogs.open_file_filter())
        if path:
            self.set_photo_b_file(path)

    def _models_listed(self) -> None:
        if self._dirty or (self.a is not None and self.a.model != self._service.current_name()):
            self._model_changed(self._service.current_name())

    def _model_changed(self, name: str) -> None:
        self.a = self.b = None
        self.channel_a.invalidate()
        self.channel_b.invalidate()
        self.redraw()
        self.schedule(immediately=True)
        if self._b_source is not None:
            self._set_b_source(self._b_source)

    def set_a(self, result: ExcitationSet | None) -> None:
        """Show ``result`` as photo A (what the photo A job delivers)."""
        self.a = result
        if result is not None:
            self.status.setText(f"{result.model}: {len(result.values)} SE blocks for {result.name}")
        self.redraw()

    def set_b(self, result: ExcitationSet | None) -> None:
        """Show ``result`` as photo B (what the photo B job delivers)."""
        self.b = result
        self.redraw()

    def difference(self) -> "OrderedDict[str, np.ndarray] | None":
        """A − B per block (None unless both photos were seen by the same model)."""
        if self.a is None or self.b is None or self.a.model != self.b.model:
            return None
        return OrderedDict((block, self.a.values[block] - self.b.values[block]) for block in self.a.values)

    # --- drawing ------------------------------------------------------------------------------------------
    def shown(self) -> tuple["OrderedDict[str, np.ndarray] | None", "OrderedDict[str, np.ndarray] | None"]:
        """What panes A and B show now (pane A holds the difference in difference mode)."""
        mode = self.mode.currentData()
        a = self.a.values if self.a is not None else None
        b = self.b.values if self.b is not None and self.difference() is not None else None
        if mode == "diff":
            return self.difference(), None
        return a, (b if mode == "both" else None)

    def _photo_sets(self) -> list:
        sets = [s.values for s in (self.a, self.b) if s is not None and s.model == self._service.current_name()]
        result = self.class_tab.result
        if result is not None and self.a is not None and result.model == self.a.model:
            sets += [OrderedDict((block, result.class_means(block)[k]) for block in result.excitations)
                     for k in range(len(result.classes))]
        return sets

    def redraw(self) -> None:
        """Redraw both panes from the data (mode, sort and block as chosen)."""
        mode = self.mode.currentData()
        shown_a, shown_b = self.shown()
        self.pane_b.setVisible(mode == "both")
        self.photo_label.setText(f"A: {self.a.name + ' (as edited)' if self.a else '—'}    "
                                 f"B: {self.b.name if self.b else '—'}")
        blocks = list(self.a.values) if self.a is not None else []
        if blocks != [self.block_combo.itemText(i) for i in range(self.block_combo.count())]:
            current = self.block_combo.currentText()
            self.block_combo.blockSignals(True)
            self.block_combo.clear()
            self.block_combo.addItems(blocks)
            self.block_combo.setCurrentIndex(blocks.index(current) if current in blocks else 0)
            self.block_combo.blockSignals(False)
        sort = self.sort.currentData()
        diverging = mode == "diff"
        value_name = "A − B" if diverging else "excitation"
        if shown_a is None:
            hint = "Choose photo B with the Photo B button to see A − B" if diverging and self.a else ""
            self._orders = []
            self.pane_a.heatmap.set_rows([], [], title=hint)
        else:
            orders = self._orders = channel_orders(shown_a, sort, self._photo_sets())
            title = f"Difference A − B ({self.a.name} − {self.b.name})" if diverging else f"A: {self.a.name}"
            self.pane_a.heatmap.set_rows(blocks, list(shown_a.values()), orders, diverging=diverging, title=title,
                                         value_name=value_name)
            if shown_b is not None:  # B in A's channel order, so columns correspond
                note = "" if sort == "index" else "  (in A's channel order)"
                self.pane_b.heatmap.set_rows(blocks, list(shown_b.values()), orders, title=f"B: {self.b.name}{note}")
        if shown_b is None:
            self.pane_b.heatmap.set_rows([], [], title="B: choose a photo with the Photo B button")
        self._draw_bars()

    def _draw_bars(self) -> None:
        shown_a, shown_b = self.shown()
        block = self.block_combo.currentText()
        index = self.block_combo.currentIndex()
        diverging = self.mode.currentData() == "diff"
        order = self._orders[index] if 0 <= index < len(self._orders) else None  # the heatmap's channel order
        for pane, shown, color in ((self.pane_a, shown_a, SERIES_COLORS[0]), (self.pane_b, shown_b, SERIES_COLORS[1])):
            pane.heatmap.set_selected(index)
            if shown is None or block not in shown:
                pane.bars.set_values(None)
                continue
            what = "A − B" if diverging else ("A" if pane is self.pane_a else "B")
            pane.bars.set_values(shown[block], f"{block} — {len(shown[block])} channels ({what})",
                                 diverging=diverging, value_name=what if diverging else "excitation", color=color,
                                 order=order)

    # --- export --------------------------------------------------------------------------------------------
    def numbers(self) -> dict:
        """Everything the view shows, JSON-ready: photos A and B, A − B, the class averages, the CAM class."""
        return numbers_dict(self._service.current_name(), self.a, self.b, self.difference(), self.class_tab.result,
                            self.cam_tab.result)

    def csv_rows(self) -> list[list]:
        """The Class Average tab's class means (with block specificity) if it is shown and has a result,
        else photo A, B and A − B per block and channel."""
        result = self.class_tab.result
        if self.tabs.currentWidget() is self.class_tab and result is not None:
            return class_rows(result)
        return excitation_rows(self.a, self.b, self.difference())

    def export_numbers(self, path: str | Path) -> Path:
        """Write the numbers to ``path``: JSON (``.json``: everything) or CSV (otherwise: see ``csv_rows``)."""
        if Path(path).suffix.lower() == ".json":
            return write_json(path, self.numbers())
        return write_csv(path, self.csv_rows())

    def figure_widget(self) -> QWidget:
        """The current tab's figure (what Export Figure saves)."""
        current = self.tabs.currentWidget()
        return self.cam_tab.view if current is self.cam_tab else (self.figure if current is not self.class_tab
                                                                    else self.class_tab)

    def export_figure(self, path: str | Path) -> Path:
        """Save the current tab's figure as a PNG."""
        if not self.figure_widget().grab().save(str(path), "PNG"):
            raise OSError(f"{path}: the figure could not be written")
        return Path(path)

    def choose_and_export_numbers(self) -> None:
        """Ask where to save the numbers (CSV or JSON) and save them."""
        path = dialogs.get_save_path(self, "Export numbers", "excitations.csv", "CSV (*.csv);;JSON (*.json)")
        self._export(self.export_numbers, path)

    def choose_and_export_figure(self) -> None:
        """Ask where to save the current tab's figure (PNG) and save it."""
        path = dialogs.get_save_path(self, "Export figure", "attention.png", "PNG image (*.png)")
        self._export(self.export_figure, path)

    def _export(self, write, path: str) -> None:
        if not path:
            return
        try:
            self.status.setText(f"Saved {write(path)}")
        except OSError as exc:
            dialogs.show_error(self, "Export failed", f"{path}: {exc.strerror or exc}")
