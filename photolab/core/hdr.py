"""HDR: merge exposure brackets into scene radiance (or fuse them), handheld and without ghosts.

The physically right merge for linear data (RAW, or 8/16-bit files linearised through the sRGB curve):
every frame divided by its relative exposure estimates the same radiance; frames are averaged with
per-pixel inverse-variance weights under a shot + read + quantisation noise model (the longest unclipped
exposure dominates), and clipped pixels get no weight. Frames from an unknown response can instead be
calibrated with OpenCV's Debevec or Robertson methods, or fused for display with Mertens' method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from photolab.core.align import (AlignmentError, MergeError, exposure_normalised, find_euclidean,  # noqa: F401
                                 warp_frame)
from photolab.core.bands import run_in_bands
from photolab.core.color import SRGB_GAMMA, SRGB_SCALE, SRGB_SLOPE, encode_srgb_integer, luminance, srgb_decode
from photolab.core.photo import Photo

METHODS = ("radiance", "debevec", "robertson", "mertens")
MIN_FRAMES, MAX_FRAMES = 2, 9
SHOT_NOISE = 2e-4  # variance per unit of linear signal (about a 5 000 e- full well)
READ_NOISE = 4e-7  # variance of the noise floor
GHOST_SIGMAS = 5.0
_BAND_ROWS = 64
_HALF_RES_ABOVE = 2_000_000  # pixels: larger frames are deghosted on 2x2 means


class MissingExposureError(MergeError):
    """Frames whose exposure is unknown (no shutter speed recorded, none given)."""


@dataclass(frozen=True)
class HdrOptions:
    """How to merge: ``method`` (one of METHODS), global alignment, deghosting, reference frame index
    (None: the middle exposure)."""

    method: str = "radiance"
    align: bool = True
    deghost: bool = True
    reference: int | None = None


def relative_exposures(photos: Sequence[Photo], times: Sequence[float] | None = None) -> np.ndarray:
    """Each frame's exposure relative to the first: shutter time x ISO / f-number^2 from the metadata, or
    ``times`` (seconds) when given. Raises MissingExposureError naming the frames without a shutter time."""
    if times is not None:
        if len(times) != len(photos):
            raise MergeError(f"{len(times)} exposure times given for {len(photos)} frames; give one per frame")
        if any(not (t > 0 and math.isfinite(t)) for t in times):
            raise MergeError("exposure times must be positive numbers of seconds")
        values = np.array(times, np.float64)
    else:
        missing = [frame_name(p, i) for i, p in enumerate(photos) if not p.metadata.shutter_seconds]
        if missing:
            raise MissingExposureError(f"{', '.join(missing)}: no exposure time is recorded; give the exposure "
                                       f"times of the frames")
        values = np.array([p.metadata.shutter_seconds for p in photos], np.float64)
        isos = [p.metadata.iso for p in photos]
        if all(isos):
            values *= np.array(isos, np.float64) / isos[0]
        apertures = [p.metadata.aperture for p in photos]
        if all(apertures):
            values *= (apertures[0] / np.array(apertures, np.float64)) ** 2
    values = values / values[0]
    order = np.sort(values)
    if np.any(order[1:] / order[:-1] < 1.05):
        raise MergeError("two frames have the same exposure; HDR needs brackets of different exposures "
                         "(to merge frames of equal exposure use burst merging)")
    return values


def measured_exposures(photos: Sequence[Photo]) -> np.ndarray:
    """Each frame's exposure relative to the first, measured from the pixels: the median ratio of their
    luminance over pixels that are well exposed (neither dark nor clipped) in both frames. Good enough to
    order the frames and to align them; exposure fusion (Mertens) needs nothing more."""
    small = [luminance(cv2.resize(p.pixels, (64, 64), interpolation=cv2.INTER_AREA)
                       if max(p.pixels.shape[:2]) > 64 else p.pixels) for p in photos]
    first = small[0]
    values = [1.0]
    for lum in small[1:]:
        usable = (first > 0.01) & (first < 0.9) & (lum > 0.01) & (lum < 0.9)
        if usable.sum() < 8:  # no common well-exposed pixels: compare the means instead
            ratio = float(lum.mean()) / max(float(first.mean()), 1e-6)
        else:
            ratio = float(np.median(lum[usable] / first[usable]))
        values.append(ratio if math.isfinite(ratio) and ratio > 0 else 1.0)
    return np.array(values, np.float64)


def check_count(count: int, minimum: int, maximum: int) -> None:
    """Raise MergeError unless there are minimum..maximum frames."""
    if count < minimum:
        raise MergeError(f"merging needs at least {minimum} frames, got {count}")
    if count > maximum:
        raise MergeError(f"merging takes at most {maximum} frames, got {count}")


def check_same_camera(first, other, first_name: str, other_name: str) -> None:
    """Raise MergeError when two frames' metadata name different cameras (unknown cameras pass)."""
    cameras = [(m.camera_make, m.camera_model) for m in (first, other)]
    if all(all(c) for c in cameras) and cameras[0] != cameras[1]:
        raise MergeError(f"{other_name} comes from a {' '.join(cameras[1])}, {first_name} from a "
                         f"{' '.join(cameras[0])}; all frames must come from one camera")


def check_equal_exposures(metadata: Sequence) -> None:
    """Raise MergeError when a burst's frames (their metadata) were exposed for different times."""
    times = {m.shutter_seconds for m in metadata if m.shutter_seconds}
    if len(times) > 1 and max(times) / min(times) > 1.1:
        raise MergeError("the burst's frames have different exposure times; merge brackets with HDR instead")


def check_frames(photos: Sequence[Photo], *, minimum: int = MIN_FRAMES, maximum: int = MAX_FRAMES) -> None:
    """Raise MergeError unless there are minimum..maximum frames of one size from one camera."""
    check_count(len(photos), minimum, maximum)
    first = photos[0]
    for index, photo in enumerate(photos[1:], 1):
        if photo.pixels.shape != first.pixels.shape:
            raise MergeError(f"{frame_name(photo, index)} is {photo.width}x{photo.height} but "
                             f"{frame_name(first, 0)} is {first.width}x{first.height}; all frames must have the "
                             f"same size")
        check_same_camera(first.metadata, photo.metadata, frame_name(first, 0), frame_name(photo, index))


def frame_name(photo: Photo, index: int) -> str:
    """The frame's file name for messages, or "frame N" (counting from 1) for one not read from a file."""
    return Path(photo.metadata.path).name if photo.metadata.path else f"frame {index + 1}"


def clip_level(pixels: np.ndarray) -> float:
    """The value above which a frame's pixels count as clipped (just under its white point)."""
    top = float(cv2.minMaxLoc(pixels.reshape(pixels.shape[0], -1))[1])
    return 0.97 * (top if top > 0 else 1.0)


def _noise_variance(signal: np.ndarray, eight_bit: bool) -> np.ndarray:
    """Variance of a linear pixel value: shot + read noise, plus 8-bit quantisation through the sRGB curve
    (one code step is d(linear)/d(code) = 2.275 s^0.583 / 255 on the power segment, 1 / (12.92 * 255) below)."""
    signal = cv2.max(np.asarray(signal, np.float32), 1e-9)
    variance = cv2.add(cv2.multiply(signal, SHOT_NOISE), READ_NOISE)
    if eight_bit:
        step = cv2.max(cv2.multiply(cv2.pow(signal, 1 / 1.7143), SRGB_GAMMA / SRGB_SCALE / 255.0),
                       1 / SRGB_SLOPE / 255.0)
        variance = cv2.add(variance, cv2.multiply(step, step, scale=1 / 12.0))
    return variance


def _weight_taper(signal: np.ndarray, clip: float) -> np.ndarray:
    """1 well below the clip level, falling smoothly to 0 at it (no seams where a frame drops out)."""
    t = cv2.min(cv2.max(cv2.multiply(cv2.subtract(clip, signal), 1 / (0.1 * clip)), 0.0), 1.0)
    return cv2.multiply(cv2.multiply(t, t), cv2.subtract(3.0, cv2.multiply(t, 2.0)))


def merge_radiance(photos: Sequence[Photo], exposures: np.ndarray, options: HdrOptions = HdrOptions(),
                   context=None) -> Photo:
    """Scene radiance (linear, in units of the reference frame's exposure) from linear brackets."""
    n = len(photos)
    ref = options.reference if options.reference is not None else int(np.argsort(exposures)[n // 2])
    clips = [clip_level(p.pixels) for p in photos]
    frames, masks = _aligned(photos, exposures, ref, options.align, context, clips=clips)
    exposures = [float(e) for e in exposures]  # Python floats keep the float32 arithmetic in float32
    eight_bit = [(p.metadata.bits_per_sample or 16) <= 8 for p in photos]
    height = frames[0].shape[0]
    lums = [np.empty(frames[0].shape[:2], np.float32) for _ in range(n)]
    weights = [np.empty(frames[0].shape[:2], np.float32) for _ in range(n)]

    def band(start: int, end: int) -> None:  # a few rows at a time, on all cores: temporaries stay in cache
        rows = slice(start, end)
        tapers = []
        for i, frame in enumerate(frames):
            f = frame[rows]
            lums[i][rows] = luminance(f)
            peak = np.maximum(f[..., 0], f[..., 1])
            np.maximum(peak, f[..., 2], out=peak)
            taper = _weight_taper(peak, clips[i])
            tapers.append(taper if masks[i] is None else cv2.multiply(masks[i][rows], taper))
        # first pass, on luminance: exposure-weighted mean of the unclipped frames
        total, norm = np.zeros_like(tapers[0]), np.zeros_like(tapers[0])
        for i in range(n):
            total = cv2.add(total, cv2.multiply(tapers[i], lums[i][rows]))
            norm = cv2.add(norm, cv2.multiply(tapers[i], exposures[i]))
        estimate = np.where(norm > 0, total / np.maximum(norm, 1e-30), lums[shortest][rows] / exposures[shortest])
        estimate = cv2.max(estimate.astype(np.float32), 0.0)
        for i in range(n):
            variance = _noise_variance(cv2.multiply(estimate, exposures[i]), eight_bit[i])
            weights[i][rows] = cv2.divide(tapers[i], variance, scale=exposures[i] ** 2)

    shortest = int(np.argmin(exposures))
    run_in_bands(height, _BAND_ROWS, band)
    if options.deghost and n > 1:
        if context is not None:
            context.progress(0.8, "Removing ghosts")
        _deghost(lums, exposures, weights, ref, eight_bit)
    return photos[ref].with_merged_pixels(_weighted(frames, exposures, weights, float(exposures[ref])))


def _aligned(photos, exposures, ref, align, context, max_side: int = 1024, clips=None):
    frames, masks = [], []
    if align and clips is None:
        clips = [clip_level(p.pixels) for p in photos]
    scale = min(1.0, max_side / max(photos[0].pixels.shape[:2]))
    small = [p.pixels if scale == 1 else cv2.resize(p.pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
             for p in photos] if align else []
    lums = [luminance(p) for p in small]
    for i, photo in enumerate(photos):
        if context is not None:
            context.progress(0.1 + 0.6 * i / len(photos), f"Aligning {frame_name(photo, i)}")
        if not align or i == ref:
            frames.append(photo.pixels)
            masks.append(None)  # every pixel has data
            continue
        a, b = exposure_normalised(lums[ref], exposures[ref], lums[i], exposures[i],
                                   clips[ref], clips[i])
        warp = find_euclidean(a, b, name=frame_name(photo, i))
        warp[:, 2] /= scale
        warped, mask = warp_frame(photo.pixels, warp)
        frames.append(warped)
        masks.append(mask)
    return frames, masks


def _weighted(frames, exposures, weights, gain: float) -> np.ndarray:
    """Sum of frame_i / exposure_i * weight_i over the sum of the weights, times ``gain`` (in row bands, on
    all cores); pixels clipped in every frame take the shortest exposure (the best, if still clipped, estimate)."""
    out = np.empty(frames[0].shape, np.float32)
    shortest = int(np.argmin(exposures))

    def band(start: int, end: int) -> None:
        rows = slice(start, end)
        total = np.zeros(out[rows].shape, np.float32)
        norm = np.zeros(out[rows].shape[:2], np.float32)
        for frame, exposure, weight in zip(frames, exposures, weights):
            scaled = cv2.multiply(weight[rows], 1.0 / float(exposure))
            total = cv2.add(total, cv2.multiply(frame[rows], cv2.merge([scaled, scaled, scaled])))
            norm = cv2.add(norm, weight[rows])
        inverse = cv2.divide(1.0, cv2.max(norm, 1e-30))
        out[rows] = cv2.multiply(total, cv2.merge([inverse, inverse, inverse]))
        empty = norm <= 0
        if empty.any():
            out[rows][empty] = frames[shortest][rows][empty] / float(exposures[shortest])
        out[rows] *= gain

    run_in_bands(out.shape[0], _BAND_ROWS, band)
    return out


def _deghost(lums, exposures, weights, ref, eight_bit) -> None:
    """Where a frame disagrees with the reference beyond noise, it loses its weight (the reference's pixels
    win). Only pixels the reference records well are judged; the masks are grown by a few pixels. Large
    frames are judged on 2x2 means (3x3 windows, like 6x6 pixels), the verdict scaled back up."""
    shape = lums[0].shape
    half = shape[0] * shape[1] > _HALF_RES_ABOVE
    if half:
        size = (shape[1] // 2, shape[0] // 2)
        lums = [cv2.resize(lum, size, interpolation=cv2.INTER_AREA) for lum in lums]
        valid = [cv2.resize(cv2.compare(w, 0.0, cv2.CMP_GT), size, interpolation=cv2.INTER_NEAREST) > 0
                 for w in weights]
    else:
        valid = [w > 0 for w in weights]
    window, samples = (3, 36.0) if half else (5, 25.0)
    ref_radiance = cv2.multiply(lums[ref], 1.0 / exposures[ref])
    ref_var = cv2.multiply(_noise_variance(lums[ref], eight_bit[ref]), 1.0 / exposures[ref] ** 2)
    tolerance = cv2.multiply(cv2.absdiff(ref_radiance, 0.0), 0.05)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5) if half else (7, 7))
    var, diff, limit = (np.empty(lums[0].shape, np.float32) for _ in range(3))  # reused: no page faults
    for i, lum in enumerate(lums):
        if i == ref:
            continue
        cv2.multiply(_noise_variance(lum, eight_bit[i]), 1.0 / exposures[i] ** 2, dst=var)
        cv2.multiply(lum, 1.0 / exposures[i], dst=diff)
        cv2.subtract(diff, ref_radiance, dst=diff)
        cv2.blur(diff, (window, window), dst=diff)
        cv2.add(var, ref_var, dst=var)
        cv2.blur(var, (window, window), dst=limit)
        cv2.multiply(limit, 1 / samples, dst=limit)
        cv2.sqrt(limit, dst=limit)
        cv2.multiply(limit, GHOST_SIGMAS, dst=limit)
        cv2.add(limit, tolerance, dst=limit)
        ghost = ((cv2.absdiff(diff, 0.0) > limit) & valid[ref] & valid[i]).astype(np.uint8)
        keep = cv2.subtract(1, cv2.dilate(ghost, kernel))
        if half:
            keep = cv2.resize(keep, shape[::-1], interpolation=cv2.INTER_NEAREST)
        cv2.multiply(weights[i], keep, dst=weights[i], dtype=cv2.CV_32F)


def merge_opencv(photos: Sequence[Photo], exposures: np.ndarray, method: str, options: HdrOptions = HdrOptions(),
                 context=None) -> Photo:
    """OpenCV's response calibration + merge (debevec, robertson) or Mertens exposure fusion on the frames'
    8-bit sRGB encodings (the response is learnt, not assumed). Mertens gives display-referred pixels."""
    n = len(photos)
    ref = options.reference if options.reference is not None else int(np.argsort(exposures)[n // 2])
    frames, _ = _aligned(photos, exposures, ref, options.align, context)
    encoded = [np.ascontiguousarray(encode_srgb_integer(f)[..., ::-1]) for f in frames]
    if context is not None:
        context.progress(0.75, f"Merging ({method})")
    if method == "mertens":
        fused = cv2.createMergeMertens().process(encoded)
        return photos[ref].with_merged_pixels(srgb_decode(np.clip(fused[..., ::-1], 0, 1)))
    times = (exposures / exposures.max() * 0.01).astype(np.float32)
    if method == "debevec":
        response = cv2.createCalibrateDebevec().process(encoded, times)
        radiance = cv2.createMergeDebevec().process(encoded, times, response)
    elif method == "robertson":
        response = cv2.createCalibrateRobertson().process(encoded, times)
        radiance = cv2.createMergeRobertson().process(encoded, times, response)
    else:
        raise MergeError(f"unknown HDR method {method!r}; choose one of {', '.join(METHODS)}")
    radiance = np.nan_to_num(radiance[..., ::-1].astype(np.float32), nan=0.0, posinf=0.0)
    return photos[ref].with_merged_pixels(radiance * float(times[ref]))


def merge_hdr(photos: Sequence[Photo], times: Sequence[float] | None = None, options: HdrOptions = HdrOptions(),
              context=None) -> Photo:
    """Merge 2-9 brackets into one linear Photo (scene radiance scaled to the reference exposure; for
    Mertens, a fused display image, for which exposure times are optional). ``context`` (a JobContext) gets
    progress and may cancel."""
    check_frames(photos)
    if options.method == "mertens" and times is None and any(not p.metadata.shutter_seconds for p in photos):
        exposures = measured_exposures(photos)  # fusion needs no exposure times; these only guide alignment
    else:
        exposures = relative_exposures(photos, times)
    if options.method not in METHODS:
        raise MergeError(f"unknown HDR method {options.method!r}; choose one of {', '.join(METHODS)}")
    if options.method == "radiance":
        return merge_radiance(photos, exposures, options, context)
    return merge_opencv(photos, exposures, options.method, options, context)


def read_frames(paths: Sequence[str | Path], context=None) -> list[Photo]:
    """Read every frame (as ``read_photo`` does), with progress over all of them."""
    from photolab.core.io import read_photo

    frames = []
    for index, path in enumerate(paths):
        sub = context.subtask(index / len(paths), (index + 1) / len(paths)) if context is not None else None
        frames.append(read_photo(path, context=sub))
    return frames


def merge_hdr_files(paths: Sequence[str | Path], target: str | Path, *, times: Sequence[float] | None = None,
                    options: HdrOptions = HdrOptions(), tonemap_name: str = "local", context=None) -> Path:
    """Read brackets, merge them and write ``target`` (.hdr/.exr radiance, or .tif/.png/.jpg tone-mapped).
    The work function of the CLI's and the window's HDR jobs; returns the path written."""
    from photolab.core.tonemap import write_result

    if len(paths) < MIN_FRAMES:
        raise MergeError(f"merging needs at least {MIN_FRAMES} frames, got {len(paths)}")
    if times is not None and len(times) != len(paths):
        raise MergeError(f"{len(times)} exposure times given for {len(paths)} frames; give one per frame")
    photos = read_frames(paths, context.subtask(0.0, 0.3) if context is not None else None)
    merged = merge_hdr(photos, times, options, context.subtask(0.3, 0.85) if context is not None else None)
    if context is not None:
        context.progress(0.85, f"Writing {Path(target).name}")
    return write_result(merged, target, tonemap_name=tonemap_name, display_referred=options.method == "mertens",
                        context=context.subtask(0.85, 1.0) if context is not None else None)
