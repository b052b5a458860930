"""Bayer mosaics read from RAW files and written as DNGs: what is written comes back, and develops the same."""

from __future__ import annotations

import dataclasses
import errno
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import rawpy
import tifffile

from photolab.core import dng, io
from photolab.core.errors import CorruptFileError, FileAccessError, ImageTooLargeError, UnsupportedFormatError
from utils.dng import ShotInfo, write_dng
from utils.images import load_fixture

PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
QUANTUM = 1.0 / (dng.MOSAIC_WHITE_LEVEL - dng.MOSAIC_BLACK_LEVEL)  # one step of write_mosaic_dng's levels
SHOT = ShotInfo(iso=3200, exposure_time=Fraction(1, 60), f_number=Fraction(4), lens="Test Lens 24-70mm")
TINT = np.array([0.55, 1.0, 0.7])


def synthetic_dng(path: Path, cfa: str = "RGGB", **options):
    """A small noisy DNG unprocessed from a natural photo, stored rotated (orientation 6) under a tinted light."""
    options = {"orientation": 6, "as_shot_neutral": TINT, "shot": SHOT, **options}
    return write_dng(path, load_fixture("dandelion"), cfa_pattern=cfa, **options)


def normalised_raw(info) -> np.ndarray:
    """The sensor values a synthetic DNG holds, from black (0) to white (1)."""
    stored = tifffile.imread(info.path).astype(np.float64)
    return (stored - info.black_level) / (info.white_level - info.black_level)


def retagged(source: Path, target: Path, *, data: np.ndarray | None = None, drop: tuple[int, ...] = (),
             add: tuple[tuple, ...] = (), photometric=tifffile.PHOTOMETRIC.CFA) -> Path:
    """``source``'s DNG (its camera and colour tags) with other sensor data or other tags, for odd sensors."""
    with tifffile.TiffFile(source) as tiff:
        page = tiff.pages.first
        stored = page.asarray()
        tags = [(tag.code, int(tag.dtype), tag.count, tag.value, True) for tag in page.tags.values()
                if (tag.code > 32000 or tag.code in (dng.TAG_MAKE, dng.TAG_MODEL)) and tag.code not in drop]
    tifffile.imwrite(target, stored if data is None else data, photometric=photometric, metadata=None,
                     extratags=tags + list(add))
    return target


def one_line(error: pytest.ExceptionInfo, path: Path) -> str:
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize("cfa", PATTERNS)
def test_read_mosaic_gives_back_what_the_dng_holds(tmp_path, cfa):
    info = synthetic_dng(tmp_path / "shot.dng", cfa)
    mosaic = dng.read_mosaic(info.path)
    assert mosaic.cfa == cfa
    assert mosaic.data.dtype == np.float32 and mosaic.data.shape == (192, 128)  # stored, not upright
    np.testing.assert_allclose(mosaic.data, normalised_raw(info), atol=1e-4)
    assert mosaic.black_levels == (info.black_level,) * 4 and mosaic.white_level == info.white_level
    np.testing.assert_allclose(mosaic.color_matrix, info.color_matrix, atol=1e-4)
    np.testing.assert_allclose(mosaic.as_shot_neutral, info.as_shot_neutral, atol=1e-4)
    assert mosaic.orientation == 6
    assert mosaic.metadata == io.read_metadata(info.path)
    assert mosaic.metadata.iso == 3200 and mosaic.metadata.lens == "Test Lens 24-70mm"
    assert mosaic.noise_profile is None


@pytest.mark.parametrize("cfa", PATTERNS)
def test_written_dng_reads_and_develops_like_the_original(tmp_path, cfa):
    original = synthetic_dng(tmp_path / "shot.dng", cfa).path
    mosaic = dng.read_mosaic(original)
    written = dng.write_mosaic_dng(tmp_path / "merged.dng", mosaic)
    assert written == tmp_path / "merged.dng"
    with rawpy.imread(str(written)) as opened:
        letters = "".join(chr(opened.color_desc[index]) for index in opened.raw_pattern.ravel())
    assert letters == cfa

    again = dng.read_mosaic(written)
    assert again.cfa == cfa and again.orientation == mosaic.orientation
    assert again.black_levels == (dng.MOSAIC_BLACK_LEVEL,) * 4 and again.white_level == dng.MOSAIC_WHITE_LEVEL
    np.testing.assert_allclose(again.data, mosaic.data, atol=0.5 * QUANTUM + 1e-7)
    np.testing.assert_allclose(again.color_matrix, mosaic.color_matrix, atol=1e-4)
    np.testing.assert_allclose(again.as_shot_neutral, mosaic.as_shot_neutral, atol=1e-5)
    unchanged = {"path": None, "bits_per_sample": None}  # a new file, and 16 bits now
    assert dataclasses.replace(again.metadata, **unchanged) == dataclasses.replace(mosaic.metadata, **unchanged)

    # linear interpolation shows the pixels are the same; adaptive demosaicing may decide a few edges otherwise
    linear = [io.read_photo(path, demosaic="linear").pixels for path in (original, written)]
    assert np.abs(linear[0] - linear[1]).max() < 5e-4
    default = [io.read_photo(path).pixels for path in (original, written)]
    assert np.abs(default[0] - default[1]).mean() < 1e-4


def test_values_below_black_and_the_noise_profile_survive(tmp_path):
    mosaic = dng.read_mosaic(synthetic_dng(tmp_path / "shot.dng").path)
    data = mosaic.data.copy()
    data[:8] = np.linspace(-0.03, 0.0, data[:8].size, dtype=np.float32).reshape(8, -1)
    profile = ((2e-4, 3e-6), (1e-4, 2e-6), (3e-4, 4e-6))
    written = dng.write_mosaic_dng(tmp_path / "dark.dng", dataclasses.replace(mosaic, data=data,
                                                                              noise_profile=profile))
    again = dng.read_mosaic(written)
    np.testing.assert_allclose(again.data, data, atol=0.5 * QUANTUM + 1e-7)
    assert again.data[:8].min() < -0.029
    assert again.noise_profile == profile

    one_pair = dng.write_mosaic_dng(tmp_path / "one.dng", dataclasses.replace(mosaic, noise_profile=((1e-4, 1e-6),)))
    assert dng.read_mosaic(one_pair).noise_profile == ((1e-4, 1e-6),)


def test_exposure_values_and_a_time_zone_are_written(tmp_path):
    mosaic = dng.read_mosaic(synthetic_dng(tmp_path / "shot.dng").path)
    metadata = dataclasses.replace(mosaic.metadata, datetime="2025-02-03T04:05:06-07:30", aperture=5.6,
                                   shutter_seconds=1 / 8000, focal_length_mm=23.5)
    written = dng.write_mosaic_dng(tmp_path / "zone.dng", dataclasses.replace(mosaic, metadata=metadata))
    read = io.read_metadata(written)
    assert read.datetime == "2025-02-03T04:05:06-07:30"
    assert (read.aperture, read.shutter_seconds, read.focal_length_mm) == (5.6, 1 / 8000, 23.5)
    assert (read.camera_make, read.camera_model, read.iso) == ("Canon", "EOS 5D Mark II", 3200)


def test_a_visible_area_at_an_odd_sensor_position_gets_its_own_pattern(tmp_path):
    """The active area starts at row 1, column 3 of the sensor: the pattern read describes the data read."""
    values = {"R": 1000, "G": 2000, "B": 3000}
    plain = np.empty((32, 48), np.uint16)  # LibRaw opens nothing under 22 pixels
    for index, letter in enumerate("RGGB"):
        plain[index // 2::2, index % 2::2] = values[letter]
    source = dng.write_bayer_dng(tmp_path / "plain.dng", plain, cfa="RGGB", black_level=0, white_level=4000,
                                 color_matrix=np.eye(3), as_shot_neutral=np.ones(3), make="Test", model="Sensor")
    sensor = np.zeros((36, 54), np.uint16)
    sensor[1:33, 3:51] = plain
    path = retagged(source, tmp_path / "odd.dng", data=sensor, add=((50829, "I", 4, (1, 3, 33, 51), True),))
    mosaic = dng.read_mosaic(path)
    for index, letter in enumerate(mosaic.cfa):
        np.testing.assert_allclose(mosaic.data[index // 2::2, index % 2::2], values[letter] / 4000)


def test_missing_as_shot_white_means_daylight(tmp_path):
    info = synthetic_dng(tmp_path / "shot.dng")
    path = retagged(info.path, tmp_path / "no_white.dng", drop=(dng.TAG_AS_SHOT_NEUTRAL,))
    np.testing.assert_allclose(dng.read_mosaic(path).as_shot_neutral, info.daylight_neutral, atol=1e-3)


@pytest.mark.parametrize("kind, change, words", [
    ("x-trans", {"drop": (33421, 33422), "add": ((33421, "H", 2, (6, 6), True), (33422, "B", 36, (
        1, 1, 0, 1, 1, 2, 1, 1, 2, 1, 1, 0, 2, 0, 1, 0, 2, 1, 1, 1, 2, 1, 1, 0, 1, 1, 0, 1, 1, 2, 0, 2, 1, 2, 0, 1),
        True))}, "X-Trans"),
    ("cygm", {"drop": (33422, 50710), "add": ((50710, "B", 4, (3, 4, 5, 1), True),
                                              (33422, "B", 4, (3, 4, 5, 1), True))}, "four-colour"),
    ("monochrome", {"drop": (33421, 33422, 50710, 50711)}, "monochrome"),
    ("demosaiced", {"drop": (33421, 33422, 50710, 50711), "photometric": tifffile.PHOTOMETRIC.LINEAR_RAW},
     "no colour filter mosaic"),
])
def test_sensors_that_are_not_bayer_are_refused(tmp_path, kind, change, words):
    info = synthetic_dng(tmp_path / "shot.dng")
    if kind == "demosaiced":
        change = {**change, "data": np.repeat(tifffile.imread(info.path)[..., None], 3, axis=2)}
    path = retagged(info.path, tmp_path / f"{kind}.dng", **change)
    with pytest.raises(UnsupportedFormatError) as error:
        dng.read_mosaic(path)
    assert words in one_line(error, path)


def test_files_that_are_no_raw_mosaic_are_refused(tmp_path):
    jpeg = tmp_path / "photo.jpg"
    cv2.imwrite(str(jpeg), load_fixture("dandelion"))
    with pytest.raises(UnsupportedFormatError) as error:
        dng.read_mosaic(jpeg)
    assert "not a camera RAW file" in one_line(error, jpeg)

    whole = synthetic_dng(tmp_path / "shot.dng").path.read_bytes()
    truncated = tmp_path / "truncated.dng"
    truncated.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(CorruptFileError) as error:
        dng.read_mosaic(truncated)
    assert "truncated" in one_line(error, truncated)

    with pytest.raises(ImageTooLargeError) as error:
        dng.read_mosaic(tmp_path / "shot.dng", max_pixels=1000)
    one_line(error, tmp_path / "shot.dng")


def test_write_failures_are_one_line_errors_and_leave_no_file(tmp_path, monkeypatch):
    mosaic = dng.read_mosaic(synthetic_dng(tmp_path / "shot.dng").path)
    missing = tmp_path / "no such folder" / "merged.dng"
    with pytest.raises(FileAccessError) as error:
        dng.write_mosaic_dng(missing, mosaic)
    one_line(error, missing)
    not_a_folder = tmp_path / "shot.dng" / "merged.dng"
    with pytest.raises(FileAccessError):
        dng.write_mosaic_dng(not_a_folder, mosaic)

    target = tmp_path / "out" / "merged.dng"
    target.parent.mkdir()
    target.write_bytes(b"the previous merge")

    def disk_full(path, *args, **kwargs):
        Path(path).write_bytes(b"II*\x00 half a DNG")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dng.tifffile, "imwrite", disk_full)
    with pytest.raises(FileAccessError) as error:
        dng.write_mosaic_dng(target, mosaic)
    assert "No space left" in one_line(error, target)
    assert [entry.name for entry in target.parent.iterdir()] == ["merged.dng"]
    assert target.read_bytes() == b"the previous merge"


def test_mosaics_a_dng_cannot_hold_are_programming_errors(tmp_path):
    mosaic = dng.read_mosaic(synthetic_dng(tmp_path / "shot.dng").path)
    broken = mosaic.data.copy()
    broken[0, 0] = np.nan
    with pytest.raises(ValueError):
        dng.write_mosaic_dng(tmp_path / "nan.dng", dataclasses.replace(mosaic, data=broken))
    with pytest.raises(ValueError):
        dng.write_mosaic_dng(tmp_path / "cmyk.dng", dataclasses.replace(mosaic, cfa="RGBB"))
    assert [entry.name for entry in tmp_path.iterdir()] == ["shot.dng"]


def test_a_dng_develops_by_its_white_level_not_by_its_brightest_photosite(tmp_path):
    """LibRaw would lower the white level to the brightest photosite when that is above 75 % of it, so one hot
    photosite (or a merged burst's different brightest one) would change the whole development's brightness."""
    from photolab.core.dng import read_mosaic, write_mosaic_dng
    from photolab.core.io import read_photo
    from utils.dng import write_dng

    scene = np.full((64, 96, 3), 0.25, np.float32)
    write_dng(tmp_path / "scene.dng", scene, full_well_electrons=0.0)
    mosaic = read_mosaic(tmp_path / "scene.dng")
    hot = mosaic.data.copy()
    hot[10, 10] = 0.85  # one photosite near white
    plain = read_photo(write_mosaic_dng(tmp_path / "plain.dng", mosaic)).pixels
    with_hot = read_photo(write_mosaic_dng(tmp_path / "hot.dng", dataclasses.replace(mosaic, data=hot))).pixels
    away = np.ones(plain.shape[:2], bool)
    away[:20, :20] = False
    assert np.median(with_hot[away] / np.maximum(plain[away], 1e-6)) == pytest.approx(1.0, abs=0.01)
