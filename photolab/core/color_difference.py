"""How different two sRGB images look: CIELAB and the CIEDE2000 colour difference (numpy only).

:func:`ciede2000` follows Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula: implementation
notes, supplementary test data, and mathematical observations" (kL = kC = kH = 1); its test pairs are in the
tests. A difference of about 1 is just noticeable side by side, 2 is small.
"""

from __future__ import annotations

import numpy as np

from photolab.core.color import SRGB_TO_XYZ, srgb_curve_inverse

_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(srgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB-encoded values in [0, 1] (..., 3), float64."""
    linear = srgb_curve_inverse(np.clip(np.asarray(srgb, np.float64), 0.0, 1.0))
    xyz = linear @ np.asarray(SRGB_TO_XYZ, np.float64).T / _D65_WHITE
    delta = 6.0 / 29.0
    f = np.where(xyz > delta ** 3, np.cbrt(xyz), xyz / (3 * delta * delta) + 4.0 / 29.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
                    axis=-1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 difference of CIELAB values (..., 3), elementwise."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, np.float64), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0
    g = 0.5 * (1.0 - np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    dl, dc = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    zero = c1p * c2p == 0
    dh = np.where(zero, 0.0, dh)
    dhh = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2.0))
    lp, cp = (l1 + l2) / 2.0, (c1p + c2p) / 2.0
    hsum = h1p + h2p
    hp = np.where(np.abs(h1p - h2p) > 180.0, np.where(hsum < 360.0, (hsum + 360.0) / 2.0, (hsum - 360.0) / 2.0),
                  hsum / 2.0)
    hp = np.where(zero, hsum, hp)
    t = (1.0 - 0.17 * np.cos(np.radians(hp - 30.0)) + 0.24 * np.cos(np.radians(2.0 * hp))
         + 0.32 * np.cos(np.radians(3.0 * hp + 6.0)) - 0.20 * np.cos(np.radians(4.0 * hp - 63.0)))
    d_theta = 30.0 * np.exp(-(((hp - 275.0) / 25.0) ** 2))
    rc = 2.0 * np.sqrt(cp ** 7 / (cp ** 7 + 25.0 ** 7))
    sl = 1.0 + 0.015 * (lp - 50.0) ** 2 / np.sqrt(20.0 + (lp - 50.0) ** 2)
    sc, sh = 1.0 + 0.045 * cp, 1.0 + 0.015 * cp * t
    rt = -np.sin(np.radians(2.0 * d_theta)) * rc
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))


def mean_ciede2000(srgb1: np.ndarray, srgb2: np.ndarray, max_pixels: int = 1 << 20) -> float:
    """Mean CIEDE2000 between two sRGB-encoded images of one shape (a regular subsample of at most
    ``max_pixels`` pixels)."""
    first, second = np.asarray(srgb1).reshape(-1, 3), np.asarray(srgb2).reshape(-1, 3)
    step = max(1, first.shape[0] // max_pixels)
    return float(ciede2000(srgb_to_lab(first[::step]), srgb_to_lab(second[::step])).mean())


def psnr(result: np.ndarray, target: np.ndarray) -> float:
    """PSNR (dB) of ``result`` against ``target`` (both [0, 1]; the result clipped first)."""
    mse = float(np.mean((np.clip(np.asarray(result, np.float64), 0, 1) - np.asarray(target, np.float64)) ** 2))
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))
