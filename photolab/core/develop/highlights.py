"""Highlights: compress (recover) or brighten the bright range only, keeping hue.

The curve acts on each pixel's largest channel ``v = max(R, G, B)`` and scales all three channels by the
same gain, so hue and saturation ratios are kept. Below the knee (0.35 linear, about 63 % in sRGB) nothing
changes, so mid-tones and shadows are untouched.

* amount < 0: a smooth rational shoulder ``knee + d / (1 + d / L)`` (d = v - knee, slope 1 at the knee,
  asymptote ``knee + L``). At -100 the asymptote is 1.0: every value, however far above white, lands below
  1 with its channel ratios intact, so skies that looked clipped get their detail and colour back.
* amount > 0: ``v + t * d**2 / (d + c)`` brightens the bright range (slope 1 at the knee, +0.5 stop at
  white at +100).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.develop.pixelops import (
    Band,
    affine,
    clamp_below,
    clamp_zero,
    map_bands,
    scale_pixels,
    split_channels,
)
from photolab.core.photo import Photo

KNEE = 0.35  # linear value where the highlight range begins
_BOOST_SOFTNESS = (1.0 - KNEE) / 2.0  # ``c`` of the brightening curve


@dataclass(frozen=True)
class HighlightsParams:
    amount: float = param(0.0, label="Highlights", range=(-100.0, 100.0), step=1.0)  # negative recovers them

    def __post_init__(self) -> None:
        check_params(self, "highlights")


def _curve_constants(amount: float) -> tuple[float, float]:
    """(sign * strength, c) such that ``v' = v + sign * strength * d**2 / (d + c)``."""
    t = abs(amount) / 100.0
    if amount < 0:
        # knee + d / (1 + d / L) = v - d**2 / (d + L), with L = (1 - knee) / t.
        return -1.0, (1.0 - KNEE) / t
    return t, _BOOST_SOFTNESS


def highlight_curve(values: np.ndarray, amount: float) -> np.ndarray:
    """The tone curve applied to max(R, G, B), in float64 (for tests, plots and documentation)."""
    values = np.asarray(values, dtype=np.float64)
    if amount == 0:
        return values.copy()
    strength, softness = _curve_constants(amount)
    excess = np.maximum(values - KNEE, 0.0)
    return values + strength * excess * excess / (excess + softness)


def apply(photo: Photo, params: HighlightsParams) -> Photo:
    """Scale each pixel by highlight_curve(v) / v, with v its largest channel."""
    if params.amount == 0:
        return photo
    strength, softness = _curve_constants(params.amount)

    def kernel(band: Band) -> None:
        red, green, blue = split_channels(band)
        value = cv2.max(cv2.max(red, green, dst=red), blue, dst=red)
        excess = clamp_zero(affine(value, 1.0, -KNEE, dst=green), dst=green)
        # gain = 1 + strength * d**2 / ((d + c) * max(v, knee)); v > knee wherever d > 0.
        denominator = clamp_below(value, KNEE, dst=blue)
        cv2.multiply(denominator, affine(excess, 1.0, softness, dst=red), dst=denominator)
        change = cv2.multiply(excess, excess, dst=red)
        cv2.divide(change, denominator, dst=change, scale=strength)
        scale_pixels(band, affine(change, 1.0, 1.0, dst=change))

    return photo.with_pixels(map_bands(photo.pixels, kernel, planes=3))


OPERATION = Operation("highlights", "Highlights", HighlightsParams, apply)
