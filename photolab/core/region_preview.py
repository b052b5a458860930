"""A small region of the developed photo, before and after denoising, as developing the whole photo gives it
there (the loupe's pixels; Qt-free, so any front end can show them).

Only the requested region is developed (:mod:`photolab.core.render` maps it back through the recipe's
geometry): the denoiser's input is rendered with ``CONTEXT`` pixels of context on each side (the denoiser
looks that far around a pixel, so the crop denoises as the whole photo would), denoised, and run through the
rest of the recipe. Every operation after the geometry works pixel by pixel except two that look at the
whole photo: automatic white balance, resolved on the proxy first (:func:`local_recipe`), and adaptive
denoising, which follows the noise level function measured on the whole photo
(:class:`~photolab.core.noise_measure.NoiseCache`), as the full-resolution render does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photolab.core.color import encode_srgb_integer
from photolab.core.develop import Box, denoise
from photolab.core.develop.white_balance import WhiteBalanceParams, target_multipliers
from photolab.core.errors import PhotoLabError
from photolab.core.noise_measure import NoiseCache
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import grown, output_size, region_around, render

DENOISE = denoise.OPERATION.name
CONTEXT = 64  # pixels around the region that the development sees (and that are cut off afterwards)


@dataclass(frozen=True)
class RegionPreview:
    """The region ``box`` (scene pixels: the full-resolution photo after orient and crop) as 8-bit sRGB."""

    before: np.ndarray  # (H, W, 3) uint8: the region developed without denoising
    after: np.ndarray  # (H, W, 3) uint8: the region as the recipe develops it
    box: Box
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


def develop_region(photo: Photo, recipe: Recipe, center: tuple[float, float], side: int, *,
                   proxy: Photo | None = None, noise: NoiseCache | None = None, context=None) -> RegionPreview:
    """The ``side`` x ``side`` region around ``center`` (scene pixels) of ``photo`` developed with ``recipe``,
    before and after denoising. ``proxy`` resolves automatic white balance, ``noise`` gives adaptive denoising
    the whole photo's noise; ``context`` (a JobContext) gets progress and may cancel. A denoiser that cannot
    run leaves "after" undenoised, with the reason in ``warning``."""
    size = output_size((photo.width, photo.height), recipe)
    box = region_around(size, center, side)
    # The region with context around it, as far as the photo goes; ``inner`` is the region within it.
    outer = grown(box, CONTEXT, size)
    inner = (box[0] - outer[0], box[1] - outer[1], box[2] - outer[0], box[3] - outer[1])
    piece = render(photo, recipe, stop_before=DENOISE, region=outer)
    fixed = local_recipe(recipe, proxy)
    if context is not None:
        context.check_cancelled()
    before = _develop(piece, fixed, inner)
    after, warning = before, ""
    if fixed.is_active(DENOISE):
        params = fixed.get(DENOISE)
        try:
            estimate = None
            if params.adaptive and noise is not None:
                estimate = noise.estimate(photo, recipe)
                if context is not None:
                    context.check_cancelled()
            after = _develop(_denoised(piece, params, estimate, context), fixed, inner)
        except PhotoLabError as error:  # missing or damaged weights: show it, and the photo without denoising
            warning = str(error)
    return RegionPreview(before, after, box, warning)
