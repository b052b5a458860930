"""Tone curve: a monotone cubic through the points, as lookup tables on the linear photo."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.color import LUMA_WEIGHTS, srgb_curve
from photolab.core.develop.tone_curve import IDENTITY, ToneCurveParams, apply, curve, is_identity, linear_curve
from photolab.core.photo import Photo

S_CURVE = ((0.0, 0.0), (0.25, 0.15), (0.5, 0.5), (0.75, 0.88), (1.0, 1.0))
UNEVEN = ((0.0, 0.1), (0.1, 0.12), (0.3, 0.7), (0.35, 0.72), (1.0, 0.95))


def photo(seed=0, shape=(40, 60)) -> Photo:
    rng = np.random.default_rng(seed)
    return Photo((rng.random((*shape, 3)) ** 2.2).astype(np.float32))


@pytest.mark.parametrize("points", [S_CURVE, UNEVEN, ((0.0, 1.0), (0.4, 0.3), (1.0, 0.0))])
def test_the_curve_passes_through_its_points(points):
    xs, ys = np.array(points).T
    np.testing.assert_allclose(curve(points, xs), ys, atol=1e-12)


@pytest.mark.parametrize("points", [S_CURVE, UNEVEN, ((0.0, 0.0), (0.2, 0.6), (0.5, 0.6), (0.6, 0.1), (1.0, 1.0))])
def test_between_two_points_the_curve_stays_within_them_and_is_monotone(points):
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        values = curve(points, np.linspace(x0, x1, 501))
        assert values.min() >= min(y0, y1) - 1e-12 and values.max() <= max(y0, y1) + 1e-12
        steps = np.diff(values)
        assert np.all(steps >= -1e-12) if y1 >= y0 else np.all(steps <= 1e-12)


def test_a_plain_cubic_spline_would_overshoot_where_pchip_does_not():
    # the flat run from 0.2 to 0.5 stays flat (a natural spline rings there)
    points = ((0.0, 0.0), (0.2, 0.6), (0.5, 0.6), (1.0, 1.0))
    np.testing.assert_allclose(curve(points, np.linspace(0.2, 0.5, 50)), 0.6, atol=1e-12)


def test_the_curve_is_flat_beyond_its_end_points():
    points = ((0.2, 0.3), (0.8, 0.7))
    np.testing.assert_allclose(curve(points, [0.0, 0.1, 0.9, 1.0]), [0.3, 0.3, 0.7, 0.7])


def test_identity_leaves_the_photo_unchanged():
    original = photo()
    assert is_identity(ToneCurveParams())
    assert is_identity(ToneCurveParams(luminance=((0.0, 0.0), (0.5, 0.5), (1.0, 1.0))))
    assert apply(original, ToneCurveParams()) is original
    assert not is_identity(ToneCurveParams(red=((0.0, 0.0), (0.5, 0.55), (1.0, 1.0))))


def test_a_channel_curve_changes_only_its_channel_by_the_curve():
    original = photo()
    out = apply(original, ToneCurveParams(green=UNEVEN)).pixels
    np.testing.assert_array_equal(out[..., [0, 2]], original.pixels[..., [0, 2]])
    expected = linear_curve(UNEVEN, original.pixels[..., 1])
    np.testing.assert_allclose(out[..., 1], expected, rtol=2e-3, atol=2e-5)


def test_the_luminance_curve_maps_luminance_and_keeps_the_channels_ratios():
    original = photo(1)
    out = apply(original, ToneCurveParams(luminance=S_CURVE)).pixels.astype(np.float64)
    pixels = original.pixels.astype(np.float64)
    luma_in, luma_out = pixels @ LUMA_WEIGHTS, out @ LUMA_WEIGHTS
    np.testing.assert_allclose(luma_out, linear_curve(S_CURVE, luma_in), rtol=2e-3, atol=2e-5)
    bright = luma_in > 0.01
    gain = (luma_out / luma_in)[..., None]
    np.testing.assert_allclose(out[bright], (pixels * gain)[bright], rtol=1e-4, atol=1e-6)


def test_a_grey_at_a_curve_point_lands_on_the_points_y_in_the_encoded_domain():
    grey_encoded = 0.25
    linear = float(np.power((grey_encoded + 0.055) / 1.055, 2.4))
    out = apply(Photo(np.full((4, 4, 3), linear, np.float32)), ToneCurveParams(luminance=S_CURVE)).pixels
    np.testing.assert_allclose(srgb_curve(out.astype(np.float64)), 0.15, atol=2e-4)


def test_values_beyond_one_continue_with_slope_one():
    pixels = np.array([[[1.5, 0.5, 2.0]]], np.float32)
    out = apply(Photo(pixels), ToneCurveParams(red=((0.0, 0.0), (1.0, 0.8)), blue=((0.0, 0.0), (1.0, 0.8))))
    top = float(linear_curve(((0.0, 0.0), (1.0, 0.8)), 1.0))
    np.testing.assert_allclose(out.pixels[0, 0], [top + 0.5, 0.5, top + 1.0], rtol=1e-5)


def test_points_are_sorted_and_checked():
    assert ToneCurveParams(red=[[1, 1], [0, 0], [0.5, 0.4]]).red == ((0.0, 0.0), (0.5, 0.4), (1.0, 1.0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        ToneCurveParams(red=((0.0, 0.0), (1.0, 1.2)))
    with pytest.raises(ValueError, match="2 to 16"):
        ToneCurveParams(blue=((0.5, 0.5),))
    with pytest.raises(ValueError, match="apart"):
        ToneCurveParams(luminance=((0.0, 0.0), (0.5, 0.5), (0.501, 0.6), (1.0, 1.0)))
    with pytest.raises(ValueError):
        ToneCurveParams(luminance=((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))
    assert ToneCurveParams().luminance == IDENTITY
