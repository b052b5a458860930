"""Contrast: an S-curve around mid-grey on luminance, in a perceptual domain, with hue kept.

Luminance Y goes to the perceptual domain ``p = ln(1 + Y / e) / ln(1 + 1 / e)`` (logarithmic above ``e``,
linear near black so noise is not amplified; p(0) = 0, p(1) = 1, mid-grey 0.18 -> ``P_MID`` = 0.45). There
``p' = p + c * (S(p) - p)`` where S is the split parabola ``P_MID * (p / P_MID)**2`` below mid-grey and
``1 - (1 - P_MID) * ((1 - p) / (1 - P_MID))**2`` above it (S(0) = 0, S(P_MID) = P_MID, S(1) = 1, slope
2 at mid-grey and 0 at the ends; S = 1 above white). Since 0 <= S' <= 2 and |c| < 1, p' is strictly
increasing: the curve is monotonic, fixes black, mid-grey and white, and the three channels are scaled
by Y' / Y. c = 0.75 * amount / 100 for more contrast and 0.6 * amount / 100 for less.
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
    affine,
    clamp_above,
    clamp_below,
    clamp_zero,
    map_bands,
    scale_pixels,
)
from photolab.core.photo import Photo

MID_GREY = 0.18
P_MID = 0.45
_MORE = 0.75  # c at +100
_LESS = 0.6  # -c at -100
_LUMA_FLOOR = 1e-8


def _solve_toe() -> float:
    """The ``e`` for which the perceptual domain puts mid-grey at P_MID (bisection; p(0.18) falls with e)."""
    low, high = 1e-4, 1.0
    for _ in range(100):
        toe = math.sqrt(low * high)
        if math.log1p(MID_GREY / toe) / math.log1p(1.0 / toe) > P_MID:
            low = toe
        else:
            high = toe
    return math.sqrt(low * high)


TOE = _solve_toe()
_LOG_WHITE = math.log1p(1.0 / TOE)


@dataclass(frozen=True)
class ContrastParams:
    amount: float = param(0.0, label="Contrast", range=(-100.0, 100.0), step=1.0)

    def __post_init__(self) -> None:
        check_params(self, "contrast")


def _strength(amount: float) -> float:
    return amount / 100.0 * (_MORE if amount > 0 else _LESS)


def contrast_curve(luma: np.ndarray, amount: float) -> np.ndarray:
    """The luminance tone curve for ``amount``, in float64 (for tests, plots and documentation)."""
    y = np.maximum(np.asarray(luma, dtype=np.float64), 0.0)
    c = _strength(amount)
    p = np.log1p(y / TOE) / _LOG_WHITE
    r_neg = np.minimum(p - P_MID, 0.0)
    r_pos = np.clip(p - P_MID, 0.0, 1.0 - P_MID)
    s = P_MID + 2.0 * (r_neg + r_pos) + r_neg**2 / P_MID - r_pos**2 / (1.0 - P_MID)
    return TOE * np.expm1((p + c * (s - p)) * _LOG_WHITE)


def apply(photo: Photo, params: ContrastParams) -> Photo:
    """Scale each pixel by contrast_curve(Y) / Y."""
    if params.amount == 0:
        return photo
    c = _strength(params.amount)
    # The kernel works in natural-log units, ln(1 + Y / e) = p * _LOG_WHITE, so P_MID and the distance
    # from mid-grey to white scale by _LOG_WHITE too.
    mid, top = P_MID * _LOG_WHITE, (1.0 - P_MID) * _LOG_WHITE

    def kernel(band: Band) -> None:
        luma, p, r, r_neg, r_pos, work = band.planes
        clamp_below(luminance(band.pixels, dst=luma), _LUMA_FLOOR, dst=luma)
        cv2.log(affine(luma, 1.0 / TOE, 1.0, dst=p), dst=p)
        affine(p, 1.0, -mid, dst=r)
        clamp_above(r, 0.0, dst=r_neg)
        clamp_zero(clamp_above(r, top, dst=r_pos), dst=r_pos)
        # S - p = 2 (r_neg + r_pos) - r + r_neg^2 / mid - r_pos^2 / top
        cv2.multiply(r_neg, r_neg, dst=work, scale=1.0 / mid)
        cv2.add(r_neg, r_pos, dst=r_neg)
        cv2.addWeighted(r_neg, 2.0, r, -1.0, 0.0, dst=r_neg)
        cv2.add(r_neg, work, dst=r_neg)
        cv2.multiply(r_pos, r_pos, dst=work, scale=1.0 / top)
        s_minus_p = cv2.subtract(r_neg, work, dst=r_neg)
        curved = cv2.exp(cv2.addWeighted(p, 1.0, s_minus_p, c, 0.0, dst=p), dst=p)
        affine(curved, TOE, -TOE, dst=curved)  # e * (exp(p' ln(1 + 1/e)) - 1)
        scale_pixels(band, cv2.divide(curved, luma, dst=curved))

    return photo.with_pixels(map_bands(photo.pixels, kernel, planes=6))


OPERATION = Operation("contrast", "Contrast", ContrastParams, apply)
