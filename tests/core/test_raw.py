"""Camera RAW development checked against the truth: synthetic DNGs unprocessed from natural photos."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest
import rawpy

from photolab.core import io
from photolab.core.color import srgb_decode, srgb_encode
from photolab.core.color import SRGB_TO_XYZ
from photolab.core.photo import downscaled
from utils.dng import ShotInfo, write_dng
from utils.images import NATURAL_PHOTOS, exposure_gain, load_fixture, matched_psnr, psnr

# Measured with the default development (PPG + colour-difference median) at the time of writing:
# mountain_forest 37.8, fig_bowl 28.6, wine_table 40.6, rock_snow_sky 26.3, dandelion 28.3, nuthatch 32.3 dB.
# Fine texture (fig seeds, rock, dandelion seeds at pixel scale) is hard for any demosaicing; a wrong colour
# matrix or white balance costs far more than these margins (10 dB and up).
MIN_PSNR = {"mountain_forest": 36.0, "fig_bowl": 27.0, "wine_table": 38.5, "rock_snow_sky": 26.0,
            "dandelion": 27.0, "nuthatch_bark": 31.0}


def libraw_faithful(path) -> np.ndarray:
    """LibRaw's own faithful development, as linear float (its (2.4, 12.92) curve is sRGB's to ~2e-5)."""
    with rawpy.imread(str(path)) as raw:
        encoded = raw.postprocess(use_camera_wb=True, gamma=(2.4, 12.92), no_auto_bright=True, output_bps=16)
    return srgb_decode(encoded / 65535.0)


@pytest.mark.parametrize("name", NATURAL_PHOTOS)
def test_developed_dng_matches_source_photo_and_libraw(tmp_path, name):
    source = load_fixture(name)
    path = write_dng(tmp_path / f"{name}.dng", source).path
    photo = io.read_photo(path)
    assert photo.pixels.shape == source.shape and photo.pixels.dtype == np.float32
    ours = matched_psnr(photo.pixels, source)
    reference = matched_psnr(libraw_faithful(path), source)
    assert ours > MIN_PSNR[name], f"{name}: {ours:.2f} dB"
    assert ours >= reference - 0.3, f"{name}: ours {ours:.2f} dB vs LibRaw {reference:.2f} dB"


def test_development_is_faithful_not_brightened_or_curved(tmp_path):
    """Mean colour and tonality follow the source: one gain near 1/white_exposure, no curve."""
    source = load_fixture("mountain_forest")
    path = write_dng(tmp_path / "a.dng", source, white_exposure=0.5, full_well_electrons=0).path
    photo = io.read_photo(path)
    source_linear = srgb_decode(source / 255.0)
    gain = exposure_gain(photo.pixels, source_linear)
    assert 1.6 < gain < 2.4  # a white surface was recorded at half the white level: not auto-brightened
    developed = photo.pixels * gain
    # per channel means agree (colour), and dark and bright halves keep their ratio (no tone curve)
    np.testing.assert_allclose(developed.mean(axis=(0, 1)), source_linear.mean(axis=(0, 1)), rtol=0.03)
    dark = source_linear.mean(axis=2) < np.median(source_linear.mean(axis=2))
    ratio = developed[dark].mean() / developed[~dark].mean()
    assert ratio == pytest.approx(source_linear[dark].mean() / source_linear[~dark].mean(), rel=0.05)


@pytest.mark.parametrize("pattern", ["BGGR", "GRBG", "GBRG"])
def test_other_bayer_patterns_and_cameras(tmp_path, pattern):
    source = load_fixture("wine_table")
    path = write_dng(tmp_path / "p.dng", source, cfa_pattern=pattern, camera=("NIKON CORPORATION", "NIKON D700"),
                     bits=12).path
    assert matched_psnr(io.read_photo(path).pixels, source) > 37.0


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_dng_orientation_is_applied(tmp_path, orientation):
    source = load_fixture("nuthatch_bark")
    path = write_dng(tmp_path / "o.dng", source, orientation=orientation).path
    photo = io.read_photo(path)
    assert photo.pixels.shape == source.shape  # 128 x 192 although stored as 192 x 128 for 6 and 8
    assert matched_psnr(photo.pixels, source) > MIN_PSNR["nuthatch_bark"]  # upright, not just turned
    assert photo.metadata.orientation == orientation
    assert (photo.metadata.width, photo.metadata.height) == (192, 128)
    preview = io.read_preview(path)
    assert preview.pixels.shape == (64, 96, 3)


def test_strong_as_shot_neutral_still_gives_neutral_greys(tmp_path):
    """Under tungsten-like light the camera records grey as orange; camera white balance must undo it."""
    greys = np.repeat(np.linspace(20, 235, 8, dtype=np.uint8), 24)[None, :].repeat(32, axis=0)
    source = np.dstack([greys, greys, greys])
    path = write_dng(tmp_path / "tungsten.dng", source, as_shot_neutral=np.array([1.0, 0.55, 0.25])).path
    photo = io.read_photo(path)
    multipliers = photo.color.as_shot_multipliers
    np.testing.assert_allclose(multipliers, [0.55, 1.0, 2.2], rtol=1e-3)  # blue amplified, red damped
    for column in range(8):  # every grey patch is neutral, not just the average
        patch = photo.pixels[8:24, column * 24 + 6: column * 24 + 18].reshape(-1, 3).mean(axis=0)
        encoded = srgb_encode(patch * 1.25)  # white was recorded at 0.8 of the white level
        assert encoded.max() - encoded.min() < 1.5 / 255, (column, encoded * 255)
        if column >= 2:  # above the deepest shadows, where noise and quantisation dominate
            assert patch.max() / patch.min() < 1.02, (column, patch)


def test_strong_as_shot_neutral_on_a_photo(tmp_path):
    source = load_fixture("mountain_forest")
    path = write_dng(tmp_path / "warm.dng", source, as_shot_neutral=np.array([0.9, 1.0, 0.3])).path
    assert matched_psnr(io.read_photo(path).pixels, source) > MIN_PSNR["mountain_forest"] - 1.0


def test_clipped_highlights_come_out_white(tmp_path):
    source = load_fixture("rock_snow_sky")
    path = write_dng(tmp_path / "over.dng", source, white_exposure=3.0, full_well_electrons=0).path
    photo = io.read_photo(path)
    bright = (source.min(axis=2) > 200).astype(np.uint8)
    inside = cv2.erode(bright, np.ones((5, 5), np.uint8)).astype(bool)  # away from demosaicing edges
    snow = photo.pixels[inside]
    assert len(snow) > 50
    np.testing.assert_allclose(snow, 1.0, atol=0.01)  # clipped to neutral white, no pink or green cast


def test_camera_color_describes_the_development(tmp_path):
    source = load_fixture("fig_bowl")
    info = write_dng(tmp_path / "c.dng", source, as_shot_neutral=np.array([0.5, 1.0, 0.7]))
    photo = io.read_photo(info.path)
    color = photo.color
    np.testing.assert_allclose(color.xyz_to_camera, info.color_matrix, atol=1e-4)
    np.testing.assert_allclose(color.as_shot_multipliers, info.as_shot_neutral[1] / info.as_shot_neutral,
                               rtol=1e-3)
    # camera_to_srgb maps the camera's balanced D65 white to sRGB white...
    np.testing.assert_allclose(color.camera_to_srgb.sum(axis=1), 1.0, atol=1e-4)
    # ...and inverts the camera's response to sRGB primaries (up to the per-channel daylight balance)
    camera_from_srgb = info.color_matrix @ SRGB_TO_XYZ
    balanced = camera_from_srgb / camera_from_srgb.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(color.camera_to_srgb @ balanced, np.eye(3), atol=1e-3)


def test_preview_is_fast_path_with_same_colour(tmp_path):
    source = load_fixture("mountain_forest")
    path = write_dng(tmp_path / "p.dng", source).path
    photo = io.read_photo(path)
    preview = io.read_preview(path, max_side=48)
    assert preview.pixels.shape == (32, 48, 3)
    np.testing.assert_allclose(preview.color.camera_to_srgb, photo.color.camera_to_srgb)
    np.testing.assert_allclose(preview.color.as_shot_multipliers, photo.color.as_shot_multipliers)
    assert preview.metadata.width == 192  # metadata describes the full photo
    reduced = downscaled(photo, 48).pixels
    assert psnr(np.clip(preview.pixels, 0, 1), np.clip(reduced, 0, 1)) > 35.0  # same exposure and colour


def test_raw_metadata(tmp_path):
    shot = ShotInfo(iso=800, f_number=Fraction(56, 10), lens="Test Lens 24-70mm")
    path = write_dng(tmp_path / "m.dng", load_fixture("dandelion"), shot=shot, bits=12, orientation=8).path
    for metadata in (io.read_metadata(path), io.read_photo(path).metadata):
        assert metadata.file_format == "raw"
        assert (metadata.camera_make, metadata.camera_model) == ("Canon", "EOS 5D Mark II")
        assert metadata.lens == "Test Lens 24-70mm"
        assert metadata.iso == 800
        assert metadata.shutter_seconds == pytest.approx(1 / 250)
        assert metadata.aperture == pytest.approx(5.6)
        assert metadata.focal_length_mm == pytest.approx(50)
        assert metadata.datetime == "2024-05-17T14:03:27"
        assert (metadata.width, metadata.height, metadata.orientation) == (192, 128, 8)
        assert metadata.bits_per_sample == 12
        assert metadata.path == str(path)


@pytest.mark.parametrize("method", sorted(io.DEMOSAIC_METHODS))
def test_every_demosaic_method_develops(tmp_path, method):
    source = load_fixture("wine_table")
    path = write_dng(tmp_path / "d.dng", source).path
    assert matched_psnr(io.read_photo(path, demosaic=method).pixels, source) > 33.0


def test_unknown_demosaic_method_is_refused(tmp_path):
    path = write_dng(tmp_path / "d.dng", load_fixture("wine_table")).path
    with pytest.raises(ValueError, match="demosaic"):
        io.read_photo(path, demosaic="magic")
