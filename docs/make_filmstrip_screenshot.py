"""Make docs/screenshot-filmstrip.png: the real window with a folder of RAW photos in the filmstrip, rated.

The test photos (tests/fixtures/*.png) become synthetic camera RAWs with an embedded JPEG preview
(tests/utils/dng.py), as a camera writes them. Offscreen works:
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_filmstrip_screenshot.py [OUT.png]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import cv2
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from photolab.core.rating import set_rating  # noqa: E402
from photolab.gui.app import configure_application  # noqa: E402
from screenshot_support import grab_when_shown, wait  # noqa: E402  (docs/, the script's own folder)
from utils.dng import append_jpeg_preview, write_dng  # noqa: E402

RATINGS = {0: (4, False), 1: (2, False), 2: (5, False), 3: (0, True), 4: (3, False), 5: (1, False)}


def main(target: str = str(ROOT / "docs" / "screenshot-filmstrip.png")) -> None:
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as work:
        os.environ["PHOTOLAB_CACHE_DIR"] = str(Path(work) / "cache")
        folder = Path(work) / "trip"
        folder.mkdir()
        sources = sorted((ROOT / "tests" / "fixtures").glob("*.png"))
        for index, source in enumerate(sources):
            image = cv2.imread(str(source), cv2.IMREAD_COLOR)
            scale = 1600 / max(image.shape[:2])
            size = (round(image.shape[1] * scale) // 2 * 2, round(image.shape[0] * scale) // 2 * 2)  # even, for Bayer
            rgb = cv2.resize(image, size, interpolation=cv2.INTER_AREA)[..., ::-1].copy()
            photo = folder / f"IMG_{2040 + index}.dng"
            write_dng(photo, rgb, white_exposure=0.6)
            append_jpeg_preview(photo, cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
            stars, rejected = RATINGS.get(index, (0, False))
            set_rating(photo, stars=stars, rejected=rejected)
        from photolab.gui.window.main_window import MainWindow

        window = MainWindow(QSettings(str(Path(work) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1600, 1000)
        window.show()
        window.folder.open_folder(folder)
        strip = window.folder.filmstrip
        wait(app, lambda: strip.model.all_loaded and window.document is not None and window.document.is_fully_loaded)
        grab_when_shown(app, window, target)


if __name__ == "__main__":
    main(*sys.argv[1:])
