"""Slider -> preview with every develop operation on, against the original operation set, in the same run.

(a) The preview job's work (``render_for_display``: develop, encode to 8 bits, histogram, QImage) on a
    screen-size preview (2560 px on the long side, ~2560x1707, and the window's own 1600 px proxy), as an
    exposure slider moves: the
    original operation set (white balance, exposure, highlights, shadows, contrast, saturation: the baseline)
    and the same plus every newer operation (lens correction, straighten, tone curve, HSL, vignette, sharpen),
    interleaved step by step so machine load hits both alike. Also: what each operation costs on its own.
(b) In the window: slider moved -> preview painted, with the full recipe and with the baseline recipe, the
    window's preview made at the same screen size. (A JPEG carries no lens metadata here, so lens correction
    finds no profile in (b); (a) gives the photo a lens lensfun knows.)

Also (a) with the straighten slider moving (all operations): the geometry, lens correction included, then
runs on every step.

Draft path (what the window renders while a slider is dragged): the same steps on the preview shrunk to the
draft size the window would pick (``rendering.draft_scale`` from the per-pixel cost of a few full renders
measured first), with its own prefix cache, interleaved with the full path; and in (b) the slider dragged
(handle held down: slider moved -> draft painted).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_preview_ops.py [--sides 2560,1600] [--repeats 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench_gui import full_recipe, run_until, synthetic_photo  # noqa: E402
from photolab.core.develop.exposure import ExposureParams  # noqa: E402
from photolab.core.develop.hsl import HslParams  # noqa: E402
from photolab.core.develop.lens import LensParams  # noqa: E402
from photolab.core.develop.sharpen import SharpenParams  # noqa: E402
from photolab.core.develop.straighten import StraightenParams  # noqa: E402
from photolab.core.develop.tone_curve import ToneCurveParams  # noqa: E402
from photolab.core.develop.vignette import VignetteParams  # noqa: E402
from photolab.core.photo import Photo, PhotoMetadata  # noqa: E402
from photolab.core.recipe import Recipe  # noqa: E402
from photolab.core.render import steps  # noqa: E402

GOAL_MS = 100.0
LENS = dict(camera_make="Canon", camera_model="Canon EOS 5D Mark II", focal_length_mm=16.0, aperture=2.8,
            lens="Canon EF 16-35mm f/2.8L II USM")  # a camera and lens lensfun has profiles for


def with_new_operations(recipe: Recipe) -> Recipe:
    """``recipe`` plus every operation added since the original set, each doing real work."""
    curve = ((0.0, 0.0), (0.25, 0.2), (0.75, 0.82), (1.0, 1.0))
    for name, params in (("lens_correction", LensParams(enabled=True)), ("straighten", StraightenParams(2.5)),
                         ("tone_curve", ToneCurveParams(luminance=curve, red=((0.0, 0.02), (1.0, 1.0)))),
                         ("hsl", HslParams(orange_hue=8.0, orange_saturation=-20.0, blue_luminance=-25.0,
                                           green_saturation=30.0)),
                         ("vignette", VignetteParams(amount=-30.0)),
                         ("sharpen", SharpenParams(amount=60.0, radius=1.0, masking=20.0))):
        recipe = recipe.with_params(name, params)
    return recipe


def screen_photo(side: int) -> Photo:
    """A natural-looking linear photo ``side`` px on its long side (3:2), with lens metadata."""
    height = round(side / 1.5)
    rng = np.random.default_rng(7)
    small = cv2.GaussianBlur(rng.random((60, 90, 3)).astype(np.float32), (0, 0), 3)
    big = cv2.resize(0.05 + 0.6 * small, (side, height), interpolation=cv2.INTER_CUBIC)
    big += rng.normal(0.0, 0.01, (height, side, 1)).astype(np.float32)
    return Photo(np.clip(big, 0.0, None).astype(np.float32), metadata=PhotoMetadata(**LENS))


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "n": len(ordered)}


def slider_moves(recipe: Recipe, slider: str, index: int) -> Recipe:
    """``recipe`` with the exposure slider (a tone edit) or the straighten slider (geometry) at step ``index``."""
    if slider == "straighten":
        return recipe.with_params("straighten", StraightenParams(2.5 + 0.05 * index))
    return recipe.with_params("exposure", ExposureParams(ev=round(0.07 * index, 2)))


def draft_fraction(photo: Photo, recipe: Recipe) -> float:
    """The draft size the window picks for ``photo``: from the median of a few full renders' cost."""
    from photolab.core.render import PrefixCache
    from photolab.gui.viewer.rendering import draft_scale, render_for_display

    cache, samples = PrefixCache(entries=2), []
    for index in range(4):
        moved = slider_moves(recipe, "exposure", index)
        started = time.perf_counter()
        render_for_display(photo, moved, histogram=True, cache=cache)
        samples.append(time.perf_counter() - started)
    return draft_scale(statistics.median(samples[1:]) / (photo.width * photo.height), photo.width * photo.height)


def preview_work(photo: Photo, scenarios: dict[str, tuple[Recipe, str]], repeats: int,
                 drafts: tuple[str, ...] = ()) -> dict:
    """(a): the preview job's work per slider step (wall time, and CPU time of all threads), the scenarios
    interleaved, and the draft path of the scenarios named in ``drafts`` (the preview shrunk to the draft
    size); and each operation of the last scenario's recipe alone."""
    from photolab.core.render import PrefixCache
    from photolab.gui.viewer.rendering import DraftSource, PreviewRenderer, render_for_display

    fraction = draft_fraction(photo, scenarios[drafts[0]][0]) if drafts else 1.0
    draft_photo = DraftSource().get(photo, fraction)
    sources = {name: photo for name in scenarios}
    for name in drafts:
        scenarios = scenarios | {f"{name}_draft": scenarios[name]}
        sources[f"{name}_draft"] = draft_photo
    caches = {name: PreviewRenderer(None).proxy_stages for name in scenarios}  # the window's preview cache
    caches |= {f"{name}_draft": PrefixCache(entries=2) for name in drafts}  # the drafts' own cache
    wall: dict[str, list[float]] = {name: [] for name in scenarios}
    cpu: dict[str, list[float]] = {name: [] for name in scenarios}
    for index in range(repeats + 1):
        for name, (recipe, slider) in scenarios.items():
            moved = slider_moves(recipe, slider, index)
            started, cpu_started = time.perf_counter(), time.process_time()
            render_for_display(sources[name], moved, histogram=True, cache=caches[name])
            if index:  # the first round fills the caches (lensfun's database, the prefix)
                wall[name].append((time.perf_counter() - started) * 1000)
                cpu[name].append((time.process_time() - cpu_started) * 1000)
    per_op: dict[str, float] = {}
    current = photo
    for op, params in steps(list(scenarios.values())[-1][0]):
        samples = []
        for _ in range(max(3, repeats // 3)):
            started = time.perf_counter()
            out = op.apply(current, params)
            samples.append((time.perf_counter() - started) * 1000)
        per_op[op.name] = round(statistics.median(samples), 1)
        current = out
    return {name: summary(values) | {"cpu_median_ms": summary(cpu[name])["median_ms"]}
            for name, values in wall.items()} | {"per_operation_ms": per_op, "draft_fraction": fraction,
                                                 "draft_size": [draft_photo.width, draft_photo.height]}


def window_latency(side: int, repeats: int, recipes: dict[str, Recipe], folder: Path,
                   dragged: tuple[str, ...] = ()) -> dict:
    """(b): slider moved -> preview painted in the window, each recipe in turn; for those in ``dragged`` also
    with the handle held down (-> the draft painted; the full preview after the release is not timed)."""
    from photolab.gui.document import Document
    from photolab.gui.window.main_window import MainWindow

    Document.__init__.__kwdefaults__["proxy_side"] = side  # the window's preview at screen size
    photo_path = synthetic_photo(folder / "bench.jpg", 24.0)
    window = MainWindow(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(2600, 1800)
    window.show()
    window.open_path(photo_path)
    run_until(lambda: window.document is not None and window.document.is_fully_loaded
              and not window.renderer.is_busy and window.viewer.displayed is not None)
    document = window.document
    results = {"preview_size": [document.proxy.width, document.proxy.height]}
    painted: list[float] = []
    target: list[Recipe] = []

    def on_shown(rendered) -> None:
        if target and rendered.recipe == target[0]:
            window.viewer.repaint()
            painted.append(time.perf_counter())

    window.preview_shown.connect(on_shown)
    slider = window.develop.sliders["exposure.ev"]
    runs = [(name, recipe, False) for name, recipe in recipes.items()]
    runs += [(name, recipes[name], True) for name in dragged]
    latencies: dict[str, list[float]] = {name + ("_dragging_draft" if drag else ""): [] for name, _, drag in runs}
    draft_sizes: set = set()
    for index in range(repeats + 1):
        for name, recipe, drag in runs:
            window.apply_edit(recipe.with_params("exposure", document.recipe.get("exposure")), f"bench {name}")
            run_until(lambda: window.viewer.displayed.recipe == document.recipe and not window.renderer.is_busy
                      and not window.viewer.displayed.draft)
            painted.clear()
            target.clear()
            if drag:
                slider.slider.setSliderDown(True)  # the handle grabbed (the draft size is chosen now)
            started = time.perf_counter()
            slider.slider.setValue(slider.slider.value() + (7 if index % 2 == 0 else -7))
            target.append(document.recipe)
            run_until(lambda: bool(painted) and (drag or not window.renderer.is_busy))
            if drag:
                draft_sizes.add((window.viewer.displayed.image.width(), window.viewer.displayed.image.height(),
                                 window.viewer.displayed.draft))
                slider.slider.setSliderDown(False)
            if index:
                latencies[name + ("_dragging_draft" if drag else "")].append((painted[0] - started) * 1000)
    window.close()
    return results | {"dragged_painted_sizes": sorted(draft_sizes)} | {
        name: summary(values) for name, values in latencies.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default="2560,1600", help="long sides of the previews measured in (a), pixels; "
                                                             "(b) uses the first")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--skip-window", action="store_true", help="only (a)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 (QImage needs it)

    baseline = full_recipe(0.0)
    every = with_new_operations(baseline)
    recipes = {"baseline_original_operations": baseline, "all_operations": every}
    scenarios = {"baseline_original_operations": (baseline, "exposure"), "all_operations": (every, "exposure"),
                 "all_operations_straighten_slider": (every, "straighten")}
    sides = [int(side) for side in args.sides.split(",")]
    results: dict = {"cpu_count": os.cpu_count(), "load_average": os.getloadavg(), "preview_job": {}}
    drafts = ("all_operations", "all_operations_straighten_slider")
    for side in sides:
        photo = screen_photo(side)
        results["preview_job"][f"{photo.width}x{photo.height}"] = preview_work(photo, scenarios, args.repeats,
                                                                             drafts)
    if not args.skip_window:
        with tempfile.TemporaryDirectory() as folder:
            results["window_slider_to_preview"] = window_latency(sides[0], args.repeats, recipes, Path(folder),
                                                                 ("all_operations",))
    results["load_average_after"] = os.getloadavg()

    print(f"PhotoLab preview bench: {results['cpu_count']} CPUs, load average {results['load_average'][0]:.1f} "
          f"before, {results['load_average_after'][0]:.1f} after (other processes share the CPUs)")
    rows = []
    for size, measured in results["preview_job"].items():
        draft = "x".join(map(str, measured["draft_size"]))
        rows += [(f"(a) {size} preview job, {name}", measured[name]) for name in scenarios]
        rows += [(f"(a) {size} preview job, {name}_draft ({draft})", measured[f"{name}_draft"]) for name in drafts]
    if "window_slider_to_preview" in results:
        window = results["window_slider_to_preview"]
        size = "x".join(map(str, window["preview_size"]))
        rows += [(f"(b) {size} slider -> painted, {name}", window[name]) for name in window
                 if isinstance(window[name], dict)]
    for label, values in rows:
        goal = (" ok" if values["median_ms"] <= GOAL_MS else " MISSED") if "all" in label else ""
        cpu = f"  cpu {values['cpu_median_ms']:7.1f} ms" if "cpu_median_ms" in values else ""
        print(f"{label:84} median {values['median_ms']:7.1f} ms  p95 {values['p95_ms']:7.1f} ms{cpu}"
              f"  (goal {GOAL_MS:.0f}){goal}")
    for size, measured in results["preview_job"].items():
        print(f"{size}, each operation alone:",
              ", ".join(f"{k} {v} ms" for k, v in measured["per_operation_ms"].items()))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
