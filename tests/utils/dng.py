"""Synthetic camera RAW files for tests: "unprocess" a clean sRGB photo into a Bayer DNG.

The steps run the camera pipeline backwards, the way a real sensor would have recorded the scene:

    sRGB-encoded photo -> linear sRGB -> XYZ -> camera RGB (a real camera's Adobe ColorMatrix, D65)
    -> tinted by the illuminant (as-shot neutral / daylight neutral, i.e. divided by the white-balance
       multipliers) -> Bayer mosaic -> black..white level -> shot + read noise -> uint16

and store it with ``photolab.core.dng.write_bayer_dng`` (the tags LibRaw needs: DNGVersion, CFA pattern, levels,
ColorMatrix1 + CalibrationIlluminant1, AsShotNeutral, Make/Model, Orientation, exposure tags). A faithful
developer must give the source photo back up to noise, demosaicing error and a global exposure factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from photolab.core.color import decode_srgb_integer
from photolab.core.color import SRGB_TO_XYZ
from photolab.core.dng import ExposureTags, cfa_codes, daylight_neutral, write_bayer_dng

# Adobe DNG ColorMatrix (XYZ D65 -> camera), x 1/10000, as published in dcraw's adobe_coeff table.
ADOBE_COLOR_MATRICES = {
    ("Canon", "EOS 5D Mark II"): (4716, 603, -830, -7798, 15474, 2480, -1496, 1937, 6651),
    ("NIKON CORPORATION", "NIKON D700"): (8139, -2171, -663, -8747, 16541, 2295, -1925, 2008, 8093),
    ("SONY", "ILCE-7"): (5271, -712, -347, -6153, 13653, 2763, -1601, 2366, 7242),
}


@dataclass(frozen=True)
class ShotInfo(ExposureTags):
    """Exposure data written into the DNG (the EXIF values a camera would record), with a typical shot's values."""

    iso: int = 200
    exposure_time: Fraction = Fraction(1, 250)
    f_number: Fraction = Fraction(28, 10)
    focal_length: Fraction = Fraction(50, 1)
    datetime: str = "2024:05:17 14:03:27"  # EXIF "YYYY:MM:DD HH:MM:SS"
    lens: str = "EF50mm f/1.8 STM"


@dataclass(frozen=True)
class DngInfo:
    """What a written DNG contains, for tests to compare against."""

    path: Path
    color_matrix: np.ndarray  # XYZ -> camera, as written
    as_shot_neutral: np.ndarray  # camera RGB of a white surface under the shot's light, max 1
    daylight_neutral: np.ndarray  # camera RGB of a D65 white surface, max 1
    cfa_pattern: str
    black_level: int
    white_level: int
    orientation: int
    make: str
    model: str
    shot: ShotInfo | None


def to_stored_orientation(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels that an EXIF-orientation-aware reader turns into ``upright`` (inverse transform)."""
    inverse = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, *range(2, a.ndim)),
        6: lambda a: np.rot90(a, 1),  # shown rotated 90 degrees clockwise, so store it counter-clockwise
        7: lambda a: np.rot90(a, 2).transpose(1, 0, *range(2, a.ndim)),
        8: lambda a: np.rot90(a, -1),
    }
    return np.ascontiguousarray(inverse[orientation](upright))


def mosaic(camera_rgb: np.ndarray, cfa_pattern: str) -> np.ndarray:
    """Sample an (H, W, 3) image through a 2x2 colour filter array such as "RGGB" (row-major)."""
    height, width, _ = camera_rgb.shape
    if height % 2 or width % 2:
        raise ValueError("a Bayer mosaic needs even width and height")
    pattern = cfa_codes(cfa_pattern)
    out = np.empty((height, width), dtype=camera_rgb.dtype)
    for index, channel in enumerate(pattern):
        row, col = divmod(index, 2)
        out[row::2, col::2] = camera_rgb[row::2, col::2, channel]
    return out


def linear_from_source(source: np.ndarray) -> np.ndarray:
    """uint8/uint16 sRGB-encoded pixels, or float linear pixels, as float64 linear sRGB."""
    if source.dtype.kind in "ui":
        return decode_srgb_integer(source).astype(np.float64)
    return np.asarray(source, dtype=np.float64)


def write_dng(
    path: str | Path,
    source: np.ndarray,
    *,
    camera: tuple[str, str] = ("Canon", "EOS 5D Mark II"),
    cfa_pattern: str = "RGGB",
    bits: int = 14,
    black_level: int | None = None,
    as_shot_neutral: np.ndarray | None = None,
    white_exposure: float = 0.8,
    orientation: int | None = None,
    shot: ShotInfo | None = ShotInfo(),
    full_well_electrons: float = 30000.0,
    read_noise: float = 2.0,
    seed: int = 0,
) -> DngInfo:
    """Unprocess an upright sRGB photo (uint8/uint16 encoded, or float linear) into a Bayer DNG at ``path``.

    ``as_shot_neutral`` simulates the shot's light: the camera records ``neutral / daylight_neutral`` times the
    daylight response (None: daylight). ``white_exposure`` is where a white surface lands in the raw range,
    for the channel that records it brightest. Noise: Poisson shot noise for ``full_well_electrons`` at the
    white level, plus Gaussian ``read_noise`` in raw units (set ``full_well_electrons=0`` for none).
    ``orientation`` (EXIF 1..8) stores the photo so that a reader that honours the tag shows it upright.
    """
    path = Path(path)
    white_level = (1 << bits) - 1
    black_level = (1 << (bits - 5)) if black_level is None else black_level
    color_matrix = np.array(ADOBE_COLOR_MATRICES[camera], dtype=np.float64).reshape(3, 3) / 10000.0
    daylight = daylight_neutral(color_matrix)
    neutral = daylight if as_shot_neutral is None else np.asarray(as_shot_neutral, dtype=np.float64)
    neutral = neutral / neutral.max()

    linear = linear_from_source(source)
    if orientation not in (None, 1):
        linear = to_stored_orientation(linear, orientation)
    xyz_to_camera = color_matrix @ SRGB_TO_XYZ  # linear sRGB -> camera RGB under daylight
    camera_rgb = linear @ xyz_to_camera.T
    illuminant_tint = neutral / daylight  # the white-balance multipliers are 1 / neutral
    white_response = xyz_to_camera @ np.ones(3) * illuminant_tint
    camera_rgb *= illuminant_tint * (white_exposure / white_response.max())

    signal = mosaic(camera_rgb, cfa_pattern).clip(0.0, None) * (white_level - black_level)
    rng = np.random.default_rng(seed)
    if full_well_electrons > 0:
        electrons_per_unit = full_well_electrons / (white_level - black_level)
        signal = rng.poisson(signal * electrons_per_unit) / electrons_per_unit
        signal = signal + rng.normal(0.0, read_noise, signal.shape)
    raw = np.clip(np.round(signal + black_level), 0, white_level).astype(np.uint16)

    make, model = camera
    write_bayer_dng(path, raw, cfa=cfa_pattern, black_level=black_level, white_level=white_level,
                    color_matrix=color_matrix, as_shot_neutral=neutral, make=make, model=model,
                    orientation=orientation, exposure=shot, software="PhotoLab test DNG writer")
    return DngInfo(path, color_matrix, neutral, daylight, cfa_pattern.upper(), black_level, white_level,
                   orientation or 1, make, model, shot)



def append_jpeg_preview(path: str | Path, rgb: np.ndarray, *, quality: int = 85) -> int:
    """Embed ``rgb`` (uint8 (H, W, 3)) in the DNG at ``path`` as a JPEG preview, the way cameras embed one: an
    extra IFD (NewSubFileType 1, old-style JPEG with JPEGInterchangeFormat/Length) linked after the last one,
    which LibRaw's ``extract_thumb`` returns. Returns the JPEG's size in bytes."""
    import struct

    import cv2

    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    jpeg = encoded.tobytes()
    height, width = rgb.shape[:2]
    with open(path, "r+b") as handle:
        data = handle.read()
        order = "<" if data[:2] == b"II" else ">"
        pointer_at, offset = 4, struct.unpack(order + "I", data[4:8])[0]
        while offset:  # find the last IFD's next-IFD pointer
            count = struct.unpack(order + "H", data[offset:offset + 2])[0]
            pointer_at = offset + 2 + 12 * count
            offset = struct.unpack(order + "I", data[pointer_at:pointer_at + 4])[0]
        jpeg_at = len(data) + (len(data) & 1)
        ifd_at = jpeg_at + len(jpeg) + (len(jpeg) & 1)
        entries = [(254, 4, 1), (256, 4, width), (257, 4, height), (259, 3, 6), (262, 3, 6), (277, 3, 3),
                   (513, 4, jpeg_at), (514, 4, len(jpeg))]
        ifd = struct.pack(order + "H", len(entries))
        for tag, kind, value in entries:
            packed = struct.pack(order + "HH", value, 0) if kind == 3 else struct.pack(order + "I", value)
            ifd += struct.pack(order + "HHI", tag, kind, 1) + packed
        ifd += struct.pack(order + "I", 0)
        handle.seek(len(data))
        handle.write(b"\0" * (jpeg_at - len(data)) + jpeg + b"\0" * (len(jpeg) & 1) + ifd)
        handle.seek(pointer_at)
        handle.write(struct.pack(order + "I", ifd_at))
    return len(jpeg)
