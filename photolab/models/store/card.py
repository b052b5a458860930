"""The model card: what a stored set of weights is, how to feed it, where it came from (one JSON file each).

A card sits beside its weights in the model store (``<name>.json`` next to ``<name>-<sha8>.safetensors``)::

    {
      "format_version": 1,
      "name": "garden-birds",
      "architecture": {"name": "seresnet18", "legacy": false},
      "classes": ["blackbird", "robin", "wren"],
      "preprocessing": {"input_size": [3, 224, 224], "mean": [...], "std": [...], "crop_pct": 0.875,
                        "interpolation": "bilinear", "crop_mode": "center"},
      "source": {"kind": "imported", "file": "birds.safetensors", "url": null, "timm_weights": null},
      "license": "apache-2.0",
      "training": {"data": "...", "metrics": {"top1": 0.91}},
      "created": "2025-01-31T12:00:00+00:00",
      "weights": {"file": "garden-birds-1a2b3c4d.safetensors", "sha256": "1a2b3c4d..."},
      "role": "classifier"
    }

The preprocessing block carries timm's data config (``DataConfig`` in :mod:`photolab.models.archs.seresnet`), so an
image is fed exactly as the weights expect. Cards from a newer PhotoLab (higher ``format_version``) are
refused rather than misread.

``role`` is ``classifier`` (the default, also for cards written before the field existed) or ``backbone``: a
feature extractor learned without labels (its classes are the surrogate task's, meaningless to a user), offered
as a starting point for fine-tuning but not for classifying photos.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from photolab.core.errors import PhotoLabError
from photolab.models.archs.seresnet import DataConfig, ModelConfig, arch_spec, first_conv_name

FORMAT_VERSION = 1
"""Version of the card layout this PhotoLab writes and reads."""

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")
CROP_MODES = ("center", "squash")
SOURCE_KINDS = ("builtin", "imported", "downloaded", "trained")
ROLES = ("classifier", "backbone")
MAX_NAME_LENGTH = 80
"""Characters in a model name at most."""
_NAME_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._+-]{{0,{MAX_NAME_LENGTH - 1}}}$")


class ModelCardError(PhotoLabError, ValueError):
    """A card is malformed, inconsistent, or from a newer PhotoLab; the message names the card."""


def check_model_name(name: str) -> str:
    """Return ``name`` if it can name a stored model (letters, digits, ``. _ + -``; 1-80 characters, starting
    with a letter or digit, so it is a safe file name everywhere); raise :class:`ModelCardError` otherwise."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.endswith((".", ".json", ".part")):
        raise ModelCardError(f"{name!r} is not a valid model name: use 1-{MAX_NAME_LENGTH} letters, digits, '.', "
                             f"'_', '+' or '-', starting with a letter or digit")
    return name


def free_model_name(name: str, taken: set[str]) -> str:
    """``name-2`` (or -3, ...): the first such name not in ``taken``, shortened to fit a model name."""
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = name[:MAX_NAME_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def suggested_model_name(folder: str | Path) -> str:
    """A valid model name for a classifier trained on the photos in ``folder``, from the folder's name."""
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "-", Path(folder).name).strip("-._+") or "my"
    return f"{stem[:60]}-classifier"


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def existing_model_message(folder: str | Path, name: str, what: str) -> str | None:
    """Why ``name`` cannot be saved in the user model folder ``folder`` without overwriting (a card of that
    name is there already), or None. ``what`` names the kind of model ("look", "denoiser")."""
    if (Path(folder) / f"{name}.json").exists():
        return f"a {what} named {name!r} already exists in {folder}; pick another name or use --overwrite"
    return None


def save_weights_and_card(state: dict, card: dict, folder: str | Path, name: str, *, what: str, folder_label: str,
                          overwrite: bool, error: type[PhotoLabError]) -> tuple[Path, dict]:
    """Write ``<folder>/<name>.safetensors`` (synced to disk) then its card ``<name>.json``, each atomically and
    the card last, so a crash never leaves a card without its weights; the card gains the weights' file name
    and SHA-256. Refusals (the name is taken and ``overwrite`` is false, the folder cannot be made) raise
    ``error``. Returns (weights path, card)."""
    from safetensors.torch import save_file

    from photolab.core.atomic import atomic_path, write_bytes_atomic

    folder = Path(folder)
    taken = existing_model_message(folder, name, what)
    if taken and not overwrite:
        raise error(taken)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"{folder}: cannot create the {folder_label} ({exc.strerror or exc})") from exc
    weights = folder / f"{name}.safetensors"
    with atomic_path(weights) as temporary:
        save_file(state, str(temporary), metadata={"format": "pt"})
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        card["weights"] = {"file": weights.name, "sha256": sha256_file(temporary)}
    write_bytes_atomic(folder / f"{name}.json", (json.dumps(card, indent=1) + "\n").encode("utf-8"))
    return weights, card


def default_labels(num_classes: int) -> list[str]:
    """Placeholder labels ``class 0`` ... ``class N-1`` for weights whose class names are not known offline."""
    return [f"class {index}" for index in range(num_classes)]


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Preprocessing(DataConfig):
    """How an image is turned into the model's input: the card's copy of a model's :class:`DataConfig`."""

    @staticmethod
    def from_config(config: ModelConfig) -> "Preprocessing":
        """The preprocessing part of a model's ``default_cfg``."""
        values = config.data_config
        return Preprocessing(**{**values, "input_size": tuple(values["input_size"]), "mean": tuple(values["mean"]),
                                "std": tuple(values["std"]), "crop_pct": float(values["crop_pct"])})

    def to_config(self, architecture: str, num_classes: int) -> ModelConfig:
        """A ``ModelConfig`` for ``architecture`` carrying this preprocessing."""
        return ModelConfig(architecture=architecture, num_classes=num_classes,
                           first_conv=first_conv_name(arch_spec(architecture).stem_type),
                           **{f.name: getattr(self, f.name) for f in dataclasses.fields(DataConfig)})

    def validate(self, where: str = "preprocessing") -> "Preprocessing":
        """Return self if every value is usable; raise :class:`ModelCardError` saying which one is not."""
        size = self.input_size
        if len(size) != 3 or size[0] != 3 or not all(isinstance(v, int) and v > 0 for v in size):
            raise ModelCardError(f"{where}: input_size must be [3, H, W] with positive integers, got {list(size)}")
        if size[1] < 16 or size[2] < 16 or size[1] > 4096 or size[2] > 4096:
            raise ModelCardError(f"{where}: input size {size[2]}x{size[1]} is outside 16-4096 px")
        if self.crop_mode == "center" and size[1] != size[2]:
            raise ModelCardError(f"{where}: a centre crop needs a square input size, got {size[2]}x{size[1]}")
        for label, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != 3 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
                raise ModelCardError(f"{where}: {label} must be three finite numbers, got {list(values)}")
        if not all(v > 0 for v in self.std):
            raise ModelCardError(f"{where}: std must be positive, got {list(self.std)}")
        if not (isinstance(self.crop_pct, (int, float)) and 0.1 <= self.crop_pct <= 1.0):
            raise ModelCardError(f"{where}: crop_pct must be in [0.1, 1], got {self.crop_pct!r}")
        if self.interpolation not in INTERPOLATIONS:
            raise ModelCardError(f"{where}: unknown interpolation {self.interpolation!r} "
                                 f"(expected one of {', '.join(INTERPOLATIONS)})")
        if self.crop_mode not in CROP_MODES:
            raise ModelCardError(f"{where}: unknown crop_mode {self.crop_mode!r} "
                                 f"(expected one of {', '.join(CROP_MODES)})")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every :class:`DataConfig` field, tuples as lists."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(DataConfig)}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}

    @staticmethod
    def from_dict(data: dict[str, Any], where: str = "preprocessing") -> "Preprocessing":
        """Parse and validate the JSON form (missing keys take timm's defaults)."""
        if not isinstance(data, dict):
            raise ModelCardError(f"{where}: expected an object, got {type(data).__name__}")
        unknown = set(data) - {f.name for f in dataclasses.fields(Preprocessing)}
        if unknown:
            raise ModelCardError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        try:
            values = {k: tuple(v) if k in ("input_size", "mean", "std") else v for k, v in data.items()}
        except TypeError:
            raise ModelCardError(f"{where}: input_size, mean and std must be lists") from None
        return Preprocessing(**values).validate(where)


@dataclass(frozen=True)
class ModelCard:
    """Everything PhotoLab records about one set of weights. ``weights_file``/``sha256`` are filled in by the
    store when the weights are written; a card is immutable, edit with :meth:`replace`."""

    name: str
    architecture: str
    classes: tuple[str, ...]
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    source: dict[str, Any] = field(default_factory=lambda: {"kind": "imported"})
    license: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=now_iso)
    weights_file: str = ""
    sha256: str = ""
    format_version: int = FORMAT_VERSION
    role: str = "classifier"

    @property
    def legacy(self) -> bool:
        """Whether the architecture is timm's legacy SENet forward pass."""
        return arch_spec(self.architecture).legacy

    @property
    def num_classes(self) -> int:
        """Number of classes (outputs) of the model."""
        return len(self.classes)

    @property
    def source_kind(self) -> str:
        """Where the weights came from: builtin, imported, downloaded or trained."""
        return str(self.source.get("kind", ""))

    @property
    def is_backbone(self) -> bool:
        """Whether this is a feature extractor for fine-tuning rather than a classifier (see ``role``)."""
        return self.role == "backbone"

    def replace(self, **changes) -> "ModelCard":
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes).validate()

    def validate(self, where: str | None = None) -> "ModelCard":
        """Return self if the card is consistent; raise :class:`ModelCardError` otherwise."""
        where = where or f"model card {self.name!r}"
        if self.format_version > FORMAT_VERSION:
            raise ModelCardError(f"{where}: format version {self.format_version} is newer than this PhotoLab "
                                 f"understands ({FORMAT_VERSION}); update PhotoLab")
        check_model_name(self.name)
        try:
            arch_spec(self.architecture)
        except ValueError as exc:
            raise ModelCardError(f"{where}: {exc}") from None
        if not self.classes or not all(isinstance(c, str) and c for c in self.classes):
            raise ModelCardError(f"{where}: classes must be a non-empty list of non-empty strings")
        self.preprocessing.validate(f"{where}: preprocessing")
        if self.source_kind not in SOURCE_KINDS:
            raise ModelCardError(f"{where}: source kind must be one of {', '.join(SOURCE_KINDS)}, "
                                 f"got {self.source_kind!r}")
        if self.role not in ROLES:
            raise ModelCardError(f"{where}: role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.sha256 and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ModelCardError(f"{where}: sha256 must be 64 lower-case hex digits")
        if self.weights_file and (Path(self.weights_file).name != self.weights_file
                                  or not self.weights_file.endswith(".safetensors")):
            raise ModelCardError(f"{where}: weights file must be a plain .safetensors file name, "
                                 f"got {self.weights_file!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "format_version": self.format_version,
            "name": self.name,
            "architecture": {"name": self.architecture, "legacy": self.legacy},
            "classes": list(self.classes),
            "preprocessing": self.preprocessing.to_dict(),
            "source": dict(self.source),
            "license": self.license,
            "training": dict(self.training),
            "created": self.created,
            "weights": {"file": self.weights_file, "sha256": self.sha256},
            "role": self.role,
        }

    def to_json(self) -> str:
        """Pretty JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def from_dict(data: Any, where: str = "model card") -> "ModelCard":
        """Parse and validate the JSON form."""
        if not isinstance(data, dict):
            raise ModelCardError(f"{where}: expected a JSON object")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise ModelCardError(f"{where}: missing or invalid format_version")
        if version > FORMAT_VERSION:
            raise ModelCardError(f"{where}: format version {version} is newer than this PhotoLab understands "
                                 f"({FORMAT_VERSION}); update PhotoLab")
        try:
            arch = data["architecture"]
            name = data["name"]
            classes = data["classes"]
        except KeyError as exc:
            raise ModelCardError(f"{where}: missing {exc.args[0]!r}") from None
        if not isinstance(arch, dict) or not isinstance(arch.get("name"), str):
            raise ModelCardError(f"{where}: architecture must be {{\"name\": ..., \"legacy\": ...}}")
        if not isinstance(classes, list):
            raise ModelCardError(f"{where}: classes must be a list")
        weights = data.get("weights") or {}
        source = data.get("source") or {}
        training = data.get("training") or {}
        if not isinstance(weights, dict) or not isinstance(source, dict) or not isinstance(training, dict):
            raise ModelCardError(f"{where}: weights, source and training must be objects")
        card = ModelCard(
            name=name, architecture=arch["name"], classes=tuple(classes),
            preprocessing=Preprocessing.from_dict(data.get("preprocessing", {}), f"{where}: preprocessing"),
            source=source, license=data.get("license"), training=training,
            created=str(data.get("created", "")), weights_file=str(weights.get("file", "")),
            sha256=str(weights.get("sha256", "")), format_version=version, role=data.get("role", "classifier"))
        card.validate(where)
        if "legacy" in arch and bool(arch["legacy"]) != card.legacy:
            raise ModelCardError(f"{where}: architecture {card.architecture} has legacy={card.legacy}, "
                                 f"the card says {arch['legacy']}")
        return card

    @staticmethod
    def from_json(text: str, where: str = "model card") -> "ModelCard":
        """Parse JSON text (a :class:`ModelCardError` for malformed JSON too)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelCardError(f"{where}: not valid JSON ({exc})") from None
        return ModelCard.from_dict(data, where)

    @staticmethod
    def read(path: str | Path) -> "ModelCard":
        """Read and validate the card file at ``path``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelCardError(f"{path}: cannot be read ({exc})") from None
        return ModelCard.from_json(text, str(path))
