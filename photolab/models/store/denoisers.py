"""Denoisers in the model store: find one by name (or ``.safetensors`` path), read its card, verify its
checksum and build its network. :class:`~photolab.models.store.manager.ModelManager` calls these and keeps
the loaded ones in its cache, on its device, like every other model.

A denoiser is ``<name>.safetensors`` beside ``<name>.json``, its card (architecture ``widths``/``bottleneck``,
data, noise model, recipe, metrics and ``weights.sha256``); the built-in ones are in
``resources/models/denoise``, the user's (adapted to a camera: ``photolab-cli denoise-adapt``) in
``<data dir>/denoisers``. A name is looked up in the folders in order (built-ins first, so a user's denoiser can
never shadow a built-in one). A ``.safetensors`` path may come without a card: the default network is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from photolab.core.errors import DenoiseError
from photolab.models.archs.denoise_unet import ARCHITECTURE
from photolab.models.denoise import Denoiser
from photolab.models.registry import create_model
from photolab.models.store.card import sha256_file

DENOISERS_DIR = Path(__file__).resolve().parents[3] / "resources" / "models" / "denoise"
"""Folder of the built-in denoisers (weights + card)."""


@dataclass(frozen=True)
class DenoiserEntry:
    """One denoiser on disk: its name, weights, card file (None for a bare weights file) and card contents."""

    name: str
    weights_path: Path
    card_path: Path | None = None
    card: dict[str, Any] = field(default_factory=dict)


USER_DENOISERS = "denoisers"
"""The user's denoisers: this folder of the user data folder."""


def _folders(folder: Path | Sequence[Path]) -> list[Path]:
    return [Path(folder)] if isinstance(folder, (str, Path)) else [Path(f) for f in folder]


def list_denoisers(folder: Path | Sequence[Path]) -> list[str]:
    """Names of the denoisers in ``folder`` (or folders, in order; a name already seen is not repeated), one card
    ``<name>.json`` each."""
    names: list[str] = []
    for one in _folders(folder):
        if one.is_dir():
            names += [name for name in sorted(p.stem for p in one.glob("[!.]*.json")) if name not in names]
    return names


def find_denoiser(name_or_path: str | Path, folder: Path | Sequence[Path]) -> DenoiserEntry:
    """The denoiser called ``name_or_path`` in ``folder`` (or the first of several folders that has it), or the
    ``.safetensors`` file it names (with the card beside it, if any); :class:`DenoiseError` for unknown names,
    missing weights or an unreadable card."""
    path = Path(name_or_path)
    folders = _folders(folder)
    if path.suffix == ".safetensors":
        name, weights, card_path = path.stem, path, path.with_suffix(".json")
        card_path = card_path if card_path.is_file() else None
    else:
        found = next((f for f in folders if (f / f"{name_or_path}.json").is_file()), None)
        if found is None:
            known = ", ".join(list_denoisers(folders)) or "none installed"
            where = " or ".join(str(f) for f in folders)
            raise DenoiseError(f"no denoiser named {str(name_or_path)!r} in {where} (known: {known})")
        card_path = found / f"{name_or_path}.json"
        name, weights = str(name_or_path), found / f"{name_or_path}.safetensors"
    if not weights.is_file():
        raise DenoiseError(f"the denoiser weights {weights} are missing")
    return DenoiserEntry(name, weights, card_path, _read_card(card_path) if card_path is not None else {})


def _read_card(card_path: Path) -> dict[str, Any]:
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as error:
        raise DenoiseError(f"cannot read the card {card_path}: {error}") from error
    if not isinstance(card, dict) or not isinstance(card.get("architecture", {}), dict) \
            or not isinstance(card.get("weights", {}), dict):
        raise DenoiseError(f"the card {card_path} is not a denoiser card (a JSON object with 'architecture')")
    return card


def load_denoiser_entry(entry: DenoiserEntry, device: torch.device, verify: bool = True) -> Denoiser:
    """Build ``entry``'s network from its card, load its weights (checked against the card's sha256 when
    ``verify``) and put it in eval mode on ``device``; :class:`DenoiseError` naming the file otherwise."""
    weights = entry.weights_path
    expected = entry.card.get("weights", {}).get("sha256")
    if verify and expected:
        digest = sha256_file(weights)
        if digest != expected:
            raise DenoiseError(f"{weights} is damaged or truncated: its sha256 is {digest[:12]}…, "
                               f"the card expects {expected[:12]}…")
    arch = entry.card.get("architecture", {})
    try:
        model = create_model(arch.get("name", ARCHITECTURE), widths=arch.get("widths", (48, 96, 192)),
                             bottleneck=arch.get("bottleneck", 4))
    except (TypeError, ValueError, RuntimeError) as error:
        raise DenoiseError(f"the card {entry.card_path} describes no usable network ({error})") from error
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as error:
        raise DenoiseError(f"{weights} is not a readable safetensors file ({error})") from error
    mismatch = _state_mismatch(model.state_dict(), state)
    if mismatch:
        raise DenoiseError(f"{weights} holds weights of another architecture: {mismatch}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise DenoiseError(f"{weights} holds weights of another architecture: "
                           f"{str(error).splitlines()[0]}") from error
    return Denoiser(entry.name, model.eval().to(device), entry.card, weights)


def _state_mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str:
    """How a state dict differs from the network's ("" when every name and shape matches)."""
    def listed(names: list[str]) -> str:
        return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")

    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected]
    if missing or extra:
        parts = [f"{len(missing)} tensor(s) missing ({listed(missing)})"] if missing else []
        parts += [f"{len(extra)} unexpected ({listed(extra)})"] if extra else []
        return "; ".join(parts)
    for name, tensor in expected.items():
        if tuple(found[name].shape) != tuple(tensor.shape):
            return f"{name} has shape {tuple(found[name].shape)}, the network expects {tuple(tensor.shape)}"
    return ""
