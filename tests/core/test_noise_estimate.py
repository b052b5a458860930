"""Measuring an image's noise from its pixels: the overall sigma and the noise level function."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.errors import DenoiseError
from photolab.core.noise_estimate import NoiseEstimate, correlated_readings, estimate_noise, estimate_strength
from utils.images import load_fixture
from utils.noisy import add_noise, fixture_srgb, smooth_image


@pytest.mark.parametrize("sigma", [10.0, 30.0])
def test_estimate_noise_recovers_a_known_sigma(sigma):
    estimate = estimate_noise(add_noise(smooth_image(), sigma, seed=int(sigma)))
    assert estimate.sigma == pytest.approx(sigma, rel=0.15)


def test_a_large_photo_is_measured_in_regions_spread_over_it():
    large = add_noise(np.tile(smooth_image(), (14, 12, 1)), 20)  # 2240 x 2688: 4 x 4 regions of 514 px
    estimate = estimate_noise(large)
    assert estimate.sigma == pytest.approx(20, rel=0.15) and len(estimate.levels) >= 4


def test_estimate_noise_handles_clipping_in_a_noisy_photo():
    """Dark and bright blocks of a noisy photo all hold a few clipped samples; they still count."""
    clean = fixture_srgb("dandelion")
    assert estimate_noise(add_noise(clean, 30)).sigma == pytest.approx(30, rel=0.15)
    assert estimate_noise(add_noise(clean, 50)).sigma > 35


def test_estimate_noise_accepts_integers_and_finds_little_noise_in_a_clean_photo():
    clean = load_fixture("wine_table")
    assert estimate_noise(clean).sigma < 3.0
    assert estimate_noise(clean).sigma == pytest.approx(estimate_noise(clean.astype(np.float32) / 255).sigma)


def test_estimate_noise_follows_signal_dependent_noise():
    clean = smooth_image()
    brightness = clean.mean(axis=2, keepdims=True)
    noise = np.random.default_rng(1).normal(0.0, 1.0, clean.shape) * (4 + 40 * (brightness - 0.3)) / 255
    estimate = estimate_noise(np.clip(clean + noise, 0, 1).astype(np.float32))
    assert len(estimate.levels) >= 3
    assert estimate.sigmas[-1] > 1.5 * estimate.sigmas[0]
    level_map = estimate.map_for(clean, strength=20.0)
    assert level_map.shape == clean.shape[:2]
    dark, bright = clean.mean(axis=2) < 0.4, clean.mean(axis=2) > 0.6
    assert level_map[bright].mean() > level_map[dark].mean()


def test_noise_maps_without_a_measured_function_are_uniform():
    image = np.zeros((10, 12, 3), np.float32)
    assert np.all(NoiseEstimate(12.0).map_for(image) == np.float32(12 / 255))
    assert np.all(NoiseEstimate(12.0).map_for(image, 30.0) == np.float32(30 / 255))
    # no noise found but a function measured: the strength asked for, everywhere
    flat = NoiseEstimate(0.0, (0.2, 0.8), (0.0, 0.0))
    assert np.allclose(flat.map_for(image, 15.0), 15 / 255)


def test_estimate_noise_refuses_tiny_images():
    with pytest.raises(DenoiseError, match="too small"):
        estimate_noise(np.zeros((20, 20, 3), np.float32))


def _camera_like_noise(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Noise of std ``sigma`` (0-255) spread over neighbouring pixels (as demosaicing does), then a mild
    sharpening: what a camera's JPEG holds, unlike white noise."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.standard_normal(clean.shape).astype(np.float32), (0, 0), 1.0)
    noise = noise - 0.5 * (cv2.GaussianBlur(noise, (0, 0), 2.0) - noise)
    noise *= np.float32(sigma / 255 / noise.std())
    return np.clip(clean + noise, 0, 1).astype(np.float32)


def test_auto_strength_reads_white_noise_about_as_it_is():
    noisy = add_noise(smooth_image(320, 448), 20, seed=3)
    assert estimate_strength(noisy).sigma == pytest.approx(20, rel=0.25)


def test_auto_strength_sees_the_correlated_noise_that_single_pixel_differences_miss():
    noisy = _camera_like_noise(smooth_image(320, 448), 20)
    white_reading = estimate_noise(noisy).sigma
    assert white_reading < 12  # the white-noise estimate reads about a third of it
    assert estimate_strength(noisy).sigma > 1.6 * white_reading


def test_auto_strength_keeps_the_noise_level_function_scaled_to_it():
    noisy = _camera_like_noise(smooth_image(320, 448), 15)
    estimate = estimate_strength(noisy)
    assert estimate.levels and len(estimate.levels) == len(estimate.sigmas)
    assert np.mean(estimate.sigmas) == pytest.approx(estimate.sigma, rel=0.5)


def test_without_its_calibration_auto_strength_is_the_white_noise_reading(monkeypatch, tmp_path):
    import photolab.core.noise_estimate as module

    monkeypatch.setattr(module, "AUTO_CALIBRATION", tmp_path / "missing.json")
    module._strength_rule.cache_clear()
    try:
        noisy = _camera_like_noise(smooth_image(320, 448), 20)
        assert estimate_strength(noisy).sigma == pytest.approx(correlated_readings(noisy)[0], rel=1e-6)
    finally:
        module._strength_rule.cache_clear()


def test_the_shipped_calibration_is_complete():
    import json

    import photolab.core.noise_estimate as module

    card = json.loads(module.AUTO_CALIBRATION.read_text())
    assert len(card["coefficients"]) == 3 and module._strength_rule() == tuple(card["coefficients"])
    assert len(card["features"]) == 2
    assert {"data", "recipe", "metrics"} <= set(card)


def test_texture_does_not_pass_for_correlated_noise():
    """Only the flattest cells count: a textured photo with white noise still reads about as white."""
    noisy = add_noise(fixture_srgb("nuthatch_bark"), 10, seed=4)
    full, half = correlated_readings(noisy)
    assert half < 1.35 * full
    assert estimate_strength(noisy).sigma == pytest.approx(10, rel=0.35)
