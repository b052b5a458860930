"""Synthetic camera RAW files for tests: "unprocess" a clean sRGB photo into a Bayer DNG.

The steps run the camera pipeline backwards, the way a real sensor would have recorded the scene:

    sRGB-encoded photo -> linear sRGB -> XYZ -> camera RGB (a real camera's Adobe ColorMatrix, D65)
    -> tinted by the illuminant (as-shot neutral / daylight neutral, i.e. divided by the white-balance
       multipliers) -> Bayer mosaic -> black..white level -> shot + read noise -> uint16

and store it with the DNG tags LibRaw needs (DNGVersion, CFA pattern, levels, ColorMatrix1 +
CalibrationIlluminant1, AsShotNeutral, Make/Model, Orientation, exposure tags). A faithful developer
must give the source photo back up to noise, demosaicing error and a global exposure factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import tifffile

from photolab.core.color import decode_srgb_integer
from photolab.core.color import SRGB_TO_XYZ

# Adobe DNG ColorMatrix (XYZ D65 -> camera), x 1/10000, as published in dcraw's adobe_coeff table.
ADOBE_COLOR_MATRICES = {
    ("Canon", "EOS 5D Mark II"): (4716, 603, -830, -7798, 15474, 2480, -1496, 1937, 6651),
    ("NIKON CORPORATION", "NIKON D700"): (8139, -2171, -663, -8747, 16541, 2295, -1925, 2008, 8093),
    ("SONY", "ILCE-7"): (5271, -712, -347, -6153, 13653, 2763, -1601, 2366, 7242),
}
D65_WHITE_XYZ = SRGB_TO_XYZ @ np.ones(3)  # XYZ of linear sRGB (1, 1, 1)
CFA_COLOR_INDEX = {"R": 0, "G": 1, "B": 2}
D65_ILLUMINANT = 21  # EXIF LightSource code used by CalibrationIlluminant1

# TIFF / EXIF / DNG tag numbers.
TAG_ORIENTATION = 274
TAG_DATETIME = 306
TAG_CFA_REPEAT_PATTERN_DIM = 33421
TAG_CFA_PATTERN = 33422
TAG_EXPOSURE_TIME = 33434
TAG_F_NUMBER = 33437
TAG_ISO = 34855
TAG_DATETIME_ORIGINAL = 36867
TAG_FOCAL_LENGTH = 37386
TAG_LENS_MODEL = 42036
TAG_DNG_VERSION = 50706
TAG_DNG_BACKWARD_VERSION = 50707
TAG_UNIQUE_CAMERA_MODEL = 50708
TAG_CFA_PLANE_COLOR = 50710
TAG_CFA_LAYOUT = 50711
TAG_BLACK_LEVEL = 50714
TAG_WHITE_LEVEL = 50717
TAG_COLOR_MATRIX_1 = 50721
TAG_AS_SHOT_NEUTRAL = 50728
TAG_CALIBRATION_ILLUMINANT_1 = 50778


@dataclass(frozen=True)
class ShotInfo:
    """Exposure data written into the DNG (the EXIF values a camera would record)."""

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


def daylight_neutral(color_matrix: np.ndarray) -> np.ndarray:
    """Camera RGB of a D65 white through ``color_matrix`` (XYZ -> camera), normalised to max 1."""
    neutral = np.asarray(color_matrix, dtype=np.float64) @ D65_WHITE_XYZ
    return neutral / neutral.max()


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
    pattern = [CFA_COLOR_INDEX[letter] for letter in cfa_pattern.upper()]
    if len(pattern) != 4 or sorted(pattern) != [0, 1, 1, 2]:
        raise ValueError(f"unsupported CFA pattern {cfa_pattern!r}")
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
    tags = [
        (TAG_DNG_VERSION, "B", 4, (1, 4, 0, 0), True),
        (TAG_DNG_BACKWARD_VERSION, "B", 4, (1, 1, 0, 0), True),
        (TAG_UNIQUE_CAMERA_MODEL, "s", 0, f"{make} {model}", True),
        (TAG_CFA_REPEAT_PATTERN_DIM, "H", 2, (2, 2), True),
        (TAG_CFA_PATTERN, "B", 4, tuple(CFA_COLOR_INDEX[c] for c in cfa_pattern.upper()), True),
        (TAG_CFA_PLANE_COLOR, "B", 3, (0, 1, 2), True),
        (TAG_CFA_LAYOUT, "H", 1, 1, True),
        (TAG_BLACK_LEVEL, "H", 1, black_level, True),
        (TAG_WHITE_LEVEL, "H", 1, white_level, True),
        (TAG_COLOR_MATRIX_1, "2i", 9, _srationals(color_matrix.ravel()), True),
        (TAG_CALIBRATION_ILLUMINANT_1, "H", 1, D65_ILLUMINANT, True),
        (TAG_AS_SHOT_NEUTRAL, "2I", 3, _rationals(neutral), True),
    ]
    if orientation is not None:
        tags.append((TAG_ORIENTATION, "H", 1, orientation, True))
    if shot is not None:
        tags += [
            (TAG_EXPOSURE_TIME, "2I", 1, (shot.exposure_time.numerator, shot.exposure_time.denominator), True),
            (TAG_F_NUMBER, "2I", 1, (shot.f_number.numerator, shot.f_number.denominator), True),
            (TAG_ISO, "H", 1, shot.iso, True),
            (TAG_DATETIME_ORIGINAL, "s", 0, shot.datetime, True),
            (TAG_FOCAL_LENGTH, "2I", 1, (shot.focal_length.numerator, shot.focal_length.denominator), True),
            (TAG_LENS_MODEL, "s", 0, shot.lens, True),
        ]
    tifffile.imwrite(
        path, raw, photometric=tifffile.PHOTOMETRIC.CFA, metadata=None, software="PhotoLab test DNG writer",
        datetime=shot.datetime if shot is not None else None, extratags=tags + [(271, "s", 0, make, True),
                                                                                (272, "s", 0, model, True)],
    )
    return DngInfo(path, color_matrix, neutral, daylight, cfa_pattern.upper(), black_level, white_level,
                   orientation or 1, make, model, shot)


def _rationals(values: np.ndarray, denominator: int = 1_000_000) -> tuple[int, ...]:
    out: list[int] = []
    for value in values:
        out += [int(round(float(value) * denominator)), denominator]
    return tuple(out)


def _srationals(values: np.ndarray, denominator: int = 10_000) -> tuple[int, ...]:
    return _rationals(values, denominator)
