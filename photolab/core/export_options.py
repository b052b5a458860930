"""Export options beyond the format: resizing and output sharpening, their text forms and their pixel work.

* Resize: ``long:2048`` (the long edge), ``short:1080`` (the short edge) or ``mp:12`` (megapixels), aspect
  ratio kept. A photo already that small is left alone unless upscaling is asked for. Downscaling is
  ``cv2.INTER_AREA`` on the linear pixels (area averaging in linear light: no darkened fine detail, no
  ringing); upscaling is bicubic, negative overshoot clipped.
* Output sharpening: an unsharp mask on the luminance, applied after resizing so its radius is in output
  pixels: ``screen`` (radius 0.6 px) or ``print`` (1.0 px, for the finer pixels of a print), each ``low``,
  ``standard`` or ``high``. It works on the sRGB-encoded luminance (perceptually even halos) and scales each
  pixel's RGB by the luminance change, so colours keep their hue. Band by band, with a margin of rows, so
  a band's result is exactly the whole image's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.color import luminance, srgb_curve, srgb_curve_inverse

RESIZE_MODES = {"long": "Long edge", "short": "Short edge", "mp": "Megapixels"}
MAX_EDGE = 65500  # the largest side JPEG (and OpenCV's resize) can hold
MAX_MEGAPIXELS = 1000.0
SHARPENING_MEDIA = {"screen": "Screen", "print": "Print"}
SHARPENING_AMOUNTS = ("low", "standard", "high")
_SHARPENING = {  # medium -> (Gaussian sigma in output pixels, amount for low, standard, high)
    "screen": (0.6, (0.35, 0.7, 1.1)),
    "print": (1.0, (0.5, 1.0, 1.5)),
}
_MIN_LUMINANCE = 1e-6  # below this a pixel is black: its RGB is scaled by the change of this much luminance
_MAX_GAIN = 16.0  # no pixel is brightened more than this (near-black pixels beside a bright edge)


@dataclass(frozen=True)
class ResizeSpec:
    """Resize to ``value`` on the ``mode`` ("long", "short": pixels; "mp": megapixels); ``upscale`` allows
    making the photo bigger."""

    mode: str
    value: float
    upscale: bool = False

    def __post_init__(self) -> None:
        if self.mode not in RESIZE_MODES:
            raise ValueError(f"unknown resize mode {self.mode!r}; use long, short or mp")
        value = float(self.value)
        if self.mode == "mp":
            if not (math.isfinite(value) and 0 < value <= MAX_MEGAPIXELS):
                raise ValueError(f"megapixels must be above 0 and at most {MAX_MEGAPIXELS:g}, got {self.value}")
        elif value != int(value) or not 1 <= value <= MAX_EDGE:
            raise ValueError(f"an edge must be a whole number of pixels, 1 to {MAX_EDGE}, got {self.value}")

    @property
    def text(self) -> str:
        """The CLI form, e.g. ``long:2048`` or ``mp:12``."""
        return f"{self.mode}:{self.value:g}"

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of a ``width`` x ``height`` photo after this resize."""
        if self.mode == "mp":
            scale = math.sqrt(float(self.value) * 1e6 / (width * height))
        else:
            scale = float(self.value) / (max(width, height) if self.mode == "long" else min(width, height))
        if scale >= 1.0 and not self.upscale:
            return width, height
        size = [max(1, min(MAX_EDGE, int(round(side * scale)))) for side in (width, height)]
        if self.mode != "mp":  # the named edge is exactly the value asked for
            index = (0 if width >= height else 1) if self.mode == "long" else (0 if width < height else 1)
            size[index] = int(self.value)
        return size[0], size[1]


def parse_resize(text: str, *, upscale: bool = False) -> ResizeSpec:
    """``long:2048``, ``short:1080`` or ``mp:12`` as a ResizeSpec; a ValueError says what is wrong."""
    mode, _, value = str(text).strip().partition(":")
    if mode not in RESIZE_MODES or not value:
        raise ValueError(f"expected long:PIXELS, short:PIXELS or mp:MEGAPIXELS, got {text!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"expected a number after {mode}:, got {value!r}") from None
    return ResizeSpec(mode, number, upscale)


def resize_linear(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Linear float pixels (H, W, C) resized to ``size`` (width, height): area averaging down, bicubic up."""
    width, height = size
    if (width, height) == (pixels.shape[1], pixels.shape[0]):
        return pixels
    shrinking = width <= pixels.shape[1] and height <= pixels.shape[0]
    resized = cv2.resize(np.ascontiguousarray(pixels, dtype=np.float32), (width, height),
                         interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    if not shrinking:
        np.maximum(resized, 0.0, out=resized)
    return resized.reshape(height, width, *pixels.shape[2:])


@dataclass(frozen=True)
class SharpeningSpec:
    """Output sharpening for a ``medium`` ("screen", "print") at an ``amount`` ("low", "standard", "high")."""

    medium: str
    amount: str = "standard"

    def __post_init__(self) -> None:
        if self.medium not in SHARPENING_MEDIA:
            raise ValueError(f"unknown output sharpening {self.medium!r}; use screen or print")
        if self.amount not in SHARPENING_AMOUNTS:
            raise ValueError(f"unknown sharpening amount {self.amount!r}; use low, standard or high")

    @property
    def text(self) -> str:
        return f"{self.medium}:{self.amount}"

    @property
    def sigma(self) -> float:
        return _SHARPENING[self.medium][0]

    @property
    def strength(self) -> float:
        return _SHARPENING[self.medium][1][SHARPENING_AMOUNTS.index(self.amount)]

    @property
    def margin(self) -> int:
        """Rows of context a band needs on each side (the blur kernel's radius)."""
        return int(math.ceil(3 * self.sigma))


def parse_sharpening(text: str) -> SharpeningSpec:
    """``screen``, ``print``, or either with ``:low``, ``:standard``, ``:high``; a ValueError otherwise."""
    medium, colon, amount = str(text).strip().partition(":")
    return SharpeningSpec(medium, amount if colon else "standard")


def sharpen_rows(pixels: np.ndarray, start: int, end: int, spec: SharpeningSpec) -> np.ndarray:
    """Rows ``start:end`` of ``pixels`` (linear, H x W x 3) with output sharpening; reads ``spec.margin`` rows
    more on each side, so the result does not depend on where the bands are cut."""
    margin = spec.margin
    top, bottom = max(0, start - margin), min(pixels.shape[0], end + margin)
    context = np.ascontiguousarray(pixels[top:bottom], dtype=np.float32)
    y = luminance(context)
    encoded = srgb_curve(np.maximum(y, 0.0)).astype(np.float32)
    size = 2 * margin + 1
    blurred = cv2.GaussianBlur(encoded, (size, size), spec.sigma, borderType=cv2.BORDER_REFLECT_101)
    sharpened = encoded + np.float32(spec.strength) * (encoded - blurred)
    target = srgb_curve_inverse(np.maximum(sharpened, 0.0)).astype(np.float32)
    ratio = np.minimum(target / np.maximum(y, np.float32(_MIN_LUMINANCE)), np.float32(_MAX_GAIN))
    rows = slice(start - top, end - top)
    return context[rows] * ratio[rows, :, None]
