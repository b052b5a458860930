"""Make docs/screenshot-main.png: the real window, with a natural photo developed a little.

The photo is turned into a synthetic camera RAW (tests/utils/dng.py), so the Info panel shows camera data.
Run under a virtual display:
    xvfb-run -a .venv/bin/python docs/make_screenshot.py /usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import cv2
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from utils.dng import write_dng  # noqa: E402

from photolab.gui.app import configure_application  # noqa: E402
from photolab.gui.window.main_window import MainWindow  # noqa: E402
from screenshot_support import wait  # noqa: E402  (docs/, the script's own folder)


def main(source: str, target: str = str(ROOT / "docs" / "screenshot-main.png")) -> None:
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
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
        panel = window.develop
        for key, value in (("exposure.ev", 0.35), ("highlights.amount", -45), ("shadows.shadows", 35),
                           ("contrast.amount", 15), ("saturation.vibrance", 30)):
            panel.sliders[key].spin.setValue(value)
        panel.temperature.spin.setValue(6100)
        wait(app, lambda: window.viewer.displayed is not None and window.viewer.displayed.recipe == window.document.recipe
             and window.viewer.displayed.source is window.document.proxy)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        window.grab().save(target)
        window.close()
    print(target)


if __name__ == "__main__":
    main(*sys.argv[1:])
