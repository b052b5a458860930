"""Denoise's Auto: the noise measured where the denoise step sees the photo, as denoise parameters."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.develop.denoise import DenoiseParams, encode, estimate_params
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams, OrientParams
from photolab.core.noise_measure import auto_denoise_params
from photolab.core.photo import NoiseProfile, Photo, PhotoMetadata
from photolab.core.recipe import Recipe
from photolab.core.render import render


def raw_photo(profile: NoiseProfile) -> Photo:
    rng = np.random.default_rng(4)
    gradient = np.linspace(0.01, 0.7, 420, dtype=np.float32)[None, :, None]
    return Photo(np.clip(gradient + rng.normal(0, 0.03, (300, 420, 3)).astype(np.float32), 0, 1),
                 PhotoMetadata(file_format="raw", noise_profile=profile))


def test_a_raw_photos_level_comes_from_its_profile_where_the_step_sees_it():
    profile = NoiseProfile(0.004, 2e-5, 0.004, 2e-5, 1.0)
    photo = raw_photo(profile)
    recipe = Recipe(params={"orient": OrientParams(1), "crop": CropParams(0.05, 0.1, 0.95, 0.9),
                            "exposure": ExposureParams(ev=0.5), "denoise": DenoiseParams(0.0, model="mine")})
    steps = []
    params = auto_denoise_params(photo, recipe, progress=steps.append)
    geometry = Recipe(params={"orient": OrientParams(1), "crop": CropParams(0.05, 0.1, 0.95, 0.9)})
    expected, _ = estimate_params(encode(render(photo, geometry).pixels), profile=profile)
    assert params.adaptive and params.model == "mine"
    assert params.sigma == round(expected.sigma, 1) > 0
    assert steps and steps[-1] == pytest.approx(1.0)


def test_no_noise_gives_the_defaults_with_the_recipes_model():
    photo = raw_photo(NoiseProfile(0.0, 0.0, 0.0, 0.0, 1.0))
    params = auto_denoise_params(photo, Recipe(params={"denoise": DenoiseParams(0.0, model="mine")}))
    assert params == DenoiseParams(model="mine")
