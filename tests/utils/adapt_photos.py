"""Tiny folders of noisy photos for "Adapt to my camera": singles, burst sub-folders and time-stamped bursts,
written with Pillow (EXIF make, model, ISO and time stamp) from the natural-photo fixtures plus Gaussian noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from utils.images import NATURAL_PHOTOS, load_fixture

SIDE = 96


def exif_block(make: str = "SimCam", model: str = "Tiny 1", iso: int | None = 3200, taken: str | None = None) -> bytes:
    exif = Image.Exif()
    exif[271], exif[272] = make, model
    sub = exif.get_ifd(0x8769)
    if iso:
        sub[0x8827] = iso
    if taken:
        sub[0x9003] = taken  # DateTimeOriginal, "YYYY:MM:DD HH:MM:SS"
    return exif.tobytes()


def noisy_view(index: int, sigma: float, seed: int, shift=(0, 0), side: int = SIDE) -> np.ndarray:
    """A ``side`` px crop of natural photo ``index`` (shifted by ``shift`` px) with Gaussian noise, uint8."""
    clean = load_fixture(NATURAL_PHOTOS[index % len(NATURAL_PHOTOS)]).astype(np.float32)
    y, x = 8 + shift[0], 8 + shift[1]
    crop = clean[y:y + side, x:x + side]
    noise = np.random.default_rng(seed).standard_normal(crop.shape).astype(np.float32) * sigma
    return np.clip(np.round(crop + noise), 0, 255).astype(np.uint8)


def write(path: Path, pixels: np.ndarray, **exif) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    options = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(pixels, "RGB").save(path, format=fmt, exif=exif_block(**exif), **options)
    return path


def make_adapt_folder(root: Path, singles: int = 4, bursts: int = 1, frames: int = 3, timed_frames: int = 0,
                      sigma: float = 12.0, model: str = "Tiny 1") -> Path:
    """``singles`` single photos, ``bursts`` burst sub-folders of ``frames`` shifted frames, and (optionally) a
    burst of ``timed_frames`` top-level frames whose time stamps are a second apart (the singles are an hour
    apart)."""
    root.mkdir(parents=True, exist_ok=True)
    for index in range(singles):
        write(root / f"single-{index}.png", noisy_view(index, sigma, seed=index), model=model,
              taken=f"2024:05:01 1{index}:00:00")
    for burst in range(bursts):
        for frame in range(frames):
            shift = (frame % 3, (2 * frame) % 4)
            write(root / f"burst-{burst}" / f"frame-{frame}.png", noisy_view(burst + 1, sigma, 100 * burst + frame,
                                                                            shift), model=model)
    for frame in range(timed_frames):
        write(root / f"timed-{frame}.png", noisy_view(3, sigma, 500 + frame, (frame % 2, frame % 3)), model=model,
              taken=f"2024:05:02 09:00:0{frame}")
    return root
