"""The denoiser's training noise: the unprocessed RAW pipeline of training/train_denoiser.py."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
train_denoiser = pytest.importorskip("train_denoiser")

from photolab.core.noise_profile import photo_units  # noqa: E402


@pytest.mark.parametrize("edge_aware, median", [(False, False), (True, False), (False, True)])
def test_a_noise_free_raw_develops_back_to_the_photo(edge_aware, median):
    camera = train_denoiser.Camera.random(np.random.default_rng(3))
    linear = np.empty((16, 16, 3), np.float32)
    linear[...] = (0.18, 0.3, 0.08)  # a flat colour: demosaicing is exact
    developed = camera.develop(camera.unprocess(linear), edge_aware, median)
    np.testing.assert_allclose(developed, linear, atol=2e-4)


def test_the_training_map_uses_the_apps_raw_noise_units():
    camera = train_denoiser.Camera.random(np.random.default_rng(5))
    assert camera.map_units(0.01, 1e-4) == pytest.approx(photo_units(0.01, 1e-4, 1.0, camera.gains))


def test_white_balance_makes_red_and_blue_noisier_than_green():
    rng = np.random.default_rng(0)
    grey = np.full((128, 128, 3), 0.2, np.float32)
    noisy, target, camera = train_denoiser.raw_sample(grey, 0.004, 2e-5, rng)
    std = (noisy - target).reshape(-1, 3).std(axis=0)
    assert camera.gains[0] > 1.5 and camera.gains[2] > 1.0
    assert std[0] > 1.3 * std[1] and std[2] > 1.1 * std[1]


def crop_colour_spreads(count: int = 800) -> np.ndarray:
    """The mean channel spread (max - min) of training crops of a colourful image."""
    rng = np.random.default_rng(0)
    colourful = np.random.default_rng(1).uniform(0.1, 0.9, (64, 64, 3)).astype(np.float32)
    return np.array([float(np.ptp(train_denoiser.random_patch([colourful], 32, rng), axis=2).mean())
                     for _ in range(count)])


def test_some_training_crops_are_grey_or_less_colourful(monkeypatch):
    spreads = crop_colour_spreads()
    expected = train_denoiser.DESATURATE_PROBABILITY / 2
    assert expected * 0.6 < np.mean(spreads < 1e-6) < expected * 1.4  # half of the desaturated crops go grey
    monkeypatch.setattr(train_denoiser, "DESATURATE_PROBABILITY", 0.0)
    plain = crop_colour_spreads()
    assert np.mean(plain < 1e-6) == 0
    low = np.median(plain) * 0.8  # exposure alone also narrows some crops' colours: count beyond that
    partly = np.mean((spreads > 1e-6) & (spreads < low)) - np.mean(plain < low)
    assert partly > expected * 0.3  # ... and the other half keep part of their colour
