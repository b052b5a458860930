"""No develop operation makes a NaN or an infinity, whatever the pixels and the slider positions: a NaN would
spread through every later spatial step and export as a colour that depends on a library's NaN semantics."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.color import encode_srgb_integer
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.denoise import DenoiseParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.highlights import HighlightsParams
from photolab.core.develop.saturation import SaturationParams
from photolab.core.develop.shadows import ShadowsParams
from photolab.core.develop.white_balance import WhiteBalanceParams
from photolab.core.photo import Photo, PhotoMetadata
from photolab.core.recipe import Recipe
from photolab.core.render import render

EXTREME_SETTINGS = [
    ("exposure", ExposureParams(ev=10.0)), ("exposure", ExposureParams(ev=-10.0)),
    ("contrast", ContrastParams(amount=100.0)), ("contrast", ContrastParams(amount=-100.0)),
    ("highlights", HighlightsParams(amount=-100.0)), ("highlights", HighlightsParams(amount=100.0)),
    ("shadows", ShadowsParams(shadows=100.0, blacks=-100.0)), ("shadows", ShadowsParams(shadows=-100.0, blacks=100.0)),
    ("saturation", SaturationParams(saturation=100.0, vibrance=100.0)),
    ("saturation", SaturationParams(saturation=-100.0, vibrance=-100.0)),
    ("white_balance", WhiteBalanceParams(mode="auto")),
    ("white_balance", WhiteBalanceParams(mode="kelvin", temperature=1500.0, tint=150.0)),
    ("white_balance", WhiteBalanceParams(mode="kelvin", temperature=50000.0, tint=-150.0)),
    ("denoise", DenoiseParams(sigma=100.0, adaptive=True)),
]


@pytest.fixture(scope="module")
def hostile_photo() -> Photo:
    """Black, the faintest light, white, far over white and saturated primaries, side by side."""
    rng = np.random.default_rng(0)
    pixels = rng.random((40, 48, 3)).astype(np.float32)
    pixels[:8] = 0.0
    pixels[8:12] = 1e-30
    pixels[12:16] = 1.0
    pixels[16:20] = 6.0e4
    pixels[20:24] = (1.0, 0.0, 0.0)
    pixels[24:28, :, 1] = 0.0
    return Photo(pixels, PhotoMetadata(width=48, height=40))


@pytest.mark.parametrize("name,params", EXTREME_SETTINGS)
def test_every_operation_keeps_pixels_finite(hostile_photo, name, params):
    rendered = render(hostile_photo, Recipe().with_params(name, params))
    assert np.isfinite(rendered.pixels).all()


def test_all_operations_at_once_stay_finite(hostile_photo):
    recipe = Recipe()
    for name, params in EXTREME_SETTINGS[::2]:
        recipe = recipe.with_params(name, params)
    rendered = render(hostile_photo, recipe)
    assert np.isfinite(rendered.pixels).all()
    assert encode_srgb_integer(rendered.pixels).shape == (40, 48, 3)
