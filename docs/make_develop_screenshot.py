"""Make docs/screenshot-develop.png: the real window with the tone curve, colour mixer, detail and vignette in use.

The photo is turned into a synthetic camera RAW (tests/utils/dng.py), as docs/make_screenshot.py does. Offscreen works:
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_develop_screenshot.py PHOTO [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication, QScrollArea

ROOT = Path(__file__).resolve().parents[1]

from photolab.core.develop.tone_curve import ToneCurveParams  # noqa: E402
from photolab.gui.app import configure_application  # noqa: E402
from screenshot_support import grab_when_shown, open_photo_as_raw  # noqa: E402  (docs/, the script's own folder)

S_CURVE = ((0.0, 0.0), (0.25, 0.2), (0.75, 0.82), (1.0, 1.0))
SLIDERS = (("exposure.ev", 0.2), ("hsl.blue_saturation", 35), ("hsl.orange_luminance", 15),
           ("sharpen.amount", 60), ("vignette.amount", -25))


def main(source: str, target: str = str(ROOT / "docs" / "screenshot-develop.png")) -> None:
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        window = open_photo_as_raw(app, source, folder)
        panel = window.develop
        for key, value in SLIDERS:
            panel.sliders[key].spin.setValue(value)
        window.apply_edit(window.document.recipe.with_params("tone_curve", ToneCurveParams(luminance=S_CURVE)),
                          "Tone curve")
        panel.hsl_tabs.setCurrentIndex(1)
        for scroll in window.findChildren(QScrollArea):
            if scroll.widget() is not None and scroll.widget().isAncestorOf(panel.curve):
                scroll.ensureWidgetVisible(panel.hsl_tabs, 0, 0)
                scroll.ensureWidgetVisible(panel.curve, 0, 40)
        grab_when_shown(app, window, target)
    print(target)


if __name__ == "__main__":
    main(*sys.argv[1:])
