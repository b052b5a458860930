"""Benchmark: learned looks (HDRNet) against global baselines fitted to the same pairs, and the 24 MP apply time.

Looks of our own are applied to permitted training photos (``training/fetch_photos.py train``; never the
evaluation packages) to make before/after pairs: two global ones (tone curve + split toning; hue/saturation
shifts + a vignette) and two local ones (guided-filter clarity; shadow lift + highlight recovery with a
guided-filter base). 16 photos give the training pairs (their afters optionally JPEG-compressed, as an
editor exports them: ``--train-after-jpeg 90``); 3 other photos, each whole and in two crops (new
framings, so a vignette lands elsewhere), give 9 held-out pairs. Every method is fitted to the training pairs
and scored on the held-out ones (PSNR, mean CIEDE2000):

- identity (the before itself);
- per-channel curves (256-bin least squares, one curve per channel);
- a global 3D LUT (17^3, trilinear, least squares with a Laplacian smoothness term);
- HDRNet as ``photolab-cli look learn`` trains it (same settings; cross-validation off here, the held-out pairs
  are separate; ``--cv`` runs the product's k-fold cross-validation too, as the product does by default: it
  also decides whether the look keeps its local grid or its global LUT alone), and, to show where its gain
  comes from, its global part alone (its clip-aware LUT, the grid set to the identity).

With ``--independent`` (after ``training/fetch_photos.py eval``), every method is also scored on the photos of
the packages reserved for independent evaluation (KDE Plasma and MATE wallpapers: other photographers, other
subjects and processing, never used to train or tune anything), whole, as a second held-out set.

Then the 24 MP apply: one look on a 6000x4000 image, the full-resolution slicing as the Look step runs it,
with ``--threads`` threads (default 2), against a plain per-pixel 3x4 colour matrix (cv2.transform) at the same
size as the baseline cost of touching every pixel.

    python bench/bench_look.py [--minutes 2] [--looks all] [--threads 2] [--cv] [--independent]
                               [--train-after-jpeg QUALITY]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

from fetch_photos import default_cache, list_file_of, read_list  # noqa: E402

from photolab.core.color_difference import mean_ciede2000, psnr  # noqa: E402
from photolab.core.look_pairs import load_look_pairs, scan_look_pairs  # noqa: E402

TRAIN = ["bridge", "dragonfly", "fig-bowl", "brushes", "wine", "aitzgorri", "lamp-bird", "clock", "stream",
         "dandelions", "sunset", "nuthatch", "astronaut", "cat", "motorcycle", "rocket"]
HELD_OUT = ["picos", "dogs", "coffee"]
SIDE = 1024  # the pairs' files are written at this long side


# ---------------------------------------------------------------------------------------------------- looks

def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (grey guide), box filters of ``radius``."""
    box = lambda x: cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1))  # noqa: E731
    mean_i, mean_p = box(guide), box(source)
    cov = box(guide * source) - mean_i * mean_p
    var = box(guide * guide) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def luma(srgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(srgb, cv2.COLOR_RGB2GRAY)


def with_luma(srgb: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    return np.clip(srgb + (new - old)[..., None], 0, 1)


def tone_split(srgb: np.ndarray) -> np.ndarray:
    """Global: an S tone curve with lifted blacks, then split toning (teal shadows, orange highlights)."""
    x = srgb
    s = x + 0.35 * x * (1 - x) * (2 * x - 1) * -1.0  # S curve: darker shadows, brighter highlights
    s = 0.04 + 0.94 * np.clip(s, 0, 1)
    y = luma(s.astype(np.float32))[..., None]
    shadows, highlights = (1 - y) ** 2, y ** 2
    s = s + shadows * np.array([-0.05, 0.02, 0.06]) + highlights * np.array([0.07, 0.02, -0.06])
    return np.clip(s, 0, 1).astype(np.float32)


def hue_sat_vignette(srgb: np.ndarray) -> np.ndarray:
    """Global: hues rotated towards warm (greens to yellow-green, blues to cyan), saturation +30 %, a
    -0.8 EV vignette."""
    hsv = cv2.cvtColor(srgb, cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0]
    hsv[..., 0] = (hue - 12 * np.exp(-((hue - 120) / 40) ** 2) - 15 * np.exp(-((hue - 220) / 40) ** 2)) % 360
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.3, 0, 1)
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    h, w = out.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot((xx + 0.5) / w - 0.5, (yy + 0.5) / h - 0.5) / np.hypot(0.5, 0.5)
    gain = 2.0 ** (-0.8 * np.clip((d - 0.35) / 0.65, 0, 1) ** 2)
    return np.clip(out * gain[..., None], 0, 1).astype(np.float32)


def clarity(srgb: np.ndarray) -> np.ndarray:
    """Local: clarity, the luma's detail over a guided-filter base (radius 2 % of the long side) times 2.5."""
    y = luma(srgb)
    radius = max(2, round(0.02 * max(srgb.shape[:2])))
    base = guided_filter(y, y, radius, 0.01)
    return with_luma(srgb, y, base + 2.5 * (y - base)).astype(np.float32)


def shadows_highlights(srgb: np.ndarray) -> np.ndarray:
    """Local: shadow lift and highlight recovery on a guided-filter base (radius 3 % of the long side): dark
    regions brightened, bright regions darkened, the detail kept."""
    y = luma(srgb)
    radius = max(2, round(0.03 * max(srgb.shape[:2])))
    base = guided_filter(y, y, radius, 0.02)
    lift = 0.45 * (1 - base) ** 3 - 0.30 * base ** 3
    return with_luma(srgb, y, y + lift * (1 - 0.3 * np.abs(y - base))).astype(np.float32)


LOOKS = {"global-tone-split": tone_split, "global-hue-sat-vignette": hue_sat_vignette,
         "local-clarity": clarity, "local-shadows-highlights": shadows_highlights}


# ------------------------------------------------------------------------------------------------ baselines

def fit_curves(befores, afters, bins: int = 256):
    """Per-channel curves: the mean after of each input bin (empty bins interpolated)."""
    curves = []
    for c in range(3):
        x = np.concatenate([b[..., c].ravel() for b in befores])
        y = np.concatenate([a[..., c].ravel() for a in afters])
        index = np.clip((x * (bins - 1)).round().astype(int), 0, bins - 1)
        sums, counts = np.bincount(index, y, bins), np.bincount(index, None, bins)
        known = counts > 0
        grid = np.arange(bins)
        curves.append(np.interp(grid, grid[known], sums[known] / counts[known]))
    return lambda img: np.stack([np.interp(img[..., c], np.linspace(0, 1, bins), curves[c]) for c in range(3)],
                                axis=-1).astype(np.float32)


def _trilinear_matrix(x: np.ndarray, n: int):
    import scipy.sparse as sp

    p = np.clip(x, 0, 1) * (n - 1)
    i0 = np.minimum(np.floor(p).astype(int), n - 2)
    f = p - i0
    rows, cols, vals = [], [], []
    ids = np.arange(len(x))
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                w = ((f[:, 0] if dr else 1 - f[:, 0]) * (f[:, 1] if dg else 1 - f[:, 1])
                     * (f[:, 2] if db else 1 - f[:, 2]))
                idx = ((i0[:, 0] + dr) * n + (i0[:, 1] + dg)) * n + (i0[:, 2] + db)
                rows.append(ids), cols.append(idx), vals.append(w)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(len(x), n ** 3))


def fit_lut(befores, afters, n: int = 17, smooth: float = 0.05, samples: int = 400_000):
    """A global 3D LUT (n^3, trilinear), least squares with a Laplacian smoothness term (weight ``smooth`` per
    lattice point relative to the data)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    x = np.concatenate([b.reshape(-1, 3) for b in befores])
    y = np.concatenate([a.reshape(-1, 3) for a in afters])
    rng = np.random.default_rng(0)
    pick = rng.choice(len(x), size=min(samples, len(x)), replace=False)
    x, y = x[pick].astype(np.float64), y[pick].astype(np.float64)
    a = _trilinear_matrix(x, n)
    one = sp.diags([-1, 2, -1], [-1, 0, 1], shape=(n, n)).tolil()
    one[0, 0] = one[-1, -1] = 1
    eye = sp.identity(n)
    lap = (sp.kron(sp.kron(one, eye), eye) + sp.kron(sp.kron(eye, one), eye) + sp.kron(sp.kron(eye, eye), one))
    weight = smooth * len(x) / n ** 3
    system = (a.T @ a + weight * (lap.T @ lap) + 1e-9 * sp.identity(n ** 3)).tocsc()
    lattice = np.stack([spsolve(system, a.T @ y[:, c]) for c in range(3)], axis=1)

    def apply(img):
        flat = img.reshape(-1, 3).astype(np.float64)
        return (_trilinear_matrix(flat, n) @ lattice).reshape(img.shape).astype(np.float32)
    return apply


# ---------------------------------------------------------------------------------------------------- data

def listed_photos(kind: str, needed: list[str] | None = None) -> dict[str, Path]:
    """The first photo of each group of ``kind``'s list (``train``: training/photos.txt, ``eval``: the reserved
    training/eval_photos.txt) in its fetch cache, by group; exits naming the fetch command if a ``needed`` group
    (default: every group) is missing."""
    cache = default_cache(kind)
    found = {}
    for source, path, group, _ in read_list(list_file_of(kind)):
        found.setdefault(group, cache / source / path)
    missing = [g for g in (found if needed is None else needed) if g not in found or not found[g].is_file()]
    if missing:
        sys.exit(f"missing {kind} photos {missing}: run python training/fetch_photos.py {kind}")
    return found


def read_fit(path: Path, side: int) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    scale = min(1.0, side / max(image.shape[:2]))
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image


def held_out_framings(image: np.ndarray) -> list[np.ndarray]:
    h, w = image.shape[:2]
    return [image, image[int(0.15 * h):int(0.85 * h), int(0.15 * w):int(0.85 * w)],
            image[:int(0.75 * h), int(0.3 * w):]]


def write_pairs(folder: Path, images: dict[str, np.ndarray], look, after_jpeg: int = 0) -> None:
    """The befores (8-bit PNG) and their afters: 8-bit PNG, or JPEG of quality ``after_jpeg`` (an editor's
    export) when given."""
    for side in ("before", "after"):
        (folder / side).mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        cv2.imwrite(str(folder / "before" / f"{name}.png"), cv2.cvtColor(np.round(image * 255).astype(np.uint8),
                                                                       cv2.COLOR_RGB2BGR))
        after = cv2.cvtColor(np.round(look(image) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
        if after_jpeg:
            cv2.imwrite(str(folder / "after" / f"{name}.jpg"), after, [cv2.IMWRITE_JPEG_QUALITY, after_jpeg])
        else:
            cv2.imwrite(str(folder / "after" / f"{name}.png"), after)


# ---------------------------------------------------------------------------------------------------- main

def scores(method, pairs) -> dict:
    results = [np.clip(method(p.before), 0, 1) for p in pairs]
    return {"psnr": round(float(np.mean([psnr(r, p.after) for r, p in zip(results, pairs)])), 2),
            "ciede2000": round(float(np.mean([mean_ciede2000(r, p.after) for r, p in zip(results, pairs)])), 3)}


def apply_time(threads: int, repeats: int = 5) -> dict:
    import torch

    from photolab.models.archs.hdrnet import apply_look, create_model

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    rng = np.random.default_rng(0)
    model = create_model(width=32).eval()
    small = cv2.resize(rng.random((400, 600, 3), dtype=np.float32), (6000, 4000), interpolation=cv2.INTER_LINEAR)
    look, matrix = [], []
    colour = np.array([[1.1, 0.05, 0, 0.01], [0, 1.0, 0.05, 0], [0.02, 0, 0.9, 0.02]], np.float32)
    start = time.perf_counter()
    apply_look(model, small)  # the first call also sets up torch and OpenCV's thread pools: reported apart
    first = time.perf_counter() - start
    for _ in range(repeats):
        start = time.perf_counter()
        apply_look(model, small)
        look.append(time.perf_counter() - start)
        start = time.perf_counter()
        cv2.transform(small, colour)
        matrix.append(time.perf_counter() - start)
    return {"megapixels": 24.0, "threads": threads, "look_s_first": round(first, 3), "look_s_best": round(min(look), 3),
            "look_s_median": round(float(np.median(look)), 3), "colour_matrix_s_best": round(min(matrix), 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="HDRNet learning budget per look")
    parser.add_argument("--looks", default="all", help="comma-separated look names (default all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cv", action="store_true", help="run the product's cross-validation too (slower)")
    parser.add_argument("--independent", action="store_true",
                        help="also score on the reserved evaluation photos (fetch_photos.py eval)")
    parser.add_argument("--train-after-jpeg", type=int, default=0, metavar="QUALITY",
                        help="write the training afters as JPEGs of this quality (an editor's export); the "
                             "held-out afters stay exact PNGs")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from photolab.models.archs.hdrnet import apply_look, without_grid
    from photolab.models.training.look_learn import LookSettings, learn

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    paths = listed_photos("train", TRAIN + HELD_OUT)
    train_images = {g: read_fit(paths[g], SIDE) for g in TRAIN}
    held_images = {f"{g}-{k}": img for g in HELD_OUT for k, img in enumerate(held_out_framings(read_fit(paths[g], SIDE)))}
    independent_images = ({group: read_fit(path, SIDE) for group, path in listed_photos("eval").items()}
                          if args.independent else {})
    names = list(LOOKS) if args.looks == "all" else args.looks.split(",")
    report = {"train_pairs": len(train_images), "train_after_jpeg": args.train_after_jpeg,
              "held_out_pairs": len(held_images),
              "independent_pairs": len(independent_images), "looks": {}}
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            write_pairs(Path(tmp) / "train", train_images, LOOKS[name], args.train_after_jpeg)
            write_pairs(Path(tmp) / "held", held_images, LOOKS[name])
            train = load_look_pairs(scan_look_pairs(Path(tmp) / "train"))
            held = load_look_pairs(scan_look_pairs(Path(tmp) / "held"))
            independent = None
            if independent_images:
                write_pairs(Path(tmp) / "independent", independent_images, LOOKS[name])
                independent = load_look_pairs(scan_look_pairs(Path(tmp) / "independent"))
        befores, afters = [p.before for p in train.pairs], [p.after for p in train.pairs]
        start = time.perf_counter()
        methods = {"identity": lambda x: x, "curves": fit_curves(befores, afters), "lut17": fit_lut(befores, afters)}
        baseline_seconds = round(time.perf_counter() - start, 1)
        settings = LookSettings(minutes=args.minutes, folds=3 if args.cv else 0, threads=args.threads)
        outcome = learn(train, settings)
        model = outcome.model()
        global_part = without_grid(model)
        methods["hdrnet"] = lambda x: apply_look(model, x)
        methods["hdrnet_global_part"] = lambda x: apply_look(global_part, x)
        row = {method: scores(apply, held.pairs) for method, apply in methods.items()}
        row["baseline_fit_s"] = baseline_seconds
        if independent is not None:
            row["independent"] = {method: scores(apply, independent.pairs) for method, apply in methods.items()}
            row["independent"]["gain_over_lut_db"] = round(row["independent"]["hdrnet"]["psnr"]
                                                           - row["independent"]["lut17"]["psnr"], 2)
        row["hdrnet_grid"] = outcome.held_out.get("grid", True)
        row["hdrnet_learn_minutes"] = round(outcome.seconds / 60, 2)
        row["hdrnet_steps"] = outcome.steps
        if args.cv:
            row["hdrnet_cross_validation"] = {k: outcome.held_out[k] for k in ("psnr", "ciede2000", "folds",
                                                                               "lut_alone_psnr", "with_grid_psnr",
                                                                               "lut_alone_flat_psnr",
                                                                               "with_grid_flat_psnr")}
        row["gain_over_lut_db"] = round(row["hdrnet"]["psnr"] - row["lut17"]["psnr"], 2)
        report["looks"][name] = row
        print(name, json.dumps(row), flush=True)
    if not args.skip_timing:
        report["apply_24mp"] = apply_time(args.threads)
        print("apply 24 MP", json.dumps(report["apply_24mp"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
