"""Photo metadata: EXIF values, EXIF orientation, and a small TIFF-tag reader for camera RAW files.

Pillow parses EXIF of ordinary images. Camera RAW files are mostly TIFF inside (DNG, CR2, NEF, ARW, PEF,
ORF and RW2 with their own magic numbers...), and the rest embed TIFF structures (CR3's CMT boxes, RAF's
preview JPEG), so ``read_raw_tags`` looks for TIFF headers near the start of the file and reads the few
tags we show; no third-party EXIF library is needed.
"""

from __future__ import annotations

import datetime as _datetime
import logging
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

# TIFF / EXIF tag numbers we read or write.
MAKE, MODEL, ORIENTATION, SOFTWARE, DATETIME = 271, 272, 274, 305, 306
EXIF_IFD_POINTER = 34665
EXPOSURE_TIME, F_NUMBER, ISO_SPEED = 33434, 33437, 34855
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 36867, 36881
FOCAL_LENGTH, LENS_MODEL = 37386, 42036
UNIQUE_CAMERA_MODEL, WHITE_LEVEL = 50708, 50717
WANTED_TAGS = {MAKE, MODEL, ORIENTATION, DATETIME, EXIF_IFD_POINTER, EXPOSURE_TIME, F_NUMBER, ISO_SPEED,
               DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, FOCAL_LENGTH, LENS_MODEL, UNIQUE_CAMERA_MODEL, WHITE_LEVEL}

# How each EXIF orientation (1..8) is turned upright, on arrays indexed [row, column, ...].
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # upside down
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),  # transposed
    6: lambda a: np.rot90(a, -1),  # needs a quarter turn clockwise
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),  # transverse
    8: lambda a: np.rot90(a, 1),  # needs a quarter turn counter-clockwise
}
# LibRaw's ``sizes.flip`` code -> EXIF orientation.
LIBRAW_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels as they should be seen, given the EXIF orientation they were stored with (contiguous copy
    unless nothing changes)."""
    transform = _UPRIGHT.get(int(orientation), _UPRIGHT[1])
    if transform is _UPRIGHT[1]:
        return pixels
    return np.ascontiguousarray(transform(pixels))


def orientation_swaps_axes(orientation: int) -> bool:
    """True for the orientations (5..8) whose upright image has width and height exchanged."""
    return int(orientation) in (5, 6, 7, 8)


def valid_orientation(value: Any) -> int:
    """An EXIF orientation value as 1..8 (anything else counts as 1, "as stored")."""
    try:
        value = int(value[0] if isinstance(value, (tuple, list)) else value)
    except (TypeError, ValueError, IndexError):
        return 1
    return value if 1 <= value <= 8 else 1


def exif_datetime_to_iso(value: Any, offset: Any = None) -> str | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" (plus an optional "+HH:MM" offset) as ISO 8601; None if not a date."""
    text = _text(value)
    if not text:
        return None
    try:
        moment = _datetime.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    iso = moment.isoformat()
    offset_text = _text(offset)
    if offset_text and len(offset_text) == 6 and offset_text[0] in "+-" and offset_text[3] == ":":
        iso += offset_text
    return iso


def iso_to_exif_datetime(value: str | None) -> tuple[str | None, str | None]:
    """ISO 8601 as EXIF's "YYYY:MM:DD HH:MM:SS" and "+HH:MM" offset (None for what is not there)."""
    try:
        moment = _datetime.datetime.fromisoformat(value or "")
    except ValueError:
        return None, None
    offset = moment.utcoffset()
    if offset is None:
        return moment.strftime("%Y:%m:%d %H:%M:%S"), None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return moment.strftime("%Y:%m:%d %H:%M:%S"), f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def exposure_values(tags: dict[int, Any]) -> dict[str, Any]:
    """The PhotoMetadata fields found in a flat {tag: value} dict of IFD0 and EXIF tags."""
    make = _text(tags.get(MAKE))
    model = _text(tags.get(MODEL)) or _text(tags.get(UNIQUE_CAMERA_MODEL))
    if make and model and model.lower().startswith(make.lower() + " ") and MODEL not in tags:
        model = model[len(make) + 1:]  # UniqueCameraModel usually repeats the make
    date = exif_datetime_to_iso(tags.get(DATETIME_ORIGINAL), tags.get(OFFSET_TIME_ORIGINAL)) \
        or exif_datetime_to_iso(tags.get(DATETIME))
    return {
        "camera_make": make,
        "camera_model": model,
        "lens": _text(tags.get(LENS_MODEL)),
        "iso": _positive(tags.get(ISO_SPEED)),
        "shutter_seconds": _positive(tags.get(EXPOSURE_TIME)),
        "aperture": _positive(tags.get(F_NUMBER)),
        "focal_length_mm": _positive(tags.get(FOCAL_LENGTH)),
        "datetime": date,
    }


def pillow_exif_tags(exif) -> dict[int, Any]:
    """Flatten a Pillow ``Image.Exif`` (IFD0 plus the EXIF sub-IFD) into {tag: value}."""
    from PIL import ExifTags

    tags = {int(k): v for k, v in exif.items()}
    try:
        tags.update({int(k): v for k, v in exif.get_ifd(ExifTags.IFD.Exif).items()})
    except Exception as exc:  # noqa: BLE001 - a damaged EXIF sub-IFD only costs us some metadata
        log.debug("EXIF sub-IFD unreadable: %s", exc)
    return tags


def read_raw_tags(header: bytes) -> dict[int, Any]:
    """Tags from the TIFF structures in the first bytes of a camera RAW file ({} when there are none).

    The file's own TIFF header is read first (whatever its magic number); if make or model are still
    missing, TIFF headers embedded further on (CR3 metadata boxes, preview JPEGs) fill the gaps.
    """
    tags: dict[int, Any] = {}
    starts = [0] if header[:2] in (b"II", b"MM") else []
    for marker in (b"II*\x00", b"MM\x00*"):
        position = header.find(marker, 1)
        while position != -1 and len(starts) < 8:
            starts.append(position)
            position = header.find(marker, position + 1)
    for start in sorted(set(starts)):
        for tag, value in _parse_tiff(header, start).items():
            tags.setdefault(tag, value)
        if MAKE in tags and MODEL in tags and EXPOSURE_TIME in tags:
            break
    return tags


_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


def _parse_tiff(data: bytes, start: int) -> dict[int, Any]:
    """The wanted tags of IFD0 and its EXIF sub-IFD of the TIFF structure at ``start`` (bounds-checked)."""
    order = {b"II": "<", b"MM": ">"}.get(data[start:start + 2])
    if order is None or start + 8 > len(data):
        return {}
    (ifd_offset,) = struct.unpack_from(order + "I", data, start + 4)
    tags: dict[int, Any] = {}
    visited: set[int] = set()
    pending = [ifd_offset]
    while pending and len(visited) < 4:
        offset = pending.pop()
        if offset in visited or not 0 < start + offset + 2 <= len(data):
            continue
        visited.add(offset)
        for tag, value in _parse_ifd(data, start, offset, order).items():
            if tag == EXIF_IFD_POINTER and isinstance(value, int):
                pending.append(value)
            else:
                tags.setdefault(tag, value)
    return tags


def _parse_ifd(data: bytes, start: int, offset: int, order: str) -> dict[int, Any]:
    position = start + offset
    (count,) = struct.unpack_from(order + "H", data, position)
    if count > 1000:
        return {}
    tags: dict[int, Any] = {}
    for index in range(count):
        entry = position + 2 + 12 * index
        if entry + 12 > len(data):
            break
        tag, kind, number = struct.unpack_from(order + "HHI", data, entry)
        if tag not in WANTED_TAGS or kind not in _TYPE_SIZES or number == 0 or number > 4096:
            continue
        size = _TYPE_SIZES[kind] * number
        value_at = entry + 8 if size <= 4 else start + struct.unpack_from(order + "I", data, entry + 8)[0]
        if value_at + size > len(data):
            continue
        tags[tag] = _decode_value(data, value_at, kind, number, order)
    return tags


_SUB_IFDS = 330
_DATA_TAGS = {273: 279, 324: 325, 513: 514}  # strip, tile and JPEG offsets -> their byte counts
_LAYOUT_TAGS = (256, 257, 258, 259, 277)  # width, length, bits per sample, compression, samples per pixel
_MAX_IFDS = 32
_MAX_SEGMENTS = 1 << 20


@dataclass(frozen=True)
class TiffExtent:
    """How far into a TIFF-based file its structures reach: ``structure``, the end of the last IFD (IFD0,
    those chained after it, their sub-IFDs) or tag value; ``data``, the end of the last strip, tile or JPEG
    preview (for uncompressed strips, of the rows the image's size calls for: LibRaw reads them whatever the
    byte counts say). Either beyond the end of the file means it is truncated."""

    structure: int
    data: int


def tiff_extent(read_at: Callable[[int, int], bytes]) -> TiffExtent | None:
    """The :class:`TiffExtent` of a classic TIFF-based file (None without a classic TIFF header: BigTIFF,
    CR3, RAF...). ``read_at(offset, size)`` returns the file's bytes there (fewer at its end). The EXIF
    sub-IFD counts for data only (cameras write odd offsets there); values are not checked."""
    header = read_at(0, 8)
    order = {b"II": "<", b"MM": ">"}.get(header[:2])
    if order is None or len(header) < 8 or struct.unpack_from(order + "H", header, 2)[0] != 42:
        return None
    pending, visited = [(struct.unpack_from(order + "I", header, 4)[0], False)], set()
    structure = data = 0
    while pending and len(visited) < _MAX_IFDS:
        offset, in_exif = pending.pop()
        if not offset or offset in visited:
            continue
        visited.add(offset)
        count, entries = _ifd_entries(read_at, offset, order)
        end = offset + 2 + 12 * count + 4
        if not in_exif:
            structure = max(structure, end, *(at + size for _, _, _, at, size in entries if size > 4))
        values = {}
        for tag, kind, number, at, _ in entries:
            if tag in (_SUB_IFDS, EXIF_IFD_POINTER) or tag in _DATA_TAGS or tag in _DATA_TAGS.values():
                values[tag] = _read_integers(read_at, at, kind, min(number, _MAX_SEGMENTS), order)
                if tag in (_SUB_IFDS, EXIF_IFD_POINTER):
                    pending += [(value, in_exif or tag == EXIF_IFD_POINTER) for value in values[tag]]
            elif tag in _LAYOUT_TAGS:
                values[tag] = _read_integers(read_at, at, kind, 1, order)
        for offsets_tag, counts_tag in _DATA_TAGS.items():
            for start, size in zip(values.get(offsets_tag, ()), values.get(counts_tag, ())):
                data = max(data, start + size)
        width, length, bits, compression, samples = (next(iter(values.get(tag, ())), 0) for tag in _LAYOUT_TAGS)
        if compression == 1 and values.get(273):  # uncompressed strips: the rows the size calls for
            data = max(data, values[273][0] + width * length * max(samples, 1) * bits // 8)
        following = read_at(end - 4, 4)
        if len(following) == 4:
            pending.append((struct.unpack(order + "I", following)[0], in_exif))
    return TiffExtent(structure, data)


def _ifd_entries(read_at, offset: int, order: str) -> tuple[int, list[tuple[int, int, int, int, int]]]:
    """The entry count of the IFD at ``offset`` and (tag, type, count, where the value is, its size in bytes)
    of each entry that could be read."""
    count_bytes = read_at(offset, 2)
    if len(count_bytes) < 2:
        return 0, []
    count = struct.unpack(order + "H", count_bytes)[0]
    table = read_at(offset + 2, 12 * count)
    entries = []
    for index in range(len(table) // 12):
        tag, kind, number = struct.unpack_from(order + "HHI", table, 12 * index)
        size = _TYPE_SIZES.get(kind, 0) * number
        at = offset + 2 + 12 * index + 8 if size <= 4 else struct.unpack_from(order + "I", table, 12 * index + 8)[0]
        entries.append((tag, kind, number, at, size))
    return count, entries


def _read_integers(read_at, at: int, kind: int, number: int, order: str) -> list[int]:
    """``number`` integers at ``at`` the way LibRaw reads offsets and counts: SHORTs as SHORTs, any other
    type (even a damaged one) as 4-byte integers."""
    code = "H" if kind == 3 else "I"
    size = struct.calcsize(code)
    data = read_at(at, number * size)
    whole = len(data) // size
    return list(struct.unpack(f"{order}{whole}{code}", data[:whole * size]))


def _decode_value(data: bytes, at: int, kind: int, number: int, order: str) -> Any:
    if kind in (2, 7):
        return data[at:at + number].split(b"\x00", 1)[0].decode("latin-1").strip()
    if kind in (5, 10):
        code = "I" if kind == 5 else "i"
        pairs = struct.unpack_from(order + code * (2 * number), data, at)
        values = [Fraction(n, d) if d else None for n, d in zip(pairs[::2], pairs[1::2])]
    else:
        code = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d"}[kind]
        values = list(struct.unpack_from(order + code * number, data, at))
    return values[0] if number == 1 else tuple(values)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.split(b"\x00", 1)[0].decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    return value or None


def _positive(value: Any) -> float | None:
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if np.isfinite(number) and number > 0 else None
