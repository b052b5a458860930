"""Reading photos: camera RAW through LibRaw, ordinary images through Pillow/OpenCV; and exporting them.

Every reader returns an upright ``Photo`` in linear sRGB. The file's contents decide how it is read, not
its name (a PNG called .jpg opens). Only regular files are opened (a FIFO, a device or a symlink loop is
refused before anything could block), headers are checked for sizes the file cannot hold, a pixel-count
guard runs on the header before any decoding, and no reader reads more of a file than its image needs.
Every failure is a PhotoLabError whose message names the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO, Iterator

import cv2
import numpy as np
import rawpy

from photolab.core import noise_profile, raster, raw
from photolab.core.errors import CorruptFileError, FileAccessError, ImageTooLargeError, UnsupportedFormatError
from photolab.core.export import EXPORT_FORMATS, export_photo  # noqa: F401 - part of this module's API
from photolab.core.headers import FileView
from photolab.core.photo import NoiseProfile, Photo, PhotoMetadata, downscaled
from photolab.core.raw import DEFAULT_DEMOSAIC, DEMOSAIC_METHODS  # noqa: F401 - part of this module's API

log = logging.getLogger(__name__)

RAW_EXTENSIONS = frozenset({
    ".3fr", ".ari", ".arw", ".bay", ".cap", ".cr2", ".cr3", ".crw", ".cs1", ".dc2", ".dcr", ".dcs", ".dng",
    ".drf", ".eip", ".erf", ".fff", ".gpr", ".iiq", ".k25", ".kc2", ".kdc", ".mdc", ".mef", ".mos", ".mrw",
    ".nef", ".nrw", ".orf", ".ori", ".pef", ".ptx", ".pxn", ".qtk", ".raf", ".raw", ".rdc", ".rw2", ".rwl",
    ".rwz", ".sr2", ".srf", ".srw", ".sti", ".x3f",
})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp"})
SUPPORTED_EXTENSIONS = RAW_EXTENSIONS | IMAGE_EXTENSIONS

DEFAULT_MAX_PIXELS = 250_000_000
MAX_PIXELS_ENV = "PHOTOLAB_MAX_PIXELS"
_HEADER_SIZE = 64
_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))

# OpenCV's log lines ("[ WARN:0@...] imdecode_ ...", libtiff's complaints) would reach stderr ahead of
# PhotoLab's own message for the same failure, which every caller gets as a PhotoLabError; set once for the
# process. OPENCV_LOG_LEVEL, when set, still decides.
if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)

# Recognisable formats we do not read, by their first bytes.
_UNSUPPORTED_SIGNATURES = (
    (0, b"GIF87a", "GIF"), (0, b"GIF89a", "GIF"), (0, b"%PDF", "PDF"), (4, b"ftypheic", "HEIC"),
    (4, b"ftypheix", "HEIC"), (4, b"ftypmif1", "HEIF"), (4, b"ftypavif", "AVIF"), (0, b"\xff\x0a", "JPEG XL"),
    (0, b"\x00\x00\x00\x0cJXL ", "JPEG XL"), (0, b"8BPS", "Photoshop"),
)


def read_metadata(path: str | Path) -> PhotoMetadata:
    """What the info panel shows (camera, exposure, date, size, orientation), read cheaply from the header."""
    path = Path(path)
    with _opened(path) as file:
        if _route(path, file.header) == "raster":
            try:
                return _raster_metadata(path, file)
            except raster.LooksLikeRaw:
                pass
        try:
            opened_raw = _open_raw(path, file, limit=2**62)
        except UnsupportedFormatError:
            if raster.sniff(file.header) != "tiff":
                raise
            return _plain_tiff(path, lambda: _raster_metadata(path, file))
        try:
            return raw.raw_metadata(path, opened_raw, unpacked=False)
        finally:
            opened_raw.close()


def _raster_metadata(path: Path, file: _File) -> PhotoMetadata:
    with raster.open_image(path, file.handle, file.size, file.header) as opened:
        return opened.metadata


def read_photo(path: str | Path, *, context=None, max_pixels: int | None = None,
               demosaic: str = DEFAULT_DEMOSAIC) -> Photo:
    """The whole photo, upright, as float32 linear sRGB (RAW files developed neutrally: camera white balance,
    no brightening, no curve). ``context`` (a JobContext) gets progress and may cancel; ``max_pixels``
    overrides the pixel-count guard; ``demosaic`` picks a RAW demosaicing method (see DEMOSAIC_METHODS)."""
    return _read(Path(path), context=context, max_pixels=max_pixels, preview_side=None, demosaic=demosaic)


def read_stored(path: str | Path, *, max_pixels: int | None = None) -> tuple[np.ndarray, PhotoMetadata] | None:
    """An ordinary image's pixels as stored, upright, alpha kept (see ``raster.decode_stored``), with its
    metadata; ``None`` for a camera RAW file (read it with :func:`read_photo`)."""
    path = Path(path)
    with _opened(path) as file:
        if _route(path, file.header) != "raster":
            return None
        try:
            with raster.open_image(path, file.handle, file.size, file.header) as opened:
                _check_pixel_count(path, opened.pixel_count, resolve_max_pixels(max_pixels))
                return raster.decode_stored(opened), opened.metadata
        except raster.LooksLikeRaw:
            return None


def read_preview(path: str | Path, *, max_side: int = 2048, max_pixels: int | None = None) -> Photo:
    """A quick, screen-sized version (at most ``max_side`` pixels on the long side), upright, in the same
    colour space and with the same CameraColor as ``read_photo`` (RAW: half-size decode, no demosaicing).
    ``metadata`` describes the full-size photo; ``scale`` is the preview's width over the full photo's."""
    photo = downscaled(_read(Path(path), context=None, max_pixels=max_pixels, preview_side=max_side,
                             demosaic=DEFAULT_DEMOSAIC), max_side)
    full_width = photo.metadata.width
    if full_width and photo.width < full_width:  # a reduced decode (half-size RAW, JPEG draft) is smaller too
        photo = dataclasses.replace(photo, scale=photo.width / full_width)
    return photo


@contextlib.contextmanager
def opened_raw(path: str | Path, *, max_pixels: int | None = None) -> Iterator[rawpy.RawPy]:
    """A camera RAW file opened with LibRaw (the sensor data not decoded yet), checked like ``read_photo``
    checks it: a regular file, RAW contents, the pixel-count guard, no data past the end of the file. Closed
    afterwards. JPEG, PNG, WebP and the formats PhotoLab does not read raise UnsupportedFormatError."""
    path = Path(path)
    with _opened(path) as file:
        kind = raster.sniff(file.header)
        if _route(path, file.header) == "raster" and kind != "tiff":
            raise UnsupportedFormatError(f"{path}: not a camera RAW file (it is a {kind.upper()} image)")
        read_at = FileView(file.handle, file.size).read_at
        opened = raw.open_raw(path, max_pixels=resolve_max_pixels(max_pixels), header=file.header,
                              file_size=file.size, read_at=read_at)
        try:
            raw.check_complete(path, read_at, file.size)
            yield opened
        finally:
            opened.close()


def check_file(path: str | Path) -> None:
    """Raise a PhotoLabError naming ``path`` unless it is a non-empty regular file (links followed): what
    every reader checks before opening a file, for callers that open it themselves (a FIFO never ends)."""
    path = Path(path)
    with _reading(path):
        _check_regular(path, os.stat(path))


def resolve_max_pixels(max_pixels: int | None = None) -> int:
    """The pixel-count guard in force: the argument, else $PHOTOLAB_MAX_PIXELS, else 250 megapixels."""
    if max_pixels is not None:
        return int(max_pixels)
    setting = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if setting:
        try:
            value = int(float(setting))
            if value > 0:
                return value
        except ValueError:
            pass
        log.warning("ignoring %s=%r: not a positive number of pixels", MAX_PIXELS_ENV, setting)
    return DEFAULT_MAX_PIXELS


def _read(path: Path, *, context, max_pixels: int | None, preview_side: int | None, demosaic: str) -> Photo:
    limit = resolve_max_pixels(max_pixels)
    if context is not None:
        context.progress(0.0, f"Reading {path.name}")
    with _opened(path) as file:
        if _route(path, file.header) == "raster":
            try:
                return _read_raster(path, file, limit, preview_side, context)
            except raster.LooksLikeRaw:
                pass
        try:
            return _read_raw(path, file, limit, preview_side, demosaic, context)
        except UnsupportedFormatError:
            if raster.sniff(file.header) != "tiff":
                raise
            return _plain_tiff(path, lambda: _read_raster(path, file, limit, preview_side, context))


def _plain_tiff(path: Path, read):
    """Read a TIFF that LibRaw refused although it has a RAW file's name: a plain TIFF, or a damaged DNG."""
    try:
        return read()
    except raster.LooksLikeRaw:
        raise CorruptFileError(f"{path}: the DNG file is damaged (LibRaw cannot make sense of it)") from None


def _read_raster(path: Path, file: _File, limit: int, preview_side: int | None, context) -> Photo:
    with raster.open_image(path, file.handle, file.size, file.header) as opened:
        _check_pixel_count(path, opened.pixel_count, limit)
        if context is not None:
            context.progress(0.1, f"Decoding {path.name}")
        pixels = raster.decode_image(opened, preview_side=preview_side)
    if context is not None:
        context.progress(1.0, f"Read {path.name}")
    return Photo(pixels, opened.metadata)


def _open_raw(path: Path, file: _File, limit: int):
    """LibRaw's view of the file; for a file not named like a RAW file, its complaints mean "not an image"."""
    try:
        return raw.open_raw(path, max_pixels=limit, header=file.header, file_size=file.size,
                            read_at=FileView(file.handle, file.size).read_at)
    except (UnsupportedFormatError, CorruptFileError):
        if path.suffix.lower() in RAW_EXTENSIONS:
            raise
        raise UnsupportedFormatError(
            f"{path}: not an image PhotoLab can read (its contents are not camera RAW, JPEG, PNG, TIFF or WebP)"
        ) from None


def _read_raw(path: Path, file: _File, limit: int, preview_side: int | None, demosaic: str, context) -> Photo:
    opened = _open_raw(path, file, limit)
    try:
        raw.check_complete(path, FileView(file.handle, file.size).read_at, file.size)
        metadata = raw.raw_metadata(path, opened, unpacked=True)  # before developing changes LibRaw's sizes
        mosaic = noise_profile.sample_mosaic(opened, metadata.orientation)  # small copies, for the noise
        if context is not None:
            context.progress(0.05, f"Developing {path.name}")
        developed = raw.postprocess_raw(opened, path, half_size=preview_side is not None, demosaic=demosaic)
    finally:
        opened.close()  # frees LibRaw's buffers before the float image is made
    if context is not None:
        context.progress(0.8, f"Converting {path.name} to sRGB")
    pixels, color = raw.to_linear_srgb(developed), developed.color
    del developed
    profile = _noise_profile(path, mosaic, pixels, color)
    if profile is not None:
        metadata = dataclasses.replace(metadata, noise_profile=profile)
    if context is not None:
        context.progress(1.0, f"Read {path.name}")
    return Photo(pixels, metadata, color)


def _noise_profile(path: Path, mosaic, pixels: np.ndarray, color) -> NoiseProfile | None:
    """The RAW photo's sensor noise (see ``noise_profile``); None, with a note in the log, when it cannot be
    measured: denoising then measures the developed image instead, so a failure here never stops a read."""
    try:
        return noise_profile.noise_profile(mosaic, pixels, color.camera_to_srgb, color.as_shot_multipliers)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, cv2.error) as error:
        log.warning("%s: cannot measure the sensor noise (%s)", path, error)
        return None


def _route(path: Path, header: bytes) -> str:
    """'raster' or 'raw', decided by the file's first bytes (the extension only breaks ties for TIFF)."""
    for offset, signature, name in _UNSUPPORTED_SIGNATURES:
        if header[offset:offset + len(signature)] == signature:
            raise UnsupportedFormatError(
                f"{path}: {name} files are not supported (PhotoLab reads camera RAW, JPEG, PNG, TIFF and WebP)")
    if header[:2] == b"BM" and int.from_bytes(header[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        raise UnsupportedFormatError(
            f"{path}: BMP files are not supported (PhotoLab reads camera RAW, JPEG, PNG, TIFF and WebP)")
    kind = raster.sniff(header)
    if kind in ("jpeg", "png", "webp"):
        return "raster"
    if kind == "tiff":
        return "raw" if path.suffix.lower() in RAW_EXTENSIONS else "raster"
    return "raw"  # LibRaw recognises the RAW formats by content (CR3, RAF, ORF, RW2, X3F, MRW, ...)


def _check_pixel_count(path: Path, pixels: int, limit: int) -> None:
    if pixels > limit:
        raise ImageTooLargeError(
            f"{path}: the image has {pixels / 1e6:.0f} megapixels, more than the limit of {limit / 1e6:.0f} "
            f"megapixels (set {MAX_PIXELS_ENV} to allow more)")


@dataclasses.dataclass(frozen=True)
class _File:
    """An open regular file: its handle, size and first bytes."""

    handle: BinaryIO
    size: int
    header: bytes


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[_File]:
    """Open ``path`` for reading, after making sure it is a regular file: a FIFO would block forever and a
    device never ends. Opened without blocking and checked again on the open file, in case the path was
    replaced in between."""
    with _reading(path):
        _check_regular(path, os.stat(path))
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        with _reading(path):
            info = os.fstat(descriptor)
            _check_regular(path, info)
            header = handle.read(_HEADER_SIZE)
        if not header:
            raise CorruptFileError(f"{path}: the file is empty (0 bytes)")
        yield _File(handle, info.st_size, header)


def _check_regular(path: Path, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise FileAccessError(f"{path}: is a folder, not a photo")
    for is_kind, kind in _FILE_KINDS:
        if is_kind(info.st_mode):
            raise FileAccessError(f"{path}: is {kind}, not a photo file")
    if not stat.S_ISREG(info.st_mode):
        raise FileAccessError(f"{path}: is not a regular file, so it cannot be a photo")
    if info.st_size == 0:
        raise CorruptFileError(f"{path}: the file is empty (0 bytes)")


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn the OS's errors while looking at or reading ``path`` into FileAccessErrors that say what is wrong."""
    try:
        yield
    except FileNotFoundError:
        if path.is_symlink():
            raise FileAccessError(f"{path}: is a symbolic link to a file that does not exist") from None
        raise FileAccessError(f"{path}: the file does not exist (was it moved or deleted?)") from None
    except PermissionError:
        raise FileAccessError(f"{path}: cannot be read: permission denied") from None
    except IsADirectoryError:
        raise FileAccessError(f"{path}: is a folder, not a photo") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileAccessError(f"{path}: is a symbolic link that loops (it leads back to itself)") from None
        raise FileAccessError(f"{path}: cannot be read ({exc.strerror or exc})") from None
