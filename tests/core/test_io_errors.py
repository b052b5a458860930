"""Bad input: every failure is a PhotoLabError of the right kind, with a message that names the file."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photolab.core import io
from photolab.core.errors import (CorruptFileError, FileAccessError, ImageTooLargeError, PhotoLabError,
                                  UnsupportedFormatError)
from utils.dng import write_dng
from utils.images import load_fixture, write_image
from utils.mutants import png_bomb

READERS = [io.read_photo, io.read_preview, io.read_metadata]
DECODERS = [io.read_photo, io.read_preview]


def expect_error(reader, path, kind, *words):
    with pytest.raises(kind) as caught:
        reader(path)
    message = str(caught.value)
    assert str(path) in message
    for word in words:
        assert word in message.lower(), message
    return message


@pytest.fixture
def good_files(tmp_path):
    source = load_fixture("fig_bowl")
    return {
        "jpg": write_image(tmp_path / "good.jpg", source, "jpeg"),
        "png": write_image(tmp_path / "good.png", source, "png"),
        "tif": write_image(tmp_path / "good.tif", source, "tiff8"),
        "dng": write_dng(tmp_path / "good.dng", source).path,
    }


@pytest.mark.parametrize("kind", ["jpg", "png", "tif", "dng"])
def test_truncated_files(tmp_path, good_files, kind):
    data = good_files[kind].read_bytes()
    path = tmp_path / f"truncated.{kind}"
    path.write_bytes(data[: len(data) // 2])
    for reader in DECODERS:
        expect_error(reader, path, CorruptFileError)


@pytest.mark.parametrize("kind", ["jpg", "png", "dng"])
def test_truncated_to_a_few_bytes(tmp_path, good_files, kind):
    path = tmp_path / f"stub.{kind}"
    path.write_bytes(good_files[kind].read_bytes()[:40])
    for reader in READERS:
        expect_error(reader, path, CorruptFileError)


def test_corrupt_jpeg_and_png(tmp_path, good_files):
    rng = np.random.default_rng(3)
    for kind, start in (("jpg", 600), ("png", 200)):
        data = bytearray(good_files[kind].read_bytes())
        data[start:start + 300] = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
        path = tmp_path / f"corrupt.{kind}"
        path.write_bytes(bytes(data))
        for reader in DECODERS:
            expect_error(reader, path, CorruptFileError, "damaged")


def test_corrupt_raw_structure(tmp_path, good_files):
    data = bytearray(good_files["dng"].read_bytes())
    data[8:200] = bytes(range(192))
    path = tmp_path / "scrambled.dng"
    path.write_bytes(bytes(data))
    for reader in READERS:
        with pytest.raises((CorruptFileError, UnsupportedFormatError)) as caught:
            reader(path)
        assert str(path) in str(caught.value)


@pytest.mark.parametrize("name", ["empty.jpg", "empty.dng", "empty.png", "empty"])
def test_zero_byte_file(tmp_path, name):
    path = tmp_path / name
    path.touch()
    for reader in READERS:
        expect_error(reader, path, CorruptFileError, "empty")


def test_png_named_jpg_opens_by_content(tmp_path):
    source = load_fixture("wine_table")
    path = tmp_path / "mislabelled.jpg"
    Image.fromarray(source).save(path, format="PNG")
    assert io.read_photo(path).pixels.shape == source.shape
    assert io.read_preview(path).pixels.shape == source.shape


def test_jpeg_named_cr2_opens_by_content(tmp_path):
    path = write_image(tmp_path / "IMG_0001.CR2", load_fixture("wine_table"), "jpeg")
    assert io.read_photo(path).metadata.file_format == "jpeg"


def test_tiff_named_nef_opens_by_content(tmp_path):
    source = load_fixture("wine_table")
    path = write_image(tmp_path / "scan.NEF", source, "tiff8", orientation=3)
    assert io.read_metadata(path).file_format == "tiff"
    photo = io.read_photo(path)
    assert photo.metadata.file_format == "tiff" and photo.pixels.shape == source.shape


@pytest.mark.parametrize("name", ["notes.cr2", "notes.NEF", "notes.dng"])
def test_text_file_named_raw(tmp_path, name):
    path = tmp_path / name
    path.write_text("These are my holiday notes, not a photo.\n" * 20)
    for reader in READERS:
        expect_error(reader, path, UnsupportedFormatError, "not a camera raw file")


@pytest.mark.parametrize("name", ["notes.jpg", "notes.png", "notes.txt", "notes"])
def test_text_file_named_otherwise(tmp_path, name):
    path = tmp_path / name
    path.write_text("These are my holiday notes, not a photo.\n" * 20)
    for reader in READERS:
        expect_error(reader, path, UnsupportedFormatError, "not an image")


@pytest.mark.parametrize("pillow_format,name", [("GIF", "GIF"), ("BMP", "BMP"), ("PDF", "PDF")])
def test_unsupported_formats(tmp_path, pillow_format, name):
    path = tmp_path / f"picture.{pillow_format.lower()}"
    Image.fromarray(load_fixture("fig_bowl")).save(path, format=pillow_format)
    for reader in READERS:
        expect_error(reader, path, UnsupportedFormatError, "not supported", name.lower())
    renamed = path.rename(tmp_path / "picture.jpg")  # the name does not fool us either
    expect_error(io.read_photo, renamed, UnsupportedFormatError, name.lower())


def test_permission_denied(tmp_path, good_files):
    for path in good_files.values():
        os.chmod(path, 0)
    try:
        if os.access(good_files["jpg"], os.R_OK):
            pytest.skip("running with privileges that ignore file permissions (root)")
        for path in good_files.values():
            for reader in READERS:
                expect_error(reader, path, FileAccessError, "permission denied")
    finally:
        for path in good_files.values():
            os.chmod(path, 0o644)


def test_path_that_vanishes(tmp_path, good_files):
    for path in good_files.values():
        io.read_metadata(path)  # listed and shown in a browser...
        path.unlink()  # ...then deleted or moved by another program
        for reader in READERS:
            expect_error(reader, path, FileAccessError, "does not exist")


def test_folder_instead_of_file(tmp_path):
    folder = tmp_path / "holiday.jpg"
    folder.mkdir()
    for reader in READERS:
        expect_error(reader, folder, FileAccessError, "folder")


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims a huge size but holds no pixel data: decoding it would fail, not exhaust memory."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(100))  # one row's worth at most
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_pixel_guard_uses_header_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(40000, 40000))  # 1600 MP of zeros in 1.5 MB: a real decompression bomb
    for reader in DECODERS:
        message = expect_error(reader, path, ImageTooLargeError, "1600 megapixels", "250 megapixels")
        assert "PHOTOLAB_MAX_PIXELS" in message
    assert io.read_metadata(path).width == 40000  # metadata alone decodes nothing, so it is allowed


def test_a_header_claiming_more_than_the_file_holds_is_damaged(tmp_path):
    path = png_header_only(tmp_path / "claims.png", 40000, 40000)  # 1600 MP claimed, 50 bytes on disk
    for reader in READERS:
        expect_error(reader, path, CorruptFileError, "40000x40000", "far more than")


def test_pixel_guard_on_raw_before_unpacking(tmp_path, good_files):
    data = good_files["dng"].read_bytes()
    path = tmp_path / "cut.dng"
    path.write_bytes(data[: len(data) // 3])  # the sensor data is cut short: unpacking would fail
    with pytest.raises(ImageTooLargeError):
        io.read_photo(path, max_pixels=10_000)
    with pytest.raises(CorruptFileError):
        io.read_photo(path)


@pytest.mark.parametrize("kind", ["jpg", "png", "tif", "dng"])
def test_pixel_guard_argument_and_environment(monkeypatch, good_files, kind):
    path = good_files[kind]  # 192 x 128 = 24576 pixels
    with pytest.raises(ImageTooLargeError):
        io.read_photo(path, max_pixels=24575)
    assert io.read_photo(path, max_pixels=24576).pixels.shape == (128, 192, 3)
    monkeypatch.setenv("PHOTOLAB_MAX_PIXELS", "20000")
    with pytest.raises(ImageTooLargeError):
        io.read_photo(path)
    with pytest.raises(ImageTooLargeError):
        io.read_preview(path)
    assert io.read_photo(path, max_pixels=10**6).pixels.shape == (128, 192, 3)  # the argument wins


def test_bad_environment_setting_falls_back_to_default(monkeypatch):
    monkeypatch.setenv("PHOTOLAB_MAX_PIXELS", "lots")
    assert io.resolve_max_pixels() == io.DEFAULT_MAX_PIXELS
    monkeypatch.setenv("PHOTOLAB_MAX_PIXELS", "1e6")
    assert io.resolve_max_pixels() == 1_000_000
    monkeypatch.delenv("PHOTOLAB_MAX_PIXELS")
    assert io.resolve_max_pixels() == 250_000_000


def test_every_error_is_a_photolab_error(tmp_path):
    """The GUI and CLI catch PhotoLabError; nothing from Pillow, OpenCV, tifffile or LibRaw leaks out."""
    rng = np.random.default_rng(0)
    headers = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBP", b""]
    for index, header in enumerate(headers):
        for suffix in (".jpg", ".png", ".tif", ".webp", ".dng", ".cr2", ".xyz"):
            path = tmp_path / f"junk{index}{suffix}"
            path.write_bytes(header + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
            for reader in READERS:
                try:
                    reader(path)
                except PhotoLabError as exc:
                    assert str(path) in str(exc)
