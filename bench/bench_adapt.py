"""Benchmark of "Adapt to my camera" (photolab-cli denoise-adapt) on simulated cameras it never saw.

    nice -n 10 .venv/bin/python bench/bench_adapt.py [--cameras test-iso6400-banding,test-iso3200-vng]
        [--minutes 8] [--threads 2] [--single-share F] [--json results.json] [--quick]

Cameras: training/camera_noise.py's TEST_CAMERAS (Bayer-mosaic shot/read noise + row banding, demosaic, colour
matrix, sharpening, JPEG; never used by the shipped model's training nor Auto's calibration).

Photos: only the held-out *test* photos that bench/bench_denoise.py's ``test_photos()`` loads from the training
photo cache. The two large ones (ADAPT_GROUPS) make the user's folder: per camera 12 noisy singles (512 px
crops at random places, written as PNG of the camera's JPEG output with EXIF make/model/ISO) and 3 bursts of 8
frames in sub-folders (one 512 px scene each, every frame shifted by a random whole-pixel offset of up to 6 px,
new noise every frame). No clean image is given to the adaptation. The other photos (EVAL_GROUPS) are the
evaluation set: each shot once through the same camera (other seeds), with its clean development as reference.

Adaptation: ``photolab-cli denoise-adapt FOLDER --name ... --minutes M --threads T --json`` in a fresh process
(its JSON line is kept), into a temporary data folder.

Compared on the evaluation photos (mean PSNR over them, sRGB 0-1, clipped):
- noisy: the camera's output itself;
- adapted + Auto: the adapted denoiser with Auto (``estimate_params`` + adaptive noise map), as
  ``photolab-cli denoise --model NAME`` runs it;
- generic + Auto: the shipped denoiser with Auto;
- generic, best sigma: the shipped denoiser with one uniform sigma, the best of a grid chosen on these same
  evaluation photos (an oracle choice, which favours the baseline);
- CBM3D, best sigma: ``bm3d.bm3d_rgb`` with the best sigma of a small grid chosen on central crops of the
  evaluation photos (oracle too), then run on the whole photos.
Goal: adapted + Auto >= max(generic best sigma, CBM3D best sigma) + 0.5 dB per camera, within 10 minutes of
adaptation on 2 cores. ``--quick`` checks the script in a few minutes (tiny budget; its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import camera_noise  # noqa: E402
import fetch_photos  # noqa: E402
from bench_denoise import test_photos  # noqa: E402

ADAPT_GROUPS = ("brushes", "dandelions")  # the large test photos: the user's folder is cut from these
EVAL_GROUPS = ("brick", "coins", "rocket", "text")  # never in the folder: evaluation with clean references
SINGLES, BURSTS, FRAMES = 12, 3, 8
CROP = 512
MAX_SHIFT = 6
GENERIC_SIGMAS = (2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 22, 27)
CBM3D_SIGMAS = (5, 8, 12, 16, 20, 25, 30)
CBM3D_CROP = 192


def _exif(camera: camera_noise.Camera) -> bytes:
    exif = Image.Exif()
    exif[271] = "SimCam"  # Make
    exif[272] = camera.name  # Model
    iso = int(camera.name.split("-")[1][3:]) if camera.name.split("-")[1].startswith("iso") else 0
    if iso:
        exif.get_ifd(0x8769)[0x8827] = iso  # ISOSpeedRatings
    return exif.tobytes()


def _save(path: Path, pixels: np.ndarray, exif: bytes) -> None:
    Image.fromarray(pixels, "RGB").save(path, format="PNG", exif=exif)  # lossless: the camera's JPEG output as is


def build_folder(folder: Path, sources: list[np.ndarray], camera, seed: int) -> dict:
    """The user's folder for ``camera``: singles and bursts cut from the linear ``sources`` (module docstring)."""
    rng = np.random.default_rng(seed)
    exif = _exif(camera)
    folder.mkdir(parents=True, exist_ok=True)

    def window(source, side):
        height, width = source.shape[:2]
        y = int(rng.integers(MAX_SHIFT, height - side - MAX_SHIFT + 1)) & ~1
        x = int(rng.integers(MAX_SHIFT, width - side - MAX_SHIFT + 1)) & ~1
        return y, x

    for index in range(SINGLES):
        source = sources[index % len(sources)]
        y, x = window(source, CROP)
        noisy, _ = camera_noise.shoot(source[y:y + CROP, x:x + CROP], camera, rng)
        _save(folder / f"single-{index:02d}.png", noisy, exif)
    shifts = []
    for burst in range(BURSTS):
        source = sources[burst % len(sources)]
        y, x = window(source, CROP)
        sub = folder / f"burst-{burst}"
        sub.mkdir()
        for frame in range(FRAMES):
            dy, dx = (0, 0) if frame == 0 else (int(v) for v in rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, 2))
            shifts.append((dy, dx))
            part = source[y + dy:y + dy + CROP, x + dx:x + dx + CROP]
            noisy, _ = camera_noise.shoot(part, camera, rng)
            _save(sub / f"frame-{frame}.png", noisy, exif)
    return {"singles": SINGLES, "bursts": BURSTS, "frames": FRAMES, "crop": CROP, "max_shift": MAX_SHIFT}


def psnr(result: np.ndarray, reference: np.ndarray) -> float:
    mse = float(np.mean((np.clip(result, 0, 1) - reference) ** 2))
    return 10 * math.log10(1 / max(mse, 1e-12))


def run_cbm3d(noisy: np.ndarray, sigma: float, threads: int) -> np.ndarray:
    import bm3d

    profile = bm3d.BM3DProfile()
    profile.num_threads = threads
    return np.clip(bm3d.bm3d_rgb(noisy.astype(np.float64), sigma / 255, profile=profile), 0, 1).astype(np.float32)


def centre(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    y, x = max(0, (height - side) // 2), max(0, (width - side) // 2)
    return image[y:y + side, x:x + side]


def evaluate(camera, eval_sources, adapted: str, manager, threads: int, quick: bool) -> dict:
    from photolab.core.develop.denoise import estimate_params, noise_map

    rng = np.random.default_rng(1000 + camera_noise.TEST_CAMERAS.index(camera))
    shots = []
    for source in eval_sources:
        noisy8, clean = camera_noise.shoot(source, camera, rng)
        shots.append((noisy8.astype(np.float32) / 255, clean))
    generic = manager.load_denoiser("", "cpu")
    mine = manager.load_denoiser(adapted, "cpu")

    def auto(denoiser, noisy):
        params, estimate = estimate_params(noisy)
        return denoiser(noisy, noise_map(noisy, params.sigma, True, estimate), tile=512, margin=64), params.sigma

    rows: dict[str, list[float]] = {"noisy": [psnr(n, c) for n, c in shots]}
    rows["adapted + Auto"], sigmas = [], []
    rows["generic + Auto"] = []
    for noisy, clean in shots:
        out, sigma = auto(mine, noisy)
        rows["adapted + Auto"].append(psnr(out, clean))
        sigmas.append(sigma)
        rows["generic + Auto"].append(psnr(auto(generic, noisy)[0], clean))
    grid = {}
    for sigma in GENERIC_SIGMAS[::3] if quick else GENERIC_SIGMAS:
        grid[sigma] = [psnr(generic(n, sigma / 255, tile=512, margin=64), c) for n, c in shots]
    best = max(grid, key=lambda s: np.mean(grid[s]))
    rows["generic, best sigma"] = grid[best]
    cbm3d_grid = {}
    for sigma in CBM3D_SIGMAS[::2] if quick else CBM3D_SIGMAS:
        cbm3d_grid[sigma] = float(np.mean([psnr(run_cbm3d(centre(n, CBM3D_CROP), sigma, threads), centre(c, CBM3D_CROP))
                                           for n, c in shots]))
    cbm3d_best = max(cbm3d_grid, key=cbm3d_grid.get)
    rows["CBM3D, best sigma"] = [psnr(run_cbm3d(n, cbm3d_best, threads), c) for n, c in shots]
    means = {k: round(float(np.mean(v)), 3) for k, v in rows.items()}
    baseline = max(means["generic, best sigma"], means["CBM3D, best sigma"])
    return {"mean_psnr": means, "per_photo": {k: [round(x, 3) for x in v] for k, v in rows.items()},
            "generic_best_sigma": best, "generic_grid": {str(k): round(float(np.mean(v)), 3) for k, v in grid.items()},
            "cbm3d_best_sigma": cbm3d_best, "cbm3d_grid_on_crops": {str(k): round(v, 3) for k, v in cbm3d_grid.items()},
            "auto_sigmas": [round(s, 2) for s in sigmas],
            "gain_over_best_baseline_db": round(means["adapted + Auto"] - baseline, 3),
            "goal_met": bool(means["adapted + Auto"] - baseline >= 0.5)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", default="test-iso6400-banding,test-iso3200-vng")
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--single-share", type=float, help="passed to denoise-adapt (default: its own)")
    parser.add_argument("--keep", type=Path, help="keep the data folders and models here")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from photolab.core.color import srgb_decode  # noqa: F401 - the photos are linear already
    from photolab.models.store.manager import ModelManager

    cache = args.cache or fetch_photos.default_cache("train")
    photos = {p.group: p.pixels for p in test_photos(cache)}
    missing = [g for g in ADAPT_GROUPS + EVAL_GROUPS if g not in photos]
    if missing:
        raise SystemExit(f"test photos missing from {cache}: {missing}")
    adapt_sources = [np.clip(photos[g], 0, 1) for g in ADAPT_GROUPS]
    eval_sources = [np.clip(photos[g][:photos[g].shape[0] & ~1, :photos[g].shape[1] & ~1], 0, 1)
                    for g in EVAL_GROUPS]
    if args.quick:
        eval_sources = [centre(s, 128) for s in eval_sources[:2]]
    by_name = {c.name: c for c in camera_noise.TEST_CAMERAS}
    results = {"minutes": args.minutes, "threads": args.threads, "single_share": args.single_share, "quick": args.quick, "adapt_groups": ADAPT_GROUPS,
               "eval_groups": EVAL_GROUPS, "cameras": {}}
    work = Path(tempfile.mkdtemp(prefix="photolab-bench-adapt-")) if args.keep is None else args.keep
    for number, name in enumerate(args.cameras.split(",")):
        camera = by_name[name]
        folder = work / name / "photos"
        data_dir = work / name / "data"
        built = build_folder(folder, adapt_sources, camera, seed=number)
        command = [sys.executable, "-m", "photolab.cli", "denoise-adapt", str(folder), "--name", f"adapted-{name}",
                   "--minutes", str(0.3 if args.quick else args.minutes), "--threads", str(args.threads), "--json"]
        if args.single_share is not None:
            command += ["--single-share", str(args.single_share)]
        env = dict(os.environ, PHOTOLAB_DATA_DIR=str(data_dir))
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"denoise-adapt failed for {name} (exit {done.returncode})")
        cli = json.loads(done.stdout.strip().splitlines()[-1])
        manager = ModelManager(data_dir=data_dir)
        scores = evaluate(camera, eval_sources, cli["name"], manager, args.threads, args.quick)
        results["cameras"][name] = {"folder": built, "cli": cli, "cli_wall_seconds": round(wall, 1), **scores}
        means = scores["mean_psnr"]
        print(f"\n{name}: adaptation {cli['minutes']:.2f} min ({cli['steps']} steps), held-out noisy-pair PSNR "
              f"{cli['held_out']['generic_psnr']} -> {cli['held_out']['adapted_psnr']} dB")
        for key, value in means.items():
            extra = {"generic, best sigma": f" (sigma {scores['generic_best_sigma']})",
                     "CBM3D, best sigma": f" (sigma {scores['cbm3d_best_sigma']})"}.get(key, "")
            print(f"  {key:<22} {value:7.3f} dB{extra}")
        print(f"  gain over the best baseline: {scores['gain_over_best_baseline_db']:+.3f} dB "
              f"({'PASS' if scores['goal_met'] else 'FAIL'}: goal +0.5 dB)", flush=True)
    text = json.dumps(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
