"""Small, fast pixel helpers shared by the develop operations.

Every tonal operation follows one pattern: reduce a band of rows to one value per pixel (luminance or the
largest channel), turn it into a gain with a few single-channel OpenCV calls, and multiply the three
channels by that gain, which keeps hue and chroma ratios.

Speed and memory come from three habits:

* Work band by band (~65k pixels), the bands shared out among the cores. Only the output is full size, so a
  24-megapixel photo needs its input, its output and a few megabytes, and the temporaries stay in cache.
* Reuse scratch buffers (``Band.planes``, ``Band.rgb``) through ``dst=``/``out=``: a fresh array costs a
  page fault per 4 kB on first touch, which is slower than the arithmetic itself.
* Avoid the slow paths: OpenCV treats a Python scalar operand as a per-channel ``Scalar`` (only the first
  channel of a 3-channel array gets it, and float ``multiply``/``divide`` by a scalar is slow), so scalar
  arithmetic here goes through ``affine`` (``addWeighted``), ``cv2.threshold`` or numpy ``out=``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from photolab.core.bands import run_shared

_BAND_PIXELS = 1 << 16


@dataclass
class Band:
    """One band of rows: ``pixels`` (read only), ``out`` (to fill), and scratch buffers of the same rows."""

    pixels: np.ndarray  # (h, W, 3) float32, C-contiguous
    out: np.ndarray  # (h, W, 3) float32 view of the result
    planes: list[np.ndarray]  # (h, W) float32 scratch, contents undefined
    rgb: np.ndarray  # (h, W, 3) float32 scratch, contents undefined
    top: int = 0  # the band's first row in the whole image (to read the same rows of other whole-image planes)


def map_bands(pixels: np.ndarray, kernel: Callable[[Band], None], planes: int = 0) -> np.ndarray:
    """A new (H, W, 3) float32 array filled by ``kernel(band)`` over bands of whole rows.

    ``planes`` is how many single-channel scratch buffers the kernel needs. The bands are shared out among the
    calling thread and the free cores (``run_shared``; each thread has scratch buffers of its own), so a kernel
    must only write its band's ``out`` and scratch.
    """
    height, width = pixels.shape[:2]
    out = np.empty((height, width, 3), dtype=np.float32)
    rows = max(1, min(height, _BAND_PIXELS // max(1, width)))

    def scratch() -> tuple[np.ndarray, np.ndarray]:
        return np.empty((planes, rows, width), dtype=np.float32), np.empty((rows, width, 3), dtype=np.float32)

    def work(index: int, buffers: tuple[np.ndarray, np.ndarray]) -> None:
        plane_pool, rgb_pool = buffers
        top = index * rows
        band = np.ascontiguousarray(pixels[top : top + rows], dtype=np.float32)
        count = band.shape[0]
        kernel(Band(band, out[top : top + count], [plane[:count] for plane in plane_pool], rgb_pool[:count], top))

    run_shared(math.ceil(height / rows), work, scratch)
    return out


def affine(src: np.ndarray, scale: float, offset: float, dst: np.ndarray) -> np.ndarray:
    """``dst = src * scale + offset`` for a single-channel array (dst may be src)."""
    return cv2.addWeighted(src, float(scale), src, 0.0, float(offset), dst=dst)


def clamp_below(src: np.ndarray, low: float, dst: np.ndarray) -> np.ndarray:
    """``dst = max(src, low)``."""
    return cv2.max(src, float(low), dst=dst)


def clamp_zero(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``dst = max(src, 0)`` (fast path)."""
    return cv2.threshold(src, 0.0, 0.0, cv2.THRESH_TOZERO, dst=dst)[1]


def clamp_above(src: np.ndarray, high: float, dst: np.ndarray) -> np.ndarray:
    """``dst = min(src, high)`` (fast path)."""
    return cv2.threshold(src, float(high), 0.0, cv2.THRESH_TRUNC, dst=dst)[1]


def split_channels(band: Band) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R, G, B of the band, written into its first three scratch planes."""
    red, green, blue = band.planes[:3]
    cv2.split(band.pixels, [red, green, blue])
    return red, green, blue


def scale_pixels(band: Band, gain: np.ndarray) -> None:
    """``band.out = band.pixels * gain[..., None]`` (every channel times the same per-pixel gain)."""
    cv2.cvtColor(gain, cv2.COLOR_GRAY2RGB, dst=band.rgb)
    cv2.multiply(band.pixels, band.rgb, dst=band.out)


def add_grey(band: Band, offset: np.ndarray) -> None:
    """``band.out += offset[..., None]``: add the same per-pixel amount to every channel."""
    cv2.cvtColor(offset, cv2.COLOR_GRAY2RGB, dst=band.rgb)
    cv2.add(band.out, band.rgb, dst=band.out)


def transform_pixels(pixels: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """A new array with every pixel multiplied by the 3x3 ``matrix`` (output = matrix @ rgb)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.shape != (3, 3):
        raise ValueError(f"colour matrix must be 3x3, got {matrix.shape}")

    def kernel(band: Band) -> None:
        cv2.transform(band.pixels, matrix, dst=band.out)

    return map_bands(pixels, kernel)

