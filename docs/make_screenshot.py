"""Make docs/screenshot-main.png: the real window, with a natural photo developed a little.

The photo is turned into a synthetic camera RAW (tests/utils/dng.py), so the Info panel shows camera data.
Run under a virtual display:
    xvfb-run -a .venv/bin/python docs/make_screenshot.py /usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]

from photolab.gui.app import configure_application  # noqa: E402
from screenshot_support import grab_when_shown, open_photo_as_raw  # noqa: E402  (docs/, the script's own folder)


def main(source: str, target: str = str(ROOT / "docs" / "screenshot-main.png")) -> None:
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        window = open_photo_as_raw(app, source, folder)
        panel = window.develop
        for key, value in (("exposure.ev", 0.35), ("highlights.amount", -45), ("shadows.shadows", 35),
                           ("contrast.amount", 15), ("saturation.vibrance", 30)):
            panel.sliders[key].spin.setValue(value)
        panel.temperature.spin.setValue(6100)
        grab_when_shown(app, window, target)
    print(target)


if __name__ == "__main__":
    main(*sys.argv[1:])
