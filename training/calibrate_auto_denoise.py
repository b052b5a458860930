"""Calibrate Auto denoise's strength rule on simulated camera JPEGs and white noise.

    .venv/bin/python training/calibrate_auto_denoise.py [--out resources/calibration/auto-denoise.json]

For every *training* photo of the shipped split (``train_quality_classifier.shipped_split``; the benchmarks
use the held-out ones), a centre crop is shot through two of ``camera_noise.CALIBRATION_CAMERAS`` (never the
benchmarks' TEST_CAMERAS) and given white Gaussian noise at two random levels. For each noisy image the
shipped denoiser is run at a grid of uniform strengths, and its PSNR against the clean reference recorded;
the noise is read at full and half resolution (``photolab.core.noise_estimate.correlated_readings``).

The rule ``log(strength + 1) = c0 + sum_i c_i log(sigma_i + 1)`` is fitted by least squares on the log of each
image's best strength, then refined by Nelder-Mead on the mean PSNR lost against each image's best strength
(the PSNR between grid points interpolated linearly). The card records the data, the recipe and the loss.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import fetch_photos  # noqa: E402
from camera_noise import CALIBRATION_CAMERAS, shoot  # noqa: E402
from train_quality_classifier import load_photos, shipped_split  # noqa: E402

STRENGTHS = (0.0, 3.0, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0)
CROP = 384
WHITE_SIGMAS = (4.0, 45.0)  # white noise levels are drawn log-uniformly in this range
SEED = 1


def training_photos() -> list:
    """The shipped split's training photos (linear, at most 768 px)."""
    entries = fetch_photos.read_list(ROOT / "training" / "photos.txt")
    assignment = shipped_split([group for _, _, group, _ in entries])
    lines = [" ".join(entry) for entry in entries if assignment[entry[2]] == "train"]
    with tempfile.TemporaryDirectory(prefix="photolab-calibrate-") as folder:
        listed = Path(folder) / "train-photos.txt"
        listed.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return load_photos(listed, fetch_photos.default_cache("train"), 768)


def srgb8(linear: np.ndarray) -> np.ndarray:
    from photolab.core.color import srgb_encode
    return np.round(np.clip(srgb_encode(np.clip(linear, 0, 1)), 0, 1) * 255) / 255


def cases(photo: np.ndarray, index: int, rng: np.random.Generator):
    """(label, noisy uint8, clean float) for one photo: two calibration cameras and two white-noise levels."""
    height, width = photo.shape[:2]
    top, left = max(0, (height - CROP) // 4 * 2), max(0, (width - CROP) // 4 * 2)
    crop = photo[top:top + CROP, left:left + CROP]
    for camera in (CALIBRATION_CAMERAS[index % len(CALIBRATION_CAMERAS)],
                   CALIBRATION_CAMERAS[(index + 3) % len(CALIBRATION_CAMERAS)]):
        noisy, clean = shoot(crop, camera, rng)
        yield camera.name, noisy, clean
    clean = srgb8(crop[:crop.shape[0] // 2 * 2, :crop.shape[1] // 2 * 2]).astype(np.float32)
    for _ in range(2):
        sigma = float(np.exp(rng.uniform(*np.log(WHITE_SIGMAS))))
        noisy = np.clip(np.round((clean + rng.standard_normal(clean.shape) * sigma / 255) * 255), 0, 255)
        yield f"white-{sigma:.1f}", noisy.astype(np.uint8), clean


def measure(photos: list, known: list[dict] | None = None) -> list[dict]:
    """Per noisy image: the noise readings and the denoiser's PSNR at every grid strength (taken from ``known``
    rows of an earlier run of the same images when given: the images are seeded, so only the readings are
    measured again)."""
    from photolab.core.develop.denoise import DenoiseParams, denoise_srgb
    from photolab.core.noise_estimate import correlated_readings
    from photolab.services import install_models

    install_models()
    rng = np.random.default_rng(SEED)
    rows = []
    for index, photo in enumerate(photos):
        for label, noisy8, clean in cases(photo.pixels, index, rng):
            noisy = noisy8.astype(np.float32) / 255
            sigmas = list(correlated_readings(noisy))
            psnrs = [] if known is None else known[len(rows)]["psnr"]
            for strength in STRENGTHS if known is None else ():
                out = noisy if strength == 0 else np.clip(denoise_srgb(noisy, DenoiseParams(strength)), 0, 1)
                psnrs.append(float(10 * np.log10(1.0 / max(np.mean((out - clean) ** 2), 1e-12))))
            rows.append({"photo": Path(photo.path).name, "case": label, "sigmas": sigmas, "psnr": psnrs})
            print(f"  {rows[-1]['photo']} {label}: sigmas {np.round(sigmas, 1).tolist()}, best strength "
                  f"{STRENGTHS[int(np.argmax(psnrs))]}", flush=True)
    return rows


def features(rows: list[dict]) -> np.ndarray:
    return np.log(np.array([r["sigmas"] for r in rows]) + 1.0)


def predict(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.clip(np.exp(coefficients[0] + x @ coefficients[1:]) - 1.0, 0.0, STRENGTHS[-1])


def psnr_lost(coefficients: np.ndarray, rows: list[dict], x: np.ndarray) -> float:
    """Mean PSNR lost against each image's best grid strength."""
    chosen = predict(coefficients, x)
    return float(np.mean([max(r["psnr"]) - np.interp(s, STRENGTHS, r["psnr"]) for r, s in zip(rows, chosen)]))


def nelder_mead(function, start: np.ndarray, step: float = 0.2, iterations: int = 3000) -> np.ndarray:
    """A plain Nelder-Mead minimiser (the loss is piecewise linear: no gradients)."""
    simplex = [start] + [start + step * np.eye(len(start))[i] for i in range(len(start))]
    values = [function(p) for p in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex, values = [simplex[i] for i in order], [values[i] for i in order]
        if values[-1] - values[0] < 1e-6:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        value = function(reflected)
        if value < values[0]:
            expanded = centroid + 2 * (centroid - simplex[-1])
            expanded_value = function(expanded)
            simplex[-1], values[-1] = (expanded, expanded_value) if expanded_value < value else (reflected, value)
        elif value < values[-2]:
            simplex[-1], values[-1] = reflected, value
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            contracted_value = function(contracted)
            if contracted_value < values[-1]:
                simplex[-1], values[-1] = contracted, contracted_value
            else:
                simplex = [simplex[0] + 0.5 * (p - simplex[0]) for p in simplex]
                values = [function(p) for p in simplex]
    return simplex[int(np.argmin(values))]


def fit(rows: list[dict]) -> tuple[np.ndarray, dict]:
    x = features(rows)
    fine = np.linspace(0, STRENGTHS[-1], 501)
    best = np.array([fine[np.argmax(np.interp(fine, STRENGTHS, r["psnr"]))] for r in rows])
    least_squares, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(x)), x]), np.log(best + 1.0), rcond=None)
    coefficients = nelder_mead(lambda c: psnr_lost(c, rows, x), least_squares)
    white = [i for i, r in enumerate(rows) if r["case"].startswith("white")]
    camera = [i for i in range(len(rows)) if i not in white]
    identity = np.array([0.0, 1.0] + [0.0] * (x.shape[1] - 1))
    metrics = {
        "psnr_lost_vs_best_per_image_db": round(psnr_lost(coefficients, rows, x), 3),
        "psnr_lost_camera_jpegs_db": round(psnr_lost(coefficients, [rows[i] for i in camera], x[camera]), 3),
        "psnr_lost_white_noise_db": round(psnr_lost(coefficients, [rows[i] for i in white], x[white]), 3),
        "before_full_resolution_only": {
            "psnr_lost_camera_jpegs_db": round(psnr_lost(identity, [rows[i] for i in camera], x[camera]), 3),
            "psnr_lost_white_noise_db": round(psnr_lost(identity, [rows[i] for i in white], x[white]), 3)},
    }
    return coefficients, metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "calibration" / "auto-denoise.json")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=Path, help="keep the PSNR measurements here (JSON); when the file exists, "
                        "reuse them and measure only the noise readings again")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    start = time.time()
    photos = training_photos()
    print(f"{len(photos)} training photos", flush=True)
    known = json.loads(args.rows.read_text()) if args.rows and args.rows.exists() else None
    rows = measure(photos, known)
    if args.rows:
        args.rows.write_text(json.dumps(rows))
    coefficients, metrics = fit(rows)
    card = {
        "name": "auto-denoise",
        "description": "Auto denoise's strength rule: log(strength + 1) = c0 + c1 log(s1 + 1) + c2 log(s2 + 1), "
                       "where s1 and s2 are correlated_readings' full- and half-resolution noise readings in the "
                       "flattest cells; for photolab-denoise-unet.",
        "features": ["sigma_full", "sigma_half_x2"],
        "coefficients": [round(float(c), 5) for c in coefficients],
        "data": {"photos": f"{len(photos)} training photos of the shipped split (training/photos.txt)",
                 "crop": CROP, "images": len(rows),
                 "cameras": [c.name for c in CALIBRATION_CAMERAS],
                 "white_noise": f"two levels per photo, log-uniform in {WHITE_SIGMAS}"},
        "recipe": {"script": "training/calibrate_auto_denoise.py", "strength_grid": list(STRENGTHS),
                   "fit": "least squares on log(best + 1), then Nelder-Mead on the mean PSNR lost",
                   "seed": SEED},
        "metrics": metrics,
        "minutes": round((time.time() - start) / 60, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp")
    temporary.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    temporary.replace(args.out)
    print(json.dumps(metrics), flush=True)
    print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
