"""Denoise: the learned denoiser as a develop step.

The network works on sRGB-encoded pixels with a noise-level map (noise std per pixel, 0-255 scale / 255),
so the step encodes the linear pixels to sRGB, denoises, and decodes back. ``sigma`` is the noise level of
the *full-resolution* photo; on a downscaled proxy (``Photo.scale`` < 1) area averaging has already shrunk
the noise by that factor, so the step asks for ``sigma * scale`` and the preview matches the export.

Adaptive denoising follows the photo's noise level function. For a camera RAW photo that is the sensor's, measured
on the mosaic when the photo was read (``PhotoMetadata.noise_profile``, see ``photolab.core.noise_profile``): the
map is then the one the network was trained with (``photolab.core.noise_map``), ``poisson_gaussian_map(blurred
sRGB, shot, read)``, scaled by ``sigma / level`` (level: the map's RMS over the image), and Auto's sigma is that
level. Other images are measured on their pixels (``photolab.core.noise_estimate.estimate_strength``).

Core never imports the models (nor torch): it declares what it needs, a :class:`Denoiser`, and a front end
installs the loader of real ones with :func:`register_denoiser_loader` (``photolab.services.install_models``
does, with the ModelManager's denoisers, on the manager's device).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from photolab.core.bands import run_in_bands
from photolab.core.color import srgb_curve, srgb_curve_inverse
from photolab.core.develop.operation import Operation
from photolab.core.develop.params import check_params, param
from photolab.core.errors import DenoiseError
from photolab.core.noise_estimate import estimate_strength
from photolab.core.noise_map import MAX_SIGMA, ProfileEstimate, profile_noise_map
from photolab.core.photo import NoiseProfile, Photo

DEFAULT_TILE = 512
DEFAULT_MARGIN = 64


@dataclass(frozen=True)
class DenoiseParams:
    """``sigma``: noise std to remove, 0-255 scale of the sRGB-encoded full-resolution photo (0 = off).
    ``adaptive``: follow the photo's estimated noise level function (noise per brightness), scaled so its
    overall level is ``sigma``, instead of one level everywhere. ``model``: a denoiser name or a
    ``.safetensors`` path ("" = the built-in default)."""

    sigma: float = param(0.0, label="Strength", range=(0.0, MAX_SIGMA), step=0.5)
    adaptive: bool = param(False, label="Adaptive")
    model: str = param("", label="Model")

    def __post_init__(self) -> None:
        check_params(self, "denoise")


@dataclass
class DenoiseRuntime:
    """How the step runs (not part of the recipe): the tile size and the context around each tile. The device
    is the model runtime's (the ModelManager's, which the window's device choice sets)."""

    tile: int = DEFAULT_TILE
    margin: int = DEFAULT_MARGIN


RUNTIME = DenoiseRuntime()
"""The settings ``apply`` uses; :func:`denoise_srgb` and :func:`denoise_photo` also take them as arguments, as
``photolab-cli denoise --tile`` does."""


class Denoiser(Protocol):
    """A loaded denoiser, as the step uses it: called with sRGB-encoded (H, W, 3) float32 pixels and a noise
    map ((H, W) or a scalar, noise std / 255), it returns the denoised pixels, tile by tile, calling
    ``progress`` with the fraction done (an exception it raises stops the work)."""

    name: str

    def __call__(self, srgb: np.ndarray, sigma_map: np.ndarray | float, *, tile: int, margin: int,
                 progress: Callable[[float], None] | None = None) -> np.ndarray: ...


DenoiserLoader = Callable[[str, "str | None"], Denoiser]
"""``(model, device) -> Denoiser``: ``model`` is a denoiser name or ``.safetensors`` path ("" for the default),
``device`` a torch device name or None for the runtime's own device."""

_loader: DenoiserLoader | None = None


def register_denoiser_loader(loader: DenoiserLoader | None) -> None:
    """Install how the step loads its denoiser (``photolab.services.install_models`` does; None removes it)."""
    global _loader
    _loader = loader


def load_denoiser(model: str = "", device: str | None = None) -> Denoiser:
    """The denoiser ``model`` ("" for the default) on ``device`` (None: the runtime's), through the installed
    loader; :class:`DenoiseError` when no model runtime is installed."""
    if _loader is None:
        raise DenoiseError("no denoiser is available: the model runtime is not installed "
                           "(photolab.services.install_models)")
    return _loader(model, device)


def _encode_band(x: np.ndarray) -> np.ndarray:
    return np.copysign(srgb_curve(np.abs(x)), x)


def _decode_band(y: np.ndarray) -> np.ndarray:
    return np.copysign(srgb_curve_inverse(np.abs(y)), y)


def _banded(function: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> np.ndarray:
    """``function`` applied a band of rows at a time, on all cores (small temporaries, bounded memory)."""
    values = np.asarray(values, dtype=np.float32)
    out = np.empty(values.shape, np.float32)
    if values.ndim == 0 or values.size == 0:
        out[...] = function(values)
        return out
    rows = max(1, (1 << 16) // max(1, values[0].size))

    def work(start: int, end: int) -> None:
        out[start:end] = function(values[start:end])

    run_in_bands(values.shape[0], rows, work)
    return out


def encode(linear: np.ndarray) -> np.ndarray:
    """Linear to sRGB-encoded, extended beyond [0, 1] (odd-symmetric, the curve continued above 1), so
    highlight headroom and slightly negative values survive a round trip through :func:`decode`."""
    return _banded(_encode_band, linear)


def decode(encoded: np.ndarray) -> np.ndarray:
    """The inverse of :func:`encode`."""
    return _banded(_decode_band, encoded)


def noise_map(srgb: np.ndarray, sigma: float, adaptive: bool, estimate=None,
              profile: NoiseProfile | None = None) -> np.ndarray | float:
    """The network's noise-level input for sRGB-encoded ``srgb``: ``sigma/255`` everywhere, or (adaptive) the
    noise level function scaled to ``sigma``: ``estimate``'s if given (a NoiseEstimate or ProfileEstimate
    measured on the whole photo), else the RAW ``profile``'s map of this image, else the image's own measured
    function; uniform when the image is too small to measure."""
    if not adaptive:
        return sigma / 255.0
    if estimate is None and profile is not None:
        return profile_noise_map(srgb, profile, sigma)
    if estimate is None:
        try:
            estimate = estimate_strength(np.clip(srgb, 0.0, 1.0))
        except DenoiseError:  # too small to measure
            return sigma / 255.0
    return estimate.map_for(srgb, sigma)


def measure_noise(srgb: np.ndarray, profile: NoiseProfile | None = None):
    """The noise of sRGB-encoded ``srgb`` (H, W, 3): the RAW ``profile``'s ProfileEstimate over this image,
    else ``estimate_strength`` of its pixels (a NoiseEstimate; DenoiseError when the image is too small)."""
    if profile is not None:
        return ProfileEstimate.measure(srgb, profile)
    return estimate_strength(np.clip(srgb, 0.0, 1.0))


def estimate_params(srgb: np.ndarray, model: str = "", profile: NoiseProfile | None = None):
    """``--auto``: the noise of sRGB-encoded ``srgb`` (H, W, 3) measured, as (DenoiseParams that follow
    the noise level function, the estimate). A camera RAW photo's ``profile`` (``metadata.noise_profile``)
    gives the sensor's noise; without one the image is measured (DenoiseError when it is too small)."""
    estimate = measure_noise(srgb, profile)
    return DenoiseParams(min(estimate.sigma, MAX_SIGMA), adaptive=True, model=model), estimate


def denoise_srgb(srgb: np.ndarray, params: DenoiseParams, *, scale: float = 1.0, estimate=None,
                 profile: NoiseProfile | None = None, device: str | None = None, tile: int | None = None,
                 margin: int | None = None, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Denoise sRGB-encoded (H, W, 3) float32 pixels as ``params`` say, for an image at ``scale`` of the
    full resolution (the level asked for is ``sigma * scale``), with the RAW noise ``profile`` if any (see
    :func:`noise_map`). Values outside [0, 1] pass through with the correction of their clipped value.
    ``device`` defaults to the model runtime's, tile/margin to :data:`RUNTIME`; ``progress`` gets the fraction
    done after each tile, and a callback that raises (a cancelled job's) stops the work."""
    if params.sigma <= 0.0:
        return srgb
    denoiser = load_denoiser(params.model, device)
    sigma = params.sigma * min(1.0, float(scale))
    level = noise_map(srgb, sigma, params.adaptive, estimate, profile)
    return denoiser(srgb, level, tile=tile or RUNTIME.tile, margin=RUNTIME.margin if margin is None else margin,
                    progress=progress)


def denoise_photo(photo: Photo, params: DenoiseParams, **options) -> Photo:
    """Denoise a (linear) Photo: encode to sRGB, :func:`denoise_srgb` at the photo's ``scale`` with its RAW
    noise profile (if it has one), decode."""
    if params.sigma <= 0.0:
        return photo
    options.setdefault("profile", photo.metadata.noise_profile)
    return photo.with_pixels(decode(denoise_srgb(encode(photo.pixels), params, scale=photo.scale, **options)))


def apply(photo: Photo, params: DenoiseParams, progress: Callable[[float], None] | None = None) -> Photo:
    """Remove noise of std ``params.sigma`` (see :func:`denoise_photo`)."""
    return denoise_photo(photo, params, progress=progress)


def margin(params: DenoiseParams) -> int | None:
    """How far around a pixel the step looks: the tiles' margin, or the whole photo when ``adaptive`` (the
    noise level function is measured on all of it)."""
    return None if params.adaptive else RUNTIME.margin


OPERATION = Operation("denoise", "Denoise", DenoiseParams, apply, reports_progress=True, cost=20.0,
                      identity=lambda params: params.sigma <= 0.0, margin=margin)
