"""Straighten: turn the photo by any angle and keep the largest upright rectangle of the photo's own shape
inside the turned frame, so no corner ever shows what lies outside the photo.

Where: with the geometry, after the quarter turns (orient) and before the crop (darktable's and Lightroom's
order): the crop rectangle is then drawn on the straightened photo, and every later step sees only pixels.

A positive ``angle`` turns the picture counter-clockwise (as ``cv2.getRotationMatrix2D``). For a W x H frame
turned by a, a centred W k x H k rectangle fits inside when ``k (W |cos a| + H |sin a|) <= W`` and
``k (W |sin a| + H |cos a|) <= H``, so ``k = min(W / (W c + H s), H / (W s + H c))`` (a square at 45 degrees:
k = 1 / sqrt(2)). The output is ``floor(k W) x floor(k H)`` with k taken for the frame less ``MARGIN`` pixels
on each side, so the bicubic interpolation never reaches past the photo's edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop.operation import Box, Operation, Size
from photolab.core.develop.params import check_params, param
from photolab.core.photo import Photo

ANGLE_LIMIT = 45.0
MARGIN = 3  # pixels kept clear of the frame's edge (bicubic reads 2 past a sample)
_KERNEL = 3  # pixels read around a box's samples by the interpolation (region renders)


@dataclass(frozen=True)
class StraightenParams:
    angle: float = param(0.0, label="Straighten", range=(-ANGLE_LIMIT, ANGLE_LIMIT), step=0.05, unit="°")

    def __post_init__(self) -> None:
        check_params(self, "straighten")


def crop_scale(width: float, height: float, angle: float, margin: float = 0.0) -> float:
    """k: the largest centred rectangle of the frame's shape inside the turned frame is k W x k H (the frame
    first shrunk by ``margin`` on each side)."""
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return min((width - 2 * margin) / (width * c + height * s), (height - 2 * margin) / (width * s + height * c))


def straightened_size(params: StraightenParams, size: Size) -> Size:
    width, height = size
    k = crop_scale(width, height, params.angle, MARGIN)
    return max(1, int(math.floor(k * width))), max(1, int(math.floor(k * height)))


def inverse_map(params: StraightenParams, size: Size) -> np.ndarray:
    """The 2x3 matrix taking an output pixel (x, y) to where it lies in the input (pixel centres at whole
    numbers)."""
    width, height = size
    out_width, out_height = straightened_size(params, size)
    radians = math.radians(params.angle)
    c, s = math.cos(radians), math.sin(radians)
    turn = np.array([[c, -s], [s, c]])  # output offsets -> input offsets (the picture turns counter-clockwise)
    centre_in = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    centre_out = np.array([(out_width - 1) / 2.0, (out_height - 1) / 2.0])
    return np.hstack([turn, (centre_in - turn @ centre_out)[:, None]])


def _warp(pixels: np.ndarray, matrix: np.ndarray, size: Size) -> np.ndarray:
    return cv2.warpAffine(np.ascontiguousarray(pixels), matrix, size, flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def apply(photo: Photo, params: StraightenParams) -> Photo:
    if params.angle == 0:
        return photo
    size = (photo.width, photo.height)
    return photo.with_pixels(_warp(photo.pixels, inverse_map(params, size), straightened_size(params, size)))


def region_in(params: StraightenParams, size: Size, box: Box) -> Box:
    """The input pixels an output ``box`` reads: its corners mapped back, plus the interpolation's reach."""
    x0, y0, x1, y1 = box
    matrix = inverse_map(params, size)
    corners = np.array([[x0, y0, 1], [x1 - 1, y0, 1], [x0, y1 - 1, 1], [x1 - 1, y1 - 1, 1]], dtype=np.float64)
    mapped = corners @ matrix.T
    low = np.floor(mapped.min(axis=0)).astype(int) - _KERNEL
    high = np.ceil(mapped.max(axis=0)).astype(int) + _KERNEL + 1
    width, height = size
    return max(0, low[0]), max(0, low[1]), min(width, high[0]), min(height, high[1])


def apply_to_box(piece: Photo, params: StraightenParams, size: Size, box_in: Box, box_out: Box) -> Photo:
    """``box_out`` of the straightened photo from ``piece``, the input's ``box_in``."""
    matrix = inverse_map(params, size)
    shift = matrix[:, :2] @ np.array(box_out[:2], dtype=np.float64) - np.array(box_in[:2], dtype=np.float64)
    local = np.hstack([matrix[:, :2], (matrix[:, 2] + shift)[:, None]])
    out_size = (box_out[2] - box_out[0], box_out[3] - box_out[1])
    return piece.with_pixels(_warp(piece.pixels, local, out_size))


def level_angle(current: float, start: tuple[float, float], end: tuple[float, float]) -> float:
    """The angle that makes the line from ``start`` to ``end`` (pixels of the photo as now straightened by
    ``current``; y down) level, or plumb when it is closer to vertical; clamped to the range."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    if dx == 0 and dy == 0:
        return current
    tilt = math.degrees(math.atan2(-dy, dx))  # counter-clockwise from the x axis, as seen
    tilt = (tilt + 45.0) % 90.0 - 45.0  # the nearest of level or plumb
    return float(min(max(current - tilt, -ANGLE_LIMIT), ANGLE_LIMIT))


OPERATION = Operation("straighten", "Straighten", StraightenParams, apply, output_size=straightened_size,
                      region_in=region_in, apply_to_box=apply_to_box)
