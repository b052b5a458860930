"""The sensor noise of a camera RAW photo, measured on its mosaic (its noise profile).

Why the mosaic: demosaicing interpolates two of every three colour values of a pixel from its neighbours, so
the developed photo's noise is spatially correlated and low-passed, and an operator that sees the finest scale
only (Immerkaer's, :func:`photolab.core.noise_estimate.estimate_noise`) reads it about three times too low. On the
mosaic every photosite's noise is independent, and each of the four CFA phases (every other row and column)
is a plain image with white noise, free of any demosaicing.

The model is the camera's: the normalised mosaic value ``x = (raw - black) / (white - black)`` has the noise
variance ``a*x + b`` (shot noise, Poisson; read noise, Gaussian). It is measured per CFA phase in 8 x 8 blocks
(16 x 16 photosites): Immerkaer's operator cancels smooth content, its mean absolute value gives the block's
noise, texture can only raise it, so a low quantile of the blocks of each brightness is kept; a least-squares
line through those (variance, brightness) points gives ``a`` and ``b`` (both >= 0). A large sensor is measured
in at most 6 x 6 regions of 260 x 260 photosites spread over it (about 2.4 MP: some 60 ms for 24 MP, the
photo's gain included). Its limit is texture: where the noise is far below the scene's fine detail (base ISO)
no block is flat enough, and the noise reads high (2.6x on the bundled sample photo, whose noise is tiny).

The profile is held in the developed photo's linear units (see :func:`photo_units`), so that
:mod:`photolab.core.noise_map` makes the denoiser's noise-level maps from it exactly as in training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import rawpy

from photolab.core.photo import NoiseProfile

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_IMMERKAER_SCALE = math.sqrt(math.pi / 2) / 6  # mean |response| of white noise of std 1 is 6 * sqrt(2 / pi)
_BLOCK = 8  # block side on a CFA phase plane (16 photosites)
_REGION_BLOCKS = 16  # blocks per side of a sampled region
_REGION = 2 * (_BLOCK * _REGION_BLOCKS + 2)  # side of a sampled region in photosites (a one-sample halo)
_REGIONS = 6  # per axis: a large mosaic is measured in at most 6 x 6 regions
_BINS = 10  # brightness bins of the noise level function
_MIN_BLOCKS = 10  # per bin
# Texture only raises a block's noise, and at low ISO it is everywhere on a phase plane (which samples the scene
# at half the photo's resolution): small blocks and a low quantile of them find the flattest. On 24 synthetic
# noisy DNGs (a = 0.01 and 0.004; crops of the sample photo and three fixtures, three seeds) 8 x 8 blocks and the
# 10 % quantile read a at 0.94-1.09x and the map's level at 0.96-1.09x, as 16 x 16 blocks and the 25 % quantile
# do; on the sample photo's own very low noise they read 2.3-2.6x its level (16 x 16 and 25 %: 5.9x).
_QUANTILE = 0.1
# The 10 % quantile of pure-noise blocks' variance estimates lies below the true variance (an 8 x 8 block's
# noise estimate scatters by about 17 %): 0.64 of it, measured on white noise (tests/core/test_noise_profile.py).
_QUANTILE_BIAS = 0.64
_CLIP = 0.98  # samples at or above this share of the saturation level (or at 0) are clipped
_PILE = 16  # photosites at (about) one raw value that can make it a saturation level ...
_SPIKE = 8  # ... when that is this many times the counts of the values just below
_GAIN_MAX_RAW = 0.9  # blocks used for the photo's gain stay below this raw level (LibRaw's highlight handling)
_GAIN_MIN_RAW = 0.01  # ... and above this (the ratio of two tiny numbers is mostly noise)


@dataclass(frozen=True)
class MosaicSample:
    """Regions of a Bayer mosaic, normalised, copied before LibRaw develops it (about 2.4 MP at most)."""

    regions: tuple[tuple[int, int, np.ndarray, np.ndarray], ...]  # (row, col, normalised (h, w), clipped (h, w))
    colors: np.ndarray  # (2, 2): colour 0 (R), 1 (G), 2 (B) of each phase, from the regions' top-left photosite
    shape: tuple[int, int]  # of the visible mosaic
    orientation: int  # the EXIF orientation that turns the mosaic's layout into the upright developed photo
    step: float = 0.0  # one raw unit, normalised (the largest of the phases')


@dataclass(frozen=True)
class _Blocks:
    """A region's 16 x 16-photosite blocks: per phase (4, r, c) noise variance and mean; clipped (r, c)."""

    row: int
    col: int
    variances: np.ndarray
    means: np.ndarray
    clipped: np.ndarray


def _spans(size: int) -> list[tuple[int, int]]:
    """(start, end) of the measured stretches of one axis, even starts: all of it when it is short, else
    :data:`_REGIONS` stretches of :data:`_REGION` photosites spread evenly."""
    size &= ~1
    if size <= _REGIONS * _REGION:
        return [(0, size)]
    starts = np.linspace(0, size - _REGION, _REGIONS).round().astype(int) & ~1
    return [(int(s), int(s) + _REGION) for s in starts]


def sample_mosaic(raw, orientation: int) -> MosaicSample | None:
    """The regions of an opened rawpy RAW's visible mosaic that are measured (the sensor data is unpacked if
    it was not); None when it is no 2 x 2 RGB Bayer mosaic (X-Trans, Foveon, CMYG, a linear DNG) or too small.
    ``orientation``: the EXIF orientation LibRaw applies when developing."""
    try:
        pattern = np.asarray(raw.raw_pattern)
        description = bytes(raw.color_desc)  # what the pattern's numbers stand for
        mosaic = raw.raw_image_visible
        blacks = np.asarray(raw.black_level_per_channel, np.float64)
        white = float(raw.white_level)
    except (rawpy.LibRawError, AttributeError, TypeError, ValueError):  # no mosaic here: no profile, no error
        return None
    if mosaic is None or mosaic.ndim != 2 or pattern.shape != (2, 2) or blacks.size < 4 or description != b"RGBG":
        return None
    colors = np.where(pattern == 3, 1, pattern)
    if sorted(colors.ravel().tolist()) != [0, 1, 1, 2]:
        return None
    height, width = mosaic.shape
    if height < 8 * _BLOCK or width < 8 * _BLOCK:
        return None
    black = blacks[pattern]  # per phase
    if np.any(white <= black):
        return None
    raw_regions = [(y0, x0, mosaic[y0:y1, x0:x1]) for y0, y1 in _spans(height) for x0, x1 in _spans(width)]
    counts = sum(np.bincount(region.ravel(), minlength=1 << 16) for _, _, region in raw_regions)
    lowest = float(black.min())
    clip_at = lowest + _CLIP * (saturation(counts, lowest, white) - lowest)
    regions = []
    for y0, x0, region in raw_regions:
        values = region.astype(np.float32)
        for py in (0, 1):
            for px in (0, 1):
                phase = values[py::2, px::2]  # a view: normalised in place
                phase -= np.float32(black[py, px])
                phase *= np.float32(1.0 / (white - black[py, px]))
        regions.append((y0, x0, values, (region == 0) | (region >= clip_at)))  # 0: clipped at the bottom
    step = float(1.0 / (white - black.max()))
    return MosaicSample(tuple(regions), colors, (height, width), int(orientation), step)


def saturation(counts: np.ndarray, black: float, white: float) -> float:
    """The raw value where the sensor saturates, from the ``counts`` of every raw value among the samples.

    Sensors often saturate below the white level: a saturated area is many photosites at one value (or two or
    three neighbouring ones), a spike in the histogram far above the counts just below it, where noise spreads
    the unsaturated values out (a hot photosite is a few counts), with next to nothing above it. The highest
    such spike in the upper three quarters of the range is the saturation; without one, the white level."""
    values = np.arange(counts.size)
    peak = np.convolve(counts, np.ones(3), mode="same")  # a level may spread over neighbouring values
    below = np.convolve(counts, np.ones(16) / 16, mode="full")[:counts.size]  # mean of counts[v-15 .. v]
    below = np.concatenate([np.zeros(4), below[:-4]])  # of counts[v-19 .. v-4]
    above = counts.sum() - np.cumsum(counts)  # samples above each value (beyond the spike's own three)
    above = np.concatenate([above[1:], [0]])
    spikes = ((peak >= _PILE) & (peak > _SPIKE * (below + 1)) & (above <= max(_PILE, 1e-3 * counts.sum()))
              & (values > black + 0.25 * (white - black)) & (values <= white))
    found = np.flatnonzero(spikes)
    return float(found[-1]) if found.size else white


def _phase_blocks(values: np.ndarray, clipped: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 8 x 8 block of a phase plane: noise variance, mean, whether it touches a clipped sample."""
    rows, cols = (values.shape[0] - 2) // _BLOCK, (values.shape[1] - 2) // _BLOCK
    inside = (slice(1, 1 + rows * _BLOCK), slice(1, 1 + cols * _BLOCK))
    plane = np.ascontiguousarray(values)
    response = np.abs(cv2.filter2D(plane, -1, _IMMERKAER, borderType=cv2.BORDER_REFLECT))[inside]
    touched = cv2.dilate(np.ascontiguousarray(clipped, dtype=np.uint8), np.ones((3, 3), np.uint8))[inside]

    def blocks(a: np.ndarray, reduce) -> np.ndarray:
        return reduce(a.reshape(rows, _BLOCK, cols, _BLOCK), axis=(1, 3))

    sigma = blocks(response, np.mean) * _IMMERKAER_SCALE
    return sigma * sigma, blocks(plane[inside], np.mean), blocks(touched, np.max) > 0


def _blocks(sample: MosaicSample) -> list[_Blocks]:
    """Every region's block statistics (block (i, j) covers photosites from (row + 2 + 16 i, col + 2 + 16 j))."""
    out = []
    for row, col, values, clipped in sample.regions:
        stats = [_phase_blocks(values[py::2, px::2], clipped[py::2, px::2]) for py in (0, 1) for px in (0, 1)]
        rows, cols = min(s[0].shape[0] for s in stats), min(s[0].shape[1] for s in stats)
        if rows and cols:
            variances, means, bad = (np.stack([s[i][:rows, :cols] for s in stats]) for i in range(3))
            out.append(_Blocks(row, col, variances, means, bad.any(axis=0)))
    return out


def fit_noise_function(means: np.ndarray, variances: np.ndarray) -> tuple[float, float] | None:
    """(a, b) >= 0 of ``var = a*x + b`` through a low quantile of the block variances in each of up to
    :data:`_BINS` brightness bins (equal numbers of blocks, at least twice :data:`_MIN_BLOCKS` each, so a small
    photo has fewer bins); None when fewer than two bins have enough blocks.

    Two passes: the first takes each bin's quantile as the variance at its median brightness; the second takes
    the quantile of the variances divided by the first fit at each block's own brightness, so that the darker
    blocks of a bin (lower variance, more often among the lowest) do not pull the line down."""
    bins = min(_BINS, means.size // (2 * _MIN_BLOCKS))
    if bins < 2:
        return None
    edges = np.unique(np.quantile(means, np.linspace(0, 1, bins + 1)))
    members = [(means >= low) & (means <= high) for low, high in zip(edges[:-1], edges[1:])]
    members = [inside for inside in members if inside.sum() >= _MIN_BLOCKS]
    if len(members) < 2:
        return None
    xs = np.array([max(float(np.median(means[inside])), 0.0) for inside in members])
    vs = np.array([float(np.quantile(variances[inside], _QUANTILE)) for inside in members]) / _QUANTILE_BIAS
    a, b = _fit_line(xs, vs)
    floor = max(a * 1e-3, b, 1e-12)  # keeps the ratios finite where the first line reaches 0
    model = np.maximum(a * np.maximum(means, 0.0) + b, floor)
    ratios = [float(np.quantile(variances[inside] / model[inside], _QUANTILE)) / _QUANTILE_BIAS for inside in members]
    return _fit_line(xs, np.array(ratios) * np.maximum(a * xs + b, floor))


def _fit_line(x: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """(a, b) >= 0 of ``v = a*x + b`` by least squares on relative residuals (every bin counts alike, however
    dark: the dark ones decide b)."""
    v = np.maximum(v, 1e-12)
    design = np.stack([x / v, 1.0 / v], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(v), rcond=None)
    if a < 0:
        a, b = 0.0, float(len(v) / np.sum(1.0 / v))  # the best constant in the same sense
    elif b < 0:
        a, b = float(np.sum(x / v) / np.sum((x / v) ** 2)), 0.0
    return float(a), float(b)


def measure_mosaic(sample: MosaicSample, blocks: list[_Blocks] | None = None) -> tuple[float, float] | None:
    """(a, b): the noise variance ``a*x + b`` of the normalised mosaic (all four phases together: one sensor,
    one response); None when it cannot be measured (too few unclipped blocks, a single brightness)."""
    blocks = _blocks(sample) if blocks is None else blocks
    if not blocks:
        return None
    means = np.concatenate([b.means[:, ~b.clipped].ravel() for b in blocks])
    variances = np.concatenate([b.variances[:, ~b.clipped].ravel() for b in blocks])
    # no real block is quieter than rounding to whole raw units (variance 1/12): flat ones are clipped or filled
    real = variances > sample.step ** 2 / 24
    return fit_noise_function(means[real], variances[real])


# ----------------------------------------------------------------------------------- the photo's units

def stored_view(upright: np.ndarray, orientation: int) -> np.ndarray:
    """A view of an upright image in the stored (sensor) layout that EXIF ``orientation`` turned upright."""
    inverse = {
        1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, 1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
        8: lambda a: np.rot90(a, -1),
    }
    return inverse.get(orientation, inverse[1])(upright)


def signal_gain(sample: MosaicSample, pixels: np.ndarray, camera_to_srgb: np.ndarray, multipliers: np.ndarray,
                blocks: list[_Blocks] | None = None) -> float | None:
    """``g``: the developed photo's linear value per normalised mosaic value of a green photosite, measured.

    A photosite of colour k becomes ``g * multipliers[k] * x`` in the white-balanced camera RGB, which
    ``camera_to_srgb`` turns into the photo's linear sRGB. LibRaw's scaling is not fixed (it lowers its white
    level to the data's maximum when that is above 75 % of it: up to a third brighter), so ``g`` is measured:
    the median, over unclipped 16 x 16-photosite blocks, of the photo's block mean (all channels) over the
    mosaic's block means carried through that colour pipeline. The developed ``pixels`` are upright; the
    blocks are found in the stored layout (through ``sample.orientation``), scaled to the development's size
    (half for a preview). None when the two cannot be matched (a sensor LibRaw reshapes; too few blocks).
    """
    blocks = _blocks(sample) if blocks is None else blocks
    stored = stored_view(pixels, sample.orientation)
    ratio_y, ratio_x = stored.shape[0] / sample.shape[0], stored.shape[1] / sample.shape[1]
    if not (0.45 <= ratio_y <= 1.05 and abs(ratio_y - ratio_x) <= 0.02):
        return None
    colour_sum = np.asarray(camera_to_srgb, np.float64).sum(axis=0) * np.asarray(multipliers, np.float64)[:3]
    phase_weights = np.array([colour_sum[c] / (2.0 if c == 1 else 1.0) for c in sample.colors.ravel()])
    gains = []
    for block in blocks:
        rows, cols = block.clipped.shape
        top, left = block.row + 2, block.col + 2
        y0, y1 = round(top * ratio_y), round((top + 2 * _BLOCK * rows) * ratio_y)
        x0, x1 = round(left * ratio_x), round((left + 2 * _BLOCK * cols) * ratio_x)
        if y1 > stored.shape[0] or x1 > stored.shape[1]:
            continue
        piece = np.ascontiguousarray(stored[y0:y1, x0:x1], dtype=np.float32)
        developed = cv2.resize(piece, (cols, rows), interpolation=cv2.INTER_AREA).reshape(rows, cols, -1).sum(axis=2)
        predicted = np.tensordot(phase_weights, block.means, axes=(0, 0))
        usable = (~block.clipped & (block.means.max(axis=0) < _GAIN_MAX_RAW)
                  & (block.means.min(axis=0) > _GAIN_MIN_RAW) & (predicted > 0))
        gains.append(developed[usable] / predicted[usable])
    gains = np.concatenate(gains) if gains else np.empty(0)
    return float(np.median(gains)) if gains.size >= 4 else None


def photo_units(raw_shot: float, raw_read: float, gain: float, multipliers: np.ndarray) -> tuple[float, float]:
    """(shot, read) in the developed photo's linear units from the mosaic's (a, b) and the signal ``gain``.

    LibRaw scales photosite colour k by ``G_k = gain * multipliers[k]`` (white balance), so at the developed
    value v its noise variance is ``G_k * a * v + G_k^2 * b``; then it demosaics and applies the colour matrix.
    The profile keeps the mean over R, G and B: ``(gain * a * mean(m), gain^2 * b * mean(m^2))``. The denoiser
    is trained with exactly this map: its ``bayer`` noise model (``training/train_denoiser.py``) makes a RAW
    with a random camera matrix and white balance, adds the noise to the mosaic, develops it, and computes the
    map with ``Camera.map_units``, this conversion with a gain of 1 (the matrix is left out of the map; the
    network learns the chroma noise it makes). On synthetic noisy DNGs this map's level (:func:`~photolab.core.noise_map.map_level`)
    read 0.85-1.34 of the true noise std.
    """
    m = np.asarray(multipliers, np.float64)[:3]
    return gain * raw_shot * float(np.mean(m)), gain * gain * raw_read * float(np.mean(m * m))


def noise_profile(sample: MosaicSample | None, pixels: np.ndarray, camera_to_srgb: np.ndarray,
                  multipliers: np.ndarray) -> NoiseProfile | None:
    """The :class:`NoiseProfile` of a RAW photo from its mosaic ``sample`` and its developed ``pixels``
    (upright linear sRGB) with their colour pipeline; None when there is no mosaic or its noise cannot be
    measured. When the gain cannot be measured, LibRaw's nominal scaling is assumed (the green photosites'
    black..white level -> 0..1: a gain of 1)."""
    if sample is None:
        return None
    blocks = _blocks(sample)
    measured = measure_mosaic(sample, blocks)
    if measured is None:
        return None
    gain = signal_gain(sample, pixels, camera_to_srgb, multipliers, blocks) or 1.0
    shot, read = photo_units(*measured, gain, multipliers)
    return NoiseProfile(shot, read, measured[0], measured[1], gain)
