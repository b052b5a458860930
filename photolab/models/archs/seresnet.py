"""The SE-ResNet / SE-ResNeXt family (residual blocks with the SE block of ``layers.squeeze_excite``), its
registered architectures and the pretrained timm weights that fit them (:data:`CATALOGUE`).

Module names mirror timm's ``ResNet`` (``conv1``, ``bn1``, ``layer1.0.se.fc1``, ``fc``...), so the state_dict
of timm's ``seresnet50`` / ``seresnext26d_32x4d`` loads without renaming; timm's legacy ``SENet`` needs four
renames (``photolab.models.store.timm_import``). ``legacy=True`` switches on the forward differences of timm's
legacy SENet, so its checkpoints compute exactly what timm computes:

- stem max-pool ``MaxPool2d(3, 2, padding=0, ceil_mode=True)`` instead of ``MaxPool2d(3, 2, padding=1)``;
- in bottlenecks with one group, the stride sits on the 1x1 ``conv1`` instead of the 3x3 ``conv2``;
- in basic blocks, a ReLU is applied after ``bn2``, before the SE block;
- SE reduced width is ``C // 16`` (the new family uses ``make_divisible(C / 16, 8)``, equal for C >= 128).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
from torch import nn

from photolab.models.layers.gradient_histogram import FEATURES as HISTOGRAM_FEATURES
from photolab.models.layers.gradient_histogram import GradientHistogram
from photolab.models.layers.squeeze_excite import scaled_residual, se_layer_for

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
class DataConfig:
    """How an image is fed to a model (timm's data config: the eval transform's parameters). A fresh model
    carries timm's base defaults (224 px, ImageNet mean/std, crop 0.875, bilinear)."""

    input_size: tuple[int, int, int] = (3, 224, 224)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    crop_mode: str = "center"


@dataclass(frozen=True)
class ModelConfig(DataConfig):
    """What a caller needs to feed and adapt a model: its data config plus the architecture and head names.

    A model loaded from pretrained weights carries that checkpoint's own preprocessing (see :data:`CATALOGUE`).
    """

    architecture: str = ""
    num_classes: int = 1000
    first_conv: str = "conv1"
    classifier: str = "fc"

    @property
    def data_config(self) -> dict:
        """The :class:`DataConfig` fields of this config, by name."""
        return {f.name: getattr(self, f.name) for f in fields(DataConfig)}


class SEResNet(nn.Module):
    """SE-ResNet / SE-ResNeXt with timm's module names.

    ``stem_type='deep'`` gives the three-conv 3x3 stem of the "d" variants (``stem_width`` 32 -> 64 channels);
    ``avg_down=True`` the average-pool shortcut of the "d" variants; ``legacy=True`` the forward pass of timm's
    legacy SENet (module docstring). ``num_classes=0`` leaves the head as an identity (features only).
    ``gradient_histogram=True`` (the ``*_gh`` architectures) feeds ``fc`` the input's HOG descriptor
    (:mod:`photolab.models.layers.gradient_histogram`) beside the pooled features.
    """

    def __init__(self, block: type[nn.Module], layers: tuple[int, ...], num_classes: int = 1000, in_chans: int = 3,
                 cardinality: int = 1, base_width: int = 64, stem_type: str = "", stem_width: int = 64,
                 avg_down: bool = False, legacy: bool = False, drop_rate: float = 0.0, reduction: int = 16,
                 gradient_histogram: bool = False, config: ModelConfig | None = None):
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
        self.gradient_histogram = GradientHistogram() if gradient_histogram else None
        self.num_head_features = inplanes + (HISTOGRAM_FEATURES if gradient_histogram else 0)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_head_features, num_classes) if num_classes > 0 else nn.Identity()
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
        return self.logits_from(self.forward_features(x), x)

    def logits_from(self, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The head's logits from ``forward_features(x)`` (and, for a ``*_gh`` network, the input ``x``)."""
        if self.gradient_histogram is None:
            return self.forward_head(features)
        pooled = self.forward_head(features, pre_logits=True)
        return self.fc(torch.cat([pooled, self.gradient_histogram(x)], 1))

    def get_classifier(self) -> nn.Module:
        """The final linear layer (``fc``; named by ``default_cfg.classifier``)."""
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head by a freshly initialised ``Linear(num_head_features, num_classes)`` for fine-tuning."""
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_head_features, num_classes) if num_classes > 0 else nn.Identity()
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
    gradient_histogram: bool = False


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


GRADIENT_HISTOGRAM_SUFFIX = "_gh"
_ARCHS.update({name + GRADIENT_HISTOGRAM_SUFFIX: replace(spec, gradient_histogram=True)
               for name, spec in list(_ARCHS.items())})


def with_gradient_histogram(name: str) -> str:
    """The architecture that is ``name`` with the HOG descriptor beside its pooled features."""
    return name if name.endswith(GRADIENT_HISTOGRAM_SUFFIX) else name + GRADIENT_HISTOGRAM_SUFFIX


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`, sorted."""
    return sorted(_ARCHS)


def arch_spec(name: str) -> ArchSpec:
    """The constructor arguments registered under ``name``; ``ValueError`` naming the known models otherwise."""
    try:
        return _ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None


def first_conv_name(stem_type: str) -> str:
    """The module name of the stem's first convolution: ``conv1.0`` in the deep (three-conv) stem, else ``conv1``."""
    return "conv1.0" if stem_type == "deep" else "conv1"


def create_model(name: str, num_classes: int = 1000, **kwargs) -> SEResNet:
    """Build the registered architecture ``name`` with a ``num_classes`` head (randomly initialised).

    ``kwargs`` override the registered arguments of :class:`SEResNet`, e.g. ``legacy=True``, ``drop_rate``,
    ``in_chans``. Pretrained weights are loaded separately (``photolab.models.store.timm_import``).
    """
    spec = arch_spec(name)
    args = dict(cardinality=spec.cardinality, base_width=spec.base_width, stem_type=spec.stem_type,
                stem_width=spec.stem_width, avg_down=spec.avg_down, legacy=spec.legacy, drop_rate=spec.drop_rate,
                gradient_histogram=spec.gradient_histogram)
    args.update(kwargs)
    config = ModelConfig(architecture=name, first_conv=first_conv_name(args["stem_type"]))
    return SEResNet(_BLOCKS[spec.block], spec.layers, num_classes=num_classes, config=config, **args)


# ----------------------------------------------------------------------------------- pretrained weights

_GITHUB = "https://github.com/rwightman/pytorch-image-models/releases/download"
_HF_GITHUB = "https://github.com/huggingface/pytorch-image-models/releases/download"


@dataclass(frozen=True)
class TimmWeights:
    """One set of pretrained timm weights: where to get them, how to feed the model, under which licence.

    ``url`` is the direct download (for hub weights, the ``resolve/main`` URL of ``hf_filename``);
    ``sha256_prefix`` is the hash prefix torch.hub embeds in a legacy file name (``seresnet18-4bb0ce65.pth``),
    which a downloader can check; ``config`` is timm's resolved data config of these weights.
    """

    name: str
    arch: str
    file_name: str
    file_format: str
    source: str
    url: str
    config: ModelConfig
    license: str | None
    hf_repo_id: str | None = None
    hf_filename: str | None = None
    hf_fallback_filename: str | None = None
    alternative_url: str | None = None
    sha256_prefix: str | None = None
    test_input_size: tuple[int, int, int] | None = None
    test_crop_pct: float | None = None
    paper: str | None = None


def _legacy(arch: str, tag: str, url: str, interpolation: str, license: str | None) -> TimmWeights:
    file_name = url.rsplit("/", 1)[1]
    return TimmWeights(
        name=f"{arch}.{tag}", arch=arch, file_name=file_name, file_format="pth", source="url", url=url,
        config=ModelConfig(architecture=arch, interpolation=interpolation, crop_pct=0.875), license=license,
        sha256_prefix=file_name.rsplit("-", 1)[1].split(".")[0])


def _hub(arch: str, tag: str, crop_pct: float, test_crop_pct: float, alternative_url: str,
         paper: str | None = None) -> TimmWeights:
    repo = f"timm/{arch}.{tag}"
    return TimmWeights(
        name=f"{arch}.{tag}", arch=arch, file_name=f"{arch}.{tag}.safetensors", file_format="safetensors",
        source="hf-hub", url=f"https://huggingface.co/{repo}/resolve/main/model.safetensors",
        config=ModelConfig(architecture=arch, interpolation="bicubic", crop_pct=crop_pct,
                           first_conv=first_conv_name(arch_spec(arch).stem_type)),
        license="apache-2.0", hf_repo_id=repo, hf_filename="model.safetensors",
        hf_fallback_filename="pytorch_model.bin", alternative_url=alternative_url,
        test_input_size=(3, 288, 288), test_crop_pct=test_crop_pct, paper=paper)


CATALOGUE: tuple[TimmWeights, ...] = (
    # From timm 1.0.31's pretrained_cfg (copied in tests/fixtures/timm/<arch>/pretrained_cfg.json).
    _legacy("legacy_seresnet18", "in1k", f"{_GITHUB}/v0.1-weights/seresnet18-4bb0ce65.pth", "bicubic", "apache-2.0"),
    _legacy("legacy_seresnet50", "in1k", f"{_GITHUB}/v0.1-cadene/se_resnet50-ce0d4300.pth", "bilinear",
            "apache-2.0"),
    _hub("seresnet50", "a1_in1k", 0.95, 1.0, f"{_HF_GITHUB}/v0.1-rsb-weights/seresnet50_a1_0-ffa00869.pth",
         paper="arXiv:2110.00476"),
    _hub("seresnext26d_32x4d", "bt_in1k", 0.875, 0.95, f"{_GITHUB}/v0.1-weights/seresnext26d_32x4d-80fa48a3.pth"),
    # From timm's senet.py default_cfgs; not checked against a pretrained_cfg dump, so no licence is claimed.
    _legacy("legacy_seresnet34", "in1k", f"{_GITHUB}/v0.1-weights/seresnet34-a4004e63.pth", "bilinear", None),
)
"""The timm checkpoints PhotoLab can import, as data for the model manager's download offer."""


def find_weights(name: str) -> TimmWeights:
    """Catalogue entry by weights name (``seresnet50.a1_in1k``), architecture (its first entry) or file name.

    Hub files are all called ``model.safetensors`` upstream, so only their catalogue ``file_name`` identifies them.
    """
    for weights in CATALOGUE:
        if name in (weights.name, weights.file_name):
            return weights
    for weights in CATALOGUE:
        if name == weights.arch:
            return weights
    raise KeyError(f"no timm weights named {name!r} in the catalogue")
