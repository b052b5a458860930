"""Camera RAW Bayer mosaics: read one from a RAW file, normalised, with what developing it needs; write one as a DNG.

``read_mosaic`` gives the visible sensor data of any Bayer RAW file LibRaw reads (DNG, CR2, NEF, ARW, ...) as
float32 from 0 (black level) to 1 (white level) per photosite, unclipped, in the sensor's stored orientation,
with its colour filter pattern, levels, colour matrix, as-shot white and EXIF values. ``write_mosaic_dng`` stores
such a mosaic as a 16-bit DNG (black level 2048, white level 65535, so values below black survive) that LibRaw,
darktable or Lightroom develop like the original. ``write_bayer_dng`` is the tag writer underneath.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import tifffile

from photolab.core import io, raw
from photolab.core.atomic import atomic_path
from photolab.core.color import SRGB_TO_XYZ
from photolab.core.errors import CorruptFileError, UnsupportedFormatError
from photolab.core.metadata import iso_to_exif_datetime
from photolab.core.photo import PhotoMetadata

log = logging.getLogger(__name__)

CFA_COLOR_INDEX = {"R": 0, "G": 1, "B": 2}  # DNG CFAPattern codes
D65_ILLUMINANT = 21  # EXIF LightSource code used by CalibrationIlluminant1
D65_WHITE_XYZ = SRGB_TO_XYZ @ np.ones(3)  # XYZ of linear sRGB (1, 1, 1)
MOSAIC_BLACK_LEVEL = 2048  # write_mosaic_dng's levels: room below black for noise, 16 bits above it
MOSAIC_WHITE_LEVEL = 65535

# TIFF / EXIF / DNG tag numbers.
TAG_MAKE = 271
TAG_MODEL = 272
TAG_ORIENTATION = 274
TAG_CFA_REPEAT_PATTERN_DIM = 33421
TAG_CFA_PATTERN = 33422
TAG_EXPOSURE_TIME = 33434
TAG_F_NUMBER = 33437
TAG_ISO = 34855
TAG_DATETIME_ORIGINAL = 36867
TAG_OFFSET_TIME_ORIGINAL = 36881
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
TAG_NOISE_PROFILE = 51041


@dataclass(frozen=True)
class RawMosaic:
    """A camera RAW's Bayer sensor data, normalised, with what a DNG needs to be developed like the original."""

    data: np.ndarray  # float32 (H, W): (raw - black) / (white - black) per CFA position, visible area, stored
    # (sensor) orientation, not clipped (noise below black stays negative)
    cfa: str  # the 2x2 pattern at rows/cols (0,0),(0,1),(1,0),(1,1) of ``data``, e.g. "RGGB"
    white_level: float  # raw units
    black_levels: tuple[float, float, float, float]  # raw units, per 2x2 position in the same order as cfa
    color_matrix: np.ndarray  # 3x3 XYZ (D65) -> camera RGB (DNG ColorMatrix1 semantics)
    as_shot_neutral: np.ndarray  # (3,) camera RGB of a white under the shot's light, max 1
    orientation: int  # EXIF 1..8
    metadata: PhotoMetadata  # as photolab.core.io.read_metadata gives it
    noise_profile: tuple[tuple[float, float], ...] | None  # DNG NoiseProfile pairs (scale S, offset O):
    # variance = S * x + O in normalised units x, one pair per CFA colour plane or one for all; None: none in the file


@dataclass(frozen=True)
class ExposureTags:
    """The EXIF exposure values a DNG carries (None: not written)."""

    iso: int | None = None
    exposure_time: Fraction | None = None  # seconds
    f_number: Fraction | None = None
    focal_length: Fraction | None = None  # millimetres
    datetime: str | None = None  # EXIF "YYYY:MM:DD HH:MM:SS"
    offset_time: str | None = None  # "+HH:MM" of datetime
    lens: str | None = None

    @classmethod
    def from_metadata(cls, metadata: PhotoMetadata) -> ExposureTags:
        """The exposure values ``metadata`` knows."""
        datetime, offset = iso_to_exif_datetime(metadata.datetime)
        iso = int(round(min(metadata.iso, 65535))) if metadata.iso else None  # EXIF ISO is 16 bits
        return cls(iso, _fraction(metadata.shutter_seconds), _fraction(metadata.aperture),
                   _fraction(metadata.focal_length_mm), datetime, offset, metadata.lens)


def daylight_neutral(color_matrix: np.ndarray) -> np.ndarray:
    """Camera RGB of a D65 white through ``color_matrix`` (XYZ -> camera), normalised to max 1 (ones when the
    matrix gives no positive camera white)."""
    neutral = np.asarray(color_matrix, dtype=np.float64) @ D65_WHITE_XYZ
    return neutral / neutral.max() if np.all(neutral > 0) else np.ones(3)


def read_mosaic(path: str | Path, *, max_pixels: int | None = None) -> RawMosaic:
    """The Bayer mosaic of the camera RAW file at ``path`` (see RawMosaic), opened with the same checks as
    ``io.read_photo`` (``max_pixels`` overrides the pixel-count guard). A file that is not RAW, or whose sensor
    is no RGB Bayer mosaic (X-Trans, CYGM, monochrome, Foveon, a demosaiced DNG), raises UnsupportedFormatError."""
    path = Path(path)
    with io.opened_raw(path, max_pixels=max_pixels) as opened:
        metadata = raw.raw_metadata(path, opened, unpacked=False)  # before unpacking, as read_metadata reads it
        with raw.libraw_errors(path):
            cfa, colors = _visible_bayer_pattern(path, opened)
            blacks = np.asarray(opened.black_level_per_channel, dtype=np.float64)[colors.ravel()]
            white = float(opened.white_level)
            color_matrix = np.asarray(opened.rgb_xyz_matrix, dtype=np.float64)[:3].copy()
            multipliers = np.asarray(opened.camera_whitebalance, dtype=np.float64)[:3]
            if np.any(blacks >= white):
                raise CorruptFileError(f"{path}: the RAW file is damaged (its white level {white:g} is not above "
                                       f"its black level {blacks.max():g})")
            data = opened.raw_image_visible.astype(np.float32)  # a copy: LibRaw's buffer goes with the file
    for (row, col), black in zip(((0, 0), (0, 1), (1, 0), (1, 1)), blacks):
        phase = data[row::2, col::2]  # a view: normalised in place
        phase -= np.float32(black)
        phase *= np.float32(1.0 / (white - black))
    if np.all(np.isfinite(multipliers)) and np.all(multipliers > 0):
        neutral = (1.0 / multipliers) / (1.0 / multipliers).max()
    else:  # no as-shot white balance recorded: daylight
        neutral = daylight_neutral(color_matrix)
    return RawMosaic(data, cfa, white, tuple(float(black) for black in blacks), color_matrix, neutral,
                     metadata.orientation, metadata, _read_noise_profile(path))


def write_mosaic_dng(path: str | Path, mosaic: RawMosaic, *, software: str = "PhotoLab") -> Path:
    """Write ``mosaic`` as a 16-bit DNG at ``path`` (atomically) and return the path: its data re-levelled to
    black 2048 and white 65535 (rounded; values below -0.032 or above 1 clip), its colour, orientation, EXIF
    values and noise profile as tags. Failures to write raise FileAccessError."""
    data = np.asarray(mosaic.data, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"a mosaic is a 2-D array, not one of shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("a mosaic to write must be finite (this one holds NaN or infinity)")
    levels = np.float32(MOSAIC_WHITE_LEVEL - MOSAIC_BLACK_LEVEL)
    scaled = data * levels
    scaled += np.float32(MOSAIC_BLACK_LEVEL)
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, 65535, out=scaled)
    metadata = mosaic.metadata
    return write_bayer_dng(
        path, scaled.astype(np.uint16), cfa=mosaic.cfa, black_level=MOSAIC_BLACK_LEVEL,
        white_level=MOSAIC_WHITE_LEVEL, color_matrix=mosaic.color_matrix, as_shot_neutral=mosaic.as_shot_neutral,
        make=metadata.camera_make, model=metadata.camera_model, orientation=mosaic.orientation,
        exposure=ExposureTags.from_metadata(metadata), noise_profile=mosaic.noise_profile, software=software)


def write_bayer_dng(path: str | Path, mosaic: np.ndarray, *, cfa: str, black_level: int, white_level: int,
                    color_matrix: np.ndarray, as_shot_neutral: np.ndarray, make: str | None, model: str | None,
                    orientation: int | None = None, exposure: ExposureTags | None = None,
                    noise_profile: tuple[tuple[float, float], ...] | None = None,
                    software: str = "PhotoLab") -> Path:
    """Write a uint16 Bayer ``mosaic`` (raw units) as a DNG at ``path`` (atomically) with the tags LibRaw and
    other DNG readers need: DNGVersion, CFA pattern, uniform black and white level, ColorMatrix1 (D65),
    AsShotNeutral, Make/Model/UniqueCameraModel, and where given Orientation, the exposure values and
    NoiseProfile. Failures to write raise FileAccessError."""
    path = Path(path)
    neutral = np.asarray(as_shot_neutral, dtype=np.float64)
    camera = " ".join(_ascii(name) for name in (make, model) if name) or "Unknown camera"
    tags = [
        (TAG_DNG_VERSION, "B", 4, (1, 4, 0, 0), True),
        (TAG_DNG_BACKWARD_VERSION, "B", 4, (1, 1, 0, 0), True),
        (TAG_UNIQUE_CAMERA_MODEL, "s", 0, camera, True),
        (TAG_CFA_REPEAT_PATTERN_DIM, "H", 2, (2, 2), True),
        (TAG_CFA_PATTERN, "B", 4, cfa_codes(cfa), True),
        (TAG_CFA_PLANE_COLOR, "B", 3, (0, 1, 2), True),
        (TAG_CFA_LAYOUT, "H", 1, 1, True),
        (TAG_BLACK_LEVEL, "H", 1, black_level, True),
        (TAG_WHITE_LEVEL, "H", 1, white_level, True),
        (TAG_COLOR_MATRIX_1, "2i", 9, _rationals(np.ravel(color_matrix), 10_000), True),
        (TAG_CALIBRATION_ILLUMINANT_1, "H", 1, D65_ILLUMINANT, True),
        (TAG_AS_SHOT_NEUTRAL, "2I", 3, _rationals(neutral / neutral.max(), 1_000_000), True),
    ]
    if orientation is not None:
        tags.append((TAG_ORIENTATION, "H", 1, orientation, True))
    if exposure is not None:
        tags += _exposure_tags(exposure)
    if noise_profile:
        values = tuple(float(value) for pair in noise_profile for value in pair)
        tags.append((TAG_NOISE_PROFILE, "d", len(values), values, True))
    tags += [(tag, "s", 0, _ascii(name), True) for tag, name in ((TAG_MAKE, make), (TAG_MODEL, model)) if name]
    with atomic_path(path) as temporary:
        tifffile.imwrite(temporary, mosaic, photometric=tifffile.PHOTOMETRIC.CFA, metadata=None,
                         software=software, datetime=exposure.datetime if exposure is not None else None,
                         extratags=tags)
    return path


def cfa_codes(cfa: str) -> tuple[int, int, int, int]:
    """A 2x2 Bayer pattern such as "RGGB" as DNG CFAPattern codes (0 red, 1 green, 2 blue); ValueError for
    anything else."""
    if sorted(cfa.upper()) != ["B", "G", "G", "R"]:
        raise ValueError(f"unsupported CFA pattern {cfa!r}: a Bayer pattern has one R, two G and one B")
    return tuple(CFA_COLOR_INDEX[letter] for letter in cfa.upper())


def _visible_bayer_pattern(path: Path, opened) -> tuple[str, np.ndarray]:
    """The Bayer pattern at the top-left of LibRaw's visible area (which may start at an odd row or column
    of the sensor) as letters, and as LibRaw's 2x2 colour indices; UnsupportedFormatError for other sensors."""
    try:
        pattern = opened.raw_pattern
    except NotImplementedError:  # a colour filter layout rawpy does not describe (Leaf Catchlight, ...)
        pattern = np.zeros((0, 0))
    if pattern is None:
        kind = "has no colour filter mosaic (a Foveon sensor, or a DNG that is already demosaiced)"
    elif pattern.shape == (6, 6):
        kind = "comes from an X-Trans sensor (a 6x6 colour filter pattern)"
    elif pattern.shape == (1, 1) or opened.num_colors == 1:
        kind = "comes from a monochrome sensor (no colour filters)"
    elif pattern.shape != (2, 2):
        kind = f"has an unusual colour filter layout ({'x'.join(map(str, pattern.shape))})"
    else:
        sizes, description = opened.sizes, bytes(opened.color_desc).decode("ascii", "replace")
        colors = np.array([[opened.raw_color(sizes.top_margin + row, sizes.left_margin + col) for col in (0, 1)]
                           for row in (0, 1)])
        cfa = "".join(description[index] for index in colors.ravel())
        if sorted(cfa) == ["B", "G", "G", "R"]:
            return cfa, colors
        kind = f"comes from a four-colour sensor ({''.join(sorted(set(description)))})"
    raise UnsupportedFormatError(f"{path}: the RAW file {kind}; only RGB Bayer mosaics are supported")


def _read_noise_profile(path: Path) -> tuple[tuple[float, float], ...] | None:
    """The DNG NoiseProfile tag of a TIFF-based RAW file (in IFD0 or the raw sub-IFD) as (scale, offset)
    pairs; None when the file has none (or is not TIFF-based, or the tag is damaged: it is optional)."""
    try:
        with tifffile.TiffFile(path) as tiff:
            first = tiff.pages.first
            tags = [page.tags.get(TAG_NOISE_PROFILE) for page in (first, *(first.pages or ()))]
            values = next((np.asarray(tag.value, dtype=np.float64).ravel() for tag in tags if tag is not None),
                          None)
    except Exception as error:  # noqa: BLE001 - a RAW format tifffile cannot parse has no tag for us
        log.debug("%s: no NoiseProfile read (%s)", path, error)
        return None
    if values is None:
        return None
    if values.size not in (2, 6) or not np.isfinite(values).all():
        log.warning("%s: ignoring a NoiseProfile tag of %d values that are not 1 or 3 finite pairs", path,
                    values.size)
        return None
    return tuple((float(scale), float(offset)) for scale, offset in zip(values[::2], values[1::2]))


def _exposure_tags(exposure: ExposureTags) -> list[tuple]:
    """tifffile extratags for the exposure values that are known."""
    rationals = ((TAG_EXPOSURE_TIME, exposure.exposure_time), (TAG_F_NUMBER, exposure.f_number))
    tags = [(tag, "2I", 1, (value.numerator, value.denominator), True) for tag, value in rationals if value]
    if exposure.iso:
        tags.append((TAG_ISO, "H", 1, exposure.iso, True))
    if exposure.datetime:
        tags.append((TAG_DATETIME_ORIGINAL, "s", 0, exposure.datetime, True))
    if exposure.offset_time:
        tags.append((TAG_OFFSET_TIME_ORIGINAL, "s", 0, exposure.offset_time, True))
    if exposure.focal_length:
        tags.append((TAG_FOCAL_LENGTH, "2I", 1, (exposure.focal_length.numerator,
                                                 exposure.focal_length.denominator), True))
    if exposure.lens:
        tags.append((TAG_LENS_MODEL, "s", 0, _ascii(exposure.lens), True))
    return tags


def _fraction(value: float | None) -> Fraction | None:
    """A positive EXIF value as a rational (None when unknown)."""
    return Fraction(value).limit_denominator(1_000_000) if value and value > 0 else None


def _rationals(values: np.ndarray, denominator: int) -> tuple[int, ...]:
    """TIFF (S)RATIONAL numerator, denominator pairs of ``values`` with a fixed denominator."""
    out: list[int] = []
    for value in values:
        out += [int(round(float(value) * denominator)), denominator]
    return tuple(out)


def _ascii(text: str) -> str:
    """``text`` as TIFF ASCII can hold it (other characters become "?")."""
    return text.encode("ascii", "replace").decode("ascii")
