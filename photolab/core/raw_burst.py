"""RAW bursts merged the HDR+ way (Hasinoff et al. 2016): aligned and merged in the Bayer mosaic, before any
demosaicing.

Why the mosaic: after demosaicing (and the colour-difference median of PhotoLab's development) the noise of a
developed frame is spatially correlated and its level varies with the colour around it, so the robust
weights of the RGB merge (:mod:`photolab.core.burst`), which judge a local mean difference against the noise,
meet differences several times larger than white noise of the same level would give, take them for motion
and keep the reference's pixels. On the mosaic every photosite's noise is independent and follows the
sensor's model (shot + read noise: variance ``a*x + b`` in normalised units), so the same test is calibrated.

The steps, on the four CFA planes (every other row and column: four half-resolution images of white noise):

- **align**: the planes' mean (a half-resolution grey image: each 2x2 quad one pixel), square-rooted (shot
  noise made about even), goes through the same coarse-to-fine tile search as RGB bursts
  (:func:`photolab.core.align.tile_alignment`, sub-pixel at the finest level). A displacement in plane pixels
  is the same for the four planes (they share the quad lattice). The camera's motion (an affine field fitted
  to the tiles, then refined by Gauss-Newton on the images to a few hundredths of a pixel) replaces every tile's
  own displacement except where that one matches clearly better (a moving object);
- **warp** each plane of each frame onto the reference with those per-tile displacements (bicubic: sub-pixel
  shifts without the blur of bilinear interpolation);
- **noise model** from the burst itself: the variance of (warped frame - reference) against the reference's
  brightness, a robust line fitted over brightness bins (so it also covers what interpolation did to the
  noise); the file's NoiseProfile is not needed;
- **merge** robustly: each frame's weight at a quad is a steep shrinkage of the local (3 x 3 quads, four
  planes) mean difference to the reference measured against that noise model, and of the local mean squared
  difference beyond it; the weights are eroded so that a frame that moved anywhere near a quad gives it up.
  Static regions average every frame; a moving object keeps the reference's photosites;
- a frame that matches almost nowhere (another scene, a blur, a failed alignment) is **left out** and named.

The result is a :class:`photolab.core.dng.RawMosaic` like the reference's, which
:func:`photolab.core.dng.write_mosaic_dng` writes as a linear DNG that any RAW developer (and PhotoLab's own
development) opens like the camera's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from photolab.core.align import MergeError, displacement_field, tile_alignment
from photolab.core.bands import run_in_bands
from photolab.core.dng import read_mosaic, write_mosaic_dng
from photolab.core.hdr import check_count, check_equal_exposures, check_same_camera
from photolab.core.io import RAW_EXTENSIONS
from photolab.core.robust_merge import SHRINK, binned_noise, robust_weight, weighted_mean

MAX_FRAMES = 16  # the most frames a burst takes, RAW or RGB (core.burst uses it too)
SEARCH_SCALE = 2
"""The tile search runs on the quad image area-reduced by this: four times cheaper, and the camera motion's
refinement on the quad image itself gives the precision (the tiles' own offsets serve moving objects)."""
TILE = 8  # the search's finest-level tile, in pixels of the reduced image
QUAD_TILE = TILE * SEARCH_SCALE  # the same tile in quads (32 photosites)
WINDOW = 3  # quads averaged by the robustness test (6 x 6 photosites)
LEFT_OUT_BELOW = 0.2
"""A frame whose mean weight over the picture is under this matched almost nowhere: it is left out."""
_BAND_ROWS = 64


@dataclass
class RawMergeResult:
    """The merged mosaic, the reference frame, and what happened to every other frame."""

    mosaic: object  # a RawMosaic: the reference's, with the merged data
    reference: int
    merged: list[int]  # frames (indices) that went into the merge, the reference included
    left_out: dict[int, str] = field(default_factory=dict)  # frame index -> why
    coverage: dict[int, float] = field(default_factory=dict)  # frame index -> its mean weight (0..1)
    noise: tuple[float, float] = (0.0, 0.0)  # (a, b): the difference's variance is 2 (a x + b) in the burst

    def describe(self, names: Sequence[str]) -> list[str]:
        """One line per frame left out, for the CLI and the window."""
        return [f"{names[index]} was left out: {why}" for index, why in sorted(self.left_out.items())]


def planes_of(data: np.ndarray) -> list[np.ndarray]:
    """The four CFA planes of a mosaic (rows/cols (0,0), (0,1), (1,0), (1,1)), each (H/2, W/2), contiguous."""
    height, width = data.shape[0] // 2 * 2, data.shape[1] // 2 * 2
    return [np.ascontiguousarray(data[row:height:2, col:width:2]) for row in (0, 1) for col in (0, 1)]


def interleave(planes: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """A mosaic of ``shape`` from its four planes (an odd last row or column, which no plane holds, is 0)."""
    out = np.zeros(shape, np.float32)
    height, width = planes[0].shape[0] * 2, planes[0].shape[1] * 2
    for index, plane in enumerate(planes):
        row, col = divmod(index, 2)
        out[row:height:2, col:width:2] = plane
    return out


def quad_luminance(data: np.ndarray) -> np.ndarray:
    """The mean of every 2x2 quad of a mosaic (the four planes' mean): one grey value per quad, the alignment's
    and the weights' brightness."""
    height, width = data.shape[0] // 2 * 2, data.shape[1] // 2 * 2
    return cv2.resize(data[:height, :width], (width // 2, height // 2), interpolation=cv2.INTER_AREA)


def _alignment_image(luminance: np.ndarray) -> np.ndarray:
    return cv2.sqrt(cv2.max(luminance, 0.0))


def _search_image(alignment_image: np.ndarray) -> np.ndarray:
    """The alignment image reduced by SEARCH_SCALE for the tile search."""
    height, width = alignment_image.shape
    return cv2.resize(alignment_image, (max(1, width // SEARCH_SCALE), max(1, height // SEARCH_SCALE)),
                      interpolation=cv2.INTER_AREA)


def choose_reference(lums: Sequence[np.ndarray], candidates: int = 3) -> int:
    """The sharpest of the first ``candidates`` frames (variance of the Laplacian of the quad image)."""
    scores = []
    for lum in lums[:candidates]:
        image = _alignment_image(lum)
        scale = min(1.0, 1024 / max(image.shape))
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        scores.append(float(cv2.Laplacian(image, cv2.CV_32F).var()))
    return int(np.argmax(scores))


def check_mosaics(mosaics: Sequence, names: Sequence[str]) -> None:
    """Raise MergeError unless there are 2..MAX_FRAMES mosaics of one size and CFA pattern from one camera."""
    check_count(len(mosaics), 2, MAX_FRAMES)
    first = mosaics[0]
    for index, mosaic in enumerate(mosaics[1:], 1):
        if mosaic.data.shape != first.data.shape:
            raise MergeError(f"{names[index]} has a {mosaic.data.shape[1]}x{mosaic.data.shape[0]} sensor but "
                             f"{names[0]} a {first.data.shape[1]}x{first.data.shape[0]} one; all frames must "
                             f"come from one camera")
        if mosaic.cfa != first.cfa:
            raise MergeError(f"{names[index]} has the colour filter pattern {mosaic.cfa}, {names[0]} {first.cfa}; "
                             f"all frames must come from one camera")
        check_same_camera(first.metadata, mosaic.metadata, names[0], names[index])
    check_equal_exposures([m.metadata for m in mosaics])


def merge_raw_burst(mosaics: Sequence, reference: int | str = "auto", *, names: Sequence[str] | None = None,
                    context=None) -> RawMergeResult:
    """Align and merge a RAW burst of equal exposures (RawMosaics) in the mosaic: see the module docstring.

    ``reference`` is a frame index or "auto" (the sharpest of the first three). ``names`` name the frames in
    messages (default "frame 1", "frame 2"...). ``context`` (a JobContext) gets progress and may cancel.
    """
    names = list(names) if names is not None else [f"frame {i + 1}" for i in range(len(mosaics))]
    check_mosaics(mosaics, names)
    lums = [quad_luminance(m.data) for m in mosaics]
    if reference == "auto":
        ref = choose_reference(lums)
    else:
        ref = int(reference)
        if not 0 <= ref < len(mosaics):
            raise MergeError(f"reference frame {ref} does not exist; the burst has frames 0-{len(mosaics) - 1}")
    shape = lums[ref].shape
    ref_planes = planes_of(mosaics[ref].data)
    ref_align = _alignment_image(lums[ref])
    reference_points = ReferencePoints.of(ref_align)
    ref_search = _search_image(ref_align)
    others = [i for i in range(len(mosaics)) if i != ref]
    warped: dict[int, list[np.ndarray]] = {}
    for count, index in enumerate(others):
        if context is not None:
            context.progress(0.05 + 0.7 * count / len(others), f"Aligning {names[index]}")
        frame_align = _alignment_image(lums[index])
        tiles = tile_alignment(ref_search, _search_image(frame_align), tile=TILE) * np.float32(SEARCH_SCALE)
        offsets = _with_camera_motion(tiles, ref_align, frame_align, reference_points)
        warped[index] = warp_mosaic(mosaics[index].data, mosaics[index].cfa, offsets)
        lums[index] = None  # the warped copy replaces it
    if context is not None:
        context.progress(0.8, "Merging")
    brightness = cv2.blur(lums[ref], (WINDOW, WINDOW))
    statistics = {index: _difference_statistics(warped[index], ref_planes) for index in others}
    slope, offset = _noise_line(brightness, [s[1] for s in statistics.values()])
    variance = cv2.max(cv2.add(cv2.multiply(brightness, slope), offset), 1e-12)  # of one plane's difference
    # a mean of WINDOW^2 x 4 independent differences has 1 / (4 WINDOW^2) of its variance
    mean_scale = cv2.divide(float(4 * WINDOW * WINDOW) / SHRINK, variance)
    energy_scale = cv2.divide(1.0, variance)
    weights, coverage, left_out = {}, {}, {}
    for index in others:
        local_mean, local_energy = statistics[index]
        weight = robust_weight(cv2.multiply(cv2.multiply(local_mean, local_mean), mean_scale),
                               cv2.multiply(local_energy, energy_scale), WINDOW)
        coverage[index] = float(weight.mean())
        if coverage[index] < LEFT_OUT_BELOW:
            left_out[index] = (f"it matches the reference in only {coverage[index]:.0%} of the picture "
                               f"(another scene, a blur or too much movement)")
        else:
            weights[index] = weight
    merged_planes = [weighted_mean(ref_planes[k], [warped[i][k] for i in weights], list(weights.values()))
                     for k in range(4)]
    data = mosaics[ref].data.copy()
    height, width = shape[0] * 2, shape[1] * 2
    data[:height, :width] = interleave(merged_planes, (height, width))
    coverage[ref] = 1.0
    return RawMergeResult(dataclasses.replace(mosaics[ref], data=data), ref, sorted([ref, *weights]), left_out,
                          coverage, (slope / 2, offset / 2))


_OPENCV_BAYER = {"RGGB": cv2.COLOR_BayerBG2RGB_EA, "BGGR": cv2.COLOR_BayerRG2RGB_EA,
                 "GRBG": cv2.COLOR_BayerGB2RGB_EA, "GBRG": cv2.COLOR_BayerGR2RGB_EA}
_CHANNEL = {"R": 0, "G": 1, "B": 2}
_LIFT = 0.0625  # headroom below black for the 16-bit demosaic (noise makes dark photosites negative)


def warp_mosaic(data: np.ndarray, cfa: str, offsets: np.ndarray) -> list[np.ndarray]:
    """A frame's four CFA planes pulled onto the reference by per-tile displacements (in quads).

    A plane alone samples the scene at half resolution, so fine detail aliases in it and no interpolation
    of the plane can shift it by a fraction of a pixel: the frame is demosaiced first (OpenCV's
    edge-aware method, which uses every colour), shifted at full resolution (bicubic) and sampled again at
    the reference's photosites."""
    height, width = data.shape[0] // 2 * 2, data.shape[1] // 2 * 2
    scale = 65535.0 / (1.0 + _LIFT)
    coded = np.clip((data[:height, :width] + _LIFT) * scale, 0, 65535).astype(np.uint16)
    rgb = cv2.cvtColor(coded, _OPENCV_BAYER[cfa])
    # where each quad's photosites are found in the frame, in quads (the displacement varies too slowly for
    # the four photosites of a quad to differ): photosite (2i + row, 2j + col) is at 2 * map + (row, col)
    quad_x, quad_y = displacement_field(offsets, QUAD_TILE, (height // 2, width // 2))
    planes = []
    for index, letter in enumerate(cfa):
        row, col = divmod(index, 2)
        channel = np.ascontiguousarray(rgb[:, :, _CHANNEL[letter]])
        plane = cv2.remap(channel, cv2.add(cv2.multiply(quad_x, 2.0), float(col)),
                          cv2.add(cv2.multiply(quad_y, 2.0), float(row)), cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT)
        planes.append(plane.astype(np.float32) * np.float32(1 / scale) - np.float32(_LIFT))
    return planes


def _tile_centres(shape: tuple[int, int], tile: int) -> np.ndarray:
    """The design matrix [y, x, 1] of every tile's centre (tiles_y * tiles_x rows)."""
    cy, cx = np.meshgrid((np.arange(shape[0]) + 0.5) * tile, (np.arange(shape[1]) + 0.5) * tile, indexing="ij")
    return np.stack([cy.ravel(), cx.ravel(), np.ones(cy.size)], 1)


def fit_camera_motion(offsets: np.ndarray, tile: int = QUAD_TILE) -> np.ndarray:
    """The handheld camera's motion as affine coefficients (3 x 2: dy and dx over [y, x, 1]) fitted to the
    tiles' own displacements by iteratively reweighted least squares: tiles far from the fit (a moving object,
    a flat tile that matched anywhere) lose their say. Accurate to a few tenths of a pixel: the tiles'
    displacements lean towards the global motion and towards whole pixels."""
    design = _tile_centres(offsets.shape[:2], tile)
    target = offsets.reshape(-1, 2).astype(np.float64)
    weights = np.ones(len(target))
    for _ in range(6):
        root = np.sqrt(weights)[:, None]
        coefficients, *_ = np.linalg.lstsq(design * root, target * root, rcond=None)
        residual = np.linalg.norm(target - design @ coefficients, axis=1)
        weights = 1.0 / (1.0 + (residual / 0.5) ** 2)
    return coefficients


def _sample(image: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``image`` at the points (y, x), bilinearly (cv2.remap takes at most 32767 points a row)."""
    count, side = len(y), 1024
    pad = (-count) % side
    map_y = np.pad(y.astype(np.float32), (0, pad)).reshape(-1, side)
    map_x = np.pad(x.astype(np.float32), (0, pad)).reshape(-1, side)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).ravel()[:count]


@dataclass(frozen=True)
class ReferencePoints:
    """What refining the camera's motion needs of the reference, prepared once per burst: its most textured
    pixels (blurred a little, so noise weighs less), their values and their coordinates."""

    y: np.ndarray
    x: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]

    BORDER = 8

    @classmethod
    def of(cls, reference: np.ndarray, points: int = 100_000) -> "ReferencePoints":
        blurred = cv2.GaussianBlur(reference, (0, 0), 1.0)
        height, width = blurred.shape
        border = cls.BORDER
        if min(height, width) <= 4 * border:
            empty = np.zeros(0)
            return cls(empty, empty, empty, (height, width))
        step = max(1, int(np.sqrt((height - 2 * border) * (width - 2 * border) / (3 * points))))
        inner = blurred[border - 1:height - border + 1, border - 1:width - border + 1]
        texture = cv2.magnitude(cv2.Sobel(inner, cv2.CV_32F, 0, 1, ksize=3), cv2.Sobel(inner, cv2.CV_32F, 1, 0, ksize=3))
        texture = texture[1:-1:step, 1:-1:step]
        count = min(points, texture.size)
        strongest = np.argpartition(texture.ravel(), texture.size - count)[texture.size - count:]
        rows, cols = np.divmod(strongest, texture.shape[1])
        y, x = border + rows * step, border + cols * step
        return cls(y.astype(np.float64), x.astype(np.float64), blurred[y, x].astype(np.float64), (height, width))


def refine_camera_motion(reference: "np.ndarray | ReferencePoints", frame: np.ndarray, coefficients: np.ndarray, *,
                         iterations: int = 8) -> np.ndarray:
    """Affine camera-motion coefficients (as :func:`fit_camera_motion`) refined on the images themselves:
    Gauss-Newton (Lucas-Kanade) on the most textured pixels of the reference (:class:`ReferencePoints`, or the
    reference image itself), with Tukey weights so that a moving object does not pull the fit. From a few tenths
    of a pixel to a few hundredths (0.01-0.03 px on the bench bursts), which is what sub-pixel merging of fine
    detail needs."""
    points = reference if isinstance(reference, ReferencePoints) else ReferencePoints.of(reference)
    if len(points.values) < 12:
        return np.array(coefficients, np.float64)
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
    height, width = points.shape
    grad_y = cv2.Sobel(frame, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    grad_x = cv2.Sobel(frame, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    y, x = points.y, points.x
    design = np.stack([y, x, np.ones_like(y)], 1)
    unit_design = design * np.array([1.0 / height, 1.0 / width, 1.0])  # picture heights and widths: well-conditioned
    refined = np.array(coefficients, np.float64)
    corners = np.array([[0, 0, 1], [0, width, 1], [height, 0, 1], [height, width, 1]], np.float64)
    for _ in range(iterations):
        displacement = design @ refined
        at_y, at_x = y + displacement[:, 0], x + displacement[:, 1]
        residual = _sample(frame, at_y, at_x) - points.values
        scale = 1.4826 * float(np.median(np.abs(residual))) + 1e-12
        u = residual / (4.685 * scale)
        weight = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if weight.sum() < 12:
            break
        jacobian = np.concatenate([unit_design * _sample(grad_y, at_y, at_x)[:, None],
                                   unit_design * _sample(grad_x, at_y, at_x)[:, None]], 1)
        weighted = jacobian * weight[:, None]
        try:
            update = np.linalg.solve(weighted.T @ jacobian, -weighted.T @ residual)
        except np.linalg.LinAlgError:
            break  # a featureless or one-directional picture: keep the fit
        update[:2] /= (height, width)
        update[3:5] /= (height, width)
        refined[:, 0] += update[:3]
        refined[:, 1] += update[3:]
        if np.abs(corners @ np.stack([update[:3], update[3:]], 1)).max() < 1e-3:
            break  # no point of the picture moved by more than a thousandth of a pixel
    if not np.all(np.isfinite(refined)) or np.abs(design @ refined - design @ coefficients).max() > 2.0:
        return np.array(coefficients, np.float64)  # diverged (a frame that does not match): keep the fit
    return refined


def camera_motion(offsets: np.ndarray, reference_points: ReferencePoints, frame: np.ndarray,
                  tile: int = QUAD_TILE) -> np.ndarray:
    """The handheld camera's motion as one affine displacement field (dy, dx per tile): fitted to the tiles'
    displacements, then refined on the images (:func:`refine_camera_motion`)."""
    coefficients = refine_camera_motion(reference_points, frame, fit_camera_motion(offsets, tile))
    return (_tile_centres(offsets.shape[:2], tile) @ coefficients).reshape(*offsets.shape[:2], 2).astype(np.float32)


def _with_camera_motion(offsets: np.ndarray, reference: np.ndarray, frame: np.ndarray,
                        reference_points: ReferencePoints) -> np.ndarray:
    """Every tile's displacement, the camera's motion (:func:`camera_motion`) wherever the tile's own does not
    match clearly better (by 20 % mean absolute difference): in static tiles the camera's motion is exact to a few
    hundredths of a pixel while a tile's own displacement may be off by a few tenths, which fine detail cannot
    afford; a moving object keeps its own."""
    model = camera_motion(offsets, reference_points, frame)
    ty, tx = offsets.shape[:2]
    costs = []
    for candidate in (offsets, model):
        map_x, map_y = displacement_field(candidate, QUAD_TILE, reference.shape)
        warped = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        difference = cv2.absdiff(reference, warped)[:ty * QUAD_TILE, :tx * QUAD_TILE]
        costs.append(cv2.resize(difference, (tx, ty), interpolation=cv2.INTER_AREA))
    own_better = costs[0] < 0.8 * costs[1]
    return np.where(own_better[..., None], offsets, model)


def _difference_statistics(frame_planes: list[np.ndarray], ref_planes: list[np.ndarray]):
    """The local (WINDOW x WINDOW quads) mean over the four planes of (frame - reference), and the local mean
    of its square."""
    shape = ref_planes[0].shape
    local_mean = np.empty(shape, np.float32)
    local_energy = np.empty(shape, np.float32)

    def band(start: int, end: int) -> None:
        lo, hi = max(0, start - WINDOW), min(shape[0], end + WINDOW)  # a halo for the box filter
        total = np.zeros((hi - lo, shape[1]), np.float32)
        squares = np.zeros_like(total)
        for frame, ref in zip(frame_planes, ref_planes):
            difference = cv2.subtract(frame[lo:hi], ref[lo:hi])
            total = cv2.add(total, difference)
            squares = cv2.add(squares, cv2.multiply(difference, difference))
        window = (WINDOW, WINDOW)
        local_mean[start:end] = cv2.blur(total, window, borderType=cv2.BORDER_REFLECT)[start - lo:end - lo] * 0.25
        local_energy[start:end] = cv2.blur(squares, window, borderType=cv2.BORDER_REFLECT)[start - lo:end - lo] * 0.25

    run_in_bands(shape[0], _BAND_ROWS, band)
    return local_mean, local_energy


def _noise_line(brightness: np.ndarray, energies: list[np.ndarray], bins: int = 12) -> tuple[float, float]:
    """(slope, offset) of the variance of one photosite's (frame - reference) against brightness, from the
    burst: in each brightness bin the lower quartile of the local mean squared differences (robust where much
    of a bin moved) over that statistic's lower quartile for pure noise, then a line through the bins, refitted
    without bins far above it."""
    # a mean of 4 x WINDOW^2 squares of Gaussian noise: its lower quartile is about 0.84 of its mean
    centres, variances = binned_noise(brightness, energies, quartile=0.84, bins=bins)
    if len(centres) < 3:
        return 0.0, float(variances[0])
    keep = np.ones(len(centres), bool)
    for _ in range(2):
        slope, offset = np.polyfit(centres[keep], variances[keep], 1)
        if slope < 0:
            slope, offset = 0.0, float(np.median(variances[keep]))
        offset = max(offset, 1e-12)
        keep = variances <= 1.5 * (slope * centres + offset)
        if keep.sum() < 3:
            break
    return float(slope), float(offset)


def is_raw_burst(paths: Sequence[str | Path]) -> bool:
    """Whether every frame is named as a camera RAW file (then the burst is merged in the mosaic)."""
    return all(Path(p).suffix.lower() in RAW_EXTENSIONS for p in paths)


def read_mosaics(paths: Sequence[str | Path], context=None) -> list:
    """Every frame's RawMosaic, with progress over all of them."""
    mosaics = []
    for index, path in enumerate(paths):
        if context is not None:
            context.progress(index / len(paths), f"Reading {Path(path).name}")
        mosaics.append(read_mosaic(path))
    return mosaics


def merge_raw_burst_files(paths: Sequence[str | Path], *, reference: int | str = "auto",
                          dng: str | Path | None = None, context=None) -> tuple[RawMergeResult, Path | None]:
    """Read a RAW burst, merge it in the mosaic and, when ``dng`` is given, write the merged DNG there
    (atomically). Returns the merge and the DNG written (None without ``dng``)."""
    mosaics = read_mosaics(paths, context.subtask(0.0, 0.25) if context is not None else None)
    result = merge_raw_burst(mosaics, reference, names=[Path(p).name for p in paths],
                             context=context.subtask(0.25, 0.9) if context is not None else None)
    del mosaics
    written = write_mosaic_dng(dng, result.mosaic) if dng is not None else None
    return result, written
