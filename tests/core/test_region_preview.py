"""A region developed before and after denoising (the loupe's pixels) is the whole render's crop there."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photolab.core import noise_measure
from photolab.core.color import encode_srgb_integer
from photolab.core.develop import denoise as denoise_step
from photolab.core.develop.denoise import DenoiseParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams, OrientParams
from photolab.core.develop.white_balance import WhiteBalanceParams, target_multipliers
from photolab.core.errors import DenoiseError
from photolab.core.noise_measure import NoiseCache
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.region_preview import CONTEXT, develop_region, local_recipe
from photolab.core.render import output_size, render


def blur_denoiser(srgb, level, *, tile, margin, progress=None):
    """A stand-in denoiser that looks 2 pixels around each pixel."""
    return cv2.blur(srgb, (5, 5), borderType=cv2.BORDER_REFLECT)


@pytest.fixture
def photo() -> Photo:
    rng = np.random.default_rng(3)
    gradient = np.linspace(0.02, 0.8, 420, dtype=np.float32)[None, :, None]
    return Photo(np.clip(gradient + rng.normal(0, 0.03, (300, 420, 3)).astype(np.float32), 0, 1))


RECIPE = Recipe(params={"orient": OrientParams(1), "crop": CropParams(0.05, 0.1, 0.95, 0.9),
                        "exposure": ExposureParams(ev=0.5), "denoise": DenoiseParams(20.0)})


def test_the_region_is_the_whole_renders_crop_before_and_after(photo, monkeypatch):
    monkeypatch.setattr(denoise_step, "_loader", lambda model, device: blur_denoiser)
    region = develop_region(photo, RECIPE, (120, 200), 64)
    x0, y0, x1, y1 = region.box
    assert (x1 - x0, y1 - y0) == (64, 64) and x0 <= 120 < x1 and y0 <= 200 < y1
    after = encode_srgb_integer(render(photo, RECIPE).pixels[y0:y1, x0:x1], np.uint8)
    before = encode_srgb_integer(render(photo, RECIPE.with_enabled("denoise", False)).pixels[y0:y1, x0:x1],
                                 np.uint8)
    assert np.abs(region.after.astype(int) - after).max() <= 1
    assert np.array_equal(region.before, before) and not np.array_equal(region.before, region.after)
    assert region.warning == "" and CONTEXT >= 32


def test_a_denoiser_that_cannot_run_leaves_after_undenoised_with_the_reason(photo, monkeypatch):
    def missing(model, device):
        raise DenoiseError("no weights")

    monkeypatch.setattr(denoise_step, "_loader", missing)
    region = develop_region(photo, RECIPE, (120, 200), 64)
    assert np.array_equal(region.before, region.after) and region.warning == "no weights"


def test_local_recipe_fixes_auto_white_balance_to_the_proxys():
    proxy = Photo((np.random.default_rng(5).random((40, 60, 3)) * [0.9, 0.6, 0.4]).astype(np.float32))
    auto = RECIPE.with_params("white_balance", WhiteBalanceParams(mode="auto"))
    balance = local_recipe(auto, proxy).get("white_balance")
    expected = target_multipliers(render(proxy, auto, stop_before="denoise"), WhiteBalanceParams(mode="auto"))
    assert balance.mode == "custom" and balance.multipliers == pytest.approx(tuple(expected))
    assert local_recipe(auto, None) == auto  # nothing to measure on
    assert local_recipe(auto.with_enabled("white_balance", False), proxy) == auto.with_enabled("white_balance", False)
    assert local_recipe(RECIPE, proxy) == RECIPE  # not automatic


def test_the_noise_cache_measures_the_whole_photo_once_per_geometry(photo, monkeypatch):
    measured = []
    real = noise_measure.measure_noise
    monkeypatch.setattr(noise_measure, "measure_noise", lambda srgb, profile: measured.append(srgb.shape[:2])
                        or real(srgb, profile))
    cache = NoiseCache()
    first = cache.estimate(photo, RECIPE)
    assert cache.estimate(photo, RECIPE.with_params("exposure", ExposureParams(ev=1.0))) is first  # after denoise
    width, height = output_size((photo.width, photo.height), RECIPE, stop_before="denoise")
    assert measured == [(height, width)]  # the whole photo as the denoise step sees it
    turned = RECIPE.with_params("orient", OrientParams(2))
    cache.estimate(photo, turned)
    width, height = output_size((photo.width, photo.height), turned, stop_before="denoise")
    assert measured[1:] == [(height, width)]  # another geometry: measured again


def test_the_noise_cache_gives_none_for_a_photo_too_small_to_measure():
    assert NoiseCache().estimate(Photo(np.zeros((4, 4, 3), np.float32)), Recipe()) is None
