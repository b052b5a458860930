"""Measuring the noise of an sRGB image from its pixels: Immerkaer's estimate per block, and the noise level
function over brightness (:class:`NoiseEstimate`). Pure NumPy/OpenCV, used by the Denoise step's Auto and
adaptive maps when a photo has no RAW noise profile (see ``photolab.core.noise_profile`` and
``photolab.core.noise_map`` for those).

:func:`estimate_noise` reads white noise. A camera's JPEG holds little of that: demosaicing spreads the noise
over neighbouring pixels, sharpening and JPEG reshape it, and Immerkaer's operator, which looks at single-
pixel differences, reads a half to a fifth of it. :func:`estimate_strength` therefore reads the noise at
full and half resolution in the same small cells, the flattest ones (white noise reads the same at both; a
camera's grows at the coarser one), and turns the two into the denoiser strength that works best, with a log-linear rule calibrated on
simulated camera JPEGs (``training/calibrate_auto_denoise.py``, stored in
``resources/calibration/auto-denoise.json``).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from photolab.core.errors import DenoiseError
from photolab.core.noise_map import MAX_SIGMA


@dataclass(frozen=True)
class NoiseEstimate:
    """The noise of a photo: an overall ``sigma`` and a noise level function (0-255 scale both).

    ``levels`` are mean sRGB brightnesses (0-1) and ``sigmas`` the noise std measured at each; a signal-
    dependent map follows the function, a uniform map uses ``sigma``.
    """

    sigma: float
    levels: tuple[float, ...] = ()
    sigmas: tuple[float, ...] = ()

    def map_for(self, srgb: np.ndarray, strength: float | None = None) -> np.ndarray:
        """A per-pixel noise map (0-1 scale, (H, W)) for ``srgb`` following the noise level function,
        scaled so that its overall level is ``strength`` (0-255; default: the estimate itself)."""
        level = self.sigma if strength is None else float(strength)
        if not self.levels or self.sigma <= 0:  # no function measured (or no noise found): a uniform level
            return np.full(srgb.shape[:2], min(level, MAX_SIGMA) / 255, np.float32)
        scale = level / self.sigma
        brightness = cv2.GaussianBlur(np.clip(srgb, 0, 1).mean(axis=2).astype(np.float32), (0, 0), 2.0)
        curve = np.interp(brightness, self.levels, self.sigmas).astype(np.float32)
        return np.clip(curve * (scale / 255), 0.0, MAX_SIGMA / 255)


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_BLOCK = 16
_SAMPLE = 16 * 32 + 2  # side of the regions a large photo is measured in (32 blocks and a pixel of context)
_SAMPLES = 4  # per axis: a large photo is measured in at most 4 x 4 regions spread over it (about 4 MP)


def estimate_noise(srgb: np.ndarray, bins: int = 8) -> NoiseEstimate:
    """Estimate the noise of an sRGB image (H, W, 3 or H, W; float 0-1 or integers).

    Immerkaer's operator (a Laplacian difference that cancels smooth image content) is applied to every
    channel; its mean absolute value in 16x16 blocks gives a per-block noise estimate that texture can only
    raise, so a low quantile of the blocks of each brightness is kept. Clipped samples (and the responses
    that touch them) are left out, and so are blocks where more than a tenth of the responses would be (more,
    if that leaves too few blocks): a noisy photo's dark and bright blocks hold a few clipped samples, yet
    still say what the noise is. A long side is measured in 4 stretches of 514 px spread over it, so a large
    photo costs at most 4 x 4 such regions of time and memory (the blocks' statistics are the same).
    Returns the overall sigma (0-255) and the noise level function over brightness.
    """
    image = np.asarray(srgb)
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    if (height - 2) // _BLOCK < 2 or (width - 2) // _BLOCK < 2:
        raise DenoiseError(f"the image ({width}x{height}) is too small to estimate its noise")
    stats = [_block_stats(image[rows, cols]) for rows in _sample_spans(height) for cols in _sample_spans(width)]
    block_sigma, block_mean, counts = (np.concatenate(parts) for parts in zip(*stats))
    for share in (0.9, 0.6, 0.3):  # very noisy photos clip in most blocks: accept more of them, rather than none
        usable = counts >= share * _BLOCK * _BLOCK * image.shape[2]
        if usable.sum() >= 4:
            break
    else:
        return NoiseEstimate(0.0)
    block_sigma, block_mean = block_sigma[usable], block_mean[usable]
    overall = float(np.quantile(block_sigma, 0.2))
    edges = np.quantile(block_mean, np.linspace(0, 1, bins + 1))
    levels, sigmas = [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (block_mean >= low) & (block_mean <= high)
        if inside.sum() >= 8:
            levels.append(float(np.median(block_mean[inside])))
            sigmas.append(float(np.quantile(block_sigma[inside], 0.2)))
    if len(levels) < 2 or np.any(np.diff(levels) <= 0):
        return NoiseEstimate(overall)
    return NoiseEstimate(overall, tuple(levels), tuple(sigmas))


AUTO_CALIBRATION = Path(__file__).resolve().parents[2] / "resources" / "calibration" / "auto-denoise.json"
_CELL = 16  # full-resolution pixels a side of the cells both resolutions are read in
_FLATTEST = 0.1  # the share of cells (the flattest at half resolution) whose readings count
_FEWEST_CELLS = 64  # an image with fewer cells (under about 128 x 128 px) is read as white noise: the flattest
# tenth of a few cells is too few to tell texture from correlated noise
_IDENTITY_RULE = (0.0, 1.0, 0.0)


@functools.lru_cache(maxsize=1)
def _strength_rule() -> tuple[float, float, float]:
    """(c0, c1, c2) of log(strength + 1) = c0 + c1 log(full + 1) + c2 log(half + 1), from the calibration
    card; the identity on the full-resolution reading when the card is missing or damaged."""
    try:
        card = json.loads(AUTO_CALIBRATION.read_text(encoding="utf-8"))
        rule = tuple(float(c) for c in card["coefficients"])
    except (OSError, ValueError, KeyError, TypeError):
        return _IDENTITY_RULE
    if len(rule) != 3 or not all(math.isfinite(c) for c in rule):
        return _IDENTITY_RULE
    return rule  # type: ignore[return-value]


def _cell_readings(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Immerkaer's noise reading (0-255) of every _CELL x _CELL cell of an (h, w, c) float region at full and
    at half resolution (times 2, so white noise reads the same at both); cells that touch clipping are left
    out."""
    height, width = region.shape[0] // _CELL * _CELL, region.shape[1] // _CELL * _CELL
    region = region[:height, :width]
    half = cv2.resize(region, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    if half.ndim == 2:
        half = half[:, :, None]
    scale = math.sqrt(math.pi / 2) / 6 * 255

    def cells(image: np.ndarray, side: int) -> np.ndarray:
        response = np.mean([np.abs(cv2.filter2D(image[:, :, c], -1, _IMMERKAER, borderType=cv2.BORDER_REFLECT))
                            for c in range(image.shape[2])], axis=0)
        return response.reshape(response.shape[0] // side, side, response.shape[1] // side, side).mean(axis=(1, 3))

    unclipped = ((region > 0.5 / 255) & (region < 254.5 / 255)).all(axis=2).astype(np.float32)
    usable = unclipped.reshape(height // _CELL, _CELL, width // _CELL, _CELL).mean(axis=(1, 3)) > 0.9
    return (cells(region, _CELL) * scale)[usable], (cells(half, _CELL // 2) * scale * 2)[usable]


def correlated_readings(srgb: np.ndarray) -> tuple[float, float]:
    """(full, half): the noise read by Immerkaer's operator at full and at half resolution in the same cells,
    the flattest tenth of them at half resolution (where texture adds least). White noise reads the same at
    both; a camera's correlated noise reads higher at half resolution. DenoiseError when the image has too
    few usable cells."""
    image = np.asarray(srgb)
    if image.ndim == 2:
        image = image[:, :, None]
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.iinfo(image.dtype).max
    image = np.ascontiguousarray(image, dtype=np.float32)
    if min(image.shape[:2]) < 2 * _CELL:
        raise DenoiseError(f"the image ({image.shape[1]}x{image.shape[0]}) is too small to estimate its noise")
    readings = [_cell_readings(image[rows, cols]) for rows in _sample_spans(image.shape[0])
                for cols in _sample_spans(image.shape[1])]
    full = np.concatenate([r[0] for r in readings])
    half = np.concatenate([r[1] for r in readings])
    if len(half) < 8:
        raise DenoiseError(f"the image ({image.shape[1]}x{image.shape[0]}) is too small or too clipped to "
                           f"estimate its noise")
    flattest = half <= np.quantile(half, _FLATTEST)
    return float(np.median(full[flattest])), float(np.median(half[flattest]))


def estimate_strength(srgb: np.ndarray) -> NoiseEstimate:
    """The denoiser strength for an sRGB image's own noise (white or a camera's), as a NoiseEstimate: ``sigma``
    is the strength (0-255 scale) from :func:`correlated_readings` and the calibrated rule, and the noise level
    function is the half-resolution one (which follows a camera's noise over brightness better than
    single-pixel differences do), scaled to it. DenoiseError when the image is too small to measure; an image
    of fewer than 64 cells (or clipped almost everywhere) is read as white noise (:func:`estimate_noise`)."""
    image = np.asarray(srgb)
    if (image.shape[0] // _CELL) * (image.shape[1] // _CELL) < _FEWEST_CELLS:
        return estimate_noise(srgb)
    try:
        full, half = correlated_readings(srgb)
    except DenoiseError:  # clipped almost everywhere
        return estimate_noise(srgb)
    c0, c1, c2 = _strength_rule()
    strength = float(np.clip(math.exp(c0 + c1 * math.log(full + 1.0) + c2 * math.log(half + 1.0)) - 1.0,
                             0.0, MAX_SIGMA))
    try:
        shape = estimate_noise(cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                                          interpolation=cv2.INTER_AREA))
    except DenoiseError:
        return NoiseEstimate(strength)
    if strength <= 0 or shape.sigma <= 0 or not shape.levels:
        return NoiseEstimate(strength)
    ratio = strength / shape.sigma
    return NoiseEstimate(strength, shape.levels, tuple(v * ratio for v in shape.sigmas))


def _sample_spans(size: int) -> list[slice]:
    """The measured stretches of one axis: all of it when it is short, else :data:`_SAMPLES` stretches of
    :data:`_SAMPLE` px spread evenly."""
    if size <= _SAMPLES * _SAMPLE:
        return [slice(0, size)]
    return [slice(start, start + _SAMPLE) for start in np.linspace(0, size - _SAMPLE, _SAMPLES).round().astype(int)]


def _block_stats(region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 16x16 block of an (h, w, c) region: noise estimate (0-255), mean value (0-1), usable responses."""
    if np.issubdtype(region.dtype, np.integer):
        region = region.astype(np.float32) / np.iinfo(region.dtype).max
    region = np.ascontiguousarray(region, dtype=np.float32)
    rows, cols = (region.shape[0] - 2) // _BLOCK, (region.shape[1] - 2) // _BLOCK
    inside = (slice(1, 1 + rows * _BLOCK), slice(1, 1 + cols * _BLOCK))
    response = np.abs(np.stack([cv2.filter2D(region[:, :, c], -1, _IMMERKAER, borderType=cv2.BORDER_REFLECT)
                                for c in range(region.shape[2])], axis=2))[inside]
    unclipped = ((region > 0.5 / 255) & (region < 254.5 / 255)).astype(np.uint8)
    valid = np.stack([cv2.erode(unclipped[:, :, c], np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REFLECT)
                      for c in range(region.shape[2])], axis=2)[inside].astype(np.float32)

    def blocks(a: np.ndarray, reduce: Callable) -> np.ndarray:
        return reduce(a.reshape(rows, _BLOCK, cols, _BLOCK, -1), axis=(1, 3, 4)).ravel()

    counts = blocks(valid, np.sum)
    block_sigma = blocks(response * valid, np.sum) / np.maximum(counts, 1) * (math.sqrt(math.pi / 2) / 6) * 255
    return block_sigma, blocks(region[inside], np.mean), counts
