"""Shadows and blacks: lift or deepen the dark tones, move the black point; mid-tones barely move.

Both act on luminance Y and scale the three channels by one gain per pixel (hue kept), except that
lifting the blacks adds the same amount to every channel, so pure black becomes a dark grey.

* shadows: gain ``2 ** (1.5 * s * mask(Y))`` with the smooth mask ``1 / (1 + (Y / 0.05)**3)``: 1 in deep
  shadow, 0.5 at Y = 0.05, 0.02 at mid-grey (0.18). s = shadows / 100, so +100 opens deep shadows by up to
  1.5 stops. The curve stays monotonic for every s in [-1, 1].
* blacks < 0: gain ``Y / sqrt(Y**2 + B**2)`` (B = 0.03 at -100): a smooth toe that crushes values below B.
* blacks > 0: ``Y -> sqrt(Y**2 + L**2)`` (L = 0.02 at +100): raises the black point to L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.color import luminance
from photolab.core.develop.pixelops import (
    Band,
    add_grey,
    affine,
    clamp_zero,
    map_bands,
    scale_pixels,
)
from photolab.core.photo import Photo

SHADOW_STOPS = 1.5  # largest change in deep shadow, in stops
SHADOW_PIVOT = 0.05  # luminance where the shadow mask is one half
BLACK_CRUSH = 0.03  # the toe width B at blacks = -100
BLACK_LIFT = 0.02  # the raised black level L at blacks = +100


@dataclass(frozen=True)
class ShadowsParams:
    shadows: float = param(0.0, label="Shadows", range=(-100.0, 100.0), step=1.0)
    blacks: float = param(0.0, label="Blacks", range=(-100.0, 100.0), step=1.0)

    def __post_init__(self) -> None:
        check_params(self, "shadows")


def shadow_curve(luma: np.ndarray, shadows: float, blacks: float) -> np.ndarray:
    """The luminance tone curve of these parameters, in float64 (for tests, plots and documentation)."""
    y = np.maximum(np.asarray(luma, dtype=np.float64), 0.0)
    mask = 1.0 / (1.0 + (y / SHADOW_PIVOT) ** 3)
    y = y * np.exp2(SHADOW_STOPS * shadows / 100.0 * mask)
    if blacks < 0:
        width = BLACK_CRUSH * -blacks / 100.0
        return y * y / np.sqrt(y * y + width * width)
    lift = BLACK_LIFT * blacks / 100.0
    return np.sqrt(y * y + lift * lift)


def apply(photo: Photo, params: ShadowsParams) -> Photo:
    """Apply the shadows gain, then the black point, per pixel on luminance."""
    if params.shadows == 0 and params.blacks == 0:
        return photo
    shadow_rate = math.log(2.0) * SHADOW_STOPS * params.shadows / 100.0
    crush = BLACK_CRUSH * -params.blacks / 100.0 if params.blacks < 0 else 0.0
    lift = BLACK_LIFT * params.blacks / 100.0 if params.blacks > 0 else 0.0

    def kernel(band: Band) -> None:
        luma, gain, work = band.planes
        clamp_zero(luminance(band.pixels, dst=luma), dst=luma)
        have_gain = False
        if shadow_rate:
            mask = cv2.pow(affine(luma, 1.0 / SHADOW_PIVOT, 0.0, dst=gain), 3.0, dst=gain)
            np.divide(shadow_rate, affine(mask, 1.0, 1.0, dst=mask), out=mask)  # rate / (1 + (Y/pivot)^3)
            cv2.exp(mask, dst=gain)
            cv2.multiply(luma, gain, dst=luma)  # luminance after the shadow gain
            have_gain = True
        if crush:
            # gain *= Y1 / sqrt(Y1^2 + B^2), with Y1 the luminance after the shadow gain
            cv2.sqrt(affine(cv2.multiply(luma, luma, dst=work), 1.0, crush * crush, dst=work), dst=work)
            cv2.divide(luma, work, dst=work)
            if have_gain:
                cv2.multiply(gain, work, dst=gain)
            else:
                gain, have_gain = work, True
        if have_gain:
            scale_pixels(band, gain)
        else:
            np.copyto(band.out, band.pixels)
        if lift:
            cv2.sqrt(affine(cv2.multiply(luma, luma, dst=work), 1.0, lift * lift, dst=work), dst=work)
            add_grey(band, cv2.subtract(work, luma, dst=work))  # + sqrt(Y1^2 + L^2) - Y1

    return photo.with_pixels(map_bands(photo.pixels, kernel, planes=3))


OPERATION = Operation("shadows", "Shadows", ShadowsParams, apply)
