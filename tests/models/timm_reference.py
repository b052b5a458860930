"""Helpers for the timm reference data in tests/fixtures/timm (see README.md there).

The weights are not stored: they are regenerated from the fill rule (one torch CPU generator, one call per
tensor, in state_dict_keys.json order) and checked against weights.sha256.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch
from safetensors import safe_open

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "timm"
ARCHS = ("legacy_seresnet18", "legacy_seresnet50", "seresnet50", "seresnext26d_32x4d")


def arch_dir(arch: str) -> Path:
    """Folder of one architecture's reference files."""
    return FIXTURES / arch


def state_dict_keys(arch: str) -> list[tuple[str, list[int], str]]:
    """``[(key, shape, dtype), ...]`` in timm's ``state_dict()`` order."""
    return [tuple(row) for row in json.loads((arch_dir(arch) / "state_dict_keys.json").read_text())]


def se_gates(arch: str) -> list[dict]:
    """The SE modules timm found, in forward order."""
    return json.loads((arch_dir(arch) / "se_gates.json").read_text())


def pretrained_cfg(arch: str) -> dict:
    """timm's pretrained_cfg.json record for the default tag."""
    return json.loads((arch_dir(arch) / "pretrained_cfg.json").read_text())


def expected_sha256(arch: str) -> str:
    """First field of weights.sha256."""
    return (arch_dir(arch) / "weights.sha256").read_text().split()[0]


def fill_rule_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """Regenerate the deterministic weights exactly as the reference README describes."""
    g = torch.Generator(device="cpu")
    g.manual_seed(0)

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float32)

    def rand(shape):
        return torch.rand(shape, generator=g, dtype=torch.float32)

    out: dict[str, torch.Tensor] = {}
    for key, shape, dtype in state_dict_keys(arch):
        if key.endswith("num_batches_tracked"):
            assert dtype == "int64"
            t = torch.zeros(shape, dtype=torch.int64)
        elif key.endswith("running_mean"):
            t = 0.1 * randn(shape)
        elif key.endswith("running_var"):
            t = 0.5 + rand(shape)
        elif key.endswith(".bias"):
            t = 0.1 * randn(shape)
        elif key.endswith(".weight") and len(shape) == 1:
            t = 1.0 + 0.1 * randn(shape)
        elif key.endswith(".weight"):
            t = randn(shape) * math.sqrt(1.0 / math.prod(shape[1:]))
        else:
            raise ValueError(f"fill rule has no case for {key}")
        out[key] = t
    return out


def weights_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over the raw little-endian bytes of every tensor, in dict order (key names not hashed)."""
    h = hashlib.sha256()
    for t in state_dict.values():
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def reference_tensors(arch: str) -> dict[str, torch.Tensor]:
    """Every tensor of reference.safetensors (input, logits, se/..., block_mean/..., stem, features...)."""
    with safe_open(str(arch_dir(arch) / "reference.safetensors"), framework="pt") as f:
        return {name: f.get_tensor(name) for name in f.keys()}
