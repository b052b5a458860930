"""Properties every develop operation must have: registry order, neutral defaults, purity, validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from photolab.core.develop import OPERATIONS, OPERATIONS_BY_NAME
from photolab.core.develop.contrast import ContrastParams
from photolab.core.develop.denoise import DenoiseParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams, OrientParams
from photolab.core.develop.highlights import HighlightsParams
from photolab.core.develop.saturation import SaturationParams
from photolab.core.develop.shadows import ShadowsParams
from photolab.core.develop.white_balance import WhiteBalanceParams
from photolab.core.photo import Photo

# One clearly non-neutral setting per operation (several for operations with branches).
NON_DEFAULT = [
    ("orient", OrientParams(1)),
    ("orient", OrientParams(3)),
    ("crop", CropParams(0.1, 0.2, 0.7, 0.9)),
    ("denoise", DenoiseParams(30.0)),
    ("denoise", DenoiseParams(20.0, adaptive=True)),
    ("white_balance", WhiteBalanceParams("auto")),
    ("white_balance", WhiteBalanceParams("kelvin", temperature=4000.0, tint=20.0)),
    ("white_balance", WhiteBalanceParams("custom", multipliers=(1.5, 1.0, 0.8))),
    ("exposure", ExposureParams(1.5)),
    ("highlights", HighlightsParams(-70)),
    ("highlights", HighlightsParams(60)),
    ("shadows", ShadowsParams(shadows=60)),
    ("shadows", ShadowsParams(shadows=-40, blacks=-50)),
    ("shadows", ShadowsParams(blacks=70)),
    ("contrast", ContrastParams(50)),
    ("contrast", ContrastParams(-50)),
    ("saturation", SaturationParams(saturation=40)),
    ("saturation", SaturationParams(saturation=-30, vibrance=60)),
]


def random_photo(height=37, width=53, seed=0) -> Photo:
    rng = np.random.default_rng(seed)
    pixels = (rng.random((height, width, 3)) ** 2 * 1.4).astype(np.float32)  # some values above white
    pixels[0, 0] = 0.0  # a black pixel
    pixels[0, 1] = -0.01  # a slightly negative (out-of-gamut) one
    return Photo(pixels)


def test_operations_are_registered_in_pipeline_order():
    names = [op.name for op in OPERATIONS]
    assert names == ["lens_correction", "orient", "straighten", "crop", "denoise", "white_balance", "exposure", "highlights", "shadows", "contrast", "saturation",
                     "hsl", "tone_curve", "vignette", "sharpen", "look"]
    assert set(OPERATIONS_BY_NAME) == set(names)
    assert all(op.label for op in OPERATIONS)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_default_params_are_the_identity(op):
    photo = random_photo()
    params = op.params_type()
    assert op.is_identity(params)
    assert np.array_equal(op.apply(photo, params).pixels, photo.pixels)


@pytest.mark.parametrize("name,params", NON_DEFAULT, ids=lambda v: str(v))
def test_operations_never_modify_their_input_and_return_float32(name, params):
    op = OPERATIONS_BY_NAME[name]
    photo = random_photo()
    original = photo.pixels.copy()
    photo.pixels.flags.writeable = False  # any write into the input would raise
    result = op.apply(photo, params)
    assert not op.is_identity(params)
    assert np.array_equal(photo.pixels, original)
    assert result.pixels.dtype == np.float32 and result.pixels.ndim == 3 and result.pixels.shape[2] == 3
    assert not np.shares_memory(result.pixels, photo.pixels)
    assert np.all(np.isfinite(result.pixels))
    assert not np.array_equal(result.pixels, original) or result.pixels.shape != original.shape
    assert result.metadata is photo.metadata and result.color is photo.color


@pytest.mark.parametrize("name,params", NON_DEFAULT, ids=lambda v: str(v))
def test_operations_accept_non_contiguous_pixels(name, params):
    op = OPERATIONS_BY_NAME[name]
    contiguous = random_photo(41, 29)
    strided = Photo(np.asfortranarray(contiguous.pixels))
    assert not strided.pixels.flags.c_contiguous
    np.testing.assert_allclose(op.apply(strided, params).pixels, op.apply(contiguous, params).pixels, atol=1e-6)


# Operations whose result for a pixel depends on that pixel alone (not geometry, not a whole-photo measure).
PER_PIXEL = [(name, params) for name, params in NON_DEFAULT
             if name not in ("orient", "crop", "denoise") and getattr(params, "mode", "") != "auto"]


@pytest.mark.parametrize("name,params", PER_PIXEL, ids=lambda v: str(v))
def test_operations_work_band_by_band_the_same_as_on_a_single_row(name, params):
    """Tall photos are processed in bands of rows; every row must come out as if processed alone."""
    op = OPERATIONS_BY_NAME[name]
    photo = random_photo(300, 500, seed=3)  # several bands
    whole = op.apply(photo, params).pixels
    for row in (0, 131, 299):
        alone = op.apply(Photo(photo.pixels[row : row + 1].copy()), params).pixels
        np.testing.assert_allclose(whole[row : row + 1], alone, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "params_type,bad",
    [
        (OrientParams, {"quarter_turns": 4}),
        (OrientParams, {"quarter_turns": -1}),
        (OrientParams, {"quarter_turns": 1.5}),
        (OrientParams, {"quarter_turns": True}),
        (CropParams, {"left": 0.6, "right": 0.5}),
        (CropParams, {"top": 0.5, "bottom": 0.5}),
        (CropParams, {"left": -0.1}),
        (CropParams, {"bottom": 1.2}),
        (CropParams, {"right": float("nan")}),
        (WhiteBalanceParams, {"mode": "tungsten"}),
        (WhiteBalanceParams, {"mode": "kelvin"}),  # needs a temperature
        (WhiteBalanceParams, {"mode": "kelvin", "temperature": 100000.0}),
        (WhiteBalanceParams, {"mode": "kelvin", "temperature": 5000.0, "tint": 200.0}),
        (WhiteBalanceParams, {"mode": "custom"}),  # needs multipliers
        (WhiteBalanceParams, {"mode": "custom", "multipliers": (1.0, 1.0)}),
        (WhiteBalanceParams, {"mode": "custom", "multipliers": (1.0, -1.0, 1.0)}),
        (WhiteBalanceParams, {"mode": "custom", "multipliers": ("a", 1.0, 1.0)}),
        (ExposureParams, {"ev": 11.0}),
        (ExposureParams, {"ev": float("inf")}),
        (ExposureParams, {"ev": "1"}),
        (HighlightsParams, {"amount": -101.0}),
        (ShadowsParams, {"shadows": 150.0}),
        (ShadowsParams, {"blacks": float("nan")}),
        (ContrastParams, {"amount": 100.5}),
        (SaturationParams, {"saturation": -100.1}),
        (SaturationParams, {"vibrance": None}),
        (DenoiseParams, {"sigma": 100.5}),
        (DenoiseParams, {"sigma": -1.0}),
        (DenoiseParams, {"sigma": float("nan")}),
        (DenoiseParams, {"sigma": "25"}),
        (DenoiseParams, {"adaptive": "yes"}),
        (DenoiseParams, {"model": None}),
    ],
)
def test_invalid_params_raise_value_error_with_a_clear_message(params_type, bad):
    with pytest.raises(ValueError) as info:
        params_type(**bad)
    message = str(info.value)
    assert any(field in message for field in list(bad) + ["crop", "white balance", "mode"])


def test_params_normalise_their_values_so_equal_settings_compare_equal():
    assert OrientParams(2.0) == OrientParams(2) and isinstance(OrientParams(2.0).quarter_turns, int)
    assert WhiteBalanceParams("custom", multipliers=[2.0, 2.0, 3.0]).multipliers == (1.0, 1.0, 1.5)
    assert dataclasses.replace(ExposureParams(), ev=0) == ExposureParams()
