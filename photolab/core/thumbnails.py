"""Thumbnails for the filmstrip: small 8-bit sRGB pictures of photos, cached in the user cache folder.

A camera RAW file's thumbnail comes from the JPEG (or bitmap) preview the camera embedded in it, read with
LibRaw (``rawpy``'s ``extract_thumb``) and scaled down while decoding, which takes milliseconds; a RAW without
a usable preview, and every other image, is read with ``io.read_preview`` (a half-size RAW decode, a JPEG
draft). Thumbnails show the photo as shot, oriented, without its edits.

Each thumbnail is cached as a JPEG under ``<user cache>/thumbnails`` (``$PHOTOLAB_CACHE_DIR`` when set, else
the platform's, ``~/.cache/photolab`` on Linux), keyed by the photo's absolute path, size and modification
time, so a changed file gets a new one. A cache that cannot be written is skipped silently. Reading a cached
thumbnail marks it used; :func:`prune_cache` keeps the cache under CACHE_MAX_BYTES by removing the least
recently used ones.
"""

from __future__ import annotations

import hashlib
import io as byte_io
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import rawpy
from PIL import Image

from photolab.core import io
from photolab.core.atomic import atomic_path
from photolab.core.color import encode_srgb_integer
from photolab.core.errors import FileAccessError, PhotoLabError

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "PHOTOLAB_CACHE_DIR"
THUMBNAIL_SIDE = 256
CACHE_VERSION = 1  # part of the key: raise it when thumbnails are made differently
CACHE_QUALITY = 88
CACHE_MAX_BYTES = 512 * 2**20  # about 30 000 thumbnails
MIN_EMBEDDED_FRACTION = 0.5  # an embedded preview smaller than this fraction of the side is not used
_ROTATIONS = {3: cv2.ROTATE_180, 5: cv2.ROTATE_90_COUNTERCLOCKWISE, 6: cv2.ROTATE_90_CLOCKWISE}  # LibRaw flip


def cache_dir() -> Path:
    """Where thumbnails are cached: ``$PHOTOLAB_CACHE_DIR/thumbnails``, else the platform's user cache."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override) / "thumbnails"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photolab", appauthor=False)) / "thumbnails"


def cache_path(path: str | Path, side: int = THUMBNAIL_SIDE) -> Path:
    """The cache file of ``path``'s thumbnail (its name changes with the file's size and modification time).
    Raises OSError when the photo cannot be stat'ed."""
    path = Path(path).absolute()
    info = path.stat()
    key = f"{CACHE_VERSION}\0{side}\0{path}\0{info.st_size}\0{info.st_mtime_ns}".encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(key).hexdigest()
    return cache_dir() / digest[:2] / f"{digest[2:]}.jpg"


def thumbnail(path: str | Path, side: int = THUMBNAIL_SIDE, *, use_cache: bool = True) -> np.ndarray:
    """``path``'s thumbnail, (H, W, 3) uint8 RGB with its long side at most ``side``: from the cache when
    there, else made (:func:`make_thumbnail`) and cached. Raises PhotoLabError (naming the file) when the
    photo cannot be read."""
    path = Path(path)
    cached = None
    if use_cache:
        try:
            cached = cache_path(path, side)
        except OSError as exc:
            raise FileAccessError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        pixels = cv2.imread(str(cached), cv2.IMREAD_COLOR) if cached.is_file() else None
        if pixels is not None:
            try:
                os.utime(cached)  # used now: pruned last
            except OSError:
                pass
            return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    pixels = make_thumbnail(path, side)
    if cached is not None:
        _store(cached, pixels)
    return pixels


def make_thumbnail(path: str | Path, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """A new thumbnail of ``path`` (see the module docstring), (H, W, 3) uint8 RGB, long side at most ``side``."""
    path = Path(path)
    if path.suffix.lower() in io.RAW_EXTENSIONS:
        embedded = embedded_preview(path, side)
        if embedded is not None:
            return embedded
    photo = io.read_preview(path, max_side=side)
    pixels = encode_srgb_integer(photo.pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return _fit(np.ascontiguousarray(pixels[:, :, :3]), side)


def embedded_preview(path: str | Path, side: int = THUMBNAIL_SIDE) -> np.ndarray | None:
    """The preview embedded in a RAW file, decoded at about ``side`` pixels and oriented like the photo; None
    when there is none (or it is damaged, or much smaller than ``side``)."""
    try:
        with io.opened_raw(path) as raw:
            flip = raw.sizes.flip
            thumb = raw.extract_thumb()
    except (PhotoLabError, rawpy.LibRawError, OSError, ValueError) as exc:
        log.info("%s: no embedded preview (%s)", path, exc)
        return None
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            with Image.open(byte_io.BytesIO(thumb.data)) as image:
                image.draft("RGB", (side, side))  # the JPEG decoder scales by 1/2, 1/4 or 1/8 while decoding
                pixels = np.asarray(image.convert("RGB"))
        else:
            pixels = np.asarray(thumb.data)
    except (OSError, ValueError, SyntaxError) as exc:
        log.info("%s: damaged embedded preview (%s)", path, exc)
        return None
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8 \
            or max(pixels.shape[:2]) < side * MIN_EMBEDDED_FRACTION:
        return None
    if flip in _ROTATIONS:
        pixels = cv2.rotate(pixels, _ROTATIONS[flip])
    return _fit(np.ascontiguousarray(pixels), side)


def _fit(pixels: np.ndarray, side: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def _store(target: Path, pixels: np.ndarray) -> None:
    """Write the cache file atomically; a cache that cannot be written is only logged."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temporary:
            if not cv2.imwrite(str(temporary), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, CACHE_QUALITY]):
                raise OSError("the JPEG encoder failed")
    except (OSError, PhotoLabError) as exc:
        log.info("thumbnail cache not written: %s", exc)


def prune_cache(max_bytes: int = CACHE_MAX_BYTES) -> int:
    """Remove the least recently used cached thumbnails until the cache holds at most ``max_bytes``; returns
    how many were removed. Files that vanish or cannot be removed meanwhile are skipped."""
    entries = []
    for path in cache_dir().glob("*/*.jpg"):
        try:
            info = path.stat()
        except OSError:
            continue
        entries.append((info.st_mtime_ns, info.st_size, path))
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed += 1
    return removed
