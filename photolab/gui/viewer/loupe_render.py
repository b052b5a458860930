"""The loupe's job: a 1:1 crop of the developed photo around one point, before and after, off the GUI thread.

The pixels come from :func:`photolab.core.region_preview.develop_region` (only the region is developed, as
the whole photo would develop there); this module wraps them as QImages for the loupe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtGui import QImage

from photolab.core.develop import Box
from photolab.core.noise_measure import NoiseCache
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.region_preview import develop_region
from photolab.gui.viewer.rendering import to_qimage

LOUPE_SIDE = 256  # photo pixels on each side of the loupe


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
    noise: NoiseCache | None = None  # the whole photo's noise, for adaptive denoising


@dataclass(frozen=True)
class LoupeResult:
    before: QImage  # the region developed without denoising
    after: QImage  # the region as the recipe develops it
    box: Box  # the region, in scene pixels
    recipe: Recipe
    serial: int
    seconds: float
    warning: str = ""  # why "after" is not denoised (the denoiser could not run), or ""


def render_loupe(context, request: LoupeRequest) -> LoupeResult:
    """Job work: the loupe's before and after images for ``request``."""
    started = time.perf_counter()
    region = develop_region(request.photo, request.recipe, request.center, request.side, proxy=request.proxy,
                            noise=request.noise, context=context)
    return LoupeResult(to_qimage(region.before), to_qimage(region.after), region.box, request.recipe,
                       request.serial, time.perf_counter() - started, region.warning)
