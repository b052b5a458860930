"""Make docs/screenshot-adapt.png: the real Adapt Denoiser to My Camera wizard, after a short run.

The folder is simulated by bench/bench_adapt.py's ``build_folder`` (one of training/camera_noise.py's test cameras,
12 singles and 3 bursts of 8 frames cut from the held-out test photos; needs the training photo cache). The
wizard adapts for ``--minutes`` and the shot shows the ``--page``: "adapt" (the loss curve) or "compare" (noisy,
generic + Auto and adapted + Auto 100 % crops). Models come from the built-ins and an empty temporary user store.
Offscreen works: ``QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_adapt_screenshot.py [OUT.png]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from photolab.gui.app import configure_application  # noqa: E402
from photolab.gui.denoise_adapt.wizard import AdaptWizard  # noqa: E402
from photolab.gui.jobs import JobRunner  # noqa: E402
from photolab.models.store.manager import ModelManager  # noqa: E402
from screenshot_support import run_training_wizard, wait  # noqa: E402  (docs/, the script's own folder)


def main(argv: list[str] | None = None) -> None:
    import bench_adapt
    import camera_noise
    import fetch_photos

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default=str(ROOT / "docs" / "screenshot-adapt.png"))
    parser.add_argument("--page", choices=("adapt", "compare"), default="compare")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    configure_application(app)
    photos = {p.group: p.pixels for p in bench_adapt.test_photos(fetch_photos.default_cache("train"))}
    sources = [np.clip(photos[g], 0, 1) for g in bench_adapt.ADAPT_GROUPS]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        photos_folder = folder / "iso6400"
        bench_adapt.build_folder(photos_folder, sources, camera_noise.TEST_CAMERAS[0], seed=0)
        runner = JobRunner()
        wizard = AdaptWizard(ModelManager(data_dir=folder / "data"), runner, threads=args.threads)
        wizard.resize(820, 640)
        wizard.show()
        run_training_wizard(app, wizard, photos_folder, args.minutes, wizard.adapt_page)
        if args.page == "compare":
            wizard.next()
            wait(app, lambda: wizard.compare_page.handle is None)
        for _ in range(50):
            app.processEvents()
        wizard.grab().save(args.target)
        print(f"wrote {args.target}")
        wizard.close()
        runner.wait_for_done(10000)


if __name__ == "__main__":
    main()
