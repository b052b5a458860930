"""Colour temperature and tint <-> illuminant chromaticity (the science behind the Kelvin white balance).

The white locus is the CIE daylight locus from 4000 K up and the Planckian (black-body) locus below 2500 K
(Krystek's smooth rational approximation), blended smoothly in between so the map is continuous. Tint moves
the white off the locus along its normal in the CIE 1960 (u, v) plane: ``duv = tint / 3000`` (the DNG /
Lightroom scale, so tint +-150 is +-0.05 duv). A positive tint is a greener light, which the balance then
removes, so the picture turns magenta, as in Lightroom.
"""

from __future__ import annotations

import numpy as np

TEMPERATURE_MIN = 1500.0
TEMPERATURE_MAX = 50000.0
TINT_LIMIT = 150.0
TINT_SCALE = 3000.0  # tint units per unit of duv

_BLEND_START = 2500.0  # pure Planckian at and below
_BLEND_END = 4000.0  # pure daylight at and above


def planckian_uv(kelvin) -> tuple[np.ndarray, np.ndarray]:
    """CIE 1960 uv of a black body at ``kelvin`` (Krystek 1985 rational fit, within 1e-4 over 1000-15000 K;
    smooth everywhere, unlike piecewise fits, so its normals are well defined)."""
    t = np.asarray(kelvin, dtype=np.float64)
    u = (0.860117757 + 1.54118254e-4 * t + 1.28641212e-7 * t * t) / (1.0 + 8.42420235e-4 * t + 7.08145163e-7 * t * t)
    v = (0.317398726 + 4.22806245e-5 * t + 4.20481691e-8 * t * t) / (1.0 - 2.89741816e-5 * t + 1.61456053e-7 * t * t)
    return u, v


def daylight_xy(kelvin) -> tuple[np.ndarray, np.ndarray]:
    """CIE 1931 xy of CIE daylight at correlated colour temperature ``kelvin`` (defined 4000-25000 K)."""
    t = np.asarray(kelvin, dtype=np.float64)
    inv = 1.0 / t
    x = np.where(
        t <= 7000.0,
        -4.6070e9 * inv**3 + 2.9678e6 * inv**2 + 0.09911e3 * inv + 0.244063,
        -2.0064e9 * inv**3 + 1.9018e6 * inv**2 + 0.24748e3 * inv + 0.237040,
    )
    y = -3.000 * x**2 + 2.870 * x - 0.275
    return x, y


def xy_to_uv(x, y) -> tuple[np.ndarray, np.ndarray]:
    """CIE 1931 xy to CIE 1960 uv."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    denominator = -2.0 * x + 12.0 * y + 3.0
    return 4.0 * x / denominator, 6.0 * y / denominator


def uv_to_xy(u, v) -> tuple[np.ndarray, np.ndarray]:
    """CIE 1960 uv to CIE 1931 xy."""
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    denominator = 2.0 * u - 8.0 * v + 4.0
    return 3.0 * u / denominator, 2.0 * v / denominator


def locus_uv(kelvin) -> np.ndarray:
    """uv of the white locus (daylight from 4000 K up, black body below 2500 K, blended between); (..., 2)."""
    t = np.asarray(kelvin, dtype=np.float64)
    planck = np.stack(planckian_uv(t), axis=-1)
    day = np.stack(xy_to_uv(*daylight_xy(np.maximum(t, _BLEND_START))), axis=-1)
    # Blend evenly in mired with a C2 "smootherstep", which keeps the curve's radius of curvature above
    # 0.07 everywhere: the tint normals (+-0.05 duv) then never cross, so (kelvin, tint) <-> white is 1:1.
    s = np.clip((1e6 / _BLEND_START - 1e6 / t) / (1e6 / _BLEND_START - 1e6 / _BLEND_END), 0.0, 1.0)
    weight = (s * s * s * (s * (6.0 * s - 15.0) + 10.0))[..., None]
    return planck + weight * (day - planck)


def _tangent_and_normal(kelvin) -> tuple[np.ndarray, np.ndarray]:
    """Unit tangent (direction of rising temperature) and unit normal (towards green, +v) of the locus."""
    mired = 1e6 / np.asarray(kelvin, dtype=np.float64)
    step = 0.01
    tangent = locus_uv(1e6 / (mired - step)) - locus_uv(1e6 / (mired + step))
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True)
    normal = np.stack([-tangent[..., 1], tangent[..., 0]], axis=-1)
    normal *= np.where(normal[..., 1:] < 0.0, -1.0, 1.0)
    return tangent, normal


def white_uv(kelvin: float, tint: float) -> np.ndarray:
    """uv of the light at ``kelvin`` and ``tint`` (tint > 0: greener light)."""
    _, normal = _tangent_and_normal(kelvin)
    return locus_uv(kelvin) + (tint / TINT_SCALE) * normal


def white_xyz(kelvin: float, tint: float) -> np.ndarray:
    """CIE XYZ (Y = 1) of the light at ``kelvin`` and ``tint``."""
    u, v = white_uv(kelvin, tint)
    x, y = uv_to_xy(u, v)
    return np.array([x / y, 1.0, (1.0 - x - y) / y], dtype=np.float64)


_SEARCH_KELVIN = 1e6 / np.linspace(1e6 / 1000.0, 1e6 / 100000.0, 2000)  # even steps (0.5) in mired


def temperature_tint_from_xy(x: float, y: float) -> tuple[float, float]:
    """Inverse of :func:`white_xyz`: the (kelvin, tint) whose light has chromaticity (x, y).

    Finds the locus point whose normal passes through the colour (the nearest such point), by a dense
    search in mired followed by false position. Not clamped: may fall outside the slider ranges.
    """
    target = np.array(xy_to_uv(x, y), dtype=np.float64)
    if not np.all(np.isfinite(target)):
        raise ValueError(f"chromaticity ({x}, {y}) is not a colour")

    def along(kelvin):
        tangent, _ = _tangent_and_normal(kelvin)
        return np.sum((target - locus_uv(kelvin)) * tangent, axis=-1)

    offsets = along(_SEARCH_KELVIN)
    distances = np.linalg.norm(target - locus_uv(_SEARCH_KELVIN), axis=-1)
    crossings = np.nonzero(np.sign(offsets[:-1]) != np.sign(offsets[1:]))[0]
    if crossings.size == 0:  # beyond the ends of the search range
        best = int(np.argmin(distances))
        kelvin = float(_SEARCH_KELVIN[best])
    else:
        index = int(crossings[np.argmin(distances[crossings])])
        kelvin = 1e6 / _refine_root(
            lambda mired: float(along(1e6 / mired)),
            1e6 / _SEARCH_KELVIN[index], float(offsets[index]),
            1e6 / _SEARCH_KELVIN[index + 1], float(offsets[index + 1]),
        )
    _, normal = _tangent_and_normal(kelvin)
    tint = float(np.dot(target - locus_uv(kelvin), normal)) * TINT_SCALE
    return float(kelvin), tint


def _refine_root(function, low: float, f_low: float, high: float, f_high: float, tolerance: float = 1e-10) -> float:
    """A root of ``function`` in the bracket [low, high] (signs of f_low and f_high differ), by the Illinois
    variant of false position: as safe as bisection, but a handful of steps for a smooth function."""
    side = 0
    middle = low
    for _ in range(100):
        middle = (low * f_high - high * f_low) / (f_high - f_low)
        f_middle = function(middle)
        if f_middle == 0.0 or abs(high - low) < tolerance:
            break
        if (f_middle > 0) == (f_low > 0):
            low, f_low = middle, f_middle
            if side == -1:
                f_high /= 2.0
            side = -1
        else:
            high, f_high = middle, f_middle
            if side == 1:
                f_low /= 2.0
            side = 1
    return middle


def temperature_tint_from_xyz(xyz: np.ndarray) -> tuple[float, float]:
    """(kelvin, tint) of a light given as CIE XYZ (any brightness)."""
    xyz = np.asarray(xyz, dtype=np.float64)
    total = float(xyz.sum())
    if not np.isfinite(total) or total <= 0.0:
        raise ValueError(f"XYZ {xyz.tolist()} is not a light colour")
    return temperature_tint_from_xy(xyz[0] / total, xyz[1] / total)
