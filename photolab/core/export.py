"""Export: linear float pixels -> JPEG, PNG (8/16-bit) or TIFF (16-bit) in sRGB, Display P3 or Adobe RGB,
optionally resized and sharpened for output, written atomically.

The EXIF of the original comes along where the format allows (JPEG and PNG: the whole EXIF block, with
Orientation reset to 1 because the pixels are already upright; TIFF: camera, date and exposure as plain
tags), and every file carries the ICC profile of its colour space (16-bit PNG in sRGB: PNG's sRGB chunk).
Resizing makes one array of the output size; sharpening, colour conversion and encoding then go band by
band. The original is never written.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import tifffile
from PIL import ExifTags, Image, TiffImagePlugin

from photolab import __version__
from photolab.core.atomic import atomic_new_path, atomic_path
from photolab.core.bands import run_in_bands
from photolab.core.colorspace import DEFAULT_COLOR_SPACE, color_space as _color_space, encode_integer
from photolab.core.export_options import ResizeSpec, SharpeningSpec, resize_linear, sharpen_rows
from photolab.core.icc import icc_profile
from photolab.core.naming import numbered_candidates
from photolab.core.errors import FileAccessError, UnsupportedFormatError
from photolab.core.metadata import (DATETIME, DATETIME_ORIGINAL, EXPOSURE_TIME, F_NUMBER, FOCAL_LENGTH, ISO_SPEED,
                                    LENS_MODEL, MAKE, MODEL, ORIENTATION, SOFTWARE)
from photolab.core.photo import Photo, PhotoMetadata

log = logging.getLogger(__name__)

EXPORT_FORMATS = {"jpg": ".jpg", "png": ".png", "png16": ".png", "tiff16": ".tif"}
FORMAT_BY_SUFFIX = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".tif": "tiff16", ".tiff": "tiff16"}
"""The export format an output file's extension picks when none is named (PNG: 8-bit)."""
_ACCEPTED_SUFFIXES = {"jpg": (".jpg", ".jpeg", ".jpe"), "png": (".png",), "png16": (".png",),
                      "tiff16": (".tif", ".tiff")}
_SOFTWARE = f"PhotoLab {__version__}"
_BAND_ROWS = 64  # rows encoded at a time (small temporaries stay in the cache)
_PROGRESS_STEPS = 16  # progress reports (and cancellation points) while encoding
_PIXEL_X_DIMENSION, _PIXEL_Y_DIMENSION, _MAKER_NOTE = 40962, 40963, 37500
_EXIF_IFD_POINTER, _EXIF_VERSION = 34665, 36864
_EXIF_COLOR_SPACE, _EXIF_SRGB, _EXIF_UNCALIBRATED = 40961, 1, 0xFFFF
# An unassigned tag just below ExifIFD (no tag PhotoLab writes lies between them, so IFD0 stays sorted when
# the placeholder's code is changed to 34665).
_EXIF_POINTER_PLACEHOLDER = 34664
_JPEG_EXIF_LIMIT = 65533  # an APP1 segment holds at most this many bytes


def export_photo(photo: Photo, target: str | Path, *, file_format: str = "jpg", quality: int = 92,
                 metadata: PhotoMetadata | None = None, context=None, resize: ResizeSpec | None = None,
                 sharpening: SharpeningSpec | None = None, color_space: str = DEFAULT_COLOR_SPACE,
                 replace: bool = True) -> Path:
    """Encode ``photo`` and write it to ``target`` atomically; returns the path written.

    ``file_format`` is one of EXPORT_FORMATS; a target whose extension does not fit the format gets the
    format's extension appended. ``quality`` (1..100) is for JPEG (4:4:4 chroma from 90 up). ``metadata``
    (default: the photo's) supplies the EXIF to carry over. ``resize`` scales the photo first (in linear
    light), ``sharpening`` then sharpens it for output, and ``color_space`` (a key of
    :data:`photolab.core.colorspace.COLOR_SPACES`) is the output's colour space, whose ICC profile is
    embedded. With ``replace`` False an existing file is never replaced: the export is numbered instead
    (NAME-1.EXT, NAME-2.EXT, ...). Refuses to write over the original file. ``context`` (a JobContext) gets
    progress and may cancel; a cancelled export leaves no file behind.
    """
    if file_format not in EXPORT_FORMATS:
        raise UnsupportedFormatError(
            f"{target}: cannot export as {file_format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be 1..100, got {quality}")
    _color_space(color_space)  # a ValueError names the choices
    metadata = metadata if metadata is not None else photo.metadata
    target = Path(target)
    if target.suffix.lower() not in _ACCEPTED_SUFFIXES[file_format]:
        target = target.with_name(target.name + EXPORT_FORMATS[file_format])
    _refuse_original(target, {metadata.path, photo.metadata.path})

    dtype = np.uint16 if file_format in ("png16", "tiff16") else np.uint8
    pixels = photo.pixels
    if resize is not None:
        if context is not None:
            context.progress(0.0, "Resizing")
        pixels = resize_linear(pixels, resize.output_size(photo.width, photo.height))
        if context is not None:
            context.check_cancelled()
    encoded = _encode_in_bands(pixels, dtype, context.subtask(0.0, 0.8) if context is not None else None,
                               color_space=color_space, sharpening=sharpening)
    del pixels
    if context is not None:
        context.progress(0.8, f"Writing {target.name}")
    output = _Output(metadata, int(quality), color_space)
    if replace:
        with atomic_path(target) as temporary:
            _WRITERS[file_format](temporary, encoded, output)
            if context is not None:
                context.check_cancelled()  # last chance: cancelling now still leaves nothing behind
    else:
        with atomic_new_path(target, numbered_candidates) as new:
            _WRITERS[file_format](new.temporary, encoded, output)
            if context is not None:
                context.check_cancelled()
        target = new.path
    if context is not None:
        context.progress(1.0, f"Exported {target.name}")
    return target


class _Output:
    """What a writer needs besides the pixels: the EXIF source, JPEG quality and the colour space."""

    def __init__(self, metadata: PhotoMetadata, quality: int, color_space: str) -> None:
        self.metadata, self.quality, self.color_space = metadata, quality, color_space

    @property
    def icc(self) -> bytes:
        return icc_profile(self.color_space)

    def exif(self, shape: tuple, limit: int | None = None) -> bytes | None:
        return exif_for_export(self.metadata, shape, limit=limit, color_space=self.color_space)


STORED_SUFFIXES = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff",
                   ".webp": "webp"}
"""Output formats of :func:`write_stored`, by file extension."""


def write_stored(pixels: np.ndarray, target: str | Path, *, metadata: PhotoMetadata | None = None,
                 quality: int = 92) -> Path:
    """Write already-encoded pixels as they are (no colour conversion), atomically, in the format the
    extension of ``target`` names (see STORED_SUFFIXES): grey (H, W), grey + alpha, RGB or RGBA; uint8
    (every format), uint16 (PNG, TIFF) or float32 (TIFF). JPEG has no alpha and WebP no grey: give those
    formats RGB (or grey for JPEG) and RGB(A) respectively. EXIF comes from ``metadata`` as in
    :func:`export_photo`; the original file is never overwritten."""
    target = Path(target)
    kind = STORED_SUFFIXES.get(target.suffix.lower())
    if kind is None:
        raise UnsupportedFormatError(f"{target}: cannot write {target.suffix or 'files without an extension'}; "
                                     f"use {', '.join(sorted(set(STORED_SUFFIXES)))}")
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    allowed = {"jpeg": ((np.uint8,), (1, 3)), "webp": ((np.uint8,), (3, 4)),
               "png": ((np.uint8, np.uint16), (1, 2, 3, 4)), "tiff": ((np.uint8, np.uint16, np.float32), (1, 2, 3, 4))}
    dtypes, counts = allowed[kind]
    if pixels.dtype not in dtypes or channels not in counts:
        raise ValueError(f"{kind} cannot hold {channels}-channel {pixels.dtype} pixels")
    metadata = metadata or PhotoMetadata()
    _refuse_original(target, {metadata.path})
    pixels = np.ascontiguousarray(pixels)
    with atomic_path(target) as temporary:
        if kind == "png":
            _write_png_stored(temporary, pixels, metadata, DEFAULT_COLOR_SPACE)
        elif kind == "tiff":
            _write_tiff(temporary, pixels, metadata, photometric="rgb" if channels >= 3 else "minisblack",
                        extrasamples=("unassalpha",) if channels in (2, 4) else None,
                        iccprofile=(srgb_icc_profile() or None) if channels >= 3 else None)
        else:
            mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
            exif = exif_for_export(metadata, pixels.shape, limit=_JPEG_EXIF_LIMIT if kind == "jpeg" else None)
            options = {"subsampling": 0 if quality >= 90 else 2} if kind == "jpeg" else {}
            Image.fromarray(pixels, mode).save(temporary, format=kind.upper(), quality=int(quality),
                                               exif=exif or b"", icc_profile=srgb_icc_profile() or None, **options)
    return target


def _write_png_stored(path: Path, pixels: np.ndarray, metadata: PhotoMetadata, color_space: str) -> None:
    if pixels.ndim == 3 and pixels.shape[2] == 2:  # OpenCV writes no grey + alpha PNG: store it as RGBA
        pixels = pixels[:, :, [0, 0, 0, 1]]
    if pixels.ndim == 3:
        pixels = pixels[:, :, [2, 1, 0, 3][:pixels.shape[2]]]  # RGB(A) to OpenCV's BGR(A)
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(pixels), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise FileAccessError(f"{path}: OpenCV could not encode the PNG")
    data = buffer.tobytes()
    if color_space == DEFAULT_COLOR_SPACE:
        chunks = _png_chunk(b"sRGB", b"\x00")  # perceptual rendering intent
    else:  # an ICC profile: name, NUL, compression method 0 (zlib), the compressed profile
        chunks = _png_chunk(b"iCCP", _color_space(color_space).label.encode("latin-1")[:79] + b"\0\0"
                            + zlib.compress(icc_profile(color_space)))
    exif = exif_for_export(metadata, pixels.shape, color_space=color_space)
    if exif:
        chunks += _png_chunk(b"eXIf", exif[6:])  # the chunk holds the TIFF data without "Exif\0\0"
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    with open(path, "wb") as handle:
        handle.write(data[:ihdr_end] + chunks + data[ihdr_end:])


def _refuse_original(target: Path, sources: set[str | None]) -> None:
    for source in filter(None, sources):
        same = os.path.realpath(target) == os.path.realpath(source)
        if not same and target.exists() and Path(source).exists():
            same = os.path.samefile(target, source)
        if same:
            raise FileAccessError(
                f"{target}: this is the original photo, which PhotoLab never overwrites; choose another name")


def _encode_in_bands(pixels: np.ndarray, dtype, context, *, color_space: str = DEFAULT_COLOR_SPACE,
                     sharpening: SharpeningSpec | None = None) -> np.ndarray:
    height = pixels.shape[0]
    encoded = np.empty(pixels.shape, dtype=dtype)
    rows = max(1, min(_BAND_ROWS, -(-height // _PROGRESS_STEPS)))

    def encode(start: int, end: int) -> None:
        band = pixels[start:end] if sharpening is None else sharpen_rows(pixels, start, end, sharpening)
        encoded[start:end] = encode_integer(band, color_space, dtype)

    report = (lambda fraction: context.progress(fraction, "Encoding")) if context is not None else None
    run_in_bands(height, rows, encode, steps=_PROGRESS_STEPS, after_step=report)
    return encoded


def _write_jpeg(path: Path, encoded: np.ndarray, output: _Output) -> None:
    exif = output.exif(encoded.shape, limit=_JPEG_EXIF_LIMIT)
    Image.fromarray(encoded, "RGB").save(
        path, format="JPEG", quality=output.quality, subsampling=0 if output.quality >= 90 else 2,
        exif=exif or b"", icc_profile=output.icc)


def _write_png(path: Path, encoded: np.ndarray, output: _Output) -> None:
    exif = output.exif(encoded.shape)
    Image.fromarray(encoded, "RGB").save(path, format="PNG", compress_level=6, exif=exif or b"",
                                         icc_profile=output.icc)


def _write_png16(path: Path, encoded: np.ndarray, output: _Output) -> None:
    _write_png_stored(path, encoded, output.metadata, output.color_space)


def _write_tiff16(path: Path, encoded: np.ndarray, output: _Output) -> None:
    _write_tiff(path, encoded, output.metadata, photometric="rgb", iccprofile=output.icc)


def _write_tiff(path: Path, pixels: np.ndarray, metadata: PhotoMetadata, **options) -> None:
    """A TIFF with make, model and date as baseline tags and the shot's details in an EXIF IFD (EXIF tags
    belong there: in IFD0 they are not standard and make libtiff readers complain)."""
    tags = [(code, "s", 0, text, True)
            for code, text in ((MAKE, metadata.camera_make), (MODEL, metadata.camera_model)) if text]
    exif = _exif_fields(metadata)
    if exif:  # tifffile will not write the EXIF pointer itself: a placeholder takes its place in IFD0
        tags.append((_EXIF_POINTER_PLACEHOLDER, "I", 1, 0, True))
    tifffile.imwrite(path, pixels, software=_SOFTWARE, datetime=_exif_date(metadata.datetime) or None,
                     metadata=None, extratags=tags, **options)
    if exif:
        _append_exif_ifd(path, exif)


def _exif_fields(metadata: PhotoMetadata) -> list[tuple[int, int, int, Callable[[str], bytes]]]:
    """The EXIF IFD's entries for ``metadata``: (tag, TIFF type, count, pack(byte order) -> value bytes)."""
    fields = []
    for code, value in ((EXPOSURE_TIME, metadata.shutter_seconds), (F_NUMBER, metadata.aperture),
                        (FOCAL_LENGTH, metadata.focal_length_mm)):
        if value:
            ratio = Fraction(value).limit_denominator(100000)
            fields.append((code, 5, 1, lambda order, r=ratio: struct.pack(order + "II", r.numerator, r.denominator)))
    if metadata.iso:
        fields.append((ISO_SPEED, 3, 1, lambda order: struct.pack(order + "H", min(int(round(metadata.iso)), 65535))))
    for code, text in ((DATETIME_ORIGINAL, _exif_date(metadata.datetime)), (LENS_MODEL, metadata.lens)):
        if text:
            encoded = text.encode("ascii", "replace") + b"\0"
            fields.append((code, 2, len(encoded), lambda order, e=encoded: e))
    if fields:
        fields.append((_EXIF_VERSION, 7, 4, lambda order: b"0232"))
    return sorted(fields, key=lambda field: field[0])


def _append_exif_ifd(path: Path, fields) -> None:
    """Append an EXIF IFD holding ``fields`` to the TIFF at ``path`` and point IFD0's ExifIFD tag at it."""
    with tifffile.TiffFile(path) as tiff:
        if tiff.is_bigtiff:  # 8-byte offsets: PhotoLab's exports never get this big (250 MP x 6 bytes < 4 GB)
            log.warning("%s: no EXIF IFD in a BigTIFF", path)
            return
        order = tiff.byteorder
        placeholder = tiff.pages.first.tags[_EXIF_POINTER_PLACEHOLDER]
        entry_at, pointer_at = placeholder.offset, placeholder.valueoffset
    with open(path, "r+b") as handle:
        end = handle.seek(0, os.SEEK_END)
        start = end + end % 2  # IFDs start on a word boundary
        data_at = start + 2 + 12 * len(fields) + 4
        entries, data = struct.pack(order + "H", len(fields)), b""
        for code, kind, count, pack in fields:
            value = pack(order)
            if len(value) <= 4:
                field = value.ljust(4, b"\0")
            else:
                field = struct.pack(order + "I", data_at + len(data))
                data += value + b"\0" * (len(value) % 2)
            entries += struct.pack(order + "HHI", code, kind, count) + field
        handle.write(b"\0" * (start - end) + entries + struct.pack(order + "I", 0) + data)
        handle.seek(entry_at)
        handle.write(struct.pack(order + "H", _EXIF_IFD_POINTER))
        handle.seek(pointer_at)
        handle.write(struct.pack(order + "I", start))


_WRITERS = {"jpg": _write_jpeg, "png": _write_png, "png16": _write_png16, "tiff16": _write_tiff16}


def exif_for_export(metadata: PhotoMetadata, shape: tuple, *, limit: int | None = None,
                    color_space: str = DEFAULT_COLOR_SPACE) -> bytes | None:
    """The EXIF block ("Exif\\0\\0" + TIFF data) for an exported file: the original's when it had one,
    otherwise built from the metadata fields (RAW, TIFF); Orientation is 1, Software is PhotoLab, and
    ColorSpace says "uncalibrated" outside sRGB (the ICC profile tells which space: readers that trust
    EXIF's "sRGB" would show Display P3 or Adobe RGB pixels wrongly)."""
    exif = Image.Exif()
    if metadata.exif:
        try:
            exif.load(metadata.exif)
        except Exception as exc:  # noqa: BLE001 - a damaged block is rebuilt from the fields instead
            log.warning("%s: EXIF block unreadable, rebuilding it (%s)", metadata.path, exc)
            exif = Image.Exif()
    if not len(exif):
        _fill_exif(exif, metadata)
    exif[ORIENTATION] = 1
    exif[SOFTWARE] = _SOFTWARE
    details = exif.get_ifd(ExifTags.IFD.Exif)
    if _PIXEL_X_DIMENSION in details:
        details[_PIXEL_X_DIMENSION], details[_PIXEL_Y_DIMENSION] = int(shape[1]), int(shape[0])
    if color_space != DEFAULT_COLOR_SPACE:
        details[_EXIF_COLOR_SPACE] = _EXIF_UNCALIBRATED
    elif _EXIF_COLOR_SPACE in details:
        details[_EXIF_COLOR_SPACE] = _EXIF_SRGB
    block = exif.tobytes()
    if limit is not None and len(block) > limit:
        details.pop(_MAKER_NOTE, None)
        block = exif.tobytes()
        if len(block) > limit:
            log.warning("%s: EXIF too large for the output format, left out", metadata.path)
            return None
    return block


def _fill_exif(exif: Image.Exif, metadata: PhotoMetadata) -> None:
    if metadata.camera_make:
        exif[MAKE] = metadata.camera_make
    if metadata.camera_model:
        exif[MODEL] = metadata.camera_model
    exif_date = _exif_date(metadata.datetime)
    if exif_date:
        exif[DATETIME] = exif_date
    details = exif.get_ifd(ExifTags.IFD.Exif)
    if exif_date:
        details[DATETIME_ORIGINAL] = exif_date
    for code, value in ((EXPOSURE_TIME, metadata.shutter_seconds), (F_NUMBER, metadata.aperture),
                        (FOCAL_LENGTH, metadata.focal_length_mm)):
        if value:
            fraction = Fraction(value).limit_denominator(100000)
            details[code] = TiffImagePlugin.IFDRational(fraction.numerator, fraction.denominator)
    if metadata.iso:
        details[ISO_SPEED] = min(int(round(metadata.iso)), 65535)
    if metadata.lens:
        details[LENS_MODEL] = metadata.lens


def _exif_date(iso: str | None) -> str | None:
    """ISO 8601 back to EXIF's "YYYY:MM:DD HH:MM:SS"."""
    if not iso or len(iso) < 19:
        return None
    return iso[:10].replace("-", ":") + " " + iso[11:19]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def srgb_icc_profile() -> bytes:
    """PhotoLab's sRGB ICC profile (see :mod:`photolab.core.icc`)."""
    return icc_profile(DEFAULT_COLOR_SPACE)
