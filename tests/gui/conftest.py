"""Fixtures for the GUI tests: an isolated QSettings, recorded (never blocking) dialogs, a main window,
small synthetic photos, and helpers that wait for the window to show a given recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from photolab.gui.develop.panel import DevelopPanel
from photolab.gui.widgets import dialogs


@dataclass
class Dialogs:
    """What the code under test tried to show, and the answers it gets."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    answers: list[bool] = field(default_factory=list)  # popped for each question; False when empty
    open_path: str = ""


@pytest.fixture
def recorded_dialogs(monkeypatch) -> Dialogs:
    record = Dialogs()
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message, details="": record.errors.append(message))
    monkeypatch.setattr(dialogs, "show_warning", lambda parent, title, message: record.warnings.append(message))
    monkeypatch.setattr(dialogs, "show_info", lambda parent, title, message: record.infos.append(message))

    def ask(parent, title, question, *, default_yes=False):
        record.questions.append(question)
        return record.answers.pop(0) if record.answers else False

    monkeypatch.setattr(dialogs, "ask_yes_no", ask)
    monkeypatch.setattr(dialogs, "get_open_path", lambda *args: record.open_path)
    monkeypatch.setattr(dialogs, "get_save_path", lambda *args: "")
    return record


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings, recorded_dialogs):
    from photolab.gui.window.main_window import MainWindow

    main_window = MainWindow(settings)
    qtbot.addWidget(main_window)
    main_window.resize(900, 600)
    main_window.show()
    yield main_window
    main_window.close()


def scene_image(width: int = 96, height: int = 64) -> np.ndarray:
    """An 8-bit sRGB test scene (BGR for cv2): a warm-to-cool gradient, a neutral grey patch at the
    top-left quarter, a saturated red block and a dark corner; smooth enough to demosaic well."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    image[..., 2] = 0.25 + 0.5 * x / width  # R
    image[..., 1] = 0.35 + 0.3 * y / height  # G
    image[..., 0] = 0.7 - 0.4 * x / width  # B
    image[height // 8: height // 2, width // 8: width // 3] = 0.5  # neutral grey
    image[height // 2:, width * 2 // 3:] = (0.1, 0.1, 0.8)  # red (BGR)
    image[: height // 8, -width // 8:] = 0.03
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture
def png_photo(tmp_path) -> Path:
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), scene_image())
    return path


@pytest.fixture
def dng_photo(tmp_path) -> Path:
    from utils.dng import write_dng

    path = tmp_path / "scene.dng"
    rgb = scene_image(128, 96)[..., ::-1].copy()
    write_dng(path, rgb)
    return path


def image_array(image: QImage) -> np.ndarray:
    """An RGB888 QImage as an (H, W, 3) uint8 array (a copy)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    height, width = image.height(), image.width()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()


def wait_until_shown(qtbot, window, recipe=None, *, before: bool = False, timeout: int = 10000):
    """Wait until the viewer shows a render of ``recipe`` (default: the document's) and return its pixels."""
    def shown():
        document = window.document
        displayed = window.viewer.displayed
        if document is None or displayed is None or displayed.before != before:
            return False
        if displayed.source is not document.proxy and displayed.source is not document.full_photo:
            return False  # made from the quick preview, before the full photo arrived
        expected = recipe if recipe is not None else document.recipe
        if before:
            from photolab.core.render import geometry_recipe

            expected = geometry_recipe(expected)
        return displayed.recipe == expected

    qtbot.waitUntil(shown, timeout=timeout)
    return image_array(window.viewer.displayed.image)


def open_and_wait(qtbot, window, path, *, timeout: int = 15000):
    """Open ``path`` in ``window`` and wait until it is fully loaded and shown."""
    window.open_path(path)
    qtbot.waitUntil(lambda: window.document is not None and window.document.path == Path(path)
                    and window.document.is_fully_loaded, timeout=timeout)
    return wait_until_shown(qtbot, window, timeout=timeout)


@pytest.fixture
def panel(qtbot):
    """A shown Develop panel on its own."""
    widget = DevelopPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget
