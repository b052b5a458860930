"""Before/after pairs for learning a look from the user's own edits (no torch).

Two layouts (:func:`scan_look_pairs`):

- a folder with ``before/`` and ``after/``: files of the same name (the extension may differ: a RAW before,
  its JPEG export after) are a pair; a file without a partner is listed as unpaired;
- a folder of photos with PhotoLab sidecars: PhotoLab renders each photo's before (only the sidecar's
  geometry: turned and cropped like the edit) and after (the whole sidecar) itself.

:func:`load_look_pairs` reads each pair as sRGB-encoded float32 at a working size (long side at most
``side``) and checks it (:func:`match_pair`): orientation (an after turned by 90/180/270 degrees is turned
back), sizes (an after of another size is resized; a crop of the before is found and the before cut to it),
small misalignments (registered: translation by phase correlation, or a similarity transform from matched
features), colour space (an embedded non-sRGB ICC profile is converted to sRGB), bit depth (16-bit is read at
full precision) and transparency (refused: the look of transparent pixels is undefined). A pair that shows
different scenes or whose sizes differ wildly is refused with the reason; fewer than :data:`MIN_PAIRS` usable
pairs is an error. What was done to each pair is in its ``notes``. The user's files are only read.
"""

from __future__ import annotations

import io as _io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from photolab.core import io
from photolab.core.color import srgb_encode
from photolab.core.errors import PhotoLabError
from photolab.core.recipe import Recipe, load_sidecar

MIN_PAIRS = 4
"""Fewest usable pairs a look is learned from."""
WORK_SIDE = 768
"""Pairs are loaded with their long side at most this many pixels."""
MAX_SIZE_RATIO = 8.0
"""Befores and afters whose long sides differ by more than this factor are refused."""
MIN_SCENE_CORRELATION = 0.3
"""Aligned pairs whose edge maps correlate less than this show different scenes."""
MIN_MATCHES = 12
"""Fewest matched features (RANSAC inliers) that register a crop or a turned photo."""


class LookPairsError(PhotoLabError):
    """The pairs cannot be used to learn a look (the message says why)."""


class PairRefused(PhotoLabError):
    """One pair cannot be used (the message says why)."""


@dataclass(frozen=True)
class PairFiles:
    """One pair on disk: its name, the before and after files (``after`` is None for a sidecar pair: the
    before's sidecar is the edit)."""

    name: str
    before: Path
    after: Path | None = None


@dataclass
class LookScan:
    """What :func:`scan_look_pairs` found: the layout ("before/after" or "sidecars"), pairs and unpaired
    files (path, reason)."""

    root: Path
    layout: str
    pairs: list[PairFiles] = field(default_factory=list)
    unpaired: list[tuple[Path, str]] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Why the folder cannot be used ([] when it can), one sentence each."""
        if not self.pairs:
            extra = f" ({len(self.unpaired)} unpaired file(s))" if self.unpaired else ""
            if self.layout == "before/after":
                return [f"{self.root}: no pairs found in before/ and after/{extra}; a pair is a before and an "
                        f"after file of the same name"]
            return [f"{self.root}: no pairs found{extra}; use a folder with before/ and after/ sub-folders "
                    f"(files of the same name), or photos edited in PhotoLab (with .photolab.json sidecars)"]
        if len(self.pairs) < MIN_PAIRS:
            return [f"{self.root}: only {len(self.pairs)} pair(s); at least {MIN_PAIRS} are needed"]
        return []


@dataclass
class LookPair:
    """A checked pair: sRGB-encoded float32 (H, W, 3) before and after of one size, and what was done."""

    name: str
    before: np.ndarray
    after: np.ndarray
    notes: list[str] = field(default_factory=list)


@dataclass
class LookData:
    """The usable pairs, the refused ones (name, reason) and the scan."""

    scan: LookScan
    pairs: list[LookPair]
    refused: list[tuple[str, str]]

    def summary(self) -> dict:
        """Counts and notes for the card, the CLI and the wizard."""
        return {"layout": self.scan.layout, "pairs": len(self.pairs),
                "refused": [f"{name}: {reason}" for name, reason in self.refused],
                "unpaired": [f"{path.name}: {reason}" for path, reason in self.scan.unpaired],
                "notes": [f"{pair.name}: {note}" for pair in self.pairs for note in pair.notes]}


# ------------------------------------------------------------------------------------------------ scanning

def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in io.SUPPORTED_EXTENSIONS)


def scan_look_pairs(folder: str | Path) -> LookScan:
    """Find the pairs of ``folder`` (module docstring); :class:`LookPairsError` for a missing folder."""
    root = Path(folder)
    if not root.is_dir():
        raise LookPairsError(f"{root}: no such folder")
    before_dir, after_dir = root / "before", root / "after"
    try:
        if before_dir.is_dir() or after_dir.is_dir():
            return _scan_before_after(root, before_dir, after_dir)
        return _scan_sidecars(root)
    except PermissionError as exc:
        raise LookPairsError(f"{exc.filename or root}: cannot be read (permission denied)") from None


def _scan_before_after(root: Path, before_dir: Path, after_dir: Path) -> LookScan:
    scan = LookScan(root, "before/after")
    for folder in (before_dir, after_dir):
        if not folder.is_dir():
            raise LookPairsError(f"{root}: has {'after' if folder is before_dir else 'before'}/ but no "
                                 f"{folder.name}/ folder; put the originals in before/ and the edits in after/")
    afters: dict[str, Path] = {}
    for path in _image_files(after_dir):
        if path.stem in afters:
            scan.unpaired.append((path, f"another after is also called {path.stem} ({afters[path.stem].name})"))
        else:
            afters[path.stem] = path
    used = set()
    for path in _image_files(before_dir):
        after = afters.get(path.stem)
        if after is None or path.stem in used:
            scan.unpaired.append((path, "no after of the same name" if after is None else "duplicate name"))
            continue
        used.add(path.stem)
        scan.pairs.append(PairFiles(path.stem, path, after))
    scan.unpaired += [(path, "no before of the same name") for stem, path in afters.items() if stem not in used]
    return scan


def _scan_sidecars(root: Path) -> LookScan:
    scan = LookScan(root, "sidecars")
    for path in _image_files(root):
        recipe, warning = load_sidecar(path)
        if warning:
            scan.unpaired.append((path, warning))
        elif recipe is None:
            scan.unpaired.append((path, "no PhotoLab sidecar (not edited)"))
        elif _without_look(recipe).is_neutral:
            scan.unpaired.append((path, "its sidecar has no edits"))
        else:
            scan.pairs.append(PairFiles(path.name, path))
    return scan


def _without_look(recipe: Recipe) -> Recipe:
    """``recipe`` without its Look step (a look is not learned from another look)."""
    return recipe.with_enabled("look", False)


# ------------------------------------------------------------------------------------------------- reading

def _to_srgb_float(pixels: np.ndarray, path: Path, notes: list[str]) -> np.ndarray:
    """Stored pixels (grey, grey+alpha, RGB, RGBA; 8/16-bit or float) as sRGB-encoded float32 RGB."""
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        alpha = pixels[:, :, -1]
        full = np.iinfo(alpha.dtype).max if alpha.dtype.kind == "u" else 1.0
        if float(alpha.min()) < full:
            raise PairRefused(f"{path.name} has transparent pixels; flatten it onto a background first")
        notes.append(f"{path.name}: its alpha channel is opaque and was ignored")
        pixels = pixels[:, :, :-1]
    if pixels.dtype.kind == "u":
        if pixels.dtype == np.uint16:
            notes.append(f"{path.name}: 16-bit, read at full precision")
        srgb = pixels.astype(np.float32) / np.float32(np.iinfo(pixels.dtype).max)
    else:
        srgb = np.clip(pixels.astype(np.float32), 0.0, 1.0)
    if srgb.ndim == 2 or srgb.shape[2] == 1:
        srgb = np.repeat(srgb.reshape(srgb.shape[0], srgb.shape[1], 1), 3, axis=2)
    return np.ascontiguousarray(srgb)


def _icc_description(path: Path) -> tuple[str, bytes] | None:
    """(description, profile) of an image's embedded ICC profile, None without one."""
    from PIL import Image, ImageCms

    try:
        with Image.open(path) as image:
            icc = image.info.get("icc_profile")
        if not icc:
            return None
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(_io.BytesIO(icc))).strip(), icc
    except (OSError, ValueError, ImageCms.PyCMSError):
        return None


def _to_srgb_profile(srgb: np.ndarray, icc: bytes) -> np.ndarray:
    """``srgb`` (encoded in the space of ``icc``) converted to sRGB through LittleCMS (8-bit precision)."""
    from PIL import Image, ImageCms

    image = Image.fromarray(np.round(np.clip(srgb, 0, 1) * 255).astype(np.uint8), "RGB")
    converted = ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(_io.BytesIO(icc)),
                                          ImageCms.createProfile("sRGB"), outputMode="RGB")
    return np.asarray(converted, np.float32) / 255.0


def read_srgb(path: str | Path, recipe: Recipe | None = None, max_side: int | None = None,
              notes: list[str] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo at ``path`` as sRGB-encoded float32 (H, W, 3) in [0, 1], long side at most ``max_side``:
    an ordinary image's stored values (converted to sRGB when it embeds another ICC profile), a camera RAW
    file developed with ``recipe`` (default: PhotoLab's neutral development). With ``recipe`` any file is
    rendered through the develop pipeline. ``notes`` collects what was done. Returns (pixels, the full
    size (width, height) before fitting)."""
    from photolab.core.render import render

    path = Path(path)
    notes = notes if notes is not None else []
    stored = io.read_stored(path) if recipe is None else None
    if stored is None:
        photo = io.read_preview(path, max_side=max_side) if max_side else io.read_photo(path)
        photo = render(photo, recipe or Recipe())
        srgb = srgb_encode(photo.pixels)
        size = (round(photo.width / photo.scale), round(photo.height / photo.scale))
    else:
        srgb = _to_srgb_float(stored[0], path, notes)
        size = (srgb.shape[1], srgb.shape[0])
        profile = _icc_description(path)
        if profile is not None and "srgb" not in profile[0].lower():
            try:
                srgb = _to_srgb_profile(srgb, profile[1])
                notes.append(f"{path.name}: converted from {profile[0]} to sRGB")
            except Exception as exc:  # noqa: BLE001 - LittleCMS raises assorted errors for odd profiles
                raise PairRefused(f"{path.name} is in {profile[0]}, which cannot be converted to sRGB "
                                  f"({exc})") from None
    return (_fit(srgb, max_side) if max_side else srgb), size


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1.0:
        return np.ascontiguousarray(image, np.float32)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)


# ---------------------------------------------------------------------------------------------- matching

def _edges(srgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """Gradient magnitude of the luma (resized to ``size``), zero-mean, unit-norm: a look changes tones and
    colours but keeps where the edges are."""
    luma = cv2.cvtColor(np.ascontiguousarray(srgb, np.float32), cv2.COLOR_RGB2GRAY)
    if size is not None:
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    magnitude = cv2.magnitude(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))
    magnitude = cv2.GaussianBlur(magnitude, (0, 0), 1.0)
    magnitude -= magnitude.mean()
    return magnitude / max(float(np.linalg.norm(magnitude)), 1e-9)


def scene_correlation(before: np.ndarray, after: np.ndarray) -> float:
    """How well the edges of two images of one size line up (1: perfectly; near 0: different scenes)."""
    height, width = after.shape[:2]
    scale = min(1.0, 192.0 / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return float((_edges(before, size) * _edges(after, size)).sum())


def _orientation(before: np.ndarray, after: np.ndarray) -> int:
    """How many quarter turns (np.rot90) bring ``after`` upright like ``before`` (0 if unsure)."""
    size = (96, 96)
    reference = _edges(before, size)
    scores = [float((reference * _edges(np.rot90(after, turns), size)).sum()) for turns in range(4)]
    best = int(np.argmax(scores))
    ratio_before = before.shape[1] / before.shape[0]
    ratio_after = after.shape[1] / after.shape[0] if best % 2 == 0 else after.shape[0] / after.shape[1]
    plausible = abs(np.log(ratio_before / ratio_after)) < 0.05
    return best if best and plausible and scores[best] > scores[0] + 0.15 else 0


def _inner_box(valid: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): a box of rows and columns that are entirely valid, shrunk from the full frame."""
    y0, y1, x0, x1 = 0, valid.shape[0], 0, valid.shape[1]
    for _ in range(64):
        if valid[y0:y1, x0:x1].all() or y1 - y0 < 8 or x1 - x0 < 8:
            break
        window = valid[y0:y1, x0:x1]
        bad = [(~window[0]).mean(), (~window[-1]).mean(), (~window[:, 0]).mean(), (~window[:, -1]).mean()]
        side = int(np.argmax(bad))
        step_y, step_x = max(1, (y1 - y0) // 100), max(1, (x1 - x0) // 100)
        if side == 0:
            y0 += step_y
        elif side == 1:
            y1 -= step_y
        elif side == 2:
            x0 += step_x
        else:
            x1 -= step_x
    return y0, y1, x0, x1


def _feature_transform(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, int] | None:
    """(2x3 similarity mapping after pixels to before pixels, inliers) from matched SIFT features, or None."""
    def gray(image: np.ndarray) -> np.ndarray:
        luma = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY)
        luma = np.clip(luma * 255, 0, 255).astype(np.uint8)
        return cv2.createCLAHE(2.0, (8, 8)).apply(luma)

    sift = cv2.SIFT_create(nfeatures=2000)
    kb, db = sift.detectAndCompute(gray(before), None)
    ka, da = sift.detectAndCompute(gray(after), None)
    if db is None or da is None or len(kb) < MIN_MATCHES or len(ka) < MIN_MATCHES:
        return None
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(da, db, k=2)
    good = [m[0] for m in matches if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < MIN_MATCHES:
        return None
    source = np.float32([ka[m.queryIdx].pt for m in good])
    target = np.float32([kb[m.trainIdx].pt for m in good])
    matrix, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=3.0)
    count = int(inliers.sum()) if inliers is not None else 0
    return (matrix, count) if matrix is not None and count >= MIN_MATCHES else None


def match_pair(before: np.ndarray, after: np.ndarray, side: int = WORK_SIDE,
               sizes: tuple[tuple[int, int], tuple[int, int]] | None = None
               ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(before, after, notes): the pair brought to one frame (the after's, long side at most ``side``) and
    checked (module docstring); ``sizes``: the files' full (width, height), before and after, when the arrays
    were already reduced. :class:`PairRefused` when the pair cannot be used."""
    full_before, full_after = sizes or ((before.shape[1], before.shape[0]), (after.shape[1], after.shape[0]))
    notes: list[str] = []
    turns = _orientation(before, after)
    if turns:
        after = np.ascontiguousarray(np.rot90(after, turns))
        notes.append(f"the after was turned by {90 * (4 - turns) % 360} degrees; turned back")
    ratio = max(full_before) / max(full_after)
    if not 1.0 / MAX_SIZE_RATIO <= ratio <= MAX_SIZE_RATIO:
        raise PairRefused(f"the before ({full_before[0]}x{full_before[1]}) and the after "
                          f"({full_after[0]}x{full_after[1]}) differ too much in size")
    after = _fit(after, side)
    height, width = after.shape[:2]
    same_aspect = abs(np.log((before.shape[1] / before.shape[0]) / (width / height))) < 0.01
    if ratio > 1.001 or ratio < 0.999:
        notes.append(f"sizes differ ({full_before[0]}x{full_before[1]} and {full_after[0]}x{full_after[1]}); "
                     f"resized")
    moved = None
    if same_aspect:
        resized = cv2.resize(_fit(before, 2 * side), (width, height), interpolation=cv2.INTER_AREA)
        window = cv2.createHanningWindow((width, height), cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(_edges(resized), _edges(after), window)
        if abs(dx) <= 0.5 and abs(dy) <= 0.5:
            moved = resized
        elif response > 0.05 and max(abs(dx), abs(dy)) < 0.05 * max(width, height):
            matrix = np.float32([[1, 0, dx], [0, 1, dy]])
            moved = cv2.warpAffine(resized, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))
            notes.append(f"misaligned by ({dx:+.1f}, {dy:+.1f}) px; registered")
    if moved is None:
        large = _fit(before, 2 * side)
        found = _feature_transform(large, after)
        if found is None:
            raise PairRefused("the before and the after do not show the same scene (no matching features)")
        matrix, count = found
        moved = cv2.warpAffine(large, matrix, (width, height), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))
        scale = float(np.hypot(*matrix[:, 0]))
        angle = float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))
        share = min(1.0, (width * height * scale * scale) / (large.shape[0] * large.shape[1]))
        what = f"the after shows {share:.0%} of the before (a crop)" if share < 0.97 else "misaligned"
        notes.append(f"{what}; registered ({count} matching features, turned {angle:+.1f} degrees)")
    valid = (moved >= 0).all(axis=2)
    if not valid.all():
        y0, y1, x0, x1 = _inner_box(valid)
        moved, after = moved[y0:y1, x0:x1], after[y0:y1, x0:x1]
        if moved.shape[0] < 16 or moved.shape[1] < 16 or not (moved >= 0).all():
            raise PairRefused("the before and the after overlap too little")
    correlation = scene_correlation(moved, after)
    if correlation < MIN_SCENE_CORRELATION:
        raise PairRefused(f"the before and the after do not show the same scene (edge correlation "
                          f"{correlation:.2f})")
    return np.ascontiguousarray(moved, np.float32), np.ascontiguousarray(after, np.float32), notes


def load_look_pairs(scan: LookScan, progress: Callable[[float, str], None] | None = None,
                    side: int = WORK_SIDE) -> LookData:
    """Read and check every pair of ``scan`` (module docstring). Pairs that cannot be read or matched are
    refused (listed); :class:`LookPairsError` when fewer than :data:`MIN_PAIRS` remain."""
    problems = scan.problems()
    if problems:
        raise LookPairsError("; ".join(problems))
    pairs, refused = [], []
    for index, files in enumerate(scan.pairs):
        if progress is not None:
            progress(index / len(scan.pairs), f"Checking {files.name}")
        notes: list[str] = []
        try:
            if files.after is None:
                recipe, _ = load_sidecar(files.before)
                from photolab.core.render import geometry_recipe

                before, before_size = read_srgb(files.before, geometry_recipe(recipe), 2 * side, notes)
                after, after_size = read_srgb(files.before, _without_look(recipe), 2 * side, notes)
            else:
                before, before_size = read_srgb(files.before, None, 4 * side, notes)
                after, after_size = read_srgb(files.after, None, 2 * side, notes)
            before, after, matched = match_pair(before, after, side, (before_size, after_size))
        except (PhotoLabError, OSError, ValueError, cv2.error) as exc:
            refused.append((files.name, str(exc) or type(exc).__name__))
            continue
        pairs.append(LookPair(files.name, before, after, notes + matched))
    if progress is not None:
        progress(1.0, "Checked")
    if len(pairs) < MIN_PAIRS:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in refused[:4])
        raise LookPairsError(f"{scan.root}: only {len(pairs)} usable pair(s) of {len(scan.pairs)}; at least "
                             f"{MIN_PAIRS} are needed" + (f" (refused: {reasons})" if reasons else ""))
    return LookData(scan, pairs, refused)
