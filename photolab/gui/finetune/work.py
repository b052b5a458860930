"""The fine-tuning wizard's background work: the Job functions (scan, train, save), the epoch relay that carries
each epoch from the training thread to the curves, and thumbnails as pixmaps.

The wizard, its pages and the training page all use these, so they live below all three (no page imports the
wizard). torch is imported inside the Job functions only, never on the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap

from photolab.gui.viewer.rendering import to_qimage

THUMBNAILS_PER_CLASS = 4
THUMBNAIL_SIDE = 72


def pixmap_from(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> QPixmap:
    """A QPixmap (GUI thread only) of an 8-bit sRGB (H, W, 3) array, scaled to fit ``side``."""
    return QPixmap.fromImage(to_qimage(image[:, :, :3])).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                               Qt.TransformationMode.SmoothTransformation)


def _thumbnail(path) -> np.ndarray | None:
    from photolab.models.training.dataset import load_srgb8

    try:
        return load_srgb8(path, THUMBNAIL_SIDE)
    except Exception:  # noqa: BLE001 - a thumbnail that cannot be made is simply not shown
        return None


def scan_work(context, folder: str) -> tuple:
    """Job work: ``(report, {class: [thumbnail arrays]})`` for ``folder`` (a few thumbnails per class)."""
    from photolab.models.training.data import scan_folder

    report = scan_folder(folder, context=context.subtask(0.0, 0.9))
    thumbnails: dict[str, list[np.ndarray]] = {name: [] for name in report.classes}
    for path, label in report.items:
        name = report.classes[label]
        if len(thumbnails[name]) < THUMBNAILS_PER_CLASS:
            context.check_cancelled()
            image = _thumbnail(path)
            if image is not None:
                thumbnails[name].append(image)
    return report, thumbnails


def train_work(context, manager, report, settings, on_epoch) -> tuple:
    """Job work: ``(outcome, {path: thumbnail})`` — the run, and thumbnails of its most confidently wrong images."""
    from photolab.models.training.finetune import run_finetune

    outcome = run_finetune(manager, report, settings, context, on_epoch)
    return outcome, {w.path: _thumbnail(w.path) for w in outcome.wrong}


def save_work(context, manager, outcome, name: str, description: str):
    """Job work: store the trained model (see :func:`photolab.models.training.finetune.save_outcome`)."""
    from photolab.models.training.finetune import save_outcome

    context.progress(0.1, f"Saving {name}")
    return save_outcome(manager, outcome, name, description)


class EpochRelay(QObject):
    """Carries each epoch's metrics from the training thread to the GUI thread (queued connection)."""

    epoch = Signal(object)
