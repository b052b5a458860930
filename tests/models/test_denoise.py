"""The learned denoiser: tiled inference, noise estimation, what the shipped weights do, and bad weight files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from photolab.core.quality import psnr
from photolab.models.denoise import (DEFAULT_DENOISER, DENOISE_MODELS_DIR, DenoiseError, DenoiseUNet, NoiseEstimate,
                                     check_sigma, denoise_array, estimate_noise, load_denoiser)
from utils.images import load_fixture


@pytest.fixture(scope="module")
def model():
    return load_denoiser().model


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


# --- tiled inference --------------------------------------------------------------------------------------

def test_tiled_result_equals_the_whole_image_result(model):
    # 150 x 203: not a multiple of the alignment, three rows and four columns of 64 px tiles
    top = np.concatenate([fixture_srgb("wine_table"), fixture_srgb("dandelion")], axis=1)
    clean = np.concatenate([top, top[::-1]], axis=0)[:150, :203]
    noisy = add_noise(clean, 20)
    whole = denoise_array(model, noisy, 20 / 255, tile=512)
    seen = []
    tiled = denoise_array(model, noisy, 20 / 255, tile=64, margin=64, progress=seen.append)
    assert tiled.shape == noisy.shape and tiled.dtype == np.float32
    assert np.abs(tiled - whole).max() < 2e-3
    assert seen == pytest.approx([i / 12 for i in range(12)] + [1.0])


def test_tile_and_margin_must_be_multiples_of_eight(model):
    with pytest.raises(ValueError, match="multiples of 8"):
        denoise_array(model, np.zeros((16, 16, 3), np.float32), 0.1, tile=60)


def test_a_noise_map_of_the_wrong_size_is_refused(model):
    with pytest.raises(ValueError, match="noise map"):
        denoise_array(model, np.zeros((16, 16, 3), np.float32), np.zeros((8, 8), np.float32))


def test_values_above_one_keep_their_headroom_and_negative_noise_is_dropped(model):
    image = np.full((32, 32, 3), 0.5, np.float32)
    image[8:16, 8:16] = 1.6  # highlight headroom (e.g. after exposure)
    image[20:24, 20:24] = -0.05  # noise below black
    out = denoise_array(model, image, 10 / 255)
    clipped = np.clip(image, 0, 1)
    on_clipped = denoise_array(model, clipped, 10 / 255)
    # the network sees the clipped image; its correction is carried onto the values above 1 ...
    above = image > 1
    np.testing.assert_allclose((out - image)[above], (on_clipped - clipped)[above], atol=1e-5)
    assert out[8:16, 8:16].min() > 1.4
    # ... while a value below 0 becomes the denoised value of 0
    np.testing.assert_allclose(out[20:24, 20:24], on_clipped[20:24, 20:24], atol=1e-6)
    inside = (image >= 0) & (image <= 1)
    np.testing.assert_allclose(out[inside], on_clipped[inside], atol=1e-6)


# --- what the shipped weights do ---------------------------------------------------------------------------

def test_sigma_zero_leaves_a_clean_photo_as_it_is(model):
    clean = fixture_srgb("wine_table")
    out = np.clip(denoise_array(model, clean, 0.0), 0, 1)
    assert psnr(out, clean) >= 40.0
    assert np.abs(out - clean).mean() < 1 / 255


@pytest.mark.parametrize("name", ["mountain_forest", "wine_table"])
def test_denoising_improves_psnr_clearly(model, name):
    clean = fixture_srgb(name)
    noisy = add_noise(clean, 25)
    denoised = np.clip(denoise_array(model, noisy, 25 / 255), 0, 1)
    assert psnr(denoised, clean) >= psnr(noisy, clean) + 3.0


def test_denoising_with_the_estimated_noise_improves_psnr_too(model):
    clean = fixture_srgb("wine_table")
    noisy = add_noise(clean, 25, seed=3)
    estimate = estimate_noise(noisy)
    denoised = np.clip(denoise_array(model, noisy, estimate.map_for(noisy)), 0, 1)
    assert psnr(denoised, clean) >= psnr(noisy, clean) + 3.0


# --- noise estimation -------------------------------------------------------------------------------------

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


# --- sigma and weight files --------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [-1, 100.5, float("nan"), "strong"])
def test_check_sigma_refuses_levels_out_of_range(bad):
    with pytest.raises(DenoiseError, match="noise level"):
        check_sigma(bad)


def test_check_sigma_accepts_the_range():
    assert check_sigma(0) == 0.0 and check_sigma("25") == 25.0 and check_sigma(100) == 100.0


def test_shipped_denoiser_has_a_card_that_matches_the_network():
    denoiser = load_denoiser(DEFAULT_DENOISER)
    assert denoiser.name == DEFAULT_DENOISER
    assert denoiser.card["architecture"]["widths"] == list(denoiser.model.widths)
    assert denoiser.path == DENOISE_MODELS_DIR / f"{DEFAULT_DENOISER}.safetensors"
    assert load_denoiser(DEFAULT_DENOISER) is denoiser  # cached


def test_missing_weights_name_the_file(tmp_path):
    missing = tmp_path / "gone.safetensors"
    with pytest.raises(DenoiseError, match="gone.safetensors"):
        load_denoiser(missing)


def test_unknown_names_list_the_known_ones(tmp_path):
    with pytest.raises(DenoiseError, match=DEFAULT_DENOISER):
        load_denoiser("no-such-denoiser")


@pytest.fixture
def small_weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "small.safetensors"
    save_file(DenoiseUNet((8, 16, 32), 1).state_dict(), str(path))
    return path


def test_truncated_weights_name_the_file(tmp_path, small_weights):
    data = small_weights.read_bytes()
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DenoiseError, match="cut.safetensors.*not a readable safetensors"):
        load_denoiser(truncated)


def test_truncated_weights_fail_the_cards_checksum(tmp_path, small_weights):
    folder = tmp_path / "models"
    folder.mkdir()
    data = small_weights.read_bytes()
    (folder / "mine.safetensors").write_bytes(data[:-100])
    card = {"architecture": {"widths": [8, 16, 32], "bottleneck": 1}, "weights": {"sha256": "0" * 64}}
    (folder / "mine.json").write_text(json.dumps(card))
    with pytest.raises(DenoiseError, match="mine.safetensors is damaged or truncated"):
        load_denoiser("mine", folder=folder)


def test_weights_of_another_architecture_name_the_file_and_the_difference(small_weights, tmp_path):
    with pytest.raises(DenoiseError, match="small.safetensors holds weights of another architecture: .*shape|missing"):
        load_denoiser(small_weights)  # no card: the default widths, which these weights do not have
    other = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(3, 3)}, str(other))
    with pytest.raises(DenoiseError, match="other.safetensors holds weights of another architecture.*unexpected"):
        load_denoiser(other)


def test_a_card_describes_the_network_to_build(tmp_path, small_weights):
    card = {"architecture": {"widths": [8, 16, 32], "bottleneck": 1}}
    small_weights.with_suffix(".json").write_text(json.dumps(card))
    denoiser = load_denoiser(small_weights)
    assert denoiser.model.widths == (8, 16, 32) and denoiser.name == "small"
    small_weights.with_suffix(".json").write_text("[1, 2]")
    (tmp_path / "again.safetensors").write_bytes(small_weights.read_bytes())
    (tmp_path / "again.json").write_text("[1, 2]")
    with pytest.raises(DenoiseError, match="again.json is not a denoiser card"):
        load_denoiser(tmp_path / "again.safetensors")


def test_unavailable_devices_are_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DenoiseError, match="CUDA is not available"):
        load_denoiser(device="cuda")
