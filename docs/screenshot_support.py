"""What the screenshot scripts in docs/ share: driving the real window until it reaches a state."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]


def wait(app: QApplication, condition, timeout_s: float = 300.0) -> None:
    """Process events until ``condition()`` is true; TimeoutError after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def run_training_wizard(app: QApplication, wizard, folder: Path, minutes: float, run_page) -> None:
    """Walk a wizard built on gui/widgets/job_pages (the look and denoiser-adapting wizards) to the end of its
    run: choose ``folder``, wait for the check, set the budget to ``minutes``, start, and wait until
    ``run_page`` is complete."""
    wizard.folder_page.path_edit.setText(str(folder))
    wizard.next()
    wait(app, wizard.check_page.isComplete)
    wizard.check_page.minutes.setValue(minutes)
    wizard.next()
    wait(app, run_page.isComplete, timeout_s=60 * minutes + 300)


def open_photo_as_raw(app: QApplication, source: str, folder: str):
    """The real main window (1600 x 1000, settings in ``folder``) with ``source`` opened as a synthetic camera
    RAW (tests/utils/dng.py, 2400 px long side) so the Info panel shows camera data; waits until it is loaded."""
    import cv2
    from PySide6.QtCore import QSettings

    sys.path.insert(0, str(ROOT / "tests"))
    from utils.dng import write_dng

    from photolab.gui.window.main_window import MainWindow

    image = cv2.imread(source, cv2.IMREAD_COLOR)
    scale = 2400 / max(image.shape[:2])
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    photo = Path(folder) / "IMG_2046.dng"
    write_dng(photo, image[..., ::-1].copy(), white_exposure=0.6)
    window = MainWindow(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    window.open_path(photo)
    wait(app, lambda: window.document is not None and window.document.is_fully_loaded)
    return window


def grab_when_shown(app: QApplication, window, target: str) -> None:
    """Wait until the viewer shows the document's recipe on its proxy, let it settle, save the window to
    ``target`` and close it."""
    wait(app, lambda: window.viewer.displayed is not None and window.viewer.displayed.recipe == window.document.recipe
         and window.viewer.displayed.source is window.document.proxy)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    window.grab().save(target)
    window.close()
