"""Writing a stored model out of the store: safetensors (with its card inside), TorchScript, ONNX.

Every format is written atomically (temporary file beside the target, renamed last). The card travels with
the file: as safetensors metadata (``photolab.card``, so importing the file again restores labels and
preprocessing) or as a TorchScript extra file (``photolab_card.json``). ONNX export needs the ``onnx``
package, which torch does not bundle; without it :func:`export_onnx` says so instead of failing halfway.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import warnings
from pathlib import Path

import torch

from photolab.core.atomic import atomic_path
from photolab.core.errors import PhotoLabError
from photolab.models.inference import LoadedModel, ModelEntry

EXPORT_FORMATS = {".safetensors": "safetensors", ".pt": "torchscript", ".torchscript": "torchscript",
                  ".onnx": "onnx"}
"""File suffix -> export format."""

TORCHSCRIPT_CARD = "photolab_card.json"


class ModelExportError(PhotoLabError):
    """A model cannot be exported in the requested format (missing package, unknown format)."""


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the file suffix (see :data:`EXPORT_FORMATS`)."""
    if fmt:
        if fmt not in set(EXPORT_FORMATS.values()):
            raise ModelExportError(f"unknown export format {fmt!r}; choose safetensors, torchscript or onnx")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ModelExportError(f"{path}: cannot tell the export format from the suffix {suffix!r}; use "
                               f".safetensors, .pt (TorchScript) or .onnx, or name the format")
    return EXPORT_FORMATS[suffix]


def onnx_available() -> bool:
    """Whether torch's ONNX exporter can run here (it needs the ``onnx`` package)."""
    return importlib.util.find_spec("onnx") is not None


def require_onnx() -> None:
    """Raise :class:`ModelExportError` explaining what is missing when ONNX export cannot run here."""
    if not onnx_available():
        raise ModelExportError("ONNX export needs the 'onnx' Python package, which is not installed "
                               "(pip install onnx); export to TorchScript (.pt) or safetensors instead")


def export_safetensors(entry: ModelEntry, target: str | Path) -> Path:
    """Copy the stored weights (card embedded in their metadata) to ``target``."""
    target = Path(target)
    with atomic_path(target) as temporary:
        shutil.copyfile(entry.weights_path, temporary)
        _fsync(temporary)
    return target


def _example_input(loaded: LoadedModel) -> torch.Tensor:
    channels, height, width = loaded.card.preprocessing.input_size
    return torch.zeros(1, channels, height, width, device=loaded.device)


def export_torchscript(loaded: LoadedModel, target: str | Path) -> Path:
    """Trace the model at its input size and save it as TorchScript with the card as an extra file.

    Load it back with ``torch.jit.load(path, _extra_files={"photolab_card.json": ""})``.
    """
    target = Path(target)
    with loaded.lock, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=UserWarning)
        traced = torch.jit.trace(loaded.model, _example_input(loaded), check_trace=False)
        with atomic_path(target) as temporary:
            torch.jit.save(traced, str(temporary), _extra_files={TORCHSCRIPT_CARD: loaded.card.to_json()})
            _fsync(temporary)
    return target


def export_onnx(loaded: LoadedModel, target: str | Path, opset: int = 17) -> Path:
    """Export to ONNX (input ``image`` (N, 3, H, W) normalised, output ``logits``; dynamic batch size).

    Raises :class:`ModelExportError` when the ``onnx`` package is missing.
    """
    require_onnx()
    target = Path(target)
    with loaded.lock, atomic_path(target) as temporary:
        torch.onnx.export(loaded.model, (_example_input(loaded),), str(temporary), input_names=["image"],
                          output_names=["logits"], opset_version=opset, dynamo=False,
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        _fsync(temporary)
    return target


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
