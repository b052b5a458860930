"""Test images for noise estimation and denoising: fixtures in [0, 1], white noise, a smooth synthetic scene."""

from __future__ import annotations

import numpy as np

from utils.images import load_fixture


def fixture_srgb(name: str = "mountain_forest") -> np.ndarray:
    return load_fixture(name).astype(np.float32) / 255


def add_noise(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(clean.shape, dtype=np.float32) * np.float32(sigma / 255)
    return np.clip(clean.astype(np.float32) + noise, 0.0, 1.0)


def smooth_image(height: int = 160, width: int = 224) -> np.ndarray:
    """Gentle ramps and waves in mid-tones (nothing near clipping, almost no texture)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.dstack([0.25 + 0.5 * xx / width, 0.3 + 0.4 * yy / height,
                      0.5 + 0.2 * np.sin(xx / 30) * np.cos(yy / 25)]).astype(np.float32)
