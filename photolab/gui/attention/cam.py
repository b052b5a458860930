"""The Activation Map tab of the Attention view: a class-activation map (CAM) laid over the photo.

The map (Zhou et al. 2016, :func:`photolab.models.inference.cam`) is computed in a job for the current photo
as edited and the chosen class (default: the predicted one); it covers the part of the photo the model
sees (its centre crop), drawn in a jet colour map over the photo with an adjustable opacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from photolab.gui.attention.charts import BACKGROUND, cam_overlay
from photolab.gui.models.service import PhotoSnapshot
from photolab.gui.viewer.rendering import to_qimage

DISPLAY_SIDE = 1024  # long side of the photo the map is drawn over
DEFAULT_OPACITY = 50  # percent


@dataclass(frozen=True)
class CamResult:
    """A class-activation map and the photo it explains, ready to draw."""

    model: str
    photo: str
    rgb8: np.ndarray  # (H, W, 3) the edited photo, at most DISPLAY_SIDE pixels long
    heatmap: np.ndarray  # (h, w) in [0, 1] over the model's input
    box: tuple[float, float, float, float]  # the input's region in rgb8 pixels
    class_index: int
    label: str
    probability: float
    requested: int | None  # the class asked for (None: the predicted one)


def cam_snapshot(context, loaded, snapshot: PhotoSnapshot, class_index: int | None) -> CamResult:
    """Job work: render the snapshot, compute its CAM for ``class_index`` and a display-sized copy."""
    from photolab.core.color import encode_srgb_integer
    from photolab.models.inference import cam

    photo = snapshot.render()
    context.check_cancelled()
    activation = cam(loaded, photo, class_index)
    rgb8 = encode_srgb_integer(photo.pixels, np.uint8)
    scale = min(1.0, DISPLAY_SIDE / max(rgb8.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(rgb8.shape[1] * scale)), max(1, round(rgb8.shape[0] * scale)))
        rgb8 = cv2.resize(rgb8, size, interpolation=cv2.INTER_AREA)
    box = tuple(float(v) * scale for v in activation.box)
    return CamResult(loaded.name, snapshot.name, rgb8, activation.heatmap, box, activation.class_index,
                     activation.label, activation.probability, class_index)


class ImageView(QWidget):
    """A QImage scaled to fit (aspect kept) on the dark background."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.placeholder = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)

    def sizeHint(self) -> QSize:
        return QSize(640, 420)

    def set_image(self, image: QImage | None, placeholder: str = "") -> None:
        """Show ``image`` (or ``placeholder`` text when None)."""
        self.image, self.placeholder = image, placeholder
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self.image is None or self.image.isNull():
            painter.setPen(Qt.GlobalColor.gray)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        width, height = self.image.width() * scale, self.image.height() * scale
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height), self.image)


class CamTab(QWidget):
    """Class selector, opacity slider and the photo with its activation map."""

    def __init__(self, service, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.result: CamResult | None = None
        self.snapshot: PhotoSnapshot | None = None
        self.dirty = True
        self.channel = service.channel(self, title="Activation map")
        self.class_combo = QComboBox()
        self.class_combo.setMinimumContentsLength(18)
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=DEFAULT_OPACITY)
        self.opacity.setToolTip("Opacity of the activation map over the photo")
        self.caption = QLabel()
        self.view = ImageView()
        row = QHBoxLayout()
        row.addWidget(QLabel("Class:"))
        row.addWidget(self.class_combo)
        row.addSpacing(16)
        row.addWidget(QLabel("Opacity:"))
        row.addWidget(self.opacity, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        self.class_combo.currentIndexChanged.connect(lambda index: self.request())
        self.opacity.valueChanged.connect(lambda value: self._redraw())
        self.channel.result_ready.connect(self._show)
        self.channel.failed.connect(lambda message: self._clear(message))
        service.current_changed.connect(self._model_changed)
        service.models_changed.connect(self._model_changed)
        self._model_changed()

    def _model_changed(self, *args) -> None:
        entry = self._service.current_entry()
        classes = list(entry.card.classes) if entry is not None else []
        if classes != [self.class_combo.itemText(i) for i in range(1, self.class_combo.count())]:
            self.class_combo.blockSignals(True)
            self.class_combo.clear()
            self.class_combo.addItem("Predicted class", None)
            for index, label in enumerate(classes):
                self.class_combo.addItem(label, index)
            self.class_combo.blockSignals(False)
        if self.result is not None and self.result.model == self._service.current_name():
            return
        self._clear("")
        self.channel.invalidate()
        self.dirty = True
        if self.isVisible():
            self.request()

    def set_snapshot(self, snapshot: PhotoSnapshot | None) -> None:
        """The photo to explain changed; computed now if the tab is shown, else when it is."""
        self.snapshot = snapshot
        self.dirty = True
        self.channel.invalidate()
        if self.isVisible():
            self.request()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.dirty:
            self.request()

    def request(self) -> None:
        """Compute the map for the current photo and class."""
        self.dirty = False
        if self.snapshot is None:
            self._clear("Open a photo to see where the model looks.")
            return
        if self.channel.request(cam_snapshot, self.snapshot, self.class_combo.currentData()) < 0:
            self._clear("No model is installed.")
            return
        self.caption.setText(f"Computing the activation map of {self.snapshot.name}…")

    def _show(self, result: CamResult) -> None:
        self.result = result
        self.caption.setText(f"{result.model}: where it sees “{result.label}” ({result.probability:.1%}) in "
                             f"{result.photo}; the map covers the model's centre crop")
        self._redraw()

    def _clear(self, message: str) -> None:
        self.result = None
        self.caption.setText(message)
        self.view.set_image(None, message)

    def composite(self) -> np.ndarray | None:
        """The photo with the map at the slider's opacity, (H, W, 3) uint8, or None."""
        if self.result is None:
            return None
        return cam_overlay(self.result.rgb8, self.result.heatmap, self.result.box, self.opacity.value() / 100)

    def _redraw(self) -> None:
        pixels = self.composite()
        self.view.set_image(to_qimage(pixels) if pixels is not None else None)
