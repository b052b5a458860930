"""Record the SE excitations of any classifier (the JSON they are written in: :mod:`.records`).

SE modules are found by structure, not by class, so the probe works on PhotoLab's ``SEModule`` (gate ``gate``),
timm's new ``SEModule`` (``se.gate``), timm's legacy SENet (``se_module.sigmoid``) and torchvision's
``SqueezeExcitation`` (``scale_activation``) alike: a module is an SE module when its direct children hold
exactly two 1x1 convolutions (or linear layers) forming a C -> r -> C bottleneck plus a parameter-free
sigmoid-like gate. A forward hook on that gate records the excitation s (B, C) of every block in one pass.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

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
