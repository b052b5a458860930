"""The fine-tuning wizard and its results page: train an SE classifier on the user's own folder (Models ▸ Train Classifier…).

Six pages (:mod:`photolab.gui.finetune.pages`): folder, data check, base model and strategy, settings,
training (live curves), results and save. The wizard holds the run's state (the scan report, the thumbnails,
the outcome) and starts the long work as Jobs on the window's ``JobRunner``: the scan, the training and the
save, so the window stays responsive. The training itself is :func:`photolab.models.training.finetune.run_finetune`,
the same code ``photolab-cli train`` runs; the Job functions are in :mod:`photolab.gui.finetune.work`. The
wizard is modeless; closing it cancels what still runs.

Hook into the main window with one call after its menus exist: ``install_finetune_action(window)``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QIcon
from PySide6.QtWidgets import (QAbstractItemView, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget, QWizard, QWizardPage)

from photolab.gui.finetune import pages
from photolab.gui.finetune.training_curves import TrainingPage
from photolab.gui.finetune.work import pixmap_from, save_work
from photolab.gui.jobs import JobHandle, JobRunner
from photolab.gui.widgets.actions import new_action
from photolab.jobs import Job

class FinetuneWizard(QWizard):
    """Train Classifier: from a folder of labelled photos to a model in the store (module docstring)."""

    model_saved = Signal(object)  # the new ModelEntry

    def __init__(self, service, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.runner = runner or service.runner
        self.report = None  # the scan's DatasetReport
        self.thumbnails: dict[str, list[np.ndarray]] = {}
        self.outcome = None  # FinetuneOutcome of the last finished run
        self.wrong_thumbnails: dict = {}
        self.saved_entry = None
        self.setWindowTitle("Train Classifier")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.folder_page = pages.folder_page()
        self.data_page = pages.DataPage(self)
        self.base_page = pages.BasePage(self)
        self.settings_page = pages.SettingsPage(self)
        self.training_page = TrainingPage(self)
        self.results_page = ResultsPage(self)
        for page in (self.folder_page, self.data_page, self.base_page, self.settings_page, self.training_page,
                     self.results_page):
            self.addPage(page)
        self.resize(760, 600)

    def manager(self):
        """The ModelManager (None until the window's service has created it)."""
        return self.service.manager

    def folder(self) -> str:
        """The dataset folder chosen on the first page."""
        return self.folder_page.folder()

    def filtered_report(self):
        """The scan report without the classes the user excluded (None before the scan has finished)."""
        from photolab.models.training.finetune import without_classes

        if self.report is None:
            return None
        return without_classes(self.report, self.data_page.excluded())

    def settings(self):
        """The run's :class:`~photolab.models.training.settings.FinetuneSettings` as the pages show them now."""
        from photolab.models.training.settings import FinetuneSettings

        page = self.settings_page
        return FinetuneSettings(
            base=self.base_page.base_name(), strategy=self.base_page.strategy(), epochs=page.epochs.value(),
            image_size=page.image_size.value(), lr=page.lr.value(), batch_size=page.batch_size.value(),
            val_fraction=None if page.val_auto.isChecked() else page.val_ratio.value(), seed=page.seed.value(),
            random_crops=page.crops.isChecked(), flip=page.flip.isChecked(), patience=page.patience.value(),
            excluded=tuple(sorted(self.data_page.excluded())))

    def submit(self, job) -> JobHandle:
        """Run ``job`` on the window's background lane (shown in the status bar with a Cancel button)."""
        return self.runner.submit(job)

    def done(self, result: int) -> None:
        """Closing the wizard stops whatever it still runs (a training run keeps nothing unsaved)."""
        self.data_page.cancel()
        self.training_page.cancel()
        super().done(result)


def open_finetune_wizard(window) -> FinetuneWizard:
    """Show the wizard for ``window`` (modeless; the window stays usable) and return it."""
    window.models.start()
    wizard = FinetuneWizard(window.models, window.runner, window)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.show()
    return wizard


def install_finetune_action(window) -> QAction:
    """Add "Train Classifier…" to the window's Models menu, after Model Manager…, as action "train"."""
    return window.add_action("models", "train", new_action(
        window, "&Train Classifier…", lambda: open_finetune_wizard(window),
        tip="Teach a classifier your own categories from a folder of photos"), after="model_manager")


class ResultsPage(QWizardPage):
    """6. Results: accuracy, per-class precision/recall, confusion matrix, confident mistakes; Save."""

    def __init__(self, wizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Results")
        self.handle = None
        self.summary = _wrapped("")
        self.per_class = QTableWidget(0, 3)
        self.per_class.setHorizontalHeaderLabels(["Precision", "Recall", "Images"])
        self.confusion = QTableWidget()
        self.confusion.setToolTip("Rows: the true class; columns (numbered like the rows): what the model said")
        for table in (self.per_class, self.confusion):
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.wrong = QListWidget()
        self.wrong.setViewMode(QListWidget.ViewMode.IconMode)
        self.wrong.setIconSize(QSize(72, 72))
        self.name_edit = QLineEdit()
        self.name_edit.textChanged.connect(self._check_name)
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("What the model recognises, where the photos came from …")
        self.description.setMaximumHeight(60)
        self.save_button = QPushButton("Save Model")
        self.save_button.clicked.connect(self.save)
        self.save_status = _wrapped("")
        tables = QHBoxLayout()
        tables.addWidget(self.per_class)
        tables.addWidget(self.confusion)
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Description:", self.description)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(tables, 2)
        layout.addWidget(QLabel("Most confidently wrong validation photos:"))
        layout.addWidget(self.wrong, 1)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.save_status, 1)
        row.addWidget(self.save_button)
        layout.addLayout(row)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        """Show the finished run's metrics."""
        from photolab.models.training.settings import STRATEGIES

        outcome = self._wizard.outcome
        metrics = outcome.result.metrics
        note = (" Training was cancelled: the best epoch so far is shown and can be saved."
                if outcome.cancelled else "")
        if outcome.result.history:
            self.summary.setText(f"<b>Validation accuracy {metrics.accuracy:.1%}</b> on {outcome.val_images} "
                                 f"held-out photos ({outcome.train_images} used for training; best epoch "
                                 f"{outcome.result.best_epoch}).{note}")
        else:  # auto: every photo was predicted out of fold
            extra = outcome.result.extra
            self.summary.setText(f"<b>Cross-validated accuracy {metrics.accuracy:.1%}</b> on all "
                                 f"{outcome.train_images} photos, each judged by a model trained without it "
                                 f"({extra['folds']} folds; {STRATEGIES[extra['chosen']].lower()} chosen).")
        classes = list(metrics.classes)
        self.per_class.setRowCount(len(classes))
        self.per_class.setVerticalHeaderLabels(classes)
        for row, values in enumerate(metrics.per_class().values()):
            for column, text in enumerate((f"{values['precision']:.0%}", f"{values['recall']:.0%}",
                                           str(values["support"]))):
                self.per_class.setItem(row, column, QTableWidgetItem(text))
        self.confusion.setRowCount(len(classes))
        self.confusion.setColumnCount(len(classes))
        self.confusion.setVerticalHeaderLabels([f"{index + 1}  {name}" for index, name in enumerate(classes)])
        self.confusion.setHorizontalHeaderLabels([str(index + 1) for index in range(len(classes))])
        for column, name in enumerate(classes):
            self.confusion.horizontalHeaderItem(column).setToolTip(name)
        for row, counts in enumerate(metrics.confusion):
            total = max(1, sum(counts))
            for column, count in enumerate(counts):
                item = QTableWidgetItem(str(count))
                item.setToolTip(f"{count} of {total} {classes[row]} photos classified as {classes[column]}")
                shade = int(200 * count / total)
                colour = QColor(60, 160, 80, shade) if row == column else QColor(210, 60, 50, shade)
                item.setBackground(QBrush(colour))
                self.confusion.setItem(row, column, item)
        self.wrong.clear()
        for mistake in outcome.wrong:
            item = QListWidgetItem(f"{mistake.true_class} → {mistake.predicted}\n{mistake.confidence:.0%}")
            item.setToolTip(str(mistake.path))
            thumbnail = self._wizard.wrong_thumbnails.get(mistake.path)
            if thumbnail is not None:
                item.setIcon(QIcon(pixmap_from(thumbnail)))
            self.wrong.addItem(item)
        if not outcome.wrong:
            self.wrong.addItem("None: every validation photo was classified correctly.")
        if not self.name_edit.text():
            from photolab.models.store.card import suggested_model_name

            self.name_edit.setText(suggested_model_name(self._wizard.folder()))
        self.save_status.setText("")
        self.save_button.setEnabled(True)

    def _check_name(self) -> None:
        from photolab.models.store.card import ModelCardError, check_model_name

        try:
            check_model_name(self.name_edit.text())
            self.save_button.setEnabled(self.handle is None)
            self.save_status.setText("")
        except ModelCardError as exc:
            self.save_button.setEnabled(False)
            self.save_status.setText(str(exc))

    def save(self) -> None:
        """Store the model with its card (a Job); on success it is in the Classify panel's model list."""
        name = self.name_edit.text()
        job = Job(save_work, self._wizard.manager(), self._wizard.outcome, name,
                  self.description.toPlainText().strip(), title=f"Saving {name}")
        handle = self.handle = self._wizard.submit(job)
        self.save_button.setEnabled(False)
        self.save_status.setText(f"Saving {name} …")
        handle.finished.connect(self._on_saved)
        handle.failed.connect(self._on_failed)
        handle.ended.connect(lambda _h: setattr(self, "handle", None))

    def _on_saved(self, entry) -> None:
        self._wizard.saved_entry = entry
        self._wizard.service.refresh()
        self.save_status.setText(f"Saved as {entry.name}. It is now in the Classify panel's model list.")
        self._wizard.model_saved.emit(entry)

    def _on_failed(self, message: str) -> None:
        self.save_status.setText(f"Not saved: {message}")
        self.save_button.setEnabled(True)


def _wrapped(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label
