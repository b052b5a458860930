"""The Squeeze-and-Excitation block (Hu et al., "Squeeze-and-Excitation Networks"), as timm's ``layers/``.

For a feature map U (B, C, H, W): z = mean over H, W (squeeze); s = sigmoid(W2 relu(W1 z)) (excitation,
W1: C -> C/r, W2: C/r -> C, as 1x1 convolutions with bias); output = s_c * u_c (scale). The gating sigmoid
is its own submodule, ``gate``, so a forward hook on it records the excitation vector (see
``photolab.models.analysis.excitation``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """Round ``value`` to a multiple of ``divisor`` the way timm does (``timm.layers.make_divisible``)."""
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded


class SEModule(nn.Module):
    """Squeeze-and-Excitation block: ``x * gate(fc2(act(fc1(mean_hw(x)))))``.

    ``rd_channels`` (the bottleneck width) defaults to ``channels // reduction``. ``gate`` is an ``nn.Sigmoid``
    submodule whose output, shape (B, C, 1, 1), is the excitation vector.
    """

    def __init__(self, channels: int, reduction: int = 16, rd_channels: int | None = None):
        super().__init__()
        rd_channels = rd_channels or channels // reduction
        if rd_channels < 1:
            raise ValueError(f"SE block with {channels} channels and reduction {reduction} has no hidden units")
        self.channels = channels
        self.rd_channels = rd_channels
        self.fc1 = nn.Conv2d(channels, rd_channels, kernel_size=1, bias=True)
        self.act = nn.ReLU()
        self.fc2 = nn.Conv2d(rd_channels, channels, kernel_size=1, bias=True)
        self.gate = nn.Sigmoid()

    def excitation(self, x: torch.Tensor) -> torch.Tensor:
        """Return the excitation s, shape (B, C, 1, 1), for the feature map ``x`` (B, C, H, W).

        Unless a hook watches its submodules, the block runs as a handful of tensor calls: fc1 and fc2 act
        on a 1x1 map, so they are matrix products (a 1x1 convolution call costs several times more on a
        CPU), and ReLU and sigmoid are applied in place. At batch 1 these calls' fixed cost, not their
        arithmetic, is most of what SE adds to a forward pass. A hooked submodule is called as a module,
        so excitation probes (forward hooks on ``gate``) see every value.
        """
        if _hooked(self.fc1, self.act, self.fc2) or type(self.act) is not nn.ReLU:
            z = F.adaptive_avg_pool2d(x, 1)
            return self.gate(self.fc2(self.act(self.fc1(z))))
        hidden = F.linear(x.mean((2, 3)), self.fc1.weight.flatten(1), self.fc1.bias).relu_()
        s = F.linear(hidden, self.fc2.weight.flatten(1), self.fc2.bias).view(x.shape[0], -1, 1, 1)
        if type(self.gate) is nn.Sigmoid and not (self.gate._forward_hooks or self.gate._forward_pre_hooks):
            return s.sigmoid_()
        return self.gate(s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale every channel of ``x`` by its excitation."""
        return x * self.excitation(x)


def _hooked(*modules: nn.Module) -> bool:
    """True when any of ``modules`` has a forward hook or pre-hook (a fast path must then call them)."""
    for module in modules:  # a plain loop: this runs on every block of every forward pass
        if module._forward_hooks or module._forward_pre_hooks:
            return True
    return False


def scaled_residual(se: nn.Module, out: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
    """``se(out) + shortcut``. For a plain :class:`SEModule` whose own hooks are unset, the channel scale is
    fused into the addition: one pass over the feature map, as the addition alone takes without SE."""
    if type(se) is SEModule and not _hooked(se):
        return torch.addcmul(shortcut, out, se.excitation(out))
    return se(out) + shortcut


def se_layer_for(legacy: bool, reduction: int = 16):
    """Return a factory ``channels -> SEModule`` with timm's reduced width for the (legacy or new) family."""
    if legacy:
        return lambda channels: SEModule(channels, reduction)
    return lambda channels: SEModule(channels, reduction, make_divisible(channels / reduction, 8, round_limit=0.0))
