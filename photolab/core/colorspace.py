"""Output colour spaces: sRGB, Display P3 and Adobe RGB (1998), from PhotoLab's linear sRGB.

Every space here has a D65 white, so converting is one matrix, linear sRGB -> XYZ -> the space's linear RGB,
then the space's transfer curve: the sRGB curve for sRGB and Display P3, a pure 563/256 power for Adobe RGB.
The matrices are derived from each space's xy primaries and the sRGB white of :data:`~photolab.core.color.
SRGB_TO_XYZ`, so white stays exactly white. :mod:`photolab.core.icc` describes the same spaces as ICC profiles.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.color import SRGB_TO_XYZ, clip_unit, encode_srgb_integer, srgb_encode

D65_WHITE_XYZ = SRGB_TO_XYZ.sum(axis=1)
"""The white (R = G = B = 1) of every output space, in XYZ with Y = 1."""
D50_WHITE_XYZ = np.array([0.9642, 1.0, 0.8249])
"""The ICC profile connection space's illuminant, as ICC.1 specifies it (s15Fixed16-exact)."""

# Bradford cone response matrix (Lam 1985), for chromatic adaptation.
BRADFORD = np.array([[0.8951, 0.2664, -0.1614],
                     [-0.7502, 1.7135, 0.0367],
                     [0.0389, -0.0685, 1.0296]])


@dataclass(frozen=True)
class ColorSpace:
    """An RGB output space: its xy primaries (red, green, blue), its transfer curve (``gamma`` None: the sRGB
    curve, else a pure power law encoded = linear ** (1 / gamma)) and its names."""

    key: str  # the CLI and settings name
    label: str  # what the window shows
    description: str  # the ICC profile's description
    primaries: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    gamma: float | None = None


COLOR_SPACES: dict[str, ColorSpace] = {space.key: space for space in (
    ColorSpace("srgb", "sRGB", "sRGB IEC61966-2.1 (PhotoLab)", ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))),
    ColorSpace("display-p3", "Display P3", "Display P3 (PhotoLab)", ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))),
    ColorSpace("adobe-rgb", "Adobe RGB (1998)", "Adobe RGB (1998) compatible (PhotoLab)",
               ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), gamma=563 / 256),
)}
DEFAULT_COLOR_SPACE = "srgb"


def color_space(key: str) -> ColorSpace:
    """The space named ``key`` (one of COLOR_SPACES); a ValueError names the choices otherwise."""
    try:
        return COLOR_SPACES[key]
    except KeyError:
        raise ValueError(f"unknown colour space {key!r}; choose {', '.join(COLOR_SPACES)}") from None


@functools.lru_cache(maxsize=None)
def rgb_to_xyz(key: str) -> np.ndarray:
    """The space's linear RGB -> XYZ (D65) matrix; columns are the primaries' XYZ, rows sum to the D65 white."""
    if key == "srgb":
        return SRGB_TO_XYZ.copy()
    space = color_space(key)
    primaries = np.array([[x / y, 1.0, (1.0 - x - y) / y] for x, y in space.primaries]).T  # XYZ with Y = 1
    scale = np.linalg.solve(primaries, D65_WHITE_XYZ)
    return primaries * scale


@functools.lru_cache(maxsize=None)
def from_linear_srgb(key: str) -> np.ndarray:
    """The matrix taking linear sRGB to the space's linear RGB (identity for sRGB)."""
    if key == "srgb":
        return np.eye(3)
    return np.linalg.inv(rgb_to_xyz(key)) @ SRGB_TO_XYZ


def bradford_adaptation(source_white: np.ndarray, target_white: np.ndarray) -> np.ndarray:
    """The Bradford matrix moving XYZ colours seen under ``source_white`` to ``target_white``."""
    source = BRADFORD @ np.asarray(source_white, dtype=np.float64)
    target = BRADFORD @ np.asarray(target_white, dtype=np.float64)
    return np.linalg.inv(BRADFORD) @ np.diag(target / source) @ BRADFORD


def d50_colorants(key: str) -> np.ndarray:
    """The space's primaries as D50-adapted XYZ columns (what an ICC profile's rXYZ, gXYZ, bXYZ hold)."""
    return bradford_adaptation(D65_WHITE_XYZ, D50_WHITE_XYZ) @ rgb_to_xyz(key)


def encode_linear(linear: np.ndarray, key: str) -> np.ndarray:
    """The exact float encoding (clipped to [0, 1]) of linear values of the space ``key`` (not linear sRGB)."""
    space = color_space(key)
    if space.gamma is None:
        return srgb_encode(linear)
    return np.power(clip_unit(linear), np.float32(1.0 / space.gamma)).astype(np.float32)


def encode_integer(linear_srgb: np.ndarray, key: str, dtype=np.uint8) -> np.ndarray:
    """Linear sRGB float pixels (H, W, 3) converted to the space ``key`` and encoded as uint8/uint16 with its
    curve; out-of-gamut values are clipped, NaN is black. For sRGB this is encode_srgb_integer exactly."""
    if key == "srgb":
        return encode_srgb_integer(linear_srgb, dtype)
    space = color_space(key)
    converted = cv2.transform(np.ascontiguousarray(linear_srgb, dtype=np.float32),
                              from_linear_srgb(key).astype(np.float32))
    if space.gamma is None:
        return encode_srgb_integer(converted, dtype)
    dtype = np.dtype(dtype)
    plane = clip_unit(converted.reshape(converted.shape[0], -1))
    encoded = cv2.pow(plane, 1.0 / space.gamma)
    depth = cv2.CV_8U if dtype == np.uint8 else cv2.CV_16U
    return cv2.multiply(encoded, float(np.iinfo(dtype).max), dtype=depth).reshape(converted.shape)
