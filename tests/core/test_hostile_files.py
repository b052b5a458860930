"""Hostile files found by fuzzing: tampered headers, huge tails, bombs, special files. Each gives a PhotoLabError
naming the file (never another exception, a hang, a huge allocation or a library's line on stderr), and a
valid image with junk after it still reads, without the junk being read."""

from __future__ import annotations

import io as _io
import logging
import os
import subprocess
import sys
import textwrap
import stat
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile

from photolab.core import io
from photolab.core.errors import (CorruptFileError, FileAccessError, ImageTooLargeError, PhotoLabError,
                                  UnsupportedFormatError)
from utils.dng import write_dng
from utils.images import load_fixture, make_exif, write_image
from utils.mutants import png_bomb, png_chunk, tamper_tiff_tag, tiff_entries

READERS = [io.read_photo, io.read_preview, io.read_metadata, io.read_stored]
DECODERS = [io.read_photo, io.read_preview, io.read_stored]
ROOT = Path(__file__).resolve().parents[2]


def expect_error(reader, path, kind=PhotoLabError, *words):
    with pytest.raises(kind) as caught:
        reader(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message.lower(), message
    return message


@pytest.fixture
def tiff_bytes():
    return tifffile_bytes(load_fixture("fig_bowl")[:32, :48])


def tifffile_bytes(pixels: np.ndarray) -> bytes:
    buffer = _io.BytesIO()
    tifffile.imwrite(buffer, pixels, photometric="rgb", metadata=None)
    return buffer.getvalue()


# --- 1. tampered TIFF tags: type and value errors inside tifffile and raster.py ---------------------------

@pytest.mark.parametrize("change", [
    {"tag": 258, "value": 0, "element": 1},  # BitsPerSample (8, 0, 8)
    {"tag": 258, "value": 0, "element": 0},
    {"tag": 257, "kind": 1},  # ImageLength stored as BYTE
    {"tag": 277, "kind": 1},  # SamplesPerPixel stored as BYTE
    {"tag": 256, "kind": 2},  # ImageWidth stored as ASCII
    {"tag": 339, "value": 0},  # an invalid SampleFormat
], ids=["bits-element-1", "bits-element-0", "length-byte", "samples-byte", "width-ascii", "sampleformat"])
def test_tampered_tiff_tags_are_damaged_files(tmp_path, tiff_bytes, change):
    if change["tag"] == 339:
        tiff_bytes = tifffile_bytes(load_fixture("fig_bowl")[:32, :48].astype(np.float32) / 255)
    path = tmp_path / "tampered.tif"
    path.write_bytes(tamper_tiff_tag(tiff_bytes, **change))
    for reader in READERS:
        expect_error(reader, path, (CorruptFileError, UnsupportedFormatError))


# --- 2. unbounded reads and allocations ----------------------------------------------------------------

def test_valid_images_with_a_7_gib_sparse_tail_read_without_reading_the_tail(tmp_path):
    source = load_fixture("fig_bowl")
    paths = [write_image(tmp_path / "tail.jpg", source, "jpeg"), write_image(tmp_path / "tail.tif", source, "tiff8"),
             write_image(tmp_path / "tail.png", source, "png"), write_image(tmp_path / "tail.webp", source, "webp"),
             write_dng(tmp_path / "tail.dng", source).path]
    for path in paths:
        os.truncate(path, path.stat().st_size + (7 << 30))  # a hole: no disk space
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        from photolab.core import io
        for path in sys.argv[1:]:
            if path.endswith(".dng"):
                try:
                    io.read_photo(path)  # LibRaw opens no file over 2 GB: a clean refusal is fine
                except io.ImageTooLargeError as exc:
                    print("refused", exc)
                continue
            assert io.read_metadata(path).width == 192, path
            for reader in (io.read_photo, io.read_preview):
                assert reader(path).pixels.shape == (128, 192, 3), path
        print("ok")
    """)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == 0 and result.stdout.endswith("ok\n"), result.stderr[-2000:]
    assert time.perf_counter() - started < 30


def test_tiff_claiming_255_samples_and_65535_rows_is_refused_before_allocating(tmp_path, tiff_bytes):
    data = tamper_tiff_tag(tamper_tiff_tag(tiff_bytes, 277, value=255), 257, value=65535)
    path = tmp_path / "samples.tif"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        for reader in READERS:
            expect_error(reader, path, (CorruptFileError, UnsupportedFormatError))
        assert tracemalloc.get_traced_memory()[1] < 50 << 20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["png", "tiff", "jpeg"])
def test_header_claiming_more_pixels_than_the_file_holds_is_damaged(tmp_path, kind):
    source = load_fixture("fig_bowl")
    if kind == "tiff":
        data = tamper_tiff_tag(tifffile_bytes(source), 257, value=60000)
    elif kind == "png":
        data = bytearray(write_image(tmp_path / "seed.png", source, "png").read_bytes())
        data[16:24] = (15000).to_bytes(4, "big") * 2
        data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    else:
        data = bytearray(write_image(tmp_path / "seed.jpg", source, "jpeg").read_bytes())
        sof = data.index(b"\xff\xc0")
        data[sof + 5:sof + 9] = (15000).to_bytes(2, "big") * 2
    path = tmp_path / f"claims.{kind}"
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        for reader in READERS:
            expect_error(reader, path, CorruptFileError, "far more than")
        assert tracemalloc.get_traced_memory()[1] < 50 << 20
    finally:
        tracemalloc.stop()


# --- 3. zero and absurd sizes --------------------------------------------------------------------------

@pytest.mark.parametrize("tag", [256, 257])
def test_tiff_with_a_zero_size_is_damaged(tmp_path, tiff_bytes, tag):
    path = tmp_path / "zero.tif"
    path.write_bytes(tamper_tiff_tag(tiff_bytes, tag, value=0))
    for reader in READERS:
        expect_error(reader, path, CorruptFileError, "impossible image size")


@pytest.mark.parametrize("kind", ["png", "jpeg"])  # WebP stores size - 1: it cannot claim zero
def test_zero_sizes_in_other_formats_are_damaged(tmp_path, kind):
    source = load_fixture("fig_bowl")
    data = bytearray(write_image(tmp_path / f"seed.{kind}", source, kind).read_bytes())
    if kind == "png":
        data[20:24] = bytes(4)
        data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    else:
        sof = data.index(b"\xff\xc0")
        data[sof + 5:sof + 7] = bytes(2)
    path = tmp_path / f"zero.{kind}"
    path.write_bytes(bytes(data))
    for reader in READERS:
        expect_error(reader, path, CorruptFileError)


# --- 4. decompression bombs: headers only for metadata, the guard before any decoding ----------------

def test_png_bomb_metadata_reads_the_header_only_and_decoders_refuse_it(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(65535, 65535))  # 4.3 GB of zeros in about 4 MB
    assert path.stat().st_size < 8 << 20

    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda *args: decoded.append("Pillow"))
    monkeypatch.setattr(cv2, "imdecode", lambda *args: decoded.append("OpenCV"))
    started = time.perf_counter()
    metadata = io.read_metadata(path)
    assert (metadata.width, metadata.height) == (65535, 65535)
    for reader in DECODERS:
        expect_error(reader, path, ImageTooLargeError, "4295 megapixels")
    assert decoded == [] and time.perf_counter() - started < 2


def test_png_exif_after_the_image_data_is_read_without_decoding(tmp_path, monkeypatch):
    buffer = _io.BytesIO()
    Image.fromarray(load_fixture("fig_bowl")).save(buffer, format="PNG")
    data = buffer.getvalue()
    end = data.index(b"IEND") - 4
    path = tmp_path / "late_exif.png"
    path.write_bytes(data[:end] + png_chunk(b"eXIf", make_exif(6)[6:]) + data[end:])
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda *args: decoded.append("Pillow"))
    metadata = io.read_metadata(path)
    assert metadata.orientation == 6 and (metadata.width, metadata.height) == (128, 192) and decoded == []


def test_webp_canvas_is_checked_before_pillow_allocates_it(tmp_path):
    from utils.mutants import webp_canvas

    data = write_image(tmp_path / "seed.webp", load_fixture("fig_bowl"), "webp").read_bytes()
    path = tmp_path / "canvas.webp"
    path.write_bytes(webp_canvas(data, 16384, 16384))
    assert (io.read_metadata(path).width, io.read_metadata(path).height) == (16384, 16384)
    tracemalloc.start()
    try:
        for reader in DECODERS:
            expect_error(reader, path, ImageTooLargeError, "268 megapixels")
    finally:
        tracemalloc.stop()


# --- 5. library noise: nothing on stderr but PhotoLab's own message -----------------------------------

def _damaged_pngs(tmp_path) -> dict[str, Path]:
    data = write_image(tmp_path / "seed.png", load_fixture("fig_bowl"), "png").read_bytes()
    idat = data.index(b"IDAT") + 4
    files = {"idat-crc": bytearray(data), "ihdr-crc": bytearray(data), "wider": bytearray(data),
             "taller": bytearray(data), "filters": bytearray(data), "palette": bytearray(data)}
    files["idat-crc"][idat + 40] ^= 0xFF
    files["ihdr-crc"][17] ^= 1
    files["wider"][16:20] = (193).to_bytes(4, "big")
    files["taller"][20:24] = (129).to_bytes(4, "big")
    files["filters"][24] = 16  # 16-bit samples: the rows no longer start where the filters are
    files["palette"][25] = 3  # a palette image without a palette
    for name in ("wider", "taller", "filters", "palette"):
        files[name][29:33] = zlib.crc32(bytes(files[name][12:29])).to_bytes(4, "big")
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(bytes(content))
    return paths


def test_damaged_pngs_never_reach_libpng(tmp_path, capfd):
    for name, path in _damaged_pngs(tmp_path).items():
        for reader in DECODERS:
            expect_error(reader, path, CorruptFileError)
    assert capfd.readouterr().err == ""


def test_a_palette_in_a_grey_png_is_left_out_quietly(tmp_path, capfd):
    grey = Image.fromarray(load_fixture("fig_bowl")[:, :, 1])
    buffer = _io.BytesIO()
    grey.save(buffer, format="PNG")
    data = buffer.getvalue()
    end = data.index(b"IDAT") - 4
    path = tmp_path / "grey_with_palette.png"
    path.write_bytes(data[:end] + png_chunk(b"PLTE", bytes(range(48))) + data[end:])
    assert io.read_photo(path).pixels.shape == (128, 192, 3)
    assert capfd.readouterr().err == ""


def test_opencv_and_tifffile_stay_off_stderr(tmp_path, capfd, caplog):
    buffer = _io.BytesIO()
    Image.fromarray(load_fixture("fig_bowl")).save(buffer, format="TIFF", compression="tiff_adobe_deflate")
    data = bytearray(buffer.getvalue())
    _, _, entry = tiff_entries(bytes(data))[273]
    first_strip = int.from_bytes(data[int.from_bytes(data[entry + 8:entry + 12], "little"):][:4], "little")
    data[first_strip + 20:first_strip + 200] = np.random.default_rng(1).integers(0, 256, 180, np.uint8).tobytes()
    broken = tmp_path / "broken.tif"
    broken.write_bytes(bytes(data))
    bad_format = tmp_path / "bad_format.tif"
    bad_format.write_bytes(tamper_tiff_tag(tifffile_bytes(np.zeros((8, 8, 3), np.float32)), 339, value=0))
    with caplog.at_level(logging.DEBUG):
        io.read_photo(broken)  # libtiff reports the damaged rows through OpenCV's log, OpenCV decodes the rest
        expect_error(io.read_photo, bad_format, (CorruptFileError, UnsupportedFormatError))
    assert capfd.readouterr().err == ""
    tifffile_records = [r for r in caplog.records if r.name.startswith("tifffile")]
    assert tifffile_records and all(r.levelno == logging.DEBUG for r in tifffile_records)


def test_pillow_warnings_about_damaged_exif_go_to_the_log(tmp_path, recwarn, capfd):
    exif = bytearray(make_exif(3))
    position = exif.index(b"\x01\x10\x00\x02")  # the Model entry (ASCII): point its text past the end
    exif[position + 8:position + 12] = (5000).to_bytes(4, "big")
    path = tmp_path / "bad_exif.jpg"
    Image.fromarray(load_fixture("fig_bowl")).save(path, format="JPEG", exif=bytes(exif))
    assert io.read_photo(path).metadata.camera_make == "TestMake"  # Pillow reads up to the damaged entry
    assert io.read_metadata(path).camera_model is None
    assert not [w for w in recwarn if "PIL" in str(w.filename)]
    assert capfd.readouterr().err == ""


def test_truncated_or_tampered_dngs_are_refused_before_libraw_reads_past_the_end(tmp_path, capfd):
    data = write_dng(tmp_path / "good.dng", load_fixture("fig_bowl")[:32, :48]).path.read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[:491])  # inside the tag values: LibRaw's identify would read past the end
    longer = tmp_path / "longer.dng"
    longer.write_bytes(tamper_tiff_tag(data, 257, value=4760))  # rows that the strip does not hold
    for reader in (io.read_photo, io.read_preview, io.read_metadata):
        expect_error(reader, cut, CorruptFileError, "truncated")
    for reader in (io.read_photo, io.read_preview):
        expect_error(reader, longer, CorruptFileError, "truncated")
    assert capfd.readouterr().err == ""


# --- 6. files that are not RAW at all, named .dng ---------------------------------------------------------

@pytest.mark.parametrize("content,word", [(b"hello\n", "text"), (b"{}", "text"), ("été".encode(), "text"),
                                          (bytes(range(7, 30)), "unknown data")])
def test_short_non_raw_files_named_like_raw_are_not_raw_files(tmp_path, content, word):
    path = tmp_path / "x.dng"
    path.write_bytes(content)
    for reader in (io.read_photo, io.read_preview, io.read_metadata):
        expect_error(reader, path, UnsupportedFormatError, "not a camera raw file", word)


def test_a_truncated_dng_is_still_truncated(tmp_path):
    data = write_dng(tmp_path / "good.dng", load_fixture("fig_bowl")).path.read_bytes()
    for size in (40, len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut{size}.dng"
        path.write_bytes(data[:size])
        for reader in (io.read_photo, io.read_preview):
            expect_error(reader, path, CorruptFileError, "truncated")


# --- special files: never a hang, never an endless read -------------------------------------------------

def _read_in_thread(reader, path, seconds=10.0):
    outcome = {}

    def run():
        try:
            reader(path)
            outcome["result"] = "read"
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            outcome["result"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread.is_alive(), outcome.get("result")


@pytest.mark.parametrize("make,words", [
    (lambda p: os.mkfifo(p), ("fifo",)),
    (lambda p: p.symlink_to("/dev/zero"), ("character device",)),
    (lambda p: p.symlink_to(p.name), ("loops",)),
    (lambda p: p.symlink_to(p.parent / "missing.jpg"), ("symbolic link", "does not exist")),
], ids=["fifo", "dev-zero", "symlink-loop", "dangling-symlink"])
def test_special_files_are_refused_without_blocking(tmp_path, make, words):
    path = tmp_path / "photo.jpg"
    make(path)
    try:
        for reader in READERS:
            hung, result = _read_in_thread(reader, path)
            assert not hung, f"{reader.__name__} blocked on {path}"
            assert isinstance(result, FileAccessError), result
            message = str(result)
            assert str(path) in message and all(word in message.lower() for word in words), message
    finally:
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            with open(os.open(path, os.O_RDWR | os.O_NONBLOCK), "wb"):  # frees a reader stuck on the FIFO
                pass


def test_a_symlink_to_a_photo_reads_the_photo(tmp_path):
    target = write_image(tmp_path / "real.png", load_fixture("fig_bowl"), "png")
    link = tmp_path / "link.jpg"
    link.symlink_to(target.name)
    assert io.read_photo(link).pixels.shape == (128, 192, 3)


@pytest.mark.parametrize("size", [(1, 1), (1, 9), (9, 1)])
@pytest.mark.parametrize("kind", ["jpeg", "png", "tiff8", "webp"])
def test_one_pixel_wide_images_read(tmp_path, kind, size):
    width, height = size
    path = write_image(tmp_path / f"tiny.{kind[:4]}", np.full((height, width, 3), 200, np.uint8), kind)
    assert io.read_photo(path).pixels.shape == (height, width, 3)
    assert (io.read_metadata(path).width, io.read_metadata(path).height) == (width, height)


def test_the_input_file_is_never_written(tmp_path):
    source = write_image(tmp_path / "photo.tif", load_fixture("fig_bowl"), "tiff8", orientation=6)
    before = source.read_bytes()
    for reader in READERS:
        reader(source)
    assert source.read_bytes() == before


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_tiffs_opencv_cannot_decode_are_read_by_tifffile_through_the_window(tmp_path, monkeypatch, dtype):
    pixels = (np.random.default_rng(4).random((32, 48, 3)) * (1 if dtype == np.float32 else 65535)).astype(dtype)
    path = tmp_path / "fallback.tif"
    path.write_bytes(tifffile_bytes(pixels))
    monkeypatch.setattr(cv2, "imdecode", lambda *args: None)
    stored, _ = io.read_stored(path)
    assert stored.dtype == dtype and np.array_equal(stored, pixels)
