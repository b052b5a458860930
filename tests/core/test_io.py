"""Reading ordinary images: orientation, bit depth, channels, metadata, previews, format detection."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import tifffile
from PIL import ExifTags, Image, ImageOps, TiffImagePlugin

from photolab.core import io
from photolab.core.color import encode_srgb_integer
from photolab.core.photo import downscaled
from utils.dng import write_dng
from utils.images import load_fixture, matched_psnr, psnr, smooth_gradient_16bit, write_image


def encoded8(photo) -> np.ndarray:
    return encode_srgb_integer(photo.pixels, np.uint8)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_jpeg_exif_orientation_comes_out_upright(tmp_path, orientation):
    source = load_fixture("nuthatch_bark")
    path = write_image(tmp_path / "o.jpg", source, "jpeg", orientation=orientation)
    with Image.open(path) as stored:
        assert stored.size == ((128, 192) if orientation in (6, 8) else (192, 128))  # really stored turned
    photo = io.read_photo(path)
    assert photo.pixels.shape == source.shape
    assert psnr(encoded8(photo) / 255.0, source / 255.0) > 35.0
    assert photo.metadata.orientation == orientation
    assert (photo.metadata.width, photo.metadata.height) == (192, 128)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_eight_orientations_agree_with_pillow(tmp_path, orientation):
    source = load_fixture("fig_bowl")
    path = write_image(tmp_path / "o.png", source, "png", orientation=orientation)
    photo = io.read_photo(path)
    np.testing.assert_array_equal(encoded8(photo), source)
    with Image.open(path) as image:
        np.testing.assert_array_equal(encoded8(photo), np.asarray(ImageOps.exif_transpose(image).convert("RGB")))


@pytest.mark.parametrize("file_format", ["png16", "tiff16"])
def test_16_bit_files_keep_16_bit_precision(tmp_path, file_format):
    source = smooth_gradient_16bit()
    path = write_image(tmp_path / f"g.{file_format[:3]}", source, file_format, orientation=6)
    photo = io.read_photo(path)
    assert photo.metadata.bits_per_sample == 16
    assert photo.metadata.orientation == 6
    back = encode_srgb_integer(photo.pixels, np.uint16)
    assert back.shape == source.shape
    assert np.abs(back.astype(int) - source).max() <= 2  # an 8-bit path would be ~128 codes off
    assert len(np.unique(back[:, :, 0])) > 90  # every one of the 96 distinct ramp values survives


def test_8_bit_tiff_and_webp(tmp_path):
    source = load_fixture("wine_table")
    for file_format, suffix in (("tiff8", "tif"), ("webp", "webp")):
        path = write_image(tmp_path / f"a.{suffix}", source, file_format, orientation=3)
        photo = io.read_photo(path)
        np.testing.assert_array_equal(encoded8(photo), source)
        assert photo.metadata.file_format == ("tiff" if suffix == "tif" else "webp")
        assert photo.metadata.camera_make == "TestMake"


def test_grey_and_alpha_pngs_become_rgb(tmp_path):
    source = load_fixture("dandelion")
    grey = source[:, :, 1]
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    alpha = np.zeros(grey.shape, np.uint8)
    alpha[:, : grey.shape[1] // 3] = 255  # opaque left third, half-transparent middle, transparent right
    alpha[:, grey.shape[1] // 3: 2 * grey.shape[1] // 3] = 128
    Image.fromarray(np.dstack([source, alpha]), "RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(tmp_path / "grey_alpha.png")
    grey_photo = io.read_photo(tmp_path / "grey.png")
    np.testing.assert_array_equal(encoded8(grey_photo), np.dstack([grey] * 3))
    # transparent pixels are composited over white (in the stored encoding), as viewers show them
    weight = alpha[:, :, None].astype(np.float64) / 255
    expected = np.rint(source * weight + 255 * (1 - weight)).astype(np.uint8)
    composited = encoded8(io.read_photo(tmp_path / "alpha.png"))
    assert np.abs(composited.astype(int) - expected).max() <= 1
    third = grey.shape[1] // 3
    np.testing.assert_array_equal(composited[:, :third], source[:, :third])
    assert (composited[:, 2 * third + 1:] == 255).all()
    grey_composited = encoded8(io.read_photo(tmp_path / "grey_alpha.png"))
    assert np.abs(grey_composited.astype(int) - expected_grey(grey, weight)).max() <= 1


def expected_grey(grey: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return np.repeat(np.rint(grey[:, :, None] * weight + 255 * (1 - weight)), 3, axis=2)


def test_float_tiff_is_taken_as_linear(tmp_path):
    linear = np.random.default_rng(1).uniform(0.0, 2.0, (16, 24, 3)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", linear, photometric="rgb")
    np.testing.assert_array_equal(io.read_photo(tmp_path / "f.tif").pixels, linear)


def test_jpeg_metadata_and_exif_block(tmp_path):
    exif = Image.Exif()
    exif[271], exif[272], exif[274] = "FUJIFILM", "X-T4", 6
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[33434] = TiffImagePlugin.IFDRational(1, 125)
    details[33437] = TiffImagePlugin.IFDRational(4, 1)
    details[34855] = 1600
    details[36867] = "2023:11:02 09:15:00"
    details[36881] = "+01:00"
    details[37386] = TiffImagePlugin.IFDRational(35, 1)
    details[42036] = "XF35mmF2 R WR"
    path = tmp_path / "camera.jpg"
    Image.fromarray(load_fixture("mountain_forest")).save(path, quality=90, exif=exif.tobytes())
    for metadata in (io.read_metadata(path), io.read_photo(path).metadata):
        assert (metadata.camera_make, metadata.camera_model, metadata.lens) == ("FUJIFILM", "X-T4", "XF35mmF2 R WR")
        assert metadata.shutter_seconds == pytest.approx(1 / 125)
        assert (metadata.aperture, metadata.iso, metadata.focal_length_mm) == (4.0, 1600, 35.0)
        assert metadata.datetime == "2023-11-02T09:15:00+01:00"
        assert (metadata.width, metadata.height, metadata.orientation) == (128, 192, 6)
        assert (metadata.file_format, metadata.bits_per_sample) == ("jpeg", 8)
        assert metadata.exif.startswith(b"Exif\x00\x00")
        carried = Image.Exif()
        carried.load(metadata.exif)
        assert carried[272] == "X-T4"
    assert "exif" not in io.read_metadata(path).to_dict()


def test_image_without_exif_has_empty_metadata(tmp_path):
    path = tmp_path / "plain.png"
    Image.fromarray(load_fixture("fig_bowl")).save(path)
    metadata = io.read_metadata(path)
    assert metadata.camera_make is None and metadata.iso is None and metadata.exif is None
    assert (metadata.width, metadata.height, metadata.orientation, metadata.bits_per_sample) == (192, 128, 1, 8)


def test_jpeg_preview_is_small_and_faithful(tmp_path):
    source = np.asarray(Image.fromarray(load_fixture("rock_snow_sky")).resize((1536, 1024), Image.BICUBIC))
    path = write_image(tmp_path / "big.jpg", source, "jpeg", orientation=6)
    preview = io.read_preview(path, max_side=256)
    assert preview.pixels.shape == (171, 256, 3)
    full = io.read_photo(path)
    reduced = downscaled(full, 256)
    assert psnr(np.clip(preview.pixels, 0, 1), np.clip(reduced.pixels, 0, 1)) > 30.0
    assert preview.metadata.width == 1536


def test_small_image_preview_is_not_enlarged(tmp_path):
    path = write_image(tmp_path / "s.png", load_fixture("fig_bowl"), "png")
    assert io.read_preview(path, max_side=2048).pixels.shape == (128, 192, 3)


def test_contents_decide_the_format(tmp_path):
    source = load_fixture("wine_table")
    png_named_jpg = tmp_path / "really_a_png.jpg"
    Image.fromarray(source).save(png_named_jpg, format="PNG")
    np.testing.assert_array_equal(encoded8(io.read_photo(png_named_jpg)), source)
    assert io.read_metadata(png_named_jpg).file_format == "png"
    dng_named_tif = write_dng(tmp_path / "really_a_dng.tif", source).path
    photo = io.read_photo(dng_named_tif)
    assert photo.metadata.file_format == "raw"
    assert matched_psnr(photo.pixels, source) > 37.0


def test_supported_extensions():
    for extension in (".dng .cr2 .cr3 .nef .arw .raf .orf .rw2 .pef .srw .nrw .raw .rwl .3fr .erf .kdc .mos "
                      ".mrw .x3f .iiq").split():
        assert extension in io.RAW_EXTENSIONS
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"} <= io.IMAGE_EXTENSIONS
    assert io.SUPPORTED_EXTENSIONS == io.RAW_EXTENSIONS | io.IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in io.SUPPORTED_EXTENSIONS)


def test_progress_is_reported(tmp_path):
    from photolab.jobs import Job, JobState

    path = write_dng(tmp_path / "p.dng", load_fixture("fig_bowl")).path
    fractions = []
    job = Job(lambda context: io.read_photo(path, context=context), title="read")
    job.on_progress(lambda fraction, message: fractions.append(fraction))
    photo = job.run()
    assert job.state is JobState.FINISHED and photo.pixels.shape == (128, 192, 3)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 3


def test_metadata_of_raw_exposure_values_are_exact_fractions(tmp_path):
    path = write_dng(tmp_path / "f.dng", load_fixture("fig_bowl")).path
    assert Fraction(io.read_metadata(path).shutter_seconds).limit_denominator(10000) == Fraction(1, 250)
