"""Sharpening (unsharp mask on luminance with an edge mask) and the vignette (an exposure falloff)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from photolab.core.color import LUMA_WEIGHTS
from photolab.core.develop.sharpen import SharpenParams, margin
from photolab.core.develop.sharpen import apply as sharpen
from photolab.core.develop.vignette import EV_AT_100, VignetteParams
from photolab.core.develop.vignette import apply as vignette
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import render


def soft_edge(size=64) -> Photo:
    row = np.where(np.arange(size) < size // 2, 0.05, 0.5).astype(np.float32)
    plane = cv2.GaussianBlur(np.tile(row, (size, 1)), (0, 0), 1.5)
    return Photo(np.repeat(plane[..., None], 3, axis=2) * np.array([1.0, 0.9, 0.8], np.float32))


def noisy_flat(sigma=0.005, size=96, seed=0) -> Photo:
    rng = np.random.default_rng(seed)
    grey = 0.18 + rng.normal(0.0, sigma, (size, size, 1))
    return Photo(np.repeat(grey, 3, axis=2).astype(np.float32))


def luma(photo: Photo) -> np.ndarray:
    return photo.pixels @ LUMA_WEIGHTS


# --- sharpening ----------------------------------------------------------------------------------------------

def test_amount_zero_is_the_identity():
    photo = soft_edge()
    assert sharpen(photo, SharpenParams(amount=0.0, radius=2.0, masking=40.0)) is photo


def test_an_edges_contrast_rises_with_the_amount():
    photo = soft_edge()
    steepest = [np.abs(np.diff(luma(photo)[32])).max()]
    for amount in (50.0, 150.0):
        out = sharpen(photo, SharpenParams(amount=amount, radius=1.5))
        steepest.append(np.abs(np.diff(luma(out)[32])).max())
        # far from the edge nothing moves
        np.testing.assert_allclose(out.pixels[:, :10], photo.pixels[:, :10], rtol=1e-4)
    assert steepest[0] < steepest[1] < steepest[2]
    assert steepest[2] > 1.3 * steepest[0]


def test_the_edge_mask_spares_a_flat_noisy_patch_but_not_an_edge():
    flat = noisy_flat()
    base = luma(flat).std()
    unmasked = luma(sharpen(flat, SharpenParams(amount=150.0, radius=1.0, masking=0.0))).std() - base
    masked = luma(sharpen(flat, SharpenParams(amount=150.0, radius=1.0, masking=60.0))).std() - base
    assert unmasked > 0.3 * base
    assert masked < 0.1 * unmasked
    edge = soft_edge()
    before = np.abs(np.diff(luma(edge)[32])).max()
    after = np.abs(np.diff(luma(sharpen(edge, SharpenParams(amount=150.0, radius=1.5, masking=60.0)))[32])).max()
    assert after > 1.3 * before


def test_sharpening_keeps_the_colour_ratios():
    photo = soft_edge()
    out = sharpen(photo, SharpenParams(amount=100.0)).pixels
    np.testing.assert_allclose(out[..., 1] / out[..., 0], 0.9, rtol=1e-5)


def test_a_region_render_matches_the_whole_render():
    photo = noisy_flat(0.05, size=80)
    recipe = Recipe().with_params("sharpen", SharpenParams(amount=120.0, radius=2.0, masking=30.0))
    whole = render(photo, recipe).pixels
    part = render(photo, recipe, region=(20, 30, 50, 60)).pixels
    np.testing.assert_allclose(part, whole[30:60, 20:50], atol=1e-6)
    assert margin(SharpenParams(radius=2.0)) >= 18


def test_a_preview_at_a_quarter_scale_blurs_a_quarter_radius():
    photo = noisy_flat(0.05)
    preview = dataclasses.replace(photo, scale=0.5)
    params = SharpenParams(amount=100.0, radius=2.0)
    np.testing.assert_allclose(sharpen(preview, params).pixels,
                               sharpen(photo, dataclasses.replace(params, radius=1.0)).pixels, atol=1e-6)


# --- vignette ----------------------------------------------------------------------------------------------

def flat_grey(width=120, height=80) -> Photo:
    return Photo(np.full((height, width, 3), 0.18, np.float32))


@pytest.mark.parametrize("amount", [-100.0, -40.0, 60.0])
def test_a_vignette_leaves_the_centre_and_changes_the_corners_by_the_expected_factor(amount):
    out = vignette(flat_grey(), VignetteParams(amount=amount)).pixels
    np.testing.assert_allclose(out[36:44, 56:64], 0.18, rtol=1e-6)
    expected = 0.18 * 2 ** (EV_AT_100 * amount / 100.0)
    for corner in (out[0, 0], out[0, -1], out[-1, 0], out[-1, -1]):
        np.testing.assert_allclose(corner, expected, rtol=1e-5)
    # darker (or lighter) steadily from the centre out along the diagonal
    diagonal = np.array([out[round(i * 79 / 119), i, 0] for i in range(60, 120)])
    steps = np.diff(diagonal)
    assert np.all(steps <= 1e-7) if amount < 0 else np.all(steps >= -1e-7)


def test_a_vignette_is_symmetric():
    out = vignette(flat_grey(), VignetteParams(amount=-70.0, midpoint=20.0, roundness=60.0, feather=80.0)).pixels
    np.testing.assert_allclose(out, out[::-1], rtol=1e-6)
    np.testing.assert_allclose(out, out[:, ::-1], rtol=1e-6)


def test_roundness_100_makes_the_falloff_circular():
    out = vignette(flat_grey(160, 80), VignetteParams(amount=-100.0, midpoint=10.0, roundness=100.0,
                                                       feather=100.0)).pixels[..., 0]
    # 30 pixels right of the centre and 30 pixels below it are equally far, so equally dark
    assert out[40, 80 + 30] == pytest.approx(out[40 + 30, 80], rel=1e-5)
    elliptic = vignette(flat_grey(160, 80), VignetteParams(amount=-100.0, midpoint=10.0, feather=100.0)).pixels
    assert elliptic[40, 80 + 30, 0] > elliptic[40 + 30, 80, 0]


def test_a_vignette_in_a_region_render_matches_the_whole_render():
    photo = flat_grey()
    recipe = Recipe().with_params("vignette", VignetteParams(amount=-50.0, midpoint=30.0))
    whole = render(photo, recipe).pixels
    np.testing.assert_allclose(render(photo, recipe, region=(70, 10, 110, 50)).pixels, whole[10:50, 70:110],
                               rtol=1e-6)
