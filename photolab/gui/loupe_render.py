"""The loupe's work: a 1:1 crop of the developed photo around one point, before and after, off the GUI thread.

Only the requested region is developed. Its pixels are found in the full-resolution original by mapping the
region back through the recipe's geometry (orient, crop), cut out with ``CONTEXT`` pixels of context on each
side (the denoiser looks that far around a pixel, so the crop denoises as the whole photo would), turned
upright, and run through the rest of the recipe. Every operation after the geometry works pixel by pixel
except two that look at the whole photo: automatic white balance, resolved on the proxy first, and adaptive
denoising, which follows the noise level function measured on the whole photo (``NoiseCache``), as the
full-resolution render does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from photolab.core.color import encode_srgb_integer
from photolab.core.develop import denoise
from photolab.core.develop.geometry import crop_box, orient
from photolab.core.develop.white_balance import WhiteBalanceParams, target_multipliers
from photolab.core.errors import DenoiseError, PhotoLabError
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe, render
from photolab.gui.rendering import DENOISE, before_recipe, denoises, to_qimage

LOUPE_SIDE = 256  # photo pixels on each side of the loupe
CONTEXT = 64  # pixels around the region that the development sees (and that are cut off afterwards)
Box = tuple[int, int, int, int]  # x0, y0, x1, y1, end-exclusive


@dataclass(frozen=True)
class LoupeRequest:
    """What to show: ``center`` (scene pixels: the full-resolution photo after orient and crop) of
    ``photo`` developed with ``recipe``; ``proxy`` resolves automatic white balance."""

    photo: Photo
    proxy: Photo | None
    recipe: Recipe
    center: tuple[float, float]
    side: int = LOUPE_SIDE
    serial: int = 0
    noise: "NoiseCache | None" = None  # the whole photo's noise, for adaptive denoising


@dataclass(frozen=True)
class LoupeResult:
    before: QImage  # the region developed without denoising
    after: QImage  # the region as the recipe develops it
    box: Box  # the region, in scene pixels
    recipe: Recipe
    serial: int
    seconds: float
    warning: str = ""  # why "after" is not denoised (the denoiser could not run), or ""


def stage_size(photo_size: tuple[int, int], recipe: Recipe) -> tuple[int, int]:
    """(width, height) of the photo after the recipe's orient and crop."""
    width, height = _oriented_size(photo_size, recipe)
    if "crop" in recipe.disabled:
        return width, height
    x0, y0, x1, y1 = crop_box(width, height, recipe.get("crop"))
    return x1 - x0, y1 - y0


def _turns(recipe: Recipe) -> int:
    return 0 if "orient" in recipe.disabled else recipe.get("orient").quarter_turns


def _oriented_size(photo_size: tuple[int, int], recipe: Recipe) -> tuple[int, int]:
    width, height = photo_size
    return (height, width) if _turns(recipe) % 2 else (width, height)


def region_box(size: tuple[int, int], center: tuple[float, float], side: int) -> Box:
    """The ``side`` x ``side`` box around ``center``, moved inside an image of ``size`` (smaller if it is)."""
    boxes = []
    for extent, middle in zip(size, center):
        length = min(side, extent)
        start = int(round(middle - length / 2))
        start = min(max(start, 0), extent - length)
        boxes.append((start, start + length))
    (x0, x1), (y0, y1) = boxes
    return x0, y0, x1, y1


def original_box(photo_size: tuple[int, int], recipe: Recipe, box: Box) -> Box:
    """Where ``box`` (scene pixels: after orient and crop) lies in the original photo."""
    width, height = photo_size
    x0, y0, x1, y1 = box
    if "crop" not in recipe.disabled:
        cx, cy, _, _ = crop_box(*_oriented_size(photo_size, recipe), recipe.get("crop"))
        x0, y0, x1, y1 = x0 + cx, y0 + cy, x1 + cx, y1 + cy
    turns = _turns(recipe)
    if turns == 1:  # turned clockwise: oriented (x, y) shows original (y, height - 1 - x)
        return y0, height - x1, y1, height - x0
    if turns == 2:
        return width - x1, height - y1, width - x0, height - y0
    if turns == 3:  # counter-clockwise: oriented (x, y) shows original (width - 1 - y, x)
        return width - y1, x0, width - y0, x1
    return x0, y0, x1, y1


def cut_stage(photo: Photo, recipe: Recipe, box: Box) -> Photo:
    """The pixels of ``box`` of the photo after orient and crop (what ``render`` would make of the whole
    photo, then cut), made from the original's pixels in that box only."""
    x0, y0, x1, y1 = original_box((photo.width, photo.height), recipe, box)
    piece = photo.with_pixels(photo.pixels[y0:y1, x0:x1])
    return orient(piece, recipe.get("orient")) if _turns(recipe) else piece


def local_recipe(recipe: Recipe, proxy: Photo | None) -> Recipe:
    """``recipe`` without its geometry, with automatic white balance fixed to what it finds on ``proxy``,
    so that developing a small region gives the pixels developing the whole photo gives there."""
    local = recipe.with_enabled("orient", False).with_enabled("crop", False)
    balance = recipe.get("white_balance")
    if balance.mode == "auto" and "white_balance" not in recipe.disabled and proxy is not None:
        multipliers = target_multipliers(render(proxy, before_recipe(recipe)), balance)
        fixed = WhiteBalanceParams(mode="custom", multipliers=tuple(float(m) for m in multipliers))
        local = local.with_params("white_balance", fixed)
    return local


class NoiseCache:
    """The noise of the whole full-resolution photo after the geometry, as the denoise step measures it
    there: kept for the last (photo, geometry), since measuring a large photo takes a second or two."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[Photo, Recipe, object] | None = None  # (photo, geometry recipe, estimate)

    def estimate(self, photo: Photo, recipe: Recipe):
        """The ``NoiseEstimate`` of ``photo`` oriented and cropped as ``recipe`` says (None: too small)."""
        geometry = before_recipe(recipe)
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] is photo and entry[1] == geometry:
            return entry[2]
        region = render(photo, geometry)
        try:
            estimate = denoise.measure_noise(denoise.encode(region.pixels), region.metadata.noise_profile)
        except DenoiseError:
            estimate = None
        with self._lock:
            self._entry = (photo, geometry, estimate)
        return estimate


def _denoised(piece: Photo, params, estimate, context) -> Photo:
    """``piece`` through the denoise step, with the whole photo's noise ``estimate`` (adaptive)."""
    srgb = denoise.denoise_srgb(denoise.encode(piece.pixels), params, scale=piece.scale, estimate=estimate,
                                profile=piece.metadata.noise_profile,
                                progress=None if context is None else context.progress)
    return piece.with_pixels(denoise.decode(srgb))


def _develop(piece: Photo, recipe: Recipe, inner: Box) -> np.ndarray:
    """``piece`` developed, cut to ``inner`` and encoded for the screen."""
    developed = render(piece, recipe)
    x0, y0, x1, y1 = inner
    return encode_srgb_integer(developed.pixels[y0:y1, x0:x1], np.uint8)


def render_loupe(context, request: LoupeRequest) -> LoupeResult:
    """Job work: the loupe's before and after images for ``request``."""
    started = time.perf_counter()
    size = stage_size((request.photo.width, request.photo.height), request.recipe)
    box = region_box(size, request.center, request.side)
    # The region with context around it, as far as the photo goes; ``inner`` is the region within it.
    outer = (max(0, box[0] - CONTEXT), max(0, box[1] - CONTEXT),
             min(size[0], box[2] + CONTEXT), min(size[1], box[3] + CONTEXT))
    inner = (box[0] - outer[0], box[1] - outer[1], box[2] - outer[0], box[3] - outer[1])
    piece = cut_stage(request.photo, request.recipe, outer)
    recipe = local_recipe(request.recipe, request.proxy)
    if context is not None:
        context.check_cancelled()
    undenoised = recipe.with_enabled(DENOISE, False)
    before = _develop(piece, undenoised, inner)
    after, warning = before, ""
    if denoises(recipe):
        params = recipe.get(DENOISE)
        try:
            estimate = None
            if params.adaptive and request.noise is not None:
                estimate = request.noise.estimate(request.photo, request.recipe)
                if context is not None:
                    context.check_cancelled()
            after = _develop(_denoised(piece, params, estimate, context), undenoised, inner)
        except PhotoLabError as error:  # missing or damaged weights: show it, and the photo without denoising
            warning = str(error)
    return LoupeResult(to_qimage(before), to_qimage(after), box, request.recipe, request.serial,
                       time.perf_counter() - started, warning)

