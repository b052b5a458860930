"""Load timm's SE-ResNet checkpoints into PhotoLab's own models (the catalogue of those checkpoints lives
beside the family, ``photolab.models.archs.seresnet.CATALOGUE``).

Two on-disk formats occur: timm's legacy SENet weights are pickled state_dicts (``.pth``), read only with
``torch.load(path, map_location="cpu", weights_only=True)`` so a file carrying arbitrary pickled objects is
refused; the new family is published as ``model.safetensors`` on the Hugging Face hub. Our modules carry
timm's new-family names, so new-family keys load as they are, and legacy keys need the four renames of
timm's KEY_MAPPING (``layer0.conv1.`` -> ``conv1.``, ``layer0.bn1.`` -> ``bn1.``, ``.se_module.`` -> ``.se.``,
``last_linear.`` -> ``fc.``). Legacy weights also need the legacy forward pass (``create_model("legacy_...")``),
which renaming alone cannot give: the importer therefore refuses a legacy file for a new-family name and
vice versa, since tensor shapes are identical and would not reveal the mistake.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from photolab.models import ModelImportError
from photolab.models.archs.seresnet import SEResNet, TimmWeights, arch_spec, create_model, find_weights

LEGACY_RENAMES = (("layer0.conv1.", "conv1."), ("layer0.bn1.", "bn1."), (".se_module.", ".se."),
                  ("last_linear.", "fc."))
"""timm legacy SENet -> new ResNet key renames; a leading dot marks an infix, otherwise a prefix."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a plain state_dict (name -> tensor) from ``.safetensors`` or a pickled ``.pth`` / ``.bin`` file.

    Pickles are read with ``weights_only=True``: a file holding anything but tensors and plain containers
    is refused with :class:`ModelImportError` (its payload never runs).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelImportError(f"{path}: no such weights file")
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = next((line for line in lines if "Unsupported" in line or "GLOBAL" in line), type(exc).__name__)
        raise ModelImportError(
            f"{path}: refused to load: not a weights-only pickle of tensors ({detail}); PhotoLab never "
            f"unpickles arbitrary objects") from exc
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise ModelImportError(f"{path}: not a readable weights file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise ModelImportError(f"{path}: expected a state_dict (name -> tensor), found {type(state).__name__}")
    bad = [str(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ModelImportError(f"{path}: expected a plain state_dict of tensors; {len(bad)} entries are not "
                               f"tensors, first: {', '.join(bad[:5])}")
    return state


def is_legacy_layout(state_dict: dict[str, torch.Tensor]) -> bool:
    """True when the keys follow timm's legacy SENet naming (``layer0.``, ``se_module``, ``last_linear``)."""
    return any(k.startswith(("layer0.", "last_linear.")) or ".se_module." in k for k in state_dict)


def rename_legacy_keys(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Apply :data:`LEGACY_RENAMES` to every key, keeping the order."""
    renamed = {}
    for key, value in state_dict.items():
        for old, new in LEGACY_RENAMES:
            if old.startswith("."):
                key = key.replace(old, new, 1)
            elif key.startswith(old):
                key = new + key[len(old):]
        renamed[key] = value
    return renamed


def convert_timm_state_dict(state_dict: dict[str, torch.Tensor], legacy: bool,
                            source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Turn a timm state_dict into our key names, checking that its layout fits the (legacy or new) model."""
    if is_legacy_layout(state_dict) != legacy:
        found, wanted = ("legacy SENet", "new ResNet") if not legacy else ("new ResNet", "legacy SENet")
        hint = "a legacy_* model" if not legacy else "the model without the legacy_ prefix"
        raise ModelImportError(f"{source}: holds a timm {found} checkpoint but the model is a {wanted}; "
                               f"load it as {hint} (the forward passes differ, the shapes do not)")
    return rename_legacy_keys(state_dict) if legacy else dict(state_dict)


def load_state_dict_checked(model: torch.nn.Module, state_dict: dict[str, torch.Tensor],
                            source: str = "checkpoint", skip_prefixes: tuple[str, ...] = ()) -> None:
    """Load ``state_dict`` into ``model`` only if every key and shape matches (keys under ``skip_prefixes``
    are neither required nor loaded); otherwise raise :class:`ModelImportError` naming the first culprits."""
    expected = {k: v for k, v in model.state_dict().items() if not k.startswith(skip_prefixes)}
    given = {k: v for k, v in state_dict.items() if not k.startswith(skip_prefixes)}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong_shape = [f"{k} (file {list(given[k].shape)}, model {list(v.shape)})"
                   for k, v in expected.items() if k in given and given[k].shape != v.shape]
    wrong_kind = [k for k, v in expected.items()
                  if k in given and given[k].dtype.is_floating_point != v.dtype.is_floating_point]
    problems = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape),
                        ("wrong dtype", wrong_kind)):
        if keys:
            problems.append(f"{len(keys)} {label}: {', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''}")
    if problems:
        name = getattr(getattr(model, "default_cfg", None), "architecture", "") or type(model).__name__
        raise ModelImportError(f"{source}: does not fit {name}: " + "; ".join(problems))
    converted = {k: v.to(expected[k].dtype) for k, v in given.items()}
    model.load_state_dict(converted, strict=not skip_prefixes)


def load_timm_checkpoint(path: str | Path, arch: str | None = None, num_classes: int | None = None,
                         weights: TimmWeights | str | None = None) -> SEResNet:
    """Build ``arch`` and load the timm checkpoint at ``path`` into it, in eval mode.

    ``arch`` defaults to the catalogue entry matching the file name. With ``num_classes`` different from the
    checkpoint's, the classifier is left freshly initialised (for fine-tuning) and everything else loaded.
    The model's ``default_cfg`` becomes the preprocessing of ``weights`` (or of the catalogue entry for
    ``arch`` / the file), so images are fed as the weights expect.
    """
    path = Path(path)
    if isinstance(weights, str):
        weights = find_weights(weights)
    if weights is not None and arch is not None and weights.arch != arch:
        raise ValueError(f"weights {weights.name} are for {weights.arch}, not {arch}")
    if arch is None:
        if weights is None:
            try:
                weights = find_weights(path.name)
            except KeyError:
                raise ModelImportError(f"{path}: unknown file; say which architecture it holds") from None
        arch = weights.arch
    spec = arch_spec(arch)
    state = convert_timm_state_dict(read_state_dict(path), spec.legacy, source=str(path))
    if "fc.weight" not in state:
        raise ModelImportError(f"{path}: has no classifier weights (fc.weight / last_linear.weight)")
    file_classes = state["fc.weight"].shape[0]
    num_classes = file_classes if num_classes is None else num_classes
    model = create_model(arch, num_classes=num_classes)
    skip = ("fc.",) if num_classes != file_classes else ()
    load_state_dict_checked(model, state, source=str(path), skip_prefixes=skip)
    if weights is None:
        try:
            weights = find_weights(arch)
        except KeyError:
            weights = None
    if weights is not None:
        model.default_cfg = replace(weights.config, num_classes=num_classes)
    return model.eval()
