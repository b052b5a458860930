"""HSL / colour mixer: hue shift, saturation and luminance for eight hue bands.

Where: after white balance, exposure and the tonal steps, before the tone curve (as in Lightroom, whose
mixer follows the basic panel): a band is picked by the hue the photo has once it is balanced.

A pixel's hue h (the HSV hue of its linear RGB, degrees) falls between two band centres (red 0, orange 30,
yellow 60, green 120, aqua 180, blue 240, purple 270, magenta 300); the two bands share it with raised-cosine
weights, ``w = (1 + cos(pi * d / span)) / 2`` with d its distance from a centre and span the gap to the next
centre, so the weights of all bands add up to 1, a hue at a centre belongs to that band alone, and the
adjustments change smoothly between centres. The pixel's adjustments are the weighted sums:

* hue: its chroma (rgb - Y) turns about the grey axis by that many degrees (positive: red towards yellow);
* saturation: chroma times ``1 + s / 100`` (-100: grey);
* luminance: all three channels times ``2 ** (LUMINANCE_EV * l / 100 * sat)``, sat the HSV saturation.

Luminance Y is kept by the first two (the turn moves Y a little; the difference is added back as grey).
A grey has no chroma and zero saturation, so nothing here changes it; the weights come from three lookup
tables over the hue (half-degree steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import cv2
import numpy as np

from photolab.core.color import LUMA_WEIGHTS
from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.develop.pixelops import Band, affine, clamp_above, clamp_below, map_bands
from photolab.core.photo import Photo

BANDS = ("red", "orange", "yellow", "green", "aqua", "blue", "purple", "magenta")
CENTRES = (0.0, 30.0, 60.0, 120.0, 180.0, 240.0, 270.0, 300.0)  # degrees of HSV hue
HUE_LIMIT = 45.0  # degrees
LUMINANCE_EV = 1.5  # stops at +-100 on a fully saturated colour
TABLE_STEPS = 720  # lookup entries over 360 degrees
_TINY = 1e-8


def _hue(band: str) -> float:
    return param(0.0, label=f"{band} hue", range=(-HUE_LIMIT, HUE_LIMIT), step=0.5, unit="°")


def _amount(label: str) -> float:
    return param(0.0, label=label, range=(-100.0, 100.0), step=1.0)


@dataclass(frozen=True)
class HslParams:
    """Per band (``BANDS``): hue turn in degrees, saturation and luminance -100..100."""

    red_hue: float = _hue("Red")
    red_saturation: float = _amount("Red saturation")
    red_luminance: float = _amount("Red luminance")
    orange_hue: float = _hue("Orange")
    orange_saturation: float = _amount("Orange saturation")
    orange_luminance: float = _amount("Orange luminance")
    yellow_hue: float = _hue("Yellow")
    yellow_saturation: float = _amount("Yellow saturation")
    yellow_luminance: float = _amount("Yellow luminance")
    green_hue: float = _hue("Green")
    green_saturation: float = _amount("Green saturation")
    green_luminance: float = _amount("Green luminance")
    aqua_hue: float = _hue("Aqua")
    aqua_saturation: float = _amount("Aqua saturation")
    aqua_luminance: float = _amount("Aqua luminance")
    blue_hue: float = _hue("Blue")
    blue_saturation: float = _amount("Blue saturation")
    blue_luminance: float = _amount("Blue luminance")
    purple_hue: float = _hue("Purple")
    purple_saturation: float = _amount("Purple saturation")
    purple_luminance: float = _amount("Purple luminance")
    magenta_hue: float = _hue("Magenta")
    magenta_saturation: float = _amount("Magenta saturation")
    magenta_luminance: float = _amount("Magenta luminance")

    def __post_init__(self) -> None:
        check_params(self, "hsl")


def band_weights(hue: np.ndarray) -> np.ndarray:
    """(..., 8) raised-cosine weights of the bands at ``hue`` (degrees); each row adds up to 1."""
    hue = np.mod(np.asarray(hue, dtype=np.float64), 360.0)
    weights = np.zeros(hue.shape + (len(BANDS),))
    for index, centre in enumerate(CENTRES):
        after = CENTRES[(index + 1) % len(CENTRES)]
        before = CENTRES[index - 1]
        span_after = (after - centre) % 360.0
        span_before = (centre - before) % 360.0
        forward = (hue - centre) % 360.0  # 0..360 going up from the centre
        backward = (centre - hue) % 360.0
        weight = np.where(forward <= span_after, 0.5 * (1 + np.cos(np.pi * forward / span_after)), 0.0)
        weight = np.maximum(weight, np.where(backward <= span_before,
                                             0.5 * (1 + np.cos(np.pi * backward / span_before)), 0.0))
        weights[..., index] = weight
    return weights


def band_values(params, kind: str) -> np.ndarray:
    """The eight bands' ``kind`` (hue, saturation, luminance) values."""
    return np.array([getattr(params, f"{band}_{kind}") for band in BANDS])


def tables(params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hue turn in radians, saturation factor, luminance stops per unit saturation) at every half degree."""
    weights = band_weights(np.arange(TABLE_STEPS + 1) * 360.0 / TABLE_STEPS)
    turn = np.radians(weights @ band_values(params, "hue"))
    saturation = 1.0 + weights @ band_values(params, "saturation") / 100.0
    stops = weights @ band_values(params, "luminance") / 100.0 * LUMINANCE_EV
    return tuple(t.astype(np.float32) for t in (turn, saturation, stops))


def is_identity(params) -> bool:
    return all(getattr(params, f.name) == 0 for f in fields(params))


def hsv_hue_saturation(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HSV hue (degrees, 0..360) and saturation ((max - min) / max, 0..1) of linear RGB, float64."""
    rgb = np.asarray(pixels, dtype=np.float64)
    brightest, darkest = rgb.max(axis=-1), rgb.min(axis=-1)
    chroma = brightest - darkest
    red, green, blue = np.moveaxis(rgb, -1, 0)
    safe = np.maximum(chroma, _TINY)
    hue = np.where(brightest == red, (green - blue) / safe,
                   np.where(brightest == green, 2.0 + (blue - red) / safe, 4.0 + (red - green) / safe))
    return np.mod(hue * 60.0, 360.0), np.where(brightest > _TINY, chroma / np.maximum(brightest, _TINY), 0.0)


def pixel_tables(params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hue step, the coefficients of :func:`apply`'s per-pixel formula: ``A`` (chroma), ``B`` (the
    chroma's turned part) and the luminance stops per unit saturation."""
    turn, saturation, stops = tables(params)
    cos, sin = np.cos(turn.astype(np.float64)), np.sin(turn.astype(np.float64))
    return ((saturation * cos).astype(np.float32), (saturation * sin / math.sqrt(3.0)).astype(np.float32),
            stops)


def apply(photo: Photo, params) -> Photo:
    """Turn, scale and brighten each pixel's colour by its hue's band weights (greys are left alone).

    The chroma v = rgb - Y turns about n = (1, 1, 1) / sqrt(3) (Rodrigues: v cos + (n x v) sin + n (n . v)
    (1 - cos)) and is scaled by f; adding back the Y the turn moved cancels the n (n . v) term, leaving
    ``out = gain * (Y + A v + B (c - w . c))`` with A = f cos, B = f sin / sqrt(3), c = (b - g, r - b, g - r)
    and w the luma weights: per pixel a few single-channel OpenCV operations (no numpy reductions).
    """
    if is_identity(params):
        return photo
    a_table, b_table, stops_table = pixel_tables(params)
    luma_row = LUMA_WEIGHTS.astype(np.float32).reshape(1, 3)
    w_r, w_g, w_b = (float(w) for w in LUMA_WEIGHTS)
    cross_row = np.array([[w_g - w_b, w_b - w_r, w_r - w_g]], np.float32)  # w . c as weights of r, g, b
    ln2 = math.log(2.0)

    def kernel(band: Band) -> None:
        r, g, b, high, low, sat, luma, cross, a, bb, base, gain, hue = band.planes
        cv2.split(band.pixels, [r, g, b])
        cv2.max(cv2.max(r, g, dst=high), b, dst=high)
        cv2.min(cv2.min(r, g, dst=low), b, dst=low)
        cv2.subtract(high, low, dst=sat)
        cv2.divide(sat, clamp_below(high, _TINY, low), dst=sat)
        clamp_above(sat, 1.0, sat)
        np.maximum(band.pixels, 0.0, out=band.rgb)
        hsv = cv2.cvtColor(band.rgb, cv2.COLOR_RGB2HSV, dst=band.out)  # float: H in degrees (out is scratch)
        np.multiply(hsv[..., 0], np.float32(TABLE_STEPS / 360.0), out=hue)
        index = np.rint(hue).astype(np.intp)
        np.clip(index, 0, TABLE_STEPS, out=index)
        np.take(a_table, index, out=a)
        np.take(b_table, index, out=bb)
        np.take(stops_table, index, out=gain)
        cv2.multiply(gain, sat, dst=gain)
        cv2.exp(affine(gain, ln2, 0.0, gain), dst=gain)  # 2 ** (stops * sat)
        cv2.transform(band.pixels, luma_row, dst=luma)
        cv2.transform(band.pixels, cross_row, dst=cross)
        # base = Y (1 - A) - B (w . c); then A, B and base times the gain
        cv2.subtract(luma, cv2.multiply(a, luma, dst=base), dst=base)
        cv2.subtract(base, cv2.multiply(bb, cross, dst=cross), dst=base)
        for plane in (a, bb, base):
            cv2.multiply(plane, gain, dst=plane)
        channels = (high, low, sat)  # free again: the output's R, G, B
        for out, own, plus, minus in zip(channels, (r, g, b), (b, r, g), (g, b, r)):
            cv2.subtract(plus, minus, dst=luma)
            cv2.multiply(bb, luma, dst=luma)
            cv2.add(luma, cv2.multiply(a, own, dst=out), dst=out)
            cv2.add(out, base, dst=out)
        cv2.merge(channels, dst=band.out)

    return photo.with_pixels(map_bands(photo.pixels, kernel, planes=13))


OPERATION = Operation("hsl", "HSL", HslParams, apply, identity=is_identity)
