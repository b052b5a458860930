"""Tone curve: editable point curves on luminance and on each of R, G and B.

Where: after the tonal steps (exposure, highlights, shadows, contrast, saturation, HSL), on the linear photo,
like Lightroom's point curve after its basic panel: the curve then shapes the photo as the other sliders left
it, and its points mean the same whatever the exposure was.

The points are (x, y) pairs in 0..1 in the sRGB-encoded (perceptual) domain, where a curve is drawn and
where mid-grey sits near the middle. Between the points the curve is a monotone cubic (Fritsch-Carlson, the
PCHIP of scipy): it passes through every point, never overshoots between two of them (between neighbours
it stays within their y values, so an increasing set of points gives an increasing curve), and is flat
beyond the first and last point. Two points on the diagonal at 0 and 1 are the identity.

The luminance curve maps each pixel's luminance Y and scales R, G and B by the same factor (hue and
saturation kept, as in the contrast step); then each channel curve maps its channel. Every curve is turned
into a lookup table over the linear value (4096 entries spaced evenly in sqrt(x), fine in the shadows)
read with bilinear interpolation by ``cv2.remap``, so a slider drag costs a few table reads per pixel.
Linear values above 1 or below 0 continue the curve with slope 1 from its ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.color import LUMA_WEIGHTS, srgb_curve, srgb_curve_inverse
from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.develop.pixelops import (Band, add_grey, affine, clamp_above, clamp_below, clamp_zero, map_bands,
                                            scale_pixels)
from photolab.core.photo import Photo

Points = tuple[tuple[float, float], ...]
IDENTITY: Points = ((0.0, 0.0), (1.0, 1.0))
CHANNELS = ("luminance", "red", "green", "blue")
MAX_POINTS = 16
MIN_GAP = 0.01  # the smallest distance between two points' x
LUT_SIZE = 4096
_LUMA_FLOOR = 1e-4  # below this luminance the curve's black level is added as grey, not as a huge gain


def _points(default: Points, label: str) -> Points:
    return param(default, label=label, range=(0.0, 1.0))


@dataclass(frozen=True)
class ToneCurveParams:
    """Each curve: 2 to 16 (x, y) points, 0..1, sRGB-encoded; kept sorted by x, at least 0.01 apart."""

    luminance: Points = _points(IDENTITY, "Luminance")
    red: Points = _points(IDENTITY, "Red")
    green: Points = _points(IDENTITY, "Green")
    blue: Points = _points(IDENTITY, "Blue")

    def __post_init__(self) -> None:
        check_params(self, "tone_curve")
        for name in CHANNELS:
            points = tuple(sorted(getattr(self, name)))
            if not 2 <= len(points) <= MAX_POINTS:
                raise ValueError(f"tone curve {name} needs 2 to {MAX_POINTS} points, got {len(points)}")
            gaps = np.diff([x for x, _ in points])
            if gaps.min() < MIN_GAP - 1e-9:
                raise ValueError(f"tone curve {name}: points must be at least {MIN_GAP:g} apart in x")
            object.__setattr__(self, name, points)


def is_identity_curve(points: Points) -> bool:
    """True when ``points`` draw the diagonal from (0, 0) to (1, 1) (PCHIP through collinear points is the
    line)."""
    return points[0][0] == 0.0 and points[-1][0] == 1.0 and all(abs(x - y) < 1e-9 for x, y in points)


def is_identity(params: ToneCurveParams) -> bool:
    return all(is_identity_curve(getattr(params, name)) for name in CHANNELS)


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson derivatives at the knots (scipy's PCHIP rules, ends included)."""
    h = np.diff(x)
    delta = np.diff(y) / h
    if len(x) == 2:
        return np.array([delta[0], delta[0]])
    d = np.zeros_like(x)
    w1 = 2 * h[1:] + h[:-1]
    w2 = h[1:] + 2 * h[:-1]
    same_sign = delta[:-1] * delta[1:] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
    d[1:-1] = np.where(same_sign, harmonic, 0.0)
    for end, (h0, h1, d0, d1) in ((0, (h[0], h[1], delta[0], delta[1])),
                                  (-1, (h[-1], h[-2], delta[-1], delta[-2]))):
        slope = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        if np.sign(slope) != np.sign(d0):
            slope = 0.0
        elif np.sign(d0) != np.sign(d1) and abs(slope) > 3 * abs(d0):
            slope = 3 * d0
        d[end] = slope
    return d


def curve(points: Points, values: np.ndarray) -> np.ndarray:
    """The monotone cubic through ``points`` at ``values`` (encoded domain, float64; flat beyond the ends)."""
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    d = _slopes(x, y)
    t_in = np.clip(np.asarray(values, dtype=np.float64), x[0], x[-1])
    k = np.clip(np.searchsorted(x, t_in, side="right") - 1, 0, len(x) - 2)
    h = x[k + 1] - x[k]
    t = (t_in - x[k]) / h
    t2, t3 = t * t, t * t * t
    return ((2 * t3 - 3 * t2 + 1) * y[k] + (t3 - 2 * t2 + t) * h * d[k]
            + (-2 * t3 + 3 * t2) * y[k + 1] + (t3 - t2) * h * d[k + 1])


def linear_curve(points: Points, linear: np.ndarray) -> np.ndarray:
    """The curve as it acts on linear values in 0..1: decode(curve(encode(x)))."""
    encoded = srgb_curve(np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0))
    return srgb_curve_inverse(np.clip(curve(points, encoded), 0.0, 1.0))


def lookup_table(points: Points) -> np.ndarray:
    """(1, LUT_SIZE) float32: the linear curve at x = (i / (LUT_SIZE - 1))**2."""
    grid = np.linspace(0.0, 1.0, LUT_SIZE) ** 2
    return linear_curve(points, grid).astype(np.float32).reshape(1, -1)


def _read(table: np.ndarray, values: np.ndarray, index: np.ndarray, clamped: np.ndarray, zeros: np.ndarray,
          out: np.ndarray) -> np.ndarray:
    """``out = table(values)`` with slope-1 continuation outside 0..1 (index, clamped: scratch planes; zeros:
    a plane of zeros). Every operand is a plane of the band's shape (OpenCV would read a lone (N, 1) operand,
    N <= 4, as a per-channel scalar)."""
    clamp_above(clamp_zero(values, clamped), 1.0, clamped)
    cv2.sqrt(clamped, dst=index)
    affine(index, LUT_SIZE - 1, 0.0, index)
    mapped = cv2.remap(table, index, zeros, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    cv2.subtract(values, clamped, dst=clamped)  # what lies beyond 0..1
    return cv2.add(mapped.reshape(values.shape), clamped, dst=out)


def apply(photo: Photo, params: ToneCurveParams) -> Photo:
    """The luminance curve (hue kept), then each channel's curve."""
    if is_identity(params):
        return photo
    luma_table = None if is_identity_curve(params.luminance) else lookup_table(params.luminance)
    tables = [None if is_identity_curve(getattr(params, name)) else lookup_table(getattr(params, name))
              for name in CHANNELS[1:]]
    luma_row = LUMA_WEIGHTS.astype(np.float32).reshape(1, 3)

    def kernel(band: Band) -> None:
        index, clamped, mapped, luma, gain, zeros, *channels = band.planes
        zeros.fill(0.0)
        if luma_table is not None:
            cv2.transform(band.pixels, luma_row, dst=luma)
            _read(luma_table, luma, index, clamped, zeros, mapped)
            # gain = f(Y) / max(Y, floor); below the floor the rest of f(Y), f(Y) - gain * Y, is added as grey
            cv2.divide(mapped, clamp_below(luma, _LUMA_FLOOR, gain), dst=gain)
            scale_pixels(band, gain)
            cv2.subtract(mapped, cv2.multiply(gain, luma, dst=gain), dst=mapped)
            add_grey(band, mapped)
        else:
            np.copyto(band.out, band.pixels)
        if any(table is not None for table in tables):
            cv2.split(band.out, channels)
            for channel, table in zip(channels, tables):
                if table is not None:
                    _read(table, channel, index, clamped, zeros, channel)
            cv2.merge(channels, dst=band.out)

    return photo.with_pixels(map_bands(photo.pixels, kernel, planes=9))


OPERATION = Operation("tone_curve", "Tone curve", ToneCurveParams, apply, identity=is_identity)
