"""sRGB: its primaries and luminance weights, its transfer curve, and fast encoders from linear float to
8/16-bit output. Every sRGB and luma constant of PhotoLab is here, once."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from photolab.core.bands import run_shared

# Linear sRGB (Rec. 709 primaries, D65) to CIE XYZ, IEC 61966-2-1.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ],
    dtype=np.float64,
)
XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)

LUMA_WEIGHTS = SRGB_TO_XYZ[1].astype(np.float32)
"""Relative luminance Y of linear sRGB (the Y row of SRGB_TO_XYZ: the Rec. 709 weights); sums to 1."""
_LUMA_ROW = LUMA_WEIGHTS.reshape(1, 3)

# The sRGB transfer curve: a straight segment near black, then an offset 1/2.4 power law.
SRGB_LINEAR_KNEE = 0.0031308  # linear value where the power law takes over ...
SRGB_ENCODED_KNEE = 0.04045  # ... and its encoded value
SRGB_SLOPE = 12.92  # of the straight segment
SRGB_GAMMA = 2.4
SRGB_SCALE = 1.055  # encoded = SRGB_SCALE * linear ** (1 / SRGB_GAMMA) - SRGB_OFFSET
SRGB_OFFSET = 0.055


def srgb_curve(linear: np.ndarray) -> np.ndarray:
    """The sRGB encoding of non-negative linear values, in their own float precision, not clipped (the power
    law continues above 1)."""
    return np.where(linear <= SRGB_LINEAR_KNEE, SRGB_SLOPE * linear,
                    SRGB_SCALE * np.power(linear, 1 / SRGB_GAMMA) - SRGB_OFFSET)


def srgb_curve_inverse(encoded: np.ndarray) -> np.ndarray:
    """The inverse of :func:`srgb_curve`: non-negative sRGB-encoded values to linear, in their precision."""
    return np.where(encoded <= SRGB_ENCODED_KNEE, encoded / SRGB_SLOPE,
                    np.power((encoded + SRGB_OFFSET) / SRGB_SCALE, SRGB_GAMMA))


def luminance(pixels: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
    """Relative luminance Y (:data:`LUMA_WEIGHTS`), float32 (H, W), of linear sRGB pixels (H, W, 3); written
    into ``dst`` (float32 (H, W)) when given."""
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if dst is None:
        return cv2.transform(pixels, _LUMA_ROW).reshape(pixels.shape[:2])
    return cv2.transform(pixels, _LUMA_ROW, dst=dst)


def clip_unit(values: np.ndarray) -> np.ndarray:
    """A float32 copy clipped to [0, 1] with NaN as 0 (black), whatever the array library makes of NaN.

    ``np.fmax``/``np.fmin`` are defined to return the non-NaN operand, so NaN meets the lower bound first and
    stays 0; +inf becomes 1 and -inf 0.
    """
    clipped = np.fmax(np.asarray(values, dtype=np.float32), np.float32(0.0))
    return np.fmin(clipped, np.float32(1.0), out=clipped)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] values to sRGB-encoded [0, 1] floats (exact IEC 61966-2-1 curve, clipped; NaN is 0)."""
    return srgb_curve(clip_unit(linear)).astype(np.float32)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded [0, 1] values to linear floats."""
    return srgb_curve_inverse(np.asarray(encoded, dtype=np.float32)).astype(np.float32)


# Encoding goes through a 65536-entry lookup table. The input is first clipped to [0, 1] with NaN made black
# explicitly (clip_unit: OpenCV's min/max and saturating casts treat NaN differently from release to
# release); OpenCV's multiply with an integer output type then does the scaling and rounding in one pass. For 8-bit output
# the index is linear (one step is under 0.06 of an output code even at black); for 16-bit output it is
# sqrt(linear), which spends the codes where sRGB needs them (near black one step is ~1e-7 linear). Either
# way the result is within one output code of the exact curve, several times faster than a power law.
_INDEX_MAX = 65535
_ENCODE_BAND = 1 << 18  # values encoded per band


@functools.lru_cache(maxsize=2)
def _encode_lut(dtype_name: str) -> np.ndarray:
    dtype = np.dtype(dtype_name)
    index = np.arange(_INDEX_MAX + 1, dtype=np.float64) / _INDEX_MAX
    linear = index if dtype == np.uint8 else index * index
    return np.round(srgb_curve(linear) * np.iinfo(dtype).max).astype(dtype)


def encode_srgb_integer(linear: np.ndarray, dtype=np.uint8) -> np.ndarray:
    """Linear float pixels to sRGB-encoded uint8 or uint16, clipped to [0, 1] with NaN as black (the output
    stage of every export and preview)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16):
        raise ValueError(f"sRGB encoding is to uint8 or uint16, not {dtype}")
    linear = np.ascontiguousarray(linear, dtype=np.float32)
    # OpenCV treats a scalar operand as a per-channel Scalar, so work on a single-channel 2-D view, in bands of
    # rows shared out among the cores.
    plane = linear.reshape(linear.shape[0] if linear.ndim > 1 else 1, -1)
    out = np.empty(plane.shape, dtype)
    lut = _encode_lut(dtype.name)
    rows = max(1, _ENCODE_BAND // max(1, plane.shape[1]))

    def encode_band(band: int, _state) -> None:
        part = clip_unit(plane[band * rows:(band + 1) * rows])
        if dtype == np.uint16:
            part = cv2.sqrt(part)
        index = cv2.multiply(part, float(_INDEX_MAX), dtype=cv2.CV_16U)
        np.take(lut, index.reshape(part.shape), out=out[band * rows:(band + 1) * rows])

    run_shared(-(-plane.shape[0] // rows), encode_band, lambda: None)
    return out.reshape(linear.shape)


def decode_srgb_integer(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded uint8/uint16 pixels to linear float32 through a lookup table."""
    encoded = np.asarray(encoded)
    maximum = np.iinfo(encoded.dtype).max
    lut = srgb_decode(np.arange(maximum + 1, dtype=np.float32) / maximum)
    return lut[encoded]
