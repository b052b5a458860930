"""Export resizing (long/short edge, megapixels, no upscaling unless asked, linear light), output sharpening,
name templates and numbered exports that never replace a file."""

from __future__ import annotations

import datetime
import os

import cv2
import numpy as np
import pytest
from PIL import Image

from photolab.core import io
from photolab.core.color import luminance, srgb_encode
from photolab.core.errors import FileAccessError
from photolab.core.export_options import (ResizeSpec, SharpeningSpec, parse_resize, parse_sharpening, resize_linear,
                                          sharpen_rows)
from photolab.core.naming import camera_name, capture_date, check_template, expand_template
from photolab.core.photo import Photo, PhotoMetadata
from utils.images import load_fixture, write_image


@pytest.mark.parametrize("text, size, expected", [
    ("long:48", (192, 128), (48, 32)), ("long:48", (128, 192), (32, 48)),
    ("short:32", (192, 128), (48, 32)), ("short:100", (150, 300), (100, 200)),
    ("mp:0.006144", (192, 128), (96, 64)), ("mp:0.001", (1000, 1000), (32, 32)),
    ("long:500", (192, 128), (192, 128)), ("mp:1", (192, 128), (192, 128)),  # never bigger unless asked
])
def test_resize_sizes(text, size, expected):
    assert parse_resize(text).output_size(*size) == expected


def test_upscaling_only_when_asked():
    assert parse_resize("long:384", upscale=True).output_size(192, 128) == (384, 256)
    assert parse_resize("long:384").output_size(192, 128) == (192, 128)
    assert ResizeSpec("mp", 0.1, upscale=True).output_size(200, 100) == (447, 224)


@pytest.mark.parametrize("text", ["wide:100", "long", "long:", "long:abc", "long:0", "long:12.5", "mp:-1",
                                  "mp:nan", "short:100000", "2048"])
def test_bad_resize_specs(text):
    with pytest.raises(ValueError):
        parse_resize(text)


def test_downscaling_averages_in_linear_light(tmp_path):
    checker = np.indices((64, 64)).sum(axis=0) % 2  # one-pixel black and white checks
    pixels = np.repeat(checker[:, :, None], 3, axis=2).astype(np.float32)
    small = resize_linear(pixels, (16, 16))
    np.testing.assert_allclose(small, 0.5, atol=1e-6)  # half the light: sRGB 188, not 128
    target = io.export_photo(Photo(pixels), tmp_path / "small.png", file_format="png",
                             resize=parse_resize("long:16"))
    with Image.open(target) as image:
        assert image.size == (16, 16) and np.abs(np.asarray(image).astype(int) - 188).max() <= 1


def test_export_resizes_and_updates_the_size(tmp_path):
    path = write_image(tmp_path / "photo.jpg", load_fixture("nuthatch_bark"), "jpeg", orientation=6)
    photo = io.read_photo(path)  # upright: 192 x 128
    target = io.export_photo(photo, tmp_path / "small.png", file_format="png", resize=parse_resize("short:64"))
    with Image.open(target) as image:
        assert image.size == (96, 64)
        reference = cv2.resize(photo.pixels, (96, 64), interpolation=cv2.INTER_AREA)
        assert np.abs(np.asarray(image) - srgb_encode(reference) * 255).max() <= 1  # the encoder is within a code
    assert io.read_metadata(target).width == 96


def _soft_edge(width=64, height=32):
    ramp = np.clip((np.arange(width) - width / 2) / 4 + 0.5, 0, 1)  # a soft step from dark to light
    level = 0.05 + 0.6 * ramp
    pixels = np.tile(level[None, :, None], (height, 1, 3)).astype(np.float32)
    return pixels * np.array([1.0, 0.7, 0.4], dtype=np.float32)  # an orange edge


def _contrast_across_edge(pixels):
    row = srgb_encode(luminance(pixels))[pixels.shape[0] // 2]
    return float(row.max() - row.min()), row


@pytest.mark.parametrize("medium", ["screen", "print"])
def test_sharpening_steepens_edges_and_leaves_flat_areas(medium):
    pixels = _soft_edge()
    before, row_before = _contrast_across_edge(pixels)
    strengths = []
    for amount in ("low", "standard", "high"):
        spec = parse_sharpening(f"{medium}:{amount}")
        sharpened = sharpen_rows(pixels, 0, pixels.shape[0], spec)
        after, row = _contrast_across_edge(sharpened)
        assert after > before + 0.01  # overshoot on both sides of the edge
        np.testing.assert_allclose(row[:8], row_before[:8], atol=1e-5)  # flat far from the edge
        middle = pixels.shape[1] // 2
        steepness = row[middle + 1] - row[middle - 2]
        strengths.append(steepness)
        ratios = sharpened[16, :, 1] / sharpened[16, :, 0]  # hue kept: G/R as in the input
        np.testing.assert_allclose(ratios, 0.7, atol=1e-4)
    assert strengths[0] < strengths[1] < strengths[2]


def test_sharpening_bands_match_the_whole_image():
    rng = np.random.default_rng(3)
    pixels = rng.random((40, 30, 3), dtype=np.float32)
    spec = SharpeningSpec("print", "high")
    whole = sharpen_rows(pixels, 0, 40, spec)
    banded = np.concatenate([sharpen_rows(pixels, start, min(40, start + 7), spec) for start in range(0, 40, 7)])
    np.testing.assert_array_equal(banded, whole)


def test_export_applies_sharpening_after_resizing(tmp_path):
    photo = io.read_photo(write_image(tmp_path / "p.png", load_fixture("mountain_forest"), "png"))
    plain = io.export_photo(photo, tmp_path / "plain.png", file_format="png", resize=parse_resize("long:96"))
    sharp = io.export_photo(photo, tmp_path / "sharp.png", file_format="png", resize=parse_resize("long:96"),
                            sharpening=parse_sharpening("screen:high"))
    a, b = (cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(float) for p in (plain, sharp))
    assert a.shape == b.shape == (64, 96)
    detail = [np.abs(cv2.Laplacian(x, cv2.CV_64F)).mean() for x in (a, b)]
    assert detail[1] > 1.2 * detail[0]
    assert abs(a.mean() - b.mean()) < 1.5  # sharper, not brighter


@pytest.mark.parametrize("text", ["web", "screen:extreme", "print:", ""])
def test_bad_sharpening_specs(text):
    with pytest.raises(ValueError):
        parse_sharpening(text)


CANON = PhotoMetadata(camera_make="Canon", camera_model="EOS 5D Mark II", datetime="2024-05-17T14:03:27")


def test_templates(tmp_path):
    source = tmp_path / "IMG_0001.CR2"
    source.write_bytes(b"raw")
    assert expand_template("{name}", source, CANON) == "IMG_0001"
    assert expand_template("{date}_{camera}_{name}", source, CANON) == "2024-05-17_Canon-EOS-5D-Mark-II_IMG_0001"
    assert [expand_template("trip-{seq}", source, CANON, index=i, count=12) for i in (0, 11)] == ["trip-01", "trip-12"]
    assert expand_template("{seq}", source, index=6, count=100) == "007"
    assert expand_template("{seq}", source, index=0, count=1) == "1"
    assert expand_template("{{{name}}}", source) == "{IMG_0001}"


def test_template_without_metadata_falls_back(tmp_path):
    source = tmp_path / "scan.png"
    source.write_bytes(b"x")
    moment = datetime.datetime(2021, 3, 4, 12, 0).timestamp()
    os.utime(source, (moment, moment))
    assert expand_template("{date}-{camera}", source, PhotoMetadata()) == "2021-03-04-unknown-camera"
    assert capture_date(None, tmp_path / "missing.png") == "unknown-date"
    assert capture_date(PhotoMetadata(datetime="garbage"), source) == "2021-03-04"


def test_camera_names_are_file_name_safe():
    nikon = PhotoMetadata(camera_make="NIKON CORPORATION", camera_model="NIKON D850")
    assert camera_name(nikon) == "NIKON-D850"
    odd = PhotoMetadata(camera_make="Ph/ase: One", camera_model='IQ4 150MP "Achromatic"')
    assert camera_name(odd) == "Ph-ase-One-IQ4-150MP-Achromatic"
    assert camera_name(PhotoMetadata(camera_model="X100V")) == "X100V"


@pytest.mark.parametrize("template, message", [
    ("{name}_{iso}", "unknown placeholder {iso}"), ("{Name}", "unknown placeholder"), ("{}", "unknown placeholder"),
    ("{name", "bad name template"), ("a/{name}", "not allowed"), ("{seq:03d}", "takes no format"), ("  ", "empty"),
])
def test_bad_templates_are_one_line_errors(template, message):
    with pytest.raises(ValueError, match=message) as caught:
        check_template(template)
    assert "\n" not in str(caught.value)


def test_numbered_exports_never_replace(tmp_path):
    photo = io.read_photo(write_image(tmp_path / "photo.png", load_fixture("dandelion"), "png"))
    first = io.export_photo(photo, tmp_path / "photo.jpg", replace=False)
    stamp = first.read_bytes()
    second = io.export_photo(photo, tmp_path / "photo.jpg", replace=False)
    (tmp_path / "photo-2.jpg").write_bytes(b"someone else's")
    third = io.export_photo(photo, tmp_path / "photo.jpg", replace=False)
    assert [p.name for p in (first, second, third)] == ["photo.jpg", "photo-1.jpg", "photo-3.jpg"]
    assert first.read_bytes() == stamp and (tmp_path / "photo-2.jpg").read_bytes() == b"someone else's"
    assert not list(tmp_path.glob(".*part*"))
    with pytest.raises(FileAccessError, match="original"):
        io.export_photo(photo, tmp_path / "photo.png", file_format="png", replace=False)


def test_sharpening_and_colour_conversion_work_in_bands(tmp_path, monkeypatch):
    """Sharpening and conversion add band-sized temporaries, not whole-image ones (NumPy's allocations are
    what tracemalloc sees; the float image here is 24 MB)."""
    import tracemalloc

    from photolab.core import bands

    monkeypatch.setattr(bands, "worker_count", lambda: 2)
    pixels = np.random.default_rng(1).random((2000, 1000, 3), dtype=np.float32)
    peaks = []
    for options in ({}, {"color_space": "display-p3", "sharpening": parse_sharpening("print:high")}):
        tracemalloc.start()
        try:
            io.export_photo(Photo(pixels), tmp_path / "big.png", file_format="png", **options)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] - peaks[0] < 0.25 * pixels.nbytes  # measured: within 1-2 MB of the plain export's peak
