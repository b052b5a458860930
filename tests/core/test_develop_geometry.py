"""Orient (clockwise quarter turns) and crop (normalised rectangle in the oriented frame)."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.develop.geometry import (CropParams, OrientParams, centred_crop_for_aspect, crop, crop_box, orient,
                                            rotate_crop)
from photolab.core.photo import Photo


def numbered_photo(height=4, width=6) -> Photo:
    """Each pixel's value encodes its position: (row, column, row * width + column)."""
    rows, columns = np.mgrid[0:height, 0:width]
    return Photo(np.dstack([rows, columns, rows * width + columns]).astype(np.float32))


def test_one_clockwise_turn_moves_the_top_left_pixel_to_the_top_right():
    photo = numbered_photo(4, 6)
    turned = orient(photo, OrientParams(1)).pixels
    assert turned.shape == (6, 4, 3)
    np.testing.assert_array_equal(turned[0, -1], photo.pixels[0, 0])
    np.testing.assert_array_equal(turned[-1, -1], photo.pixels[0, -1])  # top-right goes to bottom-right
    np.testing.assert_array_equal(turned[0, 0], photo.pixels[-1, 0])  # bottom-left goes to top-left


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_orient_matches_numpy_rot90_clockwise(turns):
    photo = numbered_photo(5, 7)
    np.testing.assert_array_equal(orient(photo, OrientParams(turns)).pixels, np.rot90(photo.pixels, k=-turns))


def test_four_single_turns_are_the_identity_and_one_plus_three_too():
    photo = numbered_photo(5, 7)
    result = photo
    for _ in range(4):
        result = orient(result, OrientParams(1))
    np.testing.assert_array_equal(result.pixels, photo.pixels)
    back = orient(orient(photo, OrientParams(1)), OrientParams(3))
    np.testing.assert_array_equal(back.pixels, photo.pixels)


def test_crop_keeps_the_requested_rectangle():
    photo = numbered_photo(50, 100)
    result = crop(photo, CropParams(left=0.1, top=0.2, right=0.6, bottom=0.9))
    assert (result.width, result.height) == (50, 35)
    np.testing.assert_array_equal(result.pixels, photo.pixels[10:45, 10:60])
    assert not np.shares_memory(result.pixels, photo.pixels)


def test_crop_of_a_full_width_band_is_still_a_copy():
    photo = numbered_photo(20, 10)
    result = crop(photo, CropParams(top=0.5))
    assert result.pixels.shape == (10, 10, 3)
    assert not np.shares_memory(result.pixels, photo.pixels)


def test_a_tiny_crop_keeps_at_least_one_pixel():
    photo = numbered_photo(10, 10)
    result = crop(photo, CropParams(left=0.999, top=0.999, right=1.0, bottom=1.0))
    assert result.pixels.shape == (1, 1, 3)
    np.testing.assert_array_equal(result.pixels[0, 0], photo.pixels[9, 9])
    assert crop_box(10, 10, CropParams(0.5, 0.5, 0.5001, 0.5001)) == (5, 5, 6, 6)


def test_crop_rounding_to_the_whole_photo_returns_it_unchanged():
    photo = numbered_photo(10, 10)
    assert crop(photo, CropParams(0.01, 0.0, 1.0, 0.99)).pixels is photo.pixels


def test_crop_applies_in_the_oriented_frame():
    """Crop coordinates refer to the photo after orientation: the left half of a turned photo."""
    photo = numbered_photo(4, 6)
    turned = orient(photo, OrientParams(1))
    left_half = crop(turned, CropParams(right=0.5))
    assert left_half.pixels.shape == (6, 2, 3)
    np.testing.assert_array_equal(left_half.pixels, np.rot90(photo.pixels, k=-1)[:, :2])


@pytest.mark.parametrize("clockwise", [True, False])
def test_rotating_turns_the_crop_with_the_photo(clockwise):
    crop = CropParams(left=0.1, top=0.2, right=0.5, bottom=0.9)
    turned = rotate_crop(crop, clockwise)
    if clockwise:  # the left edge becomes the top edge
        assert (turned.left, turned.top, turned.right, turned.bottom) == pytest.approx((0.1, 0.1, 0.8, 0.5))
    else:  # the top edge becomes the left edge
        assert (turned.left, turned.top, turned.right, turned.bottom) == pytest.approx((0.2, 0.5, 0.9, 0.9))
    assert rotate_crop(turned, not clockwise) == crop
    four = crop
    for _ in range(4):
        four = rotate_crop(four, clockwise)
    assert (four.left, four.top, four.right, four.bottom) == pytest.approx((0.1, 0.2, 0.5, 0.9))


def test_aspect_presets_give_the_largest_centred_rectangle():
    assert centred_crop_for_aspect(300, 200, 1.0) == pytest.approx((1 / 6, 0.0, 5 / 6, 1.0))
    assert centred_crop_for_aspect(200, 300, 3 / 2) == pytest.approx((0.0, 0.0, 1.0, 1.0))
    left, top, right, bottom = centred_crop_for_aspect(400, 300, 16 / 9)
    assert ((right - left) * 400) / ((bottom - top) * 300) == pytest.approx(16 / 9)
