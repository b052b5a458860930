"""Looks in the model store: the user's learned looks (``photolab-cli look learn``, the Learn a look wizard).

A look is ``<name>.safetensors`` (an HDRNet, :mod:`photolab.models.archs.hdrnet`) beside ``<name>.json``, its
card: architecture (levels, cells, width), what it learned from (pairs, minutes, steps), its held-out scores
by cross-validation (PSNR and CIEDE2000 against the user's afters, with the identity's for comparison) and
``weights.sha256``. They live in ``<data dir>/looks``. The card is written last (the commit point), so a look
is listed only once its weights are complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from safetensors import SafetensorError
from safetensors.torch import load_file

from photolab.core.develop.look import LOOKS_FOLDER, LookError
from photolab.models.archs.hdrnet import ARCHITECTURE, HDRNet, apply_look, create_model
from photolab.models.store.card import sha256_file

USER_LOOKS = LOOKS_FOLDER
"""The user's looks: this folder of the user data folder."""


@dataclass
class LoadedLook:
    """A look ready to apply (core's ``Look`` protocol): its name, network (eval mode, CPU) and card."""

    name: str
    model: HDRNet
    card: dict[str, Any] = field(default_factory=dict)

    def __call__(self, srgb: np.ndarray, strength: float = 1.0,
                 progress: Callable[[float], None] | None = None) -> np.ndarray:
        return apply_look(self.model, srgb, strength, progress=progress)


def list_looks(folder: Path) -> list[str]:
    """Names of the looks in ``folder`` (one card ``<name>.json`` each)."""
    return sorted(p.stem for p in Path(folder).glob("[!.]*.json")) if Path(folder).is_dir() else []


def read_look_card(folder: Path, name: str) -> dict[str, Any]:
    """The card of look ``name``; :class:`LookError` when there is none or it cannot be read."""
    card_path = Path(folder) / f"{name}.json"
    if not card_path.is_file():
        known = ", ".join(list_looks(folder)) or "none installed"
        raise LookError(f"no look named {name!r} in {folder} (known: {known})")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LookError(f"cannot read the card {card_path}: {error}") from error
    if not isinstance(card, dict) or card.get("task") != "look" or not isinstance(card.get("architecture"), dict):
        raise LookError(f"the card {card_path} is not a look card")
    return card


def model_from_card(card: dict[str, Any]) -> HDRNet:
    """A fresh network of the card's architecture."""
    arch = card.get("architecture", {})
    if arch.get("name", ARCHITECTURE) != ARCHITECTURE:
        raise LookError(f"unknown look architecture {arch.get('name')!r}")
    try:
        return create_model(int(arch.get("levels", 8)), int(arch.get("cells", 16)), int(arch.get("width", 64)))
    except (TypeError, ValueError) as error:
        raise LookError(f"the look card describes no usable network ({error})") from error


def load_look(folder: Path, name: str, verify: bool = True) -> LoadedLook:
    """Look ``name`` from ``folder``: card read, weights checked against its sha256 (``verify``), network built
    and loaded; :class:`LookError` naming the file otherwise."""
    card = read_look_card(folder, name)
    weights = Path(folder) / card.get("weights", {}).get("file", f"{name}.safetensors")
    if not weights.is_file():
        raise LookError(f"the look weights {weights} are missing")
    expected = card.get("weights", {}).get("sha256")
    if verify and expected and sha256_file(weights) != expected:
        raise LookError(f"{weights} is damaged or truncated (its checksum differs from the card's)")
    model = model_from_card(card)
    try:
        model.load_state_dict(load_file(str(weights)), strict=True)
    except (SafetensorError, OSError, RuntimeError, ValueError) as error:
        raise LookError(f"{weights} does not hold this look's network ({str(error).splitlines()[0]})") from error
    return LoadedLook(name, model.eval(), card)
