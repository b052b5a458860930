"""How long the Attention view takes to redraw on a SE-ResNet-50-size excitation set; goal <= 100 ms.

The set has SE-ResNet-50's 16 SE blocks (3 x 256, 4 x 512, 6 x 1024, 3 x 2048 channels) for photo A and for
photo B (random excitations, seeded), shown side by side (bar charts of the chosen block above heatmaps of
all blocks x channels) or as their difference. Every case ends with a synchronous ``repaint()`` of the whole
window, so the time includes the data work (channel orders, heatmap images) and the painting:

- ``empty_repaint`` (baseline): repaint an empty top-level QWidget of the same size;
- ``view_repaint``: repaint the view, nothing changed (cached heatmap images);
- ``new_photo``: a new photo A arrives (what each edit of the photo causes);
- ``block_change``: another block in the selector;
- ``sort_change``: channels re-ordered (by weight / by variance across the photos, alternately);
- ``mode_change``: side by side <-> difference A - B (diverging colour map);
- ``resize``: the window changes size (heatmap images rebuilt).

Cases run in rotating order within each round, so drift hits all alike. The view is fed the excitation sets
directly (as its jobs would deliver them); no model runs and no photo is open.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_attention.py [--rounds 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QObject, QSettings, Signal  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from photolab.gui.attention.view import AttentionView  # noqa: E402
from photolab.gui.jobs import JobRunner  # noqa: E402
from photolab.gui.models.service import ModelService  # noqa: E402
from photolab.models.analysis.records import ExcitationSet  # noqa: E402

GOAL_MS = 100.0
SERESNET50_BLOCKS = [(f"layer{stage}.{index}.se", channels)
                     for stage, count, channels in ((1, 3, 256), (2, 4, 512), (3, 6, 1024), (4, 3, 2048))
                     for index in range(count)]
SIZES = ((1200, 820), (1400, 900))


class NoPhoto(QObject):
    """The view's photo source when no photo is open (the bench hands the view its excitations itself)."""

    changed = Signal()

    def snapshot(self):
        return None


def excitation_set(seed: int, name: str) -> ExcitationSet:
    """Random excitations in (0, 1) for SE-ResNet-50's blocks, skewed like trained ones (beta-distributed)."""
    rng = np.random.default_rng(seed)
    values = OrderedDict((block, rng.beta(2.0, 2.5, channels).astype(np.float32))
                         for block, channels in SERESNET50_BLOCKS)
    return ExcitationSet("seresnet50", name, values)


def timed(action) -> float:
    QApplication.processEvents()
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000.0


def measure(rounds: int, warmup: int) -> dict:
    folder = tempfile.TemporaryDirectory()
    settings = QSettings(str(Path(folder.name) / "settings.ini"), QSettings.Format.IniFormat)
    from photolab.models.store.manager import ModelManager

    manager = ModelManager(data_dir=Path(folder.name) / "data", builtin_dir=Path(folder.name) / "none")
    service = ModelService(JobRunner(), settings, manager)
    view = AttentionView(service, NoPhoto(), settings)
    view.resize(*SIZES[0])
    view.show()
    baseline_widget = QWidget()
    baseline_widget.resize(*SIZES[0])
    baseline_widget.show()
    for _ in range(20):
        QApplication.processEvents()
    photos = [excitation_set(seed, f"photo {seed}") for seed in range(8)]
    view.set_a(photos[0])
    view.set_b(photos[1])
    view.mode.setCurrentIndex(view.mode.findData("both"))
    view.sort.setCurrentIndex(view.sort.findData("weight"))
    view.block_combo.setCurrentIndex(15)
    state = {"photo": 0, "block": 15, "sort": 0, "mode": 0, "size": 0}

    def new_photo():
        state["photo"] = (state["photo"] + 1) % len(photos)
        view.set_a(photos[state["photo"]])
        view.repaint()

    def block_change():
        state["block"] = (state["block"] + 5) % 16
        view.block_combo.setCurrentIndex(state["block"])
        view.repaint()

    def sort_change():
        state["sort"] ^= 1
        view.sort.setCurrentIndex(view.sort.findData(("photos", "weight")[state["sort"]]))
        view.repaint()

    def mode_change():
        state["mode"] ^= 1
        view.mode.setCurrentIndex(view.mode.findData(("diff", "both")[state["mode"]]))
        view.repaint()

    def resize():
        state["size"] ^= 1
        view.resize(*SIZES[state["size"]])
        view.repaint()

    cases = {"empty_repaint": baseline_widget.repaint, "view_repaint": view.repaint, "new_photo": new_photo,
             "block_change": block_change, "sort_change": sort_change, "mode_change": mode_change, "resize": resize}
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            timed(cases[name])
    times = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(cases[name]))
    heat = view.pane_a.heatmap
    result = {
        "blocks": len(SERESNET50_BLOCKS), "max_channels": max(c for _, c in SERESNET50_BLOCKS),
        "heatmap_rows": len(heat.rows), "rounds": rounds, "warmup": warmup, "window": list(SIZES[0]),
        "platform": QApplication.platformName(),
        "median_ms": {n: round(statistics.median(v), 3) for n, v in times.items()},
        "p95_ms": {n: round(float(np.percentile(v, 95)), 3) for n, v in times.items()},
        "max_ms": {n: round(max(v), 3) for n, v in times.items()},
        "goal_ms": GOAL_MS,
    }
    worst = max(result["max_ms"][n] for n in names if n != "empty_repaint")
    result["meets_goal"] = worst <= GOAL_MS
    view.close()
    baseline_widget.close()
    folder.cleanup()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="also write the JSON result here")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    result = measure(args.rounds, args.warmup)
    result.update(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                  load_average=os.getloadavg()[0])
    base = result["median_ms"]["empty_repaint"]
    print(f"Attention view redraw, {result['blocks']} SE blocks (up to {result['max_channels']} channels), photos A "
          f"and B, {result['window'][0]}x{result['window'][1]} window, {QApplication.platformName()} platform, "
          f"{args.rounds} interleaved rounds")
    print(f"{'case':<14} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'vs baseline':>12}")
    for name, median in result["median_ms"].items():
        extra = "baseline" if name == "empty_repaint" else f"{median - base:+.2f} ms"
        print(f"{name:<14} {median:>10.2f} {result['p95_ms'][name]:>8.2f} {result['max_ms'][name]:>8.2f} {extra:>12}")
    print(f"goal: every redraw <= {GOAL_MS:.0f} ms (worst case above): {'met' if result['meets_goal'] else 'NOT met'}")
    text = json.dumps(result)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
