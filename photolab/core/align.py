"""Alignment shared by HDR bracket merging and burst merging.

Brackets (different exposures): a global Euclidean warp (translation + rotation) per frame, found by phase
correlation and refined by OpenCV's ECC on exposure-normalised log luminance, coarse to fine.
Bursts (equal exposures): HDR+-style (Hasinoff et al. 2016) coarse-to-fine tile matching on a Gaussian
pyramid: every tile gets its own displacement, searched in a small radius around the displacement its
parent tile found one level up, so large handheld shifts and local motion are both followed.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from photolab.core.errors import PhotoLabError


class MergeError(PhotoLabError):
    """Frames that cannot be merged (wrong count, sizes, cameras or exposures)."""


class AlignmentError(MergeError):
    """A frame that cannot be aligned with the reference frame."""


def _working_scale(shape: tuple[int, int], max_side: int) -> float:
    return min(1.0, max_side / max(shape))


def _shrunk_pair(first: np.ndarray, second: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Both images area-reduced by ``scale`` (at least 8 px a side); as they are when ``scale`` >= 1."""
    if scale >= 1.0:
        return first, second
    size = (max(8, round(first.shape[1] * scale)), max(8, round(first.shape[0] * scale)))
    return (cv2.resize(first, size, interpolation=cv2.INTER_AREA),
            cv2.resize(second, size, interpolation=cv2.INTER_AREA))


def _phase_shift(reference: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """The translation (dx, dy) of ``moving`` against ``reference`` by Hann-windowed phase correlation."""
    window = cv2.createHanningWindow(reference.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(reference, moving, window)
    return dx, dy


def exposure_normalised(lum_ref: np.ndarray, exposure_ref: float, lum: np.ndarray, exposure: float,
                        clip_ref: float, clip: float) -> tuple[np.ndarray, np.ndarray]:
    """Both luminances divided by their exposure and clamped to the radiance range both record well, as
    log2: equal scene radiance gives equal values whatever the exposure."""
    high = min(clip_ref / exposure_ref, clip / exposure) * 0.95
    low = max(2e-2 / exposure_ref, 2e-2 / exposure)
    low = min(low, high * 0.5)
    out = []
    for values, gain in ((lum_ref, exposure_ref), (lum, exposure)):
        clamped = cv2.min(cv2.max(cv2.multiply(values, 1.0 / gain), low), high)
        out.append(cv2.multiply(cv2.log(clamped), 1 / np.log(2)))
    return out[0], out[1]


def find_euclidean(reference: np.ndarray, moving: np.ndarray, *, name: str = "frame",
                   max_side: int = 1024, min_correlation: float = 0.3) -> np.ndarray:
    """The 2x3 warp (rotation + translation) that maps ``reference`` coordinates into ``moving``, such that
    ``cv2.warpAffine(moving, warp, ..., flags=WARP_INVERSE_MAP)`` lines ``moving`` up with ``reference``.

    Both are single-channel float images of the same size (exposure-normalised). Raises AlignmentError
    naming ``name`` when the frames do not match well enough to be aligned.
    """
    scale = _working_scale(reference.shape, max_side)
    reference, moving = _shrunk_pair(reference, moving, scale)
    dx, dy = _phase_shift(reference, moving)
    warp = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    levels = [s for s in (4, 2, 1) if min(reference.shape) // s >= 32] or [1]
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    for level in levels:
        small_ref = reference if level == 1 else cv2.resize(reference, None, fx=1 / level, fy=1 / level,
                                                            interpolation=cv2.INTER_AREA)
        small_mov = moving if level == 1 else cv2.resize(moving, (small_ref.shape[1], small_ref.shape[0]),
                                                         interpolation=cv2.INTER_AREA)
        level_warp = warp.copy()
        level_warp[:, 2] /= level
        try:
            _, level_warp = cv2.findTransformECC(small_ref, small_mov, level_warp, cv2.MOTION_EUCLIDEAN,
                                                 criteria, None, 5)
        except cv2.error:
            continue  # keep the estimate so far; the final check decides
        warp = level_warp.copy()
        warp[:, 2] *= level
    aligned = cv2.warpAffine(moving, warp, reference.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REPLICATE)
    # judge the fine structure (a smooth gradient correlates with any other), where both frames record it
    reference = reference - cv2.GaussianBlur(reference, (0, 0), 2.0)
    aligned = aligned - cv2.GaussianBlur(aligned, (0, 0), 2.0)
    margin = max(2, round(0.05 * min(reference.shape)))
    a = reference[margin:-margin, margin:-margin].ravel()
    b = aligned[margin:-margin, margin:-margin].ravel()
    inside = (np.abs(a) > 1e-4) | (np.abs(b) > 1e-4)  # not flat (clamped) in both
    if inside.mean() > 0.05:
        a, b = a[inside], b[inside]
    correlation = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    angle = abs(np.degrees(np.arctan2(warp[1, 0], warp[0, 0])))
    shift = float(np.hypot(warp[0, 2], warp[1, 2])) / max(reference.shape)
    if not np.isfinite(correlation) or correlation < min_correlation or angle > 10 or shift > 0.25:
        raise AlignmentError(
            f"{name}: cannot be aligned with the reference frame (its contents do not match; "
            f"correlation {correlation:.2f}). Is it from the same scene?")
    warp[:, 2] /= scale
    return warp


def warp_frame(pixels: np.ndarray, warp: np.ndarray, rows: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """``pixels`` warped onto the reference grid, and a float mask that is 0 where no data came from.
    Warped in row bands on all cores (each band's warp is the whole one, shifted by the band's first row)."""
    from photolab.core.bands import run_in_bands

    height, width = pixels.shape[:2]
    warped = np.empty_like(pixels)
    mask = np.empty((height, width), np.float32)
    ones = np.ones((height, width), np.uint8)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warp = np.asarray(warp, np.float64)

    def shifted(start: int) -> np.ndarray:  # destination row y of the band is row y + start of the whole
        band_warp = warp.copy()
        band_warp[:, 2] += band_warp[:, 1] * start
        return band_warp

    def band(start: int, end: int) -> None:
        cv2.warpAffine(pixels, shifted(start), (width, end - start), dst=warped[start:end], flags=flags,
                       borderMode=cv2.BORDER_REPLICATE)
        low, high = max(0, start - 1), min(height, end + 1)  # a one-row halo for the 3x3 erosion
        inside = cv2.warpAffine(ones, shifted(low), (width, high - low), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        eroded = cv2.erode(inside, np.ones((3, 3), np.uint8))  # no interpolation with the border either
        mask[start:end] = eroded[start - low:end - low]

    run_in_bands(height, rows, band)
    return warped, mask


# --- HDR+ tile alignment ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (y, x) as float32 maps (read-only, shared)."""
    y = np.broadcast_to(np.arange(height, dtype=np.float32)[:, None], (height, width))
    x = np.broadcast_to(np.arange(width, dtype=np.float32)[None, :], (height, width))
    return y, x


def _pyramid(image: np.ndarray, factors: tuple[int, ...]) -> list[np.ndarray]:
    levels = [image]
    for factor in factors[1:]:
        previous = levels[-1]
        blurred = cv2.GaussianBlur(previous, (0, 0), factor * 0.5)
        levels.append(cv2.resize(blurred, (max(1, previous.shape[1] // factor), max(1, previous.shape[0] // factor)),
                                 interpolation=cv2.INTER_AREA))
    return levels


def _tile_costs(ref: np.ndarray, alt: np.ndarray, offsets: np.ndarray, tile: int, radius: int,
                squared: bool, first_row: int = 0) -> np.ndarray:
    """For every tile and every candidate displacement (offset + d, |d| <= radius) the tile's mean distance;
    shape (tiles_y, tiles_x, 2r+1, 2r+1). The tiles start at pixel row ``first_row`` of ``ref``."""
    ty, tx = offsets.shape[:2]
    height, width = ty * tile, tx * tile
    grid_y, grid_x = _grid(height, width)
    per_pixel = np.repeat(np.repeat(offsets, tile, 0), tile, 1).astype(np.float32)
    ref = ref[first_row:first_row + height, :width]
    base_y, base_x = grid_y + (per_pixel[..., 0] + first_row), grid_x + per_pixel[..., 1]
    side = 2 * radius + 1
    costs = np.empty((ty, tx, side, side), np.float32)
    for iy, dy in enumerate(range(-radius, radius + 1)):
        map_y = base_y + dy
        for ix, dx in enumerate(range(-radius, radius + 1)):
            shifted = cv2.remap(alt, base_x + dx, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
            diff = cv2.absdiff(ref, shifted)
            if squared:
                diff = cv2.multiply(diff, diff)
            costs[:, :, iy, ix] = cv2.resize(diff, (tx, ty), interpolation=cv2.INTER_AREA)
    return costs


def tile_alignment(reference: np.ndarray, frame: np.ndarray, *, tile: int = 16,
                   factors: tuple[int, ...] = (1, 2, 4, 4), radii: tuple[int, ...] = (1, 4, 4, 4)) -> np.ndarray:
    """HDR+ coarse-to-fine tile alignment of one burst frame's luminance to the reference's.

    Returns per-tile displacements (tiles_y, tiles_x, 2) in pixels (dy, dx) at full resolution, for tiles of
    ``tile`` px: frame(y + d) matches reference(y). Coarse levels use 16 px tiles, the finest level
    ``tile``-px tiles, all with an L1 distance (HDR+ uses L2 on the coarse ones; L1 is cheaper and did as
    well here), each searching ``radii`` pixels around the upsampled displacement of the level above, and
    1 pixel around the majority (global) motion; the finest level adds a sub-pixel quadratic fit.
    Ambiguous tiles (flat, or stripes: the aperture problem) follow the global motion through a small
    distance penalty that only near-ties can feel.
    """
    # only levels that still hold at least two coarse tiles each way
    while len(factors) > 1 and min(reference.shape) // int(np.prod(factors)) < 32:
        factors, radii = factors[:-1], radii[:-1]
    ref_levels = _pyramid(reference, factors)
    alt_levels = _pyramid(frame, factors)
    offsets = None
    previous_tile = 16
    global_level = np.zeros(2, np.float32)
    for level in range(len(factors) - 1, -1, -1):
        level_tile = tile if level == 0 else 16
        ref, alt = ref_levels[level], alt_levels[level]
        ty, tx = max(1, ref.shape[0] // level_tile), max(1, ref.shape[1] // level_tile)
        radius = radii[level]
        if offsets is None:  # coarsest level: the majority motion first, from every tile's cost surface
            offsets = np.zeros((ty, tx, 2), np.float32)
            costs = _tile_costs(ref, alt, offsets, level_tile, radius, squared=False)
            surface = (costs / (costs.min(axis=(2, 3), keepdims=True) + 1e-12)).mean(axis=(0, 1))
            from_tiles = np.array(np.unravel_index(surface.argmin(), surface.shape), np.float32) - radius
            from_phase = np.round(_global_shift(reference, frame) / int(np.prod(factors)))
            # judged on the finest level: a coarse level may have lost the background's texture, and one
            # contrasted moving object would then decide
            total = int(np.prod(factors))
            candidates = [np.asarray(c, np.float32) * total for c in (from_tiles, from_phase, np.zeros(2))]
            global_level = _better_global(reference, frame, tile, candidates, False) / total
        else:
            scale = factors[level + 1]
            global_level = global_level * scale
            # the parent of every tile: the tile covering the same area one level up
            parent_y = np.minimum((np.arange(ty) * level_tile) // (previous_tile * scale), offsets.shape[0] - 1)
            parent_x = np.minimum((np.arange(tx) * level_tile) // (previous_tile * scale), offsets.shape[1] - 1)
            offsets = np.round(offsets[parent_y][:, parent_x] * scale).astype(np.float32)
            costs = _tile_costs(ref, alt, offsets, level_tile, radius, squared=False)
            _, unpenalised = _search(costs, offsets, radius, 1, None)
            majority = np.round(np.median(unpenalised.reshape(-1, 2), axis=0))
            global_level = _better_global(ref, alt, level_tile, (global_level, majority), False)
        cost_a, found_a = _search(costs, offsets, radius, level, global_level)
        global_offsets = np.broadcast_to(global_level, offsets.shape).astype(np.float32)
        if radius >= 1 and np.array_equal(global_offsets, offsets):
            offsets = found_a  # the global window lies inside the one just searched
        else:
            global_costs = _tile_costs(ref, alt, global_offsets, level_tile, 1, squared=False)
            cost_b, found_b = _search(global_costs, global_offsets, 1, level, global_level)
            offsets = np.where((cost_b < cost_a)[..., None], found_b, found_a)
        previous_tile = level_tile
    return offsets


VOTING_ROWS = 24
"""Rows of tiles that vote for the global motion (all of them in a frame with fewer)."""


def _better_global(ref, alt, tile, candidates, squared) -> np.ndarray:
    """Of the candidate global motions, the one most tiles prefer: each tile votes for the candidate whose best
    cost within one pixel of it is lowest, when that is clearly (10 %) below the others' (flat tiles, which
    match anything, do not vote). A moving object, however contrasted, is then one voice among the tiles of
    the background. Without votes, the lowest mean cost relative to each tile's best decides."""
    unique: list[np.ndarray] = []
    for candidate in candidates:
        candidate = np.asarray(candidate, np.float32) + 0.0  # no -0.0
        if not any(np.array_equal(candidate, seen) for seen in unique):
            unique.append(candidate)
    candidates = unique
    if len(candidates) == 1:
        return candidates[0]
    ty, tx = max(1, ref.shape[0] // tile), max(1, ref.shape[1] // tile)
    # a large frame votes with VOTING_ROWS rows of tiles spread over it: as many voices as needed, a fraction
    # of the cost
    rows = np.unique(np.linspace(0, ty - 1, min(ty, VOTING_ROWS)).round().astype(int))
    best = []
    for candidate in candidates:
        start = np.broadcast_to(candidate.astype(np.float32), (1, tx, 2))
        best.append(np.concatenate([_tile_costs(ref, alt, start, tile, 1, squared, first_row=int(row) * tile)
                                    .min(axis=(2, 3)) for row in rows]))
    best = np.stack(best)
    ordered = np.sort(best, axis=0)
    clear = ordered[0] < 0.9 * ordered[1]
    votes = np.bincount(best.argmin(axis=0)[clear], minlength=len(candidates))
    if votes.max() > 0 and (votes == votes.max()).sum() == 1:
        return np.asarray(candidates[int(votes.argmax())], np.float32)
    scores = (best / (best.min(axis=0) + 1e-12)).mean(axis=(1, 2))
    return np.asarray(candidates[int(scores.argmin())], np.float32)


def _search(costs, start, radius, level, level_global):
    """Best displacement per tile within ``radius`` of ``start``: (penalised cost, displacement)."""
    ty, tx = start.shape[:2]
    if level_global is not None:
        costs = costs + _penalty(costs, start, radius, level_global)
    flat = costs.reshape(ty, tx, -1)
    best = flat.argmin(axis=2)
    by, bx = np.divmod(best, 2 * radius + 1)
    found = start + np.stack([by - radius, bx - radius], axis=2).astype(np.float32)
    if level == 0:
        found = found + _subpixel(costs, by, bx, radius)
    return flat.min(axis=2), found


def _penalty(costs, start, radius, level_global):
    """10 % of a typical best match per pixel squared away from the global motion, at most 30 %."""
    ty, tx = start.shape[:2]
    steps = np.arange(-radius, radius + 1, dtype=np.float32)
    far_y = (start[..., 0, None] + steps - level_global[0]) ** 2
    far_x = (start[..., 1, None] + steps - level_global[1]) ** 2
    typical = float(np.median(costs.reshape(ty, tx, -1).min(axis=2))) + 1e-12
    return 0.1 * typical * np.minimum(far_y[..., :, None] + far_x[..., None, :], 3.0)


def _global_shift(reference: np.ndarray, frame: np.ndarray, max_side: int = 512) -> np.ndarray:
    """The whole frame's translation (dy, dx) by phase correlation, at full-resolution pixels."""
    scale = _working_scale(reference.shape, max_side)
    dx, dy = _phase_shift(*_shrunk_pair(reference, frame, scale))
    return np.array([dy, dx], np.float32) / scale


def _subpixel(costs: np.ndarray, by: np.ndarray, bx: np.ndarray, radius: int) -> np.ndarray:
    """Separable parabola fits around each tile's best integer displacement (at most half a pixel)."""
    ty, tx = by.shape
    iy, ix = np.meshgrid(np.arange(ty), np.arange(tx), indexing="ij")
    out = np.zeros((ty, tx, 2), np.float32)
    for axis, (index, size) in enumerate(((by, costs.shape[2]), (bx, costs.shape[3]))):
        inner = (index > 0) & (index < size - 1)
        lo, hi = np.clip(index - 1, 0, size - 1), np.clip(index + 1, 0, size - 1)
        if axis == 0:
            c0, cm, cp = costs[iy, ix, by, bx], costs[iy, ix, lo, bx], costs[iy, ix, hi, bx]
        else:
            c0, cm, cp = costs[iy, ix, by, bx], costs[iy, ix, by, lo], costs[iy, ix, by, hi]
        curvature = cm - 2 * c0 + cp
        delta = np.where(inner & (curvature > 1e-12), 0.5 * (cm - cp) / np.maximum(curvature, 1e-12), 0.0)
        out[..., axis] = np.clip(delta, -0.5, 0.5)
    return out


def displacement_field(offsets: np.ndarray, tile: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (map_x, map_y) that pull a frame onto the reference with per-tile displacements,
    interpolated bilinearly between tile centres (no block seams)."""
    height, width = shape
    dy = cv2.resize(offsets[..., 0], (offsets.shape[1] * tile, offsets.shape[0] * tile), interpolation=cv2.INTER_LINEAR)
    dx = cv2.resize(offsets[..., 1], (offsets.shape[1] * tile, offsets.shape[0] * tile), interpolation=cv2.INTER_LINEAR)
    pad = ((0, max(0, height - dy.shape[0])), (0, max(0, width - dy.shape[1])))
    dy = np.pad(dy, pad, mode="edge")[:height, :width]
    dx = np.pad(dx, pad, mode="edge")[:height, :width]
    grid_y, grid_x = _grid(height, width)
    return grid_x + dx, grid_y + dy
