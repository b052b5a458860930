"""The first four pages of the fine-tuning wizard: folder, data check, base model and strategy, settings.

The training page lives in :mod:`photolab.gui.finetune.training_curves`, the results page in
:mod:`photolab.gui.finetune.wizard`, which also holds the state the pages share; the Job functions and
thumbnails they use are in :mod:`photolab.gui.finetune.work`.
"""

from __future__ import annotations

import numpy as np

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QProgressBar, QRadioButton,
                               QSpinBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget, QWizardPage)

from photolab.gui.finetune.work import pixmap_from, scan_work
from photolab.gui.widgets.folder_page import FolderPage
from photolab.jobs import Job

WHAT_HAPPENS = {
    "stray_files": "ignored", "unsupported": "ignored", "unreadable": "skipped",
    "unsuitable": "left out of training", "links_not_followed": "not followed",
    "duplicate_across_classes": "left out of both classes", "duplicate_within_class": "one copy is used",
    "few_images": "training goes ahead; add images for more reliable results",
    "imbalance": "training goes ahead; the larger class may be favoured",
}
"""Issue code -> what the wizard does about it (errors must be fixed, or their class excluded)."""


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def folder_page() -> FolderPage:
    """1. The folder: one sub-folder per class (nested folders allowed), any photo format PhotoLab reads."""
    return FolderPage(
        title="Choose your photos",
        subtitle="Make one sub-folder per category and put its photos inside (further sub-folders are fine). "
                 "Camera RAW, JPEG, PNG (transparency composited over white), TIFF and WebP photos are read.",
        placeholder="/path/to/folder  (e.g. birds/ with birds/robin, birds/wren …)",
        caption="Folder of labelled photos",
        hint="Example: <i>birds/robin/001.jpg</i>, <i>birds/wren/2024/img.dng</i> → two classes, robin and wren. "
             "At least two classes with five photos each; twenty or more per class give more reliable results.")


class DataPage(QWizardPage):
    """2. The data check: images and thumbnails per class, every problem and what is done about it."""

    def __init__(self, wizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Check the data")
        self.setSubTitle("Untick a class to leave it out of training.")
        self.handle = None
        self.scanned_folder = ""
        self.status = _label("")
        self.progress = QProgressBar()
        self.classes = QTreeWidget()
        self.classes.setHeaderLabels(["Class", "Images", "Examples"])
        self.classes.setRootIsDecorated(False)
        self.classes.itemChanged.connect(self._on_class_toggled)
        self.issues = QTreeWidget()
        self.issues.setHeaderLabels(["Problem", "What happens"])
        self.issues.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.classes, 3)
        layout.addWidget(self.issues, 2)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        """Scan the folder (a Job) unless it was just scanned."""
        folder = self._wizard.folder()
        if folder == self.scanned_folder and self._wizard.report is not None:
            return
        self.cancel()
        self._wizard.report, self.scanned_folder = None, ""
        self.classes.clear()
        self.issues.clear()
        self.status.setText(f"Checking every photo in {folder} …")
        self.progress.setValue(0)
        self.progress.show()
        handle = self.handle = self._wizard.submit(Job(scan_work, folder, title=f"Checking {Path(folder).name}"))
        handle.progress.connect(lambda f, m: self.progress.setValue(int(f * 100)) if handle is self.handle else None)
        handle.finished.connect(lambda result: self._on_scanned(handle, folder, result))
        handle.failed.connect(lambda message: self._on_ended(handle, f"The folder could not be checked: {message}"))
        handle.cancelled.connect(lambda: self._on_ended(handle, "Checking was cancelled."))
        self.completeChanged.emit()

    def cancel(self) -> None:
        """Stop a running scan."""
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _on_ended(self, handle, message: str) -> None:
        if handle is self.handle:
            self.handle = None
            self.progress.hide()
            self.status.setText(message)

    def _on_scanned(self, handle, folder: str, result) -> None:
        if handle is not self.handle:
            return
        self.handle = None
        self.progress.hide()
        self._wizard.report, self._wizard.thumbnails = result
        self.scanned_folder = folder
        report = self._wizard.report
        self.classes.blockSignals(True)
        for name, count in report.counts.items():
            item = QTreeWidgetItem([name, str(count), ""])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked)
            self.classes.addTopLevelItem(item)
            strip = QWidget()
            row = QHBoxLayout(strip)
            row.setContentsMargins(0, 0, 0, 0)
            for image in self._wizard.thumbnails.get(name, []):
                thumb = QLabel()
                thumb.setPixmap(pixmap_from(image, 48))
                row.addWidget(thumb)
            row.addStretch(1)
            self.classes.setItemWidget(item, 2, strip)
        self.classes.blockSignals(False)
        self.classes.resizeColumnToContents(0)
        self._show_issues()

    def excluded(self) -> set[str]:
        """Classes the user unticked."""
        return {self.classes.topLevelItem(i).text(0) for i in range(self.classes.topLevelItemCount())
                if self.classes.topLevelItem(i).checkState(0) != Qt.CheckState.Checked}

    def set_excluded(self, names) -> None:
        """Untick ``names`` (and tick every other class)."""
        for index in range(self.classes.topLevelItemCount()):
            item = self.classes.topLevelItem(index)
            item.setCheckState(0, Qt.CheckState.Unchecked if item.text(0) in names else Qt.CheckState.Checked)

    def _on_class_toggled(self, *_args) -> None:
        self._show_issues()

    def _show_issues(self) -> None:
        report = self._wizard.filtered_report()
        self.issues.clear()
        if report is None:
            return
        for issue in report.issues:
            action = "must be fixed before training (or untick the class)" if issue.severity == "error" \
                else WHAT_HAPPENS.get(issue.code, "noted")
            item = QTreeWidgetItem([f"{issue.severity.upper()}: {issue.message}", action])
            item.setToolTip(0, issue.message)
            if issue.severity == "error":
                item.setForeground(0, QBrush(QColor(200, 40, 40)))
            for path in issue.paths[:50]:
                item.addChild(QTreeWidgetItem([path, ""]))
            if len(issue.paths) > 50:
                item.addChild(QTreeWidgetItem([f"… and {len(issue.paths) - 50} more", ""]))
            self.issues.addTopLevelItem(item)
        used = len(report.items)
        self.status.setText(f"{used} usable images in {len(report.classes)} classes."
                            + ("" if report.ok else " Training cannot start until the errors below are solved."))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        """The scan has finished and the kept classes can be trained."""
        report = self._wizard.filtered_report()
        return self.handle is None and report is not None and report.ok


class BasePage(QWizardPage):
    """3. The base model and the strategy (recommended by the amount of data, with the reason)."""

    def __init__(self, wizard) -> None:
        from photolab.models.training.settings import STRATEGIES

        super().__init__()
        self._wizard = wizard
        self.setTitle("Base model and strategy")
        self.setSubTitle("Training starts from a model that already knows photos, and adapts it to your classes.")
        self.models = QComboBox()
        self.models.currentIndexChanged.connect(self.completeChanged)
        self.buttons = QButtonGroup(self)
        self.radios = {}
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("Start from:", self.models)
        layout.addLayout(form)
        for key, text in STRATEGIES.items():
            self.radios[key] = QRadioButton(text)
            self.buttons.addButton(self.radios[key])
            layout.addWidget(self.radios[key])
        self.reason = _label("")
        layout.addWidget(self.reason)
        layout.addStretch(1)
        wizard.service.models_changed.connect(self._fill)
        self._fill()

    def _fill(self) -> None:
        chosen, recommended = self.base_name(), self._wizard.service.default_base()
        self.models.clear()
        for entry in self._wizard.service.entries():
            size = entry.card.preprocessing.input_size[1]
            suffix = "built-in" if entry.builtin else "yours"
            suffix += ", backbone" if entry.card.is_backbone else ""
            suffix += ", recommended" if entry.name == recommended else ""
            self.models.addItem(f"{entry.name}  ({entry.card.architecture}, {size} px, {suffix})", entry.name)
        index = self.models.findData(chosen or recommended)
        self.models.setCurrentIndex(max(0, index))
        self.completeChanged.emit()

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        """Select the recommended strategy for the data that will be used."""
        from photolab.models.training.settings import recommend_strategy

        report = self._wizard.filtered_report()
        strategy, reason = recommend_strategy(report.counts if report is not None else {})
        self.radios[strategy].setChecked(True)
        self.reason.setText(f"<b>Recommended: {self.radios[strategy].text()}.</b> {reason}")

    def base_name(self) -> str:
        """The chosen base model's name ('' when none)."""
        return self.models.currentData() or ""

    def base_entry(self):
        """The chosen base model's store entry, or None."""
        return next((e for e in self._wizard.service.entries() if e.name == self.base_name()), None)

    def strategy(self) -> str:
        """The chosen strategy key (``auto``, ``probe``, ``last`` or ``full``)."""
        return next((key for key, radio in self.radios.items() if radio.isChecked()), "auto")

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        """A base model is chosen."""
        return bool(self.base_name())


class SettingsPage(QWizardPage):
    """4. Settings, with defaults suited to the chosen model, strategy and data."""

    def __init__(self, wizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Settings")
        self.setSubTitle("The defaults suit most folders.")
        self.image_size = QSpinBox(minimum=32, maximum=1024, singleStep=16, suffix=" px")
        self.epochs = QSpinBox(minimum=1, maximum=1000, value=10)
        self.lr = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=0.1, singleStep=0.0001)
        self.batch_size = QSpinBox(minimum=2, maximum=256, value=16)
        self.crops = QCheckBox("Random crops", checked=True)
        self.flip = QCheckBox("Horizontal flips", checked=True)
        self.val_auto = QCheckBox("Automatic, by data size", checked=True)
        self.val_ratio = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=0.5, singleStep=0.05, value=0.2)
        self.val_auto.toggled.connect(lambda auto: self.val_ratio.setEnabled(not auto))
        self.val_auto.toggled.connect(self._describe_split)
        self.val_ratio.valueChanged.connect(self._describe_split)
        self.val_ratio.setEnabled(False)
        self.split_note = _label("")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.patience = QSpinBox(minimum=0, maximum=100, value=3, specialValueText="off")
        form = QFormLayout(self)
        form.addRow("Image size:", self.image_size)
        form.addRow("Epochs:", self.epochs)
        form.addRow("Learning rate:", self.lr)
        form.addRow("Batch size:", self.batch_size)
        augment = QHBoxLayout()
        augment.addWidget(self.crops)
        augment.addWidget(self.flip)
        form.addRow("Augmentation:", augment)
        split = QHBoxLayout()
        split.addWidget(self.val_auto)
        split.addWidget(self.val_ratio)
        form.addRow("Validation split:", split)
        form.addRow("", self.split_note)
        form.addRow("Early stopping after:", self.patience)
        form.addRow("Random seed:", self.seed)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        """Defaults from the base model (its input size) and the strategy (its learning rate)."""
        from photolab.models.training.settings import DEFAULT_LR

        entry = self._wizard.base_page.base_entry()
        if entry is not None:
            self.image_size.setValue(entry.card.preprocessing.input_size[1])
        strategy = self._wizard.base_page.strategy()
        self.lr.setValue(DEFAULT_LR[strategy])
        for field in (self.epochs, self.lr, self.batch_size, self.crops, self.flip, self.val_auto, self.patience):
            field.setEnabled(strategy != "auto")  # auto sets these itself and measures by cross-validation
        self.val_ratio.setEnabled(strategy != "auto" and not self.val_auto.isChecked())
        self._describe_split()

    def _describe_split(self, *_args) -> None:
        """Say how many images the run will hold out: the split training makes (``stratified_split`` of the
        same labels, share and seed), whose per-class rounding may differ from the share asked for."""
        from photolab.models.training.settings import auto_val_fraction
        from photolab.models.training.split import stratified_split

        from photolab.models.training.fewshot import folds_for

        report = self._wizard.filtered_report()
        if report is None or not report.items:
            self.split_note.setText("")
            return
        total = len(report.items)
        if self._wizard.base_page.strategy() == "auto":
            folds = len(folds_for(np.asarray(report.labels), self.seed.value()))
            self.split_note.setText(f"Automatic training uses all {total} images and measures itself by {folds}-fold "
                                    f"cross-validation: each image is judged by a model trained without it.")
            return
        auto = self.val_auto.isChecked()
        fraction = auto_val_fraction(total) if auto else self.val_ratio.value()
        held_out = len(stratified_split(report.labels, fraction, self.seed.value())[1])
        self.split_note.setText(f"{held_out} of the {total} images ({held_out / total:.0%}) are held out to measure "
                                f"accuracy{' (a smaller share as the data grows)' if auto else ''}.")
