"""The denoiser's noise-level maps for a camera RAW photo, made from its sensor noise profile
(:mod:`photolab.core.noise_profile` measures it on the mosaic).

The denoiser was trained (``training/train_denoiser.py``, its ``bayer`` and ``poisson-gaussian`` noise) with the
map ``poisson_gaussian_map(blurred noisy sRGB, a, b)``, ``a`` and ``b`` in the linear units of the image itself.
:class:`~photolab.core.photo.NoiseProfile` holds them converted to the developed photo's linear units
(see :func:`photolab.core.noise_profile.photo_units`), so the Denoise step makes the very same map for a RAW
photo (:func:`profile_noise_map`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photolab.core.bands import run_in_bands
from photolab.core.color import SRGB_GAMMA, SRGB_LINEAR_KNEE, SRGB_SCALE, srgb_decode
from photolab.core.photo import NoiseProfile

MAX_SIGMA = 100.0
"""Largest noise level (0-255 scale) of a map, and of the denoiser's strength (DenoiseParams.sigma; the
network was trained up to about 75)."""

MAP_BLUR = 1.5
"""Gaussian blur (px) of the noisy sRGB image that stands in for the noise-free one in a map (as in training)."""


def srgb_slope(linear: np.ndarray) -> np.ndarray:
    """d(sRGB encode)/d(linear) at ``linear`` (clipped to a finite slope near black)."""
    linear = np.maximum(linear, SRGB_LINEAR_KNEE)
    return (SRGB_SCALE / SRGB_GAMMA) * np.power(linear, 1 / SRGB_GAMMA - 1)


def poisson_gaussian_map(reference_srgb: np.ndarray, shot_gain: float, read_variance: float) -> np.ndarray:
    """Noise std (sRGB 0-1 scale) per pixel of an image whose *linear* noise variance is
    ``shot_gain * x + read_variance`` (x linear, 0-1), propagated through the sRGB curve.

    ``reference_srgb`` (H, W, 3) is a noise-free estimate of the image (a blurred noisy image will do);
    the map is (H, W), the mean over the channels.
    """
    linear = srgb_decode(np.clip(reference_srgb, 0.0, 1.0)).astype(np.float32)
    std = np.sqrt(shot_gain * linear + read_variance) * srgb_slope(linear)
    return np.clip(std.mean(axis=2), 0.0, MAX_SIGMA / 255).astype(np.float32)


_BAND = 64  # rows per band of a map
_HALO = 8  # rows of context for the blur (its kernel reaches 6 rows at MAP_BLUR = 1.5)


def profile_map(srgb: np.ndarray, profile: NoiseProfile) -> np.ndarray:
    """The denoiser's map for sRGB-encoded ``srgb`` (H, W, 3) of a photo with ``profile``, exactly as in
    training: ``poisson_gaussian_map(GaussianBlur(clip(srgb), 1.5), shot, read)`` (H, W), 0-1 scale. Made in
    bands of rows (the blur with a halo, so the result equals the whole-image computation): small temporaries."""
    height = srgb.shape[0]
    out = np.empty(srgb.shape[:2], np.float32)

    def work(start: int, end: int) -> None:
        low, high = max(0, start - _HALO), min(height, end + _HALO)
        band = np.clip(np.asarray(srgb[low:high], np.float32), 0.0, 1.0)
        blurred = cv2.GaussianBlur(band, (0, 0), MAP_BLUR)[start - low:end - low]
        out[start:end] = poisson_gaussian_map(blurred, profile.shot, profile.read)

    run_in_bands(height, _BAND, work)
    return out


def map_level(level_map: np.ndarray) -> float:
    """The overall noise level (0-255) of a map (0-1 scale): its root mean square over the image (every other
    row and column), like the noise std of a whole photo measured against a noise-free development. On
    synthetic noisy DNGs (the sample photo and six fixtures, a = 0.01, 0.004, 0.001) it read 0.85-1.34 of that
    std; a map's median is 0.6-0.9 of its RMS (lowest where read noise makes the shadows the noisiest)."""
    sample = level_map[::2, ::2]
    return float(np.sqrt(np.mean(np.square(sample, dtype=np.float64)))) * 255 if sample.size else 0.0


@dataclass(frozen=True)
class ProfileEstimate:
    """A RAW photo's noise as the Denoise step uses it: its :class:`NoiseProfile` and the overall level
    ``sigma`` (0-255, :func:`map_level` of the profile's map) of the image it was measured on. Used like
    ``photolab.core.noise_estimate.NoiseEstimate``."""

    profile: NoiseProfile
    sigma: float

    @staticmethod
    def measure(srgb: np.ndarray, profile: NoiseProfile) -> "ProfileEstimate":
        """The estimate for sRGB-encoded ``srgb`` (H, W, 3)."""
        return ProfileEstimate(profile, map_level(profile_map(srgb, profile)))

    def map_for(self, srgb: np.ndarray, strength: float | None = None) -> np.ndarray:
        """The profile's map for ``srgb`` scaled by ``strength / sigma`` (0-255; default: the estimate's own
        level, i.e. the training map itself); a uniform ``strength`` where no noise was found."""
        level_map = profile_map(srgb, self.profile)
        return scaled_map(level_map, self.sigma, strength)


def scaled_map(level_map: np.ndarray, level: float, strength: float | None) -> np.ndarray:
    """``level_map`` (whose overall level is ``level``, 0-255) scaled so that its level is ``strength``."""
    if strength is None:
        return level_map
    if level <= 0:
        return np.full(level_map.shape, min(float(strength), MAX_SIGMA) / 255, np.float32)
    level_map *= np.float32(strength / level)
    return np.clip(level_map, 0.0, MAX_SIGMA / 255, out=level_map)


def profile_noise_map(srgb: np.ndarray, profile: NoiseProfile, strength: float) -> np.ndarray:
    """The Denoise step's adaptive map for a RAW photo: the profile's map of ``srgb`` scaled so that its level
    (:func:`map_level`, over this image) is ``strength`` (0-255)."""
    level_map = profile_map(srgb, profile)
    return scaled_map(level_map, map_level(level_map), strength)
