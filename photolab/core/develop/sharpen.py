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
from photolab.core.develop.pixelops import affine, clamp_above, clamp_below, clamp_zero
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


def _smoothstep(t: np.ndarray) -> np.ndarray:
    """``t * t * (3 - 2 t)`` of a 0..1 plane, in place."""
    square = cv2.multiply(t, t)
    return cv2.multiply(square, affine(t, -2.0, 3.0, t), dst=t)


def edge_mask(lightness: np.ndarray, detail: np.ndarray, sigma: float, masking: float) -> np.ndarray:
    """The 0..1 mask of where to sharpen (1 everywhere when ``masking`` is 0)."""
    if masking <= 0:
        return np.ones_like(lightness)
    threshold = masking / 100.0 * MASK_SCALE
    energy = _blur(cv2.absdiff(detail, np.zeros_like(detail)), 2.0 * sigma)
    t = affine(energy, 1.0 / threshold, -0.5, energy)  # (E - threshold / 2) / threshold
    return _smoothstep(clamp_above(clamp_zero(t, t), 1.0, t))


def apply(photo: Photo, params: SharpenParams) -> Photo:
    """Add the masked high-pass of sqrt(luminance), as a gain on the three channels."""
    if is_identity(params):
        return photo
    pixels = np.ascontiguousarray(photo.pixels, dtype=np.float32)
    sigma = params.radius * photo.scale
    luma = cv2.transform(pixels, LUMA_WEIGHTS.reshape(1, 3))
    lightness = cv2.sqrt(clamp_zero(luma, np.empty_like(luma)))
    detail = cv2.subtract(lightness, _blur(lightness, sigma))
    mask = edge_mask(lightness, detail, sigma, params.masking)
    amount = affine(cv2.multiply(mask, detail, dst=mask), params.amount / 100.0, 0.0, mask)
    sharpened = cv2.add(lightness, amount, dst=amount)
    target = cv2.multiply(*(clamp_zero(sharpened, sharpened),) * 2)
    gain = cv2.divide(target, clamp_below(luma, _LUMA_FLOOR, lightness))
    grey = cv2.subtract(target, cv2.multiply(gain, luma, dst=luma), dst=target)  # below the floor, as grey
    out = cv2.multiply(pixels, cv2.cvtColor(gain, cv2.COLOR_GRAY2RGB))
    return photo.with_pixels(cv2.add(out, cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), dst=out))


def margin(params: SharpenParams) -> int:
    """How far the two blurs look around a pixel (3 sigma each, sigma at most the full-resolution radius)."""
    return int(math.ceil(3.0 * params.radius + 6.0 * params.radius)) + 1


OPERATION = Operation("sharpen", "Sharpen", SharpenParams, apply, identity=is_identity, margin=margin)
