"""White balance in camera space: as shot, Kelvin (and its inverse), custom, auto and the spot picker."""

from __future__ import annotations

import numpy as np
import pytest

from photolab.core.develop import temperature
from photolab.core.develop.white_balance import (
    WhiteBalanceError,
    WhiteBalanceParams,
    apply,
    as_shot_temperature,
    auto_multipliers,
    balance_matrix,
    kelvin_multipliers,
    multipliers_to_temperature,
    spot_white_balance,
    spot_white_balance_at,
)
from photolab.core.errors import PhotoLabError
from photolab.core.color import SRGB_TO_XYZ
from photolab.core.photo import CameraColor, Photo

# A real camera's XYZ -> camera matrix (Canon EOS 5D Mark II, DNG ColorMatrix2 / dcraw adobe_coeff).
CAM_XYZ = np.array([[4716, 603, -830], [-7798, 15474, 2480], [-1496, 1937, 6651]]) / 10000.0


def camera(as_shot=(2.1, 1.0, 1.6)) -> CameraColor:
    """CameraColor built the way LibRaw does: rows of cam_rgb normalised to 1, camera_to_srgb its inverse."""
    cam_rgb = CAM_XYZ @ SRGB_TO_XYZ
    cam_rgb = cam_rgb / cam_rgb.sum(axis=1, keepdims=True)
    return CameraColor(np.linalg.inv(cam_rgb), CAM_XYZ.copy(), np.array(as_shot, dtype=np.float64))


def develop(raw: np.ndarray, color: CameraColor) -> Photo:
    """What the RAW reader produces from un-balanced camera RGB: C @ diag(m) @ raw."""
    matrix = color.camera_to_srgb @ np.diag(color.as_shot_multipliers)
    return Photo((raw.astype(np.float64) @ matrix.T).astype(np.float32), color=color)


def grey_scene(color: CameraColor, kelvin: float, tint: float, level=0.3, size=(16, 24)) -> Photo:
    """A uniformly grey card lit by a (kelvin, tint) light, developed with the camera's as-shot balance."""
    response = CAM_XYZ @ temperature.white_xyz(kelvin, tint)
    raw = np.broadcast_to(response / response[1] * level, size + (3,))
    return develop(raw, color)


def is_neutral(rgb, tolerance=2e-3) -> bool:
    rgb = np.asarray(rgb, dtype=np.float64)
    return float(np.ptp(rgb) / rgb.mean()) < tolerance


# --- the temperature science --------------------------------------------------------------------


def test_standard_illuminants_get_their_textbook_temperatures():
    kelvin, tint = temperature.temperature_tint_from_xy(0.31271, 0.32902)  # D65
    assert kelvin == pytest.approx(6504, abs=10) and abs(tint) < 1
    kelvin, tint = temperature.temperature_tint_from_xy(0.34567, 0.35850)  # D50
    assert kelvin == pytest.approx(5003, abs=10) and abs(tint) < 1
    kelvin, tint = temperature.temperature_tint_from_xy(0.44757, 0.40745)  # illuminant A, a 2856 K black body
    assert kelvin == pytest.approx(2856, abs=20) and abs(tint) < 2


@pytest.mark.parametrize("kelvin", [1500, 2200, 2856, 3300, 3800, 4000, 4500, 6504, 9000, 20000, 50000])
@pytest.mark.parametrize("tint", [-150, -40, 0, 75, 150])
def test_temperature_and_tint_round_trip_through_chromaticity(kelvin, tint):
    back_kelvin, back_tint = temperature.temperature_tint_from_xyz(temperature.white_xyz(kelvin, tint))
    assert back_kelvin == pytest.approx(kelvin, rel=1e-4)
    assert back_tint == pytest.approx(tint, abs=1e-3)


def test_tint_150_is_a_duv_of_0_05_towards_green():
    on_locus = temperature.locus_uv(5500.0)
    shifted = temperature.white_uv(5500.0, 150.0)
    assert np.linalg.norm(shifted - on_locus) == pytest.approx(0.05, rel=1e-6)
    assert shifted[1] > on_locus[1]  # +v is the green side of the locus


def test_locus_is_daylight_above_4000_kelvin_and_continuous_across_the_blend():
    for kelvin in (4000.0, 6504.0, 12000.0):
        np.testing.assert_allclose(temperature.locus_uv(kelvin), temperature.xy_to_uv(*temperature.daylight_xy(kelvin)))
    np.testing.assert_allclose(temperature.locus_uv(2000.0), temperature.planckian_uv(2000.0))
    kelvins = np.linspace(2400, 4100, 2000)
    steps = np.linalg.norm(np.diff(temperature.locus_uv(kelvins), axis=0), axis=1)
    assert steps.max() < 3 * np.median(steps)  # no jumps


# --- as shot, Kelvin, custom -----------------------------------------------------------------------


def test_as_shot_is_the_identity():
    photo = grey_scene(camera(), 3200, 10)
    assert apply(photo, WhiteBalanceParams()) is photo


def test_srgb_images_are_shot_at_about_6500_kelvin_and_no_tint():
    kelvin, tint = as_shot_temperature(CameraColor.srgb())
    assert kelvin == pytest.approx(6500, abs=15)
    assert abs(tint) < 1


@pytest.mark.parametrize("as_shot", [(2.1, 1.0, 1.6), (2.4, 1.0, 1.3), (1.5, 1.0, 2.4), (1.0, 1.0, 1.0)])
def test_kelvin_at_the_as_shot_temperature_is_practically_the_identity(as_shot):
    color = camera(as_shot) if as_shot != (1.0, 1.0, 1.0) else CameraColor.srgb()
    rng = np.random.default_rng(1)
    photo = Photo(rng.random((8, 9, 3), dtype=np.float32), color=color)
    kelvin, tint = as_shot_temperature(color)
    np.testing.assert_allclose(kelvin_multipliers(color, kelvin, tint), np.array(as_shot) / as_shot[1], rtol=1e-5)
    result = apply(photo, WhiteBalanceParams("kelvin", temperature=kelvin, tint=tint))
    np.testing.assert_allclose(result.pixels, photo.pixels, atol=1e-4)


def test_kelvin_white_balance_neutralises_a_grey_card_under_that_light():
    color = camera()
    for kelvin, tint in ((2800.0, 0.0), (5200.0, 30.0), (9000.0, -60.0)):
        photo = grey_scene(color, kelvin, tint)
        balanced = apply(photo, WhiteBalanceParams("kelvin", temperature=kelvin, tint=tint))
        assert is_neutral(balanced.pixels[0, 0]), (kelvin, tint, balanced.pixels[0, 0])
        assert not is_neutral(photo.pixels[0, 0], 0.02)


def test_higher_temperature_warms_the_picture_and_positive_tint_turns_it_magenta():
    photo = Photo(np.full((4, 4, 3), 0.3, dtype=np.float32))  # neutral sRGB, shot at D65

    def mean(params):
        return apply(photo, params).pixels.mean(axis=(0, 1))

    warm, cool = mean(WhiteBalanceParams("kelvin", 9000.0)), mean(WhiteBalanceParams("kelvin", 4000.0))
    assert warm[0] > warm[2] and cool[2] > cool[0]
    magenta = mean(WhiteBalanceParams("kelvin", 6504.0, tint=100.0))
    green = mean(WhiteBalanceParams("kelvin", 6504.0, tint=-100.0))
    assert magenta[1] < min(magenta[0], magenta[2]) and green[1] > max(green[0], green[2])


def test_custom_multipliers_scale_camera_channels_relative_to_the_as_shot_ones():
    photo = Photo(np.full((2, 3, 3), [0.2, 0.3, 0.4], dtype=np.float32))  # sRGB: camera space is sRGB
    result = apply(photo, WhiteBalanceParams("custom", multipliers=(2.0, 1.0, 0.5)))
    np.testing.assert_allclose(result.pixels[0, 0], [0.4, 0.3, 0.2], rtol=1e-6)
    color = camera()
    raw_photo = Photo(photo.pixels.copy(), color=color)
    same = apply(raw_photo, WhiteBalanceParams("custom", multipliers=tuple(color.as_shot_multipliers * 3)))
    np.testing.assert_allclose(same.pixels, raw_photo.pixels, atol=1e-6)


def test_balance_matrix_keeps_white_white_when_the_balance_is_unchanged():
    color = camera()
    np.testing.assert_allclose(balance_matrix(color, color.as_shot_multipliers), np.eye(3), atol=1e-12)


def test_as_shot_temperature_without_a_camera_matrix_falls_back_to_daylight(caplog):
    no_matrix = CameraColor(np.eye(3), np.zeros((3, 3)), np.array([2.0, 1.0, 1.5]))
    assert as_shot_temperature(no_matrix) == (6504.0, 0.0)
    assert "assuming daylight" in caplog.text
    with pytest.raises(WhiteBalanceError, match="colour matrix"):
        kelvin_multipliers(no_matrix, 5000.0, 0.0)


def test_multipliers_to_temperature_is_clamped_to_the_slider_ranges():
    color = camera()
    kelvin, tint = multipliers_to_temperature(color, kelvin_multipliers(color, 80000.0, 0.0))
    assert kelvin == temperature.TEMPERATURE_MAX and abs(tint) < 1
    kelvin, tint = multipliers_to_temperature(color, kelvin_multipliers(color, 5000.0, 200.0))
    assert kelvin == pytest.approx(5000, rel=1e-3) and tint == temperature.TINT_LIMIT


def test_kelvin_multipliers_stay_finite_where_the_camera_matrix_goes_negative():
    color = camera()
    assert (CAM_XYZ @ temperature.white_xyz(1300.0, 0.0))[2] < 0  # this matrix has no blue response here
    multipliers = kelvin_multipliers(color, 1300.0, 0.0)
    assert np.all(np.isfinite(multipliers)) and np.all(multipliers > 0)
    assert multipliers.max() / multipliers.min() == pytest.approx(100.0)


# --- auto --------------------------------------------------------------------------------------------


def test_auto_white_balance_makes_a_grey_world_scene_neutral_and_ignores_clipped_pixels():
    color = camera((2.57, 1.0, 1.39))  # as-shot: daylight
    rng = np.random.default_rng(7)
    reflectances = rng.uniform(0.05, 0.6, size=(60, 80, 1)) * rng.uniform(0.7, 1.3, size=(60, 80, 3))
    reflectances /= reflectances.reshape(-1, 3).mean(axis=0)  # the scene averages to grey
    light = CAM_XYZ @ temperature.white_xyz(3000.0, 15.0)  # but it is lit by tungsten
    raw = reflectances * 0.1 * light / light[1]
    photo = develop(raw, color)
    pixels = photo.pixels.copy()
    pixels[:20, :20] = [1.0, 0.99, 0.2]  # a burnt-out yellow lamp: must not pull the balance
    photo = Photo(pixels, color=color)
    balanced = apply(photo, WhiteBalanceParams("auto"))
    assert is_neutral(balanced.pixels[20:, 20:].reshape(-1, 3).mean(axis=0), 0.03)
    assert not is_neutral(photo.pixels[20:, 20:].reshape(-1, 3).mean(axis=0), 0.2)
    kelvin, tint = multipliers_to_temperature(color, auto_multipliers(photo))
    assert kelvin == pytest.approx(3000, rel=0.05) and tint == pytest.approx(15, abs=10)


def test_auto_white_balance_limits_itself_to_plausible_lights():
    meadow = Photo(np.full((30, 40, 3), [0.05, 0.35, 0.04], dtype=np.float32))  # all green, in daylight
    kelvin, tint = multipliers_to_temperature(meadow.color, auto_multipliers(meadow))
    assert 2000 <= kelvin <= 12000 and tint == pytest.approx(50.0, abs=0.01)  # a green light, but only so green
    result = apply(meadow, WhiteBalanceParams("auto")).pixels[0, 0]
    assert result[1] > 2 * max(result[0], result[2])  # still a green meadow


def test_auto_white_balance_without_a_camera_matrix_uses_the_camera_space_estimate():
    no_matrix = CameraColor(np.eye(3), np.zeros((3, 3)), np.ones(3))
    rng = np.random.default_rng(2)
    pixels = (rng.uniform(0.05, 0.5, (30, 40, 1)) * [1.3, 1.0, 0.6]).astype(np.float32)  # grey scene, warm cast
    balanced = apply(Photo(pixels, color=no_matrix), WhiteBalanceParams("auto")).pixels
    assert is_neutral(balanced[5, 7], 1e-5)


def test_auto_white_balance_of_a_black_photo_is_the_identity():
    photo = Photo(np.zeros((5, 5, 3), dtype=np.float32), color=camera())
    np.testing.assert_array_equal(apply(photo, WhiteBalanceParams("auto")).pixels, photo.pixels)


# --- the spot picker -----------------------------------------------------------------------------


def test_spot_white_balance_on_a_tinted_grey_patch_makes_it_neutral():
    color = camera()
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.02, 0.5, size=(40, 50, 3))
    light = CAM_XYZ @ temperature.white_xyz(4200.0, -25.0)
    raw[10:25, 30:45] = 0.25 * light / light[1]  # a grey card under that light
    photo = develop(raw, color)
    assert not is_neutral(photo.pixels[17, 37], 0.05)
    params = spot_white_balance(photo, 37, 17, radius=3)
    assert params.mode == "custom" and len(params.multipliers) == 3 and params.multipliers[1] == 1.0
    assert params.temperature == pytest.approx(4200, rel=0.01) and params.tint == pytest.approx(-25, abs=1)
    balanced = apply(photo, params)
    assert is_neutral(balanced.pixels[10:25, 30:45].reshape(-1, 3).mean(axis=0), 1e-4)
    assert is_neutral(balanced.pixels[10, 30], 1e-4)


def test_spot_white_balance_on_srgb_grey_keeps_it_and_reports_daylight():
    photo = Photo(np.full((9, 9, 3), 0.4, dtype=np.float32))
    params = spot_white_balance(photo, 4, 4)
    np.testing.assert_allclose(params.multipliers, (1.0, 1.0, 1.0), atol=1e-6)
    assert params.temperature == pytest.approx(6504, abs=15)


@pytest.mark.parametrize(
    "value,x,y,words",
    [
        ((1.0, 1.0, 1.0), 5, 5, "clipped"),
        ((0.0, 0.0, 0.0), 5, 5, "too dark"),
        ((0.4, 0.0, 0.0), 5, 5, "strongly coloured"),
        ((0.4, 0.4, 0.4), 10, 5, "outside"),
        ((0.4, 0.4, 0.4), -1, 5, "outside"),
    ],
)
def test_spot_white_balance_refuses_clipped_black_or_outside_spots(value, x, y, words):
    photo = Photo(np.full((10, 10, 3), value, dtype=np.float32))
    with pytest.raises(WhiteBalanceError, match=words) as info:
        spot_white_balance(photo, x, y)
    assert isinstance(info.value, PhotoLabError)


def test_spot_white_balance_uses_only_unclipped_pixels_of_a_mostly_fine_spot():
    pixels = np.full((9, 9, 3), [0.3, 0.4, 0.5], dtype=np.float32)
    pixels[4, 4] = [1.0, 1.0, 0.9]  # one blown pixel in the middle of the spot
    params = spot_white_balance(Photo(pixels), 4, 4, radius=2)
    np.testing.assert_allclose(params.multipliers, (0.4 / 0.3, 1.0, 0.4 / 0.5), rtol=1e-5)



def test_spot_white_balance_at_a_normalised_position_is_the_eyedroppers_pixel():
    rng = np.random.default_rng(7)
    pixels = np.clip(0.3 + 0.2 * rng.random((20, 40, 3)), 0, 1).astype(np.float32)
    photo = Photo(pixels)
    assert spot_white_balance_at(photo, 0.5, 0.25) == spot_white_balance(photo, 20, 5)
    assert spot_white_balance_at(photo, 1.0, 1.0) == spot_white_balance(photo, 39, 19)  # clamped inside
    assert spot_white_balance_at(photo, -0.2, 0.0, radius=1) == spot_white_balance(photo, 0, 0, radius=1)
