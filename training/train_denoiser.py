"""Train PhotoLab's built-in denoiser (photolab-denoise-unet) from natural photographs, on the CPU or a GPU.

Clean targets are the permitted training photographs (training/photos.txt), area-downscaled (which also
averages away their own sensor noise) to three scales. Each sample is a random crop (``--patch``), flipped/
rotated, sometimes re-exposed in linear light and sometimes desaturated, with one of four noise models drawn
on the fly:

- ``gaussian``: white Gaussian noise of sigma 0-60 (0-255 scale) added to the sRGB image, clipped and (mostly)
  rounded to 8 bits: the benchmark case, and what the strength slider means;
- ``poisson-gaussian``: shot + read noise (variance ``a*x + b``) added in *linear* light before the sRGB
  curve, as a camera makes it (Brooks et al. 2019, "Unprocessing images for learned raw denoising");
- ``bayer``: a RAW development run backwards and forwards (Brooks et al.'s unprocessing): the linear image goes
  to a random camera's RGB (a convex mix of real cameras' colour matrices), is divided by random white-balance
  gains and sampled as an RGGB mosaic; the noise is added there, then the mosaic is demosaiced (bilinear or
  edge-aware), white-balanced, mostly (as PhotoLab's RAW development does) cleaned of false colour by a 3x3
  median of R-G and B-G, turned back to sRGB by the inverse matrix, clipped and encoded. The gains
  amplify red and blue noise about 2x and the matrix mixes it into chroma noise: the noise of a developed RAW;
- ``camera-jpeg``: an out-of-camera JPEG (``camera_noise.shoot``: mosaic noise with row banding, demosaic, colour
  matrix, in-camera sharpening, JPEG) from a random camera whose settings lie within the span of the calibration
  cameras (never the benchmarks' TEST_CAMERAS): spatially correlated, signal-dependent noise, partly flattened
  by the JPEG. The target is the same camera's development without noise.

The network also gets the noise-level map (FFDNet): uniform sigma for ``gaussian``, the Poisson-Gaussian
level propagated through the sRGB curve (computed from a blurred noisy image, as at inference) for the RAW
models, and the noise's own local RMS for ``camera-jpeg`` (Auto's calibration, training/calibrate_auto_denoise.py,
then maps what the app can measure to the strength that works best).
The loss is the mean over the batch of log(MSE + 1e-5), i.e. a PSNR loss that weighs every noise level alike.

Split: the photo groups of the quality classifier's seeded split (20 % test, 15 % validation): test photos are
never trained on nor used to choose anything; validation picks the best checkpoint. The schedule follows a
wall-time budget (warm-up + cosine).

    nice -n 10 python training/train_denoiser.py --time-limit-min 90 --log /tmp/denoise.log
    # on a GPU machine (the shipped runs 6 and 7; the photo cache copied along, PHOTOLAB_TRAINING_CACHE=...):
    python training/train_denoiser.py --device cuda --workers 14 --batch-size 32 --patch 192 --lr 3e-4 \
        --warmup-steps 300 --time-limit-min 6.5 --init resources/models/denoise/photolab-denoise-unet.safetensors

The starting weights are evaluated first and kept when no later checkpoint beats them on validation.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import fetch_photos  # noqa: E402
from camera_noise import CALIBRATION_CAMERAS, Camera as OutOfCameraJpeg, mosaic, shoot  # noqa: E402
from run_support import start_run  # noqa: E402
from train_quality_classifier import load_photos, shipped_split  # noqa: E402

from photolab.core.atomic import atomic_path, write_bytes_atomic  # noqa: E402
from photolab.core.color import LUMA_WEIGHTS, SRGB_TO_XYZ, srgb_decode, srgb_encode  # noqa: E402
from photolab.core.quality import psnr, ssim  # noqa: E402
from photolab.core.raw import false_colour_suppressed  # noqa: E402
from photolab.core.noise_map import poisson_gaussian_map  # noqa: E402
from photolab.models.archs.denoise_unet import DenoiseUNet  # noqa: E402
from photolab.models.denoise import denoise_array  # noqa: E402
from photolab.models.store.card import sha256_file  # noqa: E402

log = logging.getLogger("train_denoiser")

NAME = "photolab-denoise-unet"
NOISE_MODELS = ("gaussian", "poisson-gaussian", "bayer", "camera-jpeg")
NOISE_PROBABILITIES = (0.35, 0.1, 0.25, 0.3)
GAUSSIAN_SIGMA = (0.0, 60.0)  # 0-255 scale
SHOT_GAIN = (2e-4, 3e-2)  # linear variance per unit of signal
READ_VARIANCE = (1e-6, 3e-4)  # linear
# Adobe DNG ColorMatrix1 (XYZ D65 -> camera RGB) x 10000 of a few Bayer cameras, from dcraw's adobe_coeff table.
CAMERA_MATRICES = (
    (4716, 603, -830, -7798, 15474, 2480, -1496, 1937, 6651),  # Canon EOS 5D Mark II
    (6722, -635, -963, -4287, 12460, 2028, -908, 2162, 5668),  # Canon EOS 5D Mark III
    (8139, -2171, -663, -8747, 16541, 2295, -1925, 2008, 8093),  # Nikon D700
    (7866, -2108, -555, -4869, 12483, 2681, -1176, 2069, 7501),  # Nikon D800
    (5271, -712, -347, -6153, 13653, 2763, -1601, 2366, 7242),  # Sony ILCE-7
    (8380, -2630, -639, -2887, 10725, 2496, -627, 1427, 5438),  # Olympus E-M5
)
RED_GAIN = (1.7, 2.9)  # white-balance multipliers (green = 1) of daylight to tungsten-ish light
BLUE_GAIN = (1.1, 2.2)
DESATURATE_PROBABILITY = 0.25  # black-and-white photos and low-chroma scenes: half fully grey, half partly
MEDIAN_PROBABILITY = 0.7  # the app's default development (PPG) ends with the colour-difference median
SCALES = (2048, 1280, 768)  # long side of the three copies of each photo
EVAL_SIGMAS = (15, 25, 50)
EVAL_SIDE = 768
EVAL_RAW_LEVELS = {"strong": (0.01, 1e-4), "milder": (0.004, 2e-5)}  # mosaic shot gain, read variance
NOISE_MAP_BLUR = 8.0  # px: the window (Gaussian sigma) of the local noise level given with camera-JPEG samples


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def build_pyramid(photos) -> list[np.ndarray]:
    """Each photo (linear) as sRGB float32 at every scale of :data:`SCALES` not above its own size."""
    images = []
    for photo in photos:
        pixels = photo.pixels
        for side in SCALES:
            scale = side / max(pixels.shape[:2])
            if scale > 1 and side != SCALES[0]:
                continue
            resized = pixels if scale >= 1 else cv2.resize(
                pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)), interpolation=cv2.INTER_AREA)
            images.append(np.clip(srgb_encode(np.clip(resized, 0, 1)), 0, 1).astype(np.float32))
    return images


def quantize(srgb: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round to 8-bit levels."""
    return np.round(np.clip(srgb, 0, 1) * 255) / 255


def blurred(srgb: np.ndarray) -> np.ndarray:
    """The noise-free stand-in used to compute a signal-dependent noise map (as at inference)."""
    return cv2.GaussianBlur(srgb, (0, 0), 1.5)


def demosaic(raw: np.ndarray, edge_aware: bool = False) -> np.ndarray:
    """Bilinear (or OpenCV's edge-aware) demosaic of an RGGB mosaic in [0, 1] (16-bit), linear RGB float32."""
    codes = np.round(np.clip(raw, 0, 1) * 65535).astype(np.uint16)
    code = cv2.COLOR_BayerBG2RGB_EA if edge_aware else cv2.COLOR_BayerBG2RGB  # OpenCV names the pattern from pixel (1, 1)
    return cv2.cvtColor(codes, code).astype(np.float32) / 65535


@dataclass(frozen=True)
class Camera:
    """A random camera's colour pipeline: ``srgb_to_camera`` (rows sum to 1: white stays white once
    white-balanced) and white-balance ``gains`` (R, G = 1, B)."""

    srgb_to_camera: np.ndarray
    gains: np.ndarray

    @staticmethod
    def random(rng: np.random.Generator) -> "Camera":
        """A convex mix of :data:`CAMERA_MATRICES` and gains drawn from :data:`RED_GAIN` / :data:`BLUE_GAIN`."""
        weights = rng.dirichlet(np.ones(len(CAMERA_MATRICES)))
        xyz_to_camera = np.tensordot(weights, np.array(CAMERA_MATRICES, np.float64), axes=1).reshape(3, 3) / 1e4
        matrix = xyz_to_camera @ SRGB_TO_XYZ
        matrix /= matrix.sum(axis=1, keepdims=True)
        gains = np.array([rng.uniform(*RED_GAIN), 1.0, rng.uniform(*BLUE_GAIN)])
        return Camera(matrix.astype(np.float32), gains.astype(np.float32))

    def unprocess(self, linear: np.ndarray) -> np.ndarray:
        """Linear sRGB (H, W, 3) -> the RGGB mosaic this camera would record under the shot's light."""
        return mosaic(np.clip(linear @ self.srgb_to_camera.T / self.gains, 0, 1))

    def develop(self, raw: np.ndarray, edge_aware: bool, false_colour_median: bool = False) -> np.ndarray:
        """A mosaic back to linear sRGB: demosaic, white balance, (optionally) the 3x3 median of the colour
        differences R-G and B-G that PhotoLab's RAW development applies (the app's own function), inverse matrix,
        clipped to [0, 1]."""
        camera_rgb = demosaic(raw, edge_aware) * self.gains
        if false_colour_median:
            camera_rgb = false_colour_suppressed(camera_rgb)
        return np.clip(camera_rgb @ np.linalg.inv(self.srgb_to_camera).T.astype(np.float32), 0, 1)

    def map_units(self, shot: float, read: float) -> tuple[float, float]:
        """The mosaic's noise (variance ``shot * x + read``) in the developed image's units, as
        ``photolab.core.noise_profile.photo_units`` converts a RAW photo's measured noise (signal gain 1)."""
        return shot * float(np.mean(self.gains)), read * float(np.mean(self.gains ** 2))


def make_sample(clean: np.ndarray, rng: np.random.Generator, noise_model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(noisy, target, noise map) for one clean sRGB patch under ``noise_model``."""
    if noise_model == "gaussian":
        sigma = 0.0 if rng.random() < 0.05 else rng.uniform(*GAUSSIAN_SIGMA)
        noisy = clean + rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(sigma / 255)
        noisy = quantize(noisy) if rng.random() < 0.8 else np.clip(noisy, 0, 1)
        return noisy.astype(np.float32), clean, np.full(clean.shape[:2], sigma / 255, np.float32)
    if noise_model == "camera-jpeg":
        return jpeg_sample(clean, random_jpeg_camera(rng), rng)
    gain, read = _log_uniform(rng, *SHOT_GAIN), _log_uniform(rng, *READ_VARIANCE)
    linear = srgb_decode(clean).astype(np.float32)
    if noise_model == "poisson-gaussian":
        noisy_linear = linear + np.sqrt(gain * linear + read) * rng.standard_normal(linear.shape, dtype=np.float32)
        noisy = quantize(srgb_encode(np.clip(noisy_linear, 0, 1))).astype(np.float32)
        return noisy, clean, poisson_gaussian_map(blurred(noisy), gain, read)
    noisy, target, camera = raw_sample(linear, gain, read, rng)
    return noisy, target, poisson_gaussian_map(blurred(noisy), *camera.map_units(gain, read))


def raw_sample(linear: np.ndarray, shot: float, read: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Camera]:
    """(noisy 8-bit sRGB, clean sRGB target, random camera) of a linear patch through an unprocessed RAW with
    mosaic noise of variance ``shot * x + read`` (clipped at black and white, as LibRaw does)."""
    camera = Camera.random(rng)
    linear = linear[:linear.shape[0] // 2 * 2, :linear.shape[1] // 2 * 2]  # whole 2 x 2 CFA cells
    edge_aware, median = bool(rng.random() < 0.5), bool(rng.random() < MEDIAN_PROBABILITY)
    raw = camera.unprocess(linear)
    noisy_raw = raw + np.sqrt(shot * raw + read) * rng.standard_normal(raw.shape, dtype=np.float32)
    target = srgb_encode(camera.develop(raw, edge_aware, median)).astype(np.float32)
    noisy = quantize(srgb_encode(camera.develop(noisy_raw, edge_aware, median))).astype(np.float32)
    return noisy, target, camera


def random_jpeg_camera(rng: np.random.Generator) -> OutOfCameraJpeg:
    """A random out-of-camera JPEG pipeline (``camera_noise``): every setting drawn within the span of the
    calibration cameras (``CALIBRATION_CAMERAS``; the benchmarks' TEST_CAMERAS are never looked at), the noise
    levels log-uniformly, the demosaic among the three, the white balance as for :class:`Camera`."""
    def span(field: str) -> tuple[float, float]:
        values = [getattr(camera, field) for camera in CALIBRATION_CAMERAS]
        return min(values), max(values)

    return OutOfCameraJpeg(
        "random", _log_uniform(rng, *span("shot")), _log_uniform(rng, *span("read")),
        rng.uniform(*span("banding")) if rng.random() < 0.6 else 0.0,
        str(rng.choice(["bilinear", "ea", "vng"])), rng.uniform(*span("saturation")),
        rng.uniform(*span("sharpen_amount")), rng.uniform(*span("sharpen_radius")),
        int(rng.integers(span("jpeg_quality")[0], span("jpeg_quality")[1] + 1)),
        (rng.uniform(*RED_GAIN), rng.uniform(*BLUE_GAIN)), rng.uniform(*span("exposure")))


def local_noise_level(noisy: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """The noise's own local level (H, W): the RMS of noisy - clean over the channels and a Gaussian window of
    :data:`NOISE_MAP_BLUR` px; what an ideal estimator would report for correlated, signal-dependent noise."""
    power = np.mean(np.square(noisy - clean), axis=2)
    return np.sqrt(cv2.GaussianBlur(power, (0, 0), NOISE_MAP_BLUR)).astype(np.float32)


def jpeg_sample(clean: np.ndarray, camera: OutOfCameraJpeg,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(noisy, target, noise map) of a clean sRGB patch shot by an out-of-camera JPEG pipeline: the target is
    the same camera's development without the noise (sharpened, not compressed)."""
    jpeg, target = shoot(srgb_decode(clean), camera, rng)
    noisy = jpeg.astype(np.float32) / 255
    target = target.astype(np.float32)
    return noisy, target, local_noise_level(noisy, target)


def random_patch(images: list[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of a random image, randomly flipped, rotated, (half the time) re-exposed and (sometimes)
    desaturated: on a grey photo the three channels' independent noise can be averaged away, which the
    network only learns if it sees grey photos (a B&W scan, a monochrome conversion)."""
    image = images[rng.integers(len(images))]
    y = rng.integers(0, image.shape[0] - size + 1)
    x = rng.integers(0, image.shape[1] - size + 1)
    patch = image[y:y + size, x:x + size]
    patch = np.rot90(patch, rng.integers(4))
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if rng.random() < 0.5:
        gain = 2.0 ** rng.uniform(-1.5, 0.7)
        patch = srgb_encode(np.clip(srgb_decode(patch) * gain, 0, 1))
    if rng.random() < DESATURATE_PROBABILITY:
        grey = patch @ LUMA_WEIGHTS  # the Rec. 709 weights, here on sRGB-encoded values (luma)
        saturation = 0.0 if rng.random() < 0.5 else rng.uniform()
        patch = grey[..., None] + np.float32(saturation) * (patch - grey[..., None])
    return np.ascontiguousarray(patch, dtype=np.float32)


def make_batch(images, size: int, batch: int, rng: np.random.Generator):
    """A training batch: noisy (N, 3, S, S), noise maps (N, 1, S, S), targets (N, 3, S, S)."""
    noisy, maps, targets = [], [], []
    for _ in range(batch):
        model = NOISE_MODELS[rng.choice(len(NOISE_MODELS), p=NOISE_PROBABILITIES)]
        sample = make_sample(random_patch(images, size, rng), rng, model)
        noisy.append(sample[0].transpose(2, 0, 1))
        targets.append(sample[1].transpose(2, 0, 1))
        maps.append(sample[2][None])
    as_tensor = lambda arrays: torch.from_numpy(np.ascontiguousarray(np.stack(arrays)))  # noqa: E731
    return as_tensor(noisy), as_tensor(maps), as_tensor(targets)


class BatchStream(torch.utils.data.IterableDataset):
    """Endless training batches (:func:`make_batch`) made in DataLoader worker processes, each with its own
    seeded generator, so that a GPU is fed by every CPU core."""

    def __init__(self, images: list[np.ndarray], patch: int, batch: int, seed: int):
        super().__init__()
        self.images, self.patch, self.batch, self.seed = images, patch, batch, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info else 0
        cv2.setNumThreads(1)
        torch.set_num_threads(1)
        rng = np.random.default_rng([self.seed, worker])
        while True:
            yield make_batch(self.images, self.patch, self.batch, rng)


def batches(images: list[np.ndarray], args: argparse.Namespace, rng: np.random.Generator):
    """Training batches: made in this process (``--workers 0``, the CPU recipe) or by ``--workers`` processes."""
    if args.workers == 0:
        while True:
            yield make_batch(images, args.patch, args.batch_size, rng)
    loader = torch.utils.data.DataLoader(BatchStream(images, args.patch, args.batch_size, args.seed), batch_size=None,
                                         num_workers=args.workers, prefetch_factor=4, persistent_workers=True,
                                         pin_memory=args.device.startswith("cuda"))
    yield from loader


def eval_image(photo_linear: np.ndarray, side: int = EVAL_SIDE) -> np.ndarray:
    """A held-out photo as the benchmark sees it: area-downscaled to ``side`` px, sRGB, 8-bit levels."""
    scale = side / max(photo_linear.shape[:2])
    if scale < 1:
        photo_linear = cv2.resize(photo_linear, (round(photo_linear.shape[1] * scale),
                                                 round(photo_linear.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return quantize(srgb_encode(np.clip(photo_linear, 0, 1))).astype(np.float32)


def gaussian_noisy(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The benchmark's noisy input: clean + N(0, sigma/255), clipped and rounded to 8 bits."""
    rng = np.random.default_rng(seed)
    return quantize(clean + rng.standard_normal(clean.shape).astype(np.float32) * np.float32(sigma / 255)).astype(np.float32)


def evaluate(model: DenoiseUNet, images: list[np.ndarray], sigmas=EVAL_SIGMAS, with_ssim: bool = False,
             raw_levels: dict = EVAL_RAW_LEVELS) -> dict:
    """Mean PSNR (and SSIM) per Gaussian sigma, per RAW noise level and for out-of-camera JPEGs over ``images``
    (fixed noise seeds and cameras). RAW levels use the unprocessing of :func:`raw_sample` and the map of the
    RAW noise profile; ``camera-jpeg`` shoots photo i with ``CALIBRATION_CAMERAS[i % 7]`` and gives the
    noise's own local level (:func:`local_noise_level`) as the map."""
    model.eval()
    cases = ([(str(sigma), sigma) for sigma in sigmas] + [(f"raw-{name}", level) for name, level in raw_levels.items()]
             + [("camera-jpeg", "camera-jpeg")])
    report = {}
    for key, level in cases:
        psnrs, ssims = [], []
        for index, clean in enumerate(images):
            if level == "camera-jpeg":
                noisy, clean, level_map = jpeg_sample(clean, CALIBRATION_CAMERAS[index % len(CALIBRATION_CAMERAS)],
                                                      np.random.default_rng(9000 + index))
            elif isinstance(level, tuple):
                rng = np.random.default_rng(7000 + index)
                shot, read = level
                noisy, clean, camera = raw_sample(srgb_decode(clean), shot, read, rng)
                level_map = poisson_gaussian_map(blurred(noisy), *camera.map_units(shot, read))
            else:
                noisy, level_map = gaussian_noisy(clean, level, seed=1000 * level + index), level / 255
            out = np.clip(denoise_array(model, noisy, level_map), 0, 1)
            psnrs.append(psnr(out, clean))
            if with_ssim:
                ssims.append(ssim(out, clean))
        report[key] = {"psnr": float(np.mean(psnrs)), "psnr_per_photo": [round(p, 3) for p in psnrs]}
        if with_ssim:
            report[key]["ssim"] = float(np.mean(ssims))
    return report


def lr_at(fraction: float, step: int, lr: float, warmup: int, min_ratio: float = 0.01) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay over the time budget."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, fraction))))


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (defaults: the recipe of the shipped model)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="training photo cache (fetch_photos.py train)")
    parser.add_argument("--out", type=Path, default=HERE.parent / "resources" / "models" / "denoise")
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--checkpoint", type=Path, default=Path("/tmp/photolab-denoise-checkpoint.pt"))
    parser.add_argument("--widths", type=int, nargs=3, default=(48, 96, 192))
    parser.add_argument("--bottleneck", type=int, default=4)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--time-limit-min", type=float, default=90.0)
    parser.add_argument("--eval-every-min", type=float, default=6.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes making batches (0: the training process itself, the CPU recipe)")
    parser.add_argument("--earlier-runs", default="", help="describe the runs --init continues, for the card")
    parser.add_argument("--init", type=Path, default=None, help="start from these weights (a checkpoint .pt or a .safetensors)")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false",
                        help="train in float32 (default: bfloat16 autocast, about 2x faster on AVX-512 CPUs)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Train, pick the best validation checkpoint, evaluate on held-out photos, write weights + card."""
    args = parse_args(argv)
    start_run(args.log, args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cache = args.cache or fetch_photos.default_cache("train")
    photos = load_photos(HERE / "photos.txt", cache, max(SCALES))
    assignment = shipped_split([p.group for p in photos])
    parts = {k: [p for p in photos if assignment[p.group] == k] for k in ("train", "val", "test")}
    for key, members in parts.items():
        log.info("%s: %d photos, groups %s", key, len(members), sorted({p.group for p in members}))
    images = build_pyramid(parts["train"])
    val_images = [eval_image(p.pixels)[:256, :256] for p in parts["val"]]
    log.info("%d training images (%.0f Mpx)", len(images), sum(i.shape[0] * i.shape[1] for i in images) / 1e6)

    model = DenoiseUNet(tuple(args.widths), args.bottleneck)
    if args.init:  # continue from an earlier run's weights (a fresh optimiser and schedule: a warm restart)
        if args.init.suffix == ".safetensors":  # e.g. the shipped weights
            from safetensors.torch import load_file
            model.load_state_dict(load_file(str(args.init)))
        else:
            model.load_state_dict(torch.load(args.init, weights_only=True)["model"])
        log.info("initialised from %s", args.init)
    model.to(args.device)
    stream = batches(images, args, rng)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    budget = args.time_limit_min * 60
    started = time.monotonic()
    last_eval, step, best, losses = -math.inf, 0, -1.0, []  # the starting weights are evaluated (and kept if best)
    history = []
    while True:
        elapsed = time.monotonic() - started
        final = elapsed >= budget
        if final or time.monotonic() - last_eval >= args.eval_every_min * 60:
            last_eval = time.monotonic()
            scores = evaluate(model, val_images)
            mean = float(np.mean([s["psnr"] for s in scores.values()]))
            history.append({"step": step, "minutes": round(elapsed / 60, 1), "train_loss": float(np.mean(losses or [0])),
                            "val_psnr": {k: round(v["psnr"], 3) for k, v in scores.items()}})
            log.info("step %d, %.1f min: loss %.4f | val PSNR %s (mean %.3f)", step, elapsed / 60,
                     history[-1]["train_loss"], history[-1]["val_psnr"], mean)
            losses = []
            if mean > best:
                best = mean
                torch.save({"step": step, "model": model.state_dict(), "val_psnr": mean}, args.checkpoint)
            model.train()
        if final:
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(elapsed / budget, step, args.lr, args.warmup_steps)
        noisy, maps, target = (t.to(args.device, non_blocking=True) for t in next(stream))
        with torch.autocast(torch.device(args.device).type, dtype=torch.bfloat16, enabled=args.bf16):
            out = model(noisy, maps)
        loss = torch.log((out.float() - target).pow(2).mean(dim=(1, 2, 3)) + 1e-5).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        step += 1

    checkpoint = torch.load(args.checkpoint, weights_only=True, map_location=args.device)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    log.info("best checkpoint: step %d (val mean PSNR %.3f)", checkpoint["step"], checkpoint["val_psnr"])
    test_images = [eval_image(p.pixels) for p in parts["test"]]
    held_out = evaluate(model, test_images, with_ssim=True)
    log.info("held-out: %s", json.dumps(held_out))

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / f"{NAME}.safetensors"
    with atomic_path(weights) as temporary:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(temporary))
    card = {
        "format_version": 1,
        "name": NAME,
        "task": "denoise",
        "architecture": {**model.config(), "parameters": sum(p.numel() for p in model.parameters()),
                         "why": "plain 3x3 conv + ReLU U-Net at half resolution (pixel unshuffle), three levels: "
                                "the cheapest layers on a CPU (oneDNN), a ~200 px receptive field from two "
                                "downsamplings, a noise-level map input (FFDNet) so one model covers every "
                                "strength and signal-dependent noise; predicts the residual"},
        "input": {"color": "sRGB-encoded RGB in [0, 1]", "noise_map": "per-pixel noise std, sigma/255"},
        "license": "GPL-3.0-or-later",
        "source": {"kind": "builtin", "by": "trained by PhotoLab", "script": "training/train_denoiser.py"},
        "training": {
            "data": {"photo_list": "training/photos.txt", "scales_long_side": list(SCALES),
                     "train_groups": sorted({p.group for p in parts["train"]}),
                     "val_groups": sorted({p.group for p in parts["val"]}),
                     "test_groups": sorted({p.group for p in parts["test"]}),
                     "augmentations": f"random {args.patch} px crops, flips, 90-degree rotations, exposure "
                                      "-1.5..+0.7 EV in linear light (p=0.5), desaturation "
                                      f"(p={DESATURATE_PROBABILITY}: half to grey, half by a uniform factor)"},
            "noise_model": {"models": dict(zip(NOISE_MODELS, NOISE_PROBABILITIES)),
                            "gaussian_sigma_0_255": list(GAUSSIAN_SIGMA), "shot_gain": list(SHOT_GAIN),
                            "read_variance": list(READ_VARIANCE),
                            "camera_matrices": "convex mixes of 6 cameras' Adobe ColorMatrix1 (dcraw)",
                            "white_balance_gains": {"red": list(RED_GAIN), "blue": list(BLUE_GAIN)},
                            "notes": "gaussian: sRGB domain, clipped, 8-bit rounded (p=0.8); poisson-gaussian: "
                                     "linear light before the sRGB curve; bayer: unprocessed to a random camera's "
                                     "RGGB mosaic (inverse matrix, inverse white balance), noise there, then "
                                     "demosaiced (bilinear or edge-aware), white-balanced, colour-difference median "
                                     f"(p={MEDIAN_PROBABILITY}, as the app's RAW development), matrix, clipped, 8-bit; "
                                     "camera-jpeg: an out-of-camera JPEG (training/camera_noise.py: mosaic noise with "
                                     "row banding, demosaic, colour matrix, sharpening, JPEG) of a random camera whose "
                                     "settings lie within the span of CALIBRATION_CAMERAS, the target its noise-free "
                                     f"development, the map the noise's local RMS ({NOISE_MAP_BLUR} px window)"},
            "recipe": {"optimizer": "Adam", "lr": args.lr, "schedule": "linear warm-up + cosine over the time budget",
                       "loss": "mean log(MSE + 1e-5) (PSNR loss)", "batch_size": args.batch_size, "patch": args.patch,
                       "steps": step, "best_step": checkpoint["step"],
                       "initialised_from": args.init.name if args.init else None,
                       "earlier_runs": args.earlier_runs, "time_limit_min": args.time_limit_min,
                       "threads": args.threads, "seed": args.seed, "grad_clip": 1.0, "device": args.device,
                       "batch_workers": args.workers,
                       "precision": "bfloat16 autocast (weights float32)" if args.bf16 else "float32"},
            "history": history,
        },
        "metrics": {"held_out": {"description": f"test photos area-downscaled to {EVAL_SIDE} px long side, 8-bit "
                                                "sRGB + white Gaussian noise, clipped and rounded (keys: sigma); "
                                                "raw-*: unprocessed with mosaic noise (shot, read) = "
                                                f"{EVAL_RAW_LEVELS}, seeded cameras; camera-jpeg: photo i shot by "
                                                "CALIBRATION_CAMERAS[i % 7], map = the noise's local RMS; "
                                                "whole-image PSNR (dB) and SSIM",
                                 "photos": [p.path for p in parts["test"]], "per_sigma": held_out}},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "weights": {"file": weights.name, "sha256": sha256_file(weights)},
    }
    write_bytes_atomic(args.out / f"{NAME}.json", (json.dumps(card, indent=1) + "\n").encode())
    log.info("wrote %s", weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
