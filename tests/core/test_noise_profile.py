"""A camera RAW photo's sensor noise, measured on its mosaic when it is read: the profile against the noise a
synthetic DNG was given, Auto's level against the developed photo's real noise, the Denoise step's map, and
how the profile travels with the photo."""

from __future__ import annotations

import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from photolab.core import io, noise_profile
from photolab.core.color import decode_srgb_integer
from photolab.core.develop import OPERATIONS_BY_NAME
from photolab.core.develop.denoise import encode, estimate_params, noise_map
from photolab.core.develop.geometry import CropParams, OrientParams
from photolab.core.noise_estimate import estimate_noise
from photolab.core.noise_map import map_level, poisson_gaussian_map, profile_map
from photolab.core.photo import NoiseProfile, Photo, downscaled
from photolab.core.recipe import Recipe
from photolab.core.render import render
from utils.dng import write_dng
from utils.images import load_fixture

LEVELS = [(0.01, 1e-4), (0.004, 2e-5)]  # (a, b) of the normalised mosaic: about ISO 6400 and ISO 1600-3200


def scene(name: str = "mountain_forest") -> np.ndarray:
    """A natural fixture, linear, upscaled to 256 x 384, above 256 x 384 of smooth ramps from black to bright
    (shadows, where the read noise shows; the fixture alone has too few to pin it down)."""
    linear = cv2.resize(decode_srgb_integer(load_fixture(name)), (384, 256), interpolation=cv2.INTER_CUBIC)
    linear = np.clip(linear, 0, 1)
    rows, cols = np.mgrid[0:256, 0:384].astype(np.float32)
    ramp = (cols / 384) ** 2.2
    ramps = np.dstack([ramp * (0.6 + 0.4 * rows / 256), ramp, ramp * (1 - 0.3 * rows / 256)])
    return np.concatenate([linear, ramps], axis=0)


def noisy_dng(path, a: float, b: float, seed: int = 5, **options):
    """A DNG of :func:`scene` whose mosaic has Poisson-Gaussian noise of variance a*x + b (x: 0..1 from the
    black to the white level)."""
    return write_dng(path, scene(), full_well_electrons=1.0 / a, read_noise=math.sqrt(b) * ((1 << 14) - 1 - 512),
                     seed=seed, **options)


def true_noise(photo: Photo, clean: Photo) -> float:
    """The developed photo's noise std (sRGB, 0-255) against the noise-free DNG developed the same way, its
    brightness matched (LibRaw lowers its white level to the data's maximum when that is high, so the two
    developments differ by a gain)."""
    usable = (clean.pixels < 0.9) & (photo.pixels < 0.9)
    gain = np.sum(photo.pixels[usable] * clean.pixels[usable]) / np.sum(clean.pixels[usable] ** 2)
    difference = np.clip(encode(photo.pixels), 0, 1) - np.clip(encode(clean.pixels * gain), 0, 1)
    return float(np.sqrt(np.mean(difference ** 2))) * 255


@pytest.fixture(scope="module")
def clean_photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("clean") / "clean.dng"
    return io.read_photo(write_dng(path, scene(), full_well_electrons=0.0).path)


# --- the measurement --------------------------------------------------------------------------------------

def test_the_quantile_correction_is_measured_on_white_noise():
    plane = np.random.default_rng(0).standard_normal((2 + 16 * 40, 2 + 16 * 40)).astype(np.float32)
    variances, _, _ = noise_profile._phase_blocks(plane, np.zeros(plane.shape, bool))
    assert np.quantile(variances, noise_profile._QUANTILE) == pytest.approx(noise_profile._QUANTILE_BIAS, abs=0.02)


@pytest.mark.parametrize("a, b", LEVELS)
def test_the_profile_recovers_the_noise_added_to_the_mosaic(tmp_path, a, b):
    profile = io.read_photo(noisy_dng(tmp_path / "n.dng", a, b).path).metadata.noise_profile
    assert isinstance(profile, NoiseProfile)
    # measured at the time of writing: a 0.97-1.02, b 0.82-1.08 of the truth (8 seeds, both levels)
    assert profile.raw_shot == pytest.approx(a, rel=0.2)
    assert profile.raw_read == pytest.approx(b, rel=0.3)
    assert 0.9 < profile.gain < 1.4  # LibRaw's nominal scaling is 1, a lowered white level raises it


@pytest.mark.parametrize("a, b", LEVELS)
def test_auto_reads_the_noise_of_the_developed_raw(tmp_path, clean_photo, a, b):
    photo = io.read_photo(noisy_dng(tmp_path / "n.dng", a, b).path)
    truth = true_noise(photo, clean_photo)
    params, estimate = estimate_params(encode(photo.pixels), profile=photo.metadata.noise_profile)
    assert params.adaptive and params.sigma == estimate.sigma
    assert params.sigma == pytest.approx(truth, rel=0.3)  # at the time of writing: 0.85-0.94 of it
    # the developed image's finest scale alone reads a third of it: what the profile is for
    assert estimate_noise(np.clip(encode(photo.pixels), 0, 1)).sigma < 0.5 * truth


@pytest.mark.parametrize("a, b", LEVELS)
def test_the_profile_is_the_same_from_a_preview_and_for_any_orientation(tmp_path, a, b):
    full = io.read_photo(noisy_dng(tmp_path / "n.dng", a, b).path)
    preview = io.read_preview(tmp_path / "n.dng")  # half-size development
    turned = io.read_photo(noisy_dng(tmp_path / "t.dng", a, b, orientation=6).path)  # stored turned
    assert turned.pixels.shape == full.pixels.shape
    reference = full.metadata.noise_profile
    for other in (preview, turned):
        # the gain follows the development's brightness (LibRaw's white level moves with the noise's maximum)
        brightness = float(np.mean(other.pixels)) / float(np.mean(full.pixels))
        assert other.metadata.noise_profile.gain / reference.gain == pytest.approx(brightness, rel=0.02)
        assert other.metadata.noise_profile.raw_shot == pytest.approx(reference.raw_shot, rel=0.1)


class StubRaw:
    """What ``sample_mosaic`` reads from rawpy: an RGGB mosaic with black 512 and white 16383."""

    raw_pattern = np.array([[0, 1], [3, 2]])
    color_desc = b"RGBG"
    black_level_per_channel = [512, 512, 512, 512]
    white_level = 16383

    def __init__(self, mosaic: np.ndarray) -> None:
        self.raw_image_visible = mosaic


def test_saturation_below_the_white_level_and_hot_photosites_are_not_taken_for_quiet_blocks():
    a, b = 0.004, 2e-5
    rng = np.random.default_rng(1)
    x = np.tile(np.linspace(0.005, 0.8, 512, dtype=np.float64), (512, 1))  # a ramp: every brightness
    noisy = x + np.sqrt(a * x + b) * rng.standard_normal(x.shape)
    saturated = round(512 + 0.7 * (16383 - 512))  # a sensor that saturates at 70 % of the white level
    raw = np.minimum(np.round(512 + noisy * (16383 - 512)), saturated)
    raw[100:300, 300:] = saturated  # a blown highlight
    raw[400, 50] = raw[10, 200] = 16383  # hot photosites
    profile = noise_profile.measure_mosaic(noise_profile.sample_mosaic(StubRaw(raw.astype(np.uint16)), 1))
    assert profile[0] == pytest.approx(a, rel=0.15) and profile[1] == pytest.approx(b, rel=0.3)


def test_photos_that_are_not_raw_have_no_profile(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), load_fixture("wine_table")[:, :, ::-1])
    assert io.read_photo(path).metadata.noise_profile is None
    assert io.read_preview(path).metadata.noise_profile is None


def test_a_mosaic_that_is_not_bayer_gives_no_profile():
    stub = StubRaw(np.full((200, 200), 600, np.uint16))
    assert noise_profile.sample_mosaic(stub, 1) is not None
    stub.raw_pattern = None  # X-Trans and linear DNGs have no 2 x 2 pattern
    assert noise_profile.sample_mosaic(stub, 1) is None
    stub.raw_pattern, stub.color_desc = StubRaw.raw_pattern, b"CMYG"  # a complementary-colour mosaic
    assert noise_profile.sample_mosaic(stub, 1) is None
    stub.color_desc, stub.raw_image_visible = b"RGBG", np.zeros((40, 40), np.uint16)  # too small
    assert noise_profile.sample_mosaic(stub, 1) is None
    flat = noise_profile.sample_mosaic(StubRaw(np.full((200, 200), 600, np.uint16)), 1)
    assert noise_profile.measure_mosaic(flat) is None  # no noise at all: nothing to measure


# --- the map and the Denoise step ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def raw_photo(tmp_path_factory):
    return io.read_photo(noisy_dng(tmp_path_factory.mktemp("raw") / "n.dng", *LEVELS[0]).path)


def test_at_the_auto_level_the_map_is_the_training_map(raw_photo):
    """train_denoiser: poisson_gaussian_map(GaussianBlur(noisy sRGB, 1.5), a, b) with a, b in the image's units."""
    srgb = encode(raw_photo.pixels)
    profile = raw_photo.metadata.noise_profile
    params, estimate = estimate_params(srgb, profile=profile)
    blurred = cv2.GaussianBlur(np.clip(srgb, 0, 1), (0, 0), 1.5)  # the whole image at once (the map is banded)
    training = poisson_gaussian_map(blurred, profile.shot, profile.read)
    np.testing.assert_allclose(noise_map(srgb, params.sigma, True, profile=profile), training, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(estimate.map_for(srgb, params.sigma), training, rtol=1e-5, atol=1e-7)
    half = noise_map(srgb, params.sigma / 2, True, profile=profile)
    np.testing.assert_allclose(half, training / 2, rtol=1e-5, atol=1e-7)
    assert noise_map(srgb, 12.0, False, profile=profile) == pytest.approx(12 / 255)


def test_the_denoise_step_uses_the_profile_on_the_photo_and_its_proxy(raw_photo, monkeypatch):
    models = pytest.importorskip("photolab.models.denoise")
    maps = []
    monkeypatch.setattr(models, "denoise_array", lambda model, srgb, level, **options: maps.append(level) or srgb)
    srgb = encode(raw_photo.pixels)
    params, _ = estimate_params(srgb, profile=raw_photo.metadata.noise_profile)
    step = OPERATIONS_BY_NAME["denoise"]
    step.apply(raw_photo, params)
    proxy = downscaled(raw_photo, 256)  # half size: its noise is halved, and so is the level asked for
    step.apply(proxy, params)
    full, small = maps
    assert map_level(full) == pytest.approx(params.sigma, rel=1e-4)
    assert map_level(small) == pytest.approx(params.sigma * proxy.scale, rel=1e-4)
    np.testing.assert_allclose(full, profile_map(srgb, raw_photo.metadata.noise_profile), rtol=1e-5)


def test_the_profile_travels_with_the_photo(raw_photo):
    profile = raw_photo.metadata.noise_profile
    assert downscaled(raw_photo, 100).metadata.noise_profile is profile
    recipe = Recipe(params={"orient": OrientParams(1), "crop": CropParams(0.1, 0.2, 0.7, 0.9)})
    assert render(raw_photo, recipe, stop_before="denoise").metadata.noise_profile is profile
    assert raw_photo.with_pixels(raw_photo.pixels * 0.5).metadata.noise_profile is profile
    # a merge of several frames has other noise: the image is measured instead
    assert raw_photo.with_merged_pixels(raw_photo.pixels).metadata.noise_profile is None


def test_measuring_the_noise_needs_no_torch():
    code = ("import sys; import photolab.core.io, photolab.core.noise_profile, photolab.core.develop.denoise; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
