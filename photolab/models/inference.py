"""Running a stored classifier on a photo: top-k labels, SE excitations, class-activation maps.

These are plain functions, safe to call from several threads at once: every :class:`LoadedModel` has its
own lock, held for the forward pass (and while the attention hooks are attached), so the GUI can run them
as Jobs on its thread pool while the CLI calls them inline. A :class:`ModelEntry` may be passed instead of a
loaded model; it is then loaded for this call only (use ``ModelManager.load`` to keep it cached).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from photolab.core.photo import Photo
from photolab.models import ModelImportError
from photolab.models.analysis.cam import class_activation_map
from photolab.models.analysis.excitation import ExcitationProbe
from photolab.models.store.card import ModelCard, sha256_file
from photolab.models.preprocess import PreparedImage, prepare
from photolab.models.archs.seresnet import SEResNet
from photolab.models.registry import create_model
from photolab.models.store.timm_import import load_state_dict_checked


@dataclass(frozen=True)
class ModelEntry:
    """One model in the store: its card, where its weights and card live, and whether it is read-only."""

    card: ModelCard
    weights_path: Path
    card_path: Path
    builtin: bool = False

    @property
    def name(self) -> str:
        """The model's name in the store."""
        return self.card.name

    @property
    def read_only(self) -> bool:
        """Built-in models cannot be renamed or removed."""
        return self.builtin


@dataclass
class LoadedModel:
    """A model in memory, in eval mode on ``device``, with the lock that serialises its use."""

    entry: ModelEntry
    model: SEResNet
    device: torch.device
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        """The model's name in the store."""
        return self.entry.name

    @property
    def card(self) -> ModelCard:
        """The model's card."""
        return self.entry.card

    @property
    def classes(self) -> tuple[str, ...]:
        """Class labels, in the order of the model's outputs."""
        return self.entry.card.classes

    def prepare(self, photo: Photo | np.ndarray, name: str = "image") -> PreparedImage:
        """The photo as this model's input (see :mod:`photolab.models.preprocess`)."""
        return prepare(photo, self.entry.card.preprocessing, name)


def build_model(card: ModelCard, device: str | torch.device = "cpu") -> SEResNet:
    """A model of the card's architecture and class count, carrying its preprocessing (random weights)."""
    model = create_model(card.architecture, num_classes=card.num_classes)
    model.default_cfg = card.preprocessing.to_config(card.architecture, card.num_classes)
    return model.to(device).eval()


def load_entry(entry: ModelEntry, device: str | torch.device = "cpu", verify: bool = True) -> LoadedModel:
    """Load the weights of ``entry`` (checked against the card's SHA-256 when ``verify``) onto ``device``."""
    path = entry.weights_path
    if not path.is_file():
        raise ModelImportError(f"model {entry.name!r}: its weights file {path} is missing")
    if verify and entry.card.sha256:
        digest = sha256_file(path)
        if digest != entry.card.sha256:
            raise ModelImportError(f"model {entry.name!r}: {path} is damaged: its SHA-256 is {digest}, "
                                   f"the card says {entry.card.sha256}")
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise ModelImportError(f"model {entry.name!r}: {path} is not a readable weights file ({exc})") from None
    model = build_model(entry.card)
    load_state_dict_checked(model, state, source=f"model {entry.name!r} ({path.name})")
    device = torch.device(device)
    return LoadedModel(entry, model.to(device).eval(), device)


def _loaded(model: LoadedModel | ModelEntry, device: str | torch.device = "cpu") -> LoadedModel:
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, ModelEntry):
        return load_entry(model, device)
    raise TypeError(f"expected a LoadedModel or ModelEntry, got {type(model).__name__}")


def _name_of(photo) -> str:
    path = getattr(getattr(photo, "metadata", None), "path", None)
    return str(path) if path else "image"


def predict(model: LoadedModel | ModelEntry, photo: Photo | np.ndarray) -> np.ndarray:
    """Class probabilities (softmax of the logits), float64 array of the model's class count."""
    loaded = _loaded(model)
    prepared = loaded.prepare(photo, _name_of(photo))
    with loaded.lock, torch.inference_mode():
        logits = loaded.model(prepared.tensor.to(loaded.device))
    return torch.softmax(logits[0].double(), dim=0).cpu().numpy()


def classify(model: LoadedModel | ModelEntry, photo: Photo | np.ndarray, top_k: int = 5) -> list[tuple[str, float]]:
    """The ``top_k`` most probable labels of ``photo``, as ``(label, probability)`` pairs, most probable first
    (ties keep class order)."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    loaded = _loaded(model)
    probabilities = predict(loaded, photo)
    order = np.argsort(-probabilities, kind="stable")[:top_k]
    return [(loaded.classes[i], float(probabilities[i])) for i in order]


def excitations(model: LoadedModel | ModelEntry, photo: Photo | np.ndarray) -> "OrderedDict[str, np.ndarray]":
    """The excitation vector of every SE block for ``photo``: SE module path (``layer1.0.se``...) -> float32
    array of its C channels, in forward order."""
    loaded = _loaded(model)
    prepared = loaded.prepare(photo, _name_of(photo))
    with loaded.lock:
        with ExcitationProbe(loaded.model, as_numpy=True) as probe, torch.inference_mode():
            loaded.model(prepared.tensor.to(loaded.device))
        recorded = probe.excitations
    return OrderedDict((name, values[0]) for name, values in recorded.items())


@dataclass(frozen=True)
class ClassActivation:
    """A class-activation map for one photo: ``heatmap`` (H, W) in [0, 1] over the model input, which shows
    ``box`` = (left, top, right, bottom) of the photo (pixel coordinates); the explained class and its
    probability."""

    heatmap: np.ndarray
    box: tuple[float, float, float, float]
    class_index: int
    label: str
    probability: float


def cam(model: LoadedModel | ModelEntry, photo: Photo | np.ndarray, class_index: int | None = None) -> ClassActivation:
    """CAM (Zhou et al. 2016) of ``photo`` for ``class_index`` (default: the predicted class)."""
    loaded = _loaded(model)
    if class_index is not None and not 0 <= class_index < len(loaded.classes):
        raise ValueError(f"class index {class_index} is outside 0..{len(loaded.classes) - 1}")
    prepared = loaded.prepare(photo, _name_of(photo))
    images = prepared.tensor.to(loaded.device)
    logits = []
    with loaded.lock:
        # the classifier's output during the CAM pass gives the probabilities without a second forward pass
        handle = loaded.model.get_classifier().register_forward_hook(lambda m, i, o: logits.append(o.detach()))
        try:
            result = class_activation_map(loaded.model, images, class_index)
        finally:
            handle.remove()
    probabilities = torch.softmax(logits[-1][0].double(), dim=0)
    index = int(result.class_index[0])
    return ClassActivation(result.maps[0].cpu().numpy().astype(np.float32), prepared.box, index,
                           loaded.classes[index], float(probabilities[index]))
