"""Denoise's Auto: the noise of a photo measured where the denoise step sees it, as denoise parameters.

The window's Auto button runs :func:`auto_denoise_params` as a job on the full-resolution photo; a camera RAW
photo's level comes from its sensor noise profile (:mod:`photolab.core.noise_profile`), any other photo's
from its pixels (:func:`photolab.core.develop.denoise.estimate_params`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from photolab.core.develop.denoise import OPERATION, DenoiseParams, encode, estimate_params
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import render


def auto_denoise_params(photo: Photo, recipe: Recipe,
                        progress: Callable[[float], None] | None = None) -> DenoiseParams:
    """Auto's denoise parameters for ``photo`` as the denoise step sees it (the operations before it, rotation
    and crop, applied), keeping the recipe's model; the strength rounded to the slider's 0.1 (no noise: the
    defaults). ``progress`` follows the render and cancels it by raising."""
    region = render(photo, recipe, stop_before=OPERATION.name, progress=progress)
    params, _estimate = estimate_params(encode(region.pixels), recipe.get(OPERATION.name).model,
                                        profile=region.metadata.noise_profile)
    sigma = round(params.sigma, 1)
    return dataclasses.replace(params, sigma=sigma) if sigma > 0 else DenoiseParams(model=params.model)
