"""A folder of one camera's noisy photos, made ready for adapting the denoiser to that camera (no torch).

:func:`scan_adapt_folder` finds the photos (JPEG, PNG, TIFF, WebP or camera RAW), reads their camera, ISO and time
stamp, and groups them: every sub-folder with two or more photos is a burst, and photos at the top level whose
time stamps follow each other within :data:`BURST_GAP_S` seconds (same size, same camera) are a burst too; the
rest are singles. Unreadable files are skipped and named. :meth:`AdaptScan.problems` lists what makes the folder
unusable (no photos, mixed cameras, too few photos).

:func:`load_adapt_data` reads the pixels as the denoiser sees them (sRGB-encoded, as ``photolab-cli denoise``
reads them), measures each photo's noise exactly as Auto does (``measure_noise`` and the adaptive
``noise_map`` at Auto's strength), refuses photos too clean to learn from, and aligns every burst frame to its
burst's reference with the burst merge's tile alignment (:func:`align_frame`), resampling with whole-pixel
(nearest) displacements so a target's noise is neither averaged nor blurred. Noise2Noise needs exactly that:
two independent noisy views of the same pixels.

The user's files are only read.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from photolab.core import io
from photolab.core.align import displacement_field, tile_alignment
from photolab.core.develop import denoise
from photolab.core.errors import PhotoLabError
from photolab.core.photo import NoiseProfile

BURST_GAP_S = 1.0
"""Top-level photos taken at most this many seconds after the previous one (same camera and size) are a burst."""
MIN_PHOTOS = 4
"""Fewest photos (singles plus burst frames) worth adapting to."""
MIN_NOISE_SIGMA = 1.5
"""Below this median noise (0-255 scale, ``estimate_noise``/Auto's sigma) photos are too clean to learn from."""
MAX_SIDE = 2048
"""Larger photos are cropped (never resized: that would change their noise) to their central MAX_SIDE square."""
UNKNOWN_CAMERA = "unknown camera"


class AdaptDataError(PhotoLabError):
    """A folder that cannot be used to adapt the denoiser (the message says why)."""


@dataclass(frozen=True)
class FolderPhoto:
    """One photo found in the folder: its path, camera ("Make Model" or :data:`UNKNOWN_CAMERA`), ISO, time stamp
    (seconds since the epoch, None if unknown) and size (width, height; None if unknown)."""

    path: Path
    camera: str = UNKNOWN_CAMERA
    iso: float | None = None
    taken: float | None = None
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class Burst:
    """Frames of the same scene: a sub-folder (``how`` = "folder") or close time stamps ("time")."""

    frames: tuple[FolderPhoto, ...]
    how: str = "folder"

    @property
    def name(self) -> str:
        first = self.frames[0].path
        return first.parent.name if self.how == "folder" else f"{first.name} (+{len(self.frames) - 1})"


@dataclass
class AdaptScan:
    """What :func:`scan_adapt_folder` found."""

    root: Path
    singles: list[FolderPhoto] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def photos(self) -> list[FolderPhoto]:
        return self.singles + [frame for burst in self.bursts for frame in burst.frames]

    @property
    def cameras(self) -> Counter:
        """Photos per camera."""
        return Counter(photo.camera for photo in self.photos)

    @property
    def camera(self) -> str:
        """The camera (the most common one if the folder mixes them)."""
        return self.cameras.most_common(1)[0][0] if self.photos else UNKNOWN_CAMERA

    @property
    def iso_range(self) -> tuple[float, float] | None:
        isos = [photo.iso for photo in self.photos if photo.iso]
        return (min(isos), max(isos)) if isos else None

    @property
    def pairs(self) -> int:
        """Noise2Noise pairs the bursts give (each frame with its burst's reference)."""
        return sum(len(burst.frames) - 1 for burst in self.bursts)

    def problems(self) -> list[str]:
        """Why the folder cannot be used ([] when it can), one sentence each."""
        photos = self.photos
        if not photos:
            what = f" ({len(self.skipped)} unreadable file(s) skipped)" if self.skipped else ""
            return [f"{self.root}: no photos found{what}; put JPEG or RAW photos from one camera in it"]
        problems = []
        if len(self.cameras) > 1:
            listed = ", ".join(f"{name} ({count})" for name, count in self.cameras.most_common())
            problems.append(f"{self.root} mixes cameras: {listed}; adapt to one camera at a time "
                            f"(move the others' photos out)")
        if len(photos) < MIN_PHOTOS:
            problems.append(f"{self.root}: only {len(photos)} usable photo(s); at least {MIN_PHOTOS} are needed "
                            f"(singles or burst frames)")
        return problems

    def summary(self) -> dict:
        """Counts for the card, the CLI and the wizard."""
        iso = self.iso_range
        return {"camera": self.camera, "iso_range": list(iso) if iso else None, "singles": len(self.singles),
                "bursts": len(self.bursts), "burst_frames": sum(len(b.frames) for b in self.bursts),
                "pairs": self.pairs, "skipped": [str(path) for path, _ in self.skipped]}


def _camera(metadata) -> str:
    parts = [p.strip() for p in (metadata.camera_make or "", metadata.camera_model or "") if p and p.strip()]
    if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower()):
        parts = parts[1:]
    return " ".join(parts) or UNKNOWN_CAMERA


def _timestamp(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def _describe(path: Path) -> FolderPhoto:
    metadata = io.read_metadata(path)
    size = (metadata.width, metadata.height) if metadata.width and metadata.height else None
    return FolderPhoto(path, _camera(metadata), metadata.iso, _timestamp(metadata.datetime), size)


def _photo_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in io.SUPPORTED_EXTENSIONS)


def scan_adapt_folder(folder: str | Path, progress: Callable[[float, str], None] | None = None) -> AdaptScan:
    """Find the photos of ``folder`` and its sub-folders (one level) and group them (module docstring).
    A missing folder is an :class:`AdaptDataError`; unreadable files are listed in ``skipped``."""
    root = Path(folder)
    if not root.is_dir():
        raise AdaptDataError(f"{root}: no such folder")
    top = _photo_files(root)
    subfolders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    nested = [(sub, _photo_files(sub)) for sub in subfolders]
    total = len(top) + sum(len(files) for _, files in nested)
    scan, done = AdaptScan(root), 0

    def described(paths: list[Path]) -> list[FolderPhoto]:
        nonlocal done
        found = []
        for path in paths:
            if progress is not None:
                progress(done / max(1, total), f"Reading {path.name}")
            done += 1
            try:
                found.append(_describe(path))
            except (PhotoLabError, OSError, ValueError) as exc:
                scan.skipped.append((path, str(exc) or type(exc).__name__))
        return found

    for _, files in nested:
        frames = described(files)
        if len(frames) >= 2:
            scan.bursts.append(Burst(tuple(frames), "folder"))
        else:
            scan.singles.extend(frames)
    scan.singles.extend(_group_by_time(described(top), scan.bursts))
    if progress is not None:
        progress(1.0, "Scanned")
    return scan


def _group_by_time(photos: list[FolderPhoto], bursts: list[Burst]) -> list[FolderPhoto]:
    """Append runs of photos taken within :data:`BURST_GAP_S` of each other to ``bursts``; return the rest."""
    timed = sorted((p for p in photos if p.taken is not None), key=lambda p: (p.taken, p.path.name))
    singles = [p for p in photos if p.taken is None]
    run: list[FolderPhoto] = []
    for photo in timed + [None]:
        if photo is not None and run and photo.taken - run[-1].taken <= BURST_GAP_S \
                and photo.camera == run[-1].camera and photo.size == run[-1].size:
            run.append(photo)
            continue
        if len(run) >= 2:
            bursts.append(Burst(tuple(run), "time"))
        else:
            singles.extend(run)
        run = [photo] if photo is not None else []
    return sorted(singles, key=lambda p: str(p.path))


# ---------------------------------------------------------------------------------------------- pixels

@dataclass
class NoisyImage:
    """A photo as the denoiser sees it: sRGB-encoded float32 (H, W, 3) and Auto's noise map (H, W, 0-1 scale),
    with Auto's sigma (0-255) and where it came from."""

    srgb: np.ndarray
    noise_map: np.ndarray
    sigma: float
    path: Path


@dataclass
class NoisyPair:
    """Two noisy views of one scene: ``input`` and ``target`` (the target aligned to the input), with
    ``valid`` (H, W) where the target's pixels are trustworthy (inside its frame and not moved)."""

    input: NoisyImage
    target: np.ndarray
    valid: np.ndarray
    burst: str


@dataclass
class AdaptData:
    """The loaded folder: singles, burst pairs (both directions), and what was skipped or measured."""

    scan: AdaptScan
    singles: list[NoisyImage]
    pairs: list[NoisyPair]
    sigmas: list[float]
    skipped: list[tuple[Path, str]]


def read_noisy(path: str | Path, max_side: int = MAX_SIDE) -> tuple[np.ndarray, NoiseProfile | None]:
    """(sRGB-encoded float32 (H, W, 3), the RAW noise profile or None) as ``photolab-cli denoise`` reads the file:
    an image's stored values / max, a RAW file developed without its sidecar up to the Denoise step; centrally
    cropped to ``max_side``."""
    stored = io.read_stored(path)
    profile = None
    if stored is None:
        from photolab.core.recipe import Recipe
        from photolab.core.render import render

        photo = render(io.read_photo(path), Recipe(), stop_before="denoise")
        srgb, profile = denoise.encode(photo.pixels), photo.metadata.noise_profile
    else:
        pixels = stored[0]
        if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
            pixels = pixels[:, :, :-1]
        srgb = pixels.astype(np.float32) / np.iinfo(pixels.dtype).max if pixels.dtype.kind == "u" \
            else denoise.encode(pixels.astype(np.float32))
        if srgb.ndim == 2 or srgb.shape[2] == 1:
            srgb = np.repeat(srgb.reshape(srgb.shape[0], srgb.shape[1], 1), 3, axis=2)
    return central_crop(np.ascontiguousarray(srgb, dtype=np.float32), max_side), profile


def central_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The central crop of at most ``side`` x ``side`` (even offsets, so a Bayer phase stays where it was)."""
    height, width = image.shape[:2]
    y, x = max(0, (height - side) // 2) & ~1, max(0, (width - side) // 2) & ~1
    return np.ascontiguousarray(image[y:y + side, x:x + side])


def auto_noise(srgb: np.ndarray, profile: NoiseProfile | None = None) -> tuple[np.ndarray, float]:
    """(the noise map, Auto's sigma): exactly what ``photolab-cli denoise --auto`` gives the network for this
    image (``estimate_params`` then the adaptive ``noise_map``), so training and use agree."""
    params, estimate = denoise.estimate_params(srgb, profile=profile)
    level = denoise.noise_map(srgb, params.sigma, True, estimate, profile)
    if np.ndim(level) == 0:
        level = np.full(srgb.shape[:2], float(level), np.float32)
    return np.asarray(level, np.float32), float(params.sigma)


def _luma(srgb: np.ndarray) -> np.ndarray:
    luma = cv2.transform(np.ascontiguousarray(srgb, np.float32), np.array([[0.299, 0.587, 0.114]], np.float32))
    return luma.reshape(srgb.shape[:2])


def alignment_maps(reference: np.ndarray, frame: np.ndarray, tile: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(map_x, map_y, valid): where each pixel of ``reference`` is found in ``frame`` (sRGB images of one size),
    by the burst merge's tile alignment, rounded to whole pixels (nearest resampling keeps each pixel's noise
    instead of interpolating it); ``valid`` marks pixels that come from inside the frame."""
    offsets = tile_alignment(_luma(reference), _luma(frame), tile=tile)
    map_x, map_y = displacement_field(offsets, tile, reference.shape[:2])
    map_x, map_y = np.round(map_x).astype(np.float32), np.round(map_y).astype(np.float32)
    height, width = reference.shape[:2]
    valid = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return map_x, map_y, valid


def warped(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """``image`` (H, W) or (H, W, C) resampled through whole-pixel maps (nearest)."""
    out = cv2.remap(np.ascontiguousarray(image), map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    return out.reshape(image.shape)


def align_frame(reference: np.ndarray, frame: np.ndarray, tile: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(``frame`` pulled onto ``reference``, valid mask): :func:`alignment_maps` applied."""
    map_x, map_y, valid = alignment_maps(reference, frame, tile)
    return warped(frame, map_x, map_y), valid


def moved_mask(first: np.ndarray, second: np.ndarray, sigma: float, window: int = 16) -> np.ndarray:
    """(H, W) True where two aligned noisy views agree: the local mean squared difference is at most 3x what
    their noise alone gives (2 sigma^2, sigma from Auto, 0-255); False over moving things and misalignment."""
    difference = (first - second).mean(axis=2)
    local = cv2.blur(difference * difference, (window, window))
    expected = 2.0 * (max(sigma, 0.5) / 255.0) ** 2 / 3.0  # the channel mean of 3 channels' noise
    return local <= 3.0 * max(expected, float(np.median(local)))


def load_adapt_data(scan: AdaptScan, progress: Callable[[float, str], None] | None = None,
                    max_side: int = MAX_SIDE, min_sigma: float = MIN_NOISE_SIGMA) -> AdaptData:
    """Read and measure every photo of ``scan`` and align its bursts (module docstring). Photos that cannot be
    read are skipped (listed); :class:`AdaptDataError` when nothing usable is left, too few photos remain, or the
    photos are too clean (median Auto sigma below ``min_sigma``)."""
    skipped = list(scan.skipped)
    total = max(1, len(scan.photos))
    done = 0

    def read(photo: FolderPhoto) -> NoisyImage | None:
        nonlocal done
        if progress is not None:
            progress(done / total, f"Reading {photo.path.name}")
        done += 1
        try:
            srgb, profile = read_noisy(photo.path, max_side)
            level, sigma = auto_noise(srgb, profile)
        except (PhotoLabError, OSError, ValueError, cv2.error) as exc:
            skipped.append((photo.path, str(exc) or type(exc).__name__))
            return None
        return NoisyImage(srgb, level, sigma, photo.path)

    singles = [image for image in map(read, scan.singles) if image is not None]
    frames_per_burst = []
    for burst in scan.bursts:
        frames = [image for image in map(read, burst.frames) if image is not None]
        shape = frames[0].srgb.shape if frames else None
        same = [f for f in frames if f.srgb.shape == shape]
        for odd in frames:
            if odd.srgb.shape != shape:
                skipped.append((odd.path, f"its size differs from the rest of burst {burst.name}"))
        if len(same) >= 2:
            frames_per_burst.append((burst, same))
        else:
            singles.extend(same)
    images = singles + [f for _, frames in frames_per_burst for f in frames]
    if not images:
        raise AdaptDataError(f"{scan.root}: none of the photos could be read"
                             + (f" ({', '.join(p.name for p, _ in skipped[:5])})" if skipped else ""))
    if len(images) < MIN_PHOTOS:
        raise AdaptDataError(f"{scan.root}: only {len(images)} readable photo(s); at least {MIN_PHOTOS} are needed "
                             f"(singles or burst frames)")
    sigmas = [image.sigma for image in images]
    median = float(np.median(sigmas))
    if median < min_sigma:
        raise AdaptDataError(f"{scan.root}: the photos are too clean to learn from (median noise {median:.2f} on the "
                             f"0-255 scale, below {min_sigma:g}); use high-ISO or dark, noisy photos of this camera")
    pairs = []
    for count, (burst, frames) in enumerate(frames_per_burst):
        if progress is not None:
            progress(done / total, f"Aligning burst {burst.name} ({count + 1}/{len(frames_per_burst)})")
        reference = frames[0]
        for frame in frames[1:]:
            map_x, map_y, inside = alignment_maps(reference.srgb, frame.srgb)
            aligned = warped(frame.srgb, map_x, map_y)
            valid = inside & moved_mask(reference.srgb, aligned, max(reference.sigma, frame.sigma))
            pairs.append(NoisyPair(reference, aligned, valid, burst.name))
            pairs.append(NoisyPair(NoisyImage(aligned, warped(frame.noise_map, map_x, map_y), frame.sigma, frame.path),
                                   reference.srgb, valid, burst.name))
    if progress is not None:
        progress(1.0, "Loaded")
    return AdaptData(scan, singles, pairs, sigmas, skipped)
