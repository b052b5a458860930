"""Sharpening: an unsharp mask on luminance, with an edge mask that spares flat (noisy) areas.

Where: last in the pipeline, after the tone curve and the vignette (as darktable and Lightroom do): it then
sharpens the contrast the photo ends up with and nothing after it blurs or re-amplifies its halos.

It works on ``L = sqrt(Y)`` (Y the linear luminance; close to perceptual lightness, so halos are about as
strong in the shadows as in the highlights): ``L' = L + amount / 100 * mask * (L - blur(L))`` with a Gaussian
blur of sigma ``radius`` (in pixels of the full-resolution photo: a preview at scale s blurs radius * s).
The mask reads the local detail energy, ``E = blur(|L - blur(L)|)`` at twice the radius: noise in a flat
area gives a small E, an edge a large one, and ``mask = smoothstep(t / 2, 3 t / 2, E)`` with
``t = masking / 100 * MASK_SCALE`` (masking 0: mask 1 everywhere). The new luminance becomes a gain on R, G
and B (hue kept), as in the tone curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.color import LUMA_WEIGHTS
from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.develop.pixelops import (Band, add_grey, affine, clamp_above, clamp_below, clamp_zero, map_bands,
                                            scale_pixels)
from photolab.core.photo import Photo

MASK_SCALE = 0.02  # the edge threshold at masking 100, in units of sqrt(Y)
_LUMA_FLOOR = 1e-4
_MIN_SIGMA = 0.2


@dataclass(frozen=True)
class SharpenParams:
    amount: float = param(0.0, label="Amount", range=(0.0, 300.0), step=1.0, unit="%")
    radius: float = param(1.0, label="Radius", range=(0.5, 3.0), step=0.1, unit="px")
    masking: float = param(0.0, label="Masking", range=(0.0, 100.0), step=1.0)

    def __post_init__(self) -> None:
        check_params(self, "sharpen")


def is_identity(params: SharpenParams) -> bool:
    return params.amount == 0


def _blur(plane: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(plane, (0, 0), max(sigma, _MIN_SIGMA), borderType=cv2.BORDER_REFLECT)


def _smoothstep(t: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``t * t * (3 - 2 t)`` of a 0..1 plane (``t`` is overwritten)."""
    cv2.multiply(t, t, dst=dst)
    return cv2.multiply(dst, affine(t, -2.0, 3.0, t), dst=dst)


def _edge_mask(energy: np.ndarray, masking: float, dst: np.ndarray) -> np.ndarray:
    """The 0..1 mask of where to sharpen: smoothstep(t / 2, 3 t / 2, energy), t the masking's threshold
    (``energy`` is overwritten)."""
    threshold = masking / 100.0 * MASK_SCALE
    t = affine(energy, 1.0 / threshold, -0.5, energy)  # (E - threshold / 2) / threshold
    return _smoothstep(clamp_above(clamp_zero(t, t), 1.0, t), dst)


def apply(photo: Photo, params: SharpenParams) -> Photo:
    """Add the masked high-pass of sqrt(luminance), as a gain on the three channels.

    Only the blurs see the whole frame (the lightness, its blur and the detail energy's blur); the rest runs
    band by band (``map_bands``)."""
    if is_identity(params):
        return photo
    pixels = np.ascontiguousarray(photo.pixels, dtype=np.float32)
    sigma = params.radius * photo.scale
    luma_row = LUMA_WEIGHTS.reshape(1, 3)
    lightness = cv2.transform(pixels, luma_row)
    cv2.sqrt(clamp_zero(lightness, lightness), dst=lightness)
    blurred = _blur(lightness, sigma)
    energy = None
    if params.masking > 0:
        detail = cv2.subtract(lightness, blurred)
        energy = _blur(cv2.absdiff(detail, np.zeros_like(detail), dst=detail), 2.0 * sigma)
    amount = params.amount / 100.0

    def kernel(band: Band) -> None:
        rows = slice(band.top, band.top + band.pixels.shape[0])
        luma, detail, mask, target, gain = band.planes
        cv2.transform(band.pixels, luma_row, dst=luma)
        light = lightness[rows]
        cv2.subtract(light, blurred[rows], dst=detail)
        if energy is not None:
            np.copyto(target, energy[rows])
            cv2.multiply(_edge_mask(target, params.masking, mask), detail, dst=detail)
        cv2.add(light, affine(detail, amount, 0.0, detail), dst=target)  # the new lightness
        clamp_zero(target, target)
        cv2.multiply(target, target, dst=target)  # its luminance
        cv2.divide(target, clamp_below(luma, _LUMA_FLOOR, gain), dst=gain)
        scale_pixels(band, gain)
        cv2.subtract(target, cv2.multiply(gain, luma, dst=luma), dst=target)  # below the floor, as grey
        add_grey(band, target)

    return photo.with_pixels(map_bands(pixels, kernel, planes=5))


def margin(params: SharpenParams) -> int:
    """How far the two blurs look around a pixel (3 sigma each, sigma at most the full-resolution radius)."""
    return int(math.ceil(3.0 * params.radius + 6.0 * params.radius)) + 1


OPERATION = Operation("sharpen", "Sharpen", SharpenParams, apply, identity=is_identity, margin=margin)
