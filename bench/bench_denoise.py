"""Denoising benchmark: PhotoLab's learned denoiser against CBM3D and OpenCV's non-local means, in the same run.

    PHOTOLAB_TRAINING_CACHE=/tmp/plcache .venv/bin/python bench/bench_denoise.py [--json results.json]
        [--threads 2] [--skip-cbm3d] [--model NAME|PATH.safetensors] [--quick]

Test images: the held-out *test* photos of training/train_denoiser.py (the groups that are 'test' in
``shipped_split``, read with its ``load_photos(..., 2048)`` from the training photo cache,
``fetch_photos.py train``), area-downscaled to 768 px long side and rounded to 8 bits (``eval_image``).

1. Quality, sigma = 15, 25, 50: white Gaussian noise added to the 8-bit sRGB image, clipped and rounded
   (``gaussian_noisy``, the training script's fixed seeds). PSNR and SSIM per photo and mean of: the noisy
   input; ours with the true sigma; ours with the noise estimated from the image (``estimate_noise`` and its
   noise level function, as a user who does not know sigma gets it: "ours-auto"); CBM3D (``bm3d.bm3d_rgb``,
   default profile, true sigma); OpenCV ``fastNlMeansDenoisingColored`` with the best (h, hColor) of a small
   grid per sigma, chosen on these same images (which favours NLM). Goals: ours >= CBM3D and
   ours >= NLM + 1.5 dB (mean PSNR) at every sigma.
2. Speed, ``--threads`` threads (default 2): ours (true sigma) on a ~2 MP test photo, median of 3 after a
   warm-up, against CBM3D's time on one 768 px image (its sigma = 25 run of part 1), both in s/MP.
   Goals: <= 1/3 of CBM3D and <= 1.5 s/MP.
3. Memory: peak RSS (``ru_maxrss`` of the child, from wait4) of a fresh interpreter that denoises a 24 MP
   (6000 x 4000) image (bench_raw's tiled fixtures + sigma 25 noise), with the true sigma and with the
   estimated noise map, against the size of the image itself. Goal: <= 2 GB.
4. Synthetic high-ISO RAW: each test photo (linear, 768 px) is unprocessed into an RGGB DNG by the tests'
   writer (as bench_raw does) with Poisson-Gaussian noise, variance a*x + b of the raw range (strong:
   a = 0.01, b = 1e-4, about ISO 6400 on a full-frame camera; milder: a = 0.004, b = 2e-5), and read by
   ``read_photo``; the reference is the same DNG written without noise and developed the same way, times the
   least-squares gain between the two developments (LibRaw lowers its white level to the data's maximum when
   that is above 75 % of it, so noise changes a development's brightness by up to a third). "ours-auto" is
   the app's path: Auto (``estimate_params`` with the photo's noise profile, measured on the mosaic when it
   was read) and the Denoise step on the photo, exported to 8-bit sRGB; against NLM on the 8-bit development
   with its best (h, hColor) (grid scaled by the measured noise, chosen on these images). Also reported: the
   measured noise (RMS of development minus reference, 0-255), Auto's sigma, what ``estimate_noise`` reads on
   the developed image, and the profile's (a, b) against the truth. Goal: ours >= NLM + 1.5 dB at every level.

5. Camera JPEGs (``--only-camera`` runs just this; ``--skip-camera`` leaves it out): 384 px centre crops of the
   test photos shot through ``training/camera_noise.py``'s TEST_CAMERAS (noise in the Bayer mosaic with row
   banding, demosaic, colour matrix, sharpening, JPEG; cameras Auto's calibration never saw), against the same
   camera without noise or JPEG. Auto (the app's ``estimate_strength`` and its noise level function), Auto as it
   was (``estimate_noise``'s white-noise reading), ours at the best fixed strength and CBM3D at its best sigma
   (both chosen per camera on these photos, which favours them). Goals: Auto within 0.3 dB of the best fixed
   strength and at least CBM3D's best, on every camera.

Outputs are compared as floats (ours, CBM3D: clipped to [0, 1]; NLM: its 8-bit output). Prints tables and the
goals (PASS/FAIL), then one JSON object (the last line); ``--json PATH`` writes it indented too. ``--quick``
checks the script in a minute: 128 px centre crops, sigma 25 only, a 0.25 MP speed image with one timed
run, a 512 x 384 memory image; its numbers do not measure the goals. CBM3D needs ``pip install bm3d``
(a benchmark-only dependency, not the app's).
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
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "training"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench_raw import make_24mp_source, peak_resident_mb  # noqa: E402
from photolab.core import io  # noqa: E402
from photolab.core.color import encode_srgb_integer  # noqa: E402
from photolab.core.quality import psnr, ssim  # noqa: E402
from photolab.core.noise_estimate import estimate_noise, estimate_strength  # noqa: E402
from photolab.models.denoise import DEFAULT_DENOISER, denoise_array  # noqa: E402
from photolab.models.store.manager import ModelManager  # noqa: E402
from photolab.services import install_models  # noqa: E402
from utils.dng import write_dng  # noqa: E402

import fetch_photos  # noqa: E402
from train_denoiser import EVAL_SIDE, EVAL_SIGMAS, eval_image, gaussian_noisy  # noqa: E402
from train_quality_classifier import load_photos, shipped_split  # noqa: E402

PHOTO_LIST = ROOT / "training" / "photos.txt"
LOAD_SIDE = 2048  # load_photos' max side in train_denoiser (max(SCALES))
SPEED_MEGAPIXELS = 2.0
SPEED_SIGMA = 25
SPEED_REPEAT = 3
MEMORY_SIZE = (6000, 4000)
MEMORY_SIGMA = 25
NLM_H = (0.4, 0.55, 0.7, 0.85, 1.0, 1.2)  # x sigma (Gaussian) or x measured noise (RAW)
NLM_H_COLOR = (0.4, 0.7, 1.0, 1.4)
RAW_NOISE = {"strong": (0.01, 1e-4), "milder": (0.004, 2e-5)}  # shot gain a, read variance b (raw range 0-1)
METHODS = ("noisy", "ours", "ours-auto", "cbm3d", "nlm")
GOAL_MARGIN_DB = 1.5
GOAL_S_PER_MP = 1.5
GOAL_PEAK_MB = 2048.0


# --------------------------------------------------------------------------------------------------- data

def test_photos(cache: Path) -> list:
    """The held-out test photos, as train_denoiser loads them. The split depends only on the set of groups,
    so only the test entries of the list are read (load_photos on a list holding just those lines)."""
    entries = fetch_photos.read_list(PHOTO_LIST)
    assignment = shipped_split([group for _, _, group, _ in entries])
    lines = [" ".join(entry) for entry in entries if assignment[entry[2]] == "test"]
    with tempfile.TemporaryDirectory(prefix="photolab-bench-") as folder:
        listed = Path(folder) / "test-photos.txt"
        listed.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return load_photos(listed, cache, LOAD_SIDE)


def centre_crop(image: np.ndarray, size: int | None) -> np.ndarray:
    """The central ``size`` x ``size`` crop (even offsets, so a Bayer phase is kept), or the image."""
    if size is None:
        return image
    height, width = image.shape[:2]
    y, x = max(0, (height - size) // 2) & ~1, max(0, (width - size) // 2) & ~1
    return np.ascontiguousarray(image[y:y + size, x:x + size])


def linear_at(photo_linear: np.ndarray, side: int) -> np.ndarray:
    """A linear photo area-downscaled to ``side`` px long side (as eval_image does), even sides."""
    scale = side / max(photo_linear.shape[:2])
    if scale < 1:
        photo_linear = cv2.resize(photo_linear, (round(photo_linear.shape[1] * scale),
                                                 round(photo_linear.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    height, width = photo_linear.shape[:2]
    return np.ascontiguousarray(np.clip(photo_linear[:height & ~1, :width & ~1], 0, 1), dtype=np.float32)


# ------------------------------------------------------------------------------------------------ methods

def run_ours(model, noisy: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(denoise_array(model, noisy, sigma / 255), 0, 1)


def run_ours_auto(model, noisy: np.ndarray, measure=estimate_strength) -> tuple[np.ndarray, float]:
    """Ours as Auto runs it: the strength measured on the image and its noise level function as the map
    (``measure=estimate_noise``: the full-resolution white-noise reading Auto used before)."""
    estimate = measure(noisy)
    return np.clip(denoise_array(model, noisy, estimate.map_for(noisy)), 0, 1), estimate.sigma


def run_cbm3d(noisy: np.ndarray, sigma: float, threads: int) -> np.ndarray:
    import bm3d

    profile = bm3d.BM3DProfile()  # the default 'np' profile
    profile.num_threads = threads
    return np.clip(bm3d.bm3d_rgb(noisy.astype(np.float64), sigma / 255, profile=profile), 0, 1).astype(np.float32)


def run_nlm(noisy: np.ndarray, h: float, h_color: float) -> np.ndarray:
    """OpenCV's coloured NLM (default 7 px template, 21 px search) on the 8-bit noisy image."""
    bgr = np.ascontiguousarray(np.round(noisy[:, :, ::-1] * 255).astype(np.uint8))
    out = cv2.fastNlMeansDenoisingColored(bgr, None, float(h), float(h_color), 7, 21)
    return np.ascontiguousarray(out[:, :, ::-1]).astype(np.float32) / 255


def nlm_best(noisy: list[np.ndarray], clean: list[np.ndarray], scale: float) -> dict:
    """The (h, hColor) of the grid (factors x ``scale``) with the best mean PSNR over the images, its outputs,
    and the grid's scores."""
    grid = []
    best = None
    for hf in NLM_H:
        for cf in NLM_H_COLOR:
            h, h_color = round(hf * scale, 2), round(cf * scale, 2)
            outs = [run_nlm(n, h, h_color) for n in noisy]
            mean = float(np.mean([psnr(o, c) for o, c in zip(outs, clean)]))
            grid.append({"h": h, "h_color": h_color, "psnr": round(mean, 3)})
            if best is None or mean > best[0]:
                best = (mean, h, h_color, hf, cf, outs)
    _, h, h_color, hf, cf, outs = best
    edge = hf in (NLM_H[0], NLM_H[-1]) or cf in (NLM_H_COLOR[0], NLM_H_COLOR[-1])
    return {"h": h, "h_color": h_color, "on_grid_edge": edge, "grid": grid, "outputs": outs}


def scores(out: np.ndarray, reference: np.ndarray) -> dict:
    return {"psnr": round(psnr(out, reference), 3), "ssim": round(ssim(out, reference), 4)}


def means(rows: dict, method: str) -> dict:
    values = [row[method] for row in rows.values() if method in row]
    return {"psnr": round(float(np.mean([v["psnr"] for v in values])), 3),
            "ssim": round(float(np.mean([v["ssim"] for v in values])), 4)}


# -------------------------------------------------------------------------------------------- 1. quality

def bench_quality(model, photos, sigmas, crop, threads, skip_cbm3d) -> dict:
    names = [Path(p.path).stem for p in photos]
    cleans = [centre_crop(eval_image(p.pixels), crop) for p in photos]
    result = {"photos": {n: list(c.shape[:2]) for n, c in zip(names, cleans)}, "per_sigma": {}}
    for sigma in sigmas:
        noisy = [gaussian_noisy(c, sigma, seed=1000 * sigma + i) for i, c in enumerate(cleans)]
        rows = {n: {} for n in names}
        cbm3d_times = {}
        for name, clean, image in zip(names, cleans, noisy):
            row = rows[name]
            row["noisy"] = scores(image, clean)
            row["ours"] = scores(run_ours(model, image, sigma), clean)
            out, estimated = run_ours_auto(model, image)
            row["ours-auto"] = scores(out, clean)
            row["estimated_sigma"] = round(estimated, 2)
            if not skip_cbm3d:
                start = time.perf_counter()
                out = run_cbm3d(image, sigma, threads)
                cbm3d_times[name] = time.perf_counter() - start
                row["cbm3d"] = scores(out, clean)
            print(f"  sigma {sigma}: {name} done", file=sys.stderr, flush=True)
        nlm = nlm_best(noisy, cleans, sigma)
        for name, clean, out in zip(names, cleans, nlm.pop("outputs")):
            rows[name]["nlm"] = scores(out, clean)
        entry = {"photos": rows, "mean": {m: means(rows, m) for m in METHODS if m != "cbm3d" or not skip_cbm3d},
                 "nlm_choice": nlm}
        if cbm3d_times:
            entry["cbm3d_seconds"] = {n: round(t, 2) for n, t in cbm3d_times.items()}
        result["per_sigma"][str(sigma)] = entry
    return result


# ---------------------------------------------------------------------------------------------- 2. speed

def median_time(function, repeat: int) -> float:
    function()  # warm-up (oneDNN primitives, allocations)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_speed(model, photos, megapixels: float, repeat: int, quality: dict, skip_cbm3d: bool) -> dict:
    """Ours on a ~``megapixels`` MP test photo; CBM3D from its sigma-25 run in part 1 on the largest image."""
    largest = max(photos, key=lambda p: p.pixels.shape[0] * p.pixels.shape[1])
    height, width = largest.pixels.shape[:2]
    side = max(height, width) * math.sqrt(megapixels * 1e6 / (height * width))
    clean = eval_image(largest.pixels, int(round(side)))
    noisy = gaussian_noisy(clean, SPEED_SIGMA, seed=7)
    mp = noisy.shape[0] * noisy.shape[1] / 1e6
    ours = median_time(lambda: denoise_array(model, noisy, SPEED_SIGMA / 255), repeat)
    auto = median_time(lambda: run_ours_auto(model, noisy), repeat)
    result = {"image": Path(largest.path).stem, "size": list(noisy.shape[:2]), "megapixels": round(mp, 3),
              "repeat": repeat, "ours_s": round(ours, 3), "ours_s_per_mp": round(ours / mp, 3),
              "ours_auto_s_per_mp": round(auto / mp, 3)}
    if not skip_cbm3d:
        sigma = str(SPEED_SIGMA) if str(SPEED_SIGMA) in quality["per_sigma"] else next(iter(quality["per_sigma"]))
        times = quality["per_sigma"][sigma]["cbm3d_seconds"]
        name = max(times, key=lambda n: quality["photos"][n][0] * quality["photos"][n][1])
        cbm3d_mp = quality["photos"][name][0] * quality["photos"][name][1] / 1e6
        result.update({"cbm3d_image": name, "cbm3d_size": quality["photos"][name], "cbm3d_sigma": int(sigma),
                       "cbm3d_s": times[name], "cbm3d_s_per_mp": round(times[name] / cbm3d_mp, 3),
                       "ratio": round(ours / mp / (times[name] / cbm3d_mp), 4)})
    return result


# --------------------------------------------------------------------------------------------- 3. memory

# Linux keeps, across exec, the high-water mark of the memory a process had before it: a child forked (or
# vforked) from this big interpreter would report this interpreter's peak as its own ru_maxrss. So a bare
# interpreter forks the measured child and reports the child's rusage from wait4.
LAUNCHER = """import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable] + sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "ru_maxrss_kb": usage.ru_maxrss}))
"""


def bench_memory(model_name: str, size: tuple[int, int], threads: int) -> dict:
    """Peak RSS of a fresh interpreter denoising a ``size`` image, true sigma and estimated noise map."""
    result = {"size": list(size), "image_float32_mb": round(size[0] * size[1] * 3 * 4 / 2**20, 1),
              "image_uint8_mb": round(size[0] * size[1] * 3 / 2**20, 1)}
    for mode in ("known", "auto"):
        command = [sys.executable, "-c", LAUNCHER, __file__, "--child-memory", mode, f"{size[0]}x{size[1]}",
                   "--threads", str(threads), "--model", model_name]
        lines = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()
        launcher = json.loads(lines[-1])
        if launcher["exit"] != 0:
            raise RuntimeError(f"the memory child ({mode}) failed with status {launcher['exit']}")
        report = json.loads(lines[-2])
        report["ru_maxrss_mb"] = round(launcher["ru_maxrss_kb"] / 1024, 1)  # Linux: KiB
        result[mode] = report
    result["peak_mb"] = max(result[m]["ru_maxrss_mb"] for m in ("known", "auto"))
    return result


def run_memory_child(mode: str, size: str, model_name: str) -> None:
    """In a fresh interpreter: build a noisy image of ``size`` (WxH) and denoise it once."""
    width, height = (int(v) for v in size.split("x"))
    model = ModelManager().load_denoiser(model_name).model
    source = make_24mp_source()
    if (width, height) != (source.shape[1], source.shape[0]):
        reps = (-(-height // source.shape[0]), -(-width // source.shape[1]), 1)
        source = np.ascontiguousarray(np.tile(source, reps)[:height, :width])
    image = source.astype(np.float32)
    del source
    rng = np.random.default_rng(0)
    for y in range(0, height, 256):  # in bands, so the noise needs no second full-size buffer
        band = image[y:y + 256]
        band += rng.standard_normal(band.shape, dtype=np.float32) * np.float32(MEMORY_SIGMA)
        np.clip(np.round(band, out=band), 0, 255, out=band)
        band *= np.float32(1 / 255)
    rss_before = current_resident_mb()
    start = time.perf_counter()
    if mode == "known":
        denoise_array(model, image, MEMORY_SIGMA / 255)
    else:
        estimate = estimate_noise(image)
        denoise_array(model, image, estimate.map_for(image))
    seconds = time.perf_counter() - start
    print(json.dumps({"rss_before_mb": round(rss_before, 1), "vmhwm_mb": round(peak_resident_mb(), 1),
                      "seconds": round(seconds, 2)}))


def current_resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / 1024.0
    return float("nan")


# ------------------------------------------------------------------------------------------------ 4. RAW

def to_8bit(linear: np.ndarray) -> np.ndarray:
    """Linear pixels as the app's output stage writes them (8-bit sRGB), float 0-1."""
    return encode_srgb_integer(linear, np.uint8).astype(np.float32) / 255


def matched_gain(pixels: np.ndarray, reference: np.ndarray) -> float:
    """The least-squares gain k of ``pixels ~ k * reference`` (linear, unclipped pixels only)."""
    usable = (reference < 0.9) & (pixels < 0.9)
    return float(np.sum(pixels[usable] * reference[usable]) / max(np.sum(reference[usable] ** 2), 1e-12))


def bench_raw_noise(model_name: str, photos, crop) -> dict:
    from photolab.core.develop import denoise

    names = [Path(p.path).stem for p in photos]
    result = {"levels": {k: {"shot_gain_a": a, "read_variance_b": b} for k, (a, b) in RAW_NOISE.items()},
              "per_level": {}}
    with tempfile.TemporaryDirectory(prefix="photolab-bench-") as folder:
        folder = Path(folder)
        linears = [centre_crop(linear_at(p.pixels, EVAL_SIDE), crop) for p in photos]
        clean_photos, noise_range = [], None
        for index, linear in enumerate(linears):
            info = write_dng(folder / f"ref{index}.dng", linear, full_well_electrons=0.0, seed=index)
            noise_range = info.white_level - info.black_level
            clean_photos.append(io.read_photo(info.path).pixels)
        result["photos"] = {n: list(r.shape[:2]) for n, r in zip(names, clean_photos)}
        for level, (a, b) in RAW_NOISE.items():
            rows = {n: {} for n in names}
            noisy, references, measured = [], [], []
            for index, (name, linear, clean) in enumerate(zip(names, linears, clean_photos)):
                info = write_dng(folder / f"{level}{index}.dng", linear, full_well_electrons=1.0 / a,
                                 read_noise=math.sqrt(b) * noise_range, seed=100 + index)
                photo = io.read_photo(info.path)
                image = to_8bit(photo.pixels)
                reference = to_8bit(clean * matched_gain(photo.pixels, clean))
                noisy.append(image)
                references.append(reference)
                measured.append(float(np.sqrt(np.mean((image - reference) ** 2)) * 255))
                row = rows[name]
                row["noisy"] = scores(image, reference)
                srgb = denoise.encode(photo.pixels)
                profile = photo.metadata.noise_profile
                params, _ = denoise.estimate_params(srgb, model_name, profile=profile)  # Auto, as the app does it
                out = denoise.OPERATION.apply(photo, params)  # the Denoise step
                row["ours-auto"] = scores(to_8bit(out.pixels), reference)
                row["estimated_sigma"] = round(params.sigma, 2)
                row["measured_sigma"] = round(measured[-1], 2)
                row["image_estimate_sigma"] = round(estimate_noise(np.clip(srgb, 0, 1)).sigma, 2)
                if profile is not None:
                    row["profile"] = {"a": float(f"{profile.raw_shot:.4g}"), "b": float(f"{profile.raw_read:.4g}"),
                                      "gain": round(profile.gain, 4)}
            nlm = nlm_best(noisy, references, float(np.mean(measured)))
            for name, reference, out in zip(names, references, nlm.pop("outputs")):
                rows[name]["nlm"] = scores(out, reference)
            result["per_level"][level] = {"photos": rows, "nlm_choice": nlm,
                                          "mean": {m: means(rows, m) for m in ("noisy", "ours-auto", "nlm")}}
            print(f"  RAW {level} done", file=sys.stderr, flush=True)
    return result


# ------------------------------------------------------------------------------------------------- report

CAMERA_CROP = 384
CAMERA_FIXED = (5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 40.0)  # ours, uniform strength
CAMERA_CBM3D = (10.0, 20.0, 30.0, 45.0)  # CBM3D's sigma


def bench_camera_jpegs(model, photos, threads: int, skip_cbm3d: bool, quick: bool) -> dict:
    """5. Out-of-camera JPEGs of the test photos through training/camera_noise.py's TEST_CAMERAS (never used to
    calibrate Auto): Auto, Auto as it was (white-noise reading), ours at the best fixed strength and CBM3D at
    its best sigma, both chosen per camera on these same photos (which favours them)."""
    from camera_noise import TEST_CAMERAS, shoot

    rng = np.random.default_rng(5)
    side = 96 if quick else CAMERA_CROP
    cameras = TEST_CAMERAS[:1] if quick else TEST_CAMERAS
    out = {}
    for camera in cameras:
        rows = []
        for photo in photos:
            linear = centre_crop(photo.pixels, side)
            noisy8, clean = shoot(linear, camera, rng)
            noisy = noisy8.astype(np.float32) / 255
            auto, strength = run_ours_auto(model, noisy)
            before, before_sigma = run_ours_auto(model, noisy, estimate_noise)
            row = {"photo": Path(photo.path).name, "noisy": psnr(noisy, clean), "ours-auto": psnr(auto, clean),
                   "auto_strength": round(strength, 2), "ours-auto-before": psnr(before, clean),
                   "before_sigma": round(before_sigma, 2),
                   "true_rms": round(float(np.sqrt(np.mean((noisy - clean) ** 2)) * 255), 2),
                   "fixed": {str(s): psnr(run_ours(model, noisy, s), clean) for s in CAMERA_FIXED}}
            if not skip_cbm3d:
                row["cbm3d"] = {str(s): psnr(run_cbm3d(noisy, s, threads), clean) for s in CAMERA_CBM3D}
            rows.append(row)
            print(f"  {camera.name} {row['photo']}: noisy {row['noisy']:.2f}, auto {row['ours-auto']:.2f} "
                  f"(strength {strength:.1f}, before {row['ours-auto-before']:.2f} at {before_sigma:.1f})", flush=True)
        entry = {"photos": len(rows), "rows": rows}
        for method in ("noisy", "ours-auto", "ours-auto-before"):
            entry[method] = round(float(np.mean([r[method] for r in rows])), 2)
        for method, grid in (("fixed", CAMERA_FIXED), ("cbm3d", CAMERA_CBM3D)):
            if method in rows[0]:
                means_ = {str(s): float(np.mean([r[method][str(s)] for r in rows])) for s in grid}
                best = max(means_, key=means_.get)
                entry[f"{method}_best"] = {"sigma": float(best), "psnr": round(means_[best], 2)}
        out[camera.name] = entry
    every = [r for e in out.values() for r in e["rows"]]
    summary = {m: round(float(np.mean([r[m] for r in every])), 2) for m in ("noisy", "ours-auto", "ours-auto-before")}
    summary["fixed_best_over_all"] = max(
        (round(float(np.mean([r["fixed"][str(s)] for r in every])), 2), s) for s in CAMERA_FIXED)
    return {"cameras": out, "all": summary}


def goals(results: dict) -> dict:
    out = {}
    if "quality" in results:
        out.update(_denoising_goals(results))
    if "camera" in results:
        cameras = results["camera"]["cameras"].values()
        out["camera JPEGs: Auto within 0.3 dB of the best fixed strength (every camera)"] = all(
            c["ours-auto"] >= c["fixed_best"]["psnr"] - 0.3 for c in cameras)
        if all("cbm3d_best" in c for c in cameras):
            out["camera JPEGs: Auto >= CBM3D at its best sigma (every camera)"] = all(
                c["ours-auto"] >= c["cbm3d_best"]["psnr"] for c in cameras)
    return out


def _denoising_goals(results: dict) -> dict:
    quality = results["quality"]["per_sigma"]
    out = {}
    if "cbm3d" in next(iter(quality.values()))["mean"]:
        out["ours >= CBM3D (PSNR, every sigma)"] = all(
            q["mean"]["ours"]["psnr"] >= q["mean"]["cbm3d"]["psnr"] for q in quality.values())
    out[f"ours >= NLM(best h) + {GOAL_MARGIN_DB} dB (every sigma)"] = all(
        q["mean"]["ours"]["psnr"] >= q["mean"]["nlm"]["psnr"] + GOAL_MARGIN_DB for q in quality.values())
    speed = results["speed"]
    out[f"time <= {GOAL_S_PER_MP} s/MP"] = speed["ours_s_per_mp"] <= GOAL_S_PER_MP
    if "ratio" in speed:
        out["time <= 1/3 of CBM3D"] = speed["ratio"] <= 1 / 3
    if "memory" in results:
        out[f"24 MP peak <= {GOAL_PEAK_MB:.0f} MB"] = results["memory"]["peak_mb"] <= GOAL_PEAK_MB
    if "raw" in results:
        out[f"RAW: ours-auto >= NLM(best h) + {GOAL_MARGIN_DB} dB (every level)"] = all(
            r["mean"]["ours-auto"]["psnr"] >= r["mean"]["nlm"]["psnr"] + GOAL_MARGIN_DB
            for r in results["raw"]["per_level"].values())
    return out


def print_table(title: str, rows: dict, mean: dict, methods: list[str], extra: str | None = None) -> None:
    print(f"\n{title}  (PSNR dB / SSIM)")
    header = f"{'photo':24}" + "".join(f"{m:>16}" for m in methods) + (f"{extra:>17}" if extra else "")
    print(header)
    for name, row in rows.items():
        line = f"{name[:24]:24}" + "".join(f"{row[m]['psnr']:9.2f}/{row[m]['ssim']:.3f}" for m in methods)
        print(line + (f"{row[extra]:17.1f}" if extra else ""))
    print(f"{'mean':24}" + "".join(f"{mean[m]['psnr']:9.2f}/{mean[m]['ssim']:.3f}" for m in methods))


def report(results: dict) -> None:
    print(f"denoiser {results['model']['name']} ({results['model']['file']}, created "
          f"{results['model']['created']}), {results['threads']} threads, load average before: "
          f"{results['load_average']}" + ("; QUICK MODE: numbers do not measure the goals" if results["quick"] else ""))
    if "camera" in results:
        print("\ncamera JPEGs (training/camera_noise.py TEST_CAMERAS; fixed strength and CBM3D sigma chosen per camera "
              "on these photos)")
        print(f"{'camera':26}{'noisy':>8}{'Auto':>8}{'before':>8}{'fixed':>8}{'(s)':>6}{'CBM3D':>8}{'(s)':>6}")
        for name, c in results["camera"]["cameras"].items():
            cbm = c.get("cbm3d_best", {"psnr": float("nan"), "sigma": float("nan")})
            print(f"{name:26}{c['noisy']:8.2f}{c['ours-auto']:8.2f}{c['ours-auto-before']:8.2f}"
                  f"{c['fixed_best']['psnr']:8.2f}{c['fixed_best']['sigma']:6.1f}{cbm['psnr']:8.2f}{cbm['sigma']:6.1f}")
        a = results["camera"]["all"]
        print(f"all cameras: noisy {a['noisy']}, Auto {a['ours-auto']}, before {a['ours-auto-before']}, one fixed "
              f"strength for all {a['fixed_best_over_all'][0]} (at {a['fixed_best_over_all'][1]})")
    if "quality" not in results:
        _print_goals(results)
        return
    quality = results["quality"]
    for sigma, entry in quality["per_sigma"].items():
        methods = [m for m in METHODS if m in entry["mean"]]
        print_table(f"Gaussian sigma {sigma}, {len(entry['photos'])} test photos "
                    f"(<= {results['side']} px; NLM h={entry['nlm_choice']['h']}, "
                    f"hColor={entry['nlm_choice']['h_color']}"
                    + (", ON THE GRID EDGE" if entry["nlm_choice"]["on_grid_edge"] else "") + ")",
                    entry["photos"], entry["mean"], methods, extra="estimated_sigma")
    s = results["speed"]
    print(f"\nspeed: ours {s['ours_s_per_mp']:.3f} s/MP ({s['ours_s']:.3f} s on {s['size'][1]}x{s['size'][0]}, "
          f"median of {s['repeat']}); ours-auto {s['ours_auto_s_per_mp']:.3f} s/MP", end="")
    if "ratio" in s:
        print(f"; CBM3D {s['cbm3d_s_per_mp']:.2f} s/MP ({s['cbm3d_s']:.1f} s on {s['cbm3d_image']} "
              f"{s['cbm3d_size'][1]}x{s['cbm3d_size'][0]}, sigma {s['cbm3d_sigma']}); ratio {s['ratio']:.3f}")
    else:
        print()
    if "memory" in results:
        m = results["memory"]
        for mode in ("known", "auto"):
            r = m[mode]
            print(f"memory ({mode} sigma), {m['size'][0]}x{m['size'][1]}: peak {r['ru_maxrss_mb']:.0f} MB "
                  f"(VmHWM {r['vmhwm_mb']:.0f}; {r['rss_before_mb']:.0f} MB before denoising; {r['seconds']:.1f} s); "
                  f"the image: {m['image_float32_mb']:.0f} MB float32, {m['image_uint8_mb']:.0f} MB 8-bit")
    if "raw" in results:
        for level, entry in results["raw"]["per_level"].items():
            a, b = RAW_NOISE[level]
            print_table(f"RAW {level} noise (a={a}, b={b}), developed by read_photo (NLM h={entry['nlm_choice']['h']}, "
                        f"hColor={entry['nlm_choice']['h_color']}"
                        + (", ON THE GRID EDGE" if entry["nlm_choice"]["on_grid_edge"] else "") + ")",
                        entry["photos"], entry["mean"], ["noisy", "ours-auto", "nlm"], extra="measured_sigma")
            print(f"{'noise':24}{'measured':>10}{'auto':>8}{'image':>8}{'a/true':>9}{'b/true':>9}")
            for name, row in entry["photos"].items():
                profile = row.get("profile")
                ratios = (f"{profile['a'] / a:9.2f}{profile['b'] / b:9.2f}" if profile else f"{'-':>9}{'-':>9}")
                print(f"{name[:24]:24}{row['measured_sigma']:10.1f}{row['estimated_sigma']:8.1f}"
                      f"{row['image_estimate_sigma']:8.1f}" + ratios)
    _print_goals(results)


def _print_goals(results: dict) -> None:
    print("\ngoals" + (" (quick mode: not a measurement)" if results["quick"] else ""))
    for goal, met in results["goals"].items():
        print(f"  {'PASS' if met else 'FAIL'}  {goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here (indented)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-cbm3d", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--skip-camera", action="store_true")
    parser.add_argument("--only-camera", action="store_true", help="only section 5, the camera JPEGs")
    parser.add_argument("--quick", action="store_true", help="tiny crops, sigma 25 only: checks the script runs")
    parser.add_argument("--model", default=DEFAULT_DENOISER, help="denoiser name or .safetensors path")
    parser.add_argument("--cache", type=Path, help="training photo cache (default: fetch_photos' train cache)")
    parser.add_argument("--child-memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    if args.child_memory:
        run_memory_child(*args.child_memory, args.model)
        return 0

    manager = ModelManager()
    install_models(manager)  # the Denoise step (the app's path) loads through the same manager
    denoiser = manager.load_denoiser(args.model)
    cache = args.cache or fetch_photos.default_cache("train")
    photos = test_photos(cache)
    if not photos:
        raise SystemExit(f"no test photos found in {cache}")
    crop = 128 if args.quick else None
    sigmas = (25,) if args.quick else EVAL_SIGMAS
    results: dict = {
        "quick": args.quick, "threads": args.threads, "side": EVAL_SIDE, "cache": str(cache),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "cpu_count": os.cpu_count(),
        "model": {"name": denoiser.name, "file": str(denoiser.path), "created": denoiser.card.get("created"),
                  "sha256": denoiser.card.get("weights", {}).get("sha256")},
        "test_photos": [p.path for p in photos],
    }
    if not args.skip_camera:
        results["camera"] = bench_camera_jpegs(denoiser.model, photos, args.threads, args.skip_cbm3d, args.quick)
    if not args.only_camera:
        results["quality"] = bench_quality(denoiser.model, photos, sigmas, crop, args.threads, args.skip_cbm3d)
        results["speed"] = bench_speed(denoiser.model, photos, 0.25 if args.quick else SPEED_MEGAPIXELS,
                                       1 if args.quick else SPEED_REPEAT, results["quality"], args.skip_cbm3d)
        if not args.skip_memory:
            results["memory"] = bench_memory(args.model, (512, 384) if args.quick else MEMORY_SIZE, args.threads)
        if not args.skip_raw:
            results["raw"] = bench_raw_noise(args.model, photos, crop)
    results["goals"] = goals(results)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
