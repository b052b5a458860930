"""Running the learned denoiser: tiled inference of :class:`~photolab.models.archs.denoise_unet.DenoiseUNet`
and the loaded :class:`Denoiser` that the Denoise develop step calls.

Shipped weights live in ``resources/models/denoise/<name>.safetensors`` beside ``<name>.json`` (the card:
architecture, data, noise model, recipe, held-out PSNR/SSIM, sha256); they load through
``ModelManager.load_denoiser`` (card, checksum, device, cache), like every other model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from photolab.models.archs.denoise_unet import ALIGN, DenoiseUNet

DEFAULT_DENOISER = "photolab-denoise-unet"
"""Name of the denoiser used when none is asked for."""


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
    """A loaded denoiser (what ``ModelManager.load_denoiser`` returns): the network in eval mode on its device,
    its card, and where it came from. It is the ``Denoiser`` that ``photolab.core.develop.denoise`` asks for."""

    name: str
    model: DenoiseUNet
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def device(self) -> torch.device:
        """Where the network's weights are."""
        return next(self.model.parameters()).device

    def __call__(self, srgb: np.ndarray, sigma_map: np.ndarray | float, **options) -> np.ndarray:
        """Denoise ``srgb`` (see :func:`denoise_array`)."""
        return denoise_array(self.model, srgb, sigma_map, **options)
