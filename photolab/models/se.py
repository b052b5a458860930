"""The Squeeze-and-Excitation block and the SE-ResNet / SE-ResNeXt family, behind a small registry.

The SE block follows Hu et al., "Squeeze-and-Excitation Networks": for a feature map U (B, C, H, W),
z = mean over H, W (squeeze); s = sigmoid(W2 relu(W1 z)) (excitation, W1: C -> C/r, W2: C/r -> C, as 1x1
convolutions with bias); output = s_c * u_c (scale). The gating sigmoid is its own submodule, ``gate``, so
a forward hook on it records the excitation vector (see ``photolab.models.analysis.excitation``).

Module names mirror timm's ``ResNet`` (``conv1``, ``bn1``, ``layer1.0.se.fc1``, ``fc``...), so the state_dict
of timm's ``seresnet50`` / ``seresnext26d_32x4d`` loads without renaming; timm's legacy ``SENet`` needs four
renames (``photolab.models.timm_import``). ``legacy=True`` switches on the forward differences of timm's legacy
SENet, so its checkpoints compute exactly what timm computes:

- stem max-pool ``MaxPool2d(3, 2, padding=0, ceil_mode=True)`` instead of ``MaxPool2d(3, 2, padding=1)``;
- in bottlenecks with one group, the stride sits on the 1x1 ``conv1`` instead of the 3x3 ``conv2``;
- in basic blocks, a ReLU is applied after ``bn2``, before the SE block;
- SE reduced width is ``C // 16`` (the new family uses ``make_divisible(C / 16, 8)``, equal for C >= 128).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


class BasicBlock(nn.Module):
    """Two 3x3 convolutions, SE on the residual branch before the addition (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 se_layer=None, legacy: bool = False, cardinality: int = 1, base_width: int = 64):
        super().__init__()
        if cardinality != 1 or base_width != 64:
            raise ValueError("BasicBlock supports only cardinality 1 and base width 64")
        self.legacy = legacy
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = (se_layer or se_layer_for(legacy))(planes)
        self.act2 = nn.ReLU(inplace=True)  # on the fresh sum: no extra pass
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual block forward pass."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.legacy:  # timm's legacy SEResNetBlock applies a ReLU before the SE module
            out = torch.relu(out)
        return self.act2(scaled_residual(self.se, out, shortcut))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand; SE before the addition (ResNet-50 and deeper)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 se_layer=None, legacy: bool = False, cardinality: int = 1, base_width: int = 64):
        super().__init__()
        width = int(math.floor(planes * (base_width / 64)) * cardinality)
        outplanes = planes * self.expansion
        # Caffe-era SE-ResNet (timm legacy) strides in the 1x1 conv; ResNeXt and the new family in the 3x3.
        stride1 = stride if legacy and cardinality == 1 else 1
        stride2 = stride if stride1 == 1 else 1
        self.conv1 = nn.Conv2d(inplanes, width, 1, stride=stride1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride2, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.act2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, outplanes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.se = (se_layer or se_layer_for(legacy))(outplanes)
        self.act3 = nn.ReLU(inplace=True)  # on the fresh sum: no extra pass
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual block forward pass."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(out)))
        return self.act3(scaled_residual(self.se, self.bn3(self.conv3(out)), shortcut))


@dataclass(frozen=True)
class ModelConfig:
    """What a caller needs to feed and adapt a model: preprocessing (timm's data config) and head names.

    A fresh model carries timm's base defaults (224 px, ImageNet mean/std, crop 0.875, bilinear); a model
    loaded from pretrained weights carries that checkpoint's own preprocessing (see ``timm_import.CATALOGUE``).
    """

    architecture: str = ""
    input_size: tuple[int, int, int] = (3, 224, 224)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    crop_mode: str = "center"
    num_classes: int = 1000
    first_conv: str = "conv1"
    classifier: str = "fc"


class SEResNet(nn.Module):
    """SE-ResNet / SE-ResNeXt with timm's module names.

    ``stem_type='deep'`` gives the three-conv 3x3 stem of the "d" variants (``stem_width`` 32 -> 64 channels);
    ``avg_down=True`` the average-pool shortcut of the "d" variants; ``legacy=True`` the forward pass of timm's
    legacy SENet (module docstring). ``num_classes=0`` leaves the head as an identity (features only).
    """

    def __init__(self, block: type[nn.Module], layers: tuple[int, ...], num_classes: int = 1000, in_chans: int = 3,
                 cardinality: int = 1, base_width: int = 64, stem_type: str = "", stem_width: int = 64,
                 avg_down: bool = False, legacy: bool = False, drop_rate: float = 0.0, reduction: int = 16,
                 config: ModelConfig | None = None):
        super().__init__()
        if stem_type not in ("", "deep"):
            raise ValueError(f"unknown stem_type {stem_type!r} (expected '' or 'deep')")
        if legacy and (stem_type or avg_down):
            raise ValueError("legacy SENet has neither a deep stem nor average-pool shortcuts")
        self.legacy = legacy
        self.drop_rate = drop_rate
        if stem_type == "deep":
            inplanes = stem_width * 2
            self.conv1 = nn.Sequential(
                nn.Conv2d(in_chans, stem_width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(stem_width),
                nn.ReLU(), nn.Conv2d(stem_width, stem_width, 3, padding=1, bias=False), nn.BatchNorm2d(stem_width),
                nn.ReLU(), nn.Conv2d(stem_width, inplanes, 3, padding=1, bias=False))
        else:
            inplanes = 64
            self.conv1 = nn.Conv2d(in_chans, inplanes, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.act1 = nn.ReLU()
        self.maxpool = (nn.MaxPool2d(3, 2, padding=0, ceil_mode=True) if legacy else nn.MaxPool2d(3, 2, padding=1))
        block_kwargs = dict(se_layer=se_layer_for(legacy, reduction), legacy=legacy,
                            cardinality=cardinality, base_width=base_width)
        for index, (planes, count) in enumerate(zip((64, 128, 256, 512), layers)):
            stage = _make_stage(block, inplanes, planes, count, 1 if index == 0 else 2, avg_down, block_kwargs)
            self.add_module(f"layer{index + 1}", stage)
            inplanes = planes * block.expansion
        self.num_features = inplanes
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.default_cfg = replace(config or ModelConfig(), num_classes=num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and module.bias is None:
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and the four stages: (B, 3, H, W) -> (B, num_features, H/32, W/32)."""
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pool (and dropout while training), then the linear classifier unless ``pre_logits``."""
        x = self.flatten(self.global_pool(x))
        if self.drop_rate > 0.0:
            x = nn.functional.dropout(x, p=self.drop_rate, training=self.training)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes) for a normalised image batch (B, 3, H, W)."""
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        """The final linear layer (``fc``; named by ``default_cfg.classifier``)."""
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head by a freshly initialised ``Linear(num_features, num_classes)`` for fine-tuning."""
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.default_cfg = replace(self.default_cfg, num_classes=num_classes)


def _make_stage(block, inplanes: int, planes: int, count: int, stride: int, avg_down: bool,
                block_kwargs: dict) -> nn.Sequential:
    outplanes = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != outplanes:
        if avg_down:  # timm "d" variants: [AvgPool or Identity, 1x1 conv, BN] -> keys downsample.1 / downsample.2
            pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride != 1
                    else nn.Identity())
            downsample = nn.Sequential(pool, nn.Conv2d(inplanes, outplanes, 1, bias=False),
                                       nn.BatchNorm2d(outplanes))
        else:
            downsample = nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(outplanes))
    blocks = [block(inplanes, planes, stride, downsample, **block_kwargs)]
    blocks += [block(outplanes, planes, 1, None, **block_kwargs) for _ in range(1, count)]
    return nn.Sequential(*blocks)


@dataclass(frozen=True)
class ArchSpec:
    """Constructor arguments of one registered architecture (names follow timm)."""

    block: str
    layers: tuple[int, int, int, int]
    cardinality: int = 1
    base_width: int = 64
    stem_type: str = ""
    stem_width: int = 64
    avg_down: bool = False
    legacy: bool = False
    drop_rate: float = 0.0


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}

_ARCHS: dict[str, ArchSpec] = {
    "seresnet18": ArchSpec("basic", (2, 2, 2, 2)),
    "seresnet34": ArchSpec("basic", (3, 4, 6, 3)),
    "seresnet50": ArchSpec("bottleneck", (3, 4, 6, 3)),
    "seresnet101": ArchSpec("bottleneck", (3, 4, 23, 3)),
    "seresnext26d_32x4d": ArchSpec("bottleneck", (2, 2, 2, 2), cardinality=32, base_width=4, stem_type="deep",
                                   stem_width=32, avg_down=True),
    "seresnext50_32x4d": ArchSpec("bottleneck", (3, 4, 6, 3), cardinality=32, base_width=4),
    "legacy_seresnet18": ArchSpec("basic", (2, 2, 2, 2), legacy=True, drop_rate=0.2),
    "legacy_seresnet34": ArchSpec("basic", (3, 4, 6, 3), legacy=True, drop_rate=0.2),
    "legacy_seresnet50": ArchSpec("bottleneck", (3, 4, 6, 3), legacy=True, drop_rate=0.2),
    "legacy_seresnet101": ArchSpec("bottleneck", (3, 4, 23, 3), legacy=True, drop_rate=0.2),
}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`, sorted."""
    return sorted(_ARCHS)


def arch_spec(name: str) -> ArchSpec:
    """The constructor arguments registered under ``name``; ``ValueError`` naming the known models otherwise."""
    try:
        return _ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None


def create_model(name: str, num_classes: int = 1000, **kwargs) -> SEResNet:
    """Build the registered architecture ``name`` with a ``num_classes`` head (randomly initialised).

    ``kwargs`` override the registered arguments of :class:`SEResNet`, e.g. ``legacy=True``, ``drop_rate``,
    ``in_chans``. Pretrained weights are loaded separately (``photolab.models.timm_import``).
    """
    spec = arch_spec(name)
    args = dict(cardinality=spec.cardinality, base_width=spec.base_width, stem_type=spec.stem_type,
                stem_width=spec.stem_width, avg_down=spec.avg_down, legacy=spec.legacy, drop_rate=spec.drop_rate)
    args.update(kwargs)
    first_conv = "conv1.0" if args["stem_type"] == "deep" else "conv1"
    config = ModelConfig(architecture=name, first_conv=first_conv)
    return SEResNet(_BLOCKS[spec.block], spec.layers, num_classes=num_classes, config=config, **args)
