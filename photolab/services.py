"""The glue both front ends call: file in, developed (or denoised) file out, and the models installed into core.

This is the one module that may use core and models together. Core's Denoise step declares what it needs (a
``Denoiser``, see :mod:`photolab.core.develop.denoise`); :func:`install_models` fills it with the
ModelManager's denoisers, so the step runs on the manager's device: the window installs its own manager (the
device picked there reaches the denoiser), the CLI a default one at start. The models (and torch) are imported
when a denoiser is first needed, so developing without denoising never loads them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photolab.core import io
from photolab.core.develop import denoise, look
from photolab.core.errors import PhotoLabError, UnsupportedFormatError
from photolab.core.export import FORMAT_BY_SUFFIX, STORED_SUFFIXES, write_stored
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe, load_sidecar
from photolab.core.render import render
from photolab.jobs import JobContext

if TYPE_CHECKING:
    from photolab.models.store.manager import ModelManager


_manager: "ModelManager | None" = None
"""The installed ModelManager (None: a default one is made when first needed)."""
_manager_lock = threading.Lock()  # renders on several threads may ask for the default manager at once


def install_models(manager: "ModelManager | None" = None) -> None:
    """Make core's Denoise and Look steps load their denoisers and looks through ``manager`` (None: a default ModelManager, created
    when a denoiser is first needed), on the manager's device unless a caller names one."""
    global _manager
    with _manager_lock:
        _manager = manager
    denoise.register_denoiser_loader(lambda model, device: model_manager().load_denoiser(model, device))
    look.register_look_loader(lambda name: model_manager().load_look(name))


def model_manager() -> "ModelManager":
    """The installed ModelManager (a default one, made now, when none was installed)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            from photolab.models.store.manager import ModelManager

            _manager = ModelManager()
        return _manager


def installed_denoiser_names() -> tuple[list[str], str]:
    """The installed denoisers' names and the default's."""
    return model_manager().list_denoisers(), default_denoiser()


def installed_look_names() -> list[str]:
    """The user's learned looks' names (listed without loading the model runtime)."""
    from photolab.core.presets import user_data_dir

    with _manager_lock:
        folder = _manager.user_look_dir if _manager is not None else user_data_dir() / look.LOOKS_FOLDER
    return sorted(p.stem for p in folder.glob("[!.]*.json")) if folder.is_dir() else []


def default_denoiser() -> str:
    """The name of the denoiser used when none is asked for."""
    from photolab.models.denoise import DEFAULT_DENOISER

    return DEFAULT_DENOISER


def export_developed(context: JobContext, photo: Photo, recipe: Recipe, target: str | Path, *,
                     file_format: str, quality: int = 92, **output) -> Path:
    """Render ``recipe`` on the full-resolution ``photo`` and write it to ``target`` (atomically); returns the
    path written. ``output`` holds export_photo's output options: ``resize``, ``sharpening``,
    ``color_space`` and ``replace``."""
    context.progress(0.0, "Developing")
    developed = render(photo, recipe, progress=lambda f: context.progress(0.5 * f, "Developing"))
    return io.export_photo(developed, target, file_format=file_format, quality=quality,
                           metadata=photo.metadata, context=context.subtask(0.5, 1.0), **output)


ANALYSIS_SIDE = 1600
"""Long side of the photo that models look at (classify, attention): the window's screen-sized copy."""


def edited_preview(path: str | Path, *, use_sidecar: bool = True, max_side: int = ANALYSIS_SIDE) -> tuple[Photo, str | None]:
    """The photo as the window shows it, for the models: a ``max_side`` preview with the edits saved beside it
    rendered (``use_sidecar``), and a warning when the sidecar exists but cannot be used. The window's
    Attention view and ``photolab-cli classify``/``attention`` read photo files through this one function."""
    recipe, warning = load_sidecar(path) if use_sidecar else (None, None)
    photo = io.read_preview(path, max_side=max_side)
    return (render(photo, recipe) if recipe is not None else photo), warning


def develop_file(context: JobContext, source: str | Path, target: str | Path, recipe: Recipe, *,
                 file_format: str, quality: int = 92, demosaic: str = io.DEFAULT_DEMOSAIC, **output) -> Path:
    """Read ``source`` (RAW files demosaiced with ``demosaic``), develop it with ``recipe`` and export it to
    ``target`` with ``output`` options (see :func:`export_developed`); returns the written path."""
    context.progress(0.0, f"Reading {Path(source).name}")
    photo = io.read_photo(source, context=context.subtask(0.0, 0.5), demosaic=demosaic)
    return export_developed(context.subtask(0.5, 1.0), photo, recipe, target,
                            file_format=file_format, quality=quality, **output)


# ------------------------------------------------------------------------------------------------- denoise


@dataclass(frozen=True)
class DenoiseOutcome:
    """What :func:`denoise_file` did: the file written and the noise level used (0-255 scale)."""

    output: Path
    sigma: float
    auto: bool
    model: str


def denoise_file(context: JobContext, source: str | Path, target: str | Path, *, sigma: float | None = None,
                 model: str = "", device: str | None = None, tile: int | None = None, recipe: Recipe | None = None,
                 quality: int = 92, demosaic: str = io.DEFAULT_DEMOSAIC) -> DenoiseOutcome:
    """Denoise ``source`` into ``target`` (written atomically; the format from its extension).

    ``sigma`` is the noise std to remove (0-255 scale); ``None`` measures it (and follows the photo's noise
    level function). A camera RAW file is developed with ``recipe`` (its denoise step replaced by this one)
    and exported as ``develop`` does; an ordinary image keeps its bit depth and alpha channel, and only its
    colour is denoised.
    """
    source, target = Path(source), Path(target)
    if sigma is not None:
        denoise.DenoiseParams(sigma)  # a bad level fails before any reading
    context.progress(0.0, f"Reading {source.name}")
    stored = io.read_stored(source)
    name = model or default_denoiser()
    if stored is None:
        outcome = _denoise_raw(context, source, target, sigma, model, dict(device=device, tile=tile),
                               recipe or Recipe(), quality, demosaic)
        return DenoiseOutcome(outcome.output, outcome.sigma, outcome.auto, name)
    pixels, metadata = stored
    kind = STORED_SUFFIXES.get(target.suffix.lower())
    if kind is None:
        raise UnsupportedFormatError(f"{target}: cannot write {target.suffix or 'files without an extension'}; "
                                     "use .jpg, .png, .tif or .webp")
    colour, alpha = _split_alpha(pixels)
    srgb = colour.astype(np.float32) / np.iinfo(colour.dtype).max if colour.dtype.kind == "u" \
        else denoise.encode(colour)
    if srgb.ndim == 2:
        srgb = np.repeat(srgb[:, :, None], 3, axis=2)
    params, estimate = _denoise_params(source, srgb, sigma, model)
    context.progress(0.1, f"Denoising {source.name}")
    result = denoise.denoise_srgb(srgb, params, estimate=estimate, device=device, tile=tile,
                                  progress=context.subtask(0.1, 0.9).progress)
    if colour.ndim == 2:
        result = result.mean(axis=2)
    context.progress(0.9, f"Writing {target.name}")
    output = _stored_for(kind, result, colour.dtype, alpha)
    context.check_cancelled()
    written = write_stored(output, target, metadata=metadata, quality=quality)
    context.progress(1.0, f"Wrote {target.name}")
    return DenoiseOutcome(written, params.sigma, sigma is None, name)


def _denoise_params(source: Path, srgb: np.ndarray, sigma: float | None, model: str, profile=None):
    if sigma is not None:
        return denoise.DenoiseParams(sigma, model=model), None
    try:
        return denoise.estimate_params(srgb, model, profile=profile)
    except PhotoLabError as exc:
        raise type(exc)(f"{source}: {exc}") from None


def _denoise_raw(context: JobContext, source: Path, target: Path, sigma: float | None, model: str, options: dict,
                 recipe: Recipe, quality: int, demosaic: str) -> DenoiseOutcome:
    file_format = FORMAT_BY_SUFFIX.get(target.suffix.lower())  # as photolab-cli develop picks them
    if file_format is None:
        raise UnsupportedFormatError(f"{target}: a RAW photo is exported as .jpg, .png or .tif")
    photo = io.read_photo(source, context=context.subtask(0.0, 0.3), demosaic=demosaic)
    before = render(photo, recipe, stop_before="denoise")
    srgb = denoise.encode(before.pixels)
    profile = before.metadata.noise_profile  # the sensor's noise, measured on the mosaic when it was read
    params, estimate = _denoise_params(source, srgb, sigma, model, profile)
    context.progress(0.3, f"Denoising {source.name}")
    denoised = before.with_pixels(denoise.decode(denoise.denoise_srgb(
        srgb, params, estimate=estimate, profile=profile, progress=context.subtask(0.3, 0.85).progress,
        **options)))
    context.progress(0.85, f"Developing {source.name}")
    developed = render(denoised, recipe, start_after="denoise")
    written = io.export_photo(developed, target, file_format=file_format, quality=quality,
                              metadata=photo.metadata, context=context.subtask(0.9, 1.0))
    return DenoiseOutcome(written, params.sigma, sigma is None, model)


def _split_alpha(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour: (H, W) grey or (H, W, 3), alpha (H, W) or None) of stored pixels."""
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        colour = pixels[:, :, :-1]
        return (colour[:, :, 0] if colour.shape[2] == 1 else colour), pixels[:, :, -1]
    return pixels, None


def _stored_for(kind: str, srgb: np.ndarray, dtype: np.dtype, alpha: np.ndarray | None) -> np.ndarray:
    """Denoised sRGB values (0-1) as pixels of the input's depth (as near as ``kind`` allows) with its alpha."""
    if kind in ("jpeg", "webp"):
        dtype = np.dtype(np.uint8)
    elif kind == "png" and dtype.kind == "f":
        dtype = np.dtype(np.uint16)
    if dtype.kind == "u":
        top = np.iinfo(dtype).max
        values = np.rint(np.clip(srgb, 0.0, 1.0) * top).astype(dtype)
        if alpha is not None and alpha.dtype != dtype:
            alpha = np.rint(alpha.astype(np.float64) / np.iinfo(alpha.dtype).max * top).astype(dtype) \
                if alpha.dtype.kind == "u" else np.rint(np.clip(alpha, 0, 1) * top).astype(dtype)
    else:
        values = denoise.decode(srgb)
        alpha = None if alpha is None else alpha.astype(np.float32)
    if kind == "jpeg" and alpha is not None:  # no alpha in JPEG: composite over white, as PhotoLab shows it
        weight = alpha.astype(np.float32) / np.iinfo(dtype).max
        weight = weight[:, :, None] if values.ndim == 3 else weight
        values = np.rint(values * weight + np.iinfo(dtype).max * (1 - weight)).astype(dtype)
        alpha = None
    if kind == "webp" and values.ndim == 2:
        values = np.repeat(values[:, :, None], 3, axis=2)
    if alpha is None:
        return values
    if values.ndim == 2:
        return np.dstack([values, alpha])
    return np.dstack([values, alpha[:, :, None]])
