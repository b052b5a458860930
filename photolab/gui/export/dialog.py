"""The Export dialog (format, quality, size, output sharpening, colour space, file name template, target file)
and the export job it starts.

The default target sits beside the original, named by the template (``{name}``: the original's name) with the
format's extension, and is never the original itself. The last choices are remembered in QSettings; Export
with Previous Settings reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget)

from photolab.core import io
from photolab.core.colorspace import COLOR_SPACES, DEFAULT_COLOR_SPACE
from photolab.core.export_options import (MAX_EDGE, MAX_MEGAPIXELS, RESIZE_MODES, SHARPENING_AMOUNTS, SHARPENING_MEDIA,
                                          ResizeSpec, SharpeningSpec)
from photolab.core.naming import DEFAULT_TEMPLATE, PLACEHOLDERS, expand_template
from photolab.core.photo import Photo, PhotoMetadata
from photolab.services import export_developed
from photolab.core.recipe import Recipe
from photolab.gui.widgets import dialogs
from photolab.jobs import Job

FORMATS = (("jpg", "JPEG (8-bit)"), ("png", "PNG 8-bit"), ("png16", "PNG 16-bit"), ("tiff16", "TIFF 16-bit"))
DEFAULT_QUALITY = 92
SETTINGS_FORMAT = "export/format"
SETTINGS_QUALITY = "export/quality"
SETTINGS_RESIZE_MODE = "export/resize_mode"  # "none" or a RESIZE_MODES key
SETTINGS_RESIZE_VALUE = "export/resize_value"
SETTINGS_UPSCALE = "export/upscale"
SETTINGS_SHARPENING = "export/sharpening"  # "none" or a SHARPENING_MEDIA key
SETTINGS_SHARPENING_AMOUNT = "export/sharpening_amount"
SETTINGS_COLOR_SPACE = "export/color_space"
SETTINGS_NAME_TEMPLATE = "export/name_template"
DEFAULT_RESIZE_VALUES = {"long": 2048, "short": 1080, "mp": 12.0}


@dataclass(frozen=True)
class ExportRequest:
    """An export to run: where, in which format, and the output options of io.export_photo. ``replace``
    False numbers the file (NAME-1.EXT ...) instead of replacing one that exists."""

    target: Path
    file_format: str
    quality: int = DEFAULT_QUALITY
    resize: ResizeSpec | None = None
    sharpening: SharpeningSpec | None = None
    color_space: str = DEFAULT_COLOR_SPACE
    name_template: str = DEFAULT_TEMPLATE
    replace: bool = True


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


def default_export_path(original: Path, file_format: str, name: str | None = None) -> Path:
    """Beside the original, called ``name`` (default: the original's) with the format's extension;
    ``NAME-edited.EXT`` if that is the original."""
    extension = extension_for(file_format)
    target = original.with_name((name or original.stem) + extension)
    if same_file(target, original):
        target = target.with_name(f"{target.stem}-edited{extension}")
    return target


def _setting(settings: QSettings, key: str, default, convert, allowed=None):
    """A remembered value, or ``default`` when it is missing, unreadable or not one of ``allowed``."""
    try:
        value = convert(settings.value(key, default))
    except (TypeError, ValueError):
        return default
    return default if allowed is not None and value not in allowed else value


def _flag(value) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("true", "1")


def remembered_request(settings: QSettings, original: Path, metadata: PhotoMetadata | None = None) -> ExportRequest:
    """The last used choices, targeting ``original``'s folder under the remembered name template."""
    file_format = _setting(settings, SETTINGS_FORMAT, "jpg", str, dict(FORMATS))
    quality = _setting(settings, SETTINGS_QUALITY, DEFAULT_QUALITY, int, range(1, 101))
    resize = None
    mode = _setting(settings, SETTINGS_RESIZE_MODE, "none", str, ("none", *RESIZE_MODES))
    if mode != "none":
        try:
            resize = ResizeSpec(mode, float(settings.value(SETTINGS_RESIZE_VALUE, DEFAULT_RESIZE_VALUES[mode])),
                                _flag(settings.value(SETTINGS_UPSCALE, False)))
        except (TypeError, ValueError):
            resize = None
    sharpening = None
    medium = _setting(settings, SETTINGS_SHARPENING, "none", str, ("none", *SHARPENING_MEDIA))
    if medium != "none":
        sharpening = SharpeningSpec(medium, _setting(settings, SETTINGS_SHARPENING_AMOUNT, "standard", str,
                                                     SHARPENING_AMOUNTS))
    color_space = _setting(settings, SETTINGS_COLOR_SPACE, DEFAULT_COLOR_SPACE, str, COLOR_SPACES)
    template = _setting(settings, SETTINGS_NAME_TEMPLATE, DEFAULT_TEMPLATE, str)
    try:
        name = expand_template(template, original, metadata)
    except ValueError:
        template, name = DEFAULT_TEMPLATE, None
    return ExportRequest(default_export_path(original, file_format, name), file_format, quality, resize, sharpening,
                         color_space, template)


def export_job(photo: Photo, recipe: Recipe, request: ExportRequest) -> Job:
    """A job that renders ``photo`` with ``recipe`` at full resolution and writes ``request.target`` (or, with
    ``request.replace`` False, the first free numbered name); its result is the path written."""
    return Job(export_developed, photo, recipe, request.target, file_format=request.file_format,
               quality=request.quality, resize=request.resize, sharpening=request.sharpening,
               color_space=request.color_space, replace=request.replace,
               title=f"Exporting {request.target.name}")


class ExportDialog(QDialog):
    """Asks for format, quality, size, sharpening, colour space, name template and target; ``request()`` gives
    the answer after ``exec()`` accepted."""

    def __init__(self, original: Path, settings: QSettings, parent: QWidget | None = None, *,
                 metadata: PhotoMetadata | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export {original.name}")
        self._original = original
        self._metadata = metadata
        self._settings = settings
        remembered = remembered_request(settings, original, metadata)

        self.format = QComboBox()
        for key, label in FORMATS:
            self.format.addItem(label, key)
        self.format.setCurrentIndex([key for key, _ in FORMATS].index(remembered.file_format))
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(remembered.quality)

        self.resize_mode = QComboBox()
        self.resize_mode.addItem("Original size", "none")
        for key, label in RESIZE_MODES.items():
            self.resize_mode.addItem(label, key)
        self.resize_value = QDoubleSpinBox()
        self.upscale = QCheckBox("Enlarge smaller photos")
        resize_row = QHBoxLayout()
        resize_row.addWidget(self.resize_mode)
        resize_row.addWidget(self.resize_value)
        resize_row.addWidget(self.upscale)

        self.sharpening = QComboBox()
        self.sharpening.addItem("None", "none")
        for key, label in SHARPENING_MEDIA.items():
            self.sharpening.addItem(label, key)
        self.sharpening_amount = QComboBox()
        for amount in SHARPENING_AMOUNTS:
            self.sharpening_amount.addItem(amount.capitalize(), amount)
        sharpening_row = QHBoxLayout()
        sharpening_row.addWidget(self.sharpening)
        sharpening_row.addWidget(self.sharpening_amount)

        self.color_space = QComboBox()
        for key, space in COLOR_SPACES.items():
            self.color_space.addItem(space.label, key)
        self.name_template = QLineEdit(remembered.name_template)
        self.name_template.setToolTip("The file name without extension: " + " ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                                      + " (capture date, position in the batch, camera)")
        self.name_error = QLabel()
        self.name_error.setWordWrap(True)

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
        form.addRow("Size", resize_row)
        form.addRow("Output sharpening", sharpening_row)
        form.addRow("Colour space", self.color_space)
        form.addRow("File name", self.name_template)
        form.addRow("", self.name_error)
        form.addRow("Save as", path_row)
        form.addRow(buttons)

        self._select(self.resize_mode, remembered.resize.mode if remembered.resize else "none")
        self._on_resize_mode()
        if remembered.resize is not None:
            self.resize_value.setValue(float(remembered.resize.value))
            self.upscale.setChecked(remembered.resize.upscale)
        self._select(self.sharpening, remembered.sharpening.medium if remembered.sharpening else "none")
        self._select(self.sharpening_amount, remembered.sharpening.amount if remembered.sharpening else "standard")
        self._select(self.color_space, remembered.color_space)
        self._on_sharpening()

        self.format.currentIndexChanged.connect(self._on_format)
        self.resize_mode.currentIndexChanged.connect(lambda: self._on_resize_mode(user=True))
        self.sharpening.currentIndexChanged.connect(self._on_sharpening)
        self.name_template.textChanged.connect(self._on_template)
        browse.clicked.connect(self._browse)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._on_format()

    @staticmethod
    def _select(combo: QComboBox, key: str) -> None:
        index = combo.findData(key)
        combo.setCurrentIndex(max(0, index))

    @property
    def file_format(self) -> str:
        return self.format.currentData()

    def resize_spec(self) -> ResizeSpec | None:
        mode = self.resize_mode.currentData()
        if mode == "none":
            return None
        value = self.resize_value.value()
        return ResizeSpec(mode, value if mode == "mp" else int(round(value)), self.upscale.isChecked())

    def sharpening_spec(self) -> SharpeningSpec | None:
        medium = self.sharpening.currentData()
        return None if medium == "none" else SharpeningSpec(medium, self.sharpening_amount.currentData())

    def request(self) -> ExportRequest:
        return ExportRequest(Path(self.path.text().strip()).expanduser(), self.file_format, self.quality.value(),
                             self.resize_spec(), self.sharpening_spec(), self.color_space.currentData(),
                             self.name_template.text().strip() or DEFAULT_TEMPLATE)

    def _on_format(self) -> None:
        self.quality.setEnabled(self.file_format == "jpg")
        text = self.path.text().strip()
        if text:
            current = Path(text)
            target = current.with_suffix(extension_for(self.file_format))
            if same_file(target, self._original):
                target = current.with_name(f"{current.stem}-edited{extension_for(self.file_format)}")
            self.path.setText(str(target))

    def _on_resize_mode(self, user: bool = False) -> None:
        mode = self.resize_mode.currentData()
        resizing = mode != "none"
        self.resize_value.setEnabled(resizing)
        self.upscale.setEnabled(resizing)
        if mode == "mp":
            self.resize_value.setDecimals(1)
            self.resize_value.setRange(0.1, MAX_MEGAPIXELS)
            self.resize_value.setSuffix(" MP")
        else:
            self.resize_value.setDecimals(0)
            self.resize_value.setRange(1, MAX_EDGE)
            self.resize_value.setSuffix(" px")
        if resizing and user:
            self.resize_value.setValue(DEFAULT_RESIZE_VALUES[mode])

    def _on_sharpening(self) -> None:
        self.sharpening_amount.setEnabled(self.sharpening.currentData() != "none")

    def _template_error(self) -> str:
        try:
            expand_template(self.name_template.text(), self._original, self._metadata)
        except ValueError as exc:
            return str(exc)
        return ""

    def _on_template(self) -> None:
        """A valid template renames the target (its folder kept); an invalid one says why."""
        error = self._template_error()
        self.name_error.setText(error)
        if error:
            return
        name = expand_template(self.name_template.text(), self._original, self._metadata)
        text = self.path.text().strip()
        folder = Path(text).parent if text else self._original.parent
        extension = extension_for(self.file_format)
        target = folder / (name + extension)
        if same_file(target, self._original):
            target = folder / f"{name}-edited{extension}"
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
        template_error = self._template_error()
        if template_error:
            return template_error[0].upper() + template_error[1:] + "."
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
        request = self.request()
        target = request.target
        if target.exists() and not dialogs.ask_yes_no(self, "Replace file?", f"{target} already exists. Replace it?"):
            return
        settings = self._settings
        settings.setValue(SETTINGS_FORMAT, self.file_format)
        settings.setValue(SETTINGS_QUALITY, self.quality.value())
        settings.setValue(SETTINGS_RESIZE_MODE, self.resize_mode.currentData())
        if request.resize is not None:
            settings.setValue(SETTINGS_RESIZE_VALUE, float(request.resize.value))
            settings.setValue(SETTINGS_UPSCALE, request.resize.upscale)
        settings.setValue(SETTINGS_SHARPENING, self.sharpening.currentData())
        settings.setValue(SETTINGS_SHARPENING_AMOUNT, self.sharpening_amount.currentData())
        settings.setValue(SETTINGS_COLOR_SPACE, request.color_space)
        settings.setValue(SETTINGS_NAME_TEMPLATE, request.name_template)
        super().accept()
