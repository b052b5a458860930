"""Geometry: orient (quarter turns clockwise) and crop (a normalised rectangle in the oriented frame)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from photolab.core.develop.operation import Box, Operation, Size
from photolab.core.develop.params import check_params, param
from photolab.core.photo import Photo

_ROTATE_CODES = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class OrientParams:
    quarter_turns: int = param(0, label="Quarter turns", range=(0, 3), step=1)  # clockwise 90-degree turns

    def __post_init__(self) -> None:
        check_params(self, "orient")


def orient(photo: Photo, params: OrientParams) -> Photo:
    """Turn the photo clockwise by ``quarter_turns`` * 90 degrees (same as ``np.rot90(pixels, k=-turns)``)."""
    if params.quarter_turns == 0:
        return photo
    turned = cv2.rotate(np.ascontiguousarray(photo.pixels), _ROTATE_CODES[params.quarter_turns])
    return photo.with_pixels(turned)


@dataclass(frozen=True)
class CropParams:
    """Edges as fractions of the oriented photo's width (left, right) and height (top, bottom)."""

    left: float = param(0.0, label="Left", range=(0.0, 1.0), step=0.005)
    top: float = param(0.0, label="Top", range=(0.0, 1.0), step=0.005)
    right: float = param(1.0, label="Right", range=(0.0, 1.0), step=0.005)
    bottom: float = param(1.0, label="Bottom", range=(0.0, 1.0), step=0.005)

    def __post_init__(self) -> None:
        check_params(self, "crop")
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


def rotate_crop(crop: CropParams, clockwise: bool) -> CropParams:
    """The same crop rectangle after turning the photo a quarter turn (normalised coordinates).

    A point (x, y) moves to (1 - y, x) when the photo turns clockwise, and to (y, 1 - x) when it turns
    counter-clockwise.
    """
    left, top, right, bottom = crop.left, crop.top, crop.right, crop.bottom
    if clockwise:
        edges = dict(left=1.0 - bottom, top=left, right=1.0 - top, bottom=right)
    else:
        edges = dict(left=top, top=1.0 - right, right=bottom, bottom=1.0 - left)
    # Rounding keeps four turns an exact identity (1 - (1 - x) need not be x in floating point).
    return replace(crop, **{name: round(value, 9) for name, value in edges.items()})


def centred_crop_for_aspect(width: float, height: float, aspect: float) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the largest centred crop with ``aspect`` (long side / short side),
    turned to match the photo's orientation."""
    ratio = aspect if width >= height else 1.0 / aspect  # width / height of the crop
    if width / height > ratio:
        span = ratio * height / width
        return (0.5 - span / 2, 0.0, 0.5 + span / 2, 1.0)
    span = width / (ratio * height)
    return (0.0, 0.5 - span / 2, 1.0, 0.5 + span / 2)


def crop(photo: Photo, params: CropParams) -> Photo:
    """Keep the rectangle ``params`` describes (rounded to whole pixels, at least one pixel)."""
    x0, y0, x1, y1 = crop_box(photo.width, photo.height, params)
    if (x0, y0, x1, y1) == (0, 0, photo.width, photo.height):
        return photo
    return photo.with_pixels(photo.pixels[y0:y1, x0:x1].copy())


def oriented_size(params: OrientParams, size: Size) -> Size:
    """(width, height) of a photo of ``size`` after ``orient``."""
    width, height = size
    return (height, width) if params.quarter_turns % 2 else (width, height)


def oriented_region_in(params: OrientParams, size: Size, box: Box) -> Box:
    """Where ``box`` of the oriented photo lies in the photo of ``size`` before ``orient``."""
    width, height = size
    x0, y0, x1, y1 = box
    turns = params.quarter_turns
    if turns == 1:  # turned clockwise: oriented (x, y) shows original (y, height - 1 - x)
        return y0, height - x1, y1, height - x0
    if turns == 2:
        return width - x1, height - y1, width - x0, height - y0
    if turns == 3:  # counter-clockwise: oriented (x, y) shows original (width - 1 - y, x)
        return width - y1, x0, width - y0, x1
    return box


def cropped_size(params: CropParams, size: Size) -> Size:
    """(width, height) of a photo of ``size`` after ``crop``."""
    x0, y0, x1, y1 = crop_box(*size, params)
    return x1 - x0, y1 - y0


def cropped_region_in(params: CropParams, size: Size, box: Box) -> Box:
    """Where ``box`` of the cropped photo lies in the photo of ``size`` before ``crop``."""
    left, top, _, _ = crop_box(*size, params)
    x0, y0, x1, y1 = box
    return x0 + left, y0 + top, x1 + left, y1 + top


def crop_region(photo: Photo, params: CropParams) -> Photo:
    """``crop`` of a region already cut from the crop's input: cutting it was the crop."""
    return photo


ORIENT = Operation("orient", "Orientation", OrientParams, orient,
                   output_size=oriented_size, region_in=oriented_region_in)
CROP = Operation("crop", "Crop", CropParams, crop,
                 output_size=cropped_size, region_in=cropped_region_in, apply_to_region=crop_region)
