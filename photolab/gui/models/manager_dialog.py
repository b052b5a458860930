"""The Model Manager dialog: every classifier (built-in, imported, downloaded, fine-tuned) and its card.

Import (safetensors, or weights-only .pth/.bin), download (a timm catalogue entry or any URL, with progress,
cancel and a SHA-256 check) and export (safetensors, TorchScript, ONNX when the onnx package is there) run
as jobs on the window's runner; rename and delete are quick file operations (built-ins are read-only and a
delete is confirmed first). An import whose name is taken offers another name (``free_model_name``), as the CLI's
``--name`` does. Every other failure is shown with the model manager's own message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QSplitter, QTextBrowser, QVBoxLayout, QWidget)

from photolab.gui.jobs import JobHandle
from photolab.gui.models.card_view import card_html
from photolab.gui.models.service import ModelService
from photolab.gui.widgets import dialogs
from photolab.jobs import Job

WEIGHTS_FILTER = "Model weights (*.safetensors *.pth *.pt *.bin);;All files (*)"
FOLDER_KEY = "models/import_folder"


@dataclass(frozen=True)
class NameTaken:
    """The outcome of an import that stored nothing because a model named ``name`` is installed."""

    name: str


def import_work(context, manager, path: str | Path, name: str | None = None):
    """Job work: import the weights at ``path`` (as ``name`` if given) and return the new entry, or
    :class:`NameTaken` when the name the model would get is in use (nothing is stored)."""
    from photolab.models.store.importing import prepare_import
    from photolab.models.store.manager import ModelStoreError

    try:
        return manager.import_file(path, name=name, context=context)
    except ModelStoreError:
        wanted = name or prepare_import(path)[1].name  # the same checks passed a moment ago
        if wanted in {entry.name for entry in manager.list_models()}:
            return NameTaken(wanted)
        raise


class ModelManagerDialog(QDialog):
    """List, inspect, import, download, export, rename and delete models; choose the device."""

    def __init__(self, service: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model Manager")
        self._service = service
        self.download_handle: JobHandle | None = None
        self.jobs: list[JobHandle] = []  # import and export jobs still running
        self.list = QListWidget()
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.import_button = QPushButton("Import…")
        self.export_button = QPushButton("Export…")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        self.device = QComboBox()
        self.status = QLabel()
        self.status.setWordWrap(True)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(self.details)
        splitter.setSizes([240, 520])
        buttons = QHBoxLayout()
        for button in (self.import_button, self.export_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Run models on:"))
        buttons.addWidget(self.device)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        layout.addWidget(self._download_box())
        layout.addWidget(self.status)
        layout.addWidget(close)
        self.list.currentItemChanged.connect(lambda *args: self._show_selected())
        self.import_button.clicked.connect(self.choose_and_import)
        self.export_button.clicked.connect(self.choose_and_export)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.device.activated.connect(lambda index: self.set_device(self.device.itemText(index)))
        service.models_changed.connect(self.refill)
        self.resize(860, 620)
        service.start()
        self.refill()

    def _download_box(self) -> QGroupBox:
        box = QGroupBox("Download")
        self.source = QComboBox(editable=True)
        self.source.lineEdit().setPlaceholderText("A timm catalogue entry, or an http(s) URL of a weights file")
        self.sha256 = QLineEdit(placeholderText="expected SHA-256 (optional for URLs; catalogue entries carry one)")
        self.new_name = QLineEdit(placeholderText="name in PhotoLab (optional)")
        self.download_button = QPushButton("Download")
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.progress = QProgressBar(maximum=1000, textVisible=False)
        self._catalogue_sha = ""  # the hash a catalogue entry filled in
        self.source.currentTextChanged.connect(self._catalogue_chosen)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
        form = QFormLayout(box)
        form.addRow("From:", self.source)
        form.addRow("SHA-256:", self.sha256)
        form.addRow("Name:", self.new_name)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        form.addRow(row)
        return box

    # --- the list ------------------------------------------------------------------------------------------
    def refill(self) -> None:
        """List the models again, keeping the selection."""
        selected = self.selected_name()
        self.list.clear()
        for entry in self._service.entries():
            text = entry.name + ("  — built-in" if entry.builtin else f"  — {entry.card.source_kind}")
            text += ", backbone for fine-tuning" if entry.card.is_backbone else ""
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, entry.name)
            self.list.addItem(item)
            if entry.name == (selected or self._service.current_name()):
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        ready = self._service.is_ready
        if ready and self.source.count() == 0:
            self.source.blockSignals(True)
            for weights in self._service.manager.catalogue():
                self.source.addItem(weights.name, weights.name)
            self.source.setCurrentIndex(-1)
            self.source.blockSignals(False)
        self.device.clear()
        if ready:
            self.device.addItems(self._service.devices())
            self.device.setCurrentText(self._service.device())
        self.import_button.setEnabled(ready)
        self.download_button.setEnabled(ready and self.download_handle is None)
        if not ready:
            self.details.setPlainText("Loading models…")
        elif not self.list.count():
            self.details.setPlainText("No model is installed yet. Import a weights file, or download a "
                                      "pretrained SE-ResNet below.")
        self._show_selected()

    def names(self) -> list[str]:
        """The names in the list, in order."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def selected_name(self) -> str:
        """The selected model's name ('' for none)."""
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    def select(self, name: str) -> None:
        """Select model ``name`` in the list."""
        for index, item_name in enumerate(self.names()):
            if item_name == name:
                self.list.setCurrentRow(index)

    def selected_entry(self):
        """The selected model's store entry, or None."""
        return next((e for e in self._service.entries() if e.name == self.selected_name()), None)

    def _show_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.details.setHtml(card_html(entry))
        editable = entry is not None and not entry.read_only
        self.export_button.setEnabled(entry is not None)
        self.rename_button.setEnabled(editable)
        self.delete_button.setEnabled(editable)
        tip = "Built-in models are read-only" if entry is not None and entry.read_only else ""
        self.rename_button.setToolTip(tip)
        self.delete_button.setToolTip(tip)

    # --- editing -------------------------------------------------------------------------------------------
    def ask_text(self, title: str, label: str, text: str) -> str:
        """Ask for a line of text ('' when cancelled); tests replace it."""
        value, accepted = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, text)
        return value.strip() if accepted else ""

    def rename_selected(self) -> None:
        """Ask for a new name of the selected user model and rename it."""
        entry = self.selected_entry()
        if entry is None or entry.read_only:
            return
        new_name = self.ask_text("Rename model", f"New name for {entry.name}:", entry.name)
        if not new_name or new_name == entry.name:
            return
        was_current = self._service.current_name() == entry.name
        if self._guarded("Cannot rename", lambda: self._service.manager.rename(entry.name, new_name)) is None:
            return
        self._service.refresh()
        if was_current:
            self._service.set_current(new_name)
        self.select(new_name)
        self.status.setText(f"Renamed {entry.name} to {new_name}.")

    def delete_selected(self) -> None:
        """Delete the selected user model after asking."""
        entry = self.selected_entry()
        if entry is None or entry.read_only:
            return
        if not dialogs.ask_yes_no(self, "Delete model", f"Delete the model {entry.name} and its weights file? "
                                  "This cannot be undone."):
            return
        if self._guarded("Cannot delete", lambda: self._service.manager.remove(entry.name) or True) is None:
            return
        self._service.refresh()
        self.status.setText(f"Deleted {entry.name}.")

    def set_device(self, device: str) -> None:
        """Run models on ``device`` from now on."""
        if device and device != self._service.device():
            if self._guarded("Device not available", lambda: self._service.set_device(device) or True) is not None:
                self.status.setText(f"Models now run on {device}.")
        self.device.setCurrentText(self._service.device())

    def _guarded(self, title: str, action):
        from photolab.core.errors import PhotoLabError

        try:
            return action()
        except (PhotoLabError, OSError) as exc:
            dialogs.show_error(self, title, str(exc))
            return None

    # --- jobs ----------------------------------------------------------------------------------------------
    def _submit(self, job: Job, failure_title: str, on_finished) -> JobHandle:
        handle = self._service.runner.submit(job)
        self.jobs.append(handle)
        handle.ended.connect(self.jobs.remove)
        handle.finished.connect(on_finished)
        handle.failed.connect(lambda message: dialogs.show_error(self, failure_title, message))
        handle.failed.connect(lambda message: self.status.setText(f"{failure_title}."))
        return handle

    def choose_and_import(self) -> JobHandle | None:
        """Ask for a weights file and import it."""
        settings = self._service.settings
        path = dialogs.get_open_path(self, "Import model weights", str(settings.value(FOLDER_KEY, str(Path.home()))),
                                     WEIGHTS_FILTER)
        if not path:
            return None
        settings.setValue(FOLDER_KEY, str(Path(path).parent))
        return self.import_file(path)

    def import_file(self, path: str | Path, name: str | None = None) -> JobHandle:
        """Import the weights at ``path`` (as ``name`` if given) in the background; when the model's name is
        taken, ask for another (a free one offered) and import again."""
        self.status.setText(f"Importing {Path(path).name}…")
        job = Job(import_work, self._service.manager, path, name, title=f"Import {Path(path).name}")
        return self._submit(job, "Import failed", lambda result: self._imported(path, result))

    def _imported(self, path: str | Path, result) -> None:
        from photolab.models.store.card import free_model_name

        if not isinstance(result, NameTaken):
            self._added(result)
            return
        taken = {entry.name for entry in self._service.manager.list_models()}
        new_name = self.ask_text("Name in use", f"A model named {result.name} is already installed. Import "
                                 f"{Path(path).name} as:", free_model_name(result.name, taken))
        if new_name:
            self.import_file(path, new_name)
        else:
            self.status.setText(f"{Path(path).name} was not imported.")

    def _added(self, entry) -> None:
        self._service.refresh()
        self.select(entry.name)
        self.status.setText(f"Added {entry.name} ({entry.card.architecture}, {entry.card.num_classes} classes; "
                            f"SHA-256 {entry.card.sha256}).")

    def choose_and_export(self) -> JobHandle | None:
        """Ask where to export the selected model and in which format (from the suffix)."""
        from photolab.models.store.export import onnx_available

        entry = self.selected_entry()
        if entry is None:
            return None
        formats = "safetensors (*.safetensors);;TorchScript (*.pt)" + (";;ONNX (*.onnx)" if onnx_available() else "")
        path = dialogs.get_save_path(self, "Export model", str(Path.home() / f"{entry.name}.safetensors"), formats)
        return self.export(entry.name, path) if path else None

    def export(self, name: str, path: str | Path) -> JobHandle:
        """Export model ``name`` to ``path`` in the background."""
        manager = self._service.manager
        job = Job(lambda context: manager.export(name, path), title=f"Export {name}")
        self.status.setText(f"Exporting {name}…")
        return self._submit(job, "Export failed", lambda written: self.status.setText(f"Exported {name} to {written}."))

    def _catalogue_chosen(self, text: str) -> None:
        """A catalogue entry fills in its expected hash; anything else clears a hash filled in that way."""
        weights = next((w for w in self._service.manager.catalogue() if w.name == text.strip()), None)
        if weights is not None:
            self._catalogue_sha = weights.sha256_prefix or ""
            self.sha256.setText(self._catalogue_sha)
            self.status.setText(f"{weights.name}: {weights.arch}, licence {weights.license or 'unknown'}, "
                                f"from {weights.url}")
        elif self._catalogue_sha and self.sha256.text() == self._catalogue_sha:
            self._catalogue_sha = ""
            self.sha256.clear()

    def start_download(self) -> JobHandle | None:
        """Download what the form names (catalogue entry or URL), checking the SHA-256 if one is given."""
        from photolab.models.store.manager import download_job

        source = self.source.currentText().strip()
        if not source or self.download_handle is not None:
            return None
        options = {"sha256": self.sha256.text().strip() or None, "name": self.new_name.text().strip() or None}
        handle = self._submit(download_job(self._service.manager, source, **options), "Download failed",
                              self._added)
        handle.progress.connect(lambda fraction, message: (self.progress.setValue(round(fraction * 1000)),
                                                           self.status.setText(message)))
        handle.cancelled.connect(lambda: self.status.setText("Download cancelled; running it again resumes it."))
        handle.ended.connect(self._download_ended)
        self.download_handle = handle
        self.download_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        return handle

    def cancel_download(self) -> None:
        """Stop the running download (the partial file is kept for resuming)."""
        if self.download_handle is not None:
            self.download_handle.cancel()

    def _download_ended(self, handle: JobHandle) -> None:
        self.download_handle = None
        self.download_button.setEnabled(self._service.is_ready)
        self.cancel_button.setEnabled(False)
