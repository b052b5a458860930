"""Tonal operations: exposure, highlights, shadows/blacks, contrast. Known inputs, known outputs."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.color import LUMA_WEIGHTS
from photolab.core.develop import contrast, exposure, highlights, shadows
from photolab.core.develop.contrast import ContrastParams, contrast_curve
from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.highlights import KNEE, HighlightsParams, highlight_curve
from photolab.core.develop.shadows import ShadowsParams, shadow_curve
from photolab.core.photo import Photo

AMOUNTS = [-100, -60, -25, 25, 60, 100]
RAMP = np.geomspace(1e-5, 16.0, 4000)  # linear values from deep black to 4 stops over white


def grey_photo(levels) -> Photo:
    """One grey pixel per level, in a single row."""
    levels = np.asarray(levels, dtype=np.float32)
    return Photo(np.repeat(levels[None, :, None], 3, axis=2))


def luminance(pixels) -> np.ndarray:
    return np.asarray(pixels, dtype=np.float64) @ LUMA_WEIGHTS.astype(np.float64)


def colour_ratios(pixels) -> np.ndarray:
    pixels = np.asarray(pixels, dtype=np.float64)
    return pixels / pixels.sum(axis=-1, keepdims=True)


COLOURS = Photo(np.array([[[0.5, 0.2, 0.1], [0.05, 0.1, 0.3], [2.0, 1.2, 0.4], [0.02, 0.03, 0.01]]], np.float32))


# --- exposure ------------------------------------------------------------------------------------------


def test_exposure_plus_one_doubles_and_minus_one_halves():
    photo = Photo(np.array([[[0.1, 0.2, 0.4], [0.0, 1.0, 3.0]]], np.float32))
    np.testing.assert_allclose(exposure.apply(photo, ExposureParams(1.0)).pixels, photo.pixels * 2, rtol=1e-6)
    np.testing.assert_allclose(exposure.apply(photo, ExposureParams(-1.0)).pixels, photo.pixels / 2, rtol=1e-6)
    np.testing.assert_allclose(exposure.apply(photo, ExposureParams(2.5)).pixels, photo.pixels * 2**2.5, rtol=1e-6)


# --- highlights ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", AMOUNTS)
def test_highlights_never_touch_mid_tones_and_shadows(amount):
    dark = np.linspace(0.0, KNEE, 50)
    result = highlights.apply(grey_photo(dark), HighlightsParams(amount)).pixels
    np.testing.assert_array_equal(result[0, :, 1], dark.astype(np.float32))
    np.testing.assert_array_equal(highlight_curve([0.18], amount), [0.18])


@pytest.mark.parametrize("amount", AMOUNTS)
def test_highlight_curve_is_smooth_and_monotonic(amount):
    curve = highlight_curve(RAMP, amount)
    assert np.all(np.diff(curve) > 0)
    slope = np.diff(curve) / np.diff(RAMP)
    near_knee = np.abs(RAMP[:-1] - KNEE) < 0.01
    np.testing.assert_allclose(slope[near_knee], 1.0, atol=0.06)  # no kink where the curve starts


def test_full_highlight_recovery_brings_everything_under_white_with_hue_kept():
    bright = Photo(np.array([[[4.0, 2.0, 1.0], [1.5, 1.5, 1.5], [1.0, 0.5, 0.1], [60.0, 50.0, 40.0]]], np.float32))
    result = highlights.apply(bright, HighlightsParams(-100)).pixels
    assert result.max() < 1.0
    np.testing.assert_allclose(colour_ratios(result), colour_ratios(bright.pixels), rtol=1e-5)
    assert np.all(np.diff(result[0, [2, 1, 0, 3]].max(axis=1)) > 0)  # brighter stays brighter


def test_highlight_recovery_strength_grows_with_the_amount():
    photo = grey_photo([0.9, 2.0])
    levels = [highlights.apply(photo, HighlightsParams(a)).pixels[0, :, 0] for a in (-25, -50, -100)]
    assert np.all(levels[0] > levels[1]) and np.all(levels[1] > levels[2])
    assert np.all(levels[0] < [0.9, 2.0])


def test_positive_highlights_brighten_only_the_bright_range():
    photo = grey_photo([0.1, 0.18, 0.5, 1.0])
    result = highlights.apply(photo, HighlightsParams(100)).pixels[0, :, 0]
    np.testing.assert_array_equal(result[:2], np.float32([0.1, 0.18]))
    assert result[2] > 0.5 and result[3] == pytest.approx(1.0 + 0.65**2 / (0.65 + 0.325), rel=1e-5)


# --- shadows and blacks --------------------------------------------------------------------------------


@pytest.mark.parametrize("shadows_amount,blacks", [(100, 0), (-100, 0), (0, 100), (0, -100), (70, -70), (-70, 70)])
def test_shadows_and_blacks_keep_grey_grey_and_barely_move_mid_tones(shadows_amount, blacks):
    levels = np.array([0.0, 0.001, 0.01, 0.05, 0.18, 0.5, 1.0, 2.0])
    result = shadows.apply(grey_photo(levels), ShadowsParams(shadows_amount, blacks)).pixels[0]
    assert np.all(result[:, 0] == result[:, 1]) and np.all(result[:, 1] == result[:, 2])
    np.testing.assert_allclose(result[4:, 0], levels[4:], rtol=0.04)  # mid-grey and above: < 4 %


@pytest.mark.parametrize("shadows_amount", [-100, -50, 50, 100])
@pytest.mark.parametrize("blacks", [-100, 0, 100])
def test_shadow_curve_is_monotonic(shadows_amount, blacks):
    assert np.all(np.diff(shadow_curve(RAMP, shadows_amount, blacks)) > 0)


def test_shadows_lift_and_deepen_dark_tones():
    photo = grey_photo([0.005, 0.02])
    lifted = shadows.apply(photo, ShadowsParams(shadows=100)).pixels[0, :, 0]
    deepened = shadows.apply(photo, ShadowsParams(shadows=-100)).pixels[0, :, 0]
    np.testing.assert_allclose(lifted, [0.005, 0.02] * np.exp2(1.5 / (1 + (np.array([0.005, 0.02]) / 0.05) ** 3)),
                               rtol=1e-5)
    assert np.all(lifted / [0.005, 0.02] > 2.3) and np.all(deepened / [0.005, 0.02] < 0.45)


def test_negative_blacks_crush_the_darkest_tones_and_keep_black_black():
    photo = grey_photo([0.0, 0.003, 0.03])
    result = shadows.apply(photo, ShadowsParams(blacks=-100)).pixels[0, :, 0]
    assert result[0] == 0.0
    assert result[1] == pytest.approx(0.003 * 0.003 / np.hypot(0.003, 0.03), rel=1e-5)  # 10x darker
    assert result[2] == pytest.approx(0.03 / np.sqrt(2), rel=1e-5)


def test_positive_blacks_raise_black_to_a_neutral_dark_grey():
    photo = Photo(np.array([[[0.0, 0.0, 0.0], [0.3, 0.1, 0.05]]], np.float32))
    result = shadows.apply(photo, ShadowsParams(blacks=100)).pixels[0]
    np.testing.assert_allclose(result[0], [0.02, 0.02, 0.02], rtol=1e-6)
    lift = np.hypot(luminance(photo.pixels[0, 1]), 0.02) - luminance(photo.pixels[0, 1])
    np.testing.assert_allclose(result[1], photo.pixels[0, 1] + lift, rtol=1e-5)


def test_shadows_keep_hue_of_coloured_pixels():
    result = shadows.apply(COLOURS, ShadowsParams(shadows=80, blacks=-40)).pixels
    np.testing.assert_allclose(colour_ratios(result), colour_ratios(COLOURS.pixels), rtol=1e-5)


# --- contrast ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", AMOUNTS)
def test_contrast_fixes_black_mid_grey_and_white(amount):
    np.testing.assert_allclose(contrast_curve([0.0, 0.18, 1.0], amount), [0.0, 0.18, 1.0], atol=1e-12)
    result = contrast.apply(grey_photo([0.0, 0.18, 1.0]), ContrastParams(amount)).pixels[0]
    np.testing.assert_allclose(result, [[0.0] * 3, [0.18] * 3, [1.0] * 3], atol=2e-6)


@pytest.mark.parametrize("amount", AMOUNTS)
def test_contrast_curve_is_monotonic_and_s_shaped(amount):
    curve = contrast_curve(RAMP, amount)
    assert np.all(np.diff(curve) > 0)
    shadows_part, highlights_part = (RAMP > 0.01) & (RAMP < 0.15), (RAMP > 0.22) & (RAMP < 0.9)
    if amount > 0:  # more contrast: darker shadows, brighter highlights
        assert np.all(curve[shadows_part] < RAMP[shadows_part]) and np.all(curve[highlights_part] > RAMP[highlights_part])
    else:
        assert np.all(curve[shadows_part] > RAMP[shadows_part]) and np.all(curve[highlights_part] < RAMP[highlights_part])


def test_more_contrast_steepens_the_curve_at_mid_grey():
    def slope_at_mid_grey(amount):
        return float(np.diff(contrast_curve([0.179, 0.181], amount))[0] / 0.002)

    slopes = [slope_at_mid_grey(a) for a in (-100, -50, 0, 50, 100)]
    assert slopes == sorted(slopes) and slopes[2] == pytest.approx(1.0, rel=1e-3)


def test_contrast_keeps_hue_and_follows_the_luminance_curve():
    result = contrast.apply(COLOURS, ContrastParams(70)).pixels
    np.testing.assert_allclose(colour_ratios(result), colour_ratios(COLOURS.pixels), rtol=1e-5)
    np.testing.assert_allclose(luminance(result), contrast_curve(luminance(COLOURS.pixels), 70), rtol=1e-5)
