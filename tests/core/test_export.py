"""Export: formats and bit depths, EXIF carried over, sRGB tagging, atomic writes, cancel, originals safe."""

from __future__ import annotations

import hashlib
import os

import cv2
import numpy as np
import pytest
import tifffile
from PIL import ExifTags, Image, JpegImagePlugin

from photolab.core import io
from photolab.core.color import encode_srgb_integer
from photolab.core.errors import FileAccessError, UnsupportedFormatError
from photolab.core.export import write_stored
from photolab.core.photo import Photo
from photolab.jobs import Job, JobState
from utils.dng import write_dng
from utils.images import load_fixture, psnr, smooth_gradient_16bit, write_image


@pytest.fixture
def jpeg_photo(tmp_path):
    """A photo read from a JPEG with camera EXIF and orientation 6."""
    path = write_image(tmp_path / "original.jpg", load_fixture("nuthatch_bark"), "jpeg", orientation=6)
    return io.read_photo(path)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_jpeg_export(tmp_path, jpeg_photo):
    target = io.export_photo(jpeg_photo, tmp_path / "out.jpg", quality=95)
    assert target == tmp_path / "out.jpg" and target.stat().st_size > 5000
    with Image.open(target) as image:
        assert image.format == "JPEG" and image.mode == "RGB" and image.size == (192, 128)
        assert JpegImagePlugin.get_sampling(image) == 0  # 4:4:4 at high quality
        assert image.info.get("icc_profile")  # tagged sRGB
        exif = image.getexif()
        assert exif[271] == "TestMake" and exif[272] == "TestModel 1"
        assert exif[274] == 1  # pixels are upright now
        assert exif[305].startswith("PhotoLab")
        pixels = np.asarray(image)
    assert psnr(pixels / 255.0, encode_srgb_integer(jpeg_photo.pixels, np.uint8) / 255.0) > 38.0
    low = io.export_photo(jpeg_photo, tmp_path / "low.jpg", quality=50)
    assert low.stat().st_size < target.stat().st_size
    with Image.open(low) as image:
        assert JpegImagePlugin.get_sampling(image) == 2  # 4:2:0 below quality 90


def test_png_8_bit_export(tmp_path, jpeg_photo):
    target = io.export_photo(jpeg_photo, tmp_path / "out.png", file_format="png")
    with Image.open(target) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.getexif()[272] == "TestModel 1" and image.getexif()[274] == 1
        np.testing.assert_array_equal(np.asarray(image), encode_srgb_integer(jpeg_photo.pixels, np.uint8))


@pytest.mark.parametrize("file_format,suffix", [("png16", ".png"), ("tiff16", ".tif")])
def test_16_bit_exports_keep_16_bits(tmp_path, file_format, suffix):
    source = smooth_gradient_16bit()
    photo = io.read_photo(write_image(tmp_path / "gradient.tif", source, "tiff16"))
    target = io.export_photo(photo, tmp_path / f"out{suffix}", file_format=file_format)
    assert target.suffix == suffix
    written = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16 and written.shape == (64, 96, 3)
    assert np.abs(written[:, :, ::-1].astype(int) - source).max() <= 2
    if suffix == ".png":
        assert target.read_bytes()[24] == 16  # IHDR bit depth
    assert io.read_metadata(target).bits_per_sample == 16


def test_png16_carries_exif_and_srgb_chunks(tmp_path, jpeg_photo):
    target = io.export_photo(jpeg_photo, tmp_path / "out.png", file_format="png16")
    data = target.read_bytes()
    assert b"eXIf" in data and b"sRGB" in data and data.index(b"sRGB") < data.index(b"IDAT")
    metadata = io.read_metadata(target)
    assert (metadata.camera_make, metadata.orientation, metadata.bits_per_sample) == ("TestMake", 1, 16)


def test_tiff16_has_baseline_tags_and_icc(tmp_path, jpeg_photo):
    target = io.export_photo(jpeg_photo, tmp_path / "out.tif", file_format="tiff16")
    with tifffile.TiffFile(target) as tiff:
        page = tiff.pages.first
        assert page.dtype == np.uint16 and page.shape == (128, 192, 3)
        tags = {tag.code: tag.value for tag in page.tags.values()}
    assert tags[271] == "TestMake" and tags[272] == "TestModel 1"
    assert tags[305].startswith("PhotoLab")
    assert 34675 in tags  # ICC profile


def test_raw_export_builds_exif_from_metadata(tmp_path):
    path = write_dng(tmp_path / "shot.dng", load_fixture("mountain_forest")).path
    photo = io.read_photo(path)
    target = io.export_photo(photo, tmp_path / "shot.jpg")
    with Image.open(target) as image:
        exif = image.getexif()
        details = exif.get_ifd(ExifTags.IFD.Exif)
    assert (exif[271], exif[272]) == ("Canon", "EOS 5D Mark II")
    assert float(details[33434]) == pytest.approx(1 / 250) and details[34855] == 200
    assert float(details[33437]) == pytest.approx(2.8) and details[42036] == "EF50mm f/1.8 STM"
    assert details[36867] == "2024:05:17 14:03:27"
    metadata = io.read_metadata(target)
    assert (metadata.iso, metadata.aperture, metadata.datetime) == (200, 2.8, "2024-05-17T14:03:27")


@pytest.mark.parametrize("write", ["export", "stored"])
def test_tiff_carries_the_shot_details_in_an_exif_ifd(tmp_path, write):
    path = write_dng(tmp_path / "shot.dng", load_fixture("mountain_forest")).path
    photo = io.read_photo(path)
    if write == "export":
        target = io.export_photo(photo, tmp_path / "shot.tif", file_format="tiff16")
    else:
        target = write_stored(encode_srgb_integer(photo.pixels, np.uint16), tmp_path / "shot.tif", metadata=photo.metadata)
    with tifffile.TiffFile(target) as tiff:
        page = tiff.pages.first
        exif = page.tags[34665].value  # tifffile parses the EXIF IFD the pointer names
        assert page.tags[271].value == "Canon" and page.shape[2] == 3
    assert exif["ExposureTime"] == (1, 250) and exif["FNumber"] == (14, 5) and exif["FocalLength"] == (50, 1)
    assert exif["ISOSpeedRatings"] == 200 and exif["LensModel"] == "EF50mm f/1.8 STM"
    assert exif["DateTimeOriginal"] == "2024:05:17 14:03:27"
    metadata = io.read_metadata(target)
    assert (metadata.iso, metadata.shutter_seconds, metadata.aperture, metadata.focal_length_mm, metadata.lens) \
        == (200, pytest.approx(1 / 250), 2.8, 50, "EF50mm f/1.8 STM")
    assert np.abs(io.read_photo(target).pixels - photo.pixels).max() < 1e-3  # the pixels are intact


def test_values_outside_0_1_are_clipped(tmp_path):
    pixels = np.array([[[-0.5, 0.0, 2.0], [1.0, 0.5, np.float32(1e-9)]]], dtype=np.float32)
    target = io.export_photo(Photo(pixels), tmp_path / "clip.png", file_format="png16")
    written = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert written[0, 0].tolist() == [0, 0, 65535] and written[0, 1, 0] == 65535


def test_target_extension_is_added_when_missing(tmp_path, jpeg_photo):
    assert io.export_photo(jpeg_photo, tmp_path / "holiday").name == "holiday.jpg"
    assert io.export_photo(jpeg_photo, tmp_path / "holiday.JPEG").name == "holiday.JPEG"
    assert io.export_photo(jpeg_photo, tmp_path / "h.png", file_format="tiff16").name == "h.png.tif"
    assert io.EXPORT_FORMATS == {"jpg": ".jpg", "png": ".png", "png16": ".png", "tiff16": ".tif"}


def test_refuses_to_overwrite_the_original(tmp_path, jpeg_photo):
    original = tmp_path / "original.jpg"
    before = sha256(original)
    for target in (original, tmp_path / "sub" / ".." / "original.jpg", tmp_path / "original"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(FileAccessError, match="original"):
            io.export_photo(jpeg_photo, target)
    os.symlink(original, tmp_path / "link.jpg")
    with pytest.raises(FileAccessError, match="never overwrites"):
        io.export_photo(jpeg_photo, tmp_path / "link.jpg")
    assert sha256(original) == before


def test_original_is_never_modified(tmp_path):
    original = write_dng(tmp_path / "shot.dng", load_fixture("dandelion")).path
    jpeg = write_image(tmp_path / "shot.jpg", load_fixture("dandelion"), "jpeg", orientation=8)
    for source in (original, jpeg):
        before, modified = sha256(source), source.stat().st_mtime_ns
        photo = io.read_photo(source)
        io.read_preview(source)
        io.read_metadata(source)
        for file_format in io.EXPORT_FORMATS:
            io.export_photo(photo, tmp_path / f"{source.suffix[1:]}_{file_format}", file_format=file_format)
        assert sha256(source) == before and source.stat().st_mtime_ns == modified


def test_existing_target_is_replaced_atomically(tmp_path, jpeg_photo):
    target = tmp_path / "out.png"
    target.write_bytes(b"old export")
    io.export_photo(jpeg_photo, target, file_format="png")
    with Image.open(target) as image:
        assert image.size == (192, 128)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["original.jpg", "out.png"]


@pytest.mark.parametrize("file_format", sorted(io.EXPORT_FORMATS))
def test_progress_and_cancel_leave_nothing_behind(tmp_path, jpeg_photo, file_format):
    fractions = []
    job = Job(lambda context: io.export_photo(jpeg_photo, tmp_path / "out", file_format=file_format,
                                              context=context), title="export")
    job.on_progress(lambda fraction, message: fractions.append(fraction))
    assert job.run().exists() and job.state is JobState.FINISHED
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 10
    for target in list(tmp_path.glob("out*")):
        target.unlink()

    for cancel_at in (0.3, 0.8):  # while encoding, and once the file is being written
        job = Job(lambda context: io.export_photo(jpeg_photo, tmp_path / "out", file_format=file_format,
                                                  context=context), title="export")
        job.on_progress(lambda fraction, message, job=job, at=cancel_at: fraction >= at and job.cancel())
        job.run()
        assert job.state is JobState.CANCELLED
        assert sorted(p.name for p in tmp_path.iterdir()) == ["original.jpg"]  # no file, no temporary


def test_bad_export_requests(tmp_path, jpeg_photo):
    with pytest.raises(UnsupportedFormatError, match="gif"):
        io.export_photo(jpeg_photo, tmp_path / "out.gif", file_format="gif")
    with pytest.raises(FileAccessError, match="does not exist"):
        io.export_photo(jpeg_photo, tmp_path / "missing_folder" / "out.jpg")
    with pytest.raises(ValueError):
        io.export_photo(jpeg_photo, tmp_path / "out.jpg", quality=0)


def test_export_into_a_folder_that_vanished(tmp_path, jpeg_photo):
    folder = tmp_path / "exports"
    folder.mkdir()
    folder.rmdir()
    with pytest.raises(FileAccessError) as caught:
        io.export_photo(jpeg_photo, folder / "out.jpg")
    assert str(folder / "out.jpg") in str(caught.value)
