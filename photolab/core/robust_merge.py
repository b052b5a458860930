"""The robust merge both burst paths share (RGB frames in :mod:`photolab.core.burst`, RAW mosaics in
:mod:`photolab.core.raw_burst`): the noise of a difference statistic measured on the burst itself, each
aligned frame's weight from two tests against that noise, and the weighted mean with the reference.
"""

from __future__ import annotations

import cv2
import numpy as np

from photolab.core.bands import run_in_bands

SHRINK = 9.0  # a local mean difference of 3 noise sigmas gets half weight
ENERGY_TOLERANCE = 0.6  # ... and so does a local mean squared difference 60 % above the noise's
_BAND_ROWS = 64


def binned_noise(level_map: np.ndarray, statistics: list[np.ndarray], quartile: float,
                 bins: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """The noise level of a difference statistic (``statistics``, one map per frame) in brightness bins of
    ``level_map``: each bin's lower quartile (robust even where most pixels of a bin moved) divided by
    ``quartile``, the statistic's lower quartile for pure noise. Returns (bin centres, variances); a single
    bin at 0 when fewer than three bins hold enough pixels."""
    step = max(1, int(np.sqrt(level_map.size / 200_000)))
    level = level_map[::step, ::step].ravel()
    squares = np.concatenate([s[::step, ::step].ravel() for s in statistics])
    levels = np.tile(level, len(statistics))
    edges = np.unique(np.quantile(level, np.linspace(0, 1, bins + 1)))
    centres, variances = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (levels >= lo) & (levels <= hi)
        if inside.sum() >= 50:
            centres.append(float(np.median(levels[inside])))
            variances.append(float(np.quantile(squares[inside], 0.25)) / quartile)
    if len(centres) < 3:
        return np.array([0.0]), np.array([float(np.quantile(squares, 0.25)) / quartile + 1e-12])
    return np.array(centres), np.array(variances)


def robust_weight(mean_test: np.ndarray, energy_test: np.ndarray, window: int) -> np.ndarray:
    """A frame's weight per pixel from two tests: ``mean_test``, the local mean difference's square over
    SHRINK times its noise variance (slow changes, very sensitive), and ``energy_test``, the local mean squared
    difference over the noise's (texture that changed, whose mean difference may be zero). A steep fall-off,
    and a frame that moved anywhere near a pixel gives it up too (``window`` x ``window`` minimum)."""
    excess = cv2.multiply(cv2.subtract(energy_test, 1.0), 1 / ENERGY_TOLERANCE)
    ratio = cv2.max(mean_test, excess)
    ratio = cv2.multiply(ratio, ratio)
    return cv2.erode(cv2.divide(1.0, cv2.add(cv2.multiply(ratio, ratio), 1.0)),
                     np.ones((window, window), np.uint8))


def weighted_mean(reference: np.ndarray, frames: list[np.ndarray], weights: list[np.ndarray]) -> np.ndarray:
    """(reference + sum of frame_i x weight_i) / (1 + sum of weight_i), in row bands on all cores; the
    frames are (H, W) or (H, W, 3), the weights (H, W)."""
    out = np.empty(reference.shape, np.float32)
    channels = reference.shape[2] if reference.ndim == 3 else 0

    def spread(weight: np.ndarray) -> np.ndarray:
        return cv2.merge([weight] * channels) if channels else weight

    def band(start: int, end: int) -> None:
        rows = slice(start, end)
        total = reference[rows].copy()
        norm = np.ones(total.shape[:2], np.float32)
        for frame, weight in zip(frames, weights):
            total = cv2.add(total, cv2.multiply(frame[rows], spread(weight[rows])))
            norm = cv2.add(norm, weight[rows])
        out[rows] = cv2.multiply(total, spread(cv2.divide(1.0, norm)))

    run_in_bands(reference.shape[0], _BAND_ROWS, band)
    return out
