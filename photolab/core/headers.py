"""What an image file claims about itself, checked before a decoder allocates or reads anything more.

Hostile or damaged files lie in their headers: a zero or absurd size, 255 samples per pixel, an image
larger than the file could ever hold, data that runs past the end. The checks here read only headers and
chunk lists (seeking over the data) and raise a CorruptFileError that names the file, so a decoder never
sees such a file:

* :class:`FileView` exposes only the first bytes of an open file that a decoder may need, so a valid image
  followed by gigabytes of junk costs no more than the image itself.
* :func:`png_layout` and :func:`webp_layout` walk the chunks of PNG and WebP files (size, where the data
  ends, the EXIF chunk); :func:`png_for_libpng` checks what libpng would complain about on stderr (chunk
  checksums, the compressed stream, the row filters of its first megabytes) before libpng sees the bytes.
* :func:`check_tiff_page` checks what tifffile parsed of a TIFF's first page.
* :func:`check_plausible` compares the pixels a header claims with the bytes that hold them: no codec we
  read compresses better than :data:`MAX_COMPRESSION` to one (deflate's limit is 1032).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from photolab.core.errors import CorruptFileError, UnsupportedFormatError

MAX_COMPRESSION = {"png": 1100, "jpeg": 4096, "tiff": 4096, "tiff-uncompressed": 1, "raw": 256}
"""Largest ratio of claimed image bytes to stored bytes a real file reaches, by format (``raw``: pixels per
byte of a camera RAW file). Beyond it the header is damaged, however big the file is."""

MAX_CHUNKS = 1 << 20
"""PNG/WebP files with more chunks than this are refused (real files have a few dozen to a few thousand)."""

MAX_METADATA_CHUNK = 1 << 20
"""An EXIF chunk larger than this is ignored (EXIF blocks are a few kilobytes)."""

MAX_SAMPLES = 8
"""TIFFs with more samples per pixel than this are refused (RGB plus alpha and a few extra channels)."""

TIFF_BITS = (1, 2, 4, 8, 16, 32, 64)
"""Bits per sample a TIFF may have."""

PNG_CHECKED_BYTES = 8 << 20
"""How much of a PNG's image data :func:`png_for_libpng` inflates to check it (all of it for images up to
about 2.7 megapixels in RGB; a few tens of milliseconds at most, a fraction of the decoding time)."""

_TIFF_SLACK = 16 << 20  # a TIFF at most this much larger than its first image's data is read whole
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_PNG_CRITICAL = (b"IHDR", b"PLTE", b"IDAT", b"IEND")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


class FileView(io.RawIOBase):
    """A read-only, seekable window on the first ``limit`` bytes of an open binary file (reads through
    ``os.pread``, so it never moves the file's own position). Lower ``limit`` once the header tells how much
    of the file the image can need."""

    def __init__(self, handle, limit: int) -> None:
        super().__init__()
        self._fd = handle.fileno()
        self.limit = limit
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.limit}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the file")
        self._position = base + offset
        return self._position

    def readinto(self, buffer) -> int:
        target = memoryview(buffer).cast("B")  # tifffile reads straight into typed numpy arrays
        wanted = min(len(target), max(0, self.limit - self._position))
        if not wanted:
            return 0
        data = os.pread(self._fd, wanted, self._position)
        target[:len(data)] = data
        self._position += len(data)
        return len(data)

    def read_at(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` (fewer at the end of the window); the position does not move."""
        size = max(0, min(size, self.limit - offset))
        return os.pread(self._fd, size, offset) if size else b""


def check_size(path: Path, kind: str, width: int, height: int) -> None:
    """Raise CorruptFileError unless the header's size is at least 1x1 pixel."""
    if not (isinstance(width, int) and isinstance(height, int)):
        raise CorruptFileError(f"{path}: the {kind.upper()} header is damaged (its image size is not a number)")
    if width < 1 or height < 1:
        raise CorruptFileError(f"{path}: the {kind.upper()} header gives an impossible image size "
                               f"({width}x{height} pixels); the file is damaged")


def check_plausible(path: Path, kind: str, width: int, height: int, channels: int, bits: int,
                    stored_bytes: int, compression: str | None = None) -> None:
    """Raise CorruptFileError when ``width`` x ``height`` pixels of ``channels`` x ``bits`` could not fit in
    ``stored_bytes`` even at the best compression ``compression`` (a :data:`MAX_COMPRESSION` key, default
    ``kind``) reaches: the header is damaged, and decoding would only allocate memory for nothing."""
    check_size(path, kind, width, height)
    claimed = height * -(-width * channels * bits // 8)  # rows are padded to whole bytes
    ratio = MAX_COMPRESSION[compression or kind]
    if claimed > max(stored_bytes, 0) * ratio + 4096:
        raise CorruptFileError(
            f"{path}: the {kind.upper()} header claims {width}x{height} pixels, far more than its "
            f"{_bytes(stored_bytes)} of image data can hold; the file is damaged")


@dataclass(frozen=True)
class PngLayout:
    """A PNG file's IHDR values and chunk list, as far as they make sense (see :func:`png_layout`)."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    channels: int
    interlace: int
    image_data: int  # bytes in the IDAT chunks
    end: int  # offset just past the IEND chunk: the bytes a decoder needs
    exif: bytes | None  # the eXIf chunk (libpng allows it after the image data, where Pillow would decode first)


def png_layout(path: Path, view: FileView) -> PngLayout:
    """Walk a PNG file's chunks (seeking over their data) and check its structure the way libpng would, so
    libpng never meets a file it complains about on stderr: IHDR values and checksum, chunk names and
    order, a palette before the image data, no data past the end of the file, an IEND chunk."""
    size = view.limit
    header = view.read_at(0, 33)
    if len(header) < 33 or header[12:16] != b"IHDR" or struct.unpack_from(">I", header, 8)[0] != 13:
        raise CorruptFileError(f"{path}: the PNG file is damaged or truncated (no valid IHDR header)")
    if zlib.crc32(header[12:29]) != struct.unpack_from(">I", header, 29)[0]:
        raise CorruptFileError(f"{path}: the PNG header is damaged (its checksum does not match)")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack_from(">IIBBBBB", header, 16)
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31):
        raise CorruptFileError(f"{path}: the PNG header gives an impossible image size ({width}x{height} pixels)")
    if depth not in _PNG_DEPTHS.get(colour, ()) or compression or filtering or interlace > 1:
        raise CorruptFileError(f"{path}: the PNG header is damaged (bit depth {depth}, colour type {colour}, "
                               f"compression {compression}, filter {filtering}, interlace {interlace})")
    position, image_data, exif, seen = 33, 0, None, []
    while True:
        chunk = view.read_at(position, 8)
        if len(chunk) < 8:
            raise CorruptFileError(f"{path}: the PNG file is truncated (it ends before its IEND chunk)")
        length, name = struct.unpack(">I4s", chunk)
        if length >= 1 << 31 or not name.isalpha() or not name.isascii():
            raise CorruptFileError(f"{path}: the PNG file is damaged (invalid chunk at byte {position})")
        if name[:1].isupper() and name not in _PNG_CRITICAL or name == b"IHDR":
            raise CorruptFileError(f"{path}: the PNG file is damaged (unexpected {name.decode()} chunk)")
        if position + 12 + length > size:
            raise CorruptFileError(f"{path}: the PNG file is truncated (its {name.decode()} chunk runs past "
                                   f"the end of the file)")
        if name == b"IDAT":
            if seen and seen[-1] != b"IDAT" and b"IDAT" in seen:
                raise CorruptFileError(f"{path}: the PNG file is damaged (its image data is interrupted)")
            if colour == 3 and b"PLTE" not in seen:
                raise CorruptFileError(f"{path}: the PNG file is damaged (palette image without a palette)")
            image_data += length
        elif name == b"eXIf" and length <= MAX_METADATA_CHUNK:
            exif = view.read_at(position + 8, length)
        seen.append(name)
        position += 12 + length
        if name == b"IEND":
            break
        if len(seen) > MAX_CHUNKS:
            raise CorruptFileError(f"{path}: the PNG file is damaged (more than {MAX_CHUNKS} chunks)")
    if not image_data:
        raise CorruptFileError(f"{path}: the PNG file holds no image data")
    return PngLayout(width, height, depth, colour, _PNG_CHANNELS[colour], interlace, image_data, position, exif)


def png_for_libpng(path: Path, data: bytes, layout: PngLayout) -> bytes:
    """The bytes of a PNG file (up to IEND, as :func:`png_layout` found them) for libpng, after checking what
    libpng would print an error or warning about: chunk checksums, the compressed image data (all of it up
    to :data:`PNG_CHECKED_BYTES` inflated, with every row's filter type), a palette in a grey image (left
    out: libpng would ignore it too). Raises CorruptFileError for a damaged file."""
    view = memoryview(data)
    position, kept, image_data = len(_PNG_SIGNATURE), [view[:len(_PNG_SIGNATURE)]], []
    dropped = False
    while position + 12 <= len(data):
        length = struct.unpack_from(">I", data, position)[0]
        end = position + 8 + length
        name = bytes(view[position + 4:position + 8])
        if zlib.crc32(view[position + 4:end]) != struct.unpack_from(">I", data, end)[0]:
            raise CorruptFileError(f"{path}: the PNG file is damaged (the checksum of its {name.decode('latin-1')} "
                                   f"chunk at byte {position} does not match)")
        if name == b"IDAT":
            image_data.append(view[position + 8:end])
        if name == b"PLTE" and layout.colour_type in (0, 4):
            dropped = True
        else:
            kept.append(view[position:end + 4])
        position = end + 4
    _check_png_image_data(path, image_data, layout)
    return b"".join(kept) if dropped else data


def _check_png_image_data(path: Path, chunks: list[memoryview], layout: PngLayout) -> None:
    """Inflate the start of a PNG's image data: it must be a valid zlib stream whose rows start with a filter
    type 0..4, and, when it ends within the checked part, hold exactly the rows the header announces."""
    rows = _png_rows(layout)
    expected = sum(count * (row_bytes + 1) for row_bytes, count in rows)
    inflater, inflated = zlib.decompressobj(), bytearray()
    try:
        for chunk in chunks:
            pending = chunk
            while pending and len(inflated) <= PNG_CHECKED_BYTES:
                inflated += inflater.decompress(pending, PNG_CHECKED_BYTES + 1 - len(inflated))
                pending = inflater.unconsumed_tail
            if len(inflated) > PNG_CHECKED_BYTES or inflater.eof:
                break
    except zlib.error as exc:
        raise CorruptFileError(f"{path}: the PNG image data is damaged ({exc})") from None
    complete = inflater.eof or len(inflated) <= PNG_CHECKED_BYTES
    if len(inflated) > expected or complete and len(inflated) < expected:
        raise CorruptFileError(f"{path}: the PNG image data does not match its {layout.width}x{layout.height} "
                               f"size ({'more' if len(inflated) > expected else 'less'} data than the rows need)")
    start = 0
    for row_bytes, count in rows:
        filters = inflated[start:start + count * (row_bytes + 1):row_bytes + 1]
        if max(filters, default=0) > 4:
            raise CorruptFileError(f"{path}: the PNG image data is damaged (invalid row filter)")
        start += count * (row_bytes + 1)
        if start >= len(inflated):
            break


def _png_rows(layout: PngLayout) -> list[tuple[int, int]]:
    """(bytes per row, rows) of each pass of a PNG's image data: one pass, or Adam7's seven."""
    bits = layout.channels * layout.bit_depth
    passes = _ADAM7 if layout.interlace else ((0, 0, 1, 1),)
    rows = []
    for x0, y0, dx, dy in passes:
        width, height = -(-(layout.width - x0) // dx), -(-(layout.height - y0) // dy)
        if width > 0 and height > 0:
            rows.append((-(-width * bits // 8), height))
    return rows


def check_tiff_page(path: Path, tiff, page, view: FileView) -> tuple[tuple[int, int], int]:
    """A TIFF page's (width, height) and bits per sample (``tiff`` and ``page`` as parsed by tifffile), after
    checking every value a decoder would allocate or read by: size, bits, samples per pixel, sample format,
    data segments inside the file and plausible for the size. Lowers ``view.limit`` to the end of what the
    page refers to when the file goes on far beyond it."""
    width, height = page.imagewidth, page.imagelength
    check_size(path, "tiff", width, height)
    samples, bits = page.samplesperpixel, page.bitspersample
    if not isinstance(bits, int) or bits not in TIFF_BITS:
        raise CorruptFileError(f"{path}: the TIFF header gives an impossible bit depth ({bits}); "
                               "the file is damaged")
    if page.dtype is None:
        raise CorruptFileError(f"{path}: the TIFF header gives an impossible sample format ({bits}-bit "
                               f"{page.sampleformat.name.lower()}); the file is damaged")
    if not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES or page.imagedepth != 1:
        raise UnsupportedFormatError(f"{path}: TIFF images with {samples} samples per pixel (depth "
                                     f"{page.imagedepth}) are not supported")
    segments = list(zip(page.dataoffsets, page.databytecounts))
    if not segments or any(not isinstance(n, int) or n < 0 for _, n in segments):
        raise CorruptFileError(f"{path}: the TIFF file is damaged (it lists no valid image data)")
    if any(offset + count > view.limit for offset, count in segments):
        raise CorruptFileError(f"{path}: the TIFF file is truncated (its image data runs past the end of the file)")
    compression = "tiff-uncompressed" if page.compression == 1 else "tiff"
    check_plausible(path, "tiff", width, height, samples, bits, sum(n for _, n in segments), compression)
    ends = [offset + count for offset, count in segments]
    ends.append(page.offset + tiff.tiff.tagnosize + len(page.tags) * tiff.tiff.tagsize + tiff.tiff.offsetsize)
    ends += [tag.valueoffset + tag.valuebytecount for tag in page.tags.values()]
    if view.limit > max(ends) + _TIFF_SLACK:  # far more file than the image: junk, never read
        view.limit = max(ends)
    return (width, height), bits


@dataclass(frozen=True)
class WebpLayout:
    """A WebP file's canvas size, where its RIFF data ends, and its EXIF chunk."""

    width: int
    height: int
    end: int
    exif: bytes | None


def webp_layout(path: Path, view: FileView) -> WebpLayout:
    """Read a WebP file's size from its VP8X, VP8 or VP8L chunk and walk its chunk list, without decoding:
    Pillow's WebP decoder allocates the whole canvas as soon as the file is opened."""
    riff = view.read_at(0, 12)
    end = struct.unpack_from("<I", riff, 4)[0] + 8
    if end > view.limit:
        raise CorruptFileError(f"{path}: the WebP file is truncated ({_bytes(view.limit)} of the "
                               f"{_bytes(end)} its header announces)")
    position, size, exif, chunks = 12, None, None, 0
    while position + 8 <= end and chunks < MAX_CHUNKS:
        name, length = struct.unpack("<4sI", view.read_at(position, 8))
        body = position + 8
        if body + length > end:
            raise CorruptFileError(f"{path}: the WebP file is damaged (a chunk runs past the end of its data)")
        if name == b"VP8X" and length >= 10:
            data = view.read_at(body, 10)
            size = (int.from_bytes(data[4:7], "little") + 1, int.from_bytes(data[7:10], "little") + 1)
        elif name == b"VP8 " and size is None and length >= 10:
            data = view.read_at(body, 10)
            if data[3:6] != b"\x9d\x01\x2a":
                raise CorruptFileError(f"{path}: the WebP image data is damaged (bad VP8 frame header)")
            size = (struct.unpack_from("<H", data, 6)[0] & 0x3FFF, struct.unpack_from("<H", data, 8)[0] & 0x3FFF)
        elif name == b"VP8L" and size is None and length >= 5:
            data = view.read_at(body, 5)
            if data[0] != 0x2F:
                raise CorruptFileError(f"{path}: the WebP image data is damaged (bad VP8L header)")
            bits = int.from_bytes(data[1:5], "little")
            size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        elif name == b"EXIF" and length <= MAX_METADATA_CHUNK:
            exif = view.read_at(body, length)
        position = body + length + (length & 1)
        chunks += 1
    if size is None:
        raise CorruptFileError(f"{path}: the WebP file is damaged (no image header found)")
    check_size(path, "webp", *size)
    return WebpLayout(size[0], size[1], end, exif)


def _bytes(count: int) -> str:
    """A byte count for people: "812 bytes", "4.2 MB"."""
    return f"{count} bytes" if count < 10_000 else f"{count / 1e6:.1f} MB"
