"""Turning a weights file into checked weights plus a model card, before anything touches the store.

:func:`prepare_import` reads the file safely (``safetensors``, or a pickle with ``weights_only=True``),
works out the architecture (given, timm catalogue, the card a PhotoLab export embeds, or recognised from
the weights' structure), converts timm's legacy key names, loads the weights into a fresh model of that
architecture (so every key and shape is checked) and writes the card. The model manager then commits
the result; a file that fails any step leaves the store untouched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import torch
from safetensors import safe_open

from photolab.models import ModelImportError
from photolab.models.store.card import ModelCard, ModelCardError, Preprocessing, check_model_name, default_labels
from photolab.models.inference import build_model
from photolab.models.archs.seresnet import CATALOGUE, TimmWeights, arch_spec, find_weights, first_conv_name, list_models
from photolab.models.store.timm_import import (convert_timm_state_dict, is_legacy_layout, load_state_dict_checked,
                                               read_state_dict)

CARD_METADATA_KEY = "photolab.card"
"""safetensors metadata key under which stored and exported weights carry their card (without the hash)."""


def read_labels(path: str | Path) -> list[str]:
    """Class labels from a file: a JSON list of strings, or plain text with one label per line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelImportError(f"{path}: cannot read the labels file ({exc})") from None
    if path.suffix.lower() == ".json":
        try:
            labels = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelImportError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
            raise ModelImportError(f"{path}: expected a JSON list of non-empty strings")
        return [x.strip() for x in labels]
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise ModelImportError(f"{path}: the labels file is empty")
    return labels


def catalogue_entry(name: str) -> TimmWeights:
    """The timm catalogue entry called ``name`` (weights name, architecture or file name)."""
    try:
        return find_weights(name)
    except KeyError:
        names = ", ".join(w.name for w in CATALOGUE)
        raise ModelImportError(f"{name!r} is neither a URL nor in the timm catalogue ({names})") from None


def identify_architecture(state: dict[str, torch.Tensor], source: str = "checkpoint") -> str:
    """The registered architecture whose structure (stem, block type, depth, groups, shortcut) the weights have.

    Timm's legacy key layout selects among ``legacy_*``, any other among the new family. Shapes are checked
    when the weights are loaded. Raises :class:`ModelImportError` when nothing fits.
    """
    legacy = is_legacy_layout(state)
    keys = convert_timm_state_dict(state, legacy, source) if legacy else state
    depth = []
    for stage in range(1, 5):
        indices = {int(m.group(1)) for k in keys if (m := re.match(rf"layer{stage}\.(\d+)\.", k))}
        depth.append(max(indices) + 1 if indices else 0)
    if not all(depth):
        raise ModelImportError(f"{source}: these are not SE-ResNet weights (no layer1..layer4 blocks); PhotoLab "
                               f"knows {', '.join(list_models())}")
    bottleneck = "layer1.0.conv3.weight" in keys
    deep = f"{first_conv_name('deep')}.weight" in keys
    avg_down = any(re.match(r"layer\d\.0\.downsample\.2\.", k) for k in keys)
    conv2 = keys.get("layer1.0.conv2.weight")
    groups = conv2.shape[0] // conv2.shape[1] if conv2 is not None and conv2.dim() == 4 and conv2.shape[1] else 1
    for name in list_models():
        spec = arch_spec(name)
        if (spec.legacy == legacy and spec.layers == tuple(depth) and (spec.block == "bottleneck") == bottleneck
                and (spec.stem_type == "deep") == deep and spec.avg_down == avg_down and spec.cardinality == groups):
            return name
    kind = "bottleneck" if bottleneck else "basic"
    raise ModelImportError(f"{source}: the weights match no architecture PhotoLab knows ({kind} blocks "
                           f"{tuple(depth)}, {groups} groups); known: {', '.join(list_models())}")


def embedded_card(path: Path) -> dict | None:
    """The card dict a PhotoLab-written safetensors file carries in its metadata, or None."""
    if path.suffix != ".safetensors":
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            text = (handle.metadata() or {}).get(CARD_METADATA_KEY)
        data = json.loads(text) if text else None
    except Exception:  # noqa: BLE001 - metadata is optional; read_state_dict has vetted the file itself
        return None
    return data if isinstance(data, dict) else None


def name_from(path: Path) -> str:
    """A model name from a file name (up to the first dot, unsafe characters replaced)."""
    stem = path.name.split(".")[0] if path.name else "model"
    stem = re.sub(r"[^A-Za-z0-9._+-]", "_", stem).strip("._-") or "model"
    return stem[:80]


def prepare_import(path: str | Path, *, name: str | None = None, architecture: str | None = None,
                   labels: Sequence[str] | str | Path | None = None, timm_weights: str | None = None,
                   license: str | None = None, source: dict | None = None,
                   context=None) -> tuple[dict[str, torch.Tensor], ModelCard]:
    """Read and check the weights file at ``path``; return ``(state_dict, card)`` ready to store.

    The architecture is ``architecture``, else the timm catalogue entry (``timm_weights`` or the file name),
    else the card embedded by a PhotoLab export, else recognised from the weights. Labels come from
    ``labels`` (a list, or a labels file), else the embedded card, else ``class 0 .. class N-1``. Timm
    catalogue weights get the catalogue's preprocessing, licence and URL. The card has no hash yet.
    """
    path = Path(path)
    if context is not None:
        context.progress(0.0, f"Reading {path.name}")
    state = read_state_dict(path)
    weights = catalogue_entry(timm_weights) if timm_weights else None
    if weights is None and path.name in {w.file_name for w in CATALOGUE}:
        weights = find_weights(path.name)
    base = {}  # the card a PhotoLab export embeds: our key names, labels, preprocessing
    embedded = embedded_card(path) if weights is None else None
    if embedded is not None:
        try:
            base = ModelCard.from_dict(embedded, f"{path}: embedded card").to_dict()
        except ModelCardError:
            base = {}
    try:
        arch = (architecture or (weights.arch if weights else None) or base.get("architecture", {}).get("name")
                or identify_architecture(state, str(path)))
        legacy = arch_spec(arch).legacy
    except ValueError as exc:
        raise ModelImportError(f"{path}: {exc}") from None
    if not base or is_legacy_layout(state):
        state = convert_timm_state_dict(state, legacy, str(path))
    if "fc.weight" not in state:
        raise ModelImportError(f"{path}: has no classifier weights (fc.weight); PhotoLab imports classifiers")
    num_classes = int(state["fc.weight"].shape[0])
    if labels is not None and not isinstance(labels, (list, tuple)):
        labels = read_labels(labels)
    classes = list(labels) if labels is not None else base.get("classes") or default_labels(num_classes)
    if len(classes) != num_classes:
        raise ModelImportError(f"{path}: the weights have {num_classes} classes but {len(classes)} labels "
                               f"were given")
    if weights is not None:
        preprocessing = Preprocessing.from_config(weights.config)
    elif base:
        preprocessing = Preprocessing.from_dict(base["preprocessing"])
    else:
        preprocessing = Preprocessing()
    card = ModelCard(
        name=check_model_name(name or (weights.name if weights else None) or base.get("name") or name_from(path)),
        architecture=arch, classes=tuple(classes), preprocessing=preprocessing,
        source=source or {"kind": "imported", "file": path.name, "url": weights.url if weights else None,
                          "timm_weights": weights.name if weights else None},
        license=license or (weights.license if weights else None) or base.get("license"),
        training=base.get("training") or ({"data": "ImageNet-1k (timm)", "metrics": {}} if weights else {}),
    ).validate()
    if context is not None:
        context.progress(0.3, f"Checking {path.name} against {arch}")
    model = build_model(card)
    load_state_dict_checked(model, state, source=str(path))
    return {k: v.detach() for k, v in model.state_dict().items()}, card
