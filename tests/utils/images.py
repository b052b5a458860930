"""Test images: the natural-photo fixtures, files in every format with EXIF orientation, and PSNR.

Writers here are deliberately independent of photolab's own export code (Pillow, OpenCV and tifffile
directly), so reading tests do not trust the code they test.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

from photolab.core.color import decode_srgb_integer, srgb_encode
from utils.dng import to_stored_orientation

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NATURAL_PHOTOS = ("mountain_forest", "fig_bowl", "wine_table", "rock_snow_sky", "dandelion", "nuthatch_bark")
EXIF_MAKE, EXIF_MODEL, EXIF_ORIENTATION = 271, 272, 274


def load_fixture(name: str) -> np.ndarray:
    """A natural photo from tests/fixtures as uint8 sRGB (128, 192, 3), RGB order."""
    image = cv2.imread(str(FIXTURES / f"{name}.png"), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(FIXTURES / f"{name}.png")
    return np.ascontiguousarray(image[:, :, ::-1])


def smooth_gradient_16bit(height: int = 64, width: int = 96) -> np.ndarray:
    """uint16 RGB ramps with steps far finer than 8-bit codes (a 16-bit reader must keep them)."""
    ramp = np.linspace(1000, 60000, width, dtype=np.float64)
    red = np.tile(ramp, (height, 1))
    green = red[:, ::-1]
    blue = np.tile(np.linspace(3000, 50000, height)[:, None], (1, width))
    return np.round(np.dstack([red, green, blue])).astype(np.uint16)


def make_exif(orientation: int | None = None, make: str = "TestMake", model: str = "TestModel 1") -> bytes:
    """An EXIF block with camera and (optionally) orientation, from Pillow."""
    exif = Image.Exif()
    exif[EXIF_MAKE] = make
    exif[EXIF_MODEL] = model
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def write_image(path: str | Path, upright: np.ndarray, file_format: str, orientation: int | None = None,
                quality: int = 95) -> Path:
    """Store ``upright`` RGB pixels (uint8, or uint16 for png16/tiff16) in ``file_format`` — "jpeg", "png",
    "webp", "png16", "tiff16" or "tiff8" — rotated so that a reader honouring ``orientation`` shows them
    upright, with that EXIF orientation (and a camera make/model) recorded."""
    path = Path(path)
    stored = to_stored_orientation(upright, orientation) if orientation else upright
    exif = make_exif(orientation)
    if file_format in ("jpeg", "png", "webp"):
        options = {"quality": quality, "subsampling": 0} if file_format == "jpeg" else {}
        if file_format == "webp":
            options = {"lossless": True}
        Image.fromarray(stored, "RGB").save(path, format=file_format.upper(), exif=exif, **options)
    elif file_format == "png16":
        ok, buffer = cv2.imencode(".png", np.ascontiguousarray(stored[:, :, ::-1]))
        assert ok
        data = buffer.tobytes()
        chunk = _png_chunk(b"eXIf", exif[6:])
        path.write_bytes(data[:33] + chunk + data[33:])
    elif file_format in ("tiff16", "tiff8"):
        tags = [(EXIF_MAKE, "s", 0, "TestMake", True), (EXIF_MODEL, "s", 0, "TestModel 1", True)]
        if orientation:
            tags.append((EXIF_ORIENTATION, "H", 1, orientation, True))
        tifffile.imwrite(path, stored, photometric="rgb", metadata=None, extratags=tags)
    else:
        raise ValueError(file_format)
    return path


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two images with values in [0, 1]."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def exposure_gain(linear: np.ndarray, source_linear: np.ndarray) -> float:
    """The single gain that best maps ``linear`` onto ``source_linear`` (least squares)."""
    linear = np.asarray(linear, np.float64)
    return float((linear * source_linear).sum() / (linear * linear).sum())


def matched_psnr(developed_linear: np.ndarray, source: np.ndarray) -> float:
    """PSNR in sRGB-encoded values of a developed linear image against the uint8 source photo, after
    matching exposure with one gain (a RAW file's absolute exposure is arbitrary)."""
    source_linear = decode_srgb_integer(source).astype(np.float64)
    gain = exposure_gain(developed_linear, source_linear)
    return psnr(srgb_encode(np.asarray(developed_linear, np.float64) * gain), source / 255.0)
