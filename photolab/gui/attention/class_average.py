"""The Attention view's Class Average tab: the SENet paper's Fig. 6 analysis of a folder dataset, drawn.

The analysis itself (:func:`photolab.models.analysis.class_average.analyse_folder`, the same function
``photolab-cli attention --class-average`` runs) is a job on the view's inference channel. ``ClassAverageTab``
shows the class specificity of the stages as bars with their confidence intervals and chance levels (the
blocks as a line), says when the folder is too small to tell, and draws the per-class average curves of one
chosen block.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from photolab.gui.attention.charts import BACKGROUND, SERIES_COLORS, TEXT, Chart
from photolab.gui.widgets import dialogs

from photolab.models.analysis.records import default_stage_of

if TYPE_CHECKING:
    from photolab.models.analysis.class_average import ClassAverageResult
    from photolab.models.analysis.specificity import SpecificityReport

RECENT_KEY = "attention/datasets"
CAVEAT_COLOR = "#e0a040"  # the verdict's colour when the folder cannot tell the stages apart


class StageChart(Chart):
    """Class-specificity per stage (bars spanning their blocks, with their confidence intervals and a dashed
    chance level) and per block (a line with points)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = ("Class specificity per stage (bars, 95 % intervals; dashed: shuffled labels) and block (line): "
                      "share of the excitations' variance explained by the class")
        self.stages: OrderedDict[str, float] = OrderedDict()
        self.blocks: OrderedDict[str, float] = OrderedDict()
        self.report: SpecificityReport | None = None
        self._stage_of = lambda block: block

    def set_report(self, report: SpecificityReport | None, stage_of) -> None:
        """Show ``report``'s stages as bars over their blocks (None clears the chart)."""
        self.report, self._stage_of = report, stage_of
        self.stages = OrderedDict((name, s.value) for name, s in (report.stages.items() if report else ()))
        self.blocks = OrderedDict((name, s.value) for name, s in (report.blocks.items() if report else ()))
        self.update()

    def _high(self) -> float:
        values = list(self.stages.values()) + list(self.blocks.values())
        if self.report is not None:
            values += [s.high for s in self.report.stages.values()]
        values = [v for v in values if np.isfinite(v)]
        return float(min(1.0, max(0.1, np.ceil(max(values, default=0.0) * 10 + 0.5) / 10)))

    def paintEvent(self, event) -> None:
        painter = self._begin()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self.plot_rect().adjusted(0, 0, 0, -4)
        high = self._high()
        self._y_axis(painter, plot, 0.0, high, [0.0, round(high / 2, 3), high])
        names = list(self.blocks)
        if not names or self.report is None:
            return
        slot = plot.width() / len(names)
        to_y = lambda v: plot.bottom() - (min(v, high) / high) * plot.height()  # noqa: E731
        for index, (stage, measure) in enumerate(self.report.stages.items()):
            members = [i for i, b in enumerate(names) if self._stage_of(b) == stage]
            left, right = plot.left() + members[0] * slot + 3, plot.left() + (members[-1] + 1) * slot - 3
            color = SERIES_COLORS[index % len(SERIES_COLORS)]
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color.darker(160))
            if np.isfinite(measure.value):
                painter.drawRect(QRectF(left, to_y(measure.value), right - left, plot.bottom() - to_y(measure.value)))
            middle = (left + right) / 2
            if np.isfinite(measure.low):
                painter.setPen(QPen(color.lighter(130), 1.5))
                painter.drawLine(QPointF(middle, to_y(measure.low)), QPointF(middle, to_y(measure.high)))
                for y in (to_y(measure.low), to_y(measure.high)):
                    painter.drawLine(QPointF(middle - 5, y), QPointF(middle + 5, y))
            if np.isfinite(measure.chance):
                painter.setPen(QPen(TEXT, 1.2, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(left, to_y(measure.chance)), QPointF(right, to_y(measure.chance)))
            painter.setPen(TEXT)
            painter.drawText(QRectF(left, plot.bottom() + 2, right - left, 16), Qt.AlignmentFlag.AlignHCenter,
                             f"{stage}  {measure.value:.3f}")
        points = [QPointF(plot.left() + (i + 0.5) * slot, to_y(v)) for i, v in enumerate(self.blocks.values())
                  if np.isfinite(v)]
        painter.setPen(QPen(TEXT, 1.5))
        painter.drawPolyline(points)
        painter.setBrush(TEXT)
        for point in points:
            painter.drawEllipse(point, 2.5, 2.5)

    def tooltip_at(self, point: QPointF) -> str:
        """Block and stage under ``point``: their specificity, chance level and interval; '' outside the plot."""
        plot = self.plot_rect()
        if self.report is None or not self.blocks or not plot.contains(point):
            return ""
        index = min(int((point.x() - plot.left()) / plot.width() * len(self.blocks)), len(self.blocks) - 1)
        block = list(self.blocks)[index]
        stage = self._stage_of(block)
        return "\n".join(f"{name} · specificity {s.value:.4f} (95 % {s.low:.4f}–{s.high:.4f}), "
                         f"shuffled labels {s.chance:.4f}, p = {s.p_value:.3f}"
                         for name, s in ((block, self.report.blocks[block]), (stage, self.report.stages[stage])))


class CurveChart(Chart):
    """Several curves over the channels of one block (one per class), with a legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: list[tuple[str, np.ndarray]] = []
        self.channels = np.zeros(0, int)

    def set_series(self, series: list[tuple[str, np.ndarray]], title: str = "",
                   channels: np.ndarray | None = None) -> None:
        """Show ``series`` = [(name, values (C,)), ...] on a 0..1 axis; ``channels`` names the channel at
        each position (default: positions are channels)."""
        self.series, self.title = [(n, np.asarray(v, np.float64)) for n, v in series], title
        count = len(self.series[0][1]) if self.series else 0
        self.channels = np.asarray(channels) if channels is not None else np.arange(count)
        self.update()

    def paintEvent(self, event) -> None:
        painter = self._begin()
        plot = self.plot_rect()
        self._y_axis(painter, plot, 0.0, 1.0, [0.0, 0.5, 1.0])
        if not self.series or plot.width() < 2:
            return
        count = len(self.series[0][1])
        if np.array_equal(self.channels, np.arange(count)):
            self._x_ticks(painter, plot, count)
        else:
            painter.setPen(TEXT)
            painter.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), 16), Qt.AlignmentFlag.AlignHCenter,
                             f"{count} channels, sorted by their average over the classes")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        xs = plot.left() + (np.arange(count) + 0.5) / count * plot.width()
        for index, (name, values) in enumerate(self.series):
            color = QColor(SERIES_COLORS[index % len(SERIES_COLORS)])
            color.setAlpha(200)
            painter.setPen(QPen(color, 1.2))
            ys = plot.bottom() - np.clip(values, 0, 1) * plot.height()
            painter.drawPolyline([QPointF(x, y) for x, y in zip(xs, ys)])
        for index, (name, values) in enumerate(self.series):
            color = SERIES_COLORS[index % len(SERIES_COLORS)]
            legend = QRectF(plot.right() - 150, plot.top() + 4 + 15 * index, 146, 14)
            painter.fillRect(legend.adjusted(-4, -1, 0, 1), BACKGROUND)
            painter.fillRect(QRectF(legend.left(), legend.center().y() - 1, 14, 3), color)
            painter.setPen(TEXT)
            painter.drawText(legend.adjusted(18, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, name)

    def tooltip_at(self, point: QPointF) -> str:
        """Block (or stage/class), channel and value under ``point``; '' outside the plot."""
        plot = self.plot_rect()
        if not self.series or not plot.contains(point):
            return ""
        count = len(self.series[0][1])
        position = min(int((point.x() - plot.left()) / plot.width() * count), count - 1)
        values = ", ".join(f"{name} {values[position]:.4f}" for name, values in self.series)
        return f"{self.title.split(' — ')[0]} · channel {self.channels[position]} · {values}"


class ClassAverageTab(QWidget):
    """Choose a dataset folder, analyse it in the background, and show the stage and class charts."""

    result_changed = Signal(object)  # ClassAverageResult or None

    def __init__(self, service, settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service, self._settings = service, settings
        self.result: ClassAverageResult | None = None
        self.channel = service.channel(self, visible=True, title="Class-average excitations")
        self.folder = QComboBox(editable=True)
        self.folder.setMinimumContentsLength(30)
        self.folder.lineEdit().setPlaceholderText("A folder with one sub-folder of photos per class")
        self.folder.addItems([str(p) for p in self._recent()])
        self.choose_button = QPushButton("Choose…")
        self.training_button = QPushButton("Model's Training Data")
        self.training_button.setToolTip("The dataset the chosen model was fine-tuned on, if it is still there")
        self.run_button = QPushButton("Analyse")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar(textVisible=False, maximum=1000)
        self.status = QLabel("Average the excitations of each class over a folder dataset (SENet paper, Fig. 6).")
        self.status.setWordWrap(True)
        self.verdict = QLabel()  # which stage is most class-specific, or why the folder cannot tell
        self.verdict.setWordWrap(True)
        self.stage_chart = StageChart()
        self.block_combo = QComboBox()
        self.block_combo.setMinimumContentsLength(12)
        self.curve_order = QComboBox()
        self.curve_order.addItem("Channels sorted by their average", "mean")
        self.curve_order.addItem("Channels in index order", "index")
        self.curves = CurveChart()
        top = QHBoxLayout()
        for widget in (QLabel("Dataset:"), self.folder, self.choose_button, self.training_button, self.run_button):
            top.addWidget(widget, 1 if widget is self.folder else 0)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.progress)
        status_row.addWidget(self.cancel_button)
        block_row = QHBoxLayout()
        block_row.addWidget(QLabel("Class averages of block:"))
        block_row.addWidget(self.block_combo)
        block_row.addWidget(self.curve_order)
        block_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(status_row)
        layout.addWidget(self.verdict)
        layout.addWidget(self.stage_chart, 2)
        layout.addLayout(block_row)
        layout.addWidget(self.curves, 3)
        self.choose_button.clicked.connect(self.choose_folder)
        self.training_button.clicked.connect(self.use_training_data)
        self.run_button.clicked.connect(lambda: self.analyse(self.folder.currentText()))
        self.cancel_button.clicked.connect(self.channel.cancel)
        self.block_combo.currentIndexChanged.connect(self._show_block)
        self.curve_order.currentIndexChanged.connect(self._show_block)
        self.channel.result_ready.connect(self._show_result)
        self.channel.failed.connect(self._on_failed)
        self.channel.cancelled.connect(lambda: self.status.setText("Analysis cancelled."))
        self.channel.progress.connect(self._on_progress)
        self.channel.busy_changed.connect(self._update_buttons)
        service.current_changed.connect(self._model_changed)
        self._update_buttons()

    def _recent(self) -> list[str]:
        value = self._settings.value(RECENT_KEY, [])
        return [value] if isinstance(value, str) else list(value or [])

    def training_root(self) -> str:
        """The chosen model's fine-tuning dataset folder, if its card names one that still exists."""
        entry = self._service.current_entry()
        data = entry.card.training.get("data") if entry is not None else None
        root = data.get("root") if isinstance(data, dict) else None
        return root if root and Path(root).is_dir() else ""

    def choose_folder(self) -> None:
        """Ask for a dataset folder and analyse it."""
        folder = self.ask_folder(self.folder.currentText())
        if folder:
            self.analyse(folder)

    def ask_folder(self, start: str) -> str:
        """The folder chooser ('' when cancelled); tests replace it."""
        return QFileDialog.getExistingDirectory(self, "Dataset folder", start)

    def use_training_data(self) -> None:
        """Analyse the chosen model's own fine-tuning dataset."""
        if self.training_root():
            self.analyse(self.training_root())

    def analyse(self, folder: str) -> int:
        """Start the analysis of ``folder`` with the chosen model (the running one is cancelled)."""
        folder = folder.strip()
        if not folder:
            return -1
        self.folder.setCurrentText(folder)
        recent = [folder] + [p for p in self._recent() if p != folder]
        self._settings.setValue(RECENT_KEY, recent[:8])
        self.progress.setValue(0)
        self.status.setText(f"Analysing {folder}…")
        from photolab.models.analysis.class_average import analyse_folder

        generation = self.channel.request(analyse_folder, folder, title=f"Class averages of {Path(folder).name}")
        if generation < 0:
            self.status.setText("No model is installed: import or download one in the Model Manager.")
        self._update_buttons()
        return generation

    def _update_buttons(self, *args) -> None:
        busy = self.channel.busy
        self.cancel_button.setVisible(busy)
        self.progress.setVisible(busy)
        self.run_button.setEnabled(self._service.current_entry() is not None)
        self.training_button.setEnabled(bool(self.training_root()))

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(fraction * 1000))
        self.status.setText(f"Analysing: {message}")

    def _on_failed(self, message: str) -> None:
        self.status.setText("The analysis failed.")
        dialogs.show_error(self, "Class averages", message)

    def _model_changed(self, name: str) -> None:
        self.channel.invalidate()
        self.show_result(None)
        self._update_buttons()

    def _show_result(self, result: ClassAverageResult) -> None:
        counts = ", ".join(f"{name} {count}" for name, count in result.counts().items())
        stages = " → ".join(f"{name} {s.value:.2f} ({s.chance:.2f})"
                            for name, s in result.specificity.stages.items())
        skipped = f"; {len(result.skipped)} unreadable file(s) skipped" if result.skipped else ""
        self.status.setText(f"{len(result.labels)} images ({counts}){skipped}. "
                            f"Specificity per stage (shuffled labels): {stages}")
        self.show_result(result)

    def show_result(self, result: ClassAverageResult | None) -> None:
        """Show ``result`` (None clears the charts)."""
        self.result = result
        block = self.block_combo.currentText()
        self.block_combo.blockSignals(True)
        self.block_combo.clear()
        if result is not None:
            self.block_combo.addItems(list(result.excitations))
            last = list(result.excitations)[-1]
            self.block_combo.setCurrentText(block if block in result.excitations else last)
        self.block_combo.blockSignals(False)
        self.stage_chart.set_report(result.specificity if result else None, default_stage_of)
        caveat = result.specificity.caveat if result else ""
        self.verdict.setText(result.specificity.summary() if result else "")
        self.verdict.setStyleSheet(f"color: {CAVEAT_COLOR}; font-weight: bold;" if caveat else "")
        self._show_block()
        self.result_changed.emit(result)

    def _show_block(self, *args) -> None:
        block = self.block_combo.currentText()
        if self.result is None or block not in self.result.excitations:
            self.curves.set_series([])
            return
        means = self.result.class_means(block)
        value = self.result.block_specificity[block]
        order = np.arange(means.shape[1])
        if self.curve_order.currentData() == "mean":
            order = np.argsort(-means.mean(axis=0), kind="stable")
        self.curves.set_series(list(zip(self.result.classes, means[:, order])),
                               f"{block} — class-average excitation per channel (specificity {value:.3f})", order)

