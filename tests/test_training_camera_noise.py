"""The simulated out-of-camera JPEGs (training/camera_noise.py) and Auto's calibration fit."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
camera_noise = pytest.importorskip("camera_noise")

from photolab.core.noise_estimate import correlated_readings, estimate_noise  # noqa: E402


def test_a_noise_free_camera_keeps_a_flat_colour():
    camera = camera_noise.TEST_CAMERAS[0]
    linear = np.empty((32, 32, 3), np.float32)
    linear[...] = (0.18, 0.2, 0.1)
    clean = camera_noise.develop(camera_noise.mosaic(
        np.clip((linear @ np.linalg.inv(camera_noise.colour_matrix(camera.saturation)).T)
                / np.array([camera.white_balance[0], 1, camera.white_balance[1]], np.float32), 0, 1)), camera)
    expected = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(clean, expected, atol=2e-3)


def test_camera_noise_is_correlated_unlike_white_noise():
    """What Auto's calibration is about: single-pixel differences read far less than the noise there is."""
    linear = np.full((256, 256, 3), 0.18, np.float32)
    noisy, clean = camera_noise.shoot(linear, camera_noise.TEST_CAMERAS[0], np.random.default_rng(0))
    noisy = noisy.astype(np.float32) / 255
    true_sigma = float(np.std(noisy - clean)) * 255
    assert true_sigma > 5
    assert estimate_noise(noisy).sigma < 0.6 * true_sigma
    full, half = correlated_readings(noisy)
    assert half > 1.5 * full


def test_calibration_and_benchmark_cameras_are_different():
    assert not {c.name for c in camera_noise.CALIBRATION_CAMERAS} & {c.name for c in camera_noise.TEST_CAMERAS}
    settings = lambda c: (c.shot, c.read, c.demosaic, c.saturation, c.sharpen_amount, c.jpeg_quality)  # noqa: E731
    assert not {settings(c) for c in camera_noise.CALIBRATION_CAMERAS} & {settings(c) for c in camera_noise.TEST_CAMERAS}


def test_the_calibration_fit_finds_a_known_rule():
    calibrate = pytest.importorskip("calibrate_auto_denoise")
    rng = np.random.default_rng(0)
    truth = np.array([0.1, 0.3, 0.8])
    rows = []
    for _ in range(40):
        readings = rng.uniform(1, 30, 2)
        best = np.exp(truth[0] + np.log(readings + 1) @ truth[1:]) - 1
        curve = [-(np.log(s + 1) - np.log(best + 1)) ** 2 for s in calibrate.STRENGTHS]  # peaks at the best
        rows.append({"case": "white" if len(rows) % 2 else "camera", "sigmas": list(readings), "psnr": curve})
    coefficients, metrics = calibrate.fit(rows)
    assert metrics["psnr_lost_vs_best_per_image_db"] < 0.02
