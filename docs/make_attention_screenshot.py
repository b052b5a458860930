"""Make docs/screenshot-attention.png: the real Attention view on the sample RAW and the built-in classifier.

Photo A is the sample developed darker (-2 EV), photo B the same photo as shot (pinned before the edit), shown
side by side. With ``--tab classes`` the Class Average tab analyses a small dataset cut from the sample (the
built-in model's five classes, made with simple blur, noise and exposure changes); ``--tab cam`` shows the
activation map. Models come from the built-ins and an empty temporary user store. Run under a virtual display:
    xvfb-run -a .venv/bin/python docs/make_attention_screenshot.py [--tab excitations|classes|cam] [OUT.png]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photolab.core import io  # noqa: E402
from photolab.core.color import encode_srgb_integer  # noqa: E402
from photolab.core.develop.exposure import ExposureParams  # noqa: E402
from photolab.gui.app import configure_application  # noqa: E402
from photolab.gui.window.main_window import MainWindow  # noqa: E402
from photolab.models.store.manager import ModelManager  # noqa: E402
from screenshot_support import wait  # noqa: E402  (docs/, the script's own folder)

SAMPLE = ROOT / "resources" / "samples" / "picos-de-europa.dng"


def settle(app: QApplication) -> None:
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)


def make_dataset(folder: Path, per_class: int = 6) -> Path:
    """Crops of the sample photo, sharp, blurred, noisy, under- and overexposed (one folder per class)."""
    linear = io.read_preview(SAMPLE, max_side=1600).pixels
    rng = np.random.default_rng(0)
    height, width = linear.shape[:2]
    for name in ("sharp", "blurred", "noisy", "underexposed", "overexposed"):
        (folder / name).mkdir(parents=True)
        for index in range(per_class):
            side = int(rng.integers(300, 520))
            top, left = int(rng.integers(0, height - side)), int(rng.integers(0, width - side))
            crop = linear[top:top + side, left:left + side].copy()
            if name == "blurred":
                crop = cv2.GaussianBlur(crop, (0, 0), float(rng.uniform(6, 10)))
            elif name == "noisy":
                crop = crop + rng.normal(0, np.sqrt(0.02 * np.clip(crop, 0, None) + 1e-5)).astype(np.float32)
            elif name == "underexposed":
                crop = crop * 2.0 ** -float(rng.uniform(2.5, 4))
            elif name == "overexposed":
                crop = crop * 2.0 ** float(rng.uniform(2, 3))
            srgb = encode_srgb_integer(np.clip(crop, 0, 1), np.uint8)
            cv2.imwrite(str(folder / name / f"{index}.png"), srgb[..., ::-1])
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default=str(ROOT / "docs" / "screenshot-attention.png"))
    parser.add_argument("--tab", choices=("excitations", "classes", "cam"), default="excitations")
    args = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        window = MainWindow(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat),
                            model_manager=ModelManager(data_dir=folder / "data"))
        window.resize(1400, 900)
        window.show()
        photo = folder / SAMPLE.name  # a copy: the edit's sidecar must not land beside the bundled sample
        shutil.copyfile(SAMPLE, photo)
        window.open_path(photo)
        wait(app, lambda: window.document is not None and window.document.is_fully_loaded)
        view = window.show_attention_view()
        view.resize(1400, 900)
        wait(app, lambda: view.a is not None)
        view.set_photo_b_current()
        wait(app, lambda: view.b is not None)
        before = view.a
        window.apply_edit(window.document.recipe.with_params("exposure", ExposureParams(ev=-2.0)), "Exposure")
        wait(app, lambda: view.a is not None and view.a is not before)
        view.block_combo.setCurrentText("layer4.0.se")
        view.sort.setCurrentIndex(view.sort.findData("weight"))
        if args.tab == "classes":
            view.tabs.setCurrentWidget(view.class_tab)
            view.class_tab.analyse(str(make_dataset(folder / "dataset")))
            wait(app, lambda: view.class_tab.result is not None, timeout_s=600)
        elif args.tab == "cam":
            view.tabs.setCurrentWidget(view.cam_tab)
            wait(app, lambda: view.cam_tab.result is not None)
        settle(app)
        view.grab().save(args.target)
        window.close()
    print(args.target)


if __name__ == "__main__":
    main()
