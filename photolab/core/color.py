"""sRGB transfer functions and fast encoders from linear float to 8/16-bit output."""

from __future__ import annotations

import functools

import cv2
import numpy as np

# Encoding goes through a lookup table indexed by sqrt(linear) in 16 bits: the square-root domain spends its
# codes where sRGB needs them (near black one index step is ~1e-7 linear), so the result is within one
# output code of the exact curve at a fraction of the cost of a per-pixel power law.
_SQRT_LUT_SIZE = 65536


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] values to sRGB-encoded [0, 1] floats (exact IEC 61966-2-1 curve, clipped)."""
    x = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded [0, 1] values to linear floats."""
    x = np.asarray(encoded, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


@functools.lru_cache(maxsize=2)
def _encode_lut(dtype_name: str) -> np.ndarray:
    dtype = np.dtype(dtype_name)
    root = np.arange(_SQRT_LUT_SIZE, dtype=np.float64) / (_SQRT_LUT_SIZE - 1)
    linear = root * root
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(encoded * np.iinfo(dtype).max).astype(dtype)


def encode_srgb_integer(linear: np.ndarray, dtype=np.uint8) -> np.ndarray:
    """Linear float pixels to sRGB-encoded uint8 or uint16, clipped to [0, 1] (the output stage of every
    export and preview)."""
    lut = _encode_lut(np.dtype(dtype).name)
    linear = np.ascontiguousarray(linear, dtype=np.float32)
    # OpenCV treats a scalar operand as a per-channel Scalar, so work on a single-channel 2-D view.
    plane = linear.reshape(linear.shape[0] if linear.ndim > 1 else 1, -1)
    root = cv2.sqrt(cv2.max(plane, 0.0))
    index = cv2.min(cv2.multiply(root, float(_SQRT_LUT_SIZE - 1)), float(_SQRT_LUT_SIZE - 1))
    return lut[cv2.add(index, 0.5).astype(np.uint16)].reshape(linear.shape)


def decode_srgb_integer(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded uint8/uint16 pixels to linear float32 through a lookup table."""
    encoded = np.asarray(encoded)
    maximum = np.iinfo(encoded.dtype).max
    lut = srgb_decode(np.arange(maximum + 1, dtype=np.float32) / maximum)
    return lut[encoded]
