"""GUI responsiveness on a 24 MP photo, each number beside a baseline measured in the same run.

(a) slider -> preview latency: the exposure slider moves, the 1600 px proxy is re-rendered off the GUI
    thread and shown. Baseline: the same recipe rendered (and encoded to 8-bit) on the proxy without the GUI.
(b) event-loop stall: a 10 ms heartbeat QTimer runs while a full-resolution render + export job works;
    the longest gap between beats is what a user would feel as a freeze. Baseline: the same gap with the
    event loop idle. Also measured: opening the 24 MP photo, and zooming to 100 % (full-resolution render).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py [--megapixels 24] [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from photolab.core.color import encode_srgb_integer  # noqa: E402
from photolab.core.develop.contrast import ContrastParams  # noqa: E402
from photolab.core.develop.exposure import ExposureParams  # noqa: E402
from photolab.core.develop.highlights import HighlightsParams  # noqa: E402
from photolab.core.develop.saturation import SaturationParams  # noqa: E402
from photolab.core.develop.shadows import ShadowsParams  # noqa: E402
from photolab.core.develop.white_balance import WhiteBalanceParams  # noqa: E402
from photolab.core.recipe import Recipe  # noqa: E402
from photolab.core.render import render  # noqa: E402

LATENCY_GOAL_MS = 100.0
STALL_GOAL_MS = 100.0


def synthetic_photo(path: Path, megapixels: float) -> Path:
    """A natural-looking test JPEG: smooth light, soft shapes and fine grain, at 3:2."""
    height = int(round((megapixels * 1e6 / 1.5) ** 0.5))
    width = int(round(height * 1.5))
    rng = np.random.default_rng(7)
    small = cv2.GaussianBlur(rng.random((60, 90, 3)).astype(np.float32), (0, 0), 3)
    y, x = np.mgrid[0:60, 0:90].astype(np.float32)
    small = 0.15 + 0.7 * small * (0.4 + 0.6 * (x / 90.0))[..., None] * (1.1 - 0.5 * y / 60.0)[..., None]
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    big += rng.normal(0.0, 0.015, (height, width, 1)).astype(np.float32)
    cv2.imwrite(str(path), np.clip(big * 255, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def full_recipe(ev: float) -> Recipe:
    """Every tone and colour operation on, as a real edit would have."""
    recipe = Recipe()
    for name, params in (("white_balance", WhiteBalanceParams(mode="kelvin", temperature=5200.0, tint=8.0)),
                         ("exposure", ExposureParams(ev=ev)), ("highlights", HighlightsParams(amount=-40.0)),
                         ("shadows", ShadowsParams(shadows=30.0, blacks=-10.0)), ("contrast", ContrastParams(20.0)),
                         ("saturation", SaturationParams(saturation=10.0, vibrance=25.0))):
        recipe = recipe.with_params(name, params)
    return recipe


class Heartbeat:
    """A 10 ms QTimer that records the longest gap between its beats."""

    def __init__(self) -> None:
        self.timer = QTimer(interval=10)
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.timer.timeout.connect(self._beat)

    def start(self) -> None:
        self.gaps.clear()
        self.clock.start()
        self.timer.start()

    def _beat(self) -> None:
        self.gaps.append(self.clock.nsecsElapsed() / 1e6)
        self.clock.restart()

    def stop(self) -> dict:
        self.timer.stop()
        gaps = sorted(self.gaps[1:]) or [0.0]
        return {"max_gap_ms": gaps[-1], "p99_gap_ms": gaps[int(0.99 * (len(gaps) - 1))], "beats": len(gaps)}


def run_until(condition, timeout_s: float = 120.0) -> None:
    """Run the Qt event loop (as the application would) until ``condition()`` holds."""
    loop = QEventLoop()
    poll = QTimer(interval=20)  # coarse: polling must not steal the GIL from the work being measured
    poll.timeout.connect(lambda: condition() and loop.quit())
    deadline = QTimer(singleShot=True, interval=int(timeout_s * 1000))
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start()
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("the window did not get there in time")


def summary(values_ms: list[float]) -> dict:
    ordered = sorted(values_ms)
    return {"median_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))], "all_ms": [round(v, 1) for v in values_ms],
            "max_ms": ordered[-1], "n": len(ordered)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from photolab.gui.widgets import dialogs
    from photolab.gui.export.dialog import ExportRequest
    from photolab.gui.window.main_window import MainWindow

    errors: list[str] = []
    dialogs.show_error = lambda parent, title, message, details="": errors.append(message)
    results: dict = {"megapixels": args.megapixels, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        photo_path = synthetic_photo(Path(folder) / "bench.jpg", args.megapixels)
        window = MainWindow(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1900, 1150)  # a screen-filling window: the viewer wants a ~1600 px proxy
        window.show()
        heartbeat = Heartbeat()

        heartbeat.start()
        run_until(lambda: len(heartbeat.gaps) > 50)
        results["idle_stall"] = heartbeat.stop()

        heartbeat.start()
        started = time.perf_counter()
        window.open_path(photo_path)
        run_until(lambda: window.document is not None and window.document.is_fully_loaded
                   and not window.renderer.is_busy and window.viewer.displayed is not None)
        results["open"] = {"seconds": time.perf_counter() - started, **heartbeat.stop()}
        document = window.document
        proxy = document.proxy
        results["proxy_size"] = [proxy.width, proxy.height]

        # (a) slider -> shown, each step paired with its baseline (the same recipe rendered and encoded
        # on the same proxy without the GUI, measured just before), so machine noise hits both alike.
        window.apply_edit(full_recipe(0.0), "bench set-up")
        run_until(lambda: window.viewer.displayed.recipe == document.recipe and not window.renderer.is_busy)
        slider = window.develop.sliders["exposure.ev"]
        latencies, baseline_render, baseline_total, overheads = [], [], [], []
        target: list = []
        painted: list[float] = []

        job_ms: list[float] = []

        def on_shown(rendered) -> None:
            if target and rendered.recipe == target[0]:
                window.viewer.repaint()  # on screen: the paint is part of the latency
                painted.append(time.perf_counter())
                job_ms.append(rendered.seconds * 1000)

        window.preview_shown.connect(on_shown)
        slider.slider.setSliderDown(True)  # one drag: every step below merges into one undo command
        for index in range(args.repeats):
            next_recipe = document.recipe.with_params("exposure", ExposureParams(ev=round(0.07 * (index + 1), 2)))
            t0 = time.perf_counter()
            rendered = render(proxy, next_recipe)
            t1 = time.perf_counter()
            encode_srgb_integer(rendered.pixels, np.uint8)
            baseline_render.append((t1 - t0) * 1000)
            baseline_total.append((time.perf_counter() - t0) * 1000)

            painted.clear()
            target[:] = []
            t0 = time.perf_counter()
            slider.slider.setValue(slider.slider.value() + 7)  # +0.07 EV
            target.append(document.recipe)
            assert document.recipe == next_recipe
            run_until(lambda: bool(painted) and not window.renderer.is_busy)
            latencies.append((painted[0] - t0) * 1000)
            overheads.append(latencies[-1] - baseline_total[-1])
        slider.slider.setSliderDown(False)
        results["baseline_render"] = summary(baseline_render)
        results["baseline_render_encode"] = summary(baseline_total)
        results["gui_overhead"] = summary(overheads)
        results["preview_job"] = summary(job_ms)  # render + encode + histogram + fitted copy, on the worker
        results["slider_to_preview"] = summary(latencies)
        results["undo_steps_for_the_drag"] = window.undo_stack.count() - 1

        # (b) stall while a full-resolution render + export runs.
        heartbeat.start()
        started = time.perf_counter()
        handle = window.exports.start(ExportRequest(Path(folder) / "bench-out.jpg", "jpg", 92))
        run_until(lambda: handle.is_done, timeout_s=600)
        results["export"] = {"seconds": time.perf_counter() - started, **heartbeat.stop()}

        # Zoom to 100 %: the full-resolution render of the recipe runs in the background.
        heartbeat.start()
        started = time.perf_counter()
        window.viewer.zoom_to_actual()
        run_until(lambda: window.viewer.displayed.full_resolution, timeout_s=600)
        results["zoom_100_full_render"] = {"seconds": time.perf_counter() - started, **heartbeat.stop()}

        # GUI-thread paint cost of the viewer at 100 % (full-res image) and at fit (proxy).
        for label, action in (("paint_100", lambda: None), ("paint_fit", window.viewer.zoom_to_fit)):
            action()
            times = []
            for _ in range(10):
                t0 = time.perf_counter()
                window.viewer.grab()
                times.append((time.perf_counter() - t0) * 1000)
            results[label] = summary(times)
        window.close()
    results["errors"] = errors

    rows = [
        ("(a) slider -> preview shown, median", results["slider_to_preview"]["median_ms"], LATENCY_GOAL_MS),
        ("(a) slider -> preview shown, p95", results["slider_to_preview"]["p95_ms"], LATENCY_GOAL_MS),
        ("(a) baseline: render only, median", results["baseline_render"]["median_ms"], None),
        ("(a) baseline: render + 8-bit encode, median", results["baseline_render_encode"]["median_ms"], None),
        ("(a) GUI overhead over the baseline, median", results["gui_overhead"]["median_ms"], None),
        ("(a) the preview job itself (worker thread), median", results["preview_job"]["median_ms"], None),
        ("(b) max event-loop gap, render+export", results["export"]["max_gap_ms"], STALL_GOAL_MS),
        ("(b) baseline: max gap, idle loop", results["idle_stall"]["max_gap_ms"], None),
        ("    max gap while opening the photo", results["open"]["max_gap_ms"], STALL_GOAL_MS),
        ("    max gap during the 100 % full render", results["zoom_100_full_render"]["max_gap_ms"], STALL_GOAL_MS),
        ("    viewer paint at 100 %, median", results["paint_100"]["median_ms"], None),
        ("    viewer paint at fit, median", results["paint_fit"]["median_ms"], None),
    ]
    print(f"PhotoLab GUI bench: {args.megapixels:g} MP photo, proxy {results['proxy_size']}, "
          f"{results['cpu_count']} CPUs")
    print(f"{'measure':48} {'ms':>9} {'goal':>7}")
    for label, value, goal in rows:
        verdict = "" if goal is None else (" ok" if value <= goal else " MISSED")
        print(f"{label:48} {value:9.1f} {'' if goal is None else f'{goal:7.0f}'}{verdict}")
    print(f"open {results['open']['seconds']:.2f} s, export {results['export']['seconds']:.2f} s, "
          f"100 % render {results['zoom_100_full_render']['seconds']:.2f} s")
    print(json.dumps(results, indent=2))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
