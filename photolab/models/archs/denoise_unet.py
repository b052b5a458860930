"""The denoiser's network: a noise-map-conditioned residual U-Net at half resolution.

The network (:class:`DenoiseUNet`) takes an sRGB-encoded image in [0, 1] and a *noise-level map* (the
standard deviation of the noise at every pixel, on the 0-1 scale: sigma/255), the FFDNet idea: one model
covers every strength and signal-dependent camera noise, because the map says how much noise to expect
where. It works at half resolution after a 2x2 pixel unshuffle (as FFDNet does) and is a three-level U-Net of
plain 3x3 convolutions and ReLUs: on a CPU those run at full oneDNN speed, and the two downsamplings give a
receptive field of about 200 px for the cost of a few full-resolution layers. It predicts the noise residual.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCHITECTURE = "denoise-unet"
"""The family's registered name (the ``architecture.name`` of a denoiser card)."""

ALIGN = 8
"""Image sides are padded to a multiple of this (pixel unshuffle x two poolings)."""


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
        return {"name": ARCHITECTURE, "widths": list(self.widths), "bottleneck": self.bottleneck}

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


def create_model(name: str = ARCHITECTURE, widths: tuple[int, int, int] = (48, 96, 192),
                 bottleneck: int = 4) -> DenoiseUNet:
    """A :class:`DenoiseUNet` (random weights) with the card's ``widths`` and ``bottleneck``."""
    if name != ARCHITECTURE:
        raise ValueError(f"unknown denoiser architecture {name!r}; known: {ARCHITECTURE}")
    return DenoiseUNet(tuple(int(w) for w in widths), int(bottleneck))
