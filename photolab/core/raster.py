"""Ordinary (already developed) images: JPEG, PNG, TIFF and WebP, 8 or 16 bits, with EXIF orientation.

Headers are parsed and checked without decoding (``photolab.core.headers`` for PNG and WebP, Pillow for
JPEG, tifffile for TIFF, which also knows float and 16-bit RGB layouts): an impossible size, bit depth or
sample count, or more pixels than the file's bytes can hold, is a CorruptFileError before anything is
allocated, and the pixel-count guard runs next (in ``photolab.core.io``). Decoders read the file through a
:class:`~photolab.core.headers.FileView` that ends where the image's data ends, so junk after a valid image
is never read. JPEG and WebP are decoded by Pillow, which reports truncated data instead of filling it with
grey and can decode a JPEG at reduced size for previews; PNG and TIFF by OpenCV, which keeps 16-bit RGB
(Pillow cannot) and knows every TIFF compression. OpenCV turns TIFFs upright by itself, so their
Orientation tag is neutralised first and orientation is always ours. The libraries' own complaints go to
Python logging (Pillow's warnings, tifffile's log, at debug level), not to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from photolab.core.color import decode_srgb_integer
from photolab.core.errors import CorruptFileError, UnsupportedFormatError
from photolab.core.headers import (FileView, PngLayout, check_plausible, check_tiff_page, png_for_libpng, png_layout,
                                   webp_layout)
from photolab.core.metadata import (EXIF_IFD_POINTER, EXPOSURE_TIME, F_NUMBER, FOCAL_LENGTH, ORIENTATION,
                                    exposure_values, orientation_swaps_axes, pillow_exif_tags, upright,
                                    valid_orientation)
from photolab.core.photo import PhotoMetadata

log = logging.getLogger(__name__)

# PhotoLab applies its own pixel-count guard (max_pixels) to every file before decoding it, from the
# header, so Pillow's process-wide decompression-bomb limit would only get in the way of that setting.
Image.MAX_IMAGE_PIXELS = None

DNG_VERSION_TAG = 50706
_RATIONAL_TAGS = (EXPOSURE_TIME, F_NUMBER, FOCAL_LENGTH)
# What Pillow, tifffile and their codecs raise on damaged data (never MemoryError: sizes are checked first).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, KeyError, IndexError, TypeError, AttributeError, EOFError,
                  RuntimeError, ArithmeticError, struct.error, zlib.error, tifffile.TiffFileError)
_PILLOW_WARNINGS = threading.RLock()
_DETAIL_LENGTH = 100  # a decoder's message is cut to this many characters (some quote the data they met)


class _DebugLevel(logging.Filter):
    """Turns a library's log records into debug records: they stay in the log, never on a user's stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


logging.getLogger("tifffile").addFilter(_DebugLevel())


def sniff(header: bytes) -> str | None:
    """"jpeg", "png", "webp" or "tiff" from a file's first bytes (TIFF includes many RAW formats); else None."""
    if header.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "webp"
    if header[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    return None


class LooksLikeRaw(Exception):
    """Raised when a TIFF file turns out to be a DNG (camera RAW); the caller reads it with LibRaw."""


@dataclass
class OpenedImage:
    """A parsed, checked header: what we know before decoding any pixel."""

    path: Path
    source: FileView  # the open file, up to where the image's data ends
    file_format: str  # "jpeg", "png", "tiff", "webp"
    stored_size: tuple[int, int]  # (width, height) as stored, before orientation
    metadata: PhotoMetadata
    image: Image.Image | None = None  # Pillow's lazy image (JPEG; WebP once decoding starts)
    orientation_patch: tuple[int, bytes] | None = None  # TIFF: (offset, bytes) that make Orientation 1
    png: PngLayout | None = None  # PNG: its chunk layout

    @property
    def pixel_count(self) -> int:
        return self.stored_size[0] * self.stored_size[1]

    def __enter__(self) -> "OpenedImage":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.image is not None:
            self.image.close()


def open_image(path: Path, handle, size: int, header: bytes) -> OpenedImage:
    """Parse and check the header and metadata of an ordinary image (nothing is decoded). ``handle`` is the
    open file (a regular file of ``size`` bytes), ``header`` its first bytes; decoding reads it again, so
    it must stay open while the returned image is used."""
    view = FileView(handle, size)
    kind = sniff(header)  # the caller routes only these four formats here
    if kind == "tiff":
        return _open_tiff(path, view)
    if kind == "png":
        return _open_png(path, view)
    if kind == "webp":
        return _open_webp(path, view)
    try:
        with _pillow_warnings_logged(path):
            image = Image.open(view, formats=("JPEG",))
    except UnidentifiedImageError:
        raise CorruptFileError(f"{path}: the JPEG image is damaged and cannot be read") from None
    except _DECODE_ERRORS as exc:
        raise CorruptFileError(f"{path}: the JPEG header is damaged{_detail(exc)}") from None
    width, height, channels = *image.size, len(image.getbands())
    try:
        check_plausible(path, "jpeg", width, height, channels, 8, size)
    except CorruptFileError:
        image.close()
        raise
    view.limit = min(size, view.tell() + 8 * width * height * channels + (1 << 20))  # no entropy data is longer
    with _pillow_warnings_logged(path):
        try:
            tags = pillow_exif_tags(image.getexif())
        except Exception:  # noqa: BLE001 - damaged EXIF: the pixels may still be fine
            tags = {}
    metadata = _metadata(path, "jpeg", image.size, 8, tags, _exif_block(image.info.get("exif")))
    return OpenedImage(path, view, "jpeg", image.size, metadata, image=image)


def _open_png(path: Path, view: FileView) -> OpenedImage:
    layout = png_layout(path, view)
    check_plausible(path, "png", layout.width, layout.height, layout.channels, layout.bit_depth,
                    layout.image_data)
    view.limit = layout.end
    size = (layout.width, layout.height)
    metadata = _metadata(path, "png", size, layout.bit_depth, _exif_tags(path, layout.exif),
                         _exif_block(layout.exif))
    return OpenedImage(path, view, "png", size, metadata, png=layout)


def _open_webp(path: Path, view: FileView) -> OpenedImage:
    """WebP's header, read by us: Pillow's decoder allocates the whole canvas as soon as it opens a file."""
    layout = webp_layout(path, view)
    view.limit = layout.end
    size = (layout.width, layout.height)
    metadata = _metadata(path, "webp", size, 8, _exif_tags(path, layout.exif), _exif_block(layout.exif))
    return OpenedImage(path, view, "webp", size, metadata)


def _open_tiff(path: Path, view: FileView) -> OpenedImage:
    try:
        with tifffile.TiffFile(view) as tiff:
            page = tiff.pages.first
            if DNG_VERSION_TAG in page.tags or tiff.is_dng:
                raise LooksLikeRaw()
            size, bits = check_tiff_page(path, tiff, page, view)
            tags = {tag.code: tag.value for tag in page.tags.values()}
            orientation_tag = page.tags.get(ORIENTATION)
            patch = None
            if orientation_tag is not None and orientation_tag.count == 1 and orientation_tag.dtype == 3:
                patch = (orientation_tag.valueoffset, struct.pack(tiff.byteorder + "H", 1))
    except (LooksLikeRaw, CorruptFileError, UnsupportedFormatError):
        raise
    except _DECODE_ERRORS as exc:
        raise CorruptFileError(f"{path}: the TIFF image is damaged and cannot be read{_detail(exc)}") from None
    exif = tags.pop(EXIF_IFD_POINTER, None)
    if isinstance(exif, dict):
        for name, value in exif.items():
            code = tifffile.TIFF.TAGS.get(name)
            if isinstance(code, int):
                tags.setdefault(code, value)
    for code in _RATIONAL_TAGS:
        tags[code] = _rational(tags.get(code))
    metadata = _metadata(path, "tiff", size, bits, tags, None)  # TIFF tags describe the TIFF: nothing to carry
    return OpenedImage(path, view, "tiff", size, metadata, orientation_patch=patch)


def _metadata(path: Path, file_format: str, stored_size: tuple[int, int], bits: int, tags: dict,
              exif_block: bytes | None) -> PhotoMetadata:
    orientation = valid_orientation(tags.get(ORIENTATION, 1))
    width, height = stored_size
    if orientation_swaps_axes(orientation):
        width, height = height, width
    return PhotoMetadata(path=str(path), file_format=file_format, width=width, height=height,
                         orientation=orientation, bits_per_sample=bits, exif=exif_block, **exposure_values(tags))


def decode_image(opened: OpenedImage, *, preview_side: int | None = None) -> np.ndarray:
    """Decode to upright float32 linear sRGB (H, W, 3). ``preview_side`` lets JPEG decode at reduced size
    (at least that many pixels on the long side)."""
    path = opened.path
    if opened.file_format in ("jpeg", "webp"):
        pixels = _decode_with_pillow(opened, preview_side)
    else:
        pixels = _decode_with_opencv(opened)
        pixels = _as_rgb(pixels, bgr=True) if pixels is not None else _as_rgb(_read_tiff(opened), bgr=False)
    if pixels.dtype == np.uint8 or pixels.dtype == np.uint16:
        linear = decode_srgb_integer(pixels)
    elif pixels.dtype.kind == "f":
        linear = pixels.astype(np.float32)  # floating-point TIFFs hold linear light
    else:
        raise UnsupportedFormatError(f"{path}: images with {pixels.dtype} samples are not supported")
    return upright(linear, opened.metadata.orientation)


def decode_stored(opened: OpenedImage) -> np.ndarray:
    """Decode without converting: upright pixels in the file's own encoding and depth (uint8, uint16, or float
    for float TIFFs), alpha kept: (H, W) grey, or (H, W, C) with C = 2 (grey + alpha), 3 (RGB), 4 (RGBA).
    For tools that write the same kind of file back (``photolab-cli denoise``)."""
    path = opened.path
    if opened.file_format in ("jpeg", "webp"):
        try:
            image = _pillow_image(opened)
            image.load()
            if image.mode.startswith("I"):
                pixels = np.asarray(image).astype(np.uint16)
            else:
                mode = {"L": "L", "LA": "LA", "RGBA": "RGBA", "PA": "RGBA"}.get(image.mode, "RGB")
                if image.mode == "P" and "transparency" in image.info:
                    mode = "RGBA"
                pixels = np.asarray(image.convert(mode))
        except _DECODE_ERRORS as exc:
            raise CorruptFileError(f"{path}: the image data is damaged or incomplete{_detail(exc)}") from None
    else:
        pixels = _decode_with_opencv(opened)
        if pixels is None:
            pixels = _read_tiff(opened)
        elif pixels.ndim == 3 and pixels.shape[2] in (3, 4):
            pixels = pixels[:, :, [2, 1, 0, 3][:pixels.shape[2]]]  # OpenCV's BGR(A) to RGB(A)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] > 4):
        raise UnsupportedFormatError(f"{path}: images with {pixels.shape[2]} channels are not supported")
    if pixels.dtype not in (np.uint8, np.uint16) and pixels.dtype.kind != "f":
        raise UnsupportedFormatError(f"{path}: images with {pixels.dtype} samples are not supported")
    return np.ascontiguousarray(upright(pixels, opened.metadata.orientation))


def _pillow_image(opened: OpenedImage) -> Image.Image:
    """Pillow's image of a JPEG (opened with the header) or WebP (opened now: the pixel guard has run)."""
    if opened.image is None:
        opened.source.seek(0)
        with _pillow_warnings_logged(opened.path):
            opened.image = Image.open(opened.source, formats=("WEBP",))
    return opened.image


def _decode_with_pillow(opened: OpenedImage, preview_side: int | None) -> np.ndarray:
    try:
        image = _pillow_image(opened)
        if preview_side and opened.file_format == "jpeg":
            image.draft("RGB", (preview_side, preview_side))
        image.load()
        if image.mode.startswith("I"):
            return _as_rgb(np.asarray(image).astype(np.uint16), bgr=False)
        return np.asarray(image.convert("RGB"))
    except _DECODE_ERRORS as exc:
        raise CorruptFileError(f"{opened.path}: the image data is damaged or incomplete{_detail(exc)}") from None


def _decode_with_opencv(opened: OpenedImage) -> np.ndarray | None:
    """OpenCV's decoding of the file's bytes (orientation tag neutralised: we turn the pixels ourselves), in
    its own layout (BGR order, alpha and depth kept); None for a TIFF OpenCV cannot read (try tifffile)."""
    source = opened.source
    data = source.read_at(0, source.limit)
    if opened.png is not None:
        data = png_for_libpng(opened.path, data, opened.png)
    if opened.orientation_patch is not None:
        offset, value = opened.orientation_patch
        data = data[:offset] + value + data[offset + len(value):]
    try:
        pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        pixels = None
    if pixels is None and opened.file_format == "png":  # libpng refuses only damaged files
        raise CorruptFileError(f"{opened.path}: the PNG image data is damaged or incomplete")
    return pixels


def _read_tiff(opened: OpenedImage) -> np.ndarray:
    """The first page of a TIFF read by tifffile, (H, W) or (H, W, C) in RGB(A) order, depth kept."""
    try:
        opened.source.seek(0)
        with tifffile.TiffFile(opened.source) as tiff:
            page = tiff.pages.first
            pixels = page.asarray()
            if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and pixels.ndim == 3:
                pixels = np.moveaxis(pixels, 0, -1)
    except _DECODE_ERRORS as exc:
        raise CorruptFileError(f"{opened.path}: the TIFF image data cannot be decoded{_detail(exc)}") from None
    if pixels.ndim not in (2, 3) or pixels.shape[1::-1] != opened.stored_size:
        raise CorruptFileError(f"{opened.path}: the TIFF image data cannot be decoded (it does not match the "
                               f"image's size)")
    return pixels


@contextlib.contextmanager
def _pillow_warnings_logged(path: Path) -> Iterator[None]:
    """Pillow's warnings about a damaged header (EXIF, MPO index...) go to the log at debug level instead of
    stderr. Serialised, as ``warnings.catch_warnings`` changes process-wide state; kept to header parsing,
    where Pillow warns, so decoding in several threads at once is never serialised."""
    with _PILLOW_WARNINGS, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                log.debug("%s: %s", path, warning.message)


def _exif_tags(path: Path, block: bytes | None) -> dict[int, Any]:
    """The tags of an EXIF block found in a PNG or WebP chunk ({} if there is none or it is damaged)."""
    if not block:
        return {}
    exif = Image.Exif()
    with _pillow_warnings_logged(path):
        try:
            exif.load(block if block.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + block)
            return pillow_exif_tags(exif)
        except Exception:  # noqa: BLE001 - damaged EXIF: the pixels may still be fine
            return {}


def _as_rgb(pixels: np.ndarray, *, bgr: bool) -> np.ndarray:
    """Any decoded layout (grey, grey+alpha, BGR, BGRA) as (H, W, 3) RGB; transparent pixels are composited
    over white, as viewers show them (the colour stored under a transparent pixel is often meaningless)."""
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        pixels = _composite_over_white(pixels)
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.shape[2] in (1, 2):
        return np.repeat(pixels[:, :, :1], 3, axis=2)
    rgb = pixels[:, :, :3]
    return np.ascontiguousarray(rgb[:, :, ::-1] if bgr else rgb)


def _composite_over_white(pixels: np.ndarray) -> np.ndarray:
    """Colour channels of a grey+alpha or colour+alpha image composited over white, in the stored encoding."""
    white = float(np.iinfo(pixels.dtype).max) if pixels.dtype.kind in "ui" else 1.0
    colour = pixels[:, :, :-1].astype(np.float32)
    alpha = pixels[:, :, -1:].astype(np.float32) / white
    composited = colour * alpha + white * (1.0 - alpha)
    if pixels.dtype.kind in "ui":
        return np.clip(np.rint(composited), 0, white).astype(pixels.dtype)
    return composited.astype(pixels.dtype)


def _exif_block(block: bytes | None) -> bytes | None:
    """A file's EXIF block as "Exif\\0\\0" + TIFF data, to carry into exports."""
    if not block:
        return None
    return block if block.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + block


def _rational(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value) and value[1]:
        return Fraction(value[0], value[1])
    return value


def _detail(exc: BaseException) -> str:
    """The decoder's own words, when it has any worth showing (not Python's, about the values it met)."""
    if isinstance(exc, (TypeError, AttributeError, KeyError, IndexError, ArithmeticError, struct.error)):
        return ""
    text = " ".join(str(exc).split())
    if len(text) > _DETAIL_LENGTH:
        text = text[:_DETAIL_LENGTH - 3] + "..."
    return f" ({text})" if len(text) > 8 else ""
