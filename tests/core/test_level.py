"""The level tool's recipe change (core.level.levelled), shared by the window and the CLI."""

import math

import pytest

from photolab.core.develop.straighten import StraightenParams
from photolab.core.develop.exposure import ExposureParams
from photolab.core.level import levelled
from photolab.core.recipe import Recipe


def test_a_rising_horizon_is_turned_level_and_the_rest_of_the_recipe_kept():
    rise = math.tan(math.radians(4.0)) * 300
    recipe = Recipe().with_params("exposure", ExposureParams(ev=0.5))
    result = levelled(recipe, (100, 400), (400, 400 - rise))
    assert result.get("straighten").angle == pytest.approx(-4.0)
    assert result.get("exposure") == ExposureParams(ev=0.5)


def test_the_line_is_measured_on_the_photo_as_already_straightened():
    recipe = Recipe().with_params("straighten", StraightenParams(angle=1.5))
    drop = math.tan(math.radians(2.0)) * 500
    assert levelled(recipe, (0, 100), (500, 100 + drop)).get("straighten").angle == pytest.approx(3.5)
    # a switched-off straighten shows the photo unturned: the line is measured from 0 and straighten comes on
    off = recipe.with_enabled("straighten", False)
    result = levelled(off, (0, 100), (500, 100 + drop))
    assert result.get("straighten").angle == pytest.approx(2.0) and result.is_active("straighten")


def test_a_near_vertical_line_becomes_plumb_and_a_point_is_refused():
    lean = math.tan(math.radians(6.0)) * 200
    assert levelled(Recipe(), (50, 300), (50 + lean, 100)).get("straighten").angle == pytest.approx(6.0)
    with pytest.raises(ValueError, match="same point"):
        levelled(Recipe(), (10, 10), (10, 10))
