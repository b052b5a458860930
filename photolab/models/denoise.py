"""Learned denoising: the network, its noise-level maps, noise estimation, tiled inference and weight loading.

The network (:class:`DenoiseUNet`) takes an sRGB-encoded image in [0, 1] and a *noise-level map* (the
standard deviation of the noise at every pixel, on the 0-1 scale: sigma/255), the FFDNet idea: one model
covers every strength and signal-dependent camera noise, because the map says how much noise to expect
where. It works at half resolution after a 2x2 pixel unshuffle (as FFDNet does) and is a three-level U-Net of
plain 3x3 convolutions and ReLUs: on a CPU those run at full oneDNN speed, and the two downsamplings give a
receptive field of about 200 px for the cost of a few full-resolution layers. It predicts the noise residual.

Shipped weights live in ``resources/models/denoise/<name>.safetensors`` beside ``<name>.json`` (the card:
architecture, data, noise model, recipe, held-out PSNR/SSIM, sha256); :func:`load_denoiser` reads them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from photolab.core.errors import PhotoLabError
from photolab.core.noise_profile import MAX_SIGMA, poisson_gaussian_map, srgb_slope  # noqa: F401 - part of this API

DENOISE_MODELS_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "denoise"
"""Folder of the built-in denoisers (weights + card)."""

DEFAULT_DENOISER = "photolab-denoise-unet"
"""Name of the denoiser used when none is asked for."""

ALIGN = 8
"""Image sides are padded to a multiple of this (pixel unshuffle x two poolings)."""


class DenoiseError(PhotoLabError):
    """A denoiser could not be loaded or run (missing/truncated/mismatched weights, bad sigma)."""


def _conv_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


class DenoiseUNet(nn.Module):
    """Noise-map-conditioned residual U-Net at half resolution (see the module docstring).

    ``widths`` are the channels of the three levels (1/2, 1/4 and 1/8 of the input resolution);
    ``bottleneck`` is the number of 3x3 convolutions at the coarsest level.
    """

    def __init__(self, widths: tuple[int, int, int] = (48, 96, 192), bottleneck: int = 4):
        super().__init__()
        c1, c2, c3 = widths
        self.widths = tuple(widths)
        self.bottleneck = bottleneck
        self.head = nn.Sequential(_conv_relu(12 + 1, c1), _conv_relu(c1, c1))
        self.down1 = nn.Sequential(nn.Conv2d(c1, c2, 2, stride=2), nn.ReLU(inplace=True),
                                   _conv_relu(c2, c2), _conv_relu(c2, c2))
        self.down2 = nn.Sequential(nn.Conv2d(c2, c3, 2, stride=2), nn.ReLU(inplace=True),
                                   *[_conv_relu(c3, c3) for _ in range(bottleneck)])
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.body2 = nn.Sequential(_conv_relu(c2, c2), _conv_relu(c2, c2))
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.tail = nn.Sequential(_conv_relu(c1, c1), nn.Conv2d(c1, 12, 3, padding=1))

    def config(self) -> dict[str, Any]:
        """The constructor arguments, for the model card."""
        return {"name": "denoise-unet", "widths": list(self.widths), "bottleneck": self.bottleneck}

    def forward(self, image: torch.Tensor, sigma_map: torch.Tensor) -> torch.Tensor:
        """``image`` (N, 3, H, W) sRGB in [0, 1], ``sigma_map`` (N, 1, H, W) noise std in [0, 1]; H, W
        multiples of :data:`ALIGN`. Returns the denoised image (not clipped)."""
        x = F.pixel_unshuffle(image, 2)
        noise = F.avg_pool2d(sigma_map, 2)
        level1 = self.head(torch.cat([x, noise], dim=1))
        level2 = self.down1(level1)
        level3 = self.down2(level2)
        level2 = self.body2(self.up2(level3) + level2)
        residual = self.tail(self.up1(level2) + level1)
        return image + F.pixel_shuffle(residual, 2)


# ----------------------------------------------------------------------------------------------- noise maps

# srgb_slope and poisson_gaussian_map (the training's map, pure NumPy) live in photolab.core.noise_profile,
# where the Denoise step makes the same map for a RAW photo from its measured noise profile.


@dataclass(frozen=True)
class NoiseEstimate:
    """The noise of a photo: an overall ``sigma`` and a noise level function (0-255 scale both).

    ``levels`` are mean sRGB brightnesses (0-1) and ``sigmas`` the noise std measured at each; a signal-
    dependent map follows the function, a uniform map uses ``sigma``.
    """

    sigma: float
    levels: tuple[float, ...] = ()
    sigmas: tuple[float, ...] = ()

    def map_for(self, srgb: np.ndarray, strength: float | None = None) -> np.ndarray:
        """A per-pixel noise map (0-1 scale, (H, W)) for ``srgb`` following the noise level function,
        scaled so that its overall level is ``strength`` (0-255; default: the estimate itself)."""
        level = self.sigma if strength is None else float(strength)
        if not self.levels or self.sigma <= 0:  # no function measured (or no noise found): a uniform level
            return np.full(srgb.shape[:2], min(level, MAX_SIGMA) / 255, np.float32)
        scale = level / self.sigma
        brightness = cv2.GaussianBlur(np.clip(srgb, 0, 1).mean(axis=2).astype(np.float32), (0, 0), 2.0)
        curve = np.interp(brightness, self.levels, self.sigmas).astype(np.float32)
        return np.clip(curve * (scale / 255), 0.0, MAX_SIGMA / 255)


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_BLOCK = 16


_SAMPLE = 16 * 32 + 2  # side of the regions a large photo is measured in (32 blocks and a pixel of context)
_SAMPLES = 4  # per axis: a large photo is measured in at most 4 x 4 regions spread over it (about 4 MP)


def estimate_noise(srgb: np.ndarray, bins: int = 8) -> NoiseEstimate:
    """Estimate the noise of an sRGB image (H, W, 3 or H, W; float 0-1 or integers).

    Immerkaer's operator (a Laplacian difference that cancels smooth image content) is applied to every
    channel; its mean absolute value in 16x16 blocks gives a per-block noise estimate that texture can only
    raise, so a low quantile of the blocks of each brightness is kept. Clipped samples (and the responses
    that touch them) are left out, and so are blocks where more than a tenth of the responses would be (more,
    if that leaves too few blocks): a noisy photo's dark and bright blocks hold a few clipped samples, yet
    still say what the noise is. A long side is measured in 4 stretches of 514 px spread over it, so a large
    photo costs at most 4 x 4 such regions of time and memory (the blocks' statistics are the same).
    Returns the overall sigma (0-255) and the noise level function over brightness.
    """
    image = np.asarray(srgb)
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    if (height - 2) // _BLOCK < 2 or (width - 2) // _BLOCK < 2:
        raise DenoiseError(f"the image ({width}x{height}) is too small to estimate its noise")
    stats = [_block_stats(image[rows, cols]) for rows in _sample_spans(height) for cols in _sample_spans(width)]
    block_sigma, block_mean, counts = (np.concatenate(parts) for parts in zip(*stats))
    for share in (0.9, 0.6, 0.3):  # very noisy photos clip in most blocks: accept more of them, rather than none
        usable = counts >= share * _BLOCK * _BLOCK * image.shape[2]
        if usable.sum() >= 4:
            break
    else:
        return NoiseEstimate(0.0)
    block_sigma, block_mean = block_sigma[usable], block_mean[usable]
    overall = float(np.quantile(block_sigma, 0.2))
    edges = np.quantile(block_mean, np.linspace(0, 1, bins + 1))
    levels, sigmas = [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (block_mean >= low) & (block_mean <= high)
        if inside.sum() >= 8:
            levels.append(float(np.median(block_mean[inside])))
            sigmas.append(float(np.quantile(block_sigma[inside], 0.2)))
    if len(levels) < 2 or np.any(np.diff(levels) <= 0):
        return NoiseEstimate(overall)
    return NoiseEstimate(overall, tuple(levels), tuple(sigmas))


def _sample_spans(size: int) -> list[slice]:
    """The measured stretches of one axis: all of it when it is short, else :data:`_SAMPLES` stretches of
    :data:`_SAMPLE` px spread evenly."""
    if size <= _SAMPLES * _SAMPLE:
        return [slice(0, size)]
    return [slice(start, start + _SAMPLE) for start in np.linspace(0, size - _SAMPLE, _SAMPLES).round().astype(int)]


def _block_stats(region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 16x16 block of an (h, w, c) region: noise estimate (0-255), mean value (0-1), usable responses."""
    if np.issubdtype(region.dtype, np.integer):
        region = region.astype(np.float32) / np.iinfo(region.dtype).max
    region = np.ascontiguousarray(region, dtype=np.float32)
    rows, cols = (region.shape[0] - 2) // _BLOCK, (region.shape[1] - 2) // _BLOCK
    inside = (slice(1, 1 + rows * _BLOCK), slice(1, 1 + cols * _BLOCK))
    response = np.abs(np.stack([cv2.filter2D(region[:, :, c], -1, _IMMERKAER, borderType=cv2.BORDER_REFLECT)
                                for c in range(region.shape[2])], axis=2))[inside]
    unclipped = ((region > 0.5 / 255) & (region < 254.5 / 255)).astype(np.uint8)
    valid = np.stack([cv2.erode(unclipped[:, :, c], np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REFLECT)
                      for c in range(region.shape[2])], axis=2)[inside].astype(np.float32)

    def blocks(a: np.ndarray, reduce: Callable) -> np.ndarray:
        return reduce(a.reshape(rows, _BLOCK, cols, _BLOCK, -1), axis=(1, 3, 4)).ravel()

    counts = blocks(valid, np.sum)
    block_sigma = blocks(response * valid, np.sum) / np.maximum(counts, 1) * (math.sqrt(math.pi / 2) / 6) * 255
    return block_sigma, blocks(region[inside], np.mean), counts


# ------------------------------------------------------------------------------------------------ inference

def _to_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def _pad_to(tensor: torch.Tensor, height: int, width: int) -> torch.Tensor:
    pad_h, pad_w = height - tensor.shape[2], width - tensor.shape[3]
    if pad_h == 0 and pad_w == 0:
        return tensor
    mode = "reflect" if pad_h < tensor.shape[2] and pad_w < tensor.shape[3] else "replicate"
    return F.pad(tensor, (0, pad_w, 0, pad_h), mode=mode)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def tile_origins(size: int, tile: int) -> list[int]:
    """Start offsets of the tiles (cores of ``tile`` px, aligned to :data:`ALIGN`) that cover ``size``."""
    return list(range(0, size, tile)) if size > tile else [0]


@torch.inference_mode()
def denoise_array(model: DenoiseUNet, srgb: np.ndarray, sigma_map: np.ndarray | float, *, tile: int = 512,
                  margin: int = 64, device: str | torch.device | None = None,
                  progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Denoise an sRGB image (H, W, 3) float32 in [0, 1] with ``sigma_map`` ((H, W) or a scalar, 0-1 scale).

    The image is processed in tiles of ``tile`` px plus ``margin`` px of context on every side (context
    larger than the network's effective reach, so the result matches a whole-image pass to within float
    rounding), one tile at a time: memory stays bounded whatever the size, and torch uses every core
    inside each tile. Values above 1 pass through shifted by the correction found for their clipped value
    (highlight headroom survives); values below 0 (noise around black: light is never negative) get the
    denoised value of 0. ``progress`` is called with the fraction done before each tile and at
    the end (1.0); an exception it raises (a cancelled job's) stops the work between tiles.
    """
    if tile % ALIGN or margin % ALIGN:
        raise ValueError(f"tile and margin must be multiples of {ALIGN}")
    height, width = srgb.shape[:2]
    clipped = np.clip(srgb, 0.0, 1.0).astype(np.float32)
    if np.isscalar(sigma_map) or np.ndim(sigma_map) == 0:
        noise = np.full((height, width), float(sigma_map), np.float32)
    else:
        noise = np.asarray(sigma_map, np.float32)
        if noise.shape != (height, width):
            raise ValueError(f"the noise map is {noise.shape}, the image {(height, width)}")
    if device is None:
        device = next(model.parameters()).device
    out = np.empty_like(clipped)
    ys, xs = tile_origins(height, tile), tile_origins(width, tile)
    done, total = 0, len(ys) * len(xs)
    for y in ys:
        for x in xs:
            if progress is not None:  # before each tile: a callback that raises stops the work at once
                progress(done / total)
            y0, x0 = max(0, y - margin), max(0, x - margin)
            y1, x1 = min(height, y + tile + margin), min(width, x + tile + margin)
            part = _to_tensor(clipped[y0:y1, x0:x1])
            level = torch.from_numpy(np.ascontiguousarray(noise[y0:y1, x0:x1]))[None, None]
            h, w = _round_up(y1 - y0, ALIGN), _round_up(x1 - x0, ALIGN)
            result = model(_pad_to(part, h, w).to(device), _pad_to(level, h, w).to(device))
            result = result[0, :, :y1 - y0, :x1 - x0].float().cpu().numpy().transpose(1, 2, 0)
            core_h, core_w = min(tile, height - y), min(tile, width - x)
            out[y:y + core_h, x:x + core_w] = result[y - y0:y - y0 + core_h, x - x0:x - x0 + core_w]
            done += 1
    if progress is not None:
        progress(1.0)
    out -= clipped  # the correction, in place (a 24 MP photo needs no further full-size temporaries)
    np.add(out, srgb, out=out, where=srgb > 0)  # below 0 the clipped value was 0: the correction is the result
    return out


# ------------------------------------------------------------------------------------------------- loading

@dataclass
class Denoiser:
    """A loaded denoiser: the network in eval mode, its card, and where it came from."""

    name: str
    model: DenoiseUNet
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __call__(self, srgb: np.ndarray, sigma_map: np.ndarray | float, **options) -> np.ndarray:
        """Denoise ``srgb`` (see :func:`denoise_array`)."""
        return denoise_array(self.model, srgb, sigma_map, **options)


def list_denoisers(folder: Path = DENOISE_MODELS_DIR) -> list[str]:
    """Names of the denoisers in ``folder`` (one card ``<name>.json`` each)."""
    return sorted(p.stem for p in folder.glob("[!.]*.json")) if folder.is_dir() else []


def _resolve(name_or_path: str | Path, folder: Path) -> tuple[str, Path, Path | None]:
    path = Path(name_or_path)
    if path.suffix == ".safetensors":
        card = path.with_suffix(".json")
        return path.stem, path, card if card.is_file() else None
    card = folder / f"{name_or_path}.json"
    if not card.is_file():
        known = ", ".join(list_denoisers(folder)) or "none installed"
        raise DenoiseError(f"no denoiser named {str(name_or_path)!r} in {folder} (known: {known})")
    return str(name_or_path), folder / f"{name_or_path}.safetensors", card


_CACHE: dict[tuple[str, str], Denoiser] = {}


def load_denoiser(name_or_path: str | Path = DEFAULT_DENOISER, *, device: str | torch.device = "cpu",
                  folder: Path = DENOISE_MODELS_DIR, verify: bool = True) -> Denoiser:
    """Load a denoiser by name (from ``folder``) or from a ``.safetensors`` path (card beside it optional).

    The sha256 in the card is checked when ``verify``; a missing, truncated or mismatched file raises
    :class:`DenoiseError` naming the file. Loaded models are cached per (file, device).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    name, weights, card_path = _resolve(name_or_path, folder)
    device = _check_device(device)
    if not weights.is_file():
        raise DenoiseError(f"the denoiser weights {weights} are missing")
    stat = weights.stat()  # a file replaced on disk is loaded afresh
    key = (str(weights.resolve()), stat.st_mtime_ns, stat.st_size, str(device))
    if key in _CACHE:
        return _CACHE[key]
    card: dict[str, Any] = {}
    if card_path is not None:
        try:
            card = json.loads(card_path.read_text())
        except (OSError, ValueError) as error:
            raise DenoiseError(f"cannot read the card {card_path}: {error}") from error
        if not isinstance(card, dict) or not isinstance(card.get("architecture", {}), dict) \
                or not isinstance(card.get("weights", {}), dict):
            raise DenoiseError(f"the card {card_path} is not a denoiser card (a JSON object with 'architecture')")
    expected = card.get("weights", {}).get("sha256")
    if verify and expected:
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        if digest != expected:
            raise DenoiseError(f"{weights} is damaged or truncated: its sha256 is {digest[:12]}…, "
                               f"the card expects {expected[:12]}…")
    arch = card.get("architecture", {})
    try:
        model = DenoiseUNet(tuple(int(w) for w in arch.get("widths", (48, 96, 192))), int(arch.get("bottleneck", 4)))
    except (TypeError, ValueError, RuntimeError) as error:
        raise DenoiseError(f"the card {card_path} describes no usable network ({error})") from error
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as error:
        raise DenoiseError(f"{weights} is not a readable safetensors file ({error})") from error
    mismatch = _state_mismatch(model.state_dict(), state)
    if mismatch:
        raise DenoiseError(f"{weights} holds weights of another architecture: {mismatch}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise DenoiseError(f"{weights} holds weights of another architecture: "
                           f"{str(error).splitlines()[0]}") from error
    model.eval().to(device)
    denoiser = Denoiser(name, model, card, weights)
    _CACHE[key] = denoiser
    return denoiser


def _state_mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str:
    """How a state dict differs from the network's ("" when every name and shape matches)."""
    def listed(names: list[str]) -> str:
        return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")

    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected]
    if missing or extra:
        parts = [f"{len(missing)} tensor(s) missing ({listed(missing)})"] if missing else []
        parts += [f"{len(extra)} unexpected ({listed(extra)})"] if extra else []
        return "; ".join(parts)
    for name, tensor in expected.items():
        if tuple(found[name].shape) != tuple(tensor.shape):
            return f"{name} has shape {tuple(found[name].shape)}, the network expects {tuple(tensor.shape)}"
    return ""


def _check_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch device; a clear :class:`DenoiseError` for unknown names or a missing GPU."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise DenoiseError(f"unknown device {str(device)!r}; use cpu or cuda") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DenoiseError("CUDA is not available on this machine (no GPU, or a CPU-only torch); use cpu")
    if resolved.type not in ("cpu", "cuda"):
        raise DenoiseError(f"unsupported device {str(device)!r}; use cpu or cuda")
    return resolved


def check_sigma(sigma: float) -> float:
    """``sigma`` as a float if it is a usable noise level (0-255 scale), else a clear :class:`DenoiseError`."""
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise DenoiseError(f"the noise level must be a number, not {sigma!r}") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_SIGMA:
        raise DenoiseError(f"the noise level sigma must be between 0 and {MAX_SIGMA:g} (0-255 scale), not {value:g}")
    return value
