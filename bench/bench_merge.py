"""Merge benchmark: PhotoLab's HDR and burst merges against OpenCV / a plain mean, measured in the same run.

    .venv/bin/python bench/bench_merge.py [--megapixels 12] [--frames 8]

1. HDR: 3 brackets (-3, 0, +3 EV, 8-bit, noisy, handheld: shifted a few pixels) of a 12 MP scene made from a
   fixture (enlarged, tiled): ``merge_hdr`` (alignment + deghosting) + the local tone map (goal <= 3 s), against
   OpenCV's CalibrateDebevec + MergeDebevec (no alignment) + TonemapReinhard.
2. Burst: 8 noisy, shifted 12 MP frames: ``merge_burst`` (goal <= 10 s) against a plain (unaligned) mean;
   PSNR of both against the clean scene is printed too.
Timings are wall-clock on whatever cores the machine has (the goals are for 2). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from photolab.core.burst import merge_burst  # noqa: E402
from photolab.core.color import decode_srgb_integer, encode_srgb_integer  # noqa: E402
from photolab.core.hdr import HdrOptions, merge_hdr  # noqa: E402
from photolab.core.photo import Photo, PhotoMetadata  # noqa: E402
from photolab.core.tonemap import tonemap  # noqa: E402
from utils.images import load_fixture, psnr  # noqa: E402


def big_scene(megapixels: float) -> np.ndarray:
    """A linear scene of about ``megapixels`` (4:3): fixtures enlarged 4x, mirrored tiles."""
    width = int(round(np.sqrt(megapixels * 1e6 * 4 / 3)))
    height = int(round(width * 3 / 4))
    tile = cv2.resize(load_fixture("rock_snow_sky"), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    row = np.concatenate([tile, tile[:, ::-1]], axis=1)
    block = np.concatenate([row, row[::-1]], axis=0)
    reps = (height // block.shape[0] + 1, width // block.shape[1] + 1, 1)
    return decode_srgb_integer(np.tile(block, reps)[:height, :width]).astype(np.float32)


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return np.ascontiguousarray(np.roll(image, (dy, dx), axis=(0, 1)))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_hdr(scene: np.ndarray, rng) -> dict:
    radiance = np.power(scene + 2e-3, 1.8) * 40
    times = (1 / 64, 1 / 8, 1.0)
    encoded = []
    for index, t in enumerate(times):
        frame = shifted(radiance, *(rng.integers(-6, 7, 2) if index != 1 else (0, 0))) * t
        frame = frame + rng.standard_normal(frame.shape, dtype=np.float32) * np.sqrt(2e-4 * frame + 4e-7)
        encoded.append(encode_srgb_integer(np.clip(frame, 0, 1)))
        del frame
    photos = [Photo(decode_srgb_integer(e), PhotoMetadata(shutter_seconds=t, bits_per_sample=8))
              for e, t in zip(encoded, times)]

    def ours():
        return tonemap(merge_hdr(photos, options=HdrOptions()), "local")

    def opencv():
        bgr = [np.ascontiguousarray(e[..., ::-1]) for e in encoded]
        t = np.array(times, np.float32)
        response = cv2.createCalibrateDebevec().process(bgr, t)
        merged = cv2.createMergeDebevec().process(bgr, t, response)
        return cv2.createTonemapReinhard().process(merged)

    _, ours_s = timed(ours)
    _, opencv_s = timed(opencv)
    return {"hdr_photolab_s": round(ours_s, 2), "hdr_opencv_debevec_reinhard_s": round(opencv_s, 2)}


def bench_burst(scene: np.ndarray, frames: int, rng) -> dict:
    clean = scene * 0.9
    photos = []
    for index in range(frames):
        dy, dx = (0, 0) if index == 0 else rng.integers(-8, 9, 2)
        frame = shifted(clean, dy, dx)
        frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.sqrt(4e-3 * np.maximum(frame, 0) + 1e-5)
        photos.append(Photo(frame))
    merged, ours_s = timed(merge_burst, photos, reference=0)
    mean, mean_s = timed(lambda: np.mean([p.pixels for p in photos], axis=0))
    inner = (slice(16, -16), slice(16, -16))
    return {"burst_photolab_s": round(ours_s, 2), "burst_plain_mean_s": round(mean_s, 2),
            "burst_psnr_single_db": round(psnr(photos[0].pixels[inner], clean[inner]), 2),
            "burst_psnr_photolab_db": round(psnr(merged.pixels[inner], clean[inner]), 2),
            "burst_psnr_plain_mean_db": round(psnr(mean[inner], clean[inner]), 2)}


def main() -> int:
    """Run both benchmarks and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    scene = big_scene(args.megapixels)
    results = {"megapixels": round(scene.shape[0] * scene.shape[1] / 1e6, 1), "cores": os.cpu_count()}
    results.update(bench_hdr(scene, rng))
    print(f"HDR 3 x {results['megapixels']} MP: PhotoLab {results['hdr_photolab_s']} s (goal <= 3 s), "
          f"OpenCV Debevec + Reinhard {results['hdr_opencv_debevec_reinhard_s']} s", flush=True)
    results.update(bench_burst(scene, args.frames, rng))
    print(f"Burst {args.frames} x {results['megapixels']} MP: PhotoLab {results['burst_photolab_s']} s "
          f"(goal <= 10 s), plain mean {results['burst_plain_mean_s']} s; PSNR single "
          f"{results['burst_psnr_single_db']} dB, PhotoLab {results['burst_psnr_photolab_db']} dB, "
          f"plain mean {results['burst_psnr_plain_mean_db']} dB", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
