"""Fine-tuning an installed SE classifier on the user's own folder: the glue shared by the wizard and the CLI.

A run is: a checked folder (:func:`photolab.models.training.data.scan_folder`), minus the classes the user excluded
(:func:`without_classes`); a base model from the store; a *strategy*
(:data:`~photolab.models.training.settings.STRATEGIES`) that decides what
learns; settings (:class:`~photolab.models.training.settings.FinetuneSettings`) that become a
:class:`~photolab.models.training.training.TrainConfig` (:func:`train_config`).
:func:`run_finetune` loads every image once (so a folder that moves away fails early, with a clear message),
trains with :func:`photolab.models.training.training.fit`, and returns a :class:`FinetuneOutcome`: the model, its
metrics and the most confidently wrong validation images. Cancelling after at least one epoch keeps the best
epoch so far (``outcome.cancelled``); before that, :class:`~photolab.jobs.JobCancelled` propagates and there is
nothing to keep. Nothing is written until :func:`save_outcome`, whose store write is atomic.
"""

from __future__ import annotations

import errno
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from photolab.jobs import Job, JobCancelled
from photolab.models.archs.seresnet import with_gradient_histogram
from photolab.models.store.card import Preprocessing
from photolab.models.training.data import (IMBALANCE_RATIO, MIN_IMAGES_PER_CLASS, RECOMMENDED_IMAGES_PER_CLASS,
                                           DatasetError, DatasetIssue, DatasetReport, check_counts)
from photolab.models.training.dataset import FolderDataset, random_resized_crop
from photolab.models.training.settings import (DEFAULT_LR, STRATEGIES, FinetuneError, FinetuneSettings,
                                               auto_val_fraction)
from photolab.models.inference import load_entry
from photolab.models.preprocess import prepare
from photolab.models.training.split import stratified_split
from photolab.models.training.training import (EpochMetrics, TrainConfig, TrainingResult, classification_metrics,
                                               evaluate, fit)

USER_TRAINED_LICENSE = "user-trained; see your data"
"""The card's licence for a model trained on the user's own photos: no licence claimed by PhotoLab, and not
the base model's (the card's ``source`` names the base model)."""


def train_config(settings: FinetuneSettings) -> TrainConfig:
    """The :class:`TrainConfig` for the settings' strategy (see :data:`STRATEGIES`)."""
    settings.validate()
    lr = settings.lr or DEFAULT_LR[settings.strategy]
    frozen = settings.epochs if settings.strategy in ("probe", "last") else (1 if settings.epochs >= 3 else 0)
    return TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=lr,
                       freeze_backbone_epochs=frozen, backbone_lr_scale=0.3 if settings.strategy == "full" else 1.0,
                       patience=settings.patience, seed=settings.seed, num_threads=settings.num_threads,
                       warmup_epochs=0.5 if settings.epochs > 1 else 0.0)


def without_classes(report: DatasetReport, excluded) -> DatasetReport:
    """A copy of ``report`` without the ``excluded`` classes (labels renumbered, counts checked again)."""
    excluded = set(excluded)
    if not excluded:
        return report
    kept = [name for name in report.classes if name not in excluded]
    index = {name: i for i, name in enumerate(kept)}
    items = [(path, index[report.classes[label]]) for path, label in report.items
             if report.classes[label] in index]
    count_codes = {"too_few_classes", "too_few_images", "few_images", "no_images", "imbalance"}
    filtered = DatasetReport(report.root, kept, items, list(report.unreadable), list(report.unsupported),
                             list(report.duplicates), [i for i in report.issues if i.code not in count_codes])
    if not kept:
        filtered.issues.append(DatasetIssue("error", "too_few_classes", "every class is excluded: keep at least two"))
        return filtered
    check_counts(filtered, MIN_IMAGES_PER_CLASS, RECOMMENDED_IMAGES_PER_CLASS, IMBALANCE_RATIO)
    return filtered


class TrainingImages(FolderDataset):
    """A :class:`FolderDataset` whose augmentations can be switched off (``random_crops``, ``flip``)."""

    def __init__(self, items, prep: Preprocessing, train: bool, seed: int = 0, *, random_crops: bool = True,
                 flip: bool = True):
        super().__init__(items, prep, train, seed, scale=(0.35, 1.0) if random_crops else (1.0, 1.0))
        self.random_crops, self.flip = random_crops, flip

    def __getitem__(self, index: int):
        if not self.train:
            return super().__getitem__(index)
        image, label = self.image(index), self.items[index][1]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        size = self.prep.input_size[1:]
        if self.random_crops:
            crop = random_resized_crop(image, size, rng, self.scale, flip=self.flip)
        else:
            crop = prepare(image, replace(self.prep, crop_mode="squash", crop_pct=1.0)).tensor[0]
            if self.flip and rng.random() < 0.5:
                crop = torch.flip(crop, dims=[2])
            return crop, label
        x = (crop.astype(np.float32) / 255.0 - np.float32(self.prep.mean)) / np.float32(self.prep.std)
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))), label


@dataclass
class WrongPrediction:
    """A validation image the model got wrong, with the probability it gave its (wrong) answer."""

    path: Path
    true_class: str
    predicted: str
    confidence: float


@dataclass
class FinetuneOutcome:
    """What :func:`run_finetune` produced: the trained model and everything the results page and card need."""

    result: TrainingResult
    settings: FinetuneSettings
    base: str
    architecture: str
    preprocessing: Preprocessing
    report: DatasetReport
    val_fraction: float
    train_images: int
    val_images: int
    wrong: list[WrongPrediction] = field(default_factory=list)
    cancelled: bool = False

    @property
    def model(self) -> nn.Module:
        """The trained model (best epoch's weights)."""
        return self.result.model

    def summary(self) -> dict:
        """JSON-ready summary for the CLI: accuracy, per-class precision/recall, confusion matrix, recipe."""
        metrics = self.result.metrics
        return {"accuracy": metrics.accuracy, "per_class": metrics.per_class(),
                "confusion_matrix": [list(row) for row in metrics.confusion], "classes": list(metrics.classes),
                "best_epoch": self.result.best_epoch, "epochs_run": len(self.result.history),
                "stop_reason": self.result.stop_reason, "seconds": round(self.result.seconds, 2),
                "train_images": self.train_images, "val_images": self.val_images, "base": self.base,
                "strategy": self.settings.strategy, "cancelled": self.cancelled}


class _BestTracker:
    """Follows fit's epochs and keeps a copy of the best-validation-loss weights (for a cancelled run)."""

    def __init__(self, model: nn.Module, min_delta: float, forward: Callable | None) -> None:
        self.model, self.min_delta, self.forward = model, min_delta, forward
        self.best_loss, self.best_epoch, self.best_state = float("inf"), 0, None
        self.history: list[EpochMetrics] = []

    def __call__(self, metrics: EpochMetrics) -> None:
        self.history.append(metrics)
        if metrics.val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = metrics.val_loss, metrics.epoch
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.forward is not None:
            self.forward(metrics)


def preload_images(datasets, context, root: Path) -> None:
    """Decode every image once (cached); a vanished or unreadable file stops the run with a clear message."""
    total = sum(len(d) for d in datasets)
    done = 0
    for dataset in datasets:
        for index in range(len(dataset)):
            if context is not None:
                context.progress(done / max(1, total), f"Loading images: {done}/{total}")
            try:
                dataset.image(index)
            except Exception as exc:  # noqa: BLE001 - any read failure ends the run, explained
                path = dataset.items[index][0]
                gone = "" if root.is_dir() else f" The folder {root} no longer exists."
                raise FinetuneError(f"{path} could not be read ({exc}).{gone} Training stopped; nothing was "
                                    f"saved.") from None
            done += 1


def confidently_wrong(model: nn.Module, dataset, classes, limit: int = 8) -> list[WrongPrediction]:
    """The ``limit`` validation images the model got wrong with the highest confidence, most confident first."""
    model.eval()
    wrong, offset = [], 0
    with torch.no_grad():
        for images, labels in DataLoader(dataset, batch_size=32, shuffle=False):
            probs = torch.softmax(model(images), 1)
            conf, pred = probs.max(1)
            for j in range(len(labels)):
                if int(pred[j]) != int(labels[j]):
                    wrong.append(WrongPrediction(Path(dataset.items[offset + j][0]), classes[int(labels[j])],
                                                 classes[int(pred[j])], float(conf[j])))
            offset += len(labels)
    return sorted(wrong, key=lambda w: -w.confidence)[:limit]


@dataclass
class FinetunePlan:
    """A run set up but not trained (any strategy but ``auto``): the base ``entry``, its fresh ``model`` with a
    new head for ``classes``, the input preprocessing, the seeded stratified split and the training config.
    :func:`run_finetune` trains it here; :mod:`photolab.cluster.train` trains it data-parallel on Ray."""

    report: DatasetReport
    settings: FinetuneSettings
    entry: object
    model: nn.Module
    prep: Preprocessing
    val_fraction: float
    train_items: list
    val_items: list
    config: TrainConfig

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names, in the order of the model's outputs."""
        return tuple(self.report.classes)

    def images(self, items, train: bool) -> "TrainingImages":
        """A dataset of ``items`` with the run's preprocessing and augmentation (``train``: augmented)."""
        return TrainingImages(items, self.prep, train, self.settings.seed, random_crops=self.settings.random_crops,
                              flip=self.settings.flip)

    def use_last_stage_as_head(self) -> None:
        """For the ``last`` strategy: fit trains "the classifier" alone while frozen, so make it stage 4 + fc
        (undone by :meth:`restore_head`)."""
        if self.settings.strategy == "last":
            last = nn.ModuleList([self.model.layer4, self.model.fc])
            self.model.get_classifier = lambda: last

    def restore_head(self) -> None:
        """Undo :meth:`use_last_stage_as_head`."""
        self.model.__dict__.pop("get_classifier", None)

    def outcome(self, result: TrainingResult, train_images: int, val, cancelled: bool = False) -> FinetuneOutcome:
        """The :class:`FinetuneOutcome` of training this plan (``val``: the validation dataset)."""
        return FinetuneOutcome(result, self.settings, self.entry.name, self.entry.card.architecture, self.prep,
                               self.report, self.val_fraction, train_images, len(val),
                               confidently_wrong(result.model, val, self.classes), cancelled)


def _checked_base(manager, report: DatasetReport, settings: FinetuneSettings):
    """The report without the excluded classes (checked), the base entry, a fresh copy of its model and the
    input preprocessing at the settings' image size."""
    settings.validate()
    report = without_classes(report, settings.excluded)
    if not report.ok:
        raise DatasetError(f"{report.root} cannot be used for training: "
                           + "; ".join(issue.message for issue in report.errors))
    entry = manager.get(settings.base)
    model = load_entry(entry, "cpu").model  # a fresh copy: the manager's cached model is never changed
    card_prep = entry.card.preprocessing
    size = settings.image_size or card_prep.input_size[1]
    return report, entry, model, replace(card_prep, input_size=(3, size, size), crop_mode="center")


def plan_finetune(manager, report: DatasetReport, settings: FinetuneSettings) -> FinetunePlan:
    """Set up a run of any strategy but ``auto`` (see :class:`FinetunePlan`); raises :class:`DatasetError`
    when the data cannot be used."""
    if settings.strategy == "auto":
        raise FinetuneError("the auto strategy chooses by cross-validation and has no single training plan")
    report, entry, model, prep = _checked_base(manager, report, settings)
    val_fraction = settings.val_fraction or auto_val_fraction(len(report.items))
    train_index, val_index = stratified_split(report.labels, val_fraction, settings.seed)
    torch.manual_seed(settings.seed)
    model.reset_classifier(len(report.classes))  # the base's classes mean something else: always a fresh head
    model.default_cfg = prep.to_config(entry.card.architecture, len(report.classes))
    return FinetunePlan(report, settings, entry, model, prep, val_fraction, [report.items[i] for i in train_index],
                        [report.items[i] for i in val_index], train_config(settings))


def run_finetune(manager, report: DatasetReport, settings: FinetuneSettings, context=None,
                 on_epoch: Callable[[EpochMetrics], None] | None = None) -> FinetuneOutcome:
    """Train ``settings.base`` (a model in ``manager``'s store) on ``report``'s images; see the module doc.

    Raises :class:`DatasetError` when the data cannot be used, :class:`FinetuneError` when images cannot
    be read, :class:`JobCancelled` when cancelled before the first epoch ended.
    """
    settings.validate()
    if settings.strategy == "auto":
        return _run_auto(*_checked_base(manager, report, settings), settings, context)
    plan = plan_finetune(manager, report, settings)
    train, val = plan.images(plan.train_items, True), plan.images(plan.val_items, False)
    preload_images((train, val), context.subtask(0.0, 0.1) if context is not None else None, Path(plan.report.root))
    model, classes, config = plan.model, plan.classes, plan.config
    tracker = _BestTracker(model, config.min_delta, on_epoch)
    plan.use_last_stage_as_head()
    start, cancelled = time.monotonic(), False
    try:
        result = fit(model, train, val, classes, config, context.subtask(0.1, 1.0) if context else None,
                     tracker)
    except JobCancelled:
        if tracker.best_state is None:
            raise
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        model.load_state_dict(tracker.best_state)
        metrics = evaluate(model.eval(), val, classes, config.eval_batch_size)
        result = TrainingResult(model, classes, tracker.history, metrics, tracker.best_epoch,
                                f"cancelled after epoch {len(tracker.history)}; the best epoch so far "
                                f"({tracker.best_epoch}) is kept", config, time.monotonic() - start)
        cancelled = True
    finally:
        plan.restore_head()
    return plan.outcome(result, len(train), val, cancelled)


def _run_auto(report: DatasetReport, entry, model: nn.Module, prep: Preprocessing, settings: FinetuneSettings,
              context) -> FinetuneOutcome:
    """The ``auto`` strategy (:mod:`photolab.models.training.fewshot`): every image is used both to train and, out of
    fold, to measure; the outcome's metrics are the winner's cross-validated ones."""
    from photolab.models.training import fewshot

    start = time.monotonic()
    stage = (lambda a, b: context.subtask(a, b)) if context is not None else (lambda a, b: None)
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    images = TrainingImages(report.items, prep, False, settings.seed)
    preload_images((images,), stage(0.0, 0.1), Path(report.root))
    labels = np.asarray(report.labels)
    classes = tuple(report.classes)
    pictures = [images.image(i) for i in range(len(images))]
    folds = fewshot.folds_for(labels, settings.seed)
    views = fewshot.extract_views(model, pictures, prep, settings.seed, stage(0.1, 0.3))
    whole_prep = replace(prep, crop_pct=1.0)  # the whole picture: icons and drawings keep their borders
    whole_views = fewshot.with_plain_views(model, views, pictures, whole_prep, stage(0.3, 0.5))
    probe = fewshot.probe_candidate(views, labels, len(classes), folds)
    histogram_probe = fewshot.probe_candidate(views, labels, len(classes), folds, fewshot.HISTOGRAM_PROBE)
    whole = {name: fewshot.probe_candidate(whole_views, labels, len(classes), folds, name)
             for name in ("probe", fewshot.HISTOGRAM_PROBE)}
    last = fewshot.last_stage_candidate(model, views, labels, len(classes), folds, probe, settings.seed,
                                        stage(0.55, 0.9))
    candidates = [probe, histogram_probe, last, whole["probe"], whole[fewshot.HISTOGRAM_PROBE]]
    winner = fewshot.choose(candidates)
    if context is not None:
        context.progress(0.92, f"Training the {winner.name} on every image")
    architecture = entry.card.architecture
    if winner.name == fewshot.HISTOGRAM_PROBE:
        architecture = with_gradient_histogram(architecture)
    on_whole = any(winner is c for c in whole.values())
    if on_whole:
        prep, views, probes = whole_prep, whole_views, whole
    else:
        probes = {"probe": probe, fewshot.HISTOGRAM_PROBE: histogram_probe}
    model = fewshot.finish(model, views, labels, len(classes), winner, probes, settings.seed,
                           entry.card.architecture, prep)
    model.default_cfg = prep.to_config(architecture, len(classes))
    metrics = classification_metrics(labels, winner.predicted, classes)
    wrong = sorted((WrongPrediction(Path(report.items[i][0]), classes[labels[i]], classes[winner.predicted[i]],
                                    float(winner.probabilities[i]))
                    for i in np.flatnonzero(winner.predicted != labels)), key=lambda w: -w.confidence)[:8]
    def key(candidate) -> str:
        return candidate.name + (" (whole image)" if any(candidate is c for c in whole.values()) else "")

    tried = [c for c in candidates if c is not None]
    scores = {key(c): {"cross_validated_accuracy": round(c.accuracy, 4), "seconds": round(c.seconds, 1), **c.detail}
              for c in tried}
    if last is None:
        scores["last"] = {"skipped": f"more than {fewshot.LAST_STAGE_BUDGET} sample passes for this folder"}
    reason = (f"auto: {fewshot.CANDIDATES[winner.name].lower()}{' of the whole image' if on_whole else ''} won "
              f"with {winner.accuracy:.1%} cross-validated accuracy over {len(folds)} folds ("
              + ", ".join(f"{key(c)} {c.accuracy:.1%}" for c in tried) + ")")
    config = train_config(settings)
    result = TrainingResult(model, classes, [], metrics, 0, reason, config, time.monotonic() - start,
                            extra={"chosen": key(winner), "folds": len(folds), "candidates": scores})
    return FinetuneOutcome(result, settings, entry.name, architecture, prep, report, 0.0,
                           len(report.items), len(report.items), wrong, False)


def finetune_job(manager, report: DatasetReport, settings: FinetuneSettings,
                 on_epoch: Callable[[EpochMetrics], None] | None = None) -> Job:
    """A :class:`Job` running :func:`run_finetune` (``on_epoch`` is called from the job's thread)."""
    return Job(lambda context: run_finetune(manager, report, settings, context, on_epoch),
               title=f"Training on {Path(report.root).name}")


def training_card(outcome: FinetuneOutcome, description: str = "") -> dict:
    """The card's ``training`` section: description, data summary, recipe, metrics and history."""
    result = outcome.result
    data = outcome.report.to_dict()
    data.update(train_images=outcome.train_images, val_images=outcome.val_images,
                excluded_classes=list(outcome.settings.excluded))
    return {"description": description, "data": data,
            "recipe": {"base_model": outcome.base, "strategy": outcome.settings.strategy,
                       "strategy_label": STRATEGIES[outcome.settings.strategy],
                       "image_size": outcome.preprocessing.input_size[1], "val_fraction": outcome.val_fraction,
                       "augmentation": {"random_crops": outcome.settings.random_crops,
                                        "flip": outcome.settings.flip},
                       "config": result.config.to_dict()},
            "metrics": result.metrics.to_dict(), "best_epoch": result.best_epoch,
            "selection": result.extra or None,
            "stop_reason": result.stop_reason, "seconds": round(result.seconds, 2),
            "history": [asdict(h) for h in result.history]}


def save_outcome(manager, outcome: FinetuneOutcome, name: str, description: str = "", *,
                 overwrite: bool = False):
    """Store the trained model as ``name`` with its full card; the new :class:`ModelEntry`. Its licence is
    :data:`USER_TRAINED_LICENSE`: PhotoLab claims none for a model trained on the user's photos.

    The store writes atomically: when the disk is full (or any write fails) nothing is left behind and a
    :class:`FinetuneError` says so; a name already taken is the store's :class:`ModelStoreError`.
    """
    try:
        return manager.save_model(outcome.model, name, outcome.result.classes, preprocessing=outcome.preprocessing,
                                  source={"kind": "trained", "base_model": outcome.base},
                                  license=USER_TRAINED_LICENSE, training=training_card(outcome, description),
                                  overwrite=overwrite)
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise FinetuneError(f"model {name!r} could not be saved: {reason}. Nothing was written to the model "
                            f"store; free some space and save again.") from None
