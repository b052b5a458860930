"""The loupe's work: a 1:1 crop of the developed photo around one point, before and after, off the GUI thread.

Only the requested region is developed (``photolab.core.render`` maps it back through the recipe's
geometry): the denoiser's input is rendered with ``CONTEXT`` pixels of context on each side (the denoiser
looks that far around a pixel, so the crop denoises as the whole photo would), denoised, and run through the
rest of the recipe. Every operation after the geometry works pixel by pixel except two that look at the
whole photo: automatic white balance, resolved on the proxy first, and adaptive denoising, which follows the
noise level function measured on the whole photo (``NoiseCache``), as the full-resolution render does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from photolab.core.color import encode_srgb_integer
from photolab.core.develop import Box, denoise
from photolab.core.develop.white_balance import WhiteBalanceParams, target_multipliers
from photolab.core.errors import DenoiseError, PhotoLabError
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import grown, output_size, region_around, render, steps
from photolab.gui.viewer.rendering import DENOISE, to_qimage

LOUPE_SIDE = 256  # photo pixels on each side of the loupe
CONTEXT = 64  # pixels around the region that the development sees (and that are cut off afterwards)


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


def local_recipe(recipe: Recipe, proxy: Photo | None) -> Recipe:
    """``recipe`` with automatic white balance fixed to what it finds on ``proxy`` (before denoising), so
    that developing a small region gives the pixels developing the whole photo gives there."""
    balance = recipe.get("white_balance")
    if balance.mode == "auto" and "white_balance" not in recipe.disabled and proxy is not None:
        multipliers = target_multipliers(render(proxy, recipe, stop_before=DENOISE), balance)
        fixed = WhiteBalanceParams(mode="custom", multipliers=tuple(float(m) for m in multipliers))
        return recipe.with_params("white_balance", fixed)
    return recipe


class NoiseCache:
    """The noise of the whole full-resolution photo after the geometry, as the denoise step measures it
    there: kept for the last (photo, geometry), since measuring a large photo takes a second or two."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[Photo, tuple, object] | None = None  # (photo, steps before denoise, estimate)

    def estimate(self, photo: Photo, recipe: Recipe):
        """The ``NoiseEstimate`` of ``photo`` as the denoise step of ``recipe`` sees it (None: too small)."""
        before_denoise = tuple((op.name, params) for op, params in steps(recipe, stop_before=DENOISE))
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] is photo and entry[1] == before_denoise:
            return entry[2]
        region = render(photo, recipe, stop_before=DENOISE)
        try:
            estimate = denoise.measure_noise(denoise.encode(region.pixels), region.metadata.noise_profile)
        except DenoiseError:
            estimate = None
        with self._lock:
            self._entry = (photo, before_denoise, estimate)
        return estimate


def _denoised(piece: Photo, params, estimate, context) -> Photo:
    """``piece`` through the denoise step, with the whole photo's noise ``estimate`` (adaptive)."""
    srgb = denoise.denoise_srgb(denoise.encode(piece.pixels), params, scale=piece.scale, estimate=estimate,
                                profile=piece.metadata.noise_profile,
                                progress=None if context is None else context.progress)
    return piece.with_pixels(denoise.decode(srgb))


def _develop(piece: Photo, recipe: Recipe, inner: Box) -> np.ndarray:
    """``piece`` (the denoise step's output) developed, cut to ``inner`` and encoded for the screen."""
    developed = render(piece, recipe, start_after=DENOISE)
    x0, y0, x1, y1 = inner
    return encode_srgb_integer(developed.pixels[y0:y1, x0:x1], np.uint8)


def render_loupe(context, request: LoupeRequest) -> LoupeResult:
    """Job work: the loupe's before and after images for ``request``."""
    started = time.perf_counter()
    size = output_size((request.photo.width, request.photo.height), request.recipe)
    box = region_around(size, request.center, request.side)
    # The region with context around it, as far as the photo goes; ``inner`` is the region within it.
    outer = grown(box, CONTEXT, size)
    inner = (box[0] - outer[0], box[1] - outer[1], box[2] - outer[0], box[3] - outer[1])
    piece = render(request.photo, request.recipe, stop_before=DENOISE, region=outer)
    recipe = local_recipe(request.recipe, request.proxy)
    if context is not None:
        context.check_cancelled()
    before = _develop(piece, recipe, inner)
    after, warning = before, ""
    if recipe.is_active(DENOISE):
        params = recipe.get(DENOISE)
        try:
            estimate = None
            if params.adaptive and request.noise is not None:
                estimate = request.noise.estimate(request.photo, request.recipe)
                if context is not None:
                    context.check_cancelled()
            after = _develop(_denoised(piece, params, estimate, context), recipe, inner)
        except PhotoLabError as error:  # missing or damaged weights: show it, and the photo without denoising
            warning = str(error)
    return LoupeResult(to_qimage(before), to_qimage(after), box, request.recipe, request.serial,
                       time.perf_counter() - started, warning)

