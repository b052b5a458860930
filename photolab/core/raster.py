"""Ordinary (already developed) images: JPEG, PNG, TIFF and WebP, 8 or 16 bits, with EXIF orientation.

Pillow reads the header (size, EXIF) without decoding, so the pixel-count guard runs first. JPEG and WebP
are decoded by Pillow, which reports truncated data instead of filling it with grey and can decode a
JPEG at reduced size for previews; PNG and TIFF by OpenCV, which keeps 16-bit RGB (Pillow cannot).
"""

from __future__ import annotations

import io as _io
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from photolab.core.color import decode_srgb_integer
from photolab.core.errors import CorruptFileError, UnsupportedFormatError
from photolab.core.metadata import (ORIENTATION, exposure_values, orientation_swaps_axes, pillow_exif_tags,
                                    upright, valid_orientation)
from photolab.core.photo import PhotoMetadata

# PhotoLab applies its own pixel-count guard (max_pixels) to every file before decoding it, from the
# header, so Pillow's process-wide decompression-bomb limit would only get in the way of that setting.
Image.MAX_IMAGE_PIXELS = None

PILLOW_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "TIFF": "tiff", "WEBP": "webp"}
DNG_VERSION_TAG = 50706


class LooksLikeRaw(Exception):
    """Raised when a TIFF file turns out to be a DNG (camera RAW); the caller reads it with LibRaw."""


@dataclass
class OpenedImage:
    """A parsed header: what we know before decoding any pixel."""

    path: Path
    data: bytes | None  # the whole file, when it was opened for decoding
    image: Image.Image
    file_format: str  # "jpeg", "png", "tiff", "webp"
    metadata: PhotoMetadata

    @property
    def pixel_count(self) -> int:
        return self.image.width * self.image.height

    def __enter__(self) -> "OpenedImage":
        return self

    def __exit__(self, *exc_info) -> None:
        self.image.close()


def open_image(path: Path, source: bytes | Path, header: bytes) -> OpenedImage:
    """Parse the header and metadata of an ordinary image (nothing is decoded). ``source`` is the whole
    file's bytes (needed to decode) or its path (metadata only); ``header`` its first bytes."""
    data = source if isinstance(source, bytes) else None
    try:
        image = Image.open(_io.BytesIO(data) if data is not None else source)
    except UnidentifiedImageError:
        raise UnsupportedFormatError(
            f"{path}: not an image PhotoLab can read (supported: camera RAW, JPEG, PNG, TIFF, WebP)") from None
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise CorruptFileError(f"{path}: the image header is damaged ({exc})") from None
    file_format = PILLOW_FORMATS.get(image.format or "")
    if file_format is None:
        image.close()
        raise UnsupportedFormatError(
            f"{path}: {image.format} images are not supported (PhotoLab reads camera RAW, JPEG, PNG, TIFF, WebP)")
    if file_format == "tiff" and DNG_VERSION_TAG in getattr(image, "tag_v2", {}):
        image.close()
        raise LooksLikeRaw()
    try:
        exif = image.getexif()
        tags = pillow_exif_tags(exif)
    except Exception:  # noqa: BLE001 - damaged EXIF: the pixels may still be fine
        exif, tags = None, {}
    orientation = valid_orientation(tags.get(ORIENTATION, 1))
    width, height = image.size
    if orientation_swaps_axes(orientation):
        width, height = height, width
    exif_block = _exif_block(image, file_format)
    metadata = PhotoMetadata(
        path=str(path), file_format=file_format, width=width, height=height, orientation=orientation,
        bits_per_sample=_bits_per_sample(image, header, file_format), exif=exif_block, **exposure_values(tags))
    return OpenedImage(path, data, image, file_format, metadata)


def decode_image(opened: OpenedImage, *, preview_side: int | None = None) -> np.ndarray:
    """Decode to upright float32 linear sRGB (H, W, 3). ``preview_side`` lets JPEG decode at reduced size
    (at least that many pixels on the long side)."""
    path = opened.path
    if opened.file_format in ("jpeg", "webp"):
        pixels = _decode_with_pillow(opened, preview_side)
    else:
        if opened.data is None:
            raise ValueError("decode_image needs an image opened from its bytes")
        pixels = cv2.imdecode(np.frombuffer(opened.data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if pixels is None:  # OpenCV gives up quietly: let Pillow decode it or say what is wrong
            pixels = _decode_with_pillow(opened, None)
        else:
            pixels = _as_rgb(pixels, bgr=True)
    if pixels.dtype == np.uint8 or pixels.dtype == np.uint16:
        linear = decode_srgb_integer(pixels)
    elif pixels.dtype.kind == "f":
        linear = pixels.astype(np.float32)  # floating-point TIFFs hold linear light
    else:
        raise UnsupportedFormatError(f"{path}: {pixels.dtype} samples are not supported")
    return upright(linear, opened.metadata.orientation)


def _decode_with_pillow(opened: OpenedImage, preview_side: int | None) -> np.ndarray:
    image = opened.image
    try:
        if preview_side and opened.file_format == "jpeg":
            image.draft("RGB", (preview_side, preview_side))
        image.load()
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            return _as_rgb(np.asarray(image).astype(np.uint16), bgr=False)
        return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise CorruptFileError(f"{opened.path}: the image data is damaged or incomplete ({exc})") from None


def _as_rgb(pixels: np.ndarray, *, bgr: bool) -> np.ndarray:
    """Any decoded layout (grey, grey+alpha, BGR, BGRA) as (H, W, 3) RGB; alpha is dropped."""
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    channels = pixels.shape[2]
    if channels in (1, 2):
        return np.repeat(pixels[:, :, :1], 3, axis=2)
    rgb = pixels[:, :, :3]
    return np.ascontiguousarray(rgb[:, :, ::-1] if bgr else rgb)


def _bits_per_sample(image: Image.Image, header: bytes, file_format: str) -> int:
    if file_format == "png" and len(header) > 24:
        return int(header[24])  # IHDR bit depth
    if file_format == "tiff":
        bits = getattr(image, "tag_v2", {}).get(258, 8)
        return int(bits[0] if isinstance(bits, tuple) else bits)
    return 16 if image.mode.startswith("I;16") else 8


def _exif_block(image: Image.Image, file_format: str) -> bytes | None:
    """The file's EXIF block ("Exif\\0\\0" + TIFF data) to carry into exports; TIFF files have none
    (their tags describe the TIFF itself)."""
    if file_format == "tiff":
        return None
    block = image.info.get("exif")
    if not block:
        return None
    return block if block.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + block
