"""Straighten: any angle, cropped to the largest rectangle of the photo's shape inside the turned frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from photolab.core.develop.straighten import (MARGIN, StraightenParams, apply, crop_scale, level_angle,
                                              straightened_size)
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import output_size, render


def test_a_square_turned_45_degrees_keeps_a_side_of_one_over_root_two():
    assert crop_scale(1.0, 1.0, 45.0) == pytest.approx(1 / math.sqrt(2))
    assert crop_scale(1.0, 1.0, -45.0) == pytest.approx(1 / math.sqrt(2))
    assert crop_scale(300.0, 200.0, 0.0) == 1.0


@pytest.mark.parametrize("width,height,angle", [(3.0, 2.0, 10.0), (2.0, 3.0, -25.0), (16.0, 9.0, 4.0)])
def test_the_crop_rectangle_touches_the_turned_frame(width, height, angle):
    """The crop's corners lie inside the turned frame, and one of them on its edge (it is the largest)."""
    k = crop_scale(width, height, angle)
    a = math.radians(angle)
    turn_back = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    corners = np.array([[sx * k * width / 2, sy * k * height / 2] for sx in (-1, 1) for sy in (-1, 1)])
    in_frame = np.abs(corners @ turn_back.T) / [width / 2, height / 2]
    assert in_frame.max() == pytest.approx(1.0)
    # known value: 3 x 2 at 10 degrees, k = min(3 / (3c + 2s), 2 / (3s + 2c))
    if (width, height, angle) == (3.0, 2.0, 10.0):
        assert k == pytest.approx(2 / (3 * math.sin(a) + 2 * math.cos(a)))


@pytest.mark.parametrize("angle", [0.3, -3.0, 12.5, -30.0, 45.0])
def test_no_border_pixel_lies_inside_the_crop(angle):
    photo = Photo(np.full((90, 140, 3), 0.5, np.float32))
    out = apply(photo, StraightenParams(angle=angle))
    assert out.pixels.min() == pytest.approx(0.5, abs=1e-5) and out.pixels.max() == pytest.approx(0.5, abs=1e-5)
    # the photo's shape is kept
    assert out.width / out.height == pytest.approx(140 / 90, rel=0.03)
    assert (out.width, out.height) == straightened_size(StraightenParams(angle), (140, 90))


def test_the_turn_goes_counter_clockwise_for_a_positive_angle():
    pixels = np.zeros((101, 101, 3), np.float32)
    pixels[50, 50:] = 1.0  # a line from the centre to the right
    out = apply(Photo(pixels), StraightenParams(angle=30.0)).pixels[..., 0]
    ys, xs = np.nonzero(out > 0.3)
    cy, cx = (out.shape[0] - 1) / 2, (out.shape[1] - 1) / 2
    right = xs > cx + 5
    slope = np.polyfit(xs[right] - cx, -(ys[right] - cy), 1)[0]  # y up
    assert math.degrees(math.atan(slope)) == pytest.approx(30.0, abs=1.5)


def test_a_region_render_matches_the_whole_render():
    rng = np.random.default_rng(0)
    photo = Photo(rng.random((80, 120, 3)).astype(np.float32))
    recipe = Recipe().with_params("straighten", StraightenParams(angle=-8.0))
    whole = render(photo, recipe)
    assert (whole.width, whole.height) == output_size((120, 80), recipe)
    part = render(photo, recipe, region=(10, 20, 60, 50)).pixels
    np.testing.assert_allclose(part, whole.pixels[20:50, 10:60], atol=1e-4)  # OpenCV rounds coordinates


def test_the_level_tool_makes_a_drawn_line_level_or_plumb():
    # a horizon rising 5 degrees to the right: turn the picture 5 degrees clockwise
    rise = math.tan(math.radians(5.0)) * 100
    assert level_angle(0.0, (0, 100), (100, 100 - rise)) == pytest.approx(-5.0)
    assert level_angle(2.0, (100, 100 - rise), (0, 100)) == pytest.approx(-3.0)  # either direction of drawing
    # a nearly vertical edge leaning 3 degrees left of plumb (top to the left)
    lean = math.tan(math.radians(3.0)) * 100
    assert level_angle(0.0, (50, 200), (50 - lean, 100)) == pytest.approx(-3.0)
    assert level_angle(40.0, (0, 0), (100, -100)) == 45.0  # clamped
    assert MARGIN >= 2
