"""Vignette: darken (or lighten) towards the corners of the frame, as an exposure change.

Where: after the tone curve, on the frame as cropped (Lightroom's post-crop vignette): it is a look applied
to the finished tones, so the curve does not bend it, and it follows the crop. Sharpening comes after it.

Each pixel's distance from the centre, ``d``, is 0 at the centre and 1 in the corners: ``d = sqrt((x / a)**2
+ (y / b)**2) / sqrt((w / a)**2 + (h / b)**2)`` with x, y from the centre, w, h half the frame and the axes
``a, b`` between the frame's halves (roundness 0: an ellipse the frame's shape) and the half diagonal
(roundness 100: a circle). The falloff ``f`` rises from 0 at ``d = midpoint`` to 1 at ``d = midpoint +
(1 - midpoint) * feather`` along a smoothstep (feather 0: a hard edge), and the pixel is multiplied by
``2 ** (EV_AT_100 * amount / 100 * f)``: the centre is untouched and the corners change by exactly
``2 ** (EV_AT_100 * amount / 100)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop.operation import Box, Operation, Size
from photolab.core.develop.params import check_params, param
from photolab.core.photo import Photo

EV_AT_100 = 1.5  # stops at the corners for amount -100 (darker) or +100 (lighter)
_MIN_FEATHER = 1e-3


@dataclass(frozen=True)
class VignetteParams:
    amount: float = param(0.0, label="Amount", range=(-100.0, 100.0), step=1.0)
    midpoint: float = param(50.0, label="Midpoint", range=(0.0, 100.0), step=1.0)
    roundness: float = param(0.0, label="Roundness", range=(0.0, 100.0), step=1.0)
    feather: float = param(50.0, label="Feather", range=(0.0, 100.0), step=1.0)

    def __post_init__(self) -> None:
        check_params(self, "vignette")


def is_identity(params: VignetteParams) -> bool:
    return params.amount == 0


def gain(params: VignetteParams, size: Size, box: Box | None = None) -> np.ndarray:
    """The (rows, columns) float32 gain over ``box`` (default: all) of a frame of ``size`` (width, height)."""
    width, height = size
    x0, y0, x1, y1 = box or (0, 0, width, height)
    half_w, half_h = width / 2.0, height / 2.0
    diagonal = np.hypot(half_w, half_h)
    r = params.roundness / 100.0
    a, b = (1 - r) * half_w + r * diagonal, (1 - r) * half_h + r * diagonal
    x = ((np.arange(x0, x1, dtype=np.float64) + 0.5 - half_w) / a) ** 2
    y = ((np.arange(y0, y1, dtype=np.float64) + 0.5 - half_h) / b) ** 2
    corner = np.sqrt((half_w / a) ** 2 + (half_h / b) ** 2)
    d = np.sqrt(y[:, None] + x[None, :]) / corner
    start = params.midpoint / 100.0
    span = max((1.0 - start) * params.feather / 100.0, _MIN_FEATHER)
    t = np.clip((d - start) / span, 0.0, 1.0)
    falloff = t * t * (3.0 - 2.0 * t)
    return np.exp2(EV_AT_100 * params.amount / 100.0 * falloff).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _frame_gain(params: VignetteParams, size: Size) -> np.ndarray:
    """The whole frame's gain as three equal channels, kept for the last few frames (a slider elsewhere in the
    recipe renders the same frame again with the same vignette); read-only."""
    three = cv2.cvtColor(gain(params, size), cv2.COLOR_GRAY2RGB)
    three.flags.writeable = False
    return three


def apply(photo: Photo, params: VignetteParams) -> Photo:
    if is_identity(params):
        return photo
    pixels = np.ascontiguousarray(photo.pixels, dtype=np.float32)
    return photo.with_pixels(cv2.multiply(pixels, _frame_gain(params, (photo.width, photo.height))))


def apply_to_box(piece: Photo, params: VignetteParams, size: Size, box_in: Box, box_out: Box) -> Photo:
    """The vignette of ``box_in`` of a frame of ``size`` (the same box comes out: it looks at no neighbours)."""
    return piece.with_pixels(piece.pixels * gain(params, size, box_in)[..., None])


OPERATION = Operation("vignette", "Vignette", VignetteParams, apply, identity=is_identity, apply_to_box=apply_to_box)
