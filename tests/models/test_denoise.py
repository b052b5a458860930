"""The learned denoiser: tiled inference and what the shipped weights do (loaded through the ModelManager)."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.noise_estimate import estimate_noise
from photolab.core.quality import psnr
from photolab.models.denoise import denoise_array
from photolab.models.store.manager import ModelManager
from utils.noisy import add_noise, fixture_srgb, smooth_image


@pytest.fixture(scope="module")
def model():
    return ModelManager().load_denoiser().model


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
