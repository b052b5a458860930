"""Make docs/screenshot-look.png: the real Learn a Look wizard, after a short run.

The pairs folder is tests/utils/look_pairs.py's ``make_pairs``: ``--pairs`` of the natural test-fixture photos
(tests/fixtures, 128 x 192; beyond six, mirrored repeats) before, and after a simple warm look (a gamma,
warmer, a little contrast). The wizard checks them, learns for ``--minutes`` (2-fold cross-validation included)
and the shot shows the ``--page``: "learn" (the loss curve) or "compare" (held-out pairs before / learned /
after, the cross-validated scores, a name typed but not saved), as a 256-colour PNG. Nothing is saved outside
a temporary folder.
Offscreen works: ``QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_look_screenshot.py [OUT.png]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from photolab.gui.app import configure_application  # noqa: E402
from photolab.gui.jobs import JobRunner  # noqa: E402
from photolab.gui.look.wizard import LookWizard  # noqa: E402
from screenshot_support import run_training_wizard  # noqa: E402  (docs/, the script's own folder)
from utils.look_pairs import make_pairs  # noqa: E402  (tests/utils)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default=str(ROOT / "docs" / "screenshot-look.png"))
    parser.add_argument("--page", choices=("learn", "compare"), default="compare")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        pairs = make_pairs(folder / "my-edits", args.pairs)
        runner = JobRunner()
        wizard = LookWizard(runner, looks_dir=folder / "looks", threads=args.threads, side=192, folds=2)
        wizard.resize(820, 800)
        wizard.show()
        run_training_wizard(app, wizard, pairs, args.minutes, wizard.learn_page)
        if args.page == "compare":
            wizard.next()
            wizard.compare_page.name_edit.setText("warm-film")
        for _ in range(50):
            app.processEvents()
        shot = folder / "shot.png"
        wizard.grab().save(str(shot))
        with Image.open(shot) as image:  # a 256-colour palette keeps the PNG small (about a third)
            image.convert("RGB").quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(args.target, optimize=True)
        print(f"wrote {args.target}")
        wizard.close()
        runner.wait_for_done(10000)


if __name__ == "__main__":
    main()
