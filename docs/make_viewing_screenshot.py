"""Make docs/screenshot-viewing.png: the real window in split before/after view at 100 %, with the navigator,
on the sample RAW photo (or another photo PhotoLab opens). Offscreen works:
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_viewing_screenshot.py [PHOTO [OUT.png]]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]

from photolab.gui.app import configure_application  # noqa: E402
from photolab.gui.window.main_window import MainWindow  # noqa: E402
from screenshot_support import wait  # noqa: E402  (docs/, the script's own folder)

SAMPLE = ROOT / "resources" / "samples" / "picos-de-europa.dng"
SLIDERS = (("exposure.ev", 0.4), ("contrast.amount", 35), ("saturation.vibrance", 60), ("shadows.shadows", 40),
           ("highlights.amount", -40))


def main(source: str = str(SAMPLE), target: str = str(ROOT / "docs" / "screenshot-viewing.png")) -> None:
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1600, 1000)
        window.show()
        window.open_path(source)
        wait(app, lambda: window.document is not None and window.document.is_fully_loaded)
        for key, value in SLIDERS:
            window.develop.sliders[key].spin.setValue(value)
        window.action("navigator").trigger()
        window.action("split").trigger()
        window.action("actual").trigger()
        viewer = window.viewer
        viewer.set_split(0.45)
        viewer.pan_by(150, 100)
        def settled(shown) -> bool:  # full resolution when the proxy would look soft at this zoom
            return shown is not None and shown.full_resolution == viewer.wants_full_resolution

        wait(app, lambda: settled(viewer.displayed) and viewer.displayed.recipe == window.document.recipe
             and settled(viewer.displayed_before))
        for _ in range(20):
            app.processEvents()
        window.grab().save(target)
        window.close()
    print(target)


if __name__ == "__main__":
    main(*sys.argv[1:])
