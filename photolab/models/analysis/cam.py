"""Class-activation maps: CAM (Zhou et al. 2016) for a global-average-pool + linear head, and Grad-CAM
(Selvaraju et al. 2017) for any layer with a 4-D output."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


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
    The raw map is sum_c w_kc f_c(h, w), whose spatial mean plus the bias is exactly logit k (for a ``*_gh``
    network the head also reads the input's gradient histograms, a term without a place in the map: the map
    shows the convolutional features' share).
    """
    classifier = model.get_classifier() if hasattr(model, "get_classifier") else None
    if not isinstance(classifier, nn.Linear) or not hasattr(model, "forward_features"):
        raise ValueError(f"CAM needs a global-average-pool + linear head; {type(model).__name__} has none "
                         "(use grad_cam instead)")
    with torch.no_grad():
        features = model.forward_features(images)
        logits = (model.logits_from(features, images) if hasattr(model, "logits_from")
                  else model.forward_head(features))
        index = _class_indices(logits, class_index)
        weights = classifier.weight[index][:, :features.shape[1]]
        raw = torch.einsum("bc,bchw->bhw", weights.to(features.dtype), features)
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
