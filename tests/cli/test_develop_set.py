"""photolab-cli develop --set OPERATION.FIELD=VALUE: any parameter of any operation, checked up front."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photolab.cli import main
from photolab.cli.develop import parse_settings, with_settings
from photolab.core.develop.hsl import HslParams
from photolab.core.develop.sharpen import SharpenParams
from photolab.core.develop.straighten import StraightenParams
from photolab.core.develop.tone_curve import ToneCurveParams
from photolab.core.develop.vignette import VignetteParams
from photolab.core.recipe import Recipe, save_sidecar


@pytest.fixture
def photo_file(tmp_path):
    ramp = np.tile(np.linspace(40, 200, 96, dtype=np.uint8), (64, 1))
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.dstack([ramp, ramp, ramp]))
    return path


def pixels(path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64)


def test_settings_are_read_by_each_fields_type():
    settings = parse_settings(["exposure.ev=0.5", "orient.quarter_turns=1", "denoise.adaptive=true",
                               "white_balance.mode=auto", "tone_curve.luminance=[[0,0],[0.5,0.6],[1,1]]",
                               "white_balance.multipliers=null"])
    assert settings == [("exposure", "ev", 0.5), ("orient", "quarter_turns", 1), ("denoise", "adaptive", True),
                        ("white_balance", "mode", "auto"),
                        ("tone_curve", "luminance", [[0, 0], [0.5, 0.6], [1, 1]]),
                        ("white_balance", "multipliers", None)]
    recipe = with_settings(Recipe(), settings)
    assert recipe.get("tone_curve").luminance == ((0.0, 0.0), (0.5, 0.6), (1.0, 1.0))
    assert recipe.get("orient").quarter_turns == 1 and recipe.get("exposure").ev == 0.5


def test_settings_build_on_the_recipe_and_each_other():
    recipe = Recipe().with_params("hsl", HslParams(red_hue=10.0))
    recipe = with_settings(recipe, parse_settings(["hsl.blue_luminance=-20", "vignette.amount=-30",
                                                   "vignette.midpoint=20"]))
    assert recipe.get("hsl") == HslParams(red_hue=10.0, blue_luminance=-20.0)
    assert recipe.get("vignette") == VignetteParams(amount=-30.0, midpoint=20.0)


@pytest.mark.parametrize("setting,message", [
    ("nothing.amount=1", "unknown operation 'nothing'"),
    ("sharpen.sharpness=1", "sharpen has no parameter 'sharpness'"),
    ("sharpen.amount=900", "between 0 and 300"),
    ("straighten.angle=abc", "expected a number"),
    ("orient.quarter_turns=1.5", "whole number"),
    ("denoise.adaptive=maybe", "true or false"),
    ("tone_curve.red=[[0,0],[1,2]]", "between 0 and 1"),
    ("tone_curve.red=[[0,0]", "JSON"),
    ("exposure.ev", "OPERATION.FIELD=VALUE"),
    ("white_balance.mode=pink", "must be one of"),
])
def test_a_bad_setting_is_one_line_and_exit_status_2(photo_file, tmp_path, capsys, setting, message):
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "out.png"), "--set", setting]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("photolab-cli: error: --set") and message in error
    assert not (tmp_path / "out.png").exists()


def test_set_develops_with_the_new_operations(photo_file, tmp_path):
    plain, edited = tmp_path / "plain.png", tmp_path / "edited.png"
    assert main(["develop", str(photo_file), "-o", str(plain)]) == 0
    assert main(["develop", str(photo_file), "-o", str(edited), "--set", "vignette.amount=-100",
                 "--set", "tone_curve.luminance=[[0,0],[0.5,0.7],[1,1]]"]) == 0
    before, after = pixels(plain), pixels(edited)
    assert after.shape == before.shape
    assert after[32, 48].mean() > before[32, 48].mean() + 5  # the curve lifts the mid-tones in the centre
    assert after[0, 0].mean() < before[0, 0].mean()  # the vignette darkens the corner


def test_every_new_operation_is_replayed_from_the_sidecar(photo_file, tmp_path):
    recipe = (Recipe().with_params("straighten", StraightenParams(angle=5.0))
              .with_params("tone_curve", ToneCurveParams(green=((0.0, 0.0), (0.5, 0.4), (1.0, 1.0))))
              .with_params("hsl", HslParams(red_saturation=30.0))
              .with_params("vignette", VignetteParams(amount=-50.0))
              .with_params("sharpen", SharpenParams(amount=100.0)))
    save_sidecar(photo_file, recipe)
    from_sidecar, flags = tmp_path / "sidecar.png", tmp_path / "flags.png"
    assert main(["develop", str(photo_file), "-o", str(from_sidecar)]) == 0
    assert main(["develop", str(photo_file), "-o", str(flags), "--no-sidecar", "--set", "straighten.angle=5",
                 "--set", "tone_curve.green=[[0,0],[0.5,0.4],[1,1]]", "--set", "hsl.red_saturation=30",
                 "--set", "vignette.amount=-50", "--set", "sharpen.amount=100"]) == 0
    assert pixels(from_sidecar).shape[:2] != (64, 96)  # straightened, so cropped
    np.testing.assert_array_equal(pixels(from_sidecar), pixels(flags))


def test_a_setting_the_recipe_forbids_fails_that_photo(photo_file, tmp_path, capsys):
    save_sidecar(photo_file, Recipe().with_params("crop", Recipe().get("crop").__class__(right=0.5)))
    assert main(["develop", str(photo_file), "-o", str(tmp_path / "x.png"), "--set", "crop.left=0.7"]) == 1
    assert "crop left" in capsys.readouterr().err


def test_level_straightens_like_the_matching_angle(photo_file, tmp_path):
    import math

    from photolab.cli.develop import parse_level

    rise = math.tan(math.radians(3.0)) * 80  # a horizon rising 3 degrees to the right
    line = f"8,50,88,{50 - rise}"
    assert parse_level(line) == ((8.0, 50.0), (88.0, 50 - rise))
    levelled, turned = tmp_path / "levelled.png", tmp_path / "turned.png"
    assert main(["develop", str(photo_file), "-o", str(levelled), "--level", line]) == 0
    assert main(["develop", str(photo_file), "-o", str(turned), "--set", "straighten.angle=-3"]) == 0
    np.testing.assert_allclose(pixels(levelled), pixels(turned), atol=1)
    assert pixels(levelled).shape != pixels(photo_file).shape  # straightened: cropped to the largest rectangle


@pytest.mark.parametrize("value,message", [("1,2,3", "expected X1,Y1,X2,Y2"), ("a,b,c,d", "four numbers"),
                                           ("5,5,5,5", "the two points are the same")])
def test_a_bad_level_line_is_a_usage_error(photo_file, value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["develop", str(photo_file), "--level", value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
