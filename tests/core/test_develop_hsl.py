"""HSL / colour mixer: eight hue bands with raised-cosine weights; greys never change."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.color import LUMA_WEIGHTS
from photolab.core.develop.hsl import (BANDS, CENTRES, LUMINANCE_EV, HslParams, apply, band_weights,
                                       hsv_hue_saturation)
from photolab.core.photo import Photo


def hue_patch(hue_degrees: float, value=0.5, saturation=1.0, size=8) -> Photo:
    """A flat patch of one HSV colour (linear RGB)."""
    h = (hue_degrees % 360.0) / 60.0
    c = value * saturation
    x = c * (1 - abs(h % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(h) % 6]
    pixel = np.array(rgb) + (value - c)
    return Photo(np.tile(np.asarray(pixel, np.float32), (size, size, 1)))


def greys() -> Photo:
    ramp = np.linspace(0.0, 1.5, 64, dtype=np.float32)
    return Photo(np.repeat(np.tile(ramp, (4, 1))[..., None], 3, axis=2))


def every_band_set(value=40.0) -> HslParams:
    values = {}
    for band in BANDS:
        values.update({f"{band}_hue": 20.0, f"{band}_saturation": value, f"{band}_luminance": -value})
    return HslParams(**values)


def test_the_weights_add_up_to_one_and_a_centre_belongs_to_its_band_alone():
    hues = np.linspace(0, 360, 3601)
    np.testing.assert_allclose(band_weights(hues).sum(axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(band_weights(np.array(CENTRES)), np.eye(len(BANDS)), atol=1e-12)


def test_the_weights_change_smoothly_between_band_centres():
    hues = np.linspace(0, 360, 7201)
    weights = band_weights(hues)
    steps = np.abs(np.diff(weights, axis=0))
    assert steps.max() < 0.2 * 1.0 / 60  # 0.05-degree steps move no weight faster than a 60-degree ramp would
    # half way between red (0) and orange (30) both weigh 1/2
    np.testing.assert_allclose(band_weights(np.array([15.0]))[0, :2], [0.5, 0.5], atol=1e-12)


def test_a_pure_red_patch_moves_only_with_the_red_band():
    red = hue_patch(0.0)
    for band in BANDS:
        for kind in ("hue", "saturation", "luminance"):
            out = apply(red, HslParams(**{f"{band}_{kind}": -30.0})).pixels
            if band == "red":
                assert not np.allclose(out, red.pixels, atol=1e-4), kind
            else:
                np.testing.assert_allclose(out, red.pixels, atol=1e-6, err_msg=f"{band} {kind}")


def test_the_red_hue_turns_red_towards_yellow_or_magenta_by_the_given_degrees():
    for degrees in (20.0, -20.0):
        out = apply(hue_patch(0.0, saturation=0.6), HslParams(red_hue=degrees)).pixels
        hue, _ = hsv_hue_saturation(out[0, 0])
        turned = (float(hue) + 180.0) % 360.0 - 180.0
        assert np.sign(turned) == np.sign(degrees)
        assert abs(turned) == pytest.approx(abs(degrees), abs=6.0)  # a turn about grey, close to HSV degrees


@pytest.mark.parametrize("hue", [0.0, 60.0, 120.0, 200.0, 255.0])
def test_hue_and_saturation_keep_luminance(hue):
    patch = hue_patch(hue, saturation=0.7)
    out = apply(patch, HslParams(**{f"{b}_hue": 30.0 for b in BANDS}, **{f"{b}_saturation": 50.0 for b in BANDS}))
    np.testing.assert_allclose(out.pixels @ LUMA_WEIGHTS, patch.pixels @ LUMA_WEIGHTS, rtol=1e-5)


def test_saturation_scales_the_chroma_and_minus_100_gives_grey():
    patch = hue_patch(120.0, saturation=0.5)
    luma = patch.pixels @ LUMA_WEIGHTS
    chroma = patch.pixels - luma[..., None]
    out = apply(patch, HslParams(green_saturation=50.0)).pixels
    np.testing.assert_allclose(out - luma[..., None], 1.5 * chroma, atol=1e-6)
    grey = apply(patch, HslParams(green_saturation=-100.0)).pixels
    np.testing.assert_allclose(grey, np.repeat(luma[..., None], 3, axis=2), atol=1e-6)


def test_luminance_is_an_exposure_change_scaled_by_saturation():
    patch = hue_patch(240.0, saturation=1.0)
    out = apply(patch, HslParams(blue_luminance=-100.0)).pixels
    np.testing.assert_allclose(out, patch.pixels * 2 ** -LUMINANCE_EV, rtol=1e-5)
    half = hue_patch(240.0, saturation=0.5)
    out = apply(half, HslParams(blue_luminance=100.0)).pixels
    np.testing.assert_allclose(out, half.pixels * 2 ** (LUMINANCE_EV * 0.5), rtol=1e-5)


def test_greys_never_change():
    grey = greys()
    out = apply(grey, every_band_set(100.0)).pixels
    np.testing.assert_allclose(out, grey.pixels, atol=1e-6)


def test_a_hue_between_two_centres_gets_both_bands_halfway():
    patch = hue_patch(90.0, saturation=1.0)  # half way between yellow (60) and green (120)
    out = apply(patch, HslParams(yellow_luminance=100.0)).pixels
    np.testing.assert_allclose(out, patch.pixels * 2 ** (LUMINANCE_EV * 0.5), rtol=1e-4)


def test_defaults_are_the_identity_and_values_are_checked():
    patch = hue_patch(30.0)
    assert apply(patch, HslParams()) is patch
    with pytest.raises(ValueError, match="between -45 and 45"):
        HslParams(red_hue=50.0)
    with pytest.raises(ValueError):
        HslParams(blue_saturation=-101.0)
