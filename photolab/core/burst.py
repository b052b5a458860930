"""Burst merging in the manner of HDR+ (Hasinoff et al., SIGGRAPH Asia 2016), on developed linear frames
(bursts of camera RAW files are merged on their mosaic instead: :mod:`photolab.core.raw_burst`).

Every frame of a burst of equal exposures is aligned to a reference frame with coarse-to-fine tile
matching (photolab.core.align.tile_alignment), then merged robustly: each aligned frame's weight at a pixel
is a Wiener-like shrinkage of the local (5x5 mean, RGB) difference to the reference, measured against the noise
level of that difference at that brightness (estimated from the burst itself). Static regions therefore
average all frames and lose their noise; where something moved, or alignment failed, the difference is far
above the noise and the merge falls back to the reference frame's pixels.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from photolab.core.align import MergeError, displacement_field, tile_alignment
from photolab.core.color import luminance
from photolab.core.bands import run_in_bands
from photolab.core.hdr import check_equal_exposures, check_frames, frame_name
from photolab.core.io import read_photo
from photolab.core.photo import Photo
from photolab.core.raw_burst import MAX_FRAMES, is_raw_burst, merge_raw_burst_files
from photolab.core.robust_merge import SHRINK, binned_noise, robust_weight, weighted_mean

TILE = 8  # finest-level tile size (px of the alignment image)
_WINDOW = 5
_BAND_ROWS = 64
_HALF_RES_ABOVE = 2_000_000  # pixels: larger frames are aligned at half resolution, like HDR+ on Bayer quads


def choose_reference(photos: Sequence[Photo], candidates: int = 3) -> int:
    """The sharpest of the first ``candidates`` frames (variance of the Laplacian), as HDR+ picks it."""
    scores = []
    for photo in photos[:candidates]:
        lum = np.sqrt(np.maximum(luminance(photo.pixels), 0))
        scale = min(1.0, 1024 / max(lum.shape))
        if scale < 1:
            lum = cv2.resize(lum, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        scores.append(float(cv2.Laplacian(lum, cv2.CV_32F).var()))
    return int(np.argmax(scores))


def _alignment_image(photo: Photo, half: bool) -> np.ndarray:
    """Square-root luminance (shot noise made about even), at half resolution for large frames."""
    pixels = photo.pixels
    if half:
        pixels = cv2.resize(pixels, (pixels.shape[1] // 2, pixels.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.sqrt(cv2.max(luminance(pixels), 0.0))


def _halved(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)


def _channel_mean(image: np.ndarray) -> np.ndarray:
    return cv2.transform(image, np.full((1, 3), 1 / 3, np.float32)).reshape(image.shape[:2])


def _difference_noise(ref_lum: np.ndarray, distances: list[np.ndarray], quartile: float):
    """The noise level of a difference statistic (``distances``, one map per frame) as a function of
    brightness, from the burst itself (:func:`photolab.core.robust_merge.binned_noise`), then a line (shot +
    read noise) fitted to the bins, twice, dropping bins far above it.
    Returns (bin centres, variances) for np.interp."""
    centres, variances = binned_noise(ref_lum, distances, quartile)
    if len(centres) < 3:
        return centres, variances
    keep = np.ones(len(centres), bool)
    for _ in range(2):
        slope, offset = np.polyfit(centres[keep], variances[keep], 1)
        fitted = np.maximum(slope * centres + offset, variances.min())
        keep = variances <= 1.5 * fitted
        if keep.sum() < 3:
            break
    return centres, np.maximum(np.minimum(variances, fitted), 1e-12)


def merge_burst(photos: Sequence[Photo], reference: int | str = "auto", context=None) -> Photo:
    """Align and merge a burst of equal exposures into one less noisy linear Photo.

    ``reference`` is a frame index or "auto" (the sharpest of the first three). Moving objects keep the
    reference frame's pixels. ``context`` (a JobContext) gets progress and may cancel.
    """
    check_frames(photos, maximum=MAX_FRAMES)
    if reference == "auto":
        ref = choose_reference(photos)
    else:
        ref = int(reference)
        if not 0 <= ref < len(photos):
            raise MergeError(f"reference frame {ref} does not exist; the burst has frames 0-{len(photos) - 1}")
    check_equal_exposures([p.metadata for p in photos])
    shape = photos[ref].pixels.shape[:2]
    half = shape[0] * shape[1] > _HALF_RES_ABOVE
    scale = 2 if half else 1
    ref_align = _alignment_image(photos[ref], half)
    ref_lum = luminance(photos[ref].pixels)
    window = 3 if half else _WINDOW
    warped_frames, distances, energies = [], [], []
    others = [i for i in range(len(photos)) if i != ref]
    for count, index in enumerate(others):
        if context is not None:
            context.progress(0.05 + 0.75 * count / len(others), f"Aligning {frame_name(photos[index], index)}")
        offsets = tile_alignment(ref_align, _alignment_image(photos[index], half), tile=TILE) * scale
        map_x, map_y = displacement_field(offsets, TILE * scale, shape)
        warped = cv2.remap(photos[index].pixels, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        warped_frames.append(warped)
        difference, energy = _difference_and_energy(warped, photos[ref].pixels)
        if half:  # the weights are smooth: judge 2x2 means, over a 3x3 window (6x6 pixels)
            difference, energy = _halved(difference), _halved(energy)
        local = cv2.blur(difference, (window, window))  # colour counts, not only luminance
        distances.append(_channel_mean(cv2.multiply(local, local)))
        energies.append(cv2.blur(energy, (window, window)))
        del difference, local, energy
    if context is not None:
        context.progress(0.85, "Merging")
    smooth_ref = cv2.blur(_halved(ref_lum) if half else ref_lum, (window, window))
    centres, variances = _difference_noise(smooth_ref, distances, quartile=0.404)  # chi-square(3)/3
    noise_scale = cv2.divide(1.0, np.interp(smooth_ref, centres, variances).astype(np.float32), scale=1 / SHRINK)
    centres, variances = _difference_noise(smooth_ref, energies, quartile=0.9)  # a mean of 75-108 squares
    energy_scale = cv2.divide(1.0, np.interp(smooth_ref, centres, variances).astype(np.float32))
    weights = []
    for warped, distance, energy in zip(warped_frames, distances, energies):
        weight = robust_weight(cv2.multiply(distance, noise_scale), cv2.multiply(energy, energy_scale), window)
        if half:
            weight = cv2.resize(weight, shape[::-1], interpolation=cv2.INTER_LINEAR)
        weights.append(weight)
    return photos[ref].with_merged_pixels(weighted_mean(photos[ref].pixels, warped_frames, weights))


def _difference_and_energy(warped: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """warped - reference, and the channel mean of its square (in row bands, on all cores)."""
    difference = np.empty(warped.shape, np.float32)
    energy = np.empty(warped.shape[:2], np.float32)

    def band(start: int, end: int) -> None:
        rows = slice(start, end)
        cv2.subtract(warped[rows], reference[rows], dst=difference[rows])
        energy[rows] = _channel_mean(cv2.multiply(difference[rows], difference[rows]))

    run_in_bands(warped.shape[0], _BAND_ROWS, band)
    return difference, energy


@dataclass(frozen=True)
class BurstOutcome:
    """What a burst merge wrote: the developed result, the merged DNG (RAW bursts), which frames went in."""

    output: Path
    frames: int  # in the merge, the reference included
    reference: int
    left_out: tuple[str, ...] = ()  # one line per frame left out
    dng: Path | None = None
    in_mosaic: bool = False  # merged on the RAW mosaic (else on developed RGB frames)

    def __str__(self) -> str:
        return str(self.output)


def merge_burst_files(paths: Sequence[str], target, *, reference: int | str = "auto", tonemap_name: str = "none",
                      dng: str | Path | None = None, context=None) -> BurstOutcome:
    """Read a burst, merge it and write ``target`` (.hdr/.exr radiance, or .tif/.png/.jpg tone-mapped).

    A burst of camera RAW files is merged on the mosaic (:mod:`photolab.core.raw_burst`), written as a DNG
    (to ``dng`` when given, else a temporary one) and developed from it like any RAW file; other bursts are
    merged on their developed frames. The work function of the CLI's and the window's burst jobs."""
    from photolab.core.hdr import read_frames
    from photolab.core.tonemap import write_result

    if len(paths) < 2:
        raise MergeError(f"merging needs at least 2 frames, got {len(paths)}")
    sub = (lambda a, b: context.subtask(a, b)) if context is not None else (lambda a, b: None)
    if is_raw_burst(paths):
        with tempfile.TemporaryDirectory(prefix="photolab-burst-") as folder:
            result, written = merge_raw_burst_files(paths, reference=reference,
                                                    dng=dng or Path(folder) / "merged.dng", context=sub(0.0, 0.8))
            if context is not None:
                context.progress(0.8, "Developing the merged DNG")
            merged = read_photo(written)
            output = write_result(merged, target, tonemap_name=tonemap_name, context=sub(0.9, 1.0))
        return BurstOutcome(Path(output), len(result.merged), result.reference,
                            tuple(result.describe([Path(p).name for p in paths])),
                            Path(written) if dng else None, True)
    if dng:
        raise MergeError("a merged DNG needs a burst of camera RAW files; these frames are not RAW")
    photos = read_frames(paths, sub(0.0, 0.3))
    ref = choose_reference(photos) if reference == "auto" else reference
    merged = merge_burst(photos, ref, sub(0.3, 0.9))
    if context is not None:
        context.progress(0.9, "Writing the result")
    output = write_result(merged, target, tonemap_name=tonemap_name, context=sub(0.9, 1.0))
    return BurstOutcome(Path(output), len(photos), int(ref))
