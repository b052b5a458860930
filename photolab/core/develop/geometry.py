"""Geometry: orient (quarter turns clockwise) and crop (a normalised rectangle in the oriented frame)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop.operation import Operation
from photolab.core.photo import Photo

_ROTATE_CODES = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class OrientParams:
    quarter_turns: int = 0  # clockwise 90-degree turns, 0..3

    def __post_init__(self) -> None:
        turns = self.quarter_turns
        if isinstance(turns, bool) or not isinstance(turns, (int, float, np.integer, np.floating)):
            raise ValueError(f"quarter_turns must be a whole number 0..3, got {turns!r}")
        if not float(turns).is_integer() or not 0 <= turns <= 3:
            raise ValueError(f"quarter_turns must be a whole number 0..3, got {turns!r}")
        object.__setattr__(self, "quarter_turns", int(turns))


def orient(photo: Photo, params: OrientParams) -> Photo:
    """Turn the photo clockwise by ``quarter_turns`` * 90 degrees (same as ``np.rot90(pixels, k=-turns)``)."""
    if params.quarter_turns == 0:
        return photo
    turned = cv2.rotate(np.ascontiguousarray(photo.pixels), _ROTATE_CODES[params.quarter_turns])
    return photo.with_pixels(turned)


@dataclass(frozen=True)
class CropParams:
    """Edges as fractions of the oriented photo's width (left, right) and height (top, bottom)."""

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0

    def __post_init__(self) -> None:
        for name in ("left", "top", "right", "bottom"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"crop {name} must be a number, got {value!r}")
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"crop {name} must be between 0 and 1 (a fraction of the image), got {value!r}")
            object.__setattr__(self, name, float(value))
        if not self.left < self.right:
            raise ValueError(f"crop left ({self.left:g}) must be less than right ({self.right:g})")
        if not self.top < self.bottom:
            raise ValueError(f"crop top ({self.top:g}) must be less than bottom ({self.bottom:g})")


def crop_box(width: int, height: int, params: CropParams) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1), end-exclusive, for an image of this size; always at least 1x1."""
    x0 = min(width - 1, int(round(params.left * width)))
    y0 = min(height - 1, int(round(params.top * height)))
    x1 = min(width, max(x0 + 1, int(round(params.right * width))))
    y1 = min(height, max(y0 + 1, int(round(params.bottom * height))))
    return x0, y0, x1, y1


def crop(photo: Photo, params: CropParams) -> Photo:
    """Keep the rectangle ``params`` describes (rounded to whole pixels, at least one pixel)."""
    x0, y0, x1, y1 = crop_box(photo.width, photo.height, params)
    if (x0, y0, x1, y1) == (0, 0, photo.width, photo.height):
        return photo
    return photo.with_pixels(photo.pixels[y0:y1, x0:x1].copy())


ORIENT = Operation("orient", "Orientation", OrientParams, orient)
CROP = Operation("crop", "Crop", CropParams, crop)
