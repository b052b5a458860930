"""The Export dialog (format, quality, target file) and the export job it starts.

The default target sits beside the original with the new extension, and is never the original itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLineEdit,
                               QPushButton, QSpinBox, QWidget)

from photolab.core import io
from photolab.core.photo import Photo
from photolab.services import export_developed
from photolab.core.recipe import Recipe
from photolab.gui.widgets import dialogs
from photolab.jobs import Job

FORMATS = (("jpg", "JPEG (8-bit)"), ("png", "PNG 8-bit"), ("png16", "PNG 16-bit"), ("tiff16", "TIFF 16-bit"))
DEFAULT_QUALITY = 92
SETTINGS_FORMAT = "export/format"
SETTINGS_QUALITY = "export/quality"


@dataclass(frozen=True)
class ExportRequest:
    target: Path
    file_format: str
    quality: int = DEFAULT_QUALITY


def extension_for(file_format: str) -> str:
    """'.jpg' for 'jpg', '.tif' for 'tiff16' (as io.EXPORT_FORMATS says)."""
    extension = io.EXPORT_FORMATS[file_format]
    return extension if extension.startswith(".") else "." + extension


def same_file(a: Path, b: Path) -> bool:
    """True when both paths name one file (also on case-insensitive file systems)."""
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve() or str(a.resolve()).lower() == str(b.resolve()).lower()


def default_export_path(original: Path, file_format: str) -> Path:
    """Beside the original with the format's extension; ``NAME-edited.EXT`` if that is the original."""
    extension = extension_for(file_format)
    target = original.with_suffix(extension)
    if same_file(target, original):
        target = original.with_name(f"{original.stem}-edited{extension}")
    return target


def remembered_request(settings: QSettings, original: Path) -> ExportRequest:
    """The last used format and quality, targeting the default path for ``original``."""
    file_format = str(settings.value(SETTINGS_FORMAT, "jpg"))
    if file_format not in dict(FORMATS):
        file_format = "jpg"
    quality = int(settings.value(SETTINGS_QUALITY, DEFAULT_QUALITY))
    return ExportRequest(default_export_path(original, file_format), file_format, quality)


def export_job(photo: Photo, recipe: Recipe, request: ExportRequest) -> Job:
    """A job that renders ``photo`` with ``recipe`` at full resolution and writes ``request.target``."""
    return Job(export_developed, photo, recipe, request.target, file_format=request.file_format,
               quality=request.quality, title=f"Exporting {request.target.name}")


class ExportDialog(QDialog):
    """Asks for format, quality and target; ``request()`` gives the answer after ``exec()`` accepted."""

    def __init__(self, original: Path, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export {original.name}")
        self._original = original
        self._settings = settings
        remembered = remembered_request(settings, original)

        self.format = QComboBox()
        for key, label in FORMATS:
            self.format.addItem(label, key)
        self.format.setCurrentIndex([key for key, _ in FORMATS].index(remembered.file_format))
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(remembered.quality)
        self.path = QLineEdit(str(remembered.target))
        self.path.setMinimumWidth(420)
        browse = QPushButton("Browse…")
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("JPEG quality", self.quality)
        form.addRow("Save as", path_row)
        form.addRow(buttons)

        self.format.currentIndexChanged.connect(self._on_format)
        browse.clicked.connect(self._browse)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._on_format()

    @property
    def file_format(self) -> str:
        return self.format.currentData()

    def request(self) -> ExportRequest:
        return ExportRequest(Path(self.path.text().strip()).expanduser(), self.file_format, self.quality.value())

    def _on_format(self) -> None:
        self.quality.setEnabled(self.file_format == "jpg")
        text = self.path.text().strip()
        if text:
            current = Path(text)
            target = current.with_suffix(extension_for(self.file_format))
            if same_file(target, self._original):
                target = current.with_name(f"{current.stem}-edited{extension_for(self.file_format)}")
            self.path.setText(str(target))

    def _browse(self) -> None:
        extension = extension_for(self.file_format)
        chosen = dialogs.get_save_path(self, "Export as", self.path.text(), f"{self.format.currentText()} (*{extension})")
        if chosen:
            self.path.setText(chosen)

    def validation_error(self) -> str:
        """Why the current answer cannot be used, or '' when it can."""
        target = self.request().target
        if not self.path.text().strip():
            return "Choose a file to export to."
        if same_file(target, self._original):
            return f"{target} is the original photo; PhotoLab never overwrites originals. Choose another name."
        if not target.parent.is_dir():
            return f"The folder {target.parent} does not exist."
        if target.is_dir():
            return f"{target} is a folder; add a file name."
        return ""

    def accept(self) -> None:
        error = self.validation_error()
        if error:
            dialogs.show_error(self, "Cannot export", error)
            return
        target = self.request().target
        if target.exists() and not dialogs.ask_yes_no(self, "Replace file?", f"{target} already exists. Replace it?"):
            return
        self._settings.setValue(SETTINGS_FORMAT, self.file_format)
        self._settings.setValue(SETTINGS_QUALITY, self.quality.value())
        super().accept()
