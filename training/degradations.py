"""Synthetic photo defects for the built-in quality classifier, applied in linear light like a camera makes them.

Every function takes and returns float32 linear-sRGB pixels (H, W, 3), except :func:`finish`, which encodes to
8-bit sRGB with the app's own output stage (``encode_srgb_integer``) and may round-trip through JPEG. Defect
strengths are drawn above a visible threshold *at the model's input scale* (the patch handed to the model);
every class, the clean one included, also gets sub-threshold nuisance variation (a little exposure jitter,
faint noise, JPEG) so none of those alone gives the class away.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from photolab.core.color import encode_srgb_integer

CLASSES = ("sharp", "blurred", "noisy", "underexposed", "overexposed")

# Visible thresholds and ranges (at the model input scale, e.g. a 128 px patch).
GAUSSIAN_SIGMA = (1.2, 3.5)
DISC_RADIUS = (1.5, 4.5)
MOTION_LENGTH = (5.0, 15.0)
SHOT_GAIN = (1.5e-3, 3e-2)  # noise variance per unit of linear signal
READ_STD = (5e-4, 5e-3)  # linear
UNDER_EV = (1.5, 4.0)
OVER_EV = (1.5, 3.0)
NUISANCE_EV = 0.5
NUISANCE_SHOT = 2e-4
NUISANCE_READ = 2e-4
JPEG_PROBABILITY = 0.7
JPEG_QUALITY = (70, 95)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def disc_kernel(radius: float) -> np.ndarray:
    """A normalised defocus disc (pillbox) of ``radius`` pixels, anti-aliased at its edge."""
    half = int(np.ceil(radius)) + 1
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    kernel = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0)
    return (kernel / kernel.sum()).astype(np.float32)


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised straight motion-blur streak ``length`` pixels long at ``angle_deg``."""
    half = int(np.ceil(length / 2)) + 1
    size = 2 * half + 1
    kernel = np.zeros((size * 4, size * 4), np.float32)  # draw at 4x, then area-downscale: anti-aliased line
    dx, dy = np.cos(np.radians(angle_deg)) * length * 2, np.sin(np.radians(angle_deg)) * length * 2
    centre = size * 2
    cv2.line(kernel, (int(round(centre - dx)), int(round(centre - dy))),
             (int(round(centre + dx)), int(round(centre + dy))), 1.0, thickness=2, lineType=cv2.LINE_AA)
    kernel = cv2.resize(kernel, (size, size), interpolation=cv2.INTER_AREA)
    return (kernel / kernel.sum()).astype(np.float32)


def blur(linear: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Defocus disc, motion streak or Gaussian blur of a visible strength; returns (pixels, parameters)."""
    kind = rng.choice(["disc", "motion", "gaussian"])
    if kind == "disc":
        radius = rng.uniform(*DISC_RADIUS)
        kernel, params = disc_kernel(radius), {"radius": radius}
    elif kind == "motion":
        length, angle = rng.uniform(*MOTION_LENGTH), rng.uniform(0, 180)
        kernel, params = motion_kernel(length, angle), {"length": length, "angle": angle}
    else:
        sigma = rng.uniform(*GAUSSIAN_SIGMA)
        blurred = cv2.GaussianBlur(linear, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        return blurred, {"kind": kind, "sigma": sigma}
    return cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT), {"kind": kind, **params}


def add_noise(linear: np.ndarray, rng: np.random.Generator, shot_gain: float, read_std: float,
              chroma: bool) -> np.ndarray:
    """Sensor-like noise: variance ``shot_gain * signal + read_std**2`` per pixel (photon shot noise plus read
    noise). ``chroma``: independent per channel (colour speckle, partly at low frequency), otherwise mostly
    luminance noise shared by the channels."""
    height, width, _ = linear.shape
    signal = np.clip(linear, 0.0, None)
    std = np.sqrt(shot_gain * signal + read_std ** 2).astype(np.float32)
    if chroma:
        field = rng.standard_normal((height, width, 3), dtype=np.float32)
        if rng.random() < 0.5:  # blotchy low-frequency colour noise, as after demosaicing and denoising
            small = rng.standard_normal((height // 2 + 1, width // 2 + 1, 3), dtype=np.float32)
            field = 0.6 * field + 0.8 * cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        shared = rng.standard_normal((height, width, 1), dtype=np.float32)
        field = 0.95 * shared + 0.3 * rng.standard_normal((height, width, 3), dtype=np.float32)
    return (linear + std * field).astype(np.float32)


def exposure(linear: np.ndarray, ev: float) -> np.ndarray:
    """Scale by ``2**ev`` and clip at the sensor's white (1.0), as a longer or shorter exposure would."""
    return np.clip(linear * np.float32(2.0 ** ev), 0.0, 1.0).astype(np.float32)


def finish(linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Encode to 8-bit sRGB (the app's output stage) and, sometimes, round-trip through JPEG."""
    encoded = encode_srgb_integer(linear, np.uint8)
    if rng.random() < JPEG_PROBABILITY:
        quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        ok, data = cv2.imencode(".jpg", encoded[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            encoded = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]
    return np.ascontiguousarray(encoded)


def degrade(linear: np.ndarray, label: str, rng: np.random.Generator) -> np.ndarray:
    """The patch with the defect named by ``label`` (one of :data:`CLASSES`), as 8-bit sRGB (H, W, 3)."""
    if label not in CLASSES:
        raise ValueError(f"unknown quality class {label!r}; expected one of {CLASSES}")
    out = linear.astype(np.float32, copy=True)
    if label == "blurred":
        out, _ = blur(out, rng)
    if label == "underexposed":
        ev = -rng.uniform(*UNDER_EV)
    elif label == "overexposed":
        ev = rng.uniform(*OVER_EV)
    else:
        ev = rng.uniform(-NUISANCE_EV, NUISANCE_EV)
    out = exposure(out, ev) if label == "overexposed" else (out * np.float32(2.0 ** ev)).astype(np.float32)
    if label == "noisy":
        out = add_noise(out, rng, _log_uniform(rng, *SHOT_GAIN), _log_uniform(rng, *READ_STD),
                        chroma=bool(rng.random() < 0.5))
    else:
        out = add_noise(out, rng, rng.uniform(0, NUISANCE_SHOT), rng.uniform(0, NUISANCE_READ),
                        chroma=bool(rng.random() < 0.5))
    return finish(out, rng)


def texture(linear: np.ndarray) -> float:
    """Mean absolute Laplacian of the sRGB-encoded luminance: near 0 for flat patches (sky, walls)."""
    grey = encode_srgb_integer(linear, np.uint8).astype(np.float32).mean(axis=2) / 255.0
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def resize_linear(linear: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize float pixels with PIL's antialiased bilinear filter, the filter the app's model preprocessing
    uses (``photolab.models.preprocess``), so a clean training patch is exactly as soft as a real input."""
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(linear[:, :, c])).resize(
        (width, height), Image.Resampling.BILINEAR)) for c in range(linear.shape[2])]
    return np.stack(channels, axis=2).astype(np.float32)


def random_patch(photo: np.ndarray, size: int, rng: np.random.Generator, min_fraction: float = 0.35,
                 min_texture: float = 0.012, tries: int = 8) -> np.ndarray:
    """A square crop of ``photo`` (linear, H x W x 3) covering ``min_fraction``..1 of its short side (and at
    least 1.5 ``size`` pixels when the photo allows), resized to ``size`` (:func:`resize_linear`), randomly
    mirrored; crops flatter than ``min_texture`` are redrawn (up to ``tries`` times): no defect shows there."""
    height, width, _ = photo.shape
    short = min(height, width)
    low = min(short, max(int(short * min_fraction), int(1.5 * size)))
    patch = None
    for _ in range(tries):
        side = int(rng.integers(low, short + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        crop = photo[top:top + side, left:left + side]
        patch = resize_linear(crop, size, size)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if texture(patch) >= min_texture:
            break
    return np.ascontiguousarray(patch, dtype=np.float32)
