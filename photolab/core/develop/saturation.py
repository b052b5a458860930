"""Saturation and vibrance: scale each pixel's chroma around its own luminance (luminance is kept).

``rgb' = Y + k * (rgb - Y)`` with Y the Rec. 709 luminance. Saturation alone is one global
``k = 1 + saturation / 100`` (a single 3x3 matrix; -100 gives exact greyscale R = G = B = Y). Vibrance
multiplies k per pixel by ``1 + vibrance / 100 * (1 - sat)**2 * skin_guard``: colours that are still
muted (low HSV saturation ``sat = (max - min) / max``) change most, vivid ones hardly, and skin-like
hues (orange, hue about 10-40 degrees) change half as much.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.color import LUMA_WEIGHTS
from photolab.core.color import luminance
from photolab.core.develop.pixelops import (
    Band,
    add_grey,
    affine,
    clamp_above,
    clamp_below,
    clamp_zero,
    map_bands,
    scale_pixels,
    split_channels,
    transform_pixels,
)
from photolab.core.photo import Photo

SKIN_CENTRE = 0.42  # (G - B) / (R - B) of a typical skin tone (hue ~25 degrees)
SKIN_HALF_WIDTH = 0.25
SKIN_PROTECTION = 0.5  # fraction of the vibrance change that skin tones are spared
_TINY = 1e-6


@dataclass(frozen=True)
class SaturationParams:
    saturation: float = param(0.0, label="Saturation", range=(-100.0, 100.0), step=1.0)  # -100 = greyscale
    vibrance: float = param(0.0, label="Vibrance", range=(-100.0, 100.0), step=1.0)

    def __post_init__(self) -> None:
        check_params(self, "saturation")


def saturation_matrix(factor: float) -> np.ndarray:
    """3x3 matrix computing ``Y + factor * (rgb - Y)``; each row is ``factor * e_i + (1 - factor) * luma``."""
    return factor * np.eye(3) + (1.0 - factor) * np.tile(LUMA_WEIGHTS.astype(np.float64), (3, 1))


def _vibrance_kernel(factor: float, vibrance: float) -> Callable[[Band], None]:
    """Band kernel for ``rgb' = Y + k * (rgb - Y)`` with the per-pixel k of saturation and vibrance."""

    def kernel(band: Band) -> None:
        red, green, blue, brightest, sat, work = band.planes
        split_channels(band)
        cv2.max(cv2.max(red, green, dst=brightest), blue, dst=brightest)
        cv2.min(cv2.min(red, green, dst=sat), blue, dst=sat)
        cv2.subtract(brightest, sat, dst=sat)
        cv2.divide(sat, clamp_below(brightest, _TINY, dst=brightest), dst=sat)
        clamp_above(sat, 1.0, dst=sat)  # HSV saturation (max - min) / max
        muted = affine(sat, -1.0, 1.0, dst=sat)
        weight = cv2.multiply(muted, muted, dst=muted)  # (1 - sat)^2
        # Skin-like: red the largest, blue the smallest and (G - B) / (R - B) near SKIN_CENTRE. Anything
        # else (including R <= B, where the denominator is floored) falls outside the window.
        denominator = clamp_below(cv2.subtract(red, blue, dst=work), _TINY, dst=work)
        hue_position = cv2.divide(cv2.subtract(green, blue, dst=brightest), denominator, dst=brightest)
        distance = np.absolute(affine(hue_position, 1.0, -SKIN_CENTRE, dst=hue_position), out=hue_position)
        skin = clamp_zero(affine(distance, -1.0 / SKIN_HALF_WIDTH, 1.0, dst=distance), dst=distance)
        guard = affine(skin, -SKIN_PROTECTION, 1.0, dst=skin)
        # k = factor * (1 + vibrance * weight * guard)
        k = affine(cv2.multiply(weight, guard, dst=weight), factor * vibrance / 100.0, factor, dst=weight)
        scale_pixels(band, k)  # k * rgb
        luma = luminance(band.pixels, dst=red)
        add_grey(band, cv2.multiply(luma, affine(k, -1.0, 1.0, dst=k), dst=luma))  # + (1 - k) * Y

    return kernel


def vibrance_factor(pixels: np.ndarray, vibrance: float) -> np.ndarray:
    """The per-pixel chroma factor of ``vibrance`` alone, shape ``pixels.shape[:-1]``, float64 (reference for tests
    and documentation; ``apply`` computes the same in float32 band by band)."""
    rgb = np.asarray(pixels, dtype=np.float64)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    brightest, darkest = rgb.max(axis=-1), rgb.min(axis=-1)
    sat = np.minimum((brightest - darkest) / np.maximum(brightest, _TINY), 1.0)
    hue_position = (green - blue) / np.maximum(red - blue, _TINY)
    skin = np.maximum(1.0 - np.abs(hue_position - SKIN_CENTRE) / SKIN_HALF_WIDTH, 0.0)
    return 1.0 + vibrance / 100.0 * (1.0 - sat) ** 2 * (1.0 - SKIN_PROTECTION * skin)


def apply(photo: Photo, params: SaturationParams) -> Photo:
    """Scale chroma by the saturation factor, times the per-pixel vibrance factor when vibrance is set."""
    factor = 1.0 + params.saturation / 100.0
    if params.vibrance == 0:
        if factor == 1.0:
            return photo
        return photo.with_pixels(transform_pixels(photo.pixels, saturation_matrix(factor)))
    return photo.with_pixels(map_bands(photo.pixels, _vibrance_kernel(factor, params.vibrance), planes=6))


OPERATION = Operation("saturation", "Saturation", SaturationParams, apply)
