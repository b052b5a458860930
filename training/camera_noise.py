"""Out-of-camera noise, simulated the way cameras make it: for Auto denoise's calibration and benchmarks.

A clean linear photo (sRGB primaries, 0-1) goes through a small camera: back to the sensor's colour space and
white balance, sampled by an RGGB Bayer mosaic, Poisson shot noise and Gaussian read noise in the mosaic (plus
a faint per-row offset, the banding of many sensors), clipped at white, demosaiced (bilinear or OpenCV's
edge-aware or VNG), white-balanced, colour-corrected by a 3x3 matrix that amplifies the noise, sRGB-encoded,
sharpened (an unsharp mask, as every camera does) and saved as a JPEG. The noise that comes out is spatially
correlated, signal-dependent and partly flattened by the JPEG: nothing like the white Gaussian noise
denoisers are usually measured on. The clean reference is the same camera without the noise and without the
JPEG.

:data:`CALIBRATION_CAMERAS` (used to calibrate Auto) and :data:`TEST_CAMERAS` (only for benchmarks) differ in
every setting: demosaic, matrix, sharpening, JPEG quality and noise levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Camera:
    """One simulated camera at one ISO."""

    name: str
    shot: float  # variance of a photosite per unit of its (0-1) signal: a / full well in electrons at this ISO
    read: float  # read noise std (0-1 of the raw range)
    banding: float  # std of a per-row offset (0-1), a fraction of the read noise
    demosaic: str  # "bilinear", "ea" or "vng"
    saturation: float  # the colour matrix's strength: 1 is none, cameras use about 1.3-1.8
    sharpen_amount: float
    sharpen_radius: float
    jpeg_quality: int
    white_balance: tuple[float, float] = (2.0, 1.6)  # red and blue gains (daylight on a typical sensor)
    exposure: float = 1.0  # scene scale before the sensor (under-exposure, pushed back by the ISO gain)


CALIBRATION_CAMERAS = (
    Camera("cal-iso1600-ea", 8e-4, 1.2e-3, 2e-4, "ea", 1.4, 0.6, 1.0, 92),
    Camera("cal-iso3200-bilinear", 1.6e-3, 1.8e-3, 4e-4, "bilinear", 1.6, 0.9, 1.2, 88),
    Camera("cal-iso6400-vng", 3.2e-3, 2.4e-3, 5e-4, "vng", 1.5, 0.5, 0.8, 90),
    Camera("cal-iso12800-ea", 6e-3, 3.6e-3, 8e-4, "ea", 1.7, 1.0, 1.0, 85),
    Camera("cal-iso800-vng", 4e-4, 9e-4, 0.0, "vng", 1.3, 0.4, 1.5, 95),
    Camera("cal-iso6400-bilinear-soft", 3.2e-3, 3e-3, 0.0, "bilinear", 1.4, 0.0, 1.0, 93),
    Camera("cal-iso25600-ea", 1.2e-2, 5e-3, 1e-3, "ea", 1.5, 0.8, 1.0, 90, (2.1, 1.6), 0.8),
)
"""Cameras Auto's calibration may see."""

TEST_CAMERAS = (
    Camera("test-iso6400-banding", 3.6e-3, 2.7e-3, 1e-3, "ea", 1.55, 0.8, 1.1, 90, (2.2, 1.5)),
    Camera("test-iso3200-vng", 1.4e-3, 1.5e-3, 3e-4, "vng", 1.8, 1.2, 0.9, 87, (1.8, 1.9)),
    Camera("test-iso12800-bilinear", 7e-3, 4.2e-3, 7e-4, "bilinear", 1.35, 0.7, 1.3, 80, (2.4, 1.4), 0.7),
    Camera("test-iso1600-ea-q95", 6.4e-4, 1.1e-3, 0.0, "ea", 1.5, 0.5, 1.0, 95, (1.9, 1.7)),
)
"""Cameras only benchmarks use: never in Auto's calibration."""

_BAYER = {"bilinear": cv2.COLOR_BayerBG2RGB, "ea": cv2.COLOR_BayerBG2RGB_EA, "vng": cv2.COLOR_BayerBG2RGB_VNG}


def colour_matrix(saturation: float) -> np.ndarray:
    """A camera-to-sRGB matrix: rows sum to 1 (white stays white) and colours are pulled apart by
    ``saturation``, which is what a real matrix does to the sensor's overlapping filters, noise included."""
    grey = np.full((3, 3), 1.0 / 3.0)
    return (np.eye(3) * saturation + grey * (1.0 - saturation)).astype(np.float32)


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """RGGB Bayer mosaic (H, W) of a linear RGB image with even sides: (0,0) red, (0,1) and (1,0) green, (1,1)
    blue."""
    out = np.empty(rgb.shape[:2], np.float32)
    out[0::2, 0::2] = rgb[0::2, 0::2, 0]
    out[0::2, 1::2] = rgb[0::2, 1::2, 1]
    out[1::2, 0::2] = rgb[1::2, 0::2, 1]
    out[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return out


def _demosaic(raw: np.ndarray, method: str) -> np.ndarray:
    """OpenCV's demosaic of an RGGB mosaic in [0, 1] (VNG takes 8 bits only, the others 16)."""
    if method == "vng":
        coded = np.clip(raw * 255 + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(coded, _BAYER[method]).astype(np.float32) / 255
    coded = np.clip(raw * 65535 + 0.5, 0, 65535).astype(np.uint16)
    return cv2.cvtColor(coded, _BAYER[method]).astype(np.float32) / 65535


def _srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055).astype(np.float32)


def _sharpen(srgb: np.ndarray, amount: float, radius: float) -> np.ndarray:
    if amount <= 0:
        return srgb
    blurred = cv2.GaussianBlur(srgb, (0, 0), radius)
    return srgb + amount * (srgb - blurred)


def develop(raw: np.ndarray, camera: Camera) -> np.ndarray:
    """The camera's own development of a (0-1) RGGB mosaic up to the JPEG: sRGB float, not yet quantised."""
    rgb = _demosaic(np.clip(raw, 0.0, 1.0), camera.demosaic)
    gains = np.array([camera.white_balance[0], 1.0, camera.white_balance[1]], np.float32) / camera.exposure
    rgb = rgb * gains
    rgb = rgb @ colour_matrix(camera.saturation).T
    return np.clip(_sharpen(_srgb(rgb), camera.sharpen_amount, camera.sharpen_radius), 0.0, 1.0)


def shoot(linear: np.ndarray, camera: Camera, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(the out-of-camera JPEG as uint8 sRGB (H, W, 3), the clean reference as float sRGB) for a linear photo
    (H, W, 3, sRGB primaries, 0-1; H and W even)."""
    height, width = linear.shape[0] // 2 * 2, linear.shape[1] // 2 * 2
    linear = np.clip(linear[:height, :width].astype(np.float32), 0.0, 1.0)
    to_camera = np.linalg.inv(colour_matrix(camera.saturation))
    gains = np.array([camera.white_balance[0], 1.0, camera.white_balance[1]], np.float32)
    sensor = np.clip((linear @ to_camera.T) / gains * camera.exposure, 0.0, 1.0)
    clean_mosaic = mosaic(sensor)
    variance = camera.shot * clean_mosaic + camera.read ** 2
    noisy = clean_mosaic + rng.standard_normal(clean_mosaic.shape).astype(np.float32) * np.sqrt(variance)
    if camera.banding > 0:
        noisy += rng.standard_normal((height, 1)).astype(np.float32) * camera.banding
    developed = develop(noisy, camera)
    encoded, jpeg = cv2.imencode(".jpg", np.round(developed[:, :, ::-1] * 255).astype(np.uint8),
                                 [cv2.IMWRITE_JPEG_QUALITY, camera.jpeg_quality])
    if not encoded:
        raise RuntimeError("JPEG encoding failed")
    out = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[:, :, ::-1]
    return np.ascontiguousarray(out), develop(clean_mosaic, camera)
