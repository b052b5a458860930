"""Tone mapping scene radiance for display, and writing merge results (float radiance or tone-mapped).

Operators work on luminance and keep each pixel's colour ratios: ``reinhard`` (global, Reinhard et al. 2002,
with the log-average key and a white point) and ``local`` (Durand & Dorsey-style base/detail split of log
luminance, with an edge-preserving guided filter for the base: the base is compressed, the detail kept, so
local contrast survives a large compression without halos).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from photolab.core.atomic import atomic_path
from photolab.core.bands import run_in_bands
from photolab.core.color import luminance
from photolab.core.errors import UnsupportedFormatError
from photolab.core.export import FORMAT_BY_SUFFIX, export_photo
from photolab.core.photo import Photo

TONEMAPS = ("local", "reinhard", "none")  # none: the linear pixels as they are (clipped at white)
RADIANCE_SUFFIXES = (".hdr", ".exr")
_EPS = 1e-6
_BAND_ROWS = 64


def _with_luminance(pixels: np.ndarray, lum: np.ndarray, new_lum: np.ndarray) -> np.ndarray:
    scale = cv2.divide(new_lum.astype(np.float32), cv2.max(lum, _EPS))
    return cv2.max(cv2.multiply(pixels, cv2.merge([scale, scale, scale])), 0.0)


def _finite_non_negative(pixels: np.ndarray) -> np.ndarray:
    pixels = np.asarray(pixels, np.float32)
    if not cv2.checkRange(pixels):  # one cheap pass; NaN and infinities are rare
        pixels = np.nan_to_num(pixels, nan=0.0, posinf=0.0)
    return cv2.max(pixels.reshape(pixels.shape[0], -1), 0.0).reshape(pixels.shape)


def _at_most_one(pixels: np.ndarray) -> np.ndarray:
    # on a 2-D view: OpenCV reads a Python number as a Scalar (v, 0, 0, 0), one value per channel
    return cv2.min(pixels.reshape(pixels.shape[0], -1), 1.0).reshape(pixels.shape)


def reinhard(pixels: np.ndarray, key: float = 0.18, white: float | None = None) -> np.ndarray:
    """Global Reinhard operator: luminance scaled to ``key`` at its log average, then L(1 + L/w^2)/(1 + L);
    ``white`` (default: the 99.9th percentile) maps to 1. Returns display-linear pixels in [0, 1]."""
    pixels = _finite_non_negative(pixels)
    lum = luminance(pixels)
    log_average = float(np.exp(np.mean(np.log(lum[::4, ::4] + _EPS))))
    scaled = lum * (key / max(log_average, _EPS))
    if white is None:
        white = max(float(np.percentile(scaled[::4, ::4], 99.9)), 1.0)
    mapped = scaled * (1 + scaled / (white * white)) / (1 + scaled)
    return _at_most_one(_with_luminance(pixels, lum, mapped))


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (box filters only: linear time, edge-preserving)."""
    size = (2 * radius + 1, 2 * radius + 1)
    mean_i = cv2.boxFilter(guide, -1, size)
    mean_p = cv2.boxFilter(source, -1, size)
    cov = cv2.boxFilter(guide * source, -1, size) - mean_i * mean_p
    var = cv2.boxFilter(guide * guide, -1, size) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return cv2.boxFilter(a, -1, size) * guide + cv2.boxFilter(b, -1, size)


def local_tonemap(pixels: np.ndarray, contrast_stops: float = 6.0, detail: float = 1.0) -> np.ndarray:
    """Local operator: log2 luminance = base (guided filter) + detail; the base is compressed to
    ``contrast_stops`` stops, the detail multiplied by ``detail``. Returns display-linear pixels in [0, 1].
    The per-pixel work runs in row bands on all cores (the base is a whole-image filter between them)."""
    pixels = np.asarray(pixels, np.float32)
    finite = bool(cv2.checkRange(pixels))
    out = np.empty(pixels.shape, np.float32)  # first the clean input, then the result, band by band
    lum = np.empty(pixels.shape[:2], np.float32)
    log_lum = np.empty(pixels.shape[:2], np.float32)

    def prepare(start: int, end: int) -> None:
        band = pixels[start:end] if finite else np.nan_to_num(pixels[start:end], nan=0.0, posinf=0.0)
        out[start:end] = cv2.max(band.reshape(end - start, -1), 0.0).reshape(band.shape)
        lum[start:end] = luminance(out[start:end])
        log_lum[start:end] = np.log2(lum[start:end] + _EPS)

    run_in_bands(pixels.shape[0], _BAND_ROWS, prepare)
    radius = max(2, round(0.02 * max(lum.shape)))
    small = 1.0
    if max(lum.shape) > 2048:  # the base is smooth: filter it at a quarter of the size, guide at full size
        small = 0.25
    guide = log_lum if small == 1 else cv2.resize(log_lum, None, fx=small, fy=small, interpolation=cv2.INTER_AREA)
    base = guided_filter(guide, guide, max(2, round(radius * small)), eps=0.5)
    if small != 1:
        base = cv2.resize(base, lum.shape[::-1], interpolation=cv2.INTER_LINEAR)
    low, high = np.percentile(base[::4, ::4], (0.5, 99.5))
    compression = min(1.0, contrast_stops / max(float(high - low), _EPS))

    def finish(start: int, end: int) -> None:
        rows = slice(start, end)
        # brightest base just under white
        out_log = (base[rows] - high) * compression + (log_lum[rows] - base[rows]) * detail - 0.2
        mapped = cv2.exp(cv2.multiply(out_log.astype(np.float32), float(np.log(2))))
        out[rows] = _at_most_one(_with_luminance(out[rows], lum[rows], mapped))

    run_in_bands(pixels.shape[0], _BAND_ROWS, finish)
    return out


def tonemap(photo: Photo, name: str = "local") -> Photo:
    """``photo`` (scene-linear radiance) tone-mapped for display with one of TONEMAPS."""
    if name == "reinhard":
        return photo.with_pixels(reinhard(photo.pixels))
    if name == "local":
        return photo.with_pixels(local_tonemap(photo.pixels))
    if name == "none":
        return photo
    raise ValueError(f"unknown tone mapping {name!r}; choose one of {', '.join(TONEMAPS)}")


def write_result(photo: Photo, target: str | Path, *, tonemap_name: str = "local", display_referred: bool = False,
                 context=None) -> Path:
    """Write a merge result: .hdr (Radiance RGBE) or .exr as float scene radiance; .jpg/.png/.tif tone-mapped
    (``tonemap_name``) through the ordinary export. ``display_referred`` pixels (exposure fusion) are written
    as they are. Atomic, like every export."""
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix in RADIANCE_SUFFIXES:
        if display_referred:
            raise UnsupportedFormatError(f"{target}: exposure fusion (mertens) makes a display image, not scene "
                                         f"radiance; write .tif, .png or .jpg instead")
        if not cv2.haveImageWriter(str(target)):
            raise UnsupportedFormatError(f"{target}: this OpenCV build cannot write OpenEXR; write .hdr "
                                         f"(Radiance) instead")
        bgr = np.ascontiguousarray(np.maximum(photo.pixels, 0)[..., ::-1], dtype=np.float32)
        with atomic_path(target) as temporary:
            if not cv2.imwrite(str(temporary), bgr):
                raise UnsupportedFormatError(f"{target}: OpenCV could not write the {suffix} file")
        return target
    if suffix not in FORMAT_BY_SUFFIX:
        raise UnsupportedFormatError(f"{target}: unknown output type {suffix or '(none)'}; use .hdr or .exr for "
                                     f"radiance, .tif, .png or .jpg for a tone-mapped image")
    display = photo if display_referred else tonemap(photo, tonemap_name)
    return export_photo(display, target, file_format=FORMAT_BY_SUFFIX[suffix], context=context)
