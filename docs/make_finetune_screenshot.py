"""Make docs/screenshot-finetune.png: the real fine-tuning wizard's Results page.

The folder has one class per test-fixture photo (tests/fixtures/*.png), each holding 20 random crops of it;
the wizard fine-tunes the recommended base (the built-in backbone) with the recommended strategy for 6 epochs
and the shot shows its results page (accuracy, per-class table, confusion matrix, the most confidently wrong
images). Models come from the built-ins and an empty temporary user store. Run under a virtual display:
    xvfb-run -a .venv/bin/python docs/make_finetune_screenshot.py [--page base|training|results] [OUT.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photolab.gui.app import configure_application  # noqa: E402
from photolab.gui.finetune.wizard import FinetuneWizard  # noqa: E402
from photolab.gui.jobs import JobRunner  # noqa: E402
from photolab.gui.models.service import ModelService  # noqa: E402
from photolab.models.store.manager import ModelManager  # noqa: E402
from screenshot_support import wait  # noqa: E402  (docs/, the script's own folder)


def make_dataset(folder: Path, per_class: int = 20) -> Path:
    """One sub-folder per fixture photo, with ``per_class`` random square crops (6-15 % of the short side)."""
    rng = np.random.default_rng(0)
    for source in sorted((ROOT / "tests" / "fixtures").glob("*.png"))[:5]:
        photo = Image.open(source).convert("RGB")
        (folder / source.stem).mkdir(parents=True)
        for index in range(per_class):
            side = int(rng.uniform(0.06, 0.15) * min(photo.size))
            left, top = int(rng.integers(0, photo.width - side + 1)), int(rng.integers(0, photo.height - side + 1))
            crop = photo.crop((left, top, left + side, top + side)).resize((128, 128), Image.Resampling.BILINEAR)
            crop.save(folder / source.stem / f"{index:02d}.png")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default=str(ROOT / "docs" / "screenshot-finetune.png"))
    parser.add_argument("--page", choices=("base", "training", "results"), default="results")
    args = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
        runner = JobRunner()
        service = ModelService(runner, settings, ModelManager(data_dir=folder / "data"))
        wizard = FinetuneWizard(service, runner)
        wizard.resize(1000, 760)
        wizard.show()
        wizard.folder_page.path_edit.setText(str(make_dataset(folder / "my-photos")))
        wizard.next()
        wait(app, lambda: wizard.data_page.handle is None and wizard.report is not None)
        wizard.next()
        if args.page != "base":
            wizard.next()
            wizard.settings_page.epochs.setValue(6)
            wizard.next()
            wait(app, wizard.training_page.isComplete)
            if args.page == "results":
                wizard.next()
        for _ in range(50):
            app.processEvents()
        wizard.grab().save(args.target)
        print(f"wrote {args.target}")
        wizard.close()
        runner.wait_for_done(10000)


if __name__ == "__main__":
    main()
