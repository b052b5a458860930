"""Look inside classifiers: record SE excitations, compute class-activation maps (CAM, Grad-CAM).

SE modules are found by structure, not by class, so the probe works on PhotoLab's ``SEModule`` (gate ``gate``),
timm's new ``SEModule`` (``se.gate``), timm's legacy SENet (``se_module.sigmoid``) and torchvision's
``SqueezeExcitation`` (``scale_activation``) alike: a module is an SE module when its direct children hold
exactly two 1x1 convolutions (or linear layers) forming a C -> r -> C bottleneck plus a parameter-free
sigmoid-like gate. A forward hook on that gate records the excitation s (B, C) of every block in one pass.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

GATE_NAMES = ("gate", "sigmoid", "scale_activation")
"""Child names under which known SE implementations keep their gating activation."""


@dataclass(frozen=True)
class SEGate:
    """One SE module found in a model: its path, the gate submodule's path and module, its channel count."""

    name: str
    gate_name: str
    gate: nn.Module
    channels: int


def _squeeze_expand_channels(module: nn.Module) -> int | None:
    """C when the direct children hold exactly two 1x1 conv / linear layers forming C -> r -> C, else None."""
    layers = []
    for child in module.children():
        if isinstance(child, nn.Conv2d) and child.kernel_size == (1, 1):
            layers.append((child.in_channels, child.out_channels))
        elif isinstance(child, nn.Linear):
            layers.append((child.in_features, child.out_features))
    if len(layers) != 2:
        return None
    (c_in, reduced), (r_in, c_out) = layers
    return c_in if c_in == c_out and reduced == r_in else None


def _gate_child(module: nn.Module) -> str | None:
    """Name of the parameter-free gating activation among the direct children, or None."""
    candidates = [(name, child) for name, child in module.named_children()
                  if not list(child.parameters()) and not list(child.children())
                  and (name in GATE_NAMES or "sigmoid" in type(child).__name__.lower())]
    named = [name for name, _ in candidates if name in GATE_NAMES]
    if named:
        return named[0]
    return candidates[0][0] if len(candidates) == 1 else None


def find_se_gates(model: nn.Module) -> list[SEGate]:
    """Every SE module of ``model``, in module (= forward, for ResNets) order."""
    found = []
    for name, module in model.named_modules():
        channels = _squeeze_expand_channels(module)
        gate = _gate_child(module) if channels is not None else None
        if gate is not None:
            gate_path = f"{name}.{gate}" if name else gate
            found.append(SEGate(name, gate_path, getattr(module, gate), channels))
    return found


class ExcitationProbe:
    """Context manager recording the excitation (B, C) of every SE module of any model during forward passes.

    >>> with ExcitationProbe(model) as probe:
    ...     model(images)
    >>> probe.excitations["layer3.2.se"].shape   # (B, C)

    Keys are the SE modules' paths in module order. By default each forward pass replaces the previous
    record; ``accumulate=True`` concatenates passes along the batch axis (for statistics over a data set).
    ``as_numpy=True`` returns float32 arrays instead of CPU tensors. Hooks are removed on exit.
    """

    def __init__(self, model: nn.Module, accumulate: bool = False, as_numpy: bool = False):
        self.gates = find_se_gates(model)
        if not self.gates:
            raise ValueError(f"{type(model).__name__} has no squeeze-and-excitation modules")
        self.accumulate = accumulate
        self.as_numpy = as_numpy
        self._records: dict[str, list[torch.Tensor]] = {}
        self._handles: list = []

    def _hook(self, se: SEGate):
        def record(module, inputs, output):
            s = output.detach().float().cpu().reshape(output.shape[0], -1)
            if s.shape[1] != se.channels:
                raise RuntimeError(f"{se.gate_name} produced {s.shape[1]} values per image, expected {se.channels}")
            if self.accumulate:
                self._records.setdefault(se.name, []).append(s)
            else:
                self._records[se.name] = [s]
        return record

    def __enter__(self) -> "ExcitationProbe":
        self.clear()
        self._handles = [se.gate.register_forward_hook(self._hook(se)) for se in self.gates]
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hooks (done automatically on leaving the ``with`` block)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def clear(self) -> None:
        """Forget what has been recorded."""
        self._records = {}

    @property
    def excitations(self) -> "OrderedDict[str, torch.Tensor | np.ndarray]":
        """SE module path -> excitation (N, C), for the modules that ran, in module order."""
        out = OrderedDict()
        for se in self.gates:
            if se.name in self._records:
                s = torch.cat(self._records[se.name])
                out[se.name] = s.numpy() if self.as_numpy else s
        return out


def record_excitations(model: nn.Module, images: torch.Tensor, as_numpy: bool = False):
    """Run ``model`` once on ``images`` (no gradients) and return ``(output, excitations)``."""
    with ExcitationProbe(model, as_numpy=as_numpy) as probe, torch.no_grad():
        output = model(images)
    return output, probe.excitations


def excitation_record(model: str, excitations: Mapping[str, np.ndarray | torch.Tensor]) -> dict:
    """The JSON shape of one photo's excitations, shared by ``photolab-cli attention --json`` and the Attention
    view's export (which adds its comparisons to it): ``{"model": NAME, "blocks": [{"name", "channels",
    "excitation": [...]}, ...]}``."""
    blocks = []
    for name, values in excitations.items():
        values = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, np.float64)
        blocks.append({"name": name, "channels": int(values.shape[0]), "excitation": [float(v) for v in values]})
    return {"model": model, "blocks": blocks}


def default_stage_of(name: str) -> str:
    """Stage of an SE module path: the components before the first numeric one (``layer3.2.se`` -> ``layer3``)."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:i]) or part
    return name


def class_specificity(excitations: Mapping[str, np.ndarray | torch.Tensor],
                      labels: Sequence) -> "OrderedDict[str, float]":
    """How class-specific each SE module's excitations are over a set of images (SENet paper, Fig. 6).

    For every channel, the between-class variance of the class-average excitations (weighted by class
    size) divided by the total variance over all images (the correlation ratio, in [0, 1]: 0 when every
    class has the same average, 1 when the excitation is constant within each class); returned as the mean
    over channels with non-zero variance (NaN when there are none). ``excitations`` maps SE module paths to
    (N, C) arrays, e.g. ``ExcitationProbe(model, accumulate=True).excitations``; ``labels`` has N entries.
    """
    labels = np.asarray(labels)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise ValueError("class specificity needs images of at least two classes")
    result = OrderedDict()
    for name, values in excitations.items():
        s = np.asarray(values, dtype=np.float64)
        if s.ndim != 2 or s.shape[0] != len(labels):
            raise ValueError(f"{name}: expected ({len(labels)}, C) excitations, got {s.shape}")
        class_means = np.stack([s[inverse == k].mean(axis=0) for k in range(len(classes))])
        between = (counts[:, None] * (class_means - s.mean(axis=0)) ** 2).sum(axis=0) / len(labels)
        total = s.var(axis=0)
        valid = total > 1e-12
        result[name] = float(np.mean(between[valid] / total[valid])) if valid.any() else float("nan")
    return result


def stage_specificity(excitations: Mapping[str, np.ndarray | torch.Tensor], labels: Sequence,
                      stage_of: Callable[[str], str] = default_stage_of) -> "OrderedDict[str, float]":
    """:func:`class_specificity` averaged over the SE modules of each stage (``layer1`` ... ``layer4``)."""
    per_stage: OrderedDict[str, list[float]] = OrderedDict()
    for name, value in class_specificity(excitations, labels).items():
        per_stage.setdefault(stage_of(name), []).append(value)
    return OrderedDict((stage, float(np.nanmean(values))) for stage, values in per_stage.items())


class ActivationMap(NamedTuple):
    """Result of CAM / Grad-CAM: ``maps`` (B, H, W) in [0, 1] at input size, ``raw`` (B, h, w) before
    upsampling and normalisation, the explained ``class_index`` (B,) and its ``score`` (logit, B)."""

    maps: torch.Tensor
    raw: torch.Tensor
    class_index: torch.Tensor
    score: torch.Tensor


def normalise_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Upsample (B, h, w) maps bilinearly to ``size`` and min-max normalise each to [0, 1] (flat -> zeros)."""
    up = nn.functional.interpolate(maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
    low = up.amin(dim=(1, 2), keepdim=True)
    span = up.amax(dim=(1, 2), keepdim=True) - low
    return torch.where(span > 0, (up - low) / span.clamp_min(1e-12), torch.zeros_like(up))


def _class_indices(logits: torch.Tensor, class_index) -> torch.Tensor:
    if class_index is None:
        return logits.argmax(dim=1)
    index = torch.as_tensor(class_index, dtype=torch.long, device=logits.device).reshape(-1)
    return index.expand(logits.shape[0]) if index.numel() == 1 else index


def class_activation_map(model: nn.Module, images: torch.Tensor, class_index=None) -> ActivationMap:
    """CAM (Zhou et al. 2016) for a model whose head is global average pooling followed by a linear layer.

    The model must offer ``forward_features``, ``forward_head`` and ``get_classifier()`` (an ``nn.Linear``),
    as PhotoLab's SE-ResNets do. ``class_index`` (int or one per image) defaults to the predicted class.
    The raw map is sum_c w_kc f_c(h, w), whose spatial mean plus the bias is exactly logit k.
    """
    classifier = model.get_classifier() if hasattr(model, "get_classifier") else None
    if not isinstance(classifier, nn.Linear) or not hasattr(model, "forward_features"):
        raise ValueError(f"CAM needs a global-average-pool + linear head; {type(model).__name__} has none "
                         "(use grad_cam instead)")
    with torch.no_grad():
        features = model.forward_features(images)
        logits = model.forward_head(features)
        index = _class_indices(logits, class_index)
        raw = torch.einsum("bc,bchw->bhw", classifier.weight[index].to(features.dtype), features)
        score = logits.gather(1, index[:, None])[:, 0]
    return ActivationMap(normalise_maps(raw, tuple(images.shape[-2:])), raw, index, score)


def grad_cam(model: nn.Module, images: torch.Tensor, target_layer: nn.Module | str | None = None,
             class_index=None) -> ActivationMap:
    """Grad-CAM (Selvaraju et al. 2017) on any layer with a 4-D output: relu(sum_c alpha_c A_c) with
    alpha_c the spatial mean of d score / d A_c.

    A forward hook grabs the layer's output A and a tensor hook on A its gradient; the backward pass is driven
    by ``torch.autograd.grad`` towards the input, so parameters' ``.grad`` are left untouched and the model
    may stay in eval mode. ``target_layer`` is a module or its path (default ``layer4``, else the last Conv2d).
    Hooks are removed afterwards, also on error.
    """
    layer = _resolve_layer(model, target_layer)
    store: dict[str, torch.Tensor] = {}

    def keep_gradient(grad: torch.Tensor) -> None:
        store["grad"] = grad

    def forward_hook(module, inputs, output):
        if not isinstance(output, torch.Tensor) or output.dim() != 4:
            raise ValueError(f"Grad-CAM needs a layer with a (B, C, h, w) output, got {type(output).__name__}")
        store["activation"] = output
        output.register_hook(keep_gradient)
        return output.clone()  # in-place ops downstream must not alter the tensor we differentiate against

    handle = layer.register_forward_hook(forward_hook)
    try:
        with torch.enable_grad():
            x = images.detach().clone().requires_grad_(True)
            logits = model(x)
            if "activation" not in store:
                raise ValueError("the target layer did not run in the forward pass")
            index = _class_indices(logits, class_index)
            score = logits.gather(1, index[:, None])[:, 0]
            torch.autograd.grad(score.sum(), x)
    finally:
        handle.remove()
    activation, grad = store["activation"].detach(), store["grad"].detach()
    weights = grad.mean(dim=(2, 3), keepdim=True)
    raw = torch.relu((weights * activation).sum(dim=1))
    return ActivationMap(normalise_maps(raw, tuple(images.shape[-2:])), raw, index, score.detach())


def _resolve_layer(model: nn.Module, target_layer: nn.Module | str | None) -> nn.Module:
    if isinstance(target_layer, nn.Module):
        return target_layer
    if isinstance(target_layer, str):
        return model.get_submodule(target_layer)
    if hasattr(model, "layer4"):
        return model.layer4
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer; pass target_layer")
    return convs[-1]
