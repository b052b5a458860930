"""Realistic RAW bursts for tests and bench/bench_merge.py: a handheld camera recording one scene several times.

Each frame sees the scene through its own small handheld motion (a sub-pixel translation and a small
rotation), a moving object crosses it (a textured disc that moves from frame to frame), the optics blur it
a little (:data:`LENS_BLUR`), and the camera adds
its own noise in the Bayer mosaic (Poisson shot noise and Gaussian read noise, new for every frame), as
:func:`utils.dng.write_dng` does. Beside the burst come:

- the **clean** reference frame (the same motion and object, no noise): what a perfect merge would give;
- the **oracle**: the frames again with no handheld motion and the object where the reference has it, each with
  its own noise; their mean mosaic is the best any merge can do (the "aligned-mean oracle");
- a mask of the moving object's region in the reference (where a merge must keep the reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from photolab.core.color import decode_srgb_integer
from utils.dng import ShotInfo, write_dng


LENS_BLUR = 0.6
"""Gaussian sigma (photosites) of the optics' blur: a sharp lens with an anti-aliasing filter."""


@dataclass(frozen=True)
class RawBurst:
    frames: list[Path]  # the burst's DNGs
    oracle: list[Path]  # the same exposures without handheld motion, the object where the reference has it
    clean: Path  # the reference frame without noise
    moving: np.ndarray  # bool (H, W): the moving object's region in the reference, grown by a margin
    static: np.ndarray  # bool (H, W): away from the object in every frame and from the borders
    reference: int


def handheld_warp(shape: tuple[int, int], dx: float, dy: float, degrees: float) -> np.ndarray:
    """The 2x3 affine matrix of a rotation by ``degrees`` about the centre and a shift of (dx, dy) pixels."""
    height, width = shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    matrix[:, 2] += (dx, dy)
    return matrix


def _frame(scene: np.ndarray, shape: tuple[int, int], margin: int, matrix: np.ndarray, disc_centre,
           disc: np.ndarray, radius: int) -> np.ndarray:
    """One frame: the scene (linear, with a ``margin`` around the frame) seen through ``matrix``, cropped, and
    the textured disc pasted at ``disc_centre`` (it moves on its own)."""
    height, width = shape
    shifted = matrix.copy()
    shifted[:, 2] -= margin  # the frame's (0, 0) is the scene's (margin, margin) before motion
    view = cv2.warpAffine(scene, shifted, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)
    cy, cx = disc_centre
    yy, xx = np.mgrid[0:height, 0:width]
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
    top, left = int(round(cy)) - radius, int(round(cx)) - radius
    patch = np.zeros_like(view)
    ys, xs = slice(max(0, top), min(height, top + disc.shape[0])), slice(max(0, left), min(width, left + disc.shape[1]))
    patch[ys, xs] = disc[ys.start - top:ys.stop - top, xs.start - left:xs.stop - left]
    view[inside] = patch[inside]
    # the lens and the sensor's anti-aliasing filter: no camera records detail sharper than its photosites
    return np.clip(cv2.GaussianBlur(view, (0, 0), LENS_BLUR), 0.0, 1.0)


def make_raw_burst(folder: Path, photo: np.ndarray, *, frames: int = 8, reference: int = 0, max_shift: float = 6.0,
                   max_degrees: float = 0.3, full_well_electrons: float = 3000.0, read_noise: float = 6.0,
                   moving_object: bool = True, seed: int = 0, camera=("SONY", "ILCE-7"),
                   cfa_pattern: str = "RGGB") -> RawBurst:
    """Write a handheld RAW burst of ``photo`` (uint8/uint16 sRGB, or float linear) into ``folder``: ``frames``
    DNGs with random shifts up to ``max_shift`` px and rotations up to ``max_degrees``, shot + read noise in
    the mosaic (ISO-3200-like at the defaults), and a moving disc; see the module docstring for the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    linear = decode_srgb_integer(photo).astype(np.float32) if photo.dtype.kind in "ui" else photo.astype(np.float32)
    margin = int(np.ceil(max_shift)) + 4
    height, width = (linear.shape[0] - 2 * margin) // 2 * 2, (linear.shape[1] - 2 * margin) // 2 * 2
    scene = linear[:height + 2 * margin, :width + 2 * margin]
    radius = max(4, min(height, width) // 10)
    disc = np.clip(cv2.resize(rng.uniform(0.05, 0.9, (8, 8, 3)).astype(np.float32), (2 * radius + 1,) * 2,
                              interpolation=cv2.INTER_NEAREST), 0, 1)
    start = np.array([height * 0.5, width * 0.3])
    step = np.array([0.0, width * 0.4 / max(1, frames - 1)]) if moving_object else np.zeros(2)
    motions = [(0.0, 0.0, 0.0) if i == reference else
               (rng.uniform(-max_shift, max_shift), rng.uniform(-max_shift, max_shift),
                rng.uniform(-max_degrees, max_degrees)) for i in range(frames)]
    shot = ShotInfo(iso=3200, exposure_time=ShotInfo().exposure_time)
    shape = (height, width)

    def write(name: str, matrix, centre, noise_seed: int | None) -> Path:
        view = _frame(scene, shape, margin, matrix, centre, disc, radius)
        path = folder / f"{name}.dng"
        write_dng(path, view, camera=camera, cfa_pattern=cfa_pattern, shot=shot, white_exposure=0.9,
                  full_well_electrons=full_well_electrons if noise_seed is not None else 0.0,
                  read_noise=read_noise, seed=noise_seed or 0)
        return path

    centres = [start + step * i for i in range(frames)]
    paths = [write(f"frame_{i:02d}", handheld_warp(shape, *motions[i]), centres[i], seed * 100 + i + 1)
             for i in range(frames)]
    identity = handheld_warp(shape, 0.0, 0.0, 0.0)
    oracle = [write(f"oracle_{i:02d}", identity, centres[reference], seed * 100 + 50 + i) for i in range(frames)]
    clean = write("clean", identity, centres[reference], None)
    yy, xx = np.mgrid[0:height, 0:width]

    def near(centre) -> np.ndarray:
        return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= (radius + 6) ** 2

    static = ~np.logical_or.reduce([near(c) for c in centres])
    border = margin + 4
    static[:border] = static[-border:] = static[:, :border] = static[:, -border:] = False
    return RawBurst(paths, oracle, clean, near(centres[reference]), static, reference)
