"""Before/after pair folders for the learned-look tests, made from the natural-photo fixtures."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from utils.images import NATURAL_PHOTOS, load_fixture


def warm_look(srgb: np.ndarray) -> np.ndarray:
    """A simple global look (float sRGB in [0, 1]): a gamma, warmer, a little contrast."""
    out = np.clip(srgb, 0, 1) ** 0.85 * np.array([1.06, 1.0, 0.9])
    return np.clip(0.5 + 1.1 * (out - 0.5), 0, 1)


def vignette_look(srgb: np.ndarray) -> np.ndarray:
    """A local look: corners darkened by up to 1.5 stops (no global colour transform can do it)."""
    height, width = srgb.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot((xx + 0.5) / width - 0.5, (yy + 0.5) / height - 0.5) / np.hypot(0.5, 0.5)
    return np.clip(srgb * 2.0 ** (-1.5 * distance ** 2)[..., None], 0, 1)


def write_rgb(path: Path, srgb: np.ndarray, dtype=np.uint8) -> Path:
    """``srgb`` (float [0, 1], RGB) written with OpenCV as 8- or 16-bit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = np.iinfo(dtype).max
    cv2.imwrite(str(path), cv2.cvtColor(np.round(np.clip(srgb, 0, 1) * scale).astype(dtype), cv2.COLOR_RGB2BGR))
    return path


def photo(index: int) -> np.ndarray:
    """Fixture ``index`` (cycling) as float sRGB (128, 192, 3); later cycles flipped, so every one differs."""
    image = load_fixture(NATURAL_PHOTOS[index % len(NATURAL_PHOTOS)]).astype(np.float32) / 255.0
    turn = index // len(NATURAL_PHOTOS)
    return np.ascontiguousarray(image[:, ::-1] if turn % 2 else image)


def make_pairs(root: Path, count: int = 6, look=warm_look) -> Path:
    """``root`` with before/ and after/ holding ``count`` PNG pairs (names p0, p1, ...)."""
    for index in range(count):
        image = photo(index)
        write_rgb(root / "before" / f"p{index}.png", image)
        write_rgb(root / "after" / f"p{index}.png", look(image))
    return root
