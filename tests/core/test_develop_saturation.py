"""Saturation and vibrance: chroma around luminance; -100 is exact greyscale; vibrance favours muted colours."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.color import LUMA_WEIGHTS
from photolab.core.develop.saturation import SaturationParams, apply, vibrance_factor
from photolab.core.photo import Photo

RNG = np.random.default_rng(5)
COLOURS = Photo(RNG.random((20, 30, 3), dtype=np.float32) * 1.2)


def luminance(pixels) -> np.ndarray:
    return np.asarray(pixels, dtype=np.float64) @ LUMA_WEIGHTS.astype(np.float64)


def chroma(pixels) -> np.ndarray:
    """Distance of each pixel from its own grey (the part saturation scales)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    return np.linalg.norm(pixels - luminance(pixels)[..., None], axis=-1)


@pytest.mark.parametrize("vibrance", [0, 50])
def test_saturation_minus_100_gives_exact_greyscale_at_the_pixels_luminance(vibrance):
    result = apply(COLOURS, SaturationParams(saturation=-100, vibrance=vibrance)).pixels
    assert np.array_equal(result[..., 0], result[..., 1]) and np.array_equal(result[..., 1], result[..., 2])
    np.testing.assert_allclose(result[..., 0], luminance(COLOURS.pixels), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("saturation", [-60, 40, 100])
def test_saturation_scales_chroma_uniformly_and_keeps_luminance(saturation):
    result = apply(COLOURS, SaturationParams(saturation=saturation)).pixels
    np.testing.assert_allclose(luminance(result), luminance(COLOURS.pixels), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(chroma(result), chroma(COLOURS.pixels) * (1 + saturation / 100), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("params", [SaturationParams(80, 0), SaturationParams(0, 100), SaturationParams(-50, -100)])
def test_grey_stays_grey(params):
    grey = Photo(np.repeat(np.array([0.0, 0.02, 0.18, 0.7, 1.5], np.float32)[None, :, None], 3, axis=2))
    np.testing.assert_allclose(apply(grey, params).pixels, grey.pixels, rtol=1e-6, atol=1e-7)


def test_vibrance_boosts_muted_colours_more_than_vivid_ones():
    # A muted and a vivid blue-green (hues far from skin), as a single row.
    photo = Photo(np.array([[[0.30, 0.40, 0.42], [0.02, 0.30, 0.40]]], np.float32))
    result = apply(photo, SaturationParams(vibrance=100)).pixels
    gain = chroma(result) / chroma(photo.pixels)
    assert gain[0, 0] > 1.5 and 1.0 < gain[0, 1] < 1.05
    np.testing.assert_allclose(luminance(result), luminance(photo.pixels), rtol=1e-5)
    reduced = apply(photo, SaturationParams(vibrance=-100)).pixels
    loss = chroma(reduced) / chroma(photo.pixels)
    assert loss[0, 0] < 0.5 and 0.95 < loss[0, 1] < 1.0


def test_vibrance_spares_skin_tones():
    # Same HSV saturation (1/3): a skin-like orange and a blue; the skin tone gets about half the boost.
    photo = Photo(np.array([[[0.60, 0.48, 0.40], [0.40, 0.48, 0.60]]], np.float32))
    gain = chroma(apply(photo, SaturationParams(vibrance=100)).pixels) / chroma(photo.pixels)
    assert gain[0, 1] == pytest.approx(1 + (2 / 3) ** 2, rel=1e-4)
    assert gain[0, 0] < 1 + 0.6 * (2 / 3) ** 2


def test_vibrance_factor_reference_matches_the_fast_path_and_combines_with_saturation():
    result = apply(COLOURS, SaturationParams(saturation=30, vibrance=60)).pixels
    k = 1.3 * vibrance_factor(COLOURS.pixels, 60)
    y = luminance(COLOURS.pixels)[..., None]
    np.testing.assert_allclose(result, y + k[..., None] * (COLOURS.pixels - y), rtol=1e-5, atol=1e-6)
