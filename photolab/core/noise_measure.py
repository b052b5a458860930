"""Denoise's Auto: the noise of a photo measured where the denoise step sees it, as denoise parameters.

The window's Auto button runs :func:`auto_denoise_params` as a job on the full-resolution photo; a camera RAW
photo's level comes from its sensor noise profile (:mod:`photolab.core.noise_profile`), any other photo's
from its pixels (:func:`photolab.core.develop.denoise.estimate_params`). :class:`NoiseCache` keeps the
whole photo's noise for adaptive denoising of a small region (the loupe).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Callable

from photolab.core.develop.denoise import OPERATION, DenoiseParams, encode, estimate_params, measure_noise
from photolab.core.errors import DenoiseError
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.core.render import render, steps


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


class NoiseCache:
    """The noise of the whole full-resolution photo after the geometry, as the denoise step measures it
    there: kept for the last (photo, geometry), since measuring a large photo takes a second or two."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[Photo, tuple, object] | None = None  # (photo, steps before denoise, estimate)

    def estimate(self, photo: Photo, recipe: Recipe):
        """The ``NoiseEstimate`` of ``photo`` as the denoise step of ``recipe`` sees it (None: too small)."""
        before_denoise = tuple((op.name, params) for op, params in steps(recipe, stop_before=OPERATION.name))
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] is photo and entry[1] == before_denoise:
            return entry[2]
        region = render(photo, recipe, stop_before=OPERATION.name)
        try:
            estimate = measure_noise(encode(region.pixels), region.metadata.noise_profile)
        except DenoiseError:
            estimate = None
        with self._lock:
            self._entry = (photo, before_denoise, estimate)
        return estimate
