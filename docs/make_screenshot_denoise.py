"""Make docs/screenshot-denoise.png: the window denoising a high-ISO RAW photo, with the loupe open.

The bundled sample photo (or the photo given) is turned into a synthetic camera RAW shot at ISO 12800
(tests/utils/dng.py, with strong shot and read noise); the window opens it, **Auto** measures the noise
(from the RAW mosaic, and switches on Adaptive), and the loupe shows a 100 % crop of the rocks, before and
after. A STRENGTH argument overrides the measured one. Run under a virtual display (uses the installed
denoiser, resources/models/denoise/):
    xvfb-run -a .venv/bin/python docs/make_screenshot_denoise.py [PHOTO [TARGET [STRENGTH]]]
"""

from __future__ import annotations

import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from utils.dng import ShotInfo, write_dng  # noqa: E402

from photolab.core import io  # noqa: E402
from photolab.core.color import encode_srgb_integer  # noqa: E402
from photolab.gui.app import configure_application  # noqa: E402
from photolab.gui.window.main_window import MainWindow  # noqa: E402
from screenshot_support import wait  # noqa: E402  (docs/, the script's own folder)

SAMPLE = ROOT / "resources" / "samples" / "picos-de-europa.dng"
LOUPE_AT = (0.40, 0.47)  # where the loupe looks, as fractions of the photo: rock and snow


def noisy_raw(source: Path, target: Path) -> None:
    """``source`` as a RAW file from a small sensor at ISO 12800: few photons, a lot of read noise."""
    photo = io.read_photo(source)
    srgb = encode_srgb_integer(photo.pixels, np.uint8)
    height, width = (side - side % 2 for side in srgb.shape[:2])
    write_dng(target, np.ascontiguousarray(srgb[:height, :width]), white_exposure=0.6, full_well_electrons=300.0,
              read_noise=24.0, seed=12800,
              shot=ShotInfo(iso=12800, exposure_time=Fraction(1, 1000), f_number=Fraction(56, 10)))


def main(source: str = str(SAMPLE), target: str = str(ROOT / "docs" / "screenshot-denoise.png"),
         strength: str | None = None) -> None:
    torch.set_num_threads(1)
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "IMG_7311.dng"
        noisy_raw(Path(source), photo)
        window = MainWindow(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1600, 1000)
        window.show()
        window.open_path(photo)
        wait(app, lambda: window.document is not None and window.document.is_fully_loaded)
        document = window.document
        tools = window.denoise_tools
        tools.set_loupe_visible(True)
        window.resizeDocks([window.side_dock, tools.loupe_dock], [600, 330], Qt.Orientation.Vertical)
        window.develop.denoise.auto_button.click()
        wait(app, lambda: document.recipe.get("denoise").sigma > 0)
        measured = document.recipe.get("denoise").sigma
        if strength is not None:
            window.develop.denoise.strength.spin.setValue(float(strength))
        width, height = document.full_size
        window.viewer.hovered.emit(width * LOUPE_AT[0], height * LOUPE_AT[1])
        wait(app, lambda: window.viewer.displayed is not None and window.viewer.displayed.recipe == document.recipe
             and window.viewer.displayed.source is document.proxy)
        loupe = tools.loupe
        wait(app, lambda: loupe.result is not None and loupe.result.recipe == document.recipe and not loupe.is_busy)
        window.side_dock.widget().ensureWidgetVisible(window.develop.denoise)
        for _ in range(30):
            app.processEvents()
            time.sleep(0.02)
        window.grab().save(target)
        window.close()
    shown = measured if strength is None else float(strength)
    print(f"{target} (Auto measured sigma {measured:g}; shown with {shown:g})")


if __name__ == "__main__":
    main(*sys.argv[1:])
