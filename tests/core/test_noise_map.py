"""The denoiser's noise-level maps from a RAW photo's noise profile: banded like the whole-image computation,
scaled to a level, clipped at MAX_SIGMA. (That they are the training map at Auto's level, on a developed noisy
DNG, is checked in tests/core/test_noise_profile.py.)"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photolab.core import noise_map
from photolab.core.noise_map import MAX_SIGMA, map_level, profile_noise_map, scaled_map
from photolab.core.photo import NoiseProfile


def test_the_map_is_the_same_in_bands_and_whole():
    srgb = np.random.default_rng(2).random((300, 70, 3), dtype=np.float32)  # several bands of rows
    profile = NoiseProfile(0.01, 1e-4, 0.01, 1e-4, 1.0)
    whole = noise_map.poisson_gaussian_map(cv2.GaussianBlur(srgb, (0, 0), 1.5), 0.01, 1e-4)
    np.testing.assert_allclose(noise_map.profile_map(srgb, profile), whole, rtol=1e-6, atol=1e-8)



def test_a_scaled_map_has_the_level_asked_for_and_stays_below_max_sigma():
    srgb = np.random.default_rng(3).random((64, 48, 3), dtype=np.float32)
    profile = NoiseProfile(0.01, 1e-4, 0.01, 1e-4, 1.0)
    assert map_level(profile_noise_map(srgb, profile, 20.0)) == pytest.approx(20.0, rel=1e-4)
    level_map = noise_map.profile_map(srgb, profile)
    assert scaled_map(level_map, map_level(level_map), None) is level_map  # no strength: the map itself
    assert scaled_map(level_map.copy(), map_level(level_map), 10 * MAX_SIGMA).max() == pytest.approx(MAX_SIGMA / 255)
    flat = scaled_map(np.zeros((4, 4), np.float32), 0.0, 12.0)  # no noise found: the strength everywhere
    np.testing.assert_allclose(flat, 12 / 255)
