"""Histograms of oriented gradients (Dalal and Triggs) as a fixed layer, for the classifier head.

On small folders of drawings, icons and other pictures unlike the backbone's training data, a linear
classifier on HOG is a strong baseline, and the backbone's pooled features and HOG together beat both
(``bench/bench_finetune.py``). So the fine-tuning wizard's *auto* strategy may give an SE network a second
input to its ``fc``: this layer, which has no learnt weights. It reads the network's normalised input
(``mean``/``std`` are buffers, saved with the weights), makes it grey, resizes it to :data:`SIDE` px and
returns unsigned-gradient histograms of :data:`BINS` orientations per :data:`CELL` px cell, normalised in
2 x 2-cell blocks (stride one cell, L2-Hys): (N, :data:`FEATURES`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from photolab.core.color import LUMA_WEIGHTS

SIDE, CELL, BINS = 64, 8, 9
CELLS = SIDE // CELL
FEATURES = (CELLS - 1) ** 2 * 4 * BINS
"""Length of the descriptor: 7 x 7 blocks of 2 x 2 cells of 9 bins."""


class GradientHistogram(nn.Module):
    """(N, 3, H, W) normalised images -> (N, FEATURES) HOG descriptors (no learnt weights)."""

    def __init__(self, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("luma", torch.tensor(LUMA_WEIGHTS, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)

    def set_normalisation(self, mean, std) -> None:
        """The ``mean`` and ``std`` the network's input was normalised with (its card's preprocessing)."""
        self.mean.copy_(torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.std.copy_(torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = (x.float() * self.std + self.mean).clamp(0.0, 1.0) * 255.0
        grey = (rgb * self.luma).sum(1, keepdim=True)
        grey = F.interpolate(grey, size=(SIDE, SIDE), mode="area")
        padded = F.pad(grey, (1, 1, 1, 1), mode="reflect")
        gx = padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2]
        gy = padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1]
        magnitude = torch.sqrt(gx * gx + gy * gy)
        angle = torch.remainder(torch.atan2(gy, gx), math.pi)
        index = torch.floor(angle / (math.pi / BINS)).long().clamp(0, BINS - 1)
        votes = F.one_hot(index[:, 0], BINS).permute(0, 3, 1, 2) * magnitude  # (N, BINS, SIDE, SIDE)
        cells = F.avg_pool2d(votes, CELL) * (CELL * CELL)  # (N, BINS, CELLS, CELLS)
        blocks = torch.cat([cells[:, :, r:r + CELLS - 1, c:c + CELLS - 1] for r in (0, 1) for c in (0, 1)], 1)
        blocks = blocks.permute(0, 2, 3, 1).reshape(x.shape[0], (CELLS - 1) ** 2, 4 * BINS)
        blocks = (blocks / torch.sqrt((blocks ** 2).sum(2, keepdim=True) + 1e-6)).clamp(max=0.2)
        blocks = blocks / torch.sqrt((blocks ** 2).sum(2, keepdim=True) + 1e-6)
        return blocks.reshape(x.shape[0], FEATURES)
