"""The Info panel: what the camera recorded, formatted the way photographers read it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from photolab.core.photo import PhotoMetadata

UNKNOWN = "—"
FORMAT_NAMES = {"raw": "Camera RAW", "jpeg": "JPEG", "png": "PNG", "tiff": "TIFF", "webp": "WebP"}


def format_shutter(seconds: float | None) -> str:
    """1/250 s, 1/2 s, 0.4 s (not a whole fraction), 2 s, 1.3 s."""
    if not seconds or seconds <= 0:
        return UNKNOWN
    if seconds < 1.0:
        denominator = round(1.0 / seconds)
        if seconds < 0.25 or abs(denominator * seconds - 1.0) < 0.03:
            return f"1/{denominator} s"
    return f"{seconds:.1f}".rstrip("0").rstrip(".") + " s"


def format_aperture(f_number: float | None) -> str:
    """f/2.8, f/8."""
    if not f_number or f_number <= 0:
        return UNKNOWN
    return "f/" + f"{f_number:.1f}".rstrip("0").rstrip(".")


def format_focal_length(mm: float | None) -> str:
    if not mm or mm <= 0:
        return UNKNOWN
    return f"{mm:.1f}".rstrip("0").rstrip(".") + " mm"


def format_iso(iso: float | None) -> str:
    return f"ISO {round(iso)}" if iso else UNKNOWN


def format_datetime(value: str | None) -> str:
    """ISO 8601 to '2024-05-03 14:22:10' (the text as given when it does not parse)."""
    if not value:
        return UNKNOWN
    try:
        return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def format_size(width: int | None, height: int | None) -> str:
    """6000 × 4000 (24.0 MP)."""
    if not width or not height:
        return UNKNOWN
    return f"{width} × {height} ({width * height / 1e6:.1f} MP)"


def format_camera(metadata: PhotoMetadata) -> str:
    make, model = (metadata.camera_make or "").strip(), (metadata.camera_model or "").strip()
    if make and model.lower().startswith(make.lower()):
        return model  # "Canon Canon EOS R5" -> "Canon EOS R5"
    return " ".join(part for part in (make, model) if part) or UNKNOWN


def describe(metadata: PhotoMetadata | None) -> dict[str, str]:
    """Label -> text for every row of the panel."""
    if metadata is None:
        return {label: UNKNOWN for label in ROWS}
    file_format = FORMAT_NAMES.get(metadata.file_format or "", (metadata.file_format or UNKNOWN).upper())
    if metadata.bits_per_sample and file_format != UNKNOWN:
        file_format += f", {metadata.bits_per_sample}-bit"
    return {
        "File": Path(metadata.path).name if metadata.path else UNKNOWN,
        "Format": file_format,
        "Size": format_size(metadata.width, metadata.height),
        "Camera": format_camera(metadata),
        "Lens": metadata.lens or UNKNOWN,
        "ISO": format_iso(metadata.iso),
        "Shutter": format_shutter(metadata.shutter_seconds),
        "Aperture": format_aperture(metadata.aperture),
        "Focal length": format_focal_length(metadata.focal_length_mm),
        "Date": format_datetime(metadata.datetime),
    }


ROWS = ("File", "Format", "Size", "Camera", "Lens", "ISO", "Shutter", "Aperture", "Focal length", "Date")


class InfoPanel(QWidget):
    """A form of the rows in ``ROWS``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.values: dict[str, QLabel] = {}
        for row in ROWS:
            value = QLabel(UNKNOWN)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.values[row] = value
            layout.addRow(row, value)

    def set_metadata(self, metadata: PhotoMetadata | None) -> None:
        for row, text in describe(metadata).items():
            self.values[row].setText(text)
            self.values[row].setToolTip(metadata.path if row == "File" and metadata and metadata.path else "")
