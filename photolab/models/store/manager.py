"""ModelManager: every model PhotoLab knows (classifiers and denoisers), where it is stored, and the loaded ones in
memory, on one device.

Two stores: built-in models (``resources/models``, read-only) and the user's (``<data dir>/models``, where
the data dir is the constructor's ``data_dir``, else ``$PHOTOLAB_DATA_DIR``, else the platform's user data
folder). A stored model is ``<name>.json`` (its :class:`ModelCard`) plus the weights file the card names,
``<name>-<sha8>.safetensors``. The card is the commit point: weights are written (temporary name, fsync,
rename) before the card (atomically), so a crash leaves at most an unreferenced weights file, never a card
without its weights; replacing or renaming writes new files before removing old ones.

Learned looks are in ``user_look_dir`` (``<data dir>/looks``, see :mod:`photolab.models.store.looks`).
Denoisers are read from ``denoiser_dir`` (the built-in ones by default) and then ``user_denoiser_dir``
(``<data dir>/denoisers``: the ones adapted to the user's camera; see :mod:`photolab.models.store.denoisers`),
and share the cache, the device and the checksum check.

Loaded models live in an LRU cache (``cache_size``), each with its own lock (see
:mod:`photolab.models.inference`). Long operations take an optional JobContext for progress and cancel;
:func:`download_job` wraps a download in a :class:`~photolab.jobs.Job` for either front end.

The file is over 400 lines because ModelManager is one lock-protected façade: listing, the crash-safe
writes (commit, rename, remove) and the cache share its lock and must be read together; the pieces without
state live beside it (card, importing, download, export, denoisers).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import save_file

from photolab.core.atomic import write_bytes_atomic
from photolab.core.errors import PhotoLabError
from photolab.jobs import Job
from photolab.models.store import export as exporting
from photolab.models.denoise import DEFAULT_DENOISER, Denoiser
from photolab.models.store.card import ModelCard, ModelCardError, Preprocessing, check_model_name, sha256_file
from photolab.models.store.denoisers import (DENOISERS_DIR, USER_DENOISERS, find_denoiser, list_denoisers,
                                             load_denoiser_entry)
from photolab.models.store.download import download as download_file
from photolab.models.store.looks import USER_LOOKS, list_looks, load_look
from photolab.models.store.importing import CARD_METADATA_KEY, catalogue_entry, name_from, prepare_import, read_labels
from photolab.models.inference import LoadedModel, ModelEntry, build_model, load_entry
from photolab.models.archs.seresnet import CATALOGUE, TimmWeights
from photolab.models.store.timm_import import load_state_dict_checked

__all__ = ["ModelManager", "ModelEntry", "LoadedModel", "ModelStoreError", "NoModelInstalledError",
           "available_devices", "resolve_device", "user_data_dir", "download_job", "import_job", "read_labels",
           "CARD_METADATA_KEY"]

DATA_DIR_ENV = "PHOTOLAB_DATA_DIR"
BUILTIN_MODELS_DIR = Path(__file__).resolve().parents[3] / "resources" / "models"


def suggested_base(entries: Sequence[ModelEntry]) -> ModelEntry | None:
    """The model to start fine-tuning from: the first built-in backbone (see the card's ``role``), else the
    first built-in model; None without built-ins."""
    builtins = [e for e in entries if e.builtin]
    return next((e for e in builtins if e.card.is_backbone), builtins[0] if builtins else None)


class ModelStoreError(PhotoLabError):
    """A store operation is not possible (unknown or duplicate name, read-only built-in, bad device...)."""


class NoModelInstalledError(ModelStoreError):
    """No model is available to use by default."""


def user_data_dir(override: str | Path | None = None) -> Path:
    """PhotoLab's user data folder: ``override``, else ``$PHOTOLAB_DATA_DIR``, else the platform's."""
    if override is not None:
        return Path(override)
    from photolab.core.presets import user_data_dir as core_user_data_dir

    return core_user_data_dir()


def available_devices() -> list[str]:
    """Devices models can run on here: ``cpu``, plus ``cuda`` when torch sees a GPU."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``; clear error if not available."""
    text = str(device)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise ModelStoreError(f"unknown device {text!r}; choose cpu, cuda or auto")
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise ModelStoreError("CUDA is not available on this machine (no GPU, or a CPU-only torch); use cpu")
    return torch.device(text)


class ModelManager:
    """The registry and store of classifiers and denoisers, with an LRU cache of loaded models (thread-safe)."""

    def __init__(self, data_dir: str | Path | None = None, builtin_dir: str | Path | None = None,
                 device: str = "cpu", cache_size: int = 2, denoiser_dir: str | Path | None = None):
        self.data_dir = user_data_dir(data_dir)
        self.models_dir = self.data_dir / "models"
        self.temp_dir = self.data_dir / "tmp"
        self.builtin_dir = Path(builtin_dir) if builtin_dir is not None else BUILTIN_MODELS_DIR
        self.denoiser_dir = Path(denoiser_dir) if denoiser_dir is not None else DENOISERS_DIR
        self.user_denoiser_dir = self.data_dir / USER_DENOISERS
        self.user_look_dir = self.data_dir / USER_LOOKS
        self._device = resolve_device(device)
        self._cache_size = max(0, int(cache_size))
        self._cache: OrderedDict[tuple, LoadedModel | Denoiser] = OrderedDict()
        self._lock = threading.RLock()

    # ----- registry -------------------------------------------------------------------------------------
    def _scan(self) -> tuple[list[ModelEntry], list[str]]:
        entries, problems, names = [], [], set()
        for folder, builtin in ((self.builtin_dir, True), (self.models_dir, False)):
            found = []
            for card_path in sorted(folder.glob("[!.]*.json")) if folder.is_dir() else ():  # skip temporaries
                try:
                    card = ModelCard.read(card_path)
                except ModelCardError as exc:
                    problems.append(str(exc))
                    continue
                if card_path.stem != card.name:
                    problems.append(f"{card_path}: the card names {card.name!r}; expected {card_path.stem!r}")
                elif card.name in names:
                    problems.append(f"{card_path}: {card.name!r} is a built-in model's name; ignored")
                elif not card.weights_file or not (folder / card.weights_file).is_file():
                    problems.append(f"{card_path}: its weights file {card.weights_file!r} is missing")
                else:
                    found.append(ModelEntry(card, folder / card.weights_file, card_path, builtin))
                    names.add(card.name)
            entries += sorted(found, key=lambda e: e.name.lower())
        return entries, problems

    def list_models(self) -> list[ModelEntry]:
        """Every usable model: built-ins first, then the user's, each sorted by name."""
        return self._scan()[0]

    def problems(self) -> list[str]:
        """Messages about cards that could not be used (malformed, newer format, weights missing)."""
        return self._scan()[1]

    def get(self, name: str) -> ModelEntry:
        """The model called ``name``; :class:`ModelStoreError` listing the installed ones otherwise."""
        entries = self.list_models()
        for entry in entries:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in entries) or "none installed"
        raise ModelStoreError(f"no model named {name!r} (installed: {known})")

    def default_entry(self) -> ModelEntry:
        """The default classifier: the first built-in one. :class:`NoModelInstalledError` says what to do
        otherwise."""
        everything = self.list_models()
        entries = [e for e in everything if not e.card.is_backbone]
        builtins = [e for e in entries if e.builtin]
        if builtins:
            return builtins[0]
        if entries:
            raise NoModelInstalledError("no built-in classifier is installed; choose one of yours with --model "
                                        f"NAME ({', '.join(e.name for e in entries)})")
        if everything:
            raise NoModelInstalledError(
                f"no classifier is installed, only backbones for fine-tuning ({', '.join(e.name for e in everything)})"
                ". Train one with 'photolab-cli train FOLDER --name NAME' or import one with 'photolab-cli models "
                "import WEIGHTS_FILE'")
        raise NoModelInstalledError(
            "no model is installed. Import one with 'photolab-cli models import WEIGHTS_FILE' or download "
            "a pretrained one with 'photolab-cli models download NAME' (see 'photolab-cli models download --list')")

    def default_base(self) -> ModelEntry:
        """The default starting point for fine-tuning: :func:`suggested_base`, else :meth:`default_entry`'s
        message about what to do."""
        return suggested_base(self.list_models()) or self.default_entry()

    def catalogue(self) -> tuple[TimmWeights, ...]:
        """The pretrained timm weights that can be downloaded (see ``archs.seresnet.CATALOGUE``)."""
        return CATALOGUE

    # ----- adding ---------------------------------------------------------------------------------------
    def save_model(self, model: torch.nn.Module, name: str, classes: Sequence[str], *,
                   preprocessing: Preprocessing | None = None, source: dict | None = None,
                   license: str | None = None, training: dict | None = None, overwrite: bool = False) -> ModelEntry:
        """Store a model built from this family (e.g. after fine-tuning) under ``name``.

        ``preprocessing`` defaults to the model's ``default_cfg``; ``source`` to ``{"kind": "trained"}``;
        ``training`` holds e.g. ``{"data": ..., "metrics": {...}}``.
        """
        config = getattr(model, "default_cfg", None)
        architecture = getattr(config, "architecture", "")
        if not architecture:
            raise ModelStoreError("the model has no registered architecture (default_cfg.architecture)")
        card = ModelCard(name=check_model_name(name), architecture=architecture, classes=tuple(classes),
                         preprocessing=preprocessing or Preprocessing.from_config(config),
                         source=source or {"kind": "trained"}, license=license, training=training or {}).validate()
        state = {k: v.detach().to("cpu") for k, v in model.state_dict().items()}
        check = build_model(card)
        load_state_dict_checked(check, state, source=f"model {name!r}")
        return self._commit(state, card, overwrite)

    def import_file(self, path: str | Path, *, name: str | None = None, architecture: str | None = None,
                    labels: Sequence[str] | str | Path | None = None, timm_weights: str | None = None,
                    license: str | None = None, overwrite: bool = False, context=None,
                    source: dict | None = None) -> ModelEntry:
        """Import a weights file (``.safetensors``; ``.pth``/``.bin`` read with ``weights_only=True``).

        The architecture is ``architecture``, else the timm catalogue entry (``timm_weights`` or the file
        name), else the card embedded by a PhotoLab export, else recognised from the weights. Labels come
        from ``labels`` (a list or a labels file), else the embedded card, else ``class 0 .. class N-1``.
        Timm catalogue weights get the catalogue's preprocessing and licence. Nothing is stored unless every
        check passes (see :func:`photolab.models.store.importing.prepare_import`).
        """
        state, card = prepare_import(path, name=name, architecture=architecture, labels=labels,
                                     timm_weights=timm_weights, license=license, source=source, context=context)
        if context is not None:
            context.progress(0.6, f"Storing {card.name}")
        return self._commit(state, card, overwrite)

    def download(self, source: str, *, name: str | None = None, sha256: str | None = None, url: str | None = None,
                 architecture: str | None = None, labels: Sequence[str] | str | Path | None = None,
                 overwrite: bool = False, context=None) -> ModelEntry:
        """Download a catalogue entry (``seresnet50.a1_in1k``; ``url`` overrides its address, e.g. a mirror)
        or any http(s) URL, verify it (``sha256``, else the catalogue's hash prefix when it has one), and
        import it. The partial download stays in the temp folder for resuming; a bad one is deleted."""
        weights = None if "://" in source else catalogue_entry(source)
        target_name = check_model_name(name or (weights.name if weights else name_from(Path(source))))
        if not overwrite and any(e.name == target_name for e in self.list_models()):
            raise ModelStoreError(f"a model named {target_name!r} is already installed")
        address = url or (weights.url if weights else source)
        expected = sha256 or (weights.sha256_prefix if weights else None)
        fetched = download_file(address, self.temp_dir, expected_sha256=expected,
                                file_name=weights.file_name if weights else None,
                                context=context.subtask(0.0, 0.9) if context is not None else None)
        try:
            return self.import_file(
                fetched.path, name=target_name, architecture=architecture, labels=labels,
                timm_weights=weights.name if weights else None, overwrite=overwrite,
                context=context.subtask(0.9, 1.0) if context is not None else None,
                source={"kind": "downloaded", "url": address, "file": fetched.path.name.split("-", 1)[1],
                        "timm_weights": weights.name if weights else None})
        finally:
            fetched.path.unlink(missing_ok=True)

    def _commit(self, state: dict[str, torch.Tensor], card: ModelCard, overwrite: bool) -> ModelEntry:
        """Write weights (temporary name, fsync, rename), then the card (atomically); drop replaced files."""
        with self._lock:
            entries = {e.name: e for e in self.list_models()}
            old = entries.get(card.name)
            if old is not None and old.builtin:
                raise ModelStoreError(f"{card.name!r} is a built-in model; choose another name")
            if old is not None and not overwrite:
                raise ModelStoreError(f"a model named {card.name!r} is already installed; pick another name or "
                                      f"remove it first")
            self.models_dir.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{card.name}.", suffix=".safetensors.part",
                                                 dir=self.models_dir)
            os.close(handle)
            temporary = Path(temporary)
            created = None
            try:
                embedded = card.replace(weights_file="", sha256="").to_json()
                save_file({k: v.contiguous() for k, v in state.items()}, str(temporary),
                          metadata={"format": "pt", CARD_METADATA_KEY: embedded})
                exporting._fsync(temporary)
                os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
                digest = sha256_file(temporary)
                weights_path = self.models_dir / f"{card.name}-{digest[:8]}.safetensors"
                existed = weights_path.exists()
                os.replace(temporary, weights_path)
                created = None if existed else weights_path
                card = card.replace(weights_file=weights_path.name, sha256=digest)
                card_path = self.models_dir / f"{card.name}.json"
                write_bytes_atomic(card_path, card.to_json().encode("utf-8"))
            except BaseException:
                temporary.unlink(missing_ok=True)
                if created is not None:
                    created.unlink(missing_ok=True)
                raise
            if old is not None and old.weights_path != weights_path:
                old.weights_path.unlink(missing_ok=True)
            self._forget(card.name)
            return ModelEntry(card, weights_path, card_path, False)

    # ----- editing --------------------------------------------------------------------------------------
    def _editable(self, name: str) -> ModelEntry:
        entry = self.get(name)
        if entry.read_only:
            raise ModelStoreError(f"{name!r} is a built-in model and cannot be changed or removed")
        return entry

    def rename(self, old_name: str, new_name: str) -> ModelEntry:
        """Give a user model a new name (new files first, then the old ones are removed)."""
        with self._lock:
            entry = self._editable(old_name)
            check_model_name(new_name)
            if any(e.name == new_name for e in self.list_models()):
                raise ModelStoreError(f"a model named {new_name!r} is already installed")
            weights_path = self.models_dir / f"{new_name}-{entry.card.sha256[:8]}.safetensors"
            try:
                os.link(entry.weights_path, weights_path)
            except OSError:
                shutil.copyfile(entry.weights_path, weights_path)
            card = entry.card.replace(name=new_name, weights_file=weights_path.name)
            card_path = self.models_dir / f"{new_name}.json"
            try:
                write_bytes_atomic(card_path, card.to_json().encode("utf-8"))
            except BaseException:
                weights_path.unlink(missing_ok=True)
                raise
            entry.card_path.unlink(missing_ok=True)
            entry.weights_path.unlink(missing_ok=True)
            self._forget(old_name)
            return ModelEntry(card, weights_path, card_path, False)

    def remove(self, name: str) -> None:
        """Delete a user model (card first, so it disappears at once; then its weights)."""
        with self._lock:
            entry = self._editable(name)
            entry.card_path.unlink(missing_ok=True)
            entry.weights_path.unlink(missing_ok=True)
            self._forget(name)

    def remove_orphans(self, older_than_s: float = 3600.0) -> list[Path]:
        """Delete weights files no card refers to and temporary files left by crashes, if older than
        ``older_than_s`` (younger ones may belong to an import in progress). Returns what was deleted."""
        with self._lock:
            if not self.models_dir.is_dir():
                return []
            used = {e.weights_path.name for e in self.list_models() if not e.builtin}
            limit = time.time() - older_than_s
            removed = []
            for path in self.models_dir.iterdir():
                stale = path.name.startswith(".") or (path.suffix == ".safetensors" and path.name not in used)
                if path.is_file() and stale and path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
                    removed.append(path)
            return removed

    def export(self, name: str, target: str | Path, fmt: str | None = None) -> Path:
        """Write model ``name`` to ``target`` as safetensors, TorchScript or ONNX (``fmt`` or the suffix)."""
        fmt = exporting.format_for(target, fmt)
        entry = self.get(name)
        if fmt == "safetensors":
            return exporting.export_safetensors(entry, target)
        if fmt == "onnx":
            exporting.require_onnx()
        loaded = load_entry(entry, "cpu")
        if fmt == "torchscript":
            return exporting.export_torchscript(loaded, target)
        return exporting.export_onnx(loaded, target)

    # ----- runtime --------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """Where :meth:`load` puts models by default."""
        return self._device

    def set_device(self, device: str | torch.device) -> None:
        """Change the default device (``cpu``, ``cuda``, ``auto``); cached models stay until evicted."""
        self._device = resolve_device(device)

    @property
    def cache_size(self) -> int:
        """How many loaded models are kept in memory (0: none)."""
        return self._cache_size

    @cache_size.setter
    def cache_size(self, size: int) -> None:
        with self._lock:
            self._cache_size = max(0, int(size))
            self._evict()

    def cached(self) -> list[str]:
        """Names of the cached models, least recently used first."""
        with self._lock:
            return [loaded.name for loaded in self._cache.values()]

    def load(self, model: str | ModelEntry, device: str | torch.device | None = None) -> LoadedModel:
        """The model, loaded on ``device`` (default: :attr:`device`), from the cache when it is there."""
        entry = self.get(model) if isinstance(model, str) else model
        target = resolve_device(device) if device is not None else self._device
        return self._cached((str(entry.card_path), entry.card.sha256, str(target)), lambda: load_entry(entry, target))

    def list_denoisers(self) -> list[str]:
        """Names of the denoisers: the built-in ones (:attr:`denoiser_dir`), then the user's
        (:attr:`user_denoiser_dir`)."""
        return list_denoisers(self.denoiser_folders())

    def denoiser_folders(self) -> list[Path]:
        """Where denoisers are looked up, in order: the built-in folder, then the user's."""
        return [self.denoiser_dir, self.user_denoiser_dir]

    def load_denoiser(self, name: str | Path = "", device: str | torch.device | None = None) -> Denoiser:
        """The denoiser ``name`` (a name in :meth:`denoiser_folders`, "" for the default, or a ``.safetensors``
        path) on ``device`` (default: :attr:`device`), checksum-verified, from the cache when it is there (a file
        replaced on disk is loaded afresh)."""
        entry = find_denoiser(name or DEFAULT_DENOISER, self.denoiser_folders())
        target = resolve_device(device) if device is not None else self._device
        stat = entry.weights_path.stat()
        key = (str(entry.weights_path.resolve()), stat.st_mtime_ns, stat.st_size, str(target))
        return self._cached(key, lambda: load_denoiser_entry(entry, target))

    def list_looks(self) -> list[str]:
        """Names of the user's learned looks (:attr:`user_look_dir`)."""
        return list_looks(self.user_look_dir)

    def load_look(self, name: str):
        """The learned look ``name`` (a LoadedLook, CPU), checksum-verified, from the cache when it is there."""
        card = self.user_look_dir / f"{name}.json"
        stat = card.stat() if card.is_file() else None
        key = ("look", str(card), stat.st_mtime_ns if stat else 0)
        return self._cached(key, lambda: load_look(self.user_look_dir, name))

    def _cached(self, key: tuple, load):
        """The cached model under ``key``, else ``load()``'s, cached (least recently used evicted first)."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        loaded = load()
        with self._lock:
            if self._cache_size > 0:
                loaded = self._cache.setdefault(key, loaded)
                self._cache.move_to_end(key)
                self._evict()
        return loaded

    def clear_cache(self) -> None:
        """Drop every loaded model."""
        with self._lock:
            self._cache.clear()

    def _evict(self) -> None:
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _forget(self, name: str) -> None:
        with self._lock:
            for key in [k for k, v in self._cache.items() if v.name == name]:
                del self._cache[key]


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask is process-wide)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def download_job(manager: ModelManager, source: str, **options) -> Job:
    """A Job that runs :meth:`ModelManager.download` (progress, cancel; result: the new ModelEntry)."""
    return Job(lambda context: manager.download(source, context=context, **options),
               title=f"Download {source}")


def import_job(manager: ModelManager, path: str | Path, **options) -> Job:
    """A Job that runs :meth:`ModelManager.import_file` (progress; result: the new ModelEntry)."""
    return Job(lambda context: manager.import_file(path, context=context, **options),
               title=f"Import {Path(path).name}")
