"""Hostile files for fuzzing the readers: small valid seeds in every format, and deterministic mutants of them.

:func:`make_seeds` writes small real images (JPEG, PNG, TIFF, WebP, DNG) with independent writers (Pillow,
OpenCV, tifffile, ``utils.dng``); :func:`generate` derives mutants from them, the same list for the same
``seed``: byte flips, truncation, TIFF/DNG tag tampering (type, count, value, offset of the structural tags),
PNG IHDR and JPEG SOF dimensions, splices of two files, wrong extensions, decompression bombs, 1x1 and 1xN
images, extreme float values (NaN, infinity), sparse multi-GB tails, text under image names, special files
(symlink loops, FIFOs, /dev/zero, folders named like photos, unreadable files) and odd names.
:meth:`Mutant.create` makes one on disk.
"""

from __future__ import annotations

import io
import os
import random
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

from utils.dng import write_dng
from utils.images import load_fixture, make_exif

KINDS = ("flip", "truncate", "tiff_tag", "png_ihdr", "jpeg_sof", "splice", "wrong_ext", "bomb", "tiny", "extreme",
         "tail", "text", "special", "odd_name")
"""Every mutation kind, in the order :func:`quick_set` cycles through them."""

SPECIALS = ("loop", "devzero", "fifo", "folder", "unreadable", "dangling", "symlink")
TIFF_STRUCTURE_TAGS = (256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 322, 323, 324, 325, 339)
DNG_TAGS = (33421, 33422, 50706, 50714, 50717, 50721, 50728)
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8}
_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".dng", ".cr2", ".nef", ".JPG", ".txt", "")
_ODD_NAMES = ("holiday photo {i}{ext}", "ф о т о — été {i}{ext}", "-rf{i}{ext}", "--help{i}{ext}",
              " leading {i}{ext}", "x" * 150 + "{i}{ext}", "日本の写真{i}{ext}", "$(echo {i}){ext}",
              "a;b'c\"d{i}{ext}", "two..dots{i}{ext}")
_FORMAT_SUFFIX = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp", "dng": ".dng"}


@dataclass(frozen=True)
class Seed:
    """A valid file to mutate: its bytes, format ("jpeg", "png", "tiff", "webp", "dng") and suffix."""

    name: str
    data: bytes
    file_format: str

    @property
    def suffix(self) -> str:
        return _FORMAT_SUFFIX[self.file_format]


@dataclass(frozen=True)
class Mutant:
    """One hostile file: ``data`` followed by ``tail`` bytes of sparse zeros, or a ``special`` file."""

    name: str
    kind: str
    seed: str
    detail: str
    data: bytes = b""
    tail: int = 0
    special: str = ""

    def create(self, folder: Path) -> Path:
        """Make the mutant inside ``folder`` (which must exist) and return its path."""
        path = Path(folder) / self.name
        if self.special == "loop":
            path.symlink_to(path.name)
        elif self.special == "devzero":
            path.symlink_to("/dev/zero")
        elif self.special == "fifo":
            os.mkfifo(path)
        elif self.special == "folder":
            path.mkdir()
            (path / "inside.jpg").write_bytes(self.data)
        elif self.special == "dangling":
            path.symlink_to(folder / "no-such-target.jpg")
        elif self.special == "symlink":
            target = Path(folder) / f".target-{self.name}"
            target.write_bytes(self.data)
            path.symlink_to(target.name)
        else:
            path.write_bytes(self.data)
            if self.tail:
                os.truncate(path, len(self.data) + self.tail)  # a hole: no disk space used
            if self.special == "unreadable":
                path.chmod(0)
        return path

    def readable_by(self, command: str) -> bool:
        """True when the mutant is a sound image that ``command`` must succeed on: a photo under another
        name, with a sparse tail (LibRaw refuses any file over 2 GB, so not a DNG), behind a symlink;
        1x1 and NaN images for info and develop (classifiers refuse them)."""
        sound = self.kind in ("wrong_ext", "odd_name") or self.special == "symlink" \
            or self.kind == "tail" and self.seed != "dng"
        return sound or self.kind in ("tiny", "extreme") and command in ("info", "develop")


def make_seeds(size: tuple[int, int] = (48, 32)) -> list[Seed]:
    """Small valid files in every readable format (``size`` = (width, height) of most of them)."""
    width, height = size
    photo = cv2.resize(load_fixture("fig_bowl"), (width, height), interpolation=cv2.INTER_AREA)
    photo16 = photo.astype(np.uint16) * 257
    seeds = [
        Seed("jpeg", _pillow(photo, "JPEG", quality=90, exif=make_exif(6)), "jpeg"),
        Seed("jpeg_progressive", _pillow(photo, "JPEG", quality=80, progressive=True), "jpeg"),
        Seed("png", _pillow(photo, "PNG", exif=make_exif(3)), "png"),
        Seed("png16", cv2.imencode(".png", photo16[:, :, ::-1])[1].tobytes(), "png"),
        Seed("png_palette", _pillow(photo, "PNG", convert="P"), "png"),
        Seed("png_grey_alpha", _pillow(photo, "PNG", convert="LA"), "png"),
        Seed("tiff", _tiff(photo, extratags=[(274, "H", 1, 6, True)]), "tiff"),
        Seed("tiff16_big_endian", _tiff(photo16, byteorder=">"), "tiff"),
        Seed("tiff_deflate", _tiff(photo, compression="zlib", rowsperstrip=8), "tiff"),
        Seed("tiff_lzw", _pillow(photo, "TIFF", compression="tiff_lzw"), "tiff"),
        Seed("tiff_float", _tiff(photo.astype(np.float32) / 255.0), "tiff"),
        Seed("webp", _pillow(photo, "WEBP", quality=80), "webp"),
        Seed("webp_lossless", _pillow(photo, "WEBP", lossless=True), "webp"),
        Seed("dng", _dng(photo), "dng"),
    ]
    return seeds


def generate(count: int, seed: int = 0, seeds: list[Seed] | None = None, kinds=KINDS) -> list[Mutant]:
    """``count`` mutants, the same ones for the same ``seed``: kinds drawn in turn from ``kinds``."""
    rng = random.Random(seed)
    seeds = seeds if seeds is not None else make_seeds()
    mutants = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        mutant = _MAKERS[kind](rng, seeds)
        if kind == "odd_name":
            name = mutant.name.replace("{i}", f"{index:05d}")
        else:
            name = f"{index:05d}-{kind}-{mutant.seed or 'none'}{mutant.name}"
        mutants.append(Mutant(name, kind, mutant.seed, mutant.detail, mutant.data, mutant.tail, mutant.special))
    return mutants


def quick_set(seed: int = 0, per_kind: int = 4, seeds: list[Seed] | None = None) -> list[Mutant]:
    """A small deterministic set (the test suite's fast set): ``per_kind`` mutants of every kind, and one
    special file of every sort."""
    seeds = seeds if seeds is not None else make_seeds()
    kinds = tuple(kind for kind in KINDS if kind != "special")
    mutants = generate(per_kind * len(kinds), seed, seeds, kinds)
    source = seeds[0]
    for special in SPECIALS:
        mutants.append(Mutant(f"{len(mutants):05d}-special-{special}{source.suffix}", "special", source.name,
                              special, source.data, special=special))
    return mutants


# --- seeds -------------------------------------------------------------------------------------------------

def _pillow(pixels: np.ndarray, file_format: str, convert: str | None = None, **options) -> bytes:
    image = Image.fromarray(pixels)
    if convert:
        image = image.convert(convert)
    buffer = io.BytesIO()
    image.save(buffer, format=file_format, **options)
    return buffer.getvalue()


def _tiff(pixels: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    photometric = "rgb" if pixels.ndim == 3 else "minisblack"
    tifffile.imwrite(buffer, pixels, photometric=photometric, metadata=None, **options)
    return buffer.getvalue()


def _dng(photo: np.ndarray) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return write_dng(Path(folder) / "seed.dng", photo).path.read_bytes()


# --- mutations ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Made:
    name: str  # suffix (or the whole name, for odd_name)
    seed: str
    detail: str
    data: bytes = b""
    tail: int = 0
    special: str = ""


def _pick(rng: random.Random, seeds: list[Seed], *formats: str) -> Seed:
    matching = [s for s in seeds if not formats or s.file_format in formats]
    return rng.choice(matching)


def _flip(rng, seeds):
    seed = _pick(rng, seeds)
    data = bytearray(seed.data)
    flips = rng.choice((1, 2, 4, 16))
    span = len(data) if rng.random() < 0.5 else min(len(data), 512)  # half of them hit the header
    for _ in range(flips):
        data[rng.randrange(span)] = rng.randrange(256)
    return _Made(seed.suffix, seed.name, f"{flips} byte(s) in the first {span}", bytes(data))


def _truncate(rng, seeds):
    seed = _pick(rng, seeds)
    keep = rng.choice((rng.randrange(1, 64), rng.randrange(1, len(seed.data))))
    return _Made(seed.suffix, seed.name, f"first {keep} of {len(seed.data)} bytes", seed.data[:keep])


def _tiff_tag(rng, seeds):
    seed = _pick(rng, seeds, "tiff", "dng")
    entries = tiff_entries(seed.data)
    wanted = [t for t in TIFF_STRUCTURE_TAGS + (DNG_TAGS if seed.file_format == "dng" else ()) if t in entries]
    tag = rng.choice(wanted)
    field = rng.choice(("type", "count", "value", "value", "offset", "ifd"))
    if field == "type":
        change = {"kind": rng.choice((0, 1, 2, 3, 4, 5, 7, 11, 12, 16, 99))}
    elif field == "count":
        change = {"count": rng.choice((0, 2, 3, 255, 65535, 0x7FFFFFFF, 0xFFFFFFFF))}
    elif field == "value":
        change = {"value": rng.choice((0, 1, 2, 3, 255, 256, 65535, 65536, 0x7FFFFFFF, 0xFFFFFFFF,
                                       rng.randrange(1 << 32))),
                  "element": rng.randrange(max(1, min(entries[tag][1], 4)))}
    elif field == "offset":
        change = {"offset": rng.choice((0, 8, len(seed.data) - 2, len(seed.data) + 1000, 0xFFFFFFFF))}
    else:
        data = bytearray(seed.data)
        order = "<" if data[:2] == b"II" else ">"
        ifd = struct.unpack_from(order + "I", data, 4)[0]
        if rng.random() < 0.5:
            new = rng.choice((0, 1, len(data) - 4, 0xFFFFFFF0, ifd + 2))
            struct.pack_into(order + "I", data, 4, new)
            return _Made(seed.suffix, seed.name, f"IFD offset {ifd} -> {new}", bytes(data))
        new = rng.choice((0, 1, 0xFFFF))
        struct.pack_into(order + "H", data, ifd, new)
        return _Made(seed.suffix, seed.name, f"IFD entry count -> {new}", bytes(data))
    detail = f"tag {tag} " + ", ".join(f"{key} {value}" for key, value in change.items())
    return _Made(seed.suffix, seed.name, detail, tamper_tiff_tag(seed.data, tag, **change))


def tiff_entries(data: bytes) -> dict[int, tuple[int, int, int]]:
    """IFD0 of a classic TIFF: {tag: (type, count, position of the 12-byte entry)}."""
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack_from(order + "I", data, 4)[0]
    entries = {}
    for index in range(struct.unpack_from(order + "H", data, ifd)[0]):
        at = ifd + 2 + 12 * index
        tag, kind, count = struct.unpack_from(order + "HHI", data, at)
        entries[tag] = (kind, count, at)
    return entries


def tamper_tiff_tag(data: bytes, tag: int, *, kind: int | None = None, count: int | None = None,
                    value: int | None = None, element: int = 0, offset: int | None = None) -> bytes:
    """``data`` (a classic TIFF) with IFD0's entry for ``tag`` changed: one element's ``value`` (written in
    the entry's own type, wherever the values are stored), then its ``kind`` (type), ``count``, or the
    ``offset`` field that points at its values."""
    data = bytearray(data)
    order = "<" if data[:2] == b"II" else ">"
    old_kind, old_count, at = tiff_entries(data)[tag]
    if value is not None:
        size = _TYPE_SIZES.get(old_kind, 1)
        where = at + 8 if size * old_count <= 4 else struct.unpack_from(order + "I", data, at + 8)[0]
        code = {1: "B", 3: "H", 4: "I", 8: "h", 9: "i"}.get(old_kind, "I" if size >= 4 else "B")
        where += element * size
        if where + struct.calcsize(code) <= len(data):
            struct.pack_into(order + code, data, where, value & ((1 << (8 * struct.calcsize(code))) - 1))
    if kind is not None:
        struct.pack_into(order + "H", data, at + 2, kind)
    if count is not None:
        struct.pack_into(order + "I", data, at + 4, count)
    if offset is not None:
        struct.pack_into(order + "I", data, at + 8, offset)
    return bytes(data)


def _png_ihdr(rng, seeds):
    seed = _pick(rng, seeds, "png")
    data = bytearray(seed.data)
    field = rng.choice(("width", "height", "both", "depth", "colour", "interlace"))
    if field in ("width", "height", "both"):
        value = rng.choice((0, 1, 2, 65535, 1 << 20, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1, 5000)))
        if field in ("width", "both"):
            struct.pack_into(">I", data, 16, value)
        if field in ("height", "both"):
            struct.pack_into(">I", data, 20, value)
    else:
        value = rng.choice((0, 1, 3, 5, 7, 9, 17, 255))
        data[{"depth": 24, "colour": 25, "interlace": 28}[field]] = value
    fixed = rng.random() < 0.8  # most keep a valid CRC, so the reader meets the values themselves
    if fixed:
        struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return _Made(seed.suffix, seed.name, f"IHDR {field} -> {value}{'' if fixed else ', CRC left wrong'}",
                 bytes(data))


def _jpeg_sof(rng, seeds):
    seed = _pick(rng, seeds, "jpeg")
    data = bytearray(seed.data)
    at = _find_sof(data)
    field = rng.choice(("height", "width", "both", "precision", "components", "sampling", "table"))
    if field in ("height", "width", "both"):
        value = rng.choice((0, 1, 2, 65535, 65500, rng.randrange(1, 8000)))
        if field in ("height", "both"):
            struct.pack_into(">H", data, at + 5, value)
        if field in ("width", "both"):
            struct.pack_into(">H", data, at + 7, value)
    else:
        offset = {"precision": 4, "components": 9, "sampling": 11, "table": 12}[field]
        value = rng.choice((0, 1, 2, 4, 12, 16, 0x44, 0x11, 0xFF))
        data[at + offset] = value
    return _Made(seed.suffix, seed.name, f"SOF {field} -> {value}", bytes(data))


def _find_sof(data: bytes) -> int:
    position = 2
    while position + 4 <= len(data):
        marker, length = data[position + 1], struct.unpack_from(">H", data, position + 2)[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return position
        position += 2 + length
    raise ValueError("no SOF marker")


def _splice(rng, seeds):
    first, second = _pick(rng, seeds), _pick(rng, seeds)
    cut_first = rng.randrange(1, len(first.data))
    cut_second = rng.randrange(len(second.data))
    return _Made(first.suffix, f"{first.name}+{second.name}",
                 f"{first.name}[:{cut_first}] + {second.name}[{cut_second}:]",
                 first.data[:cut_first] + second.data[cut_second:])


def _wrong_ext(rng, seeds):
    seed = _pick(rng, seeds)
    suffix = rng.choice([s for s in _EXTENSIONS if s.lower() != seed.suffix])
    return _Made(suffix, seed.name, f"{seed.file_format} named {suffix or '(no suffix)'}", seed.data)


def _bomb(rng, seeds):
    form = rng.choice(("png", "png", "jpeg", "tiff", "webp", "dng"))
    if form == "png":
        side = rng.choice((65535, 30000, 20000))
        return _Made(".png", "", f"PNG {side}x{side} of zeros, deflated", png_bomb(side, side))
    seed = _pick(rng, seeds, form)
    data = bytearray(seed.data)
    side = rng.choice((65535, 65500, 30000))
    if form == "jpeg":
        at = _find_sof(data)
        struct.pack_into(">HH", data, at + 5, side, side)
    elif form == "webp":
        data = bytearray(webp_canvas(seed.data, min(side, 16384), min(side, 16384)))
        side = min(side, 16384)
    else:
        order = "<" if data[:2] == b"II" else ">"
        ifd = struct.unpack_from(order + "I", data, 4)[0]
        for i in range(struct.unpack_from(order + "H", data, ifd)[0]):
            at = ifd + 2 + 12 * i
            tag, kind = struct.unpack_from(order + "HH", data, at)
            if tag in (256, 257):
                struct.pack_into(order + "HHI", data, at, tag, 4, 1)
                struct.pack_into(order + "I", data, at + 8, side)
    return _Made(seed.suffix, seed.name, f"{form} header claims {side}x{side}", bytes(data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of ``width`` x ``height`` zeros: a few MB that inflate to width x height bytes,
    built without compressing them (deflate blocks of zeros repeat exactly after a full flush)."""
    raw_size = height * (width + 1)  # a filter byte per row
    block = 1 << 22
    compressor = zlib.compressobj(9)
    head = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(raw_size, block)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate for the remainder, then the final block
    ending = tail.compress(bytes(rest)) + tail.flush()
    adler = ((raw_size % 65521) << 16) | 1  # adler32 of raw_size zero bytes
    stream = head + body * (full - 1) + ending + struct.pack(">I", adler) if full else zlib.compress(bytes(raw_size))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", stream) + png_chunk(b"IEND", b"")


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def webp_canvas(data: bytes, width: int, height: int) -> bytes:
    """A WebP file with a VP8X chunk that claims a ``width`` x ``height`` canvas in front of its image."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (width - 1).to_bytes(3, "little") \
        + (height - 1).to_bytes(3, "little")
    body = data[12:]
    if body[:4] == b"VP8X":
        body = body[18:]
    content = b"WEBP" + vp8x + body
    return b"RIFF" + struct.pack("<I", len(content)) + content


def _tiny(rng, seeds):
    width, height = rng.choice(((1, 1), (1, 7), (7, 1), (1, 300), (300, 1), (2, 2), (15, 40)))
    form = rng.choice(("jpeg", "png", "tiff", "webp"))
    pixels = np.full((height, width, 3), 128, np.uint8)
    if form == "tiff":
        data = _tiff(pixels)
    else:
        data = _pillow(pixels, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[form])
    return _Made(_FORMAT_SUFFIX[form], "", f"{form} {width}x{height}", data)


def _extreme(rng, seeds):
    values = rng.choice(("nan", "inf", "-inf", "huge", "negative", "mixed"))
    pixels = np.full((32, 48, 3), 0.5, np.float32)
    special = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 3e38, "negative": -1.0}
    if values == "mixed":
        pixels[::2, ::3] = np.nan
        pixels[1::2, ::5] = np.inf
    else:
        pixels[rng.randrange(32), :, rng.randrange(3)] = special[values]
    grey = rng.random() < 0.3
    return _Made(".tif", "", f"float TIFF with {values} values{' (grey)' if grey else ''}",
                 _tiff(pixels[:, :, 0] if grey else pixels))


def _tail(rng, seeds):
    seed = _pick(rng, seeds)
    gib = rng.choice((1, 2, 7))
    return _Made(seed.suffix, seed.name, f"{gib} GiB sparse tail", seed.data, tail=gib << 30)


def _text(rng, seeds):
    suffix = rng.choice(_EXTENSIONS)
    text = rng.choice(("hello\n", "These are my holiday notes, not a photo.\n" * 20, "{}", "#!/bin/sh\necho hi\n",
                       "P3\n1 1\n255\n0 0 0\n", "é" * 3))
    return _Made(suffix, "", f"text named {suffix or '(no suffix)'}", text.encode())


def _special(rng, seeds):
    special = rng.choice(SPECIALS)
    seed = _pick(rng, seeds)
    suffix = seed.suffix if special in ("symlink", "unreadable", "folder") else rng.choice((".jpg", ".dng", ".png"))
    return _Made(suffix, seed.name if special in ("symlink", "unreadable", "folder") else "", special,
                 seed.data, special=special)


def _odd_name(rng, seeds):
    seed = _pick(rng, seeds)
    name = rng.choice(_ODD_NAMES).replace("{ext}", seed.suffix)  # "{i}" becomes the mutant's number
    return _Made(name, seed.name, f"named {name!r}", seed.data)


_MAKERS = {"flip": _flip, "truncate": _truncate, "tiff_tag": _tiff_tag, "png_ihdr": _png_ihdr,
           "jpeg_sof": _jpeg_sof, "splice": _splice, "wrong_ext": _wrong_ext, "bomb": _bomb, "tiny": _tiny,
           "extreme": _extreme, "tail": _tail, "text": _text, "special": _special, "odd_name": _odd_name}
